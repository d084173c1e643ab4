// skycast: the operator's command-line tool. Each subcommand lives in its own
// file and registers itself here.
#include "control/cli/commands.h"

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
    CLI::App app{"skycast: reliable multicast file distribution (UFTP 4 compatible)"};
    app.require_subcommand(1);
    skycast::cli::add_decode_command(app);
    skycast::cli::add_keys_command(app);
    CLI11_PARSE(app, argc, argv);
    return skycast::cli::exit_code();
}
