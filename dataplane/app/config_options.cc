#include "dataplane/app/config_options.h"

namespace skycast::dataplane {

std::vector<std::string> eal_arguments(const config::dataplane_config& c,
                                       const std::string& program) {
    std::vector<std::string> args{program,
                                  "--lcores=" + c.eal.lcores,
                                  "--main-lcore=" + std::to_string(c.eal.main_lcore),
                                  "--file-prefix=" + c.eal.file_prefix,
                                  "--proc-type=primary",
                                  "-m",
                                  std::to_string(c.eal.memory_mb)};
    if (!c.eal.hugepages) {
        args.emplace_back("--no-huge");
    }
    bool any_pci = false;
    for (const auto& port : c.ports) {
        if (port.kind == config::device_kind::pci) {
            args.emplace_back("-a");
            args.push_back(port.device);
            any_pci = true;
        } else {
            args.push_back("--vdev=" + port.device);
        }
    }
    if (c.crypto.backend == config::crypto_backend::cryptodev &&
        c.crypto.cryptodev_device.rfind("crypto_", 0) == 0) {
        args.push_back("--vdev=" + c.crypto.cryptodev_device);
    } else if (c.crypto.backend == config::crypto_backend::cryptodev) {
        args.emplace_back("-a");
        args.push_back(c.crypto.cryptodev_device);
        any_pci = true;
    }
    if (!any_pci) {
        // Without it EAL probes every PCI device of the machine (and logs
        // failures for those not bound to DPDK).
        args.emplace_back("--no-pci");
    }
    if (!c.stats.telemetry) {
        args.emplace_back("--no-telemetry");
    }
    args.insert(args.end(), c.eal.extra_args.begin(), c.eal.extra_args.end());
    return args;
}

dataplane_options runtime_options(const config::dataplane_config& c) {
    dataplane_options o;
    o.rx_lcore = c.roles.rx;
    o.tx_lcore = c.roles.tx;
    o.storage_threads = c.storage_threads;
    const config::port_config& p = c.ports.at(0);
    o.port.device = p.device;
    o.port.mtu = p.mtu;
    o.port.address = p.address.address;
    o.port.prefix_length = p.address.prefix_length;
    o.port.gateway = p.gateway.value_or(0);
    if (p.mac) {
        o.port.mac = *p.mac;
    }
    o.port.rx_descriptors = p.rx_descriptors;
    o.port.tx_descriptors = p.tx_descriptors;
    o.port.offload = p.checksum == config::checksum_offload::on    ? checksum_offload::on
                     : p.checksum == config::checksum_offload::off ? checksum_offload::off
                                                                   : checksum_offload::automatic;
    o.mbufs = c.mempool.mbufs;
    o.mbuf_cache = c.mempool.cache;
    o.ring_command = c.rings.control_to_dataplane;
    o.ring_to_control = c.rings.dataplane_to_control;
    o.ring_storage = c.rings.storage;
    o.max_files = c.limits.max_files;
    o.max_blocks_per_file = c.limits.max_blocks_per_file;
    o.idle_backoff_us = c.idle_backoff_us;
    o.idle_backoff_max_us = c.idle_backoff_max_us;
    o.flush_before_complete = c.flush_before_complete;
    o.seal_backend = c.crypto.backend == config::crypto_backend::cryptodev
                         ? seal_backend_kind::cryptodev
                         : seal_backend_kind::openssl;
    o.cryptodev_device = c.crypto.cryptodev_device;
    o.telemetry = c.stats.telemetry;
    return o;
}

} // namespace skycast::dataplane
