#pragma once
// The engines' network seam (engine::network_port) straight onto the
// dataplane link, for a role that sends control datagrams only (the
// response proxy): no pass, no file, no session keys, unlike
// dataplane_ports.

#include "control/dataplane_link/dataplane_link.h"
#include "control/engine/ports.h"

#include <cstdint>
#include <span>

namespace skycast::control {

class link_network final : public engine::network_port {
public:
    link_network(dataplane_link& link, std::uint16_t local_port)
        : _link(link), _local_port(local_port) {}

    void send(engine::endpoint to, std::span<const std::uint8_t> datagram) override {
        if (_link.send({.address = to.address, .port = to.port}, _local_port, datagram)) {
            ++sent;
        } else {
            ++send_failures; // no mbuf or the TX ring full: UFTP retransmits
        }
    }

    void send_later(engine::endpoint to, std::span<const std::uint8_t> datagram,
                    engine::time_ns delay) override {
        // Held by the link until due (held_copies in the node's stats).
        if (!_link.send_later({.address = to.address, .port = to.port}, _local_port, datagram,
                              static_cast<std::int64_t>(delay))) {
            ++send_failures;
        }
    }

    std::uint64_t sent = 0;
    std::uint64_t send_failures = 0;

private:
    dataplane_link& _link;
    std::uint16_t _local_port;
};

} // namespace skycast::control
