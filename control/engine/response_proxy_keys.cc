// The response proxy's part in an encrypted session's key exchange
// (docs/protocol.md §7.1), as stock uftpproxyd -r plays it:
// - PROXY_KEY answers a client's KEY_REQ with the proxy's key and ECDH key;
// - a client's REGISTER carries a premaster made with those keys: the proxy
//   derives the client's key block (the server's half of key_exchange.h);
// - the proxy's own REGISTER to the server carries its own key exchange
//   (the client's half), and the server's KEYINFO gives it the group master;
// - the proxy hands the group master on in a KEYINFO of its own, in the
//   server's name (clients take nothing from anyone else), to each client
//   the server confirmed with REG_CONF, and checks their KEYINFO_ACKs.

#include "control/engine/response_proxy.h"
#include "crypto/datagram_signature.h"
#include "crypto/encrypted_message.h"
#include "crypto/key_exchange.h"
#include "crypto/random.h"
#include "crypto/signature.h"
#include "protocol/codec.h"
#include "protocol/quantize.h"

#include <algorithm>

namespace skycast::control::engine {

namespace {

// A source gets one PROXY_KEY a second at most: a KEY_REQ is 20 bytes and
// a PROXY_KEY hundreds, and a spoofed source must not make us a reflector.
constexpr time_ns key_request_spacing = ns_per_second;
// Sources remembered for that; the table is cleared when it fills.
constexpr std::size_t key_request_sources = 4096;
// KEYINFO entries are 52 bytes (UID and the encrypted group master).
constexpr std::size_t keyinfo_entry_bytes = 52;
// CLIENT_KEYs held for a REGISTER not yet in, per session.
constexpr std::size_t early_client_keys_max = 64;

} // namespace

std::vector<std::uint8_t> response_proxy::build_proxy_key() const {
    if (!_config.key) {
        return {};
    }
    std::uint32_t nonce = 0;
    if (crypto::random_bytes(std::span(reinterpret_cast<std::uint8_t*>(&nonce), sizeof nonce)) !=
        crypto::crypto_error::ok) {
        return {};
    }
    auto signature = crypto::sign_nonce(*_config.key, nonce);
    if (!signature) {
        return {};
    }
    protocol::proxy_key_msg m{.nonce = nonce,
                              .key_blob = _config.key->blob(),
                              .dh_blob =
                                  _config.ecdh_key ? _config.ecdh_key->blob() : protocol::bytes{},
                              .verify = std::move(signature).value()};
    // Only the version, function and our UID in the header (spec §2.16).
    std::vector<std::uint8_t> out(protocol::max_datagram_size);
    const auto n = protocol::encode({.src_id = _config.proxy_id}, m, out);
    if (!n.ok()) {
        return {};
    }
    out.resize(*n);
    return out;
}

void response_proxy::answer_key_request(time_ns now, endpoint from) {
    if (_proxy_key.empty()) {
        ++_stats.key_requests_unanswered;
        return;
    }
    if (_key_requests.size() >= key_request_sources) {
        _key_requests.clear();
    }
    auto [it, fresh] = _key_requests.try_emplace(from.address, now);
    if (!fresh) {
        if (now - it->second < key_request_spacing) {
            ++_stats.key_requests_limited;
            return;
        }
        it->second = now;
    }
    // And so many a second from everyone together: spoofed askers, each
    // new, must not make us a reflector either.
    const time_ns second = now / ns_per_second;
    if (second != _proxy_key_second) {
        _proxy_key_second = second;
        _proxy_keys_in_second = 0;
    }
    if (_proxy_keys_in_second >= _config.proxy_keys_per_second) {
        ++_stats.key_requests_limited;
        return;
    }
    ++_proxy_keys_in_second;
    // To the asker, from our port: a client takes PROXY_KEY only from the
    // proxy's address and port.
    _network.send(from, _proxy_key);
    ++_stats.proxy_keys_sent;
}

std::unique_ptr<response_proxy::session_keys>
response_proxy::begin_keys(time_ns now, const protocol::uftp_header& h,
                           const protocol::announce_msg& m,
                           std::span<const std::uint8_t> datagram) {
    const auto& e = *m.enc_info;
    auto refuse = [&] {
        ++_stats.encrypted_not_served;
        return std::unique_ptr<session_keys>();
    };
    if (!_config.key || m.ipv6()) {
        return refuse();
    }
    auto suite = crypto::make_suite(e.keytype, e.hashtype, e.sigtype);
    if (!suite) {
        return refuse();
    }
    auto server_key = crypto::public_key::from_blob(e.key_blob);
    // Stock clients insist that the proxy's key is of the server key's type
    // (and a client proxy signs the ANNOUNCE with it in the server's place).
    if (!server_key || server_key->kind() != _config.key->kind()) {
        return refuse();
    }
    // `-w keyex`: what the server seals is signed with its key, and what we
    // pass on (a client proxy) or seal is signed with ours, in a field of
    // the same size: the keys must be of one size too.
    const bool keyex_signed = suite->sigtype == protocol::signature_type::keyex;
    if (keyex_signed && server_key->signature_size() != _config.key->signature_size()) {
        return refuse();
    }
    std::optional<crypto::public_key> server_dh;
    if (protocol::is_ecdh(e.keyextype)) {
        // Our key exchange is with the server's ECDH key: only a signed one.
        if (crypto::verify_datagram(*server_key, e.hashtype, datagram,
                                    protocol::announce_signature_offset(m),
                                    e.signature.size()) != crypto::crypto_error::ok) {
            ++_stats.announce_signature_bad;
            return {};
        }
        auto dh = crypto::public_key::from_blob(e.dh_blob);
        // Clients make their ECDH key on our ECDH key's curve; stock ones
        // insist that it is the server's.
        if (!dh || !_config.ecdh_key || dh->description().curve == nullptr ||
            _config.ecdh_key->curve() == nullptr ||
            dh->description().curve->id != _config.ecdh_key->curve()->id) {
            return refuse();
        }
        server_dh.emplace(std::move(dh).value());
    } else if (e.keyextype != protocol::keyexchange_type::rsa ||
               _config.key->kind() != crypto::key_kind::rsa) {
        return refuse(); // clients encrypt their premaster to our key: it must be RSA
    }
    auto k = std::make_unique<session_keys>();
    k->suite = *suite;
    k->keyex = e.keyextype;
    k->keyex_signed = keyex_signed;
    // KEYEX forces client authentication (spec §5.1).
    k->client_auth = keyex_signed || (e.flags & protocol::flags::enc_info_client_auth) != 0;
    const std::uint32_t private_addr = m.private_addr.ipv4();
    for (std::size_t i = 0; i < 4; ++i) {
        k->private_addr[i] = static_cast<std::uint8_t>(private_addr >> (24 - 8 * i));
    }
    const auto why =
        begin_client_handshake({.suite = &k->suite,
                                .keyex = e.keyextype,
                                .peer = server_dh ? &*server_dh : &*server_key,
                                .rand1 = e.rand1,
                                .group_id = h.group_id,
                                .private_addr = k->private_addr,
                                .unix_time = static_cast<std::uint32_t>(now / ns_per_second)},
                               k->upstream);
    if (!why.empty()) {
        return refuse();
    }
    if (k->client_auth) {
        // Our CLIENT_KEY: our key's signature of our verify data 1.
        k->client_key_sig.resize(_config.key->signature_size());
        const std::span<const std::uint8_t> parts[] = {k->upstream.vd1.span()};
        if (!crypto::sign(*_config.key, e.hashtype, parts, k->client_key_sig)) {
            return refuse();
        }
    }
    k->server_key.emplace(std::move(server_key).value());
    // Verify data 1 (spec §5.7): group ID, address, two randoms, premaster.
    const std::size_t vd1_bytes =
        4 + 4 + 2 * crypto::hello_random_len +
        (protocol::is_ecdh(e.keyextype) ? crypto::ecdh_premaster_len : crypto::rsa_premaster_len);
    k->store.init(crypto::key_block_size(k->suite), vd1_bytes);
    k->private_group = {.address = private_addr, .port = _config.port};
    if ((private_addr >> 28) != 0xE) {
        return refuse();
    }
    // Our IV counter starts at a random point: were this session's keys
    // made again (the session evicted and announced again, a restart), a
    // counter from 0 could repeat a GCM nonce under keys a server kept.
    std::uint32_t start = 0;
    if (crypto::random_bytes(std::span(reinterpret_cast<std::uint8_t*>(&start), sizeof start)) !=
        crypto::crypto_error::ok) {
        return refuse();
    }
    k->iv = std::uint64_t{start} << 32;
    if (_config.join_private_groups) {
        std::size_t held = 0;
        for (const auto& [other, o] : _sessions) {
            held += o.keys && o.keys->joined ? 1 : 0;
        }
        if (held >= _config.max_joined_groups || !_groups.join_group(private_addr)) {
            ++_stats.group_join_failed; // we could not hear the server's KEYINFO
            return {};
        }
        k->joined = true;
    }
    k->last_announce = now;
    k->server_grtt = h.grtt;
    k->server_gsize = h.gsize;
    k->entries_per_keyinfo = std::max<std::size_t>(
        1, std::clamp<std::size_t>(m.block_size, 256, protocol::max_datagram_size - 256) /
               keyinfo_entry_bytes);
    ++_stats.encrypted_sessions;
    return k;
}

bool response_proxy::same_keys(const session& s, const protocol::announce_msg& m,
                               std::span<const std::uint8_t> datagram) const {
    if (!s.keys) {
        return !m.enc_info; // a session we keep no keys of stays unencrypted
    }
    const session_keys& k = *s.keys;
    if (!m.enc_info || m.enc_info->key_blob != k.server_key->blob() ||
        !std::equal(m.enc_info->rand1.begin(), m.enc_info->rand1.end(), k.upstream.rand1.begin())) {
        return false;
    }
    // ECDH modes: signed by the key we keyed with, over everything.
    return !protocol::is_ecdh(k.keyex) ||
           crypto::verify_datagram(*k.server_key, m.enc_info->hashtype, datagram,
                                   protocol::announce_signature_offset(m),
                                   m.enc_info->signature.size()) == crypto::crypto_error::ok;
}

void response_proxy::end_keys(session& s) {
    if (s.keys && s.keys->joined) {
        _groups.leave_group(s.keys->private_group.address);
        s.keys->joined = false;
    }
}

bool response_proxy::register_keys(time_ns now, const session_key& key, session& s,
                                   std::uint32_t uid, const protocol::register_msg& m) {
    session_keys& k = *s.keys;
    if (m.key_info.empty() || !m.client_ids.empty()) {
        ++_stats.key_info_bad; // no key exchange, or a proxy below us
        return false;
    }
    const auto known = k.clients.find(uid);
    if (known != k.clients.end()) {
        if (std::equal(m.rand2.begin(), m.rand2.end(), known->second.rand2.begin())) {
            return true; // a repeat: its REGISTER was not confirmed yet
        }
        if (known->second.keyed) {
            ++_stats.key_info_bad; // keyed already: another REGISTER in its name changes nothing
            return false;
        }
        ++_stats.client_rekeyed; // it started again: its keys are made anew below
        release_client(k, uid);
    }
    if (k.clients.size() >= _config.max_clients) {
        ++_stats.clients_full;
        return false;
    }
    auto secrets = accept_client_handshake(
        {.suite = &k.suite,
         .rsa_key = protocol::is_ecdh(k.keyex) ? nullptr : _config.key.get(),
         .ecdh_key = protocol::is_ecdh(k.keyex) ? _config.ecdh_key.get() : nullptr,
         .key_info = m.key_info,
         .rand1 = &k.upstream.rand1,
         .rand2 = m.rand2,
         .group_id = key.first,
         .private_addr = k.private_addr});
    const std::uint32_t slot = k.free_slots.empty() ? k.next_slot : k.free_slots.back();
    const auto block = k.store.key_block(slot);
    const auto vd1 = k.store.vd1(slot);
    if (!secrets || block.empty() || vd1.size() != secrets->vd1.size()) {
        ++_stats.key_info_bad;
        return false;
    }
    if (k.free_slots.empty()) {
        ++k.next_slot;
    } else {
        k.free_slots.pop_back();
    }
    std::copy(secrets->block.bytes().begin(), secrets->block.bytes().end(), block.begin());
    std::copy(secrets->vd1.span().begin(), secrets->vd1.span().end(), vd1.begin());
    keyed_client c{.slot = slot, .since = now};
    std::copy(m.rand2.begin(), m.rand2.end(), c.rand2.begin());
    if (k.client_auth && k.next_unproved_sweep == no_deadline) {
        k.next_unproved_sweep = now + group_hold(s);
    }
    k.clients.insert_or_assign(uid, std::move(c));
    if (k.cipher && !k.client_auth) {
        expect_ack(k, k.clients[uid]);
    }
    return true;
}

void response_proxy::on_client_key(time_ns now, const session_key& key, session& s,
                                   std::uint32_t uid, const protocol::client_key_msg& m) {
    ++_stats.client_keys_in;
    session_keys& k = *s.keys;
    if (!k.client_auth) {
        ++_stats.unexpected_in;
        return;
    }
    const auto it = k.clients.find(uid);
    if (it == k.clients.end()) {
        // Before its REGISTER (spec §2.3: either order), kept for it: a
        // reordering, so a few at most.
        if (k.early_client_keys.size() < early_client_keys_max) {
            k.early_client_keys.insert_or_assign(uid, m);
        } else {
            ++_stats.client_keys_early_dropped;
        }
        return;
    }
    if (it->second.key) {
        return; // a repeat: proved already
    }
    if (!check_client_key(k, it->second, m)) {
        ++_stats.client_key_bad;
        release_client(k, uid);
        return;
    }
    if (k.cipher) {
        expect_ack(k, it->second);
    }
    take_answer(now, key, s, uid, protocol::register_msg{.tstamp = it->second.register_stamp});
}

bool response_proxy::check_client_key(session_keys& k, keyed_client& c,
                                      const protocol::client_key_msg& m) {
    auto key = crypto::public_key::from_blob(m.key_blob);
    // Of the server key's type, as a client's key must be (spec §2.3).
    if (!key || key->kind() != k.server_key->kind()) {
        return false;
    }
    const std::span<const std::uint8_t> parts[] = {k.store.vd1(c.slot)};
    if (crypto::verify(*key, k.suite.hash.type, parts, m.verify) != crypto::crypto_error::ok) {
        return false;
    }
    c.key.emplace(std::move(key).value());
    return true;
}

void response_proxy::expect_ack(session_keys& k, keyed_client& c) {
    const auto vd1 = k.store.vd1(c.slot);
    // With client authentication the client's key blob is in it (spec §5.7).
    const std::span<const std::uint8_t> blob =
        c.key ? std::span<const std::uint8_t>(c.key->blob()) : std::span<const std::uint8_t>();
    const auto expected =
        crypto::keyinfo_ack_verify_data(k.suite.hash.type, vd1, blob, k.group_master.span());
    const auto out = k.store.ack_verify(c.slot);
    if (expected && !out.empty()) {
        std::copy(expected->begin(), expected->end(), out.begin());
        c.ack_expected = true;
    }
    crypto::secure_zero(vd1); // it held the premaster
}

void response_proxy::on_server_datagram(time_ns now, const session_key& key, session& s,
                                        const protocol::datagram& d,
                                        std::span<const std::uint8_t> raw) {
    session_keys& k = *s.keys;
    switch (d.type()) {
    case protocol::message_type::keyinfo:
        on_server_keyinfo(now, key, s, std::get<protocol::keyinfo_msg>(d.body));
        return;
    case protocol::message_type::reg_conf:
        // The server took these clients: they get the group keys from us.
        confirm_clients(now, key, s, std::get<protocol::reg_conf_msg>(d.body).client_ids);
        return;
    case protocol::message_type::encrypted: {
        // Sealed server traffic (from its address, with its UID): the
        // session's files, which are not ours to read. Registration is
        // over, so its private group is left: the data of the files would
        // otherwise reach this process. Once we hold the group keys, only a
        // datagram that opens with them counts.
        if (k.cipher) {
            auto opened = crypto::open_message(*k.cipher, raw, _plain,
                                               k.keyex_signed ? &*k.server_key : nullptr);
            if (!opened) {
                ++_stats.decrypt_failed;
                return;
            }
            confirm_listed_clients(now, key, s, opened->body);
        }
        ++_stats.server_sealed_ignored;
        // Unless a client still waits for its REG_CONF: the server's was
        // lost, and no FILEINFO or DONE of it has named the client yet (a
        // Skycast hub also sends REG_CONF again, to this group, when the
        // client's REGISTER comes again through us). Left then once every
        // client is confirmed, or when announcing has stopped long enough
        // (keys_timer, group_hold).
        if (!client_waits(k)) {
            end_keys(s);
        }
        return;
    }
    default:
        ++_stats.unexpected_in;
        return;
    }
}

std::size_t response_proxy::confirm_clients(time_ns now, const session_key& key, session& s,
                                            std::span<const std::uint32_t> uids) {
    session_keys& k = *s.keys;
    // Only the newly confirmed get a KEYINFO at once: the server repeats
    // REG_CONF (our REGISTER again, its control copies), and the rest have
    // theirs on the round timer.
    std::vector<std::uint32_t> due;
    for (const std::uint32_t uid : uids) {
        const auto it = k.clients.find(uid);
        // With client authentication only a client that proved its key is
        // keyed: a REGISTER in its name since then is not it.
        if (it != k.clients.end() && !it->second.confirmed && (!k.client_auth || it->second.key)) {
            it->second.confirmed = true;
            due.push_back(uid);
        }
    }
    if (k.cipher) {
        send_keyinfo(now, key, s, due);
    }
    return due.size();
}

void response_proxy::confirm_listed_clients(time_ns now, const session_key& key, session& s,
                                            const protocol::message& sealed_body) {
    // A stock server sends REG_CONF once, and once its announce phase is
    // over (a closed group ends it as soon as all have registered) it does
    // not answer a repeated REGISTER with another: a lost REG_CONF would
    // leave our clients unkeyed for good. Its sealed FILEINFO and DONE list
    // the clients it waits for, under the group keys: the server's word,
    // as a REG_CONF's is, that it took them.
    std::span<const std::uint32_t> listed;
    if (const auto* f = std::get_if<protocol::fileinfo_msg>(&sealed_body)) {
        listed = f->client_ids;
    } else if (const auto* d = std::get_if<protocol::done_msg>(&sealed_body)) {
        listed = d->client_ids;
    } else {
        return;
    }
    _stats.clients_confirmed_by_listing += confirm_clients(now, key, s, listed);
}

void response_proxy::on_server_keyinfo(time_ns now, const session_key& key, session& s,
                                       const protocol::keyinfo_msg& m) {
    session_keys& k = *s.keys;
    const auto entry =
        std::find_if(m.entries.begin(), m.entries.end(), [&](const protocol::keyinfo_entry& e) {
            return e.dest_id == _config.proxy_id;
        });
    if (entry == m.entries.end()) {
        return; // the server's KEYINFO for its other clients
    }
    ++_stats.keyinfo_in;
    if (!k.cipher) {
        const std::span<const std::uint8_t> own_blob =
            k.client_auth ? std::span<const std::uint8_t>(_config.key->blob())
                          : std::span<const std::uint8_t>();
        auto keyed = open_keyinfo_entry(k.suite, k.upstream, s.server_id, m.iv_ctr,
                                        entry->group_master, own_blob);
        if (!keyed) {
            ++_stats.keyinfo_bad;
            return;
        }
        // `-w keyex`: what we seal is signed with our key.
        auto pc = crypto::packet_cipher::create(k.suite, keyed->group_block,
                                                k.keyex_signed ? _config.key.get() : nullptr);
        if (!pc) {
            ++_stats.keyinfo_bad;
            return;
        }
        k.cipher.emplace(std::move(pc).value());
        k.group_master = std::move(keyed->group_master);
        k.ack_verify = keyed->ack_verify;
        k.upstream.vd1 = crypto::secure_bytes();
        k.upstream.client_block = crypto::key_block();
        std::vector<std::uint32_t> due;
        for (auto& [uid, c] : k.clients) {
            if (!k.client_auth || c.key) {
                expect_ack(k, c); // an unproved client's comes with its CLIENT_KEY
            }
            if (c.confirmed) {
                due.push_back(uid);
            }
        }
        send_keyinfo(now, key, s, due);
    }
    // Every KEYINFO listing us is answered: our last ACK may have been lost.
    send(key, s, protocol::keyinfo_ack_msg{.verify_data = k.ack_verify});
}

void response_proxy::on_keyinfo_ack(session& s, std::uint32_t uid,
                                    const protocol::keyinfo_ack_msg& m) {
    session_keys& k = *s.keys;
    const auto it = k.clients.find(uid);
    if (it == k.clients.end()) {
        ++_stats.unexpected_in;
        return;
    }
    if (it->second.keyed) {
        return; // a repeat: our KEYINFO was repeated
    }
    const auto expected = k.store.ack_verify(it->second.slot);
    if (!it->second.ack_expected || expected.empty() ||
        !crypto::constant_time_equal(expected, m.verify_data)) {
        ++_stats.keyinfo_ack_bad;
        return;
    }
    ++_stats.keyinfo_acks;
    it->second.keyed = true;
}

void response_proxy::send_keyinfo(time_ns now, const session_key& key, session& s,
                                  const std::vector<std::uint32_t>& uids) {
    session_keys& k = *s.keys;
    // In the server's name: clients drop anything else from another UID.
    const protocol::uftp_header h{.src_id = s.server_id,
                                  .group_id = key.first,
                                  .group_inst = key.second,
                                  .grtt = k.server_grtt,
                                  .gsize = k.server_gsize};
    for (std::size_t i = 0; i < uids.size(); i += k.entries_per_keyinfo) {
        // One IV counter per KEYINFO datagram, shared with what we seal.
        protocol::keyinfo_msg m{.iv_ctr = ++k.iv};
        const std::size_t end = std::min(uids.size(), i + k.entries_per_keyinfo);
        for (std::size_t j = i; j < end; ++j) {
            const keyed_client& c = k.clients.at(uids[j]);
            auto entry = keyinfo_entry_for(k.suite, uids[j], k.store.key_block(c.slot), s.server_id,
                                           m.iv_ctr, k.group_master.span());
            if (entry) {
                m.entries.push_back(*entry);
            } else {
                ++_stats.keyinfo_failed;
            }
        }
        const auto n = protocol::encode(h, m, _buffer);
        if (m.entries.empty() || !n.ok()) {
            ++_stats.keyinfo_failed;
            continue;
        }
        _network.send_copies(k.private_group, std::span(_buffer).first(*n), _config.control_copies,
                             copy_spacing(_config.copy_spacing, s.grtt));
        ++_stats.keyinfo_sent;
        for (const auto& e : m.entries) {
            ++k.clients.at(e.dest_id).keyinfo_sends;
        }
    }
    if (!uids.empty()) {
        k.next_keyinfo = std::min(k.next_keyinfo, now + 2 * s.hold());
    }
}

void response_proxy::keyinfo_round(time_ns now, const session_key& key, session& s) {
    session_keys& k = *s.keys;
    k.next_keyinfo = no_deadline;
    std::vector<std::uint32_t> due;
    std::vector<std::uint32_t> given_up;
    for (const auto& [uid, c] : k.clients) {
        if (!c.confirmed || c.keyed) {
            continue;
        }
        (c.keyinfo_sends >= _config.keyinfo_rounds ? given_up : due).push_back(uid);
    }
    for (const std::uint32_t uid : given_up) {
        // Stock's words for the same (uftpproxyd): the server drops the
        // client instead of waiting for it.
        ++_stats.clients_unkeyed;
        release_client(k, uid);
        s.clients.erase(uid);
        send(key, s,
             protocol::abort_msg{.host = uid, .message = "Client not fully registered at proxy"});
    }
    send_keyinfo(now, key, s, due);
}

void response_proxy::release_client(session_keys& k, std::uint32_t uid) {
    const auto it = k.clients.find(uid);
    if (it == k.clients.end()) {
        return;
    }
    crypto::secure_zero(k.store.slot(it->second.slot));
    k.free_slots.push_back(it->second.slot);
    k.clients.erase(it);
}

void response_proxy::sweep_unproved(time_ns now, session& s) {
    // Registered with a key exchange but never proved its key (client
    // authentication): its slot is given back, so that REGISTERs alone
    // cannot fill the session.
    session_keys& k = *s.keys;
    const time_ns hold = group_hold(s);
    k.next_unproved_sweep = no_deadline;
    std::vector<std::uint32_t> expired;
    for (const auto& [uid, c] : k.clients) {
        if (c.key) {
            continue;
        }
        if (c.since + hold <= now) {
            expired.push_back(uid);
        } else {
            k.next_unproved_sweep = std::min(k.next_unproved_sweep, c.since + hold);
        }
    }
    for (const std::uint32_t uid : expired) {
        ++_stats.clients_unproved;
        release_client(k, uid);
        s.clients.erase(uid);
    }
}

bool response_proxy::client_waits(const session_keys& k) {
    return std::any_of(k.clients.begin(), k.clients.end(),
                       [](const auto& c) { return !c.second.confirmed; });
}

time_ns response_proxy::group_hold(const session& s) const {
    // A server announces every round of its announce phase (a GRTT or
    // two): ten holds without one, and at least 5 s, means registration
    // is over.
    return std::max<time_ns>(5 * ns_per_second, 10 * s.hold());
}

std::optional<time_ns> response_proxy::listings_wanted_until(std::uint32_t group_id,
                                                             std::uint8_t group_inst) const {
    const auto it = _sessions.find({group_id, group_inst});
    if (it == _sessions.end() || !it->second.keys) {
        return std::nullopt;
    }
    if (!client_waits(*it->second.keys)) {
        return std::nullopt;
    }
    return it->second.keys->last_announce + group_hold(it->second);
}

time_ns response_proxy::keys_deadline(const session& s) const {
    time_ns next = std::min(s.keys->next_keyinfo, s.keys->next_unproved_sweep);
    if (s.keys->joined) {
        next = std::min(next, s.keys->last_announce + group_hold(s));
    }
    return next;
}

void response_proxy::keys_timer(time_ns now, const session_key& key, session& s) {
    if (s.keys->next_keyinfo <= now) {
        keyinfo_round(now, key, s);
    }
    if (s.keys->next_unproved_sweep <= now) {
        sweep_unproved(now, s);
    }
    if (s.keys->joined && s.keys->last_announce + group_hold(s) <= now) {
        ++_stats.groups_left_idle;
        end_keys(s);
    }
}

std::optional<protocol::message>
response_proxy::open_answer(session& s, std::uint32_t uid, std::span<const std::uint8_t> datagram) {
    session_keys& k = *s.keys;
    if (!k.cipher) {
        ++_stats.undecryptable;
        return std::nullopt;
    }
    // `-w keyex`: signed with the client's own key, which its CLIENT_KEY proved.
    const crypto::public_key* sender = nullptr;
    if (k.keyex_signed) {
        const auto it = k.clients.find(uid);
        if (it == k.clients.end() || !it->second.key) {
            ++_stats.decrypt_failed;
            return std::nullopt;
        }
        sender = &*it->second.key;
    }
    auto opened = crypto::open_message(*k.cipher, datagram, _plain, sender);
    if (!opened) {
        ++_stats.decrypt_failed;
        return std::nullopt;
    }
    return std::move(opened->body);
}

} // namespace skycast::control::engine
