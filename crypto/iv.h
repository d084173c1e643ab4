#pragma once
// IV construction per cipher family (§5.8). `salt` is the group salt (or, for
// KEYINFO entries, the receiving client's salt), `uid` the sender's UID as in
// the UFTP header, `ctr` the 64-bit IV counter; all go in big-endian.
//
//   AES-CBC (16 B): salt || UID || CTR
//   GCM/CCM (12 B): (salt XOR UID) || CTR
//   3DES    (8 B):  (salt || UID) XOR CTR

#include "crypto/suites.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace skycast::crypto {

inline constexpr std::size_t max_iv_len = 16;

// Writes cipher.iv_len bytes into `out` (which must hold max_iv_len) and
// returns that length. Pure and allocation-free.
std::size_t build_iv(const cipher_spec& cipher, std::span<const std::uint8_t, salt_len> salt,
                     std::uint32_t uid, std::uint64_t ctr, std::span<std::uint8_t, max_iv_len> out);

} // namespace skycast::crypto
