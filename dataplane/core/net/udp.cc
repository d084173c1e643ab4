#include "dataplane/core/net/udp.h"

#include "dataplane/core/net/bytes.h"
#include "dataplane/core/net/checksum.h"
#include "dataplane/core/net/ipv4.h"

namespace skycast::dataplane::net {
namespace {

// The largest UDP length that still fits an IPv4 datagram without options.
constexpr std::size_t udp_max_length = ipv4_max_total_length - ipv4_header_min_size;

void write_ports_and_length(std::uint8_t* h, const udp_endpoints& ep, std::uint16_t length) {
    store_be16(h, ep.src_port);
    store_be16(h + 2, ep.dst_port);
    store_be16(h + 4, length);
    store_be16(h + 6, 0);
}

} // namespace

protocol::result<std::size_t> write_udp(std::span<std::uint8_t> datagram, const udp_endpoints& ep,
                                        std::size_t payload_length) {
    if (payload_length > udp_max_length - udp_header_size) {
        return protocol::wire_error::field_too_large;
    }
    const std::size_t length = udp_header_size + payload_length;
    if (datagram.size() < length) {
        return protocol::wire_error::buffer_too_small;
    }
    const auto length16 = static_cast<std::uint16_t>(length);
    write_ports_and_length(datagram.data(), ep, length16);
    const std::uint16_t sum = ones_add(pseudo_header_sum(ep.src, ep.dst, ip_protocol_udp, length16),
                                       ones_sum(datagram.first(length)));
    const std::uint16_t checksum = checksum_from_sum(sum);
    store_be16(datagram.data() + 6, checksum == 0 ? 0xffff : checksum);
    return length;
}

protocol::result<std::size_t> write_udp_offload(std::span<std::uint8_t> header,
                                                const udp_endpoints& ep,
                                                std::size_t payload_length) {
    if (payload_length > udp_max_length - udp_header_size) {
        return protocol::wire_error::field_too_large;
    }
    if (header.size() < udp_header_size) {
        return protocol::wire_error::buffer_too_small;
    }
    const auto length16 = static_cast<std::uint16_t>(udp_header_size + payload_length);
    write_ports_and_length(header.data(), ep, length16);
    store_be16(header.data() + 6, pseudo_header_sum(ep.src, ep.dst, ip_protocol_udp, length16));
    return std::size_t{length16};
}

parse_result<udp_datagram> parse_udp(std::span<const std::uint8_t> ip_payload, ipv4_address src,
                                     ipv4_address dst, bool verify_checksum) {
    if (ip_payload.size() < udp_header_size) {
        return drop_reason::udp_bad_length;
    }
    const std::uint8_t* h = ip_payload.data();
    const std::uint16_t length = load_be16(h + 4);
    if (length < udp_header_size || length > ip_payload.size()) {
        return drop_reason::udp_bad_length;
    }
    udp_datagram d;
    d.src_port = load_be16(h);
    d.dst_port = load_be16(h + 2);
    d.checksum = load_be16(h + 6);
    const auto datagram = ip_payload.first(length);
    if (verify_checksum && d.checksum != 0) {
        const std::uint16_t sum =
            ones_add(pseudo_header_sum(src, dst, ip_protocol_udp, length), ones_sum(datagram));
        if (sum != 0xffff) {
            return drop_reason::udp_bad_checksum;
        }
    }
    d.payload = datagram.subspan(udp_header_size);
    return d;
}

} // namespace skycast::dataplane::net
