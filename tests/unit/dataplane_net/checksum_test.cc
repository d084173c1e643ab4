// The Internet checksum: RFC 1071's worked example, a known IPv4 header, and
// both fast loops (the AVX2 one ones_sum picks on this CPU, and the portable
// word loop) against a byte-by-byte reference on random buffers of every
// length 0..2000 at every alignment 0..7, and on buffers big enough to make
// the vector lanes spill.
#include "dataplane/core/net/checksum.h"

#include <cstdint>
#include <gtest/gtest.h>
#include <random>
#include <string>
#include <vector>

namespace skycast::dataplane::net {
namespace {

// RFC 1071 §1 spelled out: big-endian 16-bit words, an odd byte padded on the
// right, carries folded back in.
std::uint16_t reference_sum(const std::uint8_t* p, std::size_t n) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < n; i += 2) {
        std::uint32_t word = std::uint32_t{p[i]} << 8;
        if (i + 1 < n) {
            word |= p[i + 1];
        }
        sum += word;
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(sum);
}

TEST(checksum, rfc1071_worked_example) {
    // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (carries
    // folded), so the checksum is ~ddf2 = 220d.
    const std::uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(ones_sum(data), 0xddf2);
    EXPECT_EQ(internet_checksum(data), 0x220d);
}

TEST(checksum, known_ipv4_header) {
    // 192.168.0.1 -> 192.168.0.199, UDP, TTL 64, DF, total length 0x73: the
    // header checksum (bytes 10-11) is b861.
    std::uint8_t header[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                             0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    EXPECT_EQ(internet_checksum(header), 0xb861);
    header[10] = 0xb8;
    header[11] = 0x61;
    EXPECT_TRUE(checksum_valid(header));
    header[15] ^= 0x01;
    EXPECT_FALSE(checksum_valid(header));
}

TEST(checksum, odd_length_pads_the_last_byte_on_the_right) {
    const std::uint8_t odd[] = {0x12, 0x34, 0x56};
    EXPECT_EQ(ones_sum(odd), 0x1234 + 0x5600);
    const std::uint8_t one[] = {0xab};
    EXPECT_EQ(ones_sum(one), 0xab00);
    EXPECT_EQ(ones_sum({}), 0);
}

TEST(checksum, carries_wrap_around) {
    // ffff + 0001 = 1 0000 -> 0001 after the end-around carry.
    const std::uint8_t data[] = {0xff, 0xff, 0x00, 0x01};
    EXPECT_EQ(ones_sum(data), 0x0001);
    std::vector<std::uint8_t> all_ones(4096, 0xff);
    EXPECT_EQ(ones_sum(all_ones), 0xffff);
}

TEST(checksum, matches_reference_for_every_length_and_alignment) {
    std::mt19937 rng(1071);
    std::vector<std::uint8_t> buffer(2000 + 8);
    for (auto& b : buffer) {
        b = static_cast<std::uint8_t>(rng());
    }
    for (std::size_t offset = 0; offset < 8; ++offset) {
        for (std::size_t length = 0; length <= 2000; ++length) {
            const std::uint8_t* p = buffer.data() + offset;
            const std::uint16_t want = reference_sum(p, length);
            ASSERT_EQ(ones_sum({p, length}), want)
                << ones_sum_kernel() << " length " << length << " offset " << offset;
            ASSERT_EQ(ones_sum_portable({p, length}), want)
                << "portable length " << length << " offset " << offset;
        }
        // Fresh bytes for the next alignment, so each sees different data.
        for (auto& b : buffer) {
            b = static_cast<std::uint8_t>(rng());
        }
    }
}

TEST(checksum, high_byte_values_stress_the_accumulators) {
    // Mostly 0xff bytes make every partial sum carry: any lost carry shows.
    std::mt19937 rng(7);
    std::vector<std::uint8_t> buffer(9100);
    for (auto& b : buffer) {
        b = (rng() % 8 == 0) ? static_cast<std::uint8_t>(rng()) : 0xff;
    }
    for (std::size_t length : {0u, 1u, 31u, 32u, 33u, 1499u, 8999u, 9099u}) {
        EXPECT_EQ(ones_sum({buffer.data() + 1, length}), reference_sum(buffer.data() + 1, length))
            << "length " << length;
    }
}

TEST(checksum, long_buffers_of_high_bytes_keep_every_carry) {
    // 3 MiB + 5 of mostly 0xff: the AVX2 loop's 32-bit lanes must be spilled
    // (every 1 MiB) before they overflow, and every carry must survive.
    std::mt19937 rng(65535);
    std::vector<std::uint8_t> buffer((3u << 20) + 6);
    for (auto& b : buffer) {
        b = (rng() % 16 == 0) ? static_cast<std::uint8_t>(rng()) : 0xff;
    }
    for (std::size_t length :
         {std::size_t{1} << 20, (std::size_t{1} << 20) + 64, (std::size_t{3} << 20) + 5}) {
        const std::uint16_t want = reference_sum(buffer.data() + 1, length);
        EXPECT_EQ(ones_sum({buffer.data() + 1, length}), want) << "length " << length;
        EXPECT_EQ(ones_sum_portable({buffer.data() + 1, length}), want) << "length " << length;
    }
}

TEST(checksum, names_the_loop_it_uses) {
    const std::string kernel = ones_sum_kernel();
    EXPECT_TRUE(kernel == "avx2" || kernel == "portable") << kernel;
#if defined(__x86_64__)
    __builtin_cpu_init();
    EXPECT_EQ(kernel == "avx2", __builtin_cpu_supports("avx2") != 0);
#endif
}

TEST(checksum, pieces_combine_with_ones_add) {
    std::mt19937 rng(42);
    std::vector<std::uint8_t> buffer(1501);
    for (auto& b : buffer) {
        b = static_cast<std::uint8_t>(rng());
    }
    const std::span<const std::uint8_t> all{buffer};
    for (std::size_t split = 0; split <= buffer.size(); split += 2) {
        ASSERT_EQ(ones_add(ones_sum(all.first(split)), ones_sum(all.subspan(split))), ones_sum(all))
            << "split at " << split;
    }
}

TEST(checksum, a_buffer_with_its_checksum_inserted_verifies) {
    std::mt19937 rng(3);
    for (std::size_t length = 2; length < 300; ++length) {
        std::vector<std::uint8_t> data(length);
        for (auto& b : data) {
            b = static_cast<std::uint8_t>(rng());
        }
        data[0] = 0;
        data[1] = 0;
        const std::uint16_t c = internet_checksum(data);
        data[0] = static_cast<std::uint8_t>(c >> 8);
        data[1] = static_cast<std::uint8_t>(c);
        ASSERT_TRUE(checksum_valid(data)) << "length " << length;
    }
}

} // namespace
} // namespace skycast::dataplane::net
