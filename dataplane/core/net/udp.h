#pragma once
// UDP over IPv4 (RFC 768): header write with the pseudo-header checksum (in
// software, or prepared for the NIC's offload), and parse with validation.

#include "dataplane/core/net/drop_reason.h"
#include "dataplane/core/net/ipv4_address.h"
#include "protocol/result.h"

#include <cstdint>
#include <span>

namespace skycast::dataplane::net {

inline constexpr std::size_t udp_header_size = 8;

struct udp_endpoints {
    ipv4_address src;
    ipv4_address dst;
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
};

// Writes the 8-byte header at the start of `datagram`, whose payload
// (`payload_length` bytes) is already in place right after it, with the full
// checksum over pseudo-header, header and payload (0 is sent as 0xffff, since
// 0 means "no checksum"). Returns the datagram length.
protocol::result<std::size_t> write_udp(std::span<std::uint8_t> datagram, const udp_endpoints& ep,
                                        std::size_t payload_length);

// The same header for a NIC that computes the checksum (DPDK's
// RTE_MBUF_F_TX_UDP_CKSUM): the field holds the uncomplemented pseudo-header
// sum, and the payload is not read, so it need not be in place yet.
protocol::result<std::size_t> write_udp_offload(std::span<std::uint8_t> header,
                                                const udp_endpoints& ep,
                                                std::size_t payload_length);

struct udp_datagram {
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::uint16_t checksum = 0;            // as on the wire; 0 = none was sent
    std::span<const std::uint8_t> payload; // `length` - 8 bytes after the header
};

// Parses the datagram that is the IPv4 payload `ip_payload` (exactly total
// length - header size bytes): the UDP length must be at least 8 and within
// the IPv4 payload (bytes beyond it are ignored, as hosts do); the checksum,
// when non-zero and `verify_checksum`, must verify.
parse_result<udp_datagram> parse_udp(std::span<const std::uint8_t> ip_payload, ipv4_address src,
                                     ipv4_address dst, bool verify_checksum = true);

} // namespace skycast::dataplane::net
