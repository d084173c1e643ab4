// skycast-sim: runs one sender and N receivers of the real engines over the
// deterministic simulated network (tests/sim/) and reports how it went.
// Exit status 0 only when every receiver holds byte-identical files.
#include "control/engine/client_table.h"
#include "control/engine/file_list.h"
#include "tests/sim/simulator.h"

#include <CLI/CLI.hpp>
#include <cinttypes>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <random>
#include <sys/resource.h>
#include <sys/stat.h>

namespace {

namespace engine = skycast::control::engine;
namespace sim = skycast::sim;

// "100M", "64K", "1G", "1300": bytes.
bool parse_size(const std::string& text, std::uint64_t& out) {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || v < 0) {
        return false;
    }
    double mult = 1;
    const std::string suffix(end);
    if (suffix == "K" || suffix == "k") {
        mult = 1024;
    } else if (suffix == "M" || suffix == "m") {
        mult = 1024 * 1024;
    } else if (suffix == "G" || suffix == "g") {
        mult = 1024.0 * 1024 * 1024;
    } else if (!suffix.empty()) {
        return false;
    }
    out = static_cast<std::uint64_t>(v * mult);
    return true;
}

void write_source(const std::string& path, std::uint64_t size, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::ofstream out(path, std::ios::binary);
    std::vector<char> buf(1 << 16);
    for (std::uint64_t done = 0; done < size;) {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - done));
        for (std::size_t i = 0; i < n; i += 8) {
            const std::uint64_t r = rng();
            for (std::size_t k = 0; k < 8 && i + k < n; ++k) {
                buf[i + k] = static_cast<char>(r >> (8 * k));
            }
        }
        out.write(buf.data(), static_cast<std::streamsize>(n));
        done += n;
    }
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"Simulate a Skycast/UFTP 4 session with the real engines"};
    std::uint32_t receivers = 10;
    std::string size_text = "1M";
    std::uint32_t files = 1;
    std::uint16_t block = 1300;
    double rate_mbit = 100;
    double rtt_ms = 100;
    double jitter_ms = 0;
    double loss_pct = 0;
    double burst_loss_pct = 0;
    double dup_pct = 0;
    double reorder_pct = 0;
    std::string encrypt = "none";
    std::uint64_t seed = 1;
    std::uint32_t max_passes = 65535;
    std::uint32_t robust = 20;
    std::uint32_t announce_rounds = 20; // stock: ROBUST rounds
    double grtt = 0.5;
    bool tree = false;
    bool per_receiver = false;
    bool keep = false;
    std::string work_dir;
    std::int64_t debug_receiver = -1;
    app.add_option("--debug-receiver", debug_receiver,
                   "trace one receiver's control events (index)");
    app.add_option("--receivers", receivers, "number of receivers")->check(CLI::Range(1u, 200000u));
    app.add_option("--size", size_text, "bytes per file (K/M/G suffixes)");
    app.add_option("--files", files, "number of files")->check(CLI::Range(0u, 10000u));
    app.add_option("--block", block, "block size in bytes")->check(CLI::Range(512, 8800));
    app.add_option("--rate", rate_mbit, "sender link rate, Mbit/s (0 = unlimited)");
    app.add_option("--rtt", rtt_ms, "round-trip time, ms");
    app.add_option("--jitter", jitter_ms, "extra one-way delay, uniform in [0, J] ms");
    app.add_option("--loss", loss_pct, "random loss, percent, each direction")
        ->check(CLI::Range(0.0, 99.0));
    app.add_option("--burst-loss", burst_loss_pct,
                   "Gilbert-Elliott loss, percent (bursts of 20 ms on average)")
        ->check(CLI::Range(0.0, 99.0));
    app.add_option("--dup", dup_pct, "duplication, percent");
    app.add_option("--reorder", reorder_pct, "packets held back 10 ms, percent");
    app.add_option("--encrypt", encrypt, "cipher suite or none");
    app.add_option("--seed", seed, "random seed");
    app.add_option("--max-passes", max_passes, "sender max passes");
    app.add_option("--robust", robust, "robustness factor")->check(CLI::Range(1u, 50u));
    app.add_option("--announce-rounds", announce_rounds, "open-group announce rounds");
    app.add_option("--grtt", grtt, "initial GRTT, seconds");
    app.add_flag(
        "--tree", tree,
        "send a directory tree (the files, in subdirectories, plus an empty dir and a symlink)");
    app.add_flag("--per-receiver", per_receiver,
                 "print every receiver (default: up to 20, then failures only)");
    bool no_store = false;
    app.add_flag("--no-store", no_store,
                 "receivers check each block against the source instead of writing files "
                 "(scale runs; final files are empty placeholders)");
    app.add_flag("--keep", keep, "keep the work directory");
    app.add_option("--work-dir", work_dir, "where sources and receiver destinations go");
    CLI11_PARSE(app, argc, argv);

    if (encrypt != "none") {
        std::fprintf(stderr,
                     "skycast-sim: --encrypt %s: encrypted sessions are not implemented "
                     "in the engines yet; only 'none' runs\n",
                     encrypt.c_str());
        return 2;
    }
    std::uint64_t size = 0;
    if (!parse_size(size_text, size)) {
        std::fprintf(stderr, "skycast-sim: bad --size '%s'\n", size_text.c_str());
        return 2;
    }
    bool own_dir = false;
    if (work_dir.empty()) {
        std::string tmpl =
            (std::filesystem::exists("/dev/shm") ? std::string("/dev/shm") : std::string("/tmp")) +
            "/skycast-sim-XXXXXX";
        if (::mkdtemp(tmpl.data()) == nullptr) {
            std::perror("mkdtemp");
            return 2;
        }
        work_dir = tmpl;
        own_dir = true;
    }
    const std::string src = work_dir + "/src";
    const std::string root = tree ? src + "/tree" : src;
    std::filesystem::create_directories(root);
    std::vector<std::string> paths;
    for (std::uint32_t i = 0; i < files; ++i) {
        std::string dir = tree ? root + "/d" + std::to_string(i % 3) : root;
        std::filesystem::create_directories(dir);
        const std::string p = dir + "/file" + std::to_string(i) + ".bin";
        write_source(p, size, seed * 1000 + i);
        // A fixed mtime: FILEINFO carries it, so the same arguments give the
        // same trace hash from run to run.
        const struct timespec times[2] = {{.tv_sec = 1'600'000'000 + i, .tv_nsec = 0},
                                          {.tv_sec = 1'600'000'000 + i, .tv_nsec = 0}};
        ::utimensat(AT_FDCWD, p.c_str(), times, 0);
        if (!tree) {
            paths.push_back(p);
        }
    }
    if (tree) {
        std::filesystem::create_directories(root + "/empty");
        std::filesystem::create_symlink("d0/file0.bin", root + "/link");
        const struct timespec times[2] = {{.tv_sec = 1'600'000'000, .tv_nsec = 0},
                                          {.tv_sec = 1'600'000'000, .tv_nsec = 0}};
        ::utimensat(AT_FDCWD, (root + "/empty").c_str(), times, 0);
        ::utimensat(AT_FDCWD, (root + "/link").c_str(), times, AT_SYMLINK_NOFOLLOW);
        paths.push_back(root);
    }
    auto list = engine::build_file_list(paths);
    if (!list.error.empty()) {
        std::fprintf(stderr, "skycast-sim: %s\n", list.error.c_str());
        return 2;
    }

    sim::sim_config cfg;
    cfg.seed = seed;
    cfg.receivers = receivers;
    cfg.link.delay_s = rtt_ms / 2000.0;
    cfg.link.jitter_s = jitter_ms / 1000.0;
    cfg.link.loss = loss_pct / 100.0;
    cfg.link.duplicate = dup_pct / 100.0;
    cfg.link.reorder = reorder_pct / 100.0;
    cfg.link = sim::link_profile::with_burst_loss(cfg.link, burst_loss_pct / 100.0);
    cfg.rate_bps = static_cast<std::uint64_t>(rate_mbit * 1e6);
    cfg.sender.block_size = block;
    cfg.sender.robust = static_cast<std::uint8_t>(robust);
    cfg.sender.grtt_init = grtt;
    cfg.sender.announce_rounds = announce_rounds;
    cfg.sender.max_passes = max_passes;
    cfg.files = list.entries;
    cfg.work_dir = work_dir + "/dest";
    cfg.debug_receiver = debug_receiver;
    cfg.store_files = !no_store;

    const auto r = sim::run_simulation(cfg);

    std::printf("session: %u receivers, %zu entries, block %u, rate %.1f Mbit/s, rtt %.0f ms, "
                "loss %.1f%%, burst loss %.1f%%, seed %" PRIu64 "\n",
                receivers, cfg.files.size(), block, rate_mbit, rtt_ms, loss_pct, burst_loss_pct,
                seed);
    std::printf("sim_time_to_complete=%.3f s%s\n", r.sim_seconds,
                r.time_limit_hit ? " (time limit hit)" : "");
    std::printf("passes=%" PRIu64 " bytes_sent=%" PRIu64 " bytes_resent=%" PRIu64
                " blocks_sent=%" PRIu64 " blocks_resent=%" PRIu64 "\n",
                r.sender.passes, r.sender.bytes_sent, r.sender.bytes_resent, r.sender.blocks_sent,
                r.sender.blocks_resent);
    std::printf("status_messages=%" PRIu64 " (current-section ignored %" PRIu64 ", stale %" PRIu64
                ") done_rounds=%" PRIu64 " fileinfo_rounds=%" PRIu64 " final_grtt=%.3f s\n",
                r.sender.status_in, r.sender.status_current_section, r.sender.status_stale,
                r.sender.done_rounds, r.sender.fileinfo_rounds, r.final_grtt);
    std::printf("clients_lost=%" PRIu64 " clients_aborted=%" PRIu64 " events=%" PRIu64
                " trace_hash=%016" PRIx64 "\n",
                r.sender.clients_lost, r.sender.clients_aborted, r.events, r.trace_hash);
    if (!r.sender_failure.empty()) {
        std::printf("sender_failure: %s\n", r.sender_failure.c_str());
    }
    struct rusage ru {};
    ::getrusage(RUSAGE_SELF, &ru);
    std::printf("sender_engine_seconds=%.3f status_absorbed_per_engine_second=%.0f "
                "status_per_wall_second=%.0f\n",
                r.sender_engine_seconds,
                r.sender_engine_seconds > 0
                    ? static_cast<double>(r.sender.status_in) / r.sender_engine_seconds
                    : 0.0,
                r.wall_seconds > 0 ? static_cast<double>(r.sender.status_in) / r.wall_seconds
                                   : 0.0);
    std::printf("peak_rss=%ld KiB peak_rss_per_receiver=%.1f KiB "
                "sender_client_entry=%zu B\n",
                ru.ru_maxrss, static_cast<double>(ru.ru_maxrss) / receivers,
                sizeof(engine::client_entry));
    std::uint32_t shown = 0;
    for (const auto& rep : r.receivers) {
        if (!per_receiver && shown >= 20 && rep.ok) {
            continue;
        }
        ++shown;
        std::printf("receiver %08x: %s%s%s | at sender: %s%s%s | status_sent=%" PRIu64
                    " visible_incomplete=%u temp_left=%u\n",
                    rep.uid, rep.ok ? "OK" : "FAILED", rep.ok ? "" : " - ",
                    rep.ok ? "" : rep.mismatch.c_str(), engine::name(rep.at_sender),
                    rep.sender_reason.empty() ? "" : " - ", rep.sender_reason.c_str(),
                    rep.stats.status_sent, rep.visible_incomplete, rep.temp_files_left);
        if (!rep.ok) {
            const auto& st = rep.stats;
            std::printf("  receiver stats: datagrams_in=%" PRIu64 " seq_out_of_range=%" PRIu64
                        " fileinfo_in=%" PRIu64 " files_received=%" PRIu64
                        " files_rejected=%" PRIu64 " completes_sent=%" PRIu64
                        " registers_sent=%" PRIu64 "\n",
                        st.datagrams_in, st.seq_out_of_range, st.fileinfo_in, st.files_received,
                        st.files_rejected, st.completes_sent, st.registers_sent);
        }
    }
    std::printf("receivers_ok=%u/%u sim_seconds=%.3f wall_seconds=%.3f\n", r.receivers_ok,
                receivers, r.sim_seconds, r.wall_seconds);
    if (own_dir && !keep) {
        std::error_code ec;
        std::filesystem::remove_all(work_dir, ec);
    }
    return r.receivers_ok == receivers ? 0 : 1;
}
