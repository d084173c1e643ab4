// The engines' parts on their own, and each engine alone against recording
// ports and a hand-driven clock: GRTT, path checks, temp files, the file
// walk, sequence numbers, timeouts and NAKs.
#include "control/engine/file_list.h"
#include "control/engine/grtt_estimator.h"
#include "control/engine/held_copies.h"
#include "control/engine/path_safety.h"
#include "control/engine/receive_file.h"
#include "control/engine/receiver_engine.h"
#include "control/engine/sender_engine.h"
#include "dataplane/api/block_bitmap.h"
#include "protocol/codec.h"
#include "protocol/nak_list.h"
#include "protocol/quantize.h"
#include "tests/unit/engine/sender_rig.h"
#include "tests/unit/engine/sim_fixture.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <gtest/gtest.h>
#include <memory>
#include <random>
#include <set>
#include <sys/stat.h>

namespace skycast::test {
namespace {

using engine::endpoint;
using engine::time_ns;
namespace fs = std::filesystem;

constexpr time_ns t0 = 1'700'000'000ull * engine::ns_per_second;
constexpr time_ns ms = 1'000'000;

// --- Pure parts ----------------------------------------------------------------

TEST(grtt_estimator,
     first_sample_replaces_the_initial_guess_then_a_partial_round_falls_10_percent) {
    engine::grtt_estimator g(0.5, 0.01, 15, 0);
    EXPECT_DOUBLE_EQ(g.grtt(), 0.5);
    g.sample(0.2, 0);
    EXPECT_DOUBLE_EQ(g.grtt(), 0.2);
    g.end_round(false);
    g.sample(0.05, 0);
    EXPECT_DOUBLE_EQ(g.grtt(), 0.2); // a lower sample waits for the round end
    g.end_round(false);
    EXPECT_DOUBLE_EQ(g.grtt(), 0.18); // some client silent: fell by 10%, not to 0.05
    g.sample(0.9, 1);
    EXPECT_DOUBLE_EQ(g.grtt(), 0.9); // rises at once
    g.sample(100, 2);
    EXPECT_DOUBLE_EQ(g.grtt(), 15); // clamped to max
    engine::grtt_estimator floor(0.5, 0.01, 15, 0);
    floor.sample(0.0, 0);
    EXPECT_DOUBLE_EQ(floor.grtt(), 0.01); // the 1 ms client floor, then the 10 ms minimum
}

TEST(grtt_estimator, a_round_every_client_answered_sets_the_grtt_to_its_largest_rtt) {
    // The GEO case: one REGISTER's RTT includes an ARP across the delay
    // (1.0 s); every later round measures the real 0.5 s.
    engine::grtt_estimator g(0.5, 0.01, 15, 0);
    g.sample(1.0, 0);
    g.sample(0.51, 1);
    EXPECT_DOUBLE_EQ(g.grtt(), 1.0);
    EXPECT_TRUE(g.sampled(0));
    EXPECT_TRUE(g.sampled(1));
    EXPECT_FALSE(g.sampled(2));
    g.end_round(true);
    EXPECT_DOUBLE_EQ(g.grtt(), 1.0);
    EXPECT_FALSE(g.sampled(0)) << "a new round starts empty";
    g.sample(0.50, 0);
    g.sample(0.52, 1);
    g.end_round(true);
    EXPECT_DOUBLE_EQ(g.grtt(), 0.52) << "down at once, not 10 % a round";
    // A round without any sample changes nothing.
    g.end_round(true);
    EXPECT_DOUBLE_EQ(g.grtt(), 0.52);
    // Still clamped to the minimum.
    g.sample(0.001, 0);
    g.end_round(true);
    EXPECT_DOUBLE_EQ(g.grtt(), 0.01);
}

TEST(grtt_estimator, a_round_leaves_enough_of_the_grtt_for_a_receiver_waiting_on_the_old_one) {
    // ROBUST 20 (the default): ROBUST x the new GRTT covers twice the 3 old
    // GRTTs a round timed under the old one can keep a receiver waiting.
    EXPECT_DOUBLE_EQ(engine::grtt_fall_floor(20), 0.3);
    EXPECT_DOUBLE_EQ(engine::grtt_fall_floor(6), 0.0) << "no fall keeps that: as measured";
    EXPECT_DOUBLE_EQ(engine::grtt_fall_floor(3), 0.0);
    // Behind stock proxies, which hold answers for about a second, the
    // GRTT was 1.064 s; then a round in which every answer measured the
    // path's 0.106 s. In one step stock uftpd timed out (20 x 0.106 s)
    // before our next DONE, due 2.2 old GRTTs after the last.
    engine::grtt_estimator g(0.5, 0.01, 15, engine::grtt_fall_floor(20));
    g.sample(1.064, 0);
    g.end_round(true);
    ASSERT_DOUBLE_EQ(g.grtt(), 1.064);
    std::vector<double> steps;
    for (int round = 0; round < 4; ++round) {
        const double before = g.grtt();
        g.sample(0.106, 0);
        g.end_round(true);
        EXPECT_GE(20 * g.grtt(), 2 * 3 * before - 1e-9) << "round " << round;
        steps.push_back(g.grtt());
    }
    EXPECT_NEAR(steps[0], 0.3192, 1e-9);
    EXPECT_NEAR(steps[1], 0.106, 1e-9) << "the measured value in two rounds";
    EXPECT_NEAR(steps[3], 0.106, 1e-9);
    // The GEO case (an ARP-inflated 1.0 s, then 0.5 s) is no such fall: at once.
    engine::grtt_estimator geo(0.5, 0.01, 15, engine::grtt_fall_floor(20));
    geo.sample(1.0, 0);
    geo.end_round(true);
    geo.sample(0.5, 0);
    geo.end_round(true);
    EXPECT_DOUBLE_EQ(geo.grtt(), 0.5);
}

TEST(path_safety, relative_name_syntax) {
    using engine::name_problem;
    EXPECT_EQ(engine::check_relative_name("a"), name_problem::none);
    EXPECT_EQ(engine::check_relative_name("a/b/c.txt"), name_problem::none);
    EXPECT_EQ(engine::check_relative_name("..a/b.."), name_problem::none); // not '..' itself
    EXPECT_EQ(engine::check_relative_name(""), name_problem::empty);
    EXPECT_EQ(engine::check_relative_name("/etc/passwd"), name_problem::absolute);
    EXPECT_EQ(engine::check_relative_name(".."), name_problem::dot_component);
    EXPECT_EQ(engine::check_relative_name("a/../b"), name_problem::dot_component);
    EXPECT_EQ(engine::check_relative_name("a/"), name_problem::dot_component);
    EXPECT_EQ(engine::check_relative_name("./a"), name_problem::dot_component);
    EXPECT_EQ(engine::check_relative_name(std::string(301, 'x')), name_problem::too_long);
}

TEST(path_safety, parents_are_created_but_never_through_a_symlink_or_a_file) {
    scratch_dir dir;
    const std::string dest = dir.path() + "/dest";
    fs::create_directories(dest);
    fs::create_directories(dir.path() + "/outside");
    EXPECT_EQ(engine::prepare_parents(dest, "a/b/c"), engine::name_problem::none);
    EXPECT_TRUE(fs::is_directory(dest + "/a/b"));
    fs::create_directory_symlink(dir.path() + "/outside", dest + "/link");
    EXPECT_EQ(engine::prepare_parents(dest, "link/x"), engine::name_problem::through_symlink);
    EXPECT_EQ(engine::prepare_parents(dest, "link/y/z"), engine::name_problem::through_symlink);
    EXPECT_TRUE(fs::is_empty(dir.path() + "/outside"));
    write_file(dest + "/file", 1, 1);
    EXPECT_EQ(engine::prepare_parents(dest, "file/x"), engine::name_problem::parent_not_dir);
}

TEST(receive_file, temp_file_moves_into_place_with_mtime_and_stale_ones_are_removed) {
    scratch_dir dir;
    const std::string final_path = dir.path() + "/f";
    const std::string temp = engine::temp_path_for(dir.path(), 0x1234, 0xABCD, 7);
    EXPECT_NE(temp.find(engine::temp_marker), std::string::npos);
    ASSERT_TRUE(engine::create_temp_file(temp));
    EXPECT_FALSE(fs::exists(final_path));
    ASSERT_TRUE(engine::move_into_place(temp, final_path, 1'234'567'890));
    struct stat st {};
    ASSERT_EQ(::stat(final_path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mtim.tv_sec, 1'234'567'890);
    EXPECT_FALSE(fs::exists(temp));

    // A directory is never replaced by a file, and the temp file goes.
    fs::create_directories(dir.path() + "/d");
    const std::string temp2 = engine::temp_path_for(dir.path(), 1, 1, 1);
    ASSERT_TRUE(engine::create_temp_file(temp2));
    EXPECT_FALSE(engine::move_into_place(temp2, dir.path() + "/d", 0));
    EXPECT_FALSE(fs::exists(temp2));

    // Stale temp files anywhere below the destination are removed; others stay.
    fs::create_directories(dir.path() + "/x/y");
    ASSERT_TRUE(engine::create_temp_file(engine::temp_path_for(dir.path() + "/x/y", 1, 2, 3)));
    EXPECT_EQ(engine::remove_stale_temp_files(dir.path()), 1u);
    EXPECT_TRUE(fs::exists(final_path));
}

TEST(file_list, walks_trees_into_sorted_relative_names) {
    scratch_dir dir;
    const std::string root = dir.path() + "/top";
    write_file(root + "/b/2", 2, 1, 1'500'000'002);
    write_file(root + "/a", 1, 2, 1'500'000'001);
    fs::create_directories(root + "/c");
    fs::create_symlink("a", root + "/l");
    const auto list = engine::build_file_list({root, dir.path() + "/top/a"});
    ASSERT_TRUE(list.error.empty());
    ASSERT_EQ(list.entries.size(), 5u);
    EXPECT_EQ(list.entries[0].name, "top/a");
    EXPECT_EQ(list.entries[0].mtime, 1'500'000'001u);
    EXPECT_EQ(list.entries[1].name, "top/b/2");
    EXPECT_EQ(list.entries[1].size, 2u);
    EXPECT_EQ(list.entries[2].name, "top/c");
    EXPECT_EQ(list.entries[2].type, protocol::file_type::directory);
    EXPECT_EQ(list.entries[3].name, "top/l");
    EXPECT_EQ(list.entries[3].type, protocol::file_type::symlink);
    EXPECT_EQ(list.entries[3].link, "a");
    EXPECT_EQ(list.entries[4].name, "a");
    EXPECT_FALSE(engine::build_file_list({dir.path() + "/missing"}).error.empty());
}

TEST(client_table, lookups_are_by_uid_and_handles_are_stable) {
    engine::client_table t;
    EXPECT_EQ(t.find(5), engine::client_table::npos);
    const auto a = t.add(5);
    const auto b = t.add(9);
    EXPECT_EQ(t.add(5), a);
    EXPECT_EQ(t.find(9), b);
    EXPECT_EQ(t[b].uid, 9u);
    EXPECT_EQ(t.size(), 2u);
}

// --- The simulator's link model ----------------------------------------------

TEST(link_model, gilbert_elliott_loss_has_the_configured_rate_and_bursts) {
    // One packet per millisecond for 200 s: the long-run loss must match the
    // bad-state share, and losses must come in bursts of ~20 ms, not alone.
    std::mt19937_64 rng(1);
    const auto p = sim::link_profile::with_burst_loss({.delay_s = 0.01}, 0.10, 0.02);
    sim::link_state link;
    std::vector<double> arrivals;
    std::uint32_t lost = 0;
    std::uint32_t bursts = 0;
    bool in_burst = false;
    const std::uint32_t packets = 200'000;
    for (std::uint32_t i = 0; i < packets; ++i) {
        link.transmit(p, rng, i * 0.001, arrivals);
        const bool l = arrivals.empty();
        lost += l ? 1 : 0;
        bursts += (l && !in_burst) ? 1 : 0;
        in_burst = l;
    }
    EXPECT_NEAR(static_cast<double>(lost) / packets, 0.10, 0.01);
    // Mean burst ~20 packets at 1 ms spacing (exponential durations, sampled).
    const double mean_burst = static_cast<double>(lost) / bursts;
    EXPECT_GT(mean_burst, 12.0);
    EXPECT_LT(mean_burst, 28.0);
}

TEST(link_model, random_loss_duplication_and_delay) {
    std::mt19937_64 rng(2);
    const sim::link_profile p{.delay_s = 0.05, .jitter_s = 0.01, .loss = 0.2, .duplicate = 0.1};
    sim::link_state link;
    std::vector<double> arrivals;
    std::uint32_t lost = 0;
    std::uint32_t doubled = 0;
    const std::uint32_t packets = 100'000;
    for (std::uint32_t i = 0; i < packets; ++i) {
        link.transmit(p, rng, i * 0.001, arrivals);
        lost += arrivals.empty() ? 1 : 0;
        doubled += arrivals.size() == 2 ? 1 : 0;
        for (double d : arrivals) {
            ASSERT_GE(d, 0.05);
            ASSERT_LE(d, 0.06);
        }
    }
    EXPECT_NEAR(static_cast<double>(lost) / packets, 0.2, 0.01);
    EXPECT_NEAR(static_cast<double>(doubled) / (packets - lost), 0.1, 0.01);
}

// --- Engines against recording ports ------------------------------------------------

TEST(sender_engine, grtt_comes_from_echoed_timestamps_and_is_advertised) {
    sender_rig rig(quick_sender(), {{.name = "f", .size = 10}});
    rig.sender.start(t0);
    ASSERT_EQ(rig.net.of<protocol::announce_msg>().size(), 1u);
    // The client echoes the ANNOUNCE stamp, which was sent 250 ms before "now".
    const time_ns now = t0 + 250 * ms;
    rig.sender.on_datagram(
        now, {.address = 9},
        client_datagram(9, 0x77, protocol::register_msg{.tstamp = stamp_of(t0)}));
    EXPECT_NEAR(rig.sender.grtt(), 0.25, 1e-6);
    rig.sender.on_timer(rig.sender.next_deadline()); // the REG_CONF's gather time
    ASSERT_EQ(rig.net.of<protocol::reg_conf_msg>().size(), 1u);
    const auto* conf = rig.net.of<protocol::reg_conf_msg>()[0];
    EXPECT_EQ(conf->d.header.grtt, protocol::quantize_grtt(0.25));
    EXPECT_EQ(conf->d.header.gsize, protocol::quantize_group_size(1));
    EXPECT_EQ(std::get<protocol::reg_conf_msg>(conf->d.body).client_ids,
              std::vector<std::uint32_t>{9});
}

TEST(sender_engine, a_second_answer_echoing_the_same_timestamp_is_no_rtt_sample) {
    // With control copies the client also answers our ANNOUNCE's copy (sent
    // a spacing later, same stamp): that answer measures the spacing too,
    // and is not a sample. A new stamp is.
    auto cfg = quick_sender({9, 10});
    sender_rig rig(cfg, {{.name = "f", .size = 10}});
    rig.sender.start(t0);
    rig.sender.on_datagram(
        t0 + 250 * ms, {.address = 9},
        client_datagram(9, 0x77, protocol::register_msg{.tstamp = stamp_of(t0)}));
    EXPECT_NEAR(rig.sender.grtt(), 0.25, 1e-6);
    rig.sender.on_datagram(
        t0 + 350 * ms, {.address = 9},
        client_datagram(9, 0x77, protocol::register_msg{.tstamp = stamp_of(t0)}));
    EXPECT_NEAR(rig.sender.grtt(), 0.25, 1e-6) << "the copy's answer measured the spacing";
    EXPECT_EQ(rig.sender.stats().rtt_echo_repeats, 1u);
    // Another client echoing the same stamp is its own first sample.
    rig.sender.on_datagram(
        t0 + 300 * ms, {.address = 10},
        client_datagram(10, 0x77, protocol::register_msg{.tstamp = stamp_of(t0)}));
    EXPECT_NEAR(rig.sender.grtt(), 0.30, 1e-6);
    EXPECT_EQ(rig.sender.stats().rtt_echo_repeats, 1u);
}

TEST(sender_engine, control_copies_sends_every_control_datagram_that_many_times_identical) {
    auto cfg = quick_sender({9});
    cfg.control_copies = 2;
    sender_rig rig(cfg, {{.name = "f", .size = 10}});
    rig.sender.start(t0);
    const auto announces = rig.net.of<protocol::announce_msg>();
    ASSERT_EQ(announces.size(), 2u);
    EXPECT_EQ(announces[0]->raw, announces[1]->raw); // same bytes, sequence number included
    const auto reg = client_datagram(9, 0x77, protocol::register_msg{.tstamp = stamp_of(t0)});
    rig.sender.on_datagram(t0 + 100 * ms, {.address = 9}, reg);
    rig.sender.on_timer(rig.sender.next_deadline()); // the REG_CONF's gather time
    const auto confs = rig.net.of<protocol::reg_conf_msg>();
    ASSERT_EQ(confs.size(), 2u);
    EXPECT_EQ(confs[0]->raw, confs[1]->raw);
    // A client's copy of its REGISTER (its own control_copies) is dropped,
    // not answered again: one request, one answer (sent twice).
    rig.sender.on_datagram(t0 + 101 * ms, {.address = 9}, reg);
    EXPECT_EQ(rig.sender.stats().duplicates_in, 1u);
    EXPECT_EQ(rig.sender.stats().registers, 1u);
    EXPECT_EQ(rig.sender.stats().duplicate_registers, 0u);
    EXPECT_EQ(rig.net.of<protocol::reg_conf_msg>().size(), 2u);
    // A REGISTER it really resent (a new sequence number) is answered again.
    rig.sender.on_datagram(
        t0 + 102 * ms, {.address = 9},
        client_datagram(9, 0x77, protocol::register_msg{.tstamp = stamp_of(t0)}, 2));
    EXPECT_EQ(rig.sender.stats().duplicate_registers, 1u);
    rig.sender.on_timer(rig.sender.next_deadline());
    EXPECT_EQ(rig.net.of<protocol::reg_conf_msg>().size(), 4u);
}

TEST(sender_engine, registers_arriving_together_are_confirmed_by_one_listing) {
    // 1300-byte datagrams list 325 UIDs: 700 clients registering together
    // are confirmed by two full REG_CONFs, sent as they fill, and one more
    // with the 50 left at the end of the gather time; not 700 REG_CONFs.
    std::vector<std::uint32_t> hosts;
    for (std::uint32_t uid = 1000; uid < 1700; ++uid) {
        hosts.push_back(uid);
    }
    // An open group: a closed one would end its announce phase (and send
    // the rest) as soon as the last of them is in.
    sender_rig rig(quick_sender(), {{.name = "f", .size = 10}});
    rig.sender.start(t0);
    const time_ns at = t0 + 100 * ms;
    for (const std::uint32_t uid : hosts) {
        rig.sender.on_datagram(
            at, {.address = uid},
            client_datagram(uid, 0x77, protocol::register_msg{.tstamp = stamp_of(t0)}));
    }
    ASSERT_EQ(rig.net.of<protocol::reg_conf_msg>().size(), 2u) << "the full ones at once";
    const time_ns due = rig.sender.next_deadline();
    EXPECT_GT(due, at);
    EXPECT_LE(due, at + engine::confirm_gather_max);
    rig.sender.on_timer(due);
    const auto confs = rig.net.of<protocol::reg_conf_msg>();
    ASSERT_EQ(confs.size(), 3u);
    std::vector<std::uint32_t> confirmed;
    for (const auto* c : confs) {
        const auto& ids = std::get<protocol::reg_conf_msg>(c->d.body).client_ids;
        confirmed.insert(confirmed.end(), ids.begin(), ids.end());
    }
    std::sort(confirmed.begin(), confirmed.end());
    EXPECT_EQ(confirmed, hosts) << "each client confirmed exactly once";
}

TEST(sender_engine, fast_start_sends_the_fileinfo_with_the_announce_not_after_the_registers) {
    // Three listed hosts. The FILEINFO goes out early_data_after the
    // ANNOUNCE, listing all three, before any REGISTER. Host 9 registers
    // late: an RTT sample, and no REG_CONF (the FILEINFO confirmed it). Host
    // 10's REGISTER is lost; it answers the FILEINFO. Host 11 lost the
    // ANNOUNCE: the next FILEINFO round sends the ANNOUNCE again, listing it
    // alone, ahead of the FILEINFO; never heard from, it ends never registered.
    auto cfg = quick_sender({9, 10, 11});
    cfg.fast_start = true;
    cfg.lost_after_min = 0;
    sender_rig rig(cfg, {{.name = "f", .size = 10}});
    rig.sender.start(t0);
    ASSERT_EQ(rig.net.of<protocol::announce_msg>().size(), 1u);
    EXPECT_EQ(listed<protocol::announce_msg>(rig.net, 0), (std::vector<std::uint32_t>{9, 10, 11}));
    ASSERT_EQ(rig.sender.next_deadline(), t0 + cfg.early_data_after);
    rig.sender.on_timer(t0 + cfg.early_data_after);
    ASSERT_EQ(rig.net.of<protocol::fileinfo_msg>().size(), 1u);
    EXPECT_EQ(listed<protocol::fileinfo_msg>(rig.net, 0), (std::vector<std::uint32_t>{9, 10, 11}));
    EXPECT_EQ(rig.sender.stats().fast_start_hosts, 3u);
    EXPECT_EQ(rig.sender.stats().registers, 0u);

    time_ns now = t0 + 100 * ms;
    rig.sender.on_datagram(
        now, {.address = 9},
        client_datagram(9, 0x77, protocol::register_msg{.tstamp = stamp_of(t0)}));
    EXPECT_EQ(rig.sender.stats().registers, 1u);
    EXPECT_TRUE(rig.net.of<protocol::reg_conf_msg>().empty());
    const auto& clients = rig.sender.clients();
    EXPECT_NEAR(clients[clients.find(9)].rtt, 0.1, 0.001);
    for (const std::uint32_t uid : {9u, 10u}) {
        rig.sender.on_datagram(
            now, {.address = uid},
            client_datagram(uid, 0x77, protocol::fileinfo_ack_msg{.file_id = 1}));
    }
    while (rig.dp.passes.empty() && now < t0 + 1'000 * ms) {
        now = std::max(now, rig.sender.next_deadline());
        rig.sender.on_timer(now);
    }
    EXPECT_EQ(rig.dp.passes.size(), 1u) << "early data: the pass runs while 11 is silent";
    EXPECT_LT(now, t0 + 200 * ms) << "the pass follows the FILEINFO, not a round trip";

    while (rig.net.of<protocol::fileinfo_msg>().size() < 2 && now < t0 + 10'000 * ms) {
        now = rig.sender.next_deadline();
        rig.sender.on_timer(now);
    }
    std::size_t second = 0;
    for (std::size_t i = 0, infos = 0; i < rig.net.sent.size(); ++i) {
        if (std::holds_alternative<protocol::fileinfo_msg>(rig.net.sent[i].d.body) &&
            ++infos == 2) {
            second = i;
        }
    }
    ASSERT_GT(second, 0u);
    const auto& before = rig.net.sent[second - 1].d.body;
    ASSERT_TRUE(std::holds_alternative<protocol::announce_msg>(before));
    EXPECT_EQ(std::get<protocol::announce_msg>(before).client_ids, std::vector<std::uint32_t>{11});
    EXPECT_EQ(std::get<protocol::fileinfo_msg>(rig.net.sent[second].d.body).client_ids,
              std::vector<std::uint32_t>{11});
    EXPECT_EQ(rig.sender.stats().fast_start_reannounces, 1u);

    while (clients[clients.find(11)].outcome == engine::client_outcome::active &&
           now < t0 + 10'000 * ms) {
        now = rig.sender.next_deadline();
        rig.sender.on_timer(now);
    }
    EXPECT_EQ(clients[clients.find(11)].outcome, engine::client_outcome::never_registered);
    EXPECT_EQ(clients[clients.find(10)].outcome, engine::client_outcome::active);
    EXPECT_EQ(rig.sender.stats().clients_lost, 1u);
}

TEST(sender_engine, fast_start_waits_for_registers_when_the_session_is_encrypted_or_open) {
    // An open group has no list to send the FILEINFO to: the announce phase
    // runs as ever. (Encryption and proxies are refused by the configuration.)
    auto cfg = quick_sender();
    cfg.fast_start = true;
    sender_rig rig(cfg, {{.name = "f", .size = 10}});
    rig.sender.start(t0);
    rig.sender.on_timer(t0 + cfg.early_data_after);
    EXPECT_TRUE(rig.net.of<protocol::fileinfo_msg>().empty());
    EXPECT_EQ(rig.sender.phase(), engine::sender_phase::announce);
    EXPECT_EQ(rig.sender.stats().fast_start_hosts, 0u);
}

TEST(sender_engine, a_registration_still_gathering_is_confirmed_before_the_fileinfo) {
    // The last of a closed group registers: the announce phase ends at once,
    // and the REG_CONF that was waiting for company goes out ahead of the
    // FILEINFO.
    sender_rig rig(quick_sender({9}), {{.name = "f", .size = 10}});
    rig.sender.start(t0);
    rig.sender.on_datagram(
        t0 + 100 * ms, {.address = 9},
        client_datagram(9, 0x77, protocol::register_msg{.tstamp = stamp_of(t0)}));
    EXPECT_TRUE(rig.net.of<protocol::reg_conf_msg>().empty());
    rig.sender.on_timer(rig.sender.next_deadline());
    time_ns now = t0 + 100 * ms;
    for (int i = 0; i < 10 && rig.sender.phase() == engine::sender_phase::announce; ++i) {
        now = rig.sender.next_deadline();
        rig.sender.on_timer(now);
    }
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::fileinfo);
    std::vector<protocol::message_type> order;
    for (const auto& d : rig.net.sent) {
        order.push_back(protocol::type_of(d.d.body));
    }
    const auto conf = std::find(order.begin(), order.end(), protocol::message_type::reg_conf);
    const auto info = std::find(order.begin(), order.end(), protocol::message_type::fileinfo);
    ASSERT_NE(conf, order.end());
    ASSERT_NE(info, order.end());
    EXPECT_LT(conf, info);
}

TEST(sender_engine, the_fec_extension_names_the_interleaving_span) {
    for (const std::uint64_t interleave : {std::uint64_t{0}, std::uint64_t{64} << 20}) {
        auto cfg = quick_sender({9});
        cfg.block_size = 1300;
        cfg.fec = {.group_blocks = 64, .interleave_bytes = interleave};
        sender_rig rig(cfg, {{.name = "f", .size = 10}});
        rig.sender.start(t0);
        const auto announces = rig.net.of<protocol::announce_msg>();
        ASSERT_EQ(announces.size(), 1u);
        const auto& f = std::get<protocol::announce_msg>(announces[0]->d.body).fec_info;
        ASSERT_TRUE(f.has_value());
        if (interleave == 0) {
            // Consecutive groups: version 1, which older Skycast receivers take.
            EXPECT_EQ(f->version, 1);
            EXPECT_EQ(f->span_groups, 1);
        } else {
            EXPECT_EQ(f->version, 2);
            EXPECT_EQ(f->span_groups, (64u << 20) / (64 * 1300)); // 806 groups of 83 KB
        }
    }
}

// Ends the pass in progress with all 32 blocks of file 1 sent, hands the
// sender client 9's deficit NAKs for section 0 (`deficits`, a bitmap of the
// section's blocks) and runs its timers until the repair pass starts.
// Returns the repair pass, or null when none started.
const engine::pass_request* repair_for(sender_rig& rig, time_ns& now,
                                       std::vector<std::uint8_t> deficits) {
    rig.dp.cursor = 32;
    const auto passes = rig.dp.passes.size();
    rig.sender.on_pass_end(now, 1);
    deficits.resize(protocol::nak_bitmap_bytes(32), 0);
    rig.sender.on_datagram(now, {.address = 9},
                           client_datagram(9, 0x77,
                                           protocol::status_msg{.file_id = 1,
                                                                .section = 0,
                                                                .naks = std::move(deficits),
                                                                .fec_deficit = true}));
    for (int i = 0; i < 20 && rig.dp.passes.size() == passes; ++i) {
        now = rig.sender.next_deadline();
        rig.sender.on_timer(now);
    }
    return rig.dp.passes.size() == passes + 1 ? &rig.dp.passes.back() : nullptr;
}

TEST(sender_engine, a_repair_pass_sends_the_worst_deficit_plus_the_repair_margin) {
    // Groups of 8 consecutive blocks; client 9 still needs 3 parity blocks
    // of group 0 and 1 of group 2 after pass 1 (its deficit NAKs).
    for (const double margin : {0.0, 0.5}) {
        auto cfg = quick_sender({9});
        cfg.block_size = 512;
        cfg.fec = {.group_blocks = 8, .interleave_bytes = 0, .repair_margin = margin};
        sender_rig rig(cfg, {{.name = "f", .size = 512 * 32}});
        time_ns now = rig.to_first_pass(9, t0);
        ASSERT_EQ(rig.dp.passes.size(), 1u);
        // 3 bits in group 0 (blocks 0..7), 1 in group 2 (blocks 16..23).
        const auto* pass = repair_for(rig, now, {0x07, 0x00, 0x01});
        ASSERT_NE(pass, nullptr) << "margin " << margin;
        const auto& repair = pass->parity;
        ASSERT_EQ(repair.size(), 2u);
        EXPECT_EQ(repair[0].group, 0u);
        EXPECT_EQ(repair[1].group, 2u);
        EXPECT_EQ(repair[0].first_index, 8u); // the first parity index
        // 3 and 1 without a margin; with 50 %: 3 + 2 and 1 + 1 (rounded up).
        EXPECT_EQ(repair[0].count, margin == 0 ? 3u : 5u);
        EXPECT_EQ(repair[1].count, margin == 0 ? 1u : 2u);
    }
}

TEST(sender_engine, a_later_repair_pass_has_at_least_its_need_again_as_margin) {
    // Groups of 16; client 9 misses 1 block of group 0 after pass 1, then 8
    // after pass 2. A long fade takes the same share of every group of a
    // short late pass (up to half of it, for a fade of one copy spacing):
    // the second repair pass sends 8 + 8, not 8 + 1.
    for (const double margin : {0.1, 0.0}) {
        auto cfg = quick_sender({9});
        cfg.block_size = 512;
        cfg.fec = {.group_blocks = 16, .interleave_bytes = 0, .repair_margin = margin};
        sender_rig rig(cfg, {{.name = "f", .size = 512 * 32}});
        time_ns now = rig.to_first_pass(9, t0);
        const auto* pass2 = repair_for(rig, now, {0x01});
        ASSERT_NE(pass2, nullptr) << margin;
        const auto first = pass2->parity;
        ASSERT_EQ(first.size(), 1u) << margin;
        EXPECT_EQ(first[0].count, margin == 0 ? 1u : 2u); // 1 + ceil(10 %)
        const auto* pass3 = repair_for(rig, now, {0xFF});
        ASSERT_NE(pass3, nullptr) << margin;
        const auto& second = pass3->parity;
        ASSERT_EQ(second.size(), 1u) << margin;
        EXPECT_EQ(second[0].first_index, first[0].first_index + first[0].count);
        EXPECT_EQ(second[0].count, margin == 0 ? 8u : 16u) << "no margin asked, none given";
    }
}

TEST(sender_engine, a_short_repair_pass_is_paced_to_last_two_copy_spacings) {
    // Client 9 needs 3 parity blocks of group 0 and 1 of group 2; with a
    // 50 % margin the repair pass sends 5 + 2. At 1 Gbit/s that is 36 us:
    // one fade would take both of group 2's. Paced to last 2 x 2 ms, its
    // two sweeps leave ~2 ms apart (2 ms: under a quarter of the rig's GRTT,
    // which the answers took down to its 10 ms floor).
    for (const time_ns spacing : {2 * ms, time_ns{0}}) {
        auto cfg = quick_sender({9});
        cfg.block_size = 512;
        cfg.rate_bps = 1'000'000'000;
        cfg.copy_spacing = spacing;
        cfg.fec = {.group_blocks = 8, .interleave_bytes = 0, .repair_margin = 0.5};
        sender_rig rig(cfg, {{.name = "f", .size = 512 * 32}});
        time_ns now = rig.to_first_pass(9, t0);
        ASSERT_EQ(rig.dp.passes.size(), 1u);
        EXPECT_EQ(rig.dp.passes[0].rate_bps, 0u) << "the first pass runs at the node's rate";
        ASSERT_NE(repair_for(rig, now, {0x07, 0x00, 0x01}), nullptr);
        ASSERT_NEAR(rig.sender.grtt(), 0.01, 1e-9);
        if (spacing == 0) {
            EXPECT_EQ(rig.dp.passes[1].rate_bps, 0u) << "no spacing, no stretch";
            EXPECT_EQ(rig.sender.stats().repair_passes_stretched, 0u);
            continue;
        }
        // 7 blocks of 512 + 128 bytes of headers in 4 ms.
        EXPECT_EQ(rig.dp.passes[1].rate_bps, 7u * 640 * 8 * 250);
        EXPECT_EQ(rig.sender.stats().repair_passes_stretched, 1u);
    }
}

TEST(sender_engine, with_control_copies_the_session_ends_at_the_last_complete) {
    // One copy: the spec's last GRTT for stragglers after the last
    // COMPLETE(0). Two: every DONE_CONF went out twice; the session ends.
    for (const std::uint32_t copies : {1u, 2u}) {
        auto cfg = quick_sender({9});
        cfg.control_copies = copies;
        sender_rig rig(cfg, {{.name = "f", .size = 10}});
        time_ns now = rig.to_first_pass(9, t0);
        rig.dp.cursor = 1;
        rig.sender.on_pass_end(now, 1);
        rig.sender.on_datagram(now, {.address = 9},
                               client_datagram(9, 0x77, protocol::complete_msg{.file_id = 1}));
        ASSERT_EQ(rig.sender.phase(), engine::sender_phase::completion) << copies;
        rig.sender.on_datagram(now, {.address = 9},
                               client_datagram(9, 0x77, protocol::complete_msg{.file_id = 0}));
        EXPECT_EQ(rig.net.of<protocol::done_conf_msg>().size(), copies);
        const time_ns end = rig.sender.next_deadline();
        EXPECT_EQ(end - now, copies == 1 ? engine::seconds_to_ns(rig.sender.grtt()) : time_ns{0})
            << copies;
        rig.sender.on_timer(end);
        EXPECT_TRUE(rig.sender.finished()) << copies;
    }
}

TEST(sender_engine, grtt_falls_to_the_real_rtt_once_every_client_answered_a_round) {
    // Closed group of two. Client 9's REGISTER took 1.0 s (its ARP crossed a
    // satellite hop first), client 10's 0.5 s: the real RTT of both.
    sender_rig rig(quick_sender({9, 10}), {{.name = "f", .size = 10}});
    rig.sender.start(t0);
    time_ns now = t0 + 1000 * ms;
    rig.sender.on_datagram(
        now, {.address = 9},
        client_datagram(9, 0x77, protocol::register_msg{.tstamp = stamp_of(t0)}));
    rig.sender.on_datagram(
        now, {.address = 10},
        client_datagram(10, 0x77, protocol::register_msg{.tstamp = stamp_of(t0 + 500 * ms)}));
    EXPECT_NEAR(rig.sender.grtt(), 1.0, 1e-6);
    // The announce phase ends one GRTT after the last REGISTER; FILEINFO goes.
    now = rig.sender.next_deadline();
    rig.sender.on_timer(now);
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::fileinfo);
    const time_ns fileinfo_sent = now;
    now += 500 * ms;
    for (std::uint32_t uid : {9u, 10u}) {
        rig.sender.on_datagram(
            now, {.address = uid},
            client_datagram(
                uid, 0x77,
                protocol::fileinfo_ack_msg{.file_id = 1, .tstamp = stamp_of(fileinfo_sent)}));
    }
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::data);
    // Both answered: the round's largest RTT, not 10 % below the inflated one.
    EXPECT_NEAR(rig.sender.grtt(), 0.5, 1e-6);
}

// Starts the session, registers `uids` and runs the announce phase out;
// returns when the first FILEINFO went out.
time_ns to_fileinfo(sender_rig& rig, std::initializer_list<std::uint32_t> uids = {9u, 10u}) {
    rig.sender.start(t0);
    for (std::uint32_t uid : uids) {
        rig.sender.on_datagram(t0 + ms, {.address = uid},
                               client_datagram(uid, 0x77, protocol::register_msg{}));
    }
    time_ns now = t0;
    while (rig.sender.phase() != engine::sender_phase::fileinfo) {
        now = rig.sender.next_deadline();
        rig.sender.on_timer(now);
    }
    return now;
}

TEST(sender_engine, control_copies_are_spaced_at_most_a_quarter_grtt_and_back_to_back_in_a_pass) {
    // quick_sender's GRTT is 0.1 s: 100 ms asked, 25 ms given; 10 ms asked, 10 ms.
    for (const time_ns asked : {100 * ms, 10 * ms, time_ns{0}}) {
        auto cfg = quick_sender({9});
        cfg.control_copies = 3;
        cfg.copy_spacing = asked;
        cfg.early_data_after = 20 * ms;
        sender_rig rig(cfg, {{.name = "f", .size = 5000}});
        const time_ns spacing = std::min(asked, 25 * ms);
        const time_ns fileinfo_at = to_fileinfo(rig, {9});
        const auto announces = rig.net.of<protocol::announce_msg>();
        ASSERT_GE(announces.size(), 3u);
        EXPECT_EQ(announces[0]->delay, 0u);
        // Three copies: the second a tenth of a spacing after the first
        // (against independent loss), the third a spacing (against fades).
        EXPECT_EQ(announces[1]->delay, spacing / 10) << asked;
        EXPECT_EQ(announces[2]->delay, spacing) << asked;
        EXPECT_EQ(announces[0]->raw, announces[2]->raw); // still the same bytes

        // The first pass starts only once the FILEINFO's last copy has left
        // (a FILESEG before it would put it behind receivers' window), and
        // at the early-data wait when that is later.
        ASSERT_NEAR(rig.sender.grtt(), 0.1, 1e-9);
        const auto infos = rig.net.of<protocol::fileinfo_msg>();
        ASSERT_EQ(infos.size(), 3u);
        EXPECT_EQ(infos[2]->delay, spacing);
        const time_ns wait = spacing == 0 ? 20 * ms : std::max(20 * ms, spacing + 5 * ms);
        ASSERT_EQ(rig.sender.next_deadline(), fileinfo_at + wait) << asked;
        rig.sender.on_timer(fileinfo_at + wait);
        ASSERT_EQ(rig.sender.phase(), engine::sender_phase::data);

        // During the pass FILESEGs draw sequence numbers: copies back to back.
        rig.sender.on_datagram(fileinfo_at + wait + ms, {.address = 9},
                               client_datagram(9, 0x77, protocol::fileinfo_ack_msg{.file_id = 1}));
        const auto acks_before = rig.net.sent.size();
        rig.sender.abort(fileinfo_at + wait + 2 * ms, "stop");
        ASSERT_GT(rig.net.sent.size(), acks_before);
        for (std::size_t i = acks_before; i < rig.net.sent.size(); ++i) {
            EXPECT_EQ(rig.net.sent[i].delay, 0u) << "datagram " << i << " sent during the pass";
        }
    }
}

TEST(sender_engine, the_next_file_waits_until_the_last_copy_of_the_one_before_has_left) {
    // A symlink needs no data: its COMPLETE comes back within a LAN round
    // trip, before the FILEINFO's spaced copy has left. The next FILEINFO,
    // and then the completion's DONE, wait for that copy: one arriving after
    // them would make a stock uftpd take the symlink again ("File exists").
    auto cfg = quick_sender({9});
    cfg.control_copies = 2;
    cfg.copy_spacing = 100 * ms; // 25 ms at quick_sender's GRTT of 0.1 s
    const time_ns copies_out = 25 * ms + 5 * ms;
    sender_rig rig(cfg, {{.type = protocol::file_type::symlink, .name = "a", .link = "x"},
                         {.type = protocol::file_type::symlink, .name = "b", .link = "y"}});
    const time_ns first_at = to_fileinfo(rig, {9});
    ASSERT_EQ(rig.net.of<protocol::fileinfo_msg>().size(), 2u); // the FILEINFO and its copy
    rig.sender.on_datagram(first_at + ms, {.address = 9},
                           client_datagram(9, 0x77, protocol::complete_msg{.file_id = 1}));
    EXPECT_EQ(rig.net.of<protocol::fileinfo_msg>().size(), 2u) << "file 2 went before the copy";
    EXPECT_EQ(rig.sender.stats().copy_waits, 1u);
    ASSERT_EQ(rig.sender.next_deadline(), first_at + copies_out);
    rig.sender.on_timer(first_at + copies_out);
    auto infos = rig.net.of<protocol::fileinfo_msg>();
    ASSERT_EQ(infos.size(), 4u);
    EXPECT_EQ(std::get<protocol::fileinfo_msg>(infos[2]->d.body).file_id, 2u);

    const time_ns second_at = first_at + copies_out;
    rig.sender.on_datagram(second_at + ms, {.address = 9},
                           client_datagram(9, 0x77, protocol::complete_msg{.file_id = 2}));
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::completion);
    EXPECT_TRUE(rig.net.of<protocol::done_msg>().empty()) << "DONE(0) went before the copy";
    EXPECT_EQ(rig.sender.stats().copy_waits, 2u);
    ASSERT_EQ(rig.sender.next_deadline(), second_at + copies_out);
    rig.sender.on_timer(second_at + copies_out);
    const auto dones = rig.net.of<protocol::done_msg>();
    ASSERT_EQ(dones.size(), 2u);
    EXPECT_EQ(std::get<protocol::done_msg>(dones[0]->d.body).file_id, 0u);

    // Copies back to back (no spacing): nothing waits.
    auto unspaced = quick_sender({9});
    unspaced.control_copies = 2;
    unspaced.copy_spacing = 0;
    sender_rig rig0(unspaced, {{.type = protocol::file_type::symlink, .name = "a", .link = "x"},
                               {.type = protocol::file_type::symlink, .name = "b", .link = "y"}});
    const time_ns at = to_fileinfo(rig0, {9});
    rig0.sender.on_datagram(at + ms, {.address = 9},
                            client_datagram(9, 0x77, protocol::complete_msg{.file_id = 1}));
    EXPECT_EQ(rig0.net.of<protocol::fileinfo_msg>().size(), 4u);
    EXPECT_EQ(rig0.sender.stats().copy_waits, 0u);
}

TEST(held_copies, releases_what_is_due_in_order_and_refuses_beyond_its_capacity) {
    engine::held_copies hold;
    const std::vector<std::uint8_t> a{1}, b{2}, c{3};
    EXPECT_EQ(hold.next_due(), engine::no_deadline);
    ASSERT_TRUE(hold.hold(t0 + 20 * ms, {.address = 1}, b));
    ASSERT_TRUE(hold.hold(t0 + 10 * ms, {.address = 1}, a, 1044));
    ASSERT_TRUE(hold.hold(t0 + 20 * ms, {.address = 2}, c)); // same time: after b
    EXPECT_EQ(hold.next_due(), t0 + 10 * ms);
    std::vector<std::uint8_t> out;
    auto take = [&](const engine::held_copies::copy& x) { out.push_back(x.bytes[0]); };
    EXPECT_EQ(hold.release_due(t0 + 9 * ms, take), 0u);
    EXPECT_EQ(hold.release_due(t0 + 10 * ms, take), 1u);
    EXPECT_EQ(hold.release_due(t0 + 30 * ms, take), 2u);
    EXPECT_EQ(out, (std::vector<std::uint8_t>{1, 2, 3}));
    EXPECT_EQ(hold.size(), 0u);
    for (std::size_t i = 0; i < engine::held_copies::capacity; ++i) {
        ASSERT_TRUE(hold.hold(t0, {.address = 1}, a));
    }
    EXPECT_FALSE(hold.hold(t0, {.address = 1}, a)); // the caller sends it at once
    EXPECT_EQ(hold.stats().held, 3u + engine::held_copies::capacity);
    EXPECT_EQ(hold.stats().released, 3u);
    EXPECT_EQ(hold.stats().unspaced, 1u);
}

// Early data (docs/protocol.md §20).

TEST(sender_engine, early_data_starts_the_pass_before_the_answers_and_keeps_asking_the_silent) {
    auto cfg = quick_sender({9, 10});
    cfg.early_data_after = 20 * ms;
    sender_rig rig(cfg, {{.name = "f", .size = 5000}}); // 4 blocks of 1300
    const time_ns fileinfo_at = to_fileinfo(rig);
    ASSERT_EQ(rig.net.of<protocol::fileinfo_msg>().size(), 1u);
    EXPECT_TRUE(rig.dp.passes.empty());
    // No answer within the wait: the first pass starts, every block in it.
    ASSERT_EQ(rig.sender.next_deadline(), fileinfo_at + 20 * ms);
    rig.sender.on_timer(fileinfo_at + 20 * ms);
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::data);
    ASSERT_EQ(rig.dp.passes.size(), 1u);
    EXPECT_EQ(rig.dp.passes[0].blocks, std::vector<std::uint64_t>{0xF});
    EXPECT_EQ(rig.sender.stats().early_data_passes, 1u);

    // Client 9 answers during the pass; client 10 does not, and gets the
    // FILEINFO again, alone, when the round is over (1.5 GRTT).
    rig.sender.on_datagram(fileinfo_at + 50 * ms, {.address = 9},
                           client_datagram(9, 0x77, protocol::fileinfo_ack_msg{.file_id = 1}));
    EXPECT_EQ(rig.sender.stats().fileinfo_acks_late, 1u);
    time_ns now = rig.sender.next_deadline();
    EXPECT_EQ(now, fileinfo_at + 150 * ms);
    rig.sender.on_timer(now);
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::data);
    auto fileinfos = rig.net.of<protocol::fileinfo_msg>();
    ASSERT_EQ(fileinfos.size(), 2u);
    EXPECT_EQ(std::get<protocol::fileinfo_msg>(fileinfos.back()->d.body).client_ids,
              protocol::client_id_list{10});

    // The pass ends: DONE asks client 9, the FILEINFO goes to client 10 again.
    rig.sender.on_pass_end(now, 1);
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::done_wait);
    auto dones = rig.net.of<protocol::done_msg>();
    ASSERT_EQ(dones.size(), 1u);
    EXPECT_EQ(std::get<protocol::done_msg>(dones.back()->d.body).client_ids,
              protocol::client_id_list{9});
    fileinfos = rig.net.of<protocol::fileinfo_msg>();
    ASSERT_EQ(fileinfos.size(), 3u);
    EXPECT_EQ(std::get<protocol::fileinfo_msg>(fileinfos.back()->d.body).client_ids,
              protocol::client_id_list{10});

    // Client 9 has it all; client 10 answers at last, after its pass, and
    // is asked at once, not a round later: it has had the whole pass and
    // times out on the GRTT our headers carry, not on our round timer.
    rig.sender.on_datagram(now + ms, {.address = 9},
                           client_datagram(9, 0x77, protocol::complete_msg{.file_id = 1}));
    const time_ns round_due = rig.sender.next_deadline();
    rig.sender.on_datagram(now + ms, {.address = 10},
                           client_datagram(10, 0x77, protocol::fileinfo_ack_msg{.file_id = 1}));
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::done_wait) << "client 10 has nothing yet";
    dones = rig.net.of<protocol::done_msg>();
    ASSERT_EQ(dones.size(), 2u);
    EXPECT_EQ(std::get<protocol::done_msg>(dones.back()->d.body).client_ids,
              protocol::client_id_list{10});
    EXPECT_EQ(rig.sender.stats().late_answers_done_at_once, 1u);
    EXPECT_EQ(rig.sender.next_deadline(), round_due) << "the round under way goes on";
    EXPECT_EQ(rig.net.of<protocol::fileinfo_msg>().size(), 3u);
    // Its COMPLETE ends the file.
    rig.sender.on_datagram(now + ms, {.address = 10},
                           client_datagram(10, 0x77, protocol::complete_msg{.file_id = 1}));
    EXPECT_EQ(rig.sender.phase(), engine::sender_phase::completion);
}

TEST(sender_engine, early_data_drops_a_client_that_never_answers_and_the_file_ends) {
    auto cfg = quick_sender({9, 10});
    cfg.early_data_after = 20 * ms;
    cfg.lost_after_min = 0; // ROBUST (3) rounds alone
    sender_rig rig(cfg, {{.name = "f", .size = 5000}});
    time_ns now = to_fileinfo(rig);
    rig.sender.on_datagram(now + ms, {.address = 9},
                           client_datagram(9, 0x77, protocol::fileinfo_ack_msg{.file_id = 1}));
    // Client 9 answers everything, client 10 nothing; passes end at once.
    for (int i = 0; i < 100 && !rig.sender.finished(); ++i) {
        now = rig.sender.next_deadline();
        rig.sender.on_timer(now);
        if (rig.sender.phase() == engine::sender_phase::data) {
            rig.sender.on_pass_end(now, 1);
        }
        if (rig.sender.phase() == engine::sender_phase::done_wait) {
            rig.sender.on_datagram(now + ms, {.address = 9},
                                   client_datagram(9, 0x77, protocol::complete_msg{.file_id = 1}));
        }
        if (rig.sender.phase() == engine::sender_phase::completion) {
            rig.sender.on_datagram(now + ms, {.address = 9},
                                   client_datagram(9, 0x77, protocol::complete_msg{.file_id = 0}));
        }
    }
    ASSERT_TRUE(rig.sender.finished());
    EXPECT_EQ(rig.sender.stats().early_data_passes, 1u);
    EXPECT_EQ(rig.sender.clients()[rig.sender.clients().find(10)].outcome,
              engine::client_outcome::lost);
    EXPECT_EQ(rig.sender.clients()[rig.sender.clients().find(9)].outcome,
              engine::client_outcome::completed);
    // Its FILEINFO rounds: the first, then ROBUST more before the drop.
    EXPECT_EQ(rig.sender.stats().fileinfo_rounds, 3u);
    for (const auto* d : rig.net.of<protocol::done_msg>()) {
        const auto& ids = std::get<protocol::done_msg>(d->d.body).client_ids;
        EXPECT_EQ(std::count(ids.begin(), ids.end(), 10u), 0)
            << "no DONE for an unanswered FILEINFO";
    }
}

TEST(sender_engine, a_skip_from_a_client_the_done_did_not_ask_does_not_end_the_done_round) {
    // Clients 8 and 9 answered the FILEINFO during the early pass, 10 did
    // not. The pass ends: DONE to 8 and 9, FILEINFO to 10. Client 8 NAKs;
    // client 10 skips the file (COMPLETE). Client 9's answer is still due,
    // so the repair waits for it (2.1 GRTT), not 0.1 GRTT.
    auto cfg = quick_sender({8, 9, 10});
    cfg.early_data_after = 20 * ms;
    sender_rig rig(cfg, {{.name = "f", .size = 5000}});
    const time_ns fileinfo_at = to_fileinfo(rig, {8u, 9u, 10u});
    rig.sender.on_timer(fileinfo_at + 20 * ms);
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::data);
    for (std::uint32_t uid : {8u, 9u}) {
        rig.sender.on_datagram(
            fileinfo_at + 30 * ms, {.address = uid},
            client_datagram(uid, 0x77, protocol::fileinfo_ack_msg{.file_id = 1}));
    }
    const time_ns done_at = fileinfo_at + 40 * ms;
    rig.sender.on_pass_end(done_at, 1);
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::done_wait);
    std::vector<std::uint8_t> bits(protocol::nak_bitmap_bytes(4), 0);
    bits[0] = 0x01;
    rig.sender.on_datagram(
        done_at + 10 * ms, {.address = 8},
        client_datagram(8, 0x77, protocol::status_msg{.file_id = 1, .section = 0, .naks = bits}));
    rig.sender.on_datagram(done_at + 10 * ms, {.address = 10},
                           client_datagram(10, 0x77, protocol::complete_msg{.file_id = 1}));
    EXPECT_GE(rig.sender.next_deadline(), done_at + 200 * ms)
        << "the repair did not wait for client 9's answer";
    rig.sender.on_datagram(done_at + 20 * ms, {.address = 9},
                           client_datagram(9, 0x77, protocol::complete_msg{.file_id = 1}));
    EXPECT_EQ(rig.sender.next_deadline(), done_at + 30 * ms) << "now every asked client answered";
}

TEST(sender_engine, answers_in_before_the_early_data_wait_start_the_pass_at_once) {
    auto cfg = quick_sender({9, 10});
    cfg.early_data_after = 20 * ms;
    sender_rig rig(cfg, {{.name = "f", .size = 5000}});
    const time_ns fileinfo_at = to_fileinfo(rig);
    for (std::uint32_t uid : {9u, 10u}) {
        rig.sender.on_datagram(
            fileinfo_at + ms, {.address = uid},
            client_datagram(uid, 0x77, protocol::fileinfo_ack_msg{.file_id = 1}));
    }
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::data);
    ASSERT_EQ(rig.dp.passes.size(), 1u);
    // The wait's deadline is gone with the phase: no second pass from it.
    rig.sender.on_timer(fileinfo_at + 20 * ms);
    EXPECT_EQ(rig.dp.passes.size(), 1u);
    EXPECT_EQ(rig.sender.stats().early_data_passes, 0u);
    EXPECT_EQ(rig.sender.stats().fileinfo_acks_late, 0u);
}

TEST(sender_engine, without_early_data_the_pass_waits_for_every_answer_as_stock) {
    auto cfg = quick_sender({9, 10});
    cfg.early_data_after = engine::no_deadline;
    sender_rig rig(cfg, {{.name = "f", .size = 5000}});
    const time_ns fileinfo_at = to_fileinfo(rig);
    // The next deadline is the FILEINFO round's: resent to both.
    EXPECT_EQ(rig.sender.next_deadline(), fileinfo_at + 150 * ms);
    rig.sender.on_timer(fileinfo_at + 150 * ms);
    EXPECT_EQ(rig.sender.phase(), engine::sender_phase::fileinfo);
    EXPECT_TRUE(rig.dp.passes.empty());
    EXPECT_EQ(rig.net.of<protocol::fileinfo_msg>().size(), 2u);
    rig.sender.on_datagram(fileinfo_at + 160 * ms, {.address = 9},
                           client_datagram(9, 0x77, protocol::fileinfo_ack_msg{.file_id = 1}));
    EXPECT_TRUE(rig.dp.passes.empty()) << "client 10 has not answered";
    rig.sender.on_datagram(fileinfo_at + 160 * ms, {.address = 10},
                           client_datagram(10, 0x77, protocol::fileinfo_ack_msg{.file_id = 1}));
    EXPECT_EQ(rig.dp.passes.size(), 1u);
    EXPECT_EQ(rig.sender.stats().early_data_passes, 0u);
}

// A hub whose only receiver aborts mid-pass has nobody left to send to: the
// pass stops and the session ends at once, not after the rest of the file
// (a satellite link's time, and the operator's `skycast send` waiting).
TEST(sender_engine, a_session_whose_last_receiver_aborts_mid_pass_ends_at_once) {
    sender_rig rig(quick_sender(), {{.name = "f", .size = 50'000'000}});
    const time_ns now = rig.to_first_pass(9, t0);
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::data);
    ASSERT_EQ(rig.dp.passes.size(), 1u);
    rig.sender.on_datagram(
        now + ms, {.address = 9},
        client_datagram(9, 0x77, protocol::abort_msg{.host = 9, .message = "Disk full"}));
    EXPECT_EQ(rig.sender.phase(), engine::sender_phase::finished);
    EXPECT_EQ(rig.dp.stops, 1) << "the pass goes on sending to nobody";
    EXPECT_EQ(rig.sender.failure(), "all clients dropped or aborted");
}

// A pass the dataplane does not take (the file changed under it, no slot,
// a start that raced the pass before it) brings no pass end: the engine
// goes on to its DONE round at once, the client's NAK asks for the blocks
// again, and the next pass sends them. Waiting for the end would hold the
// session silent until every client timed out.
TEST(sender_engine, a_pass_the_dataplane_refuses_goes_on_to_the_done_round_and_is_sent_again) {
    sender_rig rig(quick_sender(), {{.name = "f", .size = 5000}});
    rig.dp.refuse_passes = 1;
    time_ns now = rig.to_first_pass(9, t0);
    ASSERT_EQ(rig.dp.passes.size(), 1u);
    EXPECT_EQ(rig.sender.stats().passes_refused, 1u);
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::done_wait);
    // The DONE round asks the client, which misses every block.
    now = rig.sender.next_deadline();
    rig.sender.on_timer(now);
    ASSERT_FALSE(rig.net.of<protocol::done_msg>().empty());
    std::vector<std::uint8_t> bits(protocol::nak_bitmap_bytes(4), 0);
    bits[0] = 0x0F; // 5000 bytes at 1300: 4 blocks, all missing
    rig.sender.on_datagram(
        now + ms, {.address = 9},
        client_datagram(9, 0x77, protocol::status_msg{.file_id = 1, .section = 0, .naks = bits}));
    while (rig.dp.passes.size() < 2 && rig.sender.next_deadline() != engine::no_deadline) {
        now = rig.sender.next_deadline();
        rig.sender.on_timer(now);
    }
    ASSERT_EQ(rig.dp.passes.size(), 2u);
    EXPECT_EQ(rig.dp.passes[1].blocks.at(0), 0x0Fu);
    EXPECT_EQ(rig.sender.phase(), engine::sender_phase::data);
    EXPECT_EQ(rig.sender.stats().passes_refused, 1u);
}

TEST(sender_engine, one_sequence_counter_across_control_and_data) {
    sender_rig rig(quick_sender(), {{.name = "f", .size = 5000}, {.name = "g", .size = 1}});
    time_ns now = t0;
    rig.sender.start(now);
    rig.sender.on_datagram(
        now + ms, {.address = 9},
        client_datagram(9, 0x77, protocol::register_msg{.tstamp = stamp_of(now)}));
    // Drive: announce rounds, FILEINFO, ACK, pass end, COMPLETE, for both files.
    for (int step = 0; step < 50 && !rig.sender.finished(); ++step) {
        now = std::max(now + ms, rig.sender.next_deadline());
        rig.sender.on_timer(now);
        if (rig.sender.phase() == engine::sender_phase::fileinfo) {
            const auto fi = rig.net.of<protocol::fileinfo_msg>();
            const auto& m = std::get<protocol::fileinfo_msg>(fi.back()->d.body);
            rig.sender.on_datagram(
                now, {.address = 9},
                client_datagram(9, 0x77, protocol::fileinfo_ack_msg{.file_id = m.file_id}));
        }
        if (rig.sender.phase() == engine::sender_phase::data) {
            rig.dp.cursor = rig.dp.passes.back().layout.blocks();
            rig.sender.on_pass_end(now, rig.dp.passes.back().file_id);
        }
        if (rig.sender.phase() == engine::sender_phase::done_wait) {
            rig.sender.on_datagram(
                now, {.address = 9},
                client_datagram(9, 0x77,
                                protocol::complete_msg{.file_id = rig.dp.passes.back().file_id}));
        }
        if (rig.sender.phase() == engine::sender_phase::completion) {
            rig.sender.on_datagram(now, {.address = 9},
                                   client_datagram(9, 0x77, protocol::complete_msg{.file_id = 0}));
        }
    }
    ASSERT_TRUE(rig.sender.finished());
    EXPECT_TRUE(rig.sender.failure().empty()) << rig.sender.failure();
    EXPECT_EQ(rig.dp.passes.size(), 2u);
    // Every sequence number 0..N-1 was used exactly once, by control or data.
    std::vector<std::uint16_t> all = rig.dp.fileseg_seqs;
    for (const auto& r : rig.net.sent) {
        all.push_back(r.d.header.seq);
    }
    std::sort(all.begin(), all.end());
    for (std::size_t i = 0; i < all.size(); ++i) {
        ASSERT_EQ(all[i], i);
    }
    EXPECT_EQ(rig.net.of<protocol::done_conf_msg>().size(), 1u);
    EXPECT_EQ(rig.sender.clients()[0].outcome, engine::client_outcome::completed);
}

TEST(sender_engine, closed_group_refuses_unlisted_clients) {
    sender_rig rig(quick_sender({5}), {{.name = "f", .size = 10}});
    rig.sender.start(t0);
    const auto ann = rig.net.of<protocol::announce_msg>();
    ASSERT_EQ(ann.size(), 1u);
    EXPECT_EQ(std::get<protocol::announce_msg>(ann[0]->d.body).client_ids,
              std::vector<std::uint32_t>{5});
    rig.sender.on_datagram(t0 + ms, {.address = 6, .port = 1044},
                           client_datagram(6, 0x77, protocol::register_msg{}));
    const auto aborts = rig.net.of<protocol::abort_msg>();
    ASSERT_EQ(aborts.size(), 1u);
    EXPECT_EQ(aborts[0]->to.address, 6u); // unicast to the stranger
    EXPECT_EQ(std::get<protocol::abort_msg>(aborts[0]->d.body).message, "Not in host list");
    EXPECT_EQ(rig.sender.stats().not_in_host_list, 1u);
}

TEST(sender_engine, takes_a_nak_list_as_the_blocks_it_names_and_refuses_a_malformed_one) {
    // docs/protocol.md §19: the sender offers lists from its own address.
    auto cfg = quick_sender();
    cfg.block_size = 512;
    cfg.own_address = 0x0A4D0001;
    sender_rig rig(cfg, {{.name = "f", .size = 512ull * 4096 * 3}});
    time_ns now = rig.to_first_pass(9, t0);
    const auto announces = rig.net.of<protocol::announce_msg>();
    ASSERT_FALSE(announces.empty());
    EXPECT_EQ(std::get<protocol::announce_msg>(announces[0]->d.body).nak_lists_from, 0x0A4D0001u);
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::data);
    rig.dp.cursor = 2 * 4096 + 10; // transmitting section 2
    auto status = [&](std::uint16_t section, std::vector<std::uint8_t> list) {
        return client_datagram(
            9, 0x77,
            protocol::status_msg{.file_id = 1, .section = section, .naks = list, .nak_list = true});
    };
    // Section 0: blocks 0 and 2 (gap 0, run 1; gap 1, run 1). Section 1:
    // a run past its 4096 blocks, refused and counted, nothing marked.
    rig.sender.on_datagram(now, {.address = 9}, status(0, {0, 0, 1, 0}));
    rig.sender.on_datagram(now, {.address = 9}, status(1, {0x80, 0x20, 0}));
    EXPECT_EQ(rig.sender.stats().status_bad, 1u);
    // An empty list for the section being sent is the overload signal (§18).
    rig.sender.on_datagram(now, {.address = 9}, status(2, {}));
    EXPECT_EQ(rig.sender.stats().overload_signals, 1u);
    EXPECT_EQ(rig.sender.stats().nak_lists_in, 3u);
    rig.dp.cursor = 3 * 4096;
    rig.sender.on_pass_end(now, 1);
    now = rig.sender.next_deadline();
    rig.sender.on_timer(now); // the rewind
    ASSERT_EQ(rig.dp.passes.size(), 2u);
    std::uint32_t count = 0;
    for (auto w : rig.dp.passes[1].blocks) {
        count += static_cast<std::uint32_t>(__builtin_popcountll(w));
    }
    EXPECT_EQ(count, 2u);
    EXPECT_EQ(rig.dp.passes[1].blocks[0], 0x5u);
}

TEST(sender_engine, takes_a_complete_0_only_with_the_last_files_and_skips_its_done_0_round) {
    // docs/protocol.md §22. Two files; the ANNOUNCE (the sender knows its
    // own address) names file 2 the last. Clients 8 and 9.
    auto cfg = quick_sender();
    cfg.own_address = 0x0A4D0001;
    sender_rig rig(cfg, {{.name = "a", .size = 100}, {.name = "b", .size = 100}});
    rig.sender.start(t0);
    EXPECT_EQ(std::get<protocol::announce_msg>(rig.net.of<protocol::announce_msg>().at(0)->d.body)
                  .last_file_id,
              2u);
    for (std::uint32_t uid : {8u, 9u}) {
        rig.sender.on_datagram(
            t0 + ms, {.address = uid},
            client_datagram(uid, 0x77, protocol::register_msg{.tstamp = stamp_of(t0)}));
    }
    time_ns now = t0;
    while (rig.sender.phase() != engine::sender_phase::fileinfo) {
        now = rig.sender.next_deadline();
        rig.sender.on_timer(now);
    }
    auto send = [&](std::uint32_t uid, const protocol::message& m) {
        rig.sender.on_datagram(now, {.address = uid}, client_datagram(uid, 0x77, m));
    };
    const auto done_confs = [&] { return rig.net.of<protocol::done_conf_msg>().size(); };
    // File 1: a COMPLETE(0) with it is not the session's (file 2 is to come).
    for (std::uint32_t uid : {8u, 9u}) {
        send(uid, protocol::fileinfo_ack_msg{.file_id = 1});
    }
    rig.sender.on_pass_end(now, 1);
    send(8, protocol::complete_msg{.file_id = 1});
    send(8, protocol::complete_msg{.file_id = 0});
    EXPECT_EQ(done_confs(), 0u);
    send(9, protocol::complete_msg{.file_id = 1});
    // File 2: 8's COMPLETE(0) comes just ahead of its COMPLETE(2), as a
    // Skycast receiver sends them; taken with that, and answered at once.
    // 9 answers as stock does.
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::fileinfo);
    for (std::uint32_t uid : {8u, 9u}) {
        send(uid, protocol::fileinfo_ack_msg{.file_id = 2});
    }
    rig.sender.on_pass_end(now, 2);
    send(8, protocol::complete_msg{.file_id = 0});
    EXPECT_EQ(done_confs(), 0u) << "not before its file's COMPLETE";
    EXPECT_EQ(rig.sender.stats().early_session_completes, 0u);
    send(8, protocol::complete_msg{.file_id = 2});
    EXPECT_EQ(rig.sender.stats().early_session_completes, 1u);
    ASSERT_EQ(done_confs(), 1u);
    EXPECT_EQ(listed<protocol::done_conf_msg>(rig.net, 0), std::vector<std::uint32_t>{8});
    send(9, protocol::complete_msg{.file_id = 2});
    // The completion's DONE(0) asks only 9; its COMPLETE(0) ends the session.
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::completion);
    if (rig.net.of<protocol::done_msg>().empty() ||
        std::get<protocol::done_msg>(rig.net.of<protocol::done_msg>().back()->d.body).file_id !=
            0) {
        now = rig.sender.next_deadline();
        rig.sender.on_timer(now);
    }
    const auto dones = rig.net.of<protocol::done_msg>();
    ASSERT_FALSE(dones.empty());
    const auto& last_done = std::get<protocol::done_msg>(dones.back()->d.body);
    EXPECT_EQ(last_done.file_id, 0u);
    EXPECT_EQ(last_done.client_ids, std::vector<std::uint32_t>{9});
    send(9, protocol::complete_msg{.file_id = 0});
    while (rig.sender.phase() != engine::sender_phase::finished) {
        now = rig.sender.next_deadline();
        rig.sender.on_timer(now);
    }
    EXPECT_TRUE(rig.sender.failure().empty()) << rig.sender.failure();
    EXPECT_EQ(rig.sender.clients()[rig.sender.clients().find(8)].outcome,
              engine::client_outcome::completed);
    EXPECT_EQ(rig.sender.clients()[rig.sender.clients().find(9)].outcome,
              engine::client_outcome::completed);
}

TEST(sender_engine, a_session_whose_every_client_completed_with_the_last_file_ends_at_once) {
    // §22: no DONE(0) round at all; the session ends when the last file's
    // last answer is in.
    auto cfg = quick_sender();
    cfg.own_address = 0x0A4D0001;
    sender_rig rig(cfg, {{.name = "a", .size = 100}});
    time_ns now = rig.to_first_pass(8, t0);
    rig.sender.on_pass_end(now, 1);
    rig.sender.on_datagram(now, {.address = 8},
                           client_datagram(8, 0x77, protocol::complete_msg{.file_id = 0}));
    rig.sender.on_datagram(now, {.address = 8},
                           client_datagram(8, 0x77, protocol::complete_msg{.file_id = 1}));
    EXPECT_EQ(rig.net.of<protocol::done_conf_msg>().size(), 1u);
    if (rig.sender.phase() != engine::sender_phase::finished) {
        now = rig.sender.next_deadline();
        rig.sender.on_timer(now);
    }
    EXPECT_EQ(rig.sender.phase(), engine::sender_phase::finished);
    EXPECT_TRUE(rig.sender.failure().empty()) << rig.sender.failure();
    for (const auto* d : rig.net.of<protocol::done_msg>()) {
        EXPECT_NE(std::get<protocol::done_msg>(d->d.body).file_id, 0u) << "a DONE(0) round";
    }
}

TEST(sender_engine, naks_for_the_section_being_sent_are_ignored_others_are_merged) {
    // Block 1300, 200 blocks... use block 512 so a 3-section file is small.
    auto cfg = quick_sender();
    cfg.block_size = 512;
    const std::uint64_t size = 512ull * 4096 * 3;
    sender_rig rig(cfg, {{.name = "f", .size = size}});
    rig.sender.start(t0);
    rig.sender.on_datagram(
        t0 + ms, {.address = 9},
        client_datagram(9, 0x77, protocol::register_msg{.tstamp = stamp_of(t0)}));
    time_ns now = t0;
    while (rig.sender.phase() != engine::sender_phase::fileinfo) {
        now = rig.sender.next_deadline();
        rig.sender.on_timer(now);
    }
    rig.sender.on_datagram(now, {.address = 9},
                           client_datagram(9, 0x77, protocol::fileinfo_ack_msg{.file_id = 1}));
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::data);
    rig.dp.cursor = 4096 + 10; // transmitting section 1
    std::vector<std::uint8_t> bits(protocol::nak_bitmap_bytes(4096), 0);
    bits[0] = 0x05; // blocks 0 and 2 of the section
    auto status = [&](std::uint16_t section) {
        return client_datagram(
            9, 0x77, protocol::status_msg{.file_id = 1, .section = section, .naks = bits});
    };
    rig.sender.on_datagram(now, {.address = 9}, status(1)); // current section: ignored
    EXPECT_EQ(rig.sender.stats().status_current_section, 1u);
    rig.sender.on_datagram(now, {.address = 9}, status(0)); // passed: merged
    rig.dp.cursor = 3 * 4096;
    rig.sender.on_pass_end(now, 1);
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::done_wait);
    now = rig.sender.next_deadline();
    rig.sender.on_timer(now); // the rewind
    ASSERT_EQ(rig.dp.passes.size(), 2u);
    const auto& words = rig.dp.passes[1].blocks;
    std::uint32_t count = 0;
    for (auto w : words) {
        count += static_cast<std::uint32_t>(__builtin_popcountll(w));
    }
    EXPECT_EQ(count, 2u);
    EXPECT_EQ(words[0], 0x5u);
}

const engine::receiver_progress& progress_of(const engine::session_progress& p, std::uint32_t uid) {
    for (const auto& r : p.receivers) {
        if (r.uid == uid) {
            return r;
        }
    }
    static const engine::receiver_progress none{};
    ADD_FAILURE() << "no progress for " << uid;
    return none;
}

TEST(sender_engine, progress_per_receiver_counts_sent_blocks_naks_and_completed_files) {
    // File 1: 3 sections of 4096 blocks of 512 bytes, the last block 412
    // bytes. File 2: 1000 bytes (512 + 488). Three clients: 8 loses nothing,
    // 9 NAKs blocks, 10 rejects file 2.
    auto cfg = quick_sender();
    cfg.block_size = 512;
    constexpr std::uint64_t size1 = 512ull * 4096 * 3 - 100; // 6,291,356
    constexpr std::uint64_t size2 = 1000;
    sender_rig rig(cfg, {{.name = "big", .size = size1}, {.name = "small", .size = size2}});
    rig.sender.start(t0);
    for (std::uint32_t uid : {8u, 9u, 10u}) {
        rig.sender.on_datagram(
            t0 + ms, {.address = uid},
            client_datagram(uid, 0x77, protocol::register_msg{.tstamp = stamp_of(t0)}));
    }
    auto p = rig.sender.progress();
    EXPECT_EQ(p.bytes_total, 6'292'356u);
    EXPECT_EQ(p.files, 2u);
    EXPECT_EQ(p.file_number, 0u); // announce phase
    ASSERT_EQ(p.receivers.size(), 3u);
    EXPECT_EQ(progress_of(p, 9).bytes_known, 0u);

    time_ns now = t0;
    while (rig.sender.phase() != engine::sender_phase::fileinfo) {
        now = rig.sender.next_deadline();
        rig.sender.on_timer(now);
    }
    p = rig.sender.progress();
    EXPECT_EQ(p.file_number, 1u);
    EXPECT_EQ(p.pass, 0u);
    auto send = [&](std::uint32_t uid, const protocol::message& m) {
        rig.sender.on_datagram(now, {.address = uid}, client_datagram(uid, 0x77, m));
    };
    for (std::uint32_t uid : {8u, 9u, 10u}) {
        send(uid, protocol::fileinfo_ack_msg{.file_id = 1});
    }
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::data);
    p = rig.sender.progress();
    EXPECT_EQ(p.pass, 1u);
    EXPECT_EQ(p.file_bytes_sent, 0u);
    EXPECT_EQ(p.bytes_sent, 0u); // the whole pass is planned, none of it sent
    EXPECT_EQ(rig.sender.stats().bytes_sent, size1);
    EXPECT_EQ(progress_of(p, 8).pass, 1u);

    // Pass 1 is in section 1: 4106 blocks sent, all presumed received.
    rig.dp.cursor = 4096 + 10;
    rig.dp.bytes_sent = 2'102'272;
    p = rig.sender.progress();
    EXPECT_EQ(p.file_bytes_sent, 2'102'272u);
    EXPECT_EQ(p.bytes_sent, 2'102'272u);
    EXPECT_EQ(progress_of(p, 8).bytes_known, 2'102'272u);
    EXPECT_EQ(progress_of(p, 9).bytes_known, 2'102'272u);

    // 9 NAKs blocks 0 and 2 of section 0; its NAK of section 1 (being sent)
    // is ignored, for progress too.
    std::vector<std::uint8_t> bits(protocol::nak_bitmap_bytes(4096), 0);
    bits[0] = 0x05;
    send(9, protocol::status_msg{.file_id = 1, .section = 0, .naks = bits});
    send(9, protocol::status_msg{.file_id = 1, .section = 1, .naks = bits});
    EXPECT_EQ(rig.sender.stats().status_current_section, 1u);
    p = rig.sender.progress();
    EXPECT_EQ(progress_of(p, 9).bytes_known, 2'102'272u - 1024);
    EXPECT_EQ(progress_of(p, 8).bytes_known, 2'102'272u);

    // The pass ends: the whole file was sent once.
    rig.dp.cursor = 3 * 4096;
    rig.sender.on_pass_end(now, 1);
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::done_wait);
    p = rig.sender.progress();
    EXPECT_EQ(p.file_bytes_sent, size1);
    EXPECT_EQ(p.bytes_sent, size1);
    EXPECT_EQ(progress_of(p, 8).bytes_known, size1);
    EXPECT_EQ(progress_of(p, 9).bytes_known, size1 - 1024);

    // The DONE makes 9 report again from section 0 (a new report replaces
    // the old one), then section 2 with the file's short last block missing.
    send(9, protocol::status_msg{.file_id = 1, .section = 0, .naks = bits});
    p = rig.sender.progress();
    EXPECT_EQ(progress_of(p, 9).bytes_known, size1 - 1024);
    std::vector<std::uint8_t> last(protocol::nak_bitmap_bytes(4096), 0);
    last[4095 / 8] = static_cast<std::uint8_t>(1u << (4095 % 8));
    send(9, protocol::status_msg{.file_id = 1, .section = 2, .naks = last});
    p = rig.sender.progress();
    EXPECT_EQ(progress_of(p, 9).bytes_known, size1 - 1024 - 412); // 6,289,920
    send(8, protocol::complete_msg{.file_id = 1});
    send(10, protocol::complete_msg{.file_id = 1});
    p = rig.sender.progress();
    EXPECT_EQ(progress_of(p, 8).bytes_known, size1);
    EXPECT_EQ(progress_of(p, 10).bytes_known, size1);

    // The repair pass: 9 takes part (pass 2), the others finished in pass 1.
    // Resent blocks count only when 9 says so.
    now = rig.sender.next_deadline();
    rig.sender.on_timer(now);
    ASSERT_EQ(rig.dp.passes.size(), 2u);
    rig.dp.cursor = 0;
    rig.dp.bytes_sent = 512; // of the 1436 bytes NAKed: blocks 0 and 2, and the last
    p = rig.sender.progress();
    EXPECT_EQ(p.bytes_sent, size1 + 512);
    rig.dp.bytes_sent = 1'000'000; // a count past the pass is not believed
    p = rig.sender.progress();
    EXPECT_EQ(p.bytes_sent, size1 + 1436);
    EXPECT_EQ(p.pass, 2u);
    EXPECT_EQ(progress_of(p, 9).pass, 2u);
    EXPECT_EQ(progress_of(p, 8).pass, 1u);
    EXPECT_EQ(progress_of(p, 9).bytes_known, 6'289'920u);
    rig.sender.on_pass_end(now, 1);
    send(9, protocol::complete_msg{.file_id = 1});

    // File 2: 9 already has it (skipped: held), 10 rejects it, 8 takes data.
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::fileinfo);
    p = rig.sender.progress();
    EXPECT_EQ(p.file_number, 2u);
    EXPECT_EQ(progress_of(p, 9).bytes_known, size1);
    EXPECT_EQ(progress_of(p, 9).pass, 0u);
    send(9, protocol::complete_msg{.file_id = 2, .status = protocol::complete_status::skipped});
    send(10, protocol::complete_msg{.file_id = 2, .status = protocol::complete_status::rejected});
    send(8, protocol::fileinfo_ack_msg{.file_id = 2});
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::data);
    rig.dp.cursor = 1;
    p = rig.sender.progress();
    EXPECT_EQ(progress_of(p, 8).bytes_known, size1 + 512);
    EXPECT_EQ(progress_of(p, 9).bytes_known, size1 + size2);
    EXPECT_EQ(progress_of(p, 10).bytes_known, size1);
    rig.dp.cursor = 2;
    rig.sender.on_pass_end(now, 2);
    send(8, protocol::complete_msg{.file_id = 2});
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::completion);
    for (std::uint32_t uid : {8u, 9u, 10u}) {
        send(uid, protocol::complete_msg{.file_id = 0});
    }
    now = rig.sender.next_deadline();
    rig.sender.on_timer(now);
    ASSERT_TRUE(rig.sender.finished());
    p = rig.sender.progress();
    EXPECT_EQ(p.file_number, 3u);
    EXPECT_EQ(progress_of(p, 8).bytes_known, 6'292'356u);
    EXPECT_EQ(progress_of(p, 9).bytes_known, 6'292'356u);
    EXPECT_EQ(progress_of(p, 10).bytes_known, size1);
    EXPECT_EQ(progress_of(p, 8).outcome, engine::client_outcome::completed);
}

TEST(sender_engine, progress_of_a_client_dropped_mid_file_keeps_its_completed_files_only) {
    auto cfg = quick_sender();
    cfg.block_size = 512;
    cfg.max_nak_pct = 50;
    cfg.max_nak_count = 0; // the first section NAKed beyond 50 % drops the client
    sender_rig rig(cfg, {{.name = "f", .size = 512ull * 4096 * 2}});
    time_ns now = to_fileinfo(rig, {8u, 9u});
    for (std::uint32_t uid : {8u, 9u}) {
        rig.sender.on_datagram(
            now, {.address = uid},
            client_datagram(uid, 0x77, protocol::fileinfo_ack_msg{.file_id = 1}));
    }
    rig.dp.cursor = 4096 + 1;
    std::vector<std::uint8_t> all(protocol::nak_bitmap_bytes(4096), 0xFF);
    rig.sender.on_datagram(
        now, {.address = 9},
        client_datagram(9, 0x77, protocol::status_msg{.file_id = 1, .section = 0, .naks = all}));
    const auto p = rig.sender.progress();
    EXPECT_EQ(progress_of(p, 9).outcome, engine::client_outcome::excessive_naks);
    EXPECT_EQ(progress_of(p, 9).bytes_known, 0u);
    EXPECT_EQ(progress_of(p, 8).bytes_known, 4097u * 512);
}

// Client 9 registers and then says nothing; client 8 answers everything.
// Returns when client 9 was dropped (its FILEINFO rounds counted) or the
// session finished.
struct silent_run {
    time_ns dropped_at = 0;
    std::uint64_t fileinfo_rounds = 0;
};
silent_run run_with_a_silent_client(sender_rig& rig) {
    silent_run out;
    rig.sender.start(t0);
    rig.sender.on_datagram(t0 + ms, {.address = 9},
                           client_datagram(9, 0x77, protocol::register_msg{}));
    rig.sender.on_datagram(t0 + ms, {.address = 8},
                           client_datagram(8, 0x77, protocol::register_msg{}));
    time_ns now = t0;
    for (int i = 0; i < 200 && !rig.sender.finished(); ++i) {
        now = rig.sender.next_deadline();
        rig.sender.on_timer(now);
        if (out.dropped_at == 0 && rig.sender.stats().clients_lost == 1) {
            out.dropped_at = now;
            out.fileinfo_rounds = rig.sender.stats().fileinfo_rounds;
        }
        if (rig.sender.phase() == engine::sender_phase::fileinfo) {
            rig.sender.on_datagram(now, {.address = 8},
                                   client_datagram(8, 0x77, protocol::complete_msg{.file_id = 1}));
        }
        if (rig.sender.phase() == engine::sender_phase::completion) {
            rig.sender.on_datagram(now, {.address = 8},
                                   client_datagram(8, 0x77, protocol::complete_msg{.file_id = 0}));
        }
    }
    return out;
}

TEST(sender_engine, a_silent_client_is_lost_after_robust_rounds_and_lost_after_min_of_silence) {
    // At this GRTT (0.1 s) ROBUST (3) rounds take well under a second: the
    // client is dropped only once 5 s (lost_after_min) of silence passed too,
    // so a receiver stalled by a long fdatasync is not given up on.
    auto cfg = quick_sender();
    ASSERT_EQ(cfg.lost_after_min, 5 * engine::ns_per_second);
    sender_rig rig(cfg, {{.name = "f", .size = 10}});
    const silent_run r = run_with_a_silent_client(rig);
    ASSERT_TRUE(rig.sender.finished());
    EXPECT_EQ(rig.sender.clients()[rig.sender.clients().find(9)].outcome,
              engine::client_outcome::lost);
    ASSERT_NE(r.dropped_at, 0u);
    EXPECT_GE(r.dropped_at - (t0 + ms), 5 * engine::ns_per_second);
    EXPECT_LE(r.dropped_at - (t0 + ms), 6 * engine::ns_per_second) << "no longer than needed";
    EXPECT_GT(r.fileinfo_rounds, 3u);
}

TEST(sender_engine, clients_that_stop_answering_are_dropped_after_robust_rounds) {
    auto cfg = quick_sender();
    cfg.lost_after_min = 0; // rounds alone
    sender_rig rig(cfg, {{.name = "f", .size = 10}});
    (void)run_with_a_silent_client(rig);
    ASSERT_TRUE(rig.sender.finished());
    EXPECT_EQ(rig.sender.clients()[rig.sender.clients().find(9)].outcome,
              engine::client_outcome::lost);
    EXPECT_EQ(rig.sender.clients()[rig.sender.clients().find(8)].outcome,
              engine::client_outcome::completed);
    EXPECT_EQ(rig.sender.stats().clients_lost, 1u);
    // 3 FILEINFO rounds (ROBUST) listed it, then it was dropped.
    EXPECT_EQ(rig.sender.stats().fileinfo_rounds, 3u);
}

// --- Receiver engine ------------------------------------------------------------

class fake_receiver_dataplane : public engine::receiver_dataplane_port {
public:
    bool open_for_receive(const engine::receive_request& r) override {
        layout = r.layout;
        file_id = r.file_id;
        bits = std::make_unique<dataplane::block_bitmap>(r.layout.blocks());
        return true;
    }
    bool complete(std::uint16_t id) const override {
        return bits && id == file_id && bits->view().complete();
    }
    std::uint32_t missing_in_section(std::uint16_t, std::uint32_t section,
                                     std::span<std::uint8_t> out) const override {
        if (rebuild_pending) {
            std::fill(out.begin(), out.end(), std::uint8_t{0});
            return 0;
        }
        return bits->view().missing_in_section(layout, section, out);
    }
    // A FEC group waiting for its rebuild: blocks missing, none to NAK.
    bool rebuild_pending = false;
    int write_error(std::uint16_t id) const override {
        return bits && id == file_id ? write_errno : 0;
    }
    std::uint64_t overload_drops() const override { return drops; }
    std::uint64_t drops = 0; // the node's overload drops so far
    bool fec_capable() const override { return fec; }
    std::uint64_t parity_in() const override { return parity; }
    bool fec = false;         // decodes parity (a Skycast dataplane)
    std::uint64_t parity = 0; // PARITY datagrams arrived so far
    bool close_file(std::uint16_t) override {
        ++closes_waited;
        flushing = false;
        return flush_ok;
    }
    // The dataplane's flush: still running while `flushing`.
    void begin_close(std::uint16_t) override {
        ++closes_begun;
        flushing = slow_flush;
    }
    std::optional<bool> close_result(std::uint16_t) override {
        if (flushing) {
            return std::nullopt;
        }
        return flush_ok;
    }
    bool slow_flush = false; // begin_close leaves `flushing` set until the test clears it
    bool flushing = false;
    bool flush_ok = true;
    int closes_begun = 0;
    int closes_waited = 0;
    bool join_group(std::uint32_t group) override {
        groups.insert(group);
        return true;
    }
    void leave_group(std::uint32_t group) override {
        if (auto it = groups.find(group); it != groups.end()) {
            groups.erase(it);
        }
    }
    protocol::section_layout layout;
    std::uint16_t file_id = 0;
    std::unique_ptr<dataplane::block_bitmap> bits;
    int write_errno = 0;
    std::multiset<std::uint32_t> groups;
};

engine::receiver_config rig_config(const std::string& dest) {
    return {.client_id = 42, .destination = dest};
}

struct receiver_rig {
    explicit receiver_rig(const std::string& dest) : receiver_rig(rig_config(dest)) {}
    explicit receiver_rig(engine::receiver_config config) : receiver(std::move(config), net, dp) {}
    recording_network net;
    fake_receiver_dataplane dp;
    engine::receiver_engine receiver;
    std::uint16_t seq = 100;
    std::vector<std::uint8_t> server(const protocol::message& m, double grtt = 0.1) {
        std::vector<std::uint8_t> out(protocol::max_datagram_size);
        const auto n = protocol::encode(
            {.seq = seq++, .src_id = 7, .group_id = 0x77, .grtt = protocol::quantize_grtt(grtt)}, m,
            out);
        out.resize(*n);
        return out;
    }
    // The session up to the data: an ANNOUNCE with 512-byte blocks and the
    // REG_CONF that accepts client 42.
    void registered(time_ns t) {
        receiver.on_datagram(t, {.address = 7}, server(protocol::announce_msg{.block_size = 512}));
        receiver.on_datagram(t, {.address = 7}, server(protocol::reg_conf_msg{.client_ids = {42}}));
    }
    // The same with a FEC dataplane and an ANNOUNCE offering FEC (k = 16).
    void registered_fec(time_ns t) {
        dp.fec = true;
        receiver.on_datagram(
            t, {.address = 7},
            server(protocol::announce_msg{
                .block_size = 512,
                .fec_info = protocol::fec_info_ext{.group_blocks = 16, .parity_port = 1045}}));
        receiver.on_datagram(t, {.address = 7}, server(protocol::reg_conf_msg{.client_ids = {42}}));
    }
    // The server's FILEINFO of a regular file for client 42, and its DONE.
    void fileinfo(time_ns t, std::uint16_t file_id, std::uint64_t size, const std::string& name) {
        receiver.on_datagram(
            t, {.address = 7},
            server(protocol::fileinfo_msg{
                .file_id = file_id, .size = size, .name = name, .client_ids = {42}}));
    }
    // File 1 ("f", one 512-byte block) after registering at `t`, its block
    // in, and the server's DONE for it 1 ms later.
    void one_block_file_then_done(time_ns t) {
        registered(t);
        fileinfo(t, 1, 512, "f");
        dp.bits->view().set(0);
        done(t + 1'000'000, 1);
    }
    void done(time_ns t, std::uint16_t file_id) {
        receiver.on_datagram(
            t, {.address = 7},
            server(protocol::done_msg{.file_id = file_id, .section = 0, .client_ids = {42}}));
    }
};

TEST(receiver_engine, tells_the_sender_of_its_own_drops_with_a_status_that_naks_nothing) {
    scratch_dir dir;
    receiver_rig rig(dir.path());
    rig.dp.drops = 7; // before the file: not this file's
    // A Skycast sender's ANNOUNCE says it takes overload reports, and came
    // straight from it (its own address, 7, in EXT_SKYCAST_NAK_LIST).
    rig.receiver.on_datagram(t0, {.address = 7},
                             rig.server(protocol::announce_msg{.block_size = 512,
                                                               .takes_overload_reports = true,
                                                               .nak_lists_from = 7}));
    rig.receiver.on_datagram(t0, {.address = 7},
                             rig.server(protocol::reg_conf_msg{.client_ids = {42}}));
    rig.fileinfo(t0, 1, 512 * 100, "f");
    const auto statuses = [&] { return rig.net.of<protocol::status_msg>(); };
    rig.receiver.on_data(t0 + 25 * ms, 1, 0, rig.seq);
    EXPECT_TRUE(statuses().empty());
    // The node dropped frames: one STATUS for the section being received
    // that NAKs nothing.
    rig.dp.drops = 9;
    rig.receiver.on_data(t0 + 30 * ms, 1, 0, rig.seq); // 5 ms after the last look: later
    EXPECT_TRUE(statuses().empty());
    rig.receiver.on_data(t0 + 45 * ms, 1, 0, rig.seq);
    ASSERT_EQ(statuses().size(), 1u);
    const auto& st = std::get<protocol::status_msg>(statuses()[0]->d.body);
    EXPECT_EQ(st.file_id, 1);
    EXPECT_EQ(st.section, 0);
    // Straight to a sender that takes NAK lists: the empty list (§19).
    EXPECT_TRUE(st.nak_list);
    EXPECT_TRUE(st.naks.empty());
    EXPECT_EQ(statuses()[0]->to.address, 7u);
    EXPECT_EQ(rig.receiver.stats().overload_reports, 1u);
    // No new drops: nothing more; new ones: one more.
    rig.receiver.on_data(t0 + 70 * ms, 1, 0, rig.seq);
    EXPECT_EQ(statuses().size(), 1u);
    rig.dp.drops = 10;
    rig.receiver.on_data(t0 + 95 * ms, 1, 0, rig.seq);
    EXPECT_EQ(statuses().size(), 2u);
    EXPECT_EQ(rig.receiver.stats().overload_reports, 2u);
}

TEST(receiver_engine, sends_no_overload_report_to_a_sender_that_did_not_ask_or_through_a_proxy) {
    // Stock uftp would take a STATUS without NAKs after its DONE as this
    // receiver's answer, stop listing it, and lose it short of the file; a
    // client proxy between (the ANNOUNCE comes from its address, 7, not the
    // sender's, 9) may keep the same books.
    const protocol::announce_msg no_offer{.block_size = 512};
    const protocol::announce_msg via_proxy{
        .block_size = 512, .takes_overload_reports = true, .nak_lists_from = 9};
    for (const auto& announce : {no_offer, via_proxy}) {
        scratch_dir dir;
        receiver_rig rig(dir.path());
        rig.receiver.on_datagram(t0, {.address = 7}, rig.server(announce));
        rig.receiver.on_datagram(t0, {.address = 7},
                                 rig.server(protocol::reg_conf_msg{.client_ids = {42}}));
        rig.fileinfo(t0, 1, 512 * 100, "f");
        rig.dp.drops = 50;
        rig.receiver.on_data(t0 + 25 * ms, 1, 0, rig.seq);
        rig.dp.drops = 90;
        rig.receiver.on_data(t0 + 50 * ms, 1, 0, rig.seq);
        EXPECT_TRUE(rig.net.of<protocol::status_msg>().empty());
        EXPECT_EQ(rig.receiver.stats().overload_reports, 0u);
    }
}

TEST(receiver_engine, control_copies_sends_every_answer_that_many_times_identical) {
    scratch_dir dir;
    auto cfg = rig_config(dir.path());
    cfg.control_copies = 3;
    receiver_rig rig(std::move(cfg));
    rig.receiver.on_datagram(t0, {.address = 7},
                             rig.server(protocol::announce_msg{.tstamp = stamp_of(t0)}));
    const auto regs = rig.net.of<protocol::register_msg>();
    ASSERT_EQ(regs.size(), 3u);
    EXPECT_EQ(regs[0]->raw, regs[1]->raw);
    EXPECT_EQ(regs[0]->raw, regs[2]->raw);
    // The server's copies of its REG_CONF (its own control_copies) are
    // dropped; the session goes on from the first.
    const auto conf = rig.server(protocol::reg_conf_msg{.client_ids = {42}});
    rig.receiver.on_datagram(t0 + ms, {.address = 7}, conf);
    rig.receiver.on_datagram(t0 + ms, {.address = 7}, conf);
    EXPECT_EQ(rig.receiver.stats().duplicates_in, 1u);
    // A FILEINFO and its copy: one FILEINFO_ACK, sent three times.
    const auto info = rig.server(protocol::fileinfo_msg{
        .file_id = 1, .size = 10, .ftstamp = 99, .name = "f", .client_ids = {42}});
    rig.receiver.on_datagram(t0 + 2 * ms, {.address = 7}, info);
    rig.receiver.on_datagram(t0 + 2 * ms, {.address = 7}, info);
    EXPECT_EQ(rig.net.of<protocol::fileinfo_ack_msg>().size(), 3u);
    EXPECT_EQ(rig.receiver.stats().duplicates_in, 2u);
}

TEST(receiver_engine, answer_copies_are_spaced_at_most_a_quarter_of_the_servers_grtt) {
    // The ANNOUNCE's GRTT (quantized 0.5 s and 0.02 s) caps the spacing.
    for (const double grtt : {0.5, 0.02}) {
        scratch_dir dir;
        auto cfg = rig_config(dir.path());
        cfg.control_copies = 2;
        cfg.copy_spacing = 100 * ms;
        receiver_rig rig(std::move(cfg));
        const auto announce = rig.server(protocol::announce_msg{.tstamp = stamp_of(t0)}, grtt);
        rig.receiver.on_datagram(t0, {.address = 7}, announce);
        const auto regs = rig.net.of<protocol::register_msg>();
        ASSERT_EQ(regs.size(), 2u);
        EXPECT_EQ(regs[0]->delay, 0u);
        EXPECT_EQ(
            regs[1]->delay,
            std::min(100 * ms, engine::seconds_to_ns(protocol::unquantize_grtt(announce[13]) / 4)))
            << grtt;
        EXPECT_EQ(regs[0]->raw, regs[1]->raw);
    }
}

TEST(receiver_engine, registers_with_echoed_timestamp_resends_and_gives_up) {
    scratch_dir dir;
    receiver_rig rig(dir.path());
    rig.receiver.on_datagram(
        t0, {.address = 7},
        rig.server(protocol::announce_msg{.robust = 10, .tstamp = stamp_of(t0 - 5 * ms)}));
    auto regs = rig.net.of<protocol::register_msg>();
    ASSERT_EQ(regs.size(), 1u);
    EXPECT_EQ(regs[0]->to.address, 7u); // to the ANNOUNCE's source
    // Echo = the server stamp + how long the client held it (0 here).
    EXPECT_EQ(std::get<protocol::register_msg>(regs[0]->d.body).tstamp, stamp_of(t0 - 5 * ms));
    EXPECT_EQ(regs[0]->d.header.grtt, 0); // clients send 0
    const double grtt = protocol::unquantize_grtt(protocol::quantize_grtt(0.1));
    // Resent every 4·GRTT...
    EXPECT_EQ(rig.receiver.next_deadline(), t0 + engine::seconds_to_ns(4 * grtt));
    rig.receiver.on_timer(rig.receiver.next_deadline());
    EXPECT_EQ(rig.net.of<protocol::register_msg>().size(), 2u);
    // ...and given up after 4·ROBUST·GRTT with an ABORT.
    while (rig.receiver.state() == engine::receiver_state::registering) {
        rig.receiver.on_timer(rig.receiver.next_deadline());
    }
    EXPECT_EQ(rig.receiver.outcome(), engine::receiver_outcome::registration_unconfirmed);
    const auto aborts = rig.net.of<protocol::abort_msg>();
    ASSERT_EQ(aborts.size(), 1u);
    EXPECT_EQ(std::get<protocol::abort_msg>(aborts[0]->d.body).message, "Registration unconfirmed");
    // 40 GRTT / 4 GRTT: the first plus 9 or 10 resends (the last one races
    // the give-up deadline by a rounding error of the ns conversion).
    EXPECT_GE(rig.net.of<protocol::register_msg>().size(), 10u);
    EXPECT_LE(rig.net.of<protocol::register_msg>().size(), 11u);
}

TEST(receiver_engine, answers_a_response_proxy_and_refuses_encryption_through_one_to_the_server) {
    scratch_dir dir;
    auto config = rig_config(dir.path());
    const engine::endpoint proxy{.address = 0x0A4D000B, .port = 1044};
    config.response_proxy = proxy;
    receiver_rig rig(config);
    rig.registered(t0);
    rig.receiver.on_datagram(t0 + ms, {.address = 7},
                             rig.server(protocol::fileinfo_msg{
                                 .file_id = 1, .size = 512, .name = "f", .client_ids = {42}}));
    ASSERT_FALSE(rig.net.sent.empty());
    for (const auto& r : rig.net.sent) {
        EXPECT_EQ(r.to, proxy) << protocol::name(r.d.type());
    }
    EXPECT_EQ(rig.net.of<protocol::register_msg>().size(), 1u);
    EXPECT_EQ(rig.net.of<protocol::fileinfo_ack_msg>().size(), 1u);

    // Encrypted, the keys would come through the proxy: refused, and said
    // to the server itself (a stock proxy passes no ABORT on).
    scratch_dir dir2;
    auto config2 = rig_config(dir2.path());
    config2.response_proxy = proxy;
    receiver_rig enc(config2);
    protocol::enc_info_ext e;
    e.keyextype = protocol::keyexchange_type::ecdh_ecdsa;
    e.keytype = protocol::key_type::aes128_gcm;
    e.hashtype = protocol::hash_type::sha256;
    enc.receiver.on_datagram(t0, {.address = 7}, enc.server(protocol::announce_msg{.enc_info = e}));
    const auto aborts = enc.net.of<protocol::abort_msg>();
    ASSERT_EQ(aborts.size(), 1u);
    EXPECT_EQ(aborts[0]->to.address, 7u);
    EXPECT_EQ(std::get<protocol::abort_msg>(aborts[0]->d.body).message,
              "Encrypted sessions through a response proxy not supported");
    EXPECT_EQ(enc.receiver.outcome(), engine::receiver_outcome::refused);
}

protocol::ip_address private_group(std::uint8_t last) {
    protocol::ip_address a;
    a.bytes[0] = 230;
    a.bytes[1] = 5;
    a.bytes[2] = 5;
    a.bytes[3] = last;
    return a;
}

TEST(receiver_engine, joins_the_private_group_only_for_an_accepted_announce_and_leaves_at_end) {
    scratch_dir dir;
    receiver_rig rig(dir.path());
    // An ANNOUNCE for other clients: nothing joined.
    rig.receiver.on_datagram(t0, {.address = 7},
                             rig.server(protocol::announce_msg{.private_addr = private_group(9),
                                                               .client_ids = {41, 43}}));
    EXPECT_TRUE(rig.dp.groups.empty());
    EXPECT_EQ(rig.receiver.state(), engine::receiver_state::listening);
    rig.receiver.on_datagram(t0, {.address = 7},
                             rig.server(protocol::announce_msg{.private_addr = private_group(9),
                                                               .client_ids = {41, 42}}));
    ASSERT_EQ(rig.dp.groups.count(0xE6050509u), 1u);
    // A repeated ANNOUNCE of the session joins nothing more.
    rig.receiver.on_datagram(t0, {.address = 7},
                             rig.server(protocol::announce_msg{.private_addr = private_group(9),
                                                               .client_ids = {41, 42}}));
    EXPECT_EQ(rig.dp.groups.size(), 1u);
    rig.receiver.on_datagram(t0 + ms, {.address = 7},
                             rig.server(protocol::abort_msg{.host = 0, .message = "bye"}));
    EXPECT_EQ(rig.receiver.outcome(), engine::receiver_outcome::aborted_by_server);
    EXPECT_TRUE(rig.dp.groups.empty());
}

TEST(receiver_engine, timers_from_the_wire_are_capped_by_configuration) {
    scratch_dir dir;
    auto config = rig_config(dir.path());
    config.max_grtt = 2.0;
    config.max_robust = 30;
    config.register_timeout = 45 * engine::ns_per_second;
    receiver_rig rig(config);
    // The largest robustness and GRTT the wire can carry: days of timeouts.
    rig.receiver.on_datagram(
        t0, {.address = 7},
        rig.server(protocol::announce_msg{.robust = 255, .private_addr = private_group(1)},
                   1000.0));
    ASSERT_EQ(rig.receiver.state(), engine::receiver_state::registering);
    EXPECT_EQ(rig.receiver.stats().robust_clamped, 1u);
    EXPECT_GE(rig.receiver.stats().grtt_clamped, 1u);
    EXPECT_LE(rig.receiver.grtt(), 2.0);
    // REGISTER resent every 4 x the capped GRTT, given up at register_timeout.
    EXPECT_EQ(rig.receiver.next_deadline(), t0 + engine::seconds_to_ns(8.0));
    while (rig.receiver.state() == engine::receiver_state::registering) {
        rig.receiver.on_timer(rig.receiver.next_deadline());
    }
    EXPECT_EQ(rig.receiver.outcome(), engine::receiver_outcome::registration_unconfirmed);
    EXPECT_TRUE(rig.dp.groups.empty());
    const auto aborts = rig.net.of<protocol::abort_msg>();
    ASSERT_EQ(aborts.size(), 1u);
    // 45 s / 8 s: the first REGISTER plus 5 resends, then the give-up at 45 s.
    EXPECT_EQ(rig.net.of<protocol::register_msg>().size(), 6u);
}

TEST(receiver_engine, a_failed_write_mid_file_aborts_the_session_naming_the_cause) {
    scratch_dir dir;
    receiver_rig rig(dir.path());
    rig.registered(t0);
    rig.receiver.on_datagram(
        t0, {.address = 7},
        rig.server(protocol::fileinfo_msg{
            .file_id = 3, .size = 512ull * 100, .name = "f", .client_ids = {42}}));
    ASSERT_EQ(rig.receiver.state(), engine::receiver_state::receiving);
    rig.dp.bits->view().set(0);
    rig.receiver.on_data(t0 + ms, 3, 0, rig.seq);
    EXPECT_EQ(rig.receiver.state(), engine::receiver_state::receiving);
    rig.dp.write_errno = ENOSPC;
    rig.receiver.on_data(t0 + 2 * ms, 3, 0, rig.seq);
    EXPECT_EQ(rig.receiver.outcome(), engine::receiver_outcome::disk_full);
    EXPECT_EQ(rig.receiver.stats().write_failures, 1u);
    const auto aborts = rig.net.of<protocol::abort_msg>();
    ASSERT_EQ(aborts.size(), 1u);
    const std::string said = std::get<protocol::abort_msg>(aborts[0]->d.body).message;
    EXPECT_NE(said.find("Disk full"), std::string::npos) << said;
    EXPECT_NE(said.find(std::strerror(ENOSPC)), std::string::npos) << said;
    EXPECT_EQ(rig.receiver.reason(), said);
    ASSERT_EQ(rig.receiver.files().size(), 1u);
    EXPECT_FALSE(rig.receiver.files()[0].complete);
    EXPECT_EQ(rig.receiver.files()[0].reason, said);
    // Nothing half-written is left under any name.
    EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(receiver_engine, a_255_byte_name_is_received_through_a_short_temp_name_in_temp_dir) {
    scratch_dir dir;
    fs::create_directories(dir.path() + "/dest");
    fs::create_directories(dir.path() + "/tmp");
    auto config = rig_config(dir.path() + "/dest");
    config.temp_dir = dir.path() + "/tmp";
    receiver_rig rig(config);
    const std::string name(255, 'n');
    rig.registered(t0);
    rig.receiver.on_datagram(t0, {.address = 7},
                             rig.server(protocol::fileinfo_msg{
                                 .file_id = 1, .size = 512, .name = name, .client_ids = {42}}));
    ASSERT_EQ(rig.net.of<protocol::fileinfo_ack_msg>().size(), 1u)
        << rig.receiver.files()[0].reason;
    // The temp file is in temp_dir, under a short name; nothing in the destination yet.
    EXPECT_TRUE(fs::is_empty(dir.path() + "/dest"));
    ASSERT_EQ(std::distance(fs::directory_iterator(dir.path() + "/tmp"), fs::directory_iterator()),
              1);
    rig.dp.bits->view().set(0);
    rig.receiver.on_datagram(
        t0 + ms, {.address = 7},
        rig.server(protocol::done_msg{.file_id = 1, .section = 0, .client_ids = {42}}));
    ASSERT_EQ(rig.net.of<protocol::complete_msg>().size(), 1u);
    EXPECT_TRUE(fs::exists(dir.path() + "/dest/" + name));
    EXPECT_TRUE(fs::is_empty(dir.path() + "/tmp"));
}

TEST(receiver_engine, a_complete_file_is_answered_once_its_flush_ends_without_blocking) {
    scratch_dir dir;
    receiver_rig rig(dir.path());
    rig.dp.slow_flush = true;
    rig.one_block_file_then_done(t0);
    // The flush began and runs on: no COMPLETE yet, no STATUS (nothing is
    // missing), the file not in place; the engine looks again shortly.
    EXPECT_EQ(rig.dp.closes_begun, 1);
    EXPECT_EQ(rig.dp.closes_waited, 0);
    EXPECT_TRUE(rig.net.of<protocol::complete_msg>().empty());
    EXPECT_TRUE(rig.net.of<protocol::status_msg>().empty());
    EXPECT_FALSE(fs::exists(dir.path() + "/f"));
    ASSERT_LT(rig.receiver.next_deadline(), t0 + 100 * ms);
    // Another DONE while it flushes: still nothing to say, and no second close.
    rig.done(t0 + 2 * ms, 1);
    rig.receiver.on_timer(rig.receiver.next_deadline());
    EXPECT_TRUE(rig.net.of<protocol::complete_msg>().empty());
    EXPECT_TRUE(rig.net.of<protocol::status_msg>().empty());
    EXPECT_EQ(rig.dp.closes_begun, 1);
    // Flushed: the next look moves it into place and answers.
    rig.dp.flushing = false;
    rig.receiver.on_timer(rig.receiver.next_deadline());
    ASSERT_EQ(rig.net.of<protocol::complete_msg>().size(), 1u);
    EXPECT_TRUE(fs::exists(dir.path() + "/f"));
    EXPECT_TRUE(rig.receiver.files()[0].complete);
    EXPECT_EQ(rig.dp.closes_waited, 0);
}

TEST(receiver_engine, a_file_complete_before_any_done_is_answered_at_once) {
    // Two blocks. The first arrives (not complete); the second a moment
    // later, within the check interval: the COMPLETE goes when the engine
    // may look again, without waiting for a DONE, and only once.
    scratch_dir dir;
    receiver_rig rig(dir.path());
    rig.registered(t0);
    rig.fileinfo(t0, 1, 1024, "f");
    rig.dp.bits->view().set(0);
    rig.receiver.on_data(t0 + ms, 1, 0, rig.seq++);
    EXPECT_TRUE(rig.net.of<protocol::complete_msg>().empty());
    rig.dp.bits->view().set(1);
    rig.receiver.on_data(t0 + 2 * ms, 1, 0, rig.seq++);
    EXPECT_TRUE(rig.net.of<protocol::complete_msg>().empty()) << "looked again too soon";
    const time_ns look = rig.receiver.next_deadline();
    EXPECT_LE(look, t0 + 11 * ms);
    rig.receiver.on_timer(look);
    ASSERT_EQ(rig.net.of<protocol::complete_msg>().size(), 1u);
    EXPECT_TRUE(fs::exists(dir.path() + "/f"));
    EXPECT_TRUE(rig.net.of<protocol::status_msg>().empty());
    // The server's DONE (it had not seen the COMPLETE yet) gets it again.
    rig.done(t0 + 20 * ms, 1);
    EXPECT_EQ(rig.net.of<protocol::complete_msg>().size(), 2u);
}

TEST(receiver_engine, a_failed_flush_is_never_a_complete_file) {
    scratch_dir dir;
    receiver_rig rig(dir.path());
    rig.dp.flush_ok = false;
    rig.one_block_file_then_done(t0);
    const auto completes = rig.net.of<protocol::complete_msg>();
    ASSERT_EQ(completes.size(), 1u);
    EXPECT_EQ(std::get<protocol::complete_msg>(completes[0]->d.body).status,
              protocol::complete_status::rejected);
    EXPECT_FALSE(fs::exists(dir.path() + "/f"));
    EXPECT_FALSE(rig.receiver.files()[0].complete);
    EXPECT_EQ(rig.receiver.files()[0].reason, "write failed");
}

TEST(receiver_engine, the_next_fileinfo_during_a_flush_waits_for_it_and_keeps_the_file) {
    // The server moved on without our COMPLETE (it gave up waiting): the
    // file is whole, only still flushing. It is kept, and the next file opens.
    scratch_dir dir;
    receiver_rig rig(dir.path());
    rig.dp.slow_flush = true;
    rig.one_block_file_then_done(t0);
    ASSERT_EQ(rig.dp.closes_begun, 1);
    rig.fileinfo(t0 + 2 * ms, 2, 512, "g");
    EXPECT_EQ(rig.dp.closes_waited, 1);
    EXPECT_TRUE(fs::exists(dir.path() + "/f"));
    EXPECT_TRUE(rig.receiver.files()[0].complete);
    EXPECT_EQ(rig.net.of<protocol::fileinfo_ack_msg>().size(), 2u); // file 2 is taken
    // A DONE for file 1 now gets its COMPLETE.
    rig.done(t0 + 3 * ms, 1);
    ASSERT_EQ(rig.net.of<protocol::complete_msg>().size(), 1u);
    EXPECT_EQ(
        std::get<protocol::complete_msg>(rig.net.of<protocol::complete_msg>()[0]->d.body).file_id,
        1u);
}

TEST(receiver_engine, sends_nak_lists_only_straight_to_a_sender_that_offered_them) {
    // docs/protocol.md §19. The ANNOUNCE comes from address 7: a sender
    // offering lists from 7 gets them; one offering from 9 reached us
    // through a proxy (which reads bitmaps), and one not offering is stock.
    struct case_t {
        std::optional<std::uint32_t> offered_from;
        bool lists;
    };
    for (const auto& c : {case_t{7, true}, case_t{9, false}, case_t{std::nullopt, false}}) {
        scratch_dir dir;
        receiver_rig rig(dir.path());
        rig.receiver.on_datagram(t0, {.address = 7},
                                 rig.server(protocol::announce_msg{
                                     .block_size = 512, .nak_lists_from = c.offered_from}));
        rig.receiver.on_datagram(t0, {.address = 7},
                                 rig.server(protocol::reg_conf_msg{.client_ids = {42}}));
        rig.fileinfo(t0, 1, 512ull * 4096 * 3, "f"); // 3 sections of 4096 blocks
        for (std::uint32_t n = 0; n < 3 * 4096; ++n) {
            if (n != 5 && n != 6 && n != 2 * 4096 + 4095) {
                rig.dp.bits->view().set(n);
            }
        }
        rig.receiver.on_datagram(
            t0 + ms, {.address = 7},
            rig.server(protocol::done_msg{.file_id = 1, .section = 2, .client_ids = {42}}));
        rig.receiver.on_timer(rig.receiver.next_deadline());
        const auto st = rig.net.of<protocol::status_msg>();
        ASSERT_EQ(st.size(), 2u);
        std::uint64_t body_bytes = 0;
        for (const auto* sent : st) {
            const auto& m = std::get<protocol::status_msg>(sent->d.body);
            EXPECT_EQ(m.nak_list, c.lists);
            body_bytes += m.naks.size();
            std::vector<std::uint8_t> bitmap(m.naks.begin(), m.naks.end());
            if (m.nak_list) {
                EXPECT_LT(m.naks.size(), 8u); // one run each: a few bytes, not 513
                ASSERT_TRUE(protocol::expand_nak_list(m.naks, 4096, bitmap));
            }
            const protocol::nak_bitmap_view view(bitmap, 4096);
            if (m.section == 0) {
                EXPECT_EQ(view.count_missing(), 2u);
                EXPECT_TRUE(view.missing(5) && view.missing(6));
            } else {
                EXPECT_EQ(m.section, 2);
                EXPECT_EQ(view.count_missing(), 1u);
                EXPECT_TRUE(view.missing(4095));
            }
        }
        EXPECT_EQ(rig.receiver.stats().nak_lists_sent, c.lists ? 2u : 0u);
        EXPECT_EQ(rig.receiver.stats().status_bytes_sent, body_bytes);
    }
}

TEST(receiver_engine, completes_the_session_with_the_last_file_only_straight_from_its_sender) {
    // docs/protocol.md §22. The ANNOUNCE comes from address 7 and names
    // file 2 the last. Offered from 7: file 1's COMPLETE comes alone, file
    // 2's with COMPLETE(0), and the DONE_CONF ends the session; a DONE(2)
    // after it (our COMPLETE lost) is answered again. Offered from 9 (a
    // proxy re-sent the ANNOUNCE) or not at all: COMPLETE(0) waits for the
    // DONE(0), as stock's does.
    struct case_t {
        std::optional<std::uint32_t> offered_from;
        bool early;
    };
    for (const auto& c : {case_t{7, true}, case_t{9, false}, case_t{std::nullopt, false}}) {
        scratch_dir dir;
        receiver_rig rig(dir.path());
        rig.receiver.on_datagram(t0, {.address = 7},
                                 rig.server(protocol::announce_msg{.block_size = 512,
                                                                   .nak_lists_from = c.offered_from,
                                                                   .last_file_id = 2}));
        rig.receiver.on_datagram(t0, {.address = 7},
                                 rig.server(protocol::reg_conf_msg{.client_ids = {42}}));
        const auto completes = [&] {
            std::vector<std::uint16_t> ids;
            for (const auto* sent : rig.net.of<protocol::complete_msg>()) {
                ids.push_back(std::get<protocol::complete_msg>(sent->d.body).file_id);
            }
            return ids;
        };
        for (std::uint16_t file = 1; file <= 2; ++file) {
            rig.fileinfo(t0, file, 512, "f" + std::to_string(file));
            rig.dp.bits->view().set(0);
            rig.done(t0 + file * ms, file);
        }
        if (c.early) {
            // COMPLETE(0) just ahead of file 2's: the sender holds it when
            // that one ends the file.
            EXPECT_EQ(completes(), (std::vector<std::uint16_t>{1, 0, 2}));
            EXPECT_EQ(rig.receiver.state(), engine::receiver_state::completing);
            EXPECT_EQ(rig.receiver.stats().early_completes, 1u);
            rig.done(t0 + 3 * ms, 2);
            EXPECT_EQ(completes(), (std::vector<std::uint16_t>{1, 0, 2, 2}));
            rig.receiver.on_datagram(t0 + 4 * ms, {.address = 7},
                                     rig.server(protocol::done_conf_msg{.client_ids = {42}}));
            EXPECT_EQ(rig.receiver.state(), engine::receiver_state::finished);
            EXPECT_EQ(rig.receiver.outcome(), engine::receiver_outcome::completed);
        } else {
            EXPECT_EQ(completes(), (std::vector<std::uint16_t>{1, 2}));
            EXPECT_EQ(rig.receiver.state(), engine::receiver_state::between_files);
            EXPECT_EQ(rig.receiver.stats().early_completes, 0u);
        }
        EXPECT_TRUE(fs::exists(dir.path() + "/f2"));
    }
}

TEST(receiver_engine, falls_back_from_parity_after_two_unanswered_asks_counted_per_file) {
    // docs/protocol.md §17.6: a DONE-answered ask for parity that sees no
    // PARITY arrive before the next DONE may be a lost answer; two in a row
    // mean the path carries none. Each file counts afresh.
    scratch_dir dir;
    receiver_rig rig(dir.path());
    rig.registered_fec(t0);
    time_ns now = t0;
    // Answers a DONE for `file`; true when the STATUS asked for parity.
    const auto ask = [&](std::uint16_t file) {
        const std::size_t before = rig.net.of<protocol::status_msg>().size();
        now += ms;
        rig.done(now, file);
        now = rig.receiver.next_deadline();
        rig.receiver.on_timer(now);
        const auto st = rig.net.of<protocol::status_msg>();
        EXPECT_EQ(st.size(), before + 1);
        return !st.empty() && std::get<protocol::status_msg>(st.back()->d.body).fec_deficit;
    };
    const auto all_but = [&](std::uint32_t blocks, std::uint32_t missing) {
        for (std::uint32_t n = 0; n < blocks; ++n) {
            if (n != missing) {
                rig.dp.bits->view().set(n);
            }
        }
    };
    rig.fileinfo(now, 1, 512 * 100, "f1");
    all_but(100, 5);
    EXPECT_TRUE(ask(1));
    EXPECT_TRUE(ask(1)); // nothing since: one unanswered (as a lost answer)
    rig.dp.parity += 3;
    EXPECT_TRUE(ask(1));        // parity came: the count starts over
    EXPECT_TRUE(ask(1));        // one unanswered again
    rig.dp.bits->view().set(5); // data finished file 1
    now += ms;
    rig.done(now, 1);
    ASSERT_EQ(rig.net.of<protocol::complete_msg>().size(), 1u);
    // File 2 does not inherit file 1's unanswered ask.
    rig.fileinfo(now, 2, 512 * 100, "f2");
    all_but(100, 3);
    EXPECT_TRUE(ask(2));
    EXPECT_TRUE(ask(2));
    EXPECT_EQ(rig.receiver.stats().fec_fallbacks, 0u);
    EXPECT_FALSE(ask(2)); // two unanswered: data NAKs from now on
    EXPECT_EQ(rig.receiver.stats().fec_fallbacks, 1u);
    rig.dp.parity += 3;
    EXPECT_FALSE(ask(2)); // for the rest of the session
    EXPECT_EQ(rig.receiver.stats().fec_fallbacks, 1u);
}

TEST(receiver_engine, a_done_it_cannot_answer_is_counted) {
    // Incomplete, yet nothing to NAK (a FEC group whose parity and data
    // are enough, waiting for its rebuild): no STATUS, and the silence is
    // counted so a receiver stuck that way shows in its stats.
    scratch_dir dir;
    receiver_rig rig(dir.path());
    rig.registered_fec(t0);
    rig.fileinfo(t0, 1, 512 * 100, "f1");
    for (std::uint32_t n = 0; n < 99; ++n) {
        rig.dp.bits->view().set(n);
    }
    rig.dp.rebuild_pending = true;
    time_ns now = t0 + ms;
    rig.done(now, 1);
    now = rig.receiver.next_deadline();
    rig.receiver.on_timer(now);
    EXPECT_TRUE(rig.net.of<protocol::status_msg>().empty());
    EXPECT_EQ(rig.receiver.stats().done_silent, 1u);
    // The rebuild failed (decode_failed gives the parity back): the next
    // DONE gets its NAK, so the section was not taken for done.
    rig.dp.rebuild_pending = false;
    now += ms;
    rig.done(now, 1);
    now = rig.receiver.next_deadline();
    rig.receiver.on_timer(now);
    EXPECT_EQ(rig.net.of<protocol::status_msg>().size(), 1u);
    EXPECT_EQ(rig.receiver.stats().done_silent, 1u);
}

TEST(receiver_engine, naks_one_status_per_section_with_missing_blocks_then_completes) {
    scratch_dir dir;
    receiver_rig rig(dir.path());
    rig.registered(t0);
    const std::uint64_t size = 512ull * 4096 * 3; // 3 sections
    rig.receiver.on_datagram(
        t0, {.address = 7},
        rig.server(protocol::fileinfo_msg{
            .file_id = 1, .size = size, .ftstamp = 99, .name = "sub/f", .client_ids = {42}}));
    ASSERT_EQ(rig.net.of<protocol::fileinfo_ack_msg>().size(), 1u);
    ASSERT_EQ(rig.receiver.state(), engine::receiver_state::receiving);
    // Everything arrives except block 5 (section 0) and block 2*4096+1 (section 2).
    for (std::uint32_t n = 0; n < 3 * 4096; ++n) {
        if (n != 5 && n != 2 * 4096 + 1) {
            rig.dp.bits->view().set(n);
        }
    }
    rig.receiver.on_datagram(
        t0 + ms, {.address = 7},
        rig.server(protocol::done_msg{.file_id = 1, .section = 2, .client_ids = {42}}));
    EXPECT_TRUE(rig.net.of<protocol::status_msg>().empty()); // the NAK timer waits 1·GRTT
    rig.receiver.on_timer(rig.receiver.next_deadline());
    const auto st = rig.net.of<protocol::status_msg>();
    ASSERT_EQ(st.size(), 2u);
    const auto& s0 = std::get<protocol::status_msg>(st[0]->d.body);
    const auto& s2 = std::get<protocol::status_msg>(st[1]->d.body);
    EXPECT_EQ(s0.section, 0);
    EXPECT_EQ(s2.section, 2);
    EXPECT_EQ(s0.naks.size(), protocol::nak_bitmap_bytes(4096));
    EXPECT_EQ(protocol::nak_bitmap_view(s0.naks, 4096).count_missing(), 1u);
    EXPECT_TRUE(protocol::nak_bitmap_view(s2.naks, 4096).missing(1));
    // Not complete: nothing under the final name yet.
    EXPECT_FALSE(fs::exists(dir.path() + "/sub/f"));
    rig.dp.bits->view().set(5);
    rig.dp.bits->view().set(2 * 4096 + 1);
    rig.receiver.on_datagram(
        t0 + 2 * ms, {.address = 7},
        rig.server(protocol::done_msg{.file_id = 1, .section = 2, .client_ids = {42}}));
    const auto done = rig.net.of<protocol::complete_msg>();
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(std::get<protocol::complete_msg>(done[0]->d.body).status,
              protocol::complete_status::normal);
    struct stat stt {};
    ASSERT_EQ(::stat((dir.path() + "/sub/f").c_str(), &stt), 0);
    EXPECT_EQ(stt.st_mtim.tv_sec, 99);
}

TEST(receiver_engine, progress_counts_received_bytes_at_most_once_a_second) {
    scratch_dir dir;
    receiver_rig rig(dir.path());
    rig.registered(t0);
    // 3 sections of 4096 blocks; the last block is 412 bytes.
    const std::uint64_t size = 512ull * 4096 * 3 - 100;
    rig.receiver.on_datagram(
        t0, {.address = 7},
        rig.server(protocol::fileinfo_msg{
            .file_id = 1, .size = size, .ftstamp = 99, .name = "f", .client_ids = {42}}));
    ASSERT_EQ(rig.receiver.state(), engine::receiver_state::receiving);
    auto p = rig.receiver.progress();
    EXPECT_TRUE(p.receiving);
    EXPECT_EQ(p.file_id, 1u);
    EXPECT_EQ(p.name, "f");
    EXPECT_EQ(p.file_bytes, size);
    EXPECT_EQ(p.file_received, 0u);
    // Section 0 but block 5, and 100 blocks of section 1, which the
    // dataplane reported; the short last block, which it has not yet.
    for (std::uint32_t n = 0; n < 4096 + 100; ++n) {
        if (n != 5) {
            rig.dp.bits->view().set(n);
        }
    }
    rig.dp.bits->view().set(3 * 4096 - 1);
    rig.receiver.on_data(t0 + ms, 1, 1, rig.seq);
    rig.receiver.refresh_progress(t0 + ms);
    p = rig.receiver.progress();
    EXPECT_EQ(p.file_received, (4095u + 100u) * 512u); // 2,147,840
    EXPECT_EQ(p.counted_at, t0 + ms);
    // Within the second the count stands.
    for (std::uint32_t n = 4096 + 100; n < 3 * 4096 - 1; ++n) {
        rig.dp.bits->view().set(n);
    }
    rig.receiver.on_data(t0 + 2 * ms, 1, 2, rig.seq);
    rig.receiver.refresh_progress(t0 + 500 * ms);
    EXPECT_EQ(rig.receiver.progress().file_received, 2'147'840u);
    // A second later: section 1 and 2 in full, block 5 still missing.
    rig.receiver.refresh_progress(t0 + 1001 * ms);
    p = rig.receiver.progress();
    EXPECT_EQ(p.file_received, size - 512); // 6,290,844
    EXPECT_EQ(p.files_done, 0u);
    EXPECT_EQ(p.bytes_done, 0u);
    // Complete: the file is in place and counted as done.
    rig.dp.bits->view().set(5);
    rig.receiver.on_datagram(
        t0 + 1002 * ms, {.address = 7},
        rig.server(protocol::done_msg{.file_id = 1, .section = 2, .client_ids = {42}}));
    ASSERT_EQ(rig.net.of<protocol::complete_msg>().size(), 1u);
    p = rig.receiver.progress();
    EXPECT_FALSE(p.receiving);
    EXPECT_EQ(p.files_done, 1u);
    EXPECT_EQ(p.bytes_done, size);
}

TEST(receiver_engine, drops_datagrams_more_than_5_behind_and_times_out_when_silent) {
    scratch_dir dir;
    receiver_rig rig(dir.path());
    rig.receiver.on_datagram(t0, {.address = 7}, rig.server(protocol::announce_msg{.robust = 10}));
    rig.receiver.on_datagram(t0, {.address = 7},
                             rig.server(protocol::reg_conf_msg{.client_ids = {42}}));
    rig.seq = static_cast<std::uint16_t>(rig.seq + 20);
    rig.receiver.on_datagram(t0, {.address = 7},
                             rig.server(protocol::done_msg{.file_id = 9, .client_ids = {1}}));
    rig.seq = static_cast<std::uint16_t>(rig.seq - 10); // 9 behind the newest
    rig.receiver.on_datagram(t0, {.address = 7},
                             rig.server(protocol::done_msg{.file_id = 9, .client_ids = {1}}));
    EXPECT_EQ(rig.receiver.stats().seq_out_of_range, 1u);
    // ROBUST·GRTT (10 × the advertised, quantized GRTT) of silence: ABORT.
    const time_ns deadline = rig.receiver.next_deadline();
    const double grtt = protocol::unquantize_grtt(protocol::quantize_grtt(0.1)); // ~0.106 s
    EXPECT_NEAR(static_cast<double>(deadline - t0) / 1e9, 10 * grtt, 1e-6);
    rig.receiver.on_timer(deadline);
    EXPECT_EQ(rig.receiver.outcome(), engine::receiver_outcome::timed_out);
    const auto aborts = rig.net.of<protocol::abort_msg>();
    ASSERT_EQ(aborts.size(), 1u);
    EXPECT_EQ(std::get<protocol::abort_msg>(aborts[0]->d.body).message, "Transfer timed out");
}

TEST(receiver_engine, takes_a_late_copy_of_a_listing_that_names_it_and_it_still_waits_for) {
    // A FILEINFO for 10,000 clients is 31 datagrams; the copy of the one that
    // names us comes after the whole listing, 30 behind the newest.
    scratch_dir dir;
    receiver_rig rig(dir.path());
    rig.registered(t0);
    const std::uint16_t ours = rig.seq;
    rig.seq = static_cast<std::uint16_t>(rig.seq + 1); // its first copy: lost
    for (int i = 0; i < 30; ++i) {
        rig.receiver.on_datagram(t0 + ms, {.address = 7},
                                 rig.server(protocol::fileinfo_msg{
                                     .file_id = 1, .size = 512, .name = "f", .client_ids = {1}}));
    }
    EXPECT_EQ(rig.receiver.stats().not_listed, 30u);
    const std::uint16_t newest = static_cast<std::uint16_t>(rig.seq - 1);
    rig.seq = ours;
    rig.fileinfo(t0 + 100 * ms, 1, 512, "f");
    EXPECT_EQ(rig.receiver.stats().late_listings_taken, 1u);
    EXPECT_EQ(rig.receiver.stats().seq_out_of_range, 0u);
    ASSERT_EQ(rig.net.of<protocol::fileinfo_ack_msg>().size(), 1u) << "answered";
    EXPECT_EQ(rig.receiver.state(), engine::receiver_state::receiving);

    // Holding file 1, a late FILEINFO of another file is refused: taking it
    // would drop the file we hold.
    rig.seq = static_cast<std::uint16_t>(newest - 20);
    rig.fileinfo(t0 + 101 * ms, 2, 512, "g");
    EXPECT_EQ(rig.receiver.stats().seq_out_of_range, 1u);
    EXPECT_EQ(rig.receiver.state(), engine::receiver_state::receiving);
    // So is a late DONE of another file, and one that does not name us.
    rig.seq = static_cast<std::uint16_t>(newest - 20);
    rig.done(t0 + 102 * ms, 2);
    rig.seq = static_cast<std::uint16_t>(newest - 20);
    rig.receiver.on_datagram(
        t0 + 103 * ms, {.address = 7},
        rig.server(protocol::done_msg{.file_id = 1, .section = 0, .client_ids = {1}}));
    EXPECT_EQ(rig.receiver.stats().seq_out_of_range, 3u);
    // A late DONE of the file we hold, naming us, is answered.
    rig.dp.bits->view().set(0);
    rig.seq = static_cast<std::uint16_t>(newest - 20);
    rig.done(t0 + 104 * ms, 1);
    EXPECT_EQ(rig.receiver.stats().late_listings_taken, 2u);
    EXPECT_EQ(rig.net.of<protocol::complete_msg>().size(), 1u);
    // Beyond 1024 behind, nothing is late enough to take.
    rig.seq = static_cast<std::uint16_t>(newest - 1100);
    rig.receiver.on_datagram(t0 + 105 * ms, {.address = 7},
                             rig.server(protocol::done_conf_msg{.client_ids = {42}}));
    EXPECT_EQ(rig.receiver.stats().seq_out_of_range, 4u);
}

TEST(receiver_engine, refuses_a_suite_it_cannot_follow_with_an_abort_that_says_why) {
    scratch_dir dir;
    receiver_rig rig(dir.path());
    protocol::announce_msg a;
    // DES is refused (spec §12 #20): the client says so and leaves.
    a.enc_info = protocol::enc_info_ext{.keyextype = protocol::keyexchange_type::rsa,
                                        .sigtype = protocol::signature_type::hmac,
                                        .keytype = protocol::key_type::des,
                                        .hashtype = protocol::hash_type::sha256};
    rig.receiver.on_datagram(t0, {.address = 7}, rig.server(a));
    EXPECT_EQ(rig.receiver.stats().encrypted_refused, 1u);
    EXPECT_EQ(rig.receiver.outcome(), engine::receiver_outcome::refused);
    EXPECT_TRUE(rig.net.of<protocol::register_msg>().empty()); // no REGISTER it could not follow up
    const auto aborts = rig.net.of<protocol::abort_msg>();
    ASSERT_EQ(aborts.size(), 1u);
    EXPECT_NE(std::get<protocol::abort_msg>(aborts[0]->d.body).message.find("Unsupported"),
              std::string::npos);
}

// What a stock server may ask that Skycast's receiver does not do ends the
// session with an ABORT naming it, never a session it would get wrong.
TEST(receiver_engine, refuses_features_it_does_not_support_with_an_abort_that_names_them) {
    struct feature {
        protocol::announce_msg announce;
        const char* named;
    };
    protocol::announce_msg tfmcc;
    tfmcc.cc = protocol::cc_type::tfmcc;
    protocol::announce_msg sync;
    sync.flags = protocol::flags::announce_sync_mode;
    protocol::announce_msg ipv6;
    ipv6.flags = protocol::flags::announce_ipv6;
    for (const auto& [announce, named] : {feature{tfmcc, "Congestion control"},
                                          feature{sync, "Sync mode"}, feature{ipv6, "IPv6"}}) {
        SCOPED_TRACE(named);
        scratch_dir dir;
        receiver_rig rig(dir.path());
        rig.receiver.on_datagram(t0, {.address = 7}, rig.server(announce));
        EXPECT_EQ(rig.receiver.outcome(), engine::receiver_outcome::refused);
        EXPECT_TRUE(rig.net.of<protocol::register_msg>().empty());
        const auto aborts = rig.net.of<protocol::abort_msg>();
        ASSERT_EQ(aborts.size(), 1u);
        const std::string& reason = std::get<protocol::abort_msg>(aborts[0]->d.body).message;
        EXPECT_NE(reason.find(named), std::string::npos) << reason;
        EXPECT_NE(reason.find("not supported"), std::string::npos) << reason;
    }
}

TEST(receiver_engine, an_encryption_only_client_refuses_a_plain_session) {
    scratch_dir dir;
    recording_network net;
    fake_receiver_dataplane dp;
    engine::receiver_engine receiver(
        {.client_id = 42, .destination = dir.path(), .encryption = {.require = true}}, net, dp);
    receiver.on_datagram(t0, {.address = 7}, [&] {
        std::vector<std::uint8_t> out(protocol::max_datagram_size);
        const auto n =
            protocol::encode({.src_id = 7, .group_id = 0x77}, protocol::announce_msg{}, out);
        out.resize(*n);
        return out;
    }());
    EXPECT_EQ(receiver.stats().unencrypted_refused, 1u);
    EXPECT_EQ(receiver.outcome(), engine::receiver_outcome::refused);
    EXPECT_EQ(receiver.reason(), "Encryption required");
    EXPECT_TRUE(net.of<protocol::register_msg>().empty());
}

TEST(receiver_engine, the_sequence_window_follows_data_across_a_long_pass) {
    // A pass of 40,000 FILESEGs moves the server's counter more than half the
    // 16-bit space between two control messages; the DONE after it must not
    // look "behind" (a regression: it was dropped, and every client timed out).
    scratch_dir dir;
    receiver_rig rig(dir.path());
    rig.receiver.on_datagram(t0, {.address = 7}, rig.server(protocol::announce_msg{}));
    rig.receiver.on_datagram(t0, {.address = 7},
                             rig.server(protocol::reg_conf_msg{.client_ids = {42}}));
    for (int i = 0; i < 40'000; i += 1000) {
        rig.receiver.on_data(t0 + ms, 1, 0, static_cast<std::uint16_t>(rig.seq + i));
    }
    rig.seq = static_cast<std::uint16_t>(rig.seq + 40'000);
    rig.receiver.on_datagram(t0 + 2 * ms, {.address = 7},
                             rig.server(protocol::done_msg{.file_id = 0, .client_ids = {42}}));
    EXPECT_EQ(rig.receiver.stats().seq_out_of_range, 0u);
    EXPECT_EQ(rig.receiver.state(), engine::receiver_state::completing);
}

} // namespace
} // namespace skycast::test
