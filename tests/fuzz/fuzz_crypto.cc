// Fuzzes what crypto/ reads off the wire before anything is trusted:
//   selector % 3 == 0: packet_cipher::open of an ENCRYPTED datagram, for one
//                      of the AEAD and CBC+HMAC suites (chosen by the next
//                      byte) with fixed keys — lengths, padding, tags;
//   selector % 3 == 1: public_key::from_blob of a peer's key blob;
//   selector % 3 == 2: from_blob, then verify() of a signature over fixed
//                      data — the UFTP-ECDSA and RSA signature parsers.
// Properties: no memory error (ASan/UBSan); a datagram that opens re-seals,
// under the same keys, to one that opens to the same plaintext.
#include "crypto/keys.h"
#include "crypto/packet_cipher.h"
#include "crypto/secure_memory.h"
#include "crypto/signature.h"
#include "crypto/suites.h"
#include "tests/fuzz/fuzz_crypto_keys.h"
#include "tests/fuzz/fuzz_support.h"

#include <array>
#include <memory>
#include <vector>

namespace {

using namespace skycast;
using protocol::hash_type;

// One prepared context per suite, made on first use: preparing keys per
// input would measure OpenSSL's key schedule instead of our parsing.
crypto::packet_cipher& cipher_for(std::size_t index) {
    static std::array<std::unique_ptr<crypto::packet_cipher>, fuzz::crypto_suites.size()> contexts;
    if (!contexts[index]) {
        auto pc = fuzz::fixed_key_cipher(index);
        SKYCAST_FUZZ_CHECK(pc.ok());
        contexts[index] = std::make_unique<crypto::packet_cipher>(std::move(pc).value());
    }
    return *contexts[index];
}

void fuzz_open(std::span<const std::uint8_t> input) {
    if (input.empty()) {
        return;
    }
    auto& pc = cipher_for(input[0] % fuzz::crypto_suites.size());
    const auto datagram = input.subspan(1);
    std::vector<std::uint8_t> plaintext(datagram.size());
    auto opened = pc.open(datagram, plaintext);
    if (!opened.ok()) {
        // Nothing unauthenticated may be left in the caller's buffer.
        SKYCAST_FUZZ_CHECK(
            std::all_of(plaintext.begin(), plaintext.end(), [](auto b) { return b == 0; }));
        return;
    }
    // Forged by the fuzzer against fixed keys: only reachable for real if a
    // tag or HMAC was guessed. Still, what opens must re-seal and re-open.
    const auto text = std::span(plaintext).first(opened->plaintext_size);
    std::vector<std::uint8_t> sealed(pc.sealed_size(text.size()) + 64);
    static std::uint64_t counter = 1ull << 40;
    auto n = pc.seal(opened->header, text, ++counter, sealed);
    SKYCAST_FUZZ_CHECK(n.ok());
    std::vector<std::uint8_t> again(*n);
    auto reopened = pc.open(std::span(sealed).first(*n), again);
    SKYCAST_FUZZ_CHECK(reopened.ok());
    SKYCAST_FUZZ_CHECK(std::ranges::equal(std::span(again).first(reopened->plaintext_size), text));
}

void fuzz_blob(std::span<const std::uint8_t> input, bool with_signature) {
    // With a signature: byte 0 = blob length, then blob, then signature.
    std::span<const std::uint8_t> blob = input;
    std::span<const std::uint8_t> signature;
    if (with_signature) {
        if (input.empty()) {
            return;
        }
        const std::size_t blob_len = std::min<std::size_t>(input[0] * 2u, input.size() - 1);
        blob = input.subspan(1, blob_len);
        signature = input.subspan(1 + blob_len);
    }
    auto key = crypto::public_key::from_blob(blob);
    if (!key.ok() || !with_signature) {
        return;
    }
    static constexpr std::uint8_t message[] = "skycast fuzz: data that no input can have signed";
    const std::array<std::span<const std::uint8_t>, 1> parts{std::span(message)};
    // A fuzzer cannot forge a signature: verification must fail, cleanly.
    SKYCAST_FUZZ_CHECK(crypto::verify(*key, hash_type::sha256, parts, signature) !=
                       crypto::crypto_error::ok);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool ready = crypto::initialize() == crypto::crypto_error::ok;
    SKYCAST_FUZZ_CHECK(ready);
    if (size == 0) {
        return 0;
    }
    const auto input = std::span(data + 1, size - 1);
    switch (data[0] % 3) {
    case 0:
        fuzz_open(input);
        break;
    case 1:
        fuzz_blob(input, false);
        break;
    default:
        fuzz_blob(input, true);
        break;
    }
    return 0;
}
