#pragma once
// The session the in-process dataplane tests and the TX benchmark drive:
// addresses, port and the command template. Free of gtest, so that
// perf/tx_path links it as well as tests/eal.

#include "dataplane/api/contract.h"

#include <cstdint>

namespace skycast::dataplane::testing {

inline constexpr std::uint32_t our_ip = 0x0A4D0001;   // 10.77.0.1
inline constexpr std::uint32_t peer_ip = 0x0A4D000B;  // 10.77.0.11
inline constexpr std::uint32_t group_ip = 0xE6050501; // 230.5.5.1
inline constexpr std::uint16_t uftp_port = 1044;

// A command of `kind` for the test session (sender 10.77.0.1, group ID
// 0x11223344, unencrypted) to the test group and port.
inline api::command make_command(api::command_kind kind) {
    api::command c{};
    c.version = api::contract_version;
    c.kind = kind;
    c.session = {.sender_id = our_ip,
                 .group_id = 0x11223344,
                 .group_inst = 0,
                 .grtt = 10,
                 .gsize = 1,
                 .session = api::no_session_keys};
    c.group = {.address = group_ip, .port = uftp_port};
    c.port = uftp_port;
    return c;
}

} // namespace skycast::dataplane::testing
