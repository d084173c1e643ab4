#pragma once
// Session parameters of the two engines, plain and immutable once an engine
// is built. Defaults are the stock uftp 4.10.x ones (spec §4.1, §10) unless a
// comment says why not.

#include "control/engine/ports.h"
#include "protocol/constants.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace skycast::control::engine {

struct sender_config {
    std::uint32_t sender_id = 0;
    std::uint32_t group_id = 0;
    std::uint8_t group_inst = 0;
    endpoint public_group{.address = 0xE6040401}; // 230.4.4.1
    endpoint private_group{.address = 0xE6050501};
    std::uint16_t block_size = protocol::default_block_size;
    std::uint8_t robust = 20;
    double grtt_init = 0.5;
    double grtt_min = 0.01;
    double grtt_max = 15.0;
    // Open group: announce rounds to run. Stock runs all ROBUST of them (spec
    // §12 #16); clients rely on nothing here, so the simulator may shorten it.
    std::uint32_t announce_rounds = 20;
    // Closed group: only these UIDs may register (empty = open group).
    std::vector<std::uint32_t> host_list;
    std::uint32_t max_passes = 65535;
    // A client whose NAKs for one section exceed max_nak_pct percent of it
    // more than max_nak_count times is aborted ("Excessive NAKs received").
    std::uint32_t max_nak_pct = 100;
    std::uint32_t max_nak_count = 1;
};

// Free bytes available under a directory; injectable so tests can model a
// full disk without filling one.
using free_space_fn = std::function<std::uint64_t(const std::string& dir)>;

struct receiver_config {
    std::uint32_t client_id = 0;
    endpoint public_group{.address = 0xE6040401};
    std::string destination;  // received files land under this directory
    free_space_fn free_space; // empty: statvfs of the destination
};

} // namespace skycast::control::engine
