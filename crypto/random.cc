#include "crypto/random.h"

#include "crypto/secure_memory.h"

#include <cstring>
#include <sodium.h>

namespace skycast::crypto {

crypto_error random_bytes(std::span<std::uint8_t> out) {
    if (auto e = initialize(); e != crypto_error::ok) {
        return crypto_error::random_failed;
    }
    if (!out.empty()) {
        randombytes_buf(out.data(), out.size());
    }
    return crypto_error::ok;
}

crypto_error make_hello_random(std::uint32_t unix_time, std::array<std::uint8_t, 32>& out) {
    if (auto e = random_bytes(out); e != crypto_error::ok) {
        return e;
    }
    std::memcpy(out.data(), &unix_time, sizeof unix_time);
    return crypto_error::ok;
}

} // namespace skycast::crypto
