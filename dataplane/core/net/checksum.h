#pragma once
// The Internet checksum (RFC 1071), used by IPv4, UDP, IGMP and ICMP.
//
// Values are numbers as the 16-bit field reads in network byte order: a sum
// of 0x1234 is stored with store_be16 as the bytes 12 34. Partial sums are
// kept folded to 16 bits so pieces (pseudo-header, header, payload) combine
// with ones_add() in any order; a piece that is not the last must have an
// even length, since a sum cannot tell which byte of a word it started on.
//
// The summing loops add native-order words, any alignment: 64 bits at a time
// into two 64-bit accumulators, or, on x86-64 CPUs with AVX2 (checked once at
// start), 64 bytes at a time in vector lanes. One's-complement addition is
// byte-order independent (RFC 1071 §2(B)), so the native-order sum is
// byte-swapped once at the end on little-endian machines instead of swapping
// every word.

#include <cstdint>
#include <span>

namespace skycast::dataplane::net {

// Folds a 32-bit sum of 16-bit words to 16 bits (end-around carry).
constexpr std::uint16_t ones_fold(std::uint64_t sum) {
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(sum);
}

// One's-complement sum of two folded sums.
constexpr std::uint16_t ones_add(std::uint16_t a, std::uint16_t b) {
    return ones_fold(std::uint32_t{a} + b);
}

// One's-complement sum of `bytes` as big-endian 16-bit words; an odd last
// byte is padded with a zero byte (RFC 1071). Not complemented.
std::uint16_t ones_sum(std::span<const std::uint8_t> bytes);

// The same sum by the 64-bit word loop alone (what ones_sum does on a CPU
// without AVX2), so tests can hold both loops against a reference.
std::uint16_t ones_sum_portable(std::span<const std::uint8_t> bytes);

// Which loop ones_sum uses on this CPU: "avx2" or "portable".
const char* ones_sum_kernel();

// The checksum field value for data whose one's-complement sum (with the
// checksum field itself zero) is `sum`.
constexpr std::uint16_t checksum_from_sum(std::uint16_t sum) {
    return static_cast<std::uint16_t>(~sum);
}

// The checksum of `bytes` (with its checksum field zeroed by the caller).
inline std::uint16_t internet_checksum(std::span<const std::uint8_t> bytes) {
    return checksum_from_sum(ones_sum(bytes));
}

// True when `bytes`, checksum field included, sum to 0xffff: the check a
// receiver makes without zeroing anything.
inline bool checksum_valid(std::span<const std::uint8_t> bytes) {
    return ones_sum(bytes) == 0xffff;
}

} // namespace skycast::dataplane::net
