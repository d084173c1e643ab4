#pragma once
// The physical limits the benchmarks quote beside their figures (style rule 15,
// docs/architecture.md): this machine's `openssl speed -evp` for a cipher and size,
// measured in the same run, and small statistics helpers.

#include <algorithm>
#include <cstddef>
#include <vector>

namespace skycast::perf {

// `openssl speed -evp NAME -bytes BYTES -seconds SECONDS -mr`, in Gbit/s; 0
// when openssl is missing or says something else. Its machine-readable
// "+F:<n>:<name>:<bytes per second>" line carries the figure.
double openssl_speed_gbps(const char* name, std::size_t bytes, int seconds = 1);

inline double min_of(const std::vector<double>& v) {
    return *std::min_element(v.begin(), v.end());
}
inline double max_of(const std::vector<double>& v) {
    return *std::max_element(v.begin(), v.end());
}

} // namespace skycast::perf
