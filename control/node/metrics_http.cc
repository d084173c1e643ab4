#include "control/node/metrics_http.h"

#include <arpa/inet.h>
#include <cstring>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace skycast::control::node {
namespace {

// At most this many scrapers at once, each closed after this many idle
// seconds: the endpoint is for a Prometheus server or two, not the world.
constexpr unsigned max_connections = 16;
constexpr unsigned idle_timeout_s = 10;

MHD_Result reply(MHD_Connection* connection, unsigned status, const std::string& body,
                 const char* content_type) {
    MHD_Response* response = MHD_create_response_from_buffer(
        body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
    if (response == nullptr) {
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    const MHD_Result r = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return r;
}

MHD_Result on_request(void* cls, MHD_Connection* connection, const char* url, const char* method,
                      const char* /*version*/, const char* /*upload_data*/,
                      std::size_t* /*upload_data_size*/, void** /*request_state*/) {
    return static_cast<MHD_Result>(metrics_http::answer(cls, connection, url, method));
}

} // namespace

int metrics_http::answer(void* self, void* conn, const char* url, const char* method) {
    auto* connection = static_cast<MHD_Connection*>(conn);
    auto* server = static_cast<metrics_http*>(self);
    constexpr const char* plain = "text/plain; charset=utf-8";
    if (std::strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
        std::strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        return reply(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n", plain);
    }
    if (std::strcmp(url, "/metrics") != 0) {
        return reply(connection, MHD_HTTP_NOT_FOUND, "see /metrics\n", plain);
    }
    std::string body;
    try {
        body = server->_render();
    } catch (const std::exception& e) {
        return reply(connection, MHD_HTTP_INTERNAL_SERVER_ERROR,
                     std::string("cannot render the metrics: ") + e.what() + "\n", plain);
    }
    return reply(connection, MHD_HTTP_OK, body, "text/plain; version=0.0.4; charset=utf-8");
}

std::unique_ptr<metrics_http> metrics_http::start(std::uint32_t address, std::uint16_t port,
                                                  render_fn render, std::string& error) {
    std::unique_ptr<metrics_http> server(new metrics_http(std::move(render)));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(address);
    server->_daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, port, nullptr, nullptr, &on_request,
        server.get(), MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_CONNECTION_LIMIT, max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, idle_timeout_s, MHD_OPTION_END);
    if (server->_daemon == nullptr) {
        char text[INET_ADDRSTRLEN] = {};
        inet_ntop(AF_INET, &sa.sin_addr, text, sizeof text);
        error = "cannot serve metrics on " + std::string(text) + ":" + std::to_string(port) +
                " (address in use or not local?)";
        return nullptr;
    }
    const MHD_DaemonInfo* info = MHD_get_daemon_info(server->_daemon, MHD_DAEMON_INFO_BIND_PORT);
    server->_port = info != nullptr ? info->port : port;
    return server;
}

metrics_http::~metrics_http() {
    if (_daemon != nullptr) {
        MHD_stop_daemon(_daemon);
    }
}

} // namespace skycast::control::node
