// The link emulator's rate cap: exact wire time per frame, back-to-back
// frames queue, a full queue drops, an idle link starts afresh.
#include "perf/linkem/bottleneck.h"

#include <gtest/gtest.h>

namespace skycast::linkem {
namespace {

TEST(bottleneck, no_rate_lets_every_frame_leave_at_once) {
    bottleneck b(0, 0);
    EXPECT_EQ(b.admit(1000, 9000), 1000u);
    EXPECT_EQ(b.admit(1000, 9000), 1000u);
}

TEST(bottleneck, frames_leave_one_wire_time_apart) {
    // 1 Gbit/s: a 1000-byte frame is (1000 + 24) * 8 = 8192 ns on the wire.
    bottleneck b(1'000'000'000, 1'000'000);
    EXPECT_EQ(b.admit(0, 1000), 8192u);
    EXPECT_EQ(b.admit(0, 1000), 2 * 8192u);
    EXPECT_EQ(b.admit(100, 1000), 3 * 8192u) << "queued behind the first two";
    // After the queue drained, a frame starts when it arrives.
    EXPECT_EQ(b.admit(1'000'000, 1000), 1'000'000u + 8192u);
}

TEST(bottleneck, a_full_queue_drops_and_the_rate_holds_over_a_long_run) {
    // 2 Mbit/s return link, 10 kB queue: a burst of 100 x 1000 B at once.
    bottleneck b(2'000'000, 10'000);
    int admitted = 0;
    std::uint64_t last = 0;
    for (int i = 0; i < 100; ++i) {
        if (const auto t = b.admit(0, 1000); t != 0) {
            ++admitted;
            last = t;
        }
    }
    // The queue counts wire bytes: 1000 + 24 per frame, nine fit in 10,000.
    EXPECT_EQ(admitted, 9);
    EXPECT_EQ(last, 9u * 1024 * 8 * 500) << "each frame 4.096 ms at 2 Mbit/s";
    // Offered at exactly the rate, nothing drops over 10,000 frames.
    bottleneck steady(2'000'000, 10'000);
    std::uint64_t now = 0;
    for (int i = 0; i < 10'000; ++i) {
        ASSERT_NE(steady.admit(now, 1000), 0u) << i;
        now += 1024 * 8 * 500;
    }
}

TEST(bottleneck, odd_rates_round_the_wire_time_up) {
    bottleneck b(3, 1'000'000);
    EXPECT_EQ(b.admit(0, 1), (25ull * 8 * 1'000'000'000ull + 2) / 3);
}

} // namespace
} // namespace skycast::linkem
