#include "control/node/node_log.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

namespace skycast::control::node {

std::string hex_id(std::uint32_t id) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08X", id);
    return buf;
}

bool journal_stream_is(int fd) {
    // systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream it connects
    // to the journal (StandardError=journal); a descriptor with that identity
    // is that stream, not a pipe or terminal a parent process substituted.
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr) {
        return false;
    }
    unsigned long long dev = 0;
    unsigned long long ino = 0;
    if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) {
        return false;
    }
    struct stat st {};
    return ::fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

node_log::node_log(const config::log_config& c) : _level(c.level) {
    if (c.file == "-" && journal_stream_is(STDERR_FILENO)) {
        _journal = true;
    } else if (c.file != "-") {
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
    if (_journal) {
        // syslog priorities: err 3, warning 4, info 6, debug 7.
        static constexpr int priorities[] = {3, 4, 6, 7};
        char text[2048];
        va_list args;
        va_start(args, fmt);
        const int n = std::vsnprintf(text, sizeof text, fmt, args);
        va_end(args);
        if (n >= 0 &&
            sd_journal_send("MESSAGE=%s", text, "PRIORITY=%d", priorities[static_cast<int>(level)],
                            "SYSLOG_IDENTIFIER=%s", program_invocation_short_name,
                            "SKYCAST_LEVEL=%s", names[static_cast<int>(level)], nullptr) == 0) {
            return;
        }
        // The journal refused it (journald restarting): the line still goes
        // to standard error, which systemd also collects.
    }
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
