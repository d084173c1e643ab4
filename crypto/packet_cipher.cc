#include "crypto/packet_cipher.h"

#include "crypto/signature.h"
#include "protocol/codec.h"
#include "protocol/parity.h"

#include <algorithm>
#include <array>
#include <climits>
#include <functional>
#include <openssl/evp.h>

namespace skycast::crypto {
namespace {

using protocol::signature_type;

constexpr std::size_t max_payload = 0xffff; // ENCRYPTED's 16-bit payload length

bool overlaps(const std::uint8_t* a, std::size_t a_len, const std::uint8_t* b, std::size_t b_len) {
    std::less<const std::uint8_t*> lt;
    return lt(a, b + b_len) && lt(b, a + a_len);
}

int as_int(std::size_t n) {
    return static_cast<int>(n);
} // n <= 0xffff by construction

} // namespace

crypto_error packet_cipher::prepare(const suite& s, key_block keys, const private_key* signer) {
    _suite = s;
    _signer = signer;
    switch (s.sigtype) {
    case signature_type::authenc:
        _sig_size = 0;
        break;
    case signature_type::hmac:
        _sig_size = s.hash.len;
        break;
    case signature_type::keyex:
        _sig_size = signer != nullptr ? signer->signature_size() : 0;
        break;
    default:
        return crypto_error::unsupported_signature_type;
    }
    if (keys.key().size() != s.cipher.key_len || keys.hmac_key().size() != s.hash.len) {
        return crypto_error::key_mismatch;
    }
    _keys = std::move(keys);
    if (s.sigtype == signature_type::hmac) {
        auto h = prepared_hmac::create(s.hash.type, _keys.hmac_key());
        if (!h) {
            return h.error();
        }
        _hmac = std::move(h).value();
    }
    _cipher.reset(EVP_CIPHER_fetch(nullptr, s.cipher.evp_name, nullptr));
    _enc.reset(EVP_CIPHER_CTX_new());
    _dec.reset(EVP_CIPHER_CTX_new());
    if (!_cipher || !_enc || !_dec) {
        detail::clear_openssl_errors();
        return crypto_error::internal_error;
    }
    for (int enc = 0; enc < 2; ++enc) {
        EVP_CIPHER_CTX* ctx = enc != 0 ? _enc.get() : _dec.get();
        bool ok = EVP_CipherInit_ex2(ctx, _cipher.get(), nullptr, nullptr, enc, nullptr) == 1;
        if (ok && s.cipher.aead()) {
            ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, as_int(s.cipher.iv_len),
                                     nullptr) == 1;
        }
        if (ok && s.cipher.mode == cipher_mode::ccm) {
            // CCM fixes the tag length before the key; the tag itself comes per packet.
            ok =
                EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, as_int(aead_tag_len), nullptr) == 1;
        }
        ok = ok && EVP_CipherInit_ex2(ctx, nullptr, _keys.key().data(), nullptr, enc, nullptr) == 1;
        if (!ok) {
            detail::clear_openssl_errors();
            return crypto_error::internal_error;
        }
    }
    return crypto_error::ok;
}

result<packet_cipher> packet_cipher::create(const suite& s, const key_block& group_keys,
                                            const private_key* signer) {
    auto keys = group_keys.clone();
    if (!keys) {
        return keys.error();
    }
    packet_cipher pc;
    if (auto e = pc.prepare(s, std::move(keys).value(), signer); e != crypto_error::ok) {
        return e;
    }
    return pc;
}

result<packet_cipher> packet_cipher::clone() const {
    return create(_suite, _keys, _signer);
}

std::size_t packet_cipher::payload_size(std::size_t n) const {
    if (_suite.cipher.aead()) {
        return n + aead_tag_len;
    }
    const std::size_t bs = _suite.cipher.block_size;
    return (n / bs + 1) * bs; // PKCS#7 always adds 1..bs bytes
}

crypto_error packet_cipher::encrypt(std::span<const std::uint8_t, max_iv_len> iv,
                                    std::span<const std::uint8_t> aad,
                                    std::span<const std::uint8_t> in, std::uint8_t* out,
                                    std::size_t expected) {
    EVP_CIPHER_CTX* ctx = _enc.get();
    int len = 0;
    int total = 0;
    bool ok = EVP_CipherInit_ex2(ctx, nullptr, nullptr, iv.data(), 1, nullptr) == 1;
    if (ok && _suite.cipher.mode == cipher_mode::ccm) {
        // CCM must know the message length before the AAD.
        ok = EVP_CipherUpdate(ctx, nullptr, &len, nullptr, as_int(in.size())) == 1;
    }
    if (ok && _suite.cipher.aead()) {
        ok = EVP_CipherUpdate(ctx, nullptr, &len, aad.data(), as_int(aad.size())) == 1;
    }
    ok = ok && EVP_CipherUpdate(ctx, out, &len, in.data(), as_int(in.size())) == 1;
    total = len;
    ok = ok && EVP_CipherFinal_ex(ctx, out + total, &len) == 1;
    total += len;
    if (ok && _suite.cipher.aead()) {
        ok =
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, as_int(aead_tag_len), out + total) == 1;
        total += static_cast<int>(aead_tag_len);
    }
    if (!ok || static_cast<std::size_t>(total) != expected) {
        detail::clear_openssl_errors();
        return crypto_error::internal_error;
    }
    return crypto_error::ok;
}

crypto_error packet_cipher::decrypt(std::span<const std::uint8_t, max_iv_len> iv,
                                    std::span<const std::uint8_t> aad,
                                    std::span<const std::uint8_t> in, std::uint8_t* out,
                                    std::size_t& out_len) {
    EVP_CIPHER_CTX* ctx = _dec.get();
    const bool aead = _suite.cipher.aead();
    const std::size_t ct_len = aead ? in.size() - aead_tag_len : in.size();
    // OpenSSL takes a non-const tag pointer but only reads it.
    auto* tag = const_cast<std::uint8_t*>(in.data() + ct_len);
    int len = 0;
    if (EVP_CipherInit_ex2(ctx, nullptr, nullptr, iv.data(), 0, nullptr) != 1) {
        detail::clear_openssl_errors();
        return crypto_error::internal_error;
    }
    if (_suite.cipher.mode == cipher_mode::ccm) {
        // Tag, then total length, then AAD, then the data in one call, which
        // fails when the tag does not match.
        const bool ok =
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, as_int(aead_tag_len), tag) == 1 &&
            EVP_CipherUpdate(ctx, nullptr, &len, nullptr, as_int(ct_len)) == 1 &&
            EVP_CipherUpdate(ctx, nullptr, &len, aad.data(), as_int(aad.size())) == 1 &&
            EVP_CipherUpdate(ctx, out, &len, in.data(), as_int(ct_len)) == 1;
        detail::clear_openssl_errors();
        out_len = ct_len;
        return ok ? crypto_error::ok : crypto_error::tag_mismatch;
    }
    if (aead) { // GCM: the tag is checked in Final.
        bool ok = EVP_CipherUpdate(ctx, nullptr, &len, aad.data(), as_int(aad.size())) == 1 &&
                  EVP_CipherUpdate(ctx, out, &len, in.data(), as_int(ct_len)) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, as_int(aead_tag_len), tag) == 1;
        int fin = 0;
        ok = ok && EVP_CipherFinal_ex(ctx, out + len, &fin) == 1;
        detail::clear_openssl_errors();
        out_len = ct_len;
        return ok ? crypto_error::ok : crypto_error::tag_mismatch;
    }
    // CBC, already authenticated by the caller: Final checks the padding.
    int fin = 0;
    const bool ok = EVP_CipherUpdate(ctx, out, &len, in.data(), as_int(in.size())) == 1 &&
                    EVP_CipherFinal_ex(ctx, out + len, &fin) == 1;
    detail::clear_openssl_errors();
    out_len = static_cast<std::size_t>(len + fin);
    return ok ? crypto_error::ok : crypto_error::padding_invalid;
}

result<std::size_t> packet_cipher::seal(const protocol::uftp_header& header,
                                        std::span<const std::uint8_t> plaintext,
                                        std::uint64_t iv_ctr, std::span<std::uint8_t> out) {
    if (plaintext.empty()) {
        return crypto_error::plaintext_empty;
    }
    if (_suite.sigtype == signature_type::keyex && _signer == nullptr) {
        return crypto_error::signer_key_missing;
    }
    const std::size_t payload = payload_size(plaintext.size());
    if (payload > max_payload) {
        return crypto_error::plaintext_too_large;
    }
    const std::size_t total = payload_offset() + payload;
    if (out.size() < total) {
        return crypto_error::buffer_too_small;
    }
    std::uint8_t* const ciphertext = out.data() + payload_offset();
    if (plaintext.data() != ciphertext &&
        overlaps(plaintext.data(), plaintext.size(), out.data(), total)) {
        return crypto_error::buffers_overlap;
    }
    if (iv_ctr <= _last_iv_ctr) {
        return crypto_error::iv_counter_not_increasing;
    }
    _last_iv_ctr = iv_ctr;
    // The prefix is the AEAD's associated data: written before encrypting.
    if (!protocol::encode_encrypted_prefix(header, iv_ctr, _sig_size, payload, out).ok()) {
        return crypto_error::buffer_too_small; // sizes were checked above; defensive
    }
    std::array<std::uint8_t, max_iv_len> iv{};
    build_iv(_suite.cipher, _keys.salt(), header.src_id, iv_ctr, iv);
    const auto aad = std::span<const std::uint8_t>(out.data(), encrypted_header_size);
    if (auto e = encrypt(iv, aad, plaintext, ciphertext, payload); e != crypto_error::ok) {
        secure_zero(out.first(total));
        return e;
    }
    if (_sig_size == 0) {
        return total;
    }
    // HMAC or signature over the whole datagram with the field zeroed (§5.8).
    const auto field = out.subspan(encrypted_header_size, _sig_size);
    std::fill(field.begin(), field.end(), std::uint8_t{0});
    const std::span<const std::uint8_t> whole = out.first(total);
    if (_suite.sigtype == signature_type::hmac) {
        _hmac.compute(std::span(&whole, 1), field);
        return total;
    }
    auto signed_len = sign(*_signer, _suite.hash.type, std::span(&whole, 1), field);
    if (!signed_len) {
        secure_zero(out.first(total));
        return signed_len.error();
    }
    return total;
}

result<opened_packet> packet_cipher::open(std::span<const std::uint8_t> datagram,
                                          std::span<std::uint8_t> plaintext_out,
                                          const public_key* sender) {
    opened_packet result_info;
    protocol::message_type type{};
    if (protocol::decode_header(datagram, result_info.header, type) != protocol::wire_error::ok) {
        return crypto_error::datagram_malformed;
    }
    if (type != protocol::message_type::encrypted) {
        return crypto_error::not_encrypted;
    }
    protocol::message body;
    if (protocol::decode_message(type, datagram.subspan(protocol::uftp_header_size), body) !=
        protocol::wire_error::ok) {
        return crypto_error::datagram_malformed;
    }
    const auto* enc_ptr = std::get_if<protocol::encrypted_msg>(&body);
    if (enc_ptr == nullptr) {
        return crypto_error::datagram_malformed;
    }
    const auto& enc = *enc_ptr;
    result_info.iv_ctr = enc.iv_ctr;
    const std::size_t payload = enc.payload.size();
    if (plaintext_out.size() < payload) {
        return crypto_error::buffer_too_small;
    }
    // Exactly in place (plaintext over the ciphertext) is fine: the signature
    // and AAD before it are read before anything is written.
    if (plaintext_out.data() != enc.payload.data() &&
        overlaps(plaintext_out.data(), plaintext_out.size(), datagram.data(), datagram.size())) {
        return crypto_error::buffers_overlap;
    }

    // 1. Authenticate what can be authenticated before decrypting.
    switch (_suite.sigtype) {
    case signature_type::authenc:
        if (!enc.signature.empty()) {
            return crypto_error::signature_length_wrong;
        }
        if (payload <= aead_tag_len) {
            return crypto_error::payload_length_invalid;
        }
        break; // the tag is checked while decrypting
    case signature_type::hmac: {
        if (enc.signature.size() != _hmac.size()) {
            return crypto_error::signature_length_wrong;
        }
        if (payload == 0 || payload % _suite.cipher.block_size != 0) {
            return crypto_error::payload_length_invalid;
        }
        std::array<std::uint8_t, 64> mac{};
        const auto parts = zeroed_field_parts(datagram, encrypted_header_size, _hmac.size());
        _hmac.compute(parts, mac);
        const bool equal = constant_time_equal(std::span(mac).first(_hmac.size()), enc.signature);
        if (!equal) {
            return crypto_error::hmac_mismatch;
        }
        break;
    }
    case signature_type::keyex: {
        if (sender == nullptr) {
            return crypto_error::verifier_key_missing;
        }
        if (enc.signature.size() != sender->signature_size()) {
            return crypto_error::signature_length_wrong;
        }
        if (payload == 0 || payload % _suite.cipher.block_size != 0) {
            return crypto_error::payload_length_invalid;
        }
        const auto parts =
            zeroed_field_parts(datagram, encrypted_header_size, enc.signature.size());
        if (auto e = verify(*sender, _suite.hash.type, parts, enc.signature);
            e != crypto_error::ok) {
            return e;
        }
        break;
    }
    default:
        return crypto_error::unsupported_signature_type;
    }

    // 2. Decrypt. AEAD output is wiped if the tag fails.
    std::array<std::uint8_t, max_iv_len> iv{};
    build_iv(_suite.cipher, _keys.salt(), result_info.header.src_id, enc.iv_ctr, iv);
    std::size_t out_len = 0;
    const auto aad = datagram.first(encrypted_header_size);
    if (auto e = decrypt(iv, aad, enc.payload, plaintext_out.data(), out_len);
        e != crypto_error::ok) {
        secure_zero(plaintext_out.first(payload));
        return e;
    }
    if (out_len == 0) {
        return crypto_error::plaintext_empty;
    }
    const std::uint8_t func = plaintext_out[0];
    if (!protocol::valid_sealed_func(func)) {
        secure_zero(plaintext_out.first(payload));
        return crypto_error::inner_type_invalid;
    }
    result_info.inner_type = static_cast<protocol::message_type>(func);
    result_info.plaintext_size = out_len;
    return result_info;
}

} // namespace skycast::crypto
