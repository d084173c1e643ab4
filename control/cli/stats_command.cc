// skycast stats [--config FILE | --socket PATH] [--json]
//
// Prints a node's live counters: the session and its receivers, and the
// dataplane's counters per lcore and port. --json prints the document as
// the node sends it, for monitoring systems.

#include "control/cli/commands.h"
#include "control/cli/node_client.h"
#include "protocol/display_text.h"

#include <cstdint>
#include <cstdio>

namespace skycast::cli {
namespace {

struct stats_options {
    std::string config;
    std::string socket;
    bool json = false;
};

// Everything printed is shown through display_text()/display_value()
// (node_client.h): the receivers' names and outcomes come from the wire.
void print_text(const nlohmann::json& doc) {
    std::printf("node %s (%s), %llu sessions done\n", text_member(doc, "node").c_str(),
                text_member(doc, "role").c_str(),
                static_cast<unsigned long long>(count_member(doc, "sessions_done")));
    if (const auto& session = member(doc, "session"); session.is_object()) {
        std::printf("session:\n");
        for (const auto& [key, value] : session.items()) {
            if (key == "receivers" && value.is_array()) {
                for (const auto& r : value) {
                    std::printf("  receiver %s %s rtt=%.3f s %.1f%% pass %llu\n",
                                text_member(r, "uid").c_str(), text_member(r, "outcome").c_str(),
                                number_member(r, "rtt"), number_member(r, "percent"),
                                static_cast<unsigned long long>(count_member(r, "pass")));
                }
            } else {
                std::printf("  %-20s %s\n", protocol::display_text(key).c_str(),
                            display_value(value).c_str());
            }
        }
    }
    const auto& dp = member(doc, "dataplane");
    std::printf("dataplane (pid %llu):\n",
                static_cast<unsigned long long>(count_member(dp, "pid")));
    if (const auto& counters = member(dp, "counters"); counters.is_object()) {
        for (const auto& [name, value] : counters.items()) {
            // Zero counters are left out; a value that is no count is shown as it is.
            if (!value.is_number_integer() || value.get<std::int64_t>() != 0) {
                std::printf("  %-32s %s\n", protocol::display_text(name).c_str(),
                            display_value(value).c_str());
            }
        }
    }
    if (const auto& lcores = member(dp, "lcores"); lcores.is_array()) {
        for (const auto& l : lcores) {
            std::printf("  [%s]", text_member(l, "role").c_str());
            if (const auto& counters = member(l, "counters"); counters.is_object()) {
                for (const auto& [name, value] : counters.items()) {
                    std::printf(" %s=%s", protocol::display_text(name).c_str(),
                                display_value(value).c_str());
                }
            }
            std::printf("\n");
        }
    }
    std::printf("  port: %s\n", display_value(member(dp, "port")).c_str());
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
    if (!doc->is_object()) {
        std::fprintf(stderr, "skycast stats: unusable answer from the node: not a JSON object\n");
        return 1;
    }
    if (o.json) {
        std::printf("%s\n", inert_dump(*doc, 2).c_str());
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
    cmd->callback(
        [opts] { set_exit_code(guard_node_command("stats", [&] { return run_stats(*opts); })); });
}

} // namespace skycast::cli
