#include "dataplane/core/net/checksum.h"

#include <bit>
#include <cstring>

namespace skycast::dataplane::net {

std::uint16_t ones_sum(std::span<const std::uint8_t> bytes) {
    const std::uint8_t* p = bytes.data();
    std::size_t n = bytes.size();
    // Two accumulators of 32-bit halves: each add is below 2^33, so neither
    // can overflow before 2^31 iterations (16 GiB), far beyond any frame.
    std::uint64_t a = 0;
    std::uint64_t b = 0;
    while (n >= 32) {
        std::uint64_t w[4];
        std::memcpy(w, p, sizeof w);
        a += (w[0] & 0xffffffff) + (w[0] >> 32) + (w[1] & 0xffffffff) + (w[1] >> 32);
        b += (w[2] & 0xffffffff) + (w[2] >> 32) + (w[3] & 0xffffffff) + (w[3] >> 32);
        p += 32;
        n -= 32;
    }
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, sizeof w);
        a += (w & 0xffffffff) + (w >> 32);
        p += 8;
        n -= 8;
    }
    if (n > 0) {
        // The tail starts at an even offset, so copying it into a zeroed word
        // keeps every byte in its lane, and an odd last byte gets its zero pad.
        std::uint64_t w = 0;
        std::memcpy(&w, p, n);
        b += (w & 0xffffffff) + (w >> 32);
    }
    std::uint16_t sum = ones_fold(ones_fold(a) + std::uint64_t{ones_fold(b)});
    if constexpr (std::endian::native == std::endian::little) {
        sum = static_cast<std::uint16_t>((sum >> 8) | (sum << 8));
    }
    return sum;
}

} // namespace skycast::dataplane::net
