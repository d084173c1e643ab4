#pragma once
// The one CSPRNG for every random value crypto/ chooses itself (libsodium's
// randombytes, i.e. getrandom(2)): hello randoms, RSA premasters, group
// masters. OpenSSL still draws from its own DRBG for what happens inside its
// algorithms (OAEP/PKCS#1 padding, ECDSA nonces, key generation), seeded from
// the same kernel source.

#include "crypto/errors.h"

#include <array>
#include <cstdint>
#include <span>

namespace skycast::crypto {

// Fills `out` with random bytes.
[[nodiscard]] crypto_error random_bytes(std::span<std::uint8_t> out);

// A server (rand1) or client (rand2) random: 32 random bytes whose first four
// are `unix_time` in host byte order, as the stock code writes them (§5.2).
// Peers treat the bytes as opaque.
[[nodiscard]] crypto_error make_hello_random(std::uint32_t unix_time,
                                             std::array<std::uint8_t, 32>& out);

} // namespace skycast::crypto
