#include "dataplane/core/net/ethernet.h"

#include "dataplane/core/net/bytes.h"

#include <cstring>

namespace skycast::dataplane::net {
namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

} // namespace

std::optional<mac_address> parse_mac_address(std::string_view text) {
    if (text.size() != 17) {
        return std::nullopt;
    }
    mac_address mac;
    for (std::size_t i = 0; i < 6; ++i) {
        const std::size_t at = i * 3;
        if (i > 0 && text[at - 1] != ':') {
            return std::nullopt;
        }
        const int high = hex_digit(text[at]);
        const int low = hex_digit(text[at + 1]);
        if (high < 0 || low < 0) {
            return std::nullopt;
        }
        mac.bytes[i] = static_cast<std::uint8_t>(high * 16 + low);
    }
    return mac;
}

mac_text format(const mac_address& mac) {
    static constexpr char digits[] = "0123456789abcdef";
    mac_text t;
    for (std::size_t i = 0; i < 6; ++i) {
        t.chars[i * 3] = digits[mac.bytes[i] >> 4];
        t.chars[i * 3 + 1] = digits[mac.bytes[i] & 0xf];
        t.chars[i * 3 + 2] = i < 5 ? ':' : '\0';
    }
    return t;
}

parse_result<ethernet_header> parse_ethernet(std::span<const std::uint8_t> frame) {
    if (frame.size() < ethernet_header_size) {
        return drop_reason::too_short;
    }
    ethernet_header h;
    std::memcpy(h.dst.bytes.data(), frame.data(), 6);
    std::memcpy(h.src.bytes.data(), frame.data() + 6, 6);
    h.ether_type = load_be16(frame.data() + 12);
    h.header_size = ethernet_header_size;
    if (h.ether_type == static_cast<std::uint16_t>(ether_type::vlan)) {
        if (frame.size() < ethernet_header_size + vlan_tag_size) {
            return drop_reason::too_short;
        }
        h.tagged = true;
        h.tci = load_be16(frame.data() + 14);
        h.ether_type = load_be16(frame.data() + 16);
        h.header_size += vlan_tag_size;
    }
    return h;
}

protocol::result<std::size_t> write_ethernet(std::span<std::uint8_t> out, const mac_address& dst,
                                             const mac_address& src, std::uint16_t type) {
    if (out.size() < ethernet_header_size) {
        return protocol::wire_error::buffer_too_small;
    }
    std::memcpy(out.data(), dst.bytes.data(), 6);
    std::memcpy(out.data() + 6, src.bytes.data(), 6);
    store_be16(out.data() + 12, type);
    return ethernet_header_size;
}

} // namespace skycast::dataplane::net
