// Key schedule and verify data against kat_vectors.h (computed by gen_kat.py,
// an independent Python implementation of §5.3/§5.7).
#include "crypto/key_schedule.h"
#include "tests/unit/crypto/kat_vectors.h"
#include "tests/unit/crypto/test_util.h"

#include <algorithm>
#include <gtest/gtest.h>

using namespace skycast::crypto;
using skycast::protocol::hash_type;
using test_util::to_hex;

namespace {

hello_random random_of(const std::uint8_t (&bytes)[32]) {
    hello_random r{};
    std::copy_n(bytes, 32, r.begin());
    return r;
}

std::string hex(std::span<const std::uint8_t> b) {
    return to_hex(b);
}

} // namespace

TEST(key_schedule, master_secret_matches_independent_implementation) {
    const auto r1 = random_of(kat::rand1);
    const auto r2 = random_of(kat::rand2);
    const std::pair<hash_type, std::span<const std::uint8_t>> cases[] = {
        {hash_type::sha1, kat::master_sha1},
        {hash_type::sha256, kat::master_sha256},
        {hash_type::sha384, kat::master_sha384},
        {hash_type::sha512, kat::master_sha512},
    };
    for (const auto& [h, expected] : cases) {
        auto m = derive_master_secret(h, kat::premaster, r1, r2);
        ASSERT_TRUE(m.ok());
        EXPECT_EQ(hex(m->span()), hex(expected)) << static_cast<int>(h);
    }
}

TEST(key_schedule, key_blocks_match_independent_implementation) {
    const auto r1 = random_of(kat::rand1);
    const auto r2 = random_of(kat::rand2);
    for (const auto& v : kat::suites) {
        const auto s = test_util::make(v.key_type, v.hash_type);
        auto master = derive_master_secret(s.hash.type, kat::premaster, r1, r2);
        ASSERT_TRUE(master.ok());
        auto client = derive_client_key_block(s, master->span(), r1, r2);
        ASSERT_TRUE(client.ok());
        EXPECT_EQ(hex(client->bytes()), hex(std::span(v.client_block, v.client_block_len)));
        EXPECT_EQ(client->hmac_key().size(), s.hash.len);
        EXPECT_EQ(client->key().size(), s.cipher.key_len);
        auto group = derive_group_key_block(s, kat::group_master, r1);
        ASSERT_TRUE(group.ok());
        EXPECT_EQ(hex(group->bytes()), hex(std::span(v.group_block, v.group_block_len)));
        // The pieces are consecutive slices of the block.
        EXPECT_EQ(hex(group->salt()), hex(std::span(v.group_block, v.group_block_len).last(4)));
    }
}

TEST(key_schedule, group_master_starts_with_version_and_is_random) {
    auto a = make_group_master();
    auto b = make_group_master();
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->size(), 48u);
    EXPECT_EQ((*a)[0], 0x40);
    EXPECT_NE(hex(a->span()), hex(b->span()));
}

TEST(key_schedule, verify_data_1_layout) {
    const auto r1 = random_of(kat::rand1);
    const auto r2 = random_of(kat::rand2);
    const std::uint8_t addr[4] = {0, 0, 0, 0};
    auto vd = build_verify_data_1({0x11223344, addr, &r1, &r2, kat::premaster});
    ASSERT_TRUE(vd.ok());
    EXPECT_EQ(hex(vd->span()), hex(kat::vd1));
    const std::uint8_t bad_addr[5] = {};
    EXPECT_FALSE(build_verify_data_1({1, bad_addr, &r1, &r2, kat::premaster}).ok());
}

TEST(key_schedule, keyinfo_ack_verify_data_matches_independent_implementation) {
    auto with_auth =
        keyinfo_ack_verify_data(hash_type::sha256, kat::vd1, kat::client_blob, kat::group_master);
    ASSERT_TRUE(with_auth.ok());
    EXPECT_EQ(hex(*with_auth), hex(kat::verify_sha256_auth));
    auto without = keyinfo_ack_verify_data(hash_type::sha256, kat::vd1, {}, kat::group_master);
    ASSERT_TRUE(without.ok());
    EXPECT_EQ(hex(*without), hex(kat::verify_sha256_noauth));
    auto sha1 =
        keyinfo_ack_verify_data(hash_type::sha1, kat::vd1, kat::client_blob, kat::group_master);
    ASSERT_TRUE(sha1.ok());
    EXPECT_EQ(hex(*sha1), hex(kat::verify_sha1_auth));
    auto sha1_noauth = keyinfo_ack_verify_data(hash_type::sha1, kat::vd1, {}, kat::group_master);
    ASSERT_TRUE(sha1_noauth.ok());
    EXPECT_EQ(hex(*sha1_noauth), hex(kat::verify_sha1_noauth));
}

TEST(key_schedule, check_verify_data_accepts_only_the_exact_value) {
    std::array<std::uint8_t, 12> good{};
    std::copy_n(kat::verify_sha256_auth, 12, good.begin());
    EXPECT_EQ(check_keyinfo_ack_verify_data(hash_type::sha256, kat::vd1, kat::client_blob,
                                            kat::group_master, good),
              crypto_error::ok);
    for (std::size_t bit = 0; bit < 96; ++bit) {
        auto bad = good;
        bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
        EXPECT_EQ(check_keyinfo_ack_verify_data(hash_type::sha256, kat::vd1, kat::client_blob,
                                                kat::group_master, bad),
                  crypto_error::verify_data_mismatch);
    }
    EXPECT_EQ(check_keyinfo_ack_verify_data(hash_type::sha256, kat::vd1, kat::client_blob,
                                            kat::group_master, std::span(good).first(11)),
              crypto_error::verify_data_mismatch);
}

TEST(key_schedule, key_block_from_bytes_checks_size) {
    const auto s = test_util::make(5, 3); // AES-128-GCM, SHA-256: 32 + 16 + 4
    std::vector<std::uint8_t> bytes(52, 1);
    EXPECT_TRUE(key_block::from_bytes(s, bytes).ok());
    bytes.pop_back();
    EXPECT_EQ(key_block::from_bytes(s, bytes).error(), crypto_error::buffer_too_small);
}
