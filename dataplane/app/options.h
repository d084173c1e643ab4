#pragma once
// What the dataplane runtime needs, resolved: the YAML `dataplane:` section
// (config/) after parsing, or a test's in-code setup. Capacities are runtime
// values (style rule 12, docs/architecture.md), never compile-time macros.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace skycast::dataplane {

enum class checksum_offload : std::uint8_t { automatic, on, off };
enum class seal_backend_kind : std::uint8_t { openssl, cryptodev };

struct port_options {
    // A PCI address ("0000:03:00.0") or a vdev string ("net_af_packet0,iface=x");
    // the port is the device of this name (the part before the first comma),
    // which EAL created from its --vdev / -a argument.
    std::string device;
    std::uint16_t mtu = 1500;                       // IP MTU; frames are mtu + 14 bytes
    std::uint32_t address = 0;                      // our IPv4 address, host order
    std::uint8_t prefix_length = 24;                // subnet of `address`
    std::uint32_t gateway = 0;                      // unicast next hop outside the subnet; 0 = none
    std::optional<std::array<std::uint8_t, 6>> mac; // override the port's MAC
    std::uint16_t rx_descriptors = 1024;
    std::uint16_t tx_descriptors = 1024;
    checksum_offload offload = checksum_offload::automatic;
    // Bytes a received frame may need in one mbuf: af_packet hands over whole
    // TPACKET frames (framesz minus its header), so it needs more than the MTU.
    std::uint32_t min_rx_frame_room = 0;
};

struct dataplane_options {
    unsigned rx_lcore = 0;
    unsigned tx_lcore = 0;
    unsigned storage_threads = 1;
    port_options port;
    std::uint32_t mbufs = 8191; // packet pool (RX and TX share it)
    std::uint32_t mbuf_cache = 256;
    std::uint32_t control_mbufs = 1023; // pool_control: control datagrams both ways
    std::uint32_t ring_command = 1024;  // control -> dataplane commands and datagrams
    std::uint32_t ring_to_control = 4096;
    std::uint32_t ring_storage = 4096;
    std::uint32_t max_files = 16;
    std::uint32_t max_blocks_per_file = 1u << 20;
    std::uint32_t idle_backoff_us = 0;        // first pause after empty polls; 0 = busy poll
    std::uint32_t idle_backoff_max_us = 1000; // longest pause (doubling from the first)
    bool flush_before_complete = true;        // storage_files::flush
    std::uint8_t multicast_ttl = 32; // stock uftp's default TTL is 1; satellite hops need more
    // Plain (unencrypted) FILESEGs go out zero copy — the block attached
    // from the file's mapping as a second segment (dataplane/app/extbuf.h) —
    // on ports where that is safe (zero_copy_tx_offload(): multi-segment TX
    // and a driver done with the frame when the burst returns); elsewhere,
    // or when false, the block is copied into the frame. On by default: 37%
    // faster than the copy at 1300-byte blocks, 70% at 8800
    // (perf/tx_path/README.md).
    bool zero_copy_plain = true;
    seal_backend_kind seal_backend = seal_backend_kind::openssl;
    std::string cryptodev_device;
    bool telemetry = true;
};

} // namespace skycast::dataplane
