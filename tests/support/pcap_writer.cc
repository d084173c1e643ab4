#include "tests/support/pcap_writer.h"

#include <algorithm>
#include <stdexcept>

namespace skycast::test_support {
namespace {
void put16(std::uint8_t* p, std::size_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
} // namespace

frame_bytes ipv4_packet(const udp_endpoints& e, std::span<const std::uint8_t> ip_payload,
                        std::uint16_t id, std::uint16_t fragment_field, std::uint8_t proto) {
    frame_bytes ip(20 + ip_payload.size(), 0);
    ip[0] = 0x45;
    put16(&ip[2], ip.size());
    put16(&ip[4], id);
    put16(&ip[6], fragment_field);
    ip[8] = 1;
    ip[9] = proto;
    std::copy(e.src_ip, e.src_ip + 4, ip.begin() + 12);
    std::copy(e.dst_ip, e.dst_ip + 4, ip.begin() + 16);
    std::copy(ip_payload.begin(), ip_payload.end(), ip.begin() + 20);
    return ip;
}

frame_bytes udp_segment(const udp_endpoints& e, std::span<const std::uint8_t> payload) {
    frame_bytes udp(8 + payload.size(), 0);
    put16(&udp[0], e.src_port);
    put16(&udp[2], e.dst_port);
    put16(&udp[4], udp.size());
    std::copy(payload.begin(), payload.end(), udp.begin() + 8);
    return udp;
}

frame_bytes ethernet(std::span<const std::uint8_t> ip_packet, std::uint16_t ethertype, int vlan) {
    const std::size_t header = 14 + (vlan > 0 ? 4 : 0);
    frame_bytes f(header + ip_packet.size(), 0);
    const std::uint8_t macs[12] = {0x01, 0x00, 0x5e, 0x05, 0x05, 0x5c,  // multicast destination
                                   0x02, 0x00, 0x00, 0x00, 0x00, 0x01}; // local source
    std::copy(macs, macs + 12, f.begin());
    std::size_t at = 12;
    if (vlan > 0) {
        put16(&f[at], 0x8100);
        put16(&f[at + 2], static_cast<std::size_t>(vlan));
        at += 4;
    }
    put16(&f[at], ethertype);
    std::copy(ip_packet.begin(), ip_packet.end(), f.begin() + static_cast<long>(header));
    return f;
}

frame_bytes udp_frame(std::span<const std::uint8_t> payload, const udp_endpoints& e,
                      std::uint16_t ip_id) {
    return ethernet(ipv4_packet(e, udp_segment(e, payload), ip_id, 0));
}

std::vector<frame_bytes> fragmented_udp_frames(std::span<const std::uint8_t> payload,
                                               std::size_t mtu, const udp_endpoints& e,
                                               std::uint16_t ip_id) {
    const frame_bytes udp = udp_segment(e, payload);
    const std::size_t per_fragment = (mtu - 20) / 8 * 8; // offsets count 8-byte units
    std::vector<frame_bytes> frames;
    for (std::size_t offset = 0; offset < udp.size(); offset += per_fragment) {
        const std::size_t n = std::min(per_fragment, udp.size() - offset);
        const bool more = offset + n < udp.size();
        const auto field = static_cast<std::uint16_t>((more ? 0x2000 : 0) | (offset / 8));
        frames.push_back(ethernet(ipv4_packet(e, std::span(udp).subspan(offset, n), ip_id, field)));
    }
    return frames;
}

pcap_writer::pcap_writer(const std::string& path, int link_type) {
    _dead = pcap_open_dead(link_type, 65535);
    _dumper = pcap_dump_open(_dead, path.c_str());
    if (_dumper == nullptr) {
        const std::string error = pcap_geterr(_dead);
        pcap_close(_dead);
        throw std::runtime_error("cannot write " + path + ": " + error);
    }
}

pcap_writer::~pcap_writer() {
    pcap_dump_close(_dumper);
    pcap_close(_dead);
}

void pcap_writer::write(std::span<const std::uint8_t> frame, long captured) {
    pcap_pkthdr header{};
    header.ts.tv_sec = 1795246747 + _count++;
    header.len = static_cast<bpf_u_int32>(frame.size());
    header.caplen = captured < 0 ? header.len : static_cast<bpf_u_int32>(captured);
    pcap_dump(reinterpret_cast<u_char*>(_dumper), &header, frame.data());
}

} // namespace skycast::test_support
