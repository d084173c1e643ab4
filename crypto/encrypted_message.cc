#include "crypto/encrypted_message.h"

namespace skycast::crypto {

result<std::size_t> seal_message(packet_cipher& pc, const protocol::uftp_header& header,
                                 const protocol::message& body, std::uint64_t iv_ctr,
                                 std::span<std::uint8_t> scratch, std::span<std::uint8_t> out) {
    auto n = protocol::encode_message(body, scratch);
    if (!n) {
        return n.error() == protocol::wire_error::buffer_too_small
                   ? crypto_error::buffer_too_small
                   : crypto_error::datagram_malformed;
    }
    auto sealed = pc.seal(header, scratch.first(*n), iv_ctr, out);
    secure_zero(scratch.first(*n));
    return sealed;
}

result<opened_message> open_message(packet_cipher& pc, std::span<const std::uint8_t> datagram,
                                    std::span<std::uint8_t> plaintext, const public_key* sender) {
    auto opened = pc.open(datagram, plaintext, sender);
    if (!opened) {
        return opened.error();
    }
    opened_message out;
    out.packet = *opened;
    if (protocol::decode_message(opened->inner_type, plaintext.first(opened->plaintext_size),
                                 out.body) != protocol::wire_error::ok) {
        return crypto_error::datagram_malformed;
    }
    return out;
}

} // namespace skycast::crypto
