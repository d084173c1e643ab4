#pragma once
// Ethernet II framing: MAC addresses, the 14-byte header (an 802.1Q tag is
// parsed through), and the IPv4 multicast group → MAC mapping (RFC 1112 §6.4).

#include "dataplane/core/net/drop_reason.h"
#include "dataplane/core/net/ipv4_address.h"
#include "protocol/result.h"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace skycast::dataplane::net {

inline constexpr std::size_t ethernet_header_size = 14;
inline constexpr std::size_t vlan_tag_size = 4;
// The shortest frame a station may send, without FCS: shorter frames are
// padded with zeros (IEEE 802.3 §4.2.3.3). Writers of small frames (ARP,
// IGMP) pad, since not every PMD does it for us (net_ring does not).
inline constexpr std::size_t ethernet_min_frame_size = 60;

enum class ether_type : std::uint16_t {
    ipv4 = 0x0800,
    arp = 0x0806,
    vlan = 0x8100, // IEEE 802.1Q
    qinq = 0x88a8, // IEEE 802.1ad service tag
    ipv6 = 0x86dd, // (not handled yet; kept here so IPv6 has its place)
};

struct mac_address {
    std::array<std::uint8_t, 6> bytes{};

    static constexpr mac_address broadcast() { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }

    // The I/G bit: set for multicast and broadcast.
    constexpr bool is_multicast() const { return (bytes[0] & 0x01) != 0; }
    constexpr bool is_broadcast() const { return *this == broadcast(); }
    constexpr bool is_zero() const { return *this == mac_address{}; }

    friend constexpr bool operator==(const mac_address&, const mac_address&) = default;
};

// Six two-digit hex octets separated by ':' ("02:00:5e:10:00:01"), either
// case. nullopt for anything else.
std::optional<mac_address> parse_mac_address(std::string_view text);

// "xx:xx:xx:xx:xx:xx" in lower case plus a NUL.
struct mac_text {
    std::array<char, 18> chars{};
    std::string_view view() const { return {chars.data(), 17}; }
};
mac_text format(const mac_address& mac);

// 01:00:5e followed by the low 23 bits of the group address. 32 groups share
// each MAC, so a receiver still checks the IPv4 destination.
constexpr mac_address multicast_mac(ipv4_address group) {
    return {{0x01, 0x00, 0x5e, static_cast<std::uint8_t>((group.value >> 16) & 0x7f),
             static_cast<std::uint8_t>(group.value >> 8), static_cast<std::uint8_t>(group.value)}};
}

struct ethernet_header {
    mac_address dst;
    mac_address src;
    std::uint16_t ether_type = 0; // of the payload (after the tag, if any)
    bool tagged = false;          // an 802.1Q tag was present
    std::uint16_t tci = 0;        // its tag control information (PCP, DEI, VLAN ID)
    std::size_t header_size = 0;  // 14, or 18 with the tag: offset of the payload

    std::uint16_t vlan_id() const { return tci & 0x0fff; }
};

// Parses the header; a single 802.1Q tag is parsed through. A second tag
// (802.1ad QinQ or a stacked 802.1Q) is reported as its EtherType, which
// classification then refuses as unsupported.
parse_result<ethernet_header> parse_ethernet(std::span<const std::uint8_t> frame);

// Writes an untagged header; returns 14.
protocol::result<std::size_t> write_ethernet(std::span<std::uint8_t> out, const mac_address& dst,
                                             const mac_address& src, std::uint16_t ether_type);

} // namespace skycast::dataplane::net
