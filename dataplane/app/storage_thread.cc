#include "dataplane/app/storage_thread.h"

#include "dataplane/app/counter_ids.h"
#include "dataplane/app/internal_messages.h"

#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <rte_mbuf.h>
#include <rte_ring_elem.h>
#include <sys/uio.h>
#include <unistd.h>

namespace skycast::dataplane {
namespace {

// Jobs taken per batch, and iovecs per pwritev: 64 jumbo blocks is ~560 KiB
// per call, enough to amortise the syscall and small enough for IOV_MAX.
constexpr unsigned batch = 64;
// Written bytes of one file after which its writeback is started.
constexpr std::uint64_t writeback_kick_bytes = 16ull << 20;

rte_mbuf* mbuf_of(const storage_job& j) {
    return reinterpret_cast<rte_mbuf*>(j.mbuf);
}

} // namespace

storage_thread::storage_thread(rte_ring* jobs, storage_files& files, api::shared_view shared,
                               std::uint64_t* counters, idle_backoff backoff)
    : _jobs(jobs), _files(files), _shared(shared), _counters(counters), _backoff(backoff) {
    _thread = std::thread([this] { loop(); });
}

storage_thread::~storage_thread() {
    stop();
}

void storage_thread::stop() {
    _stop.store(true);
    if (_thread.joinable()) {
        _thread.join();
    }
}

bool storage_thread::drained() const {
    return !_busy.load(std::memory_order_acquire) && rte_ring_empty(_jobs) != 0;
}

std::size_t storage_thread::run_once() {
    storage_job jobs[batch];
    _busy.store(true, std::memory_order_release);
    const unsigned n = rte_ring_sc_dequeue_burst_elem(_jobs, jobs, sizeof jobs[0], batch, nullptr);
    unsigned i = 0;
    while (i < n) {
        // A run of jobs for one slot at contiguous offsets: one pwritev.
        const storage_job& first = jobs[i];
        iovec iov[batch];
        unsigned run = 0;
        std::uint64_t next = first.file_offset;
        while (i + run < n && jobs[i + run].slot == first.slot &&
               jobs[i + run].generation == first.generation && jobs[i + run].file_offset == next) {
            const storage_job& j = jobs[i + run];
            iov[run] = {rte_pktmbuf_mtod_offset(mbuf_of(j), void*, j.data_offset), j.length};
            next += j.length;
            ++run;
        }
        const std::size_t bytes = next - first.file_offset;
        api::file_slot& slot = _shared.slot(first.slot);
        const int fd = _files.fd[first.slot].load(std::memory_order_acquire);
        bool ok = fd >= 0 &&
                  _files.generation[first.slot].load(std::memory_order_acquire) == first.generation;
        int write_error = 0;
        if (ok) {
            std::size_t done = 0;
            unsigned at = 0;
            // pwritev may write less than asked (signals, quotas): go on from
            // where it stopped; any error fails the file.
            while (done < bytes) {
                const ssize_t w = pwritev(fd, iov + at, static_cast<int>(run - at),
                                          static_cast<off_t>(first.file_offset + done));
                bump(_counters, counter::storage_write_calls);
                if (w < 0 && errno == EINTR) {
                    continue;
                }
                if (w <= 0) {
                    // A write of nothing to a regular file is a full disk.
                    write_error = w < 0 ? errno : ENOSPC;
                    ok = false;
                    break;
                }
                done += static_cast<std::size_t>(w);
                std::size_t skip = static_cast<std::size_t>(w);
                while (at < run && skip >= iov[at].iov_len) {
                    skip -= iov[at].iov_len;
                    ++at;
                }
                if (at < run) {
                    iov[at].iov_base = static_cast<char*>(iov[at].iov_base) + skip;
                    iov[at].iov_len -= skip;
                }
            }
        }
        if (ok && _files.flush &&
            bytes_since_writeback(first.slot, bytes) >= writeback_kick_bytes) {
            // Start the kernel's writeback now (asynchronously) so the
            // fdatasync at close waits for the tail only: a 300 MB file
            // flushed at once stalls the close, and with it the COMPLETE,
            // for seconds.
            ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        }
        if (ok) {
            slot.blocks_done.fetch_add(run, std::memory_order_release);
            slot.bytes_done.fetch_add(bytes, std::memory_order_release);
            bump(_counters, counter::storage_blocks_written, run);
            bump(_counters, counter::storage_bytes_written, bytes);
        } else {
            if (write_error != 0) {
                // The first cause stays: later failures usually follow from it.
                std::int32_t none = 0;
                slot.write_errno.compare_exchange_strong(none, write_error,
                                                         std::memory_order_relaxed);
            }
            slot.write_errors.fetch_add(run, std::memory_order_release);
            bump(_counters, counter::storage_write_errors, run);
        }
        for (unsigned k = 0; k < run; ++k) {
            rte_pktmbuf_free(mbuf_of(jobs[i + k]));
        }
        i += run;
    }
    _busy.store(false, std::memory_order_release);
    return n;
}

std::uint64_t storage_thread::bytes_since_writeback(std::uint32_t slot, std::uint64_t bytes) {
    std::uint64_t& n = _unflushed[slot];
    n += bytes;
    const std::uint64_t total = n;
    if (total >= writeback_kick_bytes) {
        n = 0;
    }
    return total;
}

void storage_thread::loop() {
    for (;;) {
        const bool did = run_once() != 0;
        if (!did && _stop.load()) {
            return; // stopped and nothing left: every queued block was written
        }
        if (const std::uint32_t pause = _backoff.after_round(did); pause != 0) {
            std::this_thread::sleep_for(std::chrono::microseconds(pause));
        }
    }
}

} // namespace skycast::dataplane
