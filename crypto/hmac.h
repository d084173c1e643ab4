#pragma once
// HMAC with the key's pads hashed once per session, so that each packet costs
// two state copies and the hashing itself, with no allocation. (OpenSSL 3's
// EVP_MAC re-initialisation and EVP_MD_CTX copies allocate on every call, see
// tests/unit/crypto/allocation_test.cc, which is not acceptable on an lcore.)
// The two prepared states are key material and live in guarded memory.

#include "crypto/secure_memory.h"
#include "crypto/suites.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace skycast::crypto {

class prepared_hmac {
public:
    prepared_hmac() = default;
    static result<prepared_hmac> create(protocol::hash_type hash,
                                        std::span<const std::uint8_t> key);

    // HMAC of the concatenation of `parts` into out[0..size()). `out` must
    // hold size() bytes. Allocation-free.
    void compute(std::span<const std::span<const std::uint8_t>> parts,
                 std::span<std::uint8_t> out) const;
    std::size_t size() const { return _size; }

private:
    protocol::hash_type _hash = protocol::hash_type::none;
    std::size_t _size = 0;
    secure_bytes _states; // inner state || outer state
};

} // namespace skycast::crypto
