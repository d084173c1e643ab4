#pragma once
// A receiver node's sessions, side by side: up to control.receiver.max_sessions
// at once, from any mix of stock and Skycast senders, each with its own
// receiver engine (state, files, keys, timers, private group) over its own
// dataplane_ports (a session key slot and file slots of the dataplane). One
// stuck or hostile session never blocks another.
//
// Routing: a datagram belongs to the session of its header's (sender id,
// group id). An ANNOUNCE of an unknown session gets a fresh engine only when
// it is addressed to this node (it lists our UID, or the group is open);
// the engine is kept if it accepts the session (its own checks: servers,
// encryption, block size) and dropped, counted, if it stays listening.
//
// Bounded under any traffic: sessions, engines and joined groups are capped
// by max_sessions; every timer an engine takes from the wire is capped by
// configuration (max_grtt, max_robust, register_timeout). When the table is
// full, a new ANNOUNCE for us takes the place of the oldest session still in
// its handshake (that is where spoofed ANNOUNCEs end up: nobody completes
// them), else it is refused and counted.

#include "config/node_config.h"
#include "control/dataplane_link/dataplane_link.h"
#include "control/dataplane_link/dataplane_ports.h"
#include "control/dataplane_link/group_memberships.h"
#include "control/dataplane_link/link_network.h"
#include "control/engine/heartbeat_sender.h"
#include "control/engine/proxy_key_client.h"
#include "control/engine/receiver_engine.h"
#include "control/node/node_log.h"
#include "control/node/post_receive_hooks.h"

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

namespace skycast::control::node {

struct receiver_session_counters {
    std::uint64_t started = 0;           // ANNOUNCEs accepted
    std::uint64_t announces_ignored = 0; // not for us, or refused before any answer
    std::uint64_t refused_full = 0;      // for us, but max_sessions were running, none in handshake
    std::uint64_t refused_rate = 0;      // for us, over the admission rate (a flood)
    std::uint64_t evicted = 0;           // handshakes dropped for a newer ANNOUNCE (table full)
    std::uint64_t unmatched = 0;         // datagrams of no running session
    std::uint64_t malformed = 0;         // no UFTP header
    std::uint64_t parity_in = 0;         // FEC PARITY datagrams of running sessions
    std::uint64_t parity_unencrypted = 0; // PARITY in the clear in an encrypted session: refused
    std::uint64_t handshake_timeouts = 0; // ended without REG_CONF/KEYINFO in time
};

class receiver_sessions {
public:
    // `settings`: the engine configuration every session starts from.
    // `hooks`: post-receive hooks to hand completed files and ended
    // sessions to (null: none configured).
    receiver_sessions(const config::control_config& config, engine::receiver_config settings,
                      dataplane_link& link, group_memberships& groups, node_log& log,
                      post_receive_hooks* hooks);
    ~receiver_sessions();

    void on_datagram(engine::time_ns now, const dataplane_link::received& d);
    void on_parity(engine::time_ns now, const dataplane_link::received& d);
    // Data progress and timers of every session; whether a timer fired.
    bool tick(engine::time_ns now);
    engine::time_ns next_deadline() const;
    // Node shutdown: every running session says goodbye to its sender.
    void abort_all(engine::time_ns now, const std::string& reason);

    // Stats entries of the sessions that ended since the last call.
    std::vector<nlohmann::json> take_ended();
    // "sessions": the running ones; "receiver": limits and counters.
    void describe(nlohmann::json& doc) const;

private:
    struct session {
        std::uint32_t server_id = 0;
        std::uint32_t group_id = 0;
        std::uint8_t key_slot = 0;
        engine::time_ns started = 0;
        bool evicted = false;
        // Declared before the engine, which holds references into it.
        std::unique_ptr<dataplane_ports> ports;
        std::unique_ptr<engine::receiver_engine> engine;
    };

    session* find(std::uint32_t server_id, std::uint32_t group_id);
    bool addressed_to_us(std::span<const std::uint8_t> datagram) const;
    // Makes room for one more session: false when max_sessions run and none
    // is in its handshake.
    bool make_room(engine::time_ns now);
    void start(engine::time_ns now, const protocol::uftp_header& h,
               const dataplane_link::received& d);
    void feed(session& s, engine::time_ns now, const dataplane_link::received& d);
    // Hands the session's newly completed files to the hooks.
    void report_completed(session& s);
    // Moves ended sessions to `_ended` and frees their slots.
    void reap(engine::time_ns now);
    nlohmann::json ended_entry(const session& s, engine::time_ns now) const;

    const config::control_config& _config;
    engine::receiver_config _settings;
    std::uint32_t _max_sessions;
    dataplane_link& _link;
    group_memberships& _groups;
    node_log& _log;
    post_receive_hooks* _hooks;
    std::vector<std::unique_ptr<session>> _sessions; // oldest first
    // A response proxy's keys (control.response_proxy), for encrypted
    // sessions' key exchanges; null without a response proxy.
    std::unique_ptr<link_network> _proxy_network;
    std::unique_ptr<engine::proxy_key_client> _proxy_keys;
    // Heartbeats to server proxies (control.heartbeats); null without them.
    std::unique_ptr<link_network> _heartbeat_network;
    std::unique_ptr<engine::heartbeat_sender> _heartbeats;
    std::vector<bool> _key_slot_used;
    std::vector<nlohmann::json> _ended;
    receiver_session_counters _counters;
    dataplane::fec_rx_counters _fec_ended; // FEC counters of sessions already reaped
    // Token bucket of new sessions (admissions_per_second in the .cc).
    double _admission_tokens = 0;
    engine::time_ns _admission_refill = 0;
};

} // namespace skycast::control::node
