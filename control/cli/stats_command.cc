// skycast stats [--config FILE | --socket PATH] [--json]
//
// Prints a node's live counters: the session and its receivers, and the
// dataplane's counters per lcore and port. --json prints the document as
// the node sends it, for monitoring systems.

#include "control/cli/commands.h"
#include "control/cli/node_client.h"

#include <cstdio>

namespace skycast::cli {
namespace {

struct stats_options {
    std::string config;
    std::string socket;
    bool json = false;
};

void print_text(const nlohmann::json& doc) {
    std::printf("node %s (%s), %llu sessions done\n", doc.value("node", "").c_str(),
                doc.value("role", "").c_str(),
                static_cast<unsigned long long>(doc.value("sessions_done", 0ull)));
    if (doc.contains("session")) {
        std::printf("session:\n");
        for (const auto& [key, value] : doc["session"].items()) {
            if (key == "receivers") {
                for (const auto& r : value) {
                    std::printf("  receiver %s %s rtt=%.3f s\n", r.value("uid", "").c_str(),
                                r.value("outcome", "").c_str(), r.value("rtt", 0.0));
                }
            } else {
                std::printf("  %-20s %s\n", key.c_str(), value.dump().c_str());
            }
        }
    }
    const auto& dp = doc["dataplane"];
    std::printf("dataplane (pid %llu):\n", static_cast<unsigned long long>(dp.value("pid", 0ull)));
    for (const auto& [name, value] : dp["counters"].items()) {
        if (value.get<std::uint64_t>() != 0) {
            std::printf("  %-32s %llu\n", name.c_str(),
                        static_cast<unsigned long long>(value.get<std::uint64_t>()));
        }
    }
    for (const auto& l : dp["lcores"]) {
        std::printf("  [%s]", l.value("role", "").c_str());
        for (const auto& [name, value] : l["counters"].items()) {
            std::printf(" %s=%llu", name.c_str(),
                        static_cast<unsigned long long>(value.get<std::uint64_t>()));
        }
        std::printf("\n");
    }
    std::printf("  port: %s\n", dp["port"].dump().c_str());
}

int run_stats(const stats_options& o) {
    std::string error;
    const std::string path = socket_path(o.config, o.socket, error);
    if (path.empty()) {
        std::fprintf(stderr, "skycast stats: %s\n", error.c_str());
        return 2;
    }
    auto client = node_client::connect(path, error);
    if (!client) {
        std::fprintf(stderr, "skycast stats: %s\n", error.c_str());
        return 2;
    }
    if (!client->request({{"request", "stats"}})) {
        std::fprintf(stderr, "skycast stats: the node closed the connection\n");
        return 1;
    }
    const auto doc = client->next();
    if (!doc) {
        std::fprintf(stderr, "skycast stats: no answer from the node\n");
        return 1;
    }
    if (o.json) {
        std::printf("%s\n", doc->dump(2).c_str());
    } else {
        print_text(*doc);
    }
    return 0;
}

} // namespace

void add_stats_command(CLI::App& app) {
    auto opts = std::make_shared<stats_options>();
    auto* cmd = app.add_subcommand("stats", "print a node's live counters");
    cmd->add_option("--config,-c", opts->config, "the node's YAML file");
    cmd->add_option("--socket", opts->socket, "the node's control socket (instead of --config)");
    cmd->add_flag("--json", opts->json, "one JSON document, for monitoring systems");
    cmd->callback([opts] { set_exit_code(run_stats(*opts)); });
}

} // namespace skycast::cli
