#pragma once
// Key derivation of UFTP 4 (§5.3) and the verify data of CLIENT_KEY and
// KEYINFO_ACK (§5.7). Every derived value is returned in guarded memory.
//
//   master       = PRF(premaster, "master secret", rand1 || rand2)[0..47]
//   client block = PRF(master, "key expansion", rand1 || rand2)
//   group master = 0x40 || 47 random bytes (server)
//   group block  = PRF(group_master, "key expansion", rand1)
//   block        = hmac_key (hash len) || key (key len) || salt (4)

#include "crypto/secure_memory.h"
#include "crypto/suites.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace skycast::crypto {

inline constexpr std::size_t master_secret_len = 48;
inline constexpr std::size_t group_master_len = 48;
inline constexpr std::size_t hello_random_len = 32;
inline constexpr std::size_t verify_data_len = 12;

using hello_random = std::array<std::uint8_t, hello_random_len>;

// A key block: hmac_key || key || salt in one guarded allocation.
class key_block {
public:
    key_block() = default; // empty: no keys yet
    // Takes `bytes` laid out as hmac_key || key || salt for `s` (for tests and
    // for blocks handed over from another process).
    static result<key_block> from_bytes(const suite& s, std::span<const std::uint8_t> bytes);
    // The same key material in a fresh guarded allocation (a per-lcore copy).
    result<key_block> clone() const;

    std::span<const std::uint8_t> hmac_key() const { return _bytes.span().first(_hmac_len); }
    std::span<const std::uint8_t> key() const { return _bytes.span().subspan(_hmac_len, _key_len); }
    std::span<const std::uint8_t, salt_len> salt() const {
        return _bytes.span().subspan(_hmac_len + _key_len).first<salt_len>();
    }
    std::span<const std::uint8_t> bytes() const { return _bytes.span(); }

private:
    key_block(secure_bytes bytes, std::size_t hmac_len, std::size_t key_len)
        : _bytes(std::move(bytes)), _hmac_len(hmac_len), _key_len(key_len) {}
    secure_bytes _bytes;
    std::size_t _hmac_len = 0;
    std::size_t _key_len = 0;
};

result<secure_bytes> derive_master_secret(protocol::hash_type hash,
                                          std::span<const std::uint8_t> premaster,
                                          const hello_random& rand1, const hello_random& rand2);

result<key_block> derive_client_key_block(const suite& s, std::span<const std::uint8_t> master,
                                          const hello_random& rand1, const hello_random& rand2);

// 0x40 (the UFTP 4 version byte) followed by 47 random bytes.
result<secure_bytes> make_group_master();

result<key_block> derive_group_key_block(const suite& s, std::span<const std::uint8_t> group_master,
                                         const hello_random& rand1);

// Verify data 1 (§5.7): group_id (BE) || private multicast address (4 bytes
// IPv4 or 16 IPv6; zero in unicast mode) || rand1 || rand2 || premaster. It
// contains the premaster, hence guarded memory. CLIENT_KEY signs it.
struct verify_data_1_inputs {
    std::uint32_t group_id = 0;
    std::span<const std::uint8_t> private_addr; // 4 or 16 bytes
    const hello_random* rand1 = nullptr;
    const hello_random* rand2 = nullptr;
    std::span<const std::uint8_t> premaster; // 48 (RSA) or 20 (ECDH) bytes
};
result<secure_bytes> build_verify_data_1(const verify_data_1_inputs& in);

// KEYINFO_ACK verify data: PRF(group_master, "client finished",
// Hash(VD1 || client key blob (only with client authentication) || group_master))[0..11].
result<std::array<std::uint8_t, verify_data_len>>
keyinfo_ack_verify_data(protocol::hash_type hash, std::span<const std::uint8_t> verify_data_1,
                        std::span<const std::uint8_t> client_key_blob,
                        std::span<const std::uint8_t> group_master);

// Recomputes the KEYINFO_ACK verify data and compares it in constant time:
// ok or verify_data_mismatch.
[[nodiscard]] crypto_error
check_keyinfo_ack_verify_data(protocol::hash_type hash, std::span<const std::uint8_t> verify_data_1,
                              std::span<const std::uint8_t> client_key_blob,
                              std::span<const std::uint8_t> group_master,
                              std::span<const std::uint8_t> received);

} // namespace skycast::crypto
