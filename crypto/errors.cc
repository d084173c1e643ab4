#include "crypto/errors.h"

#include <array>

namespace skycast::crypto {
namespace {

struct error_text {
    std::string_view name;
    std::string_view description;
};

constexpr std::array<error_text, static_cast<std::size_t>(crypto_error::count)> texts{{
    {"ok", "no error"},
    {"init_failed", "libsodium or OpenSSL could not be initialised"},
    {"secure_alloc_failed", "guarded key memory could not be allocated"},
    {"random_failed", "the random number generator failed"},
    {"internal_error", "an OpenSSL operation failed unexpectedly"},
    {"unsupported_cipher", "the cipher (key type) is not supported"},
    {"unsupported_hash", "the hash type is not supported"},
    {"unsupported_signature_type", "the signature type is not valid for this cipher"},
    {"unsupported_key_exchange", "the key exchange type is not supported"},
    {"unsupported_curve", "the EC curve is not one UFTP 4 can name"},
    {"key_file_unreadable", "the key file cannot be opened or read"},
    {"key_file_corrupt", "the key file is not a PEM private key"},
    {"key_file_encrypted", "the key file is passphrase-protected; UFTP keys are unencrypted PEM"},
    {"key_file_exists", "the key file already exists; refusing to overwrite it"},
    {"key_file_write_failed", "the key file cannot be created or written"},
    {"unsupported_key_type", "the key is neither RSA nor EC"},
    {"unsupported_key_size", "RSA keys must have 512 to 2048 bits"},
    {"key_blob_malformed", "the public key blob is malformed"},
    {"key_mismatch", "the key has the wrong type or curve for this operation"},
    {"premaster_malformed", "the RSA-encrypted premaster secret does not decrypt to 48 bytes"},
    {"ecdh_failed", "the ECDH shared secret cannot be derived from the peer key"},
    {"signature_malformed", "the signature is not in UFTP's RSA or ECDSA layout"},
    {"signature_invalid", "the signature does not verify"},
    {"verify_data_mismatch", "the verify data differs from the expected value"},
    {"signer_key_missing", "signing (KEYEX) requires a private key"},
    {"verifier_key_missing", "verifying (KEYEX) requires the sender's public key"},
    {"datagram_malformed", "the datagram's UFTP header or ENCRYPTED fields are malformed"},
    {"not_encrypted", "the datagram is not an ENCRYPTED message"},
    {"signature_length_wrong", "the signature length differs from what the suite requires"},
    {"payload_length_invalid", "the encrypted payload length is invalid for the cipher"},
    {"plaintext_too_large", "the message is too large to encrypt into one datagram"},
    {"plaintext_empty", "the message is empty"},
    {"inner_type_invalid", "the decrypted message has an invalid function code"},
    {"tag_mismatch", "the authentication tag does not match"},
    {"hmac_mismatch", "the HMAC does not match"},
    {"padding_invalid", "the CBC padding is invalid"},
    {"keyinfo_length_wrong", "the KEYINFO entry does not decrypt to 47 bytes"},
    {"buffer_too_small", "the output buffer is too small"},
    {"buffers_overlap", "input and output buffers overlap other than exactly in place"},
    {"iv_counter_not_increasing",
     "the IV counter is not above the last one sealed with this context (nonce reuse)"},
}};

} // namespace

std::string_view name(crypto_error e) {
    const auto i = static_cast<std::size_t>(e);
    return i < texts.size() ? texts[i].name : "unknown";
}

std::string_view describe(crypto_error e) {
    const auto i = static_cast<std::size_t>(e);
    return i < texts.size() ? texts[i].description : "unknown error";
}

} // namespace skycast::crypto
