#pragma once
// DPDK telemetry for the dataplane's counters (style rule 16, docs/architecture.md; the
// registration pattern of lib/ring/rte_ring.c): `/skycast/counters` returns
// every counter summed over the lcores, `/skycast/counter_help` what each
// means, with '.' in names written as '_' (telemetry allows no dots). Read
// with `dpdk-telemetry.py -f <file_prefix>` (from DPDK's usertools).

#include "dataplane/api/shared_layout.h"

namespace skycast::dataplane {

// Telemetry commands are process-global: the last registered view answers.
void register_telemetry(api::shared_view view);
// Detaches the commands from the view (they answer "not running" after).
void unregister_telemetry();

} // namespace skycast::dataplane
