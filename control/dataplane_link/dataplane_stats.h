#pragma once
// The dataplane's part of a node's stats document, read live from the
// shared memzone: every named counter summed over the lcores, each lcore's
// non-zero counters, and the port's statistics (under their seqlock).

#include "control/dataplane_link/dataplane_link.h"

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace skycast::control {

nlohmann::json dataplane_document(const dataplane_link& link);

// Each counter's help text (what a non-zero value means), by counter name.
std::map<std::string, std::string> counter_help(const dataplane_link& link);

} // namespace skycast::control
