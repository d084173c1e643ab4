#include "crypto/key_exchange.h"

#include "crypto/key_file.h"
#include "crypto/openssl_util.h"
#include "crypto/random.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

namespace skycast::crypto {
namespace {

// Stock uftp decides on whole modulus bytes (RSA_size() * 8 < 768), not on
// the exact bit count: a 761..767-bit key has a 96-byte modulus and uses OAEP.
// `modulus_bytes` is the RSA key's signature size (its modulus length).
bool set_padding(EVP_PKEY_CTX* ctx, std::size_t modulus_bytes) {
    if (modulus_bytes * 8 < rsa_oaep_min_bits) {
        return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1;
    }
    return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, "SHA1", nullptr) == 1 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, "SHA1", nullptr) == 1;
}

} // namespace

result<secure_bytes> make_rsa_premaster() {
    auto pm = secure_bytes::allocate(rsa_premaster_len);
    if (!pm) {
        return pm.error();
    }
    if (auto e = random_bytes(pm->span()); e != crypto_error::ok) {
        return e;
    }
    return pm;
}

result<protocol::bytes> encrypt_rsa_premaster(const public_key& server,
                                              std::span<const std::uint8_t> premaster) {
    if (server.kind() != key_kind::rsa) {
        return crypto_error::key_mismatch;
    }
    detail::pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, server.native(), nullptr));
    std::size_t len = 0;
    if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1 ||
        !set_padding(ctx.get(), server.signature_size()) ||
        EVP_PKEY_encrypt(ctx.get(), nullptr, &len, premaster.data(), premaster.size()) != 1) {
        detail::clear_openssl_errors();
        return crypto_error::internal_error;
    }
    protocol::bytes out(len);
    if (EVP_PKEY_encrypt(ctx.get(), out.data(), &len, premaster.data(), premaster.size()) != 1) {
        detail::clear_openssl_errors();
        return crypto_error::internal_error;
    }
    out.resize(len);
    return out;
}

result<secure_bytes> decrypt_rsa_premaster(const private_key& server,
                                           std::span<const std::uint8_t> ciphertext) {
    if (server.kind() != key_kind::rsa) {
        return crypto_error::key_mismatch;
    }
    if (ciphertext.size() != server.signature_size()) { // modulus bytes
        return crypto_error::premaster_malformed;
    }
    auto out = secure_bytes::allocate(ciphertext.size());
    if (!out) {
        return out.error();
    }
    detail::pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, server.native(), nullptr));
    std::size_t len = out->size();
    if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1 ||
        !set_padding(ctx.get(), server.signature_size())) {
        detail::clear_openssl_errors();
        return crypto_error::internal_error;
    }
    const int rc =
        EVP_PKEY_decrypt(ctx.get(), out->data(), &len, ciphertext.data(), ciphertext.size());
    detail::clear_openssl_errors();
    // The stock server checks only the length (§14 #3).
    if (rc != 1 || len != rsa_premaster_len) {
        return crypto_error::premaster_malformed;
    }
    return secure_bytes::copy_of(out->span().first(rsa_premaster_len));
}

result<secure_bytes> decrypt_rsa_premaster_or_random(const private_key& server,
                                                     std::span<const std::uint8_t> ciphertext) {
    if (server.kind() != key_kind::rsa) {
        return crypto_error::key_mismatch;
    }
    auto premaster = make_rsa_premaster(); // the fallback, drawn before decrypting
    auto plain = secure_bytes::allocate(server.signature_size());
    if (!premaster || !plain) {
        return !premaster ? premaster.error() : plain.error();
    }
    std::size_t len = plain->size();
    int rc = 0;
    if (ciphertext.size() == plain->size()) {
        detail::pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, server.native(), nullptr));
        if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1 ||
            !set_padding(ctx.get(), server.signature_size())) {
            detail::clear_openssl_errors();
            return crypto_error::internal_error;
        }
        rc = EVP_PKEY_decrypt(ctx.get(), plain->data(), &len, ciphertext.data(), ciphertext.size());
        detail::clear_openssl_errors();
    }
    // mask = 0xff when the decryption worked and gave 48 bytes, else 0x00;
    // computed and applied without branching on it.
    const unsigned good =
        static_cast<unsigned>(rc == 1) & static_cast<unsigned>(len == rsa_premaster_len);
    const auto mask = static_cast<std::uint8_t>(0u - good);
    for (std::size_t i = 0; i < rsa_premaster_len; ++i) {
        (*premaster)[i] = static_cast<std::uint8_t>(
            ((*plain)[i] & mask) | ((*premaster)[i] & static_cast<std::uint8_t>(~mask)));
    }
    return premaster;
}

result<private_key> make_ecdh_key(const public_key& peer) {
    const curve_info* curve = peer.description().curve;
    if (peer.kind() != key_kind::ec || curve == nullptr) {
        return crypto_error::key_mismatch;
    }
    return make_ecdh_key(*curve);
}

result<private_key> make_ecdh_key(const curve_info& curve) {
    return generate_ec_key(curve);
}

result<secure_bytes> ecdh_premaster(const private_key& own, const public_key& peer) {
    if (own.kind() != key_kind::ec || peer.kind() != key_kind::ec ||
        own.curve() != peer.description().curve) {
        return crypto_error::key_mismatch;
    }
    detail::pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own.native(), nullptr));
    std::size_t len = 0;
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
        EVP_PKEY_derive_set_peer(ctx.get(), peer.native()) != 1 ||
        EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) {
        detail::clear_openssl_errors();
        return crypto_error::ecdh_failed;
    }
    auto shared = secure_bytes::allocate(len);
    if (!shared) {
        return shared.error();
    }
    if (EVP_PKEY_derive(ctx.get(), shared->data(), &len) != 1) {
        detail::clear_openssl_errors();
        return crypto_error::ecdh_failed;
    }
    auto premaster = secure_bytes::allocate(ecdh_premaster_len);
    if (!premaster) {
        return premaster.error();
    }
    SHA1(shared->data(), len, premaster->data());
    return premaster;
}

} // namespace skycast::crypto
