// Key files, blobs and fingerprints. The fixtures were made by the stock
// `uftp_keymgt -g`, and their expected fingerprints are the lines it printed.
#include "crypto/key_file.h"
#include "crypto/secure_memory.h"
#include "tests/unit/crypto/key_fixtures.h"
#include "tests/unit/crypto/test_util.h"

#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using namespace skycast::crypto;
using test_util::as_bytes;

namespace {

// "file: RSA, 512 bits, fingerprint: XX:..." as uftp_keymgt prints it.
std::string keymgt_line(const std::string& file, const private_key& key) {
    if (key.kind() == key_kind::rsa) {
        return file + ": RSA, " + std::to_string(key.bits()) +
               " bits, fingerprint: " + format_fingerprint(key.key_fingerprint());
    }
    return file + ": ECDSA, curve " + std::string(key.curve()->name) +
           ", fingerprint: " + format_fingerprint(key.key_fingerprint());
}

std::string temp_path(const char* name) {
    return std::string(::testing::TempDir()) + "skycast_keys_test_" + std::to_string(::getpid()) +
           "_" + name;
}

} // namespace

TEST(keys, fingerprints_of_uftp_keymgt_keys_match_its_output) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {fixtures::rsa_512_pem, fixtures::rsa_512_keymgt},
        {fixtures::rsa_1024_pem, fixtures::rsa_1024_keymgt},
        {fixtures::ec_prime256v1_pem, fixtures::ec_prime256v1_keymgt},
        {fixtures::ec_secp384r1_pem, fixtures::ec_secp384r1_keymgt},
        {fixtures::ec_secp521r1_pem, fixtures::ec_secp521r1_keymgt},
        {fixtures::ec_sect163k1_pem, fixtures::ec_sect163k1_keymgt},
    };
    for (const auto& [pem, line] : cases) {
        auto key = load_private_key_pem(as_bytes(pem));
        ASSERT_TRUE(key.ok()) << line << " " << name(key.error());
        const std::string file(line.substr(0, line.find(':')));
        EXPECT_EQ(keymgt_line(file, *key), line);
    }
}

TEST(keys, blob_layouts) {
    const auto rsa = test_util::load_pem(fixtures::rsa_512_pem);
    ASSERT_EQ(rsa.blob().size(), 8u + 64u);
    EXPECT_EQ(rsa.blob()[0], 1);
    EXPECT_EQ(rsa.blob()[1], 0);
    EXPECT_EQ(rsa.blob()[2], 0);
    EXPECT_EQ(rsa.blob()[3], 64);
    EXPECT_EQ(test_util::to_hex(std::span(rsa.blob()).subspan(4, 4)), "00010001");
    EXPECT_EQ(rsa.signature_size(), 64u);

    const std::pair<std::string_view, std::array<std::size_t, 4>> ec_cases[] = {
        // pem, {curve id, keylen, blob size, signature size}
        {fixtures::ec_prime256v1_pem, {23, 64, 68, 68}},
        {fixtures::ec_secp384r1_pem, {24, 96, 100, 100}},
        {fixtures::ec_secp521r1_pem, {25, 132, 136, 136}},
        {fixtures::ec_sect163k1_pem, {1, 42, 48, 48}},
    };
    for (const auto& [pem, want] : ec_cases) {
        const auto ec = test_util::load_pem(pem);
        const auto& b = ec.blob();
        EXPECT_EQ(b[0], 2);
        EXPECT_EQ(b[1], want[0]);
        EXPECT_EQ((std::size_t{b[2]} << 8) | b[3], want[1]);
        EXPECT_EQ(b.size(), want[2]);
        EXPECT_EQ(ec.signature_size(), want[3]);
        for (std::size_t i = 4 + want[1]; i < b.size(); ++i) {
            EXPECT_EQ(b[i], 0) << "padding";
        }
    }
}

TEST(keys, blob_round_trip) {
    for (auto pem : {fixtures::rsa_512_pem, fixtures::rsa_1024_pem, fixtures::ec_prime256v1_pem,
                     fixtures::ec_secp521r1_pem, fixtures::ec_sect163k1_pem}) {
        const auto key = test_util::load_pem(pem);
        auto pub = public_key::from_blob(key.blob());
        ASSERT_TRUE(pub.ok());
        EXPECT_EQ(pub->blob(), key.blob());
        EXPECT_EQ(pub->key_fingerprint(), key.key_fingerprint());
        EXPECT_EQ(pub->signature_size(), key.signature_size());
    }
    // An EC blob without its padding is accepted too (some senders trim it).
    const auto k163 = test_util::load_pem(fixtures::ec_sect163k1_pem);
    auto trimmed = k163.blob();
    trimmed.resize(4 + 42);
    EXPECT_TRUE(public_key::from_blob(trimmed).ok());
}

TEST(keys, malformed_blobs_are_rejected) {
    const auto rsa = test_util::load_pem(fixtures::rsa_512_pem);
    const auto ec = test_util::load_pem(fixtures::ec_prime256v1_pem);
    auto expect = [](std::vector<std::uint8_t> blob, crypto_error e) {
        EXPECT_EQ(public_key::from_blob(blob).error(), e);
    };
    expect({}, crypto_error::key_blob_malformed);
    expect({3, 0, 0, 0}, crypto_error::key_blob_malformed);
    auto b = rsa.blob();
    b.pop_back();
    expect(b, crypto_error::key_blob_malformed); // modlen disagrees
    b = rsa.blob();
    b[1] = 1;
    expect(b, crypto_error::key_blob_malformed); // reserved byte
    b = rsa.blob();
    b[4] = b[5] = b[6] = b[7] = 0;
    expect(b, crypto_error::key_blob_malformed); // exponent 0
    b = ec.blob();
    b[1] = 99;
    expect(b, crypto_error::unsupported_curve);
    b = ec.blob();
    b[3] = 62;
    expect(b, crypto_error::key_blob_malformed); // keylen
    b = ec.blob();
    b[10] ^= 1;
    expect(b, crypto_error::key_blob_malformed); // point not on the curve
    b = ec.blob();
    b.push_back(0);
    expect(b, crypto_error::key_blob_malformed); // too long
    b = test_util::load_pem(fixtures::ec_sect163k1_pem).blob();
    b.back() = 1;
    expect(b, crypto_error::key_blob_malformed); // non-zero padding
}

TEST(keys, unusable_key_files_give_typed_errors) {
    EXPECT_EQ(load_private_key_pem(as_bytes("hello")).error(), crypto_error::key_file_corrupt);
    EXPECT_EQ(load_private_key_pem(as_bytes(fixtures::enc_pem)).error(),
              crypto_error::key_file_encrypted);
    EXPECT_EQ(load_private_key_pem(as_bytes(fixtures::ed_pem)).error(),
              crypto_error::unsupported_key_type);
    EXPECT_EQ(load_private_key_pem(as_bytes(fixtures::big_pem)).error(),
              crypto_error::unsupported_key_size);
    std::string truncated(fixtures::rsa_512_pem.substr(0, 200));
    EXPECT_EQ(load_private_key_pem(as_bytes(truncated)).error(), crypto_error::key_file_corrupt);
    EXPECT_EQ(load_private_key_file("/nonexistent/key.pem").error(),
              crypto_error::key_file_unreadable);
    EXPECT_EQ(load_private_key_file("/").error(), crypto_error::key_file_unreadable);
    // PKCS#8 ("BEGIN PRIVATE KEY") is fine, and is the same key.
    auto p8 = load_private_key_pem(as_bytes(fixtures::rsa_512_pkcs8_pem));
    ASSERT_TRUE(p8.ok());
    EXPECT_EQ(p8->key_fingerprint(), test_util::load_pem(fixtures::rsa_512_pem).key_fingerprint());
}

TEST(keys, generate_write_and_load_back) {
    auto rsa_spec = parse_key_spec("rsa:768");
    ASSERT_TRUE(rsa_spec.ok());
    auto ec_spec = parse_key_spec("ec:secp384r1");
    ASSERT_TRUE(ec_spec.ok());
    for (const auto& spec : {*rsa_spec, *ec_spec}) {
        auto key = generate_key(spec);
        ASSERT_TRUE(key.ok());
        const auto path = temp_path(spec.kind == key_kind::rsa ? "rsa.pem" : "ec.pem");
        ::unlink(path.c_str());
        ASSERT_EQ(write_private_key_file(*key, path), crypto_error::ok);
        struct stat st {};
        ASSERT_EQ(::stat(path.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0600u);
        std::ifstream in(path);
        std::string first;
        std::getline(in, first);
        EXPECT_EQ(first, spec.kind == key_kind::rsa ? "-----BEGIN RSA PRIVATE KEY-----"
                                                    : "-----BEGIN EC PRIVATE KEY-----");
        auto back = load_private_key_file(path);
        ASSERT_TRUE(back.ok());
        EXPECT_EQ(back->key_fingerprint(), key->key_fingerprint());
        EXPECT_EQ(write_private_key_file(*key, path), crypto_error::key_file_exists);
        ::unlink(path.c_str());
    }
    EXPECT_EQ(write_private_key_file(*generate_rsa_key(512), "/nonexistent/dir/k.pem"),
              crypto_error::key_file_write_failed);
}

TEST(keys, key_specs) {
    EXPECT_EQ(parse_key_spec("rsa:512")->bits, 512);
    EXPECT_EQ(parse_key_spec("rsa:2048")->bits, 2048);
    EXPECT_EQ(parse_key_spec("rsa:511").error(), crypto_error::unsupported_key_size);
    EXPECT_EQ(parse_key_spec("rsa:4096").error(), crypto_error::unsupported_key_size);
    EXPECT_EQ(parse_key_spec("rsa:12x").error(), crypto_error::unsupported_key_size);
    EXPECT_EQ(parse_key_spec("ec:prime256v1")->curve->id, 23);
    EXPECT_EQ(parse_key_spec("ec:secp256r1")->curve->id, 23);
    EXPECT_EQ(parse_key_spec("ec:P-384")->curve->id, 24);
    EXPECT_EQ(parse_key_spec("ec:sect163k1")->curve->id, 1);
    EXPECT_EQ(parse_key_spec("ec:curve25519").error(), crypto_error::unsupported_curve);
    EXPECT_EQ(parse_key_spec("dsa:1024").error(), crypto_error::unsupported_key_type);
    EXPECT_EQ(parse_key_spec("rsa").error(), crypto_error::unsupported_key_type);
    EXPECT_EQ(generate_rsa_key(4096).error(), crypto_error::unsupported_key_size);
}

TEST(keys, every_curve_in_the_table_generates_and_round_trips) {
    for (const auto& curve : all_curves()) {
        auto key = generate_ec_key(curve);
        ASSERT_TRUE(key.ok()) << curve.name;
        EXPECT_EQ(key->curve(), &curve);
        auto pub = key->public_part();
        ASSERT_TRUE(pub.ok()) << curve.name;
        EXPECT_EQ(pub->blob().size() % 4, 0u);
    }
}

TEST(keys, private_numbers_live_in_the_openssl_secure_heap) {
    ASSERT_EQ(initialize(), crypto_error::ok);
    ASSERT_EQ(CRYPTO_secure_malloc_initialized(), 1);
    const std::size_t before = CRYPTO_secure_used();
    auto key = load_private_key_pem(as_bytes(fixtures::rsa_1024_pem));
    ASSERT_TRUE(key.ok());
    EXPECT_GT(CRYPTO_secure_used(), before);
}
