#pragma once
// ARP for IPv4 over Ethernet (RFC 826): parse requests and replies, write the
// reply to a request for our address, and requests (who-has, and gratuitous
// announcements of our own address). Writers produce whole Ethernet frames,
// padded to the 60-byte minimum.

#include "dataplane/core/net/drop_reason.h"
#include "dataplane/core/net/ethernet.h"
#include "dataplane/core/net/ipv4_address.h"
#include "protocol/result.h"

#include <cstdint>
#include <span>

namespace skycast::dataplane::net {

// The ARP packet for Ethernet/IPv4: 8 bytes of fixed header plus two
// (MAC, IPv4) pairs.
inline constexpr std::size_t arp_packet_size = 28;
// A written ARP frame: 14 + 28 bytes, padded to the Ethernet minimum.
inline constexpr std::size_t arp_frame_size = ethernet_min_frame_size;

enum class arp_op : std::uint16_t {
    request = 1,
    reply = 2,
};

struct arp_packet {
    arp_op op = arp_op::request;
    mac_address sender_mac;
    ipv4_address sender_ip;
    mac_address target_mac; // zero in requests
    ipv4_address target_ip;

    // An announcement of the sender's own address (RFC 5227 §2.3): sender and
    // target address are the same.
    bool is_gratuitous() const { return sender_ip == target_ip; }
};

// Parses the ARP payload (after the Ethernet header): hardware type Ethernet
// (1), protocol IPv4 (0x0800), lengths 6 and 4, opcode request or reply.
// Anything else, or fewer than 28 bytes, is arp_malformed.
parse_result<arp_packet> parse_arp(std::span<const std::uint8_t> payload);

// The reply to `request` saying that `our_ip` is at `our_mac`, sent to the
// requester's MAC. Returns the frame length (arp_frame_size).
protocol::result<std::size_t> write_arp_reply(std::span<std::uint8_t> out,
                                              const mac_address& our_mac, ipv4_address our_ip,
                                              const arp_packet& request);

// A broadcast "who has `target_ip`? tell `our_ip`". Returns arp_frame_size.
protocol::result<std::size_t> write_arp_request(std::span<std::uint8_t> out,
                                                const mac_address& our_mac, ipv4_address our_ip,
                                                ipv4_address target_ip);

// A gratuitous ARP request announcing `our_ip` at `our_mac` (sender and
// target address both ours), sent when a port comes up so that neighbours
// update stale entries. Returns arp_frame_size.
inline protocol::result<std::size_t>
write_gratuitous_arp(std::span<std::uint8_t> out, const mac_address& our_mac, ipv4_address our_ip) {
    return write_arp_request(out, our_mac, our_ip, our_ip);
}

} // namespace skycast::dataplane::net
