#pragma once
// How skycast-dataplane and skycast-control start: one required option,
// `--config PATH` (or -c), and the node's YAML loaded from it. Both processes
// stop with the same exit statuses: 0 after --help, 2 for a wrong command
// line or a configuration error (printed, prefixed with the program's name).

#include "config/node_config.h"

#include <optional>

namespace skycast::config {

struct process_start {
    std::optional<node_config> config; // set when the process should run
    int exit_status = 0;               // what main returns when it is not
};

process_start load_process_config(const char* program, const char* description, int argc,
                                  char** argv);

} // namespace skycast::config
