// The idle pause rule every polling loop shares (dataplane/core/idle_backoff.h).
#include "dataplane/core/idle_backoff.h"

#include <gtest/gtest.h>

namespace skycast::dataplane {
namespace {

TEST(idle_backoff, spins_then_doubles_up_to_the_longest_pause) {
    idle_backoff b(20, 1000, 3);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(b.after_round(false), 0u) << "spin " << i;
    }
    EXPECT_EQ(b.after_round(false), 20u);
    EXPECT_EQ(b.after_round(false), 40u);
    EXPECT_EQ(b.after_round(false), 80u);
    EXPECT_EQ(b.after_round(false), 160u);
    EXPECT_EQ(b.after_round(false), 320u);
    EXPECT_EQ(b.after_round(false), 640u);
    EXPECT_EQ(b.after_round(false), 1000u);
    EXPECT_EQ(b.after_round(false), 1000u);
}

TEST(idle_backoff, work_resets_to_spinning_and_the_first_pause) {
    idle_backoff b(50, 400, 1);
    EXPECT_EQ(b.after_round(false), 0u);
    EXPECT_EQ(b.after_round(false), 50u);
    EXPECT_EQ(b.after_round(false), 100u);
    EXPECT_EQ(b.after_round(true), 0u);
    EXPECT_EQ(b.after_round(false), 0u) << "spins again after work";
    EXPECT_EQ(b.after_round(false), 50u) << "starts again from the first pause";
}

TEST(idle_backoff, deep_stage_only_after_continuous_idleness) {
    // Shallow up to 1000 us; after 5000 us idle in total, up to 8000 us.
    idle_backoff b(500, 1000, 0, deep_idle{5000, 8000});
    std::uint32_t idle = 0;
    EXPECT_EQ(b.after_round(false), 500u);
    idle += 500;
    while (idle < 5000) {
        const auto p = b.after_round(false);
        EXPECT_EQ(p, 1000u) << "shallow until the deep stage: idle " << idle;
        EXPECT_FALSE(b.deep_pause());
        idle += p;
    }
    EXPECT_EQ(b.after_round(false), 2000u);
    EXPECT_TRUE(b.deep_pause());
    EXPECT_EQ(b.after_round(false), 4000u);
    EXPECT_EQ(b.after_round(false), 8000u);
    EXPECT_EQ(b.after_round(false), 8000u);
    // Work starts over from the shallow stage, idleness counted again.
    EXPECT_EQ(b.after_round(true), 0u);
    EXPECT_FALSE(b.deep_pause());
    EXPECT_EQ(b.after_round(false), 500u);
    EXPECT_EQ(b.after_round(false), 1000u);
    EXPECT_EQ(b.after_round(false), 1000u);
}

TEST(idle_backoff, deep_longest_not_above_longest_means_no_deep_stage) {
    idle_backoff b(100, 200'000, 0, node_deep_idle); // the kernel ring test's 200 ms
    for (int i = 0; i < 100; ++i) {
        EXPECT_LE(b.after_round(false), 200'000u);
        EXPECT_FALSE(b.deep_pause());
    }
}

TEST(idle_backoff, zero_first_pause_busy_polls) {
    idle_backoff b(0, 1000, 0);
    for (int i = 0; i < 1000; ++i) {
        ASSERT_EQ(b.after_round(false), 0u);
    }
}

TEST(idle_backoff, longest_below_first_is_the_first) {
    idle_backoff b(300, 100, 0);
    EXPECT_EQ(b.longest_us(), 300u);
    EXPECT_EQ(b.after_round(false), 300u);
    EXPECT_EQ(b.after_round(false), 300u);
}

TEST(idle_backoff, no_spins_pauses_at_once) {
    idle_backoff b(200, 2000, 0);
    EXPECT_EQ(b.after_round(false), 200u);
}

} // namespace
} // namespace skycast::dataplane
