#pragma once
// What the SNMP subagent notices between two polls of a node: sessions that
// ended badly, and the node's dataplane going and coming back. Fed one poll
// at a time, it answers with the notifications to send; no net-snmp, no
// clock of its own, so the unit suite drives it through every transition.

#include "control/snmp/mib_view.h"

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace skycast::control::snmp {

struct node_event {
    notification kind;
    std::vector<std::pair<notify_object, std::string>> objects;
};

class node_watch {
public:
    using clock = std::chrono::steady_clock;

    // How long the dataplane's heartbeat (bumped every 100 ms) may stand
    // still before the dataplane counts as gone: the control process's own
    // limit (dataplane_link's heartbeat_timeout) is of the same order, and
    // a loaded 2-core host delays a beat by far less than this.
    static constexpr std::chrono::milliseconds heartbeat_stall{3000};

    // One poll: `stats` is the node's stats document, or null when the node
    // did not answer, with `why` saying what failed.
    std::vector<node_event> observe(const nlohmann::json* stats, const std::string& why,
                                    clock::time_point now);

    // Whether the last poll found the node with a live dataplane.
    bool dataplane_alive() const { return _state == state::up; }

private:
    enum class state : std::uint8_t { unknown, up, down };

    void sessions_ended(const nlohmann::json& stats, std::vector<node_event>& out);

    state _state = state::unknown;
    std::string _node_id;
    // The heartbeat and when it last moved; reset when the dataplane's pid
    // changes.
    std::optional<std::uint64_t> _beat;
    std::uint64_t _dataplane_pid = 0;
    clock::time_point _beat_moved{};
    // The control process whose history we follow, and how many of its
    // sessions had ended at the previous poll (nullopt: no baseline yet, so
    // what ended before the subagent started is not announced).
    std::uint64_t _control_pid = 0;
    std::optional<std::uint64_t> _sessions_done;
};

// Whether a history entry (a receiver's ended session or a sender's result)
// is a failure worth a notification.
bool session_failed(const nlohmann::json& entry);

} // namespace skycast::control::snmp
