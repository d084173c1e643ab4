// FEC repair (docs/protocol.md §17) through the simulator: the real sender
// and receiver engines, dataplane/core's parity builder and FEC receive
// state. Receivers must end byte-identical; what the sender sent must show
// parity doing the repair, and receivers that cannot decode (stock-like)
// must still complete by NAK repair in the same session.
#include "control/engine/fec_proactive.h"
#include "dataplane/core/fec_receiver.h"
#include "protocol/fec_groups.h"
#include "protocol/parity.h"
#include "tests/unit/engine/sim_fixture.h"

#include <cmath>
#include <gtest/gtest.h>
#include <initializer_list>
#include <memory>

namespace skycast::test {
namespace {

std::uint64_t parity_drops(const sim::sim_report& r, dataplane::parity_drop d) {
    return r.fec_rx.dropped[static_cast<std::size_t>(d)];
}

// The multi-section file (3 sections of 512-byte blocks, short tail) to 10
// receivers at 10 % loss, with k = 16 and 10 % proactive parity.
sim::sim_config fec_session(const scratch_dir& dir) {
    auto cfg = multi_section_under_loss(dir);
    cfg.sender.fec = {.group_blocks = 16, .proactive = 0.10};
    return cfg;
}

// Receivers `which` over the session's link, with `profile`'s other settings.
void override_receivers(sim::sim_config& cfg, std::initializer_list<std::uint32_t> which,
                        sim::receiver_profile profile) {
    profile.down = cfg.link;
    profile.up = cfg.link;
    for (const std::uint32_t i : which) {
        cfg.overrides[i] = profile;
    }
}

TEST(engine_fec, every_receiver_rebuilds_lost_blocks_from_parity) {
    scratch_dir dir;
    const auto r = sim::run_simulation(fec_session(dir));
    ASSERT_TRUE(all_identical(r, 10));
    // Repair was parity, never data: no data block went out twice.
    EXPECT_EQ(r.sender.blocks_resent, 0u);
    EXPECT_GT(r.sender.parity_proactive, 0u);
    EXPECT_GT(r.sender.parity_sent, r.sender.parity_proactive); // repair passes too
    EXPECT_EQ(r.parity_datagrams, r.sender.parity_sent);
    EXPECT_GT(r.sender.fec_status_in, 0u);
    EXPECT_GT(r.fec_rx.blocks_rebuilt, 0u);
    EXPECT_EQ(parity_drops(r, dataplane::parity_drop::decode_failed), 0u);
    EXPECT_EQ(r.parity_failures, 0u);
    EXPECT_EQ(parity_drops(r, dataplane::parity_drop::no_room), 0u);
}

TEST(engine_fec, parity_repair_sends_fewer_bytes_than_nak_repair) {
    scratch_dir nak_dir;
    auto nak = multi_section_under_loss(nak_dir);
    const auto without = sim::run_simulation(nak);
    ASSERT_TRUE(all_identical(without, 10));
    scratch_dir fec_dir;
    const auto with = sim::run_simulation(fec_session(fec_dir));
    ASSERT_TRUE(all_identical(with, 10));
    const auto sent = [](const sim::sim_report& r) {
        return r.sender.bytes_sent + r.sender.parity_bytes_sent;
    };
    EXPECT_LT(sent(with), sent(without));
}

TEST(engine_fec, stock_like_receivers_complete_by_nak_in_the_same_session) {
    scratch_dir dir;
    auto cfg = fec_session(dir);
    override_receivers(cfg, {0, 3, 7}, {.fec_capable = false});
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(all_identical(r, 10));
    // The three NAK data blocks (resent as data); the rest ask for parity.
    EXPECT_GT(r.sender.blocks_resent, 0u);
    EXPECT_GT(r.sender.fec_status_in, 0u);
    for (std::uint32_t i : {0u, 3u, 7u}) {
        EXPECT_EQ(r.receivers[i].stats.fec_declined, 1u) << "receiver " << i;
    }
    EXPECT_EQ(r.receivers[1].stats.fec_declined, 0u);
    // The data resent for them filled gaps of groups the others held
    // parity for: those groups were found by the sweep the appliance runs
    // (fec_receiver::sweep_ready) and rebuilt, not left silent.
    EXPECT_GT(r.fec_rx.groups_ready_by_data, 0u);
}

TEST(engine_fec, receivers_that_parity_never_reaches_fall_back_to_naking_data_blocks) {
    // Behind a proxy that forwards the session port only (stock
    // uftpproxyd), PARITY never arrives: after one DONE-answered ask goes
    // unanswered, those receivers NAK data blocks and complete by resends;
    // the others keep rebuilding from parity (docs/protocol.md §17.6).
    scratch_dir dir;
    auto cfg = fec_session(dir);
    override_receivers(cfg, {2, 5}, {.parity_blocked = true});
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(all_identical(r, 10));
    EXPECT_GT(r.sender.blocks_resent, 0u);
    EXPECT_GT(r.fec_rx.blocks_rebuilt, 0u);
    for (std::uint32_t i = 0; i < 10; ++i) {
        EXPECT_EQ(r.receivers[i].stats.fec_fallbacks, (i == 2 || i == 5) ? 1u : 0u)
            << "receiver " << i;
    }
}

TEST(engine_fec, a_session_without_fec_sends_no_parity) {
    scratch_dir dir;
    const auto r = sim::run_simulation(multi_section_under_loss(dir));
    ASSERT_TRUE(all_identical(r, 10));
    EXPECT_EQ(r.parity_datagrams, 0u);
    EXPECT_EQ(r.sender.fec_status_in, 0u);
}

TEST(engine_fec, bursty_loss_long_rtt_with_parity) {
    scratch_dir dir;
    auto cfg = long_rtt_bursty_loss(dir);
    cfg.sender.fec = {.group_blocks = 64, .proactive = 0.05};
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(all_identical(r, 10));
    EXPECT_EQ(r.sender.blocks_resent, 0u);
    EXPECT_GT(r.fec_rx.groups_rebuilt, 0u);
}

// Encrypted sessions: PARITY is sealed like a FILESEG (GCM and CBC+HMAC), the
// receivers open and decode it, and none goes out in the clear.
TEST(engine_fec, encrypted_sessions_seal_and_decode_parity) {
    for (const auto& suite :
         {encryption_case{.name = "ecdh_gcm", .keyex = protocol::keyexchange_type::ecdh_ecdsa},
          encryption_case{.name = "rsa_cbc_hmac",
          .keyex = protocol::keyexchange_type::rsa,
          .cipher = protocol::key_type::aes256_cbc,
          .sigtype = protocol::signature_type::hmac}}) {
        scratch_dir dir;
        auto cfg = fec_session(dir);
        encrypt(cfg, suite);
        const auto r = sim::run_simulation(cfg);
        ASSERT_TRUE(all_identical(r, 10)) << suite.name;
        EXPECT_TRUE(sealed_session(r, 10)) << suite.name;
        EXPECT_EQ(r.sender.blocks_resent, 0u) << suite.name;
        EXPECT_GT(r.sender.parity_sent, 0u) << suite.name;
        EXPECT_EQ(r.parity_datagrams, 0u) << suite.name; // no PARITY in the clear
        EXPECT_GT(r.fec_rx.blocks_rebuilt, 0u) << suite.name;
        EXPECT_EQ(r.parity_failures, 0u) << suite.name;
        EXPECT_EQ(parity_drops(r, dataplane::parity_drop::unencrypted), 0u) << suite.name;
    }
}

// PARITY in the clear in an encrypted session is refused (as stock refuses a
// plaintext FILESEG there), never decoded: an attacker without the keys
// replaces every 40th sealed datagram to receiver 0 with a well-formed plain
// PARITY of group 0. The receiver counts them, treats them as lost, and
// still ends byte-identical.
TEST(engine_fec, plaintext_parity_is_refused_in_an_encrypted_session) {
    scratch_dir dir;
    auto cfg = fec_session(dir);
    encrypt(cfg,
            encryption_case{.name = "ecdh_gcm", .keyex = protocol::keyexchange_type::ecdh_ecdsa});
    auto seen = std::make_shared<std::uint32_t>(0);
    cfg.overrides[0] = sim::receiver_profile{
        .down = cfg.link, .up = cfg.link, .tamper = [seen](std::vector<std::uint8_t>& d) {
            if (d.size() < 500 || d[1] != 18 || ++*seen % 40 != 0) {
                return;
            }
            std::vector<std::uint8_t> forged(protocol::parity_headers_size + 512, 0xEE);
            const protocol::parity_msg m{.file_id = 1, .index = 16, .group_blocks = 16};
            protocol::uftp_header h{.seq = static_cast<std::uint16_t>((d[2] << 8) | d[3])};
            h.src_id = (std::uint32_t{d[4]} << 24) | (std::uint32_t{d[5]} << 16) |
                       (std::uint32_t{d[6]} << 8) | d[7];
            h.group_id = (std::uint32_t{d[8]} << 24) | (std::uint32_t{d[9]} << 16) |
                         (std::uint32_t{d[10]} << 8) | d[11];
            ASSERT_TRUE(protocol::encode_parity_headers(h, m, forged).ok());
            d = std::move(forged);
        }};
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(all_identical(r, 10));
    EXPECT_GT(*seen, 40u);
    EXPECT_GT(parity_drops(r, dataplane::parity_drop::unencrypted), 0u);
    EXPECT_EQ(parity_drops(r, dataplane::parity_drop::decode_failed), 0u);
}

TEST(fec_proactive, sizes_first_pass_parity_so_that_a_repair_pass_is_unlikely) {
    // One group, no parity: short at the first loss, 1 − 0.99^128.
    EXPECT_NEAR(engine::group_short_probability(128, 0, 0.01), 1 - std::pow(0.99, 128), 1e-12);
    EXPECT_EQ(engine::group_short_probability(128, 4, 0.0), 0.0);
    // 1 GiB of 1300-byte blocks is 6453 groups of 128. A thousand
    // receivers at 1 %: 12 parity blocks (expected short groups 0.014; with
    // 11 they would be 0.13), where the mean loss per group is 1.3.
    EXPECT_EQ(engine::parity_for_loss(128, 0.01, 1000, 6453, 128), 12u);
    EXPECT_LT(1000 * 6453 * engine::group_short_probability(128, 12, 0.01), 0.05);
    EXPECT_GT(1000 * 6453 * engine::group_short_probability(128, 11, 0.01), 0.05);
    // More receivers, more loss: more parity; never beyond the cap.
    EXPECT_EQ(engine::parity_for_loss(128, 0.01, 10'000, 6453, 128), 13u);
    EXPECT_EQ(engine::parity_for_loss(128, 0.02, 1000, 6453, 128), 16u);
    EXPECT_EQ(engine::parity_for_loss(128, 0.01, 1, 1, 128), 3u);
    EXPECT_EQ(engine::parity_for_loss(128, 0.5, 1000, 6453, 127), 127u);
    EXPECT_EQ(engine::parity_for_loss(128, 0.0, 1000, 6453, 128), 0u);
}

TEST(engine_fec, expected_loss_sizes_the_first_pass_and_spares_the_repair_pass) {
    scratch_dir dir;
    auto cfg = fec_session(dir); // 10 receivers at 10 % loss, k = 16
    cfg.sender.fec.proactive = 0;
    cfg.sender.fec.expected_loss = 0.10;
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(all_identical(r, 10));
    // Each group carried what parity_for_loss asks for its size.
    const auto layout = protocol::section_layout::make(multi_section_file_size, 512);
    ASSERT_TRUE(layout.ok());
    const protocol::fec_groups groups(*layout, 16, cfg.sender.fec.span_groups(512));
    std::uint64_t expected = 0;
    for (std::uint32_t g = 0; g < groups.count(); ++g) {
        expected += engine::parity_for_loss(groups.data_blocks(g), 0.10, 10, groups.count(),
                                            protocol::parity_last_index + 1);
    }
    EXPECT_GT(expected, groups.count() * 3u); // 10 % of 16 would be 2
    EXPECT_EQ(r.sender.parity_proactive, expected);
    // And no repair was needed: every parity block went with the first pass.
    EXPECT_EQ(r.sender.parity_sent, r.sender.parity_proactive);
    EXPECT_EQ(r.sender.blocks_resent, 0u);
}

TEST(engine_fec, the_sender_refuses_settings_it_cannot_honour) {
    struct bad {
        engine::sender_fec fec;
        const char* reason;
    };
    const bad cases[] = {
        {{.group_blocks = 1}, "FEC group size must be 2..253 data blocks"},
        {{.group_blocks = 254}, "FEC group size must be 2..253 data blocks"},
        {{.group_blocks = 16, .proactive = 1.5}, "FEC proactive fraction must be 0..1"},
        {{.group_blocks = 16, .expected_loss = 0.6}, "FEC expected loss must be 0..0.5"},
    };
    for (const auto& c : cases) {
        scratch_dir dir;
        auto src = write_file(dir.path() + "/src/f", 5000, 3);
        auto cfg = small_config(dir, {regular_entry(src, "f")}, 1);
        cfg.sender.fec = c.fec;
        const auto r = sim::run_simulation(cfg);
        EXPECT_EQ(r.sender_failure, c.reason);
        EXPECT_EQ(r.parity_datagrams, 0u);
    }
}

} // namespace
} // namespace skycast::test
