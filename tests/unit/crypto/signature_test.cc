// Signatures in UFTP's formats, checked against signatures made outside
// crypto/ (openssl dgst for RSA, Python `cryptography` for ECDSA).
#include "crypto/datagram_signature.h"
#include "crypto/key_file.h"
#include "crypto/signature.h"
#include "protocol/codec.h"
#include "tests/unit/crypto/key_fixtures.h"
#include "tests/unit/crypto/test_util.h"

#include <gtest/gtest.h>
#include <vector>

using namespace skycast::crypto;
using skycast::protocol::hash_type;
using test_util::as_bytes;
using test_util::to_hex;

namespace {

const auto message = as_bytes("sign me");

crypto_error verify_msg(const public_key& k, hash_type h, std::span<const std::uint8_t> sig) {
    const std::span<const std::uint8_t> parts[] = {message};
    return verify(k, h, parts, sig);
}

} // namespace

TEST(signature, rsa_matches_openssl_dgst_sign) {
    // openssl dgst -sha256 -sign rsa_512.pem: PKCS#1 v1.5 is deterministic.
    const auto key = test_util::load_pem(fixtures::rsa_512_pem);
    std::vector<std::uint8_t> sig(key.signature_size());
    const std::span<const std::uint8_t> parts[] = {as_bytes("sign "), as_bytes("me")};
    auto n = sign(key, hash_type::sha256, parts, sig);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(to_hex(sig), to_hex(fixtures::rsa_512_sig_sha256));
}

TEST(signature, ecdsa_in_uftp_layout_from_python_verifies) {
    const std::pair<std::string_view, std::pair<hash_type, std::span<const std::uint8_t>>> cases[] =
        {
            {fixtures::ec_prime256v1_pem, {hash_type::sha256, fixtures::ec_prime256v1_sig}},
            {fixtures::ec_secp384r1_pem, {hash_type::sha384, fixtures::ec_secp384r1_sig}},
            {fixtures::ec_secp521r1_pem, {hash_type::sha512, fixtures::ec_secp521r1_sig}},
        };
    for (const auto& [pem, hs] : cases) {
        const auto key = test_util::load_pem(pem);
        auto pub = key.public_part();
        ASSERT_TRUE(pub.ok());
        EXPECT_EQ(hs.second.size(), key.signature_size());
        EXPECT_EQ(verify_msg(*pub, hs.first, hs.second), crypto_error::ok);
        // Wrong hash: invalid.
        EXPECT_EQ(verify_msg(*pub, hash_type::sha1, hs.second), crypto_error::signature_invalid);
    }
}

TEST(signature, sign_verify_round_trip_and_every_bit_matters) {
    for (auto pem : {fixtures::rsa_512_pem, fixtures::ec_prime256v1_pem, fixtures::ec_secp521r1_pem,
                     fixtures::ec_sect163k1_pem}) {
        const auto key = test_util::load_pem(pem);
        auto pub = key.public_part();
        ASSERT_TRUE(pub.ok());
        std::vector<std::uint8_t> sig(key.signature_size());
        const std::span<const std::uint8_t> parts[] = {message};
        ASSERT_TRUE(sign(key, hash_type::sha256, parts, sig).ok());
        if (key.kind() == key_kind::ec) {
            // rlen, slen then r and s; the rest is zero padding.
            const std::size_t rlen = (std::size_t{sig[0]} << 8) | sig[1];
            const std::size_t slen = (std::size_t{sig[2]} << 8) | sig[3];
            EXPECT_LE(4 + rlen + slen, sig.size());
            EXPECT_NE(sig[4], 0); // minimal length
        }
        EXPECT_EQ(verify_msg(*pub, hash_type::sha256, sig), crypto_error::ok);
        for (std::size_t bit = 0; bit < sig.size() * 8; ++bit) {
            auto bad = sig;
            bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
            EXPECT_NE(verify_msg(*pub, hash_type::sha256, bad), crypto_error::ok) << bit;
        }
        EXPECT_EQ(verify_msg(*pub, hash_type::sha256, std::span(sig).first(sig.size() - 1)),
                  crypto_error::signature_malformed);
    }
}

TEST(signature, zeroed_field_parts_cover_the_datagram_with_zeros) {
    std::vector<std::uint8_t> d(40, 0xee);
    const auto parts = zeroed_field_parts(d, 28, 8);
    std::vector<std::uint8_t> joined;
    for (auto p : parts) {
        joined.insert(joined.end(), p.begin(), p.end());
    }
    ASSERT_EQ(joined.size(), d.size());
    for (std::size_t i = 0; i < d.size(); ++i) {
        EXPECT_EQ(joined[i], (i >= 28 && i < 36) ? 0 : 0xee) << i;
    }
}

// An ECDH-mode ANNOUNCE as the server builds it: encode with a signature field
// of the right size, sign the whole datagram in place, and check that the
// signature covers everything, client ID list included (§5.6).
TEST(datagram_signature, announce_signed_in_place_covers_the_whole_datagram) {
    for (auto pem : {fixtures::rsa_512_pem, fixtures::ec_prime256v1_pem}) {
        const auto server = test_util::load_pem(pem);
        auto pub = server.public_part();
        ASSERT_TRUE(pub.ok());
        auto eph = generate_ec_key(*curve_by_id(default_curve_id));
        ASSERT_TRUE(eph.ok());
        skycast::protocol::announce_msg a;
        a.enc_info.emplace();
        a.enc_info->keyextype = server.kind() == key_kind::rsa
                                    ? skycast::protocol::keyexchange_type::ecdh_rsa
                                    : skycast::protocol::keyexchange_type::ecdh_ecdsa;
        a.enc_info->sigtype = skycast::protocol::signature_type::authenc;
        a.enc_info->keytype = skycast::protocol::key_type::aes256_gcm;
        a.enc_info->hashtype = hash_type::sha256;
        a.enc_info->key_blob = server.blob();
        a.enc_info->dh_blob = eph->blob();
        a.enc_info->signature.assign(server.signature_size(), 0);
        a.client_ids = {0xc0000202, 0xc0000203};
        std::vector<std::uint8_t> d(2000);
        auto n = skycast::protocol::encode({1, 0x01020304, 0x11223344, 0, 0, 0}, a, d);
        ASSERT_TRUE(n.ok());
        d.resize(*n);
        const auto off = skycast::protocol::announce_signature_offset(a);
        const auto len = server.signature_size();
        ASSERT_EQ(sign_datagram(server, hash_type::sha256, d, off, len), crypto_error::ok);
        EXPECT_EQ(verify_datagram(*pub, hash_type::sha256, d, off, len), crypto_error::ok);

        // The wire library finds the same bytes in the signature field.
        skycast::protocol::datagram back;
        ASSERT_EQ(skycast::protocol::decode(d, back), skycast::protocol::wire_error::ok);
        const auto& sig = std::get<skycast::protocol::announce_msg>(back.body).enc_info->signature;
        EXPECT_EQ(to_hex(sig), to_hex(std::span(d).subspan(off, len)));

        for (std::size_t byte : {std::size_t{2}, std::size_t{40}, d.size() - 1}) {
            auto bad = d; // header, extension, client ID list
            bad[byte] ^= 1;
            EXPECT_EQ(verify_datagram(*pub, hash_type::sha256, bad, off, len),
                      crypto_error::signature_invalid)
                << byte;
        }
        EXPECT_EQ(verify_datagram(*pub, hash_type::sha256, d, off, len - 1),
                  crypto_error::signature_length_wrong);
        EXPECT_EQ(sign_datagram(server, hash_type::sha256, d, d.size() - 2, len),
                  crypto_error::buffer_too_small);
    }
}
