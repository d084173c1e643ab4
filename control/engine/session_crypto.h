#pragma once
// The engines' side of an encrypted session (spec §5): the suite an engine
// runs, the sender's per-client key material in guarded slabs, and the
// names of the cipher suites for command lines. The handshake's steps are in
// key_exchange.h; the messages around them are the engines'.

#include "control/engine/key_exchange.h"
#include "control/engine/ports.h"
#include "control/engine/session_config.h"
#include "crypto/key_schedule.h"
#include "crypto/keys.h"
#include "crypto/packet_cipher.h"
#include "crypto/result.h"
#include "crypto/secure_memory.h"
#include "crypto/suites.h"
#include "protocol/messages.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace skycast::control::engine {

// The signature type a cipher gets when the configuration leaves it to the
// suite: AUTHENC for GCM/CCM, HMAC for CBC (stock `-w hmac`).
protocol::signature_type default_sigtype(protocol::key_type cipher);

// Validates the configured suite (make_suite with the default sigtype
// resolved) and the server key's type against the key exchange.
crypto::result<crypto::suite> sender_suite(const sender_encryption& e);

// The key a client authenticates with for a server key of `server_kind` in
// `keyex`: RSA for rsa/ecdh_rsa, EC for ecdh_ecdsa (spec §2.3). Null if none fits.
const crypto::private_key*
client_key_for(const std::vector<std::shared_ptr<const crypto::private_key>>& keys,
               protocol::keyexchange_type keyex);

// "aes256-gcm", "aes128-ccm", "aes256-cbc" (HMAC), "aes256-cbc+keyex",
// "3des", ...: the `uftp -Y` names, with "+hmac"/"+keyex" for the CBC
// signature type. False for anything else (DES is refused: spec §12 #20).
bool parse_cipher_name(std::string_view text, protocol::key_type& cipher,
                       protocol::signature_type& sigtype);
// "rsa", "ecdh_rsa", "ecdh_ecdsa" (`uftp -e`).
bool parse_keyex_name(std::string_view text, protocol::keyexchange_type& keyex);
// "sha1", "sha256", "sha384", "sha512" (`uftp -h`).
bool parse_hash_name(std::string_view text, protocol::hash_type& hash);

// The sender's per-client secrets: each client's key block (to encrypt its
// KEYINFO entry), the KEYINFO_ACK verify data it must answer with and, with
// client authentication, verify data 1 until its CLIENT_KEY is checked, at a
// fixed stride in guarded memory. Slabs of many clients each, not one
// sodium_malloc per client: a guarded allocation costs whole pages plus
// guard pages, which would put 100,000 clients far over the 2 KiB budget.
// Slots are indexed by the client table's dense handle.
class client_key_store {
public:
    static constexpr std::size_t clients_per_slab = 256;
    // `vd1_bytes`: 0 without client authentication.
    void init(std::size_t key_block_bytes, std::size_t vd1_bytes);
    // The slot of `handle`, allocating its slab on first use; empty when
    // guarded memory ran out.
    std::span<std::uint8_t> slot(std::uint32_t handle);
    std::span<std::uint8_t> key_block(std::uint32_t handle) {
        auto s = slot(handle);
        return s.empty() ? s : s.first(_key_block_bytes);
    }
    std::span<std::uint8_t> ack_verify(std::uint32_t handle) {
        auto s = slot(handle);
        return s.empty() ? s : s.subspan(_key_block_bytes, crypto::verify_data_len);
    }
    std::span<std::uint8_t> vd1(std::uint32_t handle) {
        auto s = slot(handle);
        return s.empty() ? s : s.subspan(_key_block_bytes + crypto::verify_data_len, _vd1_bytes);
    }

private:
    std::size_t _key_block_bytes = 0;
    std::size_t _vd1_bytes = 0;
    std::size_t _stride = 0;
    std::vector<crypto::secure_bytes> _slabs;
};

// Everything the sender holds for an encrypted session.
struct sender_crypto {
    crypto::suite suite;
    bool client_auth = false;
    crypto::hello_random rand1{};
    std::optional<crypto::private_key> ecdh; // the per-session ECDH key (ECDH modes)
    crypto::secure_bytes group_master;
    std::shared_ptr<session_keys> keys; // group keys, for the dataplane
    std::optional<crypto::packet_cipher> cipher;
    protocol::enc_info_ext enc_info; // what every ANNOUNCE carries (signature zeroed)
    client_key_store store;
    // REGISTER and CLIENT_KEY may arrive in either order (spec §2.3): the
    // CLIENT_KEY's key and signature until both are in, by UID (verify data
    // 1 waits in `store`). Bounded.
    struct pending_auth {
        std::optional<crypto::public_key> key;
        protocol::bytes signature;
    };
    std::unordered_map<std::uint32_t, pending_auth> pending;
    // `-w keyex`: each client's key, to verify what it seals (by UID).
    std::unordered_map<std::uint32_t, crypto::public_key> client_keys;
};

// The receiver's side of the same.
struct receiver_crypto {
    crypto::suite suite;
    protocol::keyexchange_type keyex = protocol::keyexchange_type::none;
    bool client_auth = false;
    std::optional<crypto::public_key> server_key;
    const crypto::private_key* own_key = nullptr; // CLIENT_KEY / KEYEX signer
    client_handshake handshake;                   // what REGISTER carries, until KEYINFO
    protocol::bytes client_key_sig;               // CLIENT_KEY's signature over verify data 1
    std::optional<crypto::packet_cipher> cipher;  // after KEYINFO
    std::shared_ptr<session_keys> keys;           // for the dataplane
    std::array<std::uint8_t, crypto::verify_data_len> ack_verify{};
    std::uint64_t iv = 0; // our own IV counter (spec §5.8: one per sender)
};

} // namespace skycast::control::engine
