#pragma once
// Messages between the dataplane's own threads (not part of the IPC
// contract: they never leave the process, so they may carry pointers).

#include "dataplane/api/contract.h"

#include <cstdint>

namespace skycast::dataplane {

struct tx_pass;

// Main (service) thread -> TX lcore.
enum class tx_work_kind : std::uint16_t {
    start_pass, // `pass` is built and owned by the service thread until returned
    stop_pass,  // stop the pass in progress (no pass_end event)
    igmp_join,  // send a membership report for `group`
    igmp_leave, // send a leave for `group`
    count
};

struct tx_work {
    tx_work_kind kind;
    std::uint16_t pad;
    std::uint32_t group;
    tx_pass* pass;
};

// RX lcore -> TX lcore: a UFTP peer heard on the local subnet, from the
// Ethernet source of its frame, for the TX lcore's ARP cache to glean
// (net::arp_cache::glean). 12 bytes: rte_ring elements are whole words.
struct neighbour_seen {
    std::uint32_t ip; // host order
    std::uint8_t mac[6];
    std::uint16_t pad;
};

// One accepted block for a storage thread: the mbuf holding it (freed by the
// storage thread after the write) and where it goes.
struct storage_job {
    std::uint64_t mbuf; // rte_mbuf*
    std::uint64_t file_offset;
    std::uint32_t data_offset; // of the block's bytes in the mbuf's data
    std::uint32_t length;
    std::uint32_t slot;
    std::uint32_t generation; // the slot's generation when accepted
};

} // namespace skycast::dataplane
