#pragma once
// The two halves of UFTP 4's key exchange (spec §5.2–§5.7), as steps any
// engine can drive. A receiver runs the client's half with its server; a
// sender runs the server's half with each client; a response proxy runs
// both: the client's half with the server, for itself, and the server's
// half with its own clients, whose premasters are made with the proxy's keys
// (docs/protocol.md §7.1). The messages around them (REGISTER, KEYINFO,
// KEYINFO_ACK) stay with the engines.

#include "crypto/key_schedule.h"
#include "crypto/keyinfo.h"
#include "crypto/keys.h"
#include "crypto/result.h"
#include "crypto/secure_memory.h"
#include "protocol/messages.h"

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace skycast::control::engine {

// --- The client's half -----------------------------------------------------

// What a client sends in its REGISTER and keeps until its KEYINFO entry.
struct client_handshake {
    crypto::hello_random rand1{};
    crypto::hello_random rand2{};
    protocol::bytes key_info;       // RSA-encrypted premaster, or our ECDH blob
    crypto::key_block client_block; // opens our KEYINFO entry
    crypto::secure_bytes vd1;       // verify data 1 (CLIENT_KEY signs it)
};

struct client_handshake_inputs {
    const crypto::suite* suite = nullptr;
    protocol::keyexchange_type keyex = protocol::keyexchange_type::none;
    // RSA: the key the premaster is encrypted to (the server's, or a
    // response proxy's). ECDH: the peer's ECDH key, on whose curve ours is made.
    const crypto::public_key* peer = nullptr;
    std::span<const std::uint8_t> rand1; // the ANNOUNCE's
    std::uint32_t group_id = 0;
    std::span<const std::uint8_t> private_addr; // 4 (IPv4) or 16 bytes
    std::uint32_t unix_time = 0;                // rand2's first bytes (spec §5.2)
};

// Makes the premaster, rand2 and the client's key block and verify data 1.
// Empty on success, else the reason, worded for an ABORT.
std::string begin_client_handshake(const client_handshake_inputs& in, client_handshake& out);

// What a client holds once its KEYINFO entry is open.
struct client_keyed {
    crypto::secure_bytes group_master;
    crypto::key_block group_block;
    std::array<std::uint8_t, crypto::verify_data_len> ack_verify{}; // our KEYINFO_ACK's
};

// Opens our KEYINFO entry (the IV built with the server's UID, spec §5.5)
// and derives the group keys and our KEYINFO_ACK's verify data. `own_blob`:
// our key's blob with client authentication, else empty.
crypto::result<client_keyed> open_keyinfo_entry(const crypto::suite& s, const client_handshake& h,
                                                std::uint32_t server_uid, std::uint64_t iv_ctr,
                                                const crypto::keyinfo_ciphertext& entry,
                                                std::span<const std::uint8_t> own_blob);

// --- The server's half -----------------------------------------------------

// A client's secrets, from its REGISTER.
struct client_secrets {
    crypto::key_block block;  // its KEYINFO entry is encrypted with it
    crypto::secure_bytes vd1; // its KEYINFO_ACK and CLIENT_KEY are checked against it
};

struct server_handshake_inputs {
    const crypto::suite* suite = nullptr;
    // RSA key exchange: our RSA key, which the premaster was encrypted to.
    const crypto::private_key* rsa_key = nullptr;
    // ECDH key exchange: our ECDH key (null in an RSA key exchange).
    const crypto::private_key* ecdh_key = nullptr;
    std::span<const std::uint8_t> key_info; // the REGISTER's
    const crypto::hello_random* rand1 = nullptr;
    std::span<const std::uint8_t> rand2; // the REGISTER's
    std::uint32_t group_id = 0;
    std::span<const std::uint8_t> private_addr; // 4 or 16 bytes
};

// The premaster from the client's key info, then its key block and verify
// data 1. An RSA ciphertext that does not decrypt yields a random premaster
// instead of an error (no padding oracle, crypto/key_exchange.h): its sender
// simply cannot answer KEYINFO. Fails for an ECDH blob that does not parse
// or is on another curve.
crypto::result<client_secrets> accept_client_handshake(const server_handshake_inputs& in);

// The 48-byte KEYINFO entry for one client (spec §5.5), with the IV built
// from the server's UID.
crypto::result<protocol::keyinfo_entry>
keyinfo_entry_for(const crypto::suite& s, std::uint32_t client_uid,
                  std::span<const std::uint8_t> client_block_bytes, std::uint32_t server_uid,
                  std::uint64_t iv_ctr, std::span<const std::uint8_t> group_master);

} // namespace skycast::control::engine
