#include "crypto/signature.h"

#include "crypto/openssl_util.h"
#include "crypto/suites.h"

#include <algorithm>
#include <cstring>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <vector>

namespace skycast::crypto {
namespace {

constexpr std::array<std::uint8_t, max_signature_size> zero_field{};

bool update_all(EVP_MD_CTX* ctx, byte_parts data, bool signing) {
    for (const auto& part : data) {
        const int rc = signing ? EVP_DigestSignUpdate(ctx, part.data(), part.size())
                               : EVP_DigestVerifyUpdate(ctx, part.data(), part.size());
        if (rc != 1) {
            return false;
        }
    }
    return true;
}

// DER ECDSA-Sig-Value -> rlen(2) slen(2) r s zero-padded to out.size().
bool der_to_uftp(std::span<const std::uint8_t> der, std::span<std::uint8_t> out) {
    const std::uint8_t* p = der.data();
    detail::ecdsa_sig_ptr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
    if (!sig) {
        return false;
    }
    const BIGNUM* r = ECDSA_SIG_get0_r(sig.get());
    const BIGNUM* s = ECDSA_SIG_get0_s(sig.get());
    const auto rlen = static_cast<std::size_t>(BN_num_bytes(r));
    const auto slen = static_cast<std::size_t>(BN_num_bytes(s));
    if (4 + rlen + slen > out.size()) {
        return false;
    }
    std::fill(out.begin(), out.end(), std::uint8_t{0});
    out[0] = static_cast<std::uint8_t>(rlen >> 8);
    out[1] = static_cast<std::uint8_t>(rlen);
    out[2] = static_cast<std::uint8_t>(slen >> 8);
    out[3] = static_cast<std::uint8_t>(slen);
    BN_bn2bin(r, out.data() + 4);
    BN_bn2bin(s, out.data() + 4 + rlen);
    return true;
}

// rlen(2) slen(2) r s padding -> DER. Strict: the lengths must fit and the
// padding must be zero, so that no bit of the field is unauthenticated.
bool uftp_to_der(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& der) {
    if (in.size() < 4) {
        return false;
    }
    const std::size_t rlen = (std::size_t{in[0]} << 8) | in[1];
    const std::size_t slen = (std::size_t{in[2]} << 8) | in[3];
    if (rlen == 0 || slen == 0 || 4 + rlen + slen > in.size()) {
        return false;
    }
    if (!std::all_of(in.begin() + static_cast<std::ptrdiff_t>(4 + rlen + slen), in.end(),
                     [](std::uint8_t b) { return b == 0; })) {
        return false;
    }
    detail::ecdsa_sig_ptr sig(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(in.data() + 4, static_cast<int>(rlen), nullptr);
    BIGNUM* s = BN_bin2bn(in.data() + 4 + rlen, static_cast<int>(slen), nullptr);
    if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
        BN_free(r);
        BN_free(s);
        return false;
    }
    const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
    if (len <= 0) {
        return false;
    }
    der.resize(static_cast<std::size_t>(len));
    std::uint8_t* out = der.data();
    return i2d_ECDSA_SIG(sig.get(), &out) == len;
}

} // namespace

std::span<const std::uint8_t> zeros(std::size_t n) {
    return std::span(zero_field).first(std::min(n, zero_field.size()));
}

std::array<std::span<const std::uint8_t>, 3>
zeroed_field_parts(std::span<const std::uint8_t> datagram, std::size_t field_offset,
                   std::size_t field_len) {
    return {datagram.first(field_offset), zeros(field_len),
            datagram.subspan(field_offset + field_len)};
}

result<std::size_t> sign(const private_key& key, protocol::hash_type hash, byte_parts data,
                         std::span<std::uint8_t> out) {
    auto spec = hash_for(hash);
    if (!spec) {
        return spec.error();
    }
    const std::size_t size = key.signature_size();
    if (out.size() < size) {
        return crypto_error::buffer_too_small;
    }
    detail::md_ctx_ptr ctx(EVP_MD_CTX_new());
    if (!ctx ||
        EVP_DigestSignInit_ex(ctx.get(), nullptr, spec->evp_name, nullptr, nullptr, key.native(),
                              nullptr) != 1 ||
        !update_all(ctx.get(), data, true)) {
        detail::clear_openssl_errors();
        return crypto_error::internal_error;
    }
    if (key.kind() == key_kind::rsa) {
        // RSA's default padding is PKCS#1 v1.5 with the DigestInfo of `hash`.
        std::size_t len = size;
        if (EVP_DigestSignFinal(ctx.get(), out.data(), &len) != 1 || len != size) {
            detail::clear_openssl_errors();
            return crypto_error::internal_error;
        }
        return size;
    }
    std::size_t der_len = 0;
    if (EVP_DigestSignFinal(ctx.get(), nullptr, &der_len) != 1) {
        detail::clear_openssl_errors();
        return crypto_error::internal_error;
    }
    std::vector<std::uint8_t> der(der_len);
    if (EVP_DigestSignFinal(ctx.get(), der.data(), &der_len) != 1 ||
        !der_to_uftp(std::span(der.data(), der_len), out.first(size))) {
        detail::clear_openssl_errors();
        return crypto_error::internal_error;
    }
    return size;
}

crypto_error verify(const public_key& key, protocol::hash_type hash, byte_parts data,
                    std::span<const std::uint8_t> signature) {
    auto spec = hash_for(hash);
    if (!spec) {
        return spec.error();
    }
    if (signature.size() != key.signature_size()) {
        return crypto_error::signature_malformed;
    }
    std::vector<std::uint8_t> der;
    std::span<const std::uint8_t> native = signature;
    if (key.kind() == key_kind::ec) {
        if (!uftp_to_der(signature, der)) {
            detail::clear_openssl_errors();
            return crypto_error::signature_malformed;
        }
        native = der;
    }
    detail::md_ctx_ptr ctx(EVP_MD_CTX_new());
    if (!ctx ||
        EVP_DigestVerifyInit_ex(ctx.get(), nullptr, spec->evp_name, nullptr, nullptr, key.native(),
                                nullptr) != 1 ||
        !update_all(ctx.get(), data, false)) {
        detail::clear_openssl_errors();
        return crypto_error::internal_error;
    }
    const int rc = EVP_DigestVerifyFinal(ctx.get(), native.data(), native.size());
    detail::clear_openssl_errors();
    return rc == 1 ? crypto_error::ok : crypto_error::signature_invalid;
}

namespace {

std::array<std::uint8_t, 4> nonce_as_sent(std::uint32_t nonce) {
    return {static_cast<std::uint8_t>(nonce >> 24), static_cast<std::uint8_t>(nonce >> 16),
            static_cast<std::uint8_t>(nonce >> 8), static_cast<std::uint8_t>(nonce)};
}

} // namespace

result<protocol::bytes> sign_nonce(const private_key& key, std::uint32_t nonce) {
    const auto bytes = nonce_as_sent(nonce);
    const std::span<const std::uint8_t> parts[] = {bytes};
    protocol::bytes out(key.signature_size());
    const auto n = sign(key, protocol::hash_type::sha1, parts, out);
    if (!n.ok()) {
        return n.error();
    }
    out.resize(*n);
    return out;
}

crypto_error verify_nonce(const public_key& key, std::uint32_t nonce,
                          std::span<const std::uint8_t> signature) {
    const auto bytes = nonce_as_sent(nonce);
    const std::span<const std::uint8_t> parts[] = {bytes};
    return verify(key, protocol::hash_type::sha1, parts, signature);
}

} // namespace skycast::crypto
