#include "control/node/control_socket.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

namespace skycast::control::node {
namespace {

// A request line longer than this is a confused client, not a request.
constexpr std::size_t max_request_bytes = 1 << 20;
// How long a write waits for a client that does not read before the client is
// dropped. Stats documents and results are a few kilobytes: a client that
// reads at all takes them at once.
constexpr int write_wait_ms = 200;

} // namespace

std::unique_ptr<control_socket> control_socket::open(const std::string& path, std::string& error) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) {
        error = "control socket path too long: " + path;
        return nullptr;
    }
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        return nullptr;
    }
    ::unlink(path.c_str()); // a socket left by a crashed control process
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 16) != 0) {
        error = "cannot listen on " + path + ": " + std::strerror(errno);
        ::close(fd);
        return nullptr;
    }
    ::chmod(path.c_str(), 0660);
    const int wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd < 0) {
        error = std::string("eventfd: ") + std::strerror(errno);
        ::close(fd);
        ::unlink(path.c_str());
        return nullptr;
    }
    return std::unique_ptr<control_socket>(new control_socket(fd, wake_fd, path));
}

control_socket::control_socket(int listen_fd, int wake_fd, std::string path)
    : _listen_fd(listen_fd), _wake_fd(wake_fd), _path(std::move(path)) {}

control_socket::~control_socket() {
    stop();
    for (const auto& [fd, pending] : _clients) {
        ::close(fd);
    }
    for (int fd : _to_close) {
        ::close(fd);
    }
    ::close(_listen_fd);
    ::close(_wake_fd);
    ::unlink(_path.c_str());
}

void control_socket::serve(stats_function answer_stats) {
    _answer_stats = std::move(answer_stats);
    _stop.store(false);
    _thread = std::thread([this] { loop(); });
}

void control_socket::stop() {
    _stop.store(true);
    wake();
    if (_thread.joinable()) {
        _thread.join();
    }
    std::lock_guard lock(_mutex);
    _requests.clear();
}

void control_socket::wake() const {
    const std::uint64_t one = 1;
    // A full counter (never in practice) still wakes the thread.
    [[maybe_unused]] const ssize_t n = ::write(_wake_fd, &one, sizeof one);
}

std::optional<control_socket::request> control_socket::next_request() {
    std::lock_guard lock(_mutex);
    if (_requests.empty()) {
        return std::nullopt;
    }
    request r = std::move(_requests.front());
    _requests.pop_front();
    return r;
}

control_socket::counters control_socket::stats_counters() const {
    std::lock_guard lock(_mutex);
    return _counters;
}

bool control_socket::connected(int client) const {
    std::lock_guard lock(_mutex);
    return _clients.count(client) != 0;
}

void control_socket::close(int client) {
    std::lock_guard lock(_mutex);
    drop_locked(client);
}

void control_socket::drop_locked(int fd) {
    if (_clients.erase(fd) != 0) {
        _to_close.insert(fd);
        wake();
    }
}

void control_socket::close_dropped() {
    std::set<int> fds;
    {
        std::lock_guard lock(_mutex);
        fds.swap(_to_close);
    }
    for (int fd : fds) {
        ::close(fd);
    }
}

bool control_socket::send(int client, const nlohmann::json& line) {
    const std::string text =
        line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::lock_guard lock(_mutex);
    if (_clients.count(client) == 0) {
        return false;
    }
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(write_wait_ms);
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::send(client, text.data() + done, text.size() - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && left.count() > 0) {
            pollfd p{.fd = client, .events = POLLOUT, .revents = 0};
            ::poll(&p, 1, static_cast<int>(left.count()));
            continue;
        }
        ++_counters.clients_dropped;
        drop_locked(client);
        return false;
    }
    return true;
}

void control_socket::loop() {
    std::vector<pollfd> fds;
    while (!_stop.load()) {
        close_dropped();
        fds.clear();
        fds.push_back({.fd = _wake_fd, .events = POLLIN, .revents = 0});
        fds.push_back({.fd = _listen_fd, .events = POLLIN, .revents = 0});
        {
            std::lock_guard lock(_mutex);
            for (const auto& [fd, pending] : _clients) {
                fds.push_back({.fd = fd, .events = POLLIN, .revents = 0});
            }
        }
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            continue; // EINTR
        }
        if (fds[0].revents != 0) {
            std::uint64_t count;
            [[maybe_unused]] const ssize_t n = ::read(_wake_fd, &count, sizeof count);
        }
        if (fds[1].revents != 0) {
            accept_clients();
        }
        for (std::size_t i = 2; i < fds.size(); ++i) {
            if (fds[i].revents != 0 && !read_client(fds[i].fd)) {
                std::lock_guard lock(_mutex);
                drop_locked(fds[i].fd);
            }
        }
    }
}

void control_socket::accept_clients() {
    for (;;) {
        const int c = ::accept4(_listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
            return;
        }
        std::lock_guard lock(_mutex);
        _clients.emplace(c, std::string());
    }
}

bool control_socket::read_client(int fd) {
    std::string received;
    bool open = true;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            received.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        open = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
        break;
    }
    std::vector<std::string> lines;
    {
        std::lock_guard lock(_mutex);
        auto it = _clients.find(fd);
        if (it == _clients.end()) {
            return true; // closed by the node meanwhile
        }
        std::string& pending = it->second;
        pending += received;
        std::size_t at;
        while ((at = pending.find('\n')) != std::string::npos) {
            lines.push_back(pending.substr(0, at));
            pending.erase(0, at + 1);
        }
        if (pending.size() > max_request_bytes) {
            ++_counters.clients_dropped;
            return false;
        }
    }
    // A client that sent its request and closed its side still gets answers
    // to what it sent.
    for (const auto& line : lines) {
        handle_line(fd, line);
    }
    return open;
}

void control_socket::handle_line(int fd, const std::string& line) {
    auto body = nlohmann::json::parse(line, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
        {
            std::lock_guard lock(_mutex);
            ++_counters.bad_requests;
        }
        send(fd, {{"event", "error"}, {"error", "request is not a JSON object"}});
        return;
    }
    const auto kind = body.find("request");
    if (kind != body.end() && *kind == "stats" && _answer_stats) {
        const auto started = std::chrono::steady_clock::now();
        nlohmann::json doc;
        try {
            doc = _answer_stats();
        } catch (const std::exception& e) {
            doc = {{"event", "error"},
                   {"error", std::string("cannot build the stats: ") + e.what()}};
        }
        const auto us =
            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                           std::chrono::steady_clock::now() - started)
                                           .count());
        {
            // Counted before the answer leaves: a client that has its answer
            // sees it counted.
            std::lock_guard lock(_mutex);
            ++_counters.stats_answered;
            _counters.max_stats_us = std::max(_counters.max_stats_us, us);
        }
        send(fd, doc);
        return;
    }
    std::lock_guard lock(_mutex);
    ++_counters.requests_queued;
    _requests.push_back({fd, std::move(body)});
}

} // namespace skycast::control::node
