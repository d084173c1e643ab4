#pragma once
// Why a received frame is dropped: one value per reason, each with its own
// counter (rx_counters in classify.h). Every parser in net/ reports its
// failures in this vocabulary, so a parse error is already the name of the
// counter that records it. (Encoders report protocol::wire_error instead:
// buffer_too_small and field_too_large say all an encoder can get wrong.)

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace skycast::dataplane::net {

enum class drop_reason : std::uint8_t {
    // Ethernet.
    too_short,             // shorter than an Ethernet header (or its VLAN tag)
    invalid_source_mac,    // source MAC is multicast/broadcast
    not_our_mac,           // unicast to another station's MAC
    unsupported_ethertype, // not IPv4 or ARP (IPv6, stacked VLAN tags, ...)
    // ARP.
    arp_malformed,  // not Ethernet/IPv4 ARP, wrong lengths or opcode, truncated
    arp_not_for_us, // a request for another address, or a reply to another host
    // IPv4.
    ipv4_truncated,         // fewer than 20 bytes after the Ethernet header
    ipv4_bad_version,       // version field is not 4
    ipv4_bad_header_length, // IHL below 5, or the header runs past the frame
    ipv4_bad_total_length,  // total length below the header or past the frame
    ipv4_bad_checksum,      // header checksum does not verify
    ipv4_fragment,          // MF set or a non-zero fragment offset
    ipv4_bad_source,        // source is multicast, broadcast or 0.0.0.0
    ipv4_not_our_address,   // unicast/broadcast destination that is not ours
    ipv4_unjoined_group,    // multicast destination we have not joined
    unsupported_protocol,   // IPv4 protocol other than UDP and IGMP
    // IGMP.
    igmp_malformed,        // shorter than its type requires
    igmp_bad_checksum,     // IGMP checksum does not verify
    igmp_unsupported_type, // an IGMP type a host does not handle
    // UDP.
    udp_bad_length,   // length below 8 or beyond the IPv4 payload
    udp_bad_checksum, // checksum present and wrong
    udp_port_closed,  // no open port for the destination
    count             // sentinel
};

inline constexpr std::size_t drop_reason_count = static_cast<std::size_t>(drop_reason::count);

// A stable snake_case name, as the stats socket prints it.
std::string_view name(drop_reason r);
// One line saying what a non-zero count of this reason means.
std::string_view help(drop_reason r);

// A parsed value or the reason it could not be parsed. Trivially small and
// allocation-free, for lcore code.
template <class T>
class [[nodiscard]] parse_result {
public:
    parse_result(T value) : _value(value), _ok(true) {}
    parse_result(drop_reason reason) : _reason(reason) {}

    bool ok() const { return _ok; }
    explicit operator bool() const { return _ok; }
    drop_reason reason() const {
        assert(!_ok);
        return _reason;
    }
    const T& value() const {
        assert(_ok);
        return _value;
    }
    const T& operator*() const { return value(); }
    const T* operator->() const { return &value(); }

private:
    T _value{};
    drop_reason _reason = drop_reason::count;
    bool _ok = false;
};

} // namespace skycast::dataplane::net
