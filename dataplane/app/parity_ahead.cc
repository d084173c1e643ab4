#include "dataplane/app/parity_ahead.h"

#include <algorithm>
#include <array>

namespace skycast::dataplane {

bool parity_ahead::init(const api::parity_entry* table, const protocol::fec_groups& groups,
                        std::uint32_t block_size, std::size_t budget_bytes) {
    _table = table;
    _groups = &groups;
    _block_size = block_size;
    std::uint32_t longest = 0;
    for (std::uint32_t g = 0; g < groups.count(); ++g) {
        longest = std::max<std::uint32_t>(longest, table[g].count);
    }
    // A table without parity still needs one buffer's worth of bookkeeping:
    // the consumer sees `finished` at once.
    const std::size_t run_bytes = std::size_t{std::max<std::uint32_t>(longest, 1)} * block_size;
    const std::size_t depth = std::min<std::size_t>(max_depth, budget_bytes / run_bytes);
    if (depth < 2) {
        return false;
    }
    _run_blocks = std::max<std::uint32_t>(longest, 1);
    _bytes.assign(depth * run_bytes, 0);
    _runs.assign(depth, parity_run{});
    for (std::size_t i = 0; i < depth; ++i) {
        _runs[i].bytes = _bytes.data() + i * run_bytes;
    }
    _next_group = 0;
    _produced.store(0, std::memory_order_relaxed);
    _consumed.store(0, std::memory_order_relaxed);
    _done.store(groups.count() == 0, std::memory_order_release);
    return true;
}

std::uint32_t parity_ahead::produce(parity_builder& builder, std::span<const std::uint8_t> file,
                                    std::uint32_t max_runs) {
    std::uint32_t encoded = 0;
    const std::uint32_t groups = _groups == nullptr ? 0 : _groups->count();
    while (encoded < max_runs && _next_group < groups) {
        const std::uint64_t produced = _produced.load(std::memory_order_relaxed);
        if (produced - _consumed.load(std::memory_order_acquire) >= _runs.size()) {
            break; // the TX lcore has not sent the runs ahead yet
        }
        const std::uint32_t g = _next_group++;
        const api::parity_entry e = _table[g];
        if (e.count == 0) {
            continue;
        }
        parity_run& run = _runs[produced % _runs.size()];
        run.group = g;
        run.last_block = _groups->last_block(g);
        run.first_index = e.first_index;
        run.count = e.count;
        // An entry outside the code's parity rows (control's mistake) fails
        // in the codec and is counted by the TX lcore, never sent.
        // The table is control's, in shared memory: an entry longer than
        // the run buffers init() sized (rewritten since) is refused too.
        run.failed = e.count > _run_blocks;
        if (!run.failed) {
            std::array<std::uint8_t*, fec_codec::max_blocks> rows{};
            for (std::uint32_t i = 0; i < e.count; ++i) {
                rows[i] = run.bytes + std::size_t{i} * _block_size;
            }
            run.failed = builder.parity_blocks(*_groups, file, g, e.first_index,
                                               std::span(rows).first(e.count)) != fec_error::ok;
        }
        _produced.store(produced + 1, std::memory_order_release);
        ++encoded;
    }
    if (_next_group >= groups) {
        _done.store(true, std::memory_order_release);
    }
    return encoded;
}

const parity_run* parity_ahead::front() const {
    const std::uint64_t consumed = _consumed.load(std::memory_order_relaxed);
    if (consumed == _produced.load(std::memory_order_acquire)) {
        return nullptr;
    }
    return &_runs[consumed % _runs.size()];
}

bool parity_ahead::finished() const {
    // _done first: once it is set, every run was published before it.
    const bool done = _done.load(std::memory_order_acquire);
    return done &&
           _consumed.load(std::memory_order_relaxed) == _produced.load(std::memory_order_acquire);
}

void parity_ahead::pop() {
    _consumed.store(_consumed.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

} // namespace skycast::dataplane
