#include "dataplane/app/eal_leftovers.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

namespace skycast::dataplane {

int remove_eal_leftovers(const std::string& file_prefix) {
    namespace fs = std::filesystem;
    std::vector<fs::path> mounts;
    std::ifstream proc("/proc/mounts");
    std::string line;
    while (std::getline(proc, line)) {
        std::istringstream fields(line);
        std::string device, mount, type;
        fields >> device >> mount >> type;
        if (type == "hugetlbfs") {
            mounts.emplace_back(mount);
        }
    }
    int removed = 0;
    const std::string stem = file_prefix + "map_";
    std::error_code ec;
    for (const auto& mount : mounts) {
        for (const auto& entry : fs::directory_iterator(mount, ec)) {
            if (entry.path().filename().string().rfind(stem, 0) == 0 &&
                fs::remove(entry.path(), ec)) {
                ++removed;
            }
        }
    }
    fs::remove_all(fs::path("/var/run/dpdk") / file_prefix, ec);
    return removed;
}

} // namespace skycast::dataplane
