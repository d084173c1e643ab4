#pragma once
// Everything the dataplane reserves at start, sized from the options: the
// shared memzone, the IPC rings (dataplane/api/contract.h), internal rings,
// mempools and the port. Created once by the primary before any lcore runs;
// released in reverse order at stop, so a restarted dataplane finds no
// leftovers under its file prefix.

#include "dataplane/api/shared_layout.h"
#include "dataplane/app/options.h"

#include <cstdint>
#include <string>
#include <vector>

struct rte_memzone;
struct rte_ring;
struct rte_mempool;

namespace skycast::dataplane {

struct resources {
    const rte_memzone* zone = nullptr;
    api::shared_view shared{nullptr};
    // IPC rings (names in api::).
    rte_ring* command = nullptr;    // control -> service thread
    rte_ring* control_tx = nullptr; // control -> TX lcore
    rte_ring* reply = nullptr;      // service thread -> control
    rte_ring* tx_event = nullptr;   // TX lcore -> control
    rte_ring* received = nullptr;   // RX lcore -> control
    // Internal rings.
    rte_ring* main_to_tx = nullptr;    // tx_work
    rte_ring* tx_to_main = nullptr;    // finished tx_pass* for reclaiming
    rte_ring* rx_to_tx = nullptr;      // ARP/IGMP frames (mbuf*) for the TX lcore
    rte_ring* rx_neighbours = nullptr; // neighbour_seen for the TX lcore's ARP cache
    rte_ring* rx_forward = nullptr;    // server proxy: datagrams (api::datagram) to send on
    std::vector<rte_ring*> storage;    // RX lcore -> storage thread i
    rte_mempool* packets = nullptr;
    rte_mempool* control_pool = nullptr;
    std::uint16_t port = 0;
    std::uint16_t rx_frame_room = 0; // mbuf data room of `packets`
    bool port_started = false;
    std::uint64_t tx_offload = 0; // RTE_ETH_TX_OFFLOAD_* in use
    std::uint64_t rx_offload = 0; // RTE_ETH_RX_OFFLOAD_* in use
};

// The packet mbufs' data room: one frame of the MTU (with a VLAN tag), or a
// whole af_packet TPACKET frame, plus headroom.
std::uint32_t packet_data_room(const dataplane_options& options);

// Creates every shared object; on failure releases what it made and returns
// a message naming what failed and what to change.
std::string create_resources(const dataplane_options& options, resources& out);
void release_resources(resources& r);

// What was reserved and why, one line each (printed at start).
std::vector<std::string> describe_reservations(const dataplane_options& options,
                                               const resources& r);

// Lcore counter blocks: 0 = service thread, 1 = RX, 2 = TX (same block when
// RX and TX share an lcore is NOT done: each role keeps its own block, so a
// counter has exactly one writer), 3.. = storage threads.
inline constexpr std::uint32_t counters_service = 0;
inline constexpr std::uint32_t counters_rx = 1;
inline constexpr std::uint32_t counters_tx = 2;
inline constexpr std::uint32_t counters_storage0 = 3;

} // namespace skycast::dataplane
