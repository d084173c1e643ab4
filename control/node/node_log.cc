#include "control/node/node_log.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace skycast::control::node {

std::string hex_id(std::uint32_t id) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08X", id);
    return buf;
}

node_log::node_log(const config::log_config& c) : _level(c.level) {
    if (c.file != "-") {
        if (std::FILE* f = std::fopen(c.file.c_str(), "a"); f != nullptr) {
            _out = f;
            _owned = true;
        } else {
            std::fprintf(stderr, "skycast-control: cannot open log file %s, logging to stderr\n",
                         c.file.c_str());
        }
    }
}

node_log::~node_log() {
    if (_owned) {
        std::fclose(_out);
    }
}

void node_log::write(config::log_level level, const char* fmt, ...) {
    static const char* names[] = {"error", "warn", "info", "debug"};
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    // One line at a time, whichever thread writes (the loop, the hooks').
    flockfile(_out);
    std::fprintf(_out, "%s.%03d [%s] ", stamp, static_cast<int>(ms.count()),
                 names[static_cast<int>(level)]);
    va_list args;
    va_start(args, fmt);
    std::vfprintf(_out, fmt, args);
    va_end(args);
    std::fputc('\n', _out);
    std::fflush(_out);
    funlockfile(_out);
}

} // namespace skycast::control::node
