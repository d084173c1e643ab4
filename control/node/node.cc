#include "control/node/node.h"

#include "config/values.h"
#include "control/dataplane_link/dataplane_stats.h"
#include "control/engine/file_list.h"
#include "control/engine/receive_file.h"
#include "control/node/engine_settings.h"
#include "control/node/heartbeat_json.h"
#include "crypto/random.h"
#include "dataplane/core/idle_backoff.h"
#include "protocol/codec.h"
#include "protocol/display_text.h"
#include "protocol/quantize.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace skycast::control::node {
namespace {

using json = nlohmann::json;
using engine::time_ns;

// A listed receiver from which no REGISTER came: one that never answered
// the announce phase, or that fast start took into the session unheard and
// dropped after its rounds.
constexpr const char* never_registered_reason = "did not register: no REGISTER came from it";
// Sessions kept in the stats after they ended.
constexpr std::size_t history_size = 32;
// Progress lines to a waiting `skycast send`, at most this often.
constexpr time_ns progress_interval = engine::ns_per_second;
// Pauses of the idle loop (microseconds): from the first, doubling while
// nothing happens, never past the nearest engine deadline. Received
// datagrams wait at most the longest pause: small beside any GRTT.
constexpr std::uint32_t idle_pause_first_us = 100;
constexpr std::uint32_t idle_pause_longest_us = 2000;
// How often the loop refreshes what stats() serves of the sessions.
constexpr time_ns ns_per_ms = 1'000'000;
constexpr time_ns publish_interval = 100 * ns_per_ms;
// A loop round longer than this is counted as a stall (control.loop_stalls).
constexpr std::int64_t stall_threshold = 50 * static_cast<std::int64_t>(ns_per_ms);

// A sender runs one session at a time, in the dataplane's first key slot.
constexpr std::uint8_t sender_key_slot = 0;

// The process's resident memory (/proc/self/statm), for the stats: what
// bounded sessions and buffers come to, watched over months.
std::uint64_t resident_kib() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (f == nullptr) {
        return 0;
    }
    unsigned long long size = 0;
    unsigned long long resident = 0;
    const int n = std::fscanf(f, "%llu %llu", &size, &resident);
    std::fclose(f);
    return n == 2 ? resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) / 1024 : 0;
}

// Seconds, for the documents.
double seconds_between(time_ns from, time_ns to) {
    return to > from ? static_cast<double>(to - from) / static_cast<double>(engine::ns_per_second)
                     : 0.0;
}

// A receiver's share of the session, to 0.1 %: what a progress bar shows.
// A session without data bytes (directories, links, empty files) is done
// for a receiver when it completed.
double percent_of(std::uint64_t known, std::uint64_t total, engine::client_outcome outcome) {
    if (total == 0) {
        return outcome == engine::client_outcome::completed ? 100.0 : 0.0;
    }
    const double p =
        100.0 * static_cast<double>(std::min(known, total)) / static_cast<double>(total);
    return std::floor(p * 10.0) / 10.0;
}

// The line a waiting `skycast send` gets every progress_interval.
json progress_event(const engine::sender_engine& e, time_ns started, time_ns now) {
    const auto p = e.progress();
    json receivers = json::array();
    std::uint32_t active = 0;
    for (const auto& r : p.receivers) {
        active += r.outcome == engine::client_outcome::active ? 1 : 0;
        receivers.push_back({{"uid", hex_id(r.uid)},
                             {"bytes_known", r.bytes_known},
                             {"percent", percent_of(r.bytes_known, p.bytes_total, r.outcome)},
                             {"outcome", engine::name(r.outcome)},
                             {"pass", r.pass}});
    }
    const auto& st = e.stats();
    // "receivers" was the count of active receivers until the per-receiver
    // array took the name; the count is "receivers_active". Counted from the
    // outcomes (the engine's own count, the header's group size, is not
    // lowered when the session finishes): 0 in the last event.
    return {{"event", "progress"},
            {"phase", engine::name(e.phase())},
            {"receivers_active", active},
            {"receivers", std::move(receivers)},
            {"passes", st.passes},
            {"bytes_sent", p.bytes_sent},
            {"grtt", e.grtt()},
            {"files", p.files},
            {"file_number", p.file_number},
            {"pass", p.pass},
            {"bytes_total", p.bytes_total},
            {"elapsed", seconds_between(started, now)}};
}

// The sender engine's counters, as both the live session and the result
// document show them: every one of them says something an operator may
// need (sender_stats' comments), and one list keeps the two the same.
json sender_counters(const engine::sender_stats& st) {
    return {{"datagrams_in", st.datagrams_in},
            {"duplicates_in", st.duplicates_in},
            {"rtt_echo_repeats", st.rtt_echo_repeats},
            {"proxied_receivers", st.proxied_clients},
            {"proxy_refused", st.proxy_refused},
            {"proxy_list_refused", st.proxy_list_refused},
            {"passes", st.passes},
            {"passes_refused", st.passes_refused},
            {"bytes_sent", st.bytes_sent},
            {"blocks_resent", st.blocks_resent},
            {"status_in", st.status_in},
            {"status_bad", st.status_bad},
            {"nak_lists_in", st.nak_lists_in},
            {"early_data_passes", st.early_data_passes},
            {"fast_start_hosts", st.fast_start_hosts},
            {"fast_start_reannounces", st.fast_start_reannounces},
            {"fileinfo_acks_late", st.fileinfo_acks_late},
            {"late_answers_done_at_once", st.late_answers_done_at_once},
            {"copy_waits", st.copy_waits},
            {"early_session_completes", st.early_session_completes},
            {"repair_passes_stretched", st.repair_passes_stretched},
            {"overload_signals", st.overload_signals},
            {"rate_decreases", st.rate_decreases},
            {"rate_increases", st.rate_increases},
            {"rate_bps", st.rate_bps}};
}

// Where the session's time went, per phase entered (data and done_wait once
// per pass): numbers for programs, and one line for people (the log, and
// `skycast send` prints it).
json phase_document(const engine::phase_times& t) {
    json out = json::array();
    for (std::size_t i = 0; i < engine::sender_phase_count; ++i) {
        if (t.entered[i] != 0) {
            out.push_back({{"phase", engine::name(static_cast<engine::sender_phase>(i))},
                           {"seconds", static_cast<double>(t.spent[i]) /
                                           static_cast<double>(engine::ns_per_second)},
                           {"entered", t.entered[i]}});
        }
    }
    return out;
}

std::string phase_line(const engine::phase_times& t) {
    std::string line;
    char part[96];
    for (std::size_t i = 0; i < engine::sender_phase_count; ++i) {
        if (t.entered[i] == 0 ||
            static_cast<engine::sender_phase>(i) == engine::sender_phase::finished) {
            continue;
        }
        const double s =
            static_cast<double>(t.spent[i]) / static_cast<double>(engine::ns_per_second);
        std::snprintf(part, sizeof part, "%s%s %.2f s", line.empty() ? "" : ", ",
                      engine::name(static_cast<engine::sender_phase>(i)), s);
        line += part;
        if (t.entered[i] > 1) {
            line += " (" + std::to_string(t.entered[i]) + " times)";
        }
    }
    return line;
}

std::uint32_t random_group_id() {
    std::random_device rd;
    std::uint32_t id = 0;
    while (id == 0) {
        id = rd();
    }
    return id;
}

} // namespace

time_ns wall_clock_ns() {
    return static_cast<time_ns>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
}

node::node(const config::node_config& config, dataplane_link& link, node_log& log,
           control_socket* socket)
    : _config(config), _link(link), _log(log), _socket(socket), _groups(link, config.control.port) {
}

node::~node() = default;

bool node::prepare_receiving() {
    const auto& r = *_config.control.receiver;
    struct stat dest {};
    if (::stat(r.destination.c_str(), &dest) != 0 || !S_ISDIR(dest.st_mode)) {
        SKYCAST_LOG(_log, error, "destination %s is not a directory", r.destination.c_str());
        return false;
    }
    if (!r.temp_dir.empty()) {
        struct stat temp {};
        if (::stat(r.temp_dir.c_str(), &temp) != 0 || !S_ISDIR(temp.st_mode)) {
            SKYCAST_LOG(_log, error, "temp_dir %s is not a directory", r.temp_dir.c_str());
            return false;
        }
        if (temp.st_dev != dest.st_dev) {
            // Completion is a rename, which cannot cross file systems.
            SKYCAST_LOG(_log, error,
                        "temp_dir %s is not on the file system of destination %s: completed "
                        "files could not be renamed into place",
                        r.temp_dir.c_str(), r.destination.c_str());
            return false;
        }
    }
    // No session runs yet: any temp file there was left by a crash.
    const std::string& temps = r.temp_dir.empty() ? r.destination : r.temp_dir;
    if (const auto removed = engine::remove_stale_temp_files(temps); removed != 0) {
        SKYCAST_LOG(_log, info, "removed %u temp files a previous run left in %s", removed,
                    temps.c_str());
    }
    std::string error;
    auto settings = receiver_settings(_config.control, error);
    if (!error.empty()) {
        SKYCAST_LOG(_log, error, "%s", error.c_str());
    }
    if (r.hooks.enabled()) {
        _hooks = std::make_unique<post_receive_hooks>(r.hooks, r.destination, _log);
    }
    _receivers = std::make_unique<receiver_sessions>(_config.control, std::move(settings), _link,
                                                     _groups, _log, _hooks.get());
    return true;
}

bool node::setup() {
    std::string error;
    if (!_link.take_control(_config.control.port, error)) {
        SKYCAST_LOG(_log, error, "%s", error.c_str());
        return false;
    }
    if (_config.control.role == config::node_role::sender) {
        return true;
    }
    if (_config.control.role == config::node_role::client_proxy) {
        return setup_client_proxy(); // its sessions come unicast, from server proxies
    }
    // Receivers, response and server proxies learn sessions from ANNOUNCEs.
    if (!_groups.join(_config.control.public_group)) {
        SKYCAST_LOG(_log, error, "cannot join the public group: %s", _groups.last_error().c_str());
        return false;
    }
    if (_config.control.role == config::node_role::response_proxy) {
        auto settings = response_proxy_settings(_config.control, error);
        if (!error.empty()) {
            SKYCAST_LOG(_log, error, "response proxy keys: %s", error.c_str());
            return false;
        }
        _proxy_network = std::make_unique<link_network>(_link, _config.control.port);
        _proxy =
            std::make_unique<engine::response_proxy>(std::move(settings), *_proxy_network, _groups);
        return true;
    }
    if (_config.control.role == config::node_role::server_proxy) {
        const auto& sp = *_config.control.server_proxy;
        engine::server_proxy_config c{.proxy_id = _config.control.uid};
        if (sp.downstream) {
            c.downstream = engine::endpoint{.address = *sp.downstream, .port = sp.downstream_port};
        }
        c.downstream_fingerprint = sp.downstream_fingerprint;
        c.max_servers = api::max_forwards;
        _proxy_network = std::make_unique<link_network>(_link, _config.control.port);
        _forwarding = std::make_unique<link_forwarding>(_link, _groups);
        _server_proxy =
            std::make_unique<engine::server_proxy>(std::move(c), *_proxy_network, *_forwarding, [] {
                std::uint32_t v = 0;
                // A failed draw leaves 0, which the engine draws again.
                (void)crypto::random_bytes(
                    std::span(reinterpret_cast<std::uint8_t*>(&v), sizeof v));
                return v;
            });
        return true;
    }
    return prepare_receiving();
}

bool node::setup_client_proxy() {
    std::string error;
    auto heartbeats = heartbeat_settings_of(_config.control, error);
    if (!error.empty()) {
        SKYCAST_LOG(_log, error, "heartbeats: %s", error.c_str());
        return false;
    }
    auto aggregation = response_proxy_settings(_config.control, error);
    if (!error.empty()) {
        SKYCAST_LOG(_log, error, "client proxy keys: %s", error.c_str());
        return false;
    }
    // The server's KEYINFO and REG_CONF come from upstream, unicast.
    aggregation.join_private_groups = false;
    engine::client_proxy_config c{.aggregation = std::move(aggregation),
                                  .port = _config.control.port,
                                  .heartbeat_to = std::move(heartbeats.to),
                                  .key = std::move(heartbeats.key)};
    if (heartbeats.interval != 0) {
        c.heartbeat_interval = heartbeats.interval;
    }
    _proxy_network = std::make_unique<link_network>(_link, _config.control.port);
    _forwarding = std::make_unique<link_forwarding>(_link, _groups);
    _client_proxy =
        std::make_unique<engine::client_proxy>(std::move(c), *_proxy_network, *_forwarding);
    _client_proxy->start(wall_clock_ns());
    return true;
}

node_exit node::run(const std::atomic<bool>& stop) {
    if (!setup()) {
        return node_exit::setup_failed;
    }
    publish(wall_clock_ns());
    if (_socket != nullptr) {
        _socket->serve([this] { return stats(); });
    }
    // The socket's thread calls stats() on this node: stop it before the
    // node goes, however run() returns.
    struct stop_serving {
        control_socket* socket;
        ~stop_serving() {
            if (socket != nullptr) {
                socket->stop();
            }
        }
    } serving{_socket};
    SKYCAST_LOG(_log, info, "%s node %s ready on port %u", config::role_name(_config.control.role),
                hex_id(_config.control.uid).c_str(), _config.control.port);
    // Deep idle (idle_backoff.h): a node with nothing to do for a second
    // wakes every 20 ms; engine deadlines still cut every pause short.
    dataplane::idle_backoff backoff(idle_pause_first_us, idle_pause_longest_us, 0,
                                    dataplane::node_deep_idle);
    while (!stop.load()) {
        const std::int64_t round_start = steady_ns();
        if (!_link.alive()) {
            SKYCAST_LOG(_log, error, "the dataplane stopped or restarted");
            if (_job) {
                _job->engine->abort(wall_clock_ns(), "Dataplane failure");
                finish_job(wall_clock_ns());
            }
            return node_exit::dataplane_lost;
        }
        bool did = false;
        while (auto d = _link.receive()) {
            did = true;
            dispatch(wall_clock_ns(), *d);
        }
        while (_socket != nullptr && _socket->handle_next_request(
                                         [this](const auto& r) { on_request(r.client, r.body); })) {
            did = true;
        }
        const time_ns now = wall_clock_ns();
        did |= tick(now);
        if (now >= _next_publish) {
            publish(now);
        }
        const std::int64_t round = steady_ns() - round_start;
        if (round > stall_threshold) {
            _loop_stalls.fetch_add(1, std::memory_order_relaxed);
        }
        if (const auto us = static_cast<std::uint64_t>(round / 1000);
            us > _longest_round_us.load(std::memory_order_relaxed)) {
            _longest_round_us.store(us, std::memory_order_relaxed);
        }
        time_ns pause = static_cast<time_ns>(backoff.after_round(did)) * 1000;
        time_ns deadline = engine::no_deadline;
        if (_receivers) {
            deadline = _receivers->next_deadline();
        }
        if (_proxy) {
            deadline = _proxy->next_deadline();
        }
        if (_server_proxy) {
            deadline = _server_proxy->next_deadline();
        }
        if (_client_proxy) {
            deadline = _client_proxy->next_deadline();
        }
        if (_job) {
            deadline = std::min(deadline, _job->engine->next_deadline());
        }
        if (deadline != engine::no_deadline) {
            pause = deadline > now ? std::min(pause, deadline - now) : 0;
        }
        if (const auto due_in = _link.next_due_in()) {
            pause = std::min(pause, static_cast<time_ns>(*due_in));
        }
        if (pause > 0) {
            std::this_thread::sleep_for(std::chrono::nanoseconds(pause));
        }
    }
    if (_job) {
        _job->engine->abort(wall_clock_ns(), "Server shutting down");
        finish_job(wall_clock_ns());
    }
    if (_receivers) {
        _receivers->abort_all(wall_clock_ns(), "Client shutting down");
    }
    return node_exit::stopped;
}

void node::dispatch(time_ns now, const dataplane_link::received& d) {
    if (_receivers) {
        _receivers->on_datagram(now, d);
    } else if (_proxy) {
        _proxy->on_datagram(now, {.address = d.meta.peer.address, .port = d.meta.peer.port},
                            d.bytes);
    } else if (_server_proxy) {
        _server_proxy->on_datagram(now, {.address = d.meta.peer.address, .port = d.meta.peer.port},
                                   d.bytes);
    } else if (_client_proxy) {
        _client_proxy->on_datagram(now, {.address = d.meta.peer.address, .port = d.meta.peer.port},
                                   d.bytes, (d.meta.flags & api::datagram_forwarded) != 0);
    } else if (_job) {
        _job->engine->on_datagram(now, {.address = d.meta.peer.address, .port = d.meta.peer.port},
                                  d.bytes);
    }
}

bool node::tick(time_ns now) {
    // Spaced control copies first: an engine's timer below may start a pass
    // whose FILESEGs must not overtake them (sender_engine::copies_out_after).
    bool did = _link.send_due();
    while (auto e = _link.next_tx_event()) {
        did = true;
        if (!_job || !_job->ports->pass_in_progress()) {
            continue; // a pass of a job that ended
        }
        if (e->kind == api::tx_event_kind::pass_stopped && e->detail != 0) {
            SKYCAST_LOG(_log, error, "session %s: pass %u stopped: %s",
                        hex_id(_job->group_id).c_str(), e->pass, std::strerror(e->detail));
        }
        _job->ports->pass_finished();
        _job->engine->on_pass_end(now, _job->ports->pass_file_id());
    }
    if (_job && _job->engine->stats().passes_refused != _job->passes_refused_logged) {
        // The engine went on to its DONE round without the pass: say why.
        _job->passes_refused_logged = _job->engine->stats().passes_refused;
        SKYCAST_LOG(_log, warn, "session %s: the dataplane did not take a pass: %s",
                    hex_id(_job->group_id).c_str(), _job->ports->last_error().c_str());
    }
    if (_receivers) {
        did |= _receivers->tick(now);
        auto ended = _receivers->take_ended();
        for (auto& entry : ended) {
            remember(std::move(entry));
        }
        if (!ended.empty()) {
            publish(now);
        }
    }
    if (_proxy && _proxy->next_deadline() <= now) {
        did = true;
        _proxy->on_timer(now);
    }
    if (_server_proxy && _server_proxy->next_deadline() <= now) {
        did = true;
        _server_proxy->on_timer(now);
    }
    if (_client_proxy && _client_proxy->next_deadline() <= now) {
        did = true;
        _client_proxy->on_timer(now);
    }
    if (_job) {
        if (_job->engine->next_deadline() <= now) {
            did = true;
            _job->engine->on_timer(now);
        }
        if (_job->engine->finished()) {
            finish_job(now);
        } else if (now - _job->last_progress >= progress_interval && _socket != nullptr) {
            _job->last_progress = now;
            _socket->send(_job->client, progress_event(*_job->engine, _job->started, now));
        }
    }
    return did;
}

void node::remember(json entry) {
    // Receivers' entries carry an outcome; a sender's result says ok or not.
    std::string outcome = "unknown";
    if (const auto o = entry.find("outcome"); o != entry.end() && o->is_string()) {
        outcome = o->get<std::string>();
    } else if (const auto ok = entry.find("ok"); ok != entry.end() && ok->is_boolean()) {
        outcome = ok->get<bool>() ? "success" : "failed";
    }
    ++_outcomes[outcome];
    _history.push_back(std::move(entry));
    if (_history.size() > history_size) {
        _history.pop_front();
    }
    ++_sessions_done;
}

// --- Sender -------------------------------------------------------------------------

void node::refuse(control_socket::client_id client, const std::string& why) {
    // An error is the request's final answer: the client is closed once it
    // has the line.
    _socket->send(client, {{"event", "error"}, {"error", why}});
    _socket->close(client);
}

void node::on_request(control_socket::client_id client, const json& request) {
    // A request is the client's data: whatever it holds, the node answers
    // with an error and goes on.
    try {
        handle_request(client, request);
    } catch (const std::exception& e) {
        _request_errors.fetch_add(1, std::memory_order_relaxed);
        refuse(client, std::string("bad request: ") + e.what());
    }
}

void node::handle_request(control_socket::client_id client, const json& request) {
    // `stats` never comes here: the socket's thread answers it (stats()).
    const auto field = request.find("request");
    const std::string kind =
        field != request.end() && field->is_string() ? field->get<std::string>() : std::string();
    if (kind == "send") {
        if (_config.control.role != config::node_role::sender) {
            refuse(client, "this node is a receiver");
            return;
        }
        if (_job) {
            refuse(client, "a transfer is already running; try again later");
            return;
        }
        start_job(client, request, wall_clock_ns());
        return;
    }
    refuse(client, "unknown request '" + kind + "'");
}

void node::start_job(control_socket::client_id client, const json& request, time_ns now) {
    std::vector<std::string> paths;
    if (request.contains("paths") && request["paths"].is_array()) {
        for (const auto& p : request["paths"]) {
            if (p.is_string()) {
                paths.push_back(p.get<std::string>());
            }
        }
    }
    if (paths.empty()) {
        refuse(client, "nothing to send: no paths");
        return;
    }
    auto list = engine::build_file_list(paths);
    if (!list.error.empty()) {
        refuse(client, list.error);
        return;
    }
    auto j = std::make_unique<job>();
    j->client = client;
    j->group_id = random_group_id();
    std::string error;
    auto settings = sender_settings(_config.control, j->group_id, error);
    if (!error.empty()) {
        refuse(client, error);
        return;
    }
    settings.own_address = _config.dataplane.ports.front().address.address;
    for (const auto& e : list.entries) {
        j->files += 1;
        j->bytes += e.size;
    }
    const auto& s = *_config.control.sender;
    j->ports = std::make_unique<dataplane_ports>(
        _link, _config.control.port, s.rate_bps,
        engine::endpoint{.address = s.private_group, .port = _config.control.port}, sender_key_slot,
        nullptr);
    j->ports->bind_sequence(j->seq);
    if (s.encryption.enabled()) {
        j->ports->signer_path = s.encryption.private_key;
    }
    job* raw = j.get();
    j->ports->identity = [this, raw] {
        return fileseg_identity{.sender_id = _config.control.uid,
                                .group_id = raw->group_id,
                                .group_inst = 0,
                                .grtt = protocol::quantize_grtt(raw->engine->grtt()),
                                .gsize =
                                    protocol::quantize_group_size(raw->engine->active_clients())};
    };
    j->engine = std::make_unique<engine::sender_engine>(
        std::move(settings), std::move(list.entries), *j->ports, *j->ports, j->seq);
    j->started = now;
    j->last_progress = now;
    _job = std::move(j);
    SKYCAST_LOG(_log, info, "session %s: sending %llu files, %llu bytes",
                hex_id(_job->group_id).c_str(), static_cast<unsigned long long>(_job->files),
                static_cast<unsigned long long>(_job->bytes));
    publish(now);
    _socket->send(client, {{"event", "started"},
                           {"session", hex_id(_job->group_id)},
                           {"files", _job->files},
                           {"bytes", _job->bytes}});
    _job->engine->start(now);
}

json node::job_result() const {
    const auto& e = *_job->engine;
    json receivers = json::array();
    bool all_ok = e.failure().empty();
    std::uint32_t completed = 0;
    json proxies = json::array();
    // Nodes that answered the hub themselves: its proxies and the receivers
    // without one (what a proxy saves the hub shows here).
    std::uint32_t peers = 0;
    for (const auto& c : e.clients().entries()) {
        peers += c.is_proxy || c.via == engine::client_entry::direct ? 1 : 0;
        if (c.is_proxy) {
            proxies.push_back({{"uid", hex_id(c.uid)}, {"outcome", engine::name(c.outcome)}});
            continue;
        }
        const bool ok = c.outcome == engine::client_outcome::completed && c.files_rejected == 0;
        completed += ok ? 1 : 0;
        all_ok = all_ok && ok;
        std::string reason;
        if (auto it = e.client_abort_reasons().find(c.uid); it != e.client_abort_reasons().end()) {
            reason = it->second;
        } else if (c.files_rejected != 0) {
            reason = std::to_string(c.files_rejected) + " file(s) rejected by the receiver";
        } else if (c.outcome == engine::client_outcome::never_registered) {
            reason = never_registered_reason; // fast start took it in unheard
        }
        receivers.push_back({{"uid", hex_id(c.uid)},
                             {"outcome", engine::name(c.outcome)},
                             {"ok", ok},
                             {"rtt", c.rtt},
                             {"files_rejected", c.files_rejected},
                             {"reason", protocol::display_text(reason)}});
    }
    // A closed group's listed clients that never registered failed too.
    for (const auto& listed : _config.control.sender->clients) {
        if (e.clients().find(listed.uid) == engine::client_table::npos) {
            all_ok = false;
            receivers.push_back(
                {{"uid", hex_id(listed.uid)},
                 {"outcome", engine::name(engine::client_outcome::never_registered)},
                 {"ok", false},
                 {"reason", never_registered_reason}});
        }
    }
    if (e.clients().size() == 0) {
        all_ok = false;
    }
    const time_ns now = wall_clock_ns();
    const double seconds =
        static_cast<double>(now - _job->started) / static_cast<double>(engine::ns_per_second);
    const engine::phase_times phases = e.time_in_phases(now);
    json result = {{"event", "result"},
                   {"ok", all_ok},
                   {"session", hex_id(_job->group_id)},
                   {"failure", e.failure().empty() && e.clients().size() == 0
                                   ? "no receiver registered"
                                   : e.failure()},
                   {"receivers", receivers},
                   {"receivers_ok", completed},
                   {"proxies", proxies},
                   {"peers", peers},
                   {"files", _job->files},
                   {"bytes", _job->bytes},
                   {"phases", phase_document(phases)},
                   {"time_by_phase", phase_line(phases)},
                   {"seconds", seconds}};
    result.update(sender_counters(e.stats()));
    return result;
}

void node::finish_job(time_ns now) {
    if (_socket != nullptr) {
        // The last picture before the result: every receiver's final state
        // and bytes, so that the bars end at what happened (completed at
        // 100 %, or where a receiver was lost).
        _socket->send(_job->client, progress_event(*_job->engine, _job->started, now));
    }
    json result = job_result();
    SKYCAST_LOG(_log, info, "session %s: %s, %u receivers completed%s%s; time by phase: %s",
                result["session"].get<std::string>().c_str(),
                result["ok"].get<bool>() ? "success" : "FAILED",
                result["receivers_ok"].get<std::uint32_t>(),
                result["failure"].get<std::string>().empty() ? "" : ": ",
                result["failure"].get<std::string>().c_str(),
                result["time_by_phase"].get<std::string>().c_str());
    remember(result);
    const control_socket::client_id client = _job->client;
    _job.reset();
    // Published before the client hears the result: a `skycast stats` right
    // after `skycast send` returns sees this session in the history.
    publish(wall_clock_ns());
    if (_socket != nullptr) {
        _socket->send(client, result);
        _socket->close(client);
    }
}

// --- Stats --------------------------------------------------------------------------

void node::publish(time_ns now) {
    auto doc = std::make_shared<const json>(loop_document());
    {
        std::lock_guard lock(_published_mutex);
        _published = std::move(doc);
    }
    _published_at.store(steady_ns(), std::memory_order_release);
    _next_publish = now + publish_interval;
}

json node::stats() const {
    std::shared_ptr<const json> published;
    {
        std::lock_guard lock(_published_mutex);
        published = _published;
    }
    json doc = published ? *published : json::object();
    const std::int64_t age_ns = steady_ns() - _published_at.load(std::memory_order_acquire);
    doc["control"] = {
        {"pid", ::getpid()},
        {"rss_kib", resident_kib()},
        {"snapshot_age_ms", age_ns / static_cast<std::int64_t>(ns_per_ms)},
        {"loop_stalls", _loop_stalls.load(std::memory_order_relaxed)},
        {"request_errors", _request_errors.load(std::memory_order_relaxed)},
        {"longest_round_ms",
         static_cast<double>(_longest_round_us.load(std::memory_order_relaxed)) / 1000.0}};
    if (_socket != nullptr) {
        const auto c = _socket->stats_counters();
        doc["control"]["socket"] = {
            {"stats_answered", c.stats_answered},
            {"requests_queued", c.requests_queued},
            {"bad_requests", c.bad_requests},
            {"clients_dropped", c.clients_dropped},
            {"slowest_stats_ms", static_cast<double>(c.max_stats_us) / 1000.0}};
    }
    doc["dataplane"] = dataplane_document(_link);
    return doc;
}

json node::loop_document() const {
    json doc{{"node", hex_id(_config.control.uid)},
             {"role", config::role_name(_config.control.role)},
             {"version", SKYCAST_VERSION},
             {"contract_version", api::contract_version},
             {"sessions_done", _sessions_done},
             {"outcomes", json(_outcomes)},
             {"history", json(_history)}};
    const auto& held = _link.held_stats();
    doc["control_copies"] = {{"held", held.held},
                             {"released", held.released},
                             {"unspaced", held.unspaced},
                             {"send_failures", _link.held_send_failures()}};
    if (_receivers) {
        _receivers->describe(doc);
    }
    if (_hooks) {
        doc["hooks"] = _hooks->stats();
    }
    // A response proxy's aggregation, and a client proxy's (the same engine).
    const engine::response_proxy* aggregation = _proxy          ? _proxy.get()
                                                : _client_proxy ? &_client_proxy->aggregation()
                                                                : nullptr;
    if (aggregation != nullptr) {
        const auto& st = aggregation->stats();
        doc["proxy"] = {{"sessions", aggregation->sessions()},
                        {"clients", aggregation->clients()},
                        {"datagrams_in", st.datagrams_in},
                        {"malformed_in", st.malformed_in},
                        {"announces", st.announces},
                        {"sessions_started", st.sessions_started},
                        {"sessions_evicted", st.sessions_evicted},
                        {"sessions_expired", st.sessions_expired},
                        {"encrypted_not_served", st.encrypted_not_served},
                        {"unknown_session", st.unknown_session},
                        {"clients_full", st.clients_full},
                        {"unexpected_in", st.unexpected_in},
                        {"answers_in", st.answers_in},
                        {"aggregates_sent", st.aggregates_sent},
                        {"aborts_forwarded", st.aborts_forwarded},
                        {"key_requests_unanswered", st.key_requests_unanswered},
                        {"encrypted_sessions", st.encrypted_sessions},
                        {"announce_signature_bad", st.announce_signature_bad},
                        {"proxy_keys_sent", st.proxy_keys_sent},
                        {"key_requests_limited", st.key_requests_limited},
                        {"key_info_bad", st.key_info_bad},
                        {"keyinfo_in", st.keyinfo_in},
                        {"keyinfo_bad", st.keyinfo_bad},
                        {"keyinfo_sent", st.keyinfo_sent},
                        {"keyinfo_acks", st.keyinfo_acks},
                        {"keyinfo_ack_bad", st.keyinfo_ack_bad},
                        {"clients_unkeyed", st.clients_unkeyed},
                        {"plaintext_refused", st.plaintext_refused},
                        {"undecryptable", st.undecryptable},
                        {"decrypt_failed", st.decrypt_failed},
                        {"server_sealed_ignored", st.server_sealed_ignored},
                        {"server_spoofed", st.server_spoofed},
                        {"clients_confirmed_by_listing", st.clients_confirmed_by_listing},
                        {"group_join_failed", st.group_join_failed},
                        {"groups_left_idle", st.groups_left_idle},
                        {"client_rekeyed", st.client_rekeyed},
                        {"seal_failed", st.seal_failed},
                        {"keyinfo_failed", st.keyinfo_failed},
                        {"client_keys_in", st.client_keys_in},
                        {"client_key_bad", st.client_key_bad},
                        {"client_keys_early_dropped", st.client_keys_early_dropped},
                        {"clients_unproved", st.clients_unproved},
                        {"announce_refused", st.announce_refused},
                        {"datagrams_sent", _proxy_network->sent},
                        {"send_failures", _proxy_network->send_failures}};
    }
    if (_client_proxy) {
        const auto& st = _client_proxy->stats();
        doc["client_proxy"] = {{"sessions", _client_proxy->sessions()},
                               {"announces", st.announces},
                               {"sessions_started", st.sessions_started},
                               {"sessions_ended", st.sessions_ended},
                               {"encrypted_not_served", st.encrypted_not_served},
                               {"unsupported_not_served", st.unsupported_not_served},
                               {"reannounce_failed", st.reannounce_failed},
                               {"announce_refused", st.announce_refused},
                               {"handshake_in", st.handshake_in},
                               {"resigned", st.resigned},
                               {"resign_bad", st.resign_bad},
                               {"from_upstream", st.from_upstream},
                               {"rules_full", st.rules_full},
                               {"from_upstream_late", st.from_upstream_late},
                               {"malformed_in", st.malformed_in},
                               {"taps_started", st.taps_started},
                               {"taps_ended", st.taps_ended},
                               {"sealed_tapped", st.sealed_tapped},
                               {"tap_failures", st.tap_failures},
                               {"forward_failures", _forwarding->failures},
                               {"heartbeats", heartbeat_json(_client_proxy->heartbeats())}};
    }
    if (_server_proxy) {
        const auto& st = _server_proxy->stats();
        const auto& down = _server_proxy->downstream();
        doc["server_proxy"] = {{"downstream", down ? config::format_ipv4(down->address) + ":" +
                                                         std::to_string(down->port)
                                                   : std::string()},
                               {"sessions", _server_proxy->sessions()},
                               {"servers", _server_proxy->servers()},
                               {"datagrams_in", st.datagrams_in},
                               {"malformed_in", st.malformed_in},
                               {"announces", st.announces},
                               {"sessions_started", st.sessions_started},
                               {"sessions_evicted", st.sessions_evicted},
                               {"sessions_expired", st.sessions_expired},
                               {"no_downstream", st.no_downstream},
                               {"servers_full", st.servers_full},
                               {"group_join_failed", st.group_join_failed},
                               {"answers_upstream", st.answers_upstream},
                               {"unknown_session", st.unknown_session},
                               {"not_downstream", st.not_downstream},
                               {"from_server_late", st.from_server_late},
                               {"handshake_forwarded", st.handshake_forwarded},
                               {"unexpected_in", st.unexpected_in},
                               {"heartbeats_in", st.heartbeats_in},
                               {"heartbeats_unauthenticated", st.heartbeats_unauthenticated},
                               {"heartbeats_challenged", st.heartbeats_challenged},
                               {"heartbeats_refused", st.heartbeats_refused},
                               {"heartbeats_accepted", st.heartbeats_accepted},
                               {"downstream_changes", st.downstream_changes},
                               {"forward_failures", _forwarding->failures},
                               {"datagrams_sent", _proxy_network->sent},
                               {"send_failures", _proxy_network->send_failures}};
    }
    if (_job) {
        const auto& e = *_job->engine;
        // The same progress as the events a `skycast send` gets, so that
        // `skycast status` on another terminal shows the same bars.
        const auto p = e.progress();
        json clients = json::array();
        json proxies = json::array();
        std::size_t i = 0; // p.receivers has every entry but the proxies, in order
        for (const auto& c : e.clients().entries()) {
            if (c.is_proxy) {
                proxies.push_back(
                    {{"uid", hex_id(c.uid)}, {"outcome", engine::name(c.outcome)}, {"rtt", c.rtt}});
                continue;
            }
            if (i >= p.receivers.size()) {
                break;
            }
            const auto& r = p.receivers[i++];
            clients.push_back({{"uid", hex_id(c.uid)},
                               {"outcome", engine::name(c.outcome)},
                               {"rtt", c.rtt},
                               {"naks_excess", c.nak_excess},
                               {"bytes_known", r.bytes_known},
                               {"percent", percent_of(r.bytes_known, p.bytes_total, r.outcome)},
                               {"pass", r.pass}});
        }
        const time_ns now = wall_clock_ns();
        doc["session"] = {{"id", hex_id(_job->group_id)},
                          {"phase", engine::name(e.phase())},
                          {"phases", phase_document(e.time_in_phases(now))},
                          {"grtt", e.grtt()},
                          {"receivers", clients},
                          {"receivers_active", e.active_clients()},
                          {"proxies", proxies},
                          {"files", p.files},
                          {"file_number", p.file_number},
                          {"pass", p.pass},
                          {"bytes_total", p.bytes_total},
                          {"started", _job->started / engine::ns_per_second},
                          {"elapsed", seconds_between(_job->started, now)}};
        doc["session"].update(sender_counters(e.stats()));
    }
    return doc;
}

} // namespace skycast::control::node
