#pragma once
// Loading a node's YAML file (two sections, `dataplane:` and `control:`) into
// a node_config in one validating pass. Unknown keys, wrong types,
// out-of-range values, missing required keys and contradictions between
// fields are all reported, every one of them, with file, line, column and key
// path, in one config_error. The schema is config/README.md.

#include "config/config_error.h"
#include "config/node_config.h"

#include <string>
#include <string_view>

namespace skycast::config {

// Reads and validates the file at `path`. Throws config_error: code
// unreadable when the file cannot be read, invalid for everything else.
node_config load_node_config(const std::string& path);

// Validates YAML `text`; `source_name` stands for the file in messages and
// in node_config::source_file. Throws config_error (code invalid).
node_config parse_node_config(std::string_view text, std::string_view source_name);

} // namespace skycast::config
