#pragma once
// Frames the kernel dropped before the dataplane could read them, on ports
// that sit on a kernel socket (net_af_packet): when the RX lcore falls behind
// or sleeps too long, the socket's ring fills and the kernel drops what
// arrives — loss no DPDK counter shows (the PMD never asks). The kernel
// counts it per socket (PACKET_STATISTICS, tp_drops), and the PMD's sockets
// are this process's own descriptors: found once after the port started by
// matching /proc/self/fd against /proc/net/packet, then read by the service
// thread with the port statistics (reading resets the kernel's count, so the
// caller adds what take() returns).

#include <cstdint>
#include <vector>

namespace skycast::dataplane {

class kernel_ring_drops {
public:
    // The AF_PACKET sockets this process holds (none for other PMDs).
    static kernel_ring_drops find();

    // Frames dropped since the last call, over every socket.
    std::uint64_t take();
    std::size_t sockets() const { return _fds.size(); }
    // The sockets themselves (owned by the PMD): an idle RX lcore can wait
    // on them with poll(), which wakes it when a frame reaches a ring.
    const std::vector<int>& fds() const { return _fds; }

private:
    std::vector<int> _fds;
};

} // namespace skycast::dataplane
