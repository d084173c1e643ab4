#pragma once
// The dataplane's service thread: executes the control process's commands
// (dataplane/api/contract.h) — opening files, joining groups, installing
// session keys, starting passes — changing the lcores' tables only while
// they are parked at their gates; reclaims finished passes; keeps the pages
// of the file being sent resident ahead of the TX lcore; refreshes port
// statistics and the heartbeat in the shared memzone. An ordinary thread:
// it may block, allocate and make syscalls, which the lcores may not.

#include "dataplane/app/file_closer.h"
#include "dataplane/app/kernel_ring_drops.h"
#include "dataplane/app/lcore_context.h"
#include "dataplane/app/options.h"
#include "dataplane/app/storage_thread.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <thread>
#include <vector>

namespace skycast::dataplane {

struct tx_pass;

class service_thread {
public:
    service_thread(const dataplane_options& options, resources& res, rx_context& rx, tx_context& tx,
                   storage_files& files, std::vector<std::unique_ptr<storage_thread>>& storage);
    ~service_thread();
    service_thread(const service_thread&) = delete;
    service_thread& operator=(const service_thread&) = delete;

    void start();
    void stop(); // joins; then closes every open file (flushed) and frees passes
    // The port's AF_PACKET sockets (none on other PMDs): the RX loop waits on
    // them when idle, and this thread reads their drop counters.
    std::span<const int> port_sockets() const { return _kernel_ring.fds(); }

    // One round of work on the calling thread (tests drive it without the
    // thread): commands, reclaiming, prefetch, statistics.
    bool run_once();

    // Executes one command and returns its reply (the ring path calls this).
    api::reply execute(const api::command& cmd);

private:
    // A pass is being sent or a file received: commands come at GRTT pace.
    bool in_session() const;
    api::reply_status open_receive_file(const api::command& cmd, std::int32_t& detail);
    api::reply_status close_receive_file(const api::command& cmd, std::int32_t& detail);
    api::reply_status start_pass(const api::command& cmd, std::int32_t& detail);
    api::reply_status stop_pass();
    api::reply_status set_pass_rate(const api::command& cmd);
    api::reply_status set_session_keys(const api::command& cmd);
    api::reply_status clear_session_keys(const api::command& cmd);
    api::reply_status join_group(const api::command& cmd, bool join);
    api::reply_status open_port(const api::command& cmd);
    api::reply_status set_forward(const api::command& cmd);
    void reset_session_state();
    bool reclaim_passes();
    // FEC: encodes the pass's next parity runs for the TX lcore (parity_ahead.h).
    bool encode_parity_ahead(tx_pass& pass);
    void prefetch();
    void refresh_port_stats();
    void free_pass(tx_pass* pass);
    bool send_tx_work(const struct tx_work& w);
    bool wait_storage_drained();
    // Closes every open received file and waits until each is flushed.
    void close_all_received_files();
    void loop();

    const dataplane_options& _options;
    resources& _res;
    rx_context& _rx;
    tx_context& _tx;
    storage_files& _files;
    std::vector<std::unique_ptr<storage_thread>>& _storage;
    std::uint64_t* _counters;
    kernel_ring_drops _kernel_ring; // the port's AF_PACKET sockets, if any
    // KEYEX sessions: the sender's private key (signing, TX) and the peer
    // sender's public key (verifying, RX), per session slot; they outlive
    // the engines' sessions that point at them.
    std::array<std::shared_ptr<const crypto::private_key>, api::max_sessions> _signers;
    std::array<std::unique_ptr<const crypto::public_key>, api::max_sessions> _verifiers;
    tx_pass* _current_pass = nullptr;   // the pass the TX lcore holds (for prefetch)
    bool _current_pass_stopped = false; // stop_pass sent it back: it returns shortly
    std::uint32_t _prefetched = 0;      // blocks of it already touched
    std::uint64_t _last_stats_tsc = 0;
    std::atomic<bool> _stop{false};
    std::thread _thread;
    file_closer _closer; // last: its thread may still call wait_storage_drained
};

} // namespace skycast::dataplane
