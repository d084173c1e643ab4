// The order FEC parity goes out in (dataplane/core/parity_ahead.h), which the
// TX lcore and the simulator share: windows whose runs' blocks are spread
// evenly over the window (equal runs: index by index), so a burst costs each
// run of a window at most its share; a group's parity
// never before its data, an interleaving span's together; runs the encoder
// fails or the sender cannot frame are counted, never sent; the encoder
// stays within its horizon and the consumer waits for it, never past it.
#include "dataplane/core/parity_ahead.h"

#include <gtest/gtest.h>
#include <map>
#include <random>
#include <set>
#include <vector>

namespace skycast::dataplane {
namespace {

constexpr std::uint32_t bs = 512;
constexpr std::uint32_t k = 8;

std::vector<std::uint8_t> random_file(std::uint64_t size) {
    std::mt19937 rng(5);
    std::vector<std::uint8_t> f(size);
    for (auto& b : f) {
        b = static_cast<std::uint8_t>(rng());
    }
    return f;
}

struct sent_parity {
    std::uint32_t group;
    std::uint32_t index;
    std::uint32_t cursor; // the data cursor when it went out
};

struct rig {
    std::vector<std::uint8_t> file;
    protocol::section_layout layout;
    protocol::fec_groups groups;
    std::vector<api::parity_entry> table;
    parity_builder builder = *parity_builder::create(k, bs);
    parity_ahead ahead;

    rig(std::uint32_t blocks, std::uint32_t span, std::uint8_t count)
        : file(random_file(std::uint64_t{blocks} * bs)),
          layout(*protocol::section_layout::make(file.size(), bs)), groups(layout, k, span),
          table(groups.count(), api::parity_entry{.count = count, .first_index = k}) {}

    // A ring of `depth` runs of `count` blocks.
    void init(std::uint32_t depth) {
        std::uint32_t longest = 0;
        for (const auto& e : table) {
            longest = std::max<std::uint32_t>(longest, e.count);
        }
        ASSERT_TRUE(ahead.init(table.data(), groups, bs, std::size_t{depth} * longest * bs));
        ASSERT_EQ(ahead.depth(), depth);
    }

    // Sends the pass as the TX lcore does: data block by block, parity
    // whenever parity_ahead has a block due, the encoder keeping the ring full.
    std::vector<sent_parity> run_pass(std::uint32_t data_blocks) {
        std::vector<sent_parity> out;
        std::uint32_t cursor = 0;
        for (int guard = 0; guard < 1000000; ++guard) {
            (void)ahead.produce(builder, file, 1000, layout.blocks());
            const parity_item item = ahead.next(cursor, cursor >= data_blocks);
            if (item.run != nullptr) {
                const std::uint32_t index = item.run->first_index + item.offset;
                out.push_back({item.run->group, index, cursor});
                expect_bytes(*item.run, item.offset);
                ahead.sent();
                continue;
            }
            if (cursor < data_blocks) {
                ++cursor;
                continue;
            }
            if (ahead.finished()) {
                break;
            }
        }
        return out;
    }

    void expect_bytes(const parity_run& run, std::uint32_t offset) {
        std::vector<std::uint8_t> want(bs);
        std::array<std::uint8_t*, 1> rows{want.data()};
        ASSERT_EQ(builder.parity_blocks(groups, file, run.group, run.first_index + offset, rows),
                  fec_error::ok);
        EXPECT_TRUE(std::equal(want.begin(), want.end(), run.bytes + std::size_t{offset} * bs))
            << "group " << run.group << " offset " << offset;
    }
};

TEST(parity_ahead, a_repair_pass_goes_index_by_index_across_each_window) {
    rig r(64 * k, 1, 3); // 64 groups, 3 parity blocks each
    r.init(16);          // windows of 8 runs
    const auto sent = r.run_pass(0);
    ASSERT_EQ(sent.size(), 64u * 3);
    for (std::size_t i = 0; i < sent.size(); ++i) {
        const std::size_t window = i / 24, in_window = i % 24;
        EXPECT_EQ(sent[i].group, window * 8 + in_window % 8) << i;
        EXPECT_EQ(sent[i].index, k + in_window / 8) << i;
    }
    EXPECT_EQ(r.ahead.take_failed_blocks(), 0u);
}

TEST(parity_ahead, a_burst_costs_each_run_of_a_window_at_most_its_share) {
    // Runs of 1 to 5 blocks, windows of 8: a burst of 4 blocks takes at
    // most two of any group (a window's rows thin out towards its longest
    // runs), where run after run it would take four.
    rig r(64 * k, 1, 0);
    for (std::uint32_t g = 0; g < r.groups.count(); ++g) {
        r.table[g].count = static_cast<std::uint8_t>(1 + g % 5);
    }
    r.init(16);
    const auto sent = r.run_pass(0);
    std::uint32_t total = 0;
    for (const auto& e : r.table) {
        total += e.count;
    }
    ASSERT_EQ(sent.size(), total);
    for (std::size_t i = 0; i + 4 <= sent.size(); ++i) {
        std::map<std::uint32_t, int> per_group;
        for (std::size_t j = i; j < i + 4; ++j) { // shorter than any window's row
            ++per_group[sent[j].group];
        }
        for (const auto& [g, n] : per_group) {
            EXPECT_LE(n, 2) << "group " << g << " at " << i;
        }
    }
}

// Sends a pass of `r` and checks every burst of `burst` blocks against
// `most(group)`, the most of a group's run it may take.
template <typename Most>
void expect_bursts_take_at_most(const std::vector<sent_parity>& sent, std::size_t burst,
                                Most most) {
    for (std::size_t i = 0; i + burst <= sent.size(); ++i) {
        std::map<std::uint32_t, std::uint32_t> per_group;
        for (std::size_t j = i; j < i + burst; ++j) {
            ++per_group[sent[j].group];
        }
        for (const auto& [g, n] : per_group) {
            EXPECT_LE(n, most(g)) << "group " << g << " burst at " << i;
        }
    }
    // Each run's blocks still go in index order.
    std::map<std::uint32_t, std::uint32_t> next_index;
    for (const auto& p : sent) {
        auto [it, fresh] = next_index.try_emplace(p.group, k);
        EXPECT_EQ(p.index, it->second) << "group " << p.group;
        ++it->second;
    }
}

TEST(parity_ahead, a_short_runs_blocks_are_spread_over_a_window_of_long_ones) {
    // Windows of five runs: four of 2 and one of 20 (28 blocks). Index by
    // index, the short runs' blocks would all go in the window's first 10,
    // and a burst of 10 would take both blocks of each; spread, a burst of
    // 10 (a third of the window) takes at most one of 2 and at most 8 of 20.
    rig r(20 * k, 1, 2);
    for (std::uint32_t g = 4; g < 20; g += 5) {
        r.table[g].count = 20;
    }
    r.init(10); // a ring of 10 (the table's 112 blocks are over half of it): windows of 5
    const auto sent = r.run_pass(0);
    ASSERT_EQ(sent.size(), 4u * 28);
    for (std::size_t i = 0; i < sent.size(); ++i) {
        EXPECT_EQ(sent[i].group / 5, i / 28) << "block " << i << " outside its window";
    }
    expect_bursts_take_at_most(sent, 10, [](std::uint32_t g) { return g % 5 == 4 ? 8u : 1u; });
}

TEST(parity_ahead, a_table_within_half_the_budget_goes_as_one_window) {
    // A late repair pass: 12 groups, runs of 1 to 12 (78 blocks), a budget
    // of 200 blocks. Each run gets a buffer of its own length and one window
    // spreads every run over the whole pass: a burst of 13 blocks (a sixth)
    // takes at most a sixth of any run, rounded up, and one more.
    rig r(12 * k, 1, 0);
    for (std::uint32_t g = 0; g < 12; ++g) {
        r.table[g].count = static_cast<std::uint8_t>(g + 1);
    }
    ASSERT_TRUE(r.ahead.init(r.table.data(), r.groups, bs, 200 * bs));
    EXPECT_EQ(r.ahead.depth(), 12u);
    EXPECT_EQ(r.ahead.window_runs(), 12u);
    const auto sent = r.run_pass(0);
    ASSERT_EQ(sent.size(), 78u);
    expect_bursts_take_at_most(sent, 13, [](std::uint32_t g) { return (g + 1 + 5) / 6 + 1; });
    // Index by index, the last 13 blocks would be the 12-run's last five
    // and more: spread, the pass ends with blocks of several runs.
    std::set<std::uint32_t> tail;
    for (std::size_t i = sent.size() - 13; i < sent.size(); ++i) {
        tail.insert(sent[i].group);
    }
    EXPECT_GE(tail.size(), 6u);
}

TEST(parity_ahead, a_groups_parity_follows_its_data_at_once_without_interleaving) {
    rig r(20 * k, 1, 2);
    r.init(16);
    const auto sent = r.run_pass(r.layout.blocks());
    ASSERT_EQ(sent.size(), 20u * 2);
    for (const auto& s : sent) {
        // Right after the group's last block: the next group's data is not
        // out, so nothing else could join its window.
        EXPECT_EQ(s.cursor, r.groups.last_block(s.group) + 1) << "group " << s.group;
    }
}

TEST(parity_ahead, an_interleaving_spans_groups_go_out_together_after_its_last_block) {
    rig r(24 * k + 5, 4, 2); // spans of 4 groups; a short last span
    r.init(16);
    const auto sent = r.run_pass(r.layout.blocks());
    ASSERT_EQ(sent.size(), std::size_t{r.groups.count()} * 2);
    for (std::size_t i = 0; i < sent.size(); ++i) {
        const std::uint32_t first = r.groups.span_first_group(sent[i].group);
        for (std::uint32_t g = first; g < r.groups.count() && r.groups.span_first_group(g) == first;
             ++g) {
            EXPECT_GT(sent[i].cursor, r.groups.last_block(g))
                << "group " << sent[i].group << " before the data of group " << g;
        }
        // Index by index across the span: both first blocks before the seconds.
        if (sent[i].index == k + 1) {
            for (std::size_t j = i + 1; j < sent.size(); ++j) {
                if (r.groups.span_first_group(sent[j].group) == first) {
                    EXPECT_NE(sent[j].index, k) << "span of group " << first;
                }
            }
        }
    }
}

TEST(parity_ahead, runs_that_fail_are_counted_and_never_sent) {
    rig r(10 * k, 1, 2);
    r.table[3] = {.count = 10, .first_index = 250}; // past index 254: the codec refuses
    r.table[4] = {.count = 0, .first_index = 0};    // no run at all
    r.init(4);
    std::uint32_t failed = 0;
    std::vector<sent_parity> sent;
    for (int guard = 0; guard < 10000 && !r.ahead.finished(); ++guard) {
        (void)r.ahead.produce(r.builder, r.file, 1000, r.layout.blocks());
        const parity_item item = r.ahead.next(r.layout.blocks(), true);
        failed += r.ahead.take_failed_blocks();
        if (item.run != nullptr) {
            sent.push_back({item.run->group, item.run->first_index + item.offset, 0});
            r.ahead.sent();
        }
    }
    ASSERT_TRUE(r.ahead.finished());
    EXPECT_EQ(failed, 10u);
    EXPECT_EQ(sent.size(), 8u * 2);
    for (const auto& s : sent) {
        EXPECT_NE(s.group, 3u);
        EXPECT_NE(s.group, 4u);
    }
}

TEST(parity_ahead, dropping_a_run_skips_the_rest_of_it_and_counts_them) {
    rig r(4 * k, 1, 3);
    r.init(4); // windows of 2 runs
    (void)r.ahead.produce(r.builder, r.file, 1000, r.layout.blocks());
    parity_item item = r.ahead.next(r.layout.blocks(), true);
    ASSERT_NE(item.run, nullptr);
    EXPECT_EQ(item.run->group, 0u);
    r.ahead.sent(); // group 0's first block out; group 1's is next
    item = r.ahead.next(r.layout.blocks(), true);
    ASSERT_EQ(item.run->group, 1u);
    EXPECT_EQ(r.ahead.drop_run(), 3u);
    std::set<std::uint32_t> groups_after;
    for (int guard = 0; guard < 100 && !r.ahead.finished(); ++guard) {
        item = r.ahead.next(r.layout.blocks(), true);
        if (item.run != nullptr) {
            groups_after.insert(item.run->group);
            r.ahead.sent();
        }
    }
    EXPECT_EQ(groups_after, (std::set<std::uint32_t>{0, 2, 3}));
}

TEST(parity_ahead, the_encoder_stays_within_its_horizon_and_the_sender_waits_for_it) {
    rig r(16 * k, 1, 2);
    r.init(16); // windows of 8
    // Only groups whose blocks all lie before block 3k: groups 0..2.
    EXPECT_EQ(r.ahead.produce(r.builder, r.file, 1000, 3 * k), 3u);
    // The data is out but a window of 8 is not encoded yet: nothing, not finished.
    EXPECT_EQ(r.ahead.next(r.layout.blocks(), true).run, nullptr);
    EXPECT_FALSE(r.ahead.finished());
    EXPECT_EQ(r.ahead.produce(r.builder, r.file, 1000, r.layout.blocks()), 13u);
    const parity_item item = r.ahead.next(r.layout.blocks(), true);
    ASSERT_NE(item.run, nullptr);
    EXPECT_EQ(item.run->group, 0u);
}

TEST(parity_ahead, a_budget_too_small_for_two_runs_is_refused) {
    rig r(4 * k, 1, 3);
    EXPECT_FALSE(r.ahead.init(r.table.data(), r.groups, bs, 2 * 3 * bs - 1));
    EXPECT_TRUE(r.ahead.init(r.table.data(), r.groups, bs, 2 * 3 * bs));
}

} // namespace
} // namespace skycast::dataplane
