#pragma once
// The one- and two-byte quantized fields of UFTP 4 (spec §4.2): GRTT and RTT
// (RFC 5401 §3.7.4), group size (5-bit mantissa, 3-bit exponent) and TFMCC
// rates (RFC 5740 style, 12-bit mantissa, 4-bit exponent). Encoders round the
// way the stock 4.10.2 binaries do, so the same input gives the same byte.

#include <cstdint>

namespace skycast::protocol {

// Seconds in [1 µs, 1000 s] (clamped) -> byte; byte -> seconds.
std::uint8_t quantize_grtt(double seconds);
double unquantize_grtt(std::uint8_t q);

// Receiver count -> byte; byte -> receiver count (rounded).
std::uint8_t quantize_group_size(std::uint32_t receivers);
std::uint32_t unquantize_group_size(std::uint8_t q);

// Bytes per second -> 16-bit value; 16-bit value -> bytes per second.
std::uint16_t quantize_rate(std::uint64_t bytes_per_second);
std::uint64_t unquantize_rate(std::uint16_t q);

} // namespace skycast::protocol
