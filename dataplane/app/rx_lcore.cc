#include "dataplane/app/rx_lcore.h"

#include "dataplane/app/counter_ids.h"
#include "dataplane/app/internal_messages.h"
#include "dataplane/core/fileseg_receiver.h"
#include "protocol/codec.h"
#include "protocol/parity.h"

#include <cstring>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring_elem.h>

namespace skycast::dataplane {
namespace {

void drop(rx_context& c, rte_mbuf* m, counter why) {
    bump(c.counters, why);
    rte_pktmbuf_free(m);
}

rx_file_entry* find_file(rx_context& c, std::uint32_t sender, std::uint32_t group,
                         std::uint16_t file_id) {
    auto matches = [&](const rx_file_entry& f) {
        return f.active && f.file_id == file_id && f.sender_id == sender && f.group_id == group;
    };
    if (c.last_file < c.files.size() && matches(c.files[c.last_file])) {
        return &c.files[c.last_file];
    }
    for (std::uint32_t i = 0; i < c.files.size(); ++i) {
        if (matches(c.files[i])) {
            c.last_file = i;
            return &c.files[i];
        }
    }
    return nullptr;
}

const session_entry* find_session(const rx_context& c, std::uint32_t sender, std::uint32_t group) {
    for (const auto& s : c.sessions) {
        if (s.active && s.sender_id == sender && s.group_id == group) {
            return &s;
        }
    }
    return nullptr;
}

bool session_known(const rx_context& c, std::uint32_t sender, std::uint32_t group) {
    for (const auto& f : c.files) {
        if (f.active && f.sender_id == sender && f.group_id == group) {
            return true;
        }
    }
    return false;
}

// Accepts a FILESEG whose bytes are in `m`; consumes `m`.
void store_fileseg(rx_context& c, rte_mbuf* m, const protocol::uftp_header& h,
                   const protocol::fileseg_msg& seg, bool arrived_encrypted) {
    rx_file_entry* entry = find_file(c, h.src_id, h.group_id, seg.file_id);
    if (entry == nullptr) {
        if (session_known(c, h.src_id, h.group_id)) {
            bump(c.counters, fileseg_drop::unknown_file);
            rte_pktmbuf_free(m);
        } else {
            drop(c, m, counter::rx_drop_foreign_session);
        }
        return;
    }
    api::file_slot& shared = c.res->shared.slot(entry->slot);
    shared.last_section.store(seg.section, std::memory_order_relaxed);
    shared.last_seq.store(h.seq, std::memory_order_relaxed);
    shared.segments.fetch_add(1, std::memory_order_release);
    if (entry->encrypted && !arrived_encrypted) {
        bump(c.counters, fileseg_drop::unencrypted);
        rte_pktmbuf_free(m);
        return;
    }
    const rx_file file{.file_id = entry->file_id,
                       .layout = entry->layout,
                       .received = block_bitmap_view(
                           std::span<std::uint64_t>(
                               entry->bitmap, block_bitmap_view::words_for(entry->layout.blocks())),
                           entry->layout.blocks())};
    // Room in the storage ring first: accepting sets the block's bit, and
    // control rebuilds FEC groups from the blocks whose bits it sees
    // (fec_receive_file), so a bit must never be set for a block that will
    // not be written. This lcore is the ring's only producer: room it sees
    // stays until it enqueues.
    rte_ring* ring = c.res->storage[entry->slot % c.storage_threads];
    if (rte_ring_free_count(ring) == 0) {
        drop(c, m, counter::rx_drop_storage_ring_full);
        return;
    }
    block_write w;
    rx_counters outcome;
    if (!accept_fileseg(&file, seg, w, outcome)) {
        for (std::size_t d = 0; d < outcome.dropped.size(); ++d) {
            if (outcome.dropped[d] != 0) {
                bump(c.counters, static_cast<fileseg_drop>(d));
            }
        }
        rte_pktmbuf_free(m);
        return;
    }
    const auto* base = rte_pktmbuf_mtod(m, const std::uint8_t*);
    storage_job job{.mbuf = reinterpret_cast<std::uint64_t>(m),
                    .file_offset = w.offset,
                    .data_offset = static_cast<std::uint32_t>(w.data.data() - base),
                    .length = static_cast<std::uint32_t>(w.data.size()),
                    .slot = entry->slot,
                    .generation = entry->generation};
    // One storage thread per file (the ring above) keeps each file's writes
    // in order and its batches contiguous.
    if (rte_ring_sp_enqueue_elem(ring, &job, sizeof job) != 0) {
        // Cannot happen (room was checked, and only this lcore enqueues);
        // were it to, the bit must not claim a block that is not written.
        std::atomic_ref<std::uint64_t>(entry->bitmap[w.block >> 6])
            .fetch_and(~(std::uint64_t{1} << (w.block & 63)), std::memory_order_release);
        drop(c, m, counter::rx_drop_storage_ring_full);
        return;
    }
    bump(c.counters, counter::rx_fileseg_stored);
    bump(c.counters, counter::rx_fileseg_bytes, w.data.size());
}

bool to_control(rx_context& c, rte_mbuf* m, const net::rx_verdict& v, std::uint16_t offset,
                std::uint16_t length, std::uint16_t flags, std::uint64_t now_tsc) {
    api::datagram d{.version = api::contract_version,
                    .length = length,
                    .offset = offset,
                    .flags = flags,
                    .peer = {.address = v.src_ip.value, .port = v.src_port},
                    .local = {.address = v.dst_ip.value, .port = v.dst_port},
                    .mbuf = reinterpret_cast<std::uint64_t>(m),
                    .rx_tsc = now_tsc};
    if (rte_ring_sp_enqueue_elem(c.res->received, &d, sizeof d) != 0) {
        drop(c, m, counter::rx_drop_control_ring_full);
        return false;
    }
    bump(c.counters, counter::rx_to_control);
    return true;
}

// `datagram` holds at least a UFTP header.
const forward_rule* find_forward(const rx_context& c, net::ipv4_address source,
                                 std::span<const std::uint8_t> datagram) {
    // The header's group ID (bytes 8..11, big-endian).
    const std::uint32_t group_id = (std::uint32_t{datagram[8]} << 24) |
                                   (std::uint32_t{datagram[9]} << 16) |
                                   (std::uint32_t{datagram[10]} << 8) | datagram[11];
    for (std::size_t i = 0; i < c.forward_count; ++i) {
        const forward_rule& r = c.forwards[i];
        if (r.source == source && (r.group_id == 0 || r.group_id == group_id)) {
            return &r;
        }
    }
    return nullptr;
}

// Proxies: the datagram goes on unchanged to the rule's destination,
// framed by the TX lcore as it frames control's datagrams (consumes `m`).
void forward(rx_context& c, rte_mbuf* m, const net::rx_verdict& v, const forward_rule& rule) {
    api::datagram d{.version = api::contract_version,
                    .length = v.payload_length,
                    // The TX lcore takes the offset in the buffer, not the data.
                    .offset = static_cast<std::uint16_t>(m->data_off + v.payload_offset),
                    .flags = 0,
                    .peer = rule.to,
                    .local = {.address = v.dst_ip.value, .port = v.dst_port},
                    .mbuf = reinterpret_cast<std::uint64_t>(m)};
    if (rte_ring_sp_enqueue_elem(c.res->rx_forward, &d, sizeof d) != 0) {
        drop(c, m, counter::rx_drop_forward_ring_full);
        return;
    }
    bump(c.counters, counter::rx_forwarded);
    bump(c.counters, counter::rx_forwarded_bytes, v.payload_length);
}

// A client proxy's site still waits for the server's word (a lost REG_CONF):
// control reads the sealed FILEINFO and DONE that may carry it, from a copy,
// while `m` itself goes on. Only while a receiver waits: every sealed FILESEG
// is copied too.
void tap_to_control(rx_context& c, rte_mbuf* m, const net::rx_verdict& v, std::uint64_t now_tsc) {
    rte_mbuf* copy = rte_pktmbuf_copy(m, c.res->packets, 0, UINT32_MAX);
    if (copy == nullptr) {
        bump(c.counters, counter::rx_drop_tap_no_mbuf);
        return;
    }
    if (to_control(c, copy, v, v.payload_offset, v.payload_length, api::datagram_forwarded,
                   now_tsc)) {
        bump(c.counters, counter::rx_forward_tapped);
    }
}

// A sender's ANNOUNCE, FILEINFO or DONE: its Ethernet source is where the
// answers go (on the local subnet), so the TX lcore's ARP cache gleans it
// (net::arp_cache::glean). A receiver then sends its REGISTER without an
// ARP round trip first, and the entry stays confirmed while the sender
// speaks (every DONE comes just before STATUS answers). Only these rare
// messages: never a FILESEG, whose rate this must not add to.
void note_neighbour(rx_context& c, std::span<const std::uint8_t> frame, const net::rx_verdict& v) {
    neighbour_seen n{.ip = v.src_ip.value, .mac = {}, .pad = 0};
    std::memcpy(n.mac, frame.data() + 6, sizeof n.mac); // Ethernet source address
    // A full ring loses nothing but this hint (the datagram goes on to
    // control): ARP resolves the address as it would have without it.
    (void)rte_ring_sp_enqueue_elem(c.res->rx_neighbours, &n, sizeof n);
}

void handle_uftp(rx_context& c, rte_mbuf* m, const net::rx_verdict& v, std::uint64_t now_tsc) {
    auto* frame = rte_pktmbuf_mtod(m, std::uint8_t*);
    const std::span<const std::uint8_t> datagram(frame + v.payload_offset, v.payload_length);
    if (c.forward_count != 0 && datagram.size() >= protocol::uftp_header_size &&
        datagram[0] == protocol::uftp_version &&
        !protocol::is_server_handshake(static_cast<protocol::message_type>(datagram[1]))) {
        // Whatever a forwarded server (or server proxy) sends, sealed or
        // not, FILESEG or PARITY, goes on as it is; its handshake goes to
        // control, which learns the session from it (and, in a client
        // proxy, takes its part in the key exchange) and forwards it itself.
        if (const forward_rule* rule = find_forward(c, v.src_ip, datagram)) {
            if (rule->tap_sealed &&
                datagram[1] == static_cast<std::uint8_t>(protocol::message_type::encrypted)) {
                tap_to_control(c, m, v, now_tsc);
            }
            forward(c, m, v, *rule);
            return;
        }
    }
    if (datagram.size() > protocol::uftp_header_size && datagram[0] == protocol::uftp_version &&
        datagram[1] == protocol::parity_func) {
        // FEC parity (docs/protocol.md §17): control keeps and decodes it.
        if (to_control(c, m, v, v.payload_offset, v.payload_length, 0, now_tsc)) {
            bump(c.counters, counter::rx_parity_to_control);
        }
        return;
    }
    protocol::uftp_header h;
    protocol::message_type type{};
    if (protocol::decode_header(datagram, h, type) != protocol::wire_error::ok) {
        drop(c, m, counter::rx_drop_not_uftp);
        return;
    }
    if (type == protocol::message_type::fileseg) {
        protocol::fileseg_msg seg;
        if (protocol::decode_fileseg(datagram, h, seg) != protocol::wire_error::ok) {
            drop(c, m, counter::rx_drop_not_uftp);
            return;
        }
        store_fileseg(c, m, h, seg, false);
        return;
    }
    if (type != protocol::message_type::encrypted) {
        if (type == protocol::message_type::announce || type == protocol::message_type::fileinfo ||
            type == protocol::message_type::done) {
            note_neighbour(c, {frame, v.payload_offset}, v);
        }
        to_control(c, m, v, v.payload_offset, v.payload_length, 0, now_tsc);
        return;
    }
    const session_entry* s = find_session(c, h.src_id, h.group_id);
    if (s == nullptr || !c.opener) {
        // Control holds the keys of sessions still in their handshake; it
        // decrypts those itself.
        to_control(c, m, v, v.payload_offset, v.payload_length, 0, now_tsc);
        return;
    }
    // Decrypt in place: the plaintext lands where the ciphertext was, after
    // the 28-byte prefix and the signature, whose length the datagram gives
    // (KEYEX signatures are the sender's, not a size this node's keys know).
    if (v.payload_length < protocol::encrypted_prefix_size) {
        drop(c, m, counter::rx_drop_not_uftp);
        return;
    }
    const std::uint8_t* sig_len = frame + v.payload_offset + protocol::encrypted_prefix_size - 4;
    const std::size_t at =
        protocol::encrypted_prefix_size + ((std::size_t{sig_len[0]} << 8) | sig_len[1]);
    if (at + protocol::uftp_header_size > v.payload_length) {
        drop(c, m, counter::rx_drop_not_uftp);
        return;
    }
    std::uint8_t* plaintext = frame + v.payload_offset + at;
    seal::open_job job{.session = s->id,
                       .datagram = datagram,
                       .plaintext_out = std::span<std::uint8_t>(plaintext, v.payload_length - at),
                       .sender = s->sender_key,
                       .mbuf = m};
    c.opener->open_burst(std::span<seal::open_job>(&job, 1));
    publish_seal_counters(*c.opener, c.counters);
    if (job.status != crypto::crypto_error::ok) {
        drop(c, m, counter::rx_drop_decrypt_failed);
        return;
    }
    const std::size_t inner = job.opened.plaintext_size;
    if (job.opened.inner_type == protocol::message_type::fileseg) {
        protocol::message msg;
        if (protocol::decode_message(protocol::message_type::fileseg,
                                     std::span<const std::uint8_t>(plaintext, inner),
                                     msg) != protocol::wire_error::ok) {
            drop(c, m, counter::rx_drop_not_uftp);
            return;
        }
        store_fileseg(c, m, h, std::get<protocol::fileseg_msg>(msg), true);
        return;
    }
    // Any other message: rebuild a plain datagram (the original header with
    // the inner function code) in front of the plaintext, flagged as having
    // arrived encrypted, for the control process.
    std::uint8_t* rebuilt = plaintext - protocol::uftp_header_size;
    std::memmove(rebuilt, frame + v.payload_offset, protocol::uftp_header_size);
    rebuilt[1] = static_cast<std::uint8_t>(job.opened.inner_type);
    to_control(c, m, v, static_cast<std::uint16_t>(rebuilt - frame),
               static_cast<std::uint16_t>(protocol::uftp_header_size + inner),
               api::datagram_decrypted, now_tsc);
}

} // namespace

void rx_handle_frame(rx_context& c, rte_mbuf* m, std::uint64_t now_tsc) {
    const std::uint32_t length = rte_pktmbuf_pkt_len(m);
    bump(c.counters, counter::rx_packets);
    bump(c.counters, counter::rx_bytes, length);
    if (m->nb_segs != 1) {
        drop(c, m, counter::rx_drop_multi_segment);
        return;
    }
    // Trust the port's checksum verdicts when it gives them.
    net::rx_context classify = c.classify;
    if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD) {
        classify.verify_ipv4_checksum = false;
    }
    if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD) {
        classify.verify_udp_checksum = false;
    }
    const std::span<const std::uint8_t> frame(rte_pktmbuf_mtod(m, const std::uint8_t*),
                                              rte_pktmbuf_data_len(m));
    const net::rx_verdict v = net::classify(frame, classify);
    switch (v.kind) {
    case net::verdict_kind::igmp:
        if (v.igmp.type != net::igmp_type::membership_query) {
            // Another host's report or leave (or our own, looped back):
            // nothing to answer. Counted under rx.igmp.
            bump(c.counters, counter::rx_igmp);
            rte_pktmbuf_free(m);
            return;
        }
        [[fallthrough]];
    case net::verdict_kind::arp: {
        bump(c.counters, v.kind == net::verdict_kind::arp ? counter::rx_arp : counter::rx_igmp);
        auto handle = reinterpret_cast<std::uint64_t>(m);
        if (rte_ring_sp_enqueue_elem(c.res->rx_to_tx, &handle, sizeof handle) != 0) {
            drop(c, m, counter::rx_drop_tx_ring_full);
        }
        return;
    }
    case net::verdict_kind::udp:
        handle_uftp(c, m, v, now_tsc);
        return;
    case net::verdict_kind::drop:
    case net::verdict_kind::count:
        bump(c.counters, v.reason);
        rte_pktmbuf_free(m);
        return;
    }
}

bool rx_iteration(rx_context& c) {
    c.gate.check();
    rte_mbuf* pkts[burst_size];
    const std::uint16_t n = rte_eth_rx_burst(c.res->port, 0, pkts, burst_size);
    if (n == 0) {
        return false;
    }
    const std::uint64_t now = rte_rdtsc();
    for (std::uint16_t i = 0; i < n; ++i) {
        rx_handle_frame(c, pkts[i], now);
    }
    return true;
}

} // namespace skycast::dataplane
