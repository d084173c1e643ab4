// Google Benchmark: the Reed–Solomon parity codec of FEC repair
// (dataplane/core/fec_codec.h, ISA-L) per core.
//
//   meson test -C build --benchmark fec --verbose      (or run build/perf/fec_bench)
//
// Every benchmark runs 5 repetitions; the console shows their aggregates and
// the end of the output one line per figure (median, with min and max of the
// repetitions), rates per second of CPU time so that they stay meaningful on
// a loaded machine:
//
//   fec_bench encode k=64 h=8 block=8800 data=warm gbps=.. min_gbps=.. max_gbps=..
//       goal_gbps=20 ratio=.. xor_gbps=..
//     gbps: DATA bits encoded (k blocks in, all h parity blocks out) per CPU
//     second of one core. data=warm: the same group every time (in cache);
//     data=cold: a ring of groups over 128 MiB, more than the caches, as a
//     sender reading file pages would see. goal_gbps: issue 14's goal for
//     k=64, h=8; ratio = gbps / goal. xor_gbps: the physical limit beside
//     it, ISA-L's xor_gen (RAID-5 parity: every data byte read once, one
//     block written) over the same data in the same run.
//   fec_bench decode k=.. h=.. block=.. missing=h gbps=.. rebuilt_gbps=..
//     h data blocks lost, rebuilt from the k - h others and the h parity
//     blocks, each group with another erasure pattern so that every decode
//     builds its matrix. gbps: the group's data bits (k blocks) delivered per
//     CPU second; rebuilt_gbps: the h rebuilt blocks' bits.
//   fec_bench decode_setup k=.. h=.. missing=h us=.. kxk_us=.. ratio=..
//     one decode's set-up (decode of 1-byte blocks, so the data pass is k*h
//     single bytes): ours inverts the h x h Cauchy block and folds in the
//     received data; kxk_us is the textbook alternative, inverting the k x k
//     matrix of the received rows (gf_invert_matrix) then expanding the
//     missing rows, measured here with the same ISA-L calls. ratio = kxk / us.
//   fec_bench repair_row k=.. h=.. block=.. us=.. gbps=.. full_encode_us=..
//     reactive repair: ONE more parity row of a group (encode_parity), per
//     group; gbps counts the data bits read. full_encode_us: all h rows.
#include "dataplane/core/fec_codec.h"
#include "perf/support/openssl_speed.h"

#include <algorithm>
#include <benchmark/benchmark.h>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <isa-l/erasure_code.h>
#include <isa-l/raid.h>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

using skycast::dataplane::fec_codec;
using skycast::dataplane::fec_error;
using skycast::perf::max_of;
using skycast::perf::min_of;

// The cold ring: beyond the last-level cache of any machine this runs on.
constexpr std::size_t cold_bytes = std::size_t{128} << 20;
// Distinct erasure patterns a decode benchmark cycles through.
constexpr std::size_t patterns = 16;
// Blocks start on 64-byte boundaries, as mbuf data does (and xor_gen needs 32).
constexpr std::size_t align = 64;

std::size_t stride_of(std::size_t block) {
    return (block + align - 1) / align * align;
}

// `count` blocks of `block` bytes each, aligned, filled with noise.
struct block_pool {
    std::vector<std::uint8_t> storage;
    std::vector<std::uint8_t*> blocks;

    block_pool(std::size_t count, std::size_t block, std::uint32_t seed) {
        const std::size_t stride = stride_of(block);
        storage.resize(count * stride + align);
        auto base = reinterpret_cast<std::uintptr_t>(storage.data());
        auto* first = storage.data() + (align - base % align) % align;
        std::mt19937_64 rng(seed);
        for (std::size_t i = 0; i + 8 <= storage.size(); i += 8) {
            const std::uint64_t v = rng();
            std::copy_n(reinterpret_cast<const std::uint8_t*>(&v), 8, storage.data() + i);
        }
        for (std::size_t i = 0; i < count; ++i) {
            blocks.push_back(first + i * stride);
        }
    }
    std::vector<const std::uint8_t*> const_blocks() const { return {blocks.begin(), blocks.end()}; }
};

// Google Benchmark calls a benchmark function several times (to size the
// iteration count, then once per repetition): pools are made once and kept,
// or every call would spend longer filling 128 MiB than measuring.
const block_pool& pool(std::size_t count, std::size_t block, std::uint32_t seed) {
    static std::map<std::tuple<std::size_t, std::size_t, std::uint32_t>, block_pool> pools;
    auto it = pools.find({count, block, seed});
    if (it == pools.end()) {
        it = pools.try_emplace({count, block, seed}, count, block, seed).first;
    }
    return it->second;
}

// Groups of k blocks: 1 (warm) or as many as fill cold_bytes.
std::size_t group_count(std::uint32_t k, std::size_t block, bool cold) {
    return cold ? std::max<std::size_t>(1, cold_bytes / (k * stride_of(block))) : 1;
}

fec_codec make_codec(benchmark::State& state, std::uint32_t k, std::uint32_t h, std::size_t block) {
    auto r = fec_codec::create(k, h, block);
    if (!r.ok()) {
        state.SkipWithError(std::string(name(r.error)).c_str());
    }
    return std::move(r.codec);
}

void gbit_counter(benchmark::State& state, std::size_t bytes_per_iteration) {
    state.counters["Gbit"] =
        benchmark::Counter(static_cast<double>(state.iterations()) *
                               static_cast<double>(bytes_per_iteration) * 8 / 1e9,
                           benchmark::Counter::kIsRate);
}

void encode_bench(benchmark::State& state, std::uint32_t k, std::uint32_t h, std::size_t block,
                  bool cold) {
    fec_codec codec = make_codec(state, k, h, block);
    const std::size_t groups = group_count(k, block, cold);
    const auto in = pool(groups * k, block, 1).const_blocks();
    const auto& parity = pool(h, block, 2);
    std::size_t g = 0;
    for (auto _ : state) {
        auto e = codec.encode({in.data() + g * k, k}, parity.blocks);
        benchmark::DoNotOptimize(e);
        benchmark::ClobberMemory();
        g = g + 1 == groups ? 0 : g + 1;
    }
    gbit_counter(state, k * block);
}

// The limit: XOR of the same k blocks into one (xor_gen wants source and
// destination pointers in one array, destination last).
void xor_bench(benchmark::State& state, std::uint32_t k, std::size_t block, bool cold) {
    const std::size_t groups = group_count(k, block, cold);
    const auto& data = pool(groups * k, block, 1);
    std::uint8_t* out = pool(1, block, 3).blocks[0];
    std::vector<void*> arrays;
    for (std::size_t g = 0; g < groups; ++g) {
        arrays.insert(arrays.end(), data.blocks.begin() + static_cast<std::ptrdiff_t>(g * k),
                      data.blocks.begin() + static_cast<std::ptrdiff_t>((g + 1) * k));
        arrays.push_back(out);
    }
    // Once, that it computes what it should (any length, 64-byte aligned).
    if (xor_gen(static_cast<int>(k + 1), static_cast<int>(block), arrays.data()) != 0) {
        state.SkipWithError("xor_gen failed");
        return;
    }
    for (std::size_t i = 0; i < block; ++i) {
        std::uint8_t x = 0;
        for (std::size_t j = 0; j < k; ++j) {
            x = static_cast<std::uint8_t>(x ^ data.blocks[j][i]);
        }
        if (x != out[i]) {
            state.SkipWithError("xor_gen computed something else");
            return;
        }
    }
    std::size_t g = 0;
    for (auto _ : state) {
        int rc =
            xor_gen(static_cast<int>(k + 1), static_cast<int>(block), arrays.data() + g * (k + 1));
        benchmark::DoNotOptimize(rc);
        benchmark::ClobberMemory();
        g = g + 1 == groups ? 0 : g + 1;
    }
    gbit_counter(state, k * block);
}

// Erasure patterns with h data blocks lost: the other data blocks and every
// parity block, in a shuffled order (a receiver's arrival order).
struct pattern {
    std::vector<std::uint32_t> indices;
    std::vector<const std::uint8_t*> blocks;
    std::vector<std::uint8_t*> out;
    std::vector<std::uint32_t> missing;
};

std::vector<pattern> make_patterns(std::uint32_t k, std::uint32_t h, const block_pool& group,
                                   const block_pool& rebuilt) {
    std::mt19937 rng(3);
    std::vector<pattern> ps(patterns);
    for (auto& p : ps) {
        std::vector<std::uint32_t> data(k);
        std::iota(data.begin(), data.end(), 0u);
        std::shuffle(data.begin(), data.end(), rng);
        p.missing.assign(data.begin(), data.begin() + h);
        p.indices.assign(data.begin() + h, data.end());
        for (std::uint32_t q = k; q < k + h; ++q) {
            p.indices.push_back(q);
        }
        std::shuffle(p.indices.begin(), p.indices.end(), rng);
        for (auto b : p.indices) {
            p.blocks.push_back(group.blocks[b]);
        }
        p.out.assign(k, nullptr);
        for (std::size_t m = 0; m < p.missing.size(); ++m) {
            p.out[p.missing[m]] = rebuilt.blocks[m];
        }
    }
    return ps;
}

void decode_bench(benchmark::State& state, std::uint32_t k, std::uint32_t h, std::size_t block) {
    fec_codec codec = make_codec(state, k, h, block);
    block_pool group(k + h, block, 1);
    block_pool rebuilt(h, block, 2);
    const auto in = group.const_blocks();
    std::vector<std::uint8_t*> parity(group.blocks.begin() + k, group.blocks.end());
    if (codec.encode({in.data(), k}, parity) != fec_error::ok) {
        state.SkipWithError("encode failed");
        return;
    }
    auto ps = make_patterns(k, h, group, rebuilt);
    std::size_t i = 0;
    for (auto _ : state) {
        auto& p = ps[i];
        auto e = codec.decode(p.indices, p.blocks, p.out);
        benchmark::DoNotOptimize(e);
        benchmark::ClobberMemory();
        i = i + 1 == ps.size() ? 0 : i + 1;
    }
    // The last decode's blocks must be the lost ones, or the figure is void.
    const auto& last = ps[(i + ps.size() - 1) % ps.size()];
    for (std::size_t m = 0; m < last.missing.size(); ++m) {
        if (!std::equal(rebuilt.blocks[m], rebuilt.blocks[m] + block,
                        group.blocks[last.missing[m]])) {
            state.SkipWithError("decode rebuilt wrong data");
            return;
        }
    }
    gbit_counter(state, k * block);
}

// The textbook set-up, for comparison: invert the k x k matrix of the rows
// received, keep the missing rows, expand them, apply to 1-byte blocks.
void kxk_setup_bench(benchmark::State& state, std::uint32_t k, std::uint32_t h) {
    std::vector<std::uint8_t> generator(std::size_t{k + h} * k);
    gf_gen_cauchy1_matrix(generator.data(), static_cast<int>(k + h), static_cast<int>(k));
    block_pool group(k + h, 1, 1);
    block_pool rebuilt(h, 1, 2);
    auto ps = make_patterns(k, h, group, rebuilt);
    std::vector<std::uint8_t> b(std::size_t{k} * k);
    std::vector<std::uint8_t> inverse(b.size());
    std::vector<std::uint8_t> rows(std::size_t{h} * k);
    std::vector<std::uint8_t> tables(32 * std::size_t{k} * h);
    std::vector<std::uint8_t*> out(h);
    std::size_t i = 0;
    for (auto _ : state) {
        const auto& p = ps[i];
        for (std::size_t r = 0; r < k; ++r) {
            std::copy_n(generator.data() + std::size_t{p.indices[r]} * k, k, b.data() + r * k);
        }
        int rc = gf_invert_matrix(b.data(), inverse.data(), static_cast<int>(k));
        for (std::size_t m = 0; m < h; ++m) {
            std::copy_n(inverse.data() + std::size_t{p.missing[m]} * k, k, rows.data() + m * k);
            out[m] = p.out[p.missing[m]];
        }
        ec_init_tables(static_cast<int>(k), static_cast<int>(h), rows.data(), tables.data());
        ec_encode_data(1, static_cast<int>(k), static_cast<int>(h), tables.data(),
                       const_cast<std::uint8_t**>(p.blocks.data()), out.data());
        benchmark::DoNotOptimize(rc);
        benchmark::ClobberMemory();
        i = i + 1 == ps.size() ? 0 : i + 1;
    }
}

void repair_row_bench(benchmark::State& state, std::uint32_t k, std::uint32_t h,
                      std::size_t block) {
    fec_codec codec = make_codec(state, k, h, block);
    block_pool data(k, block, 1);
    block_pool row(1, block, 2);
    const auto in = data.const_blocks();
    for (auto _ : state) {
        // The last row: the one reactive repair would reach for after the
        // h - 1 sent up front.
        auto e = codec.encode_parity(in, k + h - 1, row.blocks);
        benchmark::DoNotOptimize(e);
        benchmark::ClobberMemory();
    }
    gbit_counter(state, k * block);
}

// What each benchmark measures, for the figure lines.
struct figure {
    std::string kind; // encode, xor, decode, setup, kxk, repair_row
    std::uint32_t k = 0;
    std::uint32_t h = 0;
    std::size_t block = 0;
    bool cold = false;
};

std::string key(const figure& f) {
    return f.kind + "/" + std::to_string(f.k) + "/" + std::to_string(f.h) + "/" +
           std::to_string(f.block) + (f.cold ? "/cold" : "/warm");
}

// Console output as usual; the medians, minima and maxima of CPU time per
// iteration (microseconds) kept for the figure lines.
class figure_reporter : public benchmark::ConsoleReporter {
public:
    struct times {
        double median = 0, min = 0, max = 0;
        bool ok = false;
    };
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const auto& run : runs) {
            if (run.run_type != Run::RT_Aggregate || run.error_occurred) {
                continue;
            }
            auto& t = _times[run.run_name.function_name];
            const double us = run.GetAdjustedCPUTime(); // the benchmarks' unit
            if (run.aggregate_name == "median") {
                t.median = us;
                t.ok = true;
            } else if (run.aggregate_name == "min") {
                t.min = us;
            } else if (run.aggregate_name == "max") {
                t.max = us;
            }
        }
        ConsoleReporter::ReportRuns(runs);
    }
    const times* find(const figure& f) const {
        auto it = _times.find(key(f));
        return it == _times.end() || !it->second.ok ? nullptr : &it->second;
    }

private:
    std::map<std::string, times> _times;
};

double gbps(std::size_t bytes, double us) {
    return us > 0 ? static_cast<double>(bytes) * 8 / (us * 1e3) : 0;
}

constexpr double goal_gbps = 20;

void print_figures(const figure_reporter& rep, const std::vector<figure>& figures) {
    std::printf("\n");
    for (const auto& f : figures) {
        const auto* t = rep.find(f);
        if (f.kind == "encode") {
            const std::size_t bytes = std::size_t{f.k} * f.block;
            figure x = f;
            x.kind = "xor";
            const auto* lim = rep.find(x);
            if (t == nullptr) {
                std::printf("fec_bench encode k=%u h=%u block=%zu not run\n", f.k, f.h, f.block);
                continue;
            }
            const double g = gbps(bytes, t->median);
            std::printf("fec_bench encode k=%u h=%u block=%zu data=%s gbps=%.2f min_gbps=%.2f "
                        "max_gbps=%.2f",
                        f.k, f.h, f.block, f.cold ? "cold" : "warm", g, gbps(bytes, t->max),
                        gbps(bytes, t->min));
            if (f.k == 64 && f.h == 8) {
                std::printf(" goal_gbps=%.0f ratio=%.2f", goal_gbps, g / goal_gbps);
            }
            std::printf(" xor_gbps=%.2f\n", lim != nullptr ? gbps(bytes, lim->median) : 0.0);
        } else if (f.kind == "decode") {
            if (t == nullptr) {
                std::printf("fec_bench decode k=%u h=%u block=%zu not run\n", f.k, f.h, f.block);
                continue;
            }
            std::printf("fec_bench decode k=%u h=%u block=%zu missing=%u gbps=%.2f min_gbps=%.2f "
                        "max_gbps=%.2f rebuilt_gbps=%.2f us=%.1f\n",
                        f.k, f.h, f.block, f.h, gbps(std::size_t{f.k} * f.block, t->median),
                        gbps(std::size_t{f.k} * f.block, t->max),
                        gbps(std::size_t{f.k} * f.block, t->min),
                        gbps(std::size_t{f.h} * f.block, t->median), t->median);
        } else if (f.kind == "setup") {
            figure x = f;
            x.kind = "kxk";
            const auto* alt = rep.find(x);
            if (t == nullptr || alt == nullptr) {
                std::printf("fec_bench decode_setup k=%u h=%u not run\n", f.k, f.h);
                continue;
            }
            std::printf("fec_bench decode_setup k=%u h=%u missing=%u us=%.1f min_us=%.1f "
                        "max_us=%.1f kxk_us=%.1f ratio=%.1f\n",
                        f.k, f.h, f.h, t->median, t->min, t->max, alt->median,
                        alt->median / t->median);
        } else if (f.kind == "repair_row") {
            figure x = f;
            x.kind = "encode";
            const auto* full = rep.find(x);
            if (t == nullptr) {
                std::printf("fec_bench repair_row k=%u h=%u block=%zu not run\n", f.k, f.h,
                            f.block);
                continue;
            }
            std::printf("fec_bench repair_row k=%u h=%u block=%zu us=%.1f min_us=%.1f "
                        "max_us=%.1f gbps=%.2f full_encode_us=%.1f\n",
                        f.k, f.h, f.block, t->median, t->min, t->max,
                        gbps(std::size_t{f.k} * f.block, t->median),
                        full != nullptr ? full->median : 0.0);
        }
    }
    std::printf("gbps: Gbit/s per CPU second of one core, median of 5 repetitions (min_/max_: "
                "their spread); encode and decode count the group's data bits.\n");
}

} // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    struct kh {
        std::uint32_t k, h;
    };
    const std::vector<kh> shapes{{64, 8}, {239, 16}};
    const std::vector<std::size_t> block_sizes{8800, 1300};

    std::vector<figure> figures;
    for (auto s : shapes) {
        for (auto block : block_sizes) {
            figures.push_back({"encode", s.k, s.h, block, false});
        }
    }
    for (auto block : block_sizes) {
        figures.push_back({"encode", 64, 8, block, true});
    }
    for (auto s : shapes) {
        for (auto block : block_sizes) {
            figures.push_back({"decode", s.k, s.h, block, false});
        }
    }
    for (auto s : shapes) {
        figures.push_back({"setup", s.k, s.h, 1, false});
    }
    for (auto s : shapes) {
        for (auto block : block_sizes) {
            figures.push_back({"repair_row", s.k, s.h, block, false});
        }
    }

    // Every figure's benchmark, plus the limits and alternatives they quote.
    std::vector<figure> benches = figures;
    for (const auto& f : figures) {
        if (f.kind == "encode") {
            benches.push_back({"xor", f.k, f.h, f.block, f.cold});
        } else if (f.kind == "setup") {
            benches.push_back({"kxk", f.k, f.h, 1, false});
        }
    }
    for (const auto& f : benches) {
        const std::string n = key(f);
        benchmark::internal::Benchmark* b = nullptr;
        if (f.kind == "encode") {
            b = benchmark::RegisterBenchmark(n.c_str(), encode_bench, f.k, f.h, f.block, f.cold);
        } else if (f.kind == "xor") {
            b = benchmark::RegisterBenchmark(n.c_str(), xor_bench, f.k, f.block, f.cold);
        } else if (f.kind == "decode") {
            b = benchmark::RegisterBenchmark(n.c_str(), decode_bench, f.k, f.h, f.block);
        } else if (f.kind == "setup") {
            b = benchmark::RegisterBenchmark(n.c_str(), decode_bench, f.k, f.h, std::size_t{1});
        } else if (f.kind == "kxk") {
            b = benchmark::RegisterBenchmark(n.c_str(), kxk_setup_bench, f.k, f.h);
        } else {
            b = benchmark::RegisterBenchmark(n.c_str(), repair_row_bench, f.k, f.h, f.block);
        }
        b->Repetitions(5)
            ->DisplayAggregatesOnly(true)
            ->ComputeStatistics("min", min_of)
            ->ComputeStatistics("max", max_of)
            ->Unit(benchmark::kMicrosecond);
    }
    figure_reporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    print_figures(reporter, figures);
    benchmark::Shutdown();
    return 0;
}
