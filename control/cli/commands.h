#pragma once
// Registration of the skycast CLI's subcommands. A subcommand's callback sets
// the process exit code through set_exit_code().

#include <CLI/CLI.hpp>

namespace skycast::cli {

void add_decode_command(CLI::App& app);
void add_keys_command(CLI::App& app);
void add_check_command(CLI::App& app);
void add_send_command(CLI::App& app);
void add_stats_command(CLI::App& app);
void add_status_command(CLI::App& app);

void set_exit_code(int code);
int exit_code();

} // namespace skycast::cli
