#include "config/process_start.h"

#include "config/loader.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>

namespace skycast::config {

process_start load_process_config(const char* program, const char* description, int argc,
                                  char** argv) {
    CLI::App app{std::string(program) + ": " + description};
    std::string config_path;
    app.add_option("--config,-c", config_path, "the node's YAML file")->required();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return {.exit_status = app.exit(e) == 0 ? 0 : 2};
    }
    try {
        return {.config = load_node_config(config_path)};
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", program, e.what());
        return {.exit_status = 2};
    }
}

} // namespace skycast::config
