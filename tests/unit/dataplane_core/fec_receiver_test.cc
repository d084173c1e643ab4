// FEC receive state and parity builder (dataplane/core): parity built from a
// file rebuilds exactly the blocks a receiver lost, whatever the group's
// shape (full, short at a section's end, holding the file's short last
// block); deficits and drops are exact.
#include "dataplane/core/fec_receiver.h"
#include "dataplane/core/parity_builder.h"
#include "protocol/nak_bitmap.h"

#include <gtest/gtest.h>
#include <map>
#include <random>
#include <vector>

namespace skycast::dataplane {
namespace {

constexpr std::uint32_t bs = 512;

std::vector<std::uint8_t> random_file(std::uint64_t size, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<std::uint8_t> f(size);
    for (auto& b : f) {
        b = static_cast<std::uint8_t>(rng());
    }
    return f;
}

// The receiver's file: blocks written so far, read back for decoding.
struct memory_io : block_io {
    std::vector<std::uint8_t> bytes;
    std::uint32_t reads = 0;
    bool fail_reads = false;
    bool read(std::uint32_t, std::uint64_t offset, std::span<std::uint8_t> out) override {
        ++reads;
        if (fail_reads) {
            return false;
        }
        std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(offset), out.size(), out.begin());
        return true;
    }
    bool write(std::uint32_t, std::uint64_t offset, std::span<const std::uint8_t> data) override {
        std::copy(data.begin(), data.end(), bytes.begin() + static_cast<std::ptrdiff_t>(offset));
        return true;
    }
};

struct fixture {
    protocol::section_layout layout;
    std::vector<std::uint8_t> file;
    block_bitmap bits;
    memory_io io;
    fec_receiver rx;
    fec_decoder decoder;
    parity_builder builder;
    fec_rx_counters counters;

    fixture(std::uint64_t size, std::uint32_t k, std::uint32_t span_groups = 1)
        : layout(*protocol::section_layout::make(size, bs)), file(random_file(size, 7)),
          bits(layout.blocks()), rx(*fec_receiver::create(layout, k, span_groups)),
          decoder(*fec_decoder::create(k, bs)), builder(*parity_builder::create(k, bs)) {
        io.bytes.assign(size, 0);
    }
    void receive(std::uint32_t block) {
        const std::uint64_t off = std::uint64_t{block} * bs;
        io.write(block, off, std::span(file).subspan(off, layout.block_bytes(block)));
        bits.view().set(block);
        ++stored;
    }
    // sweep_ready() at `at_ns`, with the blocks receive() stored so far.
    std::vector<std::uint32_t> sweep(std::int64_t at_ns) {
        std::vector<std::uint32_t> ready;
        EXPECT_TRUE(rx.sweep_ready(stored, at_ns, bits.view(), ready, counters));
        return ready;
    }
    std::uint64_t stored = 0; // data blocks receive() wrote
    std::vector<std::uint8_t> parity(std::uint32_t g, std::uint32_t index) {
        std::vector<std::uint8_t> p(bs);
        std::uint8_t* out[] = {p.data()};
        EXPECT_EQ(builder.parity_blocks(rx.groups(), file, g, index, out), fec_error::ok);
        return p;
    }
    protocol::parity_msg msg(std::uint32_t g, std::uint32_t index,
                             const std::vector<std::uint8_t>& p) {
        const auto pos = rx.groups().locate(g);
        return {.section = static_cast<std::uint16_t>(pos.section),
                .group = static_cast<std::uint16_t>(pos.group),
                .index = static_cast<std::uint8_t>(index),
                .group_blocks = static_cast<std::uint8_t>(rx.groups().k()),
                .data = p};
    }
};

TEST(fec_receiver, parity_rebuilds_lost_blocks_in_every_group_shape) {
    // 2.5 sections of 4096 blocks plus a short tail: full groups, the short
    // group ending each section, and the group with the file's last block;
    // groups of consecutive blocks, and interleaved over spans of 7 groups
    // and of a whole section (docs/protocol.md §17.1).
    const std::uint64_t size = std::uint64_t{bs} * 4096 * 5 / 2 + 77;
    for (std::uint32_t span : {1u, 7u, 1000u}) {
        SCOPED_TRACE("span_groups " + std::to_string(span));
        fixture f(size, 16, span);
        std::mt19937 rng(3);
        // Lose 3 blocks of every group (or all but one of a tiny group).
        std::map<std::uint32_t, std::vector<std::uint32_t>> lost;
        for (std::uint32_t g = 0; g < f.rx.groups().count(); ++g) {
            const auto blocks = f.rx.groups().blocks_of(g);
            const std::uint32_t n = blocks.count;
            const std::uint32_t lose = std::min<std::uint32_t>(3, n);
            for (std::uint32_t i = 0; i < lose; ++i) {
                lost[g].push_back(blocks.at(static_cast<std::uint32_t>((i * 5 + rng()) % n)));
            }
            std::sort(lost[g].begin(), lost[g].end());
            lost[g].erase(std::unique(lost[g].begin(), lost[g].end()), lost[g].end());
            for (std::uint32_t i = 0; i < n; ++i) {
                if (!std::binary_search(lost[g].begin(), lost[g].end(), blocks.at(i))) {
                    f.receive(blocks.at(i));
                }
            }
        }
        for (auto& [g, blocks] : lost) {
            const auto need = static_cast<std::uint32_t>(blocks.size());
            ASSERT_EQ(f.rx.deficit(g, f.bits.view()), need);
            std::optional<std::uint32_t> ready;
            for (std::uint32_t j = 0; j < need; ++j) {
                // Parity indices need not be the first ones: repair passes use new ones.
                const std::uint32_t index = 16 + 7 + 2 * j;
                const auto p = f.parity(g, index);
                ready = f.rx.accept(f.msg(g, index, p), f.bits.view(), f.counters);
                ASSERT_EQ(ready.has_value(), j + 1 == need);
            }
            ASSERT_TRUE(f.rx.rebuild(*ready, f.bits.view(), f.io, f.decoder, f.counters));
            EXPECT_EQ(f.rx.deficit(g, f.bits.view()), 0u);
        }
        EXPECT_TRUE(f.bits.view().complete());
        EXPECT_EQ(f.io.bytes, f.file);
        EXPECT_EQ(f.counters.groups_rebuilt, lost.size());
        EXPECT_EQ(f.counters.dropped[static_cast<std::size_t>(parity_drop::decode_failed)], 0u);
    }
}

TEST(fec_receiver, a_late_data_block_completes_what_kept_parity_needs) {
    fixture f(std::uint64_t{bs} * 64, 16);
    for (std::uint32_t b = 0; b < 16; ++b) {
        if (b != 2 && b != 9) {
            f.receive(b);
        }
    }
    const auto p = f.parity(0, 16);
    EXPECT_FALSE(f.rx.accept(f.msg(0, 16, p), f.bits.view(), f.counters).has_value());
    EXPECT_EQ(f.rx.deficit(0, f.bits.view()), 1u);
    // Block 9 arrives as data (a repair pass for a stock receiver sent it).
    f.receive(9);
    EXPECT_EQ(f.sweep(0), std::vector<std::uint32_t>{0});
    EXPECT_EQ(f.counters.groups_ready_by_data, 1u);
    ASSERT_TRUE(f.rx.rebuild(0, f.bits.view(), f.io, f.decoder, f.counters));
    EXPECT_TRUE(f.bits.view().test(2));
    EXPECT_TRUE(std::equal(f.file.begin(), f.file.begin() + 16 * bs, f.io.bytes.begin()));
}

// A receiver learns that blocks were stored, not which: sweep_ready() finds
// the groups that data made ready, and the ones data completed, whose
// parity is then freed.
TEST(fec_receiver, a_sweep_lists_every_group_whose_parity_data_made_enough) {
    fixture f(std::uint64_t{bs} * 64, 16);
    // Group 0 misses 2 and 9, group 1 misses 20, group 2 misses 40 and 41;
    // each gets one parity block, so each is one short but group 1.
    for (std::uint32_t b = 0; b < 64; ++b) {
        if (b != 2 && b != 9 && b != 20 && b != 40 && b != 41) {
            f.receive(b);
        }
    }
    for (const std::uint32_t g : {0u, 2u}) {
        const auto p = f.parity(g, 16);
        EXPECT_FALSE(f.rx.accept(f.msg(g, 16, p), f.bits.view(), f.counters).has_value());
    }
    const auto p1 = f.parity(1, 16);
    const auto ready1 = f.rx.accept(f.msg(1, 16, p1), f.bits.view(), f.counters);
    ASSERT_EQ(ready1, std::optional<std::uint32_t>(1));
    // Group 1 is ready, and already listed (waiting for storage): once.
    std::vector<std::uint32_t> ready{1};
    EXPECT_TRUE(f.rx.sweep_ready(f.stored, 0, f.bits.view(), ready, f.counters));
    EXPECT_EQ(ready, std::vector<std::uint32_t>{1});
    EXPECT_EQ(f.counters.groups_ready_by_data, 0u);
    ASSERT_TRUE(f.rx.rebuild(1, f.bits.view(), f.io, f.decoder, f.counters));

    // A data resend fills 9 (group 0 can now rebuild 2) and both of group
    // 2's gaps (its parity is no longer needed). Group 1 was rebuilt.
    f.receive(9);
    f.receive(40);
    f.receive(41);
    const std::int64_t later = fec_receiver::ready_sweep_interval_ns;
    ready = f.sweep(later);
    EXPECT_EQ(ready, (std::vector<std::uint32_t>{0, 2}));
    EXPECT_EQ(f.counters.groups_ready_by_data, 2u);
    for (const std::uint32_t g : ready) {
        ASSERT_TRUE(f.rx.rebuild(g, f.bits.view(), f.io, f.decoder, f.counters));
    }
    EXPECT_TRUE(f.bits.view().complete());
    EXPECT_EQ(f.io.bytes, f.file);
    EXPECT_EQ(f.counters.blocks_rebuilt, 2u); // 20 and 2
    // Every group's parity was released: nothing left to look for.
    EXPECT_FALSE(f.rx.next_sweep(f.stored + 1).has_value());
}

// When the receiver looks: only after blocks were stored since the last
// look, only while some group holds parity, and at most once per interval
// (the appliance's node ticks and the simulator's clock both run this rule).
TEST(fec_receiver, a_sweep_looks_only_when_blocks_were_stored_and_at_most_once_per_interval) {
    fixture f(std::uint64_t{bs} * 64, 16);
    for (std::uint32_t b = 0; b < 16; ++b) {
        if (b != 2 && b != 9) {
            f.receive(b);
        }
    }
    EXPECT_FALSE(f.rx.next_sweep(f.stored).has_value()); // no parity held
    const auto p = f.parity(0, 16);
    EXPECT_FALSE(f.rx.accept(f.msg(0, 16, p), f.bits.view(), f.counters).has_value());
    ASSERT_TRUE(f.rx.next_sweep(f.stored).has_value());
    const std::int64_t t0 = 5'000'000;
    EXPECT_TRUE(f.sweep(t0).empty());                    // group 0 is still one short
    EXPECT_FALSE(f.rx.next_sweep(f.stored).has_value()); // nothing stored since

    f.receive(9);
    const std::int64_t interval = fec_receiver::ready_sweep_interval_ns;
    ASSERT_EQ(f.rx.next_sweep(f.stored), std::optional<std::int64_t>(t0 + interval));
    std::vector<std::uint32_t> ready;
    EXPECT_FALSE(f.rx.sweep_ready(f.stored, t0 + interval - 1, f.bits.view(), ready, f.counters));
    EXPECT_TRUE(ready.empty());
    EXPECT_EQ(f.sweep(t0 + interval), std::vector<std::uint32_t>{0});
}

TEST(fec_receiver, deficit_naks_mark_the_first_missing_blocks_per_group) {
    fixture f(std::uint64_t{bs} * 64, 16);
    // Group 0 misses 1, 4, 5; group 1 misses nothing; group 2 misses 40;
    // group 3 misses 50, 51 and holds one parity.
    for (std::uint32_t b = 0; b < 64; ++b) {
        if (b != 1 && b != 4 && b != 5 && b != 40 && b != 50 && b != 51) {
            f.receive(b);
        }
    }
    const auto p = f.parity(3, 20);
    ASSERT_FALSE(f.rx.accept(f.msg(3, 20, p), f.bits.view(), f.counters).has_value());
    std::vector<std::uint8_t> naks(protocol::nak_bitmap_bytes(64));
    EXPECT_EQ(f.rx.deficit_in_section(0, f.bits.view(), naks), 5u);
    const protocol::nak_bitmap_view view(naks, 64);
    std::vector<std::uint32_t> set;
    view.for_each_missing([&](std::uint32_t i) { set.push_back(i); });
    EXPECT_EQ(set, (std::vector<std::uint32_t>{1, 4, 5, 40, 50}));
}

TEST(fec_receiver, drops_are_counted_by_reason) {
    fixture f(std::uint64_t{bs} * 64, 16);
    for (std::uint32_t b = 0; b < 64; ++b) {
        if (b != 3 && b != 7) {
            f.receive(b);
        }
    }
    auto drops = [&](parity_drop d) { return f.counters.dropped[static_cast<std::size_t>(d)]; };
    const auto p = f.parity(0, 17);
    // Group 1 is complete: its parity is not needed.
    EXPECT_FALSE(f.rx.accept(f.msg(1, 17, f.parity(1, 17)), f.bits.view(), f.counters));
    EXPECT_EQ(drops(parity_drop::unneeded), 1u);
    EXPECT_FALSE(f.rx.accept(f.msg(0, 17, p), f.bits.view(), f.counters));
    EXPECT_FALSE(f.rx.accept(f.msg(0, 17, p), f.bits.view(), f.counters));
    EXPECT_EQ(drops(parity_drop::duplicate), 1u);
    auto bad = f.msg(0, 18, p);
    bad.group_blocks = 32;
    EXPECT_FALSE(f.rx.accept(bad, f.bits.view(), f.counters));
    bad = f.msg(0, 18, p);
    bad.group = 4; // the section has groups 0..3
    EXPECT_FALSE(f.rx.accept(bad, f.bits.view(), f.counters));
    EXPECT_EQ(drops(parity_drop::bad_group), 2u);
    bad = f.msg(0, 18, p);
    bad.data = std::span(p).first(100);
    EXPECT_FALSE(f.rx.accept(bad, f.bits.view(), f.counters));
    EXPECT_EQ(drops(parity_drop::wrong_length), 1u);
    // A read that fails while rebuilding: counted, the group left for NAKs.
    const auto p2 = f.parity(0, 19);
    const auto ready = f.rx.accept(f.msg(0, 19, p2), f.bits.view(), f.counters);
    ASSERT_TRUE(ready.has_value());
    f.io.fail_reads = true;
    EXPECT_FALSE(f.rx.rebuild(*ready, f.bits.view(), f.io, f.decoder, f.counters));
    EXPECT_EQ(drops(parity_drop::decode_failed), 1u);
    EXPECT_EQ(f.rx.deficit(0, f.bits.view()), 2u);
}

TEST(fec_receiver, the_parity_budget_bounds_what_is_kept) {
    const auto layout = *protocol::section_layout::make(std::uint64_t{bs} * 4096, bs);
    auto rx = *fec_receiver::create(layout, 16, 1, 20 * bs); // 20 parity blocks at most
    block_bitmap bits(layout.blocks());                      // nothing received: every group short
    fec_rx_counters counters;
    std::vector<std::uint8_t> p(bs, 1);
    for (std::uint32_t g = 0; g < 25; ++g) {
        rx.accept(
            {.group = static_cast<std::uint16_t>(g), .index = 16, .group_blocks = 16, .data = p},
            bits.view(), counters);
    }
    EXPECT_EQ(counters.parity_kept, 20u);
    EXPECT_EQ(counters.dropped[static_cast<std::size_t>(parity_drop::no_room)], 5u);
}

TEST(fec_receiver, refuses_shapes_it_cannot_code) {
    const auto layout = *protocol::section_layout::make(1000, bs);
    EXPECT_FALSE(fec_receiver::create(layout, 1).has_value());
    EXPECT_FALSE(fec_receiver::create(layout, 254).has_value());
    EXPECT_FALSE(fec_receiver::create(layout, 16, 1, bs - 1).has_value());
    EXPECT_FALSE(fec_decoder::create(1, bs).has_value());
    EXPECT_FALSE(parity_builder::create(0, bs).has_value());
}

} // namespace
} // namespace skycast::dataplane
