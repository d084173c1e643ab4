#pragma once
// Turns the paths a job names into the sender's list of FILEINFOs: regular
// files, directories walked recursively (only empty ones are sent as
// directories, spec §8), symlinks sent as links, with relative '/'-separated
// names rooted at each path's last component. Entries are sorted per
// directory so a walk is reproducible. Special files are skipped and counted.

#include "protocol/constants.h"

#include <cstdint>
#include <string>
#include <vector>

namespace skycast::control::engine {

struct file_entry {
    protocol::file_type type = protocol::file_type::regular;
    std::string source_path; // where the sender reads it (regular files)
    std::string name;        // relative name sent in FILEINFO
    std::string link;        // symlink target
    std::uint64_t size = 0;
    std::uint32_t mtime = 0;
    std::uint16_t mode = 0; // permission bits (07777), sent in FILEINFO
};

struct file_list_result {
    std::vector<file_entry> entries;
    std::uint32_t skipped_special = 0;
    std::string error; // non-empty: a path could not be read
};

file_list_result build_file_list(const std::vector<std::string>& paths);

} // namespace skycast::control::engine
