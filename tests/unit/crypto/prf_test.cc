// The UFTP PRF against the spec's vectors (§5.10), which come from the
// implementation that interoperated with stock uftp 4.10.2.
#include "crypto/prf.h"
#include "tests/unit/crypto/test_util.h"

#include <array>
#include <gtest/gtest.h>
#include <vector>

using namespace skycast::crypto;
using skycast::protocol::hash_type;
using test_util::from_hex;
using test_util::to_hex;

namespace {

std::vector<std::uint8_t> spec_secret() {
    std::vector<std::uint8_t> s;
    for (int i = 0; i < 0x30; ++i) {
        s.push_back(static_cast<std::uint8_t>(i));
    }
    return s;
}

std::vector<std::uint8_t> spec_seed() {
    std::vector<std::uint8_t> s;
    for (int i = 0x40; i < 0x60; ++i) {
        s.push_back(static_cast<std::uint8_t>(i));
    }
    for (int i = 0x80; i < 0xa0; ++i) {
        s.push_back(static_cast<std::uint8_t>(i));
    }
    return s;
}

std::string prf_hex(hash_type h, std::size_t n) {
    std::vector<std::uint8_t> out(n);
    EXPECT_EQ(uftp_prf(h, spec_secret(), "key expansion", spec_seed(), out), crypto_error::ok);
    return to_hex(out);
}

} // namespace

TEST(prf, spec_vector_sha256) {
    EXPECT_EQ(prf_hex(hash_type::sha256, 72),
              "27a1f7fef6c3aa38a25e76b768709cf4ca4135901524cc7becbc6630be76a64b"
              "2a5eedad817ab547218070c387b94f2f5b0ed57d452d873fd5dcd9c9b6bcd260afda174596a02ee7");
}

TEST(prf, spec_vector_sha1_split) {
    EXPECT_EQ(prf_hex(hash_type::sha1, 72),
              "748b221484e763069059ec5d688e25a0d79c43013c0bb34efbf133fdc6124dc0"
              "ce186e368f1cef4ad3a2630889c8a27e6e271a62362190b9d448b3d29621c61d4e6f9d7618a7381b");
}

TEST(prf, spec_vector_sha384) {
    EXPECT_EQ(prf_hex(hash_type::sha384, 72),
              "38131831f2c862ffa5c81591f8a8c43774d1668a663ba718267c1eab1f2a01cbc2061cfc60bacf0ed"
              "bef606024cefb2062c090138671e8750d5592580cf68da5b016cb43a7dde23f");
}

TEST(prf, differs_from_tls12_after_first_block) {
    // The spec quotes the TLS 1.2 PRF's bytes 32..39: "0f086c40ae32c6e1".
    const auto uftp = prf_hex(hash_type::sha256, 40);
    EXPECT_EQ(uftp.substr(0, 64),
              "27a1f7fef6c3aa38a25e76b768709cf4ca4135901524cc7becbc6630be76a64b");
    EXPECT_NE(uftp.substr(64, 16), "0f086c40ae32c6e1");
}

TEST(prf, shorter_output_is_a_prefix) {
    for (auto h : {hash_type::sha1, hash_type::sha256, hash_type::sha384, hash_type::sha512}) {
        const auto long_out = prf_hex(h, 200);
        for (std::size_t n : {1u, 12u, 20u, 47u, 64u, 65u, 129u}) {
            EXPECT_EQ(prf_hex(h, n), long_out.substr(0, 2 * n)) << static_cast<int>(h) << " " << n;
        }
    }
}

TEST(prf, sha1_split_with_odd_secret_shares_the_middle_byte) {
    // L = 47: both halves are 24 bytes and overlap in byte 23 (TLS 1.0 rule).
    // Changing byte 23 must change both halves' contributions; changing byte 0
    // only the MD5 half. Either way the output changes.
    std::vector<std::uint8_t> secret(47, 0x11);
    std::vector<std::uint8_t> a(32), b(32);
    ASSERT_EQ(uftp_prf(hash_type::sha1, secret, "x", spec_seed(), a), crypto_error::ok);
    secret[23] ^= 1;
    ASSERT_EQ(uftp_prf(hash_type::sha1, secret, "x", spec_seed(), b), crypto_error::ok);
    EXPECT_NE(a, b);
}

TEST(prf, rejects_unsupported_hashes) {
    std::array<std::uint8_t, 8> out{};
    EXPECT_EQ(uftp_prf(hash_type::md5, spec_secret(), "l", spec_seed(), out),
              crypto_error::unsupported_hash);
    EXPECT_EQ(uftp_prf(hash_type::none, spec_secret(), "l", spec_seed(), out),
              crypto_error::unsupported_hash);
    EXPECT_EQ(uftp_prf(static_cast<hash_type>(9), spec_secret(), "l", spec_seed(), out),
              crypto_error::unsupported_hash);
}
