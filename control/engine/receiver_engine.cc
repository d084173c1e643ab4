#include "control/engine/receiver_engine.h"

#include "control/engine/path_safety.h"
#include "control/engine/proxy_key_client.h"
#include "control/engine/receive_file.h"
#include "control/engine/wire_time.h"
#include "crypto/datagram_signature.h"
#include "crypto/encrypted_message.h"
#include "crypto/key_exchange.h"
#include "crypto/keyinfo.h"
#include "crypto/random.h"
#include "crypto/signature.h"
#include "protocol/codec.h"
#include "protocol/nak_bitmap.h"
#include "protocol/nak_list.h"
#include "protocol/parity.h"
#include "protocol/quantize.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/statvfs.h>

namespace skycast::control::engine {

namespace {

// The floor under every ROBUST-based client timeout (spec §4.4).
constexpr time_ns min_timeout = ns_per_second;
// The shortest wait before a DONE is answered (done_answer_delay): frames
// a few milliseconds behind the DONE on a LAN.
constexpr time_ns min_done_answer_delay = 20 * ns_per_second / 1000;
// How often a file being flushed is looked at (try_finish_file): a small
// fraction of any GRTT, and a few hundred looks a second at most.
constexpr time_ns close_poll_interval = 5 * ns_per_second / 1000;
// How often the open file is checked for completeness as data comes in
// (check_complete): a count on the appliance, a bitmap read in the
// simulator; a few milliseconds late is nothing against a GRTT.
constexpr time_ns complete_check_interval = 10 * ns_per_second / 1000;
// How often the node's overload drops are looked at while data comes in
// (report_overload): the dataplane refreshes them every 20 ms.
constexpr time_ns overload_check_interval = 20 * ns_per_second / 1000;
// A datagram more than this many behind the newest is dropped (spec §1.2).
constexpr int seq_window = 5;
// ...unless it is a late copy of a listing that names us and that we still
// wait for (late_listing_welcome), up to this far behind. The server sends
// a listing for many clients as several datagrams, each UID in one of them,
// and its spaced copies (control.control_copies) follow the whole listing:
// the copy of the first of 31 datagrams (10,000 clients at 1300-byte
// blocks) is 30 behind when it comes. 1024 covers listings for 300,000
// clients, and stays far from where the 16-bit sequence wraps.
constexpr int late_listing_window = 1024;
// How often refresh_progress() counts the open file's received blocks: a
// bit-by-bit read of its bitmap up to the section being received (a 4 GB
// file of 8800-byte blocks is 490,000 bits), per session. Once a second is
// what a progress line needs; the stats are republished every 100 ms.
constexpr time_ns progress_count_interval = ns_per_second;

std::uint64_t statvfs_free(const std::string& dir) {
    struct statvfs st {};
    if (::statvfs(dir.c_str(), &st) != 0) {
        return 0;
    }
    return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

} // namespace

const char* name(receiver_state s) {
    switch (s) {
    case receiver_state::listening:
        return "listening";
    case receiver_state::registering:
        return "registering";
    case receiver_state::between_files:
        return "between_files";
    case receiver_state::receiving:
        return "receiving";
    case receiver_state::completing:
        return "completing";
    case receiver_state::finished:
        return "finished";
    case receiver_state::aborted:
        return "aborted";
    }
    return "other";
}

const char* name(receiver_outcome o) {
    switch (o) {
    case receiver_outcome::running:
        return "running";
    case receiver_outcome::completed:
        return "completed";
    case receiver_outcome::completed_unconfirmed:
        return "completed (DONE_CONF not received)";
    case receiver_outcome::aborted_by_server:
        return "aborted by server";
    case receiver_outcome::timed_out:
        return "transfer timed out";
    case receiver_outcome::registration_unconfirmed:
        return "registration unconfirmed";
    case receiver_outcome::disk_full:
        return "not enough disk space";
    case receiver_outcome::write_failed:
        return "write failed";
    case receiver_outcome::refused:
        return "session refused";
    case receiver_outcome::count:
        break;
    }
    return "unknown";
}

receiver_engine::receiver_engine(receiver_config config, network_port& network,
                                 receiver_dataplane_port& dataplane)
    : _config(std::move(config)), _network(network), _dataplane(dataplane) {}

time_ns receiver_engine::next_deadline() const {
    if (_state == receiver_state::finished || _state == receiver_state::aborted) {
        return no_deadline;
    }
    return std::min({_register_resend, _register_giveup, _inactivity, _nak_deadline,
                     _complete_check, _complete_resend, _complete_giveup});
}

time_ns receiver_engine::robust_grtt() const {
    return std::max(min_timeout, seconds_to_ns(_robust * _grtt));
}

double receiver_engine::header_grtt(std::uint8_t quantized) {
    const double grtt = protocol::unquantize_grtt(quantized);
    if (grtt > _config.max_grtt) {
        ++_stats.grtt_clamped;
        return _config.max_grtt;
    }
    return grtt;
}

bool receiver_engine::write_failed(time_ns now) {
    if (!_has_file) {
        return false;
    }
    const int error = _dataplane.write_error(_file.file_id);
    if (error == 0) {
        return false;
    }
    ++_stats.write_failures;
    const bool full = error == ENOSPC || error == EDQUOT;
    // Named to the sender (ABORT text) and in our stats, so both operators
    // see a full disk instead of a session that timed out.
    std::string reason = std::string(full ? "Disk full" : "Write error") + " on file " +
                         std::to_string(_file.file_id) + ": " + std::strerror(error);
    const std::size_t result = _file.result_index;
    end(now, full ? receiver_outcome::disk_full : receiver_outcome::write_failed, reason, true);
    _results[result].reason = std::move(reason); // not "abandoned", as end() put it
    return true;
}

std::uint16_t receiver_engine::send(const protocol::message& body) {
    const protocol::uftp_header h{.seq = _seq++,
                                  .src_id = _config.client_id,
                                  .group_id = _group_id,
                                  .group_inst = _group_inst};
    const auto type = protocol::type_of(body);
    if (keyed() && type != protocol::message_type::register_ &&
        type != protocol::message_type::client_key) {
        // Once we hold the group keys everything we send is sealed (spec §1.3).
        const auto sealed =
            crypto::seal_message(*_crypto->cipher, h, body, ++_crypto->iv, _scratch, _buffer);
        if (sealed) {
            _network.send_copies(_server, std::span(_buffer).first(*sealed), _config.control_copies,
                                 copy_spacing(_config.copy_spacing, _grtt));
        }
        return h.seq;
    }
    const auto size = protocol::encode(h, body, _buffer);
    if (size.ok()) {
        _network.send_copies(_server, std::span(_buffer).first(*size), _config.control_copies,
                             copy_spacing(_config.copy_spacing, _grtt));
    }
    return h.seq;
}

protocol::timestamp receiver_engine::echo(protocol::timestamp stamp, time_ns received_at,
                                          time_ns now) const {
    // The server's own time plus how long we held it (spec §2.2).
    return to_wire_time(from_wire_time(stamp) + (now - received_at));
}

bool receiver_engine::listed(const std::vector<std::uint32_t>& ids) const {
    return std::find(ids.begin(), ids.end(), _config.client_id) != ids.end();
}

bool receiver_engine::late_listing_welcome(const protocol::message& body) const {
    // Each case is one we cannot have moved past: taking the datagram is
    // what the server asked of us, and an old one cannot undo later state
    // (a FILEINFO while we hold a file, say, would drop that file).
    if (const auto* m = std::get_if<protocol::reg_conf_msg>(&body)) {
        return _state == receiver_state::registering && listed(m->client_ids);
    }
    if (const auto* m = std::get_if<protocol::fileinfo_msg>(&body)) {
        return (_state == receiver_state::registering || _state == receiver_state::between_files) &&
               !_has_file && !_answered.contains(m->file_id) && listed(m->client_ids);
    }
    if (const auto* m = std::get_if<protocol::done_msg>(&body)) {
        const bool ours = m->file_id == 0 ? _state == receiver_state::between_files && !_has_file
                                          : _has_file && m->file_id == _file.file_id;
        return ours && listed(m->client_ids);
    }
    if (const auto* m = std::get_if<protocol::done_conf_msg>(&body)) {
        return _state == receiver_state::completing && listed(m->client_ids);
    }
    return false;
}

void receiver_engine::touch(time_ns now) {
    if (_state == receiver_state::between_files || _state == receiver_state::receiving) {
        _inactivity = now + robust_grtt();
    }
}

// --- Dispatch ------------------------------------------------------------------

void receiver_engine::on_datagram(time_ns now, endpoint from,
                                  std::span<const std::uint8_t> datagram) {
    handle_datagram(now, from, datagram, false);
}

void receiver_engine::on_decrypted(time_ns now, endpoint from,
                                   std::span<const std::uint8_t> datagram) {
    handle_datagram(now, from, datagram, true);
}

void receiver_engine::handle_datagram(time_ns now, endpoint from,
                                      std::span<const std::uint8_t> datagram,
                                      bool opened_by_dataplane) {
    ++_stats.datagrams_in;
    if (_state == receiver_state::finished || _state == receiver_state::aborted) {
        return;
    }
    protocol::datagram d;
    if (protocol::decode(datagram, d) != protocol::wire_error::ok) {
        ++_stats.malformed_in;
        return;
    }
    if (_state == receiver_state::listening) {
        if (const auto* a = std::get_if<protocol::announce_msg>(&d.body)) {
            handle_announce(now, d.header, from, *a, datagram);
            (void)_last_from_server.repeat(datagram); // its copies come next
        } else {
            ++_stats.foreign_in;
        }
        return;
    }
    // After ANNOUNCE only the announcing server's session counts (spec §8).
    if (d.header.src_id != _server_id || d.header.group_id != _group_id ||
        d.header.group_inst != _group_inst) {
        ++_stats.foreign_in;
        return;
    }
    // The server's copy of its previous datagram (control.control_copies,
    // or the network's): answered once (repeat_filter.h).
    if (_last_from_server.repeat(datagram)) {
        ++_stats.duplicates_in;
        return;
    }
    protocol::message* body = &d.body;
    protocol::message inner;
    if (d.type() == protocol::message_type::encrypted) {
        if (!keyed()) {
            ++_stats.undecryptable;
            return;
        }
        const crypto::public_key* key = _crypto->suite.sigtype == protocol::signature_type::keyex
                                            ? &*_crypto->server_key
                                            : nullptr;
        auto opened = crypto::open_message(*_crypto->cipher, datagram, _plain, key);
        if (!opened) {
            ++_stats.decrypt_failed;
            return;
        }
        inner = std::move(opened->body);
        body = &inner;
    } else if (opened_by_dataplane && !keyed()) {
        // Opened with keys we do not hold (a stale dataplane session): the
        // same as an ENCRYPTED datagram we cannot decrypt.
        ++_stats.undecryptable;
        return;
    } else if (_crypto && !opened_by_dataplane) {
        switch (d.type()) {
        case protocol::message_type::announce:
        case protocol::message_type::keyinfo:
            break; // never sealed
        case protocol::message_type::abort:
            if (keyed()) {
                // With the group keys in hand, an ABORT in the clear may be
                // anyone's (spec §5.12): only a sealed one ends the session.
                ++_stats.plaintext_refused;
                return;
            }
            break;
        default:
            // FILEINFO, DONE, DONE_CONF, REG_CONF...: stock refuses them in
            // the clear in an encrypted session (spec §12 #17).
            ++_stats.plaintext_refused;
            return;
        }
    }
    const auto type = protocol::type_of(*body);
    if (type != protocol::message_type::abort && type != protocol::message_type::keyinfo) {
        const auto behind = static_cast<std::int16_t>(_max_seq_seen - d.header.seq);
        if (_seq_seen && behind > seq_window) {
            if (behind > late_listing_window || !late_listing_welcome(*body)) {
                ++_stats.seq_out_of_range;
                return;
            }
            ++_stats.late_listings_taken;
        }
        if (!_seq_seen || behind < 0) {
            _max_seq_seen = d.header.seq;
            _seq_seen = true;
        }
    }
    // Re-arm timers on the advertised GRTT (clients re-arm on changes over 1 ms).
    _grtt = header_grtt(d.header.grtt);
    touch(now);
    switch (type) {
    case protocol::message_type::announce:
        // Ours again: refreshes the timeout. A closed group's repeated
        // ANNOUNCE lists only the hosts the server has not heard from: if it
        // lists us while we wait for REG_CONF, our REGISTER was lost, and
        // resending it now beats our own 4·GRTT timer (at GEO, seconds per
        // lost REGISTER). At most once per GRTT, so a flood of copies cannot
        // make us send more than the timer would a few times over.
        if (_state == receiver_state::registering &&
            !std::get<protocol::announce_msg>(*body).client_ids.empty() &&
            listed(std::get<protocol::announce_msg>(*body).client_ids) &&
            now + seconds_to_ns(3 * _grtt) >= _register_resend) {
            ++_stats.register_early;
            send_register(now);
        }
        break;
    case protocol::message_type::reg_conf:
        if (_state == receiver_state::registering && !_crypto &&
            listed(std::get<protocol::reg_conf_msg>(*body).client_ids)) {
            _state = receiver_state::between_files;
            _register_resend = _register_giveup = no_deadline;
            touch(now);
        }
        break;
    case protocol::message_type::keyinfo:
        if (_crypto) {
            handle_keyinfo(now, std::get<protocol::keyinfo_msg>(*body));
        } else {
            ++_stats.foreign_in;
        }
        break;
    case protocol::message_type::fileinfo:
        handle_fileinfo(now, std::get<protocol::fileinfo_msg>(*body));
        break;
    case protocol::message_type::done:
        handle_done(now, std::get<protocol::done_msg>(*body));
        break;
    case protocol::message_type::done_conf:
        if (_state == receiver_state::completing &&
            listed(std::get<protocol::done_conf_msg>(*body).client_ids)) {
            end(now, receiver_outcome::completed, "", false);
        }
        break;
    case protocol::message_type::abort:
        handle_abort(now, std::get<protocol::abort_msg>(*body));
        break;
    default:
        ++_stats.foreign_in;
        break;
    }
}

namespace {

// What a server may ask of its clients that this receiver does not do: the
// session is refused with an ABORT that names it (issue 7: never a silent
// misbehaviour against a stock server with options Skycast lacks).
std::string unsupported_feature(const protocol::announce_msg& m) {
    if (m.cc != protocol::cc_type::none) {
        return "Congestion control (uftp -C) not supported by this client";
    }
    if ((m.flags &
         (protocol::flags::announce_sync_mode | protocol::flags::announce_sync_preview)) != 0) {
        return "Sync mode (uftp -z/-Z) not supported by this client";
    }
    if (m.ipv6()) {
        return "IPv6 not supported by this client";
    }
    return {};
}

} // namespace

void receiver_engine::handle_announce(time_ns now, const protocol::uftp_header& h, endpoint from,
                                      const protocol::announce_msg& m,
                                      std::span<const std::uint8_t> datagram) {
    if (!m.client_ids.empty() && !listed(m.client_ids)) {
        ++_stats.not_listed;
        return;
    }
    if (m.block_size < protocol::min_block_size || m.block_size > protocol::max_block_size) {
        ++_stats.foreign_in; // a block size outside the protocol's range cannot be received
        return;
    }
    const auto& servers = _config.encryption.servers;
    if (!servers.empty() && std::none_of(servers.begin(), servers.end(),
                                         [&](const host_key& k) { return k.uid == h.src_id; })) {
        ++_stats.foreign_in; // not a server we take files from (uftpd -S)
        return;
    }
    _server_id = h.src_id;
    _group_id = h.group_id;
    _group_inst = h.group_inst;
    _server = from;
    std::string refusal = unsupported_feature(m);
    if (!refusal.empty()) {
        // Said to the server, so its operator sees why this client left.
    } else if (m.enc_info && _config.response_proxy && _config.proxy_keys == nullptr) {
        refusal = "Encrypted sessions through a response proxy not supported";
    } else if (m.enc_info && _config.response_proxy && _config.proxy_keys->keys() == nullptr) {
        // Behind a response proxy the key exchange is with the proxy's keys:
        // stay listening until they are here (stock uftpd does the same).
        ++_stats.proxy_key_missing;
        return;
    } else if (m.enc_info) {
        bool bad_signature = false;
        refusal = join_encrypted(now, m, datagram, bad_signature);
        if (bad_signature) {
            ++_stats.announce_signature_bad;
            _crypto.reset();
            return; // still listening: the genuine ANNOUNCE may follow
        }
    } else if (_config.encryption.require) {
        ++_stats.unencrypted_refused;
        refusal = "Encryption required";
    }
    if (!refusal.empty()) {
        // A client that cannot follow the server's choice says so (spec §5.1).
        if (refusal != "Encryption required" && m.enc_info) {
            ++_stats.encrypted_refused;
        }
        _crypto.reset();
        end(now, receiver_outcome::refused, refusal, true);
        return;
    }
    // A refusal went to the server itself (stock proxies pass no ABORT on);
    // everything else goes through the response proxy.
    if (_config.response_proxy) {
        _server = *_config.response_proxy;
    }
    // The session's data arrives on its private group: be a member before
    // the server starts sending (and only now, for an ANNOUNCE we accept).
    const std::uint32_t group = m.private_addr.ipv4();
    if ((group >> 28) == 0xE) {
        if (!_dataplane.join_group(group)) {
            _crypto.reset();
            end(now, receiver_outcome::refused, "Cannot join the session's multicast group", true);
            return;
        }
        _joined_group = group;
    }
    _block_size = m.block_size;
    // FEC parity is used only when both ends can: a version and k this
    // receiver understands, and a dataplane that decodes. Otherwise the
    // session is received by NAKing data blocks, as stock does.
    _fec_k = 0;
    _fec_span = 1;
    _parity_port = 0;
    // Skycast's own STATUS forms go only straight to the Skycast sender that
    // asked for them: its ANNOUNCE names its address (EXT_SKYCAST_NAK_LIST),
    // and one from any other address came through a client proxy; nor do
    // they go through a response proxy. A proxy reads every STATUS body as
    // a bitmap, and may keep a stock sender's books: stock uftp takes a
    // STATUS without NAKs after its DONE as our answer and stops asking,
    // stranding us short of the file.
    const bool straight_from_sender =
        m.nak_lists_from && *m.nak_lists_from == from.address && !_config.response_proxy;
    _sender_takes_overload = m.takes_overload_reports && straight_from_sender; // §18
    _sender_takes_nak_lists = straight_from_sender;                            // §19
    _last_file_id = straight_from_sender ? m.last_file_id : std::nullopt;      // §22
    if (m.fec_info) {
        const auto& f = *m.fec_info;
        if ((f.version == 1 || f.version == 2) && f.group_blocks >= 2 &&
            f.group_blocks < protocol::parity_last_index && f.span_groups >= 1 &&
            f.parity_port != 0 && _dataplane.fec_capable()) {
            _fec_k = f.group_blocks;
            _fec_span = f.span_groups;
            _parity_port = f.parity_port;
        } else {
            ++_stats.fec_declined;
        }
    }
    if (m.robust > _config.max_robust) {
        ++_stats.robust_clamped;
    }
    _robust = std::clamp<std::uint8_t>(m.robust, 1, std::max<std::uint8_t>(1, _config.max_robust));
    _grtt = header_grtt(h.grtt);
    _announce_stamp = m.tstamp;
    _announce_at = now;
    _max_seq_seen = h.seq;
    _seq_seen = true;
    _state = receiver_state::registering;
    send_register(now);
    _register_giveup = now + std::min(_config.register_timeout,
                                      std::max(min_timeout, seconds_to_ns(4.0 * _robust * _grtt)));
}

std::string receiver_engine::join_encrypted(time_ns now, const protocol::announce_msg& m,
                                            std::span<const std::uint8_t> datagram,
                                            bool& bad_signature) {
    const auto& e = *m.enc_info;
    auto c = std::make_unique<receiver_crypto>();
    auto suite = crypto::make_suite(e.keytype, e.hashtype, e.sigtype);
    if (!suite) {
        return "Unsupported encryption: " + std::string(crypto::describe(suite.error()));
    }
    c->suite = *suite;
    c->keyex = e.keyextype;
    c->client_auth = (e.flags & protocol::flags::enc_info_client_auth) != 0 ||
                     c->suite.sigtype == protocol::signature_type::keyex;
    auto server_key = crypto::public_key::from_blob(e.key_blob);
    if (!server_key) {
        return "Invalid server key";
    }
    const auto& servers = _config.encryption.servers;
    if (!servers.empty()) {
        // Server authentication (uftpd -S): its key must be the listed one.
        const auto it = std::find_if(servers.begin(), servers.end(),
                                     [&](const host_key& k) { return k.uid == _server_id; });
        if (it == servers.end() ||
            (it->pinned && !crypto::constant_time_equal(it->fp, server_key->key_fingerprint()))) {
            return "Server key fingerprint mismatch";
        }
    }
    const bool ecdh = protocol::is_ecdh(e.keyextype);
    if (!ecdh && e.keyextype != protocol::keyexchange_type::rsa) {
        return "Unsupported key exchange";
    }
    if ((e.keyextype == protocol::keyexchange_type::ecdh_ecdsa) !=
        (server_key->kind() == crypto::key_kind::ec)) {
        return "Server key type does not match the key exchange";
    }
    // Behind a response proxy, the key exchange is with the proxy's keys
    // (checked when its PROXY_KEY came); the ANNOUNCE is still the server's.
    const proxy_keys* proxy = _config.response_proxy && _config.proxy_keys != nullptr
                                  ? _config.proxy_keys->keys()
                                  : nullptr;
    if (proxy != nullptr && !ecdh && proxy->key.kind() != crypto::key_kind::rsa) {
        return "Response proxy key is not RSA, as the key exchange needs";
    }
    std::optional<crypto::public_key> server_dh;
    if (ecdh) {
        // The whole datagram is signed with the field zeroed (spec §5.6).
        if (crypto::verify_datagram(*server_key, e.hashtype, datagram,
                                    protocol::announce_signature_offset(m),
                                    e.signature.size()) != crypto::crypto_error::ok) {
            bad_signature = true;
            return "Invalid ANNOUNCE signature";
        }
        if (proxy == nullptr) {
            auto dh = crypto::public_key::from_blob(e.dh_blob);
            if (!dh) {
                return "Invalid server ECDH key";
            }
            server_dh.emplace(std::move(dh).value());
        } else if (!proxy->dh) {
            return "Response proxy has no ECDH key";
        }
    }
    // The premaster's peer: the proxy's key (RSA) or ECDH key behind a
    // response proxy, else the server's.
    const crypto::public_key& peer = ecdh ? (proxy != nullptr ? *proxy->dh : *server_dh)
                                          : (proxy != nullptr ? proxy->key : *server_key);
    const auto addr = std::span(m.private_addr.bytes).first(m.ipv6() ? 16 : 4);
    if (auto why =
            begin_client_handshake({.suite = &c->suite,
                                    .keyex = e.keyextype,
                                    .peer = &peer,
                                    .rand1 = e.rand1,
                                    .group_id = _group_id,
                                    .private_addr = addr,
                                    .unix_time = static_cast<std::uint32_t>(now / ns_per_second)},
                                   c->handshake);
        !why.empty()) {
        return why;
    }
    c->server_key.emplace(std::move(server_key).value());
    if (c->client_auth) {
        c->own_key = client_key_for(_config.encryption.keys, e.keyextype);
        if (c->own_key == nullptr) {
            // Stock's words for the same situation (spec §5.9).
            return "No client key compatible with server key";
        }
        c->client_key_sig.resize(c->own_key->signature_size());
        const std::span<const std::uint8_t> parts[] = {c->handshake.vd1.span()};
        if (!crypto::sign(*c->own_key, e.hashtype, parts, c->client_key_sig)) {
            return "Cannot sign CLIENT_KEY";
        }
    }
    _crypto = std::move(c);
    return "";
}

void receiver_engine::handle_keyinfo(time_ns now, const protocol::keyinfo_msg& m) {
    const auto it =
        std::find_if(m.entries.begin(), m.entries.end(), [&](const protocol::keyinfo_entry& e) {
            return e.dest_id == _config.client_id;
        });
    if (it == m.entries.end()) {
        ++_stats.not_listed;
        return;
    }
    receiver_crypto& c = *_crypto;
    if (!c.cipher) {
        const bool keyex = c.suite.sigtype == protocol::signature_type::keyex;
        const std::span<const std::uint8_t> blob =
            c.client_auth ? std::span<const std::uint8_t>(c.own_key->blob())
                          : std::span<const std::uint8_t>();
        auto keyed =
            open_keyinfo_entry(c.suite, c.handshake, _server_id, m.iv_ctr, it->group_master, blob);
        if (!keyed) {
            ++_stats.keyinfo_bad;
            return;
        }
        auto pc =
            crypto::packet_cipher::create(c.suite, keyed->group_block, keyex ? c.own_key : nullptr);
        auto dp_keys = keyed->group_block.clone();
        if (!pc || !dp_keys) {
            ++_stats.keyinfo_bad;
            return;
        }
        std::optional<crypto::public_key> sender_key;
        if (keyex) {
            auto k = crypto::public_key::from_blob(c.server_key->blob());
            if (k) {
                sender_key.emplace(std::move(k).value());
            }
        }
        c.cipher.emplace(std::move(pc).value());
        c.keys =
            std::make_shared<session_keys>(session_keys{.suite = c.suite,
                                                        .group_keys = std::move(dp_keys).value(),
                                                        .signer = nullptr,
                                                        .sender_key = std::move(sender_key)});
        c.ack_verify = keyed->ack_verify;
        // The premaster-derived secrets are no longer needed.
        c.handshake.vd1 = crypto::secure_bytes();
        c.handshake.client_block = crypto::key_block();
    }
    if (_state == receiver_state::registering) {
        // KEYINFO is the registration's confirmation in an encrypted session.
        _register_resend = _register_giveup = no_deadline;
        _state = receiver_state::between_files;
        touch(now);
    }
    // Every KEYINFO listing us is answered: our last ACK may have been lost (spec §5.5).
    protocol::keyinfo_ack_msg ack;
    ack.verify_data = c.ack_verify;
    send(ack);
}

void receiver_engine::send_register(time_ns now) {
    protocol::register_msg r{.tstamp = echo(_announce_stamp, _announce_at, now)};
    if (_crypto) {
        r.rand2 = _crypto->handshake.rand2;
        r.key_info = _crypto->handshake.key_info;
    }
    send(r);
    ++_stats.registers_sent;
    if (_crypto && _crypto->client_auth) {
        // Right after every REGISTER (spec §2.3).
        protocol::client_key_msg ck{.key_blob = _crypto->own_key->blob(),
                                    .verify = _crypto->client_key_sig};
        send(ck);
    }
    _register_resend = now + seconds_to_ns(4 * _grtt);
}

void receiver_engine::send_complete(time_ns now, std::uint16_t file_id,
                                    protocol::complete_status status) {
    if (file_id != 0 && _last_file_id == file_id && _state != receiver_state::completing) {
        // The sender said this is its last file (EXT_SKYCAST_LAST_FILE,
        // docs/protocol.md §22): the session's COMPLETE goes with it, a
        // round trip before its DONE(0) would ask, and just ahead of it, so
        // the sender holds it when the file's COMPLETE ends the file.
        ++_stats.early_completes;
        send_session_complete(now);
    }
    protocol::complete_msg c{.file_id = file_id, .status = status};
    send(c);
    ++_stats.completes_sent;
}

void receiver_engine::send_session_complete(time_ns now) {
    if (_state != receiver_state::completing) {
        _state = receiver_state::completing;
        _inactivity = no_deadline;
        _nak_deadline = no_deadline;
        _complete_giveup = now + std::max(min_timeout, seconds_to_ns(4.0 * _robust * _grtt));
    }
    send_complete(now, 0, protocol::complete_status::normal);
    _complete_resend = now + seconds_to_ns(4 * _grtt);
}

void receiver_engine::reject(time_ns now, const protocol::fileinfo_msg& m, std::string why) {
    ++_stats.files_rejected;
    _answered[m.file_id] = protocol::complete_status::rejected;
    _results.push_back({.file_id = m.file_id,
                        .name = m.name,
                        .type = m.ftype,
                        .status = protocol::complete_status::rejected,
                        .complete = false,
                        .reason = std::move(why)});
    send_complete(now, m.file_id, protocol::complete_status::rejected);
}

void receiver_engine::handle_fileinfo(time_ns now, const protocol::fileinfo_msg& m) {
    if (!listed(m.client_ids)) {
        ++_stats.not_listed;
        return;
    }
    ++_stats.fileinfo_in;
    if (_state == receiver_state::completing) {
        return;
    }
    if (_state == receiver_state::registering) {
        // A FILEINFO confirms the registration implicitly (spec §8).
        _register_resend = _register_giveup = no_deadline;
        _state = receiver_state::between_files;
    }
    if (_has_file && _file.file_id == m.file_id) {
        // The ACK was lost: answer again (spec §12 #14).
        protocol::fileinfo_ack_msg ack{.file_id = m.file_id, .tstamp = echo(m.tstamp, now, now)};
        send(ack);
        return;
    }
    if (const auto it = _answered.find(m.file_id); it != _answered.end()) {
        send_complete(now, m.file_id, it->second);
        return;
    }
    if (_has_file) {
        // The server moved on without us finishing: that file is lost.
        drop_current_file(now);
    }
    if (const auto p = check_relative_name(m.name); p != name_problem::none) {
        reject(now, m, std::string(name(p)));
        return;
    }
    if (const auto p = prepare_parents(_config.destination, m.name); p != name_problem::none) {
        reject(now, m, std::string(name(p)));
        return;
    }
    const std::string final_path = _config.destination + "/" + m.name;
    switch (m.ftype) {
    case protocol::file_type::directory:
    case protocol::file_type::symlink:
    case protocol::file_type::delete_: {
        bool ok = false;
        if (m.ftype == protocol::file_type::directory) {
            ok = make_directory(final_path, m.ftstamp, m.mode);
        } else if (m.ftype == protocol::file_type::symlink) {
            ok = !m.link.empty() && make_symlink(final_path, m.link);
        } else {
            ok = delete_path(final_path);
        }
        if (!ok) {
            reject(now, m, "cannot apply to the file system");
            return;
        }
        _answered[m.file_id] = protocol::complete_status::normal;
        _results.push_back(
            {.file_id = m.file_id, .name = m.name, .type = m.ftype, .complete = true});
        _completed.push_back(_results.size() - 1);
        ++_entries_done;
        send_complete(now, m.file_id, protocol::complete_status::normal);
        return;
    }
    case protocol::file_type::regular:
        break;
    default:
        reject(now, m, "unsupported file type");
        return;
    }
    auto layout = protocol::section_layout::make(m.size, _block_size);
    if (!layout.ok()) {
        reject(now, m, "file too large for UFTP block counters");
        return;
    }
    const std::uint64_t free = _config.free_space ? _config.free_space(_config.destination)
                                                  : statvfs_free(_config.destination);
    if (m.size > free) {
        // Stock aborts the whole session here, and so do we (spec §8).
        _results.push_back({.file_id = m.file_id,
                            .name = m.name,
                            .type = m.ftype,
                            .status = protocol::complete_status::rejected,
                            .reason = "Not enough disk space"});
        end(now, receiver_outcome::disk_full, "Not enough disk space", true);
        return;
    }
    const std::string temp =
        temp_path_for(_config.temp_dir.empty() ? parent_directory(final_path) : _config.temp_dir,
                      _server_id, _group_id, m.file_id);
    if (!create_temp_file(temp)) {
        reject(now, m, "cannot create temp file");
        return;
    }
    if (!_dataplane.open_for_receive({.sender_id = _server_id,
                                      .group_id = _group_id,
                                      .file_id = m.file_id,
                                      .layout = *layout,
                                      .temp_path = temp,
                                      .fec_group_blocks = _fec_k,
                                      .fec_span_groups = _fec_span,
                                      .parity_port = _parity_port,
                                      .keys = _crypto ? _crypto->keys : nullptr})) {
        discard_temp_file(temp);
        reject(now, m, "dataplane cannot open file");
        return;
    }
    _has_file = true;
    _file = {.file_id = m.file_id,
             .type = m.ftype,
             .final_path = final_path,
             .temp_path = temp,
             .layout = *layout,
             .mtime = m.ftstamp,
             .mode = m.mode,
             .fileinfo_stamp = m.tstamp,
             .fileinfo_at = now,
             .section_done = std::vector<bool>(layout->sections(), false),
             .result_index = _results.size(),
             .overload_checked_at = now};
    if (!_overload_drops_seen) {
        // The session's baseline, taken at its first file, not at each:
        // drops in one file's last moments, counted after the next FILEINFO,
        // are reported while that next file is received.
        _overload_drops_seen = _dataplane.overload_drops();
    }
    _results.push_back({.file_id = m.file_id, .name = m.name, .type = m.ftype});
    // A new file starts the parity check afresh (parity_reaches_us()): the
    // last file's last ask may have been settled by data, not parity.
    _parity_asked = false;
    _parity_unanswered = 0;
    _state = receiver_state::receiving;
    touch(now);
    protocol::fileinfo_ack_msg ack{.file_id = m.file_id, .tstamp = echo(m.tstamp, now, now)};
    send(ack);
}

void receiver_engine::on_data(time_ns now, std::uint16_t file_id, std::uint16_t section,
                              std::uint16_t seq) {
    if (_state == receiver_state::listening || _state == receiver_state::finished ||
        _state == receiver_state::aborted) {
        return;
    }
    if (static_cast<std::int16_t>(_max_seq_seen - seq) < 0) {
        _max_seq_seen = seq;
    }
    // Data for anyone is a sign of life of the server: a client that has its
    // file must not time out while others are served (spec §8).
    touch(now);
    if (_state != receiver_state::receiving || !_has_file || file_id != _file.file_id) {
        return;
    }
    if (write_failed(now)) {
        return;
    }
    if (!_file.closing) {
        if (now - _file.complete_checked_at >= complete_check_interval) {
            if (check_complete(now)) {
                return;
            }
        } else if (_complete_check == no_deadline) {
            // This may have been the last block: look again once allowed.
            _complete_check = _file.complete_checked_at + complete_check_interval;
        }
    }
    if (!_file.closing && now - _file.overload_checked_at >= overload_check_interval) {
        report_overload(now, section);
    }
    if (section > _file.highest_section_seen) {
        // Sections before this one are over for this pass: NAK them soon.
        _file.highest_section_seen = section;
        _file.nak_upto = std::max<std::uint32_t>(_file.nak_upto, section);
        if (_nak_deadline == no_deadline) {
            _nak_deadline = now + seconds_to_ns(_grtt);
        }
    }
}

void receiver_engine::report_overload(time_ns now, std::uint16_t section) {
    _file.overload_checked_at = now;
    const std::uint64_t drops = _dataplane.overload_drops();
    const bool dropped = drops > _overload_drops_seen.value_or(drops);
    _overload_drops_seen = drops;
    if (!dropped || !_sender_takes_overload || section >= _file.layout.sections()) {
        return;
    }
    // The overload signal (control/engine/overload_rate.h, docs/protocol.md
    // §18): a STATUS that NAKs nothing, for the section being received. A
    // Skycast sender slows down; a stock one ignores a STATUS for the
    // section it is sending (spec §3.2), and NAKs nothing if it has moved on.
    const std::vector<std::uint8_t> none(
        protocol::nak_bitmap_bytes(_file.layout.blocks_in_section(section)), 0);
    send_status(section, none, false);
    ++_stats.overload_reports;
}

void receiver_engine::send_status(std::uint16_t section, std::span<const std::uint8_t> bitmap,
                                  bool fec_deficit) {
    protocol::status_msg st{
        .file_id = _file.file_id, .section = section, .naks = bitmap, .fec_deficit = fec_deficit};
    if (_sender_takes_nak_lists) {
        // The smaller of the two forms: a list wins unless nearly every
        // other block is missing.
        const protocol::nak_bitmap_view view(bitmap, _file.layout.blocks_in_section(section));
        protocol::encode_nak_list(view, _nak_list);
        if (_nak_list.size() < bitmap.size()) {
            st.naks = _nak_list;
            st.nak_list = true;
            ++_stats.nak_lists_sent;
        }
    }
    _stats.status_bytes_sent += st.naks.size();
    send(st);
}

void receiver_engine::handle_done(time_ns now, const protocol::done_msg& m) {
    if (!listed(m.client_ids)) {
        ++_stats.not_listed;
        return;
    }
    if (m.file_id == 0) {
        if (_has_file) {
            drop_current_file(now); // the server finished without us on that file
        }
        send_session_complete(now);
        return;
    }
    if (_has_file && m.file_id == _file.file_id) {
        if (try_finish_file(now)) {
            return;
        }
        _file.asked = true;
        _file.nak_upto = std::max<std::uint32_t>(_file.nak_upto, m.section + 1u);
        // Stock waits 1 GRTT before it answers a DONE. The DONE trails the
        // pass's last FILESEG on the same path, so a tenth of that covers
        // reordering and rebuilds in flight; the sender starts the repair
        // once every receiver has answered, so each round is shorter by
        // nearly a GRTT (on a GEO link, 450 ms per pass).
        const time_ns answer_at = now + done_answer_delay();
        if (_nak_deadline == no_deadline || answer_at < _nak_deadline) {
            _nak_deadline = answer_at;
        }
        return;
    }
    if (const auto it = _answered.find(m.file_id); it != _answered.end()) {
        send_complete(now, m.file_id, it->second); // our COMPLETE was lost
    }
}

time_ns receiver_engine::done_answer_delay() const {
    // Never longer than stock's 1 GRTT, even when that is under the floor.
    return std::min(std::max(seconds_to_ns(0.1 * _grtt), min_done_answer_delay),
                    seconds_to_ns(_grtt));
}

void receiver_engine::handle_abort(time_ns now, const protocol::abort_msg& m) {
    if (m.host != 0 && m.host != _config.client_id) {
        ++_stats.not_listed;
        return;
    }
    end(now, receiver_outcome::aborted_by_server, m.message, false);
}

bool receiver_engine::try_finish_file(time_ns now) {
    if (_file.closing) {
        const std::optional<bool> flushed = _dataplane.close_result(_file.file_id);
        if (!flushed) {
            // Still flushing (a large file on a slow disk): look again soon.
            // DONEs meanwhile get no STATUS: nothing is missing.
            _file.asked = true;
            _nak_deadline = now + close_poll_interval;
            return true;
        }
        finish_closed_file(now, *flushed, true);
        return true;
    }
    if (write_failed(now)) {
        return true;
    }
    if (!_dataplane.complete(_file.file_id)) {
        return false;
    }
    // Every block is in: flush without holding up this loop (ports.h).
    _dataplane.begin_close(_file.file_id);
    _file.closing = true;
    return try_finish_file(now);
}

void receiver_engine::finish_closed_file(time_ns now, bool flushed, bool answer) {
    file_result& r = _results[_file.result_index];
    protocol::complete_status status = protocol::complete_status::normal;
    // Only a fully written file moves into place; anything else is removed.
    if (flushed && move_into_place(_file.temp_path, _file.final_path, _file.mtime, _file.mode)) {
        r.complete = true;
        _completed.push_back(_file.result_index);
        ++_entries_done;
        _bytes_done += _file.layout.file_size();
        ++_stats.files_received;
    } else {
        if (!flushed) {
            discard_temp_file(_file.temp_path);
        }
        ++_stats.move_failed;
        r.status = status = protocol::complete_status::rejected;
        r.reason = flushed ? "cannot move into place" : "write failed";
    }
    _answered[_file.file_id] = status;
    if (answer) {
        send_complete(now, _file.file_id, status);
    }
    _has_file = false;
    _nak_deadline = no_deadline;
    if (_state == receiver_state::receiving) {
        _state = receiver_state::between_files;
    }
    touch(now);
}

bool receiver_engine::check_complete(time_ns now) {
    if (!_has_file || _state != receiver_state::receiving || _file.closing) {
        return false;
    }
    _file.complete_checked_at = now;
    // Complete before any DONE asked (its last block or rebuild came in):
    // flush and answer COMPLETE now, so the sender has it when its pass
    // ends instead of a DONE round trip later. Stock servers take a
    // COMPLETE for the current file at any time; one that asks again with
    // a DONE gets it again (_answered).
    return _dataplane.complete(_file.file_id) && try_finish_file(now);
}

void receiver_engine::nak_timer(time_ns now) {
    ++_stats.nak_timer_fired;
    if (!_has_file || _state != receiver_state::receiving || write_failed(now)) {
        return;
    }
    if (_file.asked && try_finish_file(now)) {
        return;
    }
    const auto& layout = _file.layout;
    std::vector<std::uint8_t> naks(protocol::nak_bitmap_bytes(layout.max_section_blocks()));
    const bool deficits = _fec_k != 0 && parity_reaches_us();
    bool sent = false;
    // On DONE with nothing found in the covered range, rescan every section.
    for (int scan = 0; scan < 2 && !sent; ++scan) {
        const std::uint32_t upto =
            scan == 0 ? std::min(_file.nak_upto, layout.sections()) : layout.sections();
        for (std::uint32_t s = 0; s < upto; ++s) {
            if (_file.section_done[s]) {
                continue;
            }
            const std::uint32_t missing = _dataplane.missing_in_section(_file.file_id, s, naks);
            if (missing == 0) {
                // Nothing to ask for. Without FEC that is final: every block
                // is in. With FEC it is not: a group whose kept parity
                // covers its gaps may fail its rebuild (decode_failed) and
                // give the parity back, and its blocks must be asked for.
                _file.section_done[s] = _fec_k == 0;
                continue;
            }
            send_status(static_cast<std::uint16_t>(s),
                        std::span<const std::uint8_t>(naks).first(
                            protocol::nak_bitmap_bytes(layout.blocks_in_section(s))),
                        deficits);
            ++_stats.status_sent;
            sent = true;
        }
        if (!_file.asked) {
            break;
        }
    }
    if (sent && deficits && _file.asked) {
        // Asked for parity in answer to a DONE: the repair pass that follows
        // carries it, if the path does (parity_reaches_us()).
        _parity_asked = true;
        _parity_in_at_ask = _dataplane.parity_in();
    }
    if (_file.asked && !sent) {
        ++_stats.done_silent;
    }
    _file.asked = false;
}

bool receiver_engine::parity_reaches_us() {
    // PARITY goes to the session's parity port (docs/protocol.md §17.3),
    // which no proxy listens on: behind one, a receiver that NAKs deficits
    // would ask for parity that never comes, pass after pass. So when two
    // DONEs in a row find that nothing arrived since our answer to the one
    // before asked for parity, the session NAKs data blocks from then on.
    // Two, not one: a single lost answer also brings a DONE with no repair
    // pass before it. Deficit bits are real missing blocks (§17.4), and that
    // many data blocks of a group rebuild it as well as parity would. Only
    // DONE-answered asks count: a pass's section-end NAKs are repaired after
    // the pass, not during it.
    if (_fec_nak_data) {
        return false;
    }
    if (!_file.asked || !_parity_asked) {
        return true;
    }
    if (_dataplane.parity_in() != _parity_in_at_ask) {
        _parity_unanswered = 0;
        return true;
    }
    if (++_parity_unanswered < 2) {
        return true;
    }
    _fec_nak_data = true;
    ++_stats.fec_fallbacks;
    return false;
}

receive_progress receiver_engine::progress() const {
    receive_progress out{.files_done = _entries_done, .bytes_done = _bytes_done};
    if (_has_file && _file.type == protocol::file_type::regular) {
        out.receiving = true;
        out.file_id = _file.file_id;
        out.name = _results[_file.result_index].name;
        out.file_bytes = _file.layout.file_size();
        out.file_received = _file.received;
        out.counted_at = _file.received_at;
    }
    return out;
}

void receiver_engine::refresh_progress(time_ns now) {
    if (!_has_file || _state != receiver_state::receiving ||
        (_file.received_at != 0 && now - _file.received_at < progress_count_interval)) {
        return;
    }
    const auto& layout = _file.layout;
    std::uint64_t received = 0;
    std::vector<std::uint8_t> naks(protocol::nak_bitmap_bytes(layout.max_section_blocks()));
    // Sections past the highest one the dataplane reported data for hold
    // nothing yet (the pass runs in order): not read. The next count has them.
    const std::uint32_t upto = std::min(_file.highest_section_seen + 1, layout.sections());
    for (std::uint32_t s = 0; s < upto; ++s) {
        const std::uint32_t first = layout.first_block(s);
        const std::uint32_t count = layout.blocks_in_section(s);
        const bool has_last = first + count == layout.blocks();
        // The last block may be short: the section's bytes end at the file's end.
        const std::uint64_t section_bytes =
            has_last ? layout.file_size() - std::uint64_t{first} * layout.block_size()
                     : std::uint64_t{count} * layout.block_size();
        if (_file.section_done[s]) {
            received += section_bytes;
            continue;
        }
        const std::uint32_t missing = _dataplane.missing_in_section(_file.file_id, s, naks);
        std::uint64_t missing_bytes = std::uint64_t{missing} * layout.block_size();
        if (has_last && missing > 0 && protocol::nak_bitmap_view(naks, count).missing(count - 1)) {
            missing_bytes -= layout.block_size() - layout.block_bytes(layout.blocks() - 1);
        }
        received += section_bytes - std::min(section_bytes, missing_bytes);
    }
    _file.received = received;
    _file.received_at = now;
}

void receiver_engine::drop_current_file(time_ns now) {
    if (_file.closing) {
        // Complete, only still flushing: the server moved on (or ended)
        // before our COMPLETE, but the file is whole. Wait for the flush and
        // keep it; a DONE for it later gets its COMPLETE (_answered).
        finish_closed_file(now, _dataplane.close_file(_file.file_id), false);
        return;
    }
    _dataplane.close_file(_file.file_id);
    discard_temp_file(_file.temp_path);
    ++_stats.temp_files_discarded;
    _results[_file.result_index].reason = "abandoned by the server";
    _has_file = false;
    _nak_deadline = no_deadline;
    if (_state == receiver_state::receiving) {
        _state = receiver_state::between_files;
    }
}

void receiver_engine::end(time_ns now, receiver_outcome outcome, std::string reason,
                          bool tell_server) {
    if (_has_file) {
        drop_current_file(now);
    }
    if (tell_server) {
        protocol::abort_msg ab{.host = 0, .message = reason.substr(0, 299)};
        send(ab);
    }
    if (_joined_group != 0) {
        _dataplane.leave_group(_joined_group);
        _joined_group = 0;
    }
    _outcome = outcome;
    _reason = std::move(reason);
    _state =
        outcome == receiver_outcome::completed || outcome == receiver_outcome::completed_unconfirmed
            ? receiver_state::finished
            : receiver_state::aborted;
    if (outcome == receiver_outcome::timed_out ||
        outcome == receiver_outcome::registration_unconfirmed ||
        outcome == receiver_outcome::completed_unconfirmed) {
        ++_stats.timeouts;
    }
    _register_resend = _register_giveup = _inactivity = _nak_deadline = no_deadline;
    _complete_resend = _complete_giveup = no_deadline;
}

void receiver_engine::abort(time_ns now, const std::string& reason) {
    if (_state == receiver_state::finished || _state == receiver_state::aborted) {
        return;
    }
    end(now, receiver_outcome::aborted_by_server, reason, _state != receiver_state::listening);
}

void receiver_engine::on_timer(time_ns now) {
    if (_register_giveup <= now) {
        end(now, receiver_outcome::registration_unconfirmed, "Registration unconfirmed", true);
        return;
    }
    if (_complete_giveup <= now) {
        end(now, receiver_outcome::completed_unconfirmed, "", false);
        return;
    }
    if (_inactivity <= now) {
        end(now, receiver_outcome::timed_out, "Transfer timed out", true);
        return;
    }
    if (_register_resend <= now) {
        send_register(now);
    }
    if (_complete_resend <= now) {
        send_session_complete(now); // no DONE_CONF yet: again
    }
    if (_complete_check <= now) {
        _complete_check = no_deadline;
        (void)check_complete(now);
    }
    if (_nak_deadline <= now) {
        _nak_deadline = no_deadline;
        nak_timer(now);
    }
}

} // namespace skycast::control::engine
