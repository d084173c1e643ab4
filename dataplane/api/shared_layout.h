#pragma once
// The shared memzone (api::memzone_shared): what the dataplane publishes for
// the control process and the stats socket. One contiguous block:
//
//   shared_header | file_slot[max_files] | bitmaps | parity tables | lcore_counters[lcores]
//
// sized at start from the config (max_files, max_blocks_per_file) and
// described by the offsets in the header, so a reader needs no compile-time
// capacities. Every field says who writes it and who reads it; atomics are
// address-free (lock-free 32/64-bit), so they work across processes.

#include "dataplane/api/contract.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace skycast::dataplane::api {

inline constexpr std::uint64_t shared_magic = 0x534B594341535431ULL; // "SKYCAST1"

enum class dataplane_state : std::uint32_t { starting, running, stopping, stopped };

enum class file_slot_state : std::uint32_t {
    free,      // nobody uses it
    receiving, // RX lcore accepts FILESEGs into it
    sending,   // TX lcore sends a pass from it
    closing,   // receive stopped; its writes drain and flush (file_closer)
    closed,    // receive closed (close_errno says how); counters final until reused
};

// A counter's name ("rx.drop.ipv4_bad_checksum") and what a non-zero value
// means, written once by the dataplane at start.
struct counter_description {
    char name[counter_name_bytes];
    char help[counter_help_bytes];
};

// Port statistics, refreshed every 20 ms by the dataplane's main thread
// (writer) from rte_eth_stats, under shared_header::port_seq; read by anyone
// with shared_view::port().
struct port_snapshot {
    std::uint64_t ipackets, opackets, ibytes, obytes, imissed, ierrors, oerrors, rx_nombuf;
};

// Counters a session's sender draws from in both processes: the header
// sequence number (one counter for control messages and FILESEGs, spec §1.2)
// and the ENCRYPTED IV counter (a reused IV under one key breaks GCM/CCM).
// Writers: control and the TX lcore, with fetch_add.
struct alignas(64) session_counters {
    std::atomic<std::uint64_t> iv_counter;
    std::atomic<std::uint32_t> sequence; // low 16 bits go on the wire
    std::uint32_t pad;
};

struct alignas(64) shared_header {
    std::uint64_t magic;            // shared_magic; written once before state=running
    std::uint32_t contract_version; // written once
    std::uint32_t max_files;        // file_slot count
    std::uint32_t max_blocks_per_file;
    std::uint32_t counter_count; // valid entries in counters[]
    std::uint32_t lcore_blocks;  // lcore_counters blocks in use
    std::uint32_t dataplane_pid;
    std::uint64_t generation; // changes on every dataplane start: control re-attaches
    std::uint64_t tsc_hz;
    std::uint64_t file_table_offset; // bytes from the start of the memzone
    std::uint64_t bitmap_offset;
    std::uint64_t bitmap_words_per_file;
    std::uint64_t parity_table_offset;
    std::uint64_t parity_table_bytes_per_file;
    std::uint64_t counters_offset;
    std::uint64_t total_bytes;
    std::uint32_t local_address; // the port's IPv4 address, host order
    std::uint8_t local_mac[6];
    std::uint16_t mtu;
    std::atomic<std::uint32_t> state;       // dataplane_state; dataplane writes (release)
    std::atomic<std::uint64_t> heartbeat;   // dataplane main thread bumps it every ~20 ms
    std::atomic<std::uint64_t> control_pid; // control writes on attach (0 = none)
    std::atomic<std::uint64_t> port_seq;    // seqlock over `port`: odd while writing
    port_snapshot port;
    session_counters sessions[max_sessions];
    counter_description counters[max_counters];
};

struct alignas(64) file_slot {
    // Written by the dataplane main thread, before publishing `state` with
    // release; read by the lcores and control after an acquire load of `state`.
    std::atomic<std::uint32_t> state; // file_slot_state
    std::uint16_t file_id;
    std::uint16_t pad;
    session_identity session;
    file_geometry geometry;
    std::uint32_t blocks; // blocks in the file (bits in use in the bitmap)
    std::uint32_t pass;
    // Receiving: blocks the storage thread wrote (writer: storage thread) and
    // write failures (a file with any is never complete). Sending: blocks the
    // TX lcore sent in the current pass (writer: TX lcore).
    std::atomic<std::uint64_t> blocks_done;
    std::atomic<std::uint64_t> write_errors;
    // Receiving: the errno of the first failed write (0 = none; writer:
    // storage thread), so the receiver can tell the sender why the file
    // cannot complete (ENOSPC: disk full) instead of timing out.
    std::atomic<std::int32_t> write_errno;
    // Receiving, once `state` is closed (acquire): 0 when every write
    // reached the disk (drained, fdatasync), else why not (ETIMEDOUT: the
    // writes did not drain; EIO: a write failed; the flush's errno).
    // Writer: the dataplane's file closer, before `state`.
    std::atomic<std::int32_t> close_errno;
    // Receiving: bytes the storage thread wrote. Sending: bytes of blocks
    // the TX lcore sent in the current pass (writer: TX lcore), from which
    // control's rate control measures the rate reached.
    std::atomic<std::uint64_t> bytes_done;
    // Receiving, writer RX lcore: FILESEGs seen for this file (stored or not)
    // and the section and header sequence number of the latest, so control
    // restarts its inactivity and section-end timers (receiver_engine::on_data)
    // without a message per packet. Sending, writer TX lcore: `segments` is
    // the pass cursor (the next block it will look at).
    std::atomic<std::uint64_t> segments;
    std::atomic<std::uint32_t> last_section;
    std::atomic<std::uint32_t> last_seq;
};

// Per-lcore (or per-thread) counters: one writer, on its own cache lines;
// readers sum across blocks. Indexed like shared_header::counters.
struct alignas(64) lcore_counters {
    char role[16];       // "rx", "tx", "main", "storage0"
    std::uint32_t lcore; // DPDK lcore id, or UINT32_MAX for a non-EAL thread
    std::uint32_t pad;
    std::uint64_t values[max_counters];
};

// A FEC pass's parity for one group (file-wide group index = entry index):
// `count` parity blocks from index `first_index` (0: none). Written by
// control before start_pass, read by the TX lcore during the pass.
struct parity_entry {
    std::uint8_t count;
    std::uint8_t first_index;
};
inline constexpr std::uint64_t parity_entry_bytes = sizeof(parity_entry);
// UFTP sections per file are 16-bit (spec §3.1).
inline constexpr std::uint64_t max_sections_bound = 65536;

// The offsets for a configuration; the dataplane sizes the memzone with it.
struct layout {
    std::uint64_t file_table_offset;
    std::uint64_t bitmap_offset;
    std::uint64_t bitmap_words_per_file;
    std::uint64_t parity_table_offset;
    std::uint64_t parity_table_bytes_per_file;
    std::uint64_t counters_offset;
    std::uint64_t total_bytes;
};

constexpr std::uint64_t align_up(std::uint64_t n, std::uint64_t a) {
    return (n + a - 1) / a * a;
}

constexpr layout compute_layout(std::uint32_t max_files, std::uint32_t max_blocks_per_file,
                                std::uint32_t lcore_blocks) {
    layout l{};
    l.file_table_offset = align_up(sizeof(shared_header), 64);
    l.bitmap_offset = align_up(l.file_table_offset + sizeof(file_slot) * max_files, 64);
    // Each file's bitmap starts on a cache line of its own.
    l.bitmap_words_per_file = align_up((std::uint64_t{max_blocks_per_file} + 63) / 64, 8);
    l.parity_table_offset = align_up(l.bitmap_offset + l.bitmap_words_per_file * 8 * max_files, 64);
    // Sending a FEC pass: per group of at least min_fec_group_blocks (groups
    // never span sections, so a section's short group adds at most one),
    // parity_entry_bytes of parity_entry.
    l.parity_table_bytes_per_file =
        align_up(parity_entry_bytes * (std::uint64_t{max_blocks_per_file} / min_fec_group_blocks +
                                       max_sections_bound),
                 64);
    l.counters_offset =
        align_up(l.parity_table_offset + l.parity_table_bytes_per_file * max_files, 64);
    l.total_bytes = l.counters_offset + sizeof(lcore_counters) * lcore_blocks;
    return l;
}

// Typed access to a mapped memzone (primary or secondary).
class shared_view {
public:
    explicit shared_view(void* base) : _base(static_cast<std::byte*>(base)) {}

    shared_header& header() const { return *reinterpret_cast<shared_header*>(_base); }
    file_slot& slot(std::uint32_t i) const {
        return reinterpret_cast<file_slot*>(_base + header().file_table_offset)[i];
    }
    std::uint64_t* bitmap(std::uint32_t i) const {
        return reinterpret_cast<std::uint64_t*>(_base + header().bitmap_offset) +
               header().bitmap_words_per_file * i;
    }
    // The parity table of slot i: parity_table_entries() entries.
    parity_entry* parity_table(std::uint32_t i) const {
        return reinterpret_cast<parity_entry*>(_base + header().parity_table_offset +
                                               header().parity_table_bytes_per_file * i);
    }
    std::uint64_t parity_table_entries() const {
        return header().parity_table_bytes_per_file / parity_entry_bytes;
    }
    lcore_counters& counters(std::uint32_t block) const {
        return reinterpret_cast<lcore_counters*>(_base + header().counters_offset)[block];
    }
    // The index of the counter named `name` (counter_ids.cc), if any.
    std::optional<std::uint32_t> counter_index(std::string_view name) const {
        const shared_header& h = header();
        for (std::uint32_t i = 0; i < h.counter_count && i < max_counters; ++i) {
            if (std::string_view(h.counters[i].name,
                                 strnlen(h.counters[i].name, counter_name_bytes)) == name) {
                return i;
            }
        }
        return std::nullopt;
    }
    // The port statistics, read under their seqlock (a torn snapshot is
    // retried; after 10 tries the last read stands).
    port_snapshot port() const {
        const shared_header& h = header();
        port_snapshot snapshot{};
        for (int attempt = 0; attempt < 10; ++attempt) {
            const auto before = h.port_seq.load(std::memory_order_acquire);
            snapshot = h.port;
            if ((before & 1) == 0 && h.port_seq.load(std::memory_order_acquire) == before) {
                break;
            }
        }
        return snapshot;
    }
    // Sum of counter `index` over every lcore block.
    std::uint64_t counter_total(std::uint32_t index) const {
        std::uint64_t total = 0;
        for (std::uint32_t b = 0; b < header().lcore_blocks; ++b) {
            total += std::atomic_ref<std::uint64_t>(counters(b).values[index])
                         .load(std::memory_order_relaxed);
        }
        return total;
    }

private:
    std::byte* _base;
};

} // namespace skycast::dataplane::api
