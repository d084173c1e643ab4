#include "control/node/control_socket.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace skycast::control::node {
namespace {

// A request line longer than this is a confused client, not a request.
constexpr std::size_t max_request_bytes = 1 << 20;

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
    return std::unique_ptr<control_socket>(new control_socket(fd, path));
}

control_socket::~control_socket() {
    for (const auto& [fd, pending] : _clients) {
        ::close(fd);
    }
    ::close(_fd);
    ::unlink(_path.c_str());
}

bool control_socket::poll(const handler& on_request) {
    bool did = false;
    for (;;) {
        const int c = ::accept4(_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
            break;
        }
        _clients.emplace(c, std::string());
        did = true;
    }
    std::vector<int> gone;
    for (auto& [fd, pending] : _clients) {
        char buf[4096];
        for (;;) {
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n > 0) {
                pending.append(buf, static_cast<std::size_t>(n));
                did = true;
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                gone.push_back(fd);
            }
            break;
        }
        if (pending.size() > max_request_bytes) {
            gone.push_back(fd);
        }
    }
    for (int fd : gone) {
        close(fd);
    }
    // Requests are handled after reading, so a handler may close or write to
    // any client without invalidating the loop above.
    std::vector<std::pair<int, std::string>> lines;
    for (auto& [fd, pending] : _clients) {
        std::size_t at;
        while ((at = pending.find('\n')) != std::string::npos) {
            lines.emplace_back(fd, pending.substr(0, at));
            pending.erase(0, at + 1);
        }
    }
    for (const auto& [fd, line] : lines) {
        if (!connected(fd)) {
            continue;
        }
        const auto request = nlohmann::json::parse(line, nullptr, false);
        if (request.is_discarded() || !request.is_object()) {
            send(fd, {{"event", "error"}, {"error", "request is not a JSON object"}});
            continue;
        }
        on_request(fd, request);
    }
    return did;
}

bool control_socket::send(int client, const nlohmann::json& line) {
    if (!connected(client)) {
        return false;
    }
    const std::string text = line.dump() + "\n";
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::send(client, text.data() + done, text.size() - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            // A slow reader of a few lines: wait briefly rather than drop
            // its result. Stats documents and results are small.
            ::usleep(1000);
            continue;
        }
        close(client);
        return false;
    }
    return true;
}

void control_socket::close(int client) {
    if (_clients.erase(client) != 0) {
        ::close(client);
    }
}

} // namespace skycast::control::node
