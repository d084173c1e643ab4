#include "dataplane/core/net/ipv4.h"

#include "dataplane/core/net/bytes.h"
#include "dataplane/core/net/checksum.h"

#include <optional>
#include <string_view>

namespace skycast::dataplane::net {

std::optional<ipv4_address> parse_ipv4_address(std::string_view text) {
    std::uint32_t value = 0;
    std::size_t pos = 0;
    for (int octet = 0; octet < 4; ++octet) {
        if (octet > 0) {
            if (pos >= text.size() || text[pos] != '.') {
                return std::nullopt;
            }
            ++pos;
        }
        std::uint32_t n = 0;
        std::size_t digits = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && digits < 4) {
            n = n * 10 + static_cast<std::uint32_t>(text[pos] - '0');
            ++pos;
            ++digits;
        }
        if (digits == 0 || digits > 3 || n > 255) {
            return std::nullopt;
        }
        value = (value << 8) | n;
    }
    if (pos != text.size()) {
        return std::nullopt;
    }
    return ipv4_address{value};
}

ipv4_text format(ipv4_address a) {
    ipv4_text t;
    for (int shift = 24; shift >= 0; shift -= 8) {
        const auto octet = static_cast<std::uint8_t>(a.value >> shift);
        if (octet >= 100) {
            t.chars[t.size++] = static_cast<char>('0' + octet / 100);
        }
        if (octet >= 10) {
            t.chars[t.size++] = static_cast<char>('0' + octet / 10 % 10);
        }
        t.chars[t.size++] = static_cast<char>('0' + octet % 10);
        if (shift > 0) {
            t.chars[t.size++] = '.';
        }
    }
    return t;
}

protocol::result<std::size_t> write_ipv4(std::span<std::uint8_t> out, const ipv4_params& p,
                                         std::size_t payload_length, bool checksum_offload) {
    const std::size_t header_size = ipv4_header_size(p);
    if (payload_length > ipv4_max_total_length - header_size) {
        return protocol::wire_error::field_too_large;
    }
    if (out.size() < header_size) {
        return protocol::wire_error::buffer_too_small;
    }
    std::uint8_t* h = out.data();
    h[0] = static_cast<std::uint8_t>(0x40 | (header_size / 4));
    h[1] = p.tos;
    store_be16(h + 2, static_cast<std::uint16_t>(header_size + payload_length));
    store_be16(h + 4, p.id);
    store_be16(h + 6, p.dont_fragment ? 0x4000 : 0);
    h[8] = p.ttl;
    h[9] = p.protocol;
    store_be16(h + 10, 0);
    store_be32(h + 12, p.src.value);
    store_be32(h + 16, p.dst.value);
    if (p.router_alert) {
        // Type 148 (copied, class 0, number 20), length 4, value 0: "routers
        // shall examine this packet".
        h[20] = 0x94;
        h[21] = 0x04;
        h[22] = 0;
        h[23] = 0;
    }
    if (!checksum_offload) {
        store_be16(h + 10, internet_checksum({h, header_size}));
    }
    return header_size;
}

parse_result<ipv4_header> parse_ipv4(std::span<const std::uint8_t> packet, bool verify_checksum) {
    if (packet.size() < ipv4_header_min_size) {
        return drop_reason::ipv4_truncated;
    }
    const std::uint8_t* h = packet.data();
    if ((h[0] >> 4) != 4) {
        return drop_reason::ipv4_bad_version;
    }
    ipv4_header out;
    out.header_size = std::size_t{h[0] & 0x0fu} * 4;
    if (out.header_size < ipv4_header_min_size || out.header_size > packet.size()) {
        return drop_reason::ipv4_bad_header_length;
    }
    out.total_length = load_be16(h + 2);
    if (out.total_length < out.header_size || out.total_length > packet.size()) {
        return drop_reason::ipv4_bad_total_length;
    }
    if (verify_checksum && !checksum_valid(packet.first(out.header_size))) {
        return drop_reason::ipv4_bad_checksum;
    }
    const std::uint16_t flags_offset = load_be16(h + 6);
    // MF (0x2000) or a fragment offset (low 13 bits).
    if ((flags_offset & 0x3fff) != 0) {
        return drop_reason::ipv4_fragment;
    }
    out.dont_fragment = (flags_offset & 0x4000) != 0;
    out.tos = h[1];
    out.id = load_be16(h + 4);
    out.ttl = h[8];
    out.protocol = h[9];
    out.src = ipv4_address{load_be32(h + 12)};
    out.dst = ipv4_address{load_be32(h + 16)};
    return out;
}

std::uint16_t pseudo_header_sum(ipv4_address src, ipv4_address dst, std::uint8_t protocol,
                                std::uint16_t length) {
    const std::uint64_t sum = (src.value >> 16) + (src.value & 0xffff) + (dst.value >> 16) +
                              (dst.value & 0xffff) + std::uint64_t{protocol} + length;
    return ones_fold(sum);
}

} // namespace skycast::dataplane::net
