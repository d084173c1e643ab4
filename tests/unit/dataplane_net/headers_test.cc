// Ethernet, IPv4 and UDP headers: write/parse round trips, every validation,
// the offload variants, and frame_template against the plain writers.
#include "dataplane/core/net/bytes.h"
#include "dataplane/core/net/checksum.h"
#include "dataplane/core/net/ethernet.h"
#include "dataplane/core/net/frame_template.h"
#include "dataplane/core/net/ipv4.h"
#include "dataplane/core/net/udp.h"

#include <gtest/gtest.h>
#include <random>
#include <vector>

namespace skycast::dataplane::net {
namespace {

constexpr mac_address mac_a{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}};
constexpr mac_address mac_b{{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b}};
constexpr ipv4_address ip_a = ipv4_address::from_octets(192, 0, 2, 10);
constexpr ipv4_address group = ipv4_address::from_octets(239, 129, 2, 3);

TEST(mac_address, parse_and_format) {
    const auto mac = parse_mac_address("02:00:5E:10:aB:ff");
    ASSERT_TRUE(mac);
    EXPECT_EQ(*mac, (mac_address{{0x02, 0x00, 0x5e, 0x10, 0xab, 0xff}}));
    EXPECT_EQ(format(*mac).view(), "02:00:5e:10:ab:ff");
    EXPECT_STREQ(format(*mac).chars.data(), "02:00:5e:10:ab:ff");
    for (const char* bad : {"", "02:00:5e:10:ab", "02:00:5e:10:ab:ff:", "02-00-5e-10-ab-ff",
                            "02:00:5e:10:ab:fg", "2:00:5e:10:ab:ff0", " 02:00:5e:10:ab:f"}) {
        EXPECT_FALSE(parse_mac_address(bad)) << bad;
    }
}

TEST(mac_address, multicast_and_broadcast_bits) {
    EXPECT_FALSE(mac_a.is_multicast());
    EXPECT_TRUE(mac_address::broadcast().is_broadcast());
    EXPECT_TRUE(mac_address::broadcast().is_multicast());
    EXPECT_TRUE(multicast_mac(group).is_multicast());
    EXPECT_FALSE(multicast_mac(group).is_broadcast());
    EXPECT_TRUE(mac_address{}.is_zero());
}

TEST(mac_address, ipv4_group_maps_low_23_bits) {
    // 239.129.2.3: the top bit of the second octet (0x81) is dropped.
    EXPECT_EQ(multicast_mac(group), (mac_address{{0x01, 0x00, 0x5e, 0x01, 0x02, 0x03}}));
    EXPECT_EQ(multicast_mac(ipv4_address::from_octets(224, 0, 0, 22)),
              (mac_address{{0x01, 0x00, 0x5e, 0x00, 0x00, 0x16}}));
    EXPECT_EQ(multicast_mac(ipv4_address::from_octets(230, 255, 255, 255)),
              (mac_address{{0x01, 0x00, 0x5e, 0x7f, 0xff, 0xff}}));
}

TEST(ipv4_address, parse_and_format) {
    const auto a = parse_ipv4_address("192.0.2.255");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->value, 0xc00002ffu);
    EXPECT_EQ(format(*a).view(), "192.0.2.255");
    EXPECT_EQ(format(ipv4_address{}).view(), "0.0.0.0");
    EXPECT_EQ(format(ipv4_address{0xffffffff}).view(), "255.255.255.255");
    for (const char* bad : {"", "1.2.3", "1.2.3.4.", "1.2.3.256", "1..2.3", "1.2.3.4 ", "a.b.c.d",
                            "1.2.3.0004", "-1.2.3.4"}) {
        EXPECT_FALSE(parse_ipv4_address(bad)) << bad;
    }
    EXPECT_TRUE(group.is_multicast());
    EXPECT_FALSE(ip_a.is_multicast());
}

TEST(ethernet, round_trip_untagged) {
    std::uint8_t frame[ethernet_header_size];
    ASSERT_EQ(*write_ethernet(frame, mac_b, mac_a, 0x0800), ethernet_header_size);
    const auto h = parse_ethernet(frame);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->dst, mac_b);
    EXPECT_EQ(h->src, mac_a);
    EXPECT_EQ(h->ether_type, 0x0800);
    EXPECT_FALSE(h->tagged);
    EXPECT_EQ(h->header_size, ethernet_header_size);
}

TEST(ethernet, single_vlan_tag_is_parsed_through) {
    std::uint8_t frame[18];
    (void)write_ethernet(frame, mac_b, mac_a, 0x8100);
    store_be16(frame + 14, 0xa07b); // PCP 5, VLAN 123
    store_be16(frame + 16, 0x0806);
    const auto h = parse_ethernet(frame);
    ASSERT_TRUE(h);
    EXPECT_TRUE(h->tagged);
    EXPECT_EQ(h->vlan_id(), 123);
    EXPECT_EQ(h->ether_type, 0x0806);
    EXPECT_EQ(h->header_size, 18u);
    // The tag without the EtherType after it is too short.
    EXPECT_EQ(parse_ethernet(std::span{frame}.first(17)).reason(), drop_reason::too_short);
}

TEST(ethernet, short_frames_and_small_buffers) {
    std::uint8_t frame[13] = {};
    EXPECT_EQ(parse_ethernet(frame).reason(), drop_reason::too_short);
    EXPECT_EQ(write_ethernet(frame, mac_b, mac_a, 0x0800).error(),
              protocol::wire_error::buffer_too_small);
}

TEST(ipv4, round_trip) {
    std::uint8_t packet[100] = {};
    const ipv4_params p{.src = ip_a, .dst = group, .ttl = 7, .tos = 0x28, .id = 0x1234};
    ASSERT_EQ(*write_ipv4(packet, p, 80), 20u);
    EXPECT_EQ(packet[0], 0x45);
    EXPECT_EQ(load_be16(packet + 6), 0x4000) << "DF set, no offset";
    EXPECT_TRUE(checksum_valid(std::span{packet}.first(20)));
    const auto h = parse_ipv4(packet);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->src, ip_a);
    EXPECT_EQ(h->dst, group);
    EXPECT_EQ(h->ttl, 7);
    EXPECT_EQ(h->tos, 0x28);
    EXPECT_EQ(h->id, 0x1234);
    EXPECT_EQ(h->protocol, ip_protocol_udp);
    EXPECT_TRUE(h->dont_fragment);
    EXPECT_EQ(h->header_size, 20u);
    EXPECT_EQ(h->total_length, 100u);
}

TEST(ipv4, defaults_are_df_id_zero_multicast_ttl) {
    std::uint8_t packet[20];
    ASSERT_TRUE(write_ipv4(packet, {.src = ip_a, .dst = group}, 0));
    EXPECT_EQ(packet[8], default_multicast_ttl);
    EXPECT_EQ(load_be16(packet + 4), 0);
    EXPECT_EQ(load_be16(packet + 6), 0x4000);
}

TEST(ipv4, router_alert_makes_ihl_6) {
    std::uint8_t packet[24];
    ASSERT_EQ(*write_ipv4(packet, {.src = ip_a, .dst = group, .router_alert = true}, 0), 24u);
    EXPECT_EQ(packet[0], 0x46);
    EXPECT_EQ(load_be32(packet + 20), 0x94040000u);
    const auto h = parse_ipv4(packet);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->header_size, 24u);
}

TEST(ipv4, checksum_offload_leaves_zero) {
    std::uint8_t packet[20];
    ASSERT_TRUE(write_ipv4(packet, {.src = ip_a, .dst = group}, 0, true));
    EXPECT_EQ(load_be16(packet + 10), 0);
    EXPECT_EQ(parse_ipv4(packet).reason(), drop_reason::ipv4_bad_checksum);
    EXPECT_TRUE(parse_ipv4(packet, false)) << "the port verified it";
}

TEST(ipv4, write_refuses_oversize_and_small_buffers) {
    std::uint8_t packet[20];
    EXPECT_EQ(write_ipv4(packet, {}, 65536 - 20).error(), protocol::wire_error::field_too_large);
    EXPECT_TRUE(write_ipv4(packet, {}, 65535 - 20));
    EXPECT_EQ(write_ipv4(std::span{packet}.first(19), {}, 0).error(),
              protocol::wire_error::buffer_too_small);
}

class ipv4_parse : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(write_ipv4(packet, {.src = ip_a, .dst = group}, 20)); }
    // Re-checksums after a field is changed, so only that field is wrong.
    void fix_checksum() {
        store_be16(packet + 10, 0);
        store_be16(packet + 10, internet_checksum(std::span{packet}.first((packet[0] & 0xf) * 4u)));
    }
    drop_reason parse_reason(std::size_t size = 40) {
        const auto r = parse_ipv4(std::span{packet}.first(size));
        return r ? drop_reason::count : r.reason();
    }
    std::uint8_t packet[40] = {};
};

TEST_F(ipv4_parse, truncated) {
    EXPECT_EQ(parse_reason(19), drop_reason::ipv4_truncated);
}

TEST_F(ipv4_parse, bad_version) {
    packet[0] = 0x65;
    fix_checksum();
    EXPECT_EQ(parse_reason(), drop_reason::ipv4_bad_version);
}

TEST_F(ipv4_parse, ihl_below_five) {
    packet[0] = 0x44;
    EXPECT_EQ(parse_reason(), drop_reason::ipv4_bad_header_length);
}

TEST_F(ipv4_parse, header_past_the_packet) {
    packet[0] = 0x4f; // 60 bytes of header in a 40-byte packet
    EXPECT_EQ(parse_reason(), drop_reason::ipv4_bad_header_length);
}

TEST_F(ipv4_parse, total_length_below_header_or_past_packet) {
    store_be16(packet + 2, 19);
    fix_checksum();
    EXPECT_EQ(parse_reason(), drop_reason::ipv4_bad_total_length);
    store_be16(packet + 2, 41);
    fix_checksum();
    EXPECT_EQ(parse_reason(), drop_reason::ipv4_bad_total_length);
    EXPECT_EQ(parse_reason(39), drop_reason::ipv4_bad_total_length);
}

TEST_F(ipv4_parse, link_padding_after_total_length_is_fine) {
    store_be16(packet + 2, 28);
    fix_checksum();
    const auto h = parse_ipv4(packet);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->total_length, 28u);
}

TEST_F(ipv4_parse, bad_checksum) {
    packet[8] ^= 0x10;
    EXPECT_EQ(parse_reason(), drop_reason::ipv4_bad_checksum);
}

TEST_F(ipv4_parse, fragments) {
    store_be16(packet + 6, 0x2000); // MF
    fix_checksum();
    EXPECT_EQ(parse_reason(), drop_reason::ipv4_fragment);
    store_be16(packet + 6, 0x0001); // last fragment at offset 8
    fix_checksum();
    EXPECT_EQ(parse_reason(), drop_reason::ipv4_fragment);
    store_be16(packet + 6, 0x0000); // neither DF nor a fragment
    fix_checksum();
    EXPECT_EQ(parse_reason(), drop_reason::count);
}

const udp_endpoints endpoints{.src = ip_a, .dst = group, .src_port = 40000, .dst_port = 1044};

// Byte-by-byte reference: pseudo-header + UDP header + payload.
std::uint16_t reference_udp_checksum(const udp_endpoints& ep, std::span<const std::uint8_t> dgram) {
    std::vector<std::uint8_t> all(12 + dgram.size());
    store_be32(all.data(), ep.src.value);
    store_be32(all.data() + 4, ep.dst.value);
    all[9] = ip_protocol_udp;
    store_be16(all.data() + 10, static_cast<std::uint16_t>(dgram.size()));
    std::copy(dgram.begin(), dgram.end(), all.begin() + 12);
    all[12 + 6] = 0; // the checksum field itself counts as zero
    all[12 + 7] = 0;
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < all.size(); i += 2) {
        sum += (std::uint32_t{all[i]} << 8) | (i + 1 < all.size() ? all[i + 1] : 0u);
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    const auto c = static_cast<std::uint16_t>(~sum);
    return c == 0 ? 0xffff : c;
}

TEST(udp, round_trip_with_checksum) {
    std::mt19937 rng(768);
    for (std::size_t payload_length : {0u, 1u, 2u, 3u, 100u, 1357u, 8800u}) {
        std::vector<std::uint8_t> dgram(udp_header_size + payload_length);
        for (std::size_t i = udp_header_size; i < dgram.size(); ++i) {
            dgram[i] = static_cast<std::uint8_t>(rng());
        }
        ASSERT_EQ(*write_udp(dgram, endpoints, payload_length), dgram.size());
        EXPECT_EQ(load_be16(dgram.data() + 6), reference_udp_checksum(endpoints, dgram));
        const auto d = parse_udp(dgram, endpoints.src, endpoints.dst);
        ASSERT_TRUE(d) << payload_length;
        EXPECT_EQ(d->src_port, 40000);
        EXPECT_EQ(d->dst_port, 1044);
        EXPECT_EQ(d->payload.size(), payload_length);
        EXPECT_EQ(d->payload.data(), dgram.data() + udp_header_size);
    }
}

TEST(udp, computed_zero_is_sent_as_ffff) {
    // A 2-byte payload word w chosen so that everything sums to ffff: the
    // checksum would be 0, which means "none", so ffff is sent instead.
    std::uint8_t dgram[10] = {};
    (void)write_udp(dgram, endpoints, 2);
    store_be16(dgram + 6, 0);
    const std::uint16_t s = ones_add(
        pseudo_header_sum(endpoints.src, endpoints.dst, ip_protocol_udp, 10), ones_sum(dgram));
    store_be16(dgram + 8, static_cast<std::uint16_t>(0xffff - s));
    ASSERT_TRUE(write_udp(dgram, endpoints, 2));
    EXPECT_EQ(load_be16(dgram + 6), 0xffff);
    EXPECT_TRUE(parse_udp(dgram, endpoints.src, endpoints.dst));
}

TEST(udp, offload_variant_holds_the_pseudo_header_sum) {
    std::uint8_t header[udp_header_size];
    ASSERT_EQ(*write_udp_offload(header, endpoints, 1000), 1008u);
    EXPECT_EQ(load_be16(header + 4), 1008);
    // DPDK's rte_ipv4_phdr_cksum: src, dst, proto, length, folded, not inverted.
    const std::uint32_t expect = 0xc000 + 0x020a + 0xef81 + 0x0203 + 17 + 1008;
    EXPECT_EQ(load_be16(header + 6), ones_fold(expect));
}

TEST(udp, parse_validation) {
    std::uint8_t dgram[30] = {};
    ASSERT_TRUE(write_udp(dgram, endpoints, 22));
    EXPECT_EQ(parse_udp(std::span{dgram}.first(7), ip_a, group).reason(),
              drop_reason::udp_bad_length);
    EXPECT_EQ(parse_udp(std::span{dgram}.first(29), ip_a, group).reason(),
              drop_reason::udp_bad_length)
        << "length field past the IPv4 payload";
    dgram[20] ^= 1;
    EXPECT_EQ(parse_udp(dgram, ip_a, group).reason(), drop_reason::udp_bad_checksum);
    EXPECT_TRUE(parse_udp(dgram, ip_a, group, false)) << "the port verified it";
    dgram[20] ^= 1;
    EXPECT_EQ(parse_udp(dgram, ip_a, ipv4_address{group.value + 1}).reason(),
              drop_reason::udp_bad_checksum)
        << "the pseudo-header covers the addresses";
    // Checksum 0: none was computed, accepted as is.
    store_be16(dgram + 6, 0);
    EXPECT_TRUE(parse_udp(dgram, ip_a, group));
    store_be16(dgram + 4, 7);
    EXPECT_EQ(parse_udp(dgram, ip_a, group).reason(), drop_reason::udp_bad_length);
}

TEST(udp, shorter_length_than_ip_payload_trims) {
    std::uint8_t dgram[30] = {};
    ASSERT_TRUE(write_udp(dgram, endpoints, 12)); // 20-byte datagram in a 30-byte payload
    const auto d = parse_udp(dgram, ip_a, group);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->payload.size(), 12u);
}

// The frame plain writers build, for comparison with the template.
std::vector<std::uint8_t>
reference_frame(const frame_params& p, std::span<const std::uint8_t> payload, std::uint16_t ip_id) {
    std::vector<std::uint8_t> f(frame_template::header_size + payload.size());
    std::copy(payload.begin(), payload.end(), f.begin() + frame_template::header_size);
    (void)write_ethernet(f, p.dst_mac, p.src_mac, 0x0800);
    (void)write_ipv4(std::span{f}.subspan(14),
                     {.src = p.udp.src,
                      .dst = p.udp.dst,
                      .ttl = p.ttl,
                      .tos = p.tos,
                      .id = ip_id,
                      .dont_fragment = p.dont_fragment},
                     udp_header_size + payload.size());
    (void)write_udp(std::span{f}.subspan(34), p.udp, payload.size());
    return f;
}

TEST(frame_template, matches_the_plain_writers) {
    std::mt19937 rng(99);
    const frame_params p{
        .src_mac = mac_a, .dst_mac = multicast_mac(group), .udp = endpoints, .ttl = 32, .tos = 0};
    const frame_template t(p);
    for (std::size_t length = 0; length < 1500; length += 37) {
        std::vector<std::uint8_t> frame(frame_template::header_size + length);
        for (std::size_t i = frame_template::header_size; i < frame.size(); ++i) {
            frame[i] = static_cast<std::uint8_t>(rng());
        }
        const auto id = static_cast<std::uint16_t>(rng());
        ASSERT_EQ(*t.stamp(frame, length, {}, id), frame.size());
        EXPECT_EQ(frame, reference_frame(p, std::span{frame}.subspan(42), id))
            << "payload " << length;
    }
}

TEST(frame_template, separate_headers_and_payload) {
    const frame_params p{
        .src_mac = mac_a, .dst_mac = mac_b, .udp = endpoints, .ttl = 64, .dont_fragment = false};
    const frame_template t(p);
    std::vector<std::uint8_t> payload(8800, 0x5a);
    std::uint8_t headers[frame_template::header_size];
    ASSERT_EQ(*t.stamp_headers(headers, payload), frame_template::header_size);
    const auto ref = reference_frame(p, payload, 0);
    EXPECT_TRUE(std::equal(std::begin(headers), std::end(headers), ref.begin()));
}

TEST(frame_template, offloads) {
    const frame_params p{.src_mac = mac_a, .dst_mac = multicast_mac(group), .udp = endpoints};
    const frame_template t(p);
    std::vector<std::uint8_t> frame(frame_template::header_size + 1000, 0x11);
    ASSERT_TRUE(t.stamp(frame, 1000, {.ipv4 = true, .udp = true}));
    EXPECT_EQ(load_be16(frame.data() + 14 + 10), 0) << "IPv4 checksum left for the NIC";
    std::uint8_t expect[udp_header_size];
    (void)write_udp_offload(expect, endpoints, 1000);
    EXPECT_TRUE(std::equal(expect, expect + 8, frame.begin() + 34));
    // IPv4 in software, UDP offloaded.
    ASSERT_TRUE(t.stamp(frame, 1000, {.ipv4 = false, .udp = true}));
    EXPECT_TRUE(checksum_valid(std::span{frame}.subspan(14, 20)));
}

TEST(frame_template, refuses_what_does_not_fit) {
    const frame_template t({.udp = endpoints});
    std::vector<std::uint8_t> frame(100);
    EXPECT_EQ(t.stamp(frame, 59).error(), protocol::wire_error::buffer_too_small);
    EXPECT_TRUE(t.stamp(frame, 58));
    EXPECT_EQ(t.stamp(frame, frame_template::max_payload + 1).error(),
              protocol::wire_error::field_too_large);
    std::uint8_t small[41];
    EXPECT_EQ(t.stamp_headers(small, {}).error(), protocol::wire_error::buffer_too_small);
}

} // namespace
} // namespace skycast::dataplane::net
