#pragma once
// FEC parity encoded ahead of the sender, and the order it goes out in
// (docs/protocol.md §17.5). The TX lcore and the simulator both send a
// pass's parity through this class, so they send it in the same order.
//
// Encoding: a group's parity reads all k of its data blocks, which costs
// the TX lcore as much as sending them (perf/tx_path: 0.36–0.79 of its
// figure without parity when the lcore encoded it itself). So the service
// thread encodes the runs of the pass's parity table, in group order, into
// a ring of run buffers, and the TX lcore only frames and seals what is
// ready. (The simulator produces and consumes on one thread.)
//
// Order: runs go out in windows of up to half the ring, each run's blocks
// spread evenly over the window, not run after run: of a window of n runs,
// block i of the j-th run (j = 0 .. n−1), of c blocks, goes at about
// (i + (j + 1/2)/n)/c of the way through the window. Runs of one length go
// index by index (the first parity block of every run, then the second,
// …), and runs of different lengths interleave in proportion, each starting
// at its own phase so that short runs' blocks do not bunch. A burst of loss
// then costs every group of the window about the same share of its run: a
// repair pass sends a group only as many blocks as its worst receiver
// misses plus a margin, so a lost run meant another pass for that receiver
// (fec_sim bursty_2pct). Index by index across runs of different lengths
// was not enough: a short run's blocks all went in the window's first rows
// and a long run's last ones alone at its end, so one fade there took most
// of them (in the simulator, Gilbert–Elliott 2 %, a group of 45 in a second
// repair pass needed a third).
//
// Single producer, single consumer: a run is published with a release
// store of `_produced` and a window's runs are handed back with one of
// `_consumed`. The consumer never waits on the producer: when no window is
// ready it keeps sending data and comes back (tx_lcore.cc, parity_due).

#include "dataplane/api/shared_layout.h"
#include "dataplane/core/parity_builder.h"
#include "protocol/fec_groups.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace skycast::dataplane {

// One group's parity run, encoded.
struct parity_run {
    std::uint32_t group = 0;
    std::uint32_t last_block = 0; // the group's data is out once the cursor is past it
    std::uint8_t first_index = 0;
    std::uint8_t count = 0;
    bool failed = false;           // could not be encoded: counted, not sent
    std::uint32_t capacity = 0;    // parity blocks `bytes` has room for
    std::uint8_t* bytes = nullptr; // count × block_size parity bytes
};

// One parity block to send: block `offset` of `run` (parity index
// run->first_index + offset, bytes at run->bytes + offset × block size).
struct parity_item {
    const parity_run* run = nullptr;
    std::uint32_t offset = 0;
};

class parity_ahead {
public:
    // Room for the runs of `table` (one entry per group of `groups`, both
    // the pass's and outliving this object). A table whose parity takes at
    // most half of `budget_bytes` (a late repair pass: a few groups) gets a
    // buffer per run of its own length and goes out as one window, so each
    // run is spread over the whole pass. Otherwise a ring: every buffer
    // holds the table's longest run; as many buffers as fit in
    // `budget_bytes`, at least 2, at most max_depth, and no more than the
    // table has runs; windows of half of them. False when even two of them
    // do not fit the budget.
    bool init(const api::parity_entry* table, const protocol::fec_groups& groups,
              std::uint32_t block_size, std::size_t budget_bytes);

    static constexpr std::uint32_t max_depth = 4096;
    // The sender's budget (service thread and simulator): a window is half
    // of it, 32 MiB, so a 20 ms burst at 1 Gbit/s (2.5 MB) costs each run of
    // the window under a tenth of its blocks. It stays under a receiver's
    // parity budget (fec_receiver::default_budget), which keeps a window's
    // parity for its groups until they rebuild. Pages are touched only as
    // runs are encoded into them.
    static constexpr std::size_t default_budget_bytes = 64ull << 20;

    // Producer: encodes runs while the ring has room, at most `max_runs` of
    // them (so one call does not hold up the service thread's commands),
    // and only of groups whose blocks all lie before block `horizon` (the
    // TX lcore's read-ahead: the encoder reads pages already resident).
    // Returns how many it encoded.
    std::uint32_t produce(parity_builder& builder, std::span<const std::uint8_t> file,
                          std::uint32_t max_runs, std::uint32_t horizon);
    // Every run of the table has been encoded (or failed).
    bool all_produced() const { return _done.load(std::memory_order_relaxed); }

    // Consumer: the next parity block due when the pass's data cursor is at
    // `cursor` (a run is due once the cursor is past its group's last
    // block, or `data_out`: the pass has no data left). A window opens when
    // the runs due fill it, when the run after them is not due yet (its
    // data goes first, unless it is of the same interleaving span: a
    // span's groups all end within its last blocks, and go out together),
    // or when they are the last. Null run: nothing due now (with
    // `data_out` and not finished(): the encoder is behind).
    parity_item next(std::uint32_t cursor, bool data_out);
    // The item next() gave was sent: move on.
    void sent();
    // The item next() gave could not be sent (framing failed): the rest of
    // its run is dropped. Returns how many blocks that is, for the counters.
    std::uint32_t drop_run();
    // Blocks of runs the producer could not encode, since the last call
    // (dropped when their window opened; for the counters).
    std::uint32_t take_failed_blocks();
    // No parity will come any more: every run was encoded and sent.
    bool finished() const;

    std::uint32_t depth() const { return static_cast<std::uint32_t>(_runs.size()); }
    // Runs per window: the whole table when it fits at once, else half the
    // ring, so the producer fills the other half while the consumer sends one.
    std::uint32_t window_runs() const {
        return _one_window ? depth() : std::max<std::uint32_t>(depth() / 2, 1);
    }

private:
    // A run of the open window and its next block: the j-th of the window's
    // n runs with blocks to send, at block `offset` of `count`, whose place
    // in the window is (offset + (j + 1/2)/n)/count.
    struct due_block {
        std::uint64_t run = 0;   // sequence number
        std::uint32_t phase = 0; // j
        std::uint32_t offset = 0;
        std::uint32_t count = 0;
    };
    // For std::push_heap/pop_heap (a max-heap): true when `a` goes after `b`
    // in a window of `runs` runs.
    struct goes_after {
        std::uint64_t runs;
        bool operator()(const due_block& a, const due_block& b) const;
    };

    bool open_window(std::uint32_t cursor, bool data_out);
    // To the window's next block; with `keep_run` false the current run
    // has no more (dropped). Closes the window after its last block.
    void step(bool keep_run = true);
    void close_window();

    const api::parity_entry* _table = nullptr;
    const protocol::fec_groups* _groups = nullptr; // the pass's, which outlives this
    std::uint32_t _block_size = 0;
    bool _one_window = false; // a buffer per run, in table order (init())
    std::unique_ptr<std::uint8_t[]> _bytes;
    std::vector<parity_run> _runs;
    // Producer state: the next group to look at; whether it is done.
    std::uint32_t _next_group = 0;
    std::atomic<bool> _done{false};
    std::atomic<std::uint64_t> _produced{0};
    std::atomic<std::uint64_t> _consumed{0};
    // Consumer state: the open window [_window_begin, _window_end) of run
    // sequence numbers (empty: none open).
    std::uint64_t _window_begin = 0;
    std::uint64_t _window_end = 0;
    // The window's runs with blocks left, as a heap whose top is the block
    // going out (its run, at its offset). Reserved at init(): the TX lcore
    // does not allocate.
    std::vector<due_block> _due;
    std::uint32_t _due_runs = 0; // n: the runs _due started the window with
    std::uint32_t _failed_blocks = 0;
};

} // namespace skycast::dataplane
