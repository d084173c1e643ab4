#pragma once
// Closes received files off the service thread. Closing a file means
// waiting for the storage threads to write what is queued for it and then
// fdatasync: for a large file on a slow disk, seconds. The service thread
// must not stop for that (it answers every session's commands, prefetches
// for the TX lcore and encodes parity), nor must control (its engines'
// timers and every other session wait behind a blocking command). So the
// close command only stops the RX lcore accepting the file, marks the slot
// `closing` and queues it here; this thread flushes and closes it, then
// publishes the outcome in the slot (close_errno, then state `closed` with
// release), which control polls (dataplane_ports::close_result).

#include "dataplane/api/shared_layout.h"
#include "dataplane/app/storage_thread.h"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace skycast::dataplane {

class file_closer {
public:
    // `drained` tells whether the storage threads have written everything
    // queued so far (false after its own timeout).
    file_closer(storage_files& files, api::shared_view shared, std::uint64_t* counters,
                std::function<bool()> drained);
    ~file_closer();
    file_closer(const file_closer&) = delete;
    file_closer& operator=(const file_closer&) = delete;

    // Queues `slot` (state already `closing`, the RX lcore no longer
    // accepting it).
    void close(std::uint32_t slot);
    // Returns once every queued close has been published.
    void wait_idle();

private:
    void loop();
    void close_now(std::uint32_t slot);

    storage_files& _files;
    api::shared_view _shared;
    std::uint64_t* _counters;
    std::function<bool()> _drained;
    std::mutex _mutex;
    std::condition_variable _wake;
    std::condition_variable _idle;
    std::deque<std::uint32_t> _queue;
    bool _busy = false;
    bool _stop = false;
    std::thread _thread;
};

} // namespace skycast::dataplane
