// IGMP: reports and leaves checked field by field (Ethernet, IPv4 with
// Router Alert, IGMP, checksums), query parsing for v1/v2/v3, and the report
// delay.
#include "dataplane/core/net/bytes.h"
#include "dataplane/core/net/checksum.h"
#include "dataplane/core/net/igmp.h"
#include "dataplane/core/net/ipv4.h"

#include <gtest/gtest.h>
#include <vector>

namespace skycast::dataplane::net {
namespace {

constexpr mac_address our_mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
constexpr ipv4_address our_ip = ipv4_address::from_octets(192, 0, 2, 1);
constexpr ipv4_address group = ipv4_address::from_octets(230, 5, 5, 77);
constexpr ipv4_address group2 = ipv4_address::from_octets(239, 200, 1, 1);

// The Ethernet and IPv4 layers every IGMP frame a host sends must have;
// returns the IGMP message.
std::span<const std::uint8_t> check_envelope(std::span<const std::uint8_t> frame, ipv4_address dst,
                                             std::size_t igmp_length) {
    EXPECT_GE(frame.size(), 60u);
    const auto mac = multicast_mac(dst);
    EXPECT_TRUE(std::equal(mac.bytes.begin(), mac.bytes.end(), frame.begin()));
    EXPECT_TRUE(std::equal(our_mac.bytes.begin(), our_mac.bytes.end(), frame.begin() + 6));
    EXPECT_EQ(load_be16(frame.data() + 12), 0x0800);
    const std::uint8_t* ip = frame.data() + 14;
    EXPECT_EQ(ip[0], 0x46) << "IPv4, IHL 6";
    EXPECT_EQ(ip[1], 0xc0) << "TOS internetwork control";
    EXPECT_EQ(load_be16(ip + 2), 24 + igmp_length);
    EXPECT_EQ(load_be16(ip + 6), 0x4000) << "DF";
    EXPECT_EQ(ip[8], 1) << "TTL 1";
    EXPECT_EQ(ip[9], 2) << "protocol IGMP";
    EXPECT_EQ(load_be32(ip + 12), our_ip.value);
    EXPECT_EQ(load_be32(ip + 16), dst.value);
    EXPECT_EQ(load_be32(ip + 20), 0x94040000u) << "Router Alert";
    EXPECT_TRUE(checksum_valid({ip, 24})) << "IPv4 header checksum";
    const auto parsed = parse_ipv4(frame.subspan(14));
    EXPECT_TRUE(parsed);
    const auto igmp = frame.subspan(14 + 24, igmp_length);
    EXPECT_TRUE(checksum_valid(igmp)) << "IGMP checksum";
    // Padding, if any, is zero.
    for (std::size_t i = 14 + 24 + igmp_length; i < frame.size(); ++i) {
        EXPECT_EQ(frame[i], 0) << "padding byte " << i;
    }
    return igmp;
}

TEST(igmp, v2_report_to_the_group) {
    std::uint8_t frame[64];
    const auto n = write_igmpv2_report(frame, our_mac, our_ip, group);
    ASSERT_EQ(*n, 60u);
    const auto m = check_envelope(std::span{frame}.first(*n), group, 8);
    EXPECT_EQ(m[0], 0x16);
    EXPECT_EQ(m[1], 0);
    EXPECT_EQ(load_be32(m.data() + 4), group.value);
    // The checksum value itself, by the RFC 1071 definition.
    std::uint8_t copy[8];
    std::copy(m.begin(), m.end(), copy);
    copy[2] = copy[3] = 0;
    EXPECT_EQ(load_be16(m.data() + 2), internet_checksum(copy));
}

TEST(igmp, v1_report_to_the_group) {
    std::uint8_t frame[60];
    ASSERT_TRUE(write_igmpv1_report(frame, our_mac, our_ip, group));
    const auto m = check_envelope(frame, group, 8);
    EXPECT_EQ(m[0], 0x12);
    EXPECT_EQ(load_be32(m.data() + 4), group.value);
}

TEST(igmp, v2_leave_to_all_routers) {
    std::uint8_t frame[60];
    ASSERT_TRUE(write_igmpv2_leave(frame, our_mac, our_ip, group));
    const auto m = check_envelope(frame, all_routers_group, 8);
    EXPECT_EQ(m[0], 0x17);
    EXPECT_EQ(load_be32(m.data() + 4), group.value);
    EXPECT_EQ(frame[0 + 5], 0x02) << "01:00:5e:00:00:02";
}

TEST(igmp, v3_join_and_leave) {
    for (const auto type :
         {igmpv3_record_type::change_to_exclude, igmpv3_record_type::change_to_include}) {
        std::uint8_t frame[100];
        const ipv4_address groups[] = {group};
        const auto n = write_igmpv3_report(frame, our_mac, our_ip, type, groups);
        ASSERT_EQ(*n, 60u) << "14 + 24 + 16 bytes, padded to the Ethernet minimum";
        const auto m = check_envelope(std::span{frame}.first(*n), igmpv3_routers_group, 16);
        EXPECT_EQ(m[0], 0x22);
        EXPECT_EQ(m[1], 0);
        EXPECT_EQ(load_be16(m.data() + 4), 0);
        EXPECT_EQ(load_be16(m.data() + 6), 1) << "one group record";
        EXPECT_EQ(m[8], static_cast<std::uint8_t>(type));
        EXPECT_EQ(m[8], type == igmpv3_record_type::change_to_exclude ? 4 : 3);
        EXPECT_EQ(m[9], 0) << "aux data length";
        EXPECT_EQ(load_be16(m.data() + 10), 0) << "no sources";
        EXPECT_EQ(load_be32(m.data() + 12), group.value);
    }
}

TEST(igmp, v3_current_state_report_for_several_groups) {
    std::uint8_t frame[200];
    const ipv4_address groups[] = {group, group2};
    const auto n =
        write_igmpv3_report(frame, our_mac, our_ip, igmpv3_record_type::mode_is_exclude, groups);
    ASSERT_EQ(*n, 14u + 24 + 8 + 16);
    const auto m = check_envelope(std::span{frame}.first(*n), igmpv3_routers_group, 24);
    EXPECT_EQ(load_be16(m.data() + 6), 2);
    EXPECT_EQ(m[8], 2);
    EXPECT_EQ(load_be32(m.data() + 12), group.value);
    EXPECT_EQ(m[16], 2);
    EXPECT_EQ(load_be32(m.data() + 20), group2.value);
}

TEST(igmp, writers_refuse_small_buffers_and_empty_reports) {
    std::uint8_t frame[59];
    EXPECT_EQ(write_igmpv2_report(frame, our_mac, our_ip, group).error(),
              protocol::wire_error::buffer_too_small);
    std::uint8_t big[100];
    EXPECT_EQ(write_igmpv3_report(big, our_mac, our_ip, igmpv3_record_type::change_to_exclude, {})
                  .error(),
              protocol::wire_error::field_too_large);
    const ipv4_address groups[] = {group};
    const ipv4_address two[] = {group, group2};
    EXPECT_EQ(write_igmpv3_report(std::span{big}.first(61), our_mac, our_ip,
                                  igmpv3_record_type::change_to_exclude, two)
                  .error(),
              protocol::wire_error::buffer_too_small)
        << "14 + 24 + 8 + 2 * 8 = 62 bytes";
    EXPECT_EQ(write_igmpv3_report(std::span{big}.first(59), our_mac, our_ip,
                                  igmpv3_record_type::change_to_exclude, groups)
                  .error(),
              protocol::wire_error::buffer_too_small);
}

// A query message with a valid checksum.
std::vector<std::uint8_t> query(std::uint8_t max_resp, ipv4_address g, std::size_t length = 8,
                                std::uint8_t s_qrv = 0, std::uint8_t qqic = 0,
                                std::uint16_t sources = 0) {
    std::vector<std::uint8_t> m(length);
    m[0] = 0x11;
    m[1] = max_resp;
    store_be32(m.data() + 4, g.value);
    if (length >= 12) {
        m[8] = s_qrv;
        m[9] = qqic;
        store_be16(m.data() + 10, sources);
    }
    store_be16(m.data() + 2, internet_checksum(m));
    return m;
}

TEST(igmp, v1_general_query) {
    const auto q = parse_igmp(query(0, {}));
    ASSERT_TRUE(q);
    EXPECT_EQ(q->type, igmp_type::membership_query);
    EXPECT_EQ(q->query.version, 1);
    EXPECT_TRUE(q->query.is_general());
    EXPECT_EQ(q->query.max_resp_tenths, 100u) << "v1: 10 s";
}

TEST(igmp, v2_group_specific_query) {
    const auto q = parse_igmp(query(25, group));
    ASSERT_TRUE(q);
    EXPECT_EQ(q->query.version, 2);
    EXPECT_FALSE(q->query.is_general());
    EXPECT_EQ(q->query.group, group);
    EXPECT_EQ(q->query.max_resp_tenths, 25u);
}

TEST(igmp, v3_queries) {
    auto q = parse_igmp(query(100, {}, 12, 0x0a, 125));
    ASSERT_TRUE(q);
    EXPECT_EQ(q->query.version, 3);
    EXPECT_TRUE(q->query.is_general());
    EXPECT_EQ(q->query.max_resp_tenths, 100u);
    EXPECT_TRUE(q->query.suppress_router_processing);
    EXPECT_EQ(q->query.robustness, 2);
    EXPECT_EQ(q->query.query_interval_s, 125u);
    // Group-and-source-specific, with an exponential max resp code:
    // 0x8a = exp 0, mant 10 -> (16+10) << 3 = 208.
    q = parse_igmp(query(0x8a, group, 20, 0x02, 0x91, 2));
    ASSERT_TRUE(q);
    EXPECT_EQ(q->query.group, group);
    EXPECT_EQ(q->query.max_resp_tenths, 208u);
    EXPECT_EQ(q->query.source_count, 2);
    EXPECT_EQ(q->query.query_interval_s, (16u + 1) << 4) << "0x91: exp 1, mant 1";
    EXPECT_FALSE(q->query.suppress_router_processing);
}

TEST(igmp, which_groups_a_query_covers) {
    const auto general = parse_igmp(query(100, {}));
    ASSERT_TRUE(general);
    EXPECT_TRUE(query_covers(general->query, group));
    EXPECT_TRUE(query_covers(general->query, group2));
    const auto specific = parse_igmp(query(100, group));
    ASSERT_TRUE(specific);
    EXPECT_TRUE(query_covers(specific->query, group));
    EXPECT_FALSE(query_covers(specific->query, group2));
}

TEST(igmp, v3_code_decoding) {
    EXPECT_EQ(igmpv3_decode_code(0), 0u);
    EXPECT_EQ(igmpv3_decode_code(127), 127u);
    EXPECT_EQ(igmpv3_decode_code(0x80), 128u);      // (16|0) << 3
    EXPECT_EQ(igmpv3_decode_code(0xff), 31u << 10); // (16|15) << (7+3) = 31744
}

TEST(igmp, malformed_queries_and_messages) {
    EXPECT_EQ(parse_igmp(std::vector<std::uint8_t>(7)).reason(), drop_reason::igmp_malformed);
    EXPECT_EQ(parse_igmp(query(10, group, 10)).reason(), drop_reason::igmp_malformed)
        << "9..11 bytes is neither v2 nor v3";
    EXPECT_EQ(parse_igmp(query(10, group, 12, 0, 0, 1)).reason(), drop_reason::igmp_malformed)
        << "a source that is not there";
    auto bad = query(10, group);
    bad[4] ^= 1;
    EXPECT_EQ(parse_igmp(bad).reason(), drop_reason::igmp_bad_checksum);
    std::vector<std::uint8_t> dvmrp(8);
    dvmrp[0] = 0x13;
    store_be16(dvmrp.data() + 2, internet_checksum(dvmrp));
    EXPECT_EQ(parse_igmp(dvmrp).reason(), drop_reason::igmp_unsupported_type);
}

TEST(igmp, reports_from_other_hosts_parse) {
    std::uint8_t frame[60];
    ASSERT_TRUE(write_igmpv2_report(frame, our_mac, our_ip, group));
    const auto m = parse_igmp(std::span{frame}.subspan(38, 8));
    ASSERT_TRUE(m);
    EXPECT_EQ(m->type, igmp_type::v2_report);
    EXPECT_EQ(m->group, group);
    std::uint8_t v3[100];
    const ipv4_address groups[] = {group};
    ASSERT_TRUE(
        write_igmpv3_report(v3, our_mac, our_ip, igmpv3_record_type::change_to_exclude, groups));
    const auto m3 = parse_igmp(std::span{v3}.subspan(38, 16));
    ASSERT_TRUE(m3);
    EXPECT_EQ(m3->type, igmp_type::v3_report);
}

TEST(igmp, report_delay_spans_the_max_response_time) {
    // 10 s max response: 0 for the smallest random value, just under 10 s
    // for the largest, proportional in between.
    EXPECT_EQ(igmp_report_delay_ns(100, 0), 0u);
    EXPECT_EQ(igmp_report_delay_ns(100, 0x80000000u), 5'000'000'000u);
    const std::uint64_t top = igmp_report_delay_ns(100, 0xffffffffu);
    EXPECT_LT(top, 10'000'000'000u);
    EXPECT_GT(top, 9'999'999'990u);
    EXPECT_EQ(igmp_report_delay_ns(0, 12345), 0u) << "answer at once";
    // The largest v3 code (3174.4 s) does not overflow.
    EXPECT_EQ(igmp_report_delay_ns(31744, 0x80000000u), 1'587'200'000'000u);
    // Monotonic in the random value.
    std::uint64_t previous = 0;
    for (std::uint64_t r = 0; r <= 0xffffffffu; r += 0x00ffffffu) {
        const auto d = igmp_report_delay_ns(25, static_cast<std::uint32_t>(r));
        EXPECT_GE(d, previous);
        EXPECT_LT(d, 2'500'000'000u);
        previous = d;
    }
}

} // namespace
} // namespace skycast::dataplane::net
