#pragma once
// The node's local control and stats socket: a Unix stream socket carrying
// one JSON object per line each way. Requests: {"request":"send","paths":[..]},
// {"request":"stats"}. The node answers with lines of its own; a `send`
// stays open and receives progress lines until its result line.
// Non-blocking, polled from the node's loop: it never holds the loop up.

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace skycast::control::node {

class control_socket {
public:
    // Binds `path` (its directory is created; a stale socket file is
    // replaced), mode 0660. nullptr and `error` on failure.
    static std::unique_ptr<control_socket> open(const std::string& path, std::string& error);
    ~control_socket();
    control_socket(const control_socket&) = delete;
    control_socket& operator=(const control_socket&) = delete;

    using handler = std::function<void(int client, const nlohmann::json& request)>;
    // Accepts new clients and hands every complete request line to `on_request`.
    // Returns whether anything happened.
    bool poll(const handler& on_request);
    // Writes one line to a client; false (and the client closed) on failure.
    bool send(int client, const nlohmann::json& line);
    void close(int client);
    bool connected(int client) const { return _clients.count(client) != 0; }

private:
    control_socket(int fd, std::string path) : _fd(fd), _path(std::move(path)) {}
    int _fd;
    std::string _path;
    std::map<int, std::string> _clients; // fd -> bytes read but not yet a line
};

} // namespace skycast::control::node
