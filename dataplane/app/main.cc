// skycast-dataplane: the DPDK primary process of a Skycast node.
//
//   skycast-dataplane --config /etc/skycast/hub.yaml
//
// Reads the node's YAML file (its `dataplane:` section), initialises the EAL
// from it, reserves what the config sizes (and prints what and why), runs
// the lcores until SIGINT/SIGTERM, then stops cleanly: lcores first, then
// in-flight writes flushed and files closed, then the EAL's hugepage files
// released. Exit status: 0 after a clean stop, 1 when the dataplane could not
// start, 2 for a bad command line or configuration.

#include "config/process_start.h"
#include "dataplane/app/config_options.h"
#include "dataplane/app/eal_leftovers.h"
#include "dataplane/app/runtime.h"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <rte_eal.h>
#include <rte_errno.h>
#include <string>
#include <vector>

namespace {

std::atomic<bool> stop_requested{false};

extern "C" void on_signal(int) {
    stop_requested.store(true);
}

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

} // namespace

int main(int argc, char** argv) {
    auto start = skycast::config::load_process_config(
        "skycast-dataplane", "the DPDK dataplane of a Skycast node", argc, argv);
    if (!start.config) {
        return start.exit_status;
    }
    const skycast::config::node_config& config = *start.config;
    const std::vector<std::string> eal_args =
        skycast::dataplane::eal_arguments(config.dataplane, argv[0]);
    std::vector<char*> eal_argv;
    for (const auto& a : eal_args) {
        eal_argv.push_back(const_cast<char*>(a.c_str()));
    }
    std::fprintf(stderr, "skycast-dataplane: EAL");
    for (const auto& a : eal_args) {
        std::fprintf(stderr, " %s", a.c_str());
    }
    std::fprintf(stderr, "\n");
    // Before EAL init: a stop request that arrives while the EAL starts is
    // honoured once it has (a clean stop, not a kill halfway through init).
    install_signal_handlers();
    if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
        std::fprintf(stderr,
                     "skycast-dataplane: EAL initialisation failed: %s\n"
                     "  check dataplane.eal (lcores, memory_mb, hugepages: are hugepages reserved? "
                     "scripts/setup-hugepages.sh) and the port device string\n",
                     rte_strerror(rte_errno));
        return 1;
    }

    int status = 0;
    {
        std::string error;
        auto rt = skycast::dataplane::runtime::create(
            skycast::dataplane::runtime_options(config.dataplane), error);
        if (!rt) {
            std::fprintf(stderr, "skycast-dataplane: %s\n", error.c_str());
            status = 1;
        } else {
            for (const auto& line : rt->reservations()) {
                std::fprintf(stderr, "skycast-dataplane: reserved %s\n", line.c_str());
            }
            if (!rt->start(error)) {
                std::fprintf(stderr, "skycast-dataplane: %s\n", error.c_str());
                status = 1;
            } else {
                std::fprintf(stderr, "skycast-dataplane: running (file prefix %s)\n",
                             config.dataplane.eal.file_prefix.c_str());
                rt->run_until(stop_requested);
                std::fprintf(stderr, "skycast-dataplane: stopped\n");
            }
        }
    }
    rte_eal_cleanup();
    const int removed = skycast::dataplane::remove_eal_leftovers(config.dataplane.eal.file_prefix);
    std::fprintf(stderr, "skycast-dataplane: released %d hugepage files\n", removed);
    return status;
}
