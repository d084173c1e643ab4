#pragma once
// What goes wrong with a configuration file. The loader collects every
// problem it finds in one pass (an operator fixes them all at once instead of
// one per run) and throws them together in one config_error at its boundary
// (style rule 13, docs/architecture.md: config code may throw; lcore code never sees this).

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace skycast::config {

enum class config_errc : std::uint8_t {
    unreadable, // the file could not be opened or read (`skycast check` exits 2)
    invalid,    // YAML syntax or schema problems (`skycast check` exits 1)
};

// One problem, located. line and column count from 1; 0 means "the file as a
// whole" (unreadable, empty).
struct config_issue {
    std::string file;
    std::uint32_t line = 0;
    std::uint32_t column = 0;
    std::string path;    // key path, "dataplane.ports[0].mtu"; empty for syntax errors
    std::string message; // what is wrong and, where it helps, what would be right

    // "hub.yaml:12:7: dataplane.ports[0].mtu: 9600 is out of range 576..9000"
    std::string to_string() const;
};

class config_error : public std::runtime_error {
public:
    config_error(config_errc code, std::vector<config_issue> issues);

    config_errc code() const { return _code; }
    // Ordered by position in the file; never empty.
    const std::vector<config_issue>& issues() const { return _issues; }

private:
    config_errc _code;
    std::vector<config_issue> _issues;
};

} // namespace skycast::config
