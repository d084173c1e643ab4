#pragma once
// Heartbeats to upstream proxies (spec §7, §2.16; stock `uftpproxyd -c -H`,
// `uftpd -H`): an HB_REQ to each listed proxy every interval keeps a NAT's
// pinhole open so that the proxy's traffic can reach us. A server proxy that
// pins our key's fingerprint answers CHALLENGE with a nonce; with a key we
// answer at once with an HB_REQ carrying the nonce, our key blob and our
// SHA-1 signature of the nonce, which proves that we are the downstream it
// waits for. Without a key a challenge cannot be answered (counted).
//
// Driven like the engines: start(), on_response(), on_timer(), next_deadline().

#include "control/engine/ports.h"
#include "crypto/keys.h"
#include "protocol/messages.h"

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace skycast::control::engine {

// Every counter says what a non-zero value means.
struct heartbeat_stats {
    std::uint64_t sent = 0;          // HB_REQ sent, signed or not
    std::uint64_t signed_sent = 0;   // of which answered a challenge with our signature
    std::uint64_t ok = 0;            // HB_RESP OK
    std::uint64_t failed = 0;        // HB_RESP FAILED: the proxy does not take our key
    std::uint64_t challenges = 0;    // HB_RESP CHALLENGE
    std::uint64_t unanswerable = 0;  // a challenge and no key to answer it with
    std::uint64_t from_unknown = 0;  // an HB_RESP from a host we send no heartbeats to
    std::uint64_t sign_failures = 0; // our key could not sign (a broken key)
};

class heartbeat_sender {
public:
    static constexpr time_ns default_interval = 20 * ns_per_second; // stock -h

    // `key` may be null (unauthenticated heartbeats only).
    heartbeat_sender(std::uint32_t own_id, std::vector<endpoint> proxies, time_ns interval,
                     std::shared_ptr<const crypto::private_key> key, network_port& network);

    void start(time_ns now);
    void on_response(time_ns now, endpoint from, const protocol::hb_resp_msg& m);
    void on_timer(time_ns now);
    time_ns next_deadline() const { return _proxies.empty() ? no_deadline : _next; }

    const heartbeat_stats& stats() const { return _stats; }
    // The proxies that took our last heartbeat (HB_RESP OK).
    std::size_t accepted() const;

private:
    struct target {
        endpoint at;
        std::uint32_t nonce = 0; // the last challenge's; 0: none yet
        bool accepted = false;
    };
    void send(target& t);
    void send_all(time_ns now); // one to each proxy; the next round an interval on

    std::uint32_t _own_id;
    std::vector<target> _proxies;
    time_ns _interval;
    std::shared_ptr<const crypto::private_key> _key;
    network_port& _network;
    heartbeat_stats _stats;
    time_ns _next = no_deadline;
    std::uint16_t _seq = 0;
    std::array<std::uint8_t, protocol::max_datagram_size> _buffer{};
};

} // namespace skycast::control::engine
