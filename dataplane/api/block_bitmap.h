#pragma once
// The receiver's per-file bitmap of blocks received (1 = have it), indexed by
// file block number. The RX lcore sets bits; the control process reads them
// to build NAKs. The bits may live in shared memory (a memzone), so this is a
// view over caller-owned words, updated with atomic_ref: one writer, any
// number of readers, no locks.
//
// Ordering contract: set() publishes with release, so a reader that sees the
// bit with acquire (test(), missing_in_section()) also sees the block's bytes
// handed to storage before the bit was set.
//
// Part of the IPC contract (dataplane/api/): control reads these bitmaps in
// the shared memzone, so it must see the same layout as the RX lcore. Counting bits is a snapshot:
// it may miss bits set concurrently, never report bits that are not set.

#include "protocol/blocks.h"
#include "protocol/nak_bitmap.h"

#include <atomic>
#include <bit>
#include <cstdint>
#include <span>
#include <vector>

namespace skycast::dataplane {

class block_bitmap_view {
public:
    static constexpr std::size_t words_for(std::uint32_t blocks) { return (blocks + 63) / 64; }

    block_bitmap_view(std::span<std::uint64_t> words, std::uint32_t blocks)
        : _words(words), _blocks(blocks) {}

    std::uint32_t blocks() const { return _blocks; }

    // Marks block `n` received; true if it was not already.
    bool set(std::uint32_t n) const {
        const std::uint64_t bit = std::uint64_t{1} << (n & 63);
        const std::uint64_t before =
            std::atomic_ref<std::uint64_t>(_words[n >> 6]).fetch_or(bit, std::memory_order_release);
        return (before & bit) == 0;
    }

    bool test(std::uint32_t n) const {
        return (std::atomic_ref<std::uint64_t>(_words[n >> 6]).load(std::memory_order_acquire) >>
                (n & 63)) &
               1;
    }

    std::uint32_t count() const {
        std::uint32_t total = 0;
        for (auto& w : _words) {
            total += static_cast<std::uint32_t>(
                std::popcount(std::atomic_ref<std::uint64_t>(w).load(std::memory_order_acquire)));
        }
        return total;
    }

    bool complete() const { return count() == _blocks; }

    // Writes the STATUS NAK bitmap of `section` (1 = missing) into `out`,
    // which must hold nak_bitmap_bytes(blocks in section); returns how many
    // blocks are missing.
    std::uint32_t missing_in_section(const protocol::section_layout& layout, std::uint32_t section,
                                     std::span<std::uint8_t> out) const {
        const std::uint32_t first = layout.first_block(section);
        const std::uint32_t count = layout.blocks_in_section(section);
        protocol::nak_bitmap_writer naks(out, count);
        std::uint32_t missing = 0;
        for (std::uint32_t i = 0; i < count; ++i) {
            if (!test(first + i)) {
                naks.set_missing(i);
                ++missing;
            }
        }
        return missing;
    }

private:
    std::span<std::uint64_t> _words;
    std::uint32_t _blocks;
};

// A bitmap that owns its words (the simulator's, and tests').
class block_bitmap {
public:
    explicit block_bitmap(std::uint32_t blocks)
        : _words(block_bitmap_view::words_for(blocks), 0), _blocks(blocks) {}
    block_bitmap_view view() { return {_words, _blocks}; }
    std::span<std::uint64_t> words() { return _words; }

private:
    std::vector<std::uint64_t> _words;
    std::uint32_t _blocks;
};

} // namespace skycast::dataplane
