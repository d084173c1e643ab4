// RSA and ECDH premaster secrets (§5.2).
#include "crypto/key_exchange.h"
#include "crypto/key_file.h"
#include "tests/unit/crypto/key_fixtures.h"
#include "tests/unit/crypto/test_util.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <vector>

using namespace skycast::crypto;
using test_util::to_hex;

namespace {

// Decrypts with OpenSSL directly and an explicit padding, to prove which
// padding the ciphertext uses.
bool decrypts_with(const private_key& key, std::span<const std::uint8_t> ct, int padding,
                   std::vector<std::uint8_t>& out) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key.native(), nullptr);
    out.assign(ct.size(), 0);
    std::size_t len = out.size();
    const bool ok = EVP_PKEY_decrypt_init(ctx) == 1 &&
                    EVP_PKEY_CTX_set_rsa_padding(ctx, padding) == 1 &&
                    EVP_PKEY_decrypt(ctx, out.data(), &len, ct.data(), ct.size()) == 1;
    EVP_PKEY_CTX_free(ctx);
    out.resize(ok ? len : 0);
    return ok;
}

// Encrypts a fresh premaster to `server` and checks that it decrypts both with
// `padding` forced (so that is the padding used) and through our own decrypt.
void expect_premaster_round_trip(const private_key& server, int padding) {
    auto pub = server.public_part();
    ASSERT_TRUE(pub.ok());
    auto pm = make_rsa_premaster();
    ASSERT_TRUE(pm.ok());
    auto ct = encrypt_rsa_premaster(*pub, pm->span());
    ASSERT_TRUE(ct.ok());
    EXPECT_EQ(ct->size(), server.signature_size()); // modulus bytes
    std::vector<std::uint8_t> plain;
    // OAEP's default digest and MGF1 digest in OpenSSL are SHA-1.
    ASSERT_TRUE(decrypts_with(server, *ct, padding, plain));
    EXPECT_EQ(to_hex(plain), to_hex(pm->span()));
    auto back = decrypt_rsa_premaster(server, *ct);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(to_hex(back->span()), to_hex(pm->span()));
}

} // namespace

TEST(key_exchange, rsa_premaster_is_48_random_bytes) {
    auto a = make_rsa_premaster();
    auto b = make_rsa_premaster();
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->size(), 48u);
    EXPECT_NE(to_hex(a->span()), to_hex(b->span()));
}

TEST(key_exchange, rsa_512_uses_pkcs1_v15_and_1024_uses_oaep_sha1) {
    const std::pair<std::string_view, int> cases[] = {
        {fixtures::rsa_512_pem, RSA_PKCS1_PADDING},
        {fixtures::rsa_1024_pem, RSA_PKCS1_OAEP_PADDING},
    };
    for (const auto& [pem, padding] : cases) {
        SCOPED_TRACE(padding);
        expect_premaster_round_trip(test_util::load_pem(pem), padding);
    }
}

// Stock uftp picks the padding from whole modulus bytes (RSA_size() * 8 <
// 768), so a 761..767-bit key, whose modulus is 96 bytes, uses OAEP.
TEST(key_exchange, padding_follows_modulus_bytes_like_stock) {
    const std::pair<int, int> cases[] = {
        {760, RSA_PKCS1_PADDING},      // 95 bytes
        {765, RSA_PKCS1_OAEP_PADDING}, // 96 bytes
        {768, RSA_PKCS1_OAEP_PADDING},
    };
    for (const auto& [bits, padding] : cases) {
        SCOPED_TRACE(bits);
        auto server = generate_rsa_key(bits);
        ASSERT_TRUE(server.ok());
        expect_premaster_round_trip(*server, padding);
    }
}

TEST(key_exchange, rsa_premaster_errors) {
    const auto server = test_util::load_pem(fixtures::rsa_1024_pem);
    auto pub = server.public_part();
    ASSERT_TRUE(pub.ok());
    auto pm = make_rsa_premaster();
    ASSERT_TRUE(pm.ok());
    auto ct = encrypt_rsa_premaster(*pub, pm->span());
    ASSERT_TRUE(ct.ok());
    auto bad = *ct;
    bad[5] ^= 1;
    EXPECT_EQ(decrypt_rsa_premaster(server, bad).error(), crypto_error::premaster_malformed);
    bad.pop_back();
    EXPECT_EQ(decrypt_rsa_premaster(server, bad).error(), crypto_error::premaster_malformed);
    // 47 bytes encrypt fine but are refused on decryption.
    auto short_ct = encrypt_rsa_premaster(*pub, pm->span().first(47));
    ASSERT_TRUE(short_ct.ok());
    EXPECT_EQ(decrypt_rsa_premaster(server, *short_ct).error(), crypto_error::premaster_malformed);
    const auto ec = test_util::load_pem(fixtures::ec_prime256v1_pem);
    EXPECT_EQ(decrypt_rsa_premaster(ec, *ct).error(), crypto_error::key_mismatch);
    auto ec_pub = ec.public_part();
    EXPECT_EQ(encrypt_rsa_premaster(*ec_pub, pm->span()).error(), crypto_error::key_mismatch);
}

TEST(key_exchange, ecdh_premaster_is_sha1_of_the_shared_x) {
    const auto server = test_util::load_pem(fixtures::ec_prime256v1_pem);
    auto server_pub = server.public_part();
    ASSERT_TRUE(server_pub.ok());
    auto client = make_ecdh_key(*server_pub);
    ASSERT_TRUE(client.ok());
    auto client_pub = client->public_part();
    ASSERT_TRUE(client_pub.ok());

    auto a = ecdh_premaster(*client, *server_pub);
    auto b = ecdh_premaster(server, *client_pub);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->size(), 20u);
    EXPECT_EQ(to_hex(a->span()), to_hex(b->span()));

    // Independently: raw ECDH through EVP, then SHA-1.
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, server.native(), nullptr);
    std::vector<std::uint8_t> x(32);
    std::size_t len = x.size();
    ASSERT_EQ(EVP_PKEY_derive_init(ctx), 1);
    ASSERT_EQ(EVP_PKEY_derive_set_peer(ctx, client_pub->native()), 1);
    ASSERT_EQ(EVP_PKEY_derive(ctx, x.data(), &len), 1);
    EVP_PKEY_CTX_free(ctx);
    ASSERT_EQ(len, 32u);
    std::uint8_t digest[20];
    SHA1(x.data(), x.size(), digest);
    EXPECT_EQ(to_hex(a->span()), to_hex(digest));
}

TEST(key_exchange, ecdh_rejects_a_key_on_another_curve) {
    const auto p256 = test_util::load_pem(fixtures::ec_prime256v1_pem);
    const auto p384 = test_util::load_pem(fixtures::ec_secp384r1_pem);
    auto p384_pub = p384.public_part();
    ASSERT_TRUE(p384_pub.ok());
    EXPECT_EQ(ecdh_premaster(p256, *p384_pub).error(), crypto_error::key_mismatch);
    auto rsa_pub = test_util::load_pem(fixtures::rsa_512_pem).public_part();
    ASSERT_TRUE(rsa_pub.ok());
    EXPECT_EQ(make_ecdh_key(*rsa_pub).error(), crypto_error::key_mismatch);
}

TEST(key_exchange, implicit_rejection_gives_the_premaster_or_a_random_one) {
    for (auto pem : {fixtures::rsa_512_pem, fixtures::rsa_1024_pem}) {
        const auto server = test_util::load_pem(pem);
        auto pub = server.public_part();
        ASSERT_TRUE(pub.ok());
        auto pm = make_rsa_premaster();
        ASSERT_TRUE(pm.ok());
        auto ct = encrypt_rsa_premaster(*pub, pm->span());
        ASSERT_TRUE(ct.ok());
        auto good = decrypt_rsa_premaster_or_random(server, *ct);
        ASSERT_TRUE(good.ok());
        EXPECT_EQ(to_hex(good->span()), to_hex(pm->span()));

        auto bad = *ct;
        bad[7] ^= 1;
        auto r1 = decrypt_rsa_premaster_or_random(server, bad);
        auto r2 = decrypt_rsa_premaster_or_random(server, bad);
        ASSERT_TRUE(r1.ok() && r2.ok());
        EXPECT_EQ(r1->size(), 48u);
        EXPECT_NE(to_hex(r1->span()), to_hex(pm->span()));
        EXPECT_NE(to_hex(r1->span()), to_hex(r2->span())); // fresh each time
        auto short_ct = decrypt_rsa_premaster_or_random(server, std::span(*ct).first(10));
        ASSERT_TRUE(short_ct.ok());
        EXPECT_EQ(short_ct->size(), 48u);
        auto wrong_len = encrypt_rsa_premaster(*pub, pm->span().first(47));
        auto r3 = decrypt_rsa_premaster_or_random(server, *wrong_len);
        ASSERT_TRUE(r3.ok());
        EXPECT_NE(to_hex(r3->span().first(47)), to_hex(pm->span().first(47)));
    }
    const auto ec = test_util::load_pem(fixtures::ec_prime256v1_pem);
    EXPECT_EQ(decrypt_rsa_premaster_or_random(ec, std::vector<std::uint8_t>(64)).error(),
              crypto_error::key_mismatch);
}
