// The Reed–Solomon parity codec: any k of a group's k + h blocks rebuild its
// data byte for byte, for every erasure pattern of small groups and random
// ones of large groups; parity subsets equal the rows of a full encode;
// invalid calls are refused with the right error.
#include "dataplane/core/fec_codec.h"

#include <algorithm>
#include <cstdint>
#include <gtest/gtest.h>
#include <numeric>
#include <random>
#include <tuple>
#include <utility>
#include <vector>

namespace skycast::dataplane {
namespace {

// A group's k data blocks (random) and h parity blocks (encoded), with the
// pointer tables the codec takes.
struct group {
    std::uint32_t k = 0;
    std::uint32_t h = 0;
    std::size_t block = 0;
    std::vector<std::vector<std::uint8_t>> blocks; // k data, then h parity
    std::vector<const std::uint8_t*> data;
    std::vector<std::uint8_t*> parity;

    group(std::uint32_t k_, std::uint32_t h_, std::size_t block_, std::mt19937& rng)
        : k(k_), h(h_), block(block_), blocks(k_ + h_, std::vector<std::uint8_t>(block_)) {
        std::uniform_int_distribution<int> byte(0, 255);
        for (std::uint32_t i = 0; i < k; ++i) {
            for (auto& b : blocks[i]) {
                b = static_cast<std::uint8_t>(byte(rng));
            }
            data.push_back(blocks[i].data());
        }
        for (std::uint32_t i = k; i < k + h; ++i) {
            parity.push_back(blocks[i].data());
        }
    }
};

fec_codec make(std::uint32_t k, std::uint32_t h, std::size_t block) {
    auto r = fec_codec::create(k, h, block);
    EXPECT_EQ(r.error, fec_error::ok) << "k=" << k << " h=" << h << " block=" << block;
    return std::move(r.codec);
}

// Decodes from the blocks named by `received` (k of them, any order) into
// fresh buffers and checks every missing data block against the original.
void expect_decodes(fec_codec& codec, const group& g, const std::vector<std::uint32_t>& received) {
    std::vector<const std::uint8_t*> in;
    for (auto b : received) {
        in.push_back(g.blocks[b].data());
    }
    std::vector<std::vector<std::uint8_t>> rebuilt(g.k);
    std::vector<std::uint8_t*> out(g.k, nullptr);
    std::vector<bool> have(g.k + g.h, false);
    for (auto b : received) {
        have[b] = true;
    }
    for (std::uint32_t d = 0; d < g.k; ++d) {
        if (!have[d]) {
            // Filled with a marker so that a block left unwritten shows.
            rebuilt[d].assign(g.block, 0xee);
            out[d] = rebuilt[d].data();
        }
    }
    ASSERT_EQ(codec.decode(received, in, out), fec_error::ok);
    for (std::uint32_t d = 0; d < g.k; ++d) {
        if (!have[d]) {
            ASSERT_EQ(rebuilt[d], g.blocks[d])
                << "data block " << d << " of k=" << g.k << " h=" << g.h << " block=" << g.block;
        }
    }
}

// Every way of choosing k of the k + h blocks (in increasing order, then
// the same set reversed so that the caller's order does not matter).
void decode_every_pattern(std::uint32_t k, std::uint32_t h, std::size_t block, std::mt19937& rng) {
    group g(k, h, block, rng);
    fec_codec codec = make(k, h, block);
    ASSERT_EQ(codec.encode(g.data, g.parity), fec_error::ok);
    const std::uint32_t n = k + h;
    int patterns = 0;
    for (std::uint32_t mask = 0; mask < (1u << n); ++mask) {
        if (static_cast<std::uint32_t>(__builtin_popcount(mask)) != k) {
            continue;
        }
        std::vector<std::uint32_t> received;
        for (std::uint32_t b = 0; b < n; ++b) {
            if ((mask & (1u << b)) != 0) {
                received.push_back(b);
            }
        }
        expect_decodes(codec, g, received);
        std::reverse(received.begin(), received.end());
        expect_decodes(codec, g, received);
        ++patterns;
    }
    // C(k + h, k)
    std::uint64_t expected = 1;
    for (std::uint32_t i = 1; i <= h; ++i) {
        expected = expected * (k + i) / i;
    }
    EXPECT_EQ(static_cast<std::uint64_t>(patterns), expected);
}

// `count` random choices of k blocks, shuffled, biased towards many missing
// data blocks (the hard case); plus the worst case: min(h, k) data missing.
void decode_random_patterns(std::uint32_t k, std::uint32_t h, std::size_t block, int count,
                            std::mt19937& rng) {
    group g(k, h, block, rng);
    fec_codec codec = make(k, h, block);
    ASSERT_EQ(codec.encode(g.data, g.parity), fec_error::ok);
    std::vector<std::uint32_t> all(k + h);
    std::iota(all.begin(), all.end(), 0u);
    for (int i = 0; i < count; ++i) {
        std::shuffle(all.begin(), all.end(), rng);
        std::vector<std::uint32_t> received(all.begin(), all.begin() + k);
        expect_decodes(codec, g, received);
    }
    const std::uint32_t e = std::min(k, h);
    std::vector<std::uint32_t> worst;
    for (std::uint32_t b = e; b < k + e; ++b) { // data e..k-1, then parity k..k+e-1
        worst.push_back(b);
    }
    std::shuffle(worst.begin(), worst.end(), rng);
    expect_decodes(codec, g, worst);
}

TEST(fec_codec, every_pattern_of_small_groups) {
    std::mt19937 rng(1);
    for (std::size_t block : {std::size_t{1}, std::size_t{1300}, std::size_t{8800}}) {
        decode_every_pattern(1, 1, block, rng);
        decode_every_pattern(4, 2, block, rng);
        decode_every_pattern(3, 5, block, rng);
        decode_every_pattern(1, 7, block, rng);
    }
    // Wider ones, one block size: 12 870 and 4 368 patterns.
    decode_every_pattern(8, 8, 1300, rng);
    decode_every_pattern(11, 5, 64, rng);
}

TEST(fec_codec, random_patterns_of_large_groups) {
    std::mt19937 rng(2);
    for (std::size_t block : {std::size_t{1}, std::size_t{1301}, std::size_t{8800}}) {
        decode_random_patterns(64, 8, block, 20, rng);
        decode_random_patterns(200, 55, block, 5, rng);
        decode_random_patterns(239, 16, block, 5, rng);
        decode_random_patterns(254, 1, block, 5, rng);
        decode_random_patterns(1, 254, block, 5, rng);
        decode_random_patterns(128, 127, block, 3, rng);
    }
}

TEST(fec_codec, single_parity_rebuilds_any_one_block) {
    // k=254, h=1: each of the 254 data blocks lost in turn.
    std::mt19937 rng(3);
    group g(254, 1, 1300, rng);
    fec_codec codec = make(254, 1, 1300);
    ASSERT_EQ(codec.encode(g.data, g.parity), fec_error::ok);
    for (std::uint32_t lost = 0; lost < 254; ++lost) {
        std::vector<std::uint32_t> received;
        for (std::uint32_t b = 0; b < 255; ++b) {
            if (b != lost) {
                received.push_back(b);
            }
        }
        expect_decodes(codec, g, received);
    }
}

TEST(fec_codec, decodes_from_parity_only) {
    std::mt19937 rng(4);
    for (auto [k, h] : {std::pair{1u, 1u}, std::pair{4u, 4u}, std::pair{64u, 64u},
                        std::pair{100u, 155u}, std::pair{127u, 128u}}) {
        group g(k, h, 1300, rng);
        fec_codec codec = make(k, h, 1300);
        ASSERT_EQ(codec.encode(g.data, g.parity), fec_error::ok);
        std::vector<std::uint32_t> received(h);
        std::iota(received.begin(), received.end(), k);
        std::shuffle(received.begin(), received.end(), rng);
        received.resize(k); // any k of the parity blocks
        expect_decodes(codec, g, received);
    }
}

TEST(fec_codec, all_data_received_writes_nothing) {
    std::mt19937 rng(5);
    group g(4, 2, 100, rng);
    fec_codec codec = make(4, 2, 100);
    ASSERT_EQ(codec.encode(g.data, g.parity), fec_error::ok);
    const std::vector<std::uint32_t> received{3, 1, 0, 2};
    std::vector<const std::uint8_t*> in{g.data[3], g.data[1], g.data[0], g.data[2]};
    std::vector<std::uint8_t*> out(4, nullptr); // nothing is missing: null outputs are fine
    EXPECT_EQ(codec.decode(received, in, out), fec_error::ok);
}

TEST(fec_codec, parity_subsets_equal_the_rows_of_a_full_encode) {
    std::mt19937 rng(6);
    for (auto [k, h, block] :
         {std::tuple{4u, 2u, std::size_t{1}}, std::tuple{64u, 8u, std::size_t{1300}},
          std::tuple{239u, 16u, std::size_t{8800}}, std::tuple{10u, 245u, std::size_t{33}}}) {
        group g(k, h, block, rng);
        fec_codec codec = make(k, h, block);
        ASSERT_EQ(codec.encode(g.data, g.parity), fec_error::ok);
        // Every run j..j+n-1 of parity rows (every one for small h, a sample
        // for large h).
        const std::uint32_t step = h > 20 ? 7 : 1;
        for (std::uint32_t first = k; first < k + h; first += step) {
            for (std::uint32_t n = 1; first + n <= k + h; n += step) {
                std::vector<std::vector<std::uint8_t>> rows(n, std::vector<std::uint8_t>(block, 0));
                std::vector<std::uint8_t*> out;
                for (auto& r : rows) {
                    out.push_back(r.data());
                }
                ASSERT_EQ(codec.encode_parity(g.data, first, out), fec_error::ok);
                for (std::uint32_t i = 0; i < n; ++i) {
                    ASSERT_EQ(rows[i], g.blocks[first + i])
                        << "k=" << k << " h=" << h << " first=" << first << " n=" << n;
                }
            }
        }
    }
}

TEST(fec_codec, same_code_for_the_same_parameters) {
    // Sender and receivers build their codecs apart: the parity must depend
    // on (k, h) and the data only.
    std::mt19937 rng(7);
    group g(16, 4, 500, rng);
    fec_codec a = make(16, 4, 500);
    fec_codec b = make(16, 4, 500);
    std::vector<std::vector<std::uint8_t>> pa(4, std::vector<std::uint8_t>(500));
    std::vector<std::vector<std::uint8_t>> pb(4, std::vector<std::uint8_t>(500));
    std::vector<std::uint8_t*> oa{pa[0].data(), pa[1].data(), pa[2].data(), pa[3].data()};
    std::vector<std::uint8_t*> ob{pb[0].data(), pb[1].data(), pb[2].data(), pb[3].data()};
    ASSERT_EQ(a.encode(g.data, oa), fec_error::ok);
    ASSERT_EQ(b.encode(g.data, ob), fec_error::ok);
    EXPECT_EQ(pa, pb);
    // And a parity row is not a copy of a data block nor all zeros.
    EXPECT_NE(pa[0], std::vector<std::uint8_t>(500, 0));
    EXPECT_NE(pa[0], g.blocks[0]);
}

TEST(fec_codec, create_rejects_bad_parameters) {
    EXPECT_EQ(fec_codec::create(0, 1, 100).error, fec_error::bad_data_count);
    EXPECT_EQ(fec_codec::create(255, 1, 100).error, fec_error::bad_data_count);
    EXPECT_EQ(fec_codec::create(1, 0, 100).error, fec_error::bad_parity_count);
    EXPECT_EQ(fec_codec::create(1, 255, 100).error, fec_error::bad_parity_count);
    EXPECT_EQ(fec_codec::create(200, 56, 100).error, fec_error::bad_parity_count);
    EXPECT_EQ(fec_codec::create(4, 2, 0).error, fec_error::bad_block_size);
    EXPECT_EQ(fec_codec::create(4, 2, std::size_t{1} << 31).error, fec_error::bad_block_size);
    EXPECT_TRUE(fec_codec::create(1, 254, 1).ok());
    EXPECT_TRUE(fec_codec::create(254, 1, 1).ok());
    EXPECT_TRUE(fec_codec::create(4, 2, (std::size_t{1} << 31) - 1).ok());
    EXPECT_EQ(name(fec_error::duplicate_index), "duplicate_index");
}

TEST(fec_codec, an_empty_codec_refuses_everything) {
    fec_codec codec;
    std::vector<std::uint8_t> buf(10);
    std::vector<const std::uint8_t*> in{buf.data()};
    std::vector<std::uint8_t*> out{buf.data()};
    const std::vector<std::uint32_t> idx{0};
    EXPECT_EQ(codec.encode(in, out), fec_error::bad_data_count);
    EXPECT_EQ(codec.encode_parity(in, 1, out), fec_error::bad_data_count);
    EXPECT_EQ(codec.decode(idx, in, out), fec_error::bad_data_count);
}

TEST(fec_codec, encode_rejects_bad_calls) {
    std::mt19937 rng(8);
    group g(4, 2, 64, rng);
    fec_codec codec = make(4, 2, 64);
    std::vector<std::uint8_t> spare(64);
    std::vector<std::uint8_t*> one{spare.data()};
    std::vector<std::uint8_t*> three{spare.data(), spare.data(), spare.data()};
    std::vector<const std::uint8_t*> short_data(g.data.begin(), g.data.begin() + 3);

    EXPECT_EQ(codec.encode(short_data, g.parity), fec_error::wrong_block_count);
    EXPECT_EQ(codec.encode(g.data, one), fec_error::wrong_block_count);
    EXPECT_EQ(codec.encode(g.data, three), fec_error::wrong_block_count);
    EXPECT_EQ(codec.encode_parity(short_data, 4, one), fec_error::wrong_block_count);
    EXPECT_EQ(codec.encode_parity(g.data, 3, one), fec_error::bad_parity_range); // a data index
    EXPECT_EQ(codec.encode_parity(g.data, 6, one), fec_error::bad_parity_range); // past k + h
    EXPECT_EQ(
        codec.encode_parity(g.data, 5, std::vector<std::uint8_t*>{spare.data(), spare.data()}),
        fec_error::bad_parity_range); // runs past k + h
    EXPECT_EQ(codec.encode_parity(g.data, 4, std::vector<std::uint8_t*>{}),
              fec_error::bad_parity_range); // empty
    EXPECT_EQ(codec.encode_parity(g.data, 0xffffffffu, one), fec_error::bad_parity_range);
    auto with_null = g.data;
    with_null[2] = nullptr;
    EXPECT_EQ(codec.encode(with_null, g.parity), fec_error::null_buffer);
    EXPECT_EQ(codec.encode_parity(g.data, 5, std::vector<std::uint8_t*>{nullptr}),
              fec_error::null_buffer);
    EXPECT_EQ(codec.encode_parity(g.data, 5, one), fec_error::ok);
}

TEST(fec_codec, decode_rejects_bad_calls) {
    std::mt19937 rng(9);
    group g(4, 2, 64, rng);
    fec_codec codec = make(4, 2, 64);
    ASSERT_EQ(codec.encode(g.data, g.parity), fec_error::ok);
    std::vector<std::uint8_t> spare0(64);
    std::vector<std::uint8_t> spare1(64);
    std::vector<std::uint8_t*> out{spare0.data(), spare1.data(), nullptr, nullptr};
    auto in = [&](const std::vector<std::uint32_t>& idx) {
        std::vector<const std::uint8_t*> v;
        for (auto b : idx) {
            v.push_back(g.blocks[std::min<std::uint32_t>(b, 5)].data());
        }
        return v;
    };
    const std::vector<std::uint32_t> three{2, 3, 4};
    const std::vector<std::uint32_t> five{1, 2, 3, 4, 5};
    const std::vector<std::uint32_t> dup{2, 3, 4, 4};
    const std::vector<std::uint32_t> far{2, 3, 4, 6};
    const std::vector<std::uint32_t> good{2, 3, 4, 5};

    EXPECT_EQ(codec.decode(three, in(three), out), fec_error::wrong_block_count);
    EXPECT_EQ(codec.decode(five, in(five), out), fec_error::wrong_block_count);
    EXPECT_EQ(codec.decode(good, in(three), out), fec_error::wrong_block_count);
    EXPECT_EQ(codec.decode(good, in(good), std::vector<std::uint8_t*>(3, spare0.data())),
              fec_error::wrong_block_count);
    EXPECT_EQ(codec.decode(dup, in(dup), out), fec_error::duplicate_index);
    EXPECT_EQ(codec.decode(far, in(far), out), fec_error::index_out_of_range);
    auto null_in = in(good);
    null_in[1] = nullptr;
    EXPECT_EQ(codec.decode(good, null_in, out), fec_error::null_buffer);
    std::vector<std::uint8_t*> null_out{spare0.data(), nullptr, nullptr, nullptr};
    EXPECT_EQ(codec.decode(good, in(good), null_out), fec_error::null_buffer); // block 1 missing
    EXPECT_EQ(codec.decode(good, in(good), out), fec_error::ok);
    EXPECT_EQ(spare0, g.blocks[0]);
    EXPECT_EQ(spare1, g.blocks[1]);
}

} // namespace
} // namespace skycast::dataplane
