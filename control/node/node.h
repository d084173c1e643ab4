#pragma once
// One Skycast node's control plane: the sender or receiver engine driven
// over the dataplane (dataplane_ports), timers from the engines'
// deadlines, and the control/stats socket. The engines run on one thread:
// the loop polls the dataplane's rings and the requests the socket queued,
// and sleeps when idle (its deadlines are GRTT-scale; the pause grows to
// 2 ms while nothing happens, dataplane/core/idle_backoff.h).
//
// Stats are answered on the socket's own thread (control_socket.h): the
// loop publishes its part of the document (session, receivers, history)
// every 100 ms and at once when a session starts or ends; the dataplane's
// counters are read live from the memzone at each request.
//
// A receiver node runs many sessions at once (receiver_sessions.h): each
// ends (completed, aborted, timed out) with a log line and an entry in the
// stats. A sender node runs one `skycast send` job at a time and answers a
// second with an error. Everything the node asks of the dataplane goes
// through control/dataplane_link (the link, the engines' ports, group
// memberships, the counters document).

#include "config/node_config.h"
#include "control/dataplane_link/dataplane_link.h"
#include "control/dataplane_link/dataplane_ports.h"
#include "control/dataplane_link/group_memberships.h"
#include "control/dataplane_link/link_forwarding.h"
#include "control/dataplane_link/link_network.h"
#include "control/engine/client_proxy.h"
#include "control/engine/response_proxy.h"
#include "control/engine/sender_engine.h"
#include "control/engine/server_proxy.h"
#include "control/node/control_socket.h"
#include "control/node/node_log.h"
#include "control/node/receiver_sessions.h"

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace skycast::control::node {

// Why run() returned.
enum class node_exit { stopped, dataplane_lost, setup_failed };

class node {
public:
    node(const config::node_config& config, dataplane_link& link, node_log& log,
         control_socket* socket);
    ~node();
    node_exit run(const std::atomic<bool>& stop);

    // The stats document (`skycast stats --json`). Safe on any thread.
    nlohmann::json stats() const;

private:
    bool setup();
    // Receiver: temp_dir usable (a directory on the destination's file
    // system) and what a crash left in it removed.
    bool prepare_receiving();
    // Answers a request from the control socket; what it throws is the
    // client's error, never the node's.
    void on_request(control_socket::client_id client, const nlohmann::json& request);
    void handle_request(control_socket::client_id client, const nlohmann::json& request);
    void refuse(control_socket::client_id client, const std::string& why);
    // Builds the loop's part of the stats document and hands it to stats().
    void publish(engine::time_ns now);
    nlohmann::json loop_document() const;
    void dispatch(engine::time_ns now, const dataplane_link::received& d);
    // Pass events, received data, timers; whether any of it happened.
    bool tick(engine::time_ns now);
    void remember(nlohmann::json entry);

    // Sender role.
    void start_job(control_socket::client_id client, const nlohmann::json& request,
                   engine::time_ns now);
    void finish_job(engine::time_ns now);
    nlohmann::json job_result() const;

    const config::node_config& _config;
    dataplane_link& _link;
    node_log& _log;
    control_socket* _socket;
    group_memberships _groups;
    std::uint64_t _sessions_done = 0;
    std::deque<nlohmann::json> _history;            // the last sessions' results
    std::map<std::string, std::uint64_t> _outcomes; // every session that ended, by outcome

    // What stats() serves from the loop, and how stale it may be.
    mutable std::mutex _published_mutex;
    std::shared_ptr<const nlohmann::json> _published; // guarded by _published_mutex
    std::atomic<std::int64_t> _published_at{0};       // steady_clock ns
    engine::time_ns _next_publish = 0;
    // Loop rounds that took longer than a stats answer may (counted, and the
    // longest), so an engine step or dataplane command that holds the loop
    // up shows in the stats instead of in a deaf socket.
    std::atomic<std::uint64_t> _loop_stalls{0};
    std::atomic<std::uint64_t> _longest_round_us{0};
    // Requests whose handling threw (malformed beyond what the socket checks).
    std::atomic<std::uint64_t> _request_errors{0};

    // Response proxy, server proxy (one of them).
    std::unique_ptr<link_network> _proxy_network; // outlives the proxy, which sends through it
    std::unique_ptr<engine::response_proxy> _proxy;
    std::unique_ptr<link_forwarding> _forwarding; // outlives the server or client proxy
    std::unique_ptr<engine::server_proxy> _server_proxy;
    std::unique_ptr<engine::client_proxy> _client_proxy;
    bool setup_client_proxy();

    // Receiver.
    std::unique_ptr<post_receive_hooks> _hooks; // outlives _receivers, which uses it
    std::unique_ptr<receiver_sessions> _receivers;

    // Sender.
    struct job {
        control_socket::client_id client = 0;
        std::uint32_t group_id = 0;
        engine::sequence_counter seq;
        std::unique_ptr<dataplane_ports> ports;
        std::unique_ptr<engine::sender_engine> engine;
        engine::time_ns started = 0;
        std::uint64_t files = 0;
        std::uint64_t bytes = 0;
        engine::time_ns last_progress = 0;
        std::uint64_t passes_refused_logged = 0; // the engine's count, logged up to here
    };
    std::unique_ptr<job> _job;
};

// Wall-clock nanoseconds: the engines put them on the wire as UFTP
// timestamps, which stock peers echo and compare.
engine::time_ns wall_clock_ns();

} // namespace skycast::control::node
