// SKYCAST-MIB as built from a stats document: the instances and values an
// NMS walks (OIDs as SKYCAST-MIB.txt defines them), GETNEXT order, and text
// made DisplayString-safe.
#include "control/snmp/mib_view.h"

#include <gtest/gtest.h>

namespace {

using namespace skycast::control::snmp;
using nlohmann::json;

oid_path mib(std::initializer_list<std::uint32_t> arcs) {
    oid_path p = skycast_mib;
    p.insert(p.end(), arcs);
    return p;
}

oid_path with_text_index(oid_path p, std::string_view s) {
    p.push_back(static_cast<std::uint32_t>(s.size()));
    for (const unsigned char c : s) {
        p.push_back(c);
    }
    return p;
}

json receiver_stats() {
    return json::parse(R"json({
      "node": "0x0A4D000B", "role": "receiver", "version": "0.9.0", "sessions_done": 3,
      "outcomes": {"completed": 2, "completed (DONE_CONF not received)": 1},
      "history": [],
      "sessions": [{"session": "0x00001234", "server": "0x0A4D0001", "state": "receiving",
                    "grtt": 0.5, "files": 2, "files_received": 1,
                    "bytes_received": 1000, "bytes_total": 5000}],
      "receiver": {"sessions_running": 1, "max_sessions": 16, "groups_joined": 2,
                   "sessions_started": 4, "refused_full": 0, "refused_rate": 7, "evicted": 1,
                   "handshake_timeouts": 2, "unmatched_datagrams": 9,
                   "malformed_datagrams": 5},
      "control": {"pid": 42, "rss_kib": 30000, "request_errors": 0, "snapshot_age_ms": 12,
                  "loop_stalls": 1},
      "dataplane": {"pid": 41, "heartbeat": 99,
                    "counters": {"rx.packets": 12345678901, "storage.bytes": 77},
                    "counter_help": {"rx.packets": "frames received"},
                    "port": {"ipackets": 5, "opackets": 6, "ibytes": 7, "obytes": 8,
                             "imissed": 9, "ierrors": 10, "oerrors": 11, "rx_nombuf": 12}}
    })json");
}

TEST(MibView, NodeScalarsOfAReachableReceiver) {
    const json s = receiver_stats();
    const auto v = build_mib_view(&s, true);
    EXPECT_EQ(v.at(mib({1, 1, 1, 0})).text, "0x0A4D000B");
    EXPECT_EQ(v.at(mib({1, 1, 2, 0})), (mib_value{mib_type::integer, 2, {}})); // receiver(2)
    for (const auto& [role, value] : {std::pair<const char*, std::uint64_t>{"response_proxy", 3},
                                      {"server_proxy", 4},
                                      {"client_proxy", 5}}) {
        json proxy = s;
        proxy["role"] = role;
        EXPECT_EQ(build_mib_view(&proxy, true).at(mib({1, 1, 2, 0})).number, value) << role;
    }
    EXPECT_EQ(v.at(mib({1, 1, 3, 0})).text, "0.9.0");
    EXPECT_EQ(v.at(mib({1, 1, 4, 0})).number, 1u); // reachable: true(1)
    EXPECT_EQ(v.at(mib({1, 1, 5, 0})).number, 1u); // dataplane alive: true(1)
    EXPECT_EQ(v.at(mib({1, 1, 6, 0})), (mib_value{mib_type::counter64, 3, {}}));
    EXPECT_EQ(v.at(mib({1, 1, 7, 0})), (mib_value{mib_type::gauge32, 30000, {}}));
    EXPECT_EQ(v.at(mib({1, 1, 10, 0})).number, 1u);
}

TEST(MibView, PortCountersTablesAndReceiverScalars) {
    const json s = receiver_stats();
    const auto v = build_mib_view(&s, true);
    for (std::uint32_t i = 1; i <= 8; ++i) {
        EXPECT_EQ(v.at(mib({1, 2, i, 0})), (mib_value{mib_type::counter64, i + 4, {}})) << i;
    }
    // skycastCounterValue."rx.packets" (a value past 32 bits) and its help.
    EXPECT_EQ(v.at(with_text_index(mib({1, 3, 1, 2}), "rx.packets")),
              (mib_value{mib_type::counter64, 12345678901ULL, {}}));
    EXPECT_EQ(v.at(with_text_index(mib({1, 3, 1, 3}), "rx.packets")).text, "frames received");
    EXPECT_EQ(v.at(with_text_index(mib({1, 3, 1, 3}), "storage.bytes")).text, "");
    // skycastOutcomeSessions."completed (DONE_CONF not received)": 34 bytes, whole.
    EXPECT_EQ(v.at(with_text_index(mib({1, 4, 1, 2}), "completed (DONE_CONF not received)")).number,
              1u);
    // skycastSessionTable row (server 0x0A4D0001, group 0x1234).
    const std::uint32_t server = 0x0A4D0001, group = 0x1234;
    EXPECT_EQ(v.at(mib({1, 5, 1, 3, server, group})).text, "receiving");
    EXPECT_EQ(v.at(mib({1, 5, 1, 4, server, group})).number, 2u);
    EXPECT_EQ(v.at(mib({1, 5, 1, 5, server, group})).number, 1u);
    EXPECT_EQ(v.at(mib({1, 5, 1, 6, server, group})).number, 1000u);
    EXPECT_EQ(v.at(mib({1, 5, 1, 7, server, group})).number, 5000u);
    EXPECT_EQ(v.at(mib({1, 5, 1, 8, server, group})), (mib_value{mib_type::gauge32, 500, {}}));
    // skycastReceiverNode scalars: gauges, then counters.
    EXPECT_EQ(v.at(mib({1, 6, 2, 0})), (mib_value{mib_type::gauge32, 16, {}}));
    EXPECT_EQ(v.at(mib({1, 6, 6, 0})), (mib_value{mib_type::counter64, 7, {}}));
    EXPECT_EQ(v.at(mib({1, 6, 10, 0})), (mib_value{mib_type::counter64, 5, {}}));
    // No sender rows on a receiver.
    EXPECT_EQ(find_next(v, mib({1, 7}), true), find_next(v, mib({1, 8}), true));
}

TEST(MibView, SenderSessionAndReceivers) {
    const json s = json::parse(R"json({
      "node": "0x0A4D0001", "role": "sender",
      "session": {"id": "0x00ABCDEF", "phase": "transfer", "grtt": 0.25, "bytes_sent": 900,
                  "files": 4, "file_number": 3, "bytes_total": 4000,
                  "receivers": [{"uid": "0x0A4D000B", "outcome": "active", "rtt": 0.0125,
                                 "percent": 42.7},
                                {"uid": "0x0A4D000C", "outcome": "lost\u001b[2J", "rtt": 0.3,
                                 "percent": 250}]}
    })json");
    const auto v = build_mib_view(&s, true);
    EXPECT_EQ(v.at(mib({1, 1, 2, 0})).number, 1u); // sender(1)
    EXPECT_EQ(v.at(mib({1, 5, 1, 3, 0x0A4D0001, 0x00ABCDEF})).text, "transfer");
    EXPECT_EQ(v.at(mib({1, 5, 1, 4, 0x0A4D0001, 0x00ABCDEF})).number, 4u);
    EXPECT_EQ(v.at(mib({1, 5, 1, 5, 0x0A4D0001, 0x00ABCDEF})).number, 2u); // sending the 3rd
    EXPECT_EQ(v.at(mib({1, 5, 1, 6, 0x0A4D0001, 0x00ABCDEF})).number, 900u);
    EXPECT_EQ(v.at(mib({1, 5, 1, 7, 0x0A4D0001, 0x00ABCDEF})).number, 4000u);
    EXPECT_EQ(v.at(mib({1, 7, 1, 2, 0x0A4D000B})).text, "active");
    EXPECT_EQ(v.at(mib({1, 7, 1, 3, 0x0A4D000B})).number, 13u); // 12.5 ms rounded
    EXPECT_EQ(v.at(mib({1, 7, 1, 4, 0x0A4D000B})).number, 42u);
    EXPECT_EQ(v.at(mib({1, 7, 1, 4, 0x0A4D000C})).number, 100u); // Gauge32 (0..100)
    // A control character from the wire arrives as an inert escape.
    EXPECT_EQ(v.at(mib({1, 7, 1, 2, 0x0A4D000C})).text.find('\x1b'), std::string::npos);
}

TEST(MibView, UnreachableNodeHasOnlyTheNodeScalars) {
    const auto v = build_mib_view(nullptr, true);
    EXPECT_EQ(v.at(mib({1, 1, 4, 0})).number, 2u); // reachable: false(2)
    EXPECT_EQ(v.at(mib({1, 1, 5, 0})).number, 2u); // no node, no live dataplane
    EXPECT_EQ(v.at(mib({1, 1, 2, 0})).number, 0u); // unknown(0)
    EXPECT_EQ(find_next(v, mib({1, 1, 10, 0}), false), nullptr);
}

TEST(MibView, GetNextWalksInOrderAndEnds) {
    const json s = receiver_stats();
    const auto v = build_mib_view(&s, false);
    // From the module's root, inclusive (as net-snmp asks when the request
    // starts before the registration), the first instance is skycastNodeId.0.
    const auto* first = find_next(v, skycast_mib, true);
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->first, mib({1, 1, 1, 0}));
    // Exact instance: inclusive returns it, exclusive the next.
    EXPECT_EQ(find_next(v, mib({1, 1, 1, 0}), true)->first, mib({1, 1, 1, 0}));
    EXPECT_EQ(find_next(v, mib({1, 1, 1, 0}), false)->first, mib({1, 1, 2, 0}));
    // A walk visits every instance once, strictly increasing.
    std::size_t seen = 0;
    oid_path at = skycast_mib;
    while (const auto* e = find_next(v, at, false)) {
        EXPECT_LT(at, e->first);
        at = e->first;
        ++seen;
    }
    EXPECT_EQ(seen, v.size());
    EXPECT_EQ(find_exact(v, mib({1, 1, 99, 0})), nullptr);
    EXPECT_EQ(v.at(mib({1, 1, 5, 0})).number, 2u); // dataplane_alive = false
}

TEST(MibView, HostileDocumentsDoNotThrow) {
    for (const char* text : {R"([])", R"({"node": 5, "sessions": {"a": 1}})",
                             R"({"dataplane": {"counters": {"": 1, "x": -1, "y": "z"}}})",
                             R"({"session": {"receivers": [1, null, {"uid": "zz"}]}})"}) {
        const json s = json::parse(text);
        EXPECT_NO_THROW((void)build_mib_view(&s, true)) << text;
    }
}

TEST(SnmpText, AsciiOnlyWithWholeEscapesAndALimit) {
    EXPECT_EQ(snmp_text("plain"), "plain");
    EXPECT_EQ(snmp_text("caf\xC3\xA9"), "caf\\xC3\\xA9");
    EXPECT_EQ(snmp_text("a\\b"), "a\\\\b");
    EXPECT_EQ(snmp_text("\x1b[2J"), "\\x1B[2J");
    EXPECT_EQ(snmp_text("ab\xFF", 5), "ab"); // "\xFF" does not fit whole
    EXPECT_EQ(snmp_text(std::string(300, 'x')).size(), 255u);
}

TEST(ParseHexId, AcceptsTheNodesFormOnly) {
    std::uint32_t id = 7;
    EXPECT_TRUE(parse_hex_id("0x0A4D000B", id));
    EXPECT_EQ(id, 0x0A4D000Bu);
    EXPECT_FALSE(parse_hex_id("0A4D000B", id));
    EXPECT_FALSE(parse_hex_id("0x", id));
    EXPECT_FALSE(parse_hex_id("0x123456789", id));
    EXPECT_FALSE(parse_hex_id("0xZZ", id));
}

} // namespace
