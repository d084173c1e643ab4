#pragma once
// The dataplane's part of a node's stats document, read live from the
// shared memzone: every named counter summed over the lcores, each lcore's
// non-zero counters, and the port's statistics (under their seqlock).

#include "dataplane/api/shared_layout.h"

#include <nlohmann/json.hpp>

namespace skycast::control {

nlohmann::json dataplane_document(const dataplane::api::shared_view& view);

} // namespace skycast::control
