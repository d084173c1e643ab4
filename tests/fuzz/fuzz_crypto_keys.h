#pragma once
// The suites and fixed keys of fuzz_crypto, shared with make_crypto_seeds so
// that seeds are sealed under exactly the keys the target opens with.
#include "crypto/packet_cipher.h"
#include "crypto/suites.h"

#include <array>
#include <vector>

namespace skycast::fuzz {

struct suite_choice {
    protocol::key_type cipher;
    protocol::hash_type hash;
    protocol::signature_type sigtype;
};

inline constexpr std::array<suite_choice, 7> crypto_suites{{
    {protocol::key_type::aes128_gcm, protocol::hash_type::sha256,
     protocol::signature_type::authenc},
    {protocol::key_type::aes256_gcm, protocol::hash_type::sha384,
     protocol::signature_type::authenc},
    {protocol::key_type::aes128_ccm, protocol::hash_type::sha256,
     protocol::signature_type::authenc},
    {protocol::key_type::aes256_ccm, protocol::hash_type::sha1, protocol::signature_type::authenc},
    {protocol::key_type::aes128_cbc, protocol::hash_type::sha1, protocol::signature_type::hmac},
    {protocol::key_type::aes256_cbc, protocol::hash_type::sha512, protocol::signature_type::hmac},
    {protocol::key_type::des_ede3, protocol::hash_type::sha256, protocol::signature_type::hmac},
}};

// A packet_cipher for crypto_suites[index] keyed with fixed bytes.
inline crypto::result<crypto::packet_cipher> fixed_key_cipher(std::size_t index) {
    const auto& c = crypto_suites[index];
    auto s = crypto::make_suite(c.cipher, c.hash, c.sigtype);
    if (!s.ok()) {
        return s.error();
    }
    std::vector<std::uint8_t> bytes(crypto::key_block_size(*s));
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        bytes[i] = static_cast<std::uint8_t>(0x11 * (i + 1));
    }
    auto keys = crypto::key_block::from_bytes(*s, bytes);
    if (!keys.ok()) {
        return keys.error();
    }
    return crypto::packet_cipher::create(*s, *keys);
}

} // namespace skycast::fuzz
