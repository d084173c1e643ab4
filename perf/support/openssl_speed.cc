#include "perf/support/openssl_speed.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

namespace skycast::perf {

double openssl_speed_gbps(const char* name, std::size_t bytes, int seconds) {
    const std::string cmd = std::string("openssl speed -evp ") + name + " -bytes " +
                            std::to_string(bytes) + " -seconds " + std::to_string(seconds) +
                            " -mr 2>/dev/null";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
    if (!pipe) {
        return 0;
    }
    char line[512];
    double bytes_per_second = 0;
    while (std::fgets(line, sizeof line, pipe.get()) != nullptr) {
        const std::string_view s(line);
        if (s.starts_with("+F:")) {
            bytes_per_second = std::strtod(line + s.rfind(':') + 1, nullptr);
        }
    }
    return bytes_per_second * 8 / 1e9;
}

} // namespace skycast::perf
