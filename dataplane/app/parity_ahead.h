#pragma once
// FEC parity encoded ahead of the TX lcore (docs/protocol.md §17). Encoding
// a group's parity reads all k of its data blocks, which costs the TX lcore
// as much as sending them (perf/tx_path: 0.36–0.79 of its figure without
// parity when the lcore encoded it itself). So the service thread encodes
// the runs of the pass's parity table, in group order, into a small ring of
// run buffers, and the TX lcore only frames and seals what is ready.
//
// Single producer (the service thread, which also owns the pass), single
// consumer (the TX lcore): a run is published with a release store of
// `_produced` and handed back with one of `_consumed`. The consumer never
// waits on the producer: when the next run is not ready it keeps sending
// data and comes back (tx_lcore.cc, parity_due).

#include "dataplane/api/shared_layout.h"
#include "dataplane/core/parity_builder.h"
#include "protocol/fec_groups.h"

#include <atomic>
#include <cstdint>
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
    std::uint8_t* bytes = nullptr; // count × block_size parity bytes
};

class parity_ahead {
public:
    // Room for the runs of `table` (one entry per group of `groups`, both
    // the pass's and outliving this object): every
    // buffer holds the table's longest run; as many buffers as fit in
    // `budget_bytes`, at least 2 and at most max_depth. False when even two
    // of them do not fit the budget.
    bool init(const api::parity_entry* table, const protocol::fec_groups& groups,
              std::uint32_t block_size, std::size_t budget_bytes);

    static constexpr std::uint32_t max_depth = 32;

    // Producer: encodes runs while the ring has room, at most `max_runs` of
    // them (so one call does not hold up the service thread's commands).
    // Returns how many it encoded.
    std::uint32_t produce(parity_builder& builder, std::span<const std::uint8_t> file,
                          std::uint32_t max_runs);
    // Every run of the table has been encoded (or failed).
    bool all_produced() const { return _done.load(std::memory_order_relaxed); }

    // Consumer: the next run in group order, or nullptr when it is not
    // encoded yet; `finished` tells whether one will ever come.
    const parity_run* front() const;
    bool finished() const;
    void pop();

    std::uint32_t depth() const { return static_cast<std::uint32_t>(_runs.size()); }

private:
    const api::parity_entry* _table = nullptr;
    const protocol::fec_groups* _groups = nullptr; // the pass's, which outlives this
    std::uint32_t _block_size = 0;
    std::uint32_t _run_blocks = 0; // parity blocks one run buffer holds
    std::vector<std::uint8_t> _bytes;
    std::vector<parity_run> _runs;
    // Producer state: the next group to look at; whether it is done.
    std::uint32_t _next_group = 0;
    std::atomic<bool> _done{false};
    std::atomic<std::uint64_t> _produced{0};
    std::atomic<std::uint64_t> _consumed{0};
};

} // namespace skycast::dataplane
