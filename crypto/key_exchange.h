#pragma once
// Premaster secrets (§5.2).
// - RSA: 48 random bytes, encrypted to the server's RSA key with PKCS#1 v1.5
//   below 768-bit moduli and OAEP (SHA-1, MGF1-SHA-1, empty label) otherwise;
//   the ciphertext is REGISTER's key info.
// - ECDH: an ephemeral key on the curve of the server's ECDH key; premaster =
//   SHA-1 of the shared X coordinate (field-size big-endian bytes), 20 bytes.

#include "crypto/keys.h"
#include "crypto/secure_memory.h"

#include <cstddef>
#include <span>

namespace skycast::crypto {

inline constexpr std::size_t rsa_premaster_len = 48;
inline constexpr std::size_t ecdh_premaster_len = 20;
// Moduli of fewer bits use PKCS#1 v1.5 (OAEP's overhead does not fit 48 bytes in 512 bits).
// Counted, as stock does, in whole modulus bytes * 8: a 765-bit key uses OAEP.
inline constexpr int rsa_oaep_min_bits = 768;

result<secure_bytes> make_rsa_premaster();
result<protocol::bytes> encrypt_rsa_premaster(const public_key& server,
                                              std::span<const std::uint8_t> premaster);
// key_mismatch for a non-RSA key; premaster_malformed unless it decrypts to 48 bytes.
result<secure_bytes> decrypt_rsa_premaster(const private_key& server,
                                           std::span<const std::uint8_t> ciphertext);

// The same for a server facing untrusted clients, without a padding oracle
// (Bleichenbacher for PKCS#1 v1.5, Manger for OAEP): any failure yields a
// fresh random premaster instead of an error, chosen without a data-dependent
// branch, so a forged ciphertext is indistinguishable from a good one until
// its sender fails to answer KEYINFO (its KEYINFO_ACK will not verify).
// OpenSSL 3.2+ does this itself for PKCS#1 v1.5; Debian 12's 3.0 does not.
// Fails only for a non-RSA key (key_mismatch), which is a configuration error.
result<secure_bytes> decrypt_rsa_premaster_or_random(const private_key& server,
                                                     std::span<const std::uint8_t> ciphertext);

// An ephemeral ECDH key on the curve of `peer` (client side), or on `curve`.
result<private_key> make_ecdh_key(const public_key& peer);
result<private_key> make_ecdh_key(const curve_info& curve);
// key_mismatch when the curves differ (the server rejects such a client).
result<secure_bytes> ecdh_premaster(const private_key& own, const public_key& peer);

} // namespace skycast::crypto
