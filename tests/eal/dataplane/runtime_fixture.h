#pragma once
// An in-process dataplane over a ring port the test holds both ends of:
// frames the test enqueues on `in` are what the port receives, and frames
// the dataplane transmits land on `out`. The test drives the RX/TX
// iterations and the service thread's rounds itself (no lcores launched), so
// every case is deterministic apart from the TSC.

#include "dataplane/api/contract.h"
#include "dataplane/app/runtime.h"
#include "tests/support/test_session.h"

#include <chrono>
#include <cstdint>
#include <gtest/gtest.h>
#include <memory>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <string>
#include <string_view>
#include <vector>

namespace skycast::dataplane::testing {

class runtime_fixture : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    // Options of the runtime under test (tests may change them before start()).
    dataplane_options options() const;

    // One round of every role: RX, TX, service.
    void pump(int rounds = 1);
    // Frames the port sent since the last call (the caller frees them).
    std::vector<rte_mbuf*> take_sent();
    // Pumps (one round per millisecond) until a round sends something, for
    // up to `limit` of wall time: what that round sent, or nothing.
    std::vector<rte_mbuf*> pump_until_sent(std::chrono::milliseconds limit);
    // Hands a frame to the port's receive side.
    void inject(rte_mbuf* m);
    rte_mbuf* frame_from(std::span<const std::uint8_t> bytes);
    api::reply execute(api::command c);
    // Closes received file slot `slot` as control does: the command answers
    // at once (ok), the slot is `closing` until the dataplane's file closer
    // has flushed it, then `closed`. Returns its close_errno (0: every write
    // reached the disk), or -1 when it did not close within a minute.
    int close_received_file(std::uint16_t slot);
    // Joins the test group (group_ip) and discards the membership report
    // the join sends, for tests about what comes after.
    void join_test_group();
    // A counter's total by name ("rx.drop.too_short"); fails the test when unknown.
    std::uint64_t counter(std::string_view name) const;

    std::unique_ptr<runtime> rt;
    rte_ring* in = nullptr;
    rte_ring* out = nullptr;
    std::string port_name;
};

void free_all(std::vector<rte_mbuf*>& frames);

// Deterministic pseudo-random content for files and payloads.
std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint32_t seed);

} // namespace skycast::dataplane::testing
