#pragma once
// The proxies' forwarding seam (engine::forwarding_port) onto the
// dataplane: a set_forward command per rule (the RX lcore then hands that
// source's datagrams to the TX lcore unchanged) and the node's counted group
// memberships for the sessions' private groups.

#include "control/dataplane_link/dataplane_link.h"
#include "control/dataplane_link/group_memberships.h"
#include "control/engine/ports.h"

#include <cstdint>
#include <string>

namespace skycast::control {

class link_forwarding final : public engine::forwarding_port {
public:
    link_forwarding(dataplane_link& link, group_memberships& groups)
        : _link(link), _groups(groups) {}

    bool forward(std::uint32_t source, std::uint32_t group_id, engine::endpoint to,
                 bool tap_sealed) override;
    void stop_forwarding(std::uint32_t source, std::uint32_t group_id) override;
    bool join_group(std::uint32_t group) override { return _groups.join(group); }
    void leave_group(std::uint32_t group) override { _groups.leave(group); }

    std::uint64_t failures = 0; // set_forward refused or unanswered
    std::string last_error;

private:
    bool command(std::uint32_t source, std::uint32_t group_id, engine::endpoint to,
                 bool tap_sealed);

    dataplane_link& _link;
    group_memberships& _groups;
};

} // namespace skycast::control
