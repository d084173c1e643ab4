#pragma once
// Post-receive hooks (control.hooks): a command run for every completed
// file and for every ended session, so an unattended receiver hands its
// files on (moves, publishes, checks them) without a person.
//
// The commands run on a thread of their own, one at a time, in the order
// the events happened: reception never waits for a hook, and a file's
// SHA-256 is computed there too. A hook is executed directly (no shell),
// in its own process group, with a small environment of its own:
//
//   every hook  SKYCAST_EVENT (file|session), SKYCAST_SESSION (group ID,
//               0x...), SKYCAST_SENDER (UID, 0x...), SKYCAST_DESTINATION,
//               PATH=/usr/sbin:/usr/bin:/sbin:/bin
//   file        SKYCAST_PATH (absolute), SKYCAST_NAME (as the sender named
//               it, relative), SKYCAST_TYPE (file|directory|symlink|delete),
//               SKYCAST_SIZE and SKYCAST_SHA256 (regular files)
//   session     SKYCAST_OUTCOME, SKYCAST_REASON (escaped text), SKYCAST_FILES,
//               SKYCAST_FILES_COMPLETE
//
// A hook that runs past the timeout is sent SIGTERM, then SIGKILL 2 s
// later (its whole process group). Its exit status and the first lines of
// its output go to the log; every outcome is counted (stats "hooks").
// Events beyond max_queued waiting are dropped, counted and logged.

#include "config/node_config.h"
#include "control/node/node_log.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace skycast::control::node {

struct file_event {
    std::string path; // absolute, in the destination
    std::string name; // relative, as the sender named it
    std::string type; // "file", "directory", "symlink", "delete"
    std::uint32_t session = 0;
    std::uint32_t sender = 0;
};

struct session_event {
    std::uint32_t session = 0;
    std::uint32_t sender = 0;
    std::string outcome;
    std::string reason; // already safe to show (display_text)
    std::size_t files = 0;
    std::size_t files_complete = 0;
};

class post_receive_hooks {
public:
    post_receive_hooks(const config::hooks_config& config, std::string destination, node_log& log);
    // Stops taking events, kills a hook still running, joins the thread.
    ~post_receive_hooks();
    post_receive_hooks(const post_receive_hooks&) = delete;
    post_receive_hooks& operator=(const post_receive_hooks&) = delete;

    // Queue a hook (if its command is configured); never blocks.
    void file_completed(file_event e);
    void session_ended(const session_event& e);

    // The counters, for the stats document.
    nlohmann::json stats() const;
    // Blocks until every queued hook has run (tests).
    void drain();

private:
    struct job {
        std::string command;
        std::vector<std::string> env;
        std::string hash_path; // a regular file: size and SHA-256 added when it runs
        std::string what;      // for the log
    };

    // What every hook's environment holds (the list in the header comment).
    std::vector<std::string> common_env(const char* event, std::uint32_t session,
                                        std::uint32_t sender) const;
    void enqueue(job j);
    void run();
    void execute(job& j);

    config::hooks_config _config;
    std::string _destination;
    node_log& _log;

    std::mutex _mutex;
    std::condition_variable _wake;
    std::condition_variable _idle;
    std::deque<job> _queue;            // guarded by _mutex
    bool _stopping = false;            // guarded by _mutex
    bool _busy = false;                // guarded by _mutex
    std::atomic<bool> _abandon{false}; // the destructor: kill the running hook at once

    std::atomic<std::uint64_t> _queued{0};
    std::atomic<std::uint64_t> _succeeded{0};
    std::atomic<std::uint64_t> _failed{0}; // non-zero exit or killed by a signal
    std::atomic<std::uint64_t> _timed_out{0};
    std::atomic<std::uint64_t> _dropped{0};      // queue full
    std::atomic<std::uint64_t> _spawn_failed{0}; // could not be started
    std::atomic<std::uint64_t> _hash_failed{0};  // the file could not be read for SHA-256
    std::thread _thread;                         // last: starts once the rest exists
};

} // namespace skycast::control::node
