#include "control/snmp/mib_view.h"

#include "control/cli/node_client.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace skycast::control::snmp {
namespace {

using cli::count_member;
using cli::member;
using cli::number_member;
using cli::text_member;
using nlohmann::json;

// The module's branches (SKYCAST-MIB.txt).
constexpr std::uint32_t notifications_arc = 0;
constexpr std::uint32_t objects_arc = 1;
constexpr std::uint32_t node_arc = 1;
constexpr std::uint32_t port_arc = 2;
constexpr std::uint32_t counter_table_arc = 3;
constexpr std::uint32_t outcome_table_arc = 4;
constexpr std::uint32_t session_table_arc = 5;
constexpr std::uint32_t receiver_node_arc = 6;
constexpr std::uint32_t receiver_table_arc = 7;
constexpr std::uint32_t notify_objects_arc = 8;
constexpr std::uint32_t entry_arc = 1; // xxxTable.1 is xxxEntry

constexpr std::uint32_t truth_true = 1;
constexpr std::uint32_t truth_false = 2;

oid_path under(std::initializer_list<std::uint32_t> arcs) {
    oid_path p = skycast_mib;
    p.insert(p.end(), arcs);
    return p;
}

// A DisplayString index: its length, then one sub-identifier per byte.
void append_text_index(oid_path& oid, std::string_view text) {
    oid.push_back(static_cast<std::uint32_t>(text.size()));
    for (const unsigned char c : text) {
        oid.push_back(c);
    }
}

mib_value text(std::string_view s, std::size_t max_bytes) {
    return {mib_type::text, 0, snmp_text(s, max_bytes)};
}
mib_value gauge(std::uint64_t v) {
    return {mib_type::gauge32, std::min<std::uint64_t>(v, UINT32_MAX), {}};
}
mib_value counter(std::uint64_t v) {
    return {mib_type::counter64, v, {}};
}
mib_value integer(std::uint64_t v) {
    return {mib_type::integer, v, {}};
}
mib_value truth(bool v) {
    return integer(v ? truth_true : truth_false);
}
// Seconds in the document to whole milliseconds for a Gauge32.
mib_value milliseconds(double seconds) {
    if (!(seconds > 0)) {
        return gauge(0);
    }
    return gauge(static_cast<std::uint64_t>(std::llround(std::min(seconds * 1000.0, 4.0e9))));
}

std::uint32_t hex_member(const json& obj, std::string_view key) {
    std::uint32_t id = 0;
    parse_hex_id(text_member(obj, key), id);
    return id;
}

void node_scalars(mib_view& v, const json* stats, bool dataplane_alive) {
    auto put = [&](std::uint32_t arc, mib_value value) {
        v[under({objects_arc, node_arc, arc, 0})] = std::move(value);
    };
    const json empty = json::object();
    const json& s = stats != nullptr ? *stats : empty;
    const json& control = member(s, "control");
    const std::string role = text_member(s, "role");
    put(1, text(text_member(s, "node"), 10));
    put(2, integer(role == "sender"           ? 1
                   : role == "receiver"       ? 2
                   : role == "response_proxy" ? 3
                   : role == "server_proxy"   ? 4
                   : role == "client_proxy"   ? 5
                                              : 0));
    put(3, text(text_member(s, "version"), 64));
    put(4, truth(stats != nullptr));
    put(5, truth(stats != nullptr && dataplane_alive));
    put(6, counter(count_member(s, "sessions_done")));
    put(7, gauge(count_member(control, "rss_kib")));
    put(8, counter(count_member(control, "request_errors")));
    put(9, gauge(count_member(control, "snapshot_age_ms")));
    put(10, counter(count_member(control, "loop_stalls")));
}

void port_scalars(mib_view& v, const json& port) {
    static constexpr std::string_view names[] = {"ipackets", "opackets", "ibytes",  "obytes",
                                                 "imissed",  "ierrors",  "oerrors", "rx_nombuf"};
    for (std::uint32_t i = 0; i < std::size(names); ++i) {
        v[under({objects_arc, port_arc, i + 1, 0})] = counter(count_member(port, names[i]));
    }
}

void counter_table(mib_view& v, const json& dataplane) {
    const json& counters = member(dataplane, "counters");
    const json& help = member(dataplane, "counter_help");
    if (!counters.is_object()) {
        return;
    }
    for (const auto& [name, value] : counters.items()) {
        if (name.empty() || name.size() > 48 || !value.is_number_unsigned()) {
            continue; // not a counter the MIB can index (SIZE (1..48))
        }
        for (const std::uint32_t column : {2u, 3u}) {
            oid_path oid = under({objects_arc, counter_table_arc, entry_arc, column});
            append_text_index(oid, snmp_text(name, 48));
            v[oid] = column == 2 ? counter(value.get<std::uint64_t>())
                                 : text(text_member(help, name), 112);
        }
    }
}

void outcome_table(mib_view& v, const json& outcomes) {
    if (!outcomes.is_object()) {
        return;
    }
    for (const auto& [name, value] : outcomes.items()) {
        const std::string index = snmp_text(name, 64);
        if (index.empty() || !value.is_number_unsigned()) {
            continue;
        }
        oid_path oid = under({objects_arc, outcome_table_arc, entry_arc, 2});
        append_text_index(oid, index);
        v[oid] = counter(value.get<std::uint64_t>());
    }
}

struct session_row {
    std::uint32_t server = 0;
    std::uint32_t group = 0;
    std::string state;
    std::uint64_t files = 0;
    std::uint64_t files_done = 0;
    std::uint64_t bytes_done = 0;
    std::uint64_t bytes_total = 0;
    double grtt = 0;
};

void put_session(mib_view& v, const session_row& r) {
    const mib_value values[] = {text(r.state, 32),      gauge(r.files),
                                gauge(r.files_done),    counter(r.bytes_done),
                                counter(r.bytes_total), milliseconds(r.grtt)};
    for (std::uint32_t i = 0; i < std::size(values); ++i) {
        v[under({objects_arc, session_table_arc, entry_arc, i + 3, r.server, r.group})] = values[i];
    }
}

void session_table(mib_view& v, const json& s) {
    // A receiver node's sessions, one per sender.
    if (const json& sessions = member(s, "sessions"); sessions.is_array()) {
        for (const auto& e : sessions) {
            session_row r;
            r.server = hex_member(e, "server");
            r.group = hex_member(e, "session");
            r.state = text_member(e, "state");
            r.files = count_member(e, "files");
            r.files_done = count_member(e, "files_received");
            r.bytes_done = count_member(e, "bytes_received");
            r.bytes_total = count_member(e, "bytes_total");
            r.grtt = number_member(e, "grtt");
            put_session(v, r);
        }
    }
    // A sender's one session, with its receivers.
    const json& session = member(s, "session");
    if (!session.is_object()) {
        return;
    }
    session_row r;
    r.server = hex_member(s, "node");
    r.group = hex_member(session, "id");
    r.state = text_member(session, "phase");
    r.files = count_member(session, "files");
    // file_number is the file being sent (1-based); those before it are done.
    const std::uint64_t file_number = count_member(session, "file_number");
    r.files_done = file_number > 0 ? file_number - 1 : 0;
    r.bytes_done = count_member(session, "bytes_sent");
    r.bytes_total = count_member(session, "bytes_total");
    r.grtt = number_member(session, "grtt");
    put_session(v, r);
    if (const json& receivers = member(session, "receivers"); receivers.is_array()) {
        for (const auto& c : receivers) {
            const std::uint32_t uid = hex_member(c, "uid");
            auto column = [&](std::uint32_t arc) {
                return under({objects_arc, receiver_table_arc, entry_arc, arc, uid});
            };
            v[column(2)] = text(text_member(c, "outcome"), 64);
            v[column(3)] = milliseconds(number_member(c, "rtt"));
            v[column(4)] = gauge(std::min<std::uint64_t>(
                static_cast<std::uint64_t>(std::max(0.0, number_member(c, "percent"))), 100));
        }
    }
}

void receiver_scalars(mib_view& v, const json& receiver) {
    if (!receiver.is_object()) {
        return;
    }
    static constexpr std::pair<std::string_view, bool> fields[] = {{"sessions_running", false},
                                                                   {"max_sessions", false},
                                                                   {"groups_joined", false},
                                                                   {"sessions_started", true},
                                                                   {"refused_full", true},
                                                                   {"refused_rate", true},
                                                                   {"evicted", true},
                                                                   {"handshake_timeouts", true},
                                                                   {"unmatched_datagrams", true},
                                                                   {"malformed_datagrams", true}};
    for (std::uint32_t i = 0; i < std::size(fields); ++i) {
        const auto value = count_member(receiver, fields[i].first);
        v[under({objects_arc, receiver_node_arc, i + 1, 0})] =
            fields[i].second ? counter(value) : gauge(value);
    }
}

} // namespace

oid_path notification_oid(notification n) {
    return under({notifications_arc, static_cast<std::uint32_t>(n)});
}

oid_path notify_object_oid(notify_object o) {
    return under({objects_arc, notify_objects_arc, static_cast<std::uint32_t>(o), 0});
}

oid_path node_id_oid() {
    return under({objects_arc, node_arc, 1, 0});
}

mib_view build_mib_view(const json* stats, bool dataplane_alive) {
    mib_view v;
    node_scalars(v, stats, dataplane_alive);
    if (stats == nullptr || !stats->is_object()) {
        return v;
    }
    const json& dataplane = member(*stats, "dataplane");
    port_scalars(v, member(dataplane, "port"));
    counter_table(v, dataplane);
    outcome_table(v, member(*stats, "outcomes"));
    session_table(v, *stats);
    receiver_scalars(v, member(*stats, "receiver"));
    return v;
}

const mib_view::value_type* find_exact(const mib_view& view, const oid_path& oid) {
    const auto it = view.find(oid);
    return it == view.end() ? nullptr : &*it;
}

const mib_view::value_type* find_next(const mib_view& view, const oid_path& oid, bool inclusive) {
    const auto it = inclusive ? view.lower_bound(oid) : view.upper_bound(oid);
    return it == view.end() ? nullptr : &*it;
}

std::string snmp_text(std::string_view text, std::size_t max_bytes) {
    std::string out;
    out.reserve(std::min(text.size(), max_bytes));
    for (const unsigned char c : text) {
        char piece[5];
        std::size_t n = 1;
        if (c == '\\') {
            piece[0] = piece[1] = '\\';
            n = 2;
        } else if (c >= 0x20 && c < 0x7F) {
            piece[0] = static_cast<char>(c);
        } else {
            std::snprintf(piece, sizeof piece, "\\x%02X", c);
            n = 4;
        }
        if (out.size() + n > max_bytes) {
            break; // whole escapes only: a cut one would read as another byte
        }
        out.append(piece, n);
    }
    return out;
}

bool parse_hex_id(std::string_view text, std::uint32_t& id) {
    if (text.size() < 3 || text.size() > 10 || text[0] != '0' ||
        (text[1] != 'x' && text[1] != 'X')) {
        return false;
    }
    std::uint32_t value = 0;
    for (const char c : text.substr(2)) {
        std::uint32_t digit;
        if (c >= '0' && c <= '9') {
            digit = static_cast<std::uint32_t>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            digit = static_cast<std::uint32_t>(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            digit = static_cast<std::uint32_t>(c - 'A' + 10);
        } else {
            return false;
        }
        value = value << 4 | digit;
    }
    id = value;
    return true;
}

} // namespace skycast::control::snmp
