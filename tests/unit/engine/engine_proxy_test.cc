// Proxies (spec §7). The sender with proxies: a proxy registers clients for
// others and answers for them with lists; only configured proxies may, and
// only for their own clients. Skycast's response proxy: what it holds, for
// how long, and what it sends the server for many clients. Skycast's server
// proxy: what it forwards where, and whose heartbeats it believes; the
// heartbeats Skycast sends, and its client proxy.
#include "control/engine/client_proxy.h"
#include "control/engine/heartbeat_sender.h"
#include "control/engine/key_exchange.h"
#include "control/engine/proxy_key_client.h"
#include "control/engine/response_proxy.h"
#include "control/engine/server_proxy.h"
#include "crypto/curves.h"
#include "crypto/datagram_signature.h"
#include "crypto/encrypted_message.h"
#include "crypto/key_file.h"
#include "crypto/signature.h"
#include "protocol/quantize.h"
#include "tests/unit/engine/sender_rig.h"

#include <gtest/gtest.h>
#include <map>
#include <set>
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

TEST(sender_proxy, clients_whose_proxy_answers_after_the_early_pass_get_one_done_at_once) {
    // A stock proxy holds its clients' FILEINFO_ACKs for about a second:
    // the early pass (docs/protocol.md §20) is over before they come.
    auto cfg = with_proxy({9, 10});
    cfg.early_data_after = 20 * ms;
    sender_rig rig(cfg, {{.name = "f", .size = 13000}});
    time_ns now = t0;
    rig.sender.start(now);
    rig.sender.on_datagram(
        now + 200 * ms, proxy_at,
        client_datagram(proxy_uid, 0x77,
                        protocol::register_msg{.tstamp = stamp_of(t0), .client_ids = {9, 10}}));
    run_until(rig, now, engine::sender_phase::fileinfo);
    run_until(rig, now, engine::sender_phase::data);
    rig.dp.cursor = 10;
    rig.sender.on_pass_end(now, 1);
    ASSERT_EQ(rig.sender.phase(), engine::sender_phase::done_wait);
    EXPECT_TRUE(rig.net.of<protocol::done_msg>().empty()) << "no one has answered the FILEINFO";

    const time_ns round_due = rig.sender.next_deadline();
    rig.sender.on_datagram(
        now + 300 * ms, proxy_at,
        client_datagram(proxy_uid, 0x77,
                        protocol::fileinfo_ack_msg{.file_id = 1, .client_ids = {9, 10}}));
    // One DONE for both, now, not at the next round: they have had the
    // whole pass, and stock uftpd behind the proxy times out on the GRTT
    // our headers carry, not on our round timer.
    ASSERT_EQ(rig.net.of<protocol::done_msg>().size(), 1u);
    EXPECT_EQ(listed<protocol::done_msg>(rig.net, 0), (std::vector<std::uint32_t>{9, 10}));
    EXPECT_EQ(rig.sender.stats().late_answers_done_at_once, 2u);
    EXPECT_EQ(rig.sender.stats().fileinfo_acks_late, 2u);
    EXPECT_EQ(rig.sender.next_deadline(), round_due) << "the round under way goes on";
    // Their COMPLETE ends the file in that round.
    rig.sender.on_datagram(
        now + 310 * ms, proxy_at,
        client_datagram(proxy_uid, 0x77,
                        protocol::complete_msg{.file_id = 1, .client_ids = {9, 10}}));
    EXPECT_EQ(rig.sender.phase(), engine::sender_phase::completion);
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
    // The proxy's listing at once; 11's own REG_CONF after its gather time.
    EXPECT_EQ(listed<protocol::reg_conf_msg>(rig.net, 0),
              (std::vector<std::uint32_t>{9, 10, proxy_uid}));
    rig.sender.on_timer(rig.sender.next_deadline());
    EXPECT_EQ(listed<protocol::reg_conf_msg>(rig.net, 1), (std::vector<std::uint32_t>{11}));
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

// --- The response proxy ------------------------------------------------------------

constexpr engine::endpoint server_at{.address = 0x0A4D0001, .port = 40000};
constexpr std::uint32_t server_uid = 0x0A4D0001;

// The private groups an engine joins and leaves.
class recording_groups : public engine::membership_port {
public:
    bool join_group(std::uint32_t group) override {
        joined.push_back(group);
        return true;
    }
    void leave_group(std::uint32_t group) override { left.push_back(group); }
    std::vector<std::uint32_t> joined;
    std::vector<std::uint32_t> left;
};

struct proxy_rig {
    explicit proxy_rig(engine::response_proxy_config c = {.proxy_id = proxy_uid, .max_clients = 3})
        : proxy(std::move(c), net, groups) {}
    recording_network net;
    recording_groups groups;
    engine::response_proxy proxy;
    // The server's ANNOUNCE (GRTT 100 ms) on the public group.
    void announce(time_ns now, bool encrypted = false) {
        protocol::announce_msg a;
        if (encrypted) {
            a.enc_info.emplace();
            a.enc_info->keyextype = protocol::keyexchange_type::ecdh_ecdsa;
            a.enc_info->keytype = protocol::key_type::aes128_gcm;
            a.enc_info->hashtype = protocol::hash_type::sha256;
        }
        std::vector<std::uint8_t> out(protocol::max_datagram_size);
        const auto n =
            protocol::encode({.src_id = server_uid, .group_id = 0x77, .grtt = grtt_q}, a, out);
        out.resize(*n);
        proxy.on_datagram(now, server_at, out);
    }
    void from_client(time_ns now, std::uint32_t uid, const protocol::message& m) {
        proxy.on_datagram(now, {.address = uid, .port = 1044}, client_datagram(uid, 0x77, m));
    }
    static inline const std::uint8_t grtt_q = protocol::quantize_grtt(0.1);
    time_ns hold() const { return engine::seconds_to_ns(protocol::unquantize_grtt(grtt_q)); }
};

TEST(response_proxy, holds_answers_one_grtt_then_sends_one_listing_with_the_longest_rtt_first) {
    proxy_rig rig;
    rig.announce(t0);
    EXPECT_EQ(rig.proxy.sessions(), 1u);
    // Client 11 echoes a stamp 100 ms old, client 12 one 10 ms old: 11 has
    // the longest RTT, so it is listed first and its echo is carried.
    rig.from_client(t0 + 100 * ms, 12, protocol::register_msg{.tstamp = stamp_of(t0 + 90 * ms)});
    rig.from_client(t0 + 120 * ms, 11, protocol::register_msg{.tstamp = stamp_of(t0 + 20 * ms)});
    rig.from_client(t0 + 121 * ms, 12, protocol::register_msg{.tstamp = stamp_of(t0 + 90 * ms)});
    EXPECT_TRUE(rig.net.sent.empty()) << "held";
    const time_ns due = t0 + 100 * ms + rig.hold();
    EXPECT_EQ(rig.proxy.next_deadline(), due);
    rig.proxy.on_timer(due);
    ASSERT_EQ(rig.net.sent.size(), 1u);
    const auto& sent = rig.net.sent[0];
    EXPECT_EQ(sent.to, server_at);
    EXPECT_EQ(sent.d.header.src_id, proxy_uid);
    EXPECT_EQ(sent.d.header.group_id, 0x77u);
    const auto& r = std::get<protocol::register_msg>(sent.d.body);
    EXPECT_EQ(r.client_ids, (std::vector<std::uint32_t>{11, 12})) << "listed once each";
    // 11's echo advanced by how long the proxy held it.
    EXPECT_EQ(r.tstamp, stamp_of(t0 + 20 * ms + (due - (t0 + 120 * ms))));
    EXPECT_EQ(rig.proxy.clients(), 2u);
}

TEST(response_proxy, spaces_the_copies_of_its_aggregates_at_most_a_quarter_of_the_servers_grtt) {
    // The server's GRTT is about 100 ms: 40 ms asked, a quarter of it given.
    proxy_rig rig(
        {.proxy_id = proxy_uid, .control_copies = 2, .copy_spacing = 40 * ms, .max_clients = 3});
    rig.announce(t0);
    rig.from_client(t0 + 10 * ms, 11, protocol::register_msg{.tstamp = stamp_of(t0)});
    rig.proxy.on_timer(rig.proxy.next_deadline());
    ASSERT_EQ(rig.net.sent.size(), 2u);
    EXPECT_EQ(rig.net.sent[0].delay, 0u);
    const time_ns quarter = engine::seconds_to_ns(protocol::unquantize_grtt(proxy_rig::grtt_q) / 4);
    ASSERT_LT(quarter, 40 * ms);
    EXPECT_EQ(rig.net.sent[1].delay, quarter);
    EXPECT_EQ(rig.net.sent[0].raw, rig.net.sent[1].raw);
}

TEST(response_proxy, ors_status_bitmaps_per_section_and_lists_completes_per_status) {
    proxy_rig rig;
    rig.announce(t0);
    const std::uint8_t a[2] = {0x01, 0x00};
    const std::uint8_t b[2] = {0x04, 0x01};
    const std::uint8_t other[1] = {0x02};
    rig.from_client(t0 + ms, 11, protocol::status_msg{.file_id = 1, .section = 0, .naks = a});
    rig.from_client(t0 + ms, 12, protocol::status_msg{.file_id = 1, .section = 0, .naks = b});
    rig.from_client(t0 + ms, 12, protocol::status_msg{.file_id = 1, .section = 1, .naks = other});
    // A NAK list (docs/protocol.md §19) is for a sender straight, never ORed.
    const std::uint8_t list[2] = {0, 0};
    rig.from_client(
        t0 + ms, 13,
        protocol::status_msg{.file_id = 1, .section = 0, .naks = list, .nak_list = true});
    EXPECT_EQ(rig.proxy.stats().unexpected_in, 1u);
    rig.from_client(t0 + ms, 11, protocol::complete_msg{.file_id = 1});
    rig.from_client(
        t0 + ms, 12,
        protocol::complete_msg{.file_id = 1, .status = protocol::complete_status::rejected});
    rig.proxy.on_timer(t0 + ms + rig.hold());
    const auto statuses = rig.net.of<protocol::status_msg>();
    ASSERT_EQ(statuses.size(), 2u);
    const auto& s0 = std::get<protocol::status_msg>(statuses[0]->d.body);
    EXPECT_EQ(s0.section, 0);
    EXPECT_EQ(std::vector<std::uint8_t>(s0.naks.begin(), s0.naks.end()),
              (std::vector<std::uint8_t>{0x05, 0x01}));
    EXPECT_EQ(std::get<protocol::status_msg>(statuses[1]->d.body).section, 1);
    const auto completes = rig.net.of<protocol::complete_msg>();
    ASSERT_EQ(completes.size(), 2u) << "one per status: normal, rejected";
    EXPECT_EQ(std::get<protocol::complete_msg>(completes[0]->d.body).client_ids,
              std::vector<std::uint32_t>{11});
    EXPECT_EQ(std::get<protocol::complete_msg>(completes[1]->d.body).client_ids,
              std::vector<std::uint32_t>{12});
    EXPECT_EQ(std::get<protocol::complete_msg>(completes[1]->d.body).status,
              protocol::complete_status::rejected);
    EXPECT_EQ(rig.proxy.stats().aggregates_sent, 4u);
    EXPECT_EQ(rig.proxy.next_deadline(), t0 + ms + engine::response_proxy_config{}.session_idle)
        << "nothing held any more";
}

TEST(response_proxy, passes_aborts_on_at_once_and_counts_what_it_does_not_serve) {
    proxy_rig rig;
    rig.announce(t0);
    rig.from_client(t0 + ms, 11, protocol::abort_msg{.host = 0, .message = "Disk full"});
    ASSERT_EQ(rig.net.of<protocol::abort_msg>().size(), 1u);
    const auto& ab = std::get<protocol::abort_msg>(rig.net.of<protocol::abort_msg>()[0]->d.body);
    EXPECT_EQ(ab.host, 11u) << "names the client";
    EXPECT_EQ(ab.message, "Disk full");

    // Answers for a session whose ANNOUNCE it never heard: dropped.
    rig.proxy.on_datagram(t0 + ms, {.address = 11},
                          client_datagram(11, 0x99, protocol::register_msg{}));
    EXPECT_EQ(rig.proxy.stats().unknown_session, 1u);
    // An encrypted session is not served.
    proxy_rig enc;
    enc.announce(t0, true);
    EXPECT_EQ(enc.proxy.sessions(), 0u);
    EXPECT_EQ(enc.proxy.stats().encrypted_not_served, 1u);
    // At most max_clients (3) clients per session.
    for (std::uint32_t uid = 20; uid < 25; ++uid) {
        rig.from_client(t0 + 2 * ms, uid, protocol::register_msg{});
    }
    EXPECT_EQ(rig.proxy.stats().clients_full, 2u);
    // Garbage, and messages a response proxy never takes.
    const std::uint8_t junk[3] = {1, 2, 3};
    rig.proxy.on_datagram(t0, {.address = 5}, junk);
    EXPECT_EQ(rig.proxy.stats().malformed_in, 1u);
    rig.from_client(t0 + 3 * ms, 11, protocol::register_msg{.client_ids = {1, 2}});
    EXPECT_EQ(rig.proxy.stats().unexpected_in, 1u) << "a proxy below this one";
    // A session silent for session_idle is forgotten.
    rig.proxy.on_timer(t0 + 2 * ms + engine::response_proxy_config{}.session_idle);
    EXPECT_EQ(rig.proxy.sessions(), 0u);
    EXPECT_EQ(rig.proxy.stats().sessions_expired, 1u);
}

// --- A receiver's response proxy keys (KEY_REQ / PROXY_KEY) --------------------------

constexpr engine::endpoint proxy_addr{.address = 0x0A4D000D, .port = 1044};

// PROXY_KEY and HB_REQ prove a key by signing their nonce.
protocol::bytes nonce_signature(const crypto::private_key& key, std::uint32_t nonce) {
    auto signature = crypto::sign_nonce(key, nonce);
    EXPECT_TRUE(signature.ok());
    return signature.ok() ? std::move(signature).value() : protocol::bytes{};
}

protocol::proxy_key_msg proxy_key_from(const crypto::private_key& key,
                                       const crypto::private_key* dh, std::uint32_t nonce) {
    protocol::proxy_key_msg m{.nonce = nonce, .key_blob = key.blob()};
    if (dh != nullptr) {
        m.dh_blob = dh->blob();
    }
    m.verify = nonce_signature(key, nonce);
    return m;
}

TEST(proxy_key_client, asks_every_5_s_until_a_valid_proxy_key_and_refuses_forgeries) {
    const auto* curve = crypto::curve_by_id(crypto::default_curve_id);
    ASSERT_NE(curve, nullptr);
    auto proxy_key = crypto::generate_ec_key(*curve);
    auto proxy_dh = crypto::generate_ec_key(*curve);
    auto other_key = crypto::generate_ec_key(*curve);
    ASSERT_TRUE(proxy_key.ok() && proxy_dh.ok() && other_key.ok());

    recording_network net;
    engine::proxy_key_client client(0x0A4D000B, proxy_addr, std::nullopt, net);
    client.start(t0);
    ASSERT_EQ(net.of<protocol::key_req_msg>().size(), 1u);
    EXPECT_EQ(net.sent[0].to, proxy_addr);
    EXPECT_EQ(net.sent[0].d.header.src_id, 0x0A4D000Bu);
    EXPECT_EQ(net.sent[0].d.header.group_id, 0u) << "KEY_REQ names no session";
    EXPECT_EQ(client.next_deadline(), t0 + engine::proxy_key_client::request_interval);
    client.on_timer(client.next_deadline());
    EXPECT_EQ(net.of<protocol::key_req_msg>().size(), 2u);

    // A PROXY_KEY whose nonce is signed by another key than the one it carries.
    auto forged = proxy_key_from(*proxy_key, &*proxy_dh, 7);
    forged.verify = proxy_key_from(*other_key, nullptr, 7).verify;
    client.on_proxy_key(t0 + 6 * engine::ns_per_second, proxy_addr, forged);
    EXPECT_EQ(client.stats().signature_bad, 1u);
    EXPECT_EQ(client.keys(), nullptr);
    // A good one from another address (another proxy's answer to its clients).
    client.on_proxy_key(t0, {.address = 0x0A4D000E}, proxy_key_from(*other_key, nullptr, 8));
    EXPECT_EQ(client.stats().wrong_source, 1u);
    EXPECT_EQ(client.keys(), nullptr);
    // Garbage for a key.
    auto junk = proxy_key_from(*proxy_key, nullptr, 9);
    junk.key_blob = {1, 2, 3};
    client.on_proxy_key(t0, proxy_addr, junk);
    EXPECT_EQ(client.stats().malformed_key, 1u);

    // The real one: kept, and no more KEY_REQ.
    client.on_proxy_key(t0, proxy_addr, proxy_key_from(*proxy_key, &*proxy_dh, 10));
    ASSERT_NE(client.keys(), nullptr);
    EXPECT_EQ(client.keys()->key.blob(), proxy_key->blob());
    ASSERT_TRUE(client.keys()->dh.has_value());
    EXPECT_EQ(client.keys()->dh->blob(), proxy_dh->blob());
    EXPECT_EQ(client.stats().accepted, 1u);
    EXPECT_EQ(client.next_deadline(), engine::no_deadline);

    // Pinned: a key of another fingerprint is refused, however well signed.
    recording_network net2;
    engine::proxy_key_client pinned(
        0x0A4D000B, proxy_addr, crypto::public_key::from_blob(proxy_key->blob())->key_fingerprint(),
        net2);
    pinned.on_proxy_key(t0, proxy_addr, proxy_key_from(*other_key, nullptr, 11));
    EXPECT_EQ(pinned.stats().fingerprint_bad, 1u);
    EXPECT_EQ(pinned.keys(), nullptr);
    pinned.on_proxy_key(t0, proxy_addr, proxy_key_from(*proxy_key, &*proxy_dh, 12));
    EXPECT_NE(pinned.keys(), nullptr);
}

// --- Skycast's response proxy in an encrypted session -----------------------------------

// The datagram of the first `Msg` recorded after index `from` whose header
// names `src`.
template <class Msg>
const recorded* first_after(const recording_network& net, std::size_t from, std::uint32_t src) {
    for (std::size_t i = from; i < net.sent.size(); ++i) {
        if (std::holds_alternative<Msg>(net.sent[i].d.body) && net.sent[i].d.header.src_id == src) {
            return &net.sent[i];
        }
    }
    return nullptr;
}

std::vector<std::uint8_t> sealed(crypto::packet_cipher& pc, const protocol::uftp_header& h,
                                 const protocol::message& m, std::uint64_t iv) {
    std::vector<std::uint8_t> out(protocol::max_datagram_size);
    std::vector<std::uint8_t> scratch(protocol::max_datagram_size);
    const auto n = crypto::seal_message(pc, h, m, iv, scratch, out);
    EXPECT_TRUE(n.ok());
    out.resize(n.ok() ? *n : 0);
    return out;
}

// A hub that takes our proxy, ECDH-ECDSA P-256 and AES-128-GCM, and the
// proxy's P-256 key and ECDH key.
struct ec_session {
    engine::sender_config hub;
    std::shared_ptr<const crypto::private_key> proxy_key;
    std::shared_ptr<const crypto::private_key> proxy_dh;
};

ec_session make_ec_session() {
    const auto* curve = crypto::curve_by_id(crypto::default_curve_id);
    EXPECT_NE(curve, nullptr);
    auto server_key = crypto::generate_ec_key(*curve);
    auto proxy_key = crypto::generate_ec_key(*curve);
    auto proxy_dh = crypto::generate_ec_key(*curve);
    EXPECT_TRUE(server_key.ok() && proxy_key.ok() && proxy_dh.ok());
    ec_session e{.hub = with_proxy({})};
    e.hub.encryption = {
        .keyex = protocol::keyexchange_type::ecdh_ecdsa,
        .cipher = protocol::key_type::aes128_gcm,
        .key = std::make_shared<const crypto::private_key>(std::move(server_key).value())};
    e.proxy_key = std::make_shared<const crypto::private_key>(std::move(proxy_key).value());
    e.proxy_dh = std::make_shared<const crypto::private_key>(std::move(proxy_dh).value());
    return e;
}

// How long a response proxy holds a session's private group without an
// ANNOUNCE, and lets a client stay unproved: ten GRTTs, at least 5 s.
time_ns proxy_group_hold() {
    return 5 * engine::ns_per_second;
}

// A Skycast hub's encrypted session, started at t0, and our response proxy,
// which has taken its ANNOUNCE.
struct encrypted_proxy_rig {
    explicit encrypted_proxy_rig(const ec_session& e)
        : hub(e.hub, {{.name = "f", .size = 13000}}),
          proxy({.proxy_id = proxy_uid, .key = e.proxy_key, .ecdh_key = e.proxy_dh}, net, groups) {
        hub.sender.start(t0);
        proxy.on_datagram(t0, server_at, announce().raw);
    }
    // A copy: the hub's record grows (and moves) as it sends.
    recorded announce() const { return *hub.net.of<protocol::announce_msg>().at(0); }
    sender_rig hub;
    recording_network net;
    recording_groups groups;
    engine::response_proxy proxy;
};

TEST(response_proxy, keys_its_clients_in_an_encrypted_session_through_its_own_key_exchange) {
    const ec_session e = make_ec_session();
    const auto& cfg = e.hub;
    const std::uint32_t hub_uid = cfg.sender_id;
    const std::uint32_t private_group = cfg.private_group.address;
    encrypted_proxy_rig rig(e);
    auto& hub = rig.hub;
    auto& net = rig.net;
    auto& groups = rig.groups;
    auto& proxy = rig.proxy;
    const recorded announce = rig.announce();
    time_ns now = t0;
    EXPECT_EQ(proxy.stats().encrypted_sessions, 1u);
    EXPECT_EQ(groups.joined, std::vector<std::uint32_t>{private_group})
        << "to hear the hub's KEYINFO and REG_CONF";

    // A client fetches the proxy's keys; the receivers' own code checks them.
    constexpr std::uint32_t client = 0x0A4D000B;
    constexpr engine::endpoint client_at{.address = 0x0A4D000B, .port = 1044};
    proxy.on_datagram(now, client_at, client_datagram(client, 0, protocol::key_req_msg{}));
    ASSERT_EQ(net.of<protocol::proxy_key_msg>().size(), 1u);
    EXPECT_EQ(net.sent.back().to, client_at);
    recording_network client_net;
    engine::proxy_key_client keys(client, proxy_at, std::nullopt, client_net);
    keys.on_proxy_key(
        now, proxy_at,
        std::get<protocol::proxy_key_msg>(net.of<protocol::proxy_key_msg>()[0]->d.body));
    ASSERT_NE(keys.keys(), nullptr);
    ASSERT_TRUE(keys.keys()->dh.has_value());
    proxy.on_datagram(now + 10 * ms, client_at,
                      client_datagram(client, 0, protocol::key_req_msg{}));
    EXPECT_EQ(proxy.stats().key_requests_limited, 1u) << "one PROXY_KEY a second per source";

    // The client's key exchange is with the proxy's ECDH key, as a
    // receiver_engine behind a response proxy makes it.
    const protocol::enc_info_ext enc = *std::get<protocol::announce_msg>(announce.d.body).enc_info;
    auto suite = crypto::make_suite(enc.keytype, enc.hashtype, enc.sigtype);
    ASSERT_TRUE(suite.ok());
    const std::uint8_t addr[4] = {0xE6, 0x05, 0x05, 0x01};
    const auto handshake_with_proxy = [&](engine::client_handshake& hs) {
        return engine::begin_client_handshake({.suite = &*suite,
                                               .keyex = enc.keyextype,
                                               .peer = &*keys.keys()->dh,
                                               .rand1 = enc.rand1,
                                               .group_id = 0x77,
                                               .private_addr = addr,
                                               .unix_time = 1'700'000'000},
                                              hs);
    };
    engine::client_handshake hs;
    ASSERT_EQ(handshake_with_proxy(hs), "");
    proxy.on_datagram(
        now, client_at,
        client_datagram(client, 0x77,
                        protocol::register_msg{.rand2 = hs.rand2, .key_info = hs.key_info}));

    // One GRTT later the proxy registers for it, with a key exchange of its own.
    now = proxy.next_deadline();
    proxy.on_timer(now);
    const recorded* reg = first_after<protocol::register_msg>(net, 0, proxy_uid);
    ASSERT_NE(reg, nullptr);
    EXPECT_EQ(std::get<protocol::register_msg>(reg->d.body).client_ids,
              std::vector<std::uint32_t>{client});
    EXPECT_NE(std::get<protocol::register_msg>(reg->d.body).key_info, hs.key_info);
    hub.sender.on_datagram(now, proxy_at, reg->raw);

    // The hub keys the proxy (KEYINFO) and confirms its client (REG_CONF).
    ASSERT_EQ(hub.net.of<protocol::keyinfo_msg>().size(), 1u);
    ASSERT_FALSE(hub.net.of<protocol::reg_conf_msg>().empty());
    const std::size_t mark = net.sent.size();
    // A REG_CONF in the hub's name from elsewhere: nobody is confirmed by it.
    proxy.on_datagram(now, {.address = 0x0A4D00EE, .port = 1044},
                      hub.net.of<protocol::reg_conf_msg>().back()->raw);
    EXPECT_EQ(proxy.stats().server_spoofed, 1u);
    EXPECT_EQ(proxy.stats().keyinfo_sent, 0u);
    const std::vector<std::uint8_t> reg_conf = hub.net.of<protocol::reg_conf_msg>().back()->raw;
    proxy.on_datagram(now, server_at, hub.net.of<protocol::keyinfo_msg>()[0]->raw);
    EXPECT_EQ(proxy.stats().keyinfo_in, 1u);

    // The proxy's KEYINFO_ACK, sealed, satisfies the hub.
    const recorded* ack = first_after<protocol::encrypted_msg>(net, mark, proxy_uid);
    ASSERT_NE(ack, nullptr);
    EXPECT_EQ(ack->to, server_at);
    hub.sender.on_datagram(now, proxy_at, ack->raw);
    EXPECT_EQ(hub.sender.stats().keyinfo_acks, 1u);

    // A second client registers; the hub has not heard of it yet.
    constexpr std::uint32_t client2 = 0x0A4D000C;
    engine::client_handshake hs2;
    ASSERT_EQ(handshake_with_proxy(hs2), "");
    proxy.on_datagram(
        now, {.address = client2, .port = 1044},
        client_datagram(client2, 0x77,
                        protocol::register_msg{.rand2 = hs2.rand2, .key_info = hs2.key_info}));

    // The hub's REG_CONF is lost, and its sealed traffic begins. Its
    // FILEINFO lists the first client, under the group keys: the hub's word
    // that it took it (a stock server sends no REG_CONF again once its
    // announce phase is over). That client gets its KEYINFO.
    for (time_ns t = now; hub.net.of<protocol::encrypted_msg>().empty() &&
                          hub.sender.next_deadline() != engine::no_deadline &&
                          t < now + 10'000 * ms;) {
        t = hub.sender.next_deadline();
        hub.sender.on_timer(t);
    }
    ASSERT_FALSE(hub.net.of<protocol::encrypted_msg>().empty());
    const std::vector<std::uint8_t> hub_sealed = hub.net.of<protocol::encrypted_msg>()[0]->raw;
    proxy.on_datagram(now, server_at, hub_sealed);
    EXPECT_EQ(proxy.stats().server_sealed_ignored, 1u);
    EXPECT_EQ(proxy.stats().clients_confirmed_by_listing, 1u);
    EXPECT_EQ(proxy.stats().keyinfo_sent, 1u);
    // The second client still waits: the proxy stays in the private group,
    // where the hub's REG_CONF or sealed listing for it will come.
    EXPECT_TRUE(groups.left.empty()) << "left with a client waiting for its REG_CONF";
    // The REG_CONF after all, and a copy: the first client waits for its round.
    proxy.on_datagram(now, server_at, reg_conf);
    proxy.on_datagram(now, server_at, reg_conf);
    EXPECT_EQ(proxy.stats().keyinfo_sent, 1u);

    // The client's KEYINFO comes in the hub's name, to the private group,
    // and opens with the client's key block to the hub's group keys.
    const recorded* ki = first_after<protocol::keyinfo_msg>(net, mark, hub_uid);
    ASSERT_NE(ki, nullptr);
    EXPECT_EQ(ki->to.address, private_group);
    const auto& k = std::get<protocol::keyinfo_msg>(ki->d.body);
    ASSERT_EQ(k.entries.size(), 1u);
    EXPECT_EQ(k.entries[0].dest_id, client);
    auto keyed =
        engine::open_keyinfo_entry(*suite, hs, hub_uid, k.iv_ctr, k.entries[0].group_master, {});
    ASSERT_TRUE(keyed.ok());
    auto client_cipher = crypto::packet_cipher::create(*suite, keyed->group_block);
    ASSERT_TRUE(client_cipher.ok());
    const protocol::uftp_header from_client{.src_id = client, .group_id = 0x77};
    // The proxy's own seal opens with them: the hub's group keys are the proxy's.
    std::vector<std::uint8_t> plain(protocol::max_datagram_size);
    EXPECT_TRUE(crypto::open_message(*client_cipher, ack->raw, plain).ok());

    // A KEYINFO_ACK with the wrong verify data is not taken; the right one is.
    auto wrong = keyed->ack_verify;
    wrong[0] ^= 1;
    proxy.on_datagram(
        now, client_at,
        sealed(*client_cipher, from_client, protocol::keyinfo_ack_msg{.verify_data = wrong}, 1));
    EXPECT_EQ(proxy.stats().keyinfo_ack_bad, 1u);
    proxy.on_datagram(now, client_at,
                      sealed(*client_cipher, from_client,
                             protocol::keyinfo_ack_msg{.verify_data = keyed->ack_verify}, 2));
    EXPECT_EQ(proxy.stats().keyinfo_acks, 1u);

    // Its sealed FILEINFO_ACK goes on sealed, under the proxy's UID, listing it.
    const std::size_t mark2 = net.sent.size();
    proxy.on_datagram(
        now, client_at,
        sealed(*client_cipher, from_client, protocol::fileinfo_ack_msg{.file_id = 1}, 3));
    now = proxy.next_deadline();
    proxy.on_timer(now);
    const recorded* up = first_after<protocol::encrypted_msg>(net, mark2, proxy_uid);
    ASSERT_NE(up, nullptr);
    auto opened = crypto::open_message(*client_cipher, up->raw, plain);
    ASSERT_TRUE(opened.ok());
    ASSERT_TRUE(std::holds_alternative<protocol::fileinfo_ack_msg>(opened->body));
    EXPECT_EQ(std::get<protocol::fileinfo_ack_msg>(opened->body).client_ids,
              std::vector<std::uint32_t>{client});
    // In the clear it is refused; so is anything that does not open.
    const std::uint8_t none[1] = {0};
    proxy.on_datagram(
        now, client_at,
        client_datagram(client, 0x77, protocol::status_msg{.file_id = 1, .naks = none}));
    EXPECT_EQ(proxy.stats().plaintext_refused, 1u);
    auto tampered = sealed(*client_cipher, from_client, protocol::complete_msg{.file_id = 1}, 4);
    tampered.back() ^= 1;
    proxy.on_datagram(now, client_at, tampered);
    EXPECT_EQ(proxy.stats().decrypt_failed, 1u);

    // A REGISTER sealed: never (it carries the key exchange).
    proxy.on_datagram(now, client_at,
                      sealed(*client_cipher, from_client, protocol::register_msg{}, 5));
    EXPECT_EQ(proxy.stats().unexpected_in, 1u);

    // The hub's sealed DONE lists the second client: it is keyed, and with
    // every client confirmed registration is over and the group is left.
    // Only a datagram that opens with the group keys counts.
    auto forged = sealed(*client_cipher, {.src_id = hub_uid, .group_id = 0x77},
                         protocol::done_msg{.file_id = 1, .client_ids = {client2}}, 6);
    forged.back() ^= 1;
    proxy.on_datagram(now, server_at, forged);
    EXPECT_TRUE(groups.left.empty());
    EXPECT_EQ(proxy.stats().clients_confirmed_by_listing, 1u);
    proxy.on_datagram(now, server_at,
                      sealed(*client_cipher, {.src_id = hub_uid, .group_id = 0x77},
                             protocol::done_msg{.file_id = 1, .client_ids = {client2}}, 7));
    EXPECT_EQ(proxy.stats().server_sealed_ignored, 2u);
    EXPECT_EQ(proxy.stats().clients_confirmed_by_listing, 2u);
    EXPECT_EQ(proxy.stats().keyinfo_sent, 2u);
    EXPECT_EQ(groups.left, std::vector<std::uint32_t>{private_group});
}

TEST(response_proxy, lists_a_client_upstream_only_once_its_client_key_proves_its_key) {
    ec_session e = make_ec_session();
    e.hub.encryption.client_auth = true;
    e.hub.proxies = {{.uid = proxy_uid, .pinned = false}};
    encrypted_proxy_rig rig(e);
    const recorded announce = rig.announce();
    time_ns now = t0;
    ASSERT_EQ(rig.proxy.stats().encrypted_sessions, 1u);

    const protocol::enc_info_ext enc = *std::get<protocol::announce_msg>(announce.d.body).enc_info;
    auto suite = crypto::make_suite(enc.keytype, enc.hashtype, enc.sigtype);
    auto dh = e.proxy_dh->public_part();
    auto client_key = crypto::generate_ec_key(*crypto::curve_by_id(crypto::default_curve_id));
    auto other_key = crypto::generate_ec_key(*crypto::curve_by_id(crypto::default_curve_id));
    ASSERT_TRUE(suite.ok() && dh.ok() && client_key.ok() && other_key.ok());
    const std::uint8_t addr[4] = {0xE6, 0x05, 0x05, 0x01};
    auto handshake = [&](std::uint32_t uid, engine::client_handshake& hs) {
        ASSERT_EQ(engine::begin_client_handshake({.suite = &*suite,
                                                  .keyex = enc.keyextype,
                                                  .peer = &*dh,
                                                  .rand1 = enc.rand1,
                                                  .group_id = 0x77,
                                                  .private_addr = addr},
                                                 hs),
                  "");
        rig.proxy.on_datagram(
            now, {.address = uid},
            client_datagram(uid, 0x77,
                            protocol::register_msg{.rand2 = hs.rand2, .key_info = hs.key_info}));
    };
    auto client_key_msg = [&](const crypto::private_key& key, const engine::client_handshake& hs) {
        protocol::client_key_msg m{.key_blob = client_key->blob()};
        m.verify.resize(key.signature_size());
        const std::span<const std::uint8_t> parts[] = {hs.vd1.span()};
        EXPECT_TRUE(crypto::sign(key, enc.hashtype, parts, m.verify).ok());
        return m;
    };
    constexpr std::uint32_t client = 0x0A4D000B;
    engine::client_handshake hs;
    handshake(client, hs);
    // Without its CLIENT_KEY it is not listed upstream; with one signed by
    // another key than it carries, it is dropped.
    EXPECT_EQ(rig.proxy.next_deadline(), now + proxy_group_hold()) << "only the unproved sweep";
    rig.proxy.on_datagram(now, {.address = client},
                          client_datagram(client, 0x77, client_key_msg(*other_key, hs)));
    EXPECT_EQ(rig.proxy.stats().client_key_bad, 1u);
    handshake(client, hs);
    rig.proxy.on_datagram(now, {.address = client},
                          client_datagram(client, 0x77, client_key_msg(*client_key, hs)));
    EXPECT_EQ(rig.proxy.stats().client_keys_in, 2u);
    now = rig.proxy.next_deadline();
    rig.proxy.on_timer(now);
    const recorded* reg = first_after<protocol::register_msg>(rig.net, 0, proxy_uid);
    ASSERT_NE(reg, nullptr);
    EXPECT_EQ(std::get<protocol::register_msg>(reg->d.body).client_ids,
              std::vector<std::uint32_t>{client});
    const recorded* own = first_after<protocol::client_key_msg>(rig.net, 0, proxy_uid);
    ASSERT_NE(own, nullptr) << "our own CLIENT_KEY follows our REGISTER";
    EXPECT_EQ(std::get<protocol::client_key_msg>(own->d.body).key_blob, e.proxy_key->blob());

    // The hub takes our REGISTER and CLIENT_KEY and keys us; we key the
    // client, whose KEYINFO_ACK covers its key blob (spec §5.7).
    rig.hub.sender.on_datagram(now, proxy_at, reg->raw);
    rig.hub.sender.on_datagram(now, proxy_at, own->raw);
    ASSERT_EQ(rig.hub.net.of<protocol::keyinfo_msg>().size(), 1u)
        << "the hub checked our CLIENT_KEY";
    const std::size_t mark = rig.net.sent.size();
    rig.proxy.on_datagram(now, server_at, rig.hub.net.of<protocol::keyinfo_msg>()[0]->raw);
    rig.proxy.on_datagram(now, server_at, rig.hub.net.of<protocol::reg_conf_msg>().back()->raw);
    const recorded* ki = first_after<protocol::keyinfo_msg>(rig.net, mark, e.hub.sender_id);
    ASSERT_NE(ki, nullptr);
    const auto& k = std::get<protocol::keyinfo_msg>(ki->d.body);
    auto keyed = engine::open_keyinfo_entry(*suite, hs, e.hub.sender_id, k.iv_ctr,
                                            k.entries.at(0).group_master, client_key->blob());
    ASSERT_TRUE(keyed.ok());
    auto pc = crypto::packet_cipher::create(*suite, keyed->group_block);
    ASSERT_TRUE(pc.ok());
    rig.proxy.on_datagram(now, {.address = client},
                          sealed(*pc, {.src_id = client, .group_id = 0x77},
                                 protocol::keyinfo_ack_msg{.verify_data = keyed->ack_verify}, 1));
    EXPECT_EQ(rig.proxy.stats().keyinfo_acks, 1u);

    // A client that registers and never proves its key: never listed,
    // given up after the registration window, its slot free again.
    engine::client_handshake lazy;
    handshake(client + 1, lazy);
    // An all-zero KEYINFO_ACK in its name: no expected value, so refused.
    rig.proxy.on_datagram(
        now, {.address = client + 1},
        sealed(*pc, {.src_id = client + 1, .group_id = 0x77}, protocol::keyinfo_ack_msg{}, 2));
    EXPECT_EQ(rig.proxy.stats().keyinfo_ack_bad, 1u);
    rig.proxy.on_timer(now + proxy_group_hold());
    EXPECT_EQ(rig.proxy.stats().clients_unproved, 1u);
    EXPECT_EQ(rig.proxy.clients(), 1u);
}

TEST(response_proxy, gives_up_a_client_that_never_acknowledges_its_keyinfo) {
    auto proxy_key = crypto::generate_rsa_key(1024);
    auto server_key = crypto::generate_rsa_key(1024);
    ASSERT_TRUE(proxy_key.ok() && server_key.ok());
    auto cfg = with_proxy({});
    cfg.encryption = {
        .keyex = protocol::keyexchange_type::rsa,
        .cipher = protocol::key_type::aes256_gcm,
        .key = std::make_shared<const crypto::private_key>(std::move(server_key).value())};
    sender_rig hub(cfg, {{.name = "f", .size = 13000}});
    time_ns now = t0;
    hub.sender.start(now);
    // A copy: the hub's record grows (and moves) as it sends.
    const recorded announce = *hub.net.of<protocol::announce_msg>()[0];
    recording_network net;
    recording_groups groups;
    auto key = std::make_shared<const crypto::private_key>(std::move(proxy_key).value());
    engine::response_proxy proxy({.proxy_id = proxy_uid, .key = key, .keyinfo_rounds = 3}, net,
                                 groups);
    proxy.on_datagram(now, server_at, announce.raw);
    ASSERT_EQ(proxy.stats().encrypted_sessions, 1u);
    // The client encrypts its premaster to the proxy's RSA key.
    const protocol::enc_info_ext enc = *std::get<protocol::announce_msg>(announce.d.body).enc_info;
    auto suite = crypto::make_suite(enc.keytype, enc.hashtype, enc.sigtype);
    auto proxy_public = key->public_part();
    ASSERT_TRUE(suite.ok() && proxy_public.ok());
    const std::uint8_t addr[4] = {0xE6, 0x05, 0x05, 0x01};
    engine::client_handshake hs;
    ASSERT_EQ(engine::begin_client_handshake({.suite = &*suite,
                                              .keyex = enc.keyextype,
                                              .peer = &*proxy_public,
                                              .rand1 = enc.rand1,
                                              .group_id = 0x77,
                                              .private_addr = addr},
                                             hs),
              "");
    constexpr std::uint32_t client = 0x0A4D000B;
    proxy.on_datagram(
        now, {.address = client},
        client_datagram(client, 0x77,
                        protocol::register_msg{.rand2 = hs.rand2, .key_info = hs.key_info}));
    // A REGISTER without key info in an encrypted session is refused.
    proxy.on_datagram(now, {.address = client + 1},
                      client_datagram(client + 1, 0x77, protocol::register_msg{}));
    EXPECT_EQ(proxy.stats().key_info_bad, 1u);
    now = proxy.next_deadline();
    proxy.on_timer(now);
    hub.sender.on_datagram(now, proxy_at,
                           first_after<protocol::register_msg>(net, 0, proxy_uid)->raw);
    proxy.on_datagram(now, server_at, hub.net.of<protocol::keyinfo_msg>()[0]->raw);
    proxy.on_datagram(now, server_at, hub.net.of<protocol::reg_conf_msg>().back()->raw);
    // KEYINFO every 2 GRTT, three times, then the client is given up and
    // the hub told, in a sealed ABORT naming it.
    for (int round = 0; round < 3; ++round) {
        now = proxy.next_deadline();
        proxy.on_timer(now);
    }
    std::size_t keyinfos = 0;
    for (const auto& r : net.sent) {
        keyinfos += std::holds_alternative<protocol::keyinfo_msg>(r.d.body) ? 1 : 0;
    }
    EXPECT_EQ(keyinfos, 3u);
    EXPECT_EQ(proxy.stats().clients_unkeyed, 1u);
    ASSERT_TRUE(std::holds_alternative<protocol::encrypted_msg>(net.sent.back().d.body));
    const std::size_t before = hub.sender.stats().aborts_in;
    hub.sender.on_datagram(now, proxy_at, net.sent.back().raw);
    EXPECT_EQ(hub.sender.stats().aborts_in, before + 1) << "the hub takes the proxy's sealed ABORT";
    EXPECT_EQ(hub.sender.stats().clients_aborted, 1u);

    // Its slot is free again, zeroed: a client taking it gets its own keys.
    // And with the hub silent on the public group, the private group is
    // left once the registration window has passed.
    EXPECT_TRUE(groups.left.empty());
    now = proxy.next_deadline();
    proxy.on_timer(now);
    EXPECT_EQ(proxy.stats().groups_left_idle, 1u);
    EXPECT_EQ(groups.left, groups.joined);
}

TEST(response_proxy, holds_no_more_private_groups_than_the_dataplane_has_room_for) {
    auto proxy_key = crypto::generate_rsa_key(1024);
    ASSERT_TRUE(proxy_key.ok());
    recording_network net;
    recording_groups groups;
    engine::response_proxy proxy(
        {.proxy_id = proxy_uid,
         .key = std::make_shared<const crypto::private_key>(std::move(proxy_key).value()),
         .max_joined_groups = 2},
        net, groups);
    for (std::uint32_t group = 1; group <= 3; ++group) {
        auto server_key = crypto::generate_rsa_key(1024);
        ASSERT_TRUE(server_key.ok());
        auto cfg = with_proxy({});
        cfg.group_id = group;
        cfg.encryption = {
            .keyex = protocol::keyexchange_type::rsa,
            .key = std::make_shared<const crypto::private_key>(std::move(server_key).value())};
        sender_rig hub(cfg, {{.name = "f", .size = 1}});
        hub.sender.start(t0);
        proxy.on_datagram(t0, server_at, hub.net.of<protocol::announce_msg>()[0]->raw);
    }
    EXPECT_EQ(proxy.stats().encrypted_sessions, 2u);
    EXPECT_EQ(proxy.stats().group_join_failed, 1u);
    EXPECT_EQ(groups.joined.size(), 2u);
    // A flood of KEY_REQs from ever new addresses: a bounded answer rate.
    for (std::uint32_t a = 1; a <= 150; ++a) {
        proxy.on_datagram(t0, {.address = 0x0B000000 + a},
                          client_datagram(a, 0, protocol::key_req_msg{}));
    }
    EXPECT_EQ(proxy.stats().proxy_keys_sent, 100u);
    EXPECT_EQ(proxy.stats().key_requests_limited, 50u);
}

// --- Skycast's server proxy ----------------------------------------------------------

class recording_forwarding : public engine::forwarding_port {
public:
    bool forward(std::uint32_t source, std::uint32_t group_id, engine::endpoint to,
                 bool tap_sealed) override {
        const auto key = std::pair(source, group_id);
        if (rules.size() >= room && !rules.contains(key)) {
            return false;
        }
        rules[key] = to;
        if (tap_sealed) {
            tapped.insert(key);
        } else {
            tapped.erase(key);
        }
        return true;
    }
    void stop_forwarding(std::uint32_t source, std::uint32_t group_id) override {
        rules.erase({source, group_id});
        tapped.erase({source, group_id});
    }
    bool join_group(std::uint32_t group) override {
        ++groups[group];
        return true;
    }
    void leave_group(std::uint32_t group) override {
        if (--groups[group] == 0) {
            groups.erase(group);
        }
    }
    std::size_t room = 16;
    std::map<std::pair<std::uint32_t, std::uint32_t>, engine::endpoint> rules; // (source, group)
    std::set<std::pair<std::uint32_t, std::uint32_t>> tapped; // rules copying sealed datagrams
    std::map<std::uint32_t, int> groups;
};

constexpr engine::endpoint downstream_at{.address = 0x0A4D000C, .port = 1044};
constexpr std::uint32_t private_group = 0xE6050501; // 230.5.5.1

std::uint32_t counting_random() {
    static std::uint32_t next = 0x1000;
    return ++next;
}

struct server_proxy_rig {
    explicit server_proxy_rig(engine::server_proxy_config c)
        : proxy(std::move(c), net, fwd, counting_random) {}
    recording_network net;
    recording_forwarding fwd;
    engine::server_proxy proxy;

    std::vector<std::uint8_t> announce_bytes(std::uint32_t group_id = 0x77) const {
        protocol::announce_msg a;
        a.private_addr.bytes = {0xE6, 0x05, 0x05, 0x01};
        a.public_addr.bytes = {0xE6, 0x04, 0x04, 0x01};
        std::vector<std::uint8_t> out(protocol::max_datagram_size);
        const auto n = protocol::encode({.src_id = server_uid, .group_id = group_id}, a, out);
        out.resize(*n);
        return out;
    }
    void heartbeat(engine::endpoint from, const protocol::hb_req_msg& m) {
        std::vector<std::uint8_t> out(protocol::max_datagram_size);
        const auto n = protocol::encode({.src_id = 0x0A4D0101}, m, out);
        out.resize(*n);
        proxy.on_datagram(t0, from, out);
    }
    // The HB_RESP the proxy sent last.
    protocol::hb_resp_msg last_answer() const {
        const auto answers = net.of<protocol::hb_resp_msg>();
        EXPECT_FALSE(answers.empty());
        return answers.empty() ? protocol::hb_resp_msg{}
                               : std::get<protocol::hb_resp_msg>(answers.back()->d.body);
    }
};

TEST(server_proxy, forwards_announces_down_and_answers_up_unchanged_and_nothing_else) {
    server_proxy_rig rig({.proxy_id = 0x0A4D0102, .downstream = downstream_at});
    const auto announce = rig.announce_bytes();
    rig.proxy.on_datagram(t0, server_at, announce);
    // The ANNOUNCE went down as it came; the server's other traffic is the
    // dataplane's to forward, to the same place; its data's group is joined.
    ASSERT_EQ(rig.net.sent.size(), 1u);
    EXPECT_EQ(rig.net.sent[0].to, downstream_at);
    EXPECT_EQ(rig.net.sent[0].raw, announce);
    EXPECT_EQ(rig.fwd.rules, (decltype(rig.fwd.rules){{{server_at.address, 0}, downstream_at}}))
        << "one rule for every session of the server";
    EXPECT_EQ(rig.fwd.groups, (std::map<std::uint32_t, int>{{private_group, 1}}));
    EXPECT_EQ(rig.proxy.sessions(), 1u);

    // The client proxy's REGISTER (for its clients) goes up as it came.
    const auto reg = client_datagram(
        0x0A4D0101, 0x77, protocol::register_msg{.tstamp = stamp_of(t0), .client_ids = {9, 10}});
    rig.proxy.on_datagram(t0 + ms, downstream_at, reg);
    ASSERT_EQ(rig.net.sent.size(), 2u);
    EXPECT_EQ(rig.net.sent[1].to, server_at);
    EXPECT_EQ(rig.net.sent[1].raw, reg);
    EXPECT_EQ(rig.proxy.stats().answers_upstream, 1u);

    // Not from the downstream: the proxy is no relay for anyone to reach the server.
    rig.proxy.on_datagram(t0 + ms, {.address = 0x0A4D0063, .port = 1044}, reg);
    EXPECT_EQ(rig.proxy.stats().not_downstream, 1u);
    // A session it never forwarded, and what a server proxy never takes.
    rig.proxy.on_datagram(t0 + ms, downstream_at,
                          client_datagram(0x0A4D0101, 0x99, protocol::register_msg{}));
    EXPECT_EQ(rig.proxy.stats().unknown_session, 1u);
    rig.proxy.on_datagram(t0 + ms, downstream_at,
                          client_datagram(0x0A4D0101, 0x77, protocol::key_req_msg{}));
    EXPECT_EQ(rig.proxy.stats().unexpected_in, 1u);
    EXPECT_EQ(rig.net.sent.size(), 2u);

    // A server datagram that reached control all the same goes down too.
    const auto done = client_datagram(server_uid, 0x77, protocol::done_msg{.file_id = 1});
    rig.proxy.on_datagram(t0 + 2 * ms, server_at, done);
    ASSERT_EQ(rig.net.sent.size(), 3u);
    EXPECT_EQ(rig.net.sent[2].to, downstream_at);
    EXPECT_EQ(rig.proxy.stats().from_server_late, 1u);

    // A fixed downstream's heartbeats keep a NAT pinhole open: answered OK.
    rig.heartbeat(downstream_at, protocol::hb_req_msg{});
    EXPECT_EQ(rig.last_answer().authenticated, protocol::hb_auth::ok);

    // A second session of the same server shares its rule; silent sessions
    // are forgotten, and with the last one the rule and the group go.
    rig.proxy.on_datagram(t0 + 3 * ms, server_at, rig.announce_bytes(0x78));
    EXPECT_EQ(rig.proxy.sessions(), 2u);
    EXPECT_EQ(rig.proxy.servers(), 1u);
    EXPECT_EQ(rig.fwd.groups.at(private_group), 2);
    const time_ns idle = engine::server_proxy_config{}.session_idle;
    EXPECT_EQ(rig.proxy.next_deadline(), t0 + ms + idle) << "the REGISTER refreshed the first";
    rig.proxy.on_timer(t0 + ms + idle);
    EXPECT_EQ(rig.proxy.sessions(), 1u);
    EXPECT_EQ(rig.fwd.rules.size(), 1u);
    rig.proxy.on_timer(t0 + 3 * ms + idle);
    EXPECT_EQ(rig.proxy.sessions(), 0u);
    EXPECT_TRUE(rig.fwd.rules.empty());
    EXPECT_TRUE(rig.fwd.groups.empty());
    EXPECT_EQ(rig.proxy.stats().sessions_expired, 2u);

    // No room for another server's rule: the session is not served.
    rig.fwd.room = 0;
    rig.proxy.on_datagram(t0 + 4 * ms, server_at, announce);
    EXPECT_EQ(rig.proxy.stats().servers_full, 1u);
    EXPECT_EQ(rig.proxy.sessions(), 0u);
    EXPECT_TRUE(rig.fwd.groups.empty());
    // Garbage.
    const std::uint8_t junk[3] = {1, 2, 3};
    rig.proxy.on_datagram(t0, server_at, junk);
    EXPECT_EQ(rig.proxy.stats().malformed_in, 1u);
}

TEST(server_proxy, learns_its_downstream_only_from_a_heartbeat_that_proves_the_key) {
    const auto* curve = crypto::curve_by_id(crypto::default_curve_id);
    ASSERT_NE(curve, nullptr);
    auto cproxy_key = crypto::generate_ec_key(*curve);
    auto other_key = crypto::generate_ec_key(*curve);
    ASSERT_TRUE(cproxy_key.ok() && other_key.ok());
    const auto fp = crypto::public_key::from_blob(cproxy_key->blob())->key_fingerprint();
    server_proxy_rig rig({.proxy_id = 0x0A4D0102, .downstream_fingerprint = fp});

    // No downstream yet: an ANNOUNCE has nowhere to go.
    rig.proxy.on_datagram(t0, server_at, rig.announce_bytes());
    EXPECT_EQ(rig.proxy.stats().no_downstream, 1u);
    EXPECT_TRUE(rig.net.sent.empty());
    EXPECT_TRUE(rig.fwd.rules.empty());

    // Unauthenticated: challenged, trusted with nothing.
    constexpr engine::endpoint natted{.address = 0x0A4D000C, .port = 40123};
    rig.heartbeat(natted, protocol::hb_req_msg{});
    auto answer = rig.last_answer();
    EXPECT_EQ(answer.authenticated, protocol::hb_auth::challenge);
    const std::uint32_t nonce = answer.nonce;
    EXPECT_NE(nonce, 0u);
    EXPECT_EQ(rig.proxy.stats().heartbeats_unauthenticated, 1u);
    EXPECT_EQ(rig.proxy.stats().heartbeats_challenged, 1u);
    EXPECT_FALSE(rig.proxy.downstream().has_value());

    // Another key, well signed over the nonce: refused.
    rig.heartbeat(natted, {.nonce = nonce,
                           .key_blob = other_key->blob(),
                           .verify = nonce_signature(*other_key, nonce)});
    EXPECT_EQ(rig.last_answer().authenticated, protocol::hb_auth::failed);
    // The right key, signed over another nonce: refused.
    rig.heartbeat(natted, {.nonce = nonce,
                           .key_blob = cproxy_key->blob(),
                           .verify = nonce_signature(*cproxy_key, nonce + 1)});
    EXPECT_EQ(rig.last_answer().authenticated, protocol::hb_auth::failed);
    EXPECT_EQ(rig.proxy.stats().heartbeats_refused, 2u);
    EXPECT_FALSE(rig.proxy.downstream().has_value());

    // The right key over the challenged nonce: the downstream is where it came from.
    const protocol::hb_req_msg proof{.nonce = nonce,
                                     .key_blob = cproxy_key->blob(),
                                     .verify = nonce_signature(*cproxy_key, nonce)};
    rig.heartbeat(natted, proof);
    EXPECT_EQ(rig.last_answer().authenticated, protocol::hb_auth::ok);
    EXPECT_EQ(rig.proxy.downstream(), std::optional(natted));
    EXPECT_EQ(rig.proxy.stats().heartbeats_accepted, 1u);
    // The same proof again (a replay from elsewhere): its nonce is spent.
    rig.heartbeat({.address = 0x0A4D0063, .port = 1044}, proof);
    EXPECT_EQ(rig.last_answer().authenticated, protocol::hb_auth::challenge);
    EXPECT_EQ(rig.proxy.downstream(), std::optional(natted));

    // Now sessions go there.
    rig.proxy.on_datagram(t0 + ms, server_at, rig.announce_bytes());
    ASSERT_EQ(rig.net.of<protocol::announce_msg>().size(), 1u);
    EXPECT_EQ(rig.net.of<protocol::announce_msg>()[0]->to, natted);
    EXPECT_EQ(rig.fwd.rules.at({server_at.address, 0}), natted);

    // The NAT gave it a new port: a new proof moves the forwarding with it.
    const std::uint32_t next = rig.last_answer().nonce;
    constexpr engine::endpoint moved{.address = 0x0A4D000C, .port = 40999};
    rig.heartbeat(moved, {.nonce = next,
                          .key_blob = cproxy_key->blob(),
                          .verify = nonce_signature(*cproxy_key, next)});
    EXPECT_EQ(rig.last_answer().authenticated, protocol::hb_auth::ok);
    EXPECT_EQ(rig.fwd.rules.at({server_at.address, 0}), moved);
    EXPECT_EQ(rig.proxy.stats().downstream_changes, 2u);
}

// --- Heartbeats sent (stock -H) -------------------------------------------------------

TEST(heartbeat_sender, answers_a_challenge_with_its_signature_which_a_server_proxy_takes) {
    const auto* curve = crypto::curve_by_id(crypto::default_curve_id);
    ASSERT_NE(curve, nullptr);
    auto key = crypto::generate_ec_key(*curve);
    ASSERT_TRUE(key.ok());
    const auto fp = crypto::public_key::from_blob(key->blob())->key_fingerprint();
    const auto shared_key = std::make_shared<const crypto::private_key>(std::move(key).value());

    // Our heartbeats go through a recording network; a real server proxy
    // (pinning our key) answers them, through another.
    recording_network net;
    engine::heartbeat_sender hb(0x0A4D0101, {server_at}, 20 * engine::ns_per_second, shared_key,
                                net);
    server_proxy_rig sp({.proxy_id = 0x0A4D0102, .downstream_fingerprint = fp});
    constexpr engine::endpoint us{.address = 0x0A4D00FE, .port = 1044};
    // Hands every heartbeat sent so far to the server proxy, and its answers back.
    std::size_t relayed = 0, answered = 0;
    auto relay = [&] {
        while (relayed < net.sent.size()) {
            sp.proxy.on_datagram(t0, us, net.sent[relayed++].raw);
        }
        const auto answers = sp.net.of<protocol::hb_resp_msg>();
        while (answered < answers.size()) {
            hb.on_response(t0, server_at,
                           std::get<protocol::hb_resp_msg>(answers[answered++]->d.body));
        }
    };
    hb.start(t0);
    ASSERT_EQ(net.of<protocol::hb_req_msg>().size(), 1u);
    EXPECT_EQ(std::get<protocol::hb_req_msg>(net.sent[0].d.body).nonce, 0u) << "unauthenticated";
    for (int i = 0; i < 4; ++i) {
        relay(); // challenge -> signed answer -> OK
    }
    EXPECT_EQ(hb.stats().challenges, 1u);
    EXPECT_EQ(hb.stats().signed_sent, 1u);
    EXPECT_EQ(hb.stats().ok, 1u);
    EXPECT_EQ(hb.accepted(), 1u);
    EXPECT_EQ(sp.proxy.downstream(), std::optional(us));

    // Every interval again: the old nonce is spent, so it is challenged and proves anew.
    EXPECT_EQ(hb.next_deadline(), t0 + 20 * engine::ns_per_second);
    hb.on_timer(hb.next_deadline());
    for (int i = 0; i < 4; ++i) {
        relay();
    }
    EXPECT_EQ(hb.stats().ok, 2u);
    EXPECT_EQ(sp.proxy.stats().heartbeats_accepted, 2u);

    // Without a key a challenge cannot be answered; an answer from a host we
    // never sent to is not ours.
    recording_network net2;
    engine::heartbeat_sender bare(0x0A4D0101, {server_at}, 20 * engine::ns_per_second, nullptr,
                                  net2);
    bare.start(t0);
    bare.on_response(t0, server_at, {.authenticated = protocol::hb_auth::challenge, .nonce = 5});
    EXPECT_EQ(bare.stats().unanswerable, 1u);
    EXPECT_EQ(net2.sent.size(), 1u);
    bare.on_response(t0, {.address = 0x0A4D0063}, {.authenticated = protocol::hb_auth::ok});
    EXPECT_EQ(bare.stats().from_unknown, 1u);
    EXPECT_EQ(bare.accepted(), 0u);
}

// --- Skycast's client proxy ----------------------------------------------------------

TEST(client_proxy, multicasts_the_session_on_its_site_and_answers_upstream_for_its_receivers) {
    recording_network net;
    recording_forwarding fwd;
    constexpr engine::endpoint sproxy{.address = 0x0A4D000B, .port = 1044};
    engine::client_proxy proxy(
        {.aggregation = {.proxy_id = 0x0A4D0101}, .port = 1044, .heartbeat_to = {sproxy}}, net,
        fwd);
    proxy.start(t0);
    EXPECT_EQ(net.of<protocol::hb_req_msg>().size(), 1u) << "a heartbeat to the server proxy";

    // The server proxy delivers the ANNOUNCE unicast: multicast again on
    // the public group here, the rest of the session by the dataplane to
    // the private group.
    server_proxy_rig shapes({.proxy_id = 1, .downstream = downstream_at});
    const auto announce = shapes.announce_bytes();
    proxy.on_datagram(t0, sproxy, announce);
    const auto announces = net.of<protocol::announce_msg>();
    ASSERT_EQ(announces.size(), 1u);
    EXPECT_EQ(announces[0]->to, (engine::endpoint{.address = 0xE6040401, .port = 1044}));
    EXPECT_EQ(announces[0]->raw, announce) << "unchanged";
    EXPECT_EQ(fwd.rules, (decltype(fwd.rules){
                             {{sproxy.address, 0x77}, {.address = private_group, .port = 1044}}}));
    EXPECT_EQ(proxy.sessions(), 1u);

    // The receivers answer us; one aggregate goes upstream, to the server proxy.
    proxy.on_datagram(t0 + ms, {.address = 0x0A4E000D, .port = 1044},
                      client_datagram(0x0A4E000D, 0x77, protocol::register_msg{}));
    proxy.on_datagram(t0 + ms, {.address = 0x0A4E000E, .port = 1044},
                      client_datagram(0x0A4E000E, 0x77, protocol::register_msg{}));
    proxy.on_timer(proxy.next_deadline());
    const auto regs = net.of<protocol::register_msg>();
    ASSERT_EQ(regs.size(), 1u);
    EXPECT_EQ(regs[0]->to, sproxy);
    EXPECT_EQ(regs[0]->d.header.src_id, 0x0A4D0101u);
    EXPECT_EQ(std::get<protocol::register_msg>(regs[0]->d.body).client_ids,
              (std::vector<std::uint32_t>{0x0A4E000D, 0x0A4E000E}));

    // Upstream traffic that reached control before the rule: multicast too.
    const auto done = client_datagram(server_uid, 0x77, protocol::done_msg{.file_id = 1});
    proxy.on_datagram(t0 + 2 * ms, sproxy, done);
    EXPECT_EQ(net.sent.back().to, (engine::endpoint{.address = private_group, .port = 1044}));
    EXPECT_EQ(proxy.stats().from_upstream_late, 1u);

    // An encrypted session is not served (its key exchange would be ours).
    protocol::announce_msg enc;
    enc.enc_info.emplace();
    enc.private_addr.bytes = {0xE6, 0x05, 0x05, 0x02};
    enc.public_addr.bytes = {0xE6, 0x04, 0x04, 0x01};
    std::vector<std::uint8_t> out(protocol::max_datagram_size);
    out.resize(*protocol::encode({.src_id = server_uid, .group_id = 0x78}, enc, out));
    proxy.on_datagram(t0, sproxy, out);
    EXPECT_EQ(proxy.stats().encrypted_not_served, 1u);
    EXPECT_EQ(proxy.sessions(), 1u);

    // No rule left: not served. Idle: forgotten, its rule removed.
    fwd.room = 1;
    out.resize(protocol::max_datagram_size);
    out.resize(*protocol::encode(
        {.src_id = server_uid, .group_id = 0x79},
        protocol::announce_msg{.public_addr = enc.public_addr, .private_addr = enc.private_addr},
        out));
    proxy.on_datagram(t0, sproxy, out);
    EXPECT_EQ(proxy.stats().rules_full, 1u);
    proxy.on_timer(t0 + 3 * ms + engine::response_proxy_config{}.session_idle);
    EXPECT_EQ(proxy.sessions(), 0u);
    EXPECT_TRUE(fwd.rules.empty());
}

// A hub's encrypted session (ECDH P-256, AES-128-GCM) reaching Skycast's
// client proxy through a server proxy at `sproxy`.
recorded started_announce(sender_rig& hub) {
    hub.sender.start(t0);
    // A copy: the hub's record grows (and moves) as it sends.
    return *hub.net.of<protocol::announce_msg>()[0];
}

struct encrypted_client_proxy {
    static constexpr engine::endpoint sproxy{.address = 0x0A4D000B, .port = 1044};
    ec_session e = make_ec_session();
    sender_rig hub{e.hub, {{.name = "f", .size = 13000}}};
    recorded announce = started_announce(hub);
    recording_network net;
    recording_forwarding fwd;
    engine::client_proxy proxy{{.aggregation = {.proxy_id = proxy_uid,
                                                .key = e.proxy_key,
                                                .ecdh_key = e.proxy_dh,
                                                .join_private_groups = false},
                                .port = 1044},
                               net,
                               fwd};
};

// A receiver of the proxy's site: its key exchange with the ANNOUNCE the
// proxy multicast (the proxy's keys), sent as its REGISTER.
struct site_receiver {
    crypto::suite suite;
    engine::client_handshake hs;
};
site_receiver register_on_site(encrypted_client_proxy& r, std::uint32_t uid, time_ns at) {
    const auto ours = r.net.of<protocol::announce_msg>();
    EXPECT_FALSE(ours.empty());
    const auto& a = std::get<protocol::announce_msg>(ours.back()->d.body);
    auto suite = crypto::make_suite(a.enc_info->keytype, a.enc_info->hashtype, a.enc_info->sigtype);
    auto their_dh = crypto::public_key::from_blob(a.enc_info->dh_blob);
    EXPECT_TRUE(suite.ok() && their_dh.ok());
    const std::uint8_t addr[4] = {0xE6, 0x05, 0x05, 0x01};
    site_receiver out{.suite = *suite, .hs = {}};
    EXPECT_EQ(engine::begin_client_handshake({.suite = &out.suite,
                                              .keyex = a.enc_info->keyextype,
                                              .peer = &*their_dh,
                                              .rand1 = a.enc_info->rand1,
                                              .group_id = 0x77,
                                              .private_addr = addr},
                                             out.hs),
              "");
    r.proxy.on_datagram(
        at, {.address = uid},
        client_datagram(
            uid, 0x77, protocol::register_msg{.rand2 = out.hs.rand2, .key_info = out.hs.key_info}));
    return out;
}

TEST(client_proxy, signs_an_encrypted_announce_with_its_own_keys_and_keys_its_site_itself) {
    encrypted_client_proxy r;
    const ec_session& e = r.e;
    const auto& cfg = e.hub;
    auto& hub = r.hub;
    const recorded& announce = r.announce;
    auto& net = r.net;
    auto& fwd = r.fwd;
    auto& proxy = r.proxy;
    constexpr engine::endpoint sproxy = encrypted_client_proxy::sproxy;
    const auto& key = e.proxy_key;
    const auto& dh = e.proxy_dh;
    proxy.on_datagram(t0, sproxy, announce.raw);
    EXPECT_EQ(proxy.aggregation().stats().encrypted_sessions, 1u);
    EXPECT_TRUE(fwd.groups.empty()) << "the server's handshake comes from upstream";

    // On our site the ANNOUNCE carries our key and ECDH key, signed by us:
    // what a receiver checks it with. The rest is the server's.
    const auto ours = net.of<protocol::announce_msg>();
    ASSERT_EQ(ours.size(), 1u);
    const protocol::announce_msg a = std::get<protocol::announce_msg>(ours[0]->d.body);
    EXPECT_EQ(a.enc_info->key_blob, key->blob());
    EXPECT_EQ(a.enc_info->dh_blob, dh->blob());
    const protocol::announce_msg theirs = std::get<protocol::announce_msg>(announce.d.body);
    EXPECT_EQ(a.enc_info->rand1, theirs.enc_info->rand1) << "the group keys stay the server's";
    EXPECT_EQ(ours[0]->d.header, announce.d.header);
    auto verifier = key->public_part();
    ASSERT_TRUE(verifier.ok());
    EXPECT_EQ(crypto::verify_datagram(*verifier, a.enc_info->hashtype, ours[0]->raw,
                                      protocol::announce_signature_offset(a),
                                      a.enc_info->signature.size()),
              crypto::crypto_error::ok);

    // The server's KEYINFO (via the server proxy) is ours alone: taken, not
    // multicast; its REG_CONF is multicast on as ever.
    constexpr std::uint32_t client = 0x0A4E000D;
    const site_receiver rcv = register_on_site(r, client, t0 + ms);
    time_ns now = proxy.next_deadline();
    proxy.on_timer(now);
    const recorded* reg = first_after<protocol::register_msg>(net, 0, proxy_uid);
    ASSERT_NE(reg, nullptr);
    EXPECT_EQ(reg->to, sproxy);
    hub.sender.on_datagram(now, sproxy, reg->raw);
    const std::size_t mark = net.sent.size();
    proxy.on_datagram(now, sproxy, hub.net.of<protocol::keyinfo_msg>()[0]->raw);
    proxy.on_datagram(now, sproxy, hub.net.of<protocol::reg_conf_msg>().back()->raw);
    EXPECT_EQ(proxy.stats().handshake_in, 2u);
    EXPECT_EQ(proxy.aggregation().stats().keyinfo_in, 1u);
    const recorded* reg_conf = first_after<protocol::reg_conf_msg>(net, mark, cfg.sender_id);
    ASSERT_NE(reg_conf, nullptr);
    EXPECT_EQ(reg_conf->to.address, private_group);
    // Our KEYINFO in the server's name, which the client opens to the
    // server's group keys; the server's own KEYINFO never reached the site.
    std::size_t keyinfos = 0;
    const recorded* ki = nullptr;
    for (std::size_t i = mark; i < net.sent.size(); ++i) {
        if (std::holds_alternative<protocol::keyinfo_msg>(net.sent[i].d.body)) {
            ++keyinfos;
            ki = &net.sent[i];
        }
    }
    ASSERT_EQ(keyinfos, 1u);
    const auto& k = std::get<protocol::keyinfo_msg>(ki->d.body);
    ASSERT_EQ(k.entries.size(), 1u);
    EXPECT_EQ(k.entries[0].dest_id, client);
    EXPECT_TRUE(engine::open_keyinfo_entry(rcv.suite, rcv.hs, cfg.sender_id, k.iv_ctr,
                                           k.entries[0].group_master, {})
                    .ok());

    // Its ANNOUNCE again: passed on, signed by us. From another address, or
    // with another server key (however well signed): refused, never signed
    // by us, and the session stays the server's.
    const std::size_t before = net.of<protocol::announce_msg>().size();
    proxy.on_datagram(now, sproxy, announce.raw);
    EXPECT_EQ(net.of<protocol::announce_msg>().size(), before + 1);
    proxy.on_datagram(now, {.address = 0x0A4D00EE, .port = 1044}, announce.raw);
    const ec_session forger = make_ec_session();
    sender_rig other(forger.hub, {{.name = "f", .size = 1}});
    other.sender.start(t0);
    proxy.on_datagram(now, sproxy, other.net.of<protocol::announce_msg>()[0]->raw);
    EXPECT_EQ(proxy.stats().announce_refused, 2u);
    EXPECT_EQ(net.of<protocol::announce_msg>().size(), before + 1);
    EXPECT_EQ(proxy.sessions(), 1u);
}

TEST(client_proxy, reads_the_servers_sealed_listing_while_a_receiver_waits_for_its_lost_reg_conf) {
    encrypted_client_proxy r;
    constexpr engine::endpoint sproxy = encrypted_client_proxy::sproxy;
    r.proxy.on_datagram(t0, sproxy, r.announce.raw);
    const std::pair<std::uint32_t, std::uint32_t> rule{sproxy.address, 0x77};
    ASSERT_TRUE(r.fwd.rules.contains(rule));
    EXPECT_TRUE(r.fwd.tapped.empty()) << "no receiver waits yet";

    // A receiver registers: until the server confirms it, the session's
    // rule also hands the proxy the server's sealed datagrams.
    constexpr std::uint32_t client = 0x0A4E000D;
    const site_receiver rcv = register_on_site(r, client, t0 + ms);
    EXPECT_TRUE(r.fwd.tapped.contains(rule));
    EXPECT_EQ(r.proxy.stats().taps_started, 1u);
    time_ns now = r.proxy.next_deadline();
    r.proxy.on_timer(now);
    const recorded* reg = first_after<protocol::register_msg>(r.net, 0, proxy_uid);
    ASSERT_NE(reg, nullptr);
    r.hub.sender.on_datagram(now, sproxy, reg->raw);

    // The hub keys the proxy (KEYINFO, acknowledged); its REG_CONF is lost,
    // and a stock server would not send it again.
    std::size_t mark = r.net.sent.size();
    r.proxy.on_datagram(now, sproxy, r.hub.net.of<protocol::keyinfo_msg>()[0]->raw);
    const recorded* ack = first_after<protocol::encrypted_msg>(r.net, mark, proxy_uid);
    ASSERT_NE(ack, nullptr);
    r.hub.sender.on_datagram(now, sproxy, ack->raw);
    EXPECT_TRUE(r.fwd.tapped.contains(rule)) << "the receiver still waits";
    EXPECT_EQ(r.proxy.aggregation().stats().keyinfo_sent, 0u);

    // The hub's first sealed datagram, its FILEINFO, lists the receiver.
    for (time_ns t = now; r.hub.net.of<protocol::encrypted_msg>().empty() &&
                          r.hub.sender.next_deadline() != engine::no_deadline &&
                          t < now + 10'000 * ms;) {
        t = r.hub.sender.next_deadline();
        r.hub.sender.on_timer(t);
    }
    ASSERT_FALSE(r.hub.net.of<protocol::encrypted_msg>().empty());
    const std::vector<std::uint8_t> sealed_fileinfo =
        r.hub.net.of<protocol::encrypted_msg>()[0]->raw;
    // The rule multicast it; the proxy reads its copy, and multicasts nothing
    // but the receiver's KEYINFO.
    mark = r.net.sent.size();
    r.proxy.on_datagram(now, sproxy, sealed_fileinfo, true);
    EXPECT_EQ(r.proxy.stats().sealed_tapped, 1u);
    EXPECT_EQ(r.proxy.stats().from_upstream_late, 0u);
    EXPECT_EQ(r.proxy.aggregation().stats().clients_confirmed_by_listing, 1u);
    ASSERT_EQ(r.net.sent.size(), mark + 1);
    ASSERT_TRUE(std::holds_alternative<protocol::keyinfo_msg>(r.net.sent[mark].d.body));
    const auto& k = std::get<protocol::keyinfo_msg>(r.net.sent[mark].d.body);
    ASSERT_EQ(k.entries.size(), 1u);
    EXPECT_EQ(k.entries[0].dest_id, client);
    EXPECT_TRUE(engine::open_keyinfo_entry(rcv.suite, rcv.hs, r.e.hub.sender_id, k.iv_ctr,
                                           k.entries[0].group_master, {})
                    .ok());
    // Nobody waits: the copies stop. One still on its way is not opened.
    EXPECT_TRUE(r.fwd.tapped.empty());
    EXPECT_EQ(r.proxy.stats().taps_ended, 1u);
    r.proxy.on_datagram(now, sproxy, sealed_fileinfo, true);
    EXPECT_EQ(r.proxy.stats().sealed_tapped, 2u);
    EXPECT_EQ(r.proxy.aggregation().stats().server_sealed_ignored, 1u);
    EXPECT_EQ(r.net.sent.size(), mark + 1);
    // Sealed and not a copy (it came before the rule): multicast by the proxy.
    r.proxy.on_datagram(now, sproxy, sealed_fileinfo);
    EXPECT_EQ(r.proxy.stats().from_upstream_late, 1u);
    ASSERT_EQ(r.net.sent.size(), mark + 2);
    EXPECT_EQ(r.net.sent.back().raw, sealed_fileinfo);

    // A second receiver the hub never confirms: copies again, until the
    // hub has stopped announcing long enough (the aggregation's group hold).
    constexpr std::uint32_t client2 = 0x0A4E000E;
    register_on_site(r, client2, now);
    EXPECT_TRUE(r.fwd.tapped.contains(rule));
    EXPECT_EQ(r.proxy.stats().taps_started, 2u);
    const time_ns hold_ends = t0 + proxy_group_hold();
    EXPECT_LE(r.proxy.next_deadline(), hold_ends);
    r.proxy.on_timer(hold_ends);
    EXPECT_TRUE(r.fwd.tapped.empty());
    EXPECT_EQ(r.proxy.stats().taps_ended, 2u);
    EXPECT_EQ(r.proxy.sessions(), 1u) << "the session itself goes on";
    EXPECT_EQ(r.proxy.stats().tap_failures, 0u);
}

TEST(client_proxy, without_keys_an_encrypted_announce_for_a_plain_session_is_refused) {
    recording_network net;
    recording_forwarding fwd;
    constexpr engine::endpoint sproxy{.address = 0x0A4D000B, .port = 1044};
    engine::client_proxy proxy({.aggregation = {.proxy_id = proxy_uid}, .port = 1044}, net, fwd);
    sender_rig plain(with_proxy({}), {{.name = "f", .size = 1}});
    plain.sender.start(t0);
    proxy.on_datagram(t0, sproxy, plain.net.of<protocol::announce_msg>()[0]->raw);
    ASSERT_EQ(proxy.sessions(), 1u);
    // The same session ID, encrypted: neither served nor passed on.
    const ec_session e = make_ec_session();
    sender_rig enc(e.hub, {{.name = "f", .size = 1}});
    enc.sender.start(t0);
    proxy.on_datagram(t0, sproxy, enc.net.of<protocol::announce_msg>()[0]->raw);
    EXPECT_EQ(proxy.stats().announce_refused, 1u);
    EXPECT_EQ(net.of<protocol::announce_msg>().size(), 1u);
}

} // namespace
} // namespace skycast::test
