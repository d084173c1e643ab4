// Key blobs and fingerprints (§5.4): export of RSA/EC keys to UFTP's blob
// layout, import of peers' blobs, and the SHA-1 fingerprint.
#include "crypto/keys.h"
#include "crypto/openssl_util.h"
#include "crypto/secure_memory.h"

#include <cstdio>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/sha.h>
#include <vector>

namespace skycast::crypto {
namespace {

constexpr int min_rsa_bits = 512;
constexpr int max_rsa_bits = 2048; // UFTP 4's limit everywhere (blobs <= 264 bytes)
constexpr std::size_t max_rsa_modulus_bytes = max_rsa_bits / 8;
constexpr std::size_t blob_header = 4;     // EC: type, curve, keylen; RSA: type, 0, modlen
constexpr std::size_t rsa_blob_header = 8; // + exponent

std::size_t round_up4(std::size_t n) {
    return (n + 3) & ~std::size_t{3};
}

// Field size in bytes of an EC curve: the length of each coordinate in the
// blob. (EVP_PKEY_get_bits gives the order's size, which differs for some
// curves such as secp160r1.)
std::size_t ec_coord_len(int nid) {
    EC_GROUP* group = EC_GROUP_new_by_curve_name(nid);
    if (group == nullptr) {
        detail::clear_openssl_errors();
        return 0;
    }
    const int degree = EC_GROUP_get_degree(group);
    EC_GROUP_free(group);
    return degree > 0 ? static_cast<std::size_t>(degree + 7) / 8 : 0;
}

fingerprint sha1_of(std::span<const std::uint8_t> blob) {
    fingerprint fp{};
    SHA1(blob.data(), blob.size(), fp.data());
    return fp;
}

void put_u16(std::vector<std::uint8_t>& out, std::size_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}

result<key_description> describe_rsa(EVP_PKEY* pkey) {
    BIGNUM* n_raw = nullptr;
    BIGNUM* e_raw = nullptr;
    if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n_raw) != 1 ||
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e_raw) != 1) {
        BN_free(n_raw);
        detail::clear_openssl_errors();
        return crypto_error::key_blob_malformed;
    }
    detail::bn_ptr n(n_raw);
    detail::bn_ptr e(e_raw);
    const int bits = BN_num_bits(n.get());
    if (bits < min_rsa_bits || bits > max_rsa_bits) {
        return crypto_error::unsupported_key_size;
    }
    if (BN_num_bytes(e.get()) > 4 || BN_is_zero(e.get())) {
        return crypto_error::key_blob_malformed;
    }
    const auto modlen = static_cast<std::size_t>(BN_num_bytes(n.get()));
    key_description d;
    d.kind = key_kind::rsa;
    d.bits = bits;
    d.blob.reserve(rsa_blob_header + modlen);
    d.blob.push_back(static_cast<std::uint8_t>(protocol::keyblob_type::rsa));
    d.blob.push_back(0);
    put_u16(d.blob, modlen);
    d.blob.resize(rsa_blob_header + modlen);
    BN_bn2binpad(e.get(), d.blob.data() + blob_header, 4);
    BN_bn2bin(n.get(), d.blob.data() + rsa_blob_header);
    d.fp = sha1_of(d.blob);
    d.signature_size = modlen;
    return d;
}

result<key_description> describe_ec(EVP_PKEY* pkey) {
    char group_name[64] = {};
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group_name,
                                       sizeof group_name, nullptr) != 1) {
        // Explicit (unnamed) curve parameters: UFTP can only name curves.
        detail::clear_openssl_errors();
        return crypto_error::unsupported_curve;
    }
    const curve_info* curve = curve_by_nid(OBJ_sn2nid(group_name));
    if (curve == nullptr) {
        return crypto_error::unsupported_curve;
    }
    const std::size_t coord = ec_coord_len(curve->nid);
    BIGNUM* x_raw = nullptr;
    BIGNUM* y_raw = nullptr;
    if (coord == 0 || EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x_raw) != 1 ||
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y_raw) != 1) {
        BN_free(x_raw);
        detail::clear_openssl_errors();
        return crypto_error::key_blob_malformed;
    }
    detail::bn_ptr x(x_raw);
    detail::bn_ptr y(y_raw);
    const std::size_t keylen = 2 * coord;
    key_description d;
    d.kind = key_kind::ec;
    d.bits = static_cast<int>(coord * 8);
    d.curve = curve;
    d.blob.assign(round_up4(blob_header + keylen), 0);
    d.blob[0] = static_cast<std::uint8_t>(protocol::keyblob_type::ec);
    d.blob[1] = curve->id;
    d.blob[2] = static_cast<std::uint8_t>(keylen >> 8);
    d.blob[3] = static_cast<std::uint8_t>(keylen);
    if (BN_bn2binpad(x.get(), d.blob.data() + blob_header, static_cast<int>(coord)) < 0 ||
        BN_bn2binpad(y.get(), d.blob.data() + blob_header + coord, static_cast<int>(coord)) < 0) {
        return crypto_error::key_blob_malformed;
    }
    d.fp = sha1_of(d.blob);
    d.signature_size = 4 + round_up4(keylen);
    return d;
}

result<detail::pkey_ptr> rsa_from_blob(std::span<const std::uint8_t> blob) {
    if (blob.size() < rsa_blob_header || blob[1] != 0) {
        return crypto_error::key_blob_malformed;
    }
    const std::size_t modlen = (std::size_t{blob[2]} << 8) | blob[3];
    if (modlen == 0 || modlen > max_rsa_modulus_bytes || blob.size() != rsa_blob_header + modlen ||
        blob[rsa_blob_header] == 0) {
        return crypto_error::key_blob_malformed;
    }
    detail::bn_ptr e(BN_bin2bn(blob.data() + blob_header, 4, nullptr));
    detail::bn_ptr n(BN_bin2bn(blob.data() + rsa_blob_header, static_cast<int>(modlen), nullptr));
    detail::param_bld_ptr bld(OSSL_PARAM_BLD_new());
    if (!e || !n || !bld || BN_is_zero(e.get()) ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
        detail::clear_openssl_errors();
        return crypto_error::key_blob_malformed;
    }
    detail::params_ptr params(OSSL_PARAM_BLD_to_param(bld.get()));
    detail::pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
    EVP_PKEY* pkey = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
        detail::clear_openssl_errors();
        return crypto_error::key_blob_malformed;
    }
    return detail::pkey_ptr(pkey);
}

result<detail::pkey_ptr> ec_from_blob(std::span<const std::uint8_t> blob) {
    if (blob.size() < blob_header) {
        return crypto_error::key_blob_malformed;
    }
    const curve_info* curve = curve_by_id(blob[1]);
    if (curve == nullptr) {
        return crypto_error::unsupported_curve;
    }
    const std::size_t coord = ec_coord_len(curve->nid);
    const std::size_t keylen = (std::size_t{blob[2]} << 8) | blob[3];
    if (coord == 0) {
        return crypto_error::unsupported_curve;
    }
    // Accept the blob with or without its padding, but padding must be zero.
    if (keylen != 2 * coord || blob.size() < blob_header + keylen ||
        blob.size() > round_up4(blob_header + keylen)) {
        return crypto_error::key_blob_malformed;
    }
    for (std::size_t i = blob_header + keylen; i < blob.size(); ++i) {
        if (blob[i] != 0) {
            return crypto_error::key_blob_malformed;
        }
    }
    std::vector<std::uint8_t> point(1 + keylen);
    point[0] = 0x04; // uncompressed
    std::copy_n(blob.begin() + blob_header, keylen, point.begin() + 1);
    const std::string group(curve->name);
    detail::param_bld_ptr bld(OSSL_PARAM_BLD_new());
    if (!bld ||
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group.c_str(), 0) !=
            1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) != 1) {
        detail::clear_openssl_errors();
        return crypto_error::internal_error;
    }
    detail::params_ptr params(OSSL_PARAM_BLD_to_param(bld.get()));
    detail::pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    EVP_PKEY* pkey = nullptr;
    // fromdata decodes the point and so rejects one that is not on the curve.
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
        detail::clear_openssl_errors();
        return crypto_error::key_blob_malformed;
    }
    detail::pkey_ptr owned(pkey);
    // Belt and braces: a full public-key check (point on curve, not infinity).
    detail::pkey_ctx_ptr check(EVP_PKEY_CTX_new_from_pkey(nullptr, owned.get(), nullptr));
    if (!check || EVP_PKEY_public_check(check.get()) != 1) {
        detail::clear_openssl_errors();
        return crypto_error::key_blob_malformed;
    }
    return owned;
}

result<detail::pkey_ptr> import_blob(std::span<const std::uint8_t> blob) {
    if (blob[0] == static_cast<std::uint8_t>(protocol::keyblob_type::rsa)) {
        return rsa_from_blob(blob);
    }
    if (blob[0] == static_cast<std::uint8_t>(protocol::keyblob_type::ec)) {
        return ec_from_blob(blob);
    }
    return crypto_error::key_blob_malformed;
}

} // namespace

std::string format_fingerprint(const fingerprint& fp) {
    std::string out;
    out.reserve(fp.size() * 3);
    for (std::size_t i = 0; i < fp.size(); ++i) {
        char hex[4];
        std::snprintf(hex, sizeof hex, "%02X", fp[i]);
        if (i != 0) {
            out.push_back(':');
        }
        out += hex;
    }
    return out;
}

result<key_description> describe_key(EVP_PKEY* pkey) {
    if (pkey == nullptr) {
        return crypto_error::unsupported_key_type;
    }
    // EVP_PKEY_is_a("RSA") is false for RSA-PSS keys, which UFTP cannot use.
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        return describe_rsa(pkey);
    }
    if (EVP_PKEY_is_a(pkey, "EC")) {
        return describe_ec(pkey);
    }
    return crypto_error::unsupported_key_type;
}

result<public_key> public_key::from_blob(std::span<const std::uint8_t> blob) {
    if (auto e = initialize(); e != crypto_error::ok) {
        return e;
    }
    if (blob.empty()) {
        return crypto_error::key_blob_malformed;
    }
    auto pkey = import_blob(blob);
    if (!pkey) {
        return pkey.error();
    }
    auto desc = describe_key(pkey->get());
    if (!desc) {
        return desc.error();
    }
    return public_key(std::move(pkey).value(), std::move(desc).value());
}

result<private_key> private_key::adopt(detail::pkey_ptr pkey) {
    if (auto e = initialize(); e != crypto_error::ok) {
        return e;
    }
    auto desc = describe_key(pkey.get());
    if (!desc) {
        return desc.error();
    }
    return private_key(std::move(pkey), std::move(desc).value());
}

} // namespace skycast::crypto
