#include "control/engine/response_proxy.h"

#include "control/engine/least_recently_heard.h"
#include "control/engine/wire_time.h"
#include "crypto/encrypted_message.h"
#include "protocol/codec.h"
#include "protocol/quantize.h"

#include <algorithm>
#include <utility>

namespace skycast::control::engine {

namespace {

// UIDs per aggregate datagram: 1024 bytes of list, so that any aggregate
// fits a 1500-byte path whatever the server's block size.
constexpr std::size_t uids_per_datagram = 256;

} // namespace

response_proxy::response_proxy(response_proxy_config config, network_port& network,
                               membership_port& groups)
    : _config(std::move(config)), _network(network), _groups(groups) {
    _proxy_key = build_proxy_key();
}

std::size_t response_proxy::clients() const {
    std::size_t n = 0;
    for (const auto& [key, s] : _sessions) {
        n += s.clients.size();
    }
    return n;
}

void response_proxy::pending_list::add(time_ns now, std::uint32_t uid,
                                       std::optional<protocol::timestamp> echo) {
    if (first_at == no_deadline) {
        first_at = now;
    }
    auto it = std::find(uids.begin(), uids.end(), uid);
    const std::size_t index = static_cast<std::size_t>(it - uids.begin());
    if (it == uids.end()) {
        uids.push_back(uid); // a repeat (its answer was resent) is listed once
    }
    if (echo && from_wire_time(*echo) != 0) {
        const auto value =
            static_cast<std::int64_t>(from_wire_time(*echo)) - static_cast<std::int64_t>(now);
        if (!echo_minus_arrival || value < *echo_minus_arrival) {
            echo_minus_arrival = value;
            longest = index;
        }
    }
}

std::optional<protocol::timestamp> response_proxy::echo_for(time_ns now,
                                                            const pending_list& list) const {
    if (!list.echo_minus_arrival) {
        return std::nullopt;
    }
    // The client's echo, advanced by the time we held it: the server then
    // measures the client's RTT plus the hold, as if it had answered late.
    const std::int64_t echo = *list.echo_minus_arrival + static_cast<std::int64_t>(now);
    return echo > 0 ? std::optional(to_wire_time(static_cast<time_ns>(echo))) : std::nullopt;
}

void response_proxy::on_datagram(time_ns now, endpoint from,
                                 std::span<const std::uint8_t> datagram) {
    ++_stats.datagrams_in;
    protocol::datagram d;
    if (protocol::decode(datagram, d) != protocol::wire_error::ok) {
        ++_stats.malformed_in;
        return;
    }
    if (const auto* a = std::get_if<protocol::announce_msg>(&d.body)) {
        on_announce(now, d.header, from, *a, datagram);
        return;
    }
    if (d.type() == protocol::message_type::key_req) {
        answer_key_request(now, from);
        return;
    }
    const session_key key{d.header.group_id, d.header.group_inst};
    const auto it = _sessions.find(key);
    if (it == _sessions.end()) {
        ++_stats.unknown_session;
        return;
    }
    session& s = it->second;
    const std::uint32_t uid = d.header.src_id;
    if (from == s.server || uid == s.server_id) {
        if (from != s.server || uid != s.server_id) {
            // The server's UID is public (its ANNOUNCE carries it): only its
            // address and port too make a datagram the server's.
            ++_stats.server_spoofed;
        } else if (s.keys) {
            on_server_datagram(now, key, s, d, datagram);
        } else {
            ++_stats.unexpected_in; // the server's own traffic is not ours to pass on
        }
        return;
    }
    if (!s.keys) {
        if (d.type() == protocol::message_type::register_) {
            const auto& m = std::get<protocol::register_msg>(d.body);
            if (!m.key_info.empty()) {
                ++_stats.unexpected_in; // a key exchange in an unencrypted session
                return;
            }
        }
        take_answer(now, key, s, uid, d.body);
        return;
    }
    // An encrypted session: a REGISTER carries the client's key exchange
    // with us; everything else but an ABORT before the keys comes sealed.
    switch (d.type()) {
    case protocol::message_type::register_: {
        const auto& m = std::get<protocol::register_msg>(d.body);
        if (!register_keys(now, key, s, uid, m)) {
            return;
        }
        keyed_client& c = s.keys->clients.at(uid);
        if (!s.keys->client_auth || c.key) {
            take_answer(now, key, s, uid, d.body);
            return;
        }
        // Listed upstream only once its key is proved.
        c.register_stamp = m.tstamp;
        if (const auto early = s.keys->early_client_keys.find(uid);
            early != s.keys->early_client_keys.end()) {
            const auto ck = std::move(early->second);
            s.keys->early_client_keys.erase(early);
            on_client_key(now, key, s, uid, ck);
        }
        return;
    }
    case protocol::message_type::client_key:
        on_client_key(now, key, s, uid, std::get<protocol::client_key_msg>(d.body));
        return;
    case protocol::message_type::encrypted:
        if (auto body = open_answer(s, uid, datagram)) {
            if (const auto* ack = std::get_if<protocol::keyinfo_ack_msg>(&*body)) {
                on_keyinfo_ack(s, uid, *ack);
                s.last_heard = now;
                return;
            }
            if (protocol::type_of(*body) == protocol::message_type::register_) {
                ++_stats.unexpected_in; // a REGISTER is never sealed: it carries the key exchange
                return;
            }
            take_answer(now, key, s, uid, *body);
        }
        return;
    case protocol::message_type::abort:
        if (const auto c = s.keys->clients.find(uid);
            c != s.keys->clients.end() && !c->second.keyed) {
            take_answer(now, key, s, uid, d.body); // a client without the group keys
            return;
        }
        ++_stats.plaintext_refused;
        return;
    default:
        ++_stats.plaintext_refused;
        return;
    }
}

void response_proxy::take_answer(time_ns now, const session_key& key, session& s, std::uint32_t uid,
                                 const protocol::message& body) {
    if (s.keys && protocol::type_of(body) != protocol::message_type::register_ &&
        !s.keys->clients.contains(uid)) {
        ++_stats.unexpected_in; // sealed by a client that never registered with us
        return;
    }
    switch (protocol::type_of(body)) {
    case protocol::message_type::register_: {
        const auto& m = std::get<protocol::register_msg>(body);
        if (!m.client_ids.empty()) {
            // A proxy below us: not served here.
            ++_stats.unexpected_in;
            return;
        }
        if (!s.clients.contains(uid)) {
            if (s.clients.size() >= _config.max_clients) {
                ++_stats.clients_full;
                return;
            }
            s.clients.insert(uid);
        }
        s.registers.add(now, uid, m.tstamp);
        break;
    }
    case protocol::message_type::fileinfo_ack: {
        const auto& m = std::get<protocol::fileinfo_ack_msg>(body);
        auto& list = s.fileinfo_acks[m.file_id];
        list.add(now, uid, m.tstamp);
        list.flags |= m.flags;
        break;
    }
    case protocol::message_type::complete: {
        const auto& m = std::get<protocol::complete_msg>(body);
        s.completes[{m.file_id, static_cast<std::uint8_t>(m.status)}].add(now, uid, std::nullopt);
        break;
    }
    case protocol::message_type::status: {
        const auto& m = std::get<protocol::status_msg>(body);
        if (m.nak_list) {
            // Receivers send NAK lists only straight to the sender that
            // offered them (docs/protocol.md §19); an OR of list bytes
            // would NAK the wrong blocks.
            ++_stats.unexpected_in;
            return;
        }
        auto& p = s.statuses[{m.file_id, m.section, m.fec_deficit}];
        if (p.first_at == no_deadline) {
            p.first_at = now;
        }
        // Bitmaps of one section have one length (the section's block
        // count); a longer one only adds bits the server ignores.
        if (p.naks.size() < m.naks.size()) {
            p.naks.resize(m.naks.size(), 0);
        }
        for (std::size_t i = 0; i < m.naks.size(); ++i) {
            p.naks[i] |= m.naks[i];
        }
        break;
    }
    case protocol::message_type::abort: {
        const auto& m = std::get<protocol::abort_msg>(body);
        // Passed on at once, naming the client (spec §2.15).
        ++_stats.aborts_forwarded;
        s.clients.erase(uid);
        if (s.keys) {
            release_client(*s.keys, uid);
        }
        send(key, s, protocol::abort_msg{.flags = m.flags, .host = uid, .message = m.message});
        break;
    }
    default:
        ++_stats.unexpected_in;
        return;
    }
    ++_stats.answers_in;
    s.last_heard = now;
}

bool response_proxy::take_announce(time_ns now, endpoint from,
                                   std::span<const std::uint8_t> datagram) {
    protocol::datagram d;
    if (protocol::decode(datagram, d) != protocol::wire_error::ok) {
        ++_stats.malformed_in;
        return false;
    }
    const auto* a = std::get_if<protocol::announce_msg>(&d.body);
    return a != nullptr && on_announce(now, d.header, from, *a, datagram);
}

bool response_proxy::on_announce(time_ns now, const protocol::uftp_header& h, endpoint from,
                                 const protocol::announce_msg& m,
                                 std::span<const std::uint8_t> datagram) {
    ++_stats.announces;
    const session_key key{h.group_id, h.group_inst};
    auto it = _sessions.find(key);
    if (it != _sessions.end() && (it->second.server_id != h.src_id || it->second.server != from)) {
        ++_stats.unexpected_in; // another server's ANNOUNCE for a session we follow
        return false;
    }
    if (it != _sessions.end() && !same_keys(it->second, m, datagram)) {
        ++_stats.announce_refused; // not the session we keyed with: never passed on
        return false;
    }
    if (it == _sessions.end()) {
        std::unique_ptr<session_keys> keys;
        if (m.enc_info) {
            keys = begin_keys(now, h, m, datagram);
            if (!keys) {
                return false; // counted
            }
        }
        if (_sessions.size() >= _config.max_sessions) {
            const auto oldest = least_recently_heard(_sessions);
            flush(now, oldest->first, oldest->second, true);
            end_keys(oldest->second);
            _sessions.erase(oldest);
            ++_stats.sessions_evicted;
        }
        it = _sessions.emplace(key, session{}).first;
        ++_stats.sessions_started;
        it->second.keys = std::move(keys);
    }
    session& s = it->second;
    if (s.keys) {
        // Our KEYINFO in the server's name carries its current header fields.
        s.keys->server_grtt = h.grtt;
        s.keys->server_gsize = h.gsize;
        s.keys->last_announce = now;
    }
    s.server_id = h.src_id;
    s.server = from;
    s.grtt = std::clamp(protocol::unquantize_grtt(h.grtt), 0.001, _config.max_grtt);
    s.last_heard = now;
    return true;
}

void response_proxy::send(const session_key& key, session& s, const protocol::message& body) {
    const protocol::uftp_header h{
        .seq = _seq++, .src_id = _config.proxy_id, .group_id = key.first, .group_inst = key.second};
    if (s.keys && s.keys->cipher && protocol::type_of(body) != protocol::message_type::register_) {
        // Everything but REGISTER is sealed once we hold the group keys (spec
        // §12 #17), under our UID and IV counter.
        const auto n =
            crypto::seal_message(*s.keys->cipher, h, body, ++s.keys->iv, _scratch, _buffer);
        if (n) {
            _network.send_copies(s.server, std::span(_buffer).first(*n), _config.control_copies,
                                 copy_spacing(_config.copy_spacing, s.grtt));
        } else {
            ++_stats.seal_failed;
        }
        return;
    }
    const auto n = protocol::encode(h, body, _buffer);
    if (n.ok()) {
        _network.send_copies(s.server, std::span(_buffer).first(*n), _config.control_copies,
                             copy_spacing(_config.copy_spacing, s.grtt));
    }
}

template <class Msg>
void response_proxy::send_listing(const session_key& key, session& s, Msg body,
                                  const pending_list& list) {
    // The longest-RTT client first (its echo is the one carried).
    std::vector<std::uint32_t> ids = list.uids;
    if (list.longest < ids.size()) {
        std::rotate(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(list.longest),
                    ids.begin() + static_cast<std::ptrdiff_t>(list.longest) + 1);
    }
    for (std::size_t i = 0; i < ids.size(); i += uids_per_datagram) {
        const auto end = std::min(ids.size(), i + uids_per_datagram);
        body.client_ids.assign(ids.begin() + static_cast<std::ptrdiff_t>(i),
                               ids.begin() + static_cast<std::ptrdiff_t>(end));
        send(key, s, body);
        ++_stats.aggregates_sent;
    }
}

void response_proxy::flush(time_ns now, const session_key& key, session& s, bool all) {
    const time_ns hold = s.hold();
    auto due = [&](time_ns first_at) {
        return first_at != no_deadline && (all || first_at + hold <= now);
    };
    if (due(s.registers.first_at)) {
        protocol::register_msg r;
        if (auto e = echo_for(now, s.registers)) {
            r.tstamp = *e;
        }
        if (s.keys) {
            // Our own key exchange with the server, in every REGISTER of ours.
            r.rand2 = s.keys->upstream.rand2;
            r.key_info = s.keys->upstream.key_info;
        }
        send_listing(key, s, r, s.registers);
        s.registers = {};
        if (s.keys && s.keys->client_auth && !s.keys->cipher) {
            // Right after every REGISTER of ours, until we are keyed (spec §2.3).
            send(key, s,
                 protocol::client_key_msg{.key_blob = _config.key->blob(),
                                          .verify = s.keys->client_key_sig});
        }
    }
    for (auto it = s.fileinfo_acks.begin(); it != s.fileinfo_acks.end();) {
        if (!due(it->second.first_at)) {
            ++it;
            continue;
        }
        protocol::fileinfo_ack_msg a{.file_id = it->first, .flags = it->second.flags};
        if (auto e = echo_for(now, it->second)) {
            a.tstamp = *e;
        }
        send_listing(key, s, a, it->second);
        it = s.fileinfo_acks.erase(it);
    }
    for (auto it = s.completes.begin(); it != s.completes.end();) {
        if (!due(it->second.first_at)) {
            ++it;
            continue;
        }
        protocol::complete_msg c{.file_id = it->first.first,
                                 .status =
                                     static_cast<protocol::complete_status>(it->first.second)};
        send_listing(key, s, c, it->second);
        it = s.completes.erase(it);
    }
    for (auto it = s.statuses.begin(); it != s.statuses.end();) {
        if (!due(it->second.first_at)) {
            ++it;
            continue;
        }
        const auto& [file_id, section, deficit] = it->first;
        send(key, s,
             protocol::status_msg{.file_id = file_id,
                                  .section = section,
                                  .naks = it->second.naks,
                                  .fec_deficit = deficit});
        ++_stats.aggregates_sent;
        it = s.statuses.erase(it);
    }
}

void response_proxy::on_timer(time_ns now) {
    for (auto it = _sessions.begin(); it != _sessions.end();) {
        flush(now, it->first, it->second, false);
        if (it->second.keys) {
            keys_timer(now, it->first, it->second);
        }
        if (now - it->second.last_heard >= _config.session_idle) {
            ++_stats.sessions_expired;
            end_keys(it->second);
            it = _sessions.erase(it);
        } else {
            ++it;
        }
    }
}

time_ns response_proxy::next_deadline() const {
    time_ns next = no_deadline;
    for (const auto& [key, s] : _sessions) {
        const time_ns hold = s.hold();
        auto consider = [&](time_ns first_at) {
            if (first_at != no_deadline) {
                next = std::min(next, first_at + hold);
            }
        };
        consider(s.registers.first_at);
        for (const auto& [k, l] : s.fileinfo_acks) {
            consider(l.first_at);
        }
        for (const auto& [k, l] : s.completes) {
            consider(l.first_at);
        }
        for (const auto& [k, p] : s.statuses) {
            consider(p.first_at);
        }
        if (s.keys) {
            next = std::min(next, keys_deadline(s));
        }
        next = std::min(next, s.last_heard + _config.session_idle);
    }
    return next;
}

} // namespace skycast::control::engine
