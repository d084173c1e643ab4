// Errors, suites, guarded memory, randomness.
#include "crypto/errors.h"
#include "crypto/random.h"
#include "crypto/secure_memory.h"
#include "crypto/suites.h"

#include <array>
#include <cstring>
#include <gtest/gtest.h>
#include <set>
#include <string>
#include <vector>

using namespace skycast::crypto;
using namespace skycast::protocol;

TEST(crypto_error, every_value_has_a_distinct_name_and_a_description) {
    std::set<std::string_view> names;
    for (int i = 0; i < static_cast<int>(crypto_error::count); ++i) {
        const auto e = static_cast<crypto_error>(i);
        EXPECT_FALSE(describe(e).empty());
        EXPECT_NE(describe(e), "unknown error");
        EXPECT_TRUE(names.insert(name(e)).second) << name(e);
    }
    EXPECT_EQ(name(crypto_error::tag_mismatch), "tag_mismatch");
    EXPECT_EQ(name(crypto_error::count), "unknown");
}

TEST(suites, parameters) {
    EXPECT_EQ(cipher_for(key_type::aes256_gcm)->key_len, 32u);
    EXPECT_EQ(cipher_for(key_type::aes128_ccm)->iv_len, 12u);
    EXPECT_EQ(cipher_for(key_type::des_ede3)->iv_len, 8u);
    EXPECT_EQ(cipher_for(key_type::des).error(), crypto_error::unsupported_cipher);
    EXPECT_EQ(cipher_for(static_cast<key_type>(42)).error(), crypto_error::unsupported_cipher);
    EXPECT_EQ(hash_for(hash_type::sha384)->len, 48u);
    EXPECT_EQ(hash_for(hash_type::md5).error(), crypto_error::unsupported_hash);
    EXPECT_EQ(keyinfo_cipher(*cipher_for(key_type::aes256_ccm)).type, key_type::aes256_cbc);
    EXPECT_EQ(keyinfo_cipher(*cipher_for(key_type::aes128_gcm)).type, key_type::aes128_cbc);
    EXPECT_EQ(keyinfo_cipher(*cipher_for(key_type::des_ede3)).type, key_type::des_ede3);
}

TEST(suites, signature_type_must_fit_the_cipher) {
    EXPECT_TRUE(make_suite(key_type::aes128_gcm, hash_type::sha256, signature_type::authenc));
    EXPECT_EQ(make_suite(key_type::aes128_gcm, hash_type::sha256, signature_type::hmac).error(),
              crypto_error::unsupported_signature_type);
    EXPECT_EQ(make_suite(key_type::aes128_cbc, hash_type::sha1, signature_type::authenc).error(),
              crypto_error::unsupported_signature_type);
    EXPECT_TRUE(make_suite(key_type::des_ede3, hash_type::sha512, signature_type::keyex));
    EXPECT_EQ(make_suite(key_type::aes128_cbc, hash_type::sha1, signature_type::none).error(),
              crypto_error::unsupported_signature_type);
    EXPECT_EQ(make_suite(key_type::aes128_cbc, hash_type::md5, signature_type::hmac).error(),
              crypto_error::unsupported_hash);
    EXPECT_EQ(
        key_block_size(*make_suite(key_type::aes256_cbc, hash_type::sha512, signature_type::hmac)),
        64u + 32u + 4u);
}

TEST(secure_memory, allocate_move_and_compare) {
    auto a = secure_bytes::allocate(48);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->size(), 48u);
    for (auto b : a->span()) {
        EXPECT_EQ(b, 0);
    }
    (*a)[0] = 7;
    secure_bytes moved = std::move(a).value();
    EXPECT_EQ(moved[0], 7);
    auto c = secure_bytes::copy_of(moved.span());
    ASSERT_TRUE(c.ok());
    EXPECT_TRUE(constant_time_equal(moved.span(), c->span()));
    (*c)[47] ^= 1;
    EXPECT_FALSE(constant_time_equal(moved.span(), c->span()));
    EXPECT_FALSE(constant_time_equal(moved.span(), c->span().first(47)));
    EXPECT_TRUE(constant_time_equal({}, {}));
    secure_zero(moved.span());
    EXPECT_EQ(moved[0], 0);
}

TEST(random, hello_random_starts_with_the_time_in_host_order) {
    std::array<std::uint8_t, 32> a{}, b{};
    ASSERT_EQ(make_hello_random(0x01020304, a), crypto_error::ok);
    ASSERT_EQ(make_hello_random(0x01020304, b), crypto_error::ok);
    std::uint32_t t = 0;
    std::memcpy(&t, a.data(), 4);
    EXPECT_EQ(t, 0x01020304u);
    EXPECT_NE(std::vector(a.begin() + 4, a.end()), std::vector(b.begin() + 4, b.end()));
}
