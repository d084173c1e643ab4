#pragma once
// An IPv4 address as a number in host order (192.0.2.1 is 0xc0000201), so
// comparisons and masks are plain integer operations; wire fields convert
// with load_be32/store_be32 at the edge.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace skycast::dataplane::net {

struct ipv4_address {
    std::uint32_t value = 0;

    static constexpr ipv4_address from_octets(std::uint8_t a, std::uint8_t b, std::uint8_t c,
                                              std::uint8_t d) {
        return {(std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) | (std::uint32_t{c} << 8) |
                std::uint32_t{d}};
    }

    // 224.0.0.0/4.
    constexpr bool is_multicast() const { return (value >> 28) == 0xe; }
    constexpr bool is_limited_broadcast() const { return value == 0xffffffff; }
    constexpr bool is_unspecified() const { return value == 0; }

    friend constexpr bool operator==(ipv4_address, ipv4_address) = default;
};

// Well-known groups IGMP uses (RFC 2236, RFC 3376).
inline constexpr ipv4_address all_hosts_group = ipv4_address::from_octets(224, 0, 0, 1);
inline constexpr ipv4_address all_routers_group = ipv4_address::from_octets(224, 0, 0, 2);
inline constexpr ipv4_address igmpv3_routers_group = ipv4_address::from_octets(224, 0, 0, 22);

// Dotted quad, strictly: four decimal octets 0..255, no leading '+', no
// spaces, at most three digits each. nullopt for anything else.
std::optional<ipv4_address> parse_ipv4_address(std::string_view text);

// "a.b.c.d" plus a NUL; `size` is the length without the NUL.
struct ipv4_text {
    std::array<char, 16> chars{};
    std::size_t size = 0;
    std::string_view view() const { return {chars.data(), size}; }
};
ipv4_text format(ipv4_address a);

} // namespace skycast::dataplane::net
