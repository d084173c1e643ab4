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
