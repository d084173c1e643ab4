#pragma once
// The dataplane assembled: resources, the RX and TX contexts, the seal
// engines, the storage threads and the service thread, and the lcore loops.
// EAL must be initialised by the caller (main.cc from the YAML file; the eal
// test suite in-process), which keeps EAL's process-wide state out of here.

#include "dataplane/app/lcore_context.h"
#include "dataplane/app/options.h"
#include "dataplane/app/service_thread.h"
#include "dataplane/app/storage_thread.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace skycast::dataplane {

class runtime {
public:
    // Creates everything; nullptr and `error` set when something cannot be
    // (the message says what to change).
    static std::unique_ptr<runtime> create(const dataplane_options& options, std::string& error);
    ~runtime();
    runtime(const runtime&) = delete;
    runtime& operator=(const runtime&) = delete;

    // Starts the storage threads, the service thread and the lcore loops on
    // their lcores (a loop placed on the calling lcore runs in run_until()).
    bool start(std::string& error);
    // Runs until `stop` becomes true (the signal handler sets it), then stops
    // everything: lcores first, then the service thread (closing files with
    // their writes flushed), then the storage threads.
    void run_until(const std::atomic<bool>& stop);
    void stop();

    api::shared_view shared() const { return _res.shared; }
    resources& res() { return _res; }
    rx_context& rx() { return *_rx; }
    tx_context& tx() { return *_tx; }
    service_thread& service() { return *_service; }
    std::vector<std::string> reservations() const;

private:
    explicit runtime(const dataplane_options& options);
    std::string build();

    dataplane_options _options;
    resources _res;
    std::unique_ptr<rx_context> _rx;
    std::unique_ptr<tx_context> _tx;
    std::unique_ptr<storage_files> _files;
    std::vector<std::unique_ptr<storage_thread>> _storage;
    std::unique_ptr<service_thread> _service;
    std::atomic<bool> _stop_loops{false};
    bool _started = false;
    bool _loop_on_main = false;
};

} // namespace skycast::dataplane
