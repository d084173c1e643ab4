// Real UFTP traffic from tests/data/*.pcap (captured with the stock
// uftp/uftpd): every datagram is accepted by the classifier, its payload is
// the one the independent capture reader (control/decode) extracts, and
// frame_template rebuilds byte-identical IPv4 and UDP headers from the same
// addresses, ports and payload.
//
// The captures are Linux cooked-mode ("any" interface) on loopback, so each
// IPv4 packet is put back into an Ethernet frame addressed as the dataplane
// would see it: the group's MAC for multicast, our MAC for unicast. Their
// IPv4 checksums are complete, but their UDP checksum fields hold only the
// pseudo-header sum: the kernel leaves checksums to the device
// (CHECKSUM_PARTIAL) and loopback never completes them. That is exactly the
// convention of DPDK's UDP checksum offload, so the test checks both sides:
// the template in offload mode reproduces the captured headers byte for
// byte, and after completing each checksum the way a NIC does (summing from
// the UDP header over the datagram), the classifier verifies it in software
// and the template's software checksum is the same value.
#include "control/decode/capture_reader.h"
#include "dataplane/core/net/bytes.h"
#include "dataplane/core/net/classify.h"
#include "dataplane/core/net/frame_template.h"
#include "dataplane/core/net/ipv4.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <string>
#include <vector>

namespace skycast::dataplane::net {
namespace {

constexpr mac_address our_mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
// Loopback captures carry an all-zero source MAC; any unicast MAC will do.
constexpr mac_address fallback_src_mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x99}};

struct captured_ipv4 {
    std::vector<std::uint8_t> packet; // from the IPv4 header on
    mac_address src_mac = fallback_src_mac;
};

// IPv4 packets of a capture, in order, with libpcap (pcap and pcapng).
std::vector<captured_ipv4> read_ipv4_packets(const std::string& path) {
    std::vector<captured_ipv4> out;
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(path.c_str(), errbuf);
    EXPECT_NE(p, nullptr) << errbuf;
    if (p == nullptr) {
        return out;
    }
    const int link = pcap_datalink(p);
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    while (pcap_next_ex(p, &header, &data) == 1) {
        EXPECT_EQ(header->caplen, header->len) << "capture truncated frames";
        std::span<const std::uint8_t> frame{data, header->caplen};
        std::uint16_t protocol = 0;
        std::size_t l2 = 0;
        std::span<const std::uint8_t> address;
        if (link == DLT_LINUX_SLL && frame.size() >= 16) {
            // packet type, ARPHRD, address length, address (8), protocol.
            protocol = load_be16(frame.data() + 14);
            address = frame.subspan(6, std::min<std::size_t>(load_be16(frame.data() + 4), 8));
            l2 = 16;
        } else if (link == 276 /* DLT_LINUX_SLL2 */ && frame.size() >= 20) {
            protocol = load_be16(frame.data());
            address = frame.subspan(12, std::min<std::size_t>(frame[11], 8));
            l2 = 20;
        } else if (link == DLT_EN10MB && frame.size() >= 14) {
            protocol = load_be16(frame.data() + 12);
            address = frame.subspan(6, 6);
            l2 = 14;
        } else {
            ADD_FAILURE() << "unexpected link type " << link;
            break;
        }
        if (protocol != 0x0800) {
            continue;
        }
        captured_ipv4 c;
        c.packet.assign(frame.begin() + static_cast<std::ptrdiff_t>(l2), frame.end());
        if (address.size() == 6 &&
            !std::all_of(address.begin(), address.end(), [](std::uint8_t b) { return b == 0; })) {
            std::copy(address.begin(), address.end(), c.src_mac.bytes.begin());
        }
        out.push_back(std::move(c));
    }
    pcap_close(p);
    return out;
}

// What a NIC's checksum offload does with a datagram whose checksum field
// holds the pseudo-header sum: sum 16-bit words from the UDP header to the
// end and store the complement (0 sent as ffff). Spelled out byte by byte,
// independent of net/'s summing code.
std::uint16_t nic_complete_udp_checksum(std::span<const std::uint8_t> datagram) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < datagram.size(); i += 2) {
        sum += std::uint32_t{datagram[i]} << 8;
        if (i + 1 < datagram.size()) {
            sum += datagram[i + 1];
        }
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    const auto c = static_cast<std::uint16_t>(~sum);
    return c == 0 ? 0xffff : c;
}

struct decoded_datagram {
    std::string dst_addr;
    std::uint16_t dst_port = 0;
    std::vector<std::uint8_t> payload;
};

std::vector<decoded_datagram> decode_udp(const std::string& path) {
    std::vector<decoded_datagram> out;
    std::string error;
    auto reader = decode::capture_reader::open_file(path, error);
    EXPECT_TRUE(reader) << error;
    if (!reader) {
        return out;
    }
    decode::udp_frame f;
    std::string problem;
    for (;;) {
        const auto status = reader->next(f, problem);
        if (status == decode::frame_status::end) {
            break;
        }
        EXPECT_NE(status, decode::frame_status::malformed) << problem;
        EXPECT_NE(status, decode::frame_status::fragment);
        if (status == decode::frame_status::udp) {
            out.push_back({f.dst_addr, f.dst_port, {f.payload.begin(), f.payload.end()}});
        }
    }
    return out;
}

class capture : public ::testing::TestWithParam<const char*> {
protected:
    std::string path() const { return std::string(SKYCAST_TEST_DATA) + "/" + GetParam(); }
};

TEST_P(capture, classifier_accepts_and_template_rebuilds_every_datagram) {
    const auto packets = read_ipv4_packets(path());
    const auto decoded = decode_udp(path());
    ASSERT_FALSE(decoded.empty());
    ASSERT_EQ(packets.size(), decoded.size()) << "every IPv4 packet is UFTP over UDP";

    // The receiver's context from what the independent reader saw: the
    // one unicast address, the groups, the destination ports.
    std::vector<ipv4_address> groups;
    std::vector<std::uint16_t> ports;
    ipv4_address unicast;
    for (const auto& d : decoded) {
        const auto a = parse_ipv4_address(d.dst_addr);
        ASSERT_TRUE(a) << d.dst_addr;
        if (a->is_multicast()) {
            if (std::find(groups.begin(), groups.end(), *a) == groups.end()) {
                groups.push_back(*a);
            }
        } else {
            ASSERT_TRUE(unicast.is_unspecified() || unicast == *a) << "one unicast receiver";
            unicast = *a;
        }
        if (std::find(ports.begin(), ports.end(), d.dst_port) == ports.end()) {
            ports.push_back(d.dst_port);
        }
    }
    const rx_context ctx{.mac = our_mac, .ip = unicast, .groups = groups, .udp_ports = ports};
    rx_context ctx_partial = ctx;
    ctx_partial.verify_udp_checksum = false;

    rx_counters counters;
    std::size_t multicast = 0;
    for (std::size_t i = 0; i < packets.size(); ++i) {
        const auto& c = packets[i];
        const auto h = parse_ipv4(c.packet);
        ASSERT_TRUE(h) << "packet " << i + 1 << ": " << name(h.reason());
        ASSERT_EQ(h->header_size, ipv4_header_min_size) << "packet " << i + 1;

        std::vector<std::uint8_t> frame(ethernet_header_size);
        (void)write_ethernet(frame, h->dst.is_multicast() ? multicast_mac(h->dst) : our_mac,
                             c.src_mac, 0x0800);
        frame.insert(frame.end(), c.packet.begin(), c.packet.end());

        // As captured: IPv4 checksum verified, UDP checksum still partial.
        const auto v = classify(frame, ctx_partial);
        counters.record(v, frame.size());
        ASSERT_EQ(v.kind, verdict_kind::udp) << "packet " << i + 1 << ": " << name(v.reason);
        const std::span<const std::uint8_t> payload{frame.data() + v.payload_offset,
                                                    v.payload_length};
        EXPECT_TRUE(std::equal(payload.begin(), payload.end(), decoded[i].payload.begin(),
                               decoded[i].payload.end()))
            << "packet " << i + 1;
        multicast += v.is_multicast() ? 1 : 0;

        const frame_template t({.src_mac = c.src_mac,
                                .dst_mac = multicast_mac(h->dst),
                                .udp = {.src = v.src_ip,
                                        .dst = v.dst_ip,
                                        .src_port = v.src_port,
                                        .dst_port = v.dst_port},
                                .ttl = h->ttl,
                                .tos = h->tos,
                                .dont_fragment = h->dont_fragment});
        const std::uint8_t* ip = frame.data() + ethernet_header_size;
        std::uint8_t offloaded[frame_template::header_size];
        ASSERT_TRUE(t.stamp_headers(offloaded, payload, {.ipv4 = false, .udp = true}, h->id));
        EXPECT_TRUE(std::equal(offloaded + frame_template::ipv4_offset,
                               offloaded + frame_template::header_size, ip))
            << "IPv4 + UDP headers (UDP checksum offloaded), packet " << i + 1;

        // Complete the UDP checksum as the NIC would, then verify in software.
        const std::size_t udp_offset = ethernet_header_size + h->header_size;
        const std::uint16_t completed = nic_complete_udp_checksum(
            std::span{frame}.subspan(udp_offset, udp_header_size + v.payload_length));
        store_be16(frame.data() + udp_offset + 6, completed);
        const auto verified = classify(frame, ctx);
        ASSERT_EQ(verified.kind, verdict_kind::udp)
            << "packet " << i + 1 << ": " << name(verified.reason);

        std::uint8_t rebuilt[frame_template::header_size];
        ASSERT_TRUE(t.stamp_headers(rebuilt, payload, {}, h->id));
        EXPECT_EQ(load_be16(rebuilt + frame_template::ipv4_offset + 10), load_be16(ip + 10))
            << "IPv4 checksum, packet " << i + 1;
        EXPECT_EQ(load_be16(rebuilt + frame_template::udp_offset + 6), completed)
            << "UDP checksum, packet " << i + 1;
        EXPECT_TRUE(std::equal(rebuilt + frame_template::ipv4_offset,
                               rebuilt + frame_template::header_size, ip))
            << "IPv4 + UDP headers, packet " << i + 1;
    }
    EXPECT_EQ(counters.packets_of(verdict_kind::udp), packets.size());
    EXPECT_EQ(counters.packets_of(verdict_kind::drop), 0u);
    EXPECT_GT(multicast, 0u);
    EXPECT_LT(multicast, packets.size()) << "both directions are in the capture";
}

INSTANTIATE_TEST_SUITE_P(uftp, capture,
                         ::testing::Values("plain-open-group-2files.pcap",
                                           "ecdh-rsa-aes256gcm-clientauth.pcap"),
                         [](const ::testing::TestParamInfo<const char*>& param_info) {
                             std::string n = param_info.param;
                             std::replace_if(
                                 n.begin(), n.end(), [](char ch) { return !std::isalnum(ch); },
                                 '_');
                             return n;
                         });

} // namespace
} // namespace skycast::dataplane::net
