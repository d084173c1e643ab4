#include "control/node/metrics_text.h"

#include "protocol/display_text.h"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace skycast::control::node {
namespace {

using json = nlohmann::json;

// A label value: backslash, double quote and newline escaped (the format's
// rule), and never anything but valid UTF-8 (display_text).
std::string label_value(const std::string& text) {
    std::string out;
    for (const char c : protocol::display_text(text)) {
        if (c == '\\' || c == '"') {
            out += '\\';
        }
        out += c;
    }
    return out;
}

std::string help_text(const std::string& text) {
    std::string out;
    for (const char c : protocol::display_text(text)) {
        out += c == '\\' ? std::string("\\\\") : std::string(1, c);
    }
    return out;
}

double number(const json& v) {
    if (v.is_number()) {
        return v.get<double>();
    }
    if (v.is_boolean()) {
        return v.get<bool>() ? 1.0 : 0.0;
    }
    return 0.0;
}

// Writes families: one HELP/TYPE header, then samples.
class writer {
public:
    void family(const std::string& name, const char* type, const std::string& help) {
        _out << "# HELP " << name << ' ' << help_text(help) << '\n';
        _out << "# TYPE " << name << ' ' << type << '\n';
    }
    void sample(const std::string& name, const std::map<std::string, std::string>& labels,
                double value) {
        _out << name;
        if (!labels.empty()) {
            _out << '{';
            bool first = true;
            for (const auto& [k, v] : labels) {
                _out << (first ? "" : ",") << k << "=\"" << label_value(v) << '"';
                first = false;
            }
            _out << '}';
        }
        _out << ' ' << format(value) << '\n';
    }
    // A family of one unlabelled sample, if the document has the value.
    void single(const std::string& name, const char* type, const std::string& help, const json& doc,
                const char* key, double scale = 1.0) {
        if (!doc.is_object() || !doc.contains(key)) {
            return;
        }
        family(name, type, help);
        sample(name, {}, number(doc[key]) * scale);
    }
    std::string str() const { return _out.str(); }

private:
    // Counters exactly (a stream's default 6 digits would round them), other
    // values with every digit a double holds.
    static std::string format(double v) {
        char buf[32];
        if (std::floor(v) == v && std::fabs(v) < 9.0e15) {
            std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
        } else {
            std::snprintf(buf, sizeof buf, "%.17g", v);
        }
        return buf;
    }

    std::ostringstream _out;
};

const json& member(const json& doc, const char* key) {
    static const json none;
    return doc.is_object() && doc.contains(key) ? doc[key] : none;
}

std::string text_of(const json& v) {
    return v.is_string() ? v.get<std::string>() : v.is_null() ? std::string() : v.dump();
}

void dataplane_metrics(writer& w, const json& dp) {
    // The dataplane's help text per counter travels in the document.
    const json& help = member(dp, "counter_help");
    const json& counters = member(dp, "counters");
    if (counters.is_object()) {
        for (const auto& [name, value] : counters.items()) {
            const std::string metric = "skycast_dataplane_" + metric_name(name) + "_total";
            const json& h = member(help, name.c_str());
            w.family(metric, "counter",
                     name + (h.is_string() && !h.get_ref<const std::string&>().empty()
                                 ? ": " + h.get<std::string>()
                                 : ""));
            w.sample(metric, {}, number(value));
        }
    }
    const json& port = member(dp, "port");
    if (port.is_object()) {
        for (const auto& [name, value] : port.items()) {
            const std::string metric = "skycast_port_" + metric_name(name) + "_total";
            w.family(metric, "counter", "ethdev statistic " + name + " of the node's port");
            w.sample(metric, {}, number(value));
        }
    }
    w.single("skycast_dataplane_heartbeat", "counter",
             "the dataplane's heartbeat (bumped about every 100 ms while it runs)", dp,
             "heartbeat");
}

void control_metrics(writer& w, const json& c) {
    w.single("skycast_control_snapshot_age_seconds", "gauge",
             "age of the session part of the stats (published at most every 100 ms)", c,
             "snapshot_age_ms", 1e-3);
    w.single("skycast_control_loop_stalls_total", "counter",
             "control-loop rounds longer than 50 ms", c, "loop_stalls");
    w.single("skycast_control_longest_round_seconds", "gauge",
             "the longest control-loop round so far", c, "longest_round_ms", 1e-3);
    w.single("skycast_control_request_errors_total", "counter",
             "socket requests whose handling failed (answered with an error)", c, "request_errors");
    w.single("skycast_control_resident_bytes", "gauge", "resident memory of skycast-control", c,
             "rss_kib", 1024.0);
    const json& s = member(c, "socket");
    w.single("skycast_stats_answered_total", "counter", "stats requests answered", s,
             "stats_answered");
    w.single("skycast_stats_slowest_seconds", "gauge", "the slowest stats answer so far", s,
             "slowest_stats_ms", 1e-3);
    w.single("skycast_control_socket_bad_requests_total", "counter",
             "lines on the control socket that were not a request", s, "bad_requests");
    w.single("skycast_control_socket_clients_dropped_total", "counter",
             "socket clients dropped (not reading their answers)", s, "clients_dropped");
}

void copies_metrics(writer& w, const json& c) {
    w.single("skycast_control_copies_held_total", "counter",
             "spaced control copies queued to leave later (control.copy_spacing)", c, "held");
    w.single("skycast_control_copies_released_total", "counter",
             "spaced control copies sent when due", c, "released");
    w.single("skycast_control_copies_unspaced_total", "counter",
             "control copies sent at once because the hold was full", c, "unspaced");
    w.single("skycast_control_copies_send_failures_total", "counter",
             "due control copies the dataplane could not take", c, "send_failures");
}

void receiver_metrics(writer& w, const json& doc) {
    const json& r = member(doc, "receiver");
    if (r.is_object()) {
        for (const auto& [name, value] : r.items()) {
            if (!value.is_number() && !value.is_boolean()) {
                continue; // fec_ended, below
            }
            const bool gauge =
                name == "sessions_running" || name == "max_sessions" || name == "groups_joined";
            const std::string metric =
                "skycast_receiver_" + metric_name(name) + (gauge ? "" : "_total");
            w.family(metric, gauge ? "gauge" : "counter", "receiver node: " + name);
            w.sample(metric, {}, number(value));
        }
        // FEC parity of the sessions that have ended (docs/protocol.md §17).
        if (const json& fec = member(r, "fec_ended"); fec.is_object()) {
            for (const char* name :
                 {"parity_kept", "groups_rebuilt", "blocks_rebuilt", "groups_ready_by_data"}) {
                const std::string metric = std::string("skycast_receiver_fec_") + name + "_total";
                w.family(metric, "counter", std::string("FEC, ended sessions: ") + name);
                w.sample(metric, {}, number(member(fec, name)));
            }
            if (const json& dropped = member(fec, "parity_dropped"); dropped.is_object()) {
                w.family("skycast_receiver_fec_parity_dropped_total", "counter",
                         "FEC, ended sessions: PARITY dropped, by reason");
                for (const auto& [reason, count] : dropped.items()) {
                    w.sample("skycast_receiver_fec_parity_dropped_total", {{"reason", reason}},
                             number(count));
                }
            }
        }
        // The response proxy's keys (control.response_proxy).
        if (const json& key = member(r, "proxy_key"); key.is_object()) {
            for (const auto& [name, value] : key.items()) {
                const bool gauge = name == "have_key";
                const std::string metric =
                    "skycast_receiver_proxy_key_" + metric_name(name) + (gauge ? "" : "_total");
                w.family(metric, gauge ? "gauge" : "counter",
                         "the response proxy's keys (KEY_REQ / PROXY_KEY): " + name);
                w.sample(metric, {}, number(value));
            }
        }
    }
    const json& sessions = member(doc, "sessions");
    if (!sessions.is_array() || sessions.empty()) {
        return;
    }
    w.family("skycast_receiver_session_info", "gauge",
             "a running receiver session and its state (value 1)");
    for (const auto& s : sessions) {
        w.sample("skycast_receiver_session_info",
                 {{"session", text_of(member(s, "session"))},
                  {"server", text_of(member(s, "server"))},
                  {"state", text_of(member(s, "state"))}},
                 1);
    }
    for (const char* key :
         {"files", "files_received", "files_rejected", "status_sent", "nak_lists_sent",
          "status_bytes_sent", "fec_fallbacks", "done_silent", "overload_reports", "bytes_received",
          "duplicates_in", "seq_out_of_range", "late_listings_taken", "early_completes"}) {
        const std::string metric = std::string("skycast_receiver_session_") + key;
        w.family(metric, "gauge", std::string("running receiver session: ") + key);
        for (const auto& s : sessions) {
            w.sample(metric,
                     {{"session", text_of(member(s, "session"))},
                      {"server", text_of(member(s, "server"))}},
                     number(member(s, key)));
        }
    }
}

// A proxy node's section of the stats (`section`): its numbers, gauges
// (what it holds now) or counters, under `prefix`.
void proxy_section_metrics(writer& w, const json& doc, const char* section, const char* prefix,
                           const char* what) {
    const json& p = member(doc, section);
    if (!p.is_object()) {
        return;
    }
    for (const auto& [name, value] : p.items()) {
        if (!value.is_number()) {
            continue; // text (a server proxy's downstream): in the stats document
        }
        const bool gauge = name == "sessions" || name == "clients" || name == "servers";
        const std::string metric = prefix + metric_name(name) + (gauge ? "" : "_total");
        w.family(metric, gauge ? "gauge" : "counter", std::string(what) + ": " + name);
        w.sample(metric, {}, number(value));
    }
}

// A response proxy node (control.role: response_proxy), a server proxy node
// (server_proxy), a client proxy node (client_proxy: its aggregation under
// skycast_proxy_, like a response proxy's).
void proxy_metrics(writer& w, const json& doc) {
    proxy_section_metrics(w, doc, "proxy", "skycast_proxy_", "response proxy");
    proxy_section_metrics(w, doc, "server_proxy", "skycast_server_proxy_", "server proxy");
    proxy_section_metrics(w, doc, "client_proxy", "skycast_client_proxy_", "client proxy");
    // Heartbeats, a client proxy's or a receiver's.
    for (const char* owner : {"client_proxy", "receiver"}) {
        const json& h = member(member(doc, owner), "heartbeats");
        if (!h.is_object()) {
            continue;
        }
        for (const auto& [name, value] : h.items()) {
            const bool gauge = name == "servers_accepting";
            const std::string metric =
                "skycast_heartbeats_" + metric_name(name) + (gauge ? "" : "_total");
            w.family(metric, gauge ? "gauge" : "counter", "heartbeats to server proxies: " + name);
            w.sample(metric, {}, number(value));
        }
    }
}

// The running send session's figures exported as gauges, by their stats key.
constexpr const char* sender_session_gauges[] = {"bytes_sent",
                                                 "bytes_total",
                                                 "blocks_resent",
                                                 "passes",
                                                 "status_in",
                                                 "status_bad",
                                                 "nak_lists_in",
                                                 "early_data_passes",
                                                 "fileinfo_acks_late",
                                                 "late_answers_done_at_once",
                                                 "copy_waits",
                                                 "repair_passes_stretched",
                                                 "passes_refused",
                                                 "file_number",
                                                 "proxied_receivers",
                                                 "proxy_refused",
                                                 "proxy_list_refused",
                                                 "duplicates_in",
                                                 "overload_signals",
                                                 "rate_decreases",
                                                 "rate_increases",
                                                 "rate_bps",
                                                 "early_session_completes"};

void sender_metrics(writer& w, const json& doc) {
    const json& s = member(doc, "session");
    if (!s.is_object() || !s.contains("phase")) {
        return;
    }
    const std::string session = text_of(member(s, "id"));
    w.family("skycast_sender_session_info", "gauge", "the running send session and its phase");
    w.sample("skycast_sender_session_info",
             {{"session", session}, {"phase", text_of(member(s, "phase"))}}, 1);
    for (const char* key : sender_session_gauges) {
        const std::string metric = std::string("skycast_sender_session_") + key;
        w.family(metric, "gauge", std::string("running send session: ") + key);
        w.sample(metric, {{"session", session}}, number(member(s, key)));
    }
    w.family("skycast_sender_session_grtt_seconds", "gauge", "the session's group round trip");
    w.sample("skycast_sender_session_grtt_seconds", {{"session", session}},
             number(member(s, "grtt")));
    if (const json& phases = member(s, "phases"); phases.is_array() && !phases.empty()) {
        w.family("skycast_sender_session_phase_seconds", "gauge",
                 "running send session: time spent in each phase so far");
        for (const auto& p : phases) {
            w.sample("skycast_sender_session_phase_seconds",
                     {{"session", session}, {"phase", text_of(member(p, "phase"))}},
                     number(member(p, "seconds")));
        }
    }
    const json& receivers = member(s, "receivers");
    if (!receivers.is_array() || receivers.empty()) {
        return;
    }
    w.family("skycast_sender_receiver_info", "gauge",
             "a receiver of the running send session and its outcome so far (value 1)");
    for (const auto& r : receivers) {
        w.sample("skycast_sender_receiver_info",
                 {{"session", session},
                  {"uid", text_of(member(r, "uid"))},
                  {"outcome", text_of(member(r, "outcome"))}},
                 1);
    }
    // Progress per receiver: what the sender knows or presumes it holds
    // (completed files, plus the current file's blocks sent less those its
    // last STATUS NAKed), as bytes and percent of the session, and its pass.
    static constexpr std::pair<const char*, const char*> per_receiver[] = {
        {"rtt", "skycast_sender_receiver_rtt_seconds"},
        {"bytes_known", "skycast_sender_receiver_bytes_known"},
        {"percent", "skycast_sender_receiver_percent"},
        {"pass", "skycast_sender_receiver_pass"}};
    for (const auto& [key, metric] : per_receiver) {
        w.family(metric, "gauge", std::string("a receiver of the running send session: ") + key);
        for (const auto& r : receivers) {
            w.sample(metric, {{"session", session}, {"uid", text_of(member(r, "uid"))}},
                     number(member(r, key)));
        }
    }
}

} // namespace

std::string metric_name(std::string_view text) {
    std::string out;
    for (const char c : text) {
        const bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        out += ok ? c : '_';
    }
    return out;
}

std::string prometheus_text(const json& stats) {
    writer w;
    w.family("skycast_build_info", "gauge", "the node's software and role (value 1)");
    w.sample("skycast_build_info",
             {{"version", text_of(member(stats, "version"))},
              {"contract_version", text_of(member(stats, "contract_version"))},
              {"role", text_of(member(stats, "role"))},
              {"node", text_of(member(stats, "node"))}},
             1);
    w.single("skycast_sessions_done_total", "counter", "sessions that ended, any outcome", stats,
             "sessions_done");
    const json& outcomes = member(stats, "outcomes");
    if (outcomes.is_object() && !outcomes.empty()) {
        w.family("skycast_sessions_ended_total", "counter", "sessions that ended, by outcome");
        for (const auto& [outcome, count] : outcomes.items()) {
            w.sample("skycast_sessions_ended_total", {{"outcome", outcome}}, number(count));
        }
    }
    control_metrics(w, member(stats, "control"));
    copies_metrics(w, member(stats, "control_copies"));
    dataplane_metrics(w, member(stats, "dataplane"));
    receiver_metrics(w, stats);
    const json& hooks = member(stats, "hooks");
    if (hooks.is_object()) {
        for (const auto& [name, value] : hooks.items()) {
            const std::string metric = "skycast_hooks_" + metric_name(name) + "_total";
            w.family(metric, "counter", "post-receive hooks: " + name);
            w.sample(metric, {}, number(value));
        }
    }
    sender_metrics(w, stats);
    proxy_metrics(w, stats);
    return w.str();
}

} // namespace skycast::control::node
