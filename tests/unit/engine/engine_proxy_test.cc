// The sender with proxies (spec §7): a proxy registers clients for others
// and answers for them with lists; only configured proxies may, and only
// for their own clients.
#include "tests/unit/engine/sender_rig.h"

#include <gtest/gtest.h>
#include <type_traits>

namespace skycast::test {
namespace {

using engine::time_ns;

constexpr time_ns t0 = 1'700'000'000ull * engine::ns_per_second;
constexpr time_ns ms = 1'000'000;
constexpr std::uint32_t proxy_uid = 0x50;
constexpr engine::endpoint proxy_at{.address = 0x0A000050, .port = 1044};

engine::sender_config with_proxy(std::vector<std::uint32_t> hosts) {
    auto cfg = quick_sender(std::move(hosts));
    cfg.proxies.push_back({.uid = proxy_uid, .pinned = false});
    return cfg;
}

template <class Msg>
std::vector<std::uint32_t> listed(const recording_network& net, std::size_t i) {
    return std::get<Msg>(net.of<Msg>().at(i)->d.body).client_ids;
}

// Runs the timers until the sender reaches `phase` (or a bounded number of steps).
void run_until(sender_rig& rig, time_ns& now, engine::sender_phase phase) {
    for (int i = 0; i < 100 && rig.sender.phase() != phase && !rig.sender.finished(); ++i) {
        now = rig.sender.next_deadline();
        rig.sender.on_timer(now);
    }
    ASSERT_EQ(rig.sender.phase(), phase);
}

TEST(sender_proxy, a_proxy_registers_its_clients_and_answers_for_them_with_lists) {
    // 10 blocks of 1300 bytes: one section.
    sender_rig rig(with_proxy({9, 10}), {{.name = "f", .size = 13000}});
    time_ns now = t0;
    rig.sender.start(now);
    now += 200 * ms;
    rig.sender.on_datagram(
        now, proxy_at,
        client_datagram(proxy_uid, 0x77,
                        protocol::register_msg{.tstamp = stamp_of(t0), .client_ids = {9, 10}}));
    // The proxy was called out in ANNOUNCE beside the clients, as stock does.
    EXPECT_EQ(listed<protocol::announce_msg>(rig.net, 0),
              (std::vector<std::uint32_t>{9, 10, proxy_uid}));
    // Its clients are confirmed, and the proxy (unencrypted); the closed group is complete.
    ASSERT_EQ(rig.net.of<protocol::reg_conf_msg>().size(), 1u);
    EXPECT_EQ(listed<protocol::reg_conf_msg>(rig.net, 0),
              (std::vector<std::uint32_t>{9, 10, proxy_uid}));
    EXPECT_EQ(rig.sender.active_clients(), 2u) << "the proxy is no receiver";
    EXPECT_NEAR(rig.sender.grtt(), 0.2, 1e-6);
    run_until(rig, now, engine::sender_phase::fileinfo);
    EXPECT_EQ(listed<protocol::fileinfo_msg>(rig.net, 0), (std::vector<std::uint32_t>{9, 10}));

    // One aggregated FILEINFO_ACK for both.
    rig.sender.on_datagram(
        now + ms, proxy_at,
        client_datagram(proxy_uid, 0x77,
                        protocol::fileinfo_ack_msg{.file_id = 1, .client_ids = {9, 10}}));
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::data);
    rig.dp.cursor = 10;
    rig.sender.on_pass_end(now, 1);
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::done_wait);
    EXPECT_EQ(listed<protocol::done_msg>(rig.net, 0), (std::vector<std::uint32_t>{9, 10}));

    // Its STATUS is the OR of its clients' bitmaps: blocks 2 and 5 go again.
    // A stock proxy's bitmap is block_size bytes, whatever the section's
    // size, and past the section's blocks it holds stale memory: ignored.
    std::vector<std::uint8_t> naks(1300, 0xFF);
    naks[0] = 0x24;
    naks[1] = 0xFC; // bits 10..15: past the file's 10 blocks
    rig.sender.on_datagram(
        now + 2 * ms, proxy_at,
        client_datagram(proxy_uid, 0x77,
                        protocol::status_msg{.file_id = 1, .section = 0, .naks = naks}));
    now = rig.sender.next_deadline();
    rig.sender.on_timer(now);
    ASSERT_EQ(rig.dp.passes.size(), 2u);
    std::vector<std::uint32_t> resent;
    for (std::uint32_t n = 0; n < 10; ++n) {
        if ((rig.dp.passes[1].blocks[0] >> n) & 1) {
            resent.push_back(n);
        }
    }
    EXPECT_EQ(resent, (std::vector<std::uint32_t>{2, 5}));
    rig.sender.on_pass_end(now, 1);

    // COMPLETE for client 9 only: client 10 is still asked in the next DONE.
    rig.sender.on_datagram(
        now + ms, proxy_at,
        client_datagram(proxy_uid, 0x77, protocol::complete_msg{.file_id = 1, .client_ids = {9}}));
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::done_wait);
    now = rig.sender.next_deadline();
    rig.sender.on_timer(now);
    EXPECT_EQ(listed<protocol::done_msg>(rig.net, rig.net.of<protocol::done_msg>().size() - 1),
              (std::vector<std::uint32_t>{10}));
    rig.sender.on_datagram(
        now + ms, proxy_at,
        client_datagram(proxy_uid, 0x77, protocol::complete_msg{.file_id = 1, .client_ids = {10}}));
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::completion);

    // The session's COMPLETE for both: one DONE_CONF lists both.
    rig.sender.on_datagram(
        now + 2 * ms, proxy_at,
        client_datagram(proxy_uid, 0x77,
                        protocol::complete_msg{.file_id = 0, .client_ids = {9, 10}}));
    ASSERT_EQ(rig.net.of<protocol::done_conf_msg>().size(), 1u);
    EXPECT_EQ(listed<protocol::done_conf_msg>(rig.net, 0), (std::vector<std::uint32_t>{9, 10}));
    run_until(rig, now, engine::sender_phase::finished);
    EXPECT_TRUE(rig.sender.failure().empty()) << rig.sender.failure();
    for (std::uint32_t uid : {9u, 10u}) {
        EXPECT_EQ(rig.sender.clients()[rig.sender.clients().find(uid)].outcome,
                  engine::client_outcome::completed);
    }
    const auto& st = rig.sender.stats();
    EXPECT_EQ(st.proxies, 1u);
    EXPECT_EQ(st.proxied_clients, 2u);
    EXPECT_EQ(st.proxy_refused, 0u);
    EXPECT_EQ(st.proxy_list_refused, 0u);
    EXPECT_EQ(rig.sender.progress().receivers.size(), 2u) << "progress lists receivers only";
    // Nothing but ANNOUNCE and REG_CONF listed the proxy: it is no receiver.
    for (const auto& r : rig.net.sent) {
        std::visit(
            [&](const auto& m) {
                using msg = std::decay_t<decltype(m)>;
                if constexpr (requires { m.client_ids; } &&
                              !std::is_same_v<msg, protocol::announce_msg> &&
                              !std::is_same_v<msg, protocol::reg_conf_msg>) {
                    EXPECT_EQ(std::count(m.client_ids.begin(), m.client_ids.end(), proxy_uid), 0);
                }
            },
            r.d.body);
    }
}

TEST(sender_proxy, a_client_list_from_a_node_that_is_no_proxy_is_refused_and_counted) {
    sender_rig rig(with_proxy({9, 10}), {{.name = "f", .size = 10}});
    rig.sender.start(t0);
    // A listed client claims to register another one.
    rig.sender.on_datagram(t0 + ms, {.address = 9, .port = 1044},
                           client_datagram(9, 0x77, protocol::register_msg{.client_ids = {10}}));
    ASSERT_EQ(rig.net.of<protocol::abort_msg>().size(), 1u);
    EXPECT_EQ(rig.net.of<protocol::abort_msg>()[0]->to.address, 9u);
    EXPECT_EQ(std::get<protocol::abort_msg>(rig.net.of<protocol::abort_msg>()[0]->d.body).message,
              "Not an accepted proxy");
    EXPECT_EQ(rig.sender.stats().proxy_refused, 1u);
    EXPECT_EQ(rig.sender.clients().size(), 0u) << "nobody was registered";
    EXPECT_TRUE(rig.net.of<protocol::reg_conf_msg>().empty());
}

TEST(sender_proxy, a_proxy_answers_only_for_its_own_clients_and_only_listed_ones) {
    sender_rig rig(with_proxy({9, 10, 11}), {{.name = "f", .size = 13000}});
    time_ns now = t0;
    rig.sender.start(now);
    // 11 registers directly; the proxy registers 9 and 10, and claims 11 and
    // 12 (not in the closed group) too.
    rig.sender.on_datagram(now + ms, {.address = 11, .port = 1044},
                           client_datagram(11, 0x77, protocol::register_msg{}));
    rig.sender.on_datagram(
        now + ms, proxy_at,
        client_datagram(proxy_uid, 0x77, protocol::register_msg{.client_ids = {9, 10, 11, 12}}));
    EXPECT_EQ(rig.sender.stats().proxy_list_refused, 1u); // 11
    EXPECT_EQ(rig.sender.stats().not_in_host_list, 1u);   // 12
    EXPECT_EQ(listed<protocol::reg_conf_msg>(rig.net, 1),
              (std::vector<std::uint32_t>{9, 10, proxy_uid}));
    run_until(rig, now, engine::sender_phase::fileinfo);
    // The proxy cannot answer for 11, who must answer itself.
    rig.sender.on_datagram(
        now + ms, proxy_at,
        client_datagram(proxy_uid, 0x77,
                        protocol::fileinfo_ack_msg{.file_id = 1, .client_ids = {9, 10, 11}}));
    EXPECT_EQ(rig.sender.stats().proxy_list_refused, 2u);
    EXPECT_EQ(rig.sender.phase(), engine::sender_phase::fileinfo) << "11 has not answered";
    rig.sender.on_datagram(now + ms, {.address = 11, .port = 1044},
                           client_datagram(11, 0x77, protocol::fileinfo_ack_msg{.file_id = 1}));
    EXPECT_EQ(rig.sender.phase(), engine::sender_phase::data);
    // A client's ABORT passed on by the proxy ends that client alone.
    rig.sender.on_datagram(
        now + 2 * ms, proxy_at,
        client_datagram(proxy_uid, 0x77, protocol::abort_msg{.host = 10, .message = "disk full"}));
    EXPECT_EQ(rig.sender.clients()[rig.sender.clients().find(10)].outcome,
              engine::client_outcome::aborted_by_client);
    EXPECT_EQ(rig.sender.clients()[rig.sender.clients().find(9)].outcome,
              engine::client_outcome::active);
    EXPECT_EQ(rig.sender.client_abort_reasons().at(10), "disk full");
    // The proxy's own ABORT takes its remaining clients with it, not 11.
    rig.sender.on_datagram(
        now + 3 * ms, proxy_at,
        client_datagram(proxy_uid, 0x77, protocol::abort_msg{.host = 0, .message = "bye"}));
    EXPECT_EQ(rig.sender.clients()[rig.sender.clients().find(9)].outcome,
              engine::client_outcome::aborted_by_client);
    EXPECT_EQ(rig.sender.clients()[rig.sender.clients().find(11)].outcome,
              engine::client_outcome::active);
    EXPECT_EQ(rig.sender.active_clients(), 1u);
}

TEST(sender_proxy, clients_of_a_silent_proxy_are_dropped_as_lost) {
    sender_rig rig(with_proxy({9}), {{.name = "f", .size = 13000}});
    time_ns now = t0;
    rig.sender.start(now);
    rig.sender.on_datagram(
        now + ms, proxy_at,
        client_datagram(proxy_uid, 0x77, protocol::register_msg{.client_ids = {9}}));
    run_until(rig, now, engine::sender_phase::finished);
    EXPECT_EQ(rig.sender.clients()[rig.sender.clients().find(9)].outcome,
              engine::client_outcome::lost);
    EXPECT_EQ(rig.sender.failure(), "all clients dropped or aborted");
}

} // namespace
} // namespace skycast::test
