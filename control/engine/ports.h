#pragma once
// The two seams through which the engines talk to the world
// (docs/architecture.md, "Data paths"): the network (send a UFTP datagram to an endpoint) and the
// dataplane (send a pass of a file from a bitmap; open a file for receiving
// and read its received bitmap). The real implementations sit on the DPDK
// rings; the simulator (tests/sim/) implements them in process. Engines
// never read a clock or sleep: every entry point takes `now`, and each
// engine reports the next instant it wants to be called (next_deadline()).

#include "crypto/key_schedule.h"
#include "crypto/keys.h"
#include "crypto/suites.h"
#include "protocol/blocks.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace skycast::control::engine {

// Nanoseconds on the caller's clock (virtual time in the simulator). Only
// differences matter, except that timestamps on the wire carry it as Unix
// seconds/microseconds.
using time_ns = std::uint64_t;
inline constexpr time_ns no_deadline = std::numeric_limits<time_ns>::max();
inline constexpr time_ns ns_per_second = 1'000'000'000;

inline time_ns seconds_to_ns(double s) {
    return s <= 0 ? 0 : static_cast<time_ns>(s * 1e9);
}

// An IPv4 address and UDP port, host order. Multicast groups are endpoints too.
struct endpoint {
    std::uint32_t address = 0;
    std::uint16_t port = 1044;
    bool operator==(const endpoint&) const = default;
};

// The sender's per-sender counters, shared by the engine and the dataplane:
// - the header sequence number (spec §1.2, §12 #3): control messages from the
//   engine and FILESEGs from the dataplane draw from the same counter;
// - the IV counter of encrypted sessions (spec §5.8): one per sender for
//   KEYINFO, sealed control messages and sealed FILESEGs alike, incremented
//   before each use (the first is 1). Two counters would repeat GCM nonces
//   under the one group key, which gives the key stream away.
// Both sides hold a reference to one instance. Single-threaded in the
// simulator; on the appliance the TX lcore owns both and stamps control
// messages as it frames them (the IV counter as a shared atomic).
//
// On the appliance the counters live in the dataplane's shared memzone
// (api::session_counters), where the TX lcore draws from them too: bind()
// points this object at them, and every draw is an atomic fetch_add.
struct sequence_counter {
    std::uint16_t value = 0;
    std::uint64_t iv = 0;
    std::atomic<std::uint32_t>* shared_value = nullptr;
    std::atomic<std::uint64_t>* shared_iv = nullptr;

    void bind(std::atomic<std::uint32_t>* seq, std::atomic<std::uint64_t>* ivs) {
        shared_value = seq;
        shared_iv = ivs;
    }
    std::uint16_t next() {
        if (shared_value != nullptr) {
            return static_cast<std::uint16_t>(
                shared_value->fetch_add(1, std::memory_order_relaxed));
        }
        return value++;
    }
    std::uint64_t next_iv() {
        if (shared_iv != nullptr) {
            return shared_iv->fetch_add(1, std::memory_order_relaxed) + 1;
        }
        return ++iv;
    }
};

// What the dataplane needs to seal (sender) or open (receiver) the FILESEGs
// of an encrypted session, made by the engine once the key exchange has
// produced the group keys (spec §5.3) and shared, unchanged, by every pass or
// file of the session. The dataplane builds its own per-lcore
// crypto::packet_cipher from it (packet_cipher::create(suite, group_keys,
// signer)). On the appliance the same fields cross as the session's slot in
// the shared memzone: suite IDs, the key block bytes (guarded memory) and,
// for KEYEX, the key blob.
struct session_keys {
    crypto::suite suite;
    crypto::key_block group_keys; // group hmac key || key || salt, guarded memory
    // Sender, `-w keyex` only: every sealed datagram is signed with this key.
    std::shared_ptr<const crypto::private_key> signer;
    // Receiver, `-w keyex` only: the sender's key that FILESEG signatures verify against.
    std::optional<crypto::public_key> sender_key;
};

class network_port {
public:
    virtual ~network_port() = default;
    // Queues one whole UFTP datagram (header included) for `to`. Never blocks;
    // a datagram the network cannot take is the network's to count.
    virtual void send(endpoint to, std::span<const std::uint8_t> datagram) = 0;
    // Queues a copy of `datagram` to leave `delay` from now. The appliance
    // holds it in the control process until it is due (it outlives the
    // engine that sent it); the simulator schedules it.
    virtual void send_later(endpoint to, std::span<const std::uint8_t> datagram, time_ns delay) = 0;
    // The same datagram `copies` times (control.control_copies; 0 counts as
    // 1), at copy_delay() after the first (spacing 0: back to back):
    // identical bytes, as a network duplicate would be, so a receiver (a
    // stock one too) takes the first and drops or re-answers the rest, and
    // on a lossy link a round rarely waits for a lost one. Spaced, one fade
    // does not take them all (docs/operations.md, "Lossy links").
    void send_copies(endpoint to, std::span<const std::uint8_t> datagram, std::uint32_t copies,
                     time_ns spacing);
};

// control.copy_spacing's default: a fade of the 20 ms that the lab and the
// simulator model (perf/README.md) has passed with a probability of 99 %
// (e^-5) 100 ms later, so two copies are about as likely to arrive as two
// independent ones, and at GEO (GRTT 0.5 s and more) the spacing costs no
// round anything.
inline constexpr time_ns default_copy_spacing = ns_per_second / 10;

// The spacing of a session's control copies: control.copy_spacing, but at
// most a quarter of the session's GRTT, so that every copy arrives within
// the round it belongs to (a round lasts at least a GRTT) and a sender's
// copy is not left more than 5 datagrams behind its newest, which
// receivers refuse (docs/protocol.md §1), by traffic of a later round.
inline time_ns copy_spacing(time_ns configured, double grtt_s) {
    return std::min(configured, seconds_to_ns(grtt_s / 4));
}

// When copy `i` (1 .. copies − 1) of a control datagram leaves, after the
// first, for copies `spacing` apart (copy_spacing()). Two copies: one
// spacing apart, against fades. Three or more: the second goes a tenth of
// a spacing after the first and the others a spacing apart from the first
// on. The second is against independent loss: with many receivers some
// answer of every round loses its first copy, and the round then waits a
// tenth of a spacing for it, not a whole one (docs/protocol.md §4.3). The
// third and later are against fades, as before.
inline time_ns copy_delay(std::uint32_t i, std::uint32_t copies, time_ns spacing) {
    if (copies < 3) {
        return i * spacing;
    }
    return i == 1 ? spacing / 10 : (i - 1) * spacing;
}

inline void network_port::send_copies(endpoint to, std::span<const std::uint8_t> datagram,
                                      std::uint32_t copies, time_ns spacing) {
    send(to, datagram);
    for (std::uint32_t i = 1; i < copies; ++i) {
        if (spacing == 0) {
            send(to, datagram);
        } else {
            send_later(to, datagram, copy_delay(i, copies, spacing));
        }
    }
}

// Multicast membership of sessions' private groups, counted (sessions may
// share a group): joined while a session needs to hear its group, left
// after. join_group() is false when the dataplane has no room for another
// group.
class membership_port {
public:
    virtual ~membership_port() = default;
    virtual bool join_group(std::uint32_t group) = 0;
    virtual void leave_group(std::uint32_t group) = 0;
};

// The proxies' seam (server_proxy.h, client_proxy.h): what a server (or a
// server proxy) sends, but for its ANNOUNCEs, goes on to the downstream
// without passing through the engine (on the appliance the RX lcore hands it
// to the TX lcore unchanged).
// A forwarded session's private group, where its data arrives, is joined
// through the membership_port half.
class forwarding_port : public membership_port {
public:
    // From now on everything `source` (an IPv4 address) sends for session
    // `group_id` (0: any session) goes to `to` (a host, or a multicast
    // group); false when there is no room for another rule. With
    // `tap_sealed` its sealed (ENCRYPTED) datagrams also reach the engine,
    // as copies: a client proxy that waits for a listing (client_proxy.h).
    // Called again for the same rule, it changes `to` and `tap_sealed`.
    virtual bool forward(std::uint32_t source, std::uint32_t group_id, endpoint to,
                         bool tap_sealed) = 0;
    virtual void stop_forwarding(std::uint32_t source, std::uint32_t group_id) = 0;
};

// FEC parity of one group that a pass sends: indices first_index ..
// first_index + count - 1 (docs/protocol.md §17).
struct parity_run {
    std::uint32_t group = 0; // file-wide (protocol::fec_groups)
    std::uint8_t first_index = 0;
    std::uint8_t count = 0;
    bool operator==(const parity_run&) const = default;
};

// Blocks set in a pass's bitmap (pass_request::blocks).
inline std::uint64_t count_blocks(const std::vector<std::uint64_t>& words) {
    std::uint64_t n = 0;
    for (const std::uint64_t w : words) {
        n += static_cast<std::uint64_t>(std::popcount(w));
    }
    return n;
}

// What the sender asks the dataplane to transmit: the blocks of one file
// whose bit is set in `blocks` (1 = send), in order, at the configured rate.
// In a FEC session, each group's parity runs go right after the group's data
// blocks of the pass (or in its place when the pass sends none of them).
struct pass_request {
    std::uint16_t file_id = 0;
    std::string source_path; // the dataplane opens the file itself (docs/architecture.md)
    protocol::section_layout layout;
    std::uint32_t pass = 1;
    std::vector<std::uint64_t> blocks; // words of a bitmap over the file's blocks
    // FEC session: k (0: none), where PARITY goes, and the runs, by group.
    std::uint32_t fec_group_blocks = 0;
    std::uint32_t fec_span_groups = 1; // groups interleaved per span (protocol/fec_groups.h)
    endpoint parity_to;
    std::vector<parity_run> parity;
    // Encrypted session: seal every FILESEG with these keys, IV counter from
    // the shared sequence_counter. Null: unencrypted.
    std::shared_ptr<const session_keys> keys;
    // Wire bits per second (overload_rate.h); 0: the node's configured rate.
    std::uint64_t rate_bps = 0;
};

class sender_dataplane_port {
public:
    virtual ~sender_dataplane_port() = default;
    // Starts a pass; the dataplane later calls the engine's on_pass_end().
    // False: the dataplane did not take it (counted, its reason in the
    // port's last error), and no on_pass_end() will come.
    virtual bool start_pass(pass_request request) = 0;
    // Stops the pass in progress, if any (session abort). No on_pass_end().
    virtual void stop_pass() = 0;
    // The block the pass in progress will send next (blocks() when idle):
    // the engine ignores NAKs for the section still being transmitted.
    virtual std::uint32_t pass_cursor() const = 0;
    // Bytes of blocks the pass in progress has sent so far.
    virtual std::uint64_t pass_bytes_sent() const = 0;
    // Changes the rate of the pass in progress (and of none after it: each
    // pass_request carries its own); 0 = the node's configured rate.
    virtual void set_pass_rate(std::uint64_t rate_bps) = 0;
};

// Identifies a FILESEG stream the receive path must accept.
struct receive_request {
    std::uint32_t sender_id = 0;
    std::uint32_t group_id = 0;
    std::uint16_t file_id = 0;
    protocol::section_layout layout;
    std::string temp_path; // already created by the engine; the dataplane writes into it
    // FEC session (the ANNOUNCE's EXT_SKYCAST_FEC, and fec_capable()): k,
    // 0 when the session sends no parity. missing_in_section() then writes
    // deficit NAKs (docs/protocol.md §17).
    std::uint32_t fec_group_blocks = 0;
    std::uint32_t fec_span_groups = 1;
    std::uint16_t parity_port = 0; // where PARITY arrives (the private group's)
    // Encrypted session: only ENCRYPTED FILESEGs that open with these keys
    // are accepted (plaintext ones are dropped, counted). Null: unencrypted.
    // The dataplane keeps them after close_file(): FILESEGs between files
    // still show that the session is alive.
    std::shared_ptr<const session_keys> keys;
};

// The session's private group is joined through the membership_port half
// once the ANNOUNCE is accepted, and left when the session ends, however it
// ends.
class receiver_dataplane_port : public membership_port {
public:
    // Starts accepting FILESEGs for the file; false if the dataplane cannot
    // (the file cannot be opened): the engine rejects the file.
    virtual bool open_for_receive(const receive_request& request) = 0;
    // Whether this dataplane decodes FEC parity: a receiver asks for parity
    // (FEC STATUS) only then, and otherwise NAKs data blocks as stock does.
    virtual bool fec_capable() const { return false; }
    // Whether every block of the open file has been received and handed to
    // storage (false for a file that is not open).
    virtual bool complete(std::uint16_t file_id) const = 0;
    // Writes the STATUS NAK bitmap of `section` (1 = missing) into `out`,
    // which holds nak_bitmap_bytes() of the section's block count; returns
    // the number of missing blocks. A file opened with fec_group_blocks
    // gets deficit NAKs: per group, as many bits as parity it still needs. Reads the received
    // bitmap the RX path fills (a shared-memory bitmap on the appliance).
    virtual std::uint32_t missing_in_section(std::uint16_t file_id, std::uint32_t section,
                                             std::span<std::uint8_t> out) const = 0;
    // Frames this node dropped so far because it could not keep up (its
    // port's receive ring or its storage ring overflowed), never link loss:
    // a rise mid-pass is the overload signal of overload_rate.h. Ports that
    // cannot overflow (the simulator's) report 0.
    virtual std::uint64_t overload_drops() const { return 0; }
    // PARITY datagrams for the session's open FEC files that reached this
    // port so far, kept or not: none arriving after the receiver asked for
    // parity means the path does not carry it (a proxy, docs/protocol.md
    // §17.6), and the receiver falls back to NAKing data blocks.
    virtual std::uint64_t parity_in() const { return 0; }
    // The errno of the first write of the open file that failed (ENOSPC: the
    // disk is full), 0 when none did: the session cannot complete the file
    // and tells its sender why.
    virtual int write_error(std::uint16_t file_id) const = 0;
    // Stops accepting the file and flushes what was written; true when every
    // write reached the file (a failed write must not become a complete file).
    // Waits for the flush: for ends (abort, a file the server gave up on).
    virtual bool close_file(std::uint16_t file_id) = 0;
    // The same without waiting: a complete file's flush can take seconds on
    // a slow disk, which must not hold up the engines' timers and every
    // other session. begin_close() starts it; close_result() is nullopt
    // while it runs, then close_file()'s answer, once. Ports whose close is
    // quick (the simulator's) close at once.
    virtual void begin_close(std::uint16_t file_id) {
        _quick_close = {file_id, close_file(file_id)};
    }
    virtual std::optional<bool> close_result(std::uint16_t file_id) {
        if (!_quick_close || _quick_close->first != file_id) {
            return false; // never begun: nothing was flushed
        }
        const bool flushed = _quick_close->second;
        _quick_close.reset();
        return flushed;
    }

private:
    std::optional<std::pair<std::uint16_t, bool>> _quick_close; // the default begin_close's
};

} // namespace skycast::control::engine
