#pragma once
// The receive side of FEC repair (docs/protocol.md §17) for one open file:
// keeps the PARITY blocks of groups that still miss data, rebuilds a group's
// missing blocks as soon as it holds k of its blocks (data received, zero
// positions, parity kept), and writes the deficit NAKs a FEC STATUS carries.
//
// Parity is kept in slots that grow on demand up to a byte budget: a group
// that still misses data after a pass keeps what it got until the next pass
// brings the rest, so at high loss many groups wait at once. Growth
// allocates, so this runs where blocks are written (the storage side), not on
// an RX lcore. A parity block whose group needs nothing (complete, or
// already holding enough) is dropped, and one beyond the budget is dropped
// too. Every drop is counted. Decoding reads
// the group's received blocks back through block_io (a file on the
// appliance and in the simulator) and writes what it rebuilds the same way.

#include "dataplane/api/block_bitmap.h"
#include "dataplane/core/fec_codec.h"
#include "protocol/fec_groups.h"
#include "protocol/parity.h"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace skycast::dataplane {

enum class parity_drop : std::uint8_t {
    not_fec,       // the file was not opened for FEC, or another file ID
    bad_group,     // section/group outside the file, or k not the session's
    wrong_length,  // not block_size bytes of parity
    unneeded,      // the group already has (or can rebuild) every block
    duplicate,     // that parity index is already kept
    no_room,       // the parity budget is full of groups still short: dropped
    decode_failed, // reading a received block back, or the codec, failed
    unencrypted,   // PARITY in the clear in an encrypted session (as FILESEG: spec §12 #17)
    count
};
std::string_view name(parity_drop d);

struct fec_rx_counters {
    std::uint64_t parity_kept = 0;
    std::uint64_t groups_rebuilt = 0;
    std::uint64_t blocks_rebuilt = 0;
    // Groups whose kept parity data that came after it made enough, or
    // unneeded (fec_receiver::sweep_ready): rebuilt, or their parity
    // released, then.
    std::uint64_t groups_ready_by_data = 0;
    std::array<std::uint64_t, static_cast<std::size_t>(parity_drop::count)> dropped{};
    void drop(parity_drop d) { ++dropped[static_cast<std::size_t>(d)]; }
    // Sums (a session's files, a node's sessions, a simulation's receivers).
    fec_rx_counters& operator+=(const fec_rx_counters& o) {
        parity_kept += o.parity_kept;
        groups_rebuilt += o.groups_rebuilt;
        blocks_rebuilt += o.blocks_rebuilt;
        groups_ready_by_data += o.groups_ready_by_data;
        for (std::size_t d = 0; d < dropped.size(); ++d) {
            dropped[d] += o.dropped[d];
        }
        return *this;
    }
};

// Reads and writes the file's blocks for decoding. read() fills `out`
// (block_size bytes; the short last block's tail need not be touched) and
// returns false if it cannot; write() stores a rebuilt block (its real size).
class block_io {
public:
    virtual ~block_io() = default;
    virtual bool read(std::uint32_t block, std::uint64_t offset, std::span<std::uint8_t> out) = 0;
    virtual bool write(std::uint32_t block, std::uint64_t offset,
                       std::span<const std::uint8_t> data) = 0;
};

// The codec and scratch that rebuilding needs: one per thread that
// decodes, shared by every file it serves (the tables and scratch are the
// large part, about (2k + 32·k·(255-k)/block) blocks; a file's own state is
// its slots). Not reentrant.
class fec_decoder {
public:
    static std::optional<fec_decoder> create(std::uint32_t k, std::uint32_t block_size);
    std::uint32_t k() const { return _codec.data_blocks(); }
    std::uint32_t block_size() const { return static_cast<std::uint32_t>(_codec.block_size()); }

private:
    friend class fec_receiver;
    fec_decoder() = default;
    fec_codec _codec;
    std::vector<std::uint8_t> _scratch; // k blocks read back + k rebuilt
    std::vector<std::uint8_t> _zero;    // one block of zeros
};

class fec_receiver {
public:
    // Bytes of parity one file may keep waiting for the rest of its group.
    static constexpr std::uint64_t default_budget = 64ull << 20;

    // k (2..253) and the groups per interleaving span as the session's
    // ANNOUNCE says. Allocates 5 bytes per group and a few slots; more
    // slots as parity waits, up to `budget`.
    static std::optional<fec_receiver> create(const protocol::section_layout& layout,
                                              std::uint32_t k, std::uint32_t span_groups = 1,
                                              std::uint64_t budget = default_budget);

    const protocol::fec_groups& groups() const { return _groups; }

    // A PARITY of this file. Returns the file-wide group when the parity was
    // kept and the group can now be rebuilt (call rebuild()), else nullopt.
    std::optional<std::uint32_t> accept(const protocol::parity_msg& msg,
                                        const block_bitmap_view& received,
                                        fec_rx_counters& counters);
    // Groups that data made ready. A caller learns how many data blocks
    // were stored, not which (the appliance's control process sees the
    // storage thread's count), so this looks when `stored` has moved since
    // the last look, at most once per ready_sweep_interval_ns of `now_ns`,
    // and appends to `out` (unless already there, counted in
    // groups_ready_by_data) every group that holds parity and needs no more
    // of it: data filled the rest of its gaps (call rebuild()) or all of
    // them (rebuild() releases the parity). Returns whether it looked. Costs
    // the groups that hold parity, not the file. The simulator runs the same
    // rule on its own clock, so it shows what the appliance does.
    //
    // Without it, a group whose last gaps a data resend filled (one meant
    // for a NAK-only receiver, or a NAK of ours) would hold its parity
    // unused, show no deficit, and never complete: the receiver would have
    // nothing to ask and nothing to say.
    bool sweep_ready(std::uint64_t stored, std::int64_t now_ns, const block_bitmap_view& received,
                     std::vector<std::uint32_t>& out, fec_rx_counters& counters);
    // When sweep_ready() would look next; nullopt while it has nothing to
    // look for (no group holds parity, or no block was stored since).
    std::optional<std::int64_t> next_sweep(std::uint64_t stored) const;
    // A millisecond beside a GRTT: at high loss many groups hold parity and
    // the stored count moves on every tick of a pass.
    static constexpr std::int64_t ready_sweep_interval_ns = 1'000'000;

    // Rebuilds group g's missing blocks with `decoder` (same k and block
    // size), writes them through `io` and sets their bits; frees the group's
    // slots. False (counted) if it could not.
    bool rebuild(std::uint32_t g, const block_bitmap_view& received, block_io& io,
                 fec_decoder& decoder, fec_rx_counters& counters);

    // Parity blocks group g still needs: missing data blocks minus parity kept.
    std::uint32_t deficit(std::uint32_t g, const block_bitmap_view& received) const;
    // The FEC STATUS bitmap of `section` (1 = one more symbol needed): per
    // group, its first deficit() missing blocks. Returns the bits set.
    std::uint32_t deficit_in_section(std::uint32_t section, const block_bitmap_view& received,
                                     std::span<std::uint8_t> out) const;

private:
    fec_receiver() = default;
    std::uint32_t missing(std::uint32_t g, const block_bitmap_view& received) const;
    std::uint32_t kept(std::uint32_t g) const;

    // Releases group g's slots.
    void release(std::uint32_t g);

    static constexpr std::uint32_t no_slot = 0xFFFFFFFF;
    struct slot {
        std::uint32_t next = no_slot; // the group's next slot, or the next free one
        std::uint8_t index = 0;
    };
    protocol::section_layout _layout;
    protocol::fec_groups _groups;
    std::vector<std::uint8_t> _kept_count;  // per group: parity slots held
    std::vector<std::uint32_t> _holding;    // groups that took parity (some since released)
    std::uint32_t _groups_holding = 0;      // groups whose _kept_count is not 0
    std::uint64_t _swept_stored = 0;        // `stored` at the last sweep_ready() look
    std::int64_t _next_sweep_at = 0;        // and when it may look again
    std::vector<std::uint32_t> _group_head; // per group: its first slot
    std::vector<slot> _slots;
    std::vector<std::uint8_t> _slot_bytes; // slots x block size
    std::uint32_t _free = no_slot;         // free slots, linked by next
    std::uint32_t _max_slots = 0;
};

} // namespace skycast::dataplane
