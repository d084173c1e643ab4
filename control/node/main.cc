// skycast-control: the control plane of a Skycast node, a DPDK secondary
// process beside its skycast-dataplane.
//
//   skycast-control --config /etc/skycast/hub.yaml
//
// Waits (saying so) until the dataplane of the config's file prefix is up,
// attaches to its rings and memzone, and runs the sender or receiver role
// until SIGINT/SIGTERM. If the dataplane stops or restarts, this process
// re-executes itself to attach afresh: a DPDK secondary's EAL cannot be
// initialised twice in one process. Exit status: 0 after a stop, 1 when it
// cannot attach or set up, 2 for a bad command line or configuration.

#include "config/process_start.h"
#include "control/dataplane_link/dataplane_link.h"
#include "control/dataplane_link/dataplane_stats.h"
#include "control/node/control_socket.h"
#include "control/node/metrics_http.h"
#include "control/node/metrics_text.h"
#include "control/node/node.h"
#include "control/node/node_log.h"
#include "crypto/secure_memory.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <rte_eal.h>
#include <rte_errno.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

std::atomic<bool> stop_requested{false};

extern "C" void on_signal(int) {
    stop_requested.store(true);
}

// Re-executes this program. Every inherited descriptor is closed first: the
// EAL's fbarray and config files keep their locks across exec, and a new
// dataplane could not initialise under the same file prefix while we hold
// them.
void restart_self(char** argv) {
    ::close_range(3, ~0U, 0);
    ::execv("/proc/self/exe", argv);
}

int run_control(int argc, char** argv) {
    if (skycast::crypto::initialize() != skycast::crypto::crypto_error::ok) {
        std::fprintf(stderr, "skycast-control: cannot initialise libsodium/OpenSSL\n");
        return 1;
    }
    auto start = skycast::config::load_process_config(
        "skycast-control", "the control plane of a Skycast node", argc, argv);
    if (!start.config) {
        return start.exit_status;
    }
    const skycast::config::node_config& config = *start.config;
    skycast::control::node::node_log log(config.control.log);
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    const std::string& prefix = config.dataplane.eal.file_prefix;
    SKYCAST_LOG(log, info, "waiting for the dataplane (file prefix %s)", prefix.c_str());
    while (!skycast::control::dataplane_link::wait_for_primary(prefix, std::chrono::seconds(10))) {
        if (stop_requested.load()) {
            return 0;
        }
        SKYCAST_LOG(log, warn, "still waiting for skycast-dataplane with file prefix %s",
                    prefix.c_str());
    }
    std::vector<std::string> eal_args{argv[0],
                                      "--proc-type=secondary",
                                      "--file-prefix=" + prefix,
                                      "--lcores=" + config.control.eal.lcores,
                                      "--no-pci",
                                      "--log-level=*:warning",
                                      "--no-telemetry"};
    std::vector<char*> eal_argv;
    for (auto& a : eal_args) {
        eal_argv.push_back(a.data());
    }
    if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
        SKYCAST_LOG(log, error, "cannot attach to the dataplane as a DPDK secondary: %s",
                    rte_strerror(rte_errno));
        return 1;
    }
    std::string error;
    auto link = skycast::control::dataplane_link::attach(std::chrono::seconds(30), error);
    if (!link) {
        SKYCAST_LOG(log, error, "%s", error.c_str());
        rte_eal_cleanup();
        return 1;
    }
    if (!link->alive()) {
        // Attached to what a killed dataplane left (its heartbeat stands
        // still): start over and wait for a live one.
        SKYCAST_LOG(log, warn, "the dataplane is not alive; waiting for it to restart");
        // No rte_eal_cleanup(): it would talk to the dead primary.
        std::this_thread::sleep_for(std::chrono::seconds(1));
        restart_self(argv);
        return 1;
    }
    const std::string socket_path = config.control.socket;
    auto socket = skycast::control::node::control_socket::open(socket_path, error);
    if (!socket) {
        SKYCAST_LOG(log, error, "%s", error.c_str());
        rte_eal_cleanup();
        return 1;
    }
    SKYCAST_LOG(log, info, "attached to the dataplane; control socket %s", socket_path.c_str());
    skycast::control::node::node_exit why;
    {
        skycast::control::node::node node(config, *link, log, socket.get());
        std::unique_ptr<skycast::control::node::metrics_http> metrics;
        if (config.control.metrics.enabled()) {
            metrics = skycast::control::node::metrics_http::start(
                config.control.metrics.address, config.control.metrics.port,
                [&node] { return skycast::control::node::prometheus_text(node.stats()); }, error);
            if (!metrics) {
                SKYCAST_LOG(log, error, "%s", error.c_str());
                return 1;
            }
            SKYCAST_LOG(log, info, "Prometheus metrics on port %u, GET /metrics", metrics->port());
        }
        why = node.run(stop_requested);
    }
    socket.reset();
    // With the primary gone, EAL's cleanup would talk to it (and crashes in
    // rte_service_finalize). That is the case not only when the node saw the
    // dataplane go, but also when both are stopped together and the
    // dataplane exits first. Our mappings go with the exec or exit, which is
    // what lets a new dataplane reuse the file prefix.
    const bool primary_gone = why == skycast::control::node::node_exit::dataplane_lost ||
                              rte_eal_primary_proc_alive(nullptr) == 0 || !link->alive();
    if (!primary_gone) {
        rte_eal_cleanup();
    }
    if (why == skycast::control::node::node_exit::dataplane_lost && !stop_requested.load()) {
        SKYCAST_LOG(log, warn, "re-attaching: restarting skycast-control");
        std::this_thread::sleep_for(std::chrono::seconds(1));
        restart_self(argv);
        SKYCAST_LOG(log, error, "cannot restart: %s", std::strerror(errno));
        return 1;
    }
    return why == skycast::control::node::node_exit::setup_failed ? 1 : 0;
}

} // namespace

int main(int argc, char** argv) {
    // Every error the node expects is handled where it happens; this is the
    // last line for what it does not (memory exhausted, a library's bug):
    // a message and a clean exit status instead of std::terminate's abort.
    try {
        return run_control(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "skycast-control: fatal: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "skycast-control: fatal: unknown exception\n");
    }
    return 1;
}
