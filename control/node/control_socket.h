#pragma once
// The node's local control and stats socket: a Unix stream socket carrying
// one JSON object per line each way. Requests: {"request":"send","paths":[..]},
// {"request":"stats"}. The node answers with lines of its own; a `send`
// stays open and receives progress lines until its result line.
//
// The socket has a thread of its own that sleeps in poll(2) until a client
// connects, writes, or can take more output. It answers `stats` requests
// itself, through the `answer_stats` function given to serve(), and queues
// every other request for the node's loop (handle_next_request()). So a stats
// request is answered in milliseconds however long the node's loop is busy
// with an engine step or a dataplane command — exactly when an operator
// needs to look.
//
// Clients are named by ids that are never reused (not by descriptor numbers,
// which the kernel hands out again): a line for a client that has gone is
// dropped, never delivered to a newer one. send() only appends to the
// client's output and wakes the thread, which writes as the client reads: a
// client that does not read holds nobody up, and is dropped once its output
// has made no progress for 10 s or passes 64 MiB. close() closes once the
// output is written. A client that shut down its writing side still gets the
// answers to what it sent; it is closed when they are out and the node holds
// no request of it.
//
// Thread safety: every public function may be called from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace skycast::control::node {

class control_socket {
public:
    using client_id = std::uint64_t;

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
        client_id client = 0;
        nlohmann::json body;
    };
    // Hands the oldest request that is not `stats` to `handle`, on the
    // calling thread (the node's loop); false when none waits. The request
    // counts as the client's until `handle` returns, so a client that shut
    // down its side is not closed while its answer is still being made.
    using request_handler = std::function<void(const request&)>;
    bool handle_next_request(const request_handler& handle);

    // Queues one line for a client; false when the client is gone. Text that
    // is not valid UTF-8 (file names and reasons from the wire) is sent with
    // U+FFFD in place of the bad bytes, never thrown.
    bool send(client_id client, const nlohmann::json& line);
    // Closes the client once what was sent to it is written.
    void close(client_id client);
    bool connected(client_id client) const;

    struct counters {
        std::uint64_t stats_answered = 0;
        std::uint64_t requests_queued = 0;
        std::uint64_t bad_requests = 0;    // not a JSON object
        std::uint64_t clients_dropped = 0; // over-long request, stuck output, failed write
        std::uint64_t max_stats_us = 0;    // slowest stats document to build, microseconds
    };
    counters stats_counters() const;

private:
    struct client {
        int fd = -1;
        std::string input;  // bytes read but not yet a line
        std::string output; // bytes queued but not yet written
        bool read_closed = false;
        bool close_when_written = false;
        std::size_t queued = 0; // requests waiting in _requests or being handled
        std::chrono::steady_clock::time_point last_progress;
    };

    control_socket(int listen_fd, int wake_fd, std::string path);
    void loop();
    void accept_clients();
    // Reads what a client sent and handles its complete lines.
    void read_client(client_id id);
    // With _mutex held: writes what the client takes now, without waiting.
    void write_client_locked(client& c);
    void handle_line(client_id id, const std::string& line);
    void wake() const;
    // With _mutex held: closes clients that are done or stuck.
    void reap_locked();
    void drop_locked(client_id id);

    const int _listen_fd;
    const int _wake_fd; // eventfd: wakes the thread for new output and stop
    const std::string _path;
    stats_function _answer_stats;
    std::thread _thread;
    std::atomic<bool> _stop{false};

    mutable std::mutex _mutex; // guards everything below; never held across a wait
    std::map<client_id, client> _clients;
    client_id _next_id = 1;
    std::deque<request> _requests;
    counters _counters;
};

} // namespace skycast::control::node
