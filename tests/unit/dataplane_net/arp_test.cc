// ARP packets (parse, reply, request, gratuitous) and the ARP cache driven by
// a fake clock: expiry, eviction, rate-limited retries, unreachable.
#include "dataplane/core/net/arp.h"
#include "dataplane/core/net/arp_cache.h"
#include "dataplane/core/net/bytes.h"

#include <array>
#include <gtest/gtest.h>
#include <vector>

namespace skycast::dataplane::net {
namespace {

constexpr mac_address our_mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
constexpr mac_address peer_mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
constexpr ipv4_address our_ip = ipv4_address::from_octets(192, 0, 2, 1);
constexpr ipv4_address peer_ip = ipv4_address::from_octets(192, 0, 2, 2);

constexpr std::uint64_t ms = 1'000'000;
constexpr std::uint64_t s = 1'000'000'000;

TEST(arp, request_fields) {
    std::uint8_t frame[arp_frame_size + 4];
    std::fill(std::begin(frame), std::end(frame), 0xee);
    ASSERT_EQ(*write_arp_request(frame, our_mac, our_ip, peer_ip), 60u);
    // Ethernet: broadcast, from us, EtherType ARP.
    EXPECT_TRUE(std::all_of(frame, frame + 6, [](std::uint8_t b) { return b == 0xff; }));
    EXPECT_TRUE(std::equal(frame + 6, frame + 12, our_mac.bytes.begin()));
    EXPECT_EQ(load_be16(frame + 12), 0x0806);
    const std::uint8_t* a = frame + 14;
    EXPECT_EQ(load_be16(a), 1) << "hardware type Ethernet";
    EXPECT_EQ(load_be16(a + 2), 0x0800);
    EXPECT_EQ(a[4], 6);
    EXPECT_EQ(a[5], 4);
    EXPECT_EQ(load_be16(a + 6), 1) << "request";
    EXPECT_TRUE(std::equal(a + 8, a + 14, our_mac.bytes.begin()));
    EXPECT_EQ(load_be32(a + 14), our_ip.value);
    EXPECT_TRUE(std::all_of(a + 18, a + 24, [](std::uint8_t b) { return b == 0; }));
    EXPECT_EQ(load_be32(a + 24), peer_ip.value);
    // Padded with zeros to 60, nothing written past it.
    EXPECT_TRUE(std::all_of(frame + 42, frame + 60, [](std::uint8_t b) { return b == 0; }));
    EXPECT_EQ(frame[60], 0xee);
}

TEST(arp, parse_round_trip_and_reply) {
    std::uint8_t request[arp_frame_size];
    ASSERT_TRUE(write_arp_request(request, peer_mac, peer_ip, our_ip));
    const auto req = parse_arp(std::span{request}.subspan(14));
    ASSERT_TRUE(req);
    EXPECT_EQ(req->op, arp_op::request);
    EXPECT_EQ(req->sender_mac, peer_mac);
    EXPECT_EQ(req->sender_ip, peer_ip);
    EXPECT_EQ(req->target_ip, our_ip);
    EXPECT_FALSE(req->is_gratuitous());

    std::uint8_t reply[arp_frame_size];
    ASSERT_EQ(*write_arp_reply(reply, our_mac, our_ip, *req), arp_frame_size);
    EXPECT_TRUE(std::equal(reply, reply + 6, peer_mac.bytes.begin())) << "unicast to requester";
    EXPECT_TRUE(std::equal(reply + 6, reply + 12, our_mac.bytes.begin()));
    const auto rep = parse_arp(std::span{reply}.subspan(14));
    ASSERT_TRUE(rep);
    EXPECT_EQ(rep->op, arp_op::reply);
    EXPECT_EQ(rep->sender_mac, our_mac);
    EXPECT_EQ(rep->sender_ip, our_ip);
    EXPECT_EQ(rep->target_mac, peer_mac);
    EXPECT_EQ(rep->target_ip, peer_ip);
}

TEST(arp, gratuitous) {
    std::uint8_t frame[arp_frame_size];
    ASSERT_TRUE(write_gratuitous_arp(frame, our_mac, our_ip));
    const auto p = parse_arp(std::span{frame}.subspan(14));
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->is_gratuitous());
    EXPECT_EQ(p->op, arp_op::request);
    EXPECT_EQ(p->sender_ip, our_ip);
    EXPECT_EQ(p->target_ip, our_ip);
}

TEST(arp, malformed) {
    std::uint8_t frame[arp_frame_size];
    ASSERT_TRUE(write_arp_request(frame, peer_mac, peer_ip, our_ip));
    const auto payload = std::span{frame}.subspan(14);
    EXPECT_EQ(parse_arp(payload.first(27)).reason(), drop_reason::arp_malformed);
    for (std::size_t byte : {1u, 3u, 4u, 5u, 7u}) {
        std::uint8_t copy[arp_frame_size];
        std::copy(std::begin(frame), std::end(frame), copy);
        copy[14 + byte] ^= 0x04; // hardware/protocol type, lengths, opcode 1 -> 5
        EXPECT_EQ(parse_arp(std::span{copy}.subspan(14)).reason(), drop_reason::arp_malformed)
            << "byte " << byte;
    }
    EXPECT_EQ(write_arp_request(std::span{frame}.first(59), our_mac, our_ip, peer_ip).error(),
              protocol::wire_error::buffer_too_small);
}

class cache : public ::testing::Test {
protected:
    static constexpr arp_cache_config config{.entry_lifetime_ns = 60 * s,
                                             .retry_interval_ns = 1 * s,
                                             .max_requests = 3,
                                             .unreachable_hold_ns = 10 * s};
    static ipv4_address host(std::uint8_t n) { return ipv4_address::from_octets(10, 0, 0, n); }
    static mac_address mac_of(std::uint8_t n) { return {{0x02, 0, 0, 0, 0, n}}; }

    std::array<arp_entry, 4> storage;
    arp_cache c{storage, config};
};

TEST_F(cache, miss_sends_one_request_then_resolves) {
    auto r = c.resolve(peer_ip, 0);
    EXPECT_EQ(r.state, arp_state::pending);
    EXPECT_TRUE(r.send_request);
    EXPECT_EQ(c.counters().misses, 1u);
    EXPECT_EQ(c.counters().requests, 1u);
    // Asking again within the interval does not send another request.
    for (std::uint64_t t = 1; t < s; t += 100 * ms) {
        r = c.resolve(peer_ip, t);
        EXPECT_EQ(r.state, arp_state::pending);
        EXPECT_FALSE(r.send_request) << "at " << t;
    }
    EXPECT_EQ(c.counters().misses, 1u) << "a pending entry is not a new miss";
    EXPECT_FALSE(c.lookup(peer_ip, 500 * ms));
    c.insert(peer_ip, peer_mac, 500 * ms);
    r = c.resolve(peer_ip, 600 * ms);
    EXPECT_EQ(r.state, arp_state::resolved);
    EXPECT_EQ(r.mac, peer_mac);
    EXPECT_FALSE(r.send_request);
    EXPECT_EQ(c.counters().hits, 1u);
    EXPECT_EQ(c.lookup(peer_ip, 600 * ms), peer_mac);
}

TEST_F(cache, retries_once_per_interval_then_unreachable) {
    std::vector<std::uint64_t> sent;
    arp_resolution r;
    for (std::uint64_t t = 0; t <= 5 * s; t += 100 * ms) {
        r = c.resolve(peer_ip, t);
        if (r.send_request) {
            sent.push_back(t);
        }
        if (r.state == arp_state::unreachable) {
            break;
        }
    }
    EXPECT_EQ(sent, (std::vector<std::uint64_t>{0, 1 * s, 2 * s}));
    EXPECT_EQ(r.state, arp_state::unreachable);
    EXPECT_EQ(c.counters().requests, 3u);
    EXPECT_EQ(c.counters().unreachable, 1u);
    // Unreachable for the hold time, without requests.
    for (std::uint64_t t = 3 * s; t < 13 * s; t += 500 * ms) {
        r = c.resolve(peer_ip, t);
        EXPECT_EQ(r.state, arp_state::unreachable) << t;
        EXPECT_FALSE(r.send_request);
    }
    // Then a new resolution starts.
    r = c.resolve(peer_ip, 13 * s);
    EXPECT_EQ(r.state, arp_state::pending);
    EXPECT_TRUE(r.send_request);
    // A reply cures it.
    c.insert(peer_ip, peer_mac, 13 * s + 1);
    EXPECT_EQ(c.resolve(peer_ip, 13 * s + 2).state, arp_state::resolved);
}

TEST_F(cache, due_requests_drive_retries_without_lookups) {
    (void)c.resolve(host(1), 0);
    (void)c.resolve(host(2), 500 * ms);
    std::array<ipv4_address, 4> out;
    EXPECT_EQ(c.due_requests(999 * ms, out), 0u);
    ASSERT_EQ(c.due_requests(1 * s, out), 1u);
    EXPECT_EQ(out[0], host(1));
    ASSERT_EQ(c.due_requests(1500 * ms, out), 1u);
    EXPECT_EQ(out[0], host(2));
    EXPECT_EQ(c.due_requests(1500 * ms, out), 0u) << "already sent at this time";
    // Third request for both at 2 s / 2.5 s, then unreachable a second later.
    EXPECT_EQ(c.due_requests(2500 * ms, out), 2u);
    EXPECT_TRUE(c.pending(host(1)));
    EXPECT_EQ(c.due_requests(3500 * ms, out), 0u);
    EXPECT_FALSE(c.pending(host(1))) << "given up: unreachable, no longer pending";
    EXPECT_FALSE(c.pending(host(9))) << "never asked";
    EXPECT_EQ(c.counters().unreachable, 2u);
    EXPECT_EQ(c.counters().requests, 6u);
    EXPECT_EQ(c.resolve(host(1), 3600 * ms).state, arp_state::unreachable);
    // Output capacity bounds what is written.
    (void)c.resolve(host(3), 4 * s);
    (void)c.resolve(host(4), 4 * s);
    std::array<ipv4_address, 1> one;
    EXPECT_EQ(c.due_requests(5 * s, one), 1u);
    EXPECT_EQ(c.due_requests(5 * s, one), 1u);
    EXPECT_EQ(c.due_requests(5 * s, one), 0u);
}

TEST_F(cache, entries_expire) {
    c.insert(peer_ip, peer_mac, 0);
    EXPECT_EQ(c.lookup(peer_ip, 60 * s - 1), peer_mac);
    EXPECT_EQ(c.resolve(peer_ip, 60 * s - 1).state, arp_state::resolved);
    EXPECT_FALSE(c.lookup(peer_ip, 60 * s));
    const auto r = c.resolve(peer_ip, 60 * s);
    EXPECT_EQ(r.state, arp_state::pending) << "an expired MAC is not used";
    EXPECT_TRUE(r.send_request);
    EXPECT_EQ(c.counters().expiries, 1u);
    EXPECT_EQ(c.counters().misses, 0u);
}

TEST_F(cache, refresh_extends_only_existing_entries) {
    EXPECT_FALSE(c.refresh(peer_ip, peer_mac, 0)) << "no slot taken for strangers";
    EXPECT_EQ(c.size(), 0u);
    c.insert(peer_ip, peer_mac, 0);
    const mac_address moved{{0x02, 0, 0, 0, 0, 0x99}};
    EXPECT_TRUE(c.refresh(peer_ip, moved, 50 * s));
    EXPECT_EQ(c.lookup(peer_ip, 100 * s), moved) << "lifetime counts from the refresh";
    EXPECT_FALSE(c.lookup(peer_ip, 110 * s));
}

TEST_F(cache, full_cache_evicts_least_recently_used) {
    for (std::uint8_t n = 1; n <= 4; ++n) {
        c.insert(host(n), mac_of(n), n * s);
    }
    EXPECT_EQ(c.size(), 4u);
    // Use 1, 3 and 4 recently; 2 is the least recently used.
    (void)c.resolve(host(1), 10 * s);
    (void)c.resolve(host(3), 11 * s);
    (void)c.resolve(host(4), 12 * s);
    c.insert(host(5), mac_of(5), 13 * s);
    EXPECT_EQ(c.counters().evictions, 1u);
    EXPECT_FALSE(c.lookup(host(2), 13 * s));
    for (const std::uint8_t n : std::array<std::uint8_t, 4>{1, 3, 4, 5}) {
        EXPECT_EQ(c.lookup(host(n), 13 * s), mac_of(n)) << int{n};
    }
}

TEST_F(cache, dead_entries_are_reused_before_live_ones) {
    c.insert(host(1), mac_of(1), 0);
    for (std::uint8_t n = 2; n <= 4; ++n) {
        c.insert(host(n), mac_of(n), 50 * s);
    }
    // At 70 s host 1 has expired: its slot goes first, with no eviction.
    c.insert(host(5), mac_of(5), 70 * s);
    EXPECT_EQ(c.counters().evictions, 0u);
    EXPECT_EQ(c.counters().expiries, 1u);
    for (std::uint8_t n = 2; n <= 5; ++n) {
        EXPECT_TRUE(c.lookup(host(n), 70 * s)) << int{n};
    }
}

TEST_F(cache, a_miss_in_a_full_cache_evicts_for_the_pending_entry) {
    for (std::uint8_t n = 1; n <= 4; ++n) {
        c.insert(host(n), mac_of(n), 0);
        (void)c.resolve(host(n), n * s);
    }
    const auto r = c.resolve(host(9), 5 * s);
    EXPECT_TRUE(r.send_request);
    EXPECT_EQ(c.counters().evictions, 1u);
    EXPECT_EQ(c.counters().misses, 1u);
    EXPECT_FALSE(c.lookup(host(1), 5 * s)) << "host 1 was used longest ago";
}

TEST_F(cache, a_gleaned_frame_resolves_new_and_pending_entries_and_confirms_the_same_mac) {
    using glean = arp_cache::glean_result;
    // A hub heard for the first time: its MAC is known with no request.
    EXPECT_EQ(c.glean(peer_ip, peer_mac, 0), glean::learned);
    auto r = c.resolve(peer_ip, 1 * s);
    EXPECT_EQ(r.state, arp_state::resolved);
    EXPECT_EQ(r.mac, peer_mac);
    EXPECT_FALSE(r.send_request);
    // Heard again at 50 s from the same MAC: alive past the first 60 s.
    EXPECT_EQ(c.glean(peer_ip, peer_mac, 50 * s), glean::confirmed);
    EXPECT_EQ(c.lookup(peer_ip, 100 * s), peer_mac);
    // From another MAC: ARP decides, not a frame.
    EXPECT_EQ(c.glean(peer_ip, mac_of(9), 101 * s), glean::ignored);
    EXPECT_EQ(c.lookup(peer_ip, 101 * s), peer_mac);
    // A resolution under way ends at the frame; so does an expired entry.
    EXPECT_TRUE(c.resolve(host(1), 0).send_request);
    EXPECT_EQ(c.glean(host(1), mac_of(1), 1 * ms), glean::learned);
    EXPECT_EQ(c.lookup(host(1), 2 * ms), mac_of(1));
    EXPECT_EQ(c.glean(host(1), mac_of(7), 200 * s), glean::learned) << "expired: anew";
    EXPECT_EQ(c.lookup(host(1), 200 * s), mac_of(7));
    EXPECT_EQ(c.counters().gleaned, 4u);
    EXPECT_EQ(c.counters().requests, 1u);
}

TEST_F(cache, gleaning_never_evicts_a_live_entry) {
    for (std::uint8_t n = 1; n <= 4; ++n) {
        c.insert(host(n), mac_of(n), 0);
    }
    EXPECT_EQ(c.glean(host(9), mac_of(9), 1 * s), arp_cache::glean_result::ignored);
    EXPECT_EQ(c.counters().evictions, 0u);
    EXPECT_FALSE(c.lookup(host(9), 1 * s));
    // An expired slot may go.
    EXPECT_EQ(c.glean(host(9), mac_of(9), 61 * s), arp_cache::glean_result::learned);
    EXPECT_EQ(c.lookup(host(9), 61 * s), mac_of(9));
}

TEST(arp_cache_empty, no_storage_means_unreachable) {
    arp_cache c({}, {});
    EXPECT_EQ(c.resolve(peer_ip, 0).state, arp_state::unreachable);
    c.insert(peer_ip, peer_mac, 0);
    EXPECT_FALSE(c.lookup(peer_ip, 0));
    EXPECT_EQ(c.capacity(), 0u);
}

} // namespace
} // namespace skycast::dataplane::net
