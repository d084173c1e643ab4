#pragma once

// First-pass parity sized from the loss the receivers are expected to see
// (control.fec.expected_loss, docs/protocol.md §17.4).

#include <cstdint>

namespace skycast::control::engine {

// The chance that a receiver losing each block independently with
// probability `loss` loses more than `parity` of a group's
// `data_blocks + parity` blocks: it then needs a repair pass.
double group_short_probability(std::uint32_t data_blocks, std::uint32_t parity, double loss);

// The fewest parity blocks per group of `data_blocks` (at most `max_parity`)
// with which `receivers` receivers over `groups` groups are expected to
// leave fewer than 0.05 groups short: a repair pass (two round trips and
// more at GEO) then follows one file in twenty at most. With a thousand
// receivers at 1 % loss and groups of 128 that is 12 (9.4 %), where the
// mean loss alone would suggest 2.
std::uint32_t parity_for_loss(std::uint32_t data_blocks, double loss, std::uint64_t receivers,
                              std::uint64_t groups, std::uint32_t max_parity);

} // namespace skycast::control::engine
