#pragma once
// IGMP as a host speaks it: membership reports and leaves (IGMPv2, RFC 2236;
// IGMPv3 with empty source lists, RFC 3376, which is how any-source joins
// look in v3), and the queries routers send (v1/v2/v3, general and
// group-specific) that a receiver answers with reports after a random delay.
//
// Writers produce whole Ethernet frames the way hosts send them: TTL 1, the
// Router Alert option (IHL 6), TOS 0xc0 (internetwork control, as Linux
// sends IGMP), DF set, to the group (v1/v2 report), 224.0.0.2 (v2 leave) or
// 224.0.0.22 (v3 report), at the matching multicast MAC.

#include "dataplane/core/net/drop_reason.h"
#include "dataplane/core/net/ethernet.h"
#include "dataplane/core/net/ipv4_address.h"
#include "protocol/result.h"

#include <cstdint>
#include <span>

namespace skycast::dataplane::net {

inline constexpr std::size_t igmp_header_size = 8;
inline constexpr std::size_t igmpv3_query_min_size = 12;
inline constexpr std::size_t igmpv3_record_size = 8; // with no sources and no aux data
inline constexpr std::uint8_t igmp_ttl = 1;
inline constexpr std::uint8_t igmp_tos = 0xc0;

enum class igmp_type : std::uint8_t {
    membership_query = 0x11,
    v1_report = 0x12,
    v2_report = 0x16,
    v2_leave = 0x17,
    v3_report = 0x22,
};

// IGMPv3 group record types (RFC 3376 §4.2.12).
enum class igmpv3_record_type : std::uint8_t {
    mode_is_include = 1,   // current state (answer to a query)
    mode_is_exclude = 2,   // current state: EXCLUDE {} = "member, any source"
    change_to_include = 3, // state change: TO_IN {} = leave
    change_to_exclude = 4, // state change: TO_EX {} = join
    allow_new_sources = 5,
    block_old_sources = 6,
};

// The querier's default Query Response Interval when it says nothing (IGMPv1
// queries have no field): 10 s, in tenths of a second.
inline constexpr std::uint32_t igmpv1_max_resp_tenths = 100;

struct igmp_query {
    std::uint8_t version = 0; // 1, 2 or 3, from the message's length and max-resp field
    ipv4_address group;       // 0.0.0.0 for a general query
    // Max Resp Time decoded (v3's floating-point code expanded), in 1/10 s.
    std::uint32_t max_resp_tenths = 0;
    // v3 only.
    bool suppress_router_processing = false;
    std::uint8_t robustness = 0;        // QRV
    std::uint32_t query_interval_s = 0; // QQIC decoded
    std::uint16_t source_count = 0;     // a group-and-source-specific query when non-zero

    constexpr bool is_general() const { return group.is_unspecified(); }
};

struct igmp_message {
    igmp_type type = igmp_type::membership_query;
    igmp_query query;   // for membership_query
    ipv4_address group; // for v1/v2 reports and leaves (another host's): report suppression
};

// Parses the IGMP message that is the IPv4 payload: at least 8 bytes, the
// checksum over the whole message verified (igmp_bad_checksum), a type a
// host handles (igmp_unsupported_type otherwise). A query of 8 bytes is v1
// (max-resp 0) or v2; of 12 bytes or more v3, with room for its sources; any
// other length is malformed (RFC 3376 §7.1).
parse_result<igmp_message> parse_igmp(std::span<const std::uint8_t> ip_payload);

// Whether `query` asks about our membership of `group`: a general query
// asks about every group, a group-specific one about its group only. The
// answer is a report in the query's version (RFC 3376 §7.2.1: a host falls
// back to v1/v2 reports while an older querier is present).
constexpr bool query_covers(const igmp_query& query, ipv4_address group) {
    return query.is_general() || query.group == group;
}

// Decodes an IGMPv3 Max Resp Code or QQIC (RFC 3376 §4.1.1, §4.1.7): values
// below 128 are literal, others a 3-bit exponent and 4-bit mantissa.
constexpr std::uint32_t igmpv3_decode_code(std::uint8_t code) {
    if (code < 128) {
        return code;
    }
    const std::uint32_t mant = code & 0x0fu;
    const std::uint32_t exp = (code >> 4) & 0x07u;
    return (mant | 0x10u) << (exp + 3);
}

// The delay before answering a query, uniformly in [0, max resp time)
// (RFC 2236 §3, RFC 3376 §5.2) from `random`, a uniformly random 32-bit
// value the caller draws (the lcore's own generator; nothing here keeps
// state). In nanoseconds, the clock of net/.
std::uint64_t igmp_report_delay_ns(std::uint32_t max_resp_tenths, std::uint32_t random);

// An IGMPv1 report for `group` (the answer to a v1 querier, RFC 2236 §4).
protocol::result<std::size_t> write_igmpv1_report(std::span<std::uint8_t> out,
                                                  const mac_address& src_mac, ipv4_address src_ip,
                                                  ipv4_address group);
// An IGMPv2 membership report for `group` (join, or answer to a query).
protocol::result<std::size_t> write_igmpv2_report(std::span<std::uint8_t> out,
                                                  const mac_address& src_mac, ipv4_address src_ip,
                                                  ipv4_address group);
// An IGMPv2 leave for `group`, to all routers.
protocol::result<std::size_t> write_igmpv2_leave(std::span<std::uint8_t> out,
                                                 const mac_address& src_mac, ipv4_address src_ip,
                                                 ipv4_address group);
// An IGMPv3 report with one record of `type` and no sources per group in
// `groups` (at least one): change_to_exclude to join, change_to_include to
// leave, mode_is_exclude to answer a query.
protocol::result<std::size_t> write_igmpv3_report(std::span<std::uint8_t> out,
                                                  const mac_address& src_mac, ipv4_address src_ip,
                                                  igmpv3_record_type type,
                                                  std::span<const ipv4_address> groups);

} // namespace skycast::dataplane::net
