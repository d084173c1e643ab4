#pragma once
// Test support: writes pcap files of hand-built frames, so tests can feed the
// capture reader and tshark exactly the frames they need (fragments, VLAN
// tags, broken headers ...).

#include <cstdint>
#include <pcap/pcap.h>
#include <span>
#include <string>
#include <vector>

namespace skycast::test_support {

using frame_bytes = std::vector<std::uint8_t>;

struct udp_endpoints {
    std::uint8_t src_ip[4] = {192, 0, 2, 2};
    std::uint8_t dst_ip[4] = {230, 5, 5, 92};
    std::uint16_t src_port = 49152;
    std::uint16_t dst_port = 1044;
};

// An IPv4 packet (header + `ip_payload`) with the given ID and fragment field.
frame_bytes ipv4_packet(const udp_endpoints& e, std::span<const std::uint8_t> ip_payload,
                        std::uint16_t id, std::uint16_t fragment_field, std::uint8_t proto = 17);
// A UDP header + payload (checksum zero: allowed for IPv4, not checked by tshark).
frame_bytes udp_segment(const udp_endpoints& e, std::span<const std::uint8_t> payload);
// Ethernet II around an IP packet; `vlan` > 0 adds an 802.1Q tag.
frame_bytes ethernet(std::span<const std::uint8_t> ip_packet, std::uint16_t ethertype = 0x0800,
                     int vlan = 0);
// Ethernet/IPv4/UDP around a UFTP payload.
frame_bytes udp_frame(std::span<const std::uint8_t> payload, const udp_endpoints& e = {},
                      std::uint16_t ip_id = 1);
// The Ethernet frames of `payload` sent as IPv4 fragments of at most
// `mtu` bytes of IP packet each, in order.
std::vector<frame_bytes> fragmented_udp_frames(std::span<const std::uint8_t> payload,
                                               std::size_t mtu, const udp_endpoints& e = {},
                                               std::uint16_t ip_id = 7);

class pcap_writer {
public:
    explicit pcap_writer(const std::string& path, int link_type = DLT_EN10MB);
    ~pcap_writer();
    pcap_writer(const pcap_writer&) = delete;
    pcap_writer& operator=(const pcap_writer&) = delete;

    // `captured` < frame size records a frame cut short by the snap length.
    void write(std::span<const std::uint8_t> frame, long captured = -1);

private:
    pcap_t* _dead = nullptr;
    pcap_dumper_t* _dumper = nullptr;
    long _count = 0;
};

} // namespace skycast::test_support
