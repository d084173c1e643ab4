// skycast send [--config FILE | --socket PATH] [--plain | --quiet] PATH...
//
// Submits files and directory trees to the sender node's control process,
// follows the transfer, prints one line per receiver, and exits 0 only when
// every receiver completed every file (1 otherwise, with the reasons; 2 for
// usage errors or when the node cannot be reached). Progress, every second:
// a bar per receiver redrawn in place on a terminal, plain lines otherwise
// or with --plain (progress_view.h); none with --quiet.

#include "control/cli/commands.h"
#include "control/cli/node_client.h"
#include "control/cli/progress_view.h"
#include "control/cli/terminal.h"
#include "protocol/display_text.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

namespace skycast::cli {
namespace {

struct send_options {
    std::string config;
    std::string socket;
    std::vector<std::string> paths;
    bool quiet = false;
    bool plain = false;
};

void write_out(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
}

// Follows the node's answer lines to the result. Every text in them is shown
// through display_text() (by text_member): receivers' outcomes and reasons
// come from the wire.
int follow_transfer(node_client& client, const send_options& o) {
    const bool terminal = !o.plain && !o.quiet && stdout_is_terminal();
    progress_view view(terminal ? view_mode::terminal : view_mode::plain, terminal_width());
    // Bars hide the cursor: an interrupt must not leave the terminal without
    // one. The transfer is the node's; `skycast send` ends as it always did.
    std::optional<interrupt_guard> guard;
    if (terminal) {
        guard.emplace(true, true);
    }
    const auto start = std::chrono::steady_clock::now();
    while (auto line = client.next()) {
        const std::string event = text_member(*line, "event");
        if (event != "progress") {
            write_out(view.release()); // what follows goes below the bars
            std::fflush(stdout);
        }
        if (event == "error") {
            const auto& why = member(*line, "error");
            std::fprintf(stderr, "skycast send: %s\n",
                         why.is_null() ? "the node reported an error" : display_value(why).c_str());
            return 1;
        }
        if (event == "started") {
            std::printf("session %s: %llu files, %llu bytes\n",
                        text_member(*line, "session").c_str(),
                        static_cast<unsigned long long>(count_member(*line, "files")),
                        static_cast<unsigned long long>(count_member(*line, "bytes")));
        } else if (event == "progress" && !o.quiet) {
            if (terminal) {
                view.set_width(terminal_width());
            }
            const double local =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            write_out(view.sender(*line, local));
        } else if (event == "result") {
            if (const auto& receivers = member(*line, "receivers"); receivers.is_array()) {
                for (const auto& r : receivers) {
                    const std::string reason = text_member(r, "reason");
                    std::printf("  receiver %s: %s%s%s\n", text_member(r, "uid").c_str(),
                                text_member(r, "outcome").c_str(), reason.empty() ? "" : ": ",
                                reason.c_str());
                }
            }
            const bool ok = flag_member(*line, "ok");
            const std::string failure = text_member(*line, "failure");
            std::printf("%s: %llu receiver(s) completed, %llu passes, %.2f s%s%s\n",
                        ok ? "success" : "FAILED",
                        static_cast<unsigned long long>(count_member(*line, "receivers_ok")),
                        static_cast<unsigned long long>(count_member(*line, "passes")),
                        number_member(*line, "seconds"), failure.empty() ? "" : ": ",
                        failure.c_str());
            // Where the time went (the node's own summary of "phases").
            if (const std::string phases = text_member(*line, "time_by_phase"); !phases.empty()) {
                std::printf("time by phase: %s\n", phases.c_str());
            }
            return ok ? 0 : 1;
        }
        std::fflush(stdout);
    }
    write_out(view.release());
    std::fflush(stdout);
    std::fprintf(stderr, "skycast send: the node closed the connection before the result\n");
    return 1;
}

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
            std::fprintf(stderr, "skycast send: %s: no such file or directory\n",
                         protocol::display_text(p).c_str());
            return 2;
        }
        // The control socket speaks JSON, which holds UTF-8 only: a name in
        // another encoding (Latin-1 "caf\xE9") cannot be sent as it is, and
        // sending it mangled would name another file.
        if (!protocol::is_valid_utf8(absolute.string())) {
            std::fprintf(stderr,
                         "skycast send: %s: the path is not valid UTF-8, which the node's control "
                         "socket cannot carry (rename it)\n",
                         protocol::display_text(absolute.string()).c_str());
            return 2;
        }
        paths.push_back(absolute.string());
    }
    if (!client->request({{"request", "send"}, {"paths", paths}})) {
        std::fprintf(stderr, "skycast send: the node closed the connection\n");
        return 2;
    }
    return follow_transfer(*client, o);
}

} // namespace

void add_send_command(CLI::App& app) {
    auto opts = std::make_shared<send_options>();
    auto* cmd = app.add_subcommand("send", "send files and directory trees to the receivers");
    cmd->add_option("--config,-c", opts->config, "the sender node's YAML file");
    cmd->add_option("--socket", opts->socket, "the node's control socket (instead of --config)");
    cmd->add_flag("--quiet,-q", opts->quiet, "no progress lines");
    cmd->add_flag("--plain", opts->plain,
                  "progress as plain lines even on a terminal (for logs and scripts)");
    cmd->add_option("paths", opts->paths, "files and directories to send")->required();
    cmd->callback(
        [opts] { set_exit_code(guard_node_command("send", [&] { return run_send(*opts); })); });
}

} // namespace skycast::cli
