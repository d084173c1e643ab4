#pragma once
// A deterministic, seeded, in-process network for the real engines: one
// sender, N receivers, virtual time, an event queue whose ties break by
// insertion order, per-link delay/jitter/loss/bursty loss/duplication/
// reordering, a rate limit on the sender's link (dataplane/core's pacer),
// receivers that go silent or crash, and receiver destinations in a temp
// directory. The sender and receiver engines, the FILESEG builder and the
// receive path (accept_fileseg + block_bitmap) are the production code, and
// so is crypto/ in encrypted sessions (sender_config::encryption): the
// sender's dataplane seals FILESEGs with build_fileseg_sealed, each
// receiver's opens them with open_fileseg. Only the wire and the clock are
// simulated.
//
// Every processed event is folded into a 64-bit trace hash: the same seed and
// inputs give the same hash, which the determinism test checks. Key material
// is random on every run (crypto/'s CSPRNG, on purpose), so for REGISTER,
// CLIENT_KEY, KEYINFO and ENCRYPTED datagrams only the fixed 28-byte prefix
// (header, IV counter, lengths) goes into the hash: encrypted sessions are
// as deterministic as plain ones.
//
// Simplifications, on purpose: the rate limit applies to FILESEGs only
// (control datagrams leave unpaced, as they jump the TX ring's queue on the
// appliance but still take wire time there); receivers with the default
// link and no jitter/reordering/duplication share one delivery event per
// multicast datagram (each still draws its own loss), which keeps 10,000
// receivers affordable.

#include "control/engine/client_table.h"
#include "control/engine/file_list.h"
#include "control/engine/receiver_engine.h"
#include "control/engine/sender_engine.h"
#include "control/engine/session_config.h"
#include "dataplane/core/fec_receiver.h"
#include "tests/sim/link_model.h"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace skycast::sim {

namespace engine = control::engine;
using engine::time_ns;

// The UIDs the simulator gives the sender and receiver `index` (0-based);
// also their IPv4 addresses.
inline constexpr std::uint32_t sender_uid = 0x0A000001;
inline constexpr std::uint32_t receiver_uid(std::uint32_t index) {
    return 0x0A010000 + index + 1;
}

struct receiver_profile {
    link_profile down;                       // sender -> receiver
    link_profile up;                         // receiver -> sender
    double crash_at_s = -1;                  // >= 0: the receiver process dies at this sim time
    double silent_at_s = -1;                 // >= 0: nothing it sends arrives after this time
    std::optional<std::uint64_t> free_space; // bytes; unset: the real file system's
    // Replaces sim_config::receiver_encryption for this receiver.
    std::optional<engine::receiver_encryption> encryption;
    // Decodes FEC parity (a Skycast receiver); false: NAKs data blocks, as
    // a stock receiver does in a FEC session.
    bool fec_capable = true;
    // A proxy in this receiver's path that listens on the session port only
    // (stock uftpproxyd): no PARITY reaches it (docs/protocol.md §17.6).
    bool parity_blocked = false;
    // An attacker on this receiver's downlink: may change each datagram
    // (copy) before it arrives (e.g. flip a bit of every FILESEG).
    std::function<void(std::vector<std::uint8_t>&)> tamper;
};

struct sim_config {
    std::uint64_t seed = 1;
    std::uint32_t receivers = 1;
    link_profile link; // both directions of every receiver unless overridden
    std::map<std::uint32_t, receiver_profile> overrides; // by receiver index (0-based)
    std::uint64_t rate_bps = 100'000'000;                // sender link, wire bits/s; 0 = unlimited
    engine::sender_config sender; // ids and addresses are filled in by the simulator
    // Every receiver's keys and policy (receiver_profile may override).
    engine::receiver_encryption receiver_encryption;
    // Every receiver's control.control_copies.
    std::uint32_t receiver_control_copies = 1;
    // ... and control.copy_spacing.
    engine::time_ns receiver_copy_spacing = engine::default_copy_spacing;
    std::vector<engine::file_entry> files;
    std::string work_dir; // receiver i receives into work_dir/r<i>
    // Called once per receiver before the run, e.g. to plant a hostile symlink.
    std::function<void(std::uint32_t index, const std::string& destination)> prepare_destination;
    double time_limit_s = 7200;
    // Every run is bounded by an event count too, so an engine that loops
    // (re-arming a timer at the same instant, answering itself) fails fast
    // with event_limit_hit instead of running away. 0: no bound.
    std::uint64_t max_events = 200'000'000;
    // false: receivers write nothing; every block the receive path accepts is
    // compared with the sender's bytes instead (for scale runs whose total
    // would not fit a disk). Final files are then empty placeholders, and a
    // receiver is OK when it completed every file with no block mismatch.
    bool store_files = true;
    // >= 0: the sender aborts the session at this sim time.
    double sender_abort_at_s = -1;
    // >= 0: print that receiver's control events to stderr (debugging aid).
    std::int64_t debug_receiver = -1;
};

struct receiver_report {
    std::uint32_t uid = 0;
    engine::receiver_outcome outcome = engine::receiver_outcome::running;
    std::string reason;                                                // the receiver's own account
    engine::client_outcome at_sender = engine::client_outcome::active; // if it registered
    std::string sender_reason;                                         // the sender's account
    bool crashed = false;
    bool ok = false;                      // finished and every file byte-identical
    std::string mismatch;                 // the first difference found, if any
    std::uint32_t visible_incomplete = 0; // final-name files that differ from the source
    std::uint32_t temp_files_left = 0;
    std::uint32_t stale_temp_files_removed = 0; // at its start, as a node does
    std::int32_t groups_still_joined = 0;       // multicast memberships the session kept
    std::uint64_t block_mismatches = 0; // no-store mode: blocks that differed from the source
    std::vector<engine::file_result> files;
    engine::receiver_stats stats;
};

struct sim_report {
    double sim_seconds = 0; // until the last event that did anything (receivers' last timers too)
    // When the sender's session ended (every receiver done or dropped): the
    // transfer time a sender's user sees. -1 if it never ended.
    double sender_finished_seconds = -1;
    // The sender's phases as they changed: (sim seconds, phase).
    std::vector<std::pair<double, engine::sender_phase>> sender_phases;
    // Every pass the sender's engine asked for, as it asked: what a run's
    // repair rounds were made of (a burst's cost shows as a further pass).
    struct pass_record {
        double at = 0; // sim seconds
        std::uint32_t pass = 0;
        std::uint64_t data_blocks = 0;
        std::uint64_t parity_blocks = 0;
        std::uint32_t parity_groups = 0; // groups with parity in the pass
        std::uint32_t longest_run = 0;   // the most parity one group got
    };
    std::vector<pass_record> passes;
    // The engine's own account of the same (sender_engine::time_in_phases).
    engine::phase_times sender_phase_times;
    double wall_seconds = 0;
    double sender_engine_seconds = 0; // wall time spent in the sender engine's on_datagram()
    std::uint64_t trace_hash = 0;
    std::uint64_t events = 0;
    std::uint64_t datagrams_down = 0; // sender datagrams delivered (after loss)
    std::uint64_t datagrams_up = 0;
    std::uint64_t filesegs_dropped_rx = 0; // receive-path drops (duplicates etc.)
    // Datagrams the sender put on the wire, by function code (the outer one:
    // 18 for everything sealed), and by receivers (summed).
    std::array<std::uint64_t, 32> sender_sent_by_type{};
    std::array<std::uint64_t, 32> receivers_sent_by_type{};
    std::uint64_t seal_failures = 0; // FILESEGs the sender's dataplane could not seal
    // FEC (docs/protocol.md §17): PARITY datagrams the sender put on the wire
    // in the clear (not in sender_sent_by_type; sealed ones count as
    // ENCRYPTED there), parity the builder could not make, and
    // the receivers' parity counters, summed.
    std::uint64_t parity_datagrams = 0;
    std::uint64_t parity_failures = 0;
    dataplane::fec_rx_counters fec_rx;
    // Receive-path drops of encrypted sessions, summed over receivers.
    std::uint64_t filesegs_not_authentic = 0;
    std::uint64_t filesegs_unencrypted = 0;
    bool time_limit_hit = false;
    bool event_limit_hit = false; // stopped after sim_config::max_events events
    std::string sender_failure;
    double final_grtt = 0;
    engine::sender_stats sender;
    std::vector<receiver_report> receivers;
    std::uint32_t receivers_ok = 0;
};

sim_report run_simulation(const sim_config& config);

// Checks a destination against the files sent: identical content, mtime and
// link targets for every safely named entry. Sets ok/mismatch/visible_incomplete/temp_files_left.
void verify_destination(const std::vector<engine::file_entry>& files,
                        const std::string& destination, receiver_report& report);

} // namespace skycast::sim
