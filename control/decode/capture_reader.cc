#include "control/decode/capture_reader.h"

#include "control/decode/ip_reassembly.h"

#include <arpa/inet.h>
#include <cstring>
#include <pcap/pcap.h>

namespace skycast::decode {
namespace {

// Link-layer types as libpcap reports them (pcap/dlt.h); named here so the
// switch below reads as a list of what we support.
constexpr int link_null = DLT_NULL; // BSD loopback: 4-byte host-order family
constexpr int link_ethernet = DLT_EN10MB;
constexpr int link_raw = DLT_RAW;             // bare IPv4/IPv6
constexpr int link_linux_sll = DLT_LINUX_SLL; // "any" interface, cooked v1
#ifdef DLT_LINUX_SLL2
constexpr int link_linux_sll2 = DLT_LINUX_SLL2; // cooked v2 (tcpdump -i any on newer libpcap)
#else
constexpr int link_linux_sll2 = 276;
#endif
constexpr int link_ipv4 = 228;
constexpr int link_ipv6 = 229;

constexpr std::uint16_t ethertype_ipv4 = 0x0800;
constexpr std::uint16_t ethertype_ipv6 = 0x86dd;
constexpr std::uint16_t ethertype_vlan = 0x8100;
constexpr std::uint16_t ethertype_qinq = 0x88a8;
constexpr std::uint8_t ip_proto_udp = 17;
constexpr std::size_t max_vlan_tags = 2;

std::uint16_t be16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

std::string ip_text(int family, const std::uint8_t* addr) {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(family, addr, text, sizeof text);
    return text;
}

} // namespace

struct capture_reader::impl {
    pcap_t* handle = nullptr;
    int link_type = 0;
    std::uint64_t frame_number = 0;
    bool ended = false;
    ip_reassembler reassembler;
    std::vector<std::uint8_t> reassembled; // backs udp_frame::payload of a reassembled datagram

    ~impl() {
        if (handle != nullptr) {
            pcap_close(handle);
        }
    }

    frame_status parse_link(std::span<const std::uint8_t> f, udp_frame& out, std::string& problem);
    frame_status parse_ethertype(std::uint16_t ethertype, std::span<const std::uint8_t> payload,
                                 udp_frame& out, std::string& problem);
    frame_status parse_ipv4(std::span<const std::uint8_t> p, udp_frame& out, std::string& problem);
    frame_status parse_ipv6(std::span<const std::uint8_t> p, udp_frame& out, std::string& problem);
    frame_status parse_udp(std::span<const std::uint8_t> p, udp_frame& out, std::string& problem);
    frame_status reassemble(const fragment& f, udp_frame& out, std::string& problem);
};

frame_status capture_reader::impl::reassemble(const fragment& f, udp_frame& out,
                                              std::string& problem) {
    switch (reassembler.add(f, reassembled, problem)) {
    case ip_reassembler::outcome::incomplete:
        return frame_status::fragment;
    case ip_reassembler::outcome::invalid:
        return frame_status::malformed;
    case ip_reassembler::outcome::complete:
        break;
    }
    return parse_udp(reassembled, out, problem);
}

std::uint64_t capture_reader::fragments_evicted() const {
    return _impl->reassembler.evicted();
}
std::uint64_t capture_reader::fragments_incomplete() const {
    return _impl->reassembler.pending();
}

std::unique_ptr<capture_reader> capture_reader::open_file(const std::string& path,
                                                          std::string& error) {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* handle =
        pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    if (handle == nullptr) {
        error = errbuf;
        return nullptr;
    }
    auto p = std::make_unique<impl>();
    p->handle = handle;
    p->link_type = pcap_datalink(handle);
    return std::unique_ptr<capture_reader>(new capture_reader(std::move(p)));
}

std::unique_ptr<capture_reader> capture_reader::open_memory(std::span<const std::uint8_t> bytes,
                                                            std::string& error) {
    if (bytes.empty()) {
        error = "empty capture";
        return nullptr;
    }
    // fmemopen in "r" mode never writes through the pointer.
    FILE* stream = fmemopen(const_cast<std::uint8_t*>(bytes.data()), bytes.size(), "r");
    if (stream == nullptr) {
        error = std::string("fmemopen: ") + std::strerror(errno);
        return nullptr;
    }
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* handle =
        pcap_fopen_offline_with_tstamp_precision(stream, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    if (handle == nullptr) {
        std::fclose(stream);
        error = errbuf;
        return nullptr;
    }
    auto p = std::make_unique<impl>();
    p->handle = handle; // pcap_close() closes the stream
    p->link_type = pcap_datalink(handle);
    return std::unique_ptr<capture_reader>(new capture_reader(std::move(p)));
}

capture_reader::capture_reader(std::unique_ptr<impl> p) : _impl(std::move(p)) {}
capture_reader::~capture_reader() = default;

frame_status capture_reader::next(udp_frame& frame, std::string& problem) {
    if (_impl->ended) {
        return frame_status::end;
    }
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(_impl->handle, &header, &data);
    if (rc == PCAP_ERROR_BREAK) {
        _impl->ended = true;
        return frame_status::end;
    }
    if (rc != 1) {
        // A damaged or cut-off capture file: say so once, then stop, since
        // libpcap cannot resynchronise inside a file.
        _impl->ended = true;
        problem = std::string("capture file unreadable after frame ") +
                  std::to_string(_impl->frame_number) + ": " + pcap_geterr(_impl->handle);
        return frame_status::malformed;
    }
    frame = {};
    frame.frame_number = ++_impl->frame_number;
    frame.ts_sec = header->ts.tv_sec;
    frame.ts_usec = header->ts.tv_usec;
    if (header->caplen < header->len) {
        problem = "frame captured only " + std::to_string(header->caplen) + " of " +
                  std::to_string(header->len) + " bytes (snap length)";
        return frame_status::malformed;
    }
    return _impl->parse_link(std::span(data, header->caplen), frame, problem);
}

frame_status capture_reader::impl::parse_link(std::span<const std::uint8_t> f, udp_frame& out,
                                              std::string& problem) {
    switch (link_type) {
    case link_ethernet: {
        if (f.size() < 14) {
            problem = "Ethernet frame shorter than 14 bytes";
            return frame_status::malformed;
        }
        std::size_t offset = 12;
        std::uint16_t ethertype = be16(&f[offset]);
        for (std::size_t tags = 0;
             (ethertype == ethertype_vlan || ethertype == ethertype_qinq) && tags < max_vlan_tags;
             ++tags) {
            offset += 4;
            if (f.size() < offset + 2) {
                problem = "VLAN tag runs past the end of the frame";
                return frame_status::malformed;
            }
            ethertype = be16(&f[offset]);
        }
        return parse_ethertype(ethertype, f.subspan(offset + 2), out, problem);
    }
    case link_linux_sll:
        if (f.size() < 16) {
            problem = "Linux cooked header shorter than 16 bytes";
            return frame_status::malformed;
        }
        return parse_ethertype(be16(&f[14]), f.subspan(16), out, problem);
    case link_linux_sll2:
        if (f.size() < 20) {
            problem = "Linux cooked v2 header shorter than 20 bytes";
            return frame_status::malformed;
        }
        return parse_ethertype(be16(&f[0]), f.subspan(20), out, problem);
    case link_null:
        if (f.size() < 4) {
            problem = "loopback header shorter than 4 bytes";
            return frame_status::malformed;
        }
        // The family is in the capturing host's byte order; the IP version
        // nibble says the same thing portably.
        return parse_ethertype(f.size() > 4 && (f[4] >> 4) == 6 ? ethertype_ipv6 : ethertype_ipv4,
                               f.subspan(4), out, problem);
    case link_raw:
    case link_ipv4:
    case link_ipv6:
        if (f.empty()) {
            return frame_status::not_udp;
        }
        return parse_ethertype((f[0] >> 4) == 6 ? ethertype_ipv6 : ethertype_ipv4, f, out, problem);
    default:
        problem = "unsupported link type " + std::to_string(link_type) +
                  " (supported: Ethernet, Linux cooked, raw IP, loopback)";
        ended = true;
        return frame_status::malformed;
    }
}

frame_status capture_reader::impl::parse_ethertype(std::uint16_t ethertype,
                                                   std::span<const std::uint8_t> payload,
                                                   udp_frame& out, std::string& problem) {
    if (ethertype == ethertype_ipv4) {
        return parse_ipv4(payload, out, problem);
    }
    if (ethertype == ethertype_ipv6) {
        return parse_ipv6(payload, out, problem);
    }
    return frame_status::not_udp;
}

frame_status capture_reader::impl::parse_ipv4(std::span<const std::uint8_t> p, udp_frame& out,
                                              std::string& problem) {
    if (p.size() < 20) {
        problem = "IPv4 header shorter than 20 bytes";
        return frame_status::malformed;
    }
    if ((p[0] >> 4) != 4) {
        problem = "IPv4 version field is " + std::to_string(p[0] >> 4);
        return frame_status::malformed;
    }
    const std::size_t header_len = std::size_t{p[0] & 0x0fu} * 4;
    const std::size_t total_len = be16(&p[2]);
    if (header_len < 20 || header_len > p.size()) {
        problem = "IPv4 header length " + std::to_string(header_len) + " is invalid for " +
                  std::to_string(p.size()) + " bytes";
        return frame_status::malformed;
    }
    if (total_len < header_len || total_len > p.size()) {
        problem = "IPv4 total length " + std::to_string(total_len) + " does not fit the " +
                  std::to_string(p.size()) + " bytes captured";
        return frame_status::malformed;
    }
    const std::uint16_t fragment_bits = be16(&p[6]);
    const bool more_fragments = (fragment_bits & 0x2000) != 0;
    const bool offset_nonzero = (fragment_bits & 0x1fff) != 0;
    if (p[9] != ip_proto_udp) {
        return frame_status::not_udp;
    }
    out.src_addr = ip_text(AF_INET, &p[12]);
    out.dst_addr = ip_text(AF_INET, &p[16]);
    if (more_fragments || offset_nonzero) {
        const fragment f{.key = "4/" + out.src_addr + "/" + out.dst_addr + "/" +
                                std::to_string(be16(&p[4])),
                         .offset = std::uint32_t{fragment_bits & 0x1fffu} * 8,
                         .more = more_fragments,
                         .data = p.subspan(header_len, total_len - header_len)};
        return reassemble(f, out, problem);
    }
    // Ethernet pads short frames: the IP total length, not the frame, ends the packet.
    return parse_udp(p.subspan(header_len, total_len - header_len), out, problem);
}

frame_status capture_reader::impl::parse_ipv6(std::span<const std::uint8_t> p, udp_frame& out,
                                              std::string& problem) {
    constexpr std::uint8_t hop_by_hop = 0, routing = 43, fragment_header = 44, dest_options = 60;
    if (p.size() < 40) {
        problem = "IPv6 header shorter than 40 bytes";
        return frame_status::malformed;
    }
    const std::size_t payload_len = be16(&p[4]);
    if (40 + payload_len > p.size()) {
        problem = "IPv6 payload length " + std::to_string(payload_len) + " does not fit the " +
                  std::to_string(p.size() - 40) + " bytes captured";
        return frame_status::malformed;
    }
    out.src_addr = ip_text(AF_INET6, &p[8]);
    out.dst_addr = ip_text(AF_INET6, &p[24]);
    std::uint8_t next = p[6];
    auto rest = p.subspan(40, payload_len);
    while (next == hop_by_hop || next == routing || next == dest_options) {
        if (rest.size() < 8) {
            problem = "IPv6 extension header runs past the packet";
            return frame_status::malformed;
        }
        const std::size_t ext_len = (std::size_t{rest[1]} + 1) * 8;
        if (ext_len > rest.size()) {
            problem = "IPv6 extension header runs past the packet";
            return frame_status::malformed;
        }
        next = rest[0];
        rest = rest.subspan(ext_len);
    }
    if (next == fragment_header) {
        if (rest.size() < 8) {
            problem = "IPv6 fragment header runs past the packet";
            return frame_status::malformed;
        }
        if (rest[0] != ip_proto_udp) {
            return frame_status::not_udp;
        }
        const std::uint16_t offset_bits = be16(&rest[2]);
        const fragment f{.key = "6/" + out.src_addr + "/" + out.dst_addr + "/" +
                                std::to_string((std::uint32_t{rest[4]} << 24) |
                                               (std::uint32_t{rest[5]} << 16) |
                                               (std::uint32_t{rest[6]} << 8) | rest[7]),
                         .offset = static_cast<std::uint32_t>(offset_bits >> 3) * 8,
                         .more = (offset_bits & 1) != 0,
                         .data = rest.subspan(8)};
        return reassemble(f, out, problem);
    }
    if (next != ip_proto_udp) {
        return frame_status::not_udp;
    }
    return parse_udp(rest, out, problem);
}

frame_status capture_reader::impl::parse_udp(std::span<const std::uint8_t> p, udp_frame& out,
                                             std::string& problem) {
    if (p.size() < 8) {
        problem = "UDP header shorter than 8 bytes";
        return frame_status::malformed;
    }
    const std::size_t udp_len = be16(&p[4]);
    if (udp_len < 8 || udp_len > p.size()) {
        problem = "UDP length " + std::to_string(udp_len) + " does not fit the " +
                  std::to_string(p.size()) + "-byte IP payload";
        return frame_status::malformed;
    }
    out.src_port = be16(&p[0]);
    out.dst_port = be16(&p[2]);
    out.payload = p.subspan(8, udp_len - 8);
    return frame_status::udp;
}

} // namespace skycast::decode
