#pragma once
// A UFTP server proxy (stock `uftpproxyd -s`, spec §7): the upstream end of
// a tunnel, near the server. What the server multicasts (or sends to the
// proxy) goes on unicast to one downstream host, a client proxy at another
// site; what the downstream answers goes back to the server. Nothing is
// changed on the way: headers, signatures and sealed payloads pass as they
// are, so the key exchange is the client proxy's business.
//
// The downstream is either configured (`-s dest`) or, with a fingerprint
// (`-s fp=...`), learned from heartbeats: a host behind a NAT sends HB_REQ
// and the proxy adopts its address and port once it proves the key with
// that fingerprint, by signing the nonce the proxy challenged it with. A
// heartbeat that proves nothing (unauthenticated, an old nonce, another
// key, a bad signature) is answered and counted, never trusted.
//
// Only a server's handshake (ANNOUNCE, KEYINFO, REG_CONF: the dataplane
// hands every proxy those, since a client proxy must read them), heartbeats
// and the downstream's answers pass through this engine. The rest of a
// server's traffic (FILESEG, DONE, sealed messages, ...) goes from the RX
// lcore straight to the TX lcore (forwarding_port), since it is the bulk of
// the data and control never needs to see it.
//
// Driven like the other engines: on_datagram(), on_timer() and
// next_deadline(), each with `now`.

#include "control/engine/ports.h"
#include "crypto/keys.h"
#include "protocol/messages.h"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <utility>

namespace skycast::control::engine {

struct server_proxy_config {
    std::uint32_t proxy_id = 0;
    // `-s dest`: where everything goes. Unset with a fingerprint.
    std::optional<endpoint> downstream;
    // `-s fp=...`: the downstream is whoever proves this key in a heartbeat.
    std::optional<crypto::fingerprint> downstream_fingerprint;
    // Servers forwarded at once (each a forwarding rule in the dataplane);
    // a session from one more is counted and not served.
    std::uint32_t max_servers = 16;
    // Sessions followed at once; the one heard from least recently makes room.
    std::uint32_t max_sessions = 256;
    // A session with neither an ANNOUNCE nor an answer this long is
    // forgotten (its data passes never show here: hours, for a large file).
    time_ns session_idle = 24ull * 3600 * ns_per_second;
};

// Every counter says what a non-zero value means.
struct server_proxy_stats {
    std::uint64_t datagrams_in = 0;
    std::uint64_t malformed_in = 0;     // failed to decode: a broken or hostile peer
    std::uint64_t announces = 0;        // ANNOUNCEs forwarded downstream
    std::uint64_t sessions_started = 0; // sessions learned from an ANNOUNCE
    std::uint64_t sessions_evicted = 0; // forgotten for a newer one (max_sessions)
    std::uint64_t sessions_expired = 0; // forgotten after session_idle of silence
    std::uint64_t no_downstream = 0; // ANNOUNCEs dropped: no heartbeat has proved a downstream yet
    std::uint64_t servers_full = 0;  // ANNOUNCEs dropped: max_servers (or the dataplane) full
    std::uint64_t group_join_failed = 0; // a session's private group could not be joined
    std::uint64_t answers_upstream = 0;  // downstream answers sent on to their server
    std::uint64_t unknown_session = 0;  // an answer for a session whose ANNOUNCE we never forwarded
    std::uint64_t not_downstream = 0;   // an answer from a host that is not the downstream: dropped
    std::uint64_t from_server_late = 0; // a server datagram control saw (sent on by control)
    std::uint64_t handshake_forwarded = 0; // a server's KEYINFO or REG_CONF, sent on by control
    std::uint64_t unexpected_in = 0;       // a message a server proxy never takes
    std::uint64_t heartbeats_in = 0;
    std::uint64_t heartbeats_unauthenticated = 0; // no key, no signature: challenged
    std::uint64_t heartbeats_challenged = 0;      // answered CHALLENGE (stale or missing nonce)
    std::uint64_t heartbeats_refused = 0;         // wrong key or bad signature: answered FAILED
    std::uint64_t heartbeats_accepted = 0;        // the fingerprint's key proved: answered OK
    std::uint64_t downstream_changes = 0;         // a proved heartbeat from a new address
};

class server_proxy {
public:
    // `random32` draws the heartbeat nonces (a CSPRNG on the appliance:
    // a guessable nonce lets anyone replay an old signed heartbeat).
    server_proxy(server_proxy_config config, network_port& network, forwarding_port& forwarding,
                 std::uint32_t (*random32)());

    void on_datagram(time_ns now, endpoint from, std::span<const std::uint8_t> datagram);
    void on_timer(time_ns now);
    time_ns next_deadline() const;

    const server_proxy_stats& stats() const { return _stats; }
    std::size_t sessions() const { return _sessions.size(); }
    std::size_t servers() const { return _servers.size(); }
    const std::optional<endpoint>& downstream() const { return _downstream; }

private:
    struct session {
        endpoint server;
        std::uint32_t private_group = 0; // joined while the session lives; 0: none
        time_ns last_heard = 0;
    };
    // Sessions by (group ID, instance): the downstream's answers name no server.
    using session_key = std::pair<std::uint32_t, std::uint8_t>;

    void on_announce(time_ns now, const protocol::uftp_header& h, endpoint from,
                     std::span<const std::uint8_t> datagram, const protocol::announce_msg& m);
    void on_heartbeat(endpoint from, const protocol::hb_req_msg& m);
    std::uint32_t draw_nonce() const; // never 0
    bool proves_downstream_key(const protocol::hb_req_msg& m) const;
    void answer_heartbeat(endpoint to, protocol::hb_auth result);
    // A session more (less) of `server`: its forwarding rule lives while it has any.
    bool forward_server(std::uint32_t server);
    void release_server(std::uint32_t server);
    void forget(std::map<session_key, session>::iterator it);
    void set_downstream(endpoint to);

    server_proxy_config _config;
    network_port& _network;
    forwarding_port& _forwarding;
    std::uint32_t (*_random32)();
    server_proxy_stats _stats;
    std::optional<endpoint> _downstream;
    std::uint32_t _nonce = 0;
    std::map<session_key, session> _sessions;
    std::map<std::uint32_t, std::uint32_t> _servers; // address -> sessions forwarded
    std::uint16_t _seq = 0;
    std::array<std::uint8_t, protocol::max_datagram_size> _buffer{};
};

} // namespace skycast::control::engine
