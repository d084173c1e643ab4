#pragma once
// A heartbeat sender's counters as the stats document carries them (a
// receiver's "receiver.heartbeats", a client proxy's "client_proxy.heartbeats";
// Prometheus skycast_heartbeats_*).

#include "control/engine/heartbeat_sender.h"

#include <nlohmann/json.hpp>

namespace skycast::control::node {

inline nlohmann::json heartbeat_json(const engine::heartbeat_sender& h) {
    const auto& st = h.stats();
    return {{"servers_accepting", h.accepted()},
            {"sent", st.sent},
            {"signed", st.signed_sent},
            {"ok", st.ok},
            {"failed", st.failed},
            {"challenged", st.challenges},
            {"unanswerable", st.unanswerable},
            {"from_unknown", st.from_unknown},
            {"sign_failures", st.sign_failures}};
}

} // namespace skycast::control::node
