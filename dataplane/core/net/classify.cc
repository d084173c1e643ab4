#include "dataplane/core/net/classify.h"

#include "dataplane/core/net/ipv4.h"
#include "dataplane/core/net/udp.h"

#include <algorithm>

namespace skycast::dataplane::net {
namespace {

rx_verdict drop(rx_verdict v, drop_reason r) {
    v.kind = verdict_kind::drop;
    v.reason = r;
    return v;
}

bool arp_for_us(const arp_packet& p, const rx_context& ctx) {
    // Requests for our address want an answer; replies to our address
    // answer our requests; gratuitous announcements refresh what we know.
    return p.target_ip == ctx.ip || p.is_gratuitous();
}

bool joined(ipv4_address group, const rx_context& ctx) {
    return group == all_hosts_group ||
           std::find(ctx.groups.begin(), ctx.groups.end(), group) != ctx.groups.end();
}

bool port_open(std::uint16_t port, const rx_context& ctx) {
    return std::find(ctx.udp_ports.begin(), ctx.udp_ports.end(), port) != ctx.udp_ports.end();
}

} // namespace

std::string_view name(verdict_kind k) {
    switch (k) {
    case verdict_kind::arp:
        return "arp";
    case verdict_kind::igmp:
        return "igmp";
    case verdict_kind::udp:
        return "udp";
    case verdict_kind::drop:
        return "drop";
    case verdict_kind::count:
        break;
    }
    return "unknown";
}

std::string_view help(verdict_kind k) {
    switch (k) {
    case verdict_kind::arp:
        return "ARP packets for our address (requests answered, replies learned)";
    case verdict_kind::igmp:
        return "IGMP queries and other hosts' reports: routers polling group membership";
    case verdict_kind::udp:
        return "UDP datagrams to open session ports, handed to the receive path";
    case verdict_kind::drop:
        return "frames dropped; the per-reason counters say why";
    case verdict_kind::count:
        break;
    }
    return "unknown verdict";
}

rx_verdict classify(std::span<const std::uint8_t> frame, const rx_context& ctx) {
    rx_verdict v;
    const auto eth = parse_ethernet(frame);
    if (!eth) {
        return drop(v, eth.reason());
    }
    v.tagged = eth->tagged;
    v.tci = eth->tci;
    if (eth->src.is_multicast()) {
        return drop(v, drop_reason::invalid_source_mac);
    }
    if (!eth->dst.is_multicast() && eth->dst != ctx.mac) {
        return drop(v, drop_reason::not_our_mac);
    }
    const auto l3 = frame.subspan(eth->header_size);

    if (eth->ether_type == static_cast<std::uint16_t>(ether_type::arp)) {
        const auto arp = parse_arp(l3);
        if (!arp) {
            return drop(v, arp.reason());
        }
        if (!arp_for_us(*arp, ctx)) {
            return drop(v, drop_reason::arp_not_for_us);
        }
        v.kind = verdict_kind::arp;
        v.arp = *arp;
        return v;
    }
    if (eth->ether_type != static_cast<std::uint16_t>(ether_type::ipv4)) {
        return drop(v, drop_reason::unsupported_ethertype);
    }

    const auto ip = parse_ipv4(l3, ctx.verify_ipv4_checksum);
    if (!ip) {
        return drop(v, ip.reason());
    }
    v.src_ip = ip->src;
    v.dst_ip = ip->dst;
    // A host without an address yet reports from 0.0.0.0 (RFC 3376 §4.2.13);
    // nothing else may come from there.
    if (ip->src.is_multicast() || ip->src.is_limited_broadcast() ||
        (ip->src.is_unspecified() && ip->protocol != ip_protocol_igmp)) {
        return drop(v, drop_reason::ipv4_bad_source);
    }
    if (ip->dst.is_multicast()) {
        if (!joined(ip->dst, ctx)) {
            return drop(v, drop_reason::ipv4_unjoined_group);
        }
    } else if (ip->dst != ctx.ip) {
        return drop(v, drop_reason::ipv4_not_our_address);
    }
    const auto l4 = l3.subspan(ip->header_size, ip->total_length - ip->header_size);

    if (ip->protocol == ip_protocol_igmp) {
        const auto igmp = parse_igmp(l4);
        if (!igmp) {
            return drop(v, igmp.reason());
        }
        v.kind = verdict_kind::igmp;
        v.igmp = *igmp;
        return v;
    }
    if (ip->protocol != ip_protocol_udp) {
        return drop(v, drop_reason::unsupported_protocol);
    }
    const auto udp = parse_udp(l4, ip->src, ip->dst, ctx.verify_udp_checksum);
    if (!udp) {
        return drop(v, udp.reason());
    }
    v.src_port = udp->src_port;
    v.dst_port = udp->dst_port;
    if (!port_open(udp->dst_port, ctx)) {
        return drop(v, drop_reason::udp_port_closed);
    }
    v.kind = verdict_kind::udp;
    v.payload_offset = static_cast<std::uint16_t>(udp->payload.data() - frame.data());
    v.payload_length = static_cast<std::uint16_t>(udp->payload.size());
    return v;
}

} // namespace skycast::dataplane::net
