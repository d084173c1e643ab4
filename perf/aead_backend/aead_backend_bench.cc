// Google Benchmark: per-packet AEAD through dataplane/seal, OpenSSL backend
// versus DPDK cryptodev (ipsec_mb software PMDs), in bursts of 32 datagrams
// sealed (and opened) in place, as the TX (RX) lcore does in its mbufs, for
// AES-128-GCM, AES-256-GCM and AES-128-CCM at 1300- and 8800-byte blocks,
// beside `openssl speed -evp` for the same cipher and size measured in the
// same run (the approach of perf/crypto_bench.cc).
//
//   meson test -C build --benchmark aead_backend --verbose
//   (or run perf/aead_backend/aead_backend_bench [--benchmark_filter=...])
//
// After Google Benchmark's own table (5 repetitions: mean, median, stddev,
// min, max) it prints one line per case, from the medians:
//
//   aead suite=S size=B op=seal|open backend=K ns_per_packet=N gbps=G
//        (min/max gbps) openssl_speed_gbps=L
//
// and one final line naming the pick per suite: the backend with the lowest
// geometric mean of median ns/packet over both sizes and both directions.
// Rates are per CPU second, like `openssl speed` (user CPU time), so they stay
// comparable on a shared machine; wall-clock figures would not.
#include "crypto/key_schedule.h"
#include "crypto/secure_memory.h"
#include "dataplane/seal/backends.h"
#include "dataplane/seal/seal_engine.h"
#include "perf/support/openssl_speed.h"

#include <algorithm>
#include <array>
#include <benchmark/benchmark.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <rte_eal.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using skycast::perf::max_of;
using skycast::perf::min_of;
using skycast::perf::openssl_speed_gbps;

using namespace skycast;
using namespace skycast::dataplane::seal;

struct bench_suite {
    const char* label;   // our name
    const char* openssl; // openssl speed -evp name
    protocol::key_type cipher;
};

constexpr std::array<bench_suite, 3> suites{{
    {"aes128-gcm", "aes-128-gcm", protocol::key_type::aes128_gcm},
    {"aes256-gcm", "aes-256-gcm", protocol::key_type::aes256_gcm},
    {"aes128-ccm", "aes-128-ccm", protocol::key_type::aes128_ccm},
}};
constexpr std::array<std::size_t, 2> block_sizes{1300, 8800};
constexpr std::size_t fileseg_header = 8; // the plaintext is FILESEG header + block
constexpr std::size_t burst = 32;

// A backend as configured: OpenSSL, or cryptodev with a device name and
// either the enqueue/dequeue path (ops; what a hardware PMD uses) or the
// synchronous CPU path (cpu; software PMDs only).
struct backend_config {
    const char* label;
    backend_kind kind;
    const char* device;
    bool cpu_crypto;
    bool gcm, ccm; // which modes the device serves
};

constexpr std::array<backend_config, 5> backends{{
    {"openssl", backend_kind::openssl, "", false, true, true},
    {"cryptodev-ops:crypto_aesni_gcm0", backend_kind::cryptodev, "crypto_aesni_gcm0", false, true,
     false},
    {"cryptodev-cpu:crypto_aesni_gcm0", backend_kind::cryptodev, "crypto_aesni_gcm0", true, true,
     false},
    {"cryptodev-ops:crypto_aesni_mb0", backend_kind::cryptodev, "crypto_aesni_mb0", false, true,
     true},
    {"cryptodev-cpu:crypto_aesni_mb0", backend_kind::cryptodev, "crypto_aesni_mb0", true, true,
     true},
}};

const protocol::uftp_header header{1, 0xc0000202, 0x11223344, 0, 0x20, 0x10};

struct fixture {
    std::unique_ptr<seal_engine> engine;
    session_id id = 0;
    std::vector<std::vector<std::uint8_t>> buffers; // one datagram per burst slot
    std::vector<seal_job> seal_jobs;
    std::vector<open_job> open_jobs;
};

std::unique_ptr<fixture> make_fixture(const bench_suite& s, const backend_config& b,
                                      std::size_t block, std::string& why) {
    auto st = crypto::make_suite(s.cipher, protocol::hash_type::sha256,
                                 protocol::signature_type::authenc);
    if (!st) {
        why = "suite";
        return nullptr;
    }
    std::vector<std::uint8_t> key_bytes(crypto::key_block_size(*st), 0x42);
    auto keys = crypto::key_block::from_bytes(*st, key_bytes);
    seal_options o;
    o.backend = b.kind;
    o.cryptodev_device = b.device;
    o.max_burst = burst;
    o.cpu_crypto = b.cpu_crypto;
    auto e = create_seal_engine(o);
    if (!keys || !e) {
        why = e ? "keys" : std::string(describe(e.error()));
        return nullptr;
    }
    auto f = std::make_unique<fixture>();
    f->engine = std::move(e).value();
    auto id = f->engine->add_session(*st, *keys);
    if (!id) {
        why = std::string(describe(id.error()));
        return nullptr;
    }
    f->id = *id;
    const std::size_t n = fileseg_header + block;
    const std::size_t off = f->engine->payload_offset(f->id);
    f->buffers.assign(burst, std::vector<std::uint8_t>(f->engine->sealed_size(f->id, n), 0xa5));
    for (auto& buf : f->buffers) {
        buf[off] = 9; // FILESEG
        f->seal_jobs.push_back(seal_job{.session = f->id,
                                        .header = header,
                                        .plaintext = std::span(buf).subspan(off, n),
                                        .out = buf});
        f->open_jobs.push_back(open_job{
            .session = f->id, .datagram = buf, .plaintext_out = std::span(buf).subspan(off)});
    }
    return f;
}

void report(benchmark::State& state, std::size_t block, double openssl_gbps) {
    const double packets = static_cast<double>(state.iterations()) * burst;
    state.counters["Gbit"] = benchmark::Counter(packets * static_cast<double>(block) * 8 / 1e9,
                                                benchmark::Counter::kIsRate);
    state.counters["ns_pkt"] = benchmark::Counter(packets * 1e-9, benchmark::Counter::kIsRate |
                                                                      benchmark::Counter::kInvert);
    state.counters["openssl_Gbit/s"] = openssl_gbps;
}

void seal_bench(benchmark::State& state, const bench_suite* s, const backend_config* b,
                std::size_t block, double limit) {
    std::string why;
    auto f = make_fixture(*s, *b, block, why);
    if (!f) {
        state.SkipWithError(why.c_str());
        return;
    }
    std::uint64_t ctr = 0;
    for (auto _ : state) {
        for (auto& j : f->seal_jobs) {
            j.iv_ctr = ++ctr;
        }
        const std::size_t ok = f->engine->seal_burst(f->seal_jobs);
        if (ok != burst) {
            state.SkipWithError("seal failed");
            return;
        }
        benchmark::ClobberMemory();
    }
    report(state, block, limit);
}

void open_bench(benchmark::State& state, const bench_suite* s, const backend_config* b,
                std::size_t block, double limit) {
    std::string why;
    auto f = make_fixture(*s, *b, block, why);
    if (!f) {
        state.SkipWithError(why.c_str());
        return;
    }
    // Opening in place overwrites the ciphertext, so each burst reopens a
    // copy of the sealed datagrams (the copy is outside the timed region).
    std::uint64_t ctr = 0;
    for (auto& j : f->seal_jobs) {
        j.iv_ctr = ++ctr;
    }
    if (f->engine->seal_burst(f->seal_jobs) != burst) {
        state.SkipWithError("seal failed");
        return;
    }
    const auto sealed = f->buffers;
    for (auto _ : state) {
        state.PauseTiming();
        for (std::size_t i = 0; i < burst; ++i) {
            std::copy(sealed[i].begin(), sealed[i].end(), f->buffers[i].begin());
        }
        state.ResumeTiming();
        const std::size_t ok = f->engine->open_burst(f->open_jobs);
        if (ok != burst) {
            state.SkipWithError("open failed");
            return;
        }
        benchmark::ClobberMemory();
    }
    report(state, block, limit);
}

// Keeps the medians (and min/max) of every case for the summary lines.
class summary_reporter : public benchmark::ConsoleReporter {
public:
    struct row {
        double gbps_median = 0, gbps_min = 0, gbps_max = 0, ns_median = 0, openssl = 0;
    };
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const auto& run : runs) {
            if (run.run_type != Run::RT_Aggregate || run.error_occurred) {
                continue;
            }
            auto gbit = run.counters.find("Gbit");
            auto ns = run.counters.find("ns_pkt");
            auto limit = run.counters.find("openssl_Gbit/s");
            if (gbit == run.counters.end() || ns == run.counters.end() ||
                limit == run.counters.end()) {
                continue;
            }
            auto& r = rows[run.run_name.function_name];
            r.openssl = limit->second.value;
            if (run.aggregate_name == "median") {
                r.gbps_median = gbit->second.value;
                r.ns_median = ns->second.value;
            } else if (run.aggregate_name == "min") {
                r.gbps_min = gbit->second.value;
            } else if (run.aggregate_name == "max") {
                r.gbps_max = gbit->second.value;
            }
        }
        ConsoleReporter::ReportRuns(runs);
    }
    std::map<std::string, row> rows; // by "op/suite/size/backend"
};

std::string case_name(const char* op, const bench_suite& s, std::size_t block,
                      const backend_config& b) {
    return std::string(op) + "/" + s.label + "/" + std::to_string(block) + "/" + b.label;
}

void print_summary(const summary_reporter& rep) {
    std::printf("\n");
    std::string picks;
    for (const auto& s : suites) {
        const backend_config* pick = nullptr;
        double best = 0;
        for (const auto& b : backends) {
            double log_sum = 0;
            int count = 0;
            for (auto block : block_sizes) {
                for (const char* op : {"seal", "open"}) {
                    auto it = rep.rows.find(case_name(op, s, block, b));
                    if (it == rep.rows.end() || it->second.ns_median <= 0) {
                        continue;
                    }
                    const auto& r = it->second;
                    std::printf("aead suite=%s size=%zu op=%s backend=%s ns_per_packet=%.0f "
                                "gbps=%.2f (min %.2f max %.2f) openssl_speed_gbps=%.2f\n",
                                s.label, block, op, b.label, r.ns_median, r.gbps_median, r.gbps_min,
                                r.gbps_max, r.openssl);
                    log_sum += std::log(r.ns_median);
                    ++count;
                }
            }
            // Only a backend measured in every case can be picked.
            if (count == 2 * static_cast<int>(block_sizes.size())) {
                const double geo = std::exp(log_sum / count);
                if (pick == nullptr || geo < best) {
                    pick = &b;
                    best = geo;
                }
            }
        }
        std::printf("pick suite=%s backend=%s geomean_ns_per_packet=%.0f\n", s.label,
                    pick != nullptr ? pick->label : "none", best);
        picks += std::string(" ") + s.label + "=" + (pick != nullptr ? pick->label : "none");
    }
    std::printf("picks:%s\n", picks.c_str());
    std::printf("(medians of 5 repetitions, per CPU second; bursts of %zu, in place; the pick "
                "is the lowest geometric mean of ns/packet over both sizes, seal and open)\n",
                burst);
}

} // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    if (crypto::initialize() != crypto::crypto_error::ok) {
        std::fprintf(stderr, "crypto::initialize failed\n");
        return 1;
    }
    // In-process EAL without hugepages; the engines create their vdevs.
    const std::string prefix = "--file-prefix=skycast_aead_bench_" + std::to_string(getpid());
    const char* eal_argv[] = {"aead_backend_bench",
                              "-l",
                              "0",
                              "--no-huge",
                              "--no-pci",
                              "--no-shconf",
                              "--no-telemetry",
                              "-m",
                              "256",
                              prefix.c_str(),
                              "--log-level=*:warning"};
    std::vector<char*> args;
    for (const char* a : eal_argv) {
        args.push_back(const_cast<char*>(a));
    }
    if (rte_eal_init(static_cast<int>(args.size()), args.data()) < 0) {
        std::fprintf(stderr, "EAL initialisation failed\n");
        return 1;
    }
    std::printf("Physical limit, same machine, same run (openssl speed -evp NAME -bytes N "
                "-seconds 1):\n");
    for (const auto& s : suites) {
        for (auto block : block_sizes) {
            // The ciphertext covers FILESEG header + block; quote openssl at
            // the block size (as perf/crypto_bench.cc does).
            const double gbps = openssl_speed_gbps(s.openssl, block);
            std::printf("  %-12s %5zu B  %7.2f Gbit/s\n", s.openssl, block, gbps);
            for (const auto& b : backends) {
                const bool ccm = s.cipher == protocol::key_type::aes128_ccm;
                if (ccm ? !b.ccm : !b.gcm) {
                    continue;
                }
                for (int open = 0; open < 2; ++open) {
                    const std::string name = case_name(open != 0 ? "open" : "seal", s, block, b);
                    auto* bm = benchmark::RegisterBenchmark(
                        name.c_str(), open != 0 ? open_bench : seal_bench, &s, &b, block, gbps);
                    bm->Repetitions(5)
                        ->MinTime(0.2)
                        ->DisplayAggregatesOnly(true)
                        ->ComputeStatistics("min", min_of)
                        ->ComputeStatistics("max", max_of);
                }
            }
        }
    }
    std::fflush(stdout);
    summary_reporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    print_summary(reporter);
    benchmark::Shutdown();
    std::fflush(stdout);
    stop_crypto_devices();
    // EAL leaves its runtime directory behind (empty with --no-shconf and
    // --no-telemetry: no config file, no sockets).
    const std::string runtime_dir = rte_eal_get_runtime_dir();
    rte_eal_cleanup();
    rmdir(runtime_dir.c_str());
    return 0;
}
