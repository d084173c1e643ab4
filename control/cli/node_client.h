#pragma once
// The CLI's side of a node's control socket (control/node/control_socket.h):
// connect, send one request line, read answer lines.

#include "protocol/display_text.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace skycast::cli {

class node_client {
public:
    // Connects to the socket at `path`; nullopt and `error` if nobody listens.
    static std::optional<node_client> connect(const std::string& path, std::string& error);
    node_client(node_client&& o) noexcept : _fd(o._fd), _pending(std::move(o._pending)) {
        o._fd = -1;
    }
    ~node_client();

    // Bounds every later send and read: one that waits longer fails (a
    // poller such as the SNMP subagent must not hang on a stuck node).
    bool set_timeout(std::chrono::milliseconds timeout);

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

// Reading a node's answers. They are read defensively: a missing member, or one
// of another type, gives the default instead of an exception (nlohmann's
// value() throws type_error on a wrong type, and operator[] on a const object
// is undefined behaviour for a missing key). Every string is shown through
// protocol::display_text(), because receivers' names, outcomes and ABORT
// reasons and the files' names come from the wire: no terminal escape a peer
// sends may reach the operator's terminal.

// obj[key] when obj is an object that has it, else null.
const nlohmann::json& member(const nlohmann::json& obj, std::string_view key);
// The string obj[key] made displayable; empty when absent or not a string.
std::string text_member(const nlohmann::json& obj, std::string_view key);
// The non-negative integer obj[key]; 0 when absent or not one.
std::uint64_t count_member(const nlohmann::json& obj, std::string_view key);
// The number obj[key]; 0 when absent or not a number.
double number_member(const nlohmann::json& obj, std::string_view key);
// The boolean obj[key]; false when absent or not a boolean.
bool flag_member(const nlohmann::json& obj, std::string_view key);
// Any value, displayable: a string through display_text(), anything else as
// JSON with every non-ASCII character and control escaped (\uXXXX).
std::string display_value(const nlohmann::json& value);
// A whole document as inert JSON text (`skycast stats --json`): ASCII only,
// non-ASCII and controls escaped as \uXXXX, so it is the same document for a
// JSON reader and harmless on a terminal. Never throws.
std::string inert_dump(const nlohmann::json& doc, int indent = -1);

// Runs the body of a subcommand that talks to a node (`run` returns its exit
// code). The answers are read without throwing (above), but should nlohmann
// still throw (a parse, type or dump error), the command says so and exits 1
// instead of dying in std::terminate. The message may quote the node's bytes
// (a parse error does): it is shown through display_text().
template <class Run>
int guard_node_command(const char* command, Run&& run) {
    try {
        return run();
    } catch (const nlohmann::json::exception& e) {
        std::fprintf(stderr, "skycast %s: unusable answer from the node: %s\n", command,
                     protocol::display_text(e.what()).c_str());
        return 1;
    }
}

} // namespace skycast::cli
