#include "control/cli/node_client.h"

#include "config/loader.h"
#include "protocol/display_text.h"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

namespace skycast::cli {

std::optional<node_client> node_client::connect(const std::string& path, std::string& error) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) {
        error = "socket path too long: " + path;
        return std::nullopt;
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        error = "cannot connect to " + path + ": " + std::strerror(errno) +
                " (is skycast-control running for this node?)";
        if (fd >= 0) {
            ::close(fd);
        }
        return std::nullopt;
    }
    return node_client(fd);
}

node_client::~node_client() {
    if (_fd >= 0) {
        ::close(_fd);
    }
}

bool node_client::set_timeout(std::chrono::milliseconds timeout) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(us / 1000000);
    tv.tv_usec = static_cast<suseconds_t>(us % 1000000);
    return ::setsockopt(_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
           ::setsockopt(_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0;
}

bool node_client::request(const nlohmann::json& line) {
    const std::string text = line.dump() + "\n";
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::send(_fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
        if (n <= 0) {
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

std::optional<nlohmann::json> node_client::next() {
    for (;;) {
        if (const auto at = _pending.find('\n'); at != std::string::npos) {
            auto line = nlohmann::json::parse(_pending.substr(0, at), nullptr, false);
            _pending.erase(0, at + 1);
            if (!line.is_discarded()) {
                return line;
            }
            continue;
        }
        char buf[65536];
        const ssize_t n = ::read(_fd, buf, sizeof buf);
        if (n <= 0) {
            return std::nullopt;
        }
        _pending.append(buf, static_cast<std::size_t>(n));
    }
}

std::string socket_path(const std::string& config_file, const std::string& socket,
                        std::string& error) {
    if (!socket.empty()) {
        return socket;
    }
    if (config_file.empty()) {
        error = "give --config NODE.yaml or --socket PATH";
        return {};
    }
    try {
        return config::load_node_config(config_file).control.socket;
    } catch (const std::exception& e) {
        error = e.what();
        return {};
    }
}

const nlohmann::json& member(const nlohmann::json& obj, std::string_view key) {
    static const nlohmann::json null_value;
    if (!obj.is_object()) {
        return null_value;
    }
    const auto it = obj.find(key);
    return it == obj.end() ? null_value : *it;
}

std::string text_member(const nlohmann::json& obj, std::string_view key) {
    const auto& v = member(obj, key);
    return v.is_string() ? protocol::display_text(v.get_ref<const std::string&>()) : std::string();
}

std::uint64_t count_member(const nlohmann::json& obj, std::string_view key) {
    const auto& v = member(obj, key);
    if (v.is_number_unsigned()) {
        return v.get<std::uint64_t>();
    }
    if (v.is_number_integer() && v.get<std::int64_t>() >= 0) {
        return static_cast<std::uint64_t>(v.get<std::int64_t>());
    }
    return 0;
}

double number_member(const nlohmann::json& obj, std::string_view key) {
    const auto& v = member(obj, key);
    return v.is_number() ? v.get<double>() : 0.0;
}

bool flag_member(const nlohmann::json& obj, std::string_view key) {
    const auto& v = member(obj, key);
    return v.is_boolean() && v.get<bool>();
}

std::string display_value(const nlohmann::json& value) {
    if (value.is_string()) {
        return protocol::display_text(value.get_ref<const std::string&>());
    }
    return inert_dump(value);
}

std::string inert_dump(const nlohmann::json& doc, int indent) {
    // ensure_ascii escapes controls, DEL and every non-ASCII character; the
    // replace handler covers a string that is not UTF-8 (a parsed answer never
    // holds one: the parser rejects them), so the dump cannot throw.
    return doc.dump(indent, ' ', true, nlohmann::json::error_handler_t::replace);
}

} // namespace skycast::cli
