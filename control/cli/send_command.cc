// skycast send [--config FILE | --socket PATH] PATH...
//
// Submits files and directory trees to the sender node's control process,
// follows the transfer, prints one line per receiver, and exits 0 only when
// every receiver completed every file (1 otherwise, with the reasons; 2 for
// usage errors or when the node cannot be reached).

#include "control/cli/commands.h"
#include "control/cli/node_client.h"

#include <cstdio>
#include <filesystem>

namespace skycast::cli {
namespace {

struct send_options {
    std::string config;
    std::string socket;
    std::vector<std::string> paths;
    bool quiet = false;
};

int run_send(const send_options& o) {
    std::string error;
    const std::string path = socket_path(o.config, o.socket, error);
    if (path.empty()) {
        std::fprintf(stderr, "skycast send: %s\n", error.c_str());
        return 2;
    }
    auto client = node_client::connect(path, error);
    if (!client) {
        std::fprintf(stderr, "skycast send: %s\n", error.c_str());
        return 2;
    }
    nlohmann::json paths = nlohmann::json::array();
    for (const auto& p : o.paths) {
        std::error_code ec;
        const auto absolute = std::filesystem::absolute(p, ec);
        if (ec || !std::filesystem::exists(absolute, ec)) {
            std::fprintf(stderr, "skycast send: %s: no such file or directory\n", p.c_str());
            return 2;
        }
        paths.push_back(absolute.string());
    }
    if (!client->request({{"request", "send"}, {"paths", paths}})) {
        std::fprintf(stderr, "skycast send: the node closed the connection\n");
        return 2;
    }
    while (auto line = client->next()) {
        const std::string event = line->value("event", "");
        if (event == "error") {
            std::fprintf(stderr, "skycast send: %s\n", line->value("error", "").c_str());
            return 1;
        }
        if (event == "started") {
            std::printf("session %s: %llu files, %llu bytes\n", line->value("session", "").c_str(),
                        static_cast<unsigned long long>(line->value("files", 0ull)),
                        static_cast<unsigned long long>(line->value("bytes", 0ull)));
        } else if (event == "progress" && !o.quiet) {
            std::printf("  %-10s receivers=%u passes=%llu sent=%llu B grtt=%.3f s\n",
                        line->value("phase", "").c_str(), line->value("receivers", 0u),
                        static_cast<unsigned long long>(line->value("passes", 0ull)),
                        static_cast<unsigned long long>(line->value("bytes_sent", 0ull)),
                        line->value("grtt", 0.0));
        } else if (event == "result") {
            for (const auto& r : (*line)["receivers"]) {
                std::printf("  receiver %s: %s%s%s\n", r.value("uid", "").c_str(),
                            r.value("outcome", "").c_str(),
                            r.value("reason", "").empty() ? "" : ": ",
                            r.value("reason", "").c_str());
            }
            const bool ok = line->value("ok", false);
            const std::string failure = line->value("failure", "");
            std::printf("%s: %u receiver(s) completed, %llu passes, %.2f s%s%s\n",
                        ok ? "success" : "FAILED", line->value("receivers_ok", 0u),
                        static_cast<unsigned long long>(line->value("passes", 0ull)),
                        line->value("seconds", 0.0), failure.empty() ? "" : ": ", failure.c_str());
            return ok ? 0 : 1;
        }
        std::fflush(stdout);
    }
    std::fprintf(stderr, "skycast send: the node closed the connection before the result\n");
    return 1;
}

} // namespace

void add_send_command(CLI::App& app) {
    auto opts = std::make_shared<send_options>();
    auto* cmd = app.add_subcommand("send", "send files and directory trees to the receivers");
    cmd->add_option("--config,-c", opts->config, "the sender node's YAML file");
    cmd->add_option("--socket", opts->socket, "the node's control socket (instead of --config)");
    cmd->add_flag("--quiet,-q", opts->quiet, "no progress lines");
    cmd->add_option("paths", opts->paths, "files and directories to send")->required();
    cmd->callback([opts] { set_exit_code(run_send(*opts)); });
}

} // namespace skycast::cli
