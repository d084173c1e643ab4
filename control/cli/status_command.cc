// skycast status [--config FILE | --socket PATH] [--watch] [--interval S] [--plain]
//
// Shows the transfers running on a node, from the stats document `skycast
// stats` reads: on a sender node its session with a bar per receiver, on a
// receiver node a bar per session (sender, group, file); "no session
// running" when there is none. Once, or with --watch every --interval
// seconds until interrupted (SIGINT/SIGTERM end it cleanly, cursor shown).
// Bars on a terminal, plain lines otherwise or with --plain (progress_view.h).
// Exit 0; 2 when the node cannot be reached at the first try (a node that
// goes away during --watch is retried), 1 when its answer is unusable.

#include "control/cli/commands.h"
#include "control/cli/node_client.h"
#include "control/cli/progress_view.h"
#include "control/cli/terminal.h"

#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>

namespace skycast::cli {
namespace {

struct status_options {
    std::string config;
    std::string socket;
    bool watch = false;
    double interval = 1.0;
    bool plain = false;
};

// How long one nap of the --watch loop is: an interrupt is noticed within it.
constexpr auto nap = std::chrono::milliseconds(50);

enum class fetch_error { none, unreachable, unusable };

void write_out(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
}

// One stats document; a connection per request, so that a node that
// restarted during --watch is found again.
std::optional<nlohmann::json> fetch(const std::string& path, fetch_error& kind,
                                    std::string& error) {
    auto client = node_client::connect(path, error);
    if (!client) {
        kind = fetch_error::unreachable;
        return std::nullopt;
    }
    if (!client->request({{"request", "stats"}})) {
        kind = fetch_error::unreachable;
        error = "the node closed the connection";
        return std::nullopt;
    }
    auto doc = client->next();
    if (!doc) {
        kind = fetch_error::unreachable;
        error = "no answer from the node";
        return std::nullopt;
    }
    if (!doc->is_object()) {
        kind = fetch_error::unusable;
        error = "unusable answer from the node: not a JSON object";
        return std::nullopt;
    }
    if (text_member(*doc, "event") == "error") {
        kind = fetch_error::unusable;
        error = "the node answered: " + display_value(member(*doc, "error"));
        return std::nullopt;
    }
    kind = fetch_error::none;
    return doc;
}

// A sender node's running session, or a receiver node's sessions.
std::string render(progress_view& view, const nlohmann::json& doc, double local_s) {
    if (const auto& sessions = member(doc, "sessions"); sessions.is_array()) {
        return view.receiver_sessions(sessions, local_s);
    }
    if (const auto& session = member(doc, "session"); session.is_object()) {
        return view.sender(session, local_s);
    }
    return view.message("no session running");
}

int run_status(const status_options& o) {
    std::string error;
    const std::string path = socket_path(o.config, o.socket, error);
    if (path.empty()) {
        std::fprintf(stderr, "skycast status: %s\n", error.c_str());
        return 2;
    }
    fetch_error kind = fetch_error::none;
    auto doc = fetch(path, kind, error);
    if (!doc) {
        std::fprintf(stderr, "skycast status: %s\n", error.c_str());
        return kind == fetch_error::unreachable ? 2 : 1;
    }
    const bool terminal = !o.plain && stdout_is_terminal();
    progress_view view(terminal ? view_mode::terminal : view_mode::plain, terminal_width());
    // The bars hide the cursor; an interrupt ends the loop below instead of
    // the process, so that the block stays and the cursor comes back.
    interrupt_guard guard(terminal, false);
    const auto start = std::chrono::steady_clock::now();
    auto seconds = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    if (terminal) {
        write_out("node " + text_member(*doc, "node") + " (" + text_member(*doc, "role") + ")\n");
    }
    for (;;) {
        if (doc) {
            write_out(render(view, *doc, seconds()));
        } else {
            write_out(view.message("node unreachable (" + error + "); retrying"));
        }
        if (!o.watch) {
            break;
        }
        const auto due = std::chrono::steady_clock::now() +
                         std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(o.interval));
        while (!interrupt_guard::interrupted() && std::chrono::steady_clock::now() < due) {
            std::this_thread::sleep_for(nap);
        }
        if (interrupt_guard::interrupted()) {
            break;
        }
        if (terminal) {
            view.set_width(terminal_width());
        }
        doc = fetch(path, kind, error);
    }
    write_out(view.release());
    return 0;
}

} // namespace

void add_status_command(CLI::App& app) {
    auto opts = std::make_shared<status_options>();
    auto* cmd = app.add_subcommand("status", "show the transfers running on a node");
    cmd->add_option("--config,-c", opts->config, "the node's YAML file");
    cmd->add_option("--socket", opts->socket, "the node's control socket (instead of --config)");
    cmd->add_flag("--watch,-w", opts->watch, "refresh until interrupted");
    cmd->add_option("--interval", opts->interval, "seconds between refreshes with --watch")
        ->check(CLI::Range(0.1, 3600.0));
    cmd->add_flag("--plain", opts->plain, "plain lines even on a terminal (for logs and scripts)");
    cmd->callback(
        [opts] { set_exit_code(guard_node_command("status", [&] { return run_status(*opts); })); });
}

} // namespace skycast::cli
