// Receivers given hostile names never write outside their destination and
// never leave a file under a final name that is not the sender's file: the
// FILEINFO is answered COMPLETE/REJECTED and the session goes on.
#include "control/engine/path_safety.h"
#include "tests/unit/engine/sim_fixture.h"

#include <filesystem>
#include <gtest/gtest.h>

namespace skycast::test {
namespace {

struct hostile_run {
    sim::sim_report report;
    std::string outside;
    std::string dest0;
};

// Sends `names` (each the same small source) followed by one good file.
hostile_run run_with_names(const scratch_dir& dir, std::vector<engine::file_entry> hostile,
                           bool plant_symlink) {
    const std::string src = write_file(dir.path() + "/src/payload", 3000, 5);
    const std::string good = write_file(dir.path() + "/src/good", 2000, 6);
    std::vector<engine::file_entry> files;
    for (auto& h : hostile) {
        h.source_path = src;
        h.size = h.type == protocol::file_type::regular ? 3000 : 0;
        files.push_back(h);
    }
    files.push_back(regular_entry(good, "good"));
    hostile_run out;
    out.outside = dir.path() + "/outside";
    std::filesystem::create_directories(out.outside);
    auto cfg = small_config(dir, files, 3, 11);
    cfg.link.loss = 0.05;
    const std::string outside = out.outside;
    if (plant_symlink) {
        cfg.prepare_destination = [outside](std::uint32_t, const std::string& dest) {
            std::filesystem::create_directory_symlink(outside, dest + "/planted");
        };
    }
    out.report = sim::run_simulation(cfg);
    out.dest0 = cfg.work_dir + "/r0";
    return out;
}

void expect_rejected_and_contained(const hostile_run& run, std::size_t hostile_count) {
    const auto& r = run.report;
    ASSERT_TRUE(run_finished(r));
    // Nothing was written outside the destination.
    EXPECT_TRUE(std::filesystem::is_empty(run.outside));
    for (const auto& rep : r.receivers) {
        ASSERT_EQ(rep.files.size(), hostile_count + 1) << rep.uid;
        for (std::size_t i = 0; i < hostile_count; ++i) {
            ASSERT_EQ(rep.files[i].status, protocol::complete_status::rejected)
                << rep.files[i].name;
            ASSERT_FALSE(rep.files[i].complete);
            ASSERT_FALSE(rep.files[i].reason.empty());
        }
        // The session carries on: the good file arrives, the receiver completes.
        ASSERT_TRUE(rep.files.back().complete) << rep.uid;
        // Its last DONE_CONF may be lost at this loss (5 %) after the sender
        // has gone: completed unconfirmed, its files in place all the same.
        ASSERT_TRUE(rep.outcome == engine::receiver_outcome::completed ||
                    rep.outcome == engine::receiver_outcome::completed_unconfirmed)
            << rep.uid << ": " << engine::name(rep.outcome);
        ASSERT_EQ(rep.visible_incomplete, 0u);
        ASSERT_EQ(rep.temp_files_left, 0u);
        ASSERT_EQ(rep.stats.files_rejected, hostile_count);
    }
    EXPECT_EQ(r.sender.clients_aborted + r.sender.clients_lost, 0u);
}

TEST(engine_hostile, absolute_and_dotdot_names_are_rejected) {
    scratch_dir dir;
    const std::string abs_target = dir.path() + "/outside/abs";
    std::vector<engine::file_entry> hostile = {
        {.name = abs_target},             // absolute
        {.name = "../outside/up"},        // leading ..
        {.name = "a/../../outside/deep"}, // .. in the middle
        {.name = "a/./b"},                // '.' component
        {.name = "a//b"},                 // empty component
        {.name = "x/.."},                 // trailing ..
    };
    const auto run = run_with_names(dir, hostile, false);
    ASSERT_NO_FATAL_FAILURE(expect_rejected_and_contained(run, hostile.size()));
    const auto& rep = run.report.receivers[0];
    EXPECT_EQ(rep.files[0].reason, engine::name(engine::name_problem::absolute));
    EXPECT_EQ(rep.files[1].reason, engine::name(engine::name_problem::dot_component));
    // The sender saw every rejection as a COMPLETE with status REJECTED.
    EXPECT_FALSE(std::filesystem::exists(dir.path() + "/outside/abs"));
    EXPECT_FALSE(std::filesystem::exists(dir.path() + "/dest/outside"));
}

TEST(engine_hostile, names_through_a_planted_symlink_are_rejected) {
    scratch_dir dir;
    std::vector<engine::file_entry> hostile = {{.name = "planted/file"},
                                               {.name = "planted/sub/file"}};
    const auto run = run_with_names(dir, hostile, true);
    ASSERT_NO_FATAL_FAILURE(expect_rejected_and_contained(run, hostile.size()));
    EXPECT_EQ(run.report.receivers[0].files[0].reason,
              engine::name(engine::name_problem::through_symlink));
}

TEST(engine_hostile, a_symlink_sent_in_the_session_cannot_be_written_through) {
    // The classic escape: send "evil" as a link to a directory outside, then
    // a file "evil/x". The link itself is allowed (stock behaviour); writing
    // through it is not.
    scratch_dir dir;
    const std::string outside = dir.path() + "/outside";
    std::vector<engine::file_entry> files = {
        {.type = protocol::file_type::symlink, .name = "evil", .link = outside},
        {.name = "evil/x"}};
    const auto run = run_with_names(dir, files, false);
    ASSERT_TRUE(run_finished(run.report));
    EXPECT_TRUE(std::filesystem::is_empty(run.outside));
    for (const auto& rep : run.report.receivers) {
        ASSERT_EQ(rep.files.size(), 3u);
        ASSERT_TRUE(rep.files[0].complete); // the link
        ASSERT_EQ(rep.files[1].status, protocol::complete_status::rejected);
        ASSERT_EQ(rep.files[1].reason, engine::name(engine::name_problem::through_symlink));
        ASSERT_TRUE(rep.files[2].complete);
        ASSERT_EQ(rep.visible_incomplete, 0u);
    }
}

TEST(engine_hostile, a_file_cannot_replace_a_directory) {
    scratch_dir dir;
    std::vector<engine::file_entry> files = {{.type = protocol::file_type::directory, .name = "d"},
                                             {.name = "d"}};
    const auto run = run_with_names(dir, files, false);
    ASSERT_TRUE(run_finished(run.report));
    for (const auto& rep : run.report.receivers) {
        ASSERT_EQ(rep.files.size(), 3u);
        ASSERT_TRUE(rep.files[0].complete);
        ASSERT_FALSE(rep.files[1].complete);
        ASSERT_EQ(rep.files[1].status, protocol::complete_status::rejected);
        ASSERT_EQ(rep.temp_files_left, 0u);
    }
    EXPECT_TRUE(std::filesystem::is_directory(run.dest0 + "/d"));
}

} // namespace
} // namespace skycast::test
