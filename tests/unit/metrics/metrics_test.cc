#include "control/node/metrics_http.h"
#include "control/node/metrics_text.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using nlohmann::json;
using skycast::control::node::metrics_http;
using skycast::control::node::prometheus_text;

json sample_stats() {
    return json{
        {"node", "0x0A4D000B"},
        {"role", "receiver"},
        {"version", "0.1.0"},
        {"contract_version", 3},
        {"sessions_done", 7},
        {"outcomes", {{"completed", 6}, {"transfer timed out", 1}}},
        {"control",
         {{"snapshot_age_ms", 40},
          {"loop_stalls", 2},
          {"rss_kib", 2048},
          {"socket", {{"stats_answered", 12}, {"slowest_stats_ms", 3.5}}}}},
        {"control_copies", {{"held", 8}, {"released", 7}, {"unspaced", 0}, {"send_failures", 0}}},
        {"dataplane",
         {{"heartbeat", 99},
          {"counters", {{"rx.drop.ipv4_bad_checksum", 12345678901ull}, {"rx.frames", 5}}},
          {"counter_help", {{"rx.drop.ipv4_bad_checksum", "IPv4 header checksum wrong"}}},
          {"port", {{"ipackets", 10}, {"imissed", 0}}}}},
        {"receiver",
         {{"sessions_running", 1},
          {"groups_joined", 2},
          {"evicted", 4},
          {"fec_ended",
           {{"parity_kept", 7},
            {"groups_rebuilt", 5},
            {"blocks_rebuilt", 6},
            {"parity_dropped", {{"unneeded", 30}, {"no_room", 0}}}}}}},
        {"sessions",
         {{{"session", "0x00000001"},
           {"server", "0x0A4D0001"},
           {"state", "receiving"},
           {"files", 3},
           {"files_received", 2},
           {"bytes_received", 4096}}}},
    };
}

bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

TEST(metrics_text, every_figure_of_the_stats_document_with_help_type_and_labels) {
    const std::string text = prometheus_text(sample_stats());
    EXPECT_TRUE(has_line(text, "skycast_build_info{contract_version=\"3\",node=\"0x0A4D000B\","
                               "role=\"receiver\",version=\"0.1.0\"} 1"))
        << text;
    // Counters exactly, whatever their size, with the dataplane's help text.
    EXPECT_TRUE(has_line(text, "skycast_dataplane_rx_drop_ipv4_bad_checksum_total 12345678901"));
    EXPECT_TRUE(has_line(text, "# HELP skycast_dataplane_rx_drop_ipv4_bad_checksum_total "
                               "rx.drop.ipv4_bad_checksum: IPv4 header checksum wrong"));
    EXPECT_TRUE(has_line(text, "# TYPE skycast_dataplane_rx_drop_ipv4_bad_checksum_total counter"));
    EXPECT_TRUE(has_line(text, "skycast_port_ipackets_total 10"));
    EXPECT_TRUE(has_line(text, "skycast_sessions_ended_total{outcome=\"transfer timed out\"} 1"));
    EXPECT_TRUE(has_line(text, "skycast_control_snapshot_age_seconds 0.040000000000000001"));
    EXPECT_TRUE(has_line(text, "skycast_control_resident_bytes 2097152"));
    EXPECT_TRUE(has_line(text, "skycast_control_copies_held_total 8"));
    EXPECT_TRUE(has_line(text, "skycast_control_copies_released_total 7"));
    EXPECT_TRUE(has_line(text, "skycast_stats_slowest_seconds 0.0035000000000000001"));
    EXPECT_TRUE(has_line(text, "skycast_receiver_sessions_running 1"));
    EXPECT_TRUE(has_line(text, "# TYPE skycast_receiver_evicted_total counter"));
    // FEC of ended sessions: its figures, the drops by reason, no object as 0.
    EXPECT_TRUE(has_line(text, "skycast_receiver_fec_blocks_rebuilt_total 6"));
    EXPECT_TRUE(
        has_line(text, "skycast_receiver_fec_parity_dropped_total{reason=\"unneeded\"} 30"));
    EXPECT_EQ(text.find("skycast_receiver_fec_ended"), std::string::npos);
    EXPECT_TRUE(has_line(text, "skycast_receiver_session_info{server=\"0x0A4D0001\","
                               "session=\"0x00000001\",state=\"receiving\"} 1"));
    EXPECT_TRUE(has_line(text, "skycast_receiver_session_files_received{server=\"0x0A4D0001\","
                               "session=\"0x00000001\"} 2"));
    EXPECT_TRUE(has_line(text, "skycast_receiver_session_bytes_received{server=\"0x0A4D0001\","
                               "session=\"0x00000001\"} 4096"));
}

TEST(metrics_text, a_senders_session_and_each_receivers_progress) {
    const json stats = {{"node", "0x0A4D0001"},
                        {"role", "sender"},
                        {"session",
                         {{"id", "0x00ABCDEF"},
                          {"phase", "transfer"},
                          {"grtt", 0.5},
                          {"bytes_sent", 900},
                          {"bytes_total", 4000},
                          {"file_number", 2},
                          {"phases",
                           {{{"phase", "announce"}, {"seconds", 0.75}, {"entered", 1}},
                            {{"phase", "data"}, {"seconds", 9.5}, {"entered", 2}}}},
                          {"receivers",
                           {{{"uid", "0x0A4D000B"},
                             {"outcome", "active"},
                             {"rtt", 0.25},
                             {"bytes_known", 1800},
                             {"percent", 45},
                             {"pass", 1}}}}}}};
    const std::string text = prometheus_text(stats);
    const std::string labels = "{session=\"0x00ABCDEF\",uid=\"0x0A4D000B\"}";
    EXPECT_TRUE(has_line(text, "skycast_sender_session_bytes_total{session=\"0x00ABCDEF\"} 4000"))
        << text;
    EXPECT_TRUE(has_line(text, "skycast_sender_receiver_bytes_known" + labels + " 1800"));
    EXPECT_TRUE(has_line(text, "skycast_sender_receiver_percent" + labels + " 45"));
    EXPECT_TRUE(has_line(text, "skycast_sender_receiver_pass" + labels + " 1"));
    EXPECT_TRUE(has_line(text, "skycast_sender_receiver_rtt_seconds" + labels + " 0.25"));
    EXPECT_TRUE(has_line(
        text,
        "skycast_sender_session_phase_seconds{phase=\"announce\",session=\"0x00ABCDEF\"} 0.75"))
        << text;
    EXPECT_TRUE(has_line(
        text, "skycast_sender_session_phase_seconds{phase=\"data\",session=\"0x00ABCDEF\"} 9.5"));
}

TEST(metrics_text, proxies_at_the_hub_the_receiver_and_the_proxy_node) {
    // A hub's session with a proxy's refusals; a receiver's proxy keys; a
    // response proxy node.
    const json hub = {{"role", "sender"},
                      {"session",
                       {{"id", "0x00000009"},
                        {"phase", "data"},
                        {"proxied_receivers", 1000},
                        {"proxy_refused", 2},
                        {"proxy_list_refused", 3}}}};
    const std::string h = prometheus_text(hub);
    EXPECT_TRUE(
        has_line(h, "skycast_sender_session_proxied_receivers{session=\"0x00000009\"} 1000"))
        << h;
    EXPECT_TRUE(has_line(h, "skycast_sender_session_proxy_refused{session=\"0x00000009\"} 2"));
    json receiver = sample_stats();
    receiver["receiver"]["proxy_key"] = {{"have_key", true}, {"signature_bad", 4}};
    const std::string r = prometheus_text(receiver);
    EXPECT_TRUE(has_line(r, "# TYPE skycast_receiver_proxy_key_have_key gauge"));
    EXPECT_TRUE(has_line(r, "skycast_receiver_proxy_key_have_key 1"));
    EXPECT_TRUE(has_line(r, "skycast_receiver_proxy_key_signature_bad_total 4"));
    const json proxy = {{"role", "response_proxy"},
                        {"proxy", {{"sessions", 2}, {"clients", 250}, {"unknown_session", 7}}}};
    const std::string p = prometheus_text(proxy);
    EXPECT_TRUE(has_line(p, "# TYPE skycast_proxy_clients gauge"));
    EXPECT_TRUE(has_line(p, "skycast_proxy_clients 250"));
    EXPECT_TRUE(has_line(p, "# TYPE skycast_proxy_unknown_session_total counter"));
    EXPECT_TRUE(has_line(p, "skycast_proxy_unknown_session_total 7")) << p;
    // A server proxy: its downstream is text (in the stats document only).
    const json server_proxy = {
        {"role", "server_proxy"},
        {"server_proxy",
         {{"downstream", "10.77.0.12:1044"}, {"servers", 1}, {"heartbeats_refused", 3}}}};
    const std::string sp = prometheus_text(server_proxy);
    EXPECT_TRUE(has_line(sp, "# TYPE skycast_server_proxy_servers gauge"));
    EXPECT_TRUE(has_line(sp, "skycast_server_proxy_heartbeats_refused_total 3")) << sp;
    EXPECT_EQ(sp.find("downstream"), std::string::npos);
    const json client_proxy = {
        {"role", "client_proxy"},
        {"client_proxy", {{"announces", 2}, {"heartbeats", {{"servers_accepting", 1}, {"ok", 9}}}}},
        {"proxy", {{"clients", 12}}}};
    const std::string cp = prometheus_text(client_proxy);
    EXPECT_TRUE(has_line(cp, "skycast_client_proxy_announces_total 2"));
    EXPECT_TRUE(has_line(cp, "# TYPE skycast_heartbeats_servers_accepting gauge"));
    EXPECT_TRUE(has_line(cp, "skycast_heartbeats_servers_accepting 1"));
    EXPECT_TRUE(has_line(cp, "skycast_heartbeats_ok_total 9"));
    EXPECT_TRUE(has_line(cp, "skycast_proxy_clients 12")) << cp;
}

TEST(metrics_text, label_values_from_the_wire_are_escaped_and_valid_utf8) {
    json stats = sample_stats();
    stats["sessions"][0]["state"] = std::string("a\"b\\c\nd\xff");
    const std::string text = prometheus_text(stats);
    EXPECT_NE(text.find("state=\"a\\\"b\\\\\\\\c\\\\x0Ad\\\\xFF\"}"), std::string::npos) << text;
    EXPECT_EQ(text.find('\xff'), std::string::npos);
}

// One HTTP/1.0 exchange with the server on loopback: the status and the body.
std::pair<std::string, std::string> http(std::uint16_t port, const std::string& request) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        ::close(fd);
        return {};
    }
    (void)::write(fd, request.data(), request.size());
    std::string reply;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) {
        reply.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    const auto eol = reply.find("\r\n");
    const auto body = reply.find("\r\n\r\n");
    // "HTTP/1.1 200 OK" -> "200 OK" (the server answers 1.0 requests in 1.1).
    const std::string status = reply.substr(0, eol);
    const auto space = status.find(' ');
    return {space == std::string::npos ? status : status.substr(space + 1),
            body == std::string::npos ? "" : reply.substr(body + 4)};
}

TEST(metrics_http, serves_the_rendered_text_on_get_metrics_only) {
    std::string error;
    int renders = 0;
    auto server = metrics_http::start(
        INADDR_LOOPBACK, 0,
        [&] {
            ++renders;
            return std::string("skycast_up 1\n");
        },
        error);
    ASSERT_NE(server, nullptr) << error;
    ASSERT_NE(server->port(), 0);
    auto [status, body] = http(server->port(), "GET /metrics HTTP/1.0\r\n\r\n");
    EXPECT_EQ(status, "200 OK");
    EXPECT_EQ(body, "skycast_up 1\n");
    EXPECT_EQ(renders, 1);
    EXPECT_EQ(http(server->port(), "GET /other HTTP/1.0\r\n\r\n").first, "404 Not Found");
    EXPECT_EQ(http(server->port(), "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n").first,
              "405 Method Not Allowed");
    EXPECT_EQ(renders, 1);
}

TEST(metrics_http, a_port_in_use_is_a_clear_error) {
    std::string error;
    auto first = metrics_http::start(
        INADDR_LOOPBACK, 0, [] { return std::string(); }, error);
    ASSERT_NE(first, nullptr) << error;
    auto second = metrics_http::start(
        INADDR_LOOPBACK, first->port(), [] { return std::string(); }, error);
    EXPECT_EQ(second, nullptr);
    EXPECT_NE(error.find("127.0.0.1:" + std::to_string(first->port())), std::string::npos) << error;
}

} // namespace
