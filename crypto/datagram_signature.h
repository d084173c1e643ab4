#pragma once
// Signatures over a whole datagram with the signature field zeroed: ANNOUNCE
// in the ECDH modes (§5.6) and, through packet_cipher, KEYEX-signed ENCRYPTED
// datagrams (§5.8). The encoder leaves the field in place (any content); these
// functions treat it as zeros and write or check the signature there.

#include "crypto/keys.h"
#include "protocol/codec.h"
#include "protocol/messages.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace skycast::crypto {

// The ANNOUNCE signature field's offset: protocol::announce_signature_offset.

// Signs `datagram` (field treated as zeros) with `key` and writes the
// signature into the field, which must be exactly key.signature_size() bytes.
[[nodiscard]] crypto_error sign_datagram(const private_key& key, protocol::hash_type hash,
                                         std::span<std::uint8_t> datagram, std::size_t field_offset,
                                         std::size_t field_len);

// ok, signature_length_wrong, signature_malformed or signature_invalid.
[[nodiscard]] crypto_error verify_datagram(const public_key& key, protocol::hash_type hash,
                                           std::span<const std::uint8_t> datagram,
                                           std::size_t field_offset, std::size_t field_len);

} // namespace skycast::crypto
