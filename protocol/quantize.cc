#include "protocol/quantize.h"

#include <algorithm>
#include <cmath>

namespace skycast::protocol {
namespace {
constexpr double rtt_min = 1.0e-6;
constexpr double rtt_max = 1000.0;
// Below 33 µs the RFC 5401 encoding is linear in microseconds.
constexpr double linear_limit = 33.0 * rtt_min;

// Rounds to nearest, halves up, as the stock code's (int)(x + 0.5) does.
int round_half_up(double x) {
    return static_cast<int>(x + 0.5);
}
} // namespace

std::uint8_t quantize_grtt(double seconds) {
    // std::clamp passes NaN through, and converting NaN to an integer is
    // undefined: treat an unknown RTT as the longest, so timers err on the slow side.
    if (std::isnan(seconds)) {
        return 255;
    }
    const double rtt = std::clamp(seconds, rtt_min, rtt_max);
    if (rtt < linear_limit) {
        return static_cast<std::uint8_t>(static_cast<int>(rtt / rtt_min) - 1);
    }
    return static_cast<std::uint8_t>(std::ceil(255.0 - 13.0 * std::log(rtt_max / rtt)));
}

double unquantize_grtt(std::uint8_t q) {
    if (q <= 31) {
        return (q + 1) * rtt_min;
    }
    return rtt_max / std::exp((255 - q) / 13.0);
}

std::uint8_t quantize_group_size(std::uint32_t receivers) {
    double mantissa = receivers;
    int exponent = 0;
    while (mantissa >= 10) {
        mantissa /= 10;
        ++exponent;
    }
    int bits = round_half_up(mantissa * 32.0 / 10.0);
    if (bits > 31) { // 9.95.. rounds up to 32: renormalise into the next decade
        mantissa /= 10;
        ++exponent;
        bits = round_half_up(mantissa * 32.0 / 10.0);
    }
    if (exponent > 7) {
        // Beyond 31 * 10/32 * 10^7 the 3-bit exponent would wrap and report a
        // tiny group: saturate at the largest code instead.
        return 0xff;
    }
    return static_cast<std::uint8_t>((bits << 3) | exponent);
}

std::uint32_t unquantize_group_size(std::uint8_t q) {
    double value = (q >> 3) * (10.0 / 32.0);
    for (int e = 0; e < (q & 0x7); ++e) {
        value *= 10;
    }
    return static_cast<std::uint32_t>(round_half_up(value));
}

std::uint16_t quantize_rate(std::uint64_t bytes_per_second) {
    // The largest value the 4-bit exponent can carry; above it, saturate.
    if (bytes_per_second >= unquantize_rate(0xffff)) {
        return 0xffff;
    }
    double mantissa = static_cast<double>(bytes_per_second);
    int exponent = 0;
    while (mantissa > 10) {
        mantissa /= 10;
        ++exponent;
    }
    int bits = round_half_up(mantissa * 4096.0 / 10.0);
    if (bits > 0xfff) { // exactly 10.0 (or rounding up to it): next decade
        mantissa /= 10;
        ++exponent;
        bits = round_half_up(mantissa * 4096.0 / 10.0);
    }
    return static_cast<std::uint16_t>((bits << 4) | (exponent & 0xf));
}

std::uint64_t unquantize_rate(std::uint16_t q) {
    double value = (q >> 4) * (10.0 / 4096.0);
    for (int e = 0; e < (q & 0xf); ++e) {
        value *= 10;
    }
    // Round to the nearest integer rate: truncating turned e.g. 7 B/s into
    // 6.9995 and so 6 B/s after a round trip.
    return static_cast<std::uint64_t>(value + 0.5);
}

} // namespace skycast::protocol
