#include "crypto/datagram_signature.h"

#include "crypto/signature.h"

#include <algorithm>

namespace skycast::crypto {

crypto_error sign_datagram(const private_key& key, protocol::hash_type hash,
                           std::span<std::uint8_t> datagram, std::size_t field_offset,
                           std::size_t field_len) {
    if (field_len != key.signature_size()) {
        return crypto_error::signature_length_wrong;
    }
    if (field_offset > datagram.size() || datagram.size() - field_offset < field_len) {
        return crypto_error::buffer_too_small;
    }
    const auto field = datagram.subspan(field_offset, field_len);
    std::fill(field.begin(), field.end(), std::uint8_t{0});
    const std::span<const std::uint8_t> whole = datagram;
    auto n = sign(key, hash, std::span(&whole, 1), field);
    return n.ok() ? crypto_error::ok : n.error();
}

crypto_error verify_datagram(const public_key& key, protocol::hash_type hash,
                             std::span<const std::uint8_t> datagram, std::size_t field_offset,
                             std::size_t field_len) {
    if (field_len != key.signature_size()) {
        return crypto_error::signature_length_wrong;
    }
    if (field_offset > datagram.size() || datagram.size() - field_offset < field_len) {
        return crypto_error::datagram_malformed;
    }
    const auto parts = zeroed_field_parts(datagram, field_offset, field_len);
    return verify(key, hash, parts, datagram.subspan(field_offset, field_len));
}

} // namespace skycast::crypto
