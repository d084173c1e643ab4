#pragma once
// Receive classification: what the RX lcore does with each frame. One pass
// over the headers decides ARP (for us), IGMP (a query or another host's
// report), UDP (to an open port, with where its payload is), or a drop with
// its named reason; rx_counters counts every outcome, so nothing is dropped
// silently.

#include "dataplane/core/net/arp.h"
#include "dataplane/core/net/drop_reason.h"
#include "dataplane/core/net/ethernet.h"
#include "dataplane/core/net/igmp.h"
#include "dataplane/core/net/ipv4_address.h"

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace skycast::dataplane::net {

enum class verdict_kind : std::uint8_t {
    arp,  // an ARP packet for us: answer or learn from it
    igmp, // an IGMP message: answer a query, or suppress our report
    udp,  // a UDP datagram to an open port
    drop, // see rx_verdict::reason
    count // sentinel
};

inline constexpr std::size_t verdict_kind_count = static_cast<std::size_t>(verdict_kind::count);

std::string_view name(verdict_kind k);
// One line saying what the packets/bytes counted under this verdict are.
std::string_view help(verdict_kind k);

// What the receiver is: owned by the RX lcore's context, which fills the
// arrays as control joins groups and opens session ports.
struct rx_context {
    mac_address mac;
    ipv4_address ip;
    // Multicast groups joined (224.0.0.1, all hosts, is always joined).
    std::span<const ipv4_address> groups;
    // UDP ports open for sessions.
    std::span<const std::uint16_t> udp_ports;
    // False when the port has already verified the checksum
    // (RTE_MBUF_F_RX_IP_CKSUM_GOOD / _L4_CKSUM_GOOD), or cannot be trusted to.
    bool verify_ipv4_checksum = true;
    bool verify_udp_checksum = true;
};

struct rx_verdict {
    verdict_kind kind = verdict_kind::drop;
    drop_reason reason = drop_reason::count; // when kind == drop
    // The 802.1Q tag the frame carried, if any.
    bool tagged = false;
    std::uint16_t tci = 0;
    // arp
    arp_packet arp;
    // igmp and udp
    ipv4_address src_ip;
    ipv4_address dst_ip;
    // igmp
    igmp_message igmp;
    // udp
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::uint16_t payload_offset = 0; // from the start of the frame
    std::uint16_t payload_length = 0;

    bool is_multicast() const { return dst_ip.is_multicast(); }
};

// Classifies `frame` (the whole Ethernet frame as received, FCS stripped).
rx_verdict classify(std::span<const std::uint8_t> frame, const rx_context& ctx);

// Per-lcore receive counters: single writer (the RX lcore), readers sum over
// lcores (style rule 16, docs/architecture.md). On its own cache lines so two lcores' counters
// never share one.
struct alignas(64) rx_counters {
    std::array<std::uint64_t, verdict_kind_count> packets{};
    std::array<std::uint64_t, verdict_kind_count> bytes{};
    std::array<std::uint64_t, drop_reason_count> drops{};

    void record(const rx_verdict& v, std::size_t frame_bytes) {
        const auto k = static_cast<std::size_t>(v.kind);
        ++packets[k];
        bytes[k] += frame_bytes;
        if (v.kind == verdict_kind::drop) {
            ++drops[static_cast<std::size_t>(v.reason)];
        }
    }
    std::uint64_t drops_of(drop_reason r) const { return drops[static_cast<std::size_t>(r)]; }
    std::uint64_t packets_of(verdict_kind k) const { return packets[static_cast<std::size_t>(k)]; }
};
static_assert(sizeof(rx_counters) % 64 == 0);

} // namespace skycast::dataplane::net
