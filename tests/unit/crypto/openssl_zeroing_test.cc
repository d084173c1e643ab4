// crypto::initialize() makes OpenSSL clear what it frees, so private keys
// decoded from PEM files do not linger in freed heap. Its own binary: the
// hooks can only be installed before OpenSSL's first allocation, and here
// initialize() is the first thing that touches OpenSSL.
#include "crypto/key_file.h"
#include "crypto/secure_memory.h"
#include "tests/unit/crypto/key_fixtures.h"

#include <cstring>
#include <gtest/gtest.h>
#include <openssl/crypto.h>

using namespace skycast::crypto;

TEST(openssl_zeroing, initialize_installs_the_clearing_allocator_first) {
    ASSERT_EQ(initialize(), crypto_error::ok);
    EXPECT_TRUE(openssl_frees_are_zeroed());
}

TEST(openssl_zeroing, reallocation_keeps_contents_and_keys_still_load) {
    ASSERT_EQ(initialize(), crypto_error::ok);
    auto* p = static_cast<unsigned char*>(OPENSSL_malloc(16));
    ASSERT_NE(p, nullptr);
    std::memset(p, 0xab, 16);
    p = static_cast<unsigned char*>(OPENSSL_realloc(p, 4096));
    ASSERT_NE(p, nullptr);
    for (int i = 0; i < 16; ++i) {
        EXPECT_EQ(p[i], 0xab);
    }
    p = static_cast<unsigned char*>(OPENSSL_realloc(p, 8));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p[7], 0xab);
    OPENSSL_free(p);
    const std::string_view pem = fixtures::rsa_1024_pem;
    auto key = load_private_key_pem(
        std::span(reinterpret_cast<const std::uint8_t*>(pem.data()), pem.size()));
    ASSERT_TRUE(key.ok());
    EXPECT_EQ(key->bits(), 1024);
}
