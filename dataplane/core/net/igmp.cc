#include "dataplane/core/net/igmp.h"

#include "dataplane/core/net/bytes.h"
#include "dataplane/core/net/checksum.h"
#include "dataplane/core/net/ipv4.h"

#include <cstring>

namespace skycast::dataplane::net {
namespace {

// The largest IGMPv3 report that fits one IPv4 datagram with Router Alert.
constexpr std::size_t igmpv3_max_groups =
    (ipv4_max_total_length - ipv4_header_min_size - 4 - igmp_header_size) / igmpv3_record_size;

// Where the IGMP message starts: after Ethernet and IPv4 with Router Alert.
constexpr std::size_t igmp_offset = ethernet_header_size + ipv4_header_min_size + 4;

// Ethernet + IPv4 (with Router Alert) in front of an IGMP message of
// `igmp_length` bytes already written at the right offset; pads the frame
// to the Ethernet minimum and fills in the IGMP checksum. Returns the frame
// length.
std::size_t finish_frame(std::span<std::uint8_t> out, const mac_address& src_mac,
                         ipv4_address src_ip, ipv4_address dst_ip, std::size_t igmp_length) {
    const ipv4_params ip{.src = src_ip,
                         .dst = dst_ip,
                         .protocol = ip_protocol_igmp,
                         .ttl = igmp_ttl,
                         .tos = igmp_tos,
                         .router_alert = true};
    const std::size_t ip_offset = ethernet_header_size;
    auto igmp = out.subspan(igmp_offset, igmp_length);
    store_be16(igmp.data() + 2, 0);
    store_be16(igmp.data() + 2, internet_checksum(igmp));
    (void)write_ethernet(out, multicast_mac(dst_ip), src_mac,
                         static_cast<std::uint16_t>(ether_type::ipv4));
    (void)write_ipv4(out.subspan(ip_offset), ip, igmp_length);
    std::size_t length = igmp_offset + igmp_length;
    if (length < ethernet_min_frame_size) {
        std::memset(out.data() + length, 0, ethernet_min_frame_size - length);
        length = ethernet_min_frame_size;
    }
    return length;
}

// Frame size for an IGMP message of `igmp_length` bytes.
constexpr std::size_t frame_size(std::size_t igmp_length) {
    const std::size_t n = igmp_offset + igmp_length;
    return n < ethernet_min_frame_size ? ethernet_min_frame_size : n;
}

protocol::result<std::size_t> write_v1v2(std::span<std::uint8_t> out, igmp_type type,
                                         const mac_address& src_mac, ipv4_address src_ip,
                                         ipv4_address dst_ip, ipv4_address group) {
    if (out.size() < frame_size(igmp_header_size)) {
        return protocol::wire_error::buffer_too_small;
    }
    std::uint8_t* m = out.data() + igmp_offset;
    m[0] = static_cast<std::uint8_t>(type);
    m[1] = 0; // max resp time: only queries set it
    store_be32(m + 4, group.value);
    return finish_frame(out, src_mac, src_ip, dst_ip, igmp_header_size);
}

} // namespace

parse_result<igmp_message> parse_igmp(std::span<const std::uint8_t> ip_payload) {
    if (ip_payload.size() < igmp_header_size) {
        return drop_reason::igmp_malformed;
    }
    if (!checksum_valid(ip_payload)) {
        return drop_reason::igmp_bad_checksum;
    }
    const std::uint8_t* m = ip_payload.data();
    igmp_message msg;
    switch (m[0]) {
    case static_cast<std::uint8_t>(igmp_type::membership_query): {
        msg.type = igmp_type::membership_query;
        igmp_query& q = msg.query;
        q.group = ipv4_address{load_be32(m + 4)};
        if (ip_payload.size() == igmp_header_size) {
            q.version = m[1] == 0 ? 1 : 2;
            q.max_resp_tenths = m[1] == 0 ? igmpv1_max_resp_tenths : m[1];
        } else if (ip_payload.size() >= igmpv3_query_min_size) {
            q.version = 3;
            q.max_resp_tenths = igmpv3_decode_code(m[1]);
            q.suppress_router_processing = (m[8] & 0x08) != 0;
            q.robustness = m[8] & 0x07;
            q.query_interval_s = igmpv3_decode_code(m[9]);
            q.source_count = load_be16(m + 10);
            if (ip_payload.size() < igmpv3_query_min_size + std::size_t{q.source_count} * 4) {
                return drop_reason::igmp_malformed;
            }
        } else {
            return drop_reason::igmp_malformed;
        }
        return msg;
    }
    case static_cast<std::uint8_t>(igmp_type::v1_report):
    case static_cast<std::uint8_t>(igmp_type::v2_report):
    case static_cast<std::uint8_t>(igmp_type::v2_leave):
        msg.type = static_cast<igmp_type>(m[0]);
        msg.group = ipv4_address{load_be32(m + 4)};
        return msg;
    case static_cast<std::uint8_t>(igmp_type::v3_report):
        // Other hosts' v3 reports go to routers only; a host has nothing to
        // do with them (no suppression in v3), but they are well-formed.
        msg.type = igmp_type::v3_report;
        return msg;
    default:
        return drop_reason::igmp_unsupported_type;
    }
}

std::uint64_t igmp_report_delay_ns(std::uint32_t max_resp_tenths, std::uint32_t random) {
    __extension__ typedef unsigned __int128 u128;
    const std::uint64_t range_ns = std::uint64_t{max_resp_tenths} * 100'000'000;
    // Multiply-shift maps the 32-bit value onto [0, range) without the bias
    // of a modulo's wrap-around.
    return static_cast<std::uint64_t>((u128{range_ns} * random) >> 32);
}

protocol::result<std::size_t> write_igmpv1_report(std::span<std::uint8_t> out,
                                                  const mac_address& src_mac, ipv4_address src_ip,
                                                  ipv4_address group) {
    return write_v1v2(out, igmp_type::v1_report, src_mac, src_ip, group, group);
}

protocol::result<std::size_t> write_igmpv2_report(std::span<std::uint8_t> out,
                                                  const mac_address& src_mac, ipv4_address src_ip,
                                                  ipv4_address group) {
    return write_v1v2(out, igmp_type::v2_report, src_mac, src_ip, group, group);
}

protocol::result<std::size_t> write_igmpv2_leave(std::span<std::uint8_t> out,
                                                 const mac_address& src_mac, ipv4_address src_ip,
                                                 ipv4_address group) {
    return write_v1v2(out, igmp_type::v2_leave, src_mac, src_ip, all_routers_group, group);
}

protocol::result<std::size_t> write_igmpv3_report(std::span<std::uint8_t> out,
                                                  const mac_address& src_mac, ipv4_address src_ip,
                                                  igmpv3_record_type type,
                                                  std::span<const ipv4_address> groups) {
    if (groups.empty() || groups.size() > igmpv3_max_groups) {
        return protocol::wire_error::field_too_large;
    }
    const std::size_t igmp_length = igmp_header_size + groups.size() * igmpv3_record_size;
    if (out.size() < frame_size(igmp_length)) {
        return protocol::wire_error::buffer_too_small;
    }
    std::uint8_t* m = out.data() + igmp_offset;
    m[0] = static_cast<std::uint8_t>(igmp_type::v3_report);
    m[1] = 0;
    store_be16(m + 4, 0);
    store_be16(m + 6, static_cast<std::uint16_t>(groups.size()));
    std::uint8_t* r = m + igmp_header_size;
    for (const ipv4_address g : groups) {
        r[0] = static_cast<std::uint8_t>(type);
        r[1] = 0;             // aux data length
        store_be16(r + 2, 0); // number of sources
        store_be32(r + 4, g.value);
        r += igmpv3_record_size;
    }
    return finish_frame(out, src_mac, src_ip, igmpv3_routers_group, igmp_length);
}

} // namespace skycast::dataplane::net
