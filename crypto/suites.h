#pragma once
// The cipher and hash parameters of UFTP 4 (§5.1): what each key_type and
// hash_type on the wire means in OpenSSL terms, and which signature type a
// cipher allows. A suite is validated once, when a session is set up; the
// per-packet code then trusts it.

#include "crypto/result.h"
#include "protocol/constants.h"

#include <cstddef>
#include <cstdint>

namespace skycast::crypto {

enum class cipher_mode : std::uint8_t { cbc, gcm, ccm };

struct cipher_spec {
    protocol::key_type type = protocol::key_type::none;
    const char* evp_name = "";  // OpenSSL cipher name for EVP_CIPHER_fetch
    std::size_t key_len = 0;    // bytes
    std::size_t iv_len = 0;     // bytes actually used on the wire (§5.8)
    std::size_t block_size = 0; // CBC block size; 1 for the AEAD modes
    cipher_mode mode = cipher_mode::cbc;
    bool aead() const { return mode != cipher_mode::cbc; }
};

struct hash_spec {
    protocol::hash_type type = protocol::hash_type::none;
    const char* evp_name = ""; // OpenSSL digest name
    std::size_t len = 0;       // digest (and HMAC, and HMAC key) length in bytes
};

// GCM and CCM tags are always 16 bytes in UFTP 4.
inline constexpr std::size_t aead_tag_len = 16;

// DES (key type 1) is refused: the stock server cannot use it with OpenSSL 3
// (legacy provider) and it is broken anyway (§5.1, §12 #20).
result<cipher_spec> cipher_for(protocol::key_type type);
// MD5 (hash type 1) is refused: no stock CLI option selects it.
result<hash_spec> hash_for(protocol::hash_type type);

// KEYINFO encrypts the group master with CBC even in GCM/CCM sessions: AES-CBC
// of the same key size; CBC ciphers unchanged (§5.5).
cipher_spec keyinfo_cipher(const cipher_spec& session);

// A validated (cipher, hash, signature type) triple.
struct suite {
    cipher_spec cipher;
    hash_spec hash;
    protocol::signature_type sigtype = protocol::signature_type::none;
};

// GCM/CCM require AUTHENC; CBC ciphers require HMAC or KEYEX (§5.1).
result<suite> make_suite(protocol::key_type cipher, protocol::hash_type hash,
                         protocol::signature_type sigtype);

// Key block sizes (§5.3): hmac_key (hash len) || key (key len) || salt (4).
inline constexpr std::size_t salt_len = 4;
inline std::size_t key_block_size(const suite& s) {
    return s.hash.len + s.cipher.key_len + salt_len;
}

} // namespace skycast::crypto
