#pragma once
// The node's multicast memberships, counted: every receiver session joins
// its private group when it accepts the ANNOUNCE and leaves it when it ends,
// and sessions may share a group (stock uftp picks one of 230.5.5.x at
// random per session). The dataplane is told to join a group on its first
// member and to leave it after its last, so the dataplane's table (one entry
// per group, api::max_joined_groups) holds only groups a live session needs.

#include "control/dataplane_link/dataplane_link.h"
#include "control/engine/ports.h"

#include <cstdint>
#include <map>
#include <string>

namespace skycast::control {

class group_memberships final : public engine::membership_port {
public:
    group_memberships(dataplane_link& link, std::uint16_t port) : _link(link), _port(port) {}

    // False when the dataplane refused (no room, not multicast) or did not
    // answer; `last_error` says which.
    bool join(std::uint32_t group);
    void leave(std::uint32_t group);
    // The engines' seam (a response proxy's private groups).
    bool join_group(std::uint32_t group) override { return join(group); }
    void leave_group(std::uint32_t group) override { leave(group); }

    // Groups the dataplane receives now, and what went wrong last.
    std::size_t joined() const { return _members.size(); }
    std::uint64_t join_failures() const { return _join_failures; }
    const std::string& last_error() const { return _last_error; }

private:
    bool command(std::uint32_t group, bool join);

    dataplane_link& _link;
    std::uint16_t _port;
    std::map<std::uint32_t, std::uint32_t> _members; // group -> sessions in it
    std::uint64_t _join_failures = 0;
    std::string _last_error;
};

} // namespace skycast::control
