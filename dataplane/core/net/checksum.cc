#include "dataplane/core/net/checksum.h"

#include <algorithm>
#include <bit>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace skycast::dataplane::net {
namespace {

// The 64-bit word loop: the sum of the 32-bit halves of native-order words,
// in two accumulators. Each add is below 2^33, so neither can overflow before
// 2^31 iterations (16 GiB), far beyond any frame. Returns the folded sum in
// native byte order.
std::uint16_t native_sum_words(const std::uint8_t* p, std::size_t n) {
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
    return ones_fold(ones_fold(a) + std::uint64_t{ones_fold(b)});
}

std::uint16_t to_network_order(std::uint16_t native_sum) {
    if constexpr (std::endian::native == std::endian::little) {
        return static_cast<std::uint16_t>((native_sum >> 8) | (native_sum << 8));
    }
    return native_sum;
}

#if defined(__x86_64__)
// 64 bytes per iteration: every native-order 16-bit word zero-extended into
// a 32-bit lane (mask and shift) and added, in two accumulators. A lane gains
// at most 2 x 0xffff per iteration, so the lanes are spilled into 64 bits
// every 16384 iterations (1 MiB), long before they could overflow. About 4x
// the word loop's speed: the plain TX path checksums every payload it sends
// when the port has no checksum offload (perf/tx_path/README.md).
[[gnu::target("avx2")]] std::uint16_t native_sum_avx2(const std::uint8_t* p, std::size_t n) {
    const __m256i low_words = _mm256_set1_epi32(0xffff);
    std::uint64_t total = 0;
    while (n >= 64) {
        __m256i acc0 = _mm256_setzero_si256();
        __m256i acc1 = _mm256_setzero_si256();
        for (std::size_t i = std::min<std::size_t>(n / 64, 16384); i > 0; --i) {
            const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
            const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
            acc0 = _mm256_add_epi32(acc0, _mm256_and_si256(v0, low_words));
            acc0 = _mm256_add_epi32(acc0, _mm256_srli_epi32(v0, 16));
            acc1 = _mm256_add_epi32(acc1, _mm256_and_si256(v1, low_words));
            acc1 = _mm256_add_epi32(acc1, _mm256_srli_epi32(v1, 16));
            p += 64;
            n -= 64;
        }
        alignas(32) std::uint32_t lanes[16];
        _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), acc0);
        _mm256_store_si256(reinterpret_cast<__m256i*>(lanes + 8), acc1);
        for (std::uint32_t lane : lanes) {
            total += lane;
        }
    }
    // The rest (under 64 bytes) starts at an even offset: the word loop.
    return ones_fold(ones_fold(total) + std::uint64_t{native_sum_words(p, n)});
}

const bool cpu_has_avx2 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
}();
#endif

} // namespace

std::uint16_t ones_sum(std::span<const std::uint8_t> bytes) {
#if defined(__x86_64__)
    if (cpu_has_avx2 && bytes.size() >= 64) {
        return to_network_order(native_sum_avx2(bytes.data(), bytes.size()));
    }
#endif
    return ones_sum_portable(bytes);
}

std::uint16_t ones_sum_portable(std::span<const std::uint8_t> bytes) {
    return to_network_order(native_sum_words(bytes.data(), bytes.size()));
}

const char* ones_sum_kernel() {
#if defined(__x86_64__)
    if (cpu_has_avx2) {
        return "avx2";
    }
#endif
    return "portable";
}

} // namespace skycast::dataplane::net
