#include "crypto/suites.h"

namespace skycast::crypto {

using protocol::hash_type;
using protocol::key_type;
using protocol::signature_type;

result<cipher_spec> cipher_for(key_type type) {
    switch (type) {
    case key_type::des_ede3:
        return cipher_spec{type, "DES-EDE3-CBC", 24, 8, 8, cipher_mode::cbc};
    case key_type::aes128_cbc:
        return cipher_spec{type, "AES-128-CBC", 16, 16, 16, cipher_mode::cbc};
    case key_type::aes256_cbc:
        return cipher_spec{type, "AES-256-CBC", 32, 16, 16, cipher_mode::cbc};
    case key_type::aes128_gcm:
        return cipher_spec{type, "AES-128-GCM", 16, 12, 1, cipher_mode::gcm};
    case key_type::aes256_gcm:
        return cipher_spec{type, "AES-256-GCM", 32, 12, 1, cipher_mode::gcm};
    case key_type::aes128_ccm:
        return cipher_spec{type, "AES-128-CCM", 16, 12, 1, cipher_mode::ccm};
    case key_type::aes256_ccm:
        return cipher_spec{type, "AES-256-CCM", 32, 12, 1, cipher_mode::ccm};
    case key_type::none:
    case key_type::des:
        break;
    }
    return crypto_error::unsupported_cipher;
}

result<hash_spec> hash_for(hash_type type) {
    switch (type) {
    case hash_type::sha1:
        return hash_spec{type, "SHA1", 20};
    case hash_type::sha256:
        return hash_spec{type, "SHA256", 32};
    case hash_type::sha384:
        return hash_spec{type, "SHA384", 48};
    case hash_type::sha512:
        return hash_spec{type, "SHA512", 64};
    case hash_type::none:
    case hash_type::md5:
        break;
    }
    return crypto_error::unsupported_hash;
}

cipher_spec keyinfo_cipher(const cipher_spec& session) {
    switch (session.type) {
    case key_type::aes128_gcm:
    case key_type::aes128_ccm:
        return *cipher_for(key_type::aes128_cbc);
    case key_type::aes256_gcm:
    case key_type::aes256_ccm:
        return *cipher_for(key_type::aes256_cbc);
    default:
        return session;
    }
}

result<suite> make_suite(key_type cipher, hash_type hash, signature_type sigtype) {
    auto c = cipher_for(cipher);
    if (!c) {
        return c.error();
    }
    auto h = hash_for(hash);
    if (!h) {
        return h.error();
    }
    const bool sig_ok = c->aead()
                            ? sigtype == signature_type::authenc
                            : (sigtype == signature_type::hmac || sigtype == signature_type::keyex);
    if (!sig_ok) {
        return crypto_error::unsupported_signature_type;
    }
    return suite{*c, *h, sigtype};
}

} // namespace skycast::crypto
