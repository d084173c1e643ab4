#pragma once
// A UFTP client proxy (stock `uftpproxyd -c`, spec §7): the far end of a
// tunnel, at the receivers' site. A server proxy (or a server that sends to
// it) delivers a session unicast; the client proxy multicasts it again on its
// own site, to the public group (ANNOUNCE) and the session's private group
// (everything else), and stands for the site's receivers towards the server:
// their REGISTER, FILEINFO_ACK, STATUS and COMPLETE are aggregated as a
// response proxy does (response_proxy.h) and sent upstream, to whoever
// delivered the ANNOUNCE. With heartbeats it keeps a NAT's pinhole open and
// proves its key to a server proxy that pins it (heartbeat_sender.h).
//
// Encrypted sessions (docs/protocol.md §7.1), when it has keys: the proxy
// terminates the key exchange. The ANNOUNCE goes on with the proxy's key
// and ECDH key in the server's place, signed again with the proxy's key;
// the site's receivers key with the proxy, which keys with the server and
// hands the group keys on in KEYINFO of its own, exactly as a response
// proxy does (the aggregation's key half, response_proxy_keys.cc). The
// server's KEYINFO and REG_CONF reach this engine (the dataplane hands
// every proxy a server's handshake); the server's sealed traffic is
// multicast on unchanged, since the group keys are the server's. While a
// receiver of ours still waits for the server's word that it took it (a
// stock server sends REG_CONF once: when it is lost, its sealed FILEINFO
// and DONE listing the receiver are that word), the session's rule also
// hands us a copy of each sealed datagram (forwarding_port tap_sealed),
// for the aggregation to open; the copies stop once none waits.
//
// The session's data never passes through this engine: per session a
// forwarding rule has the dataplane multicast what the upstream sends
// (forwarding_port).

#include "control/engine/heartbeat_sender.h"
#include "control/engine/ports.h"
#include "control/engine/response_proxy.h"
#include "protocol/messages.h"

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <utility>

namespace skycast::control::engine {

struct client_proxy_config {
    // The aggregation (proxy_id, control_copies, limits, session_idle).
    response_proxy_config aggregation;
    // The UDP port the site's receivers listen on (control.port).
    std::uint16_t port = 1044;
    // Heartbeats (stock -H): none when empty.
    std::vector<endpoint> heartbeat_to;
    time_ns heartbeat_interval = heartbeat_sender::default_interval;
    std::shared_ptr<const crypto::private_key> key; // signs heartbeat challenges; may be null
};

// Every counter says what a non-zero value means; the aggregation's are in
// response_proxy_stats, the heartbeats' in heartbeat_stats.
struct client_proxy_stats {
    std::uint64_t announces = 0;            // ANNOUNCEs multicast again on our site
    std::uint64_t sessions_started = 0;     // sessions forwarded
    std::uint64_t sessions_ended = 0;       // forgotten (idle, or a newer one took their place)
    std::uint64_t encrypted_not_served = 0; // encrypted sessions we hold no fitting keys for
    std::uint64_t reannounce_failed = 0;    // an encrypted ANNOUNCE we could not sign again
    std::uint64_t announce_refused = 0;     // a session's ANNOUNCE from elsewhere, or not its keys
    std::uint64_t handshake_in = 0;         // the server's KEYINFO and REG_CONF, via control
    std::uint64_t resigned = 0;   // `-w keyex`: the server's sealed datagrams signed again by us
    std::uint64_t resign_bad = 0; // ... whose signature was not the server's: dropped
    std::uint64_t from_upstream =
        0; // `-w keyex` sessions: the server's unsealed datagrams, via control
    std::uint64_t unsupported_not_served = 0; // IPv6, or groups that are not multicast
    std::uint64_t rules_full = 0;             // no forwarding rule left: the session is not served
    std::uint64_t from_upstream_late = 0; // upstream datagrams control saw (multicast by control)
    std::uint64_t malformed_in = 0;
    // A receiver waits for its confirmation: copies of the server's sealed
    // datagrams asked for (taps_started), stopped (taps_ended), the copies
    // read (sealed_tapped), and set_forward refused (tap_failures).
    std::uint64_t taps_started = 0;
    std::uint64_t taps_ended = 0;
    std::uint64_t sealed_tapped = 0;
    std::uint64_t tap_failures = 0;
};

class client_proxy {
public:
    client_proxy(client_proxy_config config, network_port& network, forwarding_port& forwarding);

    void start(time_ns now);
    // `forwarded`: a copy of what the session's rule multicast already
    // (the dataplane's datagram_forwarded).
    void on_datagram(time_ns now, endpoint from, std::span<const std::uint8_t> datagram,
                     bool forwarded = false);
    void on_timer(time_ns now);
    time_ns next_deadline() const;

    const client_proxy_stats& stats() const { return _stats; }
    const response_proxy& aggregation() const { return _aggregation; }
    const heartbeat_sender& heartbeats() const { return _heartbeats; }
    std::size_t sessions() const { return _sessions.size(); }

private:
    struct session {
        endpoint upstream;
        endpoint public_group;
        endpoint private_group;
        bool encrypted = false;
        // `-w keyex`: the server's sealed datagrams come through us, to be
        // signed again with our key (no dataplane rule).
        bool resign = false;
        protocol::hash_type hash = protocol::hash_type::none;
        std::shared_ptr<const crypto::public_key> server_key;
        time_ns last_heard = 0;
        // A receiver of ours waits for its confirmation: the server's sealed
        // datagrams are read for listings until then (0: none waits).
        time_ns listen_until = 0;
        bool tapping = false; // the rule copies the server's sealed datagrams to us
    };
    using session_key = std::pair<std::uint32_t, std::uint8_t>; // group ID, instance
    using session_iterator = std::map<session_key, session>::iterator;

    void on_announce(time_ns now, const protocol::uftp_header& h, endpoint from,
                     std::span<const std::uint8_t> datagram, const protocol::announce_msg& m);
    void forget(session_iterator it);
    // The server's sealed datagram: multicast on (unless the rule did), and
    // read for a listing while a receiver of ours waits.
    void on_sealed(time_ns now, session_iterator it, endpoint from,
                   std::span<const std::uint8_t> datagram, bool forwarded);
    // Asks the aggregation whether a receiver waits (listen_until), and has
    // the rule copy sealed datagrams to us exactly while one does.
    void update_listening(time_ns now, session_iterator it);
    // An encrypted ANNOUNCE with our keys in the server's, signed, in
    // _buffer: its size, or nullopt.
    std::optional<std::size_t> reannounce(const protocol::uftp_header& h, protocol::announce_msg m);
    // `-w keyex`: the server's sealed datagram, its signature checked and
    // made again with our key, multicast on our site.
    void multicast_resigned(const session& s, std::span<const std::uint8_t> datagram);

    client_proxy_config _config;
    network_port& _network;
    forwarding_port& _forwarding;
    response_proxy _aggregation;
    heartbeat_sender _heartbeats;
    client_proxy_stats _stats;
    std::map<session_key, session> _sessions;
    std::array<std::uint8_t, protocol::max_datagram_size> _buffer{};
};

} // namespace skycast::control::engine
