#pragma once
// The IPC contract between skycast-dataplane (DPDK primary) and skycast-control
// (DPDK secondary): names of the shared objects, the contract version, and
// the fixed-size messages the rings carry. This folder is the only part of
// dataplane/ that control/ includes (docs/architecture.md, "Folders").
//
// Rings (all single-producer/single-consumer, one per producer, consumer and
// direction; elements are the PODs below, carried by value with
// rte_ring_*_elem):
//
//   control  --command-->   dataplane main thread   (ring_command)
//   control  --datagram-->  TX lcore                (ring_control_tx)
//   dataplane main --reply--> control               (ring_reply)
//   TX lcore --event-->      control                (ring_tx_event)
//   RX lcore --datagram-->   control                (ring_received)
//
// Datagrams travel as mbufs of a named shared pool (pool_control); the ring
// element carries the mbuf's address, which is valid in both processes
// because DPDK maps shared memory at the same virtual address in every
// process of a file prefix. Nothing else crosses as a pointer.
//
// Versioning: a secondary refuses to attach when shared_header::contract_version
// differs from its own `contract_version` (a rebuilt control against an old
// dataplane, or the reverse). Bump it whenever a struct here or in
// shared_layout.h changes.

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace skycast::dataplane::api {

inline constexpr std::uint32_t contract_version = 9;

// Names (DPDK limits memzone names to 31 characters, rings to 28).
inline constexpr const char* memzone_shared = "skycast_shared";
inline constexpr const char* ring_command = "sky_cmd";
inline constexpr const char* ring_control_tx = "sky_ctl_tx";
inline constexpr const char* ring_reply = "sky_reply";
inline constexpr const char* ring_tx_event = "sky_tx_event";
inline constexpr const char* ring_received = "sky_rx";
inline constexpr const char* pool_control = "sky_ctl_pool";

// Sizes the contract fixes (everything else is sized from the config).
inline constexpr std::size_t max_path_bytes = 512;      // NUL-terminated, absolute
inline constexpr std::size_t max_key_block_bytes = 128; // HMAC-SHA-512 key + AES-256 key + salt
inline constexpr std::size_t max_datagram = 9000;       // a UFTP datagram (MTU 9000 - IP/UDP)
// Session key slots: a receiver node runs up to this many sessions at once
// (control.receiver.max_sessions), each with its own slot; a sender uses slot 0.
inline constexpr std::uint32_t max_sessions = 64;
inline constexpr std::size_t max_key_blob_bytes = 1024; // an RSA-4096 UFTP key blob is 520
// The smallest FEC group the dataplane takes: its parity table holds two
// bytes per group, so it stays within twice the size of the block bitmap.
inline constexpr std::uint32_t min_fec_group_blocks = 8;
// Multicast groups: the public group plus one private group per session.
inline constexpr std::uint32_t max_joined_groups = max_sessions + 1;
// Forwarding rules (set_forward): a server proxy forwards the traffic of this
// many servers at once.
inline constexpr std::uint32_t max_forwards = 16;
// set_forward's forward_flags: a client proxy whose site's receivers still
// wait for the server's word that it took them (a lost REG_CONF) reads the
// server's sealed FILEINFO and DONE, which list them (docs/protocol.md §7.1).
inline constexpr std::uint32_t forward_tap_sealed = 1;
inline constexpr std::uint32_t max_counters = 128; // named counters per lcore
inline constexpr std::size_t counter_name_bytes = 48;
inline constexpr std::size_t counter_help_bytes = 112;
inline constexpr std::uint32_t max_lcores = 16; // counter blocks (roles, not CPUs)

// --- control -> dataplane main thread ------------------------------------

enum class command_kind : std::uint16_t {
    hello,      // control attached; reply carries the dataplane generation
    join_group, // receive multicast to `group` (IGMP report, MAC filter)
    leave_group,
    open_port,        // accept UDP to `port` (the session port)
    set_session_keys, // install a session's group keys in slot `session.session`
    clear_session_keys,
    open_receive_file, // file slot `file_slot` receives into `path`
    // Stops receiving into slot `file_slot` and answers at once; the slot is
    // `closing` while its writes drain and flush, then `closed` with
    // close_errno saying whether every write reached the disk.
    close_receive_file,
    start_pass, // TX: send the blocks set in the slot's bitmap of `path`
    stop_pass,
    // Proxies (docs/protocol.md §7): every UFTP datagram from the host
    // `group.address` of session `session.group_id` (0: of any session)
    // except ANNOUNCEs (which control reads, to learn sessions) goes out
    // again, unchanged, to `forward_to` (unicast: a server proxy's
    // downstream; multicast: a client proxy's re-multicast), straight from
    // the RX lcore through the TX lcore; forward_to.address 0 removes the rule.
    // With forward_tap_sealed in forward_flags the rule's ENCRYPTED datagrams
    // also reach control, as copies flagged datagram_forwarded.
    set_forward,
    // The pass in slot `file_slot` goes on at `rate_bps` (0: unpaced) from
    // the TX lcore's next burst: control's rate control under receiver
    // overload (control/engine/overload_rate.h). bad_slot when that pass
    // is over.
    set_pass_rate,
    count
};

// The layout of a file as both sides compute it (protocol::section_layout
// is rebuilt from these two on each side).
struct file_geometry {
    std::uint64_t file_size;
    std::uint32_t block_size;
    std::uint32_t pad;
};

// UFTP header fields the dataplane stamps on FILESEGs it sends and matches on
// FILESEGs it receives.
struct session_identity {
    std::uint32_t sender_id; // src_id of the sender (host order, like protocol::uftp_header)
    std::uint32_t group_id;
    std::uint8_t group_inst;
    std::uint8_t grtt; // quantized, stamped on outgoing FILESEGs
    std::uint8_t gsize;
    std::uint8_t session; // session key slot, or no_session_keys
};
inline constexpr std::uint8_t no_session_keys = 0xFF;

struct endpoint4 {
    std::uint32_t address; // IPv4, host order
    std::uint16_t port;    // host order
    std::uint16_t pad;
};

// A session's group key block as crypto::key_block::from_bytes takes it:
// hmac_key || key || salt for the suite (key_type, hash_type, sig_type as on
// the wire). The dataplane copies it into its own guarded memory at once;
// control zeroes its copy of the command after enqueueing.
struct session_keys {
    std::uint8_t key_type;  // protocol::key_type
    std::uint8_t hash_type; // protocol::hash_type
    std::uint8_t sig_type;  // protocol::signature_type
    std::uint8_t pad;
    std::uint32_t block_bytes;
    std::uint8_t block[max_key_block_bytes];
};

struct command {
    std::uint32_t version; // contract_version
    command_kind kind;
    std::uint16_t file_slot;  // file table index, when the command names a file
    std::uint64_t request_id; // echoed in the reply
    session_identity session;
    endpoint4 group; // join/leave group; start_pass destination
    file_geometry geometry;
    std::uint32_t pass;    // start_pass: pass number (1 = first)
    std::uint16_t file_id; // UFTP file ID
    std::uint16_t port;    // open_port
    // start_pass of a FEC session (docs/protocol.md §17): data blocks per
    // group (0: no parity) and the private group's port PARITY goes to; the
    // runs to send are in the slot's parity table (shared_layout.h).
    std::uint16_t fec_group_blocks;
    std::uint16_t parity_port;
    std::uint16_t fec_span_groups; // groups interleaved per span (protocol/fec_groups.h)
    std::uint64_t rate_bps;        // start_pass, set_pass_rate: wire bits per second (0 = unpaced)
    endpoint4 forward_to;          // set_forward
    std::uint32_t forward_flags;   // set_forward: forward_tap_sealed, or 0
    session_keys keys;             // set_session_keys
    // set_session_keys with per-packet signatures (sig_type KEYEX): `path`
    // names the sender's PEM private key, which the dataplane loads to sign
    // FILESEGs (keys do not cross processes any more than descriptors do),
    // and/or `key_blob` holds the sender's public key blob, to verify them.
    std::uint32_t key_blob_bytes;
    std::uint8_t key_blob[max_key_blob_bytes];
    char path[max_path_bytes];
};

// --- dataplane main thread -> control --------------------------------------

enum class reply_status : std::uint16_t {
    ok,
    bad_version,
    bad_slot,      // file slot out of range or in the wrong state
    file_error,    // open/stat/mmap of the path failed (errno in `detail`)
    too_large,     // more blocks than the slot's bitmap holds
    no_room,       // no free group/port/session slot
    busy,          // a pass is already running
    not_supported, // e.g. a suite the dataplane cannot seal
    count
};

struct reply {
    std::uint32_t version;
    command_kind kind;
    reply_status status;
    std::uint64_t request_id;
    std::int32_t detail; // errno or 0
    std::uint32_t pad;
};

// --- TX lcore -> control ----------------------------------------------------

enum class tx_event_kind : std::uint16_t {
    pass_end,     // every block of the pass went to the port
    pass_stopped, // stop_pass, or the file became unreadable (detail = errno)
    count
};

struct tx_event {
    std::uint32_t version;
    tx_event_kind kind;
    std::uint16_t file_slot;
    std::uint32_t pass;
    std::int32_t detail;
    std::uint64_t blocks_sent;
    std::uint64_t bytes_sent;
};

// --- control -> TX lcore and RX lcore -> control: datagrams ----------------

// datagram::flags
inline constexpr std::uint16_t datagram_decrypted = 1; // arrived ENCRYPTED; the dataplane opened it
inline constexpr std::uint16_t datagram_forwarded = 2; // a copy: a forwarding rule sent it on too

struct datagram {
    std::uint32_t version;
    std::uint16_t length; // UFTP datagram bytes
    // Received: where they start in the mbuf's data (rte_pktmbuf_mtod + offset).
    // To send: where they start in the mbuf's buffer (buf_addr + offset); at
    // least 42 + RTE_PKTMBUF_HEADROOM is left free in front for the headers.
    std::uint16_t offset;
    std::uint16_t flags;
    std::uint16_t pad;
    endpoint4 peer;       // destination (to send) or source (received)
    endpoint4 local;      // received: the address it was sent to (group or unicast)
    std::uint64_t mbuf;   // handle: an rte_mbuf* of pool_control or the RX pool
    std::uint64_t rx_tsc; // received: TSC at the RX burst (for GRTT stamping)
};

// Every ring element must be a POD of a size the ring accepts.
template <typename T>
constexpr bool is_ring_element() {
    return std::is_trivially_copyable_v<T> && std::is_standard_layout_v<T> && sizeof(T) % 4 == 0;
}
static_assert(is_ring_element<command>());
static_assert(is_ring_element<reply>());
static_assert(is_ring_element<tx_event>());
static_assert(is_ring_element<datagram>());

} // namespace skycast::dataplane::api
