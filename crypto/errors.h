#pragma once
// The error vocabulary of crypto/: every way a key, a suite, a handshake value
// or an ENCRYPTED datagram can be wrong has its own value, so that callers log
// (and `skycast keys` prints) exactly what is wrong. Values are stable names,
// not OpenSSL error strings: OpenSSL's error queue is cleared, never surfaced.

#include <cstdint>
#include <string_view>

namespace skycast::crypto {

enum class crypto_error : std::uint8_t {
    ok,
    // Library set-up.
    init_failed,         // libsodium or OpenSSL could not be initialised
    secure_alloc_failed, // sodium_malloc failed (address space or mlock limits)
    random_failed,       // the CSPRNG did not deliver
    internal_error,      // OpenSSL failed where it should not (allocation, provider)
    // Suites.
    unsupported_cipher,         // key type not implemented (none, DES, unknown value)
    unsupported_hash,           // hash type not implemented (none, MD5, unknown value)
    unsupported_signature_type, // sigtype invalid for the cipher (e.g. AUTHENC with CBC)
    unsupported_key_exchange,   // key exchange type unknown
    unsupported_curve,          // EC curve not in UFTP's curve table or not in OpenSSL
    // Keys and key files.
    key_file_unreadable,   // cannot open or read the file
    key_file_corrupt,      // not a PEM private key OpenSSL can parse
    key_file_encrypted,    // passphrase-protected PEM: UFTP key files are unencrypted
    key_file_exists,       // refusing to overwrite an existing key file
    key_file_write_failed, // cannot create or write the key file
    unsupported_key_type,  // neither RSA nor EC (DSA, Ed25519, ...)
    unsupported_key_size,  // RSA modulus outside 512..2048 bits
    key_blob_malformed,    // a public key blob with bad type, lengths or values
    key_mismatch,          // a key of the wrong type or curve for this operation
    // Key exchange.
    premaster_malformed, // RSA premaster does not decrypt to 48 bytes
    ecdh_failed,         // ECDH derivation failed (invalid peer point)
    // Signatures and verify data.
    signature_malformed,  // signature not in UFTP's RSA/ECDSA layout or wrong length
    signature_invalid,    // signature does not verify
    verify_data_mismatch, // KEYINFO_ACK verify data differs
    signer_key_missing,   // KEYEX sealing without a private key
    verifier_key_missing, // KEYEX opening without the sender's public key
    // ENCRYPTED datagrams and KEYINFO entries.
    datagram_malformed,     // the outer UFTP header or ENCRYPTED fields do not decode
    not_encrypted,          // the datagram is not an ENCRYPTED (type 18) message
    signature_length_wrong, // sig_len differs from what the suite and key require
    payload_length_invalid, // payload not a whole number of blocks, or shorter than a tag
    plaintext_too_large,    // sealed payload would not fit ENCRYPTED's 16-bit length
    plaintext_empty,        // nothing to seal, or decrypted to nothing
    inner_type_invalid,   // decrypted message's function code: not 1..21 (but 18), nor PARITY's 80
    tag_mismatch,         // AEAD (GCM/CCM) tag check failed
    hmac_mismatch,        // HMAC check failed
    padding_invalid,      // CBC padding wrong after a valid HMAC/signature
    keyinfo_length_wrong, // KEYINFO entry did not decrypt to 47 bytes
    buffer_too_small,     // the caller's output buffer is too small
    buffers_overlap,      // input and output overlap other than exactly in place
    iv_counter_not_increasing, // seal with an IV counter not above the last one (nonce reuse)
    count                      // sentinel
};

// A stable snake_case name for the error.
std::string_view name(crypto_error e);
// One sentence saying what is wrong, for logs and CLI messages.
std::string_view describe(crypto_error e);

} // namespace skycast::crypto
