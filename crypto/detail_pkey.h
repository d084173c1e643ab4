#pragma once
// The owning EVP_PKEY handle, apart from openssl_util.h so that public
// headers need only <openssl/evp.h>.

#include <memory>
#include <openssl/evp.h>

namespace skycast::crypto::detail {

struct pkey_deleter {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

} // namespace skycast::crypto::detail
