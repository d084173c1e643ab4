#include "dataplane/core/net/arp.h"

#include "dataplane/core/net/bytes.h"

#include <cstring>

namespace skycast::dataplane::net {
namespace {

constexpr std::uint16_t hardware_ethernet = 1;

protocol::result<std::size_t> write_arp_frame(std::span<std::uint8_t> out, const mac_address& dst,
                                              const arp_packet& p) {
    if (out.size() < arp_frame_size) {
        return protocol::wire_error::buffer_too_small;
    }
    std::memset(out.data(), 0, arp_frame_size);
    (void)write_ethernet(out, dst, p.sender_mac, static_cast<std::uint16_t>(ether_type::arp));
    std::uint8_t* a = out.data() + ethernet_header_size;
    store_be16(a, hardware_ethernet);
    store_be16(a + 2, static_cast<std::uint16_t>(ether_type::ipv4));
    a[4] = 6;
    a[5] = 4;
    store_be16(a + 6, static_cast<std::uint16_t>(p.op));
    std::memcpy(a + 8, p.sender_mac.bytes.data(), 6);
    store_be32(a + 14, p.sender_ip.value);
    std::memcpy(a + 18, p.target_mac.bytes.data(), 6);
    store_be32(a + 24, p.target_ip.value);
    return arp_frame_size;
}

} // namespace

parse_result<arp_packet> parse_arp(std::span<const std::uint8_t> payload) {
    if (payload.size() < arp_packet_size) {
        return drop_reason::arp_malformed;
    }
    const std::uint8_t* a = payload.data();
    if (load_be16(a) != hardware_ethernet ||
        load_be16(a + 2) != static_cast<std::uint16_t>(ether_type::ipv4) || a[4] != 6 ||
        a[5] != 4) {
        return drop_reason::arp_malformed;
    }
    const std::uint16_t op = load_be16(a + 6);
    if (op != static_cast<std::uint16_t>(arp_op::request) &&
        op != static_cast<std::uint16_t>(arp_op::reply)) {
        return drop_reason::arp_malformed;
    }
    arp_packet p;
    p.op = static_cast<arp_op>(op);
    std::memcpy(p.sender_mac.bytes.data(), a + 8, 6);
    p.sender_ip = ipv4_address{load_be32(a + 14)};
    std::memcpy(p.target_mac.bytes.data(), a + 18, 6);
    p.target_ip = ipv4_address{load_be32(a + 24)};
    return p;
}

protocol::result<std::size_t> write_arp_reply(std::span<std::uint8_t> out,
                                              const mac_address& our_mac, ipv4_address our_ip,
                                              const arp_packet& request) {
    const arp_packet reply{.op = arp_op::reply,
                           .sender_mac = our_mac,
                           .sender_ip = our_ip,
                           .target_mac = request.sender_mac,
                           .target_ip = request.sender_ip};
    return write_arp_frame(out, request.sender_mac, reply);
}

protocol::result<std::size_t> write_arp_request(std::span<std::uint8_t> out,
                                                const mac_address& our_mac, ipv4_address our_ip,
                                                ipv4_address target_ip) {
    const arp_packet request{.op = arp_op::request,
                             .sender_mac = our_mac,
                             .sender_ip = our_ip,
                             .target_mac = {},
                             .target_ip = target_ip};
    return write_arp_frame(out, mac_address::broadcast(), request);
}

} // namespace skycast::dataplane::net
