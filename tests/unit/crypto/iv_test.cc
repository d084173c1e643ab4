// IV layouts per cipher family, with the spec's own example (§5.8): salt
// a1b2c3d4, UID c0000202, CTR 5.
#include "crypto/iv.h"
#include "tests/unit/crypto/test_util.h"

#include <array>
#include <gtest/gtest.h>

using namespace skycast::crypto;
using skycast::protocol::key_type;
using test_util::to_hex;

namespace {

std::string iv_hex(key_type k, std::uint32_t uid, std::uint64_t ctr) {
    const std::array<std::uint8_t, 4> salt{0xa1, 0xb2, 0xc3, 0xd4};
    std::array<std::uint8_t, max_iv_len> iv{};
    const auto n = build_iv(*cipher_for(k), salt, uid, ctr, iv);
    return to_hex(std::span(iv).first(n));
}

} // namespace

TEST(iv, spec_example_cbc) {
    EXPECT_EQ(iv_hex(key_type::aes128_cbc, 0xc0000202, 5), "a1b2c3d4c00002020000000000000005");
    EXPECT_EQ(iv_hex(key_type::aes256_cbc, 0xc0000202, 5), "a1b2c3d4c00002020000000000000005");
}

TEST(iv, spec_example_gcm_and_ccm) {
    for (auto k :
         {key_type::aes128_gcm, key_type::aes256_gcm, key_type::aes128_ccm, key_type::aes256_ccm}) {
        EXPECT_EQ(iv_hex(k, 0xc0000202, 5), "61b2c1d60000000000000005");
    }
}

TEST(iv, spec_example_3des) {
    EXPECT_EQ(iv_hex(key_type::des_ede3, 0xc0000202, 5), "a1b2c3d4c0000207");
}

TEST(iv, counter_is_64_bit_big_endian) {
    EXPECT_EQ(iv_hex(key_type::aes128_gcm, 0, 0x0102030405060708ULL), "a1b2c3d40102030405060708");
    EXPECT_EQ(iv_hex(key_type::aes128_cbc, 0x01020304, 0xffffffff00000001ULL),
              "a1b2c3d401020304ffffffff00000001");
    EXPECT_EQ(iv_hex(key_type::des_ede3, 0, 0x0102030405060708ULL), "a0b0c0d005060708");
}
