// `skycast check FILE...`: validates node configuration files (config/) the
// way the processes will load them, and says exactly what is wrong: every
// problem of every file, one per line, "FILE:LINE:COLUMN: key.path: message".
// A valid file prints "FILE: ok" on standard output; problems go to standard
// error. Exit status: 0 all valid, 1 some file invalid, 2 usage error or some
// file unreadable (an operator's script tells "fix the file" from "wrong
// path").
#include "config/loader.h"
#include "control/cli/commands.h"

#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace skycast::cli {
namespace {

int run_check(const std::vector<std::string>& files) {
    if (files.empty()) {
        std::cerr << "skycast check: no FILE given (usage: skycast check FILE...)\n";
        return 2;
    }
    int status = 0;
    for (const auto& file : files) {
        try {
            (void)config::load_node_config(file);
            std::cout << file << ": ok\n";
        } catch (const config::config_error& e) {
            for (const auto& issue : e.issues()) {
                std::cerr << issue.to_string() << '\n';
            }
            const int code = e.code() == config::config_errc::unreadable ? 2 : 1;
            status = std::max(status, code);
        }
    }
    return status;
}

} // namespace

void add_check_command(CLI::App& app) {
    auto files = std::make_shared<std::vector<std::string>>();
    auto* check = app.add_subcommand(
        "check", "Validate node configuration files (YAML) and print every problem found");
    // Not ->required(): a missing FILE is reported by run_check with exit 2.
    check->add_option("files", *files, "node configuration files (config/examples/*.yaml)");
    check->callback([files] { set_exit_code(run_check(*files)); });
}

} // namespace skycast::cli
