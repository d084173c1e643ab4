#include "dataplane/app/file_closer.h"

#include "dataplane/app/counter_ids.h"

#include <cerrno>
#include <unistd.h>

namespace skycast::dataplane {

file_closer::file_closer(storage_files& files, api::shared_view shared, std::uint64_t* counters,
                         std::function<bool()> drained)
    : _files(files), _shared(shared), _counters(counters), _drained(std::move(drained)),
      _thread([this] { loop(); }) {}

file_closer::~file_closer() {
    {
        std::lock_guard lock(_mutex);
        _stop = true;
    }
    _wake.notify_all();
    _thread.join(); // after the queue is empty: every file queued is closed
}

void file_closer::close(std::uint32_t slot) {
    {
        std::lock_guard lock(_mutex);
        _queue.push_back(slot);
    }
    _wake.notify_all();
}

void file_closer::wait_idle() {
    std::unique_lock lock(_mutex);
    _idle.wait(lock, [this] { return _queue.empty() && !_busy; });
}

void file_closer::loop() {
    std::unique_lock lock(_mutex);
    for (;;) {
        _wake.wait(lock, [this] { return _stop || !_queue.empty(); });
        if (_queue.empty()) {
            return; // stopping, nothing left
        }
        const std::uint32_t slot = _queue.front();
        _queue.pop_front();
        _busy = true;
        lock.unlock();
        close_now(slot);
        lock.lock();
        _busy = false;
        if (_queue.empty()) {
            _idle.notify_all();
        }
    }
}

void file_closer::close_now(std::uint32_t slot) {
    // The RX lcore no longer queues writes for the slot: once the storage
    // threads have written what is queued, nothing touches its descriptor.
    const bool drained = _drained();
    const int fd = _files.fd[slot].exchange(-1);
    api::file_slot& s = _shared.slot(slot);
    // Flushed before the engine renames the file into place: a crash right
    // after must not leave a complete-looking name over missing data. This
    // also flushes the blocks control rebuilt from parity through its own
    // descriptor (fdatasync writes back the file's pages, whoever dirtied
    // them, and reports any writeback error since this descriptor opened).
    // Unless the node chose the page cache's word for it (storage_files::flush).
    int error = fd < 0 ? EBADF : !_files.flush || ::fdatasync(fd) == 0 ? 0 : errno;
    if (fd >= 0 && ::close(fd) != 0 && error == 0) {
        error = errno;
    }
    if (!drained) {
        error = ETIMEDOUT;
    } else if (error == 0 && s.write_errors.load() != 0) {
        error = EIO;
    }
    bump(_counters, error == 0 ? counter::main_files_closed : counter::main_close_failures);
    s.close_errno.store(error, std::memory_order_relaxed);
    s.state.store(static_cast<std::uint32_t>(api::file_slot_state::closed),
                  std::memory_order_release);
}

} // namespace skycast::dataplane
