#pragma once
// Shared helpers for the engine tests: a scratch directory removed at the
// end of each test, deterministic source files, and a small-session config.

#include "tests/sim/simulator.h"

#include <cstdint>
#include <string>
#include <vector>

namespace skycast::test {

namespace engine = control::engine;

class scratch_dir {
public:
    scratch_dir();
    ~scratch_dir();
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
    const std::string& path() const { return _path; }

private:
    std::string _path;
};

// Writes `size` pseudo-random bytes (a function of `seed`) with mtime `mtime`.
std::string write_file(const std::string& path, std::uint64_t size, std::uint32_t seed,
                       std::uint32_t mtime = 1'600'000'000);

engine::file_entry regular_entry(const std::string& source, const std::string& name);

// A short, fast session: 1 ms links, 20 announce rounds (stock), GRTT starting at
// 10 ms, 100 Mbit/s, block size 1300, receivers in dir/dest.
sim::sim_config small_config(const scratch_dir& dir, std::vector<engine::file_entry> files,
                             std::uint32_t receivers, std::uint64_t seed = 1);

// Prints why any receiver failed (for test failure messages).
std::string describe_failures(const sim::sim_report& report);

} // namespace skycast::test
