#include "control/snmp/node_watch.h"

#include "control/cli/node_client.h"

namespace skycast::control::snmp {

using cli::count_member;
using cli::flag_member;
using cli::member;
using cli::text_member;
using nlohmann::json;

bool session_failed(const json& entry) {
    if (const json& outcome = member(entry, "outcome"); outcome.is_string()) {
        // "completed", or "completed (DONE_CONF not received)": the files
        // are in place either way (engine::name(receiver_outcome)).
        return outcome.get<std::string>().rfind("completed", 0) != 0;
    }
    // A sender's result: ok or not.
    return !flag_member(entry, "ok");
}

namespace {

// Why a sender's session failed: its failure, else the first receiver that
// did not complete.
std::string sender_reason(const json& entry) {
    std::string why = text_member(entry, "failure");
    if (!why.empty()) {
        return why;
    }
    if (const json& receivers = member(entry, "receivers"); receivers.is_array()) {
        for (const auto& r : receivers) {
            if (!flag_member(r, "ok")) {
                why = "receiver " + text_member(r, "uid") + ": " + text_member(r, "outcome");
                if (const std::string reason = text_member(r, "reason"); !reason.empty()) {
                    why += ": " + reason;
                }
                return why;
            }
        }
    }
    return why;
}

} // namespace

void node_watch::sessions_ended(const json& stats, std::vector<node_event>& out) {
    const std::uint64_t pid = count_member(member(stats, "control"), "pid");
    const std::uint64_t done = count_member(stats, "sessions_done");
    std::uint64_t ended = 0;
    if (!_sessions_done) {
        ended = 0; // first sight: what ended before we watched is history
    } else if (pid != _control_pid || done < *_sessions_done) {
        ended = done; // a new control process: its whole history is new
    } else {
        ended = done - *_sessions_done;
    }
    _control_pid = pid;
    _sessions_done = done;
    const json& history = member(stats, "history");
    if (ended == 0 || !history.is_array()) {
        return;
    }
    // The history keeps the last few entries; more may have ended between
    // two polls than it holds, and those are gone.
    const std::size_t n = history.size();
    for (std::size_t i = n - std::min<std::size_t>(n, ended); i < n; ++i) {
        const json& entry = history[i];
        if (!session_failed(entry)) {
            continue;
        }
        const bool receiver_entry = member(entry, "outcome").is_string();
        node_event e{notification::session_failed, {}};
        e.objects.emplace_back(notify_object::failed_server,
                               receiver_entry ? text_member(entry, "server") : _node_id);
        e.objects.emplace_back(notify_object::failed_session, text_member(entry, "session"));
        e.objects.emplace_back(notify_object::failed_outcome,
                               receiver_entry ? text_member(entry, "outcome") : "failed");
        e.objects.emplace_back(notify_object::failed_reason, receiver_entry
                                                                 ? text_member(entry, "reason")
                                                                 : sender_reason(entry));
        out.push_back(std::move(e));
    }
}

std::vector<node_event> node_watch::observe(const json* stats, const std::string& why,
                                            clock::time_point now) {
    std::vector<node_event> out;
    std::string down_reason;
    if (stats == nullptr || !stats->is_object()) {
        down_reason = why.empty() ? "the node does not answer" : why;
        _beat.reset();
    } else {
        _node_id = text_member(*stats, "node");
        const json& dataplane = member(*stats, "dataplane");
        const std::uint64_t beat = count_member(dataplane, "heartbeat");
        const std::uint64_t dp_pid = count_member(dataplane, "pid");
        if (!_beat || *_beat != beat || dp_pid != _dataplane_pid) {
            _beat = beat;
            _dataplane_pid = dp_pid;
            _beat_moved = now;
        } else if (now - _beat_moved > heartbeat_stall) {
            down_reason =
                "the dataplane's heartbeat has stood still for " +
                std::to_string(
                    std::chrono::duration_cast<std::chrono::seconds>(now - _beat_moved).count()) +
                " s";
        }
        sessions_ended(*stats, out);
    }
    const state next = down_reason.empty() ? state::up : state::down;
    if (next == state::down && _state != state::down) {
        out.push_back(
            {notification::dataplane_lost, {{notify_object::node_down_reason, down_reason}}});
    } else if (next == state::up && _state == state::down) {
        out.push_back({notification::dataplane_restored, {}});
    }
    _state = next;
    return out;
}

} // namespace skycast::control::snmp
