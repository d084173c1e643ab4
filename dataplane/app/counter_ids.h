#pragma once
// Every counter the dataplane keeps, by name, with what a non-zero value
// means (style rule 16, docs/architecture.md). Each lcore or thread writes its own block of the
// shared memzone (api::lcore_counters); readers sum blocks. The names and help
// texts are copied into the memzone at start, so the control process and the
// stats socket need no list of their own.

#include "dataplane/api/shared_layout.h"
#include "dataplane/core/fileseg_receiver.h"
#include "dataplane/core/net/drop_reason.h"

#include <atomic>
#include <cstdint>
#include <string_view>

namespace skycast::dataplane {

enum class counter : std::uint16_t {
    // RX role
    rx_packets,
    rx_bytes,
    rx_arp,
    rx_igmp,
    rx_fileseg_stored,
    rx_fileseg_bytes,
    rx_to_control,
    rx_parity_to_control,
    rx_forwarded,
    rx_forwarded_bytes,
    rx_forward_tapped,
    rx_drop_tap_no_mbuf,
    rx_drop_multi_segment,
    rx_drop_not_uftp,
    rx_drop_foreign_session,
    rx_drop_decrypt_failed,
    rx_drop_control_ring_full,
    rx_drop_storage_ring_full,
    rx_drop_tx_ring_full,
    rx_drop_forward_ring_full,
    rx_drop_kernel_ring, // written by the service thread (kernel_ring_drops.h)
    // TX role
    tx_packets,
    tx_bytes,
    tx_fileseg,
    tx_fileseg_bytes,
    tx_parity,
    tx_parity_bytes,
    tx_drop_parity_failed,
    tx_parity_waits,
    tx_control,
    tx_arp,
    tx_igmp,
    tx_drop_port_full,
    tx_drop_no_mbuf,
    tx_arp_held,
    tx_arp_gleaned,
    tx_drop_arp_unresolved,
    tx_drop_seal_failed,
    tx_drop_too_big,
    tx_pass_started,
    tx_pass_ended,
    tx_pass_stopped,
    tx_rate_changes,
    tx_rate_unused_bytes,
    tx_drop_event_ring_full,
    tx_file_read_error,
    // Per-packet crypto (the seal engines' own counters, published by the
    // lcore that owns each engine after every burst)
    crypto_sealed,
    crypto_seal_refused,
    crypto_opened,
    crypto_open_refused,
    crypto_auth_failures,
    crypto_device_errors,
    crypto_queue_shortfalls,
    // Every loop role
    loop_busy_cycles,
    loop_idle_cycles,
    // Storage threads
    storage_blocks_written,
    storage_bytes_written,
    storage_write_calls,
    storage_write_errors,
    // Main thread
    main_commands,
    main_commands_failed,
    main_reply_ring_full,
    main_bad_version,
    main_mapping_kept,
    // Written by the file closer thread only (file_closer.h), in the main block.
    main_files_closed,
    main_close_failures,
    count
};

// The counter table: the counters above, then one per L2/L3 drop reason
// (net::drop_reason, "rx.drop.<reason>"), then one per FILESEG refusal
// (fileseg_drop, "rx.fileseg.<reason>").
inline constexpr std::size_t fixed_counters = static_cast<std::size_t>(counter::count);
inline constexpr std::size_t net_drop_base = fixed_counters;
inline constexpr std::size_t fileseg_drop_base = net_drop_base + net::drop_reason_count;
inline constexpr std::size_t counter_table_size =
    fileseg_drop_base + static_cast<std::size_t>(fileseg_drop::count);
static_assert(counter_table_size <= api::max_counters);

constexpr std::size_t index_of(counter c) {
    return static_cast<std::size_t>(c);
}
constexpr std::size_t index_of(net::drop_reason r) {
    return net_drop_base + static_cast<std::size_t>(r);
}
constexpr std::size_t index_of(fileseg_drop d) {
    return fileseg_drop_base + static_cast<std::size_t>(d);
}

// Writes entry `index`'s name and help into the memzone's description.
void describe(std::size_t index, api::counter_description& out);

// Single-writer increment of a counter in a shared block: relaxed atomics,
// so a reader in another process sees whole values.
template <typename Id>
inline void bump(std::uint64_t* block, Id id, std::uint64_t n = 1) {
    std::atomic_ref<std::uint64_t> v(block[index_of(id)]);
    v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

} // namespace skycast::dataplane
