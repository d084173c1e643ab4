#include "control/engine/server_proxy.h"

#include "control/engine/least_recently_heard.h"
#include "crypto/secure_memory.h"
#include "crypto/signature.h"
#include "protocol/codec.h"

#include <algorithm>
#include <utility>

namespace skycast::control::engine {

namespace {

// A server's rule covers every session it announces.
constexpr std::uint32_t any_session = 0;

// What a downstream host sends its server (through a client proxy): the
// answers, and the sealed forms of them.
bool is_answer(protocol::message_type t) {
    using protocol::message_type;
    switch (t) {
    case message_type::register_:
    case message_type::client_key:
    case message_type::keyinfo_ack:
    case message_type::fileinfo_ack:
    case message_type::status:
    case message_type::complete:
    case message_type::abort:
    case message_type::cc_ack:
    case message_type::encrypted:
        return true;
    default:
        return false;
    }
}

} // namespace

server_proxy::server_proxy(server_proxy_config config, network_port& network,
                           forwarding_port& forwarding, std::uint32_t (*random32)())
    : _config(std::move(config)), _network(network), _forwarding(forwarding), _random32(random32),
      _downstream(_config.downstream), _nonce(draw_nonce()) {}

std::uint32_t server_proxy::draw_nonce() const {
    std::uint32_t nonce = 0;
    while (nonce == 0) { // 0 is what an unauthenticated heartbeat carries
        nonce = _random32();
    }
    return nonce;
}

void server_proxy::on_datagram(time_ns now, endpoint from, std::span<const std::uint8_t> datagram) {
    ++_stats.datagrams_in;
    protocol::datagram d;
    if (protocol::decode(datagram, d) != protocol::wire_error::ok) {
        ++_stats.malformed_in;
        return;
    }
    if (const auto* a = std::get_if<protocol::announce_msg>(&d.body)) {
        on_announce(now, d.header, from, datagram, *a);
        return;
    }
    if (const auto* hb = std::get_if<protocol::hb_req_msg>(&d.body)) {
        on_heartbeat(from, *hb);
        return;
    }
    if (_servers.contains(from.address)) {
        // The dataplane forwards a server's traffic itself but for its
        // handshake (KEYINFO, REG_CONF), which it hands us to send on; the
        // rest came before its rule (or from a dataplane without one): sent
        // on all the same.
        const bool handshake = protocol::is_server_handshake(d.type());
        ++(handshake ? _stats.handshake_forwarded : _stats.from_server_late);
        if (_downstream) {
            _network.send(*_downstream, datagram);
        }
        return;
    }
    if (!is_answer(d.type())) {
        ++_stats.unexpected_in;
        return;
    }
    if (!_downstream || from.address != _downstream->address) {
        // Only the downstream answers through us: anyone else would use the
        // proxy to reach the server from outside.
        ++_stats.not_downstream;
        return;
    }
    const auto it = _sessions.find({d.header.group_id, d.header.group_inst});
    if (it == _sessions.end()) {
        ++_stats.unknown_session;
        return;
    }
    it->second.last_heard = now;
    _network.send(it->second.server, datagram);
    ++_stats.answers_upstream;
}

void server_proxy::on_announce(time_ns now, const protocol::uftp_header& h, endpoint from,
                               std::span<const std::uint8_t> datagram,
                               const protocol::announce_msg& m) {
    if (!_downstream) {
        ++_stats.no_downstream;
        return;
    }
    if (from.address == _downstream->address) {
        ++_stats.unexpected_in; // our own forwarding come back: never send it round again
        return;
    }
    const session_key key{h.group_id, h.group_inst};
    auto it = _sessions.find(key);
    if (it != _sessions.end() && it->second.server.address != from.address) {
        forget(it); // the same group ID from another server: a new session
        it = _sessions.end();
    }
    if (it == _sessions.end()) {
        if (_sessions.size() >= _config.max_sessions) {
            forget(least_recently_heard(_sessions));
            ++_stats.sessions_evicted;
        }
        if (!forward_server(from.address)) {
            ++_stats.servers_full;
            return;
        }
        session s{.server = from, .last_heard = now};
        const std::uint32_t group = m.private_addr.ipv4();
        if (!m.ipv6() && (group >> 28) == 0xE) {
            if (!_forwarding.join_group(group)) {
                ++_stats.group_join_failed;
                release_server(from.address);
                return;
            }
            s.private_group = group;
        }
        it = _sessions.emplace(key, s).first;
        ++_stats.sessions_started;
    }
    it->second.server = from;
    it->second.last_heard = now;
    _network.send(*_downstream, datagram);
    ++_stats.announces;
}

bool server_proxy::forward_server(std::uint32_t server) {
    if (auto it = _servers.find(server); it != _servers.end()) {
        ++it->second;
        return true;
    }
    if (_servers.size() >= _config.max_servers ||
        !_forwarding.forward(server, any_session, *_downstream, false)) {
        return false;
    }
    _servers.emplace(server, 1);
    return true;
}

void server_proxy::forget(std::map<session_key, session>::iterator it) {
    if (it->second.private_group != 0) {
        _forwarding.leave_group(it->second.private_group);
    }
    release_server(it->second.server.address);
    _sessions.erase(it);
}

void server_proxy::release_server(std::uint32_t server) {
    if (auto s = _servers.find(server); s != _servers.end() && --s->second == 0) {
        _forwarding.stop_forwarding(server, any_session);
        _servers.erase(s);
    }
}

void server_proxy::on_heartbeat(endpoint from, const protocol::hb_req_msg& m) {
    ++_stats.heartbeats_in;
    if (!_config.downstream_fingerprint) {
        // A fixed downstream: heartbeats only keep a NAT's pinhole open,
        // and change nothing here.
        answer_heartbeat(from, protocol::hb_auth::ok);
        return;
    }
    if (m.key_blob.empty() && m.verify.empty()) {
        ++_stats.heartbeats_unauthenticated;
    }
    if (m.nonce != _nonce) {
        // Unauthenticated, or signed over an old nonce (a replay, or one
        // sent before our last change): prove it on this one.
        ++_stats.heartbeats_challenged;
        answer_heartbeat(from, protocol::hb_auth::challenge);
        return;
    }
    if (!proves_downstream_key(m)) {
        ++_stats.heartbeats_refused;
        answer_heartbeat(from, protocol::hb_auth::failed);
        return;
    }
    ++_stats.heartbeats_accepted;
    _nonce = draw_nonce(); // each nonce proves one heartbeat: the next must sign a new one
    set_downstream(from);
    answer_heartbeat(from, protocol::hb_auth::ok);
}

bool server_proxy::proves_downstream_key(const protocol::hb_req_msg& m) const {
    auto key = crypto::public_key::from_blob(m.key_blob);
    if (!key ||
        !crypto::constant_time_equal(*_config.downstream_fingerprint, key->key_fingerprint())) {
        return false;
    }
    return crypto::verify_nonce(*key, m.nonce, m.verify) == crypto::crypto_error::ok;
}

void server_proxy::answer_heartbeat(endpoint to, protocol::hb_auth result) {
    const protocol::hb_resp_msg body{.authenticated = result,
                                     .nonce = result == protocol::hb_auth::challenge ? _nonce : 0};
    const auto n = protocol::encode({.seq = _seq++, .src_id = _config.proxy_id},
                                    protocol::message(body), _buffer);
    if (n.ok()) {
        _network.send(to, std::span(_buffer).first(*n));
    }
}

void server_proxy::set_downstream(endpoint to) {
    if (_downstream == to) {
        return;
    }
    _downstream = to;
    ++_stats.downstream_changes;
    for (const auto& [server, sessions] : _servers) {
        // An update of a rule we hold: it needs no room, so it cannot fail for that.
        (void)_forwarding.forward(server, any_session, to, false);
    }
}

void server_proxy::on_timer(time_ns now) {
    for (auto it = _sessions.begin(); it != _sessions.end();) {
        auto next = std::next(it);
        if (now - it->second.last_heard >= _config.session_idle) {
            forget(it);
            ++_stats.sessions_expired;
        }
        it = next;
    }
}

time_ns server_proxy::next_deadline() const {
    time_ns deadline = no_deadline;
    for (const auto& [key, s] : _sessions) {
        deadline = std::min(deadline, s.last_heard + _config.session_idle);
    }
    return deadline;
}

} // namespace skycast::control::engine
