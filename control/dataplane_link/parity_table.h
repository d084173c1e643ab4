#pragma once
// A pass's parity runs (the engine's pass_request) as the dataplane's parity
// table (dataplane/api/shared_layout.h): one entry per FEC group, zero for
// a group that sends none. dataplane_ports writes it into the memzone, the
// simulator into its own memory: both dataplanes read the same table.

#include "control/engine/ports.h"
#include "dataplane/api/shared_layout.h"

#include <algorithm>
#include <span>

namespace skycast::control {

inline void fill_parity_table(std::span<const engine::parity_run> runs,
                              std::span<dataplane::api::parity_entry> table) {
    std::fill(table.begin(), table.end(), dataplane::api::parity_entry{});
    for (const auto& run : runs) {
        if (run.group < table.size()) {
            table[run.group] = {.count = run.count, .first_index = run.first_index};
        }
    }
}

} // namespace skycast::control
