#pragma once
// Loading a node's YAML file (two sections, `dataplane:` and `control:`) into
// a node_config in one validating pass. Unknown keys, wrong types,
// out-of-range values, missing required keys and contradictions between
// fields are all reported, every one of them, with file, line, column and key
// path, in one config_error. The schema is config/README.md.

#include "config/config_error.h"
#include "config/node_config.h"

#include <cstddef>
#include <string>
#include <string_view>

namespace skycast::config {

// Bounds on what the loader reads, so that a hostile or mistaken file (a
// FIFO, /dev/zero, a 50 MB list, 1 MiB of '[') fails at once with a message
// instead of hanging, exhausting memory or overflowing the stack. A node's
// real file is a few KiB, a few hundred YAML nodes and about 5 levels deep.
inline constexpr std::size_t max_config_bytes = std::size_t{1} << 20; // 1 MiB
inline constexpr std::size_t max_yaml_nodes = 100'000; // scalars, keys, lists, mappings
inline constexpr std::size_t max_yaml_depth = 64;      // lists and mappings inside each other

// Reads and validates the file at `path`. Throws config_error: code
// unreadable when the file cannot be read, is not a regular file (a FIFO, a
// device, a directory) or is larger than max_config_bytes; invalid for
// everything else. Never blocks on the open (O_NONBLOCK) and reads at most
// max_config_bytes + 1 bytes.
node_config load_node_config(const std::string& path);

// Validates YAML `text`; `source_name` stands for the file in messages and
// in node_config::source_file. Throws config_error (code invalid), also for
// text over max_config_bytes and documents over max_yaml_nodes or
// max_yaml_depth; no other exception (yaml-cpp's included) escapes.
node_config parse_node_config(std::string_view text, std::string_view source_name);

} // namespace skycast::config
