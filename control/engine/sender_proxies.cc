// The sender's side of UFTP proxies (spec §7): a proxy registers clients
// for others (REGISTER with a client list), does the key exchange for them
// (its KEYINFO_ACK keys them all), and answers for them with aggregated
// FILEINFO_ACK and COMPLETE (listing the clients) and STATUS (the OR of its
// clients' NAK bitmaps, listing no one). Only the UIDs of
// sender_config::proxies may do so; a client list from anyone else is
// refused and counted. The clients themselves stay ordinary entries of the
// client table (listed in ANNOUNCE, FILEINFO and DONE, with outcomes); the
// proxy is an entry too, flagged is_proxy, so that its key exchange runs
// through the same code as a client's.

#include "control/engine/sender_engine.h"

#include <algorithm>

namespace skycast::control::engine {

const host_key* sender_engine::listed_proxy(std::uint32_t uid) const {
    const auto it = std::find_if(_config.proxies.begin(), _config.proxies.end(),
                                 [&](const host_key& p) { return p.uid == uid; });
    return it == _config.proxies.end() ? nullptr : &*it;
}

void sender_engine::handle_proxy_register(time_ns now, const protocol::uftp_header& h,
                                          endpoint from, const protocol::register_msg& m) {
    const std::uint32_t uid = h.src_id;
    std::uint32_t proxy = _clients.find(uid);
    if (listed_proxy(uid) == nullptr ||
        (proxy != client_table::npos && !_clients[proxy].is_proxy)) {
        // Anyone could claim to speak for others: only configured proxies may.
        ++_stats.proxy_refused;
        protocol::abort_msg ab{.host = uid, .message = "Not an accepted proxy"};
        send(from, ab, true);
        return;
    }
    if (proxy == client_table::npos) {
        if (_phase != sender_phase::announce) {
            ++_stats.late_registers;
            return;
        }
        proxy = _clients.add(uid);
        _clients[proxy].is_proxy = true;
        ++_stats.proxies;
        if (_crypto && !register_keys(proxy, m)) {
            ++_stats.key_info_bad;
            _clients[proxy].outcome = client_outcome::key_exchange_failed;
            protocol::abort_msg ab{.host = uid, .message = "Invalid key info in REGISTER"};
            send(from, ab, true);
            return;
        }
    } else if (_clients[proxy].outcome != client_outcome::active) {
        return;
    }
    _clients[proxy].heard = true;
    sample_rtt(now, proxy, m.tstamp);

    const bool keyed = !_crypto || _clients[proxy].keys == key_state::acked;
    std::vector<std::uint32_t> confirmed;
    std::vector<std::uint32_t> fresh;
    for (const std::uint32_t client : m.client_ids) {
        if (!may_join(client)) {
            ++_stats.not_in_host_list;
            continue;
        }
        std::uint32_t handle = _clients.find(client);
        if (handle == client_table::npos) {
            if (_phase != sender_phase::announce) {
                ++_stats.late_registers;
                continue;
            }
            handle = _clients.add(client);
            _clients[handle].via = proxy;
            ++_active;
            ++_stats.registers;
            ++_stats.proxied_clients;
            fresh.push_back(handle);
        } else if (_clients[handle].via != proxy) {
            ++_stats.proxy_list_refused; // registered directly, or by another proxy
            continue;
        } else {
            ++_stats.duplicate_registers;
        }
        if (_clients[handle].outcome == client_outcome::active) {
            sample_rtt(now, handle, m.tstamp);
            confirmed.push_back(client);
        }
    }
    // The proxy's KEYINFO first: a stock proxy hands the group keys on to
    // its clients when their REG_CONF arrives, so it must hold them by then.
    if (_crypto) {
        client_entry& p = _clients[proxy];
        if (p.keys == key_state::awaiting_client_key) {
            finish_client_auth(now, proxy);
        } else if (p.keys == key_state::keyinfo_sent) {
            send_keyinfo({proxy});
        }
    } else {
        // Unencrypted, the proxy is confirmed beside its clients (as stock does).
        confirmed.push_back(uid);
    }
    // REG_CONF confirms a proxy's clients in every session, encrypted too
    // (spec §2.4): they get the group keys from the proxy, not a KEYINFO.
    send_listing(_config.private_group, protocol::reg_conf_msg{}, confirmed);
    for (const std::uint32_t handle : fresh) {
        if (keyed) {
            _clients[handle].keys = _crypto ? key_state::acked : key_state::none;
            client_joined(now);
        }
    }
}

std::vector<std::uint32_t> sender_engine::clients_behind(std::uint32_t proxy) const {
    // A scan of the table: only per proxy message and proxy event, a few
    // per round, never per client datagram.
    std::vector<std::uint32_t> handles;
    for (std::uint32_t h = 0; h < _clients.size(); ++h) {
        if (_clients[h].via == proxy) {
            handles.push_back(h);
        }
    }
    return handles;
}

void sender_engine::proxy_keyed(time_ns now, std::uint32_t proxy) {
    for (const std::uint32_t h : clients_behind(proxy)) {
        client_entry& c = _clients[h];
        if (c.outcome == client_outcome::active && c.keys != key_state::acked) {
            c.keys = key_state::acked;
            client_joined(now);
        }
    }
}

std::vector<std::uint32_t> sender_engine::clients_of(std::uint32_t proxy,
                                                     const protocol::client_id_list& ids) {
    std::vector<std::uint32_t> handles;
    handles.reserve(ids.size());
    for (const std::uint32_t uid : ids) {
        const std::uint32_t h = _clients.find(uid);
        if (h == client_table::npos || _clients[h].via != proxy) {
            ++_stats.proxy_list_refused;
        } else if (_clients[h].outcome == client_outcome::active) {
            handles.push_back(h);
        }
    }
    return handles;
}

void sender_engine::handle_proxy_message(time_ns now, std::uint32_t proxy,
                                         const protocol::message& body) {
    _clients[proxy].heard = true;
    switch (protocol::type_of(body)) {
    case protocol::message_type::keyinfo_ack:
        if (_crypto) {
            handle_keyinfo_ack(now, proxy, std::get<protocol::keyinfo_ack_msg>(body));
        } else {
            ++_stats.unexpected_in;
        }
        break;
    case protocol::message_type::fileinfo_ack: {
        const auto& m = std::get<protocol::fileinfo_ack_msg>(body);
        if (m.file_id != _file_id || _phase == sender_phase::completion) {
            ++_stats.status_stale;
            break;
        }
        ++_stats.fileinfo_acks;
        sample_rtt(now, proxy, m.tstamp);
        std::vector<std::uint32_t> late;
        for (const std::uint32_t h : clients_of(proxy, m.client_ids)) {
            if (fileinfo_acked(now, h, m)) {
                late.push_back(h);
            }
        }
        done_for_late_answers(now, late);
        maybe_advance(now);
        break;
    }
    case protocol::message_type::status: {
        const auto& m = std::get<protocol::status_msg>(body);
        ++_stats.status_in;
        // The proxy ORs its clients' bitmaps and names no one: it answers
        // for every client of it still in the passes.
        bool any = false;
        for (const std::uint32_t h : clients_behind(proxy)) {
            client_entry& c = _clients[h];
            if (c.outcome == client_outcome::active && status_applies(c, m)) {
                heard_in_done_round(c);
                any = true;
            }
        }
        if (!any) {
            ++_stats.status_stale;
            break;
        }
        const auto count = mark_naks(m);
        if (count && count->missing > 0) {
            naks_marked(now);
        }
        break;
    }
    case protocol::message_type::complete: {
        const auto& m = std::get<protocol::complete_msg>(body);
        ++_stats.completes_in;
        std::vector<std::uint32_t> confirm;
        for (const std::uint32_t h : clients_of(proxy, m.client_ids)) {
            if (client_completed(h, m)) {
                confirm.push_back(_clients[h].uid);
            }
        }
        if (!confirm.empty()) {
            send_listing(_config.private_group, protocol::done_conf_msg{}, confirm);
        }
        maybe_advance(now);
        rewind_when_all_answered(now);
        break;
    }
    case protocol::message_type::abort: {
        const auto& m = std::get<protocol::abort_msg>(body);
        ++_stats.aborts_in;
        const std::uint32_t proxy_uid = _clients[proxy].uid;
        if (m.host != 0 && m.host != proxy_uid) {
            // A client's ABORT, passed on by its proxy.
            const std::uint32_t h = _clients.find(m.host);
            if (h == client_table::npos || _clients[h].via != proxy) {
                ++_stats.proxy_list_refused;
                break;
            }
            _client_abort_reasons[m.host] = m.message;
            remove_client(now, h, client_outcome::aborted_by_client, nullptr);
        } else {
            _client_abort_reasons[proxy_uid] = m.message;
            remove_client(now, proxy, client_outcome::aborted_by_client, nullptr);
        }
        break;
    }
    default:
        ++_stats.unexpected_in;
        break;
    }
}

} // namespace skycast::control::engine
