#include "control/engine/sender_engine.h"

#include "control/engine/fec_proactive.h"
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
#include <cmath>
#include <type_traits>
#include <utility>

namespace skycast::control::engine {

namespace {

// Extra copies of a per-client ABORT, one per following round.
constexpr std::uint8_t abort_repeats = 2;
// After a spaced control copy's due time, before FILESEGs may follow it.
constexpr time_ns copies_settle = 5'000'000;
// At least one ANNOUNCE, whatever the configuration says.
constexpr std::uint32_t announce_public_rounds_min = 1;
// CLIENT_KEYs held while their REGISTER has not arrived: an open group takes
// anyone, so the wait list is bounded rather than grown by whoever sends.
constexpr std::size_t pending_auth_max = 65536;
// KEYINFO entries are 52 bytes (UID + 48-byte encrypted group master).
constexpr std::size_t keyinfo_entry_bytes = 52;
// Clients one listing (4 bytes per UID: ANNOUNCE, REG_CONF, DONE_CONF...) or
// KEYINFO datagram names.
std::size_t uids_per_datagram(std::uint32_t block_size) {
    return std::max<std::size_t>(1, block_size / 4);
}
std::size_t keyinfo_per_datagram(std::uint32_t block_size) {
    return std::max<std::size_t>(1, block_size / keyinfo_entry_bytes);
}

// Data bytes of the blocks set in `words`.
std::uint64_t bytes_of(const protocol::section_layout& layout,
                       const std::vector<std::uint64_t>& words) {
    const std::uint64_t n = count_blocks(words);
    if (n == 0) {
        return 0;
    }
    const std::uint32_t last = layout.blocks() - 1;
    const bool has_last = ((words[last >> 6] >> (last & 63)) & 1) != 0;
    return (n - (has_last ? 1 : 0)) * layout.block_size() +
           (has_last ? layout.block_bytes(last) : 0);
}

std::size_t words_for(std::uint32_t blocks) {
    return (std::size_t{blocks} + 63) / 64;
}

} // namespace

const char* name(sender_phase p) {
    switch (p) {
    case sender_phase::idle:
        return "idle";
    case sender_phase::announce:
        return "announce";
    case sender_phase::fileinfo:
        return "fileinfo";
    case sender_phase::data:
        return "data";
    case sender_phase::done_wait:
        return "done_wait";
    case sender_phase::completion:
        return "completion";
    case sender_phase::finished:
        return "finished";
    }
    return "other";
}

const char* name(client_outcome o) {
    switch (o) {
    case client_outcome::active:
        return "active";
    case client_outcome::completed:
        return "completed";
    case client_outcome::lost:
        return "lost (stopped answering)";
    case client_outcome::aborted_by_client:
        return "aborted by client";
    case client_outcome::max_passes:
        return "max passes exceeded";
    case client_outcome::excessive_naks:
        return "excessive NAKs";
    case client_outcome::aborted_by_sender:
        return "session aborted";
    case client_outcome::key_exchange_failed:
        return "key exchange failed";
    case client_outcome::never_registered:
        return "never registered";
    case client_outcome::count:
        break;
    }
    return "unknown";
}

double grtt_fall_floor(std::uint8_t robust) {
    // A receiver times out ROBUST times the GRTT of our latest header after
    // it last heard from us (min 1 s; stock uftpd aborts "Transfer timed
    // out"). A round timed under the old GRTT can keep it waiting up to 3
    // old GRTTs (an open group's announce round, a rewind). After a fall,
    // ROBUST times the new GRTT must still cover that twice: at the default
    // ROBUST of 20 a round leaves at least 0.3 of the GRTT. A ROBUST of 6 or
    // less leaves room for no fall at all, and sets a group up to give up
    // fast anyway: the GRTT falls as measured.
    constexpr double longest_wait_grtts = 3.0;
    const double floor = 2 * longest_wait_grtts / std::max<double>(robust, 1);
    return floor < 1.0 ? floor : 0.0;
}

namespace {

// An entry's blocks and sections (a directory, link or delete has none).
protocol::result<protocol::section_layout> layout_of(const file_entry& f,
                                                     std::uint16_t block_size) {
    return protocol::section_layout::make(f.type == protocol::file_type::regular ? f.size : 0,
                                          block_size);
}

// Whether the entry gets a FILEINFO: a file too large for UFTP's counters
// is skipped.
bool sendable(const file_entry& f, std::uint16_t block_size) {
    return layout_of(f, block_size).ok();
}

} // namespace

sender_engine::sender_engine(sender_config config, std::vector<file_entry> files,
                             network_port& network, sender_dataplane_port& dataplane,
                             sequence_counter& seq)
    : _config(std::move(config)), _files(std::move(files)), _network(network),
      _dataplane(dataplane), _seq(seq),
      _grtt(_config.grtt_init, _config.grtt_min, _config.grtt_max, grtt_fall_floor(_config.robust)),
      _overload(_config.rate_bps) {
    // Sorted and unique: REGISTERs look themselves up by binary search, not a
    // scan of the list (100,000 hosts is a valid closed group).
    std::sort(_config.host_list.begin(), _config.host_list.end());
    _config.host_list.erase(std::unique(_config.host_list.begin(), _config.host_list.end()),
                            _config.host_list.end());
    _clients.reserve(_config.host_list.size());
    std::uint64_t entries = 0;
    for (const auto& f : _files) {
        if (!sendable(f, _config.block_size)) {
            continue; // begin_file skips it: no file ID
        }
        ++entries;
        if (f.type == protocol::file_type::regular) {
            _bytes_total += f.size;
        }
    }
    // File IDs count 1, 2, ... (begin_file); past 0xFFFF they wrap, and
    // "the last" would name an earlier file too.
    if (entries >= 1 && entries <= 0xFFFF) {
        _last_file_id = static_cast<std::uint16_t>(entries);
    }
}

protocol::uftp_header sender_engine::header() {
    return {.seq = _seq.next(),
            .src_id = _config.sender_id,
            .group_id = _config.group_id,
            .group_inst = _config.group_inst,
            .grtt = protocol::quantize_grtt(_grtt.grtt()),
            .gsize = protocol::quantize_group_size(_active)};
}

void sender_engine::send(endpoint to, const protocol::message& body, bool plaintext) {
    const auto type = protocol::type_of(body);
    const bool never_sealed = type == protocol::message_type::announce ||
                              type == protocol::message_type::reg_conf ||
                              type == protocol::message_type::keyinfo;
    if (_crypto && _crypto->cipher && !never_sealed && !plaintext) {
        const auto sealed = crypto::seal_message(*_crypto->cipher, header(), body, _seq.next_iv(),
                                                 _scratch, _buffer);
        if (sealed) {
            _network.send_copies(to, std::span(_buffer).first(*sealed), _config.control_copies,
                                 copy_spacing_now());
        }
        return;
    }
    const auto size = protocol::encode(header(), body, _buffer);
    if (!size.ok()) {
        return;
    }
    const auto* a = std::get_if<protocol::announce_msg>(&body);
    if (a != nullptr && a->enc_info && !a->enc_info->signature.empty() && _crypto) {
        // ECDH modes: the whole datagram, client list included, is signed
        // with the signature field zeroed (spec §5.6).
        if (crypto::sign_datagram(*_config.encryption.key, _crypto->suite.hash.type,
                                  std::span(_buffer).first(*size),
                                  protocol::announce_signature_offset(*a),
                                  a->enc_info->signature.size()) != crypto::crypto_error::ok) {
            return;
        }
    }
    _network.send_copies(to, std::span(_buffer).first(*size), _config.control_copies,
                         copy_spacing_now());
}

time_ns sender_engine::copy_spacing_now() const {
    // FILESEGs draw sequence numbers too: a copy that left during a pass
    // would be more than 5 datagrams behind and refused, so copies go back
    // to back while one runs.
    return _phase == sender_phase::data ? 0 : copy_spacing(_config.copy_spacing, _grtt.grtt());
}

time_ns sender_engine::copies_out_after() const {
    const time_ns spacing = copy_spacing_now();
    // A little after the last copy is due: the node sends held copies in
    // the same loop round as it runs our timer, copies first.
    return spacing == 0 || _config.control_copies < 2
               ? 0
               : copy_delay(_config.control_copies - 1, _config.control_copies, spacing) +
                     copies_settle;
}

template <class Msg>
void sender_engine::send_listing(endpoint to, Msg body, const std::vector<std::uint32_t>& ids) {
    // Sealed, the listing must leave room for ENCRYPTED's prefix,
    // signature and tag or padding within the same datagram size.
    std::size_t overhead = 0;
    if constexpr (std::is_same_v<Msg, protocol::announce_msg>) {
        // ANNOUNCE is never sealed, but EXT_ENC_INFO takes its share.
        if (body.enc_info) {
            const auto& e = *body.enc_info;
            overhead = 44 + e.key_blob.size() + e.dh_blob.size() + e.signature.size();
        }
    } else if (_crypto && _crypto->cipher) {
        overhead = _crypto->cipher->sealed_size(0) + 16;
    }
    const std::size_t per = uids_per_datagram(static_cast<std::uint32_t>(
        _config.block_size - std::min<std::size_t>(overhead, _config.block_size)));
    for (std::size_t i = 0; i < ids.size(); i += per) {
        body.client_ids.assign(ids.begin() + static_cast<std::ptrdiff_t>(i),
                               ids.begin() +
                                   static_cast<std::ptrdiff_t>(std::min(ids.size(), i + per)));
        send(to, body);
    }
}
// What sender_proxies.cc lists (its confirmations of a proxy's clients).
template void sender_engine::send_listing(endpoint, protocol::reg_conf_msg,
                                          const std::vector<std::uint32_t>&);
template void sender_engine::send_listing(endpoint, protocol::done_conf_msg,
                                          const std::vector<std::uint32_t>&);

time_ns sender_engine::next_deadline() const {
    if (_phase == sender_phase::finished || _phase == sender_phase::idle) {
        return no_deadline;
    }
    const time_ns raise =
        _phase == sender_phase::data ? _overload.next_raise(rate_raise_after()) : no_deadline;
    return std::min({_round_deadline, _rewind_deadline, _finish_deadline, _early_data_deadline,
                     _copies_out_deadline, _confirm_deadline, raise});
}

time_ns sender_engine::rate_raise_after() const {
    // What a raise costs is known one round trip later: its frames reach the
    // receivers half an RTT after they leave, and a report of the drops they
    // cause comes back in the other half, once the receiver has noticed them
    // (overload_rate::detection_delay). So one GRTT (>= any receiver's RTT)
    // plus that delay; at least 50 ms, so a LAN climbs 10 % per 50 ms. At
    // GEO that is a step per 0.53 s: a cut to 85 % is made good in about a
    // second.
    return std::max(seconds_to_ns(_grtt.grtt()) + overload_rate::detection_delay,
                    time_ns{50'000'000});
}

bool sender_engine::overload_signal(const protocol::status_msg& m) const {
    // Nobody else sends a STATUS without NAKs: stock and Skycast receivers
    // alike report only sections with missing blocks (spec §3.3), and
    // answer a DONE with COMPLETE when nothing is missing.
    if (m.section >= _layout.sections()) {
        return false;
    }
    const protocol::nak_bitmap_view view(m.naks, _layout.blocks_in_section(m.section));
    return view.complete() && view.next_missing(0) == view.blocks();
}

void sender_engine::on_overload(time_ns now) {
    ++_stats.overload_signals;
    // One that arrives after the pass ended (in flight at its end) has
    // nothing left to slow down; the next overload will tell.
    if (_phase == sender_phase::data &&
        _overload.on_overload(now, _dataplane.pass_bytes_sent(), _grtt.grtt())) {
        ++_stats.rate_decreases;
        _stats.rate_bps = _overload.rate_bps();
        _dataplane.set_pass_rate(pass_rate());
    }
}

std::uint64_t sender_engine::pass_rate() const {
    if (_repair_rate_cap == 0) {
        return _overload.rate_bps(); // 0: the node's rate, as the dataplane reads it
    }
    const std::uint64_t current = _overload.current_or_configured();
    return current == 0 ? _repair_rate_cap : std::min(current, _repair_rate_cap);
}

std::uint64_t sender_engine::repair_rate_cap(std::uint64_t blocks,
                                             const std::vector<parity_run>& parity) {
    // A repair pass sends each group as many parity blocks as its worst
    // receiver misses plus the margin (at least one more), each group's
    // spread over the pass (dataplane/core/parity_ahead.h). Sent at line rate,
    // a late repair pass lasts a few milliseconds, and one fade takes every
    // copy of a group's parity at a receiver: another pass, a round trip
    // more. Paced to last two copy spacings (the fade the link is assumed to
    // have, control.copy_spacing, at most GRTT/4), a group's first and
    // second parity blocks leave at least a spacing apart.
    if (_pass < 2 || parity.empty()) {
        return 0;
    }
    const time_ns spread = 2 * copy_spacing(_config.copy_spacing, _grtt.grtt());
    if (spread == 0) {
        return 0;
    }
    std::uint64_t count = blocks;
    for (const auto& run : parity) {
        count += run.count;
    }
    // Every layer's headers, rounded up: the pacing target need not be exact.
    const std::uint64_t frame_bytes = std::uint64_t{_layout.block_size()} + 128;
    const double bps =
        static_cast<double>(count * frame_bytes) * 8 * 1e9 / static_cast<double>(spread);
    const auto cap = std::max(static_cast<std::uint64_t>(bps), overload_rate::floor_bps);
    const std::uint64_t current = _overload.current_or_configured();
    if (current != 0 && cap >= current) {
        return 0; // it lasts that long at the rate it has
    }
    ++_stats.repair_passes_stretched;
    return cap;
}

void sender_engine::enter(sender_phase p, time_ns now) {
    if (p == _phase) {
        return;
    }
    if (_phase != sender_phase::idle) {
        _phase_times.spent[static_cast<std::size_t>(_phase)] += now - std::min(now, _phase_since);
    }
    ++_phase_times.entered[static_cast<std::size_t>(p)];
    _phase = p;
    _phase_since = now;
}

phase_times sender_engine::time_in_phases(time_ns now) const {
    phase_times t = _phase_times;
    if (_phase != sender_phase::idle && _phase != sender_phase::finished) {
        t.spent[static_cast<std::size_t>(_phase)] += now - std::min(now, _phase_since);
    }
    return t;
}

void sender_engine::start(time_ns now) {
    if (_phase != sender_phase::idle) {
        return;
    }
    if (_config.fec.enabled()) {
        const char* refused = nullptr;
        if (_config.fec.group_blocks < 2 ||
            _config.fec.group_blocks >= protocol::parity_last_index) {
            refused = "FEC group size must be 2..253 data blocks";
        } else if (!(_config.fec.proactive >= 0 && _config.fec.proactive <= 1)) {
            refused = "FEC proactive fraction must be 0..1";
        } else if (!(_config.fec.expected_loss >= 0 && _config.fec.expected_loss <= 0.5)) {
            refused = "FEC expected loss must be 0..0.5";
        }
        if (refused != nullptr) {
            enter(sender_phase::announce, now);
            finish(now, refused);
            return;
        }
    }
    if (_config.encryption.enabled()) {
        if (const auto e = setup_crypto(now); e != crypto::crypto_error::ok) {
            enter(sender_phase::announce, now);
            finish(now, "encryption setup failed: " + std::string(crypto::describe(e)));
            return;
        }
    }
    enter(sender_phase::announce, now);
    _rounds = 0;
    announce_round(now);
    if (fast_start_applies()) {
        begin_fast_start(now);
    }
}

bool sender_engine::fast_start_applies() const {
    return _config.fast_start && !_config.host_list.empty() && !_crypto && _config.proxies.empty();
}

void sender_engine::begin_fast_start(time_ns now) {
    for (const std::uint32_t uid : _config.host_list) {
        const std::uint32_t handle = _clients.add(uid);
        _clients[handle].unregistered = true;
        ++_active;
        ++_stats.fast_start_hosts;
    }
    // The FILEINFO after the ANNOUNCE's first two copies (the second 10 ms
    // after the first), so that a host that lost the first still takes it
    // as its confirmation; the pass early_data_after the FILEINFO's last copy.
    _round_deadline = no_deadline;
    _finish_deadline = now + _config.early_data_after;
}

crypto::crypto_error sender_engine::setup_crypto(time_ns now) {
    const auto& e = _config.encryption;
    auto suite = sender_suite(e);
    if (!suite) {
        return suite.error();
    }
    auto c = std::make_unique<sender_crypto>();
    c->suite = *suite;
    // KEYEX signs every datagram with the client's key too: it needs CLIENT_KEY (spec §2.1.1).
    c->client_auth = e.client_auth || c->suite.sigtype == protocol::signature_type::keyex;
    if (const auto r =
            crypto::make_hello_random(static_cast<std::uint32_t>(now / ns_per_second), c->rand1);
        r != crypto::crypto_error::ok) {
        return r;
    }
    if (e.keyex != protocol::keyexchange_type::rsa) {
        const auto* curve =
            e.ecdh_curve != nullptr ? e.ecdh_curve : crypto::curve_by_id(crypto::default_curve_id);
        if (curve == nullptr) {
            return crypto::crypto_error::unsupported_curve;
        }
        auto eph = crypto::make_ecdh_key(*curve);
        if (!eph) {
            return eph.error();
        }
        c->ecdh.emplace(std::move(eph).value());
    }
    auto gm = crypto::make_group_master();
    if (!gm) {
        return gm.error();
    }
    c->group_master = std::move(gm).value();
    auto group = crypto::derive_group_key_block(c->suite, c->group_master.span(), c->rand1);
    if (!group) {
        return group.error();
    }
    const bool keyex = c->suite.sigtype == protocol::signature_type::keyex;
    auto pc = crypto::packet_cipher::create(c->suite, *group, keyex ? e.key.get() : nullptr);
    if (!pc) {
        return pc.error();
    }
    c->cipher.emplace(std::move(pc).value());
    auto dp_keys = group->clone();
    if (!dp_keys) {
        return dp_keys.error();
    }
    c->keys = std::make_shared<session_keys>(session_keys{.suite = c->suite,
                                                          .group_keys = std::move(dp_keys).value(),
                                                          .signer = keyex ? e.key : nullptr,
                                                          .sender_key = std::nullopt});
    // Verify data 1 (spec §5.7): group ID, IPv4 private address, rand1,
    // rand2 and the premaster (48 bytes RSA, 20 ECDH).
    const std::size_t vd1_bytes =
        4 + 4 + 2 * crypto::hello_random_len +
        (e.keyex == protocol::keyexchange_type::rsa ? crypto::rsa_premaster_len
                                                    : crypto::ecdh_premaster_len);
    c->store.init(crypto::key_block_size(c->suite), c->client_auth ? vd1_bytes : 0);
    auto& info = c->enc_info;
    info.flags = c->client_auth ? protocol::flags::enc_info_client_auth : 0;
    info.keyextype = e.keyex;
    info.sigtype = c->suite.sigtype;
    info.keytype = c->suite.cipher.type;
    info.hashtype = c->suite.hash.type;
    info.rand1 = c->rand1;
    info.key_blob = e.key->blob();
    if (c->ecdh) {
        info.dh_blob = c->ecdh->blob();
        info.signature.assign(e.key->signature_size(), 0);
    }
    _crypto = std::move(c);
    return crypto::crypto_error::ok;
}

void sender_engine::on_timer(time_ns now) {
    if (_phase == sender_phase::finished || _phase == sender_phase::idle) {
        return;
    }
    if (_phase == sender_phase::data &&
        _overload.on_quiet(now, _dataplane.pass_bytes_sent(), rate_raise_after())) {
        ++_stats.rate_increases;
        _stats.rate_bps = _overload.rate_bps();
        _dataplane.set_pass_rate(pass_rate());
    }
    if (_confirm_deadline <= now) {
        send_confirmations(); // and on: another deadline may be due too
    }
    if (_early_data_deadline <= now) {
        _early_data_deadline = no_deadline;
        if (_phase == sender_phase::fileinfo) {
            start_early_pass(now);
        }
        return;
    }
    if (_copies_out_deadline <= now) {
        _copies_out_deadline = no_deadline;
        if (_phase == sender_phase::fileinfo) {
            fileinfo_round(now);
        } else if (_phase == sender_phase::completion) {
            completion_round(now);
        }
        return;
    }
    if (_finish_deadline <= now) {
        _finish_deadline = no_deadline;
        if (_phase == sender_phase::announce) {
            end_announce(now);
        } else if (_phase == sender_phase::completion) {
            finish(now, "");
        }
        return;
    }
    if (_rewind_deadline <= now) {
        _rewind_deadline = no_deadline;
        rewind(now);
        return;
    }
    if (_round_deadline <= now) {
        _round_deadline = no_deadline;
        end_grtt_round();
        resend_aborts();
        switch (_phase) {
        case sender_phase::announce:
            announce_round(now);
            break;
        case sender_phase::fileinfo:
        case sender_phase::data: // early data: FILEINFO answers still out
            fileinfo_round(now);
            break;
        case sender_phase::done_wait:
            done_round(now);
            break;
        case sender_phase::completion:
            completion_round(now);
            break;
        default:
            break;
        }
    }
}

// --- Announce / register ----------------------------------------------------

void sender_engine::announce_round(time_ns now) {
    const bool closed = !_config.host_list.empty();
    const std::uint32_t limit =
        closed ? _config.robust : std::max(announce_public_rounds_min, _config.announce_rounds);
    if (_rounds >= limit) {
        // Clients that registered late still get their KEYINFO repeated for
        // up to ROBUST more rounds before the phase ends without them.
        if (_crypto && _key_rounds < _config.robust && resend_keyinfo() > 0) {
            ++_key_rounds;
            _round_deadline = now + seconds_to_ns(_config.resend_round_grtts * _grtt.grtt());
            return;
        }
        end_announce(now);
        return;
    }
    ++_rounds;
    ++_stats.announce_rounds;
    if (_crypto) {
        resend_keyinfo();
    }
    if (closed) {
        // Resends list only the hosts that have not registered (spec §2.1).
        std::vector<std::uint32_t> missing;
        for (auto uid : _config.host_list) {
            if (_clients.find(uid) == client_table::npos) {
                missing.push_back(uid);
            }
        }
        // Proxies are called out too, as stock does with `-j`.
        for (const auto& p : _config.proxies) {
            if (_clients.find(p.uid) == client_table::npos) {
                missing.push_back(p.uid);
            }
        }
        send_announce(now, missing);
    } else {
        send_announce(now, {});
    }
    // An open group's rounds are its whole announce phase, the time anyone
    // has to join (clients resend REGISTER on their own 4·GRTT timer): stock's
    // 3·GRTT each. A closed group's are resends to the hosts not heard yet.
    _round_deadline =
        now + seconds_to_ns((closed ? _config.resend_round_grtts : 3.0) * _grtt.grtt());
}

void sender_engine::send_announce(time_ns now, const std::vector<std::uint32_t>& listed) {
    protocol::announce_msg a{.robust = _config.robust,
                             .block_size = _config.block_size,
                             .tstamp = to_wire_time(now),
                             .takes_overload_reports = true, // overload_rate.h
                             .nak_lists_from = _config.own_address != 0
                                                   ? std::optional(_config.own_address)
                                                   : std::nullopt};
    // Taken up only by a receiver that can tell the ANNOUNCE came straight
    // from us, by the address nak_lists_from names (docs/protocol.md §22).
    if (a.nak_lists_from) {
        a.last_file_id = _last_file_id;
    }
    if (_crypto) {
        a.enc_info = _crypto->enc_info;
    }
    if (_config.fec.enabled()) {
        const auto span = static_cast<std::uint16_t>(_config.fec.span_groups(_config.block_size));
        // Version 1 when the groups are not interleaved: what an older
        // Skycast receiver takes too.
        a.fec_info = protocol::fec_info_ext{.version = static_cast<std::uint8_t>(span > 1 ? 2 : 1),
                                            .group_blocks =
                                                static_cast<std::uint8_t>(_config.fec.group_blocks),
                                            .parity_port = parity_port(),
                                            .span_groups = span};
    }
    a.public_addr = protocol::ip_address::from_ipv4(_config.public_group.address);
    a.private_addr = protocol::ip_address::from_ipv4(_config.private_group.address);
    if (!_config.host_list.empty()) {
        send_listing(_config.public_group, a, listed);
    } else {
        send(_config.public_group, a);
    }
}

bool sender_engine::may_join(std::uint32_t uid) const {
    // Sorted in the constructor: a binary search, not a scan of 100,000 hosts.
    return _config.host_list.empty() ||
           std::binary_search(_config.host_list.begin(), _config.host_list.end(), uid);
}

void sender_engine::handle_register(time_ns now, const protocol::uftp_header& h, endpoint from,
                                    const protocol::register_msg& m) {
    const std::uint32_t uid = h.src_id;
    if (!m.client_ids.empty() || listed_proxy(uid) != nullptr) {
        handle_proxy_register(now, h, from, m);
        return;
    }
    if (!may_join(uid)) {
        ++_stats.not_in_host_list;
        protocol::abort_msg ab{.host = uid, .message = "Not in host list"};
        send(from, ab, true);
        return;
    }
    std::uint32_t handle = _clients.find(uid);
    if (handle != client_table::npos && _clients[handle].unregistered) {
        // Fast start: taken in with the ANNOUNCE. Its FILEINFO (sent, or due
        // within early_data_after) confirms it as a REG_CONF would; a lost
        // one is resent by the FILEINFO rounds.
        _clients[handle].unregistered = false;
        ++_stats.registers;
        sample_rtt(now, handle, m.tstamp);
        return;
    }
    bool fresh = false;
    if (handle == client_table::npos) {
        if (_phase != sender_phase::announce) {
            ++_stats.late_registers;
            return;
        }
        handle = _clients.add(uid);
        fresh = true;
        ++_active;
        ++_stats.registers;
        if (_crypto && !register_keys(handle, m)) {
            // Unusable key info (an ECDH key on another curve, a malformed
            // blob): this client cannot take part (spec §5.2).
            ++_stats.key_info_bad;
            remove_client(now, handle, client_outcome::key_exchange_failed, nullptr);
            protocol::abort_msg ab{.host = uid, .message = "Invalid key info in REGISTER"};
            send(from, ab, true);
            return;
        }
    } else {
        ++_stats.duplicate_registers;
        if (_clients[handle].outcome != client_outcome::active ||
            _clients[handle].via != client_entry::direct) {
            return; // a client of a proxy registers through it
        }
    }
    sample_rtt(now, handle, m.tstamp);
    if (_crypto) {
        // REG_CONF is for unencrypted sessions (and proxies): the key
        // exchange answers REGISTER with KEYINFO (spec §1.4).
        client_entry& c = _clients[handle];
        if (c.keys == key_state::awaiting_client_key) {
            finish_client_auth(now, handle); // CLIENT_KEY may already be here
        } else {
            confirm_soon(now, handle); // first time, or our KEYINFO was lost
        }
        return;
    }
    confirm_soon(now, handle);
    if (fresh) {
        client_joined(now);
    }
}

void sender_engine::confirm_soon(time_ns now, std::uint32_t handle) {
    _confirm_due.push_back(handle);
    const std::size_t per_datagram =
        _crypto ? keyinfo_per_datagram(_config.block_size) : uids_per_datagram(_config.block_size);
    if (_confirm_due.size() >= per_datagram) {
        send_confirmations();
    } else if (_confirm_deadline == no_deadline) {
        _confirm_deadline = now + std::min(confirm_gather_max, seconds_to_ns(_grtt.grtt() / 4));
    }
}

void sender_engine::send_confirmations() {
    _confirm_deadline = no_deadline;
    if (_confirm_due.empty()) {
        return;
    }
    std::sort(_confirm_due.begin(), _confirm_due.end());
    _confirm_due.erase(std::unique(_confirm_due.begin(), _confirm_due.end()), _confirm_due.end());
    // A client dropped meanwhile (a bad CLIENT_KEY, an ABORT) is not confirmed.
    std::erase_if(_confirm_due,
                  [&](std::uint32_t h) { return _clients[h].outcome != client_outcome::active; });
    if (_crypto) {
        send_keyinfo(_confirm_due);
    } else {
        std::vector<std::uint32_t> uids;
        uids.reserve(_confirm_due.size());
        for (const std::uint32_t h : _confirm_due) {
            uids.push_back(_clients[h].uid);
        }
        send_listing(_config.private_group, protocol::reg_conf_msg{}, uids);
    }
    _confirm_due.clear();
}

// --- Key exchange (spec §5) ------------------------------------------------------

bool sender_engine::register_keys(std::uint32_t handle, const protocol::register_msg& m) {
    sender_crypto& c = *_crypto;
    const auto private_addr = protocol::ip_address::from_ipv4(_config.private_group.address);
    // Verify data 1 carries the private multicast address's four bytes (spec §5.7).
    auto secrets = accept_client_handshake(
        {.suite = &c.suite,
         .rsa_key = c.ecdh ? nullptr : _config.encryption.key.get(),
         .ecdh_key = c.ecdh ? &*c.ecdh : nullptr,
         .key_info = m.key_info,
         .rand1 = &c.rand1,
         .rand2 = m.rand2,
         .group_id = _config.group_id,
         .private_addr = std::span<const std::uint8_t>(private_addr.bytes.data(), 4)});
    const auto slot = c.store.key_block(handle);
    if (!secrets || slot.empty()) {
        return false;
    }
    const auto block = secrets->block.bytes();
    const auto& vd1 = secrets->vd1;
    std::copy(block.begin(), block.end(), slot.begin());
    client_entry& e = _clients[handle];
    if (!c.client_auth) {
        if (!expect_ack(handle, vd1.span(), {})) {
            return false;
        }
        e.keys = key_state::keyinfo_sent; // sent by the caller
        return true;
    }
    // Client authentication: CLIENT_KEY signs verify data 1; keep it until
    // that message is in (it may have come first).
    const auto vd1_slot = c.store.vd1(handle);
    if (vd1_slot.size() != vd1.size()) {
        return false;
    }
    std::copy(vd1.span().begin(), vd1.span().end(), vd1_slot.begin());
    e.keys = key_state::awaiting_client_key;
    return true;
}

bool sender_engine::expect_ack(std::uint32_t handle, std::span<const std::uint8_t> vd1,
                               std::span<const std::uint8_t> client_blob) {
    sender_crypto& c = *_crypto;
    const auto expected =
        crypto::keyinfo_ack_verify_data(c.suite.hash.type, vd1, client_blob, c.group_master.span());
    const auto slot = c.store.ack_verify(handle);
    if (!expected || slot.empty()) {
        return false;
    }
    std::copy(expected->begin(), expected->end(), slot.begin());
    return true;
}

void sender_engine::handle_client_key(time_ns now, const protocol::uftp_header& h, endpoint from,
                                      const protocol::client_key_msg& m) {
    ++_stats.client_keys_in;
    sender_crypto& c = *_crypto;
    const std::uint32_t uid = h.src_id;
    if (!c.client_auth) {
        ++_stats.unexpected_in;
        return;
    }
    const host_key* proxy = listed_proxy(uid);
    if (proxy == nullptr && !may_join(uid)) {
        ++_stats.not_in_host_list;
        return; // its REGISTER gets the ABORT
    }
    const std::uint32_t handle = _clients.find(uid);
    if (handle != client_table::npos && _clients[handle].keys != key_state::awaiting_client_key) {
        return; // a repeat: the key was checked already
    }
    if (handle == client_table::npos && _phase != sender_phase::announce) {
        ++_stats.late_registers;
        return;
    }
    const char* refused = nullptr;
    auto key = crypto::public_key::from_blob(m.key_blob);
    const auto want = _config.encryption.keyex == protocol::keyexchange_type::ecdh_ecdsa
                          ? crypto::key_kind::ec
                          : crypto::key_kind::rsa;
    if (!key || key->kind() != want) {
        refused = "Invalid client key";
    } else if (proxy != nullptr) {
        if (proxy->pinned && !crypto::constant_time_equal(proxy->fp, key->key_fingerprint())) {
            refused = "Proxy key fingerprint mismatch";
        }
    } else if (!_config.client_keys.empty()) {
        // Fingerprints configured: the client's key must be the listed one (spec §5.9).
        const auto it = std::find_if(_config.client_keys.begin(), _config.client_keys.end(),
                                     [&](const host_key& k) { return k.uid == uid; });
        if (it == _config.client_keys.end() ||
            !crypto::constant_time_equal(it->fp, key->key_fingerprint())) {
            refused = "Client key fingerprint mismatch";
        }
    }
    if (refused != nullptr) {
        ++_stats.client_key_refused;
        c.pending.erase(uid);
        if (handle != client_table::npos) {
            remove_client(now, handle, client_outcome::key_exchange_failed, nullptr);
        }
        protocol::abort_msg ab{.host = uid, .message = refused};
        send(from, ab, true);
        return;
    }
    auto it = c.pending.find(uid);
    if (it == c.pending.end()) {
        if (c.pending.size() >= pending_auth_max) {
            ++_stats.pending_auth_full;
            return;
        }
        it = c.pending.emplace(uid, sender_crypto::pending_auth{}).first;
    }
    it->second.key.emplace(std::move(key).value());
    it->second.signature = m.verify;
    if (handle != client_table::npos) {
        finish_client_auth(now, handle);
    }
}

void sender_engine::finish_client_auth(time_ns now, std::uint32_t handle) {
    sender_crypto& c = *_crypto;
    const std::uint32_t uid = _clients[handle].uid;
    const auto it = c.pending.find(uid);
    if (it == c.pending.end() || !it->second.key ||
        _clients[handle].keys != key_state::awaiting_client_key) {
        return; // still waiting for the other half
    }
    auto& p = it->second;
    const auto vd1 = c.store.vd1(handle);
    const std::span<const std::uint8_t> parts[] = {vd1};
    const bool good =
        crypto::verify(*p.key, c.suite.hash.type, parts, p.signature) == crypto::crypto_error::ok &&
        expect_ack(handle, vd1, p.key->blob());
    // Verify data 1 holds the premaster: not kept past this check.
    crypto::secure_zero(vd1);
    if (!good) {
        ++_stats.client_key_refused;
        c.pending.erase(it);
        remove_client(now, handle, client_outcome::key_exchange_failed, nullptr);
        protocol::abort_msg ab{.host = uid, .message = "Invalid signature in CLIENT_KEY"};
        send(_config.private_group, ab, true);
        return;
    }
    if (c.suite.sigtype == protocol::signature_type::keyex) {
        c.client_keys.insert_or_assign(uid, std::move(*p.key));
    }
    c.pending.erase(it);
    _clients[handle].keys = key_state::keyinfo_sent;
    if (_clients[handle].is_proxy) {
        // Now: the proxy's REG_CONF listing of its clients follows at once,
        // and a stock proxy must hold the group keys by then.
        send_keyinfo({handle});
    } else {
        confirm_soon(now, handle);
    }
}

void sender_engine::send_keyinfo(const std::vector<std::uint32_t>& handles) {
    sender_crypto& c = *_crypto;
    const std::size_t per = keyinfo_per_datagram(_config.block_size);
    for (std::size_t i = 0; i < handles.size(); i += per) {
        // One IV counter per KEYINFO datagram, shared with everything sealed (spec §2.5).
        protocol::keyinfo_msg k{.iv_ctr = _seq.next_iv()};
        for (std::size_t j = i; j < std::min(handles.size(), i + per); ++j) {
            const std::uint32_t handle = handles[j];
            auto entry = keyinfo_entry_for(c.suite, _clients[handle].uid, c.store.key_block(handle),
                                           _config.sender_id, k.iv_ctr, c.group_master.span());
            if (entry) {
                k.entries.push_back(*entry);
            }
        }
        if (!k.entries.empty()) {
            ++_stats.keyinfo_sent;
            send(_config.private_group, k);
        }
    }
}

std::uint32_t sender_engine::resend_keyinfo() {
    std::vector<std::uint32_t> due;
    for (std::uint32_t h = 0; h < _clients.size(); ++h) {
        const client_entry& c = _clients[h];
        if (c.outcome == client_outcome::active && c.keys == key_state::keyinfo_sent) {
            due.push_back(h);
        }
    }
    send_keyinfo(due);
    return static_cast<std::uint32_t>(due.size());
}

void sender_engine::handle_keyinfo_ack(time_ns now, std::uint32_t handle,
                                       const protocol::keyinfo_ack_msg& m) {
    client_entry& c = _clients[handle];
    c.heard = true;
    if (c.keys != key_state::keyinfo_sent) {
        return; // a repeat (our KEYINFO was repeated), or out of turn
    }
    const auto expected = _crypto->store.ack_verify(handle);
    if (expected.empty() || !crypto::constant_time_equal(expected, m.verify_data)) {
        ++_stats.keyinfo_ack_bad;
        return;
    }
    ++_stats.keyinfo_acks;
    c.keys = key_state::acked;
    if (c.is_proxy) {
        proxy_keyed(now, handle);
    } else {
        client_joined(now);
    }
}

void sender_engine::client_joined(time_ns now) {
    ++_joined;
    const bool closed = !_config.host_list.empty();
    if (closed && _phase == sender_phase::announce && !_announce_closing &&
        _joined == _config.host_list.size()) {
        // Everyone listed answered. Stock waits one more GRTT for late
        // registrations (spec §4.3), but a closed group has no one left to
        // come: go now. A REG_CONF still in flight arrives before the
        // FILEINFO sent after it, and a client whose REG_CONF is lost takes
        // the FILEINFO as confirmation (stock uftpd does the same).
        _announce_closing = true;
        _round_deadline = no_deadline;
        end_grtt_round();
        _finish_deadline = now;
    }
}

void sender_engine::end_announce(time_ns now) {
    _round_deadline = no_deadline;
    _finish_deadline = no_deadline;
    send_confirmations(); // ahead of the FILEINFO
    if (_crypto) {
        // Registered but never proved it holds the group keys: it could not
        // open a thing we send. Dropped, like a client that stopped answering.
        for (std::uint32_t h = 0; h < _clients.size(); ++h) {
            if (_clients[h].outcome == client_outcome::active &&
                _clients[h].keys != key_state::acked) {
                remove_client(now, h, client_outcome::lost, nullptr);
            }
        }
        _crypto->pending.clear();
    }
    if (_active == 0) {
        finish(now, "no client answered ANNOUNCE");
        return;
    }
    _file_index = 0;
    begin_file(now);
}

void sender_engine::sample_rtt(time_ns now, std::uint32_t handle, protocol::timestamp echoed) {
    const time_ns echoed_ns = from_wire_time(echoed);
    if (echoed_ns == 0 || echoed_ns > now) {
        return; // no timestamp, or one from the future: not a measurement
    }
    if (handle >= _echo_sampled.size()) {
        _echo_sampled.resize(std::size_t{handle} + 1, 0);
    }
    if (_echo_sampled[handle] == echoed_ns) {
        ++_stats.rtt_echo_repeats;
        return; // a later answer to the same datagram (ours or its copy)
    }
    _echo_sampled[handle] = echoed_ns;
    const double rtt = static_cast<double>(now - echoed_ns) / 1e9;
    _clients[handle].rtt = static_cast<float>(rtt);
    _grtt.sample(rtt, handle);
}

void sender_engine::end_grtt_round() {
    bool everyone = _active > 0;
    for (std::uint32_t h = 0; everyone && h < _clients.size(); ++h) {
        everyone = _clients[h].outcome != client_outcome::active || _clients[h].is_proxy ||
                   _grtt.sampled(h);
    }
    _grtt.end_round(everyone);
}

// --- Per file ----------------------------------------------------------------

void sender_engine::begin_file(time_ns now) {
    while (_file_index < _files.size()) {
        const file_entry& f = _files[_file_index];
        if (!sendable(f, _config.block_size)) {
            ++_stats.files_skipped;
            ++_file_index;
            continue;
        }
        _layout = *layout_of(f, _config.block_size);
        break;
    }
    if (_file_index >= _files.size()) {
        begin_completion(now);
        return;
    }
    // File IDs count 1, 2, ... and wrap skipping 0 (spec §2.7).
    _file_id = static_cast<std::uint16_t>(_file_id == 0xFFFF ? 1 : _file_id + 1);
    _pending_answer = 0;
    _need_data = 0;
    _pending_done = 0;
    _pass = 0;
    _early_data_deadline = no_deadline;
    _naks.assign(words_for(_layout.blocks()), 0);
    _naks_pending = false;
    if (_config.fec.enabled()) {
        _fec_groups = protocol::fec_groups(_layout, _config.fec.group_blocks,
                                           _config.fec.span_groups(_config.block_size));
        _parity_next.assign(_fec_groups.count(),
                            static_cast<std::uint8_t>(_config.fec.group_blocks));
        _parity_need.assign(_fec_groups.count(), 0);
        _fec_naks.assign(_naks.size(), 0);
    }
    for (auto& p : _clients.progress()) {
        p.nak_bytes = 0;
        p.nak_section = client_progress::no_section;
        p.pass = 0;
    }
    for (auto& c : _clients.entries()) {
        c.file_answered = false;
        c.file_needs_data = false;
        c.file_done = false;
        c.nak_excess = 0;
        c.heard = false;
        c.missed_rounds = 0;
        if (c.outcome == client_outcome::active && !c.is_proxy) {
            ++_pending_answer;
        }
    }
    enter(sender_phase::fileinfo, now);
    _rounds = 0;
    if (!wait_for_copies(now)) {
        fileinfo_round(now);
    }
}

bool sender_engine::wait_for_copies(time_ns now) {
    // A copy of the file before's FILEINFO that arrived after this file's
    // would make a stock uftpd take that file again (a symlink or a
    // directory fails as "File exists" and is reported rejected). A file
    // that needs no data ends within a round trip, which on a LAN is
    // shorter than the spacing, so the first round waits for the copies.
    if (now >= _copies_out_at) {
        return false;
    }
    ++_stats.copy_waits;
    _copies_out_deadline = _copies_out_at;
    return true;
}

template <class Due>
std::vector<std::uint32_t> sender_engine::round_roll_call(time_ns now, Due&& due) {
    std::vector<std::uint32_t> ids;
    // Collect first, drop after: remove_client() may advance the phase.
    std::vector<std::uint32_t> drop;
    for (std::uint32_t h = 0; h < _clients.size(); ++h) {
        client_entry& c = _clients[h];
        if (c.outcome != client_outcome::active || c.is_proxy || !due(c)) {
            continue;
        }
        client_progress& p = _clients.progress(h);
        if (_rounds > 0) {
            if (c.heard) {
                c.missed_rounds = 0;
            } else {
                if (c.missed_rounds == 0) {
                    p.silent_since = _last_round_at; // unanswered since the round before
                }
                c.missed_rounds = static_cast<std::uint8_t>(std::min(c.missed_rounds + 1, 255));
            }
        }
        c.heard = false;
        if (c.missed_rounds >= _config.robust && now - p.silent_since >= _config.lost_after_min) {
            drop.push_back(h);
        } else {
            ids.push_back(c.uid);
        }
    }
    _last_round_at = now;
    const sender_phase phase = _phase;
    for (auto h : drop) {
        remove_client(now, h, client_outcome::lost, nullptr);
    }
    if (_phase != phase) {
        ids.clear(); // the drops ended the phase: nothing to send in this round
    }
    return ids;
}

void sender_engine::fileinfo_round(time_ns now) {
    const sender_phase phase = _phase;
    const std::size_t file = _file_index;
    auto ids = round_roll_call(now, [](const client_entry& c) { return !c.file_answered; });
    if (_phase != phase || _file_index != file) {
        return; // the drops ended the phase, or the file (the next one's FILEINFO went out)
    }
    if (ids.empty()) {
        if (_phase == sender_phase::fileinfo) {
            after_fileinfo(now);
        }
        return;
    }
    const bool first = _rounds == 0;
    if (!first && fast_start_applies()) {
        // A host not heard from since the ANNOUNCE may have lost it (and so
        // ignores the FILEINFO): the ANNOUNCE again first, listing those.
        std::vector<std::uint32_t> unheard;
        for (const std::uint32_t uid : ids) {
            if (_clients[_clients.find(uid)].unregistered) {
                unheard.push_back(uid);
            }
        }
        if (!unheard.empty()) {
            ++_stats.fast_start_reannounces;
            send_announce(now, unheard);
        }
    }
    ++_rounds;
    send_fileinfo(now, ids);
    if (first && _phase == sender_phase::fileinfo && _layout.blocks() > 0 &&
        _config.early_data_after != no_deadline) {
        // Not before the FILEINFO's last copy has left: one sent after the
        // first FILESEGs would be behind receivers' sequence window.
        _early_data_deadline = now + std::max(_config.early_data_after, copies_out_after());
    }
}

void sender_engine::send_fileinfo(time_ns now, const std::vector<std::uint32_t>& ids) {
    ++_stats.fileinfo_rounds;
    const file_entry& f = _files[_file_index];
    protocol::fileinfo_msg fi{.file_id = _file_id,
                              .ftype = f.type,
                              .size = f.type == protocol::file_type::regular ? f.size : 0,
                              .ftstamp = f.mtime,
                              .mode = f.type == protocol::file_type::symlink
                                          ? std::nullopt
                                          : std::optional<std::uint16_t>(f.mode),
                              .tstamp = to_wire_time(now),
                              .name = f.name,
                              .link = f.link};
    send_listing(_config.private_group, fi, ids);
    _copies_out_at = now + copies_out_after();
    _round_deadline = now + seconds_to_ns(_config.resend_round_grtts * _grtt.grtt());
}

void sender_engine::start_early_pass(time_ns now) {
    ++_stats.early_data_passes;
    // The FILEINFO round's deadline stays: its resends go on in the pass.
    start_pass(now, every_block(), proactive_parity());
}

std::vector<std::uint64_t> sender_engine::every_block() const {
    std::vector<std::uint64_t> all(words_for(_layout.blocks()), 0);
    for (std::uint32_t n = 0; n < _layout.blocks(); ++n) {
        all[n >> 6] |= std::uint64_t{1} << (n & 63);
    }
    return all;
}

void sender_engine::after_fileinfo(time_ns now) {
    _round_deadline = no_deadline;
    _early_data_deadline = no_deadline;
    end_grtt_round(); // every client answered the FILEINFO, or the rounds ran out
    if (_need_data == 0 || _pending_done == 0) {
        end_file(now);
        return;
    }
    start_pass(now, every_block(), proactive_parity());
}

std::vector<parity_run> sender_engine::proactive_parity() {
    std::vector<parity_run> runs;
    if (!_config.fec.enabled()) {
        return runs;
    }
    const double fraction =
        std::max(_config.fec.proactive, _config.fec.adaptive ? _fec_learned : 0.0);
    // For the expected loss, once per group size: most groups have k
    // blocks, a section's or interleaving span's last ones fewer, and the
    // sizes alternate along the file.
    std::array<std::optional<std::uint32_t>, protocol::parity_last_index + 2> for_size{};
    for (std::uint32_t g = 0; g < _fec_groups.count(); ++g) {
        const std::uint32_t data_blocks = _fec_groups.data_blocks(g);
        std::uint32_t for_loss = 0;
        if (_config.fec.expected_loss > 0) {
            auto& sized = for_size.at(data_blocks);
            if (!sized) {
                sized = parity_for_loss(data_blocks, _config.fec.expected_loss,
                                        std::max<std::uint32_t>(1, _active), _fec_groups.count(),
                                        protocol::parity_last_index + 1);
            }
            for_loss = *sized;
        }
        const auto wanted = std::max(
            for_loss, static_cast<std::uint32_t>(std::ceil(fraction * data_blocks - 1e-9)));
        const std::uint32_t room = protocol::parity_last_index + 1 - _parity_next[g];
        const auto count = static_cast<std::uint8_t>(std::min(wanted, room));
        if (count == 0) {
            continue;
        }
        runs.push_back({.group = g, .first_index = _parity_next[g], .count = count});
        _parity_next[g] = static_cast<std::uint8_t>(_parity_next[g] + count);
        _stats.parity_proactive += count;
    }
    _fec_first_pass_needs = true;
    return runs;
}

std::vector<parity_run> sender_engine::repair_parity(std::vector<std::uint64_t>& blocks) {
    std::vector<parity_run> runs;
    if (!_config.fec.enabled()) {
        return runs;
    }
    for (std::uint32_t g = 0; g < _fec_groups.count(); ++g) {
        const std::uint32_t need = _parity_need[g];
        if (need == 0) {
            continue;
        }
        const std::uint32_t room = protocol::parity_last_index + 1 - _parity_next[g];
        if (need > room) {
            // Every parity index of the group is spent (a receiver that lost
            // most of it, pass after pass): resend the data blocks its
            // receivers reported instead, which any receiver can use.
            ++_stats.parity_exhausted;
            const auto group_blocks = _fec_groups.blocks_of(g);
            for (std::uint32_t i = 0; i < group_blocks.count; ++i) {
                const std::uint32_t n = group_blocks.at(i);
                if ((_fec_naks[n >> 6] >> (n & 63)) & 1) {
                    blocks[n >> 6] |= std::uint64_t{1} << (n & 63);
                }
            }
            continue;
        }
        // A later repair pass (the second on) is small, and one long fade at
        // a receiver that set a group's count takes the same share of every
        // group of it (each group's parity is spread over the pass): in the
        // simulator a 263 ms pass lost 3 of 10 in each of 7 groups at one
        // receiver. It gets at least its whole need again as margin
        // (later_repair_margin), and a block more per pass.
        const double fraction = _pass >= 2
                                    ? std::max(_config.fec.repair_margin, later_repair_margin)
                                    : _config.fec.repair_margin;
        const auto margin =
            _config.fec.repair_margin <= 0
                ? 0u
                : std::max(static_cast<std::uint32_t>(std::ceil(need * fraction - 1e-9)), _pass);
        const std::uint32_t count = std::min(room, need + margin);
        runs.push_back({.group = g,
                        .first_index = _parity_next[g],
                        .count = static_cast<std::uint8_t>(count)});
        _parity_next[g] = static_cast<std::uint8_t>(_parity_next[g] + count);
    }
    if (_fec_first_pass_needs && _layout.blocks() > 0) {
        // What pass 1 should have carried to need no repair: the next file's
        // proactive fraction (sender_fec::adaptive).
        std::uint64_t worst = 0;
        for (std::uint32_t g = 0; g < _fec_groups.count(); ++g) {
            worst = std::max<std::uint64_t>(worst, _parity_need[g]);
        }
        _fec_learned = static_cast<double>(worst) / _fec_groups.k();
        _fec_first_pass_needs = false;
    }
    return runs;
}

std::uint16_t sender_engine::parity_port() const {
    return _config.fec.parity_port != 0
               ? _config.fec.parity_port
               : static_cast<std::uint16_t>(_config.private_group.port + 1);
}

void sender_engine::count_fec_status(const protocol::status_msg& m) {
    ++_stats.fec_status_in;
    const protocol::nak_bitmap_view view(m.naks, _layout.blocks_in_section(m.section));
    // Deficit NAKs per group of the section; a group's blocks need not be
    // consecutive (interleaved spans, protocol/fec_groups.h).
    const std::uint32_t first_group = _fec_groups.index(m.section, 0);
    if (first_group >= _fec_groups.count()) {
        return;
    }
    const std::uint32_t first_block = _layout.first_block(m.section);
    _fec_status_counts.assign(_fec_groups.groups_in_section(m.section), 0);
    view.for_each_missing([&](std::uint32_t i) {
        const std::uint32_t j = _fec_groups.group_of_block(first_block + i) - first_group;
        if (j < _fec_status_counts.size()) {
            ++_fec_status_counts[j];
        }
    });
    for (std::uint32_t j = 0; j < _fec_status_counts.size(); ++j) {
        const std::uint32_t g = first_group + j;
        if (_fec_status_counts[j] != 0 && g < _parity_need.size()) {
            _parity_need[g] = static_cast<std::uint8_t>(
                std::max<std::uint32_t>(_parity_need[g], _fec_status_counts[j]));
        }
    }
}

void sender_engine::start_pass(time_ns now, std::vector<std::uint64_t> blocks,
                               std::vector<parity_run> parity) {
    ++_pass;
    if (_layout.blocks() > 0) {
        ++_stats.passes; // an empty file is answered by DONE alone: no pass on the wire
    }
    const std::uint64_t n = count_blocks(blocks);
    const std::uint64_t bytes = bytes_of(_layout, blocks);
    _stats.blocks_sent += n;
    _bytes_sent_before_pass = _stats.bytes_sent;
    _stats.bytes_sent += bytes;
    if (_pass > 1) {
        _stats.blocks_resent += n;
        _stats.bytes_resent += bytes;
    }
    for (const auto& run : parity) {
        _stats.parity_sent += run.count;
        _stats.parity_bytes_sent += std::uint64_t{run.count} * _layout.block_size();
    }
    _naks.assign(_naks.size(), 0);
    _naks_pending = false;
    if (_config.fec.enabled()) {
        std::fill(_parity_need.begin(), _parity_need.end(), 0);
        std::fill(_fec_naks.begin(), _fec_naks.end(), 0);
    }
    if (_pending_answer == 0) {
        _rounds = 0;
        _round_deadline = no_deadline;
    } // else early data: the FILEINFO rounds go on in the pass
    for (std::uint32_t h = 0; h < _clients.size(); ++h) {
        const client_entry& c = _clients[h];
        if (c.outcome == client_outcome::active && c.file_needs_data && !c.file_done) {
            _clients.progress(h).pass = _pass;
        }
    }
    if (_layout.blocks() == 0) {
        // An empty file has no blocks to send: straight to DONE.
        pass_ended(now);
        return;
    }
    enter(sender_phase::data, now);
    _overload.pass_started(now);
    _repair_rate_cap = repair_rate_cap(n, parity);
    const bool started = _dataplane.start_pass(
        {.file_id = _file_id,
         .source_path = _files[_file_index].source_path,
         .layout = _layout,
         .pass = _pass,
         .blocks = std::move(blocks),
         .fec_group_blocks = _config.fec.group_blocks,
         .fec_span_groups = _fec_groups.span_groups(),
         .parity_to = {.address = _config.private_group.address, .port = parity_port()},
         .parity = std::move(parity),
         .keys = _crypto ? _crypto->keys : nullptr,
         .rate_bps = pass_rate()});
    if (!started) {
        // No pass end will come: go on to the DONE rounds as if the pass
        // had gone out with nothing on the wire. The clients' NAKs ask for
        // it again, and the next pass retries; waiting here would hold the
        // session silent until every client timed out.
        ++_stats.passes_refused;
        pass_ended(now);
    }
}

void sender_engine::on_pass_end(time_ns now, std::uint16_t file_id) {
    if (_phase != sender_phase::data || file_id != _file_id) {
        return;
    }
    pass_ended(now);
}

void sender_engine::pass_ended(time_ns now) {
    enter(sender_phase::done_wait, now);
    // With early data and FILEINFO answers still out, the round count goes
    // on into the DONE rounds, so that the first of them counts a silent
    // client's miss (with _rounds at 0 it would not, and a quick repair
    // cycle per round would keep it in the session indefinitely). A client
    // asked no DONE yet is counted one miss too early at most, which ROBUST
    // rounds and lost_after_min absorb.
    if (_pending_answer == 0) {
        _rounds = 0;
    }
    for (auto& c : _clients.entries()) {
        if (c.file_answered) {
            // A new round count for the DONE rounds; one that has not
            // answered the FILEINFO yet (early data) keeps its silence.
            c.heard = false;
            c.missed_rounds = 0;
        }
    }
    done_round(now);
    if (_naks_pending && _phase == sender_phase::done_wait) {
        // NAKs from section ends of this pass: rewind after 3·GRTT (spec §3.2),
        // or once the DONE just sent has had time for its answers (below).
        _rewind_deadline = std::min(now + seconds_to_ns(3 * _grtt.grtt()),
                                    _done_sent_at + seconds_to_ns(2.1 * _grtt.grtt()));
    }
}

void sender_engine::done_round(time_ns now) {
    // With early data, clients that have not answered the FILEINFO yet are
    // in the same roll call, and get the FILEINFO again instead of DONE.
    auto ids = round_roll_call(now, [](const client_entry& c) {
        return !c.file_answered || (c.file_needs_data && !c.file_done);
    });
    if (_phase != sender_phase::done_wait) {
        return;
    }
    if (ids.empty()) {
        end_file(now);
        return;
    }
    // One pass splits the roll call: the FILEINFO to those that have not
    // answered it, the DONE (asked_by_done) to the rest.
    for (auto& c : _clients.entries()) {
        c.asked_by_done = false;
    }
    std::vector<std::uint32_t> unanswered;
    std::erase_if(ids, [&](std::uint32_t uid) {
        client_entry& c = _clients[_clients.find(uid)];
        if (!c.file_answered) {
            unanswered.push_back(uid);
            return true;
        }
        c.asked_by_done = true;
        return false;
    });
    ++_rounds;
    _done_unheard = static_cast<std::uint32_t>(ids.size());
    _done_sent_at = now;
    if (!unanswered.empty()) {
        send_fileinfo(now, unanswered);
    }
    if (!ids.empty()) {
        ++_stats.done_rounds;
        send_file_done(now, ids);
    }
    // Stock waits 3·GRTT; an answer takes one RTT (<= GRTT) plus the
    // receiver's NAK timer (1·GRTT), so a client not heard after 2.2·GRTT
    // lost the DONE or its answer (spec §4.3 is the sender's to choose).
    _round_deadline = now + seconds_to_ns(2.2 * _grtt.grtt());
}

void sender_engine::rewind(time_ns now) {
    if (_phase != sender_phase::done_wait || !_naks_pending) {
        return;
    }
    if (_pass >= _config.max_passes) {
        std::vector<std::uint32_t> due;
        for (std::uint32_t h = 0; h < _clients.size(); ++h) {
            const client_entry& c = _clients[h];
            if (c.outcome == client_outcome::active && c.file_needs_data && !c.file_done) {
                due.push_back(h);
            }
        }
        for (auto h : due) {
            remove_client(now, h, client_outcome::max_passes, "Max passes exceeded");
        }
        return;
    }
    auto blocks = _naks;
    auto parity = repair_parity(blocks);
    start_pass(now, std::move(blocks), std::move(parity));
}

void sender_engine::end_file(time_ns now) {
    _round_deadline = no_deadline;
    end_grtt_round();
    _rewind_deadline = no_deadline;
    if (_phase == sender_phase::data) {
        _dataplane.stop_pass();
    }
    ++_file_index;
    if (_active == 0) {
        finish(now, "all clients dropped or aborted");
        return;
    }
    begin_file(now);
}

void sender_engine::handle_fileinfo_ack(time_ns now, std::uint32_t handle,
                                        const protocol::fileinfo_ack_msg& m) {
    if (m.file_id != _file_id || _phase == sender_phase::completion) {
        ++_stats.status_stale;
        return;
    }
    ++_stats.fileinfo_acks;
    if (fileinfo_acked(now, handle, m)) {
        done_for_late_answers(now, {handle});
    }
    maybe_advance(now);
}

bool sender_engine::fileinfo_acked(time_ns now, std::uint32_t handle,
                                   const protocol::fileinfo_ack_msg& m) {
    client_entry& c = _clients[handle];
    c.heard = true;
    sample_rtt(now, handle, m.tstamp);
    if (c.file_answered) {
        return false;
    }
    c.file_answered = true;
    c.file_needs_data = true;
    ++_need_data;
    ++_pending_done;
    --_pending_answer;
    if (_phase == sender_phase::data || _phase == sender_phase::done_wait) {
        // Early data: the pass under way is this client's first.
        ++_stats.fileinfo_acks_late;
        _clients.progress(handle).pass = _pass;
    }
    return _phase == sender_phase::done_wait;
}

void sender_engine::done_for_late_answers(time_ns now, const std::vector<std::uint32_t>& handles) {
    // The client has had the FILEINFO and the whole pass, and waits for a
    // DONE. The next round may be 2.2 GRTT away, of a GRTT measured before
    // this answer, while the client times out at ROBUST times the GRTT our
    // latest header carries: behind stock proxies, which hold answers for
    // a second, the GRTT fell from 0.9 s to 0.1 s with that answer, and
    // stock uftpd timed out 2.1 s after the pass, before the round came.
    // So it is asked now, in the round under way, whose count it joins.
    if (handles.empty()) {
        return;
    }
    std::vector<std::uint32_t> ids;
    for (const std::uint32_t h : handles) {
        client_entry& c = _clients[h];
        c.asked_by_done = true;
        ids.push_back(c.uid);
    }
    _done_unheard += static_cast<std::uint32_t>(ids.size());
    _stats.late_answers_done_at_once += ids.size();
    send_file_done(now, ids);
}

void sender_engine::send_file_done(time_ns now, const std::vector<std::uint32_t>& uids) {
    protocol::done_msg d{.file_id = _file_id, .section = _layout.last_section()};
    send_listing(_config.private_group, d, uids);
    // The next file's first round waits for these copies, and for any
    // still held from before.
    _copies_out_at = std::max(_copies_out_at, now + copies_out_after());
}

bool sender_engine::status_applies(const client_entry& c, const protocol::status_msg& m) const {
    return m.file_id == _file_id &&
           (_phase == sender_phase::data || _phase == sender_phase::done_wait) &&
           c.file_needs_data && !c.file_done;
}

void sender_engine::handle_status(time_ns now, std::uint32_t handle,
                                  const protocol::status_msg& m) {
    client_entry& c = _clients[handle];
    ++_stats.status_in;
    if (!status_applies(c, m)) {
        ++_stats.status_stale;
        return;
    }
    if (overload_signal(m)) {
        on_overload(now);
        return;
    }
    heard_in_done_round(c);
    const auto count = mark_naks(m);
    if (!count) {
        return;
    }
    // Progress (progress()): a client reports its incomplete sections in
    // ascending order each time its NAK timer fires or a DONE asks, starting
    // over from the lowest one, so a STATUS for a section not above the one
    // before begins a new report and replaces the old report's count. Counted
    // before the excess check: a client dropped here keeps what it showed.
    client_progress& p = _clients.progress(handle);
    if (p.nak_section == client_progress::no_section || m.section <= p.nak_section) {
        p.nak_bytes = 0;
    }
    p.nak_bytes += count->bytes;
    p.nak_section = m.section;
    if (count->missing == 0) {
        return;
    }
    const std::uint32_t blocks = _layout.blocks_in_section(m.section);
    if (std::uint64_t{count->missing} * 100 > std::uint64_t{_config.max_nak_pct} * blocks) {
        if (++c.nak_excess > _config.max_nak_count) {
            // Not this STATUS's NAKs' fault alone, but the client is dropped and
            // its NAKs stay in the bitmap; the next pass still serves the others.
            remove_client(now, handle, client_outcome::excessive_naks, "Excessive NAKs received");
            return;
        }
    }
    naks_marked(now);
}

bool sender_engine::bitmap_of_nak_list(protocol::status_msg& m) {
    // The list names its section's blocks, so it can be read only against
    // the file being sent, during its passes. Any other is stale
    // (status_applies counts it so): passed on as an empty bitmap.
    ++_stats.nak_lists_in;
    const bool passes = _phase == sender_phase::data || _phase == sender_phase::done_wait;
    if (m.file_id != _file_id || !passes || _file_index >= _files.size()) {
        m.naks = {};
        m.nak_list = false;
        return true;
    }
    if (m.section >= _layout.sections()) {
        return false;
    }
    if (!protocol::expand_nak_list(m.naks, _layout.blocks_in_section(m.section),
                                   _nak_list_bitmap)) {
        return false;
    }
    m.naks = _nak_list_bitmap;
    m.nak_list = false;
    return true;
}

std::optional<sender_engine::nak_count> sender_engine::mark_naks(const protocol::status_msg& m) {
    if (m.section >= _layout.sections()) {
        ++_stats.status_bad;
        return std::nullopt;
    }
    const std::uint32_t blocks = _layout.blocks_in_section(m.section);
    const protocol::nak_bitmap_view view(m.naks, blocks);
    if (!view.complete()) {
        ++_stats.status_bad;
        return std::nullopt;
    }
    if (_phase == sender_phase::data) {
        const std::uint32_t cursor = _dataplane.pass_cursor();
        if (cursor < _layout.blocks() && m.section >= _layout.locate(cursor).section) {
            ++_stats.status_current_section;
            return std::nullopt;
        }
    }
    const std::uint32_t first = _layout.first_block(m.section);
    // A Skycast receiver in a FEC session NAKs what it still needs per group
    // (deficits: docs/protocol.md §17), answered with new parity; anyone
    // else NAKs the data blocks it misses, answered with those blocks.
    const bool deficits = m.fec_deficit && _config.fec.enabled();
    if (deficits) {
        count_fec_status(m);
    }
    // Deficit bits are real missing blocks: kept apart, for groups whose
    // parity indices run out (repair_parity()).
    std::vector<std::uint64_t>& marked = deficits ? _fec_naks : _naks;
    nak_count count;
    view.for_each_missing([&](std::uint32_t i) {
        const std::uint32_t n = first + i;
        marked[n >> 6] |= std::uint64_t{1} << (n & 63);
        ++count.missing;
        count.bytes += _layout.block_bytes(n);
    });
    return count;
}

void sender_engine::naks_marked(time_ns now) {
    _naks_pending = true;
    if (_phase == sender_phase::done_wait && _rewind_deadline == no_deadline) {
        // Wait 3·GRTT for the other clients' NAKs before rewinding (spec §3.2)
        // — but no longer than the DONE's answers can take: one RTT (<= GRTT)
        // plus the receivers' NAK timer (1·GRTT), with a tenth to spare.
        // Answers lost on the way come back with the next DONE round.
        _rewind_deadline = std::min(now + seconds_to_ns(3 * _grtt.grtt()),
                                    _done_sent_at + seconds_to_ns(2.1 * _grtt.grtt()));
    }
    rewind_when_all_answered(now);
}

void sender_engine::heard_in_done_round(client_entry& c) {
    if (_phase == sender_phase::done_wait && c.asked_by_done && _done_unheard > 0) {
        --_done_unheard;
    }
    c.asked_by_done = false;
    c.heard = true;
}

void sender_engine::rewind_when_all_answered(time_ns now) {
    // Every client the DONE asked has answered (STATUS or COMPLETE): nothing
    // more is coming for this pass, so waiting out the 3·GRTT only delays
    // the repair. A tenth of a GRTT lets the rest of a client's STATUS
    // datagrams (one per section, sent back to back) arrive.
    if (_phase == sender_phase::done_wait && _naks_pending && _done_unheard == 0) {
        _rewind_deadline = std::min(_rewind_deadline, now + seconds_to_ns(0.1 * _grtt.grtt()));
    }
}

void sender_engine::handle_complete(time_ns now, std::uint32_t handle,
                                    const protocol::complete_msg& m) {
    ++_stats.completes_in;
    if (client_completed(handle, m)) {
        protocol::done_conf_msg conf;
        conf.client_ids.push_back(_clients[handle].uid);
        send(_config.private_group, conf);
    }
    maybe_advance(now);
    rewind_when_all_answered(now);
}

bool sender_engine::client_completed(std::uint32_t handle, const protocol::complete_msg& m) {
    client_entry& c = _clients[handle];
    if (m.file_id == _file_id) {
        heard_in_done_round(c);
    } else {
        c.heard = true;
    }
    if (m.file_id == 0) {
        if (_phase == sender_phase::completion && !c.session_complete) {
            c.session_complete = true;
            --_pending_complete0;
        } else if (!c.session_complete && on_the_last_file()) {
            // With its COMPLETE for the last file (EXT_SKYCAST_LAST_FILE,
            // docs/protocol.md §22): the session is over for it, and the
            // DONE(0) round will not ask it. It comes just ahead of that
            // COMPLETE, so the completion does not start with a DONE(0)
            // for it when its answer is the file's last.
            if (!c.file_done) {
                c.session_complete_ahead = true;
                return false;
            }
            c.session_complete = true;
            ++_stats.early_session_completes;
        }
        // Answer every COMPLETE(0), duplicates too: the DONE_CONF may have been lost.
        return _phase == sender_phase::completion || c.session_complete;
    }
    if (m.file_id != _file_id) {
        ++_stats.status_stale;
        return false;
    }
    if (m.status == protocol::complete_status::rejected && !c.file_done) {
        ++c.files_rejected;
    }
    const bool was_done = c.file_done;
    if (!c.file_answered) {
        // COMPLETE answers FILEINFO for directories, links, rejected or skipped files.
        c.file_answered = true;
        c.file_done = true;
        --_pending_answer;
    } else if (c.file_needs_data && !c.file_done) {
        c.file_done = true;
        --_pending_done;
    }
    if (c.file_done && !was_done && m.status != protocol::complete_status::rejected) {
        // Skipped (it had the file) counts as held too. The layout of a
        // directory, link or delete is that of an empty file: 0 bytes.
        _clients.progress(handle).bytes_done += _layout.file_size();
    }
    if (c.file_done && c.session_complete_ahead && !c.session_complete && on_the_last_file()) {
        c.session_complete = true; // its COMPLETE(0) came first (§22)
        ++_stats.early_session_completes;
        return true; // the DONE_CONF it waits for
    }
    return false;
}

bool sender_engine::on_the_last_file() const {
    return _last_file_id && _file_id == *_last_file_id && _file_index < _files.size() &&
           (_phase == sender_phase::fileinfo || _phase == sender_phase::data ||
            _phase == sender_phase::done_wait);
}

void sender_engine::handle_abort(time_ns now, std::uint32_t handle, const protocol::abort_msg& m) {
    ++_stats.aborts_in;
    _client_abort_reasons[_clients[handle].uid] = m.message;
    remove_client(now, handle, client_outcome::aborted_by_client, nullptr);
}

void sender_engine::remove_client(time_ns now, std::uint32_t handle, client_outcome outcome,
                                  const char* abort_reason) {
    client_entry& c = _clients[handle];
    if (c.outcome != client_outcome::active) {
        return;
    }
    if (c.is_proxy) {
        // Its clients cannot be reached for answers any more: they go with it.
        c.outcome = outcome;
        for (const std::uint32_t h : clients_behind(handle)) {
            remove_client(now, h, outcome, nullptr);
        }
        return;
    }
    if (c.unregistered && outcome == client_outcome::lost) {
        ++_stats.clients_lost;
        c.outcome = client_outcome::never_registered; // fast start: never heard from
    } else {
        ++(outcome == client_outcome::lost ? _stats.clients_lost : _stats.clients_aborted);
        c.outcome = outcome;
    }
    c.lost_in_file = (_phase == sender_phase::fileinfo || _phase == sender_phase::data ||
                      _phase == sender_phase::done_wait)
                         ? _file_id
                         : 0;
    --_active;
    switch (_phase) {
    case sender_phase::fileinfo:
    case sender_phase::data: // with early data, FILEINFO may still be unanswered
    case sender_phase::done_wait:
        if (!c.file_answered) {
            --_pending_answer;
        } else if (c.file_needs_data && !c.file_done) {
            --_pending_done;
        }
        break;
    case sender_phase::completion:
        if (!c.session_complete) {
            --_pending_complete0;
        }
        break;
    default:
        break;
    }
    if (abort_reason != nullptr) {
        protocol::abort_msg ab{.host = c.uid, .message = abort_reason};
        // A client without the group keys could not open a sealed ABORT.
        send(_config.private_group, ab, _crypto && c.keys != key_state::acked);
        // ABORT is not acknowledged: repeat it in the next rounds so that one
        // lost datagram does not leave the client waiting for its timeout.
        _abort_resends.push_back(
            {.uid = c.uid, .reason = abort_reason, .remaining = abort_repeats});
    }
    maybe_advance(now);
}

void sender_engine::maybe_advance(time_ns now) {
    switch (_phase) {
    case sender_phase::fileinfo:
        if (_pending_answer == 0) {
            after_fileinfo(now);
        }
        break;
    case sender_phase::data:
    case sender_phase::done_wait:
        if (_pending_done == 0 && _pending_answer == 0) {
            end_file(now);
        }
        break;
    case sender_phase::completion:
        if (_pending_complete0 == 0 && _finish_deadline == no_deadline) {
            // One last GRTT for stragglers' duplicate COMPLETEs (spec §4.3),
            // answered with DONE_CONF in case theirs was lost. With control
            // copies every DONE_CONF already went out N times (lost with
            // p^N), and a client whose copies were all lost resends its
            // COMPLETE only after 4 GRTT, past that last GRTT anyway: finish
            // now, a GRTT sooner (half a second at GEO). So too when no
            // DONE(0) round went out: every COMPLETE(0) came with a last
            // file's (§22), its DONE_CONF answered long before.
            _round_deadline = no_deadline;
            _finish_deadline = _config.control_copies > 1 || _rounds == 0
                                   ? now
                                   : now + seconds_to_ns(_grtt.grtt());
        }
        break;
    default:
        break;
    }
}

void sender_engine::resend_aborts() {
    for (auto& a : _abort_resends) {
        if (a.remaining > 0) {
            --a.remaining;
            protocol::abort_msg ab{.host = a.uid, .message = a.reason};
            const std::uint32_t h = _clients.find(a.uid);
            send(_config.private_group, ab,
                 _crypto && (h == client_table::npos || _clients[h].keys != key_state::acked));
        }
    }
    std::erase_if(_abort_resends, [](const pending_abort& a) { return a.remaining == 0; });
}

// --- Completion ----------------------------------------------------------------

void sender_engine::begin_completion(time_ns now) {
    enter(sender_phase::completion, now);
    _rounds = 0;
    _pending_complete0 = 0;
    bool any_active = false;
    for (auto& c : _clients.entries()) {
        c.heard = false;
        c.missed_rounds = 0;
        if (c.outcome == client_outcome::active && !c.is_proxy) {
            any_active = true;
            // Not those whose COMPLETE(0) came with their last file's.
            _pending_complete0 += c.session_complete ? 0 : 1;
        }
    }
    if (!any_active) {
        finish(now, "all clients dropped or aborted");
        return;
    }
    if (!wait_for_copies(now)) {
        completion_round(now);
    }
}

void sender_engine::completion_round(time_ns now) {
    auto ids = round_roll_call(now, [](const client_entry& c) { return !c.session_complete; });
    if (_phase != sender_phase::completion || _finish_deadline != no_deadline) {
        return;
    }
    if (ids.empty()) {
        maybe_advance(now);
        return;
    }
    ++_rounds;
    ++_stats.done_rounds;
    protocol::done_msg d{.file_id = 0, .section = 0};
    send_listing(_config.private_group, d, ids);
    _round_deadline = now + seconds_to_ns(_config.resend_round_grtts * _grtt.grtt());
}

void sender_engine::finish(time_ns now, std::string failure) {
    // No more rounds will come: send the ABORT copies still owed now.
    while (!_abort_resends.empty()) {
        resend_aborts();
    }
    for (auto& c : _clients.entries()) {
        if (c.outcome == client_outcome::active) {
            // A proxy has done its part once the session ends.
            c.outcome = c.session_complete || c.is_proxy ? client_outcome::completed
                                                         : client_outcome::aborted_by_sender;
        }
    }
    if (failure.empty()) {
        bool any = false;
        for (const auto& c : _clients.entries()) {
            any = any || (!c.is_proxy && c.outcome == client_outcome::completed);
        }
        if (!any) {
            failure = "all clients dropped or aborted";
        }
    }
    _failure = std::move(failure);
    enter(sender_phase::finished, now);
    _round_deadline = _rewind_deadline = _finish_deadline = _copies_out_deadline = no_deadline;
    _confirm_deadline = no_deadline;
    _confirm_due.clear();
}

void sender_engine::abort(time_ns now, const std::string& reason) {
    if (_phase == sender_phase::finished) {
        return;
    }
    _dataplane.stop_pass();
    protocol::abort_msg ab{.host = 0, .message = reason.substr(0, 299)};
    send(_config.private_group, ab);
    if (_crypto && _phase == sender_phase::announce) {
        // Clients still in the key exchange have no group keys: they need it
        // in the clear (stock sends both in this case too).
        send(_config.private_group, ab, true);
    }
    for (auto& c : _clients.entries()) {
        if (c.outcome == client_outcome::active) {
            c.outcome = client_outcome::aborted_by_sender;
            if (!c.is_proxy) {
                --_active;
            }
        }
    }
    finish(now, "aborted: " + reason);
}

// --- Progress ------------------------------------------------------------------

std::uint64_t sender_engine::file_bytes_sent() const {
    switch (_phase) {
    case sender_phase::data:
        if (_pass == 1) {
            // Pass 1 sends every block in order: the cursor counts them. The
            // dataplane reports a cursor past the end when it has no pass.
            const std::uint32_t cursor = std::min(_dataplane.pass_cursor(), _layout.blocks());
            return cursor == _layout.blocks() ? _layout.file_size()
                                              : std::uint64_t{cursor} * _layout.block_size();
        }
        return _layout.file_size();
    case sender_phase::done_wait:
        return _layout.file_size();
    default:
        return 0;
    }
}

// bytes_known of a client: the sizes of the files it completed (COMPLETE
// with any status but REJECTED), plus, while it still takes part in the
// passes of the current file, the bytes of that file sent at least once
// (all of them once pass 1 ended) minus the bytes of the blocks its latest
// STATUS report NAKed (client_progress::nak_bytes). So a block is presumed
// received once sent, until a STATUS says otherwise, and blocks resent in a
// repair pass count only when the client's next STATUS report or COMPLETE
// says so: the figure stands still during repair passes. A client that left
// the session (lost, aborted...) keeps only its completed files: a receiver
// discards an incomplete file.
session_progress sender_engine::progress() const {
    session_progress out;
    out.bytes_total = _bytes_total;
    out.files = static_cast<std::uint32_t>(_files.size());
    // The phase is data exactly while a pass runs.
    out.bytes_sent =
        _phase == sender_phase::data
            ? _bytes_sent_before_pass + std::min(_dataplane.pass_bytes_sent(),
                                                 _stats.bytes_sent - _bytes_sent_before_pass)
            : _stats.bytes_sent;
    switch (_phase) {
    case sender_phase::idle:
    case sender_phase::announce:
        out.file_number = 0;
        break;
    case sender_phase::fileinfo:
    case sender_phase::data:
    case sender_phase::done_wait:
        out.file_number = static_cast<std::uint32_t>(_file_index + 1);
        out.pass = _pass;
        out.file_bytes_sent = file_bytes_sent();
        break;
    case sender_phase::completion:
    case sender_phase::finished:
        out.file_number = out.files + 1;
        break;
    }
    const bool in_file = out.file_number >= 1 && out.file_number <= out.files;
    out.receivers.reserve(_clients.size());
    for (std::uint32_t h = 0; h < _clients.size(); ++h) {
        const client_entry& c = _clients[h];
        if (c.is_proxy) {
            continue;
        }
        const client_progress& p = _clients.progress(h);
        std::uint64_t known = p.bytes_done;
        if (in_file && c.outcome == client_outcome::active && c.file_needs_data && !c.file_done) {
            known += out.file_bytes_sent - std::min(out.file_bytes_sent, p.nak_bytes);
        }
        out.receivers.push_back(
            {.uid = c.uid, .outcome = c.outcome, .bytes_known = known, .pass = p.pass});
    }
    return out;
}

// --- Dispatch ------------------------------------------------------------------

void sender_engine::on_datagram(time_ns now, endpoint from,
                                std::span<const std::uint8_t> datagram) {
    ++_stats.datagrams_in;
    if (_phase == sender_phase::finished || _phase == sender_phase::idle) {
        return;
    }
    protocol::datagram d;
    if (protocol::decode(datagram, d) != protocol::wire_error::ok) {
        ++_stats.malformed_in;
        return;
    }
    if (d.header.group_id != _config.group_id || d.header.group_inst != _config.group_inst) {
        ++_stats.wrong_session_in;
        return;
    }
    // A client's copy of its previous datagram (control.control_copies, or
    // the network's): answered once (repeat_filter.h).
    const std::uint32_t known = _clients.find(d.header.src_id);
    if (known != client_table::npos && _clients.last_datagram(known).repeat(datagram)) {
        ++_stats.duplicates_in;
        return;
    }
    if (d.type() == protocol::message_type::register_ ||
        d.type() == protocol::message_type::client_key) {
        if (const auto* reg = std::get_if<protocol::register_msg>(&d.body)) {
            handle_register(now, d.header, from, *reg);
        } else if (_crypto) {
            handle_client_key(now, d.header, from, std::get<protocol::client_key_msg>(d.body));
        } else {
            ++_stats.unexpected_in;
        }
        if (const auto added = _clients.find(d.header.src_id);
            known == client_table::npos && added != client_table::npos) {
            (void)_clients.last_datagram(added).repeat(datagram); // its copies come next
        }
        return;
    }
    const std::uint32_t handle = known;
    if (handle == client_table::npos || _clients[handle].outcome != client_outcome::active) {
        ++_stats.unexpected_in;
        return;
    }
    _clients[handle].unregistered = false; // fast start: heard from, its REGISTER lost
    protocol::message* body = &d.body;
    protocol::message inner;
    if (_crypto) {
        client_entry& c = _clients[handle];
        if (d.type() == protocol::message_type::encrypted) {
            const crypto::public_key* key = nullptr;
            if (_crypto->suite.sigtype == protocol::signature_type::keyex) {
                const auto it = _crypto->client_keys.find(c.uid);
                key = it == _crypto->client_keys.end() ? nullptr : &it->second;
            }
            auto opened = crypto::open_message(*_crypto->cipher, datagram, _plain, key);
            if (!opened) {
                ++_stats.decrypt_failed;
                return;
            }
            inner = std::move(opened->body);
            body = &inner;
        } else if (d.type() != protocol::message_type::abort || c.keys == key_state::acked) {
            // Stock refuses STATUS, COMPLETE, FILEINFO_ACK, ABORT... in the
            // clear once keys exist (spec §12 #17); only a client without
            // the group keys may ABORT in the clear.
            ++_stats.plaintext_refused;
            return;
        }
    } else if (d.type() == protocol::message_type::encrypted) {
        ++_stats.unexpected_in;
        return;
    }
    if (auto* st = std::get_if<protocol::status_msg>(body); st != nullptr && st->nak_list) {
        if (!bitmap_of_nak_list(*st)) {
            ++_stats.status_in;
            ++_stats.status_bad;
            return;
        }
    }
    if (_clients[handle].is_proxy) {
        handle_proxy_message(now, handle, *body);
        return;
    }
    switch (protocol::type_of(*body)) {
    case protocol::message_type::keyinfo_ack:
        if (_crypto) {
            handle_keyinfo_ack(now, handle, std::get<protocol::keyinfo_ack_msg>(*body));
        } else {
            ++_stats.unexpected_in;
        }
        break;
    case protocol::message_type::fileinfo_ack:
        handle_fileinfo_ack(now, handle, std::get<protocol::fileinfo_ack_msg>(*body));
        break;
    case protocol::message_type::status:
        handle_status(now, handle, std::get<protocol::status_msg>(*body));
        break;
    case protocol::message_type::complete:
        handle_complete(now, handle, std::get<protocol::complete_msg>(*body));
        break;
    case protocol::message_type::abort:
        handle_abort(now, handle, std::get<protocol::abort_msg>(*body));
        break;
    default:
        ++_stats.unexpected_in;
        break;
    }
}

} // namespace skycast::control::engine
