// The subagent's notifications: a failed session once, the dataplane lost
// once per loss and restored once, nothing for what ended before it watched.
#include "control/snmp/node_watch.h"

#include <gtest/gtest.h>

namespace {

using namespace skycast::control::snmp;
using nlohmann::json;
using namespace std::chrono_literals;

json stats(std::uint64_t heartbeat, std::uint64_t done, json history, std::uint64_t pid = 42) {
    return {{"node", "0x0A4D000B"},
            {"sessions_done", done},
            {"history", std::move(history)},
            {"control", {{"pid", pid}}},
            {"dataplane", {{"pid", 41}, {"heartbeat", heartbeat}}}};
}

json ended(const char* outcome, const char* reason = "") {
    return {{"session", "0x00001234"},
            {"server", "0x0A4D0001"},
            {"outcome", outcome},
            {"reason", reason}};
}

std::string object(const node_event& e, notify_object o) {
    for (const auto& [k, v] : e.objects) {
        if (k == o) {
            return v;
        }
    }
    return "<absent>";
}

TEST(NodeWatch, FailedSessionsAfterTheFirstPollOnly) {
    node_watch w;
    const auto t0 = node_watch::clock::time_point{} + 1h;
    // What ended before the first poll is not announced.
    auto s = stats(1, 1, json::array({ended("transfer timed out")}));
    EXPECT_TRUE(w.observe(&s, "", t0).empty());
    EXPECT_TRUE(w.dataplane_alive());
    // Two more end: one completed, one aborted.
    s = stats(2, 3,
              json::array({ended("transfer timed out"), ended("completed"),
                           ended("aborted by server", "Server quit, aborting all")}));
    const auto events = w.observe(&s, "", t0 + 1s);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, notification::session_failed);
    EXPECT_EQ(object(events[0], notify_object::failed_outcome), "aborted by server");
    EXPECT_EQ(object(events[0], notify_object::failed_reason), "Server quit, aborting all");
    EXPECT_EQ(object(events[0], notify_object::failed_server), "0x0A4D0001");
    EXPECT_EQ(object(events[0], notify_object::failed_session), "0x00001234");
    // The same document again: nothing new.
    s["dataplane"]["heartbeat"] = 3;
    EXPECT_TRUE(w.observe(&s, "", t0 + 2s).empty());
}

TEST(NodeWatch, ANewControlProcessHasAllNewHistory) {
    node_watch w;
    const auto t0 = node_watch::clock::time_point{} + 1h;
    auto s = stats(1, 5, json::array());
    w.observe(&s, "", t0);
    // Restarted (new pid): its one ended session is new even though the
    // count went down.
    s = stats(2, 1, json::array({ended("not enough disk space", "Disk full on file 1")}), 43);
    const auto events = w.observe(&s, "", t0 + 1s);
    // The socket answered throughout, so no dataplane notification either.
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(object(events[0], notify_object::failed_outcome), "not enough disk space");
}

TEST(NodeWatch, ASendersFailedResultNamesTheReceiver) {
    node_watch w;
    const auto t0 = node_watch::clock::time_point{} + 1h;
    auto s = stats(1, 0, json::array());
    w.observe(&s, "", t0);
    json result = {
        {"ok", false},
        {"session", "0x00000077"},
        {"failure", ""},
        {"receivers", json::array({{{"uid", "0x0A4D000B"}, {"ok", true}, {"outcome", "completed"}},
                                   {{"uid", "0x0A4D000C"},
                                    {"ok", false},
                                    {"outcome", "lost"},
                                    {"reason", "no answer"}}})}};
    s = stats(2, 2, json::array({{{"ok", true}, {"session", "0x00000076"}}, result}));
    const auto events = w.observe(&s, "", t0 + 1s);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(object(events[0], notify_object::failed_server), "0x0A4D000B");
    EXPECT_EQ(object(events[0], notify_object::failed_session), "0x00000077");
    EXPECT_EQ(object(events[0], notify_object::failed_outcome), "failed");
    EXPECT_EQ(object(events[0], notify_object::failed_reason),
              "receiver 0x0A4D000C: lost: no answer");
}

TEST(NodeWatch, UnreachableNodeIsLostOnceThenRestored) {
    node_watch w;
    const auto t0 = node_watch::clock::time_point{} + 1h;
    auto s = stats(1, 0, json::array());
    EXPECT_TRUE(w.observe(&s, "", t0).empty());
    auto events = w.observe(nullptr, "cannot connect", t0 + 1s);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, notification::dataplane_lost);
    EXPECT_EQ(object(events[0], notify_object::node_down_reason), "cannot connect");
    EXPECT_FALSE(w.dataplane_alive());
    EXPECT_TRUE(w.observe(nullptr, "cannot connect", t0 + 2s).empty()); // once per loss
    s = stats(1, 0, json::array(), 43);
    events = w.observe(&s, "", t0 + 3s);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, notification::dataplane_restored);
    EXPECT_TRUE(w.dataplane_alive());
}

TEST(NodeWatch, AStillHeartbeatIsALostDataplane) {
    node_watch w;
    const auto t0 = node_watch::clock::time_point{} + 1h;
    auto s = stats(7, 0, json::array());
    EXPECT_TRUE(w.observe(&s, "", t0).empty());
    // Still within the allowance: alive.
    EXPECT_TRUE(w.observe(&s, "", t0 + node_watch::heartbeat_stall).empty());
    EXPECT_TRUE(w.dataplane_alive());
    auto events = w.observe(&s, "", t0 + node_watch::heartbeat_stall + 1ms);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, notification::dataplane_lost);
    EXPECT_NE(object(events[0], notify_object::node_down_reason).find("heartbeat"),
              std::string::npos);
    s["dataplane"]["heartbeat"] = 8;
    events = w.observe(&s, "", t0 + 5s);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, notification::dataplane_restored);
}

TEST(NodeWatch, StartingWhileTheNodeIsDownNotifies) {
    node_watch w;
    const auto events = w.observe(nullptr, "", node_watch::clock::time_point{});
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, notification::dataplane_lost);
    EXPECT_EQ(object(events[0], notify_object::node_down_reason), "the node does not answer");
}

TEST(SessionFailed, ByOutcomeOrResult) {
    EXPECT_FALSE(session_failed(ended("completed")));
    EXPECT_FALSE(session_failed(ended("completed (DONE_CONF not received)")));
    EXPECT_TRUE(session_failed(ended("transfer timed out")));
    EXPECT_FALSE(session_failed({{"ok", true}}));
    EXPECT_TRUE(session_failed({{"ok", false}}));
    EXPECT_TRUE(session_failed(json::object())); // neither: not a success
}

} // namespace
