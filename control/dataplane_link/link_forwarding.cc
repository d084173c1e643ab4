#include "control/dataplane_link/link_forwarding.h"

#include <chrono>

namespace skycast::control {

namespace {

// Like a join: the service thread parks the RX lcore for the change.
constexpr std::chrono::seconds command_timeout{5};

} // namespace

bool link_forwarding::command(std::uint32_t source, std::uint32_t group_id, engine::endpoint to,
                              bool tap_sealed) {
    api::command cmd{};
    cmd.kind = api::command_kind::set_forward;
    cmd.group = {.address = source, .port = 0, .pad = 0};
    cmd.session.group_id = group_id;
    cmd.forward_to = {.address = to.address, .port = to.port, .pad = 0};
    cmd.forward_flags = tap_sealed ? api::forward_tap_sealed : 0;
    const auto r = _link.call(cmd, command_timeout);
    if (!r || r->status != api::reply_status::ok) {
        ++failures;
        last_error = !r ? "the dataplane did not answer set_forward"
                     : r->status == api::reply_status::no_room
                         ? "the dataplane's forwarding table is full"
                         : "the dataplane refused set_forward";
        return false;
    }
    return true;
}

bool link_forwarding::forward(std::uint32_t source, std::uint32_t group_id, engine::endpoint to,
                              bool tap_sealed) {
    return command(source, group_id, to, tap_sealed);
}

void link_forwarding::stop_forwarding(std::uint32_t source, std::uint32_t group_id) {
    (void)command(source, group_id, {.address = 0, .port = 0}, false);
}

} // namespace skycast::control
