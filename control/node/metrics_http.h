#pragma once
// The node's Prometheus endpoint: an HTTP server (GNU libmicrohttpd, its own
// thread) that answers GET /metrics with prometheus_text() of the document
// `render` returns; anything else gets 404 (405 for other methods). The
// document comes from node::stats(), which is safe on any thread and answers
// in milliseconds however busy the node's loop is (control_socket.h), so a
// scrape never waits for an engine step.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

struct MHD_Daemon;

namespace skycast::control::node {

class metrics_http {
public:
    using render_fn = std::function<std::string()>;

    // Listens on address:port (IPv4, host order; port 0 = any free port).
    // nullptr with `error` saying why (address in use, ...).
    static std::unique_ptr<metrics_http> start(std::uint32_t address, std::uint16_t port,
                                               render_fn render, std::string& error);
    ~metrics_http();
    metrics_http(const metrics_http&) = delete;
    metrics_http& operator=(const metrics_http&) = delete;

    std::uint16_t port() const { return _port; }

    // The server thread's callback (an MHD_Connection* as `connection`).
    static int answer(void* self, void* connection, const char* url, const char* method);

private:
    explicit metrics_http(render_fn render) : _render(std::move(render)) {}

    render_fn _render;
    MHD_Daemon* _daemon = nullptr;
    std::uint16_t _port = 0;
};

} // namespace skycast::control::node
