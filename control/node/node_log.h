#pragma once
// UFTP-style log lines, per session, file and receiver, at levels
// (control.log in the YAML): "2026-11-21 12:00:01.123 [info] session
// 0x1A2B: 0x0A4D000B registered". Any thread may write: each line goes out whole.

#include "config/node_config.h"

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <string>

namespace skycast::control::node {

// A UFTP ID as the node shows it in logs and stats: "0x0A4D000B".
std::string hex_id(std::uint32_t id);

// Whether `fd` is the stream systemd connected to the journal
// (JOURNAL_STREAM, see systemd.exec(5)).
bool journal_stream_is(int fd);

// Where lines go: control.log.file, or standard error ("-"). Under systemd
// (StandardError=journal, so JOURNAL_STREAM names standard error) they go
// to the journal natively instead, through sd_journal_send(): with their
// level as the syslog PRIORITY (journalctl -p warning), SYSLOG_IDENTIFIER
// the program's name, SKYCAST_LEVEL, and no timestamp of our own.
class node_log {
public:
    explicit node_log(const config::log_config& c);
    ~node_log();
    node_log(const node_log&) = delete;
    node_log& operator=(const node_log&) = delete;

    [[gnu::format(printf, 3, 4)]] void write(config::log_level level, const char* fmt, ...);
    bool enabled(config::log_level level) const { return level <= _level; }

private:
    std::FILE* _out = stderr;
    bool _owned = false;
    bool _journal = false;
    config::log_level _level;
};

#define SKYCAST_LOG(log, level, ...)                                                               \
    do {                                                                                           \
        if ((log).enabled(::skycast::config::log_level::level)) {                                  \
            (log).write(::skycast::config::log_level::level, __VA_ARGS__);                         \
        }                                                                                          \
    } while (0)

} // namespace skycast::control::node
