#include "dataplane/core/parity_ahead.h"

#include <algorithm>
#include <array>
#include <utility>

namespace skycast::dataplane {

bool parity_ahead::init(const api::parity_entry* table, const protocol::fec_groups& groups,
                        std::uint32_t block_size, std::size_t budget_bytes) {
    _table = table;
    _groups = &groups;
    _block_size = block_size;
    std::uint32_t longest = 0;
    std::uint32_t runs = 0;
    std::uint64_t total = 0;
    for (std::uint32_t g = 0; g < groups.count(); ++g) {
        longest = std::max<std::uint32_t>(longest, table[g].count);
        runs += table[g].count != 0 ? 1 : 0;
        total += table[g].count;
    }
    _one_window = runs != 0 && runs <= max_depth && total * block_size <= budget_bytes / 2;
    std::size_t depth = 0;
    if (_one_window) {
        // Each run's buffer its own length, in the order the producer
        // encodes them (group order), all at once: no buffer is reused.
        depth = runs;
        _bytes.reset(new std::uint8_t[total * block_size]);
        _runs.assign(depth, parity_run{});
        std::size_t slot = 0;
        std::uint64_t at = 0;
        for (std::uint32_t g = 0; g < groups.count(); ++g) {
            if (table[g].count != 0) {
                _runs[slot].capacity = table[g].count;
                _runs[slot].bytes = _bytes.get() + at * block_size;
                at += table[g].count;
                ++slot;
            }
        }
    } else {
        // A table without parity still needs one buffer's worth of
        // bookkeeping: the consumer sees `finished` at once.
        const std::uint32_t run_blocks = std::max<std::uint32_t>(longest, 1);
        const std::size_t run_bytes = std::size_t{run_blocks} * block_size;
        const std::size_t fits = budget_bytes / run_bytes;
        if (fits < 2) {
            return false;
        }
        depth = std::clamp<std::size_t>(runs, 2, std::min<std::size_t>(max_depth, fits));
        // Not zeroed: a buffer is written whole by the encoder before it is read.
        _bytes.reset(new std::uint8_t[depth * run_bytes]);
        _runs.assign(depth, parity_run{});
        for (std::size_t i = 0; i < depth; ++i) {
            _runs[i].capacity = run_blocks;
            _runs[i].bytes = _bytes.get() + i * run_bytes;
        }
    }
    _due.clear();
    _due.reserve(depth);
    _next_group = 0;
    _produced.store(0, std::memory_order_relaxed);
    _consumed.store(0, std::memory_order_relaxed);
    _window_begin = _window_end = 0;
    _failed_blocks = 0;
    _done.store(groups.count() == 0, std::memory_order_release);
    return true;
}

std::uint32_t parity_ahead::produce(parity_builder& builder, std::span<const std::uint8_t> file,
                                    std::uint32_t max_runs, std::uint32_t horizon) {
    std::uint32_t encoded = 0;
    const std::uint32_t groups = _groups == nullptr ? 0 : _groups->count();
    while (encoded < max_runs && _next_group < groups) {
        const std::uint64_t produced = _produced.load(std::memory_order_relaxed);
        if (produced - _consumed.load(std::memory_order_acquire) >= _runs.size()) {
            break; // the consumer has not sent the runs ahead yet
        }
        const std::uint32_t g = _next_group;
        const api::parity_entry e = _table[g];
        if (e.count != 0 && _groups->last_block(g) >= horizon) {
            break; // its data is not read ahead yet
        }
        ++_next_group;
        if (e.count == 0) {
            continue;
        }
        parity_run& run = _runs[produced % _runs.size()];
        run.group = g;
        run.last_block = _groups->last_block(g);
        run.first_index = e.first_index;
        run.count = e.count;
        // An entry outside the code's parity rows (control's mistake) fails
        // in the codec and is counted by the consumer, never sent.
        // The table is control's, in shared memory: an entry longer than
        // the buffer init() sized for it (rewritten since) is refused too.
        run.failed = e.count > run.capacity;
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

bool parity_ahead::open_window(std::uint32_t cursor, bool data_out) {
    const std::uint64_t consumed = _consumed.load(std::memory_order_relaxed);
    const std::uint64_t produced = _produced.load(std::memory_order_acquire);
    const bool all_produced = _done.load(std::memory_order_acquire);
    // `produced` was read before `_done`: when done, re-read so the window
    // can tell it holds the last runs.
    const std::uint64_t available =
        (all_produced ? _produced.load(std::memory_order_acquire) : produced) - consumed;
    std::uint64_t due = 0;
    while (due < std::min<std::uint64_t>(available, window_runs())) {
        const parity_run& run = _runs[(consumed + due) % _runs.size()];
        if (!data_out && run.last_block >= cursor) {
            break; // its group's data is not out yet
        }
        ++due;
    }
    if (due == 0) {
        return false;
    }
    if (due < available && due < window_runs()) {
        const std::uint32_t next_group = _runs[(consumed + due) % _runs.size()].group;
        const std::uint32_t last_due = _runs[(consumed + due - 1) % _runs.size()].group;
        if (_groups->span_first_group(next_group) == _groups->span_first_group(last_due)) {
            return false; // the rest of the span ends within a few data blocks
        }
    }
    // A window opens full: the runs due fill it, or the run after them is
    // not due (its data goes first), or no run will come after them.
    // Otherwise the encoder is behind: data goes on meanwhile, and once the
    // data is out the sender waits for it (ISA-L encodes many times faster
    // than the link sends, so that is the start of a repair pass).
    const bool full = due == window_runs() || due < available || (all_produced && due == available);
    if (!full) {
        return false;
    }
    _window_begin = consumed;
    _window_end = consumed + due;
    _due.clear();
    for (std::uint64_t s = _window_begin; s < _window_end; ++s) {
        const parity_run& run = _runs[s % _runs.size()];
        if (run.failed) {
            _failed_blocks += run.count;
        } else if (run.count != 0) {
            _due.push_back({.run = s,
                            .phase = static_cast<std::uint32_t>(_due.size()),
                            .offset = 0,
                            .count = run.count});
        }
    }
    _due_runs = static_cast<std::uint32_t>(_due.size());
    std::make_heap(_due.begin(), _due.end(), goes_after{_due_runs});
    if (_due.empty()) {
        close_window();
    }
    return true;
}

bool parity_ahead::goes_after::operator()(const due_block& a, const due_block& b) const {
    // (offset + (j + 1/2)/n)/count = (2(offset·n + j) + 1)/(2n·count): a's
    // against b's, cross-multiplied (both below 2^40).
    const std::uint64_t a_place = (2 * (a.offset * runs + a.phase) + 1) * b.count;
    const std::uint64_t b_place = (2 * (b.offset * runs + b.phase) + 1) * a.count;
    return a_place != b_place ? a_place > b_place : a.run > b.run;
}

void parity_ahead::close_window() {
    // Every block of the window went out (or was dropped): hand its runs back.
    _consumed.store(_window_end, std::memory_order_release);
    _window_begin = _window_end;
}

void parity_ahead::step(bool keep_run) {
    const goes_after order{_due_runs};
    std::pop_heap(_due.begin(), _due.end(), order);
    due_block& current = _due.back();
    if (keep_run && ++current.offset < current.count) {
        std::push_heap(_due.begin(), _due.end(), order);
    } else {
        _due.pop_back();
    }
    if (_due.empty()) {
        close_window();
    }
}

parity_item parity_ahead::next(std::uint32_t cursor, bool data_out) {
    // A window whose every run failed closes as it opens; try the next.
    while (_window_begin == _window_end) {
        if (!open_window(cursor, data_out)) {
            return {};
        }
    }
    const due_block& at = _due.front();
    return {&_runs[at.run % _runs.size()], at.offset};
}

void parity_ahead::sent() {
    if (_window_begin != _window_end) {
        step();
    }
}

std::uint32_t parity_ahead::drop_run() {
    if (_window_begin == _window_end) {
        return 0;
    }
    const due_block& at = _due.front();
    const std::uint32_t rest = at.count - at.offset;
    step(false);
    return rest;
}

std::uint32_t parity_ahead::take_failed_blocks() {
    return std::exchange(_failed_blocks, 0);
}

bool parity_ahead::finished() const {
    // _done first: once it is set, every run was published before it.
    const bool done = _done.load(std::memory_order_acquire);
    return done && _window_begin == _window_end &&
           _consumed.load(std::memory_order_relaxed) == _produced.load(std::memory_order_acquire);
}

} // namespace skycast::dataplane
