// skycast: the operator's command-line tool. Each subcommand lives in its own
// file and registers itself here.
#include "control/cli/commands.h"
#include "crypto/secure_memory.h"
#include "protocol/display_text.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
    // First, before anything can make OpenSSL allocate: see initialize().
    if (skycast::crypto::initialize() != skycast::crypto::crypto_error::ok) {
        std::fprintf(stderr, "skycast: cannot initialise libsodium/OpenSSL\n");
        return 3;
    }
    CLI::App app{"skycast: reliable multicast file distribution (UFTP 4 compatible)"};
    app.require_subcommand(1);
    skycast::cli::add_decode_command(app);
    skycast::cli::add_keys_command(app);
    skycast::cli::add_check_command(app);
    skycast::cli::add_send_command(app);
    skycast::cli::add_stats_command(app);
    skycast::cli::add_status_command(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help prints and exits 0; every usage error exits 2, whatever
        // CLI11's own code for it (scripts test for 2).
        return app.exit(e) == 0 ? 0 : 2;
    } catch (const std::exception& e) {
        // The subcommands run inside parse(): whatever escapes one (memory,
        // a library's error) ends the tool with a message and status 1, never
        // with std::terminate. The text may quote bytes from a node or a file.
        std::fprintf(stderr, "skycast: %s\n", skycast::protocol::display_text(e.what()).c_str());
        return 1;
    } catch (...) {
        std::fprintf(stderr, "skycast: unexpected error\n");
        return 1;
    }
    return skycast::cli::exit_code();
}
