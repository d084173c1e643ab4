// Receiver overload and the sender's rate (control/engine/overload_rate.h,
// docs/protocol.md §18): the rule on its own, then the sender engine taking a
// STATUS without NAKs as the signal and driving the pass's rate with it.
#include "control/engine/overload_rate.h"
#include "protocol/nak_bitmap.h"
#include "tests/unit/engine/sender_rig.h"

#include <gtest/gtest.h>

namespace skycast::test {
namespace {

using engine::overload_rate;
using engine::time_ns;

constexpr time_ns t0 = 1'700'000'000ull * engine::ns_per_second;
constexpr time_ns ms = 1'000'000;
constexpr std::uint64_t gbit = 1'000'000'000;

TEST(overload_rate, falls_to_85_percent_of_what_was_sent_and_holds_for_a_grtt) {
    overload_rate r(20 * gbit); // configured far above what the port reaches
    r.pass_started(t0);
    EXPECT_EQ(r.rate_bps(), 0u); // the configured rate until told otherwise
    // 500 MB in one second: 4 Gbit/s sent.
    ASSERT_TRUE(r.on_overload(t0 + 1000 * ms, 500'000'000, 0.01));
    EXPECT_EQ(r.rate_bps(), 4 * gbit / 100 * 85);
    // Within GRTT (10 ms) + detection delay (30 ms): the same burst of drops.
    EXPECT_FALSE(r.on_overload(t0 + 1030 * ms, 510'000'000, 0.01));
    EXPECT_EQ(r.rate_bps(), 4 * gbit / 100 * 85);
    // After it, from what the new rate achieved: 34 MB in 100 ms = 2.72 Gbit/s.
    ASSERT_TRUE(r.on_overload(t0 + 1100 * ms, 534'000'000, 0.01));
    EXPECT_EQ(r.rate_bps(), 2'720'000'000u / 100 * 85);
}

TEST(overload_rate, never_rises_on_a_signal_and_never_falls_below_the_floor) {
    overload_rate r(1 * gbit);
    r.pass_started(t0);
    // Sent faster than the rate (a burst just after a change): the rate
    // still only falls.
    ASSERT_TRUE(r.on_overload(t0 + 10 * ms, 10'000'000, 0.01)); // 8 Gbit/s measured
    EXPECT_EQ(r.rate_bps(), 1 * gbit);
    time_ns now = t0 + 10 * ms;
    for (int i = 0; i < 200; ++i) {
        now += 100 * ms;
        r.on_overload(now, 0, 0.01); // nothing sent: falls from the rate itself
    }
    EXPECT_EQ(r.rate_bps(), overload_rate::floor_bps);
}

TEST(overload_rate, an_unpaced_sender_with_nothing_sent_yet_waits_for_a_measure) {
    overload_rate r(0);
    r.pass_started(t0);
    EXPECT_FALSE(r.on_overload(t0 + ms / 2, 0, 0.01));
    EXPECT_EQ(r.rate_bps(), 0u);
    ASSERT_TRUE(r.on_overload(t0 + 100 * ms, 50'000'000, 0.01)); // 4 Gbit/s
    EXPECT_EQ(r.rate_bps(), 4 * gbit / 100 * 85);
}

TEST(overload_rate, quiet_spells_raise_it_ten_percent_a_step_back_to_the_configured_rate) {
    overload_rate r(2 * gbit);
    r.pass_started(t0);
    ASSERT_TRUE(r.on_overload(t0 + 1000 * ms, 125'000'000, 0.01)); // 1 Gbit/s sent
    const std::uint64_t low = r.rate_bps();
    EXPECT_EQ(low, 850'000'000u);
    const time_ns step = 50 * ms;
    EXPECT_EQ(r.next_raise(step), t0 + 1050 * ms);
    EXPECT_FALSE(r.on_quiet(t0 + 1049 * ms, 0, step));
    ASSERT_TRUE(r.on_quiet(t0 + 1050 * ms, 0, step));
    EXPECT_EQ(r.rate_bps(), low + low / 10);
    int steps = 1;
    time_ns now = t0 + 1050 * ms;
    while (r.rate_bps() != 0) {
        now += step;
        ASSERT_TRUE(r.on_quiet(now, 0, step));
        ++steps;
        ASSERT_LT(steps, 20);
    }
    // 0.85 → 2 Gbit/s at 10 % a step: 9 steps, then the configured rate.
    EXPECT_EQ(steps, 9);
    EXPECT_EQ(r.next_raise(step), engine::no_deadline);
    EXPECT_FALSE(r.on_quiet(now + 10 * step, 0, step));
}

// --- The sender engine -------------------------------------------------------------

std::vector<std::uint8_t> status_of(std::uint32_t uid, std::uint16_t section,
                                    const std::vector<std::uint8_t>& bits) {
    return client_datagram(uid, 0x77,
                           protocol::status_msg{.file_id = 1, .section = section, .naks = bits});
}

// A sender configured for `rate_bps` in pass 1 of a 1000-block file to
// client 9, which reports overload once `bytes_sent` have gone out in 2 ms.
struct overloaded_pass {
    overloaded_pass(std::uint64_t rate_bps, std::uint64_t bytes_sent)
        : rig(config(rate_bps), {{.name = "f", .size = 1000 * 1000}}) {
        now = rig.to_first_pass(9, t0);
        EXPECT_EQ(rig.sender.phase(), engine::sender_phase::data);
        EXPECT_EQ(rig.dp.passes.size(), 1u);
        EXPECT_EQ(rig.dp.passes[0].rate_bps, 0u); // the node's rate
        rig.dp.cursor = static_cast<std::uint32_t>(bytes_sent / 1000 - 1);
        rig.dp.bytes_sent = bytes_sent;
        now += 2 * ms;
        rig.sender.on_datagram(now, {.address = 9}, status_of(9, 0, none));
    }
    static engine::sender_config config(std::uint64_t rate_bps) {
        auto cfg = quick_sender();
        cfg.block_size = 1000;
        cfg.rate_bps = rate_bps;
        return cfg;
    }
    sender_rig rig;
    time_ns now = 0;
    const std::vector<std::uint8_t> none =
        std::vector<std::uint8_t>(protocol::nak_bitmap_bytes(1000), 0);
};

TEST(sender_engine, a_status_without_naks_mid_pass_slows_the_pass_and_the_next_one) {
    overloaded_pass o(20 * gbit, 1'000'000); // 1 MB in 2 ms: 4 Gbit/s
    auto& rig = o.rig;
    time_ns now = o.now;
    const auto& none = o.none;
    EXPECT_EQ(rig.sender.stats().overload_signals, 1u);
    EXPECT_EQ(rig.sender.stats().rate_decreases, 1u);
    ASSERT_EQ(rig.dp.rates.size(), 1u);
    EXPECT_EQ(rig.dp.rates[0], 4 * gbit / 100 * 85);
    EXPECT_EQ(rig.sender.stats().rate_bps, rig.dp.rates[0]);
    // Not an answer, not NAKs: nothing is marked for the next pass.
    EXPECT_EQ(rig.sender.stats().status_current_section, 0u);
    rig.dp.cursor = 1000;
    rig.sender.on_pass_end(now, 1);
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::done_wait);
    // A late one, after the pass: counted, changes nothing.
    rig.sender.on_datagram(now + ms, {.address = 9}, status_of(9, 0, none));
    EXPECT_EQ(rig.sender.stats().overload_signals, 2u);
    EXPECT_EQ(rig.dp.rates.size(), 1u);
    // The client misses block 3: the repair pass runs at the lowered rate.
    std::vector<std::uint8_t> nak = none;
    nak[0] = 0x08;
    rig.sender.on_datagram(now + 2 * ms, {.address = 9}, status_of(9, 0, nak));
    while (rig.dp.passes.size() < 2) {
        now = rig.sender.next_deadline();
        ASSERT_NE(now, engine::no_deadline);
        rig.sender.on_timer(now);
    }
    EXPECT_EQ(rig.dp.passes[1].rate_bps, 4 * gbit / 100 * 85);
    EXPECT_EQ(rig.dp.passes[1].blocks[0], 0x08u);
}

TEST(sender_engine, a_quiet_pass_climbs_back_to_the_configured_rate) {
    overloaded_pass o(1 * gbit, 200'000); // 800 Mbit/s over 2 ms
    auto& rig = o.rig;
    time_ns now = o.now;
    ASSERT_EQ(rig.dp.rates.size(), 1u);
    EXPECT_EQ(rig.dp.rates[0], 800'000'000u / 100 * 85);
    // The engine's timer raises it step by step (GRTT 0.1 s: 0.13 s a step,
    // one GRTT and the receivers' detection delay) until the configured
    // rate, which the dataplane gets as 0.
    time_ns last = now;
    while (rig.dp.rates.back() != 0) {
        now = rig.sender.next_deadline();
        ASSERT_NE(now, engine::no_deadline);
        EXPECT_GE(now - last, engine::seconds_to_ns(rig.sender.grtt()) +
                                  engine::overload_rate::detection_delay - 1);
        last = now;
        rig.sender.on_timer(now);
        ASSERT_LT(rig.dp.rates.size(), 20u);
    }
    EXPECT_EQ(rig.sender.stats().rate_increases, rig.dp.rates.size() - 1);
    EXPECT_GT(rig.dp.rates[rig.dp.rates.size() - 2], rig.dp.rates[0]);
    EXPECT_EQ(rig.sender.stats().rate_bps, 0u);
}

} // namespace
} // namespace skycast::test
