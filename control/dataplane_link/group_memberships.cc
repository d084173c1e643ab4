#include "control/dataplane_link/group_memberships.h"

#include <cstdio>

namespace skycast::control {
namespace {

// The service thread answers a join within microseconds (it parks the RX
// and TX lcores for the change).
constexpr std::chrono::seconds join_timeout{5};

std::string dotted(std::uint32_t a) {
    char buf[20];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xFF, (a >> 8) & 0xFF,
                  a & 0xFF);
    return buf;
}

} // namespace

bool group_memberships::command(std::uint32_t group, bool join) {
    api::command cmd{};
    cmd.kind = join ? api::command_kind::join_group : api::command_kind::leave_group;
    cmd.group = {.address = group, .port = _port};
    const auto r = _link.call(cmd, join_timeout);
    if (!r) {
        _last_error = "the dataplane did not answer a " + std::string(join ? "join" : "leave") +
                      " of " + dotted(group);
        return false;
    }
    if (r->status != api::reply_status::ok) {
        _last_error = "the dataplane refused to " + std::string(join ? "join " : "leave ") +
                      dotted(group) +
                      (r->status == api::reply_status::no_room ? ": its group table is full" : "");
        return false;
    }
    return true;
}

bool group_memberships::join(std::uint32_t group) {
    if (auto it = _members.find(group); it != _members.end()) {
        ++it->second;
        return true;
    }
    if (!command(group, true)) {
        ++_join_failures;
        return false;
    }
    _members[group] = 1;
    return true;
}

void group_memberships::leave(std::uint32_t group) {
    auto it = _members.find(group);
    if (it == _members.end()) {
        return;
    }
    if (--it->second == 0) {
        _members.erase(it);
        // A refused leave leaves the group in the dataplane's table: counted
        // there as traffic for no session, and the next join finds it.
        (void)command(group, false);
    }
}

} // namespace skycast::control
