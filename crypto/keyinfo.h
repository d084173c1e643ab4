#pragma once
// KEYINFO entries (§5.5): the server encrypts group_master[1..47] (47 bytes)
// for each client with the client's key-block key and salt, with the session
// cipher forced to CBC (GCM/CCM -> AES-CBC of the same size), the IV built
// from the client's salt, the *server's* UID and the KEYINFO IV counter;
// PKCS#7 pads it to the 48-byte entry. The client decrypts, requires exactly
// 47 bytes and puts back the version byte of the header it received (0x40).
// Once per client per session: these allocate freely.

#include "crypto/key_schedule.h"

#include <array>
#include <cstdint>

namespace skycast::crypto {

inline constexpr std::size_t keyinfo_entry_len = 48;
using keyinfo_ciphertext = std::array<std::uint8_t, keyinfo_entry_len>;

result<keyinfo_ciphertext> encrypt_group_master(const suite& s, const key_block& client_keys,
                                                std::uint32_t server_uid, std::uint64_t iv_ctr,
                                                std::span<const std::uint8_t> group_master);

// Returns the 48-byte group master: `version` || the 47 decrypted bytes.
result<secure_bytes> decrypt_group_master(const suite& s, const key_block& client_keys,
                                          std::uint32_t server_uid, std::uint64_t iv_ctr,
                                          const keyinfo_ciphertext& entry,
                                          std::uint8_t version = protocol::uftp_version);

} // namespace skycast::crypto
