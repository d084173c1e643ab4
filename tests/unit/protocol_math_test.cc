// Block/section arithmetic (docs/protocol.md §3.1), the quantized header fields
// (§4.2) and NAK bitmaps (§2.11, §14 #13).

#include "protocol/blocks.h"
#include "protocol/nak_bitmap.h"
#include "protocol/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <gtest/gtest.h>
#include <limits>
#include <memory>
#include <random>
#include <vector>

namespace skycast::protocol {
namespace {

// --- section_layout -------------------------------------------------------------

section_layout make_layout(std::uint64_t size, std::uint32_t block_size) {
    auto l = section_layout::make(size, block_size);
    EXPECT_TRUE(l.ok()) << "size " << size << " block " << block_size << ": " << name(l.error());
    return l.ok() ? *l : section_layout{};
}

TEST(protocol_blocks, spec_example_600_byte_blocks_three_sections) {
    // Verified against stock uftpd (spec §3.1, §15).
    const auto l = make_layout(5'760'100, 600);
    EXPECT_EQ(l.blocks(), 9601u);
    EXPECT_EQ(l.max_section_blocks(), 4800u);
    EXPECT_EQ(l.sections(), 3u);
    EXPECT_EQ(l.blocks_in_section(0), 3201u);
    EXPECT_EQ(l.blocks_in_section(1), 3200u);
    EXPECT_EQ(l.blocks_in_section(2), 3200u);
    EXPECT_EQ(l.blocks_in_section(3), 0u);
    EXPECT_EQ(l.big_sections(), 1u);
    EXPECT_EQ(l.big_section_blocks(), 3201u);
    EXPECT_EQ(l.small_section_blocks(), 3200u);
    EXPECT_EQ(nak_bitmap_bytes(l.blocks_in_section(0)), 401u);
    EXPECT_EQ(nak_bitmap_bytes(l.blocks_in_section(1)), 401u);
    EXPECT_EQ(l.last_section(), 2);
    EXPECT_EQ(l.first_block(1), 3201u);
    EXPECT_EQ(l.first_block(2), 6401u);
    EXPECT_EQ(l.locate(3200), (block_position{0, 3200}));
    EXPECT_EQ(l.locate(3201), (block_position{1, 0}));
    EXPECT_EQ(l.locate(9600), (block_position{2, 3199}));
    EXPECT_EQ(l.block_bytes(9599), 600u);
    EXPECT_EQ(l.block_bytes(9600), 100u);
}

TEST(protocol_blocks, empty_file_has_no_blocks_and_last_section_zero) {
    const auto l = make_layout(0, 1300);
    EXPECT_EQ(l.blocks(), 0u);
    EXPECT_EQ(l.sections(), 0u);
    EXPECT_EQ(l.last_section(), 0);
    EXPECT_EQ(l.blocks_in_section(0), 0u);
    EXPECT_EQ(l.block_bytes(0), 0u);
}

TEST(protocol_blocks, one_byte_file_and_exact_multiples) {
    const auto one = make_layout(1, 1300);
    EXPECT_EQ(one.blocks(), 1u);
    EXPECT_EQ(one.sections(), 1u);
    EXPECT_EQ(one.last_section(), 0);
    EXPECT_EQ(one.block_bytes(0), 1u);
    EXPECT_EQ(one.locate(0), (block_position{0, 0}));

    const auto exact = make_layout(1300 * 10, 1300);
    EXPECT_EQ(exact.blocks(), 10u);
    EXPECT_EQ(exact.block_bytes(9), 1300u);
    EXPECT_EQ(exact.block_bytes(10), 0u);
    const auto plus_one = make_layout(1300 * 10 + 1, 1300);
    EXPECT_EQ(plus_one.blocks(), 11u);
    EXPECT_EQ(plus_one.block_bytes(10), 1u);

    // Exactly one full section, then one block more: two sections, split evenly.
    const auto full = make_layout(std::uint64_t{1300} * 10400, 1300);
    EXPECT_EQ(full.sections(), 1u);
    EXPECT_EQ(full.blocks_in_section(0), 10400u);
    const auto over = make_layout(std::uint64_t{1300} * 10400 + 1, 1300);
    EXPECT_EQ(over.sections(), 2u);
    EXPECT_EQ(over.blocks_in_section(0), 5201u);
    EXPECT_EQ(over.blocks_in_section(1), 5200u);
    EXPECT_EQ(over.last_section(), 1);
}

TEST(protocol_blocks, section_size_is_8_blocks_per_byte_capped_at_65536) {
    EXPECT_EQ(make_layout(1, 1300).max_section_blocks(), 10400u);
    EXPECT_EQ(make_layout(1, 8800).max_section_blocks(), 65536u);
    EXPECT_EQ(make_layout(1, 8192).max_section_blocks(), 65536u);
    EXPECT_EQ(make_layout(1, 8191).max_section_blocks(), 65528u);
    EXPECT_EQ(make_layout(1, 1).max_section_blocks(), 8u);
    EXPECT_EQ(make_layout(1, 9000).max_section_blocks(), 65536u);
    // A full 65536-block section's bitmap fits in one 8800-byte block.
    const auto l = make_layout(std::uint64_t{8800} * 65536, 8800);
    EXPECT_EQ(l.sections(), 1u);
    EXPECT_EQ(l.blocks_in_section(0), 65536u);
    EXPECT_EQ(nak_bitmap_bytes(65536), 8193u);
}

TEST(protocol_blocks, refuses_block_size_zero_or_above_9000) {
    const auto l = section_layout::make(1000, 0);
    ASSERT_FALSE(l.ok());
    EXPECT_EQ(l.error(), wire_error::field_too_large);
    EXPECT_FALSE(section_layout::make(0, 0).ok());
    // Nor a block that no datagram could carry (9000 bytes is the largest read).
    EXPECT_TRUE(section_layout::make(1000, 9000).ok());
    const auto huge = section_layout::make(1000, 9001);
    ASSERT_FALSE(huge.ok());
    EXPECT_EQ(huge.error(), wire_error::field_too_large);
}

TEST(protocol_blocks, refuses_more_than_65536_sections) {
    // B = 1300: 10400 blocks per section, 65536 sections at most.
    const std::uint64_t most = std::uint64_t{1300} * 10400 * 65536;
    const auto ok = make_layout(most, 1300);
    EXPECT_EQ(ok.sections(), 65536u);
    EXPECT_EQ(ok.last_section(), 65535);
    const auto too_big = section_layout::make(most + 1, 1300);
    ASSERT_FALSE(too_big.ok());
    EXPECT_EQ(too_big.error(), wire_error::file_size_too_large);
}

TEST(protocol_blocks, refuses_2_pow_31_blocks_or_more) {
    // B = 8800 allows 65536 * 65536 blocks by sections; the signed 32-bit
    // block counter is the limit (spec §3.1, §10).
    const std::uint64_t most = std::uint64_t{8800} * 0x7fffffff;
    const auto ok = make_layout(most, 8800);
    EXPECT_EQ(ok.blocks(), 0x7fffffffu);
    EXPECT_EQ(ok.block_bytes(0x7ffffffe), 8800u);
    const auto too_big = section_layout::make(most + 1, 8800);
    ASSERT_FALSE(too_big.ok());
    EXPECT_EQ(too_big.error(), wire_error::file_size_too_large);
    // Sizes near the top of uint64 must not wrap around into a small layout.
    for (const std::uint64_t size :
         {std::uint64_t{1} << 48, std::uint64_t{1} << 63, std::numeric_limits<std::uint64_t>::max(),
          std::numeric_limits<std::uint64_t>::max() - 1298}) {
        for (const std::uint32_t b : {1u, 512u, 1300u, 8800u}) {
            const auto l = section_layout::make(size, b);
            EXPECT_FALSE(l.ok()) << "size " << size << " block " << b << ": " << l->blocks()
                                 << " blocks";
        }
    }
}

// A straightforward reference for §3.1, walking sections one by one.
struct reference_layout {
    std::vector<std::uint32_t> section_sizes;
    std::uint64_t blocks = 0;
};

reference_layout reference(std::uint64_t size, std::uint32_t b) {
    reference_layout r;
    r.blocks = size / b + (size % b != 0 ? 1 : 0);
    const std::uint64_t maxsec = std::min<std::uint64_t>(8ull * b, 65536);
    const std::uint64_t sections = (r.blocks + maxsec - 1) / maxsec;
    std::uint64_t left = r.blocks;
    for (std::uint64_t s = 0; s < sections; ++s) {
        // Spread what is left as evenly as possible, bigger sections first.
        const std::uint64_t n = (left + (sections - s) - 1) / (sections - s);
        r.section_sizes.push_back(static_cast<std::uint32_t>(n));
        left -= n;
    }
    return r;
}

TEST(protocol_blocks, locate_and_block_at_agree_with_a_reference_for_every_block) {
    struct shape {
        std::uint64_t size;
        std::uint32_t block;
    };
    const shape shapes[] = {{5'760'100, 600},
                            {1, 1},
                            {8, 1},
                            {9, 1},
                            {17, 1},
                            {100, 1},
                            {1000, 3},
                            {4096 * 17, 512},
                            {123'456'789, 1300},
                            {13'520'001, 1300},
                            {3, 2},
                            {64, 1},
                            {65, 1},
                            {200'000, 7}};
    for (const auto& s : shapes) {
        SCOPED_TRACE(testing::Message() << "size " << s.size << " block " << s.block);
        const auto l = make_layout(s.size, s.block);
        const auto ref = reference(s.size, s.block);
        ASSERT_EQ(l.blocks(), ref.blocks);
        ASSERT_EQ(l.sections(), ref.section_sizes.size());
        EXPECT_EQ(l.last_section(), ref.section_sizes.empty() ? 0 : ref.section_sizes.size() - 1);
        std::uint32_t n = 0;
        for (std::uint32_t sec = 0; sec < ref.section_sizes.size(); ++sec) {
            ASSERT_EQ(l.blocks_in_section(sec), ref.section_sizes[sec]) << "section " << sec;
            ASSERT_EQ(l.first_block(sec), n) << "section " << sec;
            for (std::uint32_t i = 0; i < ref.section_sizes[sec]; ++i, ++n) {
                const block_position p{static_cast<std::uint16_t>(sec),
                                       static_cast<std::uint16_t>(i)};
                ASSERT_EQ(l.locate(n), p) << "block " << n;
                ASSERT_EQ(l.block_at(p), n) << "block " << n;
                const std::uint64_t expect_bytes =
                    n + 1 < ref.blocks ? s.block : s.size - std::uint64_t{n} * s.block;
                ASSERT_EQ(l.block_bytes(n), expect_bytes) << "block " << n;
            }
        }
        EXPECT_EQ(n, ref.blocks);
        EXPECT_EQ(l.blocks_in_section(l.sections()), 0u);
    }
}

TEST(protocol_blocks, final_block_bytes_for_every_remainder) {
    for (std::uint32_t b : {1u, 2u, 512u, 1300u, 8800u}) {
        for (std::uint64_t extra = 0; extra < b && extra < 600; ++extra) {
            const std::uint64_t size = std::uint64_t{b} * 5 + extra;
            const auto l = make_layout(size, b);
            const std::uint32_t last = l.blocks() - 1;
            EXPECT_EQ(l.block_bytes(last), extra == 0 ? b : extra) << "b " << b << " x " << extra;
            EXPECT_EQ(l.block_bytes(last + 1), 0u);
        }
    }
}

// --- GRTT / RTT byte (RFC 5401 §3.7.4) -------------------------------------------

TEST(protocol_quantize, grtt_spec_examples) {
    EXPECT_EQ(quantize_grtt(0.5), 157);  // 0x9D
    EXPECT_EQ(quantize_grtt(0.01), 106); // 0x6A
    EXPECT_NEAR(unquantize_grtt(0x9d), 0.5, 0.5 * 0.08);
    EXPECT_NEAR(unquantize_grtt(0x6a), 0.01, 0.01 * 0.08);
}

TEST(protocol_quantize, grtt_is_linear_in_microseconds_below_33us) {
    for (int us = 1; us <= 32; ++us) {
        const double s = us * 1e-6;
        EXPECT_EQ(quantize_grtt(s), us - 1) << us << " us";
        EXPECT_NEAR(unquantize_grtt(static_cast<std::uint8_t>(us - 1)), s, 1e-12);
        // Fractions of a microsecond round down to the microsecond below.
        if (us < 32) {
            EXPECT_EQ(quantize_grtt(s + 0.5e-6), us - 1) << us << ".5 us";
        }
    }
}

TEST(protocol_quantize, grtt_clamps_to_1us_and_1000s) {
    EXPECT_EQ(quantize_grtt(0), 0);
    EXPECT_EQ(quantize_grtt(-5), 0);
    EXPECT_EQ(quantize_grtt(1e-9), 0);
    EXPECT_EQ(quantize_grtt(1000), 255);
    EXPECT_EQ(quantize_grtt(1e6), 255);
    EXPECT_EQ(quantize_grtt(std::numeric_limits<double>::infinity()), 255);
    EXPECT_EQ(quantize_grtt(-std::numeric_limits<double>::infinity()), 0);
    // NaN (say, a 0/0 estimate) must not reach the float-to-integer conversion,
    // which is undefined for it (UBSan flags it); it counts as the longest RTT.
    EXPECT_EQ(quantize_grtt(std::numeric_limits<double>::quiet_NaN()), 255);
    EXPECT_DOUBLE_EQ(unquantize_grtt(0), 1e-6);
    EXPECT_DOUBLE_EQ(unquantize_grtt(255), 1000.0);
}

TEST(protocol_quantize, grtt_rounds_up_to_the_next_step) {
    // The byte is ceil(...), so decoding never gives less than the input and
    // the step below gives less: q is the smallest code covering the input.
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> exponent(std::log(33e-6), std::log(1000.0));
    for (int i = 0; i < 100000; ++i) {
        const double rtt = std::exp(exponent(rng));
        const std::uint8_t q = quantize_grtt(rtt);
        ASSERT_GE(q, 32);
        ASSERT_GE(unquantize_grtt(q), rtt * (1 - 1e-12)) << rtt;
        ASSERT_LT(unquantize_grtt(static_cast<std::uint8_t>(q - 1)), rtt * (1 + 1e-12)) << rtt;
        // One step is a factor exp(1/13) (~8%).
        ASSERT_LE(unquantize_grtt(q) / rtt, std::exp(1.0 / 13) * (1 + 1e-12)) << rtt;
    }
}

TEST(protocol_quantize, grtt_codes_round_trip_and_increase) {
    for (int q = 0; q <= 255; ++q) {
        const double s = unquantize_grtt(static_cast<std::uint8_t>(q));
        // A hair below the decoded value encodes back to the same code. (At
        // the exact value, ceil() of a rounding error may give q + 1, as it
        // does in stock UFTP: the boundary belongs to either code.)
        if (q <= 31) {
            EXPECT_EQ(quantize_grtt(s), q) << q; // linear region: whole microseconds
        } else {
            EXPECT_EQ(quantize_grtt(s * (1 - 1e-9)), q) << q;
            EXPECT_LE(quantize_grtt(s) - q, 1) << q;
        }
        if (q > 0) {
            EXPECT_GT(s, unquantize_grtt(static_cast<std::uint8_t>(q - 1))) << q;
        }
    }
}

// --- Group size byte ------------------------------------------------------------

// §4.2 in exact integer arithmetic: the mantissa byte is n*32/10^(E+1) rounded
// half up, renormalised into the next decade when it rounds to 32.
std::uint8_t reference_group_size(std::uint32_t n) {
    std::uint64_t scale = 10; // 10^(E+1)
    int e = 0;
    while (n >= scale) {
        scale *= 10;
        ++e;
    }
    std::uint64_t m = (std::uint64_t{n} * 64 + scale) / (2 * scale);
    if (m > 31) {
        scale *= 10;
        ++e;
        m = (std::uint64_t{n} * 64 + scale) / (2 * scale);
    }
    return static_cast<std::uint8_t>((m << 3) | static_cast<unsigned>(e));
}

double decoded_group_size(std::uint8_t q) {
    return (q >> 3) * 10.0 / 32.0 * std::pow(10.0, q & 7);
}

TEST(protocol_quantize, group_size_spec_example) {
    EXPECT_EQ(quantize_group_size(1), 0x18);
    EXPECT_EQ(unquantize_group_size(0x18), 1u);
    EXPECT_EQ(quantize_group_size(0), 0);
    EXPECT_EQ(unquantize_group_size(0), 0u);
}

TEST(protocol_quantize, group_size_matches_the_spec_for_every_count_to_100000) {
    for (std::uint32_t n = 0; n <= 100000; ++n) {
        const std::uint8_t q = quantize_group_size(n);
        ASSERT_EQ(q, reference_group_size(n)) << n;
        const std::uint32_t back = unquantize_group_size(q);
        ASSERT_EQ(back, static_cast<std::uint32_t>(decoded_group_size(q) + 0.5)) << n;
        // Within half a mantissa step (10/32 of the decade, halved) of n, plus
        // the integer rounding; a renormalised count lies within 6.5%.
        const double step = 10.0 / 32.0 * std::pow(10.0, q & 7);
        const bool renormalised = n > 0 && n < std::pow(10.0, q & 7);
        if (renormalised) {
            ASSERT_LE(std::abs(double(back) - n), 0.065 * n + 0.5) << n;
        } else {
            ASSERT_LE(std::abs(double(back) - n), step / 2 + 0.5) << n;
        }
    }
}

TEST(protocol_quantize, group_size_at_decade_boundaries) {
    // 9.95 * 10^E rounds to mantissa 32: renormalised to 0.9375 * 10^(E+1).
    EXPECT_EQ(quantize_group_size(9), (29 << 3) | 0);  // 9 * 3.2 = 28.8 -> 29
    EXPECT_EQ(quantize_group_size(10), (3 << 3) | 1);  // 1.0 * 3.2 -> 3
    EXPECT_EQ(quantize_group_size(99), (3 << 3) | 2);  // 9.9 * 3.2 = 31.68 -> 32 -> renormalise
    EXPECT_EQ(quantize_group_size(98), (31 << 3) | 1); // 9.8 * 3.2 = 31.36 -> 31
    EXPECT_EQ(quantize_group_size(100), (3 << 3) | 2);
    EXPECT_EQ(quantize_group_size(995), (3 << 3) | 3); // 9.95 -> 31.84 -> 32 -> renormalise
    EXPECT_EQ(quantize_group_size(9950), (3 << 3) | 4);
    EXPECT_EQ(quantize_group_size(99500), (3 << 3) | 5);
    EXPECT_EQ(quantize_group_size(98000), (31 << 3) | 4);
    for (std::uint32_t decade = 10; decade <= 10'000'000; decade *= 10) {
        for (const std::uint32_t n :
             {decade - 1, decade, decade + 1, decade / 10 * 9 + decade / 20}) {
            EXPECT_EQ(quantize_group_size(n), reference_group_size(n)) << n;
        }
    }
}

TEST(protocol_quantize, group_size_saturates_beyond_the_largest_code) {
    // 31 * 10/32 * 10^7 is the largest representable count; counts beyond it
    // (which UFTP never has: 100,000 clients at most) must not wrap the 3-bit
    // exponent into a small group size.
    EXPECT_EQ(unquantize_group_size(0xff), 96'875'000u);
    for (const std::uint32_t n : {96'875'000u, 99'999'999u, 100'000'000u, 1'000'000'000u,
                                  std::numeric_limits<std::uint32_t>::max()}) {
        EXPECT_EQ(quantize_group_size(n), 0xff) << n;
    }
}

// --- Rate (16 bit) ----------------------------------------------------------------

TEST(protocol_quantize, rate_no_suppression_value) {
    // 0x481E: mantissa 0x481 = 1153, exponent 14 -> 1153 * 10/4096 * 1e14.
    const double expected = 1153 * 10.0 / 4096 * 1e14;
    EXPECT_NEAR(static_cast<double>(unquantize_rate(0x481e)), expected, 1.0);
    EXPECT_NEAR(static_cast<double>(unquantize_rate(0x481e)), 2.8e14, 0.02e14);
    EXPECT_EQ(quantize_rate(unquantize_rate(0x481e)), 0x481e);
}

TEST(protocol_quantize, rate_small_values) {
    EXPECT_EQ(quantize_rate(0), 0);
    EXPECT_EQ(unquantize_rate(0), 0u);
    // Integer rates up to 10 B/s keep exponent 0 and come back exactly.
    for (std::uint64_t r = 0; r <= 10; ++r) {
        EXPECT_EQ(unquantize_rate(quantize_rate(r)), r) << r;
    }
    EXPECT_EQ(quantize_rate(5), 2048 << 4);
    EXPECT_EQ(quantize_rate(10), (410 << 4) | 1); // 10 -> 1.0 * 10^1
}

TEST(protocol_quantize, rate_relative_error_over_a_wide_range) {
    // The 12-bit mantissa covers (1, 10] in steps of 10/4096: half a step is
    // at most 0.122% of the value (just above a decade), 0.1% from 1.23 up.
    std::mt19937_64 rng(2);
    std::uniform_real_distribution<double> exponent(std::log(1000.0), std::log(9.9e15));
    double worst = 0;
    for (int i = 0; i < 200000; ++i) {
        const auto rate = static_cast<std::uint64_t>(std::exp(exponent(rng)));
        const std::uint16_t q = quantize_rate(rate);
        const double back = static_cast<double>(unquantize_rate(q));
        const double rel = std::abs(back - static_cast<double>(rate)) / static_cast<double>(rate);
        worst = std::max(worst, rel);
        // Within half a mantissa step of the rate, plus one for the integer result.
        const double half_step = 5.0 / 4096 * std::pow(10.0, q & 0xf);
        ASSERT_LE(std::abs(back - static_cast<double>(rate)), half_step + 1.0) << rate;
        // It is the nearest code: the neighbouring mantissas are no closer.
        const int m = q >> 4;
        for (const int other : {m - 1, m + 1}) {
            if (other < 1 || other > 0xfff) {
                continue;
            }
            const auto alt = static_cast<std::uint16_t>((other << 4) | (q & 0xf));
            ASSERT_GE(std::abs(static_cast<double>(unquantize_rate(alt)) - double(rate)) + 1.0,
                      std::abs(back - double(rate)))
                << rate;
        }
        const double mantissa = double(rate) / std::pow(10.0, q & 0xf);
        if (mantissa >= 1.23 && rate >= 1'000'000) {
            ASSERT_LT(rel, 0.001) << rate;
        }
    }
    EXPECT_GT(worst, 0.0);
}

TEST(protocol_quantize, rate_saturates_at_the_top) {
    const std::uint64_t top = unquantize_rate(0xffff);
    EXPECT_NEAR(static_cast<double>(top), 4095 * 10.0 / 4096 * 1e15, 1.0);
    EXPECT_EQ(quantize_rate(top), 0xffff);
    EXPECT_EQ(quantize_rate(top + 1), 0xffff);
    EXPECT_EQ(quantize_rate(std::uint64_t{1} << 60), 0xffff);
    EXPECT_EQ(quantize_rate(std::numeric_limits<std::uint64_t>::max()), 0xffff);
    // Just below the top is not saturated.
    EXPECT_LT(quantize_rate(top / 2), 0xffff);
}

TEST(protocol_quantize, rate_codes_are_monotonic) {
    std::uint64_t previous = 0;
    for (int e = 0; e <= 15; ++e) {
        for (int m = 410; m <= 4095; ++m) { // 1.0009.. to 9.9975.. in each decade
            const auto q = static_cast<std::uint16_t>((m << 4) | e);
            const std::uint64_t r = unquantize_rate(q);
            if (e > 0 || m > 410) {
                ASSERT_GE(r, previous) << std::hex << q;
            }
            previous = r;
        }
    }
}

// --- NAK bitmaps --------------------------------------------------------------------

TEST(protocol_nak_bitmap, size_is_floor_n_over_8_plus_1) {
    EXPECT_EQ(nak_bitmap_bytes(0), 1u);
    EXPECT_EQ(nak_bitmap_bytes(1), 1u);
    EXPECT_EQ(nak_bitmap_bytes(7), 1u);
    EXPECT_EQ(nak_bitmap_bytes(8), 2u);
    EXPECT_EQ(nak_bitmap_bytes(9), 2u);
    EXPECT_EQ(nak_bitmap_bytes(3200), 401u);
    EXPECT_EQ(nak_bitmap_bytes(3201), 401u);
    EXPECT_EQ(nak_bitmap_bytes(10400), 1301u);
    EXPECT_EQ(nak_bitmap_bytes(65536), 8193u);
}

TEST(protocol_nak_bitmap, writer_sets_bits_lsb_first) {
    std::vector<std::uint8_t> buf(4, 0xee); // the writer clears what it uses
    nak_bitmap_writer w(buf, 20);
    ASSERT_EQ(w.bytes().size(), 3u);
    EXPECT_EQ(buf[0], 0);
    EXPECT_EQ(buf[2], 0);
    EXPECT_EQ(buf[3], 0xee) << "byte past floor(20/8)+1 untouched";
    w.set_missing(0);
    w.set_missing(3);
    w.set_missing(8);
    w.set_missing(15);
    w.set_missing(19);
    w.set_missing(20);   // beyond N: ignored
    w.set_missing(1000); // far beyond: ignored
    const std::vector<std::uint8_t> got(w.bytes().begin(), w.bytes().end());
    EXPECT_EQ(got, (std::vector<std::uint8_t>{0x09, 0x81, 0x08}));
    EXPECT_EQ(buf[3], 0xee);

    nak_bitmap_view v(w.bytes(), 20);
    EXPECT_TRUE(v.complete());
    EXPECT_TRUE(v.missing(0));
    EXPECT_FALSE(v.missing(1));
    EXPECT_TRUE(v.missing(3));
    EXPECT_TRUE(v.missing(8));
    EXPECT_TRUE(v.missing(15));
    EXPECT_TRUE(v.missing(19));
    EXPECT_FALSE(v.missing(20));
    EXPECT_EQ(v.count_missing(), 5u);
}

TEST(protocol_nak_bitmap, view_reads_hand_computed_bytes) {
    // Blocks 1, 2, 7 | 9 | 16, 17 missing; N = 18.
    const std::vector<std::uint8_t> bits{0x86, 0x02, 0x03};
    nak_bitmap_view v(bits, 18);
    std::vector<std::uint32_t> got;
    v.for_each_missing([&](std::uint32_t i) { got.push_back(i); });
    EXPECT_EQ(got, (std::vector<std::uint32_t>{1, 2, 7, 9, 16, 17}));
    EXPECT_EQ(v.next_missing(0), 1u);
    EXPECT_EQ(v.next_missing(3), 7u);
    EXPECT_EQ(v.next_missing(10), 16u);
    EXPECT_EQ(v.next_missing(18), 18u);
    EXPECT_EQ(v.next_missing(1000), 18u);
}

TEST(protocol_nak_bitmap, padding_bits_beyond_n_are_ignored) {
    // N = 10: byte 1 holds blocks 8 and 9; its six upper bits are padding.
    for (std::uint32_t n = 0; n < 130; ++n) {
        std::vector<std::uint8_t> bits(nak_bitmap_bytes(n) + 8, 0xff);
        // Only the exact bitmap is passed; all of it set, padding included.
        nak_bitmap_view v(std::span<const std::uint8_t>(bits).first(nak_bitmap_bytes(n)), n);
        EXPECT_EQ(v.count_missing(), n) << n;
        EXPECT_EQ(v.next_missing(n), n);
        EXPECT_FALSE(v.missing(n));
        std::uint32_t calls = 0;
        v.for_each_missing([&](std::uint32_t i) {
            EXPECT_LT(i, n);
            ++calls;
        });
        EXPECT_EQ(calls, n);
        // Bytes after the bitmap (a longer STATUS body) are not part of it either.
        nak_bitmap_view longer(bits, n);
        EXPECT_EQ(longer.count_missing(), n) << n;
        EXPECT_EQ(longer.next_missing(n), n) << n;
        // Padding alone (every block present) reports nothing missing.
        std::vector<std::uint8_t> pad(nak_bitmap_bytes(n), 0);
        pad.back() = static_cast<std::uint8_t>(0xff << (n % 8));
        nak_bitmap_view p(pad, n);
        EXPECT_EQ(p.count_missing(), 0u) << n;
        EXPECT_EQ(p.next_missing(0), n) << n;
    }
}

struct naive_bitmap {
    std::vector<bool> missing;
};

// Copies the first `size` bytes into an exactly-sized heap block, so ASan
// catches the word-at-a-time scans reading past a short bitmap.
struct exact_bits {
    explicit exact_bits(const std::vector<std::uint8_t>& b, std::size_t size)
        : data(new std::uint8_t[size]), n(size) {
        std::copy(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(size), data.get());
    }
    std::span<const std::uint8_t> span() const { return {data.get(), n}; }
    std::unique_ptr<std::uint8_t[]> data;
    std::size_t n;
};

void check_against_naive(const std::vector<std::uint8_t>& bytes_full, std::size_t have,
                         std::uint32_t n) {
    const exact_bits bits(bytes_full, have);
    nak_bitmap_view v(bits.span(), n);
    EXPECT_EQ(v.complete(), have >= nak_bitmap_bytes(n));
    // Naive: bit i is missing if it is inside both N and the bytes we have.
    std::vector<std::uint32_t> expected;
    for (std::uint32_t i = 0; i < n; ++i) {
        if (i / 8 < have && ((bytes_full[i / 8] >> (i % 8)) & 1) != 0) {
            expected.push_back(i);
        }
    }
    ASSERT_EQ(v.count_missing(), expected.size()) << "n " << n << " have " << have;
    std::vector<std::uint32_t> got;
    v.for_each_missing([&](std::uint32_t i) { got.push_back(i); });
    ASSERT_EQ(got, expected) << "n " << n << " have " << have;
    // next_missing from every start position.
    std::size_t k = 0;
    for (std::uint32_t from = 0; from <= n + 1; ++from) {
        while (k < expected.size() && expected[k] < from) {
            ++k;
        }
        const std::uint32_t want = k < expected.size() ? expected[k] : n;
        ASSERT_EQ(v.next_missing(from), want) << "n " << n << " have " << have << " from " << from;
    }
    for (std::uint32_t i = 0; i < n + 9; ++i) {
        const bool want = std::binary_search(expected.begin(), expected.end(), i);
        ASSERT_EQ(v.missing(i), want) << i;
    }
}

TEST(protocol_nak_bitmap, view_matches_a_naive_reference_on_random_bitmaps) {
    std::mt19937 rng(3);
    std::vector<std::uint32_t> sizes{0,    1,    7,    8,     9,     63,   64,  65,
                                     127,  128,  129,  191,   200,   511,  512, 513,
                                     3200, 3201, 4800, 10400, 65535, 65536};
    for (int i = 0; i < 40; ++i) {
        sizes.push_back(static_cast<std::uint32_t>(rng() % 2000));
    }
    for (const std::uint32_t n : sizes) {
        for (const double density : {0.0, 0.001, 0.05, 0.5, 0.99, 1.0}) {
            std::bernoulli_distribution bit(density);
            std::vector<std::uint8_t> b(nak_bitmap_bytes(n));
            for (auto& byte : b) {
                for (int k = 0; k < 8; ++k) {
                    byte = static_cast<std::uint8_t>(byte | (bit(rng) ? 1u << k : 0u));
                }
            }
            check_against_naive(b, b.size(), n);
            if (n > 4096 && density != 0.05) {
                continue; // short bitmaps of the big sections: one density is enough
            }
            // Short bitmaps (complete() == false) must never be read past their end.
            for (std::size_t have :
                 {std::size_t{0}, std::size_t{1}, b.size() / 2, b.size() > 8 ? b.size() - 8 : 0,
                  b.size() > 0 ? b.size() - 1 : 0}) {
                if (have <= b.size()) {
                    check_against_naive(b, have, n);
                }
            }
        }
    }
}

TEST(protocol_nak_bitmap, writer_then_view_round_trip) {
    std::mt19937 rng(4);
    for (const std::uint32_t n : {1u, 8u, 13u, 64u, 100u, 3201u, 65536u}) {
        std::vector<std::uint8_t> buf(nak_bitmap_bytes(n));
        nak_bitmap_writer w(buf, n);
        std::vector<std::uint32_t> set;
        for (std::uint32_t i = 0; i < n; ++i) {
            if (rng() % 7 == 0) {
                w.set_missing(i);
                set.push_back(i);
            }
        }
        nak_bitmap_view v(w.bytes(), n);
        std::vector<std::uint32_t> got;
        v.for_each_missing([&](std::uint32_t i) { got.push_back(i); });
        EXPECT_EQ(got, set) << n;
        EXPECT_EQ(v.count_missing(), set.size());
        // Bits beyond N in the last byte stay clear on the wire.
        if (n % 8 != 0) {
            EXPECT_EQ(buf.back() >> (n % 8), 0) << n;
        } else {
            EXPECT_EQ(buf.back(), 0) << n;
        }
    }
}

} // namespace
} // namespace skycast::protocol
