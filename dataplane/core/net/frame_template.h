#pragma once
// Prebuilt Ethernet + IPv4 + UDP headers for one destination, stamped onto
// every packet the TX path sends there. Everything that does not depend on
// the packet is computed once at construction (addresses, ports, TTL, and
// the partial sums of the IPv4 header and UDP pseudo-header); per packet only
// the two lengths, the IPv4 ID and the checksums are filled in, so the cost
// is a 42-byte copy plus, with software UDP checksums, one pass over the
// payload.

#include "dataplane/core/net/ethernet.h"
#include "dataplane/core/net/ipv4.h"
#include "dataplane/core/net/udp.h"
#include "protocol/result.h"

#include <array>
#include <cstdint>
#include <span>

namespace skycast::dataplane::net {

struct frame_params {
    mac_address src_mac;
    mac_address dst_mac; // multicast_mac(group) for a group, the resolved next hop otherwise
    udp_endpoints udp;
    std::uint8_t ttl = default_multicast_ttl;
    std::uint8_t tos = 0;
    bool dont_fragment = true;
};

// Which checksums the port computes (DPDK's RTE_ETH_TX_OFFLOAD_IPV4_CKSUM and
// _UDP_CKSUM, requested per mbuf with the matching RTE_MBUF_F_TX_* flags).
struct tx_checksum_offload {
    bool ipv4 = false; // IPv4 header checksum left 0 for the NIC
    bool udp = false;  // UDP field holds the pseudo-header sum for the NIC
    // No UDP checksum at all (the field 0, which IPv4 allows, RFC 768): for
    // payloads that carry a stronger check of their own, such as AEAD-sealed
    // datagrams, where summing every byte again buys nothing. Wins over `udp`.
    bool udp_none = false;
};

class frame_template {
public:
    // Ethernet (14) + IPv4 (20) + UDP (8).
    static constexpr std::size_t header_size =
        ethernet_header_size + ipv4_header_min_size + udp_header_size;
    static constexpr std::size_t ipv4_offset = ethernet_header_size;
    static constexpr std::size_t udp_offset = ipv4_offset + ipv4_header_min_size;
    // The largest UDP payload an IPv4 datagram can carry.
    static constexpr std::size_t max_payload =
        ipv4_max_total_length - ipv4_header_min_size - udp_header_size;

    explicit frame_template(const frame_params& params);

    const frame_params& params() const { return _params; }

    // Writes the headers into `headers` (at least header_size bytes) for the
    // payload `payload`, which may live elsewhere (an external buffer
    // attached to the mbuf); it is read only for a software UDP checksum.
    // `ip_id` goes into the IPv4 ID field (0 is fine with DF set).
    // Returns header_size.
    protocol::result<std::size_t> stamp_headers(std::span<std::uint8_t> headers,
                                                std::span<const std::uint8_t> payload,
                                                tx_checksum_offload offload = {},
                                                std::uint16_t ip_id = 0) const;

    // For a frame whose payload (`payload_length` bytes) is already in place
    // at offset header_size: writes the headers in front of it. Returns the
    // frame length.
    protocol::result<std::size_t> stamp(std::span<std::uint8_t> frame, std::size_t payload_length,
                                        tx_checksum_offload offload = {},
                                        std::uint16_t ip_id = 0) const;

private:
    frame_params _params;
    std::array<std::uint8_t, header_size> _headers{};
    // One's-complement sums of the constant parts: the IPv4 header with zero
    // length, ID and checksum; the pseudo-header with zero length; that plus
    // the UDP header with zero length and checksum (the ports).
    std::uint16_t _ipv4_sum = 0;
    std::uint16_t _pseudo_sum = 0;
    std::uint16_t _udp_sum = 0;
};

} // namespace skycast::dataplane::net
