#include "dataplane/app/extbuf.h"

#include "dataplane/app/resources.h"
#include "dataplane/core/net/bytes.h"
#include "dataplane/core/net/checksum.h"

#include <array>
#include <atomic>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <string_view>

namespace skycast::dataplane {
namespace {

using net::frame_template;

// One counter per port, each on a cache line of its own: a port's TX lcore
// is its only writer in practice (attach, and the free callback inside
// rte_eth_tx_burst), so the line stays in that core's cache.
struct alignas(64) in_flight_counter {
    std::atomic<std::uint64_t> frames{0};
};
std::array<in_flight_counter, RTE_MAX_ETHPORTS> in_flight;

// The external buffer's free callback: the mapping is not ours to release
// (the service thread unmaps it), only the count of frames using it.
void release_block(void* /*addr*/, void* opaque) {
    // Release: the PMD's reads of the block happen before an unmapper that
    // sees the count drop (acquire) may unmap it.
    static_cast<std::atomic<std::uint64_t>*>(opaque)->fetch_sub(1, std::memory_order_release);
}

} // namespace

std::uint64_t zero_copy_tx_offload(bool wanted, const rte_eth_dev_info& info) {
    constexpr std::string_view done_when_sent[] = {"net_af_packet", "net_tap"};
    if (!wanted || (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) == 0 ||
        info.driver_name == nullptr) {
        return 0;
    }
    const std::string_view driver(info.driver_name);
    for (std::string_view d : done_when_sent) {
        if (driver == d) {
            return RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
        }
    }
    return 0;
}

bool plain_zero_copy(const resources& r) {
    return (r.tx_offload & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
}

bool chain_file_block(rte_mempool* pool, std::uint16_t port, rte_mbuf* head,
                      std::span<const std::uint8_t> block) {
    rte_mbuf* body = rte_pktmbuf_alloc(pool);
    if (body == nullptr) {
        return false;
    }
    // The shared info goes in the body's own data room, which is unused while
    // the external buffer is attached and comes back with the mbuf: one per
    // frame, so its reference count never sees another frame, and nothing
    // but the mbuf is allocated.
    auto* shinfo = static_cast<rte_mbuf_ext_shared_info*>(body->buf_addr);
    shinfo->free_cb = release_block;
    shinfo->fcb_opaque = &in_flight[port].frames;
    rte_mbuf_ext_refcnt_set(shinfo, 1);
    // The mapping is PROT_READ; DPDK's signature is not const, and nothing
    // on the TX path writes a payload segment.
    auto* addr = const_cast<std::uint8_t*>(block.data());
    const rte_iova_t iova =
        rte_eal_iova_mode() == RTE_IOVA_VA ? reinterpret_cast<rte_iova_t>(addr) : RTE_BAD_IOVA;
    in_flight[port].frames.fetch_add(1, std::memory_order_relaxed);
    head->data_len = static_cast<std::uint16_t>(head->data_len - block.size());
    head->pkt_len = static_cast<std::uint32_t>(head->pkt_len - block.size());
    rte_pktmbuf_attach_extbuf(body, addr, iova, static_cast<std::uint16_t>(block.size()), shinfo);
    body->data_len = static_cast<std::uint16_t>(block.size());
    body->pkt_len = static_cast<std::uint32_t>(block.size());
    // Cannot fail: the head has one segment, far below RTE_MBUF_MAX_NB_SEGS.
    (void)rte_pktmbuf_chain(head, body);
    return true;
}

void stamp_chained_frame(const frame_template& frame, rte_mbuf* head,
                         net::tx_checksum_offload offload) {
    auto* h = rte_pktmbuf_mtod(head, std::uint8_t*);
    const std::size_t payload = rte_pktmbuf_pkt_len(head) - frame_template::header_size;
    // stamp_headers() reads the payload only for a software UDP checksum;
    // asked for the offloaded form it reads only the span's size, and the
    // software checksum is computed below across the segments. The span
    // stays inside the head's data room, which holds a whole frame.
    net::tx_checksum_offload pseudo_only = offload;
    pseudo_only.udp = true;
    (void)frame.stamp_headers(
        std::span<std::uint8_t>(h, frame_template::header_size),
        std::span<const std::uint8_t>(h + frame_template::header_size, payload), pseudo_only);
    if (offload.udp) {
        return;
    }
    // The checksum field now holds the pseudo-header sum, so the sum of the
    // UDP header and payload over it is the whole sum. A segment that starts
    // at an odd offset contributes its sum byte-swapped (RFC 1071 §2(B)).
    std::uint16_t sum = 0;
    std::size_t at = 0;
    for (const rte_mbuf* seg = head; seg != nullptr; seg = seg->next) {
        const std::size_t skip = seg == head ? frame_template::udp_offset : 0;
        const std::span<const std::uint8_t> bytes(
            rte_pktmbuf_mtod_offset(seg, const std::uint8_t*, skip), seg->data_len - skip);
        std::uint16_t part = net::ones_sum(bytes);
        if ((at & 1) != 0) {
            part = static_cast<std::uint16_t>((part << 8) | (part >> 8));
        }
        sum = net::ones_add(sum, part);
        at += bytes.size();
    }
    const std::uint16_t checksum = net::checksum_from_sum(sum);
    net::store_be16(h + frame_template::udp_offset + 6, checksum == 0 ? 0xffff : checksum);
}

std::uint64_t zero_copy_frames_in_flight(std::uint16_t port) {
    return in_flight[port].frames.load(std::memory_order_acquire);
}

} // namespace skycast::dataplane
