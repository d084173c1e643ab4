#include "control/node/post_receive_hooks.h"

#include "protocol/display_text.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace skycast::control::node {
namespace {

// Output of a hook kept for the log (the rest is read and dropped, so a
// chatty hook never blocks on a full pipe).
constexpr std::size_t output_kept = 4096;
// After SIGTERM, a hook has this long to go before SIGKILL.
constexpr auto term_grace = std::chrono::seconds(2);

// Size and SHA-256 (lowercase hex) of a regular file, read in 1 MiB pieces.
bool hash_file(const std::string& path, std::uint64_t& size, std::string& hex) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return false;
    }
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    bool ok = md != nullptr && EVP_DigestInit_ex(md, EVP_sha256(), nullptr) == 1;
    std::vector<unsigned char> buf(1 << 20);
    size = 0;
    while (ok) {
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            ok = n == 0;
            break;
        }
        size += static_cast<std::uint64_t>(n);
        ok = EVP_DigestUpdate(md, buf.data(), static_cast<std::size_t>(n)) == 1;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    ok = ok && EVP_DigestFinal_ex(md, digest, &len) == 1;
    EVP_MD_CTX_free(md);
    ::close(fd);
    if (!ok) {
        return false;
    }
    hex.clear();
    for (unsigned i = 0; i < len; ++i) {
        char b[3];
        std::snprintf(b, sizeof b, "%02x", digest[i]);
        hex += b;
    }
    return true;
}

std::string describe_status(int status) {
    if (WIFEXITED(status)) {
        return "exit status " + std::to_string(WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        return std::string("killed by signal ") + strsignal(WTERMSIG(status));
    }
    return "status " + std::to_string(status);
}

} // namespace

post_receive_hooks::post_receive_hooks(const config::hooks_config& config, std::string destination,
                                       node_log& log)
    : _config(config), _destination(std::move(destination)), _log(log), _thread([this] { run(); }) {
}

post_receive_hooks::~post_receive_hooks() {
    {
        std::lock_guard lock(_mutex);
        _stopping = true;
        _queue.clear();
    }
    _wake.notify_all();
    _abandon.store(true); // the node is stopping: so is a hook still running
    _thread.join();
}

void post_receive_hooks::enqueue(job j) {
    {
        std::lock_guard lock(_mutex);
        if (_stopping) {
            return;
        }
        if (_queue.size() >= _config.max_queued) {
            // Logged on the first drop and then every 1000th.
            if (_dropped.fetch_add(1) % 1000 == 0) {
                SKYCAST_LOG(_log, warn,
                            "hook for %s dropped: %u hooks already waiting (max_queued)",
                            j.what.c_str(), _config.max_queued);
            }
            return;
        }
        _queue.push_back(std::move(j));
        ++_queued;
    }
    _wake.notify_one();
}

std::vector<std::string> post_receive_hooks::common_env(const char* event, std::uint32_t session,
                                                        std::uint32_t sender) const {
    return {std::string("SKYCAST_EVENT=") + event, "SKYCAST_SESSION=" + hex_id(session),
            "SKYCAST_SENDER=" + hex_id(sender), "SKYCAST_DESTINATION=" + _destination};
}

void post_receive_hooks::file_completed(file_event e) {
    if (_config.file_command.empty()) {
        return;
    }
    job j;
    j.command = _config.file_command;
    j.what = "file " + protocol::display_text(e.name) + " of session " + hex_id(e.session);
    j.env = common_env("file", e.session, e.sender);
    j.env.insert(j.env.end(),
                 {"SKYCAST_PATH=" + e.path, "SKYCAST_NAME=" + e.name, "SKYCAST_TYPE=" + e.type});
    if (e.type == "file") {
        j.hash_path = e.path;
    }
    enqueue(std::move(j));
}

void post_receive_hooks::session_ended(const session_event& e) {
    if (_config.session_command.empty()) {
        return;
    }
    job j;
    j.command = _config.session_command;
    j.what = "session " + hex_id(e.session);
    j.env = common_env("session", e.session, e.sender);
    j.env.insert(j.env.end(), {"SKYCAST_OUTCOME=" + e.outcome, "SKYCAST_REASON=" + e.reason,
                               "SKYCAST_FILES=" + std::to_string(e.files),
                               "SKYCAST_FILES_COMPLETE=" + std::to_string(e.files_complete)});
    enqueue(std::move(j));
}

void post_receive_hooks::run() {
    std::unique_lock lock(_mutex);
    for (;;) {
        _wake.wait(lock, [this] { return _stopping || !_queue.empty(); });
        if (_stopping) {
            return;
        }
        job j = std::move(_queue.front());
        _queue.pop_front();
        _busy = true;
        lock.unlock();
        execute(j);
        lock.lock();
        _busy = false;
        _idle.notify_all();
    }
}

void post_receive_hooks::drain() {
    std::unique_lock lock(_mutex);
    _idle.wait(lock, [this] { return _stopping || (_queue.empty() && !_busy); });
}

void post_receive_hooks::execute(job& j) {
    if (!j.hash_path.empty()) {
        std::uint64_t size = 0;
        std::string sha;
        if (hash_file(j.hash_path, size, sha)) {
            j.env.push_back("SKYCAST_SIZE=" + std::to_string(size));
            j.env.push_back("SKYCAST_SHA256=" + sha);
        } else {
            // Moved away or replaced already: the hook still runs, and says so.
            ++_hash_failed;
            j.env.push_back("SKYCAST_SHA256=");
            SKYCAST_LOG(_log, warn, "hook for %s: cannot read the file for its SHA-256: %s",
                        j.what.c_str(), std::strerror(errno));
        }
    }
    j.env.push_back("PATH=/usr/sbin:/usr/bin:/sbin:/bin");
    std::vector<char*> envp;
    for (auto& e : j.env) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    std::string command = j.command;
    char* argv[] = {command.data(), nullptr};

    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        ++_spawn_failed;
        SKYCAST_LOG(_log, error, "hook for %s: pipe: %s", j.what.c_str(), std::strerror(errno));
        return;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setpgroup(&attr, 0); // its own group: a timeout kills all it started
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, command.c_str(), &actions, &attr, argv, envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(pipe_fds[1]);
    if (spawned != 0) {
        ::close(pipe_fds[0]);
        ++_spawn_failed;
        SKYCAST_LOG(_log, error, "hook for %s: cannot run %s: %s", j.what.c_str(), command.c_str(),
                    std::strerror(spawned));
        return;
    }

    const auto started = std::chrono::steady_clock::now();
    const auto deadline = started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                        std::chrono::duration<double>(_config.timeout));
    std::string output;
    bool timed_out = false;
    bool terminated = false;
    bool output_open = true;
    int status = 0;
    // Until the hook has exited: collect its output while the pipe is open,
    // enforce the timeout (and the node's stopping) either way.
    for (;;) {
        const auto now = std::chrono::steady_clock::now();
        if (_abandon.load()) {
            ::kill(-pid, SIGKILL);
        } else if (now >= deadline && !terminated) {
            timed_out = terminated = true;
            ::kill(-pid, SIGTERM);
        } else if (terminated && now >= deadline + term_grace) {
            ::kill(-pid, SIGKILL);
        }
        const pid_t w = ::waitpid(pid, &status, WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR)) {
            break;
        }
        if (!output_open) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            continue;
        }
        pollfd p{.fd = pipe_fds[0], .events = POLLIN, .revents = 0};
        if (::poll(&p, 1, 100) > 0) {
            char buf[4096];
            const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
            if (n <= 0) {
                output_open = false; // closed: the hook may still be running
            } else if (output.size() < output_kept) {
                output.append(buf,
                              std::min(static_cast<std::size_t>(n), output_kept - output.size()));
            }
        }
    }
    // What the hook wrote just before it exited.
    for (char buf[4096]; output_open;) {
        pollfd p{.fd = pipe_fds[0], .events = POLLIN, .revents = 0};
        const ssize_t n = ::poll(&p, 1, 0) > 0 ? ::read(pipe_fds[0], buf, sizeof buf) : 0;
        if (n <= 0) {
            break;
        }
        if (output.size() < output_kept) {
            output.append(buf, std::min(static_cast<std::size_t>(n), output_kept - output.size()));
        }
    }
    ::close(pipe_fds[0]);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const bool ok = !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (timed_out) {
        ++_timed_out;
    } else if (ok) {
        ++_succeeded;
    } else {
        ++_failed;
    }
    const std::string shown = protocol::display_text(output);
    if (ok) {
        SKYCAST_LOG(_log, info, "hook for %s: done in %.1f s%s%s", j.what.c_str(), seconds,
                    shown.empty() ? "" : ": ", shown.c_str());
    } else {
        SKYCAST_LOG(_log, warn, "hook for %s: %s after %.1f s (%s)%s%s", j.what.c_str(),
                    timed_out ? "timed out, killed" : "failed", seconds,
                    describe_status(status).c_str(), shown.empty() ? "" : ": ", shown.c_str());
    }
}

nlohmann::json post_receive_hooks::stats() const {
    return {{"queued", _queued.load()},          {"succeeded", _succeeded.load()},
            {"failed", _failed.load()},          {"timed_out", _timed_out.load()},
            {"dropped", _dropped.load()},        {"spawn_failed", _spawn_failed.load()},
            {"hash_failed", _hash_failed.load()}};
}

} // namespace skycast::control::node
