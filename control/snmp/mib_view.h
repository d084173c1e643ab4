#pragma once
// SKYCAST-MIB (SKYCAST-MIB.txt, next to this file) as a sorted map from
// object instance to value, built from a node's stats document: what the
// SNMP subagent answers GET and GETNEXT from. One function of the document,
// like the Prometheus text (control/node/metrics_text.h), so the two cannot
// disagree and both are testable without a node or an snmpd.
//
// Why a map of every instance rather than per-object handlers: the whole
// view of a node is a few hundred values, rebuilt once per poll; GETNEXT is
// then an upper_bound in a sorted map, which is the one part of an agent
// that is easy to get wrong (table order, gaps, end of the subtree).

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace skycast::control::snmp {

using oid_path = std::vector<std::uint32_t>;

// enterprises.32473: IANA's enterprise number for documentation (RFC 5612),
// the module's root until the project has a number of its own.
inline const oid_path skycast_mib{1, 3, 6, 1, 4, 1, 32473};

// The notifications (skycastNotifications.N) and the objects they carry
// (skycastNotifyObjects.N).
enum class notification : std::uint32_t {
    session_failed = 1,
    dataplane_lost = 2,
    dataplane_restored = 3,
};
enum class notify_object : std::uint32_t {
    failed_server = 1,
    failed_session = 2,
    failed_outcome = 3,
    failed_reason = 4,
    node_down_reason = 5,
};
oid_path notification_oid(notification n);
oid_path notify_object_oid(notify_object o); // with the scalar's .0
oid_path node_id_oid();                      // skycastNodeId.0

enum class mib_type : std::uint8_t { integer, gauge32, counter64, text };

struct mib_value {
    mib_type type = mib_type::integer;
    std::uint64_t number = 0; // integer, gauge32, counter64
    std::string text;         // text: ASCII, at most the object's SIZE
    bool operator==(const mib_value&) const = default;
};

using mib_view = std::map<oid_path, mib_value>;

// What the subagent knows beyond the document: whether the node answered
// at all (`stats` is null when not) and whether its dataplane's heartbeat
// moved since the previous poll.
mib_view build_mib_view(const nlohmann::json* stats, bool dataplane_alive);

// GET: the instance itself, or null. GETNEXT: the first instance after
// `oid` (at or after it when `inclusive`, as net-snmp asks when a request
// starts before a registration), or null at the end of the module.
const mib_view::value_type* find_exact(const mib_view& view, const oid_path& oid);
const mib_view::value_type* find_next(const mib_view& view, const oid_path& oid, bool inclusive);

// Text for a DisplayString (NVT ASCII): printable ASCII is kept, a backslash
// becomes \\ and every other byte \xNN; cut to `max_bytes` without splitting
// an escape. The stats document's text is UTF-8 already (display_text), but
// an NMS shows DisplayString bytes as they come.
std::string snmp_text(std::string_view text, std::size_t max_bytes = 255);

// "0x0A4D000B" -> 0x0A4D000B; nullopt-like 0 with ok = false otherwise.
bool parse_hex_id(std::string_view text, std::uint32_t& id);

} // namespace skycast::control::snmp
