// Google Benchmark: ENCRYPTED seal and open (crypto/packet_cipher.h) per core,
// for every AEAD suite at 1300- and 8800-byte blocks, beside the physical
// limit measured on the same machine in the same run:
//
//   openssl speed -evp aes-128-gcm -bytes 1300 -seconds 1 -mr   (and so on)
//
//   meson test -C build --benchmark --suite crypto --verbose   (or run perf/crypto_bench)
//
// Each row reports, over 5 repetitions (mean, median, stddev, min, max), and a
// table at the end repeats median/min/max beside the openssl figure:
//   Gbit        block bytes sealed (or opened) per CPU second by one core. A datagram
//               carries the block plus the 8-byte FILESEG header and UFTP's
//               28-byte ENCRYPTED header and 16-byte tag; only block bytes count.
//   openssl_Gbit/s  `openssl speed -evp` for the same cipher and size: bulk
//               encryption of a buffer with no per-message IV, AAD or tag, so
//               the ceiling a per-datagram AEAD cannot quite reach.
//   ratio       (summary table) median Gbit/s / openssl_Gbit/s.
// openssl speed measures encryption only; the open rows use the same figure.
#include "crypto/key_schedule.h"
#include "crypto/packet_cipher.h"
#include "perf/support/openssl_speed.h"

#include <algorithm>
#include <array>
#include <benchmark/benchmark.h>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

using skycast::perf::max_of;
using skycast::perf::min_of;
using skycast::perf::openssl_speed_gbps;

using namespace skycast;
using namespace skycast::crypto;

struct bench_suite {
    const char* label;   // our name
    const char* openssl; // openssl speed -evp name
    protocol::key_type cipher;
    protocol::hash_type hash;
};

constexpr std::array<bench_suite, 4> suites{{
    {"aes128-gcm", "aes-128-gcm", protocol::key_type::aes128_gcm, protocol::hash_type::sha256},
    {"aes256-gcm", "aes-256-gcm", protocol::key_type::aes256_gcm, protocol::hash_type::sha256},
    {"aes128-ccm", "aes-128-ccm", protocol::key_type::aes128_ccm, protocol::hash_type::sha256},
    {"aes256-ccm", "aes-256-ccm", protocol::key_type::aes256_ccm, protocol::hash_type::sha256},
}};
constexpr std::array<std::size_t, 2> block_sizes{1300, 8800};
constexpr std::size_t fileseg_header = 8;

struct fixture {
    packet_cipher pc;
    std::vector<std::uint8_t> plain;
    std::vector<std::uint8_t> sealed;
    std::vector<std::uint8_t> opened;
};

std::unique_ptr<fixture> make_fixture(const bench_suite& s, std::size_t block) {
    auto st = make_suite(s.cipher, s.hash, protocol::signature_type::authenc);
    if (!st) {
        return nullptr;
    }
    std::vector<std::uint8_t> key_bytes(key_block_size(*st), 0x42);
    auto keys = key_block::from_bytes(*st, key_bytes);
    if (!keys) {
        return nullptr;
    }
    auto pc = packet_cipher::create(*st, *keys);
    if (!pc) {
        return nullptr;
    }
    auto f = std::make_unique<fixture>(fixture{std::move(pc).value(), {}, {}, {}});
    f->plain.assign(fileseg_header + block, 0xa5);
    f->plain[0] = 9; // FILESEG
    f->sealed.resize(f->pc.sealed_size(f->plain.size()));
    f->opened.resize(f->sealed.size());
    return f;
}

void report(benchmark::State& state, std::size_t block, double openssl_gbps) {
    const double gbits =
        static_cast<double>(state.iterations()) * static_cast<double>(block) * 8 / 1e9;
    // Rates are per second of CPU time, as `openssl speed` (without -elapsed)
    // divides by CPU user time: both stay meaningful on a loaded machine.
    state.counters["Gbit"] = benchmark::Counter(gbits, benchmark::Counter::kIsRate);
    state.counters["openssl_Gbit/s"] = openssl_gbps;
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(block));
}

const protocol::uftp_header header{1, 0xc0000202, 0x11223344, 0, 0x20, 0x10};

void seal_bench(benchmark::State& state, const bench_suite* s, std::size_t block, double limit) {
    auto f = make_fixture(*s, block);
    if (!f) {
        state.SkipWithError("cannot set up the suite");
        return;
    }
    std::uint64_t ctr = 0;
    for (auto _ : state) {
        auto n = f->pc.seal(header, f->plain, ++ctr, f->sealed);
        benchmark::DoNotOptimize(n);
        benchmark::ClobberMemory();
    }
    report(state, block, limit);
}

void open_bench(benchmark::State& state, const bench_suite* s, std::size_t block, double limit) {
    auto f = make_fixture(*s, block);
    if (!f || !f->pc.seal(header, f->plain, 1, f->sealed).ok()) {
        state.SkipWithError("cannot set up the suite");
        return;
    }
    for (auto _ : state) {
        auto o = f->pc.open(f->sealed, f->opened);
        benchmark::DoNotOptimize(o);
        benchmark::ClobberMemory();
    }
    if (!f->pc.open(f->sealed, f->opened).ok()) {
        state.SkipWithError("open failed");
        return;
    }
    report(state, block, limit);
}

// Console output as usual, plus the rows' medians, minima and maxima kept
// for the summary table printed at the end.
class summary_reporter : public benchmark::ConsoleReporter {
public:
    struct row {
        double median = 0, min = 0, max = 0, openssl = 0;
    };
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const auto& run : runs) {
            if (run.run_type != Run::RT_Aggregate) {
                continue;
            }
            auto gbit = run.counters.find("Gbit");
            auto limit = run.counters.find("openssl_Gbit/s");
            if (gbit == run.counters.end() || limit == run.counters.end()) {
                continue;
            }
            auto& r = _rows[run.run_name.function_name];
            r.openssl = limit->second.value;
            if (run.aggregate_name == "median") {
                r.median = gbit->second.value;
            } else if (run.aggregate_name == "min") {
                r.min = gbit->second.value;
            } else if (run.aggregate_name == "max") {
                r.max = gbit->second.value;
            }
        }
        ConsoleReporter::ReportRuns(runs);
    }
    void print_summary() const {
        std::printf("\n%-26s %9s %9s %9s %15s %7s\n", "Gbit/s per core (CPU time)", "median", "min",
                    "max", "openssl speed", "ratio");
        for (const auto& [name, r] : _rows) {
            if (r.openssl > 0) {
                std::printf("%-26s %9.2f %9.2f %9.2f %15.2f %7.2f\n", name.c_str(), r.median, r.min,
                            r.max, r.openssl, r.median / r.openssl);
            } else {
                std::printf("%-26s %9.2f %9.2f %9.2f %15s %7s\n", name.c_str(), r.median, r.min,
                            r.max, "n/a", "n/a");
            }
        }
        std::printf("ratio = median / openssl speed -evp (same cipher, same size, this run).\n");
    }

private:
    std::map<std::string, row> _rows;
};

} // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    std::printf("Physical limit, same machine, same run (openssl speed -evp NAME -bytes N "
                "-seconds 1):\n");
    for (const auto& s : suites) {
        for (auto block : block_sizes) {
            const double gbps = openssl_speed_gbps(s.openssl, block);
            std::printf("  %-12s %5zu B  %7.2f Gbit/s\n", s.openssl, block, gbps);
            for (int open = 0; open < 2; ++open) {
                const std::string name = std::string(open != 0 ? "open/" : "seal/") + s.label +
                                         "/" + std::to_string(block);
                auto* b = benchmark::RegisterBenchmark(
                    name.c_str(), open != 0 ? open_bench : seal_bench, &s, block, gbps);
                b->Repetitions(5)
                    ->DisplayAggregatesOnly(true)
                    ->ComputeStatistics("min", min_of)
                    ->ComputeStatistics("max", max_of);
            }
        }
    }
    std::fflush(stdout);
    summary_reporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    reporter.print_summary();
    benchmark::Shutdown();
    return 0;
}
