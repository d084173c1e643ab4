#pragma once
// IPv4 headers (RFC 791): written with DF set and a caller-chosen TTL, parsed
// with every check a host makes before trusting the fields, and the UDP/IGMP
// pseudo-header sum.

#include "dataplane/core/net/drop_reason.h"
#include "dataplane/core/net/ipv4_address.h"
#include "protocol/result.h"

#include <cstdint>
#include <span>

namespace skycast::dataplane::net {

inline constexpr std::size_t ipv4_header_min_size = 20;
// The largest header (IHL 15).
inline constexpr std::size_t ipv4_header_max_size = 60;
inline constexpr std::size_t ipv4_max_total_length = 65535;

inline constexpr std::uint8_t ip_protocol_igmp = 2;
inline constexpr std::uint8_t ip_protocol_udp = 17;

// Multicast TTL when the configuration says nothing: enough for a site's
// routed multicast (and UFTP's own default of 1 hop is too few behind a
// router), small enough that a misconfigured group does not leak far.
inline constexpr std::uint8_t default_multicast_ttl = 32;
// Unicast TTL: the common host default (Linux ip_default_ttl).
inline constexpr std::uint8_t default_unicast_ttl = 64;

struct ipv4_params {
    ipv4_address src;
    ipv4_address dst;
    std::uint8_t protocol = ip_protocol_udp;
    std::uint8_t ttl = default_multicast_ttl;
    std::uint8_t tos = 0;
    // With DF set an ID of 0 is fine (RFC 6864 §4.1: the ID only matters for
    // reassembly, and an atomic datagram is never fragmented).
    std::uint16_t id = 0;
    bool dont_fragment = true;
    // Adds the 4-byte Router Alert option (RFC 2113), making IHL 6: IGMP
    // messages carry it so routers look at them.
    bool router_alert = false;
};

// Header size for these parameters: 20, or 24 with Router Alert.
constexpr std::size_t ipv4_header_size(const ipv4_params& p) {
    return p.router_alert ? ipv4_header_min_size + 4 : ipv4_header_min_size;
}

// Writes the header for a payload of `payload_length` bytes, checksum
// included (or 0 when `checksum_offload`: a NIC with IPv4 checksum offload
// wants the field zero). Returns the header size.
protocol::result<std::size_t> write_ipv4(std::span<std::uint8_t> out, const ipv4_params& p,
                                         std::size_t payload_length, bool checksum_offload = false);

struct ipv4_header {
    ipv4_address src;
    ipv4_address dst;
    std::uint8_t protocol = 0;
    std::uint8_t ttl = 0;
    std::uint8_t tos = 0;
    std::uint16_t id = 0;
    bool dont_fragment = false;
    std::size_t header_size = 0;  // IHL * 4: offset of the payload
    std::size_t total_length = 0; // header + payload; bytes after it are link padding
};

// Parses and validates the header at the start of `packet` (everything the
// link layer delivered after its header, padding included): version 4,
// 5 <= IHL and the header inside the packet, header <= total length <= the
// packet, the header checksum when `verify_checksum` (false when the port
// has verified it already), and no fragment (MF or an offset: fragments are
// not reassembled here).
parse_result<ipv4_header> parse_ipv4(std::span<const std::uint8_t> packet,
                                     bool verify_checksum = true);

// The one's-complement sum of the UDP (or other transport) pseudo-header:
// source, destination, zero + protocol, and `length`, the transport length.
// Not complemented: with checksum offload this is what the NIC expects in the
// UDP checksum field (as DPDK's rte_ipv4_phdr_cksum computes it).
std::uint16_t pseudo_header_sum(ipv4_address src, ipv4_address dst, std::uint8_t protocol,
                                std::uint16_t length);

} // namespace skycast::dataplane::net
