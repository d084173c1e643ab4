#pragma once
// What the EAL leaves on disk after rte_eal_cleanup() in DPDK 22.11: the
// hugepage files (<hugetlbfs mount>/<prefix>map_N, kept so secondaries can
// map them) and the runtime directory (/var/run/dpdk/<prefix>). A stopped
// dataplane removes them, so its hugepages return to the pool and no
// secondary mistakes the leftovers for a running primary.

#include <string>

namespace skycast::dataplane {

// Removes both; returns how many hugepage files were removed.
int remove_eal_leftovers(const std::string& file_prefix);

} // namespace skycast::dataplane
