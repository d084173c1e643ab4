// Writes the seeds of fuzz_crypto into the directory given as argument:
// ENCRYPTED datagrams sealed for every suite with fuzz_crypto's fixed keys (so
// the fuzzer starts from inputs that pass the tag check), and the RSA and EC
// key blobs and a CLIENT_KEY signature from the reference captures.
// Built with the fuzz targets: build-fuzz/tests/fuzz/make_crypto_seeds DIR
#include "crypto/secure_memory.h"
#include "protocol/codec.h"
#include "tests/fuzz/fuzz_crypto_keys.h"

#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

using namespace skycast;

void write_seed(const std::string& dir, const std::string& name,
                const std::vector<std::uint8_t>& bytes) {
    std::ofstream out(dir + "/" + name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size()));
}

std::vector<std::uint8_t> from_hex(const std::string& hex) {
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    }
    return out;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2 || crypto::initialize() != crypto::crypto_error::ok) {
        std::fprintf(stderr, "usage: make_crypto_seeds DIR\n");
        return 2;
    }
    const std::string dir = argv[1];
    std::vector<std::uint8_t> plaintext(64);
    const protocol::message done = protocol::done_msg{.file_id = 1, .client_ids = {0xc0000202}};
    const auto plain_size = protocol::encode_message(done, plaintext);
    plaintext.resize(*plain_size);
    for (std::size_t i = 0; i < fuzz::crypto_suites.size(); ++i) {
        auto pc = fuzz::fixed_key_cipher(i);
        if (!pc) {
            std::fprintf(stderr, "no cipher for suite %zu\n", i);
            return 1;
        }
        std::vector<std::uint8_t> sealed(pc->sealed_size(plaintext.size()));
        auto n = pc->seal({.seq = 3, .src_id = 0xc0000202, .group_id = 0x12345678}, plaintext, 5,
                          sealed);
        if (!n) {
            std::fprintf(stderr, "seal failed for suite %zu\n", i);
            return 1;
        }
        std::vector<std::uint8_t> seed{0, static_cast<std::uint8_t>(i)};
        seed.insert(seed.end(), sealed.begin(), sealed.begin() + static_cast<long>(*n));
        write_seed(dir, "sealed-suite-" + std::to_string(i), seed);
    }
    // From ecdh-rsa-aes256gcm-clientauth.pcap: the server's RSA-512 blob and
    // ECDH P-256 blob (ANNOUNCE), the client's RSA blob and signature (CLIENT_KEY).
    const auto rsa_blob =
        from_hex("01000040000100"
                 "01baa9bf93bf81c8f629996bb3b3d14bbfecb5d729b3fe86ecfc8f36941dec2a599c"
                 "1072d2b94a7b7801f188d91d838f90f40056fc6929a22a82f736642850ae05");
    const auto ec_blob = from_hex(
        "02170040d8e0009a839b17d136eccef0853206a2ec92dae6ef83f855aa4ce96e5522074cab2bad8d5f4bfd"
        "28f4d021c6c8f9292a6d2c901b03548c2821a37c3fea49ccdc");
    std::vector<std::uint8_t> seed{1};
    seed.insert(seed.end(), rsa_blob.begin(), rsa_blob.end());
    write_seed(dir, "blob-rsa", seed);
    seed = {1};
    seed.insert(seed.end(), ec_blob.begin(), ec_blob.end());
    write_seed(dir, "blob-ec", seed);
    const auto client_sig = from_hex(
        "0c30e0187dc5dfac3ffeef8dd617f4d2d8ab7f7f3352c36c95012feb4e19cdd8b0438c8bd229f256ffa3fe"
        "089d2c0ff2d5f6ab5b94f9f906e5639abfbf987b85");
    seed = {2, static_cast<std::uint8_t>(rsa_blob.size() / 2)};
    seed.insert(seed.end(), rsa_blob.begin(), rsa_blob.end());
    seed.insert(seed.end(), client_sig.begin(), client_sig.end());
    write_seed(dir, "blob-rsa-signature", seed);
    // A UFTP-ECDSA signature layout (rlen slen r s + padding) under the EC blob.
    std::vector<std::uint8_t> ecdsa(68, 0);
    ecdsa[1] = 32;
    ecdsa[3] = 32;
    for (std::size_t k = 4; k < 68; ++k) {
        ecdsa[k] = static_cast<std::uint8_t>(k);
    }
    seed = {2, static_cast<std::uint8_t>(ec_blob.size() / 2)};
    seed.insert(seed.end(), ec_blob.begin(), ec_blob.end());
    seed.insert(seed.end(), ecdsa.begin(), ecdsa.end());
    write_seed(dir, "blob-ec-signature", seed);
    return 0;
}
