#pragma once
// The node's local control and stats socket: a Unix stream socket carrying
// one JSON object per line each way. Requests: {"request":"send","paths":[..]},
// {"request":"stats"}. The node answers with lines of its own; a `send`
// stays open and receives progress lines until its result line.
//
// The socket has a thread of its own that sleeps in poll(2) until a client
// connects or writes. It answers `stats` requests itself, through the
// `answer_stats` function given to serve(), and queues every other request
// for the node's loop (next_request()). So a stats request is answered in
// milliseconds however long the node's loop is busy with an engine step or a
// dataplane command — exactly when an operator needs to look.
//
// Thread safety: send(), close(), connected() and next_request() may be
// called from any thread; descriptors are only ever closed by the socket's
// thread (or after it stopped), so a send never writes to a reused number.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>

namespace skycast::control::node {

class control_socket {
public:
    // Binds `path` (its directory is created; a stale socket file is
    // replaced), mode 0660. nullptr and `error` on failure.
    static std::unique_ptr<control_socket> open(const std::string& path, std::string& error);
    ~control_socket();
    control_socket(const control_socket&) = delete;
    control_socket& operator=(const control_socket&) = delete;

    // Starts the socket's thread. `answer_stats` runs on that thread and must
    // only read state that is safe to read from it.
    using stats_function = std::function<nlohmann::json()>;
    void serve(stats_function answer_stats);
    // Stops the thread (requests still queued are dropped with their clients).
    void stop();

    struct request {
        int client = -1;
        nlohmann::json body;
    };
    // The oldest request that is not `stats`, for the node's loop.
    std::optional<request> next_request();

    // Writes one line to a client; false (and the client closed) on failure.
    // Text that is not valid UTF-8 (file names and reasons from the wire) is
    // sent with U+FFFD in place of the bad bytes, never thrown.
    bool send(int client, const nlohmann::json& line);
    void close(int client);
    bool connected(int client) const;

    struct counters {
        std::uint64_t stats_answered = 0;
        std::uint64_t requests_queued = 0;
        std::uint64_t bad_requests = 0;    // not a JSON object
        std::uint64_t clients_dropped = 0; // over-long request or a failed write
        std::uint64_t max_stats_us = 0;    // slowest stats document to build, microseconds
    };
    counters stats_counters() const;

private:
    control_socket(int listen_fd, int wake_fd, std::string path);
    void loop();
    void accept_clients();
    // Reads what `fd` sent; handles complete lines. False when it is gone.
    bool read_client(int fd);
    void handle_line(int fd, const std::string& line);
    void wake() const;
    // With _mutex held: forget `fd`, close it on the socket's thread.
    void drop_locked(int fd);
    void close_dropped();

    const int _listen_fd;
    const int _wake_fd; // eventfd: wakes the thread for stop and closes
    const std::string _path;
    stats_function _answer_stats;
    std::thread _thread;
    std::atomic<bool> _stop{false};

    mutable std::mutex _mutex;           // guards everything below
    std::map<int, std::string> _clients; // fd -> bytes read but not yet a line
    std::set<int> _to_close;             // dropped, not yet closed
    std::deque<request> _requests;
    counters _counters;
};

} // namespace skycast::control::node
