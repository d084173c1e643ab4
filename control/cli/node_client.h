#pragma once
// The CLI's side of a node's control socket (control/node/control_socket.h):
// connect, send one request line, read answer lines.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace skycast::cli {

class node_client {
public:
    // Connects to the socket at `path`; nullopt and `error` if nobody listens.
    static std::optional<node_client> connect(const std::string& path, std::string& error);
    node_client(node_client&& o) noexcept : _fd(o._fd), _pending(std::move(o._pending)) {
        o._fd = -1;
    }
    ~node_client();

    bool request(const nlohmann::json& line);
    // The next answer line; nullopt when the node closed the connection.
    std::optional<nlohmann::json> next();

private:
    explicit node_client(int fd) : _fd(fd) {}
    int _fd;
    std::string _pending;
};

// The socket path: --socket if given, else the one the node's YAML file
// (--config) names. Empty and `error` set when neither works.
std::string socket_path(const std::string& config_file, const std::string& socket,
                        std::string& error);

} // namespace skycast::cli
