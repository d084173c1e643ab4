#include "dataplane/app/resources.h"

#include "dataplane/app/counter_ids.h"
#include "dataplane/app/extbuf.h"
#include "dataplane/app/internal_messages.h"

#include <cstdio>
#include <cstring>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_memzone.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <unistd.h>

namespace skycast::dataplane {
namespace {

std::string format(const char* fmt, auto... args) {
    char buf[512];
    std::snprintf(buf, sizeof buf, fmt, args...);
    return buf;
}

// DPDK rings hold count-1 elements unless RING_F_EXACT_SZ; the config asks
// for powers of two, and SP/SC is the contract (one producer, one consumer).
rte_ring* make_ring(const char* name, std::size_t element, std::uint32_t count,
                    std::string& error) {
    rte_ring* r =
        rte_ring_create_elem(name, static_cast<unsigned>(element), count,
                             static_cast<int>(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (r == nullptr && error.empty()) {
        error = format("cannot create ring %s (%u elements of %zu bytes): %s", name, count, element,
                       rte_strerror(rte_errno));
    }
    return r;
}

// The part of a device string before its first comma: the port's name
// ("net_af_packet0" or "0000:03:00.0").
std::string device_name(const std::string& device) {
    return device.substr(0, device.find(','));
}

// af_packet hands whole TPACKET frames to mbufs: their data room must hold
// framesz (DPDK default 2048) minus the TPACKET header, or queue setup fails.
std::uint32_t af_packet_frame_room(const std::string& device) {
    if (device.rfind("net_af_packet", 0) != 0) {
        return 0;
    }
    const auto at = device.find("framesz=");
    if (at == std::string::npos) {
        return 2048;
    }
    return static_cast<std::uint32_t>(std::strtoul(device.c_str() + at + 8, nullptr, 10));
}

std::string setup_port(const dataplane_options& o, resources& r) {
    const std::string name = device_name(o.port.device);
    if (rte_eth_dev_get_port_by_name(name.c_str(), &r.port) != 0) {
        return format(
            "port '%s' not found: for a NIC, check the PCI address and that it is bound to "
            "vfio-pci; for a virtual device, check the vdev string '%s'",
            name.c_str(), o.port.device.c_str());
    }
    rte_eth_dev_info info{};
    if (int rc = rte_eth_dev_info_get(r.port, &info); rc != 0) {
        return format("port %s: cannot read device info: %s", name.c_str(), rte_strerror(-rc));
    }
    rte_eth_conf conf{};
    // Virtual devices such as af_packet and memif report a 1518-byte maximum
    // frame yet carry jumbo frames when the mbufs are big enough; configure
    // what the device accepts and size the mbufs for the real MTU.
    const std::uint32_t overhead = RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
    std::uint32_t mtu = o.port.mtu;
    if (info.max_rx_pktlen > overhead && mtu + overhead > info.max_rx_pktlen) {
        mtu = info.max_rx_pktlen - overhead;
    }
    conf.rxmode.mtu = mtu;
    const std::uint64_t tx_cksum = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
    const std::uint64_t rx_cksum = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
    const bool want_offload = o.port.offload != checksum_offload::off;
    if (want_offload && (info.tx_offload_capa & tx_cksum) == tx_cksum) {
        conf.txmode.offloads |= tx_cksum;
    } else if (o.port.offload == checksum_offload::on) {
        return format("port %s does not offer IPv4/UDP TX checksum offload: set "
                      "checksum_offload to auto or off",
                      name.c_str());
    }
    if (want_offload && (info.rx_offload_capa & rx_cksum) == rx_cksum) {
        conf.rxmode.offloads |= rx_cksum;
    }
    // Plain FILESEGs as two segments (headers + the file's page, attached):
    // only on ports known to be done with a frame when the TX burst returns.
    conf.txmode.offloads |= zero_copy_tx_offload(o.zero_copy_plain, info);
    if (int rc = rte_eth_dev_configure(r.port, 1, 1, &conf); rc != 0) {
        return format("port %s: configure failed (mtu %u): %s", name.c_str(), mtu,
                      rte_strerror(-rc));
    }
    std::uint16_t rxd = o.port.rx_descriptors;
    std::uint16_t txd = o.port.tx_descriptors;
    if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(r.port, &rxd, &txd); rc != 0) {
        return format("port %s: descriptor counts refused: %s", name.c_str(), rte_strerror(-rc));
    }
    const int socket = rte_eth_dev_socket_id(r.port);
    const unsigned sock = socket < 0 ? rte_socket_id() : static_cast<unsigned>(socket);
    rte_eth_rxconf rxconf = info.default_rxconf;
    rxconf.offloads = conf.rxmode.offloads;
    if (int rc = rte_eth_rx_queue_setup(r.port, 0, rxd, sock, &rxconf, r.packets); rc != 0) {
        return format("port %s: RX queue setup failed: %s (af_packet: mbufs must hold framesz; "
                      "raise the MTU-derived mbuf size or lower framesz)",
                      name.c_str(), rte_strerror(-rc));
    }
    rte_eth_txconf txconf = info.default_txconf;
    txconf.offloads = conf.txmode.offloads;
    if (int rc = rte_eth_tx_queue_setup(r.port, 0, txd, sock, &txconf); rc != 0) {
        return format("port %s: TX queue setup failed: %s", name.c_str(), rte_strerror(-rc));
    }
    if (o.port.mac) {
        rte_ether_addr mac{};
        std::memcpy(mac.addr_bytes, o.port.mac->data(), 6);
        if (int rc = rte_eth_dev_default_mac_addr_set(r.port, &mac); rc != 0) {
            return format("port %s: cannot set MAC: %s", name.c_str(), rte_strerror(-rc));
        }
    }
    if (int rc = rte_eth_dev_start(r.port); rc != 0) {
        return format("port %s: start failed: %s", name.c_str(), rte_strerror(-rc));
    }
    r.port_started = true;
    // Multicast: receive every group and filter in software against the
    // joined set (classify); fall back to promiscuous for devices without
    // all-multicast.
    if (rte_eth_allmulticast_enable(r.port) != 0) {
        rte_eth_promiscuous_enable(r.port);
    }
    r.tx_offload = conf.txmode.offloads;
    r.rx_offload = conf.rxmode.offloads;
    return {};
}

void init_header(const dataplane_options& o, resources& r, const api::layout& l) {
    auto& h = r.shared.header();
    std::memset(static_cast<void*>(&h), 0, l.total_bytes);
    h.magic = api::shared_magic;
    h.contract_version = api::contract_version;
    h.max_files = o.max_files;
    h.max_blocks_per_file = o.max_blocks_per_file;
    h.counter_count = static_cast<std::uint32_t>(counter_table_size);
    h.lcore_blocks = counters_storage0 + o.storage_threads;
    h.dataplane_pid = static_cast<std::uint32_t>(getpid());
    h.generation = rte_rdtsc();
    h.tsc_hz = rte_get_tsc_hz();
    h.file_table_offset = l.file_table_offset;
    h.bitmap_offset = l.bitmap_offset;
    h.bitmap_words_per_file = l.bitmap_words_per_file;
    h.parity_table_offset = l.parity_table_offset;
    h.parity_table_bytes_per_file = l.parity_table_bytes_per_file;
    h.counters_offset = l.counters_offset;
    h.total_bytes = l.total_bytes;
    h.local_address = o.port.address;
    h.mtu = o.port.mtu;
    for (std::size_t i = 0; i < counter_table_size; ++i) {
        describe(i, h.counters[i]);
    }
    const char* roles[] = {"service", "rx", "tx"};
    for (std::uint32_t b = 0; b < h.lcore_blocks; ++b) {
        auto& c = r.shared.counters(b);
        if (b < counters_storage0) {
            std::snprintf(c.role, sizeof c.role, "%s", roles[b]);
        } else {
            std::snprintf(c.role, sizeof c.role, "storage%u", (b - counters_storage0) % 100);
        }
        c.lcore = b == counters_rx ? o.rx_lcore : b == counters_tx ? o.tx_lcore : UINT32_MAX;
    }
}

} // namespace

std::uint32_t packet_data_room(const dataplane_options& o) {
    const std::uint32_t frame = o.port.mtu + RTE_ETHER_HDR_LEN + 4; // + one VLAN tag
    const std::uint32_t room =
        std::max({frame, o.port.min_rx_frame_room, af_packet_frame_room(o.port.device)});
    return room + RTE_PKTMBUF_HEADROOM;
}

std::string create_resources(const dataplane_options& o, resources& r) {
    std::string error;
    const api::layout l = api::compute_layout(o.max_files, o.max_blocks_per_file,
                                              counters_storage0 + o.storage_threads);
    r.zone = rte_memzone_reserve_aligned(api::memzone_shared, l.total_bytes,
                                         static_cast<int>(rte_socket_id()), 0, 64);
    if (r.zone == nullptr) {
        release_resources(r);
        return format("cannot reserve the shared memzone (%llu bytes for %u files of up to %u "
                      "blocks): %s; another dataplane with the same file prefix may be running, or "
                      "hugepages are short",
                      static_cast<unsigned long long>(l.total_bytes), o.max_files,
                      o.max_blocks_per_file, rte_strerror(rte_errno));
    }
    r.shared = api::shared_view(r.zone->addr);
    init_header(o, r, l);

    const std::uint32_t room = packet_data_room(o);
    if (room > UINT16_MAX) {
        release_resources(r);
        return format("mbuf data room %u exceeds 65535: lower the MTU or af_packet framesz", room);
    }
    r.rx_frame_room = static_cast<std::uint16_t>(room);
    r.packets = rte_pktmbuf_pool_create("sky_packets", o.mbufs, o.mbuf_cache, 0,
                                        static_cast<std::uint16_t>(room),
                                        static_cast<int>(rte_socket_id()));
    if (r.packets == nullptr) {
        release_resources(r);
        return format("cannot create the packet pool (%u mbufs of %u bytes, %.1f MiB): %s; lower "
                      "dataplane.mempool.mbufs or give EAL more memory",
                      o.mbufs, room, o.mbufs * (room + 192.0) / 1048576, rte_strerror(rte_errno));
    }
    const std::uint16_t control_room = api::max_datagram + 128 + RTE_PKTMBUF_HEADROOM;
    r.control_pool = rte_pktmbuf_pool_create(api::pool_control, o.control_mbufs, 0, 0, control_room,
                                             static_cast<int>(rte_socket_id()));
    if (r.control_pool == nullptr) {
        release_resources(r);
        return format("cannot create pool %s: %s", api::pool_control, rte_strerror(rte_errno));
    }

    r.command = make_ring(api::ring_command, sizeof(api::command), o.ring_command, error);
    r.control_tx = make_ring(api::ring_control_tx, sizeof(api::datagram), o.ring_command, error);
    r.reply = make_ring(api::ring_reply, sizeof(api::reply), o.ring_command, error);
    r.tx_event = make_ring(api::ring_tx_event, sizeof(api::tx_event), o.ring_command, error);
    r.received = make_ring(api::ring_received, sizeof(api::datagram), o.ring_to_control, error);
    r.main_to_tx = make_ring("sky_i_main_tx", sizeof(tx_work), 256, error);
    r.tx_to_main = make_ring("sky_i_tx_main", sizeof(tx_work), 256, error);
    r.rx_to_tx = make_ring("sky_i_rx_tx", sizeof(std::uint64_t), 1024, error);
    r.rx_neighbours = make_ring("sky_i_rx_nb", sizeof(neighbour_seen), 256, error);
    // A whole burst of forwarded data per RX iteration, with room for the TX
    // lcore to be a few iterations behind.
    r.rx_forward = make_ring("sky_i_rx_fwd", sizeof(api::datagram), 4096, error);
    for (unsigned i = 0; i < o.storage_threads; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "sky_i_store%u", i);
        r.storage.push_back(make_ring(name, sizeof(storage_job), o.ring_storage, error));
    }
    if (!error.empty()) {
        release_resources(r);
        return error;
    }
    if (std::string port_error = setup_port(o, r); !port_error.empty()) {
        release_resources(r);
        return port_error;
    }
    rte_ether_addr mac{};
    rte_eth_macaddr_get(r.port, &mac);
    std::memcpy(r.shared.header().local_mac, mac.addr_bytes, 6);
    return {};
}

void release_resources(resources& r) {
    if (r.port_started) {
        rte_eth_dev_stop(r.port);
        rte_eth_dev_close(r.port);
        r.port_started = false;
    }
    for (rte_ring** ring :
         {&r.command, &r.control_tx, &r.reply, &r.tx_event, &r.received, &r.main_to_tx,
          &r.tx_to_main, &r.rx_to_tx, &r.rx_neighbours, &r.rx_forward}) {
        rte_ring_free(*ring);
        *ring = nullptr;
    }
    for (rte_ring* ring : r.storage) {
        rte_ring_free(ring);
    }
    r.storage.clear();
    rte_mempool_free(r.packets);
    rte_mempool_free(r.control_pool);
    r.packets = r.control_pool = nullptr;
    if (r.zone != nullptr) {
        rte_memzone_free(r.zone);
        r.zone = nullptr;
    }
}

std::vector<std::string> describe_reservations(const dataplane_options& o, const resources& r) {
    std::vector<std::string> lines;
    const double mib = 1048576.0;
    const double pool = o.mbufs * (r.rx_frame_room + 192.0) / mib;
    lines.push_back(
        format("packet pool: %u mbufs x %u B = %.1f MiB (MTU %u%s; dataplane.mempool.mbufs)",
               o.mbufs, r.rx_frame_room, pool, o.port.mtu,
               af_packet_frame_room(o.port.device) ? ", af_packet framesz" : ""));
    lines.push_back(format("control pool: %u mbufs x %u B = %.1f MiB (control datagrams both ways)",
                           o.control_mbufs, api::max_datagram + 128 + RTE_PKTMBUF_HEADROOM,
                           o.control_mbufs * (api::max_datagram + 320.0) / mib));
    const auto& h = r.shared.header();
    lines.push_back(format(
        "shared memzone: %.2f MiB (%u file slots x %u blocks of bitmap = %.2f MiB, "
        "FEC parity tables %.2f MiB; counters for %u threads)",
        static_cast<double>(h.total_bytes) / mib, o.max_files, o.max_blocks_per_file,
        static_cast<double>(h.bitmap_words_per_file) * 8.0 * o.max_files / mib,
        static_cast<double>(h.parity_table_bytes_per_file) * o.max_files / mib, h.lcore_blocks));
    const std::uint64_t ring_bytes =
        std::uint64_t{o.ring_command} * (sizeof(api::command) + sizeof(api::datagram) +
                                         sizeof(api::reply) + sizeof(api::tx_event)) +
        std::uint64_t{o.ring_to_control} * sizeof(api::datagram) +
        std::uint64_t{o.ring_storage} * sizeof(storage_job) * o.storage_threads;
    const double rings = static_cast<double>(ring_bytes) / mib;
    lines.push_back(format("rings: %.2f MiB (command %u, to-control %u, storage %u x %u)", rings,
                           o.ring_command, o.ring_to_control, o.ring_storage, o.storage_threads));
    return lines;
}

} // namespace skycast::dataplane
