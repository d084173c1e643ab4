#include "dataplane/app/tx_lcore.h"

#include "dataplane/app/counter_ids.h"
#include "dataplane/app/extbuf.h"
#include "dataplane/app/internal_messages.h"
#include "dataplane/app/tx_pass.h"
#include "dataplane/core/fec_codec.h"
#include "dataplane/core/fileseg_builder.h"
#include "dataplane/core/net/arp.h"
#include "dataplane/core/net/igmp.h"
#include "dataplane/core/net/ipv4.h"
#include "dataplane/core/parity_builder.h"
#include "protocol/codec.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring_elem.h>

namespace skycast::dataplane {
namespace {

using net::frame_template;

// Retries of a short TX burst before the rest is dropped (and counted): a
// port that stays full for this long is not draining.
constexpr int tx_retries = 64;
// IGMP reports are repeated this often for joined groups, so a snooping
// switch that lost our state (or a querier that restarted) learns it again.
constexpr std::uint64_t igmp_refresh_seconds = 60;

void enqueue_frame(tx_context& c, rte_mbuf* m) {
    c.out[c.out_count++] = m;
}

void flush(tx_context& c) {
    if (c.out_count == 0) {
        return;
    }
    std::uint64_t bytes = 0;
    for (std::uint16_t i = 0; i < c.out_count; ++i) {
        bytes += rte_pktmbuf_pkt_len(c.out[i]);
    }
    std::uint16_t sent = 0;
    for (int attempt = 0; attempt < tx_retries && sent < c.out_count; ++attempt) {
        sent += rte_eth_tx_burst(c.res->port, 0, c.out.data() + sent,
                                 static_cast<std::uint16_t>(c.out_count - sent));
    }
    if (sent < c.out_count) {
        std::uint64_t dropped_bytes = 0;
        for (std::uint16_t i = sent; i < c.out_count; ++i) {
            dropped_bytes += rte_pktmbuf_pkt_len(c.out[i]);
        }
        bytes -= dropped_bytes;
        bump(c.counters, counter::tx_drop_port_full, c.out_count - sent);
        rte_pktmbuf_free_bulk(c.out.data() + sent, c.out_count - sent);
    }
    bump(c.counters, counter::tx_packets, sent);
    bump(c.counters, counter::tx_bytes, bytes);
    c.out_count = 0;
}

void request_offload(const tx_context& c, rte_mbuf* m) {
    m->l2_len = frame_template::ipv4_offset;
    m->l3_len = frame_template::udp_offset - frame_template::ipv4_offset;
    if (c.offload.ipv4) {
        m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    }
    if (c.offload.udp) {
        m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
    }
}

// --- ARP and IGMP -----------------------------------------------------------

void send_small_frame(tx_context& c, auto&& write, counter what) {
    rte_mbuf* m = rte_pktmbuf_alloc(c.res->packets);
    if (m == nullptr) {
        bump(c.counters, counter::tx_drop_no_mbuf);
        return;
    }
    auto* p = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, 128));
    const auto written = write(std::span<std::uint8_t>(p, 128));
    if (!written.ok()) {
        rte_pktmbuf_free(m);
        return;
    }
    rte_pktmbuf_trim(m, static_cast<std::uint16_t>(128 - *written));
    bump(c.counters, what);
    enqueue_frame(c, m);
    if (c.out_count >= burst_size) {
        flush(c);
    }
}

void send_arp_request(tx_context& c, net::ipv4_address target) {
    send_small_frame(
        c,
        [&](std::span<std::uint8_t> out) {
            return net::write_arp_request(out, c.local.mac, c.local.ip, target);
        },
        counter::tx_arp);
}

void handle_arp(tx_context& c, std::span<const std::uint8_t> frame, std::uint64_t now) {
    const auto eth = net::parse_ethernet(frame);
    if (!eth) {
        return;
    }
    const auto arp = net::parse_arp(frame.subspan(eth->header_size));
    if (!arp) {
        return;
    }
    // Learn only what is already cached or was asked for (refresh): a
    // flood of ARP from strangers must not evict our next hops.
    if (!c.arp.refresh(arp->sender_ip, arp->sender_mac, now) && arp->target_ip == c.local.ip) {
        c.arp.insert(arp->sender_ip, arp->sender_mac, now);
    }
    if (arp->op == net::arp_op::request && arp->target_ip == c.local.ip) {
        send_small_frame(
            c,
            [&](std::span<std::uint8_t> out) {
                return net::write_arp_reply(out, c.local.mac, c.local.ip, *arp);
            },
            counter::tx_arp);
    }
}

void send_igmp(tx_context& c, std::uint32_t group, bool join) {
    send_small_frame(
        c,
        [&](std::span<std::uint8_t> out) {
            return join ? net::write_igmpv2_report(out, c.local.mac, c.local.ip,
                                                   net::ipv4_address{group})
                        : net::write_igmpv2_leave(out, c.local.mac, c.local.ip,
                                                  net::ipv4_address{group});
        },
        counter::tx_igmp);
}

void report_all_groups(tx_context& c) {
    for (std::size_t i = 0; i < c.filter.group_count; ++i) {
        send_igmp(c, c.filter.groups[i].value, true);
    }
}

// Sends the answer to the queries of `answer` (due now): in the querier's
// version (RFC 3376 §7.2.1, RFC 2236 §4), a v3 querier gets one v3 report of
// "member, any source" records, v2 and v1 queriers a report of their version
// per group.
void send_igmp_answer(tx_context& c, const pending_igmp_answer& answer) {
    auto asked = [&](net::ipv4_address g) { return net::query_covers(answer.query, g); };
    if (answer.query.version == 3) {
        std::array<net::ipv4_address, api::max_joined_groups> covered{};
        std::size_t n = 0;
        for (std::size_t i = 0; i < c.filter.group_count; ++i) {
            if (asked(c.filter.groups[i])) {
                covered[n++] = c.filter.groups[i];
            }
        }
        if (n != 0) {
            send_small_frame(
                c,
                [&](std::span<std::uint8_t> out) {
                    return net::write_igmpv3_report(out, c.local.mac, c.local.ip,
                                                    net::igmpv3_record_type::mode_is_exclude,
                                                    std::span(covered.data(), n));
                },
                counter::tx_igmp);
        }
        return;
    }
    for (std::size_t i = 0; i < c.filter.group_count; ++i) {
        const net::ipv4_address g = c.filter.groups[i];
        if (!asked(g)) {
            continue;
        }
        if (answer.query.version == 1) {
            send_small_frame(
                c,
                [&](std::span<std::uint8_t> out) {
                    return net::write_igmpv1_report(out, c.local.mac, c.local.ip, g);
                },
                counter::tx_igmp);
        } else {
            send_igmp(c, g.value, true);
        }
    }
}

// A membership query: its answer is armed (or merged into the pending one)
// for a random moment within the query's Max Resp Time.
void schedule_igmp_answer(tx_context& c, std::span<const std::uint8_t> frame,
                          const net::ethernet_header& eth, std::uint64_t now) {
    const auto ip = net::parse_ipv4(frame.subspan(eth.header_size));
    if (!ip) {
        return;
    }
    const auto igmp = net::parse_igmp(
        frame.subspan(eth.header_size + ip->header_size, ip->total_length - ip->header_size));
    if (!igmp || igmp->type != net::igmp_type::membership_query) {
        return;
    }
    const std::uint64_t due =
        now + net::igmp_report_delay_ns(igmp->query.max_resp_tenths, next_random(c.random_state));
    pending_igmp_answer& a = c.igmp_answer;
    if (!a.armed) {
        a = {.armed = true, .due_ns = due, .query = igmp->query};
        return;
    }
    a.due_ns = std::min(a.due_ns, due);
    const net::ipv4_address pending_group = a.query.group;
    a.query = igmp->query;
    if (pending_group != igmp->query.group) {
        a.query.group = net::ipv4_address{}; // a general answer covers both
    }
}

bool answer_due_igmp_query(tx_context& c, std::uint64_t now) {
    if (!c.igmp_answer.armed || now < c.igmp_answer.due_ns) {
        return false;
    }
    c.igmp_answer.armed = false;
    send_igmp_answer(c, c.igmp_answer);
    return true;
}

// Frames the RX lcore handed over: ARP (answer, learn) and IGMP queries
// (their answers scheduled, see schedule_igmp_answer).
bool handle_rx_handoff(tx_context& c, std::uint64_t now) {
    std::uint64_t handles[burst_size];
    const unsigned n = rte_ring_sc_dequeue_burst_elem(c.res->rx_to_tx, handles, sizeof handles[0],
                                                      burst_size, nullptr);
    for (unsigned i = 0; i < n; ++i) {
        auto* m = reinterpret_cast<rte_mbuf*>(handles[i]);
        const std::span<const std::uint8_t> frame(rte_pktmbuf_mtod(m, const std::uint8_t*),
                                                  rte_pktmbuf_data_len(m));
        const auto eth = net::parse_ethernet(frame);
        if (eth && eth->ether_type == static_cast<std::uint16_t>(net::ether_type::arp)) {
            handle_arp(c, frame, now);
        } else if (eth) {
            schedule_igmp_answer(c, frame, *eth, now);
        }
        rte_pktmbuf_free(m);
    }
    return n > 0;
}

bool on_local_subnet(const tx_context& c, net::ipv4_address ip) {
    return ((ip.value ^ c.local.ip.value) & c.local.netmask) == 0;
}

// UFTP peers the RX lcore heard (rx_lcore.cc, note_neighbour): on the local
// subnet, not ourselves, gleaned into the ARP cache.
bool handle_neighbours(tx_context& c, std::uint64_t now) {
    neighbour_seen seen[burst_size];
    const unsigned n = rte_ring_sc_dequeue_burst_elem(c.res->rx_neighbours, seen, sizeof seen[0],
                                                      burst_size, nullptr);
    for (unsigned i = 0; i < n; ++i) {
        const net::ipv4_address ip{seen[i].ip};
        if (!on_local_subnet(c, ip) || ip == c.local.ip) {
            continue; // beyond a router, its frames carry the router's MAC
        }
        net::mac_address mac;
        std::memcpy(mac.bytes.data(), seen[i].mac, sizeof seen[i].mac);
        if (c.arp.glean(ip, mac, now) != net::arp_cache::glean_result::ignored) {
            bump(c.counters, counter::tx_arp_gleaned);
        }
    }
    return n > 0;
}

// --- Control datagrams --------------------------------------------------------

// The neighbour a unicast `dst` is reached through: itself on the local
// subnet, the gateway (when there is one) otherwise.
net::ipv4_address next_hop(const tx_context& c, net::ipv4_address dst) {
    if (!on_local_subnet(c, dst) && !c.local.gateway.is_unspecified()) {
        return c.local.gateway;
    }
    return dst;
}

// Frames the datagram for `mac` in place and queues it.
void frame_control_datagram(tx_context& c, const api::datagram& d, const net::mac_address& mac) {
    auto* m = reinterpret_cast<rte_mbuf*>(d.mbuf);
    const net::ipv4_address dst{d.peer.address};
    if (d.length + net::ipv4_header_min_size + net::udp_header_size > c.local.mtu ||
        d.offset < frame_template::header_size) {
        bump(c.counters, counter::tx_drop_too_big);
        rte_pktmbuf_free(m);
        return;
    }
    // The datagram sits at `offset` in the mbuf's buffer area; frame it in place.
    rte_pktmbuf_reset(m);
    m->data_off = static_cast<std::uint16_t>(d.offset - frame_template::header_size);
    const std::size_t frame_length = frame_template::header_size + d.length;
    m->data_len = static_cast<std::uint16_t>(frame_length);
    m->pkt_len = static_cast<std::uint32_t>(frame_length);
    const frame_template frame(net::frame_params{
        .src_mac = c.local.mac,
        .dst_mac = mac,
        .udp = {.src = c.local.ip, .dst = dst, .src_port = d.local.port, .dst_port = d.peer.port},
        .ttl = dst.is_multicast() ? c.local.multicast_ttl : std::uint8_t{64},
    });
    auto* p = rte_pktmbuf_mtod(m, std::uint8_t*);
    if (!frame.stamp(std::span<std::uint8_t>(p, frame_length), d.length, c.offload).ok()) {
        bump(c.counters, counter::tx_drop_too_big);
        rte_pktmbuf_free(m);
        return;
    }
    request_offload(c, m);
    bump(c.counters, counter::tx_control);
    enqueue_frame(c, m);
}

void drop_unresolved(tx_context& c, const api::datagram& d) {
    bump(c.counters, counter::tx_drop_arp_unresolved);
    rte_pktmbuf_free(reinterpret_cast<rte_mbuf*>(d.mbuf));
}

void hold_for_arp(tx_context& c, const api::datagram& d, net::ipv4_address hop, std::uint64_t now) {
    if (c.arp_held_count == c.arp_held.size()) {
        // The oldest goes: its sender has been waiting longest and retries anyway.
        drop_unresolved(c, c.arp_held[0].datagram);
        std::copy(c.arp_held.begin() + 1, c.arp_held.end(), c.arp_held.begin());
        --c.arp_held_count;
    }
    c.arp_held[c.arp_held_count++] = {.datagram = d, .next_hop = hop, .since_ns = now};
    bump(c.counters, counter::tx_arp_held);
}

void send_control_datagram(tx_context& c, const api::datagram& d, std::uint64_t now) {
    const net::ipv4_address dst{d.peer.address};
    if (dst.is_multicast()) {
        frame_control_datagram(c, d, net::multicast_mac(dst));
        return;
    }
    if (dst.is_limited_broadcast()) {
        frame_control_datagram(c, d, net::mac_address::broadcast());
        return;
    }
    const net::ipv4_address hop = next_hop(c, dst);
    const net::arp_resolution r = c.arp.resolve(hop, now);
    if (r.send_request) {
        send_arp_request(c, hop);
    }
    switch (r.state) {
    case net::arp_state::resolved:
        frame_control_datagram(c, d, r.mac);
        break;
    case net::arp_state::pending:
        hold_for_arp(c, d, hop, now);
        break;
    default: // unreachable (held back from asking again for a while)
        drop_unresolved(c, d);
        break;
    }
}

// While datagrams are held: ARP retries when they are due (not only when
// the next datagram for that hop comes), held datagrams sent as soon as
// their next hop is known, and dropped once it is given up (unreachable)
// or they waited arp_hold_ns. Runs when an ARP frame was just handled, else
// once a millisecond: the scans stay off the TX loop's every iteration.
bool service_held_datagrams(tx_context& c, std::uint64_t now, bool arp_seen) {
    if (c.arp_held_count == 0 || (!arp_seen && now < c.next_held_check_ns)) {
        return false;
    }
    c.next_held_check_ns = now + held_check_interval_ns;
    std::array<net::ipv4_address, 8> due{};
    const std::size_t requests = c.arp.due_requests(now, due);
    for (std::size_t i = 0; i < requests; ++i) {
        send_arp_request(c, due[i]);
    }
    const std::uint16_t before = c.arp_held_count;
    std::uint16_t kept = 0;
    for (std::uint16_t i = 0; i < before; ++i) {
        const held_datagram h = c.arp_held[i];
        if (const auto mac = c.arp.lookup(h.next_hop, now)) {
            frame_control_datagram(c, h.datagram, *mac);
            if (c.out_count >= burst_size) {
                flush(c);
            }
        } else if (!c.arp.pending(h.next_hop) || now - h.since_ns >= arp_hold_ns) {
            drop_unresolved(c, h.datagram);
        } else {
            c.arp_held[kept++] = h;
        }
    }
    c.arp_held_count = kept;
    return requests > 0 || kept != before;
}

// Control's datagrams, and a server proxy's forwarded ones (the RX lcore's):
// both are UFTP datagrams in an mbuf with room in front for the headers.
bool send_datagrams(tx_context& c, rte_ring* ring, std::uint64_t now) {
    api::datagram ds[burst_size];
    const unsigned n = rte_ring_sc_dequeue_burst_elem(ring, ds, sizeof ds[0], burst_size, nullptr);
    for (unsigned i = 0; i < n; ++i) {
        if (ds[i].version != api::contract_version) {
            rte_pktmbuf_free(reinterpret_cast<rte_mbuf*>(ds[i].mbuf));
            continue;
        }
        send_control_datagram(c, ds[i], now);
        if (c.out_count >= burst_size) {
            flush(c);
        }
    }
    return n > 0;
}

// --- Passes -------------------------------------------------------------------

void finish_pass(tx_context& c, api::tx_event_kind kind, int detail) {
    tx_pass& p = *c.pass;
    api::tx_event e{.version = api::contract_version,
                    .kind = kind,
                    .file_slot = static_cast<std::uint16_t>(p.slot),
                    .pass = p.pass,
                    .detail = detail,
                    .blocks_sent = p.blocks_sent,
                    .bytes_sent = p.bytes_sent};
    bump(c.counters,
         kind == api::tx_event_kind::pass_end ? counter::tx_pass_ended : counter::tx_pass_stopped);
    bump(c.counters, counter::tx_rate_unused_bytes, pacer_unused_bytes(p.profile, p.pacer));
    tx_work back{.kind = tx_work_kind::start_pass, .pass = c.pass};
    // The service thread reclaims the pass; its ring has room for every pass
    // it ever handed out (one at a time), so this cannot fail. Handed back
    // before control hears of the end: control starts the next pass (in
    // the same file slot) the moment it does, and the service thread
    // reclaims what is handed back before it starts one (start_pass).
    (void)rte_ring_sp_enqueue_elem(c.res->tx_to_main, &back, sizeof back);
    c.pass = nullptr;
    if (rte_ring_sp_enqueue_elem(c.res->tx_event, &e, sizeof e) != 0) {
        bump(c.counters, counter::tx_drop_event_ring_full);
    }
}

bool handle_work(tx_context& c, std::uint64_t now) {
    tx_work w;
    bool did = false;
    while (rte_ring_sc_dequeue_elem(c.res->main_to_tx, &w, sizeof w) == 0) {
        did = true;
        switch (w.kind) {
        case tx_work_kind::start_pass:
            if (c.pass != nullptr) {
                finish_pass(c, api::tx_event_kind::pass_stopped, EBUSY);
            }
            c.pass = w.pass;
            c.pass->pacer = make_pacer_state(c.pass->profile, now);
            bump(c.counters, counter::tx_pass_started);
            break;
        case tx_work_kind::stop_pass:
            if (c.pass != nullptr) {
                finish_pass(c, api::tx_event_kind::pass_stopped, 0);
            }
            break;
        case tx_work_kind::igmp_join:
            send_igmp(c, w.group, true);
            break;
        case tx_work_kind::igmp_leave:
            send_igmp(c, w.group, false);
            break;
        case tx_work_kind::count:
            break;
        }
    }
    return did;
}

// The next block to send at or after `from`, or blocks() when none is left.
std::uint32_t next_marked_block(const tx_pass& p, std::uint32_t from) {
    const std::uint32_t blocks = p.layout.blocks();
    while (from < blocks) {
        std::uint64_t word = p.send_bitmap[from >> 6] >> (from & 63);
        if (word != 0) {
            from += static_cast<std::uint32_t>(std::countr_zero(word));
            return from < blocks ? from : blocks;
        }
        from = (from | 63) + 1;
    }
    return blocks;
}

struct pending_block {
    rte_mbuf* mbuf;
    std::uint32_t block;
    std::uint32_t bytes;
    bool parity; // a PARITY frame (FEC), not a FILESEG
};

std::uint16_t next_sequence(tx_pass& p) {
    return static_cast<std::uint16_t>(p.counters->sequence.fetch_add(1, std::memory_order_relaxed));
}

// FEC (docs/protocol.md §17.5): what the next frame is. A group's parity
// goes after the group's data blocks of the pass: once the data cursor
// (`block`) has passed its group, or once the data is out. The service
// thread encodes the runs ahead and parity_ahead picks the order; parity
// not encoded yet lets data go on, and holds only the end of the pass.
enum class next_frame { data, parity, wait };

next_frame parity_due(tx_context& c, tx_pass& p, std::uint32_t block) {
    if (!p.parity) {
        return next_frame::data;
    }
    const bool data_out = block >= p.layout.blocks();
    p.parity_next = p.parity_runs.next(block, data_out);
    if (const std::uint32_t failed = p.parity_runs.take_failed_blocks(); failed != 0) {
        bump(c.counters, counter::tx_drop_parity_failed, failed);
    }
    if (p.parity_next.run != nullptr) {
        p.parity_waiting = false;
        return next_frame::parity;
    }
    if (data_out && !p.parity_runs.finished()) {
        if (!p.parity_waiting) { // counted once per wait, not per round
            bump(c.counters, counter::tx_parity_waits);
            p.parity_waiting = true;
        }
        return next_frame::wait;
    }
    return next_frame::data;
}

// Builds the parity block parity_due picked into `out` (out.mbuf null when
// it could not be framed: the rest of its run is counted and dropped).
// False when nothing could be done now (the pacer or the mbuf pool says wait).
bool build_parity_frame(tx_context& c, tx_pass& p, std::uint64_t now, pending_block& out,
                        seal::seal_job& job) {
    const parity_run& run = *p.parity_next.run;
    const std::uint32_t g = run.group;
    const std::size_t bs = p.layout.block_size();
    const std::size_t plain = p.parity->plaintext_size(); // sealed: the message only
    const std::size_t payload = p.encrypted ? c.sealer->sealed_size(p.seal_session, plain)
                                            : protocol::parity_headers_size + bs;
    const std::size_t frame_length = frame_template::header_size + payload;
    out = {nullptr, 0, static_cast<std::uint32_t>(bs), true};
    auto drop_run = [&] {
        bump(c.counters, counter::tx_drop_parity_failed, p.parity_runs.drop_run());
    };
    if (!pacer_admit(p.profile, p.pacer, now, static_cast<std::uint32_t>(frame_length))) {
        p.paced_out = true;
        return false;
    }
    rte_mbuf* m = rte_pktmbuf_alloc(c.res->packets);
    if (m == nullptr) {
        bump(c.counters, counter::tx_drop_no_mbuf);
        return false;
    }
    auto* frame = reinterpret_cast<std::uint8_t*>(
        rte_pktmbuf_append(m, static_cast<std::uint16_t>(frame_length)));
    if (frame == nullptr) {
        rte_pktmbuf_free(m);
        drop_run();
        return true;
    }
    protocol::uftp_header h = p.header;
    h.seq = next_sequence(p);
    const std::uint32_t offset = p.parity_next.offset;
    const std::uint32_t index = run.first_index + offset;
    const std::span<const std::uint8_t> parity(run.bytes + offset * bs, bs);
    std::uint8_t* udp_payload = frame + frame_template::header_size;
    if (p.encrypted) {
        // The PARITY message goes where the ciphertext will be and is sealed
        // in place with the FILESEGs of the burst (seal_burst).
        std::uint8_t* plaintext = udp_payload + c.sealer->payload_offset(p.seal_session);
        const auto n = p.parity->message_header(p.file_id, p.fec_groups, g, index,
                                                std::span<std::uint8_t>(plaintext, plain));
        if (!n.ok()) {
            rte_pktmbuf_free(m);
            drop_run();
            return true;
        }
        std::memcpy(plaintext + *n, parity.data(), bs);
        job = seal::seal_job{
            .session = p.seal_session,
            .header = h,
            .iv_ctr = p.counters->iv_counter.fetch_add(1, std::memory_order_relaxed) + 1,
            .plaintext = std::span<const std::uint8_t>(plaintext, plain),
            .out = std::span<std::uint8_t>(udp_payload, payload),
            .mbuf = m,
        };
    } else if (!p.parity
                    ->build(h, p.file_id, p.fec_groups, g, index, parity,
                            std::span<std::uint8_t>(udp_payload, payload))
                    .ok()) {
        rte_pktmbuf_free(m);
        drop_run();
        return true;
    }
    out.mbuf = m;
    p.parity_runs.sent();
    return true;
}

// Builds up to `room` FILESEG frames the pacer admits at `now`.
bool send_pass_blocks(tx_context& c, std::uint64_t now, std::uint16_t room) {
    tx_pass& p = *c.pass;
    const std::size_t headers = protocol::fileseg_headers_size(false);
    const tx_file file{.file_id = p.file_id, .layout = p.layout};
    pending_block pending[burst_size];
    seal::seal_job jobs[burst_size];
    std::uint16_t n = 0;
    bool ended = false;
    p.paced_out = false;
    while (n < room) {
        const std::uint32_t block = next_marked_block(p, p.next_block);
        const next_frame next = parity_due(c, p, block);
        if (next == next_frame::wait) {
            break;
        }
        if (next == next_frame::parity) {
            if (!build_parity_frame(c, p, now, pending[n], jobs[n])) {
                break;
            }
            if (pending[n].mbuf != nullptr) {
                ++n;
            }
            continue;
        }
        if (block >= p.layout.blocks()) {
            ended = true;
            break;
        }
        const std::uint32_t bytes = p.layout.block_bytes(block);
        const std::size_t plain = headers + bytes;
        const std::size_t payload =
            p.encrypted ? c.sealer->sealed_size(p.seal_session, plain - protocol::uftp_header_size)
                        : plain;
        const std::size_t frame_length = frame_template::header_size + payload;
        if (!pacer_admit(p.profile, p.pacer, now, static_cast<std::uint32_t>(frame_length))) {
            p.paced_out = true;
            break;
        }
        rte_mbuf* m = rte_pktmbuf_alloc(c.res->packets);
        if (m == nullptr) {
            bump(c.counters, counter::tx_drop_no_mbuf);
            break; // the block stays next; the pool refills as the port sends
        }
        auto* frame = reinterpret_cast<std::uint8_t*>(
            rte_pktmbuf_append(m, static_cast<std::uint16_t>(frame_length)));
        const std::uint64_t offset = std::uint64_t{block} * p.layout.block_size();
        if (offset + bytes > p.size) {
            // The file shrank under us: never send bytes that are not the file's.
            rte_pktmbuf_free(m);
            bump(c.counters, counter::tx_file_read_error);
            p.error = EIO;
            ended = true;
            break;
        }
        protocol::uftp_header h = p.header;
        h.seq = next_sequence(p);
        std::uint8_t* udp_payload = frame + frame_template::header_size;
        if (!p.encrypted) {
            (void)build_fileseg_headers(h, file, block,
                                        std::span<std::uint8_t>(udp_payload, headers));
            // Zero copy where the port takes two segments (extbuf.h); short
            // blocks, and a pool too empty for the second mbuf, copy.
            const std::span<const std::uint8_t> data(p.data + offset, bytes);
            if (!plain_zero_copy(*c.res) || bytes < zero_copy_min_block ||
                !chain_file_block(c.res->packets, c.res->port, m, data)) {
                std::memcpy(udp_payload + headers, data.data(), bytes);
            }
        } else {
            // The FILESEG message (without its UFTP header) goes where the
            // ciphertext will be, and is sealed in place.
            const std::size_t at = c.sealer->payload_offset(p.seal_session);
            std::uint8_t* plaintext = udp_payload + at;
            (void)build_fileseg_headers(
                h, file, block,
                std::span<std::uint8_t>(plaintext - protocol::uftp_header_size, headers));
            std::memcpy(plaintext + (headers - protocol::uftp_header_size), p.data + offset, bytes);
            jobs[n] = seal::seal_job{
                .session = p.seal_session,
                .header = h,
                .iv_ctr = p.counters->iv_counter.fetch_add(1, std::memory_order_relaxed) + 1,
                .plaintext =
                    std::span<const std::uint8_t>(plaintext, plain - protocol::uftp_header_size),
                .out = std::span<std::uint8_t>(udp_payload, payload),
                .mbuf = m,
            };
        }
        pending[n++] = {m, block, bytes, false};
        p.next_block = block + 1;
    }
    // A sealed FILESEG's AEAD tag (or HMAC, or signature) already detects
    // any changed bit, far more strongly than the UDP checksum: without a
    // NIC to compute that checksum, send none (IPv4 allows it; every stack
    // accepts it) rather than sum 8800 bytes again in software — about a
    // sixth of the cycles of an encrypted jumbo packet (perf/tx_path).
    net::tx_checksum_offload offload = c.offload;
    if (p.encrypted && !offload.udp) {
        offload.udp_none = true;
    }
    if (n > 0 && p.encrypted) {
        c.sealer->seal_burst(std::span<seal::seal_job>(jobs, n));
        publish_seal_counters(*c.sealer, c.counters);
    }
    for (std::uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = pending[i].mbuf;
        if (pending[i].parity) {
            if (p.encrypted && jobs[i].status != crypto::crypto_error::ok) {
                bump(c.counters, counter::tx_drop_seal_failed);
                rte_pktmbuf_free(m);
                continue;
            }
            auto* frame = rte_pktmbuf_mtod(m, std::uint8_t*);
            const std::size_t payload = rte_pktmbuf_data_len(m) - frame_template::header_size;
            (void)p.parity_frame.stamp(std::span<std::uint8_t>(frame, rte_pktmbuf_data_len(m)),
                                       payload, offload);
            request_offload(c, m);
            enqueue_frame(c, m);
            bump(c.counters, counter::tx_parity);
            bump(c.counters, counter::tx_parity_bytes, pending[i].bytes);
            continue;
        }
        if (p.encrypted && jobs[i].status != crypto::crypto_error::ok) {
            bump(c.counters, counter::tx_drop_seal_failed);
            rte_pktmbuf_free(m);
            continue;
        }
        if (m->nb_segs > 1) {
            stamp_chained_frame(p.frame, m, c.offload);
        } else {
            auto* frame = rte_pktmbuf_mtod(m, std::uint8_t*);
            const std::size_t payload = rte_pktmbuf_data_len(m) - frame_template::header_size;
            (void)p.frame.stamp(std::span<std::uint8_t>(frame, rte_pktmbuf_data_len(m)), payload,
                                offload);
        }
        request_offload(c, m);
        enqueue_frame(c, m);
        ++p.blocks_sent;
        p.bytes_sent += pending[i].bytes;
        bump(c.counters, counter::tx_fileseg);
        bump(c.counters, counter::tx_fileseg_bytes, pending[i].bytes);
    }
    // The next block this pass sends (the layout's end in a pass of parity
    // alone): the prefetcher reads ahead from it, the parity encoder up to
    // where the prefetcher reaches.
    p.cursor.store(next_marked_block(p, p.next_block), std::memory_order_relaxed);
    p.shared_slot->bytes_done.store(p.bytes_sent, std::memory_order_relaxed);
    p.shared_slot->segments.store(p.next_block, std::memory_order_release);
    if (ended) {
        flush(c);
        finish_pass(c,
                    p.error == 0 ? api::tx_event_kind::pass_end : api::tx_event_kind::pass_stopped,
                    p.error);
    }
    return n > 0 || ended;
}

// net/ keeps time in nanoseconds; the pacer runs on the TSC itself.
std::uint64_t tsc_to_ns(const tx_context& c, std::uint64_t tsc) {
    return static_cast<std::uint64_t>(static_cast<pacer_u128>(tsc) * 1'000'000'000u / c.tsc_hz);
}

} // namespace

bool tx_iteration(tx_context& c) {
    c.gate.check();
    const std::uint64_t now = rte_rdtsc();
    const std::uint64_t now_ns = tsc_to_ns(c, now);
    bool did = handle_work(c, now);
    const bool handed_over = handle_rx_handoff(c, now_ns) | handle_neighbours(c, now_ns);
    did |= handed_over;
    // Held datagrams first: a reply just learned releases them ahead of any
    // newer datagram for the same next hop, so the peer sees them in order.
    did |= service_held_datagrams(c, now_ns, handed_over);
    did |= send_datagrams(c, c.res->control_tx, now_ns);
    did |= send_datagrams(c, c.res->rx_forward, now_ns);
    did |= answer_due_igmp_query(c, now_ns);
    if (now - c.last_igmp_tsc > igmp_refresh_seconds * c.tsc_hz) {
        c.last_igmp_tsc = now;
        report_all_groups(c);
    }
    if (c.pass != nullptr && c.out_count < burst_size) {
        tx_pass& p = *c.pass;
        // Control's rate control (set_pass_rate) moved the rate.
        if (const std::uint64_t wanted = p.wanted_rate_bps.load(std::memory_order_relaxed);
            wanted != p.profile.rate_bps) {
            pacer_set_rate(p.profile, p.pacer, now, wanted);
            bump(c.counters, counter::tx_rate_changes);
        }
        did |= send_pass_blocks(c, now, static_cast<std::uint16_t>(burst_size - c.out_count));
    }
    flush(c);
    return did;
}

std::uint32_t tx_pause_limit_us(const tx_context& c) {
    if (c.pass == nullptr || !c.pass->paced_out || c.pass->profile.rate_bps == 0) {
        return no_pause_limit;
    }
    const tx_pass& p = *c.pass;
    const std::uint64_t now = rte_rdtsc();
    const std::uint64_t due = pacer_next_admit(
        p.profile, p.pacer, now,
        static_cast<std::uint32_t>(p.profile.burst_bytes / 2 - ethernet_wire_overhead));
    return static_cast<std::uint32_t>(
        std::min<std::uint64_t>((due - now) * 1'000'000 / c.tsc_hz, no_pause_limit));
}

void tx_drain(tx_context& c) {
    for (std::uint16_t i = 0; i < c.arp_held_count; ++i) {
        drop_unresolved(c, c.arp_held[i].datagram);
    }
    c.arp_held_count = 0;
    flush(c);
    if (c.pass != nullptr) {
        finish_pass(c, api::tx_event_kind::pass_stopped, ECANCELED);
    }
}

} // namespace skycast::dataplane
