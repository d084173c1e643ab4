#pragma once
// Timestamps on the wire (ANNOUNCE, FILEINFO and their echoes: Unix seconds
// and microseconds, spec §2.2) against the engines' time_ns clock.

#include "control/engine/ports.h"
#include "protocol/messages.h"

#include <cstdint>

namespace skycast::control::engine {

inline protocol::timestamp to_wire_time(time_ns t) {
    return {.sec = static_cast<std::uint32_t>(t / ns_per_second),
            .usec = static_cast<std::uint32_t>((t % ns_per_second) / 1000)};
}

inline time_ns from_wire_time(protocol::timestamp t) {
    return time_ns{t.sec} * ns_per_second + time_ns{t.usec} * 1000;
}

} // namespace skycast::control::engine
