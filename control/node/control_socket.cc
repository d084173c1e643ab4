#include "control/node/control_socket.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace skycast::control::node {
namespace {

// A request line longer than this is a confused client, not a request.
constexpr std::size_t max_request_bytes = 1 << 20;
// Output a client may leave unread before it is dropped.
constexpr std::size_t max_output_bytes = 64 << 20;
// How long queued output may make no progress before the client is dropped.
constexpr auto stuck_output = std::chrono::seconds(10);

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
    for (const auto& [id, c] : _clients) {
        ::close(c.fd);
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

bool control_socket::handle_next_request(const request_handler& handle) {
    request r;
    {
        std::lock_guard lock(_mutex);
        do {
            if (_requests.empty()) {
                return false;
            }
            r = std::move(_requests.front());
            _requests.pop_front();
        } while (!_clients.contains(r.client)); // its client went away: nobody to answer
    }
    // Handled without the lock: the handler answers through send() and close().
    handle(r);
    std::lock_guard lock(_mutex);
    if (auto it = _clients.find(r.client); it != _clients.end()) {
        --it->second.queued;
        wake(); // the thread closes a client that is now done
    }
    return true;
}

control_socket::counters control_socket::stats_counters() const {
    std::lock_guard lock(_mutex);
    return _counters;
}

bool control_socket::connected(client_id id) const {
    std::lock_guard lock(_mutex);
    const auto it = _clients.find(id);
    return it != _clients.end() && !it->second.close_when_written;
}

void control_socket::close(client_id id) {
    std::lock_guard lock(_mutex);
    if (auto it = _clients.find(id); it != _clients.end()) {
        it->second.close_when_written = true;
        wake();
    }
}

bool control_socket::send(client_id id, const nlohmann::json& line) {
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::lock_guard lock(_mutex);
    auto it = _clients.find(id);
    if (it == _clients.end() || it->second.close_when_written) {
        return false;
    }
    client& c = it->second;
    if (c.output.size() + text.size() > max_output_bytes) {
        drop_locked(id);
        return false;
    }
    if (c.output.empty()) {
        c.last_progress = std::chrono::steady_clock::now();
    }
    c.output += text;
    // Most lines fit the socket buffer at once; what does not is written by
    // the thread as the client reads.
    write_client_locked(c);
    if (!c.output.empty()) {
        wake();
    }
    return true;
}

void control_socket::write_client_locked(client& c) {
    while (!c.output.empty()) {
        const ssize_t n =
            ::send(c.fd, c.output.data(), c.output.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c.output.erase(0, static_cast<std::size_t>(n));
            c.last_progress = std::chrono::steady_clock::now();
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        // Gone (EPIPE, ECONNRESET): the thread closes it.
        c.output.clear();
        c.close_when_written = true;
        ++_counters.clients_dropped;
        return;
    }
}

void control_socket::drop_locked(client_id id) {
    if (auto it = _clients.find(id); it != _clients.end()) {
        ++_counters.clients_dropped;
        it->second.output.clear();
        it->second.close_when_written = true;
        wake();
    }
}

void control_socket::reap_locked() {
    const auto now = std::chrono::steady_clock::now();
    for (auto it = _clients.begin(); it != _clients.end();) {
        client& c = it->second;
        if (!c.output.empty() && now - c.last_progress > stuck_output) {
            ++_counters.clients_dropped;
            c.output.clear();
            c.close_when_written = true;
        }
        const bool done =
            c.output.empty() && (c.close_when_written || (c.read_closed && c.queued == 0));
        if (done) {
            ::close(c.fd);
            it = _clients.erase(it);
        } else {
            ++it;
        }
    }
}

void control_socket::loop() {
    std::vector<pollfd> fds;
    std::vector<client_id> ids;
    while (!_stop.load()) {
        fds.clear();
        ids.clear();
        fds.push_back({.fd = _wake_fd, .events = POLLIN, .revents = 0});
        fds.push_back({.fd = _listen_fd, .events = POLLIN, .revents = 0});
        bool output_pending = false;
        {
            std::lock_guard lock(_mutex);
            reap_locked();
            for (const auto& [id, c] : _clients) {
                short events = c.read_closed ? 0 : POLLIN;
                if (!c.output.empty()) {
                    events |= POLLOUT;
                    output_pending = true;
                }
                fds.push_back({.fd = c.fd, .events = events, .revents = 0});
                ids.push_back(id);
            }
        }
        // Blocks until something happens; with output pending, wakes every
        // second to drop a client that stopped reading.
        if (::poll(fds.data(), fds.size(), output_pending ? 1000 : -1) < 0) {
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
            const client_id id = ids[i - 2];
            if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
                read_client(id);
            }
            if ((fds[i].revents & (POLLOUT | POLLERR)) != 0) {
                std::lock_guard lock(_mutex);
                if (auto it = _clients.find(id); it != _clients.end()) {
                    write_client_locked(it->second);
                }
            }
        }
    }
}

void control_socket::accept_clients() {
    for (;;) {
        const int fd = ::accept4(_listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            return;
        }
        std::lock_guard lock(_mutex);
        client c;
        c.fd = fd;
        c.last_progress = std::chrono::steady_clock::now();
        _clients.emplace(_next_id++, std::move(c));
    }
}

void control_socket::read_client(client_id id) {
    int fd;
    {
        std::lock_guard lock(_mutex);
        const auto it = _clients.find(id);
        if (it == _clients.end() || it->second.read_closed) {
            return;
        }
        fd = it->second.fd; // closed only by this thread: stays ours while we read
    }
    std::string received;
    bool eof = false;
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
        eof = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
        break;
    }
    std::vector<std::string> lines;
    {
        std::lock_guard lock(_mutex);
        auto it = _clients.find(id);
        if (it == _clients.end()) {
            return;
        }
        client& c = it->second;
        c.input += received;
        std::size_t at;
        while ((at = c.input.find('\n')) != std::string::npos) {
            lines.push_back(c.input.substr(0, at));
            c.input.erase(0, at + 1);
        }
        if (c.input.size() > max_request_bytes) {
            drop_locked(id);
            return;
        }
        // A client that shut down its side still gets the answers to the
        // lines it sent (reap_locked closes it once they are out).
        c.read_closed = eof;
    }
    for (const auto& line : lines) {
        handle_line(id, line);
    }
}

void control_socket::handle_line(client_id id, const std::string& line) {
    auto body = nlohmann::json::parse(line, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
        {
            std::lock_guard lock(_mutex);
            ++_counters.bad_requests;
        }
        send(id, {{"event", "error"}, {"error", "request is not a JSON object"}});
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
        send(id, doc);
        return;
    }
    std::lock_guard lock(_mutex);
    auto it = _clients.find(id);
    if (it == _clients.end()) {
        return;
    }
    ++it->second.queued;
    ++_counters.requests_queued;
    _requests.push_back({id, std::move(body)});
}

} // namespace skycast::control::node
