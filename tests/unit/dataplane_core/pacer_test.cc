// The pacer: exact long-run rates in wire bits, bursts, a fake clock.
#include "dataplane/core/pacer.h"

#include <gtest/gtest.h>

namespace skycast::dataplane {
namespace {

constexpr std::uint64_t ns_hz = 1'000'000'000;

TEST(pacer, unpaced_admits_everything) {
    const auto p = make_pacer_profile(ns_hz, 0, 0);
    auto s = make_pacer_state(p, 0);
    for (int i = 0; i < 1000; ++i) {
        EXPECT_TRUE(pacer_admit(p, s, 0, 9014));
        EXPECT_EQ(pacer_next_admit(p, s, 5, 9014), 5u);
    }
}

TEST(pacer, after_the_burst_frames_leave_exactly_one_wire_time_apart) {
    // 1 Gbit/s, 1000-byte frames: (1000 + 24) * 8 bits = 8192 ns each.
    const auto p = make_pacer_profile(ns_hz, 1'000'000'000, 0);
    auto s = make_pacer_state(p, 0);
    std::uint64_t now = 0;
    int burst = 0;
    while (pacer_admit(p, s, now, 1000)) {
        ++burst;
    }
    EXPECT_EQ(burst, static_cast<int>(p.burst_bytes / 1024));
    std::uint64_t previous = 0;
    for (int i = 0; i < 100; ++i) {
        const std::uint64_t next = pacer_next_admit(p, s, now, 1000);
        EXPECT_FALSE(pacer_admit(p, s, next - 1, 1000)) << "admitted a tick early";
        ASSERT_TRUE(pacer_admit(p, s, next, 1000));
        if (i > 0) {
            EXPECT_EQ(next - previous, 8192u);
        }
        previous = next;
        now = next;
    }
}

TEST(pacer, long_run_rate_is_exact_on_an_odd_clock) {
    // 10 Gbit/s on a 2.45 GHz TSC with 1324-byte frames: a non-integer number
    // of ticks per frame. Over a million frames the schedule may not drift.
    const std::uint64_t tsc_hz = 2'450'000'000;
    const std::uint64_t rate = 10'000'000'000;
    const std::uint32_t frame = 1324 + 14;
    const auto p = make_pacer_profile(tsc_hz, rate, 0);
    auto s = make_pacer_state(p, 0);
    s.tokens = 0; // start empty so the count is pure rate
    std::uint64_t now = 0;
    const int frames = 1'000'000;
    for (int i = 0; i < frames; ++i) {
        now = pacer_next_admit(p, s, now, frame);
        ASSERT_TRUE(pacer_admit(p, s, now, frame));
    }
    // Exact: frames * wire bits * Hz / rate, rounded up to the tick.
    const pacer_u128 bit_ticks = pacer_u128{frames} * (frame + 24) * 8 * tsc_hz;
    const auto exact_ticks = static_cast<std::uint64_t>((bit_ticks + rate - 1) / rate);
    EXPECT_EQ(now, exact_ticks);
}

TEST(pacer, a_clock_that_goes_back_adds_no_tokens) {
    const auto p = make_pacer_profile(ns_hz, 1'000'000, 0);
    auto s = make_pacer_state(p, 1'000'000);
    while (pacer_admit(p, s, 1'000'000, 1000)) {
    }
    EXPECT_FALSE(pacer_admit(p, s, 10, 1000));
    EXPECT_FALSE(pacer_admit(p, s, 1'000'000, 1000));
    EXPECT_GT(pacer_next_admit(p, s, 10, 1000), 1'000'000u);
}

TEST(pacer, burst_is_at_least_one_jumbo_frame) {
    const auto p = make_pacer_profile(ns_hz, 1'000'000, 64);
    auto s = make_pacer_state(p, 0);
    EXPECT_TRUE(pacer_admit(p, s, 0, 9014));
    EXPECT_GE(p.burst_bytes, 9014u + ethernet_wire_overhead);
}

TEST(pacer, idle_time_refills_only_up_to_the_burst) {
    const auto p = make_pacer_profile(ns_hz, 1'000'000'000, 20'000);
    auto s = make_pacer_state(p, 0);
    // An hour idle: still only one burst's worth.
    const std::uint64_t later = 3600 * ns_hz;
    int sent = 0;
    while (pacer_admit(p, s, later, 1000)) {
        ++sent;
    }
    EXPECT_EQ(sent, 20'000 / 1024);
}

TEST(pacer, counts_the_rate_a_sender_left_unused_once_the_burst_was_full) {
    // 1 Gbit/s = 1 byte per 8 ns; a 20,000-byte burst.
    const auto p = make_pacer_profile(ns_hz, 1'000'000'000, 20'000);
    auto s = make_pacer_state(p, 0);
    while (pacer_admit(p, s, 0, 1000)) {
    }
    // A sender that comes back before the burst has refilled loses nothing.
    const std::uint64_t refilled = 8 * 20'000;
    EXPECT_TRUE(pacer_admit(p, s, refilled / 2, 1000));
    EXPECT_EQ(pacer_unused_bytes(p, s), 0u);
    // Then it sleeps 1.16 ms (145,000 bytes of rate) while the burst had
    // room for only 10,480 more (20,000 less the 544 left after the first
    // burst, plus the 10,000 refilled, less the 1024 just sent): the rest is
    // lost for good, and it still gets only one burst.
    const std::uint64_t back = refilled / 2 + 1'160'000;
    int sent = 0;
    while (pacer_admit(p, s, back, 1000)) {
        ++sent;
    }
    EXPECT_EQ(sent, 20'000 / 1024);
    const std::uint64_t unused = pacer_unused_bytes(p, s);
    EXPECT_EQ(unused, 145'000u - (20'000u - (544u + 10'000u - 1024u)));
    // Unpaced and back keeps the count.
    auto q = p;
    pacer_set_rate(q, s, back, 0);
    pacer_set_rate(q, s, back, 1'000'000'000);
    EXPECT_EQ(pacer_unused_bytes(q, s), unused);
}

TEST(pacer, a_new_rate_spaces_frames_from_then_on_without_a_burst) {
    // 1 Gbit/s, then 500 Mbit/s: 1000-byte frames 8192 ns apart, then 16384.
    auto p = make_pacer_profile(ns_hz, 1'000'000'000, 0);
    auto s = make_pacer_state(p, 0);
    std::uint64_t now = 0;
    while (pacer_admit(p, s, now, 1000)) {
    }
    now = pacer_next_admit(p, s, now, 1000);
    ASSERT_TRUE(pacer_admit(p, s, now, 1000));
    pacer_set_rate(p, s, now, 500'000'000);
    EXPECT_EQ(p.rate_bps, 500'000'000u);
    for (int i = 0; i < 10; ++i) {
        const std::uint64_t next = pacer_next_admit(p, s, now, 1000);
        EXPECT_EQ(next - now, 16384u) << "frame " << i;
        ASSERT_TRUE(pacer_admit(p, s, next, 1000));
        now = next;
    }
    // Back to unpaced: everything passes; and from unpaced to a rate, the
    // bucket starts full (one burst), then the rate.
    pacer_set_rate(p, s, now, 0);
    EXPECT_TRUE(pacer_admit(p, s, now, 1000));
    pacer_set_rate(p, s, now, 1'000'000'000);
    int burst = 0;
    while (pacer_admit(p, s, now, 1000)) {
        ++burst;
    }
    EXPECT_EQ(burst, static_cast<int>(p.burst_bytes / 1024));
    EXPECT_EQ(pacer_next_admit(p, s, now, 1000) - now, 8192u - (p.burst_bytes % 1024) * 8);
}

} // namespace
} // namespace skycast::dataplane
