#include "crypto/prf.h"

#include "crypto/openssl_util.h"
#include "crypto/secure_memory.h"
#include "crypto/suites.h"

#include <algorithm>
#include <array>
#include <openssl/core_names.h>
#include <openssl/evp.h>

namespace skycast::crypto {
namespace {

constexpr std::size_t max_hash_len = 64;

struct hmac_context {
    detail::mac_ptr mac;
    detail::mac_ctx_ptr ctx;
    std::array<OSSL_PARAM, 2> params{};
};

// XORs P_hash(secret, label || seed) into `out`, with UFTP's chaining.
crypto_error p_hash_xor(const char* digest, std::span<const std::uint8_t> secret,
                        std::string_view label, std::span<const std::uint8_t> seed,
                        std::span<std::uint8_t> out) {
    hmac_context h;
    h.mac.reset(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    if (!h.mac) {
        return crypto_error::internal_error;
    }
    h.ctx.reset(EVP_MAC_CTX_new(h.mac.get()));
    if (!h.ctx) {
        return crypto_error::internal_error;
    }
    h.params[0] =
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0);
    h.params[1] = OSSL_PARAM_construct_end();

    // One HMAC over (prefix || label || seed); prefix is empty for the first call.
    // The chaining value is secret-derived, so it lives on the stack only as
    // long as needed and is wiped at the end.
    std::array<std::uint8_t, max_hash_len> chain{};
    std::size_t chain_len = 0;
    auto hmac = [&](std::span<const std::uint8_t> prefix) -> bool {
        std::size_t len = 0;
        const bool ok =
            EVP_MAC_init(h.ctx.get(), secret.data(), secret.size(), h.params.data()) == 1 &&
            EVP_MAC_update(h.ctx.get(), prefix.data(), prefix.size()) == 1 &&
            EVP_MAC_update(h.ctx.get(), reinterpret_cast<const std::uint8_t*>(label.data()),
                           label.size()) == 1 &&
            EVP_MAC_update(h.ctx.get(), seed.data(), seed.size()) == 1 &&
            EVP_MAC_final(h.ctx.get(), chain.data(), &len, chain.size()) == 1;
        chain_len = ok ? len : 0;
        return ok && len > 0;
    };

    crypto_error result = crypto_error::ok;
    if (!hmac({})) {
        result = crypto_error::internal_error;
    }
    std::size_t done = 0;
    while (result == crypto_error::ok && done < out.size()) {
        std::array<std::uint8_t, max_hash_len> prev{};
        std::copy_n(chain.begin(), chain_len, prev.begin());
        if (!hmac(std::span(prev.data(), chain_len))) {
            result = crypto_error::internal_error;
        } else {
            const std::size_t n = std::min(chain_len, out.size() - done);
            for (std::size_t i = 0; i < n; ++i) {
                out[done + i] ^= chain[i];
            }
            done += n;
        }
        secure_zero(prev);
    }
    secure_zero(chain);
    if (result != crypto_error::ok) {
        detail::clear_openssl_errors();
    }
    return result;
}

} // namespace

crypto_error uftp_prf(protocol::hash_type hash, std::span<const std::uint8_t> secret,
                      std::string_view label, std::span<const std::uint8_t> seed,
                      std::span<std::uint8_t> out) {
    auto spec = hash_for(hash);
    if (!spec) {
        return spec.error();
    }
    std::fill(out.begin(), out.end(), std::uint8_t{0});
    crypto_error e = crypto_error::ok;
    if (hash == protocol::hash_type::sha1) {
        const std::size_t half = (secret.size() + 1) / 2;
        e = p_hash_xor("MD5", secret.first(half), label, seed, out);
        if (e == crypto_error::ok) {
            e = p_hash_xor("SHA1", secret.last(half), label, seed, out);
        }
    } else {
        e = p_hash_xor(spec->evp_name, secret, label, seed, out);
    }
    if (e != crypto_error::ok) {
        secure_zero(out);
    }
    return e;
}

} // namespace skycast::crypto
