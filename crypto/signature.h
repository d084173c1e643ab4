#pragma once
// Signatures in UFTP 4's formats (§5.4), over the session hash:
// - RSA: PKCS#1 v1.5 with the hash's DigestInfo; modulus-size bytes.
// - ECDSA: not DER but rlen(2) slen(2) r s (big-endian, minimal length),
//   zero-padded to 4 + the padded EC key length (P-256: 68, P-384: 100,
//   P-521: 136). The padding must be zero on verification.
//
// The data is a list of parts, so that a datagram can be signed with its
// signature field zeroed without copying it (see zeroed_field_parts).
// OpenSSL allocates inside private- and public-key operations, so these are
// for control messages and `-w keyex` sessions, not for the allocation-free
// AEAD/HMAC path.

#include "crypto/keys.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace skycast::crypto {

using byte_parts = std::span<const std::span<const std::uint8_t>>;

// Writes key.signature_size() bytes into `out`.
result<std::size_t> sign(const private_key& key, protocol::hash_type hash, byte_parts data,
                         std::span<std::uint8_t> out);

// ok, signature_malformed (layout or length) or signature_invalid.
[[nodiscard]] crypto_error verify(const public_key& key, protocol::hash_type hash, byte_parts data,
                                  std::span<const std::uint8_t> signature);

// HB_REQ and PROXY_KEY prove a key by its SHA-1 signature of the message's
// nonce as sent: 4 bytes, big-endian (spec §2.16).
result<protocol::bytes> sign_nonce(const private_key& key, std::uint32_t nonce);
[[nodiscard]] crypto_error verify_nonce(const public_key& key, std::uint32_t nonce,
                                        std::span<const std::uint8_t> signature);

// A buffer of zeros standing in for a signature field: large enough for a
// 2048-bit RSA signature (256 B), a P-521 UFTP-ECDSA one (136 B) and any HMAC.
inline constexpr std::size_t max_signature_size = 256;
std::span<const std::uint8_t> zeros(std::size_t n);

// Splits `datagram` into three parts: before the field, `field_len` zeros,
// after the field: the datagram as signed/HMACed with its field zeroed.
std::array<std::span<const std::uint8_t>, 3>
zeroed_field_parts(std::span<const std::uint8_t> datagram, std::size_t field_offset,
                   std::size_t field_len);

} // namespace skycast::crypto
