#pragma once
// Zero-copy plain FILESEGs: the block is not copied into the frame; the TX
// lcore chains a second mbuf whose external buffer is the block where it
// lies in the file's mapping (rte_pktmbuf_attach_extbuf), behind a header
// mbuf holding Ethernet + IPv4 + UDP + UFTP + FILESEG headers. A two-segment
// frame, so only for ports configured with RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
// everything else (and encrypted passes, whose ciphertext needs a buffer of
// its own anyway) copies. Figures and the choice: perf/tx_path/README.md.
//
// Lifetime: a frame references the mapping until the PMD frees it, which for
// a NIC (and net_ring) is after rte_eth_tx_burst returns — possibly after
// the pass went back to the service thread. The mapping must outlive every
// such frame: zero_copy_frames_in_flight() counts them (attach +1, the
// buffer's free callback -1), and whoever unmaps waits for 0 first
// (rte_eth_tx_done_cleanup() makes a NIC release what it has sent).
//
// DMA: file pages are not DPDK memory. Virtual PMDs (net_null, af_packet,
// af_xdp in copy mode, tap, memif) read them with the CPU and need nothing;
// a real NIC needs the mapping registered (rte_extmem_register() +
// rte_dev_dma_map()) and IOVA-as-VA, which is not done here: the IOVA given
// to the mbuf is the virtual address in IOVA-as-VA mode and RTE_BAD_IOVA
// otherwise.

#include "dataplane/core/net/frame_template.h"

#include <cstdint>
#include <span>

struct rte_eth_dev_info;
struct rte_mbuf;
struct rte_mempool;

namespace skycast::dataplane {

struct resources;

// Blocks shorter than this are copied even when zero copy is on: a second
// mbuf (alloc, attach, free callback) costs more than copying a few hundred
// bytes. Chosen from the figures in perf/tx_path/README.md.
inline constexpr std::uint32_t zero_copy_min_block = 512;

// The TX offload setup_port adds for zero copy: RTE_ETH_TX_OFFLOAD_MULTI_SEGS
// when `wanted` (dataplane_options::zero_copy_plain), the device offers it,
// and its driver is known to be done with a frame when rte_eth_tx_burst
// returns (it copies the segments out and frees the mbuf): net_af_packet and
// net_tap. Otherwise 0, and plain FILESEGs are copied:
//   - a NIC would DMA from file pages it has not been given (see DMA above);
//   - net_ring hands the mbuf itself to a consumer that may hold it past the
//     pass (and the eal tests loop it to our own RX, which refuses chains);
//   - memif (zero-copy=yes) and virtio_user keep mbufs until a later burst.
// Widen the list once the unmapping waits for zero_copy_frames_in_flight().
std::uint64_t zero_copy_tx_offload(bool wanted, const rte_eth_dev_info& info);

// Whether plain FILESEGs go out as two segments on this port: it was
// configured with RTE_ETH_TX_OFFLOAD_MULTI_SEGS (zero_copy_tx_offload()).
bool plain_zero_copy(const resources& r);

// Turns `head` (one segment: frame headers + FILESEG headers, then
// block.size() bytes of room the block would have been copied into) into a
// two-segment frame: the room is given back and the second segment is
// `block`, attached in place.
// The shared info of the external buffer lives in the second mbuf's own,
// otherwise unused, data room, so nothing is allocated besides that mbuf.
// Returns false, leaving `head` untouched, when the pool is empty.
[[nodiscard]] bool chain_file_block(rte_mempool* pool, std::uint16_t port, rte_mbuf* head,
                                    std::span<const std::uint8_t> block);

// Writes Ethernet, IPv4 and UDP headers at the front of a chained frame
// (`head` holds header_size bytes of room plus the rest of its segment);
// without UDP checksum offload the checksum covers every segment.
void stamp_chained_frame(const net::frame_template& frame, rte_mbuf* head,
                         net::tx_checksum_offload offload);

// Frames referencing file mappings that the port has not freed yet.
// Writers: the TX lcore (attach) and whoever frees the frame (the free
// callback; the TX lcore inside rte_eth_tx_burst for most PMDs). Reader: the
// thread that unmaps.
std::uint64_t zero_copy_frames_in_flight(std::uint16_t port);

} // namespace skycast::dataplane
