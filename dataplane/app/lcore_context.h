#pragma once
// The per-role contexts the lcore loops take by reference (style rule 3,
// docs/architecture.md): one cache-aligned object per role owning everything its loop touches —
// rings, pools, burst arrays, tables, counters. No globals on the hot path.
//
// Tables an lcore reads on every packet (open files, session keys, joined
// groups, open ports) are changed by the service thread only while the lcore
// is parked at its gate (lcore_gate.h), so the lcore reads them without
// atomics or locks.

#include "dataplane/app/lcore_gate.h"
#include "dataplane/app/resources.h"
#include "dataplane/core/net/arp_cache.h"
#include "dataplane/core/net/classify.h"
#include "dataplane/core/net/frame_template.h"
#include "dataplane/core/net/igmp.h"
#include "dataplane/seal/seal_engine.h"
#include "protocol/blocks.h"

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

struct rte_mbuf;

namespace skycast::dataplane {

struct tx_pass;

inline constexpr std::uint16_t burst_size = 32;
inline constexpr std::size_t arp_cache_entries = 64;
// Unicast control datagrams held while their next hop is being resolved
// (Linux keeps such a queue per neighbour too, unres_qlen): REGISTER, STATUS
// and COMPLETE are rare and retried by the engines only at GRTT scale, so
// dropping the one that started the resolution would cost a whole retry
// interval (seconds with a stock server's GRTT) for every lost ARP reply.
inline constexpr std::size_t arp_held_capacity = 32;
// How long a held datagram waits: the ARP cache gives up after 10 requests
// 200 ms apart, so by then its next hop is unreachable.
inline constexpr std::uint64_t arp_hold_ns = 3'000'000'000;
// How often the held datagrams are looked at when no ARP frame arrived (for
// due retries and give-ups); far finer than the 200 ms retry interval.
inline constexpr std::uint64_t held_check_interval_ns = 1'000'000;

// A membership query's answer, due after a random delay within the query's
// Max Resp Time (RFC 2236 §3, RFC 3376 §5.2), so that a LAN of receivers
// does not answer the querier in one burst. Queries that arrive while one
// is pending merge into it: the earlier deadline, and a general answer when
// they asked about different groups (reporting more is harmless).
struct pending_igmp_answer {
    bool armed = false;
    std::uint64_t due_ns = 0;
    // The latest query: its version is the answer's format; its group is
    // 0.0.0.0 (general) once queries about different groups merged.
    net::igmp_query query;
};

// xorshift32: the lcore's own cheap generator for protocol timer jitter
// (not for anything secret). `state` must not be 0.
constexpr std::uint32_t next_random(std::uint32_t& state) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
}

struct held_datagram {
    api::datagram datagram;
    net::ipv4_address next_hop;
    std::uint64_t since_ns = 0;
};

// The node's own addresses, as both roles use them.
struct local_addresses {
    net::mac_address mac;
    net::ipv4_address ip;
    std::uint32_t netmask = 0;
    net::ipv4_address gateway; // 0: none
    std::uint16_t mtu = 1500;
    std::uint8_t multicast_ttl = 32;
};

// Multicast groups and UDP ports the node receives (changed under the gates).
struct receive_filter {
    std::array<net::ipv4_address, api::max_joined_groups> groups{};
    std::size_t group_count = 0;
    std::array<std::uint16_t, api::max_joined_groups> ports{};
    std::size_t port_count = 0;
};

// A session's keys as an lcore's seal engine holds them.
struct session_entry {
    bool active = false;
    std::uint32_t sender_id = 0;
    std::uint32_t group_id = 0;
    seal::session_id id = 0;
    // KEYEX sessions, RX: the sender's key its signatures verify against
    // (owned by the service thread).
    const crypto::public_key* sender_key = nullptr;
};

struct alignas(64) tx_context {
    lcore_gate gate;
    resources* res = nullptr;
    std::uint64_t* counters = nullptr;
    local_addresses local;
    net::tx_checksum_offload offload;
    receive_filter filter; // groups to keep reporting
    std::unique_ptr<seal::seal_engine> sealer;
    std::array<session_entry, api::max_sessions> sessions{};
    std::array<net::arp_entry, arp_cache_entries> arp_storage{};
    // Next hops are few and UFTP's unicast messages (REGISTER, STATUS) are
    // retried at GRTT scale: ask again every 200 ms (not the usual second),
    // so one lost ARP reply costs a retry, not a registration.
    net::arp_cache arp{arp_storage, net::arp_cache_config{.retry_interval_ns = 200'000'000,
                                                          .max_requests = 10,
                                                          .unreachable_hold_ns = 1'000'000'000}};
    // Oldest first; sent when the next hop answers, dropped (counted) when it
    // waited arp_hold_ns or room is needed for a newer one.
    std::array<held_datagram, arp_held_capacity> arp_held{};
    std::uint16_t arp_held_count = 0;
    std::uint64_t next_held_check_ns = 0;
    pending_igmp_answer igmp_answer;
    std::uint32_t random_state = 0x9e3779b9; // reseeded from the TSC at start
    tx_pass* pass = nullptr;
    std::uint64_t tsc_hz = 0;
    std::uint64_t last_igmp_tsc = 0;
    std::array<rte_mbuf*, burst_size * 2> out{};
    std::uint16_t out_count = 0;
};

// A file the RX lcore accepts FILESEGs for.
struct rx_file_entry {
    bool active = false;
    std::uint32_t sender_id = 0;
    std::uint32_t group_id = 0;
    std::uint16_t file_id = 0;
    std::uint32_t slot = 0;
    std::uint32_t generation = 0;
    bool encrypted = false; // FILESEGs in the clear are refused (spec §12 #17)
    protocol::section_layout layout;
    std::uint64_t* bitmap = nullptr; // the slot's bitmap in the memzone
};

// Proxies: what comes from `source` for session `group_id` (0: any) goes on
// to `to` (api::command_kind::set_forward); with tap_sealed its ENCRYPTED
// datagrams also go to control, copied (api::forward_tap_sealed).
struct forward_rule {
    net::ipv4_address source;
    std::uint32_t group_id = 0;
    api::endpoint4 to{};
    bool tap_sealed = false;
};

struct alignas(64) rx_context {
    lcore_gate gate;
    resources* res = nullptr;
    std::uint64_t* counters = nullptr;
    net::rx_context classify; // spans point into `filter`
    receive_filter filter;
    std::unique_ptr<seal::seal_engine> opener;
    std::array<session_entry, api::max_sessions> sessions{};
    std::vector<rx_file_entry> files; // max_files entries, sized at start
    std::uint32_t last_file = 0;      // most FILESEGs belong to the previous one's file
    std::uint32_t storage_threads = 1;
    std::array<forward_rule, api::max_forwards> forwards{};
    std::size_t forward_count = 0;
};

// Copies an engine's counters into the lcore's block of the memzone (the
// engine's own struct is private to the lcore; the block is what readers sum).
void publish_seal_counters(const seal::seal_engine& engine, std::uint64_t* counters);

// Points the classifier's spans at the filter's arrays (after a change).
inline void refresh_classifier(rx_context& c) {
    c.classify.groups =
        std::span<const net::ipv4_address>(c.filter.groups.data(), c.filter.group_count);
    c.classify.udp_ports =
        std::span<const std::uint16_t>(c.filter.ports.data(), c.filter.port_count);
}

} // namespace skycast::dataplane
