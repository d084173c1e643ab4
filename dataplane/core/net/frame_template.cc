#include "dataplane/core/net/frame_template.h"

#include "dataplane/core/net/bytes.h"
#include "dataplane/core/net/checksum.h"

#include <cstring>

namespace skycast::dataplane::net {

frame_template::frame_template(const frame_params& params) : _params(params) {
    std::span<std::uint8_t> h{_headers};
    (void)write_ethernet(h, params.dst_mac, params.src_mac,
                         static_cast<std::uint16_t>(ether_type::ipv4));
    const ipv4_params ip{.src = params.udp.src,
                         .dst = params.udp.dst,
                         .protocol = ip_protocol_udp,
                         .ttl = params.ttl,
                         .tos = params.tos,
                         .id = 0,
                         .dont_fragment = params.dont_fragment};
    // Written with a zero payload and no checksum, then the length zeroed:
    // what remains is the constant part whose sum is cached.
    (void)write_ipv4(h.subspan(ipv4_offset), ip, 0, true);
    store_be16(_headers.data() + ipv4_offset + 2, 0);
    _ipv4_sum = ones_sum(h.subspan(ipv4_offset, ipv4_header_min_size));
    store_be16(_headers.data() + udp_offset, params.udp.src_port);
    store_be16(_headers.data() + udp_offset + 2, params.udp.dst_port);
    // The pseudo-header with length 0, plus the ports (the UDP length field
    // and the pseudo-header length are added per packet).
    _pseudo_sum = pseudo_header_sum(params.udp.src, params.udp.dst, ip_protocol_udp, 0);
    _udp_sum = ones_add(_pseudo_sum, ones_sum(h.subspan(udp_offset, udp_header_size)));
}

protocol::result<std::size_t> frame_template::stamp_headers(std::span<std::uint8_t> headers,
                                                            std::span<const std::uint8_t> payload,
                                                            tx_checksum_offload offload,
                                                            std::uint16_t ip_id) const {
    if (payload.size() > max_payload) {
        return protocol::wire_error::field_too_large;
    }
    if (headers.size() < header_size) {
        return protocol::wire_error::buffer_too_small;
    }
    std::uint8_t* h = headers.data();
    std::memcpy(h, _headers.data(), header_size);

    const auto udp_length = static_cast<std::uint16_t>(udp_header_size + payload.size());
    const auto total_length = static_cast<std::uint16_t>(ipv4_header_min_size + udp_length);
    std::uint8_t* ip = h + ipv4_offset;
    store_be16(ip + 2, total_length);
    store_be16(ip + 4, ip_id);
    if (!offload.ipv4) {
        const std::uint16_t sum = ones_fold(std::uint64_t{_ipv4_sum} + total_length + ip_id);
        store_be16(ip + 10, checksum_from_sum(sum));
    }

    std::uint8_t* udp = h + udp_offset;
    store_be16(udp + 4, udp_length);
    if (offload.udp_none) {
        store_be16(udp + 6, 0);
    } else if (offload.udp) {
        // Only the pseudo-header, as the NIC expects.
        store_be16(udp + 6, ones_fold(std::uint64_t{_pseudo_sum} + udp_length));
    } else {
        // The length counts twice: in the pseudo-header and in the header.
        const std::uint16_t with_lengths =
            ones_fold(std::uint64_t{_udp_sum} + udp_length + std::uint64_t{udp_length});
        const std::uint16_t checksum = checksum_from_sum(ones_add(with_lengths, ones_sum(payload)));
        store_be16(udp + 6, checksum == 0 ? 0xffff : checksum);
    }
    return header_size;
}

protocol::result<std::size_t> frame_template::stamp(std::span<std::uint8_t> frame,
                                                    std::size_t payload_length,
                                                    tx_checksum_offload offload,
                                                    std::uint16_t ip_id) const {
    if (payload_length > max_payload) {
        return protocol::wire_error::field_too_large;
    }
    if (frame.size() < header_size + payload_length) {
        return protocol::wire_error::buffer_too_small;
    }
    auto written = stamp_headers(frame.first(header_size),
                                 frame.subspan(header_size, payload_length), offload, ip_id);
    if (!written) {
        return written.error();
    }
    return header_size + payload_length;
}

} // namespace skycast::dataplane::net
