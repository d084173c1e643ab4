#pragma once
// RSA and EC keys as UFTP 4 sees them (§5.4): a public key travels as a "key
// blob" (RSA: type 1, 0, modlen, exponent (4, BE), modulus; EC: type 2, curve
// ID, keylen, X || Y, zero-padded to 4 bytes) and is identified by its
// fingerprint, the SHA-1 of that blob.
//
// The EVP_PKEY inside a private_key is OpenSSL's; its private numbers live in
// OpenSSL's secure heap (set up by crypto::initialize()), guarded and cleared
// on free. Loading and generating keys is in key_file.h.

#include "crypto/curves.h"
#include "crypto/detail_pkey.h"
#include "crypto/result.h"
#include "protocol/messages.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace skycast::crypto {

enum class key_kind : std::uint8_t { rsa, ec };

inline constexpr std::size_t fingerprint_len = 20;
using fingerprint = std::array<std::uint8_t, fingerprint_len>;

// "A1:56:AD:...", as uftp_keymgt prints it (20 upper-case, colon-separated bytes).
std::string format_fingerprint(const fingerprint& fp);

// What a key is, computed once when the key object is made.
struct key_description {
    key_kind kind = key_kind::rsa;
    int bits = 0;                      // RSA modulus bits, or EC field degree
    const curve_info* curve = nullptr; // EC only
    protocol::bytes blob;              // exported public key blob
    fingerprint fp{};                  // SHA-1 of the blob
    std::size_t signature_size = 0;    // RSA: modulus bytes; EC: UFTP-ECDSA size
};

// A public key: a peer's, from a blob, or the public half of our own key.
class public_key {
public:
    static result<public_key> from_blob(std::span<const std::uint8_t> blob);

    const key_description& description() const { return _desc; }
    key_kind kind() const { return _desc.kind; }
    const protocol::bytes& blob() const { return _desc.blob; }
    const fingerprint& key_fingerprint() const { return _desc.fp; }
    std::size_t signature_size() const { return _desc.signature_size; }
    EVP_PKEY* native() const { return _pkey.get(); }

private:
    public_key(detail::pkey_ptr pkey, key_description desc)
        : _pkey(std::move(pkey)), _desc(std::move(desc)) {}
    detail::pkey_ptr _pkey;
    key_description _desc;
};

class private_key {
public:
    // Takes ownership of an OpenSSL key, checking that UFTP can use it (RSA of
    // 512..2048 bits, or EC on a curve of the UFTP table).
    static result<private_key> adopt(detail::pkey_ptr pkey);

    const key_description& description() const { return _desc; }
    key_kind kind() const { return _desc.kind; }
    int bits() const { return _desc.bits; }
    const curve_info* curve() const { return _desc.curve; }
    const protocol::bytes& blob() const { return _desc.blob; }
    const fingerprint& key_fingerprint() const { return _desc.fp; }
    std::size_t signature_size() const { return _desc.signature_size; }
    EVP_PKEY* native() const { return _pkey.get(); }
    // The public half, as a peer would import it from our blob.
    result<public_key> public_part() const { return public_key::from_blob(_desc.blob); }

private:
    private_key(detail::pkey_ptr pkey, key_description desc)
        : _pkey(std::move(pkey)), _desc(std::move(desc)) {}
    detail::pkey_ptr _pkey;
    key_description _desc;
};

// Describes an OpenSSL key (public or private) in UFTP terms; fails with
// unsupported_key_type / unsupported_key_size / unsupported_curve.
result<key_description> describe_key(EVP_PKEY* pkey);

} // namespace skycast::crypto
