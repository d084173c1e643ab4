#pragma once
// The control process's side of the IPC contract (dataplane/api/): attach to
// a running skycast-dataplane as a DPDK secondary — its memzone, rings and
// control pool, found by name — check the contract version, and exchange
// commands, datagrams and events. The EAL must already be initialised as a
// secondary with the dataplane's --file-prefix.
//
// Never busy-spins (style rule 10, docs/architecture.md): waits back off with short sleeps,
// since control's deadlines are GRTT-scale (milliseconds).

#include "control/engine/held_copies.h"
#include "dataplane/api/contract.h"
#include "dataplane/api/shared_layout.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

struct rte_ring;
struct rte_mempool;
struct rte_memzone;

namespace skycast::control {

namespace api = dataplane::api;

// Monotonic nanoseconds (steady_clock): the clock control's loop, its ages
// and the held control copies (send_later) run on; a wall-clock step
// cannot make them negative.
std::int64_t steady_ns();

class dataplane_link {
public:
    // Before rte_eal_init as a secondary (which cannot be retried in one
    // process): waits until a live primary under `file_prefix` holds its
    // runtime configuration (files a killed primary left do not count).
    // False after `wait` without one.
    static bool wait_for_primary(const std::string& file_prefix, std::chrono::milliseconds wait);

    // Looks the shared objects up, waiting up to `wait` for a dataplane that
    // is still starting. nullopt with `error` saying what is missing or
    // mismatched (contract version, a dataplane that is not running).
    static std::optional<dataplane_link> attach(std::chrono::milliseconds wait, std::string& error);

    api::shared_view shared() const { return api::shared_view(_zone_addr); }
    std::uint64_t generation() const { return _generation; }
    // Whether the dataplane this link attached to is still the one running
    // (not stopped, not restarted with a new generation, heart still beating).
    bool alive();

    // The control process takes over: checks that the dataplane answers
    // commands, has it accept UDP to `port` (the sessions' port) and records
    // our pid in the memzone. False with `error` saying what failed.
    bool take_control(std::uint16_t port, std::string& error);

    // Sends a command and waits for its reply (matched by request id);
    // nullopt on timeout or when the command ring stays full.
    std::optional<api::reply> call(api::command cmd, std::chrono::milliseconds timeout);

    // Queues a UFTP datagram for the wire; false when no mbuf or the ring is
    // full (counted by the caller; UFTP retransmits).
    bool send(api::endpoint4 to, std::uint16_t from_port, std::span<const std::uint8_t> datagram);
    // A spaced control copy (engine::network_port::send_later): held here,
    // in the control process, until send_due() finds it due `delay_ns` from
    // now. When the hold is full it is sent at once (counted). False only
    // when that send fails.
    bool send_later(api::endpoint4 to, std::uint16_t from_port,
                    std::span<const std::uint8_t> datagram, std::int64_t delay_ns);
    // Sends the held copies that are due (the node's loop, every round);
    // true if there were any. A failed send is counted in held_send_failures.
    bool send_due();
    // Nanoseconds until the next held copy is due (0: overdue), or nullopt.
    std::optional<std::int64_t> next_due_in() const;
    const engine::held_copies::counters& held_stats() const { return _held.stats(); }
    std::uint64_t held_send_failures() const { return _held_send_failures; }

    // A received datagram, copied out of its mbuf (which is freed).
    struct received {
        api::datagram meta;
        std::span<const std::uint8_t> bytes; // valid until the next receive()
    };
    std::optional<received> receive();
    std::optional<api::tx_event> next_tx_event();

private:
    void* _zone_addr = nullptr;
    std::uint64_t _generation = 0;
    rte_ring* _command = nullptr;
    rte_ring* _control_tx = nullptr;
    rte_ring* _reply = nullptr;
    rte_ring* _tx_event = nullptr;
    rte_ring* _received = nullptr;
    rte_mempool* _pool = nullptr;
    std::uint64_t _next_request = 1;
    std::uint64_t _last_beat = 0;
    std::chrono::steady_clock::time_point _last_beat_change;
    std::uint8_t _buffer[api::max_datagram];
    engine::held_copies _held; // due times on the steady clock
    std::uint64_t _held_send_failures = 0;
};

} // namespace skycast::control
