// The low-level SHA contexts are deprecated in OpenSSL 3 but are the only
// allocation-free streaming hash states it offers; they stay in 3.x and use
// the same assembly (SHA-NI/AVX2) as EVP.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "crypto/hmac.h"

#include <array>
#include <cassert>
#include <cstring>
#include <openssl/sha.h>

namespace skycast::crypto {
namespace {

using protocol::hash_type;

constexpr std::size_t max_state = sizeof(SHA512_CTX);
static_assert(sizeof(SHA_CTX) <= max_state && sizeof(SHA256_CTX) <= max_state);
constexpr std::size_t max_block = 128;

std::size_t block_size(hash_type h) {
    return h == hash_type::sha384 || h == hash_type::sha512 ? 128 : 64;
}

// Streaming hash over a state buffer, dispatched on the hash type.
void hash_init(hash_type h, void* state) {
    switch (h) {
    case hash_type::sha1:
        SHA1_Init(static_cast<SHA_CTX*>(state));
        break;
    case hash_type::sha256:
        SHA256_Init(static_cast<SHA256_CTX*>(state));
        break;
    case hash_type::sha384:
        SHA384_Init(static_cast<SHA512_CTX*>(state));
        break;
    default:
        SHA512_Init(static_cast<SHA512_CTX*>(state));
        break;
    }
}

void hash_update(hash_type h, void* state, const void* data, std::size_t len) {
    switch (h) {
    case hash_type::sha1:
        SHA1_Update(static_cast<SHA_CTX*>(state), data, len);
        break;
    case hash_type::sha256:
        SHA256_Update(static_cast<SHA256_CTX*>(state), data, len);
        break;
    case hash_type::sha384:
        SHA384_Update(static_cast<SHA512_CTX*>(state), data, len);
        break;
    default:
        SHA512_Update(static_cast<SHA512_CTX*>(state), data, len);
        break;
    }
}

void hash_final(hash_type h, void* state, std::uint8_t* out) {
    switch (h) {
    case hash_type::sha1:
        SHA1_Final(out, static_cast<SHA_CTX*>(state));
        break;
    case hash_type::sha256:
        SHA256_Final(out, static_cast<SHA256_CTX*>(state));
        break;
    case hash_type::sha384:
        SHA384_Final(out, static_cast<SHA512_CTX*>(state));
        break;
    default:
        SHA512_Final(out, static_cast<SHA512_CTX*>(state));
        break;
    }
}

} // namespace

result<prepared_hmac> prepared_hmac::create(hash_type hash, std::span<const std::uint8_t> key) {
    auto spec = hash_for(hash);
    if (!spec) {
        return spec.error();
    }
    auto states = secure_bytes::allocate(2 * max_state);
    if (!states) {
        return states.error();
    }
    const std::size_t block = block_size(hash);
    // Keys longer than a block are hashed first (RFC 2104); UFTP's keys never are.
    std::array<std::uint8_t, max_block> k{};
    if (key.size() > block) {
        alignas(16) std::array<std::uint8_t, max_state> tmp{};
        hash_init(hash, tmp.data());
        hash_update(hash, tmp.data(), key.data(), key.size());
        hash_final(hash, tmp.data(), k.data());
        secure_zero(tmp);
    } else if (!key.empty()) {
        std::memcpy(k.data(), key.data(), key.size());
    }
    std::array<std::uint8_t, max_block> pad{};
    for (int which = 0; which < 2; ++which) {
        const std::uint8_t x = which == 0 ? 0x36 : 0x5c;
        for (std::size_t i = 0; i < block; ++i) {
            pad[i] = static_cast<std::uint8_t>(k[i] ^ x);
        }
        void* state = states->data() + static_cast<std::size_t>(which) * max_state;
        hash_init(hash, state);
        hash_update(hash, state, pad.data(), block);
    }
    secure_zero(k);
    secure_zero(pad);
    prepared_hmac h;
    h._hash = hash;
    h._size = spec->len;
    h._states = std::move(states).value();
    return h;
}

void prepared_hmac::compute(std::span<const std::span<const std::uint8_t>> parts,
                            std::span<std::uint8_t> out) const {
    assert(out.size() >= _size);
    alignas(16) std::array<std::uint8_t, max_state> state;
    std::array<std::uint8_t, 64> inner{};
    std::memcpy(state.data(), _states.data(), max_state);
    for (const auto& part : parts) {
        hash_update(_hash, state.data(), part.data(), part.size());
    }
    hash_final(_hash, state.data(), inner.data());
    std::memcpy(state.data(), _states.data() + max_state, max_state);
    hash_update(_hash, state.data(), inner.data(), _size);
    hash_final(_hash, state.data(), inner.data());
    std::memcpy(out.data(), inner.data(), _size);
    secure_zero(state);
    secure_zero(inner);
}

} // namespace skycast::crypto
