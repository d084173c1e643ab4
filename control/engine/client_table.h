#pragma once
// The sender's clients: a dense vector of small fixed-size entries (an index
// is a client's handle) and a hash index from UID to that handle. Lookups are
// O(1) per datagram; only round timers (every 3·GRTT) walk the vector, so
// 100,000 clients is a matter of memory (~40 bytes each plus the index), not
// of per-packet work. The index is only looked up, never iterated, so hash
// order cannot leak into behaviour.

#include "control/engine/repeat_filter.h"

#include <cstdint>
#include <limits>
#include <unordered_map>
#include <vector>

namespace skycast::control::engine {

enum class client_outcome : std::uint8_t {
    active,    // registered and still in the session
    completed, // DONE_CONF sent for its COMPLETE(0)
    lost,      // stopped answering for ROBUST rounds: dropped
    aborted_by_client,
    max_passes,          // still missing blocks when max passes ran out
    excessive_naks,      // NAKed too much too often (max_nak_pct / max_nak_count)
    aborted_by_sender,   // the session was aborted
    key_exchange_failed, // bad CLIENT_KEY (signature, type, fingerprint) or key info
    never_registered,    // fast start: listed, and never heard from
    count
};
const char* name(client_outcome o);

// Where a client of an encrypted session is in the key exchange (spec §1.4).
enum class key_state : std::uint8_t {
    none,                // unencrypted session
    awaiting_client_key, // REGISTER in, CLIENT_KEY not yet (client authentication)
    keyinfo_sent,        // KEYINFO sent, no valid KEYINFO_ACK yet
    acked,               // KEYINFO_ACK verified: the client holds the group keys
};

struct client_entry {
    static constexpr std::uint32_t direct = std::numeric_limits<std::uint32_t>::max();
    std::uint32_t uid = 0;
    client_outcome outcome = client_outcome::active;
    // Per-round bookkeeping: heard since the last round, rounds missed in a row.
    bool heard = false;
    std::uint8_t missed_rounds = 0;
    // The last DONE round listed it (and it has not answered since): with
    // early data a round may send others the FILEINFO instead.
    bool asked_by_done = false;
    key_state keys = key_state::none;
    // Per-file flags, reset when a file starts.
    bool file_answered = false;    // FILEINFO_ACK or COMPLETE seen
    bool file_needs_data = false;  // answered FILEINFO_ACK: takes part in the passes
    bool file_done = false;        // COMPLETE seen for the current file
    bool session_complete = false; // COMPLETE(0) seen
    // A COMPLETE(0) came with the last file's COMPLETE still to come
    // (docs/protocol.md §22): the session is complete once that one is in.
    bool session_complete_ahead = false;
    // A proxy's own entry holds its key exchange, RTT and liveness; it is
    // not a receiver: never listed in FILEINFO or DONE (a closed group's
    // ANNOUNCE calls it out, as stock does), not among the session's
    // receivers, not in the group size. (Beside the other flags: the entry
    // stays within 32 bytes.)
    bool is_proxy = false;
    // Fast start (sender_config::fast_start): a listed host taken into the
    // session before its REGISTER, which has not come yet.
    bool unregistered = false;
    std::uint16_t nak_excess = 0;     // sections NAKed above max_nak_pct, this file
    std::uint16_t lost_in_file = 0;   // file ID where it was dropped (0: announce/completion)
    float rtt = 0;                    // last measured RTT, seconds
    std::uint32_t files_rejected = 0; // COMPLETE with status REJECTED
    // Proxies (spec §7), with is_proxy above. A client registered by a
    // proxy has `via` = the proxy's handle, and the proxy answers for it
    // (aggregated FILEINFO_ACK, STATUS, COMPLETE).
    std::uint32_t via = direct;
};
static_assert(sizeof(client_entry) <= 32, "client entries stay small: 100k clients in ~3 MiB");

// What the sender has learnt of one client's progress through the session
// (sender_engine::progress() turns it into bytes). Kept beside the entries,
// not in them: the round timers walk the entries, and progress is read only
// when a progress line or the stats are built.
struct client_progress {
    static constexpr std::uint32_t no_section = std::numeric_limits<std::uint32_t>::max();
    // Sizes of the files it answered COMPLETE for with a status other than
    // REJECTED (it holds them): the whole file, not what was sent to it.
    std::uint64_t bytes_done = 0;
    // Current file: data bytes of the blocks its latest STATUS report NAKed
    // (a report is the STATUSes of one NAK-timer round of the client, one per
    // section with missing blocks; see sender_engine::handle_status()).
    std::uint64_t nak_bytes = 0;
    std::uint32_t nak_section = no_section; // section of its last STATUS counted, this file
    std::uint32_t pass = 0; // the current file's last pass it took part in (0: none yet)
    // When the rounds it has not answered began (sender_config::lost_after_min).
    std::uint64_t silent_since = 0;
};

class client_table {
public:
    static constexpr std::uint32_t npos = std::numeric_limits<std::uint32_t>::max();

    std::uint32_t find(std::uint32_t uid) const {
        const auto it = _index.find(uid);
        return it == _index.end() ? npos : it->second;
    }
    // Adds a client, or returns the existing handle.
    std::uint32_t add(std::uint32_t uid) {
        const auto [it, inserted] =
            _index.try_emplace(uid, static_cast<std::uint32_t>(_entries.size()));
        if (inserted) {
            _entries.push_back({.uid = uid});
            _progress.emplace_back();
            _last_datagram.emplace_back();
        }
        return it->second;
    }
    client_entry& operator[](std::uint32_t handle) { return _entries[handle]; }
    const client_entry& operator[](std::uint32_t handle) const { return _entries[handle]; }
    std::uint32_t size() const { return static_cast<std::uint32_t>(_entries.size()); }
    std::vector<client_entry>& entries() { return _entries; }
    const std::vector<client_entry>& entries() const { return _entries; }
    client_progress& progress(std::uint32_t handle) { return _progress[handle]; }
    const client_progress& progress(std::uint32_t handle) const { return _progress[handle]; }
    std::vector<client_progress>& progress() { return _progress; }
    // The client's previous datagram, to drop its identical copies.
    repeat_filter& last_datagram(std::uint32_t handle) { return _last_datagram[handle]; }
    void reserve(std::size_t n) {
        _entries.reserve(n);
        _progress.reserve(n);
        _last_datagram.reserve(n);
        _index.reserve(n);
    }

private:
    std::vector<client_entry> _entries;
    std::vector<client_progress> _progress;    // by handle, like _entries
    std::vector<repeat_filter> _last_datagram; // by handle, like _entries
    std::unordered_map<std::uint32_t, std::uint32_t> _index;
};

} // namespace skycast::control::engine
