// skycast-sim: runs one sender and N receivers of the real engines over the
// deterministic simulated network (tests/sim/) and reports how it went.
// Exit status 0 only when every receiver holds byte-identical files.
#include "control/engine/client_table.h"
#include "control/engine/file_list.h"
#include "control/engine/session_crypto.h"
#include "crypto/key_file.h"
#include "crypto/secure_memory.h"
#include "tests/sim/simulator.h"

#include <CLI/CLI.hpp>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <pthread.h>
#include <random>
#include <sys/resource.h>
#include <sys/stat.h>
#include <thread>

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

// A simulation stopped midway (Ctrl-C, a timeout's SIGTERM) must not leave
// its work directory behind: its source files are the file size each, in
// /dev/shm, which is memory. The stop signals are blocked in every thread
// (set before any starts) and one thread waits for them with sigwait, where
// removing a directory is safe, unlike in a signal handler.
void remove_when_stopped(const std::string& dir) {
    sigset_t stops;
    sigemptyset(&stops);
    for (const int sig : {SIGINT, SIGTERM, SIGHUP}) {
        sigaddset(&stops, sig);
    }
    pthread_sigmask(SIG_BLOCK, &stops, nullptr);
    std::thread([stops, dir] {
        int sig = SIGTERM;
        sigwait(&stops, &sig);
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
        std::fprintf(stderr, "skycast-sim: stopped by signal %d; removed %s\n", sig, dir.c_str());
        std::_Exit(128 + sig);
    }).detach();
}

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
    std::uint32_t fec_k = 0;
    double proactive_pct = 0;
    double expected_loss_pct = 0;
    std::uint32_t interleave_mib = 64; // control.fec.interleave_mib's default
    double repair_margin = engine::sender_fec{}.repair_margin; // control.fec.repair_margin's
    std::uint32_t control_copies = 1;
    double copy_spacing_ms = static_cast<double>(engine::default_copy_spacing) / 1e6;
    bool no_adaptive = false;
    std::uint32_t stock_receivers = 0;
    bool closed = false;
    bool fast_start = false;
    // control.early_data's default, in ms.
    double early_data_ms = static_cast<double>(engine::sender_config{}.early_data_after) / 1e6;
    app.add_option("--early-data", early_data_ms,
                   "ms after a file's FILEINFO that its first pass starts if the answers are not "
                   "all in (control.early_data, docs/protocol.md §20); negative = off: wait for "
                   "every answer, as stock does");
    auto* closed_flag =
        app.add_flag("--closed", closed,
                     "closed group: every receiver listed, and the announce phase ends as soon as "
                     "all of them have registered");
    app.add_flag("--fast-start", fast_start,
                 "with --closed: the FILEINFO goes out with the ANNOUNCE, not after the "
                 "REGISTERs (control.fast_start, docs/protocol.md §21)")
        ->needs(closed_flag);
    app.add_option("--fec", fec_k,
                   "FEC parity over groups of K data blocks (docs/protocol.md §17); 0 = NAK only")
        ->check(CLI::Range(0u, 253u));
    app.add_option("--proactive", proactive_pct,
                   "with --fec: parity sent with the first pass, percent of K")
        ->check(CLI::Range(0.0, 100.0));
    app.add_option("--expected-loss", expected_loss_pct,
                   "with --fec: loss each receiver is expected to see, percent: the first pass "
                   "also carries the parity that makes a repair pass unlikely among this many "
                   "receivers (control.fec.expected_loss)")
        ->check(CLI::Range(0.0, 50.0));
    app.add_option("--repair-margin", repair_margin,
                   "with --fec: repair parity beyond the worst receiver's need, a fraction "
                   "(control.fec.repair_margin)")
        ->check(CLI::Range(0.0, 1.0));
    app.add_option("--interleave-mib", interleave_mib,
                   "with --fec: data per interleaving span, MiB (docs/protocol.md §17.1); 0 = "
                   "groups of consecutive blocks")
        ->check(CLI::Range(0u, 64u));
    app.add_option("--control-copies", control_copies,
                   "copies of every control datagram, sender and receivers "
                   "(control.control_copies)")
        ->check(CLI::Range(1u, 4u));
    app.add_option("--copy-spacing", copy_spacing_ms,
                   "ms between those copies, at most GRTT/4 (control.copy_spacing); 0 = back "
                   "to back")
        ->check(CLI::Range(0.0, 1000.0));
    app.add_flag("--no-adaptive", no_adaptive,
                 "with --fec: do not size later files' parity from earlier files' needs");
    app.add_option("--stock-receivers", stock_receivers,
                   "the first N receivers do not decode parity (NAK data, as stock uftpd); the "
                   "hub then offers no address either (as with --hub-behind-nat): a simulated "
                   "receiver would take the offers a stock one ignores");
    bool behind_nat = false;
    app.add_flag("--hub-behind-nat", behind_nat,
                 "the hub's ANNOUNCE reaches receivers from another address, so it offers none: "
                 "bitmap STATUS instead of NAK lists, no overload reports, and the session's "
                 "COMPLETE(0) by a DONE(0) round (docs/protocol.md §18, §19, §22). By default "
                 "the hub names its address, as the appliance does");
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
    app.add_option("--encrypt", encrypt,
                   "cipher suite or none: aes256-gcm, aes128-gcm, aes256-ccm, aes128-ccm, "
                   "aes256-cbc, aes128-cbc, 3des (CBC: +hmac, the default, or +keyex)");
    std::string keyex_name = "ecdh_ecdsa";
    app.add_option("--keyex", keyex_name,
                   "key exchange with --encrypt: ecdh_ecdsa (default: EC P-256 server key, the "
                   "mode UFTP 5 clients also accept), ecdh_rsa or rsa (RSA server key)");
    std::string hash_name = "sha256";
    app.add_option("--hash", hash_name, "hash with --encrypt: sha1, sha256, sha384, sha512");
    bool client_auth = false;
    app.add_flag("--client-auth", client_auth,
                 "receivers authenticate with CLIENT_KEY (forced by +keyex)");
    int rsa_bits = 1024;
    app.add_option("--rsa-bits", rsa_bits, "RSA key size for rsa/ecdh_rsa (512..2048)")
        ->check(CLI::Range(512, 2048));
    std::string curve_name = "prime256v1";
    app.add_option("--curve", curve_name, "EC curve of the ECDSA and ECDH keys");
    std::uint64_t max_events = 0;
    app.add_option("--max-events", max_events,
                   "stop after this many simulated events (0: 200 per receiver per block, "
                   "at least 50 million)");
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

    engine::sender_encryption enc;
    engine::receiver_encryption rx_enc;
    if (encrypt != "none") {
        if (!engine::parse_cipher_name(encrypt, enc.cipher, enc.sigtype)) {
            std::fprintf(stderr,
                         "skycast-sim: --encrypt %s: unknown suite (aes256-gcm, aes128-gcm, "
                         "aes256-ccm, aes128-ccm, aes256-cbc[+hmac|+keyex], "
                         "aes128-cbc[+hmac|+keyex], 3des[+hmac|+keyex], none)\n",
                         encrypt.c_str());
            return 2;
        }
        if (!engine::parse_keyex_name(keyex_name, enc.keyex)) {
            std::fprintf(stderr, "skycast-sim: --keyex %s: unknown (rsa, ecdh_rsa, ecdh_ecdsa)\n",
                         keyex_name.c_str());
            return 2;
        }
        if (!engine::parse_hash_name(hash_name, enc.hash)) {
            std::fprintf(stderr, "skycast-sim: --hash %s: unknown (sha1, sha256, sha384, sha512)\n",
                         hash_name.c_str());
            return 2;
        }
        const auto* curve = skycast::crypto::curve_by_name(curve_name);
        if (curve == nullptr) {
            std::fprintf(stderr, "skycast-sim: --curve %s: not a curve UFTP can name\n",
                         curve_name.c_str());
            return 2;
        }
        if (const auto e = skycast::crypto::initialize(); e != skycast::crypto::crypto_error::ok) {
            std::fprintf(stderr, "skycast-sim: crypto: %s\n",
                         std::string(skycast::crypto::describe(e)).c_str());
            return 2;
        }
        // Keys are made here, in process, and not written anywhere: the
        // server's (RSA for rsa/ecdh_rsa, EC for ecdh_ecdsa), and one RSA and
        // one EC key that every receiver holds (a client needs a key of the
        // server key's type only for CLIENT_KEY).
        auto rsa = skycast::crypto::generate_rsa_key(rsa_bits);
        auto ec = skycast::crypto::generate_ec_key(*curve);
        auto client_rsa = skycast::crypto::generate_rsa_key(rsa_bits);
        auto client_ec = skycast::crypto::generate_ec_key(*curve);
        if (!rsa || !ec || !client_rsa || !client_ec) {
            std::fprintf(stderr, "skycast-sim: key generation failed\n");
            return 2;
        }
        enc.key = std::make_shared<const skycast::crypto::private_key>(
            enc.keyex == skycast::protocol::keyexchange_type::ecdh_ecdsa ? std::move(ec).value()
                                                                         : std::move(rsa).value());
        enc.ecdh_curve = curve;
        enc.client_auth = client_auth;
        rx_enc.keys = {
            std::make_shared<const skycast::crypto::private_key>(std::move(client_rsa).value()),
            std::make_shared<const skycast::crypto::private_key>(std::move(client_ec).value())};
        if (const auto suite = engine::sender_suite(enc); !suite) {
            std::fprintf(stderr, "skycast-sim: --encrypt %s --keyex %s --hash %s: %s\n",
                         encrypt.c_str(), keyex_name.c_str(), hash_name.c_str(),
                         std::string(skycast::crypto::describe(suite.error())).c_str());
            return 2;
        }
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
        if (!keep) {
            remove_when_stopped(work_dir);
        }
        std::fprintf(stderr, "skycast-sim: work directory %s\n", work_dir.c_str());
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
    cfg.sender.early_data_after =
        early_data_ms < 0 ? engine::no_deadline : engine::seconds_to_ns(early_data_ms / 1e3);
    cfg.files = list.entries;
    cfg.work_dir = work_dir + "/dest";
    cfg.debug_receiver = debug_receiver;
    cfg.store_files = !no_store;
    cfg.sender.encryption = enc;
    cfg.receiver_encryption = rx_enc;
    cfg.sender.fec = {.group_blocks = fec_k,
                      .proactive = proactive_pct / 100.0,
                      .expected_loss = expected_loss_pct / 100.0,
                      .adaptive = !no_adaptive,
                      .interleave_bytes = std::uint64_t{interleave_mib} << 20,
                      .repair_margin = repair_margin};
    cfg.sender.control_copies = control_copies;
    cfg.receiver_control_copies = control_copies;
    cfg.sender.copy_spacing = engine::seconds_to_ns(copy_spacing_ms / 1e3);
    cfg.receiver_copy_spacing = cfg.sender.copy_spacing;
    if (closed) {
        for (std::uint32_t i = 0; i < receivers; ++i) {
            cfg.sender.host_list.push_back(sim::receiver_uid(i));
        }
    }
    cfg.sender.fast_start = fast_start;
    // The node names its port's address (node.cc); the simulator's hub is
    // sim::sender_uid on its simulated wire.
    const bool offers_address = !behind_nat && stock_receivers == 0;
    cfg.sender.own_address = offers_address ? sim::sender_uid : 0;
    for (std::uint32_t i = 0; i < std::min(stock_receivers, receivers); ++i) {
        cfg.overrides[i] =
            sim::receiver_profile{.down = cfg.link, .up = cfg.link, .fec_capable = false};
    }
    if (max_events == 0) {
        // Generous for any sane session (each block reaches each receiver
        // once or a few times), yet a bound on an engine that loops.
        const std::uint64_t blocks =
            (size / std::max<std::uint16_t>(block, 1) + 1) * std::max<std::uint32_t>(files, 1);
        max_events = std::max<std::uint64_t>(50'000'000, 200ull * receivers * blocks);
    }
    cfg.max_events = max_events;

    const auto r = sim::run_simulation(cfg);

    std::printf("session: %u receivers, %zu entries, block %u, rate %.1f Mbit/s, rtt %.0f ms, "
                "loss %.1f%%, burst loss %.1f%%, seed %" PRIu64 ", hub address %s\n",
                receivers, cfg.files.size(), block, rate_mbit, rtt_ms, loss_pct, burst_loss_pct,
                seed,
                offers_address ? "offered (NAK lists, overload reports, §22)" : "not offered");
    if (enc.enabled()) {
        std::printf("encryption: %s, key exchange %s, hash %s%s, server key %s\n", encrypt.c_str(),
                    keyex_name.c_str(), hash_name.c_str(),
                    client_auth ? ", client authentication" : "",
                    enc.key->kind() == skycast::crypto::key_kind::rsa
                        ? ("RSA-" + std::to_string(enc.key->bits())).c_str()
                        : curve_name.c_str());
        std::printf("keyinfo_sent=%" PRIu64 " keyinfo_acks=%" PRIu64 " keyinfo_ack_bad=%" PRIu64
                    " client_keys_in=%" PRIu64 " client_key_refused=%" PRIu64
                    " decrypt_failed=%" PRIu64 " plaintext_refused=%" PRIu64
                    " filesegs_not_authentic=%" PRIu64 " seal_failures=%" PRIu64 "\n",
                    r.sender.keyinfo_sent, r.sender.keyinfo_acks, r.sender.keyinfo_ack_bad,
                    r.sender.client_keys_in, r.sender.client_key_refused, r.sender.decrypt_failed,
                    r.sender.plaintext_refused, r.filesegs_not_authentic, r.seal_failures);
    } else {
        std::printf("encryption: none\n");
    }
    std::printf("sim_time_to_complete=%.3f s%s%s\n", r.sim_seconds,
                r.time_limit_hit ? " (time limit hit)" : "",
                r.event_limit_hit ? " (event limit hit)" : "");
    std::printf("passes=%" PRIu64 " bytes_sent=%" PRIu64 " bytes_resent=%" PRIu64
                " blocks_sent=%" PRIu64 " blocks_resent=%" PRIu64 "\n",
                r.sender.passes, r.sender.bytes_sent, r.sender.bytes_resent, r.sender.blocks_sent,
                r.sender.blocks_resent);
    if (fec_k != 0) {
        std::uint64_t parity_dropped = 0;
        for (auto d : r.fec_rx.dropped) {
            parity_dropped += d;
        }
        std::printf(
            "fec: k=%u span_groups=%u parity_sent=%" PRIu64 " (proactive %" PRIu64
            ") parity_bytes=%" PRIu64 " fec_status=%" PRIu64 " exhausted_groups=%" PRIu64
            " | receivers: parity_kept=%" PRIu64 " groups_rebuilt=%" PRIu64
            " blocks_rebuilt=%" PRIu64 " parity_dropped=%" PRIu64 " (unneeded %" PRIu64
            ", no_room %" PRIu64 ", decode_failed %" PRIu64 ") builder_failures=%" PRIu64 "\n",
            fec_k, cfg.sender.fec.span_groups(cfg.sender.block_size), r.sender.parity_sent,
            r.sender.parity_proactive, r.sender.parity_bytes_sent, r.sender.fec_status_in,
            r.sender.parity_exhausted, r.fec_rx.parity_kept, r.fec_rx.groups_rebuilt,
            r.fec_rx.blocks_rebuilt, parity_dropped,
            r.fec_rx.dropped[static_cast<std::size_t>(skycast::dataplane::parity_drop::unneeded)],
            r.fec_rx.dropped[static_cast<std::size_t>(skycast::dataplane::parity_drop::no_room)],
            r.fec_rx
                .dropped[static_cast<std::size_t>(skycast::dataplane::parity_drop::decode_failed)],
            r.parity_failures);
    }
    {
        // What the benchmark goals are stated in: the whole job's bytes over
        // the time to complete, against the link rate, and all data and
        // parity bytes sent against the job's size.
        std::uint64_t job = 0;
        for (const auto& f : cfg.files) {
            job += f.size;
        }
        const double t = r.sender_finished_seconds;
        const double goodput = t > 0 ? 8.0 * static_cast<double>(job) / t : 0;
        std::printf("sender_finished=%.3f s goodput=%.1f Mbit/s goodput_over_link=%.3f "
                    "sent_over_size=%.3f\n",
                    t, goodput / 1e6, rate_mbit > 0 ? goodput / (rate_mbit * 1e6) : 0.0,
                    job > 0
                        ? static_cast<double>(r.sender.bytes_sent + r.sender.parity_bytes_sent) /
                              static_cast<double>(job)
                        : 0.0);
    }
    std::printf("sender phases:");
    for (const auto& [at, phase] : r.sender_phases) {
        std::printf(" %.3f %s", at, engine::name(phase));
    }
    std::printf("\n");
    for (const auto& p : r.passes) {
        std::printf("pass %u at %.3f s: data_blocks=%" PRIu64 " parity_blocks=%" PRIu64
                    " parity_groups=%u longest_run=%u\n",
                    p.pass, p.at, p.data_blocks, p.parity_blocks, p.parity_groups, p.longest_run);
    }
    {
        // How many receivers needed how many rounds: STATUS sent, receiver
        // by receiver (a receiver answers a round it completed with COMPLETE).
        std::map<std::uint64_t, std::uint32_t> by_status;
        // And the sequence window (docs/protocol.md §4.3): datagrams the
        // receivers dropped as too far behind, late listing copies taken.
        std::uint64_t out_of_range = 0;
        std::uint64_t late_taken = 0;
        for (const auto& rep : r.receivers) {
            ++by_status[rep.stats.status_sent];
            out_of_range += rep.stats.seq_out_of_range;
            late_taken += rep.stats.late_listings_taken;
        }
        std::printf("receivers_by_status_sent:");
        for (const auto& [sent, n] : by_status) {
            std::printf(" %" PRIu64 ":%u", sent, n);
        }
        std::printf("\nreceivers_seq_out_of_range=%" PRIu64
                    " receivers_late_listings_taken=%" PRIu64 "\n",
                    out_of_range, late_taken);
    }
    std::printf("status_messages=%" PRIu64 " (current-section ignored %" PRIu64 ", stale %" PRIu64
                ") done_rounds=%" PRIu64 " fileinfo_rounds=%" PRIu64 " final_grtt=%.3f s\n",
                r.sender.status_in, r.sender.status_current_section, r.sender.status_stale,
                r.sender.done_rounds, r.sender.fileinfo_rounds, r.final_grtt);
    std::printf("nak_lists_in=%" PRIu64 " overload_signals=%" PRIu64
                " early_session_completes=%" PRIu64 "\n",
                r.sender.nak_lists_in, r.sender.overload_signals, r.sender.early_session_completes);
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
                        " late_listings_taken=%" PRIu64 " fileinfo_in=%" PRIu64
                        " files_received=%" PRIu64 " files_rejected=%" PRIu64
                        " completes_sent=%" PRIu64 " registers_sent=%" PRIu64 "\n",
                        st.datagrams_in, st.seq_out_of_range, st.late_listings_taken,
                        st.fileinfo_in, st.files_received, st.files_rejected, st.completes_sent,
                        st.registers_sent);
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
