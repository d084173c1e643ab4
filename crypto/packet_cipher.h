#pragma once
// ENCRYPTED (type 18) wrap and unwrap (§5.8) for one session, on one lcore.
//
// Datagram layout: UFTP header (func = 18) | IV ctr hi | IV ctr lo |
// sig_len (2) | payload_len (2) | signature | payload, where payload is the
// encryption of the inner message starting at its func byte.
// - GCM/CCM (AUTHENC): AAD = the first 28 bytes (with the final payload
//   length); payload = ciphertext || 16-byte tag; no signature.
// - CBC + HMAC: PKCS#7 padding; HMAC(group hmac key) over the whole datagram
//   with the signature field zeroed, hash_len bytes.
// - CBC + KEYEX: the same with an RSA or UFTP-ECDSA signature by the sender.
//
// A packet_cipher is prepared once per session and lcore (clone() makes the
// next lcore's): its OpenSSL cipher contexts are keyed once, and each packet
// only sets the IV. seal() and open() do not allocate, lock or throw for the
// AEAD and HMAC signature types; KEYEX uses OpenSSL's public-key operations,
// which allocate internally. Not thread-safe: one object per lcore.
//
// Receivers check the tag, HMAC or signature before decrypting (CBC) or
// before returning anything (AEAD); on any failure the output buffer is
// zeroed, so nothing unauthenticated is ever handed to the caller.

#include "crypto/hmac.h"
#include "crypto/iv.h"
#include "crypto/key_schedule.h"
#include "crypto/keys.h"
#include "crypto/openssl_util.h"
#include "protocol/codec.h"
#include "protocol/messages.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace skycast::crypto {

// ENCRYPTED's fixed part: UFTP header + IV counter + sig_len + payload_len.
inline constexpr std::size_t encrypted_header_size = protocol::encrypted_prefix_size;

struct opened_packet {
    protocol::uftp_header header; // as sent (func = 18 on the wire)
    std::uint64_t iv_ctr = 0;
    protocol::message_type inner_type{}; // func byte of the decrypted message
    std::size_t plaintext_size = 0;      // bytes written to the output
};

class alignas(64) packet_cipher {
public:
    // `group_keys` is copied into the context's own guarded memory. `signer`
    // (KEYEX only) must outlive the context.
    static result<packet_cipher> create(const suite& s, const key_block& group_keys,
                                        const private_key* signer = nullptr);
    // An independent context with the same keys, for another lcore.
    result<packet_cipher> clone() const;

    const suite& session_suite() const { return _suite; }
    // Signature bytes this context writes when sealing.
    std::size_t signature_size() const { return _sig_size; }
    // Where the ciphertext starts in a sealed datagram. Sealing in place is
    // allowed when the plaintext starts exactly there in `out`.
    std::size_t payload_offset() const { return encrypted_header_size + _sig_size; }
    // Ciphertext (+ tag) length for a plaintext of `n` bytes.
    std::size_t payload_size(std::size_t plaintext_size) const;
    std::size_t sealed_size(std::size_t plaintext_size) const {
        return payload_offset() + payload_size(plaintext_size);
    }

    // Seals `plaintext` (an encoded message, starting with its func byte) with
    // IV counter `iv_ctr` (the caller's per-sender counter, incremented before
    // each call and never reused) into `out`; returns the datagram size.
    // A counter not above the last one this context sealed with is refused
    // (iv_counter_not_increasing): a repeated GCM/CCM nonce under one key
    // gives away the key stream and, for GCM, the authentication key. Lcores
    // drawing from one shared atomic counter each see increasing values.
    // `header` supplies seq, source UID (also used in the IV), group, grtt, gsize.
    result<std::size_t> seal(const protocol::uftp_header& header,
                             std::span<const std::uint8_t> plaintext, std::uint64_t iv_ctr,
                             std::span<std::uint8_t> out);

    // Authenticates and decrypts an ENCRYPTED datagram into `plaintext_out`,
    // which must hold at least the payload length (buffer_too_small
    // otherwise). Decrypting in place is allowed: `plaintext_out` starting
    // exactly at the payload (datagram + 28 + sig_len), e.g. inside an mbuf;
    // on failure the payload is then zeroed. KEYEX needs the sender's public key.
    result<opened_packet> open(std::span<const std::uint8_t> datagram,
                               std::span<std::uint8_t> plaintext_out,
                               const public_key* sender = nullptr);

private:
    packet_cipher() = default;
    crypto_error prepare(const suite& s, key_block keys, const private_key* signer);
    // The IV length is fixed per context (set in prepare()); only its bytes change.
    crypto_error encrypt(std::span<const std::uint8_t, max_iv_len> iv,
                         std::span<const std::uint8_t> aad, std::span<const std::uint8_t> in,
                         std::uint8_t* out, std::size_t expected);
    crypto_error decrypt(std::span<const std::uint8_t, max_iv_len> iv,
                         std::span<const std::uint8_t> aad, std::span<const std::uint8_t> in,
                         std::uint8_t* out, std::size_t& out_len);

    suite _suite;
    std::size_t _sig_size = 0;
    const private_key* _signer = nullptr;
    std::uint64_t _last_iv_ctr = 0; // 0: none yet (UFTP's first counter is 1)
    key_block _keys;
    prepared_hmac _hmac;
    detail::cipher_ptr _cipher;
    detail::cipher_ctx_ptr _enc;
    detail::cipher_ctx_ptr _dec;
};

} // namespace skycast::crypto
