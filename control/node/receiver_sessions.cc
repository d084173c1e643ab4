#include "control/node/receiver_sessions.h"

#include "control/node/engine_settings.h"
#include "control/node/heartbeat_json.h"
#include "control/node/node.h"
#include "protocol/codec.h"
#include "protocol/display_text.h"
#include "protocol/parity.h"

#include <algorithm>
#include <cstdio>

namespace skycast::control::node {
namespace {

using json = nlohmann::json;
using engine::time_ns;

// New sessions admitted per second, at most (and in one burst): each costs
// a group join and leave in the dataplane (its lcores pause for the change)
// and an engine. A flood of ANNOUNCEs addressed to us is then refused at the
// price of decoding it, and the sessions already running keep their loop.
constexpr double admissions_per_second = 20.0;
// A handshake younger than this is not dropped for a newer ANNOUNCE: the
// table of a node under a flood holds still instead of churning.
constexpr time_ns eviction_min_age = engine::ns_per_second;

bool in_handshake(const engine::receiver_engine& e) {
    return e.state() == engine::receiver_state::registering;
}

bool ended(const engine::receiver_engine& e) {
    return e.state() == engine::receiver_state::finished ||
           e.state() == engine::receiver_state::aborted;
}

} // namespace

receiver_sessions::receiver_sessions(const config::control_config& config,
                                     engine::receiver_config settings, dataplane_link& link,
                                     group_memberships& groups, node_log& log,
                                     post_receive_hooks* hooks)
    : _config(config), _settings(std::move(settings)),
      _max_sessions(std::min<std::uint32_t>(config.receiver->max_sessions, api::max_sessions)),
      _link(link), _groups(groups), _log(log), _hooks(hooks),
      _key_slot_used(api::max_sessions, false) {
    if (const auto& proxy = config.receiver->response_proxy; proxy && _settings.response_proxy) {
        _proxy_network = std::make_unique<link_network>(link, config.port);
        _proxy_keys = std::make_unique<engine::proxy_key_client>(
            config.uid, *_settings.response_proxy, proxy->fingerprint, *_proxy_network);
        _settings.proxy_keys = _proxy_keys.get();
        _proxy_keys->start(wall_clock_ns());
    }
    std::string error;
    auto heartbeats = heartbeat_settings_of(config, error);
    if (!error.empty()) {
        SKYCAST_LOG(_log, error, "heartbeats: %s; sending them unauthenticated", error.c_str());
    }
    if (!heartbeats.to.empty()) {
        _heartbeat_network = std::make_unique<link_network>(link, config.port);
        _heartbeats = std::make_unique<engine::heartbeat_sender>(
            config.uid, std::move(heartbeats.to), heartbeats.interval, std::move(heartbeats.key),
            *_heartbeat_network);
        _heartbeats->start(wall_clock_ns());
    }
}

receiver_sessions::~receiver_sessions() = default;

receiver_sessions::session* receiver_sessions::find(std::uint32_t server_id,
                                                    std::uint32_t group_id) {
    for (auto& s : _sessions) {
        if (s->server_id == server_id && s->group_id == group_id) {
            return s.get();
        }
    }
    return nullptr;
}

bool receiver_sessions::addressed_to_us(std::span<const std::uint8_t> datagram) const {
    protocol::datagram d;
    if (protocol::decode(datagram, d) != protocol::wire_error::ok) {
        return false;
    }
    const auto* a = std::get_if<protocol::announce_msg>(&d.body);
    if (a == nullptr) {
        return false;
    }
    return a->client_ids.empty() || std::find(a->client_ids.begin(), a->client_ids.end(),
                                              _config.uid) != a->client_ids.end();
}

bool receiver_sessions::make_room(time_ns now) {
    if (_sessions.size() < _max_sessions) {
        return true;
    }
    const auto victim = std::find_if(_sessions.begin(), _sessions.end(), [&](const auto& s) {
        return in_handshake(*s->engine) && now - s->started >= eviction_min_age;
    });
    if (victim == _sessions.end()) {
        return false;
    }
    ++_counters.evicted;
    (*victim)->evicted = true;
    (*victim)->engine->abort(now, "Too many sessions on this client");
    reap(now);
    return _sessions.size() < _max_sessions;
}

void receiver_sessions::start(time_ns now, const protocol::uftp_header& h,
                              const dataplane_link::received& d) {
    if (!addressed_to_us(d.bytes)) {
        ++_counters.announces_ignored;
        return;
    }
    _admission_tokens = std::min(
        admissions_per_second,
        _admission_tokens + admissions_per_second * static_cast<double>(now - _admission_refill) /
                                static_cast<double>(engine::ns_per_second));
    _admission_refill = now;
    if (_admission_tokens < 1.0) {
        ++_counters.refused_rate;
        return;
    }
    if (!make_room(now)) {
        // Logged on the first refusal and then every 100th: a flood must not
        // fill the log.
        if (_counters.refused_full++ % 100 == 0) {
            SKYCAST_LOG(_log, warn,
                        "session %s from %s refused: %u sessions running (max_sessions); %llu "
                        "refused so far",
                        hex_id(h.group_id).c_str(), hex_id(h.src_id).c_str(), _max_sessions,
                        static_cast<unsigned long long>(_counters.refused_full));
        }
        return;
    }
    const auto free_slot = std::find(_key_slot_used.begin(), _key_slot_used.end(), false);
    auto s = std::make_unique<session>();
    s->server_id = h.src_id;
    s->group_id = h.group_id;
    s->key_slot = static_cast<std::uint8_t>(free_slot - _key_slot_used.begin());
    s->started = now;
    s->ports = std::make_unique<dataplane_ports>(
        _link, _config.port, 0, engine::endpoint{.address = 0, .port = 0}, s->key_slot, &_groups);
    s->ports->set_session(h.src_id, h.group_id);
    s->engine = std::make_unique<engine::receiver_engine>(_settings, *s->ports, *s->ports);
    feed(*s, now, d);
    if (s->engine->state() == engine::receiver_state::listening) {
        // Not a session this node takes (servers list, block size, a bad
        // signature): nothing was sent, nothing is kept.
        ++_counters.announces_ignored;
        return;
    }
    *free_slot = true;
    _admission_tokens -= 1.0;
    ++_counters.started;
    SKYCAST_LOG(_log, debug, "session %s from %s: announced (%zu running)",
                hex_id(h.group_id).c_str(), hex_id(h.src_id).c_str(), _sessions.size() + 1);
    _sessions.push_back(std::move(s));
}

void receiver_sessions::feed(session& s, time_ns now, const dataplane_link::received& d) {
    const engine::endpoint from{.address = d.meta.peer.address, .port = d.meta.peer.port};
    if (d.meta.flags & api::datagram_decrypted) {
        s.engine->on_decrypted(now, from, d.bytes);
    } else {
        s.engine->on_datagram(now, from, d.bytes);
    }
}

void receiver_sessions::on_datagram(time_ns now, const dataplane_link::received& d) {
    protocol::uftp_header h;
    protocol::message_type type{};
    if (d.bytes.size() > 1 && d.bytes[1] == protocol::parity_func) {
        on_parity(now, d);
        return;
    }
    if (protocol::decode_header(d.bytes, h, type) != protocol::wire_error::ok) {
        ++_counters.malformed;
        return;
    }
    if (type == protocol::message_type::hb_resp || type == protocol::message_type::proxy_key) {
        // For the node's own helpers, not for a session: the answers to
        // our heartbeats, and a response proxy's keys.
        protocol::datagram msg;
        const engine::endpoint from{.address = d.meta.peer.address, .port = d.meta.peer.port};
        const bool decoded = protocol::decode(d.bytes, msg) == protocol::wire_error::ok;
        if (const auto* r = std::get_if<protocol::hb_resp_msg>(&msg.body);
            decoded && r != nullptr && _heartbeats) {
            _heartbeats->on_response(now, from, *r);
        } else if (const auto* k = std::get_if<protocol::proxy_key_msg>(&msg.body);
                   decoded && k != nullptr && _proxy_keys) {
            _proxy_keys->on_proxy_key(now, from, *k);
        } else {
            ++_counters.unmatched;
        }
        return;
    }
    if (session* s = find(h.src_id, h.group_id)) {
        feed(*s, now, d);
    } else if (type == protocol::message_type::announce) {
        start(now, h, d);
    } else {
        ++_counters.unmatched;
    }
}

void receiver_sessions::on_parity(time_ns now, const dataplane_link::received& d) {
    // FEC parity (docs/protocol.md §17) to the parity port: decoded by the
    // session's dataplane port, which tells the engine the session is alive.
    protocol::uftp_header h;
    protocol::parity_msg msg;
    if (protocol::decode_parity(d.bytes, h, msg) != protocol::wire_error::ok) {
        ++_counters.malformed;
        return;
    }
    session* s = find(h.src_id, h.group_id);
    if (s == nullptr) {
        ++_counters.unmatched;
        return;
    }
    if (s->engine->keyed() && (d.meta.flags & api::datagram_decrypted) == 0) {
        // In the clear in an encrypted session: refused, as stock refuses a
        // plaintext FILESEG there (spec §12 #17).
        ++_counters.parity_unencrypted;
        return;
    }
    ++_counters.parity_in;
    if (const int section = s->ports->on_parity(msg); section >= 0) {
        s->engine->on_data(now, msg.file_id, static_cast<std::uint16_t>(section), h.seq);
    }
}

bool receiver_sessions::tick(time_ns now) {
    bool fired = false;
    if (_proxy_keys && _proxy_keys->next_deadline() <= now) {
        _proxy_keys->on_timer(now);
        fired = true;
    }
    if (_heartbeats && _heartbeats->next_deadline() <= now) {
        _heartbeats->on_timer(now);
        fired = true;
    }
    for (auto& s : _sessions) {
        // Data progress alone is no reason to poll at once: during a
        // transfer it never stops, and the engine needs it at section
        // boundaries only (a pause of at most 2 ms is nothing there).
        s->ports->poll_progress(
            [&](std::uint16_t file_id, std::uint16_t section, std::uint16_t seq) {
                s->engine->on_data(now, file_id, section, seq);
            });
        // For describe(); the engine counts at most once a second.
        s->engine->refresh_progress(now);
        if (s->engine->next_deadline() <= now) {
            fired = true;
            s->engine->on_timer(now);
        }
        report_completed(*s);
    }
    reap(now);
    return fired;
}

time_ns receiver_sessions::next_deadline() const {
    time_ns deadline = _proxy_keys ? _proxy_keys->next_deadline() : engine::no_deadline;
    if (_heartbeats) {
        deadline = std::min(deadline, _heartbeats->next_deadline());
    }
    for (const auto& s : _sessions) {
        deadline = std::min(deadline, s->engine->next_deadline());
    }
    return deadline;
}

void receiver_sessions::abort_all(time_ns now, const std::string& reason) {
    for (auto& s : _sessions) {
        s->engine->abort(now, reason);
    }
    reap(now);
}

json receiver_sessions::ended_entry(const session& s, time_ns now) const {
    const auto& e = *s.engine;
    json files = json::array();
    for (const auto& f : e.files()) {
        files.push_back({{"file_id", f.file_id},
                         {"name", protocol::display_text(f.name)},
                         {"complete", f.complete},
                         {"reason", protocol::display_text(f.reason)}});
    }
    return {{"session", hex_id(s.group_id)},
            {"server", hex_id(s.server_id)},
            {"outcome", engine::name(e.outcome())},
            {"reason", protocol::display_text(e.reason())},
            {"files", files},
            {"grtt", e.grtt()},
            {"ended", now / engine::ns_per_second},
            {"seconds",
             static_cast<double>(now - s.started) / static_cast<double>(engine::ns_per_second)}};
}

void receiver_sessions::report_completed(session& s) {
    const auto completed = s.engine->take_completed_files();
    if (_hooks == nullptr) {
        return;
    }
    for (const std::size_t i : completed) {
        const auto& f = s.engine->files()[i];
        const char* type = f.type == protocol::file_type::directory ? "directory"
                           : f.type == protocol::file_type::symlink ? "symlink"
                           : f.type == protocol::file_type::delete_ ? "delete"
                                                                    : "file";
        _hooks->file_completed({.path = _settings.destination + "/" + f.name,
                                .name = f.name,
                                .type = type,
                                .session = s.group_id,
                                .sender = s.server_id});
    }
}

namespace {

nlohmann::json fec_json(const dataplane::fec_rx_counters& c) {
    nlohmann::json dropped = nlohmann::json::object();
    for (std::size_t d = 0; d < c.dropped.size(); ++d) {
        dropped[std::string(dataplane::name(static_cast<dataplane::parity_drop>(d)))] =
            c.dropped[d];
    }
    return {{"parity_kept", c.parity_kept},
            {"groups_rebuilt", c.groups_rebuilt},
            {"blocks_rebuilt", c.blocks_rebuilt},
            {"groups_ready_by_data", c.groups_ready_by_data},
            {"parity_dropped", std::move(dropped)}};
}

} // namespace

void receiver_sessions::reap(time_ns now) {
    for (auto it = _sessions.begin(); it != _sessions.end();) {
        session& s = **it;
        if (!ended(*s.engine)) {
            ++it;
            continue;
        }
        const auto& e = *s.engine;
        if (e.outcome() == engine::receiver_outcome::registration_unconfirmed) {
            ++_counters.handshake_timeouts;
        }
        std::uint32_t complete = 0;
        for (const auto& f : e.files()) {
            complete += f.complete ? 1 : 0;
        }
        const std::string reason = protocol::display_text(e.reason());
        // Handshakes nobody completed are what spoofed ANNOUNCEs leave:
        // counted, and logged at debug level only (a flood must not fill the log).
        const bool handshake_only =
            s.evicted || e.outcome() == engine::receiver_outcome::registration_unconfirmed;
        const auto level = handshake_only ? config::log_level::debug : config::log_level::info;
        if (_log.enabled(level)) {
            // Overload reports say this node could not keep up (its drops
            // are in the dataplane's rx.drop counters): worth a look.
            const std::uint64_t overload = e.stats().overload_reports;
            std::string notes =
                overload == 0 ? ""
                              : "; dropped frames it could not keep up with, asked the sender to "
                                "slow down " +
                                    std::to_string(overload) + " times";
            // FEC parity that stopped coming: the path (a proxy) does not
            // carry it, and repair went by data blocks.
            if (e.stats().fec_fallbacks != 0) {
                notes += "; no FEC parity reached this node after it asked (a proxy in "
                         "the path?): repaired by NAKing data blocks";
            }
            // DONEs it could not answer: incomplete, yet nothing to NAK
            // (FEC groups waiting for a rebuild). Brief by design; many of
            // them beside a failed session point at the receive side.
            if (const std::uint64_t silent = e.stats().done_silent; silent != 0) {
                notes += "; " + std::to_string(silent) +
                         " DONE(s) found the file incomplete with nothing to NAK (FEC groups "
                         "waiting for a rebuild)";
            }
            _log.write(level, "session %s from %s ended: %s%s%s%s, %u of %zu files complete%s",
                       hex_id(s.group_id).c_str(), hex_id(s.server_id).c_str(),
                       engine::name(e.outcome()), reason.empty() ? "" : ": ", reason.c_str(),
                       s.evicted ? " (dropped for a newer session: max_sessions running)" : "",
                       complete, e.files().size(), notes.c_str());
        }
        report_completed(s);
        _fec_ended += s.ports->fec_counters();
        if (_hooks != nullptr && !handshake_only) {
            _hooks->session_ended({.session = s.group_id,
                                   .sender = s.server_id,
                                   .outcome = engine::name(e.outcome()),
                                   .reason = reason,
                                   .files = e.files().size(),
                                   .files_complete = complete});
        }
        _ended.push_back(ended_entry(s, now));
        _key_slot_used[s.key_slot] = false;
        it = _sessions.erase(it); // the ports leave the group and clear the keys
    }
}

std::vector<json> receiver_sessions::take_ended() {
    std::vector<json> out;
    out.swap(_ended);
    return out;
}

void receiver_sessions::describe(json& doc) const {
    json running = json::array();
    const time_ns now = wall_clock_ns();
    for (const auto& s : _sessions) {
        const auto& e = *s->engine;
        const auto& st = e.stats();
        // What a progress line needs (`skycast status`). The open file's
        // bytes were counted at `bytes_received_at` (seconds since the
        // session started, at most a second ago): rates are worked out
        // between two counts, not between two reads of this document. No
        // session total: UFTP names one file at a time.
        const auto p = e.progress();
        const double elapsed = now > s->started ? static_cast<double>(now - s->started) /
                                                      static_cast<double>(engine::ns_per_second)
                                                : 0.0;
        json current = nullptr;
        double counted = elapsed;
        if (p.receiving) {
            current = {{"id", p.file_id},
                       {"name", protocol::display_text(p.name)},
                       {"bytes", p.file_bytes},
                       {"bytes_received", p.file_received}};
            // Not counted yet (the file opened in this loop round): nothing
            // of it is here, as of now.
            if (p.counted_at != 0) {
                counted = p.counted_at > s->started
                              ? static_cast<double>(p.counted_at - s->started) /
                                    static_cast<double>(engine::ns_per_second)
                              : 0.0;
            }
        }
        running.push_back({{"session", hex_id(s->group_id)},
                           {"server", hex_id(s->server_id)},
                           {"state", engine::name(e.state())},
                           {"grtt", e.grtt()},
                           {"files", e.files().size()},
                           {"files_received", st.files_received},
                           {"files_rejected", st.files_rejected},
                           {"status_sent", st.status_sent},
                           {"nak_lists_sent", st.nak_lists_sent},
                           {"fec_fallbacks", st.fec_fallbacks},
                           {"done_silent", st.done_silent},
                           {"status_bytes_sent", st.status_bytes_sent},
                           {"overload_reports", st.overload_reports},
                           {"early_completes", st.early_completes},
                           {"decrypt_failed", st.decrypt_failed},
                           {"malformed_in", st.malformed_in},
                           {"duplicates_in", st.duplicates_in},
                           {"seq_out_of_range", st.seq_out_of_range},
                           {"late_listings_taken", st.late_listings_taken},
                           {"grtt_clamped", st.grtt_clamped},
                           {"robust_clamped", st.robust_clamped},
                           {"write_failures", st.write_failures},
                           {"fec_declined", st.fec_declined},
                           {"started", s->started / engine::ns_per_second},
                           {"elapsed", elapsed},
                           {"files_done", p.files_done},
                           {"bytes_done", p.bytes_done},
                           {"bytes_received", p.bytes_done + (p.receiving ? p.file_received : 0)},
                           {"bytes_received_at", counted},
                           {"current_file", std::move(current)},
                           {"fec", fec_json(s->ports->fec_counters())}});
    }
    doc["sessions"] = std::move(running);
    doc["receiver"] = {{"sessions_running", _sessions.size()},
                       {"max_sessions", _max_sessions},
                       {"groups_joined", _groups.joined()},
                       {"group_join_failures", _groups.join_failures()},
                       {"sessions_started", _counters.started},
                       {"announces_ignored", _counters.announces_ignored},
                       {"refused_full", _counters.refused_full},
                       {"refused_rate", _counters.refused_rate},
                       {"evicted", _counters.evicted},
                       {"handshake_timeouts", _counters.handshake_timeouts},
                       {"unmatched_datagrams", _counters.unmatched},
                       {"malformed_datagrams", _counters.malformed},
                       {"parity_datagrams", _counters.parity_in},
                       {"parity_unencrypted", _counters.parity_unencrypted},
                       // FEC of the sessions that have ended (running ones: per session).
                       {"fec_ended", fec_json(_fec_ended)}};
    if (_proxy_keys) {
        const auto& k = _proxy_keys->stats();
        doc["receiver"]["proxy_key"] = {{"have_key", _proxy_keys->keys() != nullptr},
                                        {"key_requests_sent", k.key_requests_sent},
                                        {"proxy_keys_in", k.proxy_keys_in},
                                        {"accepted", k.accepted},
                                        {"wrong_source", k.wrong_source},
                                        {"signature_bad", k.signature_bad},
                                        {"fingerprint_bad", k.fingerprint_bad},
                                        {"malformed_key", k.malformed_key}};
    }
    if (_heartbeats) {
        doc["receiver"]["heartbeats"] = heartbeat_json(*_heartbeats);
    }
}

} // namespace skycast::control::node
