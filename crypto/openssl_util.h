#pragma once
// Owning handles for OpenSSL objects (internal to crypto/). Each deleter is
// the matching *_free, which for contexts holding keys also cleanses them.

#include "crypto/detail_pkey.h"

#include <memory>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

namespace skycast::crypto::detail {

template <class T, void (*Free)(T*)>
struct openssl_deleter {
    void operator()(T* p) const { Free(p); }
};

template <class T, void (*Free)(T*)>
using openssl_ptr = std::unique_ptr<T, openssl_deleter<T, Free>>;

using cipher_ctx_ptr = openssl_ptr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
using cipher_ptr = openssl_ptr<EVP_CIPHER, EVP_CIPHER_free>;
using mac_ptr = openssl_ptr<EVP_MAC, EVP_MAC_free>;
using mac_ctx_ptr = openssl_ptr<EVP_MAC_CTX, EVP_MAC_CTX_free>;
using md_ptr = openssl_ptr<EVP_MD, EVP_MD_free>;
using md_ctx_ptr = openssl_ptr<EVP_MD_CTX, EVP_MD_CTX_free>;

using pkey_ctx_ptr = openssl_ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using bn_ptr = openssl_ptr<BIGNUM, BN_clear_free>;
using bio_ptr = openssl_ptr<BIO, BIO_free_all>;
using param_bld_ptr = openssl_ptr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using params_ptr = openssl_ptr<OSSL_PARAM, OSSL_PARAM_free>;
using ecdsa_sig_ptr = openssl_ptr<ECDSA_SIG, ECDSA_SIG_free>;

// OpenSSL pushes onto a thread-local error queue; crypto/ reports its own
// typed errors instead, so it drops the queue where it fails, keeping later
// unrelated calls (and other threads' diagnostics) clean.
inline void clear_openssl_errors() {
    ERR_clear_error();
}

} // namespace skycast::crypto::detail
