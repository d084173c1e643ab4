// Receive classification: accepted ARP, IGMP and UDP frames with what the
// verdict says about them, and every drop reason triggered by a crafted
// frame and counted under its name.
#include "dataplane/core/net/bytes.h"
#include "dataplane/core/net/checksum.h"
#include "dataplane/core/net/classify.h"
#include "dataplane/core/net/frame_template.h"
#include "dataplane/core/net/ipv4.h"

#include <gtest/gtest.h>
#include <set>
#include <string>
#include <vector>

namespace skycast::dataplane::net {
namespace {

constexpr mac_address our_mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
constexpr mac_address peer_mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
constexpr ipv4_address our_ip = ipv4_address::from_octets(192, 0, 2, 1);
constexpr ipv4_address peer_ip = ipv4_address::from_octets(192, 0, 2, 2);
constexpr ipv4_address joined_group = ipv4_address::from_octets(230, 5, 5, 77);
constexpr ipv4_address other_group = ipv4_address::from_octets(230, 5, 5, 78);
constexpr std::uint16_t session_port = 1044;

const ipv4_address groups[] = {ipv4_address::from_octets(230, 4, 4, 1), joined_group};
const std::uint16_t ports[] = {7000, session_port};

rx_context context() {
    return {.mac = our_mac, .ip = our_ip, .groups = groups, .udp_ports = ports};
}

using frame = std::vector<std::uint8_t>;

frame udp_frame(ipv4_address dst, std::uint16_t dport, std::size_t payload_length = 100,
                ipv4_address src = peer_ip) {
    const frame_params p{.src_mac = peer_mac,
                         .dst_mac = dst.is_multicast() ? multicast_mac(dst) : our_mac,
                         .udp = {.src = src, .dst = dst, .src_port = 50000, .dst_port = dport}};
    frame f(frame_template::header_size + payload_length);
    for (std::size_t i = 0; i < payload_length; ++i) {
        f[frame_template::header_size + i] = static_cast<std::uint8_t>(i * 7 + 1);
    }
    EXPECT_TRUE(frame_template(p).stamp(f, payload_length));
    return f;
}

// Recomputes the IPv4 header checksum after a test changed a field, so only
// the intended defect remains.
void fix_ipv4_checksum(frame& f, std::size_t ip_offset = 14) {
    std::uint8_t* ip = f.data() + ip_offset;
    store_be16(ip + 10, 0);
    store_be16(ip + 10, internet_checksum({ip, (ip[0] & 0x0fu) * 4u}));
}

frame igmp_frame(ipv4_address dst, std::vector<std::uint8_t> message) {
    frame f(14 + 20 + message.size());
    (void)write_ethernet(f, multicast_mac(dst), peer_mac, 0x0800);
    (void)write_ipv4(std::span{f}.subspan(14),
                     {.src = peer_ip, .dst = dst, .protocol = ip_protocol_igmp, .ttl = 1},
                     message.size());
    std::copy(message.begin(), message.end(), f.begin() + 34);
    return f;
}

std::vector<std::uint8_t> igmp_message_bytes(std::uint8_t type, std::uint8_t code, ipv4_address g,
                                             std::size_t length = 8) {
    // At least the type, code and checksum; the group when it fits (a
    // truncated message is one of the cases).
    std::vector<std::uint8_t> m(std::max<std::size_t>(length, 4));
    m[0] = type;
    m[1] = code;
    if (length >= 8) {
        store_be32(m.data() + 4, g.value);
    }
    store_be16(m.data() + 2, internet_checksum(m));
    return m;
}

frame arp_frame(arp_op op, ipv4_address sender, ipv4_address target,
                mac_address dst = mac_address::broadcast()) {
    frame f(arp_frame_size);
    if (op == arp_op::request) {
        (void)write_arp_request(f, peer_mac, sender, target);
    } else {
        // A reply from the peer to `target` at our MAC.
        arp_packet request{.op = arp_op::request, .sender_mac = dst, .sender_ip = target};
        (void)write_arp_reply(f, peer_mac, sender, request);
    }
    return f;
}

TEST(classify, udp_to_our_address) {
    const auto f = udp_frame(our_ip, session_port, 333);
    const auto v = classify(f, context());
    ASSERT_EQ(v.kind, verdict_kind::udp) << name(v.reason);
    EXPECT_EQ(v.src_ip, peer_ip);
    EXPECT_EQ(v.dst_ip, our_ip);
    EXPECT_EQ(v.src_port, 50000);
    EXPECT_EQ(v.dst_port, session_port);
    EXPECT_EQ(v.payload_offset, 42);
    EXPECT_EQ(v.payload_length, 333);
    EXPECT_FALSE(v.is_multicast());
    EXPECT_FALSE(v.tagged);
}

TEST(classify, udp_to_a_joined_group) {
    const auto f = udp_frame(joined_group, 7000, 1400);
    const auto v = classify(f, context());
    ASSERT_EQ(v.kind, verdict_kind::udp) << name(v.reason);
    EXPECT_TRUE(v.is_multicast());
    EXPECT_EQ(v.payload_length, 1400);
    EXPECT_EQ(f[v.payload_offset], 1);
}

TEST(classify, udp_in_a_vlan_tagged_frame) {
    auto f = udp_frame(joined_group, session_port, 50);
    const std::uint8_t tag[] = {0x81, 0x00, 0x00, 0x2a};
    f.insert(f.begin() + 12, std::begin(tag), std::end(tag));
    const auto v = classify(f, context());
    ASSERT_EQ(v.kind, verdict_kind::udp) << name(v.reason);
    EXPECT_TRUE(v.tagged);
    EXPECT_EQ(v.tci & 0xfff, 42);
    EXPECT_EQ(v.payload_offset, 46);
    EXPECT_EQ(v.payload_length, 50);
}

TEST(classify, padded_short_frame_keeps_the_ip_length) {
    auto f = udp_frame(our_ip, session_port, 4);
    f.resize(60, 0); // Ethernet minimum padding
    const auto v = classify(f, context());
    ASSERT_EQ(v.kind, verdict_kind::udp) << name(v.reason);
    EXPECT_EQ(v.payload_length, 4);
}

TEST(classify, udp_checksum_zero_and_unverified) {
    auto f = udp_frame(our_ip, session_port);
    store_be16(f.data() + 40, 0);
    EXPECT_EQ(classify(f, context()).kind, verdict_kind::udp) << "0 = no checksum";
    f[60] ^= 0xff;
    store_be16(f.data() + 40, 0x1234);
    EXPECT_EQ(classify(f, context()).reason, drop_reason::udp_bad_checksum);
    auto ctx = context();
    ctx.verify_udp_checksum = false;
    EXPECT_EQ(classify(f, ctx).kind, verdict_kind::udp) << "the port verified it";
}

TEST(classify, ipv4_checksum_left_to_the_port) {
    auto f = udp_frame(our_ip, session_port);
    f[14 + 10] ^= 1;
    EXPECT_EQ(classify(f, context()).reason, drop_reason::ipv4_bad_checksum);
    auto ctx = context();
    ctx.verify_ipv4_checksum = false;
    EXPECT_EQ(classify(f, ctx).kind, verdict_kind::udp);
}

TEST(classify, arp_for_us) {
    auto v = classify(arp_frame(arp_op::request, peer_ip, our_ip), context());
    ASSERT_EQ(v.kind, verdict_kind::arp) << name(v.reason);
    EXPECT_EQ(v.arp.op, arp_op::request);
    EXPECT_EQ(v.arp.sender_ip, peer_ip);
    EXPECT_EQ(v.arp.sender_mac, peer_mac);
    v = classify(arp_frame(arp_op::reply, peer_ip, our_ip, our_mac), context());
    ASSERT_EQ(v.kind, verdict_kind::arp) << name(v.reason);
    EXPECT_EQ(v.arp.op, arp_op::reply);
    v = classify(arp_frame(arp_op::request, peer_ip, peer_ip), context());
    ASSERT_EQ(v.kind, verdict_kind::arp) << "gratuitous: refreshes the cache";
    EXPECT_TRUE(v.arp.is_gratuitous());
}

TEST(classify, igmp_queries) {
    auto v = classify(igmp_frame(all_hosts_group, igmp_message_bytes(0x11, 100, {})), context());
    ASSERT_EQ(v.kind, verdict_kind::igmp) << name(v.reason);
    EXPECT_EQ(v.igmp.type, igmp_type::membership_query);
    EXPECT_TRUE(v.igmp.query.is_general());
    EXPECT_EQ(v.igmp.query.version, 2);
    v = classify(igmp_frame(joined_group, igmp_message_bytes(0x11, 10, joined_group, 12)),
                 context());
    ASSERT_EQ(v.kind, verdict_kind::igmp) << name(v.reason);
    EXPECT_EQ(v.igmp.query.version, 3);
    EXPECT_EQ(v.igmp.query.group, joined_group);
    EXPECT_EQ(v.dst_ip, joined_group);
}

TEST(classify, igmp_with_router_alert_option) {
    std::vector<std::uint8_t> f(60);
    const auto n = write_igmpv2_report(f, peer_mac, peer_ip, joined_group);
    ASSERT_TRUE(n);
    const auto v = classify(f, context());
    ASSERT_EQ(v.kind, verdict_kind::igmp) << name(v.reason);
    EXPECT_EQ(v.igmp.type, igmp_type::v2_report);
    EXPECT_EQ(v.igmp.group, joined_group);
}

TEST(classify, igmp_from_an_unnumbered_host) {
    auto f = igmp_frame(joined_group, igmp_message_bytes(0x16, 0, joined_group));
    store_be32(f.data() + 14 + 12, 0);
    fix_ipv4_checksum(f);
    EXPECT_EQ(classify(f, context()).kind, verdict_kind::igmp);
}

struct drop_case {
    std::string what;
    frame bytes;
    drop_reason expect;
};

std::vector<drop_case> drop_cases() {
    std::vector<drop_case> cases;
    const auto good = udp_frame(our_ip, session_port);
    auto mutate = [&](std::string what, drop_reason r, auto&& change) {
        frame f = good;
        change(f);
        cases.push_back({std::move(what), std::move(f), r});
    };

    cases.push_back({"13 bytes", frame(good.begin(), good.begin() + 13), drop_reason::too_short});
    mutate("VLAN tag cut short", drop_reason::too_short, [](frame& f) {
        f.resize(16);
        store_be16(f.data() + 12, 0x8100);
    });
    mutate("multicast source MAC", drop_reason::invalid_source_mac, [](frame& f) { f[6] |= 1; });
    mutate("another station's MAC", drop_reason::not_our_mac, [](frame& f) { f[5] = 0x77; });
    mutate("IPv6", drop_reason::unsupported_ethertype,
           [](frame& f) { store_be16(f.data() + 12, 0x86dd); });
    mutate("QinQ", drop_reason::unsupported_ethertype, [](frame& f) {
        const std::uint8_t tags[] = {0x81, 0x00, 0x00, 0x05, 0x81, 0x00, 0x00, 0x06};
        f.insert(f.begin() + 12, std::begin(tags), std::end(tags));
    });
    {
        auto f = arp_frame(arp_op::request, peer_ip, our_ip);
        f[14 + 4] = 8; // hardware address length
        cases.push_back({"ARP hlen 8", f, drop_reason::arp_malformed});
        cases.push_back(
            {"ARP truncated", frame(f.begin(), f.begin() + 14 + 20), drop_reason::arp_malformed});
        cases.push_back({"ARP for another host",
                         arp_frame(arp_op::request, peer_ip, ipv4_address{our_ip.value + 5}),
                         drop_reason::arp_not_for_us});
    }
    mutate("IPv4 in 10 bytes", drop_reason::ipv4_truncated, [](frame& f) { f.resize(24); });
    mutate("version 6 in an IPv4 frame", drop_reason::ipv4_bad_version, [](frame& f) {
        f[14] = 0x65;
        fix_ipv4_checksum(f);
    });
    mutate("IHL 4", drop_reason::ipv4_bad_header_length, [](frame& f) { f[14] = 0x44; });
    mutate("total length past the frame", drop_reason::ipv4_bad_total_length, [](frame& f) {
        store_be16(f.data() + 16, static_cast<std::uint16_t>(f.size() - 14 + 1));
        fix_ipv4_checksum(f);
    });
    mutate("IPv4 checksum", drop_reason::ipv4_bad_checksum, [](frame& f) { f[14 + 8] -= 1; });
    mutate("first fragment", drop_reason::ipv4_fragment, [](frame& f) {
        store_be16(f.data() + 14 + 6, 0x2000);
        fix_ipv4_checksum(f);
    });
    mutate("multicast source", drop_reason::ipv4_bad_source, [](frame& f) {
        store_be32(f.data() + 14 + 12, joined_group.value);
        fix_ipv4_checksum(f);
    });
    cases.push_back({"zero source for UDP", udp_frame(our_ip, session_port, 10, {}),
                     drop_reason::ipv4_bad_source});
    cases.push_back({"another unicast address",
                     udp_frame(ipv4_address{our_ip.value + 1}, session_port),
                     drop_reason::ipv4_not_our_address});
    cases.push_back({"limited broadcast", udp_frame(ipv4_address{0xffffffff}, session_port),
                     drop_reason::ipv4_not_our_address});
    cases.push_back(
        {"unjoined group", udp_frame(other_group, session_port), drop_reason::ipv4_unjoined_group});
    mutate("TCP", drop_reason::unsupported_protocol, [](frame& f) {
        f[14 + 9] = 6;
        fix_ipv4_checksum(f);
    });
    {
        auto f = igmp_frame(all_hosts_group, igmp_message_bytes(0x11, 10, {}, 10));
        cases.push_back({"IGMP query of 10 bytes", f, drop_reason::igmp_malformed});
        f = igmp_frame(all_hosts_group, igmp_message_bytes(0x11, 10, {}, 6));
        cases.push_back({"IGMP of 6 bytes", f, drop_reason::igmp_malformed});
        f = igmp_frame(all_hosts_group, igmp_message_bytes(0x11, 10, {}));
        f[34 + 1] = 11;
        cases.push_back({"IGMP checksum", f, drop_reason::igmp_bad_checksum});
        f = igmp_frame(all_hosts_group, igmp_message_bytes(0x13, 0, {}));
        cases.push_back({"DVMRP", f, drop_reason::igmp_unsupported_type});
    }
    mutate("UDP length 7", drop_reason::udp_bad_length,
           [](frame& f) { store_be16(f.data() + 38, 7); });
    mutate("UDP length past IPv4", drop_reason::udp_bad_length,
           [](frame& f) { store_be16(f.data() + 38, static_cast<std::uint16_t>(f.size() - 33)); });
    mutate("IPv4 payload shorter than a UDP header", drop_reason::udp_bad_length, [](frame& f) {
        store_be16(f.data() + 16, 20 + 7);
        fix_ipv4_checksum(f);
    });
    mutate("UDP payload corrupted", drop_reason::udp_bad_checksum, [](frame& f) { f[50] ^= 4; });
    cases.push_back(
        {"closed port", udp_frame(our_ip, session_port + 1), drop_reason::udp_port_closed});
    return cases;
}

TEST(classify, every_drop_reason_is_triggered_and_counted) {
    rx_counters counters;
    std::set<drop_reason> seen;
    std::size_t bytes = 0;
    const auto cases = drop_cases();
    for (const auto& c : cases) {
        const auto v = classify(c.bytes, context());
        EXPECT_EQ(v.kind, verdict_kind::drop) << c.what;
        EXPECT_EQ(v.reason, c.expect)
            << c.what << ": got " << name(v.reason) << ", want " << name(c.expect);
        counters.record(v, c.bytes.size());
        seen.insert(c.expect);
        bytes += c.bytes.size();
    }
    for (std::size_t i = 0; i < drop_reason_count; ++i) {
        const auto r = static_cast<drop_reason>(i);
        EXPECT_TRUE(seen.count(r)) << "no test frame for " << name(r);
        const auto expected = static_cast<std::uint64_t>(std::count_if(
            cases.begin(), cases.end(), [&](const auto& c) { return c.expect == r; }));
        EXPECT_EQ(counters.drops_of(r), expected) << name(r);
    }
    EXPECT_EQ(counters.packets_of(verdict_kind::drop), cases.size());
    EXPECT_EQ(counters.bytes[static_cast<std::size_t>(verdict_kind::drop)], bytes);
    EXPECT_EQ(counters.packets_of(verdict_kind::udp), 0u);
}

TEST(classify, accepted_verdicts_are_counted_with_bytes) {
    rx_counters counters;
    const auto u = udp_frame(our_ip, session_port, 200);
    counters.record(classify(u, context()), u.size());
    const auto a = arp_frame(arp_op::request, peer_ip, our_ip);
    counters.record(classify(a, context()), a.size());
    EXPECT_EQ(counters.packets_of(verdict_kind::udp), 1u);
    EXPECT_EQ(counters.bytes[static_cast<std::size_t>(verdict_kind::udp)], u.size());
    EXPECT_EQ(counters.packets_of(verdict_kind::arp), 1u);
    EXPECT_EQ(counters.packets_of(verdict_kind::drop), 0u);
    for (auto d : counters.drops) {
        EXPECT_EQ(d, 0u);
    }
}

TEST(classify, every_reason_and_verdict_has_a_name_and_help) {
    std::set<std::string_view> names;
    for (std::size_t i = 0; i < drop_reason_count; ++i) {
        const auto r = static_cast<drop_reason>(i);
        EXPECT_NE(name(r), "unknown");
        EXPECT_GT(help(r).size(), 20u) << name(r);
        EXPECT_EQ(name(r).find(' '), std::string_view::npos);
        names.insert(name(r));
    }
    EXPECT_EQ(names.size(), drop_reason_count) << "names are unique";
    EXPECT_EQ(name(drop_reason::count), "unknown");
    EXPECT_EQ(name(drop_reason::udp_port_closed), "udp_port_closed");
    for (std::size_t i = 0; i < verdict_kind_count; ++i) {
        EXPECT_NE(name(static_cast<verdict_kind>(i)), "unknown");
        EXPECT_FALSE(help(static_cast<verdict_kind>(i)).empty());
    }
}

} // namespace
} // namespace skycast::dataplane::net
