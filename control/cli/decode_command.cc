// `skycast decode FILE.pcap`: every UFTP datagram of a capture as JSON lines.
#include "control/cli/commands.h"
#include "control/decode/decode_capture.h"
#include "protocol/constants.h"

#include <iostream>

namespace skycast::cli {
namespace {

struct decode_options {
    std::string file;
    std::uint16_t port = protocol::default_port;
    bool include_data = false;
    bool summary = false;
};

int run_decode(const decode_options& o) {
    std::string error;
    auto reader = decode::capture_reader::open_file(o.file, error);
    if (!reader) {
        std::cerr << "skycast decode: cannot read " << o.file << ": " << error << '\n';
        return 2;
    }
    const auto totals =
        decode::decode_capture(*reader, o.port, {.include_data = o.include_data}, std::cout);
    std::cout.flush();
    if (o.summary) {
        std::cerr << "frames=" << totals.frames << " uftp_datagrams=" << totals.datagrams
                  << " decoded=" << totals.decoded << " errors=" << totals.errors
                  << " bad_frames=" << totals.bad_frames << " fragments=" << totals.fragments
                  << " fragmented_datagrams_lost=" << totals.fragments_lost
                  << " skipped=" << totals.skipped << '\n';
    }
    // Errors are printed as objects; the exit code says whether there were any.
    return totals.errors + totals.bad_frames == 0 ? 0 : 1;
}

} // namespace

void add_decode_command(CLI::App& app) {
    auto options = std::make_shared<decode_options>();
    auto* cmd = app.add_subcommand(
        "decode", "Print every UFTP datagram of a pcap/pcapng capture as one JSON object per line");
    cmd->add_option("file", options->file, "capture file (pcap or pcapng)")->required();
    cmd->add_option("--port", options->port, "UDP port of the UFTP traffic")->capture_default_str();
    cmd->add_flag("--data", options->include_data,
                  "include FILESEG data and ENCRYPTED payloads as hex (default: lengths only)");
    cmd->add_flag("--summary", options->summary, "print totals to standard error at the end");
    cmd->callback([options] { set_exit_code(run_decode(*options)); });
}

} // namespace skycast::cli
