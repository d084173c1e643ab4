#pragma once
// Storage threads: they take accepted blocks from the RX lcore (one ring
// each; a file always goes to the same thread, so its writes stay in order),
// write them with pwritev in batches of contiguous blocks, free the mbufs,
// and publish per file how many blocks reached the file and whether any
// write failed. Ordinary threads: they make the syscalls the RX lcore must not.

#include "dataplane/api/shared_layout.h"
#include "dataplane/core/idle_backoff.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

struct rte_ring;

namespace skycast::dataplane {

// The descriptors of open receive files, by slot: written by the service
// thread (before the RX lcore may accept blocks for the slot, and after it
// stopped and this thread drained), read by the storage threads.
struct storage_files {
    storage_files(std::uint32_t slots, bool flush_files)
        : fd(std::make_unique<std::atomic<int>[]>(slots)),
          generation(std::make_unique<std::atomic<std::uint32_t>[]>(slots)), flush(flush_files) {
        for (std::uint32_t i = 0; i < slots; ++i) {
            fd[i].store(-1);
        }
    }
    std::unique_ptr<std::atomic<int>[]> fd;
    std::unique_ptr<std::atomic<std::uint32_t>[]> generation;
    // dataplane.flush_before_complete: the storage threads start writeback
    // as blocks arrive and the closer fdatasyncs before reporting the file
    // closed; false leaves both to the kernel (the page cache, as stock
    // uftpd), so a complete file may not yet be on disk.
    const bool flush;
};

class storage_thread {
public:
    storage_thread(rte_ring* jobs, storage_files& files, api::shared_view shared,
                   std::uint64_t* counters, idle_backoff backoff);
    ~storage_thread();
    storage_thread(const storage_thread&) = delete;
    storage_thread& operator=(const storage_thread&) = delete;

    // True when every job enqueued before the call has been written (or
    // failed) and its mbuf freed: the ring is empty and no batch is in hand.
    bool drained() const;
    // Processes what is queued on the calling thread (tests without threads).
    std::size_t run_once();
    void stop(); // drains the ring, then joins

private:
    void loop();
    // Adds `bytes` to what `slot` wrote since its last writeback kick; returns
    // the total and restarts it when the caller is about to kick.
    std::uint64_t bytes_since_writeback(std::uint32_t slot, std::uint64_t bytes);

    rte_ring* _jobs;
    storage_files& _files;
    api::shared_view _shared;
    std::uint64_t* _counters;
    idle_backoff _backoff; // used by the thread only
    std::atomic<bool> _stop{false};
    std::atomic<bool> _busy{false};
    std::thread _thread;
    std::unordered_map<std::uint32_t, std::uint64_t> _unflushed; // per slot, bytes
};

} // namespace skycast::dataplane
