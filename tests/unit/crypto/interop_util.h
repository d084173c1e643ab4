#pragma once
// Helpers for the live tests against stock uftp/uftpd (suite 'system'):
// spawning a tool with its output in a log file and stopping it by PID, a UDP
// socket on a random high loopback port, temporary directories.

#include <arpa/inet.h>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <netinet/in.h>
#include <optional>
#include <random>
#include <signal.h>
#include <spawn.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace interop {

// The UIDs the stock peer and our side use in the interop tests.
inline constexpr std::uint32_t client_uid = 0x11223344;
inline constexpr std::uint32_t server_uid = 0x01020304;

using clock_type = std::chrono::steady_clock;

inline bool have_tool(const char* name) {
    const std::string cmd = std::string("command -v ") + name + " >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
}

inline std::string temp_dir() {
    char tmpl[] = "/tmp/skycast-crypto-interop.XXXXXX";
    const char* d = ::mkdtemp(tmpl);
    return d != nullptr ? d : "/tmp";
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A child process (argv[0] looked up in PATH), stdout and stderr to `log`.
// The destructor stops it with SIGTERM, by its PID, if it is still running.
class process {
public:
    process(const std::vector<std::string>& args, const std::string& log) {
        std::vector<char*> argv;
        for (const auto& a : args) {
            argv.push_back(const_cast<char*>(a.c_str()));
        }
        argv.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
        if (posix_spawnp(&_pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) {
            _pid = -1;
        }
        posix_spawn_file_actions_destroy(&fa);
    }
    ~process() { stop(); }
    process(const process&) = delete;
    process& operator=(const process&) = delete;

    bool started() const { return _pid > 0; }

    // Exit status, waiting at most `timeout`; nullopt if still running.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
        const auto end = clock_type::now() + timeout;
        while (_pid > 0 && !_exited && clock_type::now() < end) {
            int status = 0;
            if (::waitpid(_pid, &status, WNOHANG) == _pid) {
                _exited = true;
                _status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                break;
            }
            ::usleep(20000);
        }
        return _exited ? std::optional<int>(_status) : std::nullopt;
    }

    void stop() {
        if (_pid > 0 && !_exited) {
            ::kill(_pid, SIGTERM);
            if (!wait_exit(std::chrono::seconds(5))) {
                ::kill(_pid, SIGKILL);
                ::waitpid(_pid, nullptr, 0);
                _exited = true;
            }
        }
    }

private:
    pid_t _pid = -1;
    bool _exited = false;
    int _status = -1;
};

// A UDP socket bound to 127.0.0.1 on a random port in 20000..59999; returns
// the port (0 on failure).
inline std::uint16_t bind_random_loopback(int sock, std::mt19937& rng) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int attempt = 0; attempt < 50; ++attempt) {
        const auto candidate = static_cast<std::uint16_t>(20000 + rng() % 40000);
        addr.sin_port = htons(candidate);
        if (::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
            return candidate;
        }
    }
    return 0;
}

inline std::uint16_t random_port(std::mt19937& rng) {
    return static_cast<std::uint16_t>(20000 + rng() % 40000);
}

} // namespace interop
