// Whole sessions through the simulator, with the real engines and
// dataplane/core: every receiver must end with byte-identical files (content,
// size, mtime, links), or report exactly which limit stopped it.
#include "tests/unit/engine/sim_fixture.h"

#include <filesystem>
#include <gtest/gtest.h>
#include <sys/stat.h>

namespace skycast::test {
namespace {

constexpr std::uint32_t block = 1300;

struct loss_case {
    const char* name;
    double loss;       // independent, each direction
    double burst_loss; // Gilbert–Elliott long-run rate
};

struct matrix_case {
    std::uint32_t receivers;
    loss_case loss;
    const encryption_case* encryption; // null: unencrypted
};

std::string case_name(const testing::TestParamInfo<matrix_case>& info) {
    return "r" + std::to_string(info.param.receivers) + "_" + info.param.loss.name + "_" +
           (info.param.encryption != nullptr ? info.param.encryption->name : "plain");
}

// 0 bytes, 1 byte, B-1, B, B+1 and a 1 MiB (+3) file in one session.
std::vector<engine::file_entry> edge_files(const scratch_dir& dir) {
    std::vector<engine::file_entry> files;
    const std::pair<const char*, std::uint64_t> sizes[] = {{"empty", 0},
                                                           {"one", 1},
                                                           {"b_minus_1", block - 1},
                                                           {"b", block},
                                                           {"b_plus_1", block + 1},
                                                           {"1m", 1'048'579}};
    std::uint32_t seed = 10;
    for (const auto& [name, size] : sizes) {
        const std::string src = dir.path() + "/src/" + name;
        write_file(src, size, seed, 1'600'000'000 + seed);
        ++seed;
        files.push_back(regular_entry(src, name));
    }
    return files;
}

class engine_matrix : public testing::TestWithParam<matrix_case> {};

TEST_P(engine_matrix, every_receiver_ends_byte_identical) {
    const auto& p = GetParam();
    scratch_dir dir;
    auto cfg = small_config(dir, edge_files(dir), p.receivers, 42);
    cfg.link.loss = p.loss.loss;
    cfg.link = sim::link_profile::with_burst_loss(cfg.link, p.loss.burst_loss);
    if (p.encryption != nullptr) {
        encrypt(cfg, *p.encryption);
    }
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(all_identical(r, p.receivers));
    if (p.encryption != nullptr) {
        ASSERT_TRUE(sealed_session(r, p.receivers));
    }
    EXPECT_GE(r.sender.passes, 5u); // one pass for each non-empty file at least
    // (One receiver may see no fade in a sub-second session.)
    if (p.loss.loss >= 0.1 || (p.loss.burst_loss > 0 && p.receivers >= 10)) {
        // Loss this high must have cost retransmissions, answered from NAKs.
        EXPECT_GT(r.sender.blocks_resent, 0u);
        EXPECT_GT(r.sender.status_in, 0u);
    }
    if (p.loss.loss == 0 && p.loss.burst_loss == 0) {
        EXPECT_EQ(r.sender.blocks_resent, 0u);
        EXPECT_EQ(r.sender.passes, 5u);
    }
}

constexpr loss_case losses[] = {{"loss0", 0, 0},
                                {"loss1", 0.01, 0},
                                {"loss10", 0.10, 0},
                                {"loss30", 0.30, 0},
                                {"bursty10", 0, 0.10}};

// The encrypted half of the matrix rotates through the suites and key
// exchanges, so that each (receivers, loss) cell runs one of them and every
// suite meets several loss levels; key exchange and suites are covered one by
// one, losslessly and at 10% loss, in engine_encryption.
constexpr encryption_case matrix_suites[] = {
    {.name = "rsa_aes256gcm", .keyex = protocol::keyexchange_type::rsa},
    {.name = "ecdhecdsa_aes128gcm",
     .keyex = protocol::keyexchange_type::ecdh_ecdsa,
     .cipher = protocol::key_type::aes128_gcm},
    {.name = "ecdhrsa_aes128ccm_auth",
     .keyex = protocol::keyexchange_type::ecdh_rsa,
     .cipher = protocol::key_type::aes128_ccm,
     .client_auth = true},
    {.name = "rsa_aes256cbc_hmac",
     .keyex = protocol::keyexchange_type::rsa,
     .cipher = protocol::key_type::aes256_cbc,
     .hash = protocol::hash_type::sha1},
};

// The full cross product of the axes: receivers {1, 10, 200} x loss
// {0, 1, 10, 30 %, bursty 10 %} x {plain, encrypted}, 30 sessions, each
// sending the edge sizes (0, 1, B-1, B, B+1 bytes and ~1 MiB) in one session.
// The multi-section and multi-megabyte files have their own cases below
// (plain and encrypted). Runtime: a few seconds in all.
std::vector<matrix_case> all_cases() {
    std::vector<matrix_case> out;
    std::size_t suite = 0;
    for (std::uint32_t n : {1u, 10u, 200u}) {
        for (const auto& l : losses) {
            out.push_back({n, l, nullptr});
            out.push_back({n, l, &matrix_suites[suite++ % std::size(matrix_suites)]});
        }
    }
    return out;
}

INSTANTIATE_TEST_SUITE_P(sessions, engine_matrix, testing::ValuesIn(all_cases()), case_name);

TEST(engine_sessions, the_event_bound_stops_a_run_fast_with_a_short_message) {
    // What a looping engine would hit: the run stops at the bound, and the
    // failure is one short description, not a line per receiver per check.
    scratch_dir dir;
    auto cfg = small_config(dir, edge_files(dir), 200, 42);
    cfg.max_events = 5000;
    const auto r = sim::run_simulation(cfg);
    EXPECT_TRUE(r.event_limit_hit);
    EXPECT_EQ(r.events, 5000u);
    const auto finished = run_finished(r);
    EXPECT_FALSE(finished);
    const auto all = all_identical(r, 200);
    EXPECT_FALSE(all);
    EXPECT_NE(std::string(all.message()).find("event limit"), std::string::npos);
    EXPECT_LT(std::string(all.message()).size(), 2000u);
    EXPECT_LT(describe_failures(r).size(), 2000u); // 8 receivers, then "... and N more"
}

// The multi-section file across the receiver axis, plain and encrypted, at
// 10% loss: block 512 (4096 blocks per section) and 2.5 sections' worth.
// 200 receivers check every block against the source instead of each
// writing 2.6 MB to tmpfs (no-store mode: still the real receive path).
struct multi_section_case {
    std::uint32_t receivers;
    const encryption_case* encryption;
};

class multi_section_matrix : public testing::TestWithParam<multi_section_case> {};

TEST_P(multi_section_matrix, every_receiver_gets_every_block) {
    const auto& p = GetParam();
    scratch_dir dir;
    const std::uint64_t size = 512ull * 4096 * 5 / 2 + 77;
    auto src = write_file(dir.path() + "/src/multi", size, 7);
    auto cfg = small_config(dir, {regular_entry(src, "multi")}, p.receivers, 5);
    cfg.sender.block_size = 512;
    cfg.link.loss = 0.10;
    cfg.store_files = p.receivers < 200;
    if (p.encryption != nullptr) {
        encrypt(cfg, *p.encryption);
    }
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(run_finished(r));
    ASSERT_EQ(r.receivers_ok, p.receivers) << describe_failures(r);
    if (cfg.store_files) {
        ASSERT_TRUE(all_identical(r, p.receivers));
    }
    for (const auto& rep : r.receivers) {
        ASSERT_EQ(rep.block_mismatches, 0u) << rep.uid;
        ASSERT_EQ(rep.at_sender, engine::client_outcome::completed) << rep.uid;
    }
    if (p.encryption != nullptr) {
        ASSERT_TRUE(sealed_session(r, p.receivers));
    }
    EXPECT_GT(r.sender.blocks_resent, 0u);
}

std::vector<multi_section_case> multi_section_cases() {
    // CCM and CBC with few receivers, GCM (the fastest to open) with 200:
    // 200 receivers x ~12,000 block openings is the costly cell.
    return {{1, nullptr},   {1, &matrix_suites[2]},  {10, nullptr}, {10, &matrix_suites[3]},
            {200, nullptr}, {200, &matrix_suites[1]}};
}

std::string multi_section_name(const testing::TestParamInfo<multi_section_case>& param) {
    return "r" + std::to_string(param.param.receivers) + "_" +
           (param.param.encryption != nullptr ? param.param.encryption->name : "plain");
}

INSTANTIATE_TEST_SUITE_P(sessions, multi_section_matrix, testing::ValuesIn(multi_section_cases()),
                         multi_section_name);

TEST(engine_sessions, multi_section_file_under_loss) {
    scratch_dir dir;
    const auto cfg = multi_section_under_loss(dir);
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(all_identical(r, 10));
    const auto layout = *protocol::section_layout::make(multi_section_file_size, 512);
    EXPECT_EQ(layout.sections(), 3u);
    EXPECT_GT(r.sender.blocks_resent, 0u);
}

TEST(engine_sessions, the_time_by_phase_accounts_for_the_whole_session) {
    // The engine's own account (time_in_phases, in the node's result and
    // history) against the simulator's record of every phase change.
    scratch_dir dir;
    const auto r = sim::run_simulation(multi_section_under_loss(dir));
    ASSERT_TRUE(all_identical(r, 10));
    const auto& t = r.sender_phase_times;
    std::array<double, engine::sender_phase_count> seen{};
    std::array<std::uint32_t, engine::sender_phase_count> entered{};
    for (std::size_t i = 0; i < r.sender_phases.size(); ++i) {
        const auto p = static_cast<std::size_t>(r.sender_phases[i].second);
        ++entered[p];
        if (i + 1 < r.sender_phases.size()) {
            seen[p] += r.sender_phases[i + 1].first - r.sender_phases[i].first;
        }
    }
    double total = 0;
    for (std::size_t p = 0; p < engine::sender_phase_count; ++p) {
        const double spent = static_cast<double>(t.spent[p]) / 1e9;
        total += spent;
        EXPECT_NEAR(spent, seen[p], 1e-6) << engine::name(static_cast<engine::sender_phase>(p));
        if (p != static_cast<std::size_t>(engine::sender_phase::idle)) {
            EXPECT_EQ(t.entered[p], entered[p])
                << engine::name(static_cast<engine::sender_phase>(p));
        }
    }
    // One data phase per pass, and nothing outside the phases.
    EXPECT_EQ(t.entries(engine::sender_phase::data), r.sender.passes);
    EXPECT_GT(r.sender.passes, 1u);
    EXPECT_NEAR(total, r.sender_finished_seconds - r.sender_phases.front().first, 1e-6);
    EXPECT_GT(t.of(engine::sender_phase::done_wait), 0u);
}

TEST(engine_sessions, few_megabyte_file_bursty_loss_long_rtt) {
    scratch_dir dir;
    const auto cfg = long_rtt_bursty_loss(dir);
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(all_identical(r, 10));
    // GRTT follows the measured RTT (REGISTER/FILEINFO_ACK echoes), not the 10 ms start.
    EXPECT_NEAR(r.final_grtt, 0.6, 0.05);
}

// The matrix's ~50 MB file: 8800-byte blocks (what the lab sends), 10
// receivers, 1 % loss plus bursts, encrypted and not. Received blocks are
// checked against the source in memory (no 500 MB of temp files).
TEST(engine_sessions, fifty_megabyte_file_to_ten_receivers_plain_and_encrypted) {
    for (const encryption_case* enc :
         {static_cast<const encryption_case*>(nullptr), &matrix_suites[1]}) {
        SCOPED_TRACE(enc != nullptr ? enc->name : "plain");
        scratch_dir dir;
        auto src = write_file(dir.path() + "/src/fifty", 50'000'000, 11);
        auto cfg = small_config(dir, {regular_entry(src, "fifty")}, 10, 12);
        cfg.sender.block_size = 8800;
        cfg.link.loss = 0.01;
        cfg.link = sim::link_profile::with_burst_loss(cfg.link, 0.01);
        cfg.store_files = false;
        if (enc != nullptr) {
            encrypt(cfg, *enc);
        }
        const auto r = sim::run_simulation(cfg);
        ASSERT_TRUE(run_finished(r));
        ASSERT_EQ(r.receivers_ok, 10u) << describe_failures(r);
        for (const auto& rep : r.receivers) {
            ASSERT_EQ(rep.block_mismatches, 0u) << rep.uid;
        }
        EXPECT_GT(r.sender.blocks_resent, 0u);
        EXPECT_GE(r.sender.blocks_sent, 5682u); // 50 MB in 8800-byte blocks, at least once
        if (enc != nullptr) {
            ASSERT_TRUE(sealed_session(r, 10));
        }
    }
}

TEST(engine_sessions, directory_tree_with_empty_dir_and_symlink) {
    scratch_dir dir;
    const std::string root = dir.path() + "/src/tree";
    write_file(root + "/a/one.bin", 5000, 1, 1'500'000'000);
    write_file(root + "/a/b/two.bin", 1, 2, 1'500'000'001);
    write_file(root + "/c/three.bin", 0, 3);
    std::filesystem::create_directories(root + "/empty");
    std::filesystem::create_symlink("a/one.bin", root + "/link");
    const auto list = engine::build_file_list({root});
    ASSERT_TRUE(list.error.empty()) << list.error;
    ASSERT_EQ(list.entries.size(), 5u);
    auto cfg = small_config(dir, list.entries, 10, 9);
    cfg.link.loss = 0.05;
    cfg.link.jitter_s = 0.002;
    cfg.link.duplicate = 0.02;
    cfg.link.reorder = 0.02;
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(all_identical(r, 10));
    struct stat st {};
    ASSERT_EQ(
        ::lstat((r.receivers.empty() ? std::string() : cfg.work_dir + "/r0/tree/empty").c_str(),
                &st),
        0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST(engine_sessions, max_passes_limit_is_reported_exactly) {
    scratch_dir dir;
    auto src = write_file(dir.path() + "/src/f", 300'000, 4);
    auto cfg = small_config(dir, {regular_entry(src, "f")}, 10, 3);
    cfg.link.loss = 0.30;
    cfg.sender.max_passes = 1;
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(run_finished(r));
    EXPECT_EQ(r.receivers_ok, 0u); // 231 blocks at 30% loss: nobody has them all after one pass
    EXPECT_EQ(r.sender.passes, 1u);
    std::uint32_t told = 0;
    for (const auto& rep : r.receivers) {
        ASSERT_EQ(rep.at_sender, engine::client_outcome::max_passes) << rep.uid;
        // The ABORT (sent 3 times) normally arrives; if every copy is lost the
        // receiver times out instead, and says so.
        if (rep.outcome == engine::receiver_outcome::aborted_by_server) {
            ASSERT_EQ(rep.reason, "Max passes exceeded") << rep.uid;
            ++told;
        } else {
            ASSERT_EQ(rep.outcome, engine::receiver_outcome::timed_out) << rep.uid;
        }
        // Nothing under the final name, no temp file left behind.
        ASSERT_EQ(rep.visible_incomplete, 0u);
        ASSERT_EQ(rep.temp_files_left, 0u);
        ASSERT_FALSE(std::filesystem::exists(cfg.work_dir + "/r0/f"));
    }
    EXPECT_GE(told, 8u);
}

TEST(engine_sessions, excessive_naks_abort_the_client_with_the_reason) {
    scratch_dir dir;
    auto src = write_file(dir.path() + "/src/f", 300'000, 4);
    auto cfg = small_config(dir, {regular_entry(src, "f")}, 3, 3);
    // Receiver 1 loses half its data; the others none. Limit: 20% of a section, once.
    cfg.overrides[1] = {.down = {.delay_s = 0.001, .loss = 0.5}, .up = {.delay_s = 0.001}};
    cfg.sender.max_nak_pct = 20;
    cfg.sender.max_nak_count = 0;
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(run_finished(r));
    ASSERT_EQ(r.receivers_ok, 2u) << describe_failures(r);
    const auto& bad = r.receivers[1];
    EXPECT_EQ(bad.at_sender, engine::client_outcome::excessive_naks);
    EXPECT_EQ(bad.reason, "Excessive NAKs received");
    EXPECT_EQ(bad.visible_incomplete, 0u);
    EXPECT_EQ(bad.temp_files_left, 0u);
}

TEST(engine_sessions, silent_receiver_is_dropped_not_waited_for) {
    scratch_dir dir;
    auto src = write_file(dir.path() + "/src/f", 100'000, 4);
    auto cfg = small_config(dir, {regular_entry(src, "f")}, 5, 3);
    cfg.link.loss = 0.05;
    // Receiver 2's uplink dies after it registered: it never ACKs the FILEINFO.
    cfg.overrides[2] = {.down = cfg.link, .up = cfg.link, .silent_at_s = 0.02};
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(run_finished(r));
    ASSERT_EQ(r.receivers_ok, 4u) << describe_failures(r);
    EXPECT_EQ(r.receivers[2].at_sender, engine::client_outcome::lost);
    EXPECT_EQ(r.sender.clients_lost, 1u);
    EXPECT_LT(r.sim_seconds, 60.0); // bounded by ROBUST rounds, not the 2 h limit
    EXPECT_FALSE(r.time_limit_hit);
}

TEST(engine_sessions, crash_mid_file_leaves_no_complete_looking_file_and_restart_cleans) {
    scratch_dir dir;
    auto src = write_file(dir.path() + "/src/f", 2'000'000, 4);
    auto cfg = small_config(dir, {regular_entry(src, "f")}, 2, 3);
    cfg.rate_bps = 10'000'000; // 1.6 s of data: the crash lands mid-file
    cfg.overrides[0] = {.down = cfg.link, .up = cfg.link, .crash_at_s = 0.8};
    const auto first = sim::run_simulation(cfg);
    ASSERT_TRUE(run_finished(first));
    ASSERT_EQ(first.receivers_ok, 1u) << describe_failures(first);
    const auto& crashed = first.receivers[0];
    EXPECT_TRUE(crashed.crashed);
    EXPECT_EQ(crashed.at_sender, engine::client_outcome::lost);
    EXPECT_EQ(crashed.visible_incomplete, 0u);
    EXPECT_FALSE(std::filesystem::exists(cfg.work_dir + "/r0/f"));
    EXPECT_EQ(crashed.temp_files_left, 1u); // the partial data is only under a temp name

    // The same receiver joins the next session: the stale temp file goes, the file arrives.
    cfg.overrides.clear();
    const auto second = sim::run_simulation(cfg);
    ASSERT_TRUE(all_identical(second, 2));
    EXPECT_EQ(second.receivers[0].stale_temp_files_removed, 1u);
}

TEST(engine_sessions, disk_full_receiver_aborts_with_reason_others_complete) {
    scratch_dir dir;
    auto src = write_file(dir.path() + "/src/f", 100'000, 4);
    auto cfg = small_config(dir, {regular_entry(src, "f")}, 3, 3);
    cfg.overrides[0] = {.down = cfg.link, .up = cfg.link, .free_space = 99'999};
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(run_finished(r));
    ASSERT_EQ(r.receivers_ok, 2u) << describe_failures(r);
    EXPECT_EQ(r.receivers[0].outcome, engine::receiver_outcome::disk_full);
    EXPECT_EQ(r.receivers[0].at_sender, engine::client_outcome::aborted_by_client);
    EXPECT_EQ(r.receivers[0].sender_reason, "Not enough disk space");
    EXPECT_FALSE(std::filesystem::exists(cfg.work_dir + "/r0/f"));
    EXPECT_EQ(r.receivers[0].temp_files_left, 0u);
}

TEST(engine_sessions, sender_abort_reaches_receivers_and_cleans_their_temp_files) {
    scratch_dir dir;
    auto src = write_file(dir.path() + "/src/f", 2'000'000, 4);
    auto cfg = small_config(dir, {regular_entry(src, "f")}, 5, 3);
    cfg.rate_bps = 10'000'000;
    cfg.sender_abort_at_s = 0.8;
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(run_finished(r));
    EXPECT_EQ(r.receivers_ok, 0u);
    EXPECT_EQ(r.sender_failure, "aborted: Session aborted by operator");
    for (const auto& rep : r.receivers) {
        ASSERT_EQ(rep.outcome, engine::receiver_outcome::aborted_by_server) << rep.uid;
        ASSERT_EQ(rep.reason, "Session aborted by operator");
        ASSERT_EQ(rep.at_sender, engine::client_outcome::aborted_by_sender);
        ASSERT_EQ(rep.visible_incomplete, 0u);
        ASSERT_EQ(rep.temp_files_left, 0u);
    }
}

TEST(engine_sessions, closed_group_admits_only_listed_hosts) {
    scratch_dir dir;
    auto src = write_file(dir.path() + "/src/f", 10'000, 4);
    auto cfg = small_config(dir, {regular_entry(src, "f")}, 4, 3);
    // Receivers get UIDs 0x0A010001...; list the first three only.
    cfg.sender.host_list = {0x0A010001, 0x0A010002, 0x0A010003};
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(run_finished(r));
    ASSERT_EQ(r.receivers_ok, 3u) << describe_failures(r);
    EXPECT_FALSE(r.receivers[3].ok);
    EXPECT_EQ(r.receivers[3].outcome, engine::receiver_outcome::running); // never joined
    EXPECT_FALSE(std::filesystem::exists(cfg.work_dir + "/r3/f"));
    // Closed group: announce ends once everyone listed answered, not after all rounds.
    EXPECT_LT(r.sender.announce_rounds, 10u);
}

TEST(engine_sessions, sender_link_rate_sets_the_pass_duration) {
    // Same session at 10 and 100 Mbit/s: only the data pass differs, and it
    // lasts the wire bits over the rate (dataplane/core's pacer, in wire
    // bytes: Ethernet/IP/UDP headers plus preamble, FCS and gap).
    scratch_dir dir;
    auto src = write_file(dir.path() + "/src/f", 1'000'000, 4);
    auto run_at = [&](std::uint64_t rate) {
        auto cfg = small_config(dir, {regular_entry(src, "f")}, 1, 3);
        cfg.rate_bps = rate;
        cfg.work_dir = dir.path() + "/dest" + std::to_string(rate);
        return sim::run_simulation(cfg);
    };
    const auto slow = run_at(10'000'000);
    const auto fast = run_at(100'000'000);
    ASSERT_TRUE(run_finished(slow));
    ASSERT_TRUE(run_finished(fast));
    ASSERT_EQ(slow.receivers_ok, 1u) << describe_failures(slow);
    ASSERT_EQ(fast.receivers_ok, 1u) << describe_failures(fast);
    const auto layout = *protocol::section_layout::make(1'000'000, block);
    // Per frame: 14 + 20 + 8 + 16 + 8 bytes of headers, 24 of wire overhead.
    // The bucket starts full with the simulator's 32 KiB burst, which leaves
    // at once at either rate.
    const double wire_bits = 8.0 * (1'000'000 + layout.blocks() * (66.0 + 24.0));
    const double paced_bits = wire_bits - 8.0 * 32 * 1024;
    const double expected = paced_bits / 10e6 - paced_bits / 100e6;
    EXPECT_NEAR(slow.sim_seconds - fast.sim_seconds, expected, 0.002);
}

TEST(engine_sessions, delete_entry_removes_a_file_received_earlier) {
    scratch_dir dir;
    auto src = write_file(dir.path() + "/src/gone", 5000, 4);
    auto keep = write_file(dir.path() + "/src/keep", 5000, 5);
    std::vector<engine::file_entry> files = {
        regular_entry(src, "gone"),
        regular_entry(keep, "keep"),
        {.type = protocol::file_type::delete_, .name = "gone"}};
    auto cfg = small_config(dir, files, 3, 3);
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(run_finished(r));
    for (const auto& rep : r.receivers) {
        ASSERT_EQ(rep.files.size(), 3u);
        ASSERT_TRUE(rep.files[2].complete) << rep.uid;
        ASSERT_EQ(rep.outcome, engine::receiver_outcome::completed);
    }
    EXPECT_FALSE(std::filesystem::exists(cfg.work_dir + "/r0/gone"));
    EXPECT_TRUE(std::filesystem::exists(cfg.work_dir + "/r0/keep"));
}

TEST(engine_sessions, a_late_copy_of_a_long_listing_spares_its_receivers_a_round) {
    // 1000 receivers at 512-byte blocks: each listing is 8 datagrams of 128
    // UIDs, and their spaced copies come after all 8, up to 7 behind the
    // newest: beyond the 5-datagram sequence window for the first ones'
    // receivers. At 2 % loss about 16 of them lose the first copy of their
    // FILEINFO part. Taking the late copy, none needs the FILEINFO again;
    // refusing it (stock's rule), some 16 would, and P(none) is about e^-16.
    scratch_dir dir;
    auto src = write_file(dir.path() + "/src/f", 64 * 512, 11);
    auto cfg = small_config(dir, {regular_entry(src, "f")}, 1000, 3);
    cfg.sender.block_size = 512;
    cfg.link.loss = 0.02;
    closed_group_with_copies(cfg, 3);
    cfg.store_files = false;
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(run_finished(r));
    ASSERT_EQ(r.receivers_ok, 1000u) << describe_failures(r);
    std::uint64_t late = 0;
    for (const auto& rep : r.receivers) {
        late += rep.stats.late_listings_taken;
    }
    EXPECT_GT(late, 0u);
    EXPECT_EQ(r.sender.fileinfo_rounds, 1u);
}

TEST(engine_sessions, fast_start_saves_the_announce_round_trip_and_everyone_completes) {
    // A closed group of 20 over a 500 ms round trip with 2 % loss each way:
    // the same session with and without fast start. With it the announce
    // phase is the 20 ms before the FILEINFO, the REGISTERs come in during
    // the pass, and the session ends about a round trip sooner; every
    // receiver gets the file either way.
    scratch_dir dir;
    auto src = write_file(dir.path() + "/src/f", 2'000'000, 12);
    auto run = [&](bool fast) {
        auto cfg = small_config(dir, {regular_entry(src, "f")}, 20, 4);
        cfg.link.delay_s = 0.25;
        cfg.link.loss = 0.02;
        cfg.sender.grtt_init = 0.5;
        closed_group_with_copies(cfg, 3);
        cfg.sender.fast_start = fast;
        cfg.work_dir = dir.path() + (fast ? "/fast" : "/slow");
        return sim::run_simulation(cfg);
    };
    const auto slow = run(false);
    const auto fast = run(true);
    ASSERT_TRUE(all_identical(slow, 20));
    ASSERT_TRUE(all_identical(fast, 20)) << describe_failures(fast);
    EXPECT_EQ(fast.sender.fast_start_hosts, 20u);
    EXPECT_EQ(fast.sender.registers, 20u) << "every REGISTER still counted, after the FILEINFO";
    const auto announce = [](const sim::sim_report& r) {
        return static_cast<double>(r.sender_phase_times.of(engine::sender_phase::announce)) / 1e9;
    };
    EXPECT_GE(announce(slow), 0.5);
    EXPECT_LT(announce(fast), 0.05);
    EXPECT_LT(fast.sender_finished_seconds, slow.sender_finished_seconds - 0.3);
}

TEST(engine_sessions, the_last_files_complete_brings_the_sessions_and_saves_a_round_trip) {
    // EXT_SKYCAST_LAST_FILE (docs/protocol.md §22): two files to 20
    // receivers over a 500 ms round trip with 2 % loss, the hub offering the
    // extension (it knows its own address, as the appliance does) or not.
    // With it every receiver sends COMPLETE(0) with its COMPLETE for file 2,
    // no DONE(0) round asks, and the session ends about a round trip sooner.
    scratch_dir dir;
    auto first = write_file(dir.path() + "/src/a", 300'000, 13);
    auto last = write_file(dir.path() + "/src/b", 300'000, 14);
    auto run = [&](bool offer) {
        auto cfg = small_config(dir, {regular_entry(first, "a"), regular_entry(last, "b")}, 20, 5);
        cfg.link.delay_s = 0.25;
        cfg.link.loss = 0.02;
        cfg.sender.grtt_init = 0.5;
        closed_group_with_copies(cfg, 3);
        cfg.sender.fast_start = true;
        cfg.sender.own_address = offer ? sim::sender_uid : 0;
        cfg.work_dir = dir.path() + (offer ? "/offer" : "/plain");
        return sim::run_simulation(cfg);
    };
    const auto plain = run(false);
    const auto offer = run(true);
    ASSERT_TRUE(all_identical(plain, 20)) << describe_failures(plain);
    ASSERT_TRUE(all_identical(offer, 20)) << describe_failures(offer);
    std::uint64_t early = 0;
    for (const auto& rep : offer.receivers) {
        early += rep.stats.early_completes;
        EXPECT_EQ(rep.outcome, engine::receiver_outcome::completed);
    }
    EXPECT_EQ(early, 20u) << "one each, with file 2's COMPLETE; none with file 1's";
    // At the hub, all of them or nearly: one whose COMPLETE(0) copies were
    // all lost while its file's COMPLETE came is asked by the DONE(0) round.
    EXPECT_GE(offer.sender.early_session_completes, 18u);
    EXPECT_LE(offer.sender.early_session_completes, 20u);
    std::printf(
        "early session completes at the hub: %llu of 20; completion phase %.3f s "
        "against %.3f s\n",
        static_cast<unsigned long long>(offer.sender.early_session_completes),
        static_cast<double>(offer.sender_phase_times.of(engine::sender_phase::completion)) / 1e9,
        static_cast<double>(plain.sender_phase_times.of(engine::sender_phase::completion)) / 1e9);
    EXPECT_EQ(plain.sender.early_session_completes, 0u);
    const auto completion = [](const sim::sim_report& r) {
        return static_cast<double>(r.sender_phase_times.of(engine::sender_phase::completion)) / 1e9;
    };
    EXPECT_GE(completion(plain), 0.5);
    EXPECT_LT(completion(offer), 0.05);
    EXPECT_LT(offer.sender_finished_seconds, plain.sender_finished_seconds - 0.4);
}

TEST(engine_sessions, no_store_mode_checks_every_block_against_the_source) {
    scratch_dir dir;
    auto src = write_file(dir.path() + "/src/f", 500'000, 4);
    auto cfg = small_config(dir, {regular_entry(src, "f")}, 50, 3);
    cfg.link.loss = 0.10;
    cfg.store_files = false;
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(run_finished(r));
    ASSERT_EQ(r.receivers_ok, 50u) << describe_failures(r);
    for (const auto& rep : r.receivers) {
        ASSERT_EQ(rep.block_mismatches, 0u);
        ASSERT_EQ(rep.stats.files_received, 1u);
    }
    EXPECT_GT(r.sender.blocks_resent, 0u);
}

} // namespace
} // namespace skycast::test
