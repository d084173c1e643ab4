#pragma once
// The UFTP 4 PRF (§5.3). It has the structure of the TLS 1.0-1.2 PRF but its
// P_hash chains each output block into the next one:
//
//   S     = label || seed
//   out_1 = HMAC(secret, HMAC(secret, S) || S)
//   out_i = HMAC(secret, out_{i-1} || S)          (TLS: A(i) = HMAC(secret, A(i-1)))
//
// For SHA-1 it is the TLS 1.0 split: P_MD5(first half) XOR P_SHA1(second half),
// halves of ceil(len/2) bytes. A standard TLS PRF agrees only on the first
// block and does not interoperate.

#include "crypto/errors.h"
#include "protocol/constants.h"

#include <cstdint>
#include <span>
#include <string_view>

namespace skycast::crypto {

// Fills `out` (any length) with PRF output. Not for the per-packet path: it
// fetches HMAC from OpenSSL's provider on each call.
[[nodiscard]] crypto_error uftp_prf(protocol::hash_type hash, std::span<const std::uint8_t> secret,
                                    std::string_view label, std::span<const std::uint8_t> seed,
                                    std::span<std::uint8_t> out);

} // namespace skycast::crypto
