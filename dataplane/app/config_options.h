#pragma once
// From the validated YAML (config::dataplane_config) to what the process
// needs: the EAL's argument vector, and the runtime's options. Pure
// functions, so the mapping is unit-tested without EAL.

#include "config/node_config.h"
#include "dataplane/app/options.h"

#include <string>
#include <vector>

namespace skycast::dataplane {

// argv for rte_eal_init (argv[0] = `program`): lcores, main lcore, file
// prefix, memory, hugepages, the port as -a (PCI) or --vdev (with --no-pci
// when no PCI device is used), a cryptodev vdev when configured, then the
// configured extra arguments.
std::vector<std::string> eal_arguments(const config::dataplane_config& config,
                                       const std::string& program);

dataplane_options runtime_options(const config::dataplane_config& config);

} // namespace skycast::dataplane
