// skycast-snmp --config NODE.yaml
//
// The node's SNMP subagent: polls the node's control socket for its stats
// every control.snmp.poll_interval, serves them under SKYCAST-MIB to the
// host's snmpd over AgentX (control.snmp.agentx_socket), and sends the
// MIB's notifications through it: skycastSessionFailed for every session
// that ended without its files, skycastDataplaneLost when the node's
// dataplane is gone (or the node does not answer at all), and
// skycastDataplaneRestored when it is back.
//
// A process of its own rather than a thread of skycast-control: net-snmp is
// a large C library with global state, kept out of the process that holds
// the session keys; and a subagent outside the node can still report the
// node when the node itself is gone.

#include "config/process_start.h"
#include "control/cli/node_client.h"
#include "control/node/node_log.h"
#include "control/snmp/agentx_subagent.h"
#include "control/snmp/mib_view.h"
#include "control/snmp/node_watch.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <string>

namespace {

using namespace std::chrono_literals;
using skycast::control::node::node_log;

std::atomic<bool> stop_requested{false};

extern "C" void on_signal(int) {
    stop_requested.store(true);
}

// How long one stats request may take: a node answers in milliseconds; one
// that does not answer within this is as good as down for this poll.
constexpr auto stats_timeout = 2s;
// How often net-snmp retries a master agent that is not (or no longer) there.
constexpr auto agentx_reconnect = 5s;

// The node's stats document, or null with `why`.
std::optional<nlohmann::json> read_stats(const std::string& socket, std::string& why) {
    auto client = skycast::cli::node_client::connect(socket, why);
    if (!client) {
        return std::nullopt;
    }
    if (!client->set_timeout(stats_timeout) || !client->request({{"request", "stats"}})) {
        why = "cannot send a stats request to " + socket;
        return std::nullopt;
    }
    auto doc = client->next();
    if (!doc || !doc->is_object() || doc->contains("error")) {
        why = "no stats answer from " + socket + " within " +
              std::to_string(stats_timeout.count()) + " s";
        return std::nullopt;
    }
    return doc;
}

const char* notification_name(skycast::control::snmp::notification n) {
    using skycast::control::snmp::notification;
    switch (n) {
    case notification::session_failed:
        return "skycastSessionFailed";
    case notification::dataplane_lost:
        return "skycastDataplaneLost";
    case notification::dataplane_restored:
        return "skycastDataplaneRestored";
    }
    return "?";
}

int run(int argc, char** argv) {
    auto start = skycast::config::load_process_config(
        "skycast-snmp", "the SNMP (AgentX) subagent of a Skycast node", argc, argv);
    if (!start.config) {
        return start.exit_status;
    }
    const auto& control = start.config->control;
    node_log log(control.log);
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    const auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::duration<double>(control.snmp.poll_interval));
    auto agent = skycast::control::snmp::agentx_subagent::start(control.snmp.agentx_socket,
                                                                agentx_reconnect);
    SKYCAST_LOG(log, info, "skycast-snmp: AgentX master %s, node socket %s, every %.1f s",
                control.snmp.agentx_socket.c_str(), control.socket.c_str(),
                control.snmp.poll_interval);

    skycast::control::snmp::node_watch watch;
    std::string node_id;
    auto next_poll = std::chrono::steady_clock::now();
    while (!stop_requested.load()) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= next_poll) {
            std::string why;
            const auto stats = read_stats(control.socket, why);
            if (stats) {
                node_id = skycast::cli::text_member(*stats, "node");
            }
            for (const auto& event : watch.observe(stats ? &*stats : nullptr, why, now)) {
                agent->notify(event, node_id);
                std::string detail;
                for (const auto& [object, text] : event.objects) {
                    detail += (detail.empty() ? "" : "; ") + text;
                }
                SKYCAST_LOG(log, info, "skycast-snmp: sent %s%s%s", notification_name(event.kind),
                            detail.empty() ? "" : ": ",
                            skycast::control::snmp::snmp_text(detail).c_str());
            }
            agent->publish(skycast::control::snmp::build_mib_view(stats ? &*stats : nullptr,
                                                                  watch.dataplane_alive()));
            next_poll = now + interval;
        }
        // Wakes at least twice a second, so a stop request never waits long.
        const auto until_poll = std::chrono::duration_cast<std::chrono::milliseconds>(
            next_poll - std::chrono::steady_clock::now());
        agent->process(
            std::clamp(until_poll, std::chrono::milliseconds(0), std::chrono::milliseconds(500)));
    }
    SKYCAST_LOG(log, info, "skycast-snmp: stopped (%llu notifications sent)",
                static_cast<unsigned long long>(agent->notifications_sent()));
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    // net-snmp and the JSON readers report by return value; anything thrown
    // (allocation) is still an error with a message, never an abort.
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "skycast-snmp: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "skycast-snmp: unexpected error\n");
    }
    return 1;
}
