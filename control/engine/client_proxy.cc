#include "control/engine/client_proxy.h"

#include "control/engine/least_recently_heard.h"
#include "crypto/datagram_signature.h"
#include "protocol/codec.h"

#include <algorithm>
#include <utility>

namespace skycast::control::engine {

client_proxy::client_proxy(client_proxy_config config, network_port& network,
                           forwarding_port& forwarding)
    : _config(std::move(config)), _network(network), _forwarding(forwarding),
      _aggregation(_config.aggregation, network, forwarding),
      _heartbeats(_config.aggregation.proxy_id, _config.heartbeat_to, _config.heartbeat_interval,
                  _config.key, network) {}

void client_proxy::start(time_ns now) {
    _heartbeats.start(now);
}

void client_proxy::on_datagram(time_ns now, endpoint from, std::span<const std::uint8_t> datagram,
                               bool forwarded) {
    protocol::datagram d;
    if (protocol::decode(datagram, d) != protocol::wire_error::ok) {
        ++_stats.malformed_in;
        return;
    }
    if (const auto* a = std::get_if<protocol::announce_msg>(&d.body)) {
        on_announce(now, d.header, from, datagram, *a);
        return;
    }
    if (const auto* hb = std::get_if<protocol::hb_resp_msg>(&d.body)) {
        _heartbeats.on_response(now, from, *hb);
        return;
    }
    const auto it = _sessions.find({d.header.group_id, d.header.group_inst});
    if (it != _sessions.end() && it->second.upstream.address == from.address) {
        const session& s = it->second;
        if (d.type() == protocol::message_type::encrypted) {
            on_sealed(now, it, from, datagram, forwarded);
            return;
        }
        // The dataplane multicasts the upstream's traffic itself but for the
        // server's KEYINFO and REG_CONF, which it hands us; the rest came
        // before its rule: multicast all the same.
        const bool handshake = protocol::is_server_handshake(d.type());
        ++(handshake ? _stats.handshake_in
                     : (s.resign ? _stats.from_upstream : _stats.from_upstream_late));
        if (handshake && s.encrypted) {
            // Our own key exchange with the server (the aggregation's): its
            // KEYINFO is for us alone, its REG_CONF says whom we key.
            _aggregation.on_datagram(now, from, datagram);
            update_listening(now, it);
            if (d.type() == protocol::message_type::keyinfo) {
                return;
            }
        }
        _network.send(s.private_group, datagram);
        return;
    }
    if (it != _sessions.end()) {
        it->second.last_heard = now; // a receiver's answer: the session is alive
    }
    _aggregation.on_datagram(now, from, datagram);
    if (it != _sessions.end() && d.type() == protocol::message_type::register_) {
        update_listening(now, it); // a receiver waits for its confirmation from now on
    }
}

void client_proxy::on_sealed(time_ns now, session_iterator it, endpoint from,
                             std::span<const std::uint8_t> datagram, bool forwarded) {
    const session& s = it->second;
    if (s.resign) {
        multicast_resigned(s, datagram); // `-w keyex`: every sealed datagram comes through us
    } else if (forwarded) {
        ++_stats.sealed_tapped; // multicast already, by the rule that copied it to us
    } else {
        ++_stats.from_upstream_late; // before the rule: multicast by us
        _network.send(s.private_group, datagram);
    }
    if (now < s.listen_until) {
        // A FILEINFO or DONE listing a receiver whose REG_CONF was lost
        // confirms it: the aggregation opens it with the group keys.
        _aggregation.on_datagram(now, from, datagram);
        update_listening(now, it);
    }
}

void client_proxy::update_listening(time_ns now, session_iterator it) {
    session& s = it->second;
    const auto until = _aggregation.listings_wanted_until(it->first.first, it->first.second);
    s.listen_until = until && now < *until ? *until : 0;
    const bool wanted = s.listen_until != 0;
    if (!s.encrypted || s.resign || wanted == s.tapping) {
        return; // no rule to copy from (`-w keyex`: every sealed datagram comes to us anyway)
    }
    // Copies cost the dataplane an mbuf and the ring a slot per sealed
    // datagram, FILESEGs included: only while a receiver waits, which
    // without loss is one round trip of the announce phase.
    if (!_forwarding.forward(s.upstream.address, it->first.first, s.private_group, wanted)) {
        ++_stats.tap_failures;
        if (wanted) {
            return; // asked again at the next REGISTER, server handshake or timer
        }
    } else {
        ++(wanted ? _stats.taps_started : _stats.taps_ended);
    }
    s.tapping = wanted; // a copy that still comes is read as one (forwarded)
}

void client_proxy::on_announce(time_ns now, const protocol::uftp_header& h, endpoint from,
                               std::span<const std::uint8_t> datagram,
                               const protocol::announce_msg& m) {
    const endpoint private_group{.address = m.private_addr.ipv4(), .port = _config.port};
    const endpoint public_group{.address = m.public_addr.ipv4(), .port = _config.port};
    if (m.ipv6() || (private_group.address >> 28) != 0xE || (public_group.address >> 28) != 0xE) {
        ++_stats.unsupported_not_served;
        return;
    }
    const session_key key{h.group_id, h.group_inst};
    auto it = _sessions.find(key);
    if (it != _sessions.end() &&
        (it->second.upstream.address != from.address || it->second.private_group != private_group ||
         it->second.encrypted != m.enc_info.has_value())) {
        // The same group ID from elsewhere, or another kind of session: a
        // session we carry is never taken over by another's ANNOUNCE.
        ++_stats.announce_refused;
        return;
    }
    if (m.enc_info) {
        if (!_config.aggregation.key) {
            ++_stats.encrypted_not_served;
            return;
        }
        // The aggregation keys a new session, or checks that a repeat is
        // the session it keyed (the server's keys, signed by it): only an
        // ANNOUNCE it took goes on, signed by us.
        if (!_aggregation.take_announce(now, from, datagram)) {
            ++(it == _sessions.end() ? _stats.encrypted_not_served : _stats.announce_refused);
            return;
        }
    }
    if (it == _sessions.end()) {
        if (_sessions.size() >= _config.aggregation.max_sessions) {
            forget(least_recently_heard(_sessions));
        }
        session fresh{.upstream = from,
                      .public_group = public_group,
                      .private_group = private_group,
                      .encrypted = m.enc_info.has_value()};
        if (m.enc_info && m.enc_info->sigtype == protocol::signature_type::keyex) {
            // `-w keyex`: each of the server's sealed datagrams is signed
            // with its key, and our site's receivers check ours: they pass
            // through this engine, to be signed again, not the dataplane.
            auto server_key = crypto::public_key::from_blob(m.enc_info->key_blob);
            if (!server_key) {
                ++_stats.encrypted_not_served;
                return;
            }
            fresh.resign = true;
            fresh.hash = m.enc_info->hashtype;
            fresh.server_key =
                std::make_shared<const crypto::public_key>(std::move(server_key).value());
        } else if (!_forwarding.forward(from.address, h.group_id, private_group, false)) {
            ++_stats.rules_full;
            return;
        }
        it = _sessions.emplace(key, std::move(fresh)).first;
        ++_stats.sessions_started;
    }
    it->second.upstream = from;
    it->second.last_heard = now;
    if (!m.enc_info) {
        // The aggregation learns (or refreshes) the session: its answers go
        // to whoever delivered the ANNOUNCE, at the GRTT the ANNOUNCE asks.
        _aggregation.on_datagram(now, from, datagram);
        _network.send(it->second.public_group, datagram);
    } else if (const auto n = reannounce(h, m)) {
        _network.send(it->second.public_group, std::span(_buffer).first(*n));
    } else {
        ++_stats.reannounce_failed;
        return;
    }
    ++_stats.announces;
}

std::optional<std::size_t> client_proxy::reannounce(const protocol::uftp_header& h,
                                                    protocol::announce_msg m) {
    // Our site's receivers do their key exchange with us: our key (and
    // ECDH key) in the server's place, and in the ECDH modes the whole
    // datagram signed again with our key (spec §5.6), as stock does.
    auto& e = *m.enc_info;
    const crypto::private_key& key = *_config.aggregation.key;
    e.key_blob = key.blob();
    const bool ecdh = protocol::is_ecdh(e.keyextype);
    if (ecdh) {
        e.dh_blob = _config.aggregation.ecdh_key->blob();
        e.signature.assign(key.signature_size(), 0);
    }
    const auto n = protocol::encode(h, m, _buffer);
    if (!n.ok()) {
        return std::nullopt;
    }
    if (ecdh && crypto::sign_datagram(key, e.hashtype, std::span(_buffer).first(*n),
                                      protocol::announce_signature_offset(m),
                                      e.signature.size()) != crypto::crypto_error::ok) {
        return std::nullopt;
    }
    return *n;
}

void client_proxy::multicast_resigned(const session& s, std::span<const std::uint8_t> datagram) {
    // ENCRYPTED (spec §5.8): the signature follows the fixed prefix, whose
    // last four bytes are its length and the payload's.
    constexpr std::size_t sig_at = protocol::encrypted_prefix_size;
    if (datagram.size() < sig_at || datagram.size() > _buffer.size()) {
        ++_stats.resign_bad;
        return;
    }
    const std::size_t sig_len = (std::size_t{datagram[sig_at - 4]} << 8) | datagram[sig_at - 3];
    if (sig_at + sig_len > datagram.size() ||
        crypto::verify_datagram(*s.server_key, s.hash, datagram, sig_at, sig_len) !=
            crypto::crypto_error::ok) {
        ++_stats.resign_bad; // not the server's: never passed on under our signature
        return;
    }
    const auto out = std::span(_buffer).first(datagram.size());
    std::copy(datagram.begin(), datagram.end(), out.begin());
    if (crypto::sign_datagram(*_config.aggregation.key, s.hash, out, sig_at, sig_len) !=
        crypto::crypto_error::ok) {
        ++_stats.resign_bad;
        return;
    }
    _network.send(s.private_group, out);
    ++_stats.resigned;
}

void client_proxy::forget(session_iterator it) {
    if (!it->second.resign) {
        _forwarding.stop_forwarding(it->second.upstream.address, it->first.first);
    }
    _sessions.erase(it);
    ++_stats.sessions_ended;
}

void client_proxy::on_timer(time_ns now) {
    if (_aggregation.next_deadline() <= now) {
        _aggregation.on_timer(now);
    }
    _heartbeats.on_timer(now);
    for (auto it = _sessions.begin(); it != _sessions.end();) {
        auto next = std::next(it);
        if (now - it->second.last_heard >= _config.aggregation.session_idle) {
            forget(it);
        } else {
            update_listening(now, it); // announcing stopped long enough: nobody waits any more
        }
        it = next;
    }
}

time_ns client_proxy::next_deadline() const {
    time_ns deadline = std::min(_aggregation.next_deadline(), _heartbeats.next_deadline());
    for (const auto& [key, s] : _sessions) {
        deadline = std::min(deadline, s.last_heard + _config.aggregation.session_idle);
        if (s.listen_until != 0) {
            deadline = std::min(deadline, s.listen_until);
        }
    }
    return deadline;
}

} // namespace skycast::control::engine
