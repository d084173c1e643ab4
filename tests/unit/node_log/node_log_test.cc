// The node's log lines: to a file with a timestamp and level, and to the
// journal natively when standard error is systemd's journal stream.
#include "control/node/node_log.h"

#include <cstdlib>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using skycast::config::log_config;
using skycast::config::log_level;
using skycast::control::node::journal_stream_is;
using skycast::control::node::node_log;

std::string identity(int fd) {
    struct stat st {};
    EXPECT_EQ(::fstat(fd, &st), 0);
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

TEST(JournalStream, OnlyTheStreamJournalStreamNames) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    ::unsetenv("JOURNAL_STREAM");
    EXPECT_FALSE(journal_stream_is(p[1]));
    ::setenv("JOURNAL_STREAM", identity(p[1]).c_str(), 1);
    EXPECT_TRUE(journal_stream_is(p[1]));
    // Another descriptor (what a parent substituted for standard error).
    int q[2];
    ASSERT_EQ(::pipe(q), 0);
    EXPECT_FALSE(journal_stream_is(q[1]));
    ::setenv("JOURNAL_STREAM", "garbage", 1);
    EXPECT_FALSE(journal_stream_is(p[1]));
    ::unsetenv("JOURNAL_STREAM");
    for (int fd : {p[0], p[1], q[0], q[1]}) {
        ::close(fd);
    }
}

TEST(NodeLog, FileLinesHaveTimeLevelAndRespectTheLevel) {
    const std::string path = ::testing::TempDir() + "node_log_test.log";
    std::remove(path.c_str());
    {
        node_log log(log_config{log_level::info, path});
        SKYCAST_LOG(log, warn, "disk %s at %d%%", "/srv", 91);
        SKYCAST_LOG(log, debug, "not written at info");
    }
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    EXPECT_NE(s.find(" [warn] disk /srv at 91%\n"), std::string::npos) << s;
    EXPECT_EQ(s.find("not written"), std::string::npos) << s;
    EXPECT_EQ(s[4], '-'); // 2026-12-05 ...
}

// Run by tests/system/ops/journal_test.sh with standard error on a real
// journald's stream: one line per level, marked, which the script then
// finds with journalctl by priority and field.
TEST(NodeLog, ToTheJournal) {
    const char* marker = std::getenv("SKYCAST_JOURNAL_MARKER");
    if (marker == nullptr) {
        GTEST_SKIP() << "run by tests/system/ops/journal_test.sh under a journald";
    }
    ASSERT_TRUE(journal_stream_is(STDERR_FILENO)) << "JOURNAL_STREAM does not name stderr";
    node_log log(log_config{log_level::debug, "-"});
    SKYCAST_LOG(log, error, "%s error line", marker);
    SKYCAST_LOG(log, warn, "%s warn line", marker);
    SKYCAST_LOG(log, info, "%s info line", marker);
    SKYCAST_LOG(log, debug, "%s debug line", marker);
}

} // namespace
