#pragma once
// A receiver's side of KEY_REQ / PROXY_KEY (spec §2.16, §7): a receiver that
// answers a response proxy (receiver_config::response_proxy) does the key
// exchange of encrypted sessions with the proxy's keys, not the server's.
// It asks for them with KEY_REQ at start and every 5 s until a PROXY_KEY
// from the proxy's address carries a key whose signature of the nonce
// verifies (SHA-1) and, when a fingerprint is configured, whose fingerprint
// matches. Anything else is refused and counted: a forged PROXY_KEY gets no
// session's key exchange.
//
// One per receiver node, shared by its sessions (an engine reads keys() when
// it joins an encrypted session); driven like the engines.

#include "control/engine/ports.h"
#include "crypto/keys.h"
#include "protocol/messages.h"

#include <array>
#include <cstdint>
#include <optional>

namespace skycast::control::engine {

struct proxy_keys {
    crypto::public_key key;               // RSA: premasters are encrypted to it
    std::optional<crypto::public_key> dh; // ECDH modes: the proxy's ECDH key
};

struct proxy_key_stats {
    std::uint64_t key_requests_sent = 0;
    std::uint64_t proxy_keys_in = 0;
    std::uint64_t accepted = 0;        // a valid PROXY_KEY (first, or a changed key)
    std::uint64_t wrong_source = 0;    // not from our proxy's address: another proxy's
    std::uint64_t signature_bad = 0;   // the nonce's signature does not verify: forged
    std::uint64_t fingerprint_bad = 0; // not the key the configuration pins
    std::uint64_t malformed_key = 0;   // a key or ECDH blob that does not parse
};

class proxy_key_client {
public:
    static constexpr time_ns request_interval = 5 * ns_per_second; // stock uftpd's

    // `fingerprint`: the proxy key's, when pinned (stock uftpd -R proxy/fp).
    proxy_key_client(std::uint32_t own_id, endpoint proxy,
                     std::optional<crypto::fingerprint> fingerprint, network_port& network);

    void start(time_ns now);
    // A PROXY_KEY from `from` (decoded by the caller).
    void on_proxy_key(time_ns now, endpoint from, const protocol::proxy_key_msg& m);
    void on_timer(time_ns now);
    time_ns next_deadline() const { return _keys ? no_deadline : _next_request; }

    // Null until a valid PROXY_KEY arrived.
    const proxy_keys* keys() const { return _keys ? &*_keys : nullptr; }
    const proxy_key_stats& stats() const { return _stats; }

private:
    void request(time_ns now);

    std::uint32_t _own_id;
    endpoint _proxy;
    std::optional<crypto::fingerprint> _fingerprint;
    network_port& _network;
    std::optional<proxy_keys> _keys;
    time_ns _next_request = no_deadline;
    std::uint16_t _seq = 0;
    proxy_key_stats _stats;
    std::array<std::uint8_t, 64> _buffer{};
};

} // namespace skycast::control::engine
