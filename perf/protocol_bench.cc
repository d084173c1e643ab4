// Google Benchmark: the wire-format library's data-path operations.
//
//   meson test -C build --benchmark --verbose          (or run perf/protocol_bench)
//
// Every benchmark runs 5 repetitions and reports their mean, median, stddev,
// min and max (--benchmark_out=FILE keeps the single runs too): one number
// from one run says little on a shared CI machine.
//
// Each FILESEG figure carries, as its label, the physical limit it competes
// with: the time a 10 Gb/s link needs to carry that datagram (UFTP payload +
// UDP 8 + IPv4 20 + Ethernet 14 + FCS 4 + preamble 8 + inter-frame gap 12
// bytes). A codec operation well below that budget is not what limits a
// sender or receiver at line rate.
#include "perf/support/openssl_speed.h"
#include "protocol/codec.h"
#include "protocol/nak_bitmap.h"

#include <algorithm>
#include <benchmark/benchmark.h>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace {

using namespace skycast::protocol;

// --- Reporting ----------------------------------------------------------------

using skycast::perf::max_of;
using skycast::perf::min_of;

// 5 repetitions (of the default 0.5 s each): the spread between them is the
// figure's error bar. Only the aggregates are printed on the console.
void distribution(benchmark::internal::Benchmark* b) {
    b->Repetitions(5)
        ->DisplayAggregatesOnly(true)
        ->ComputeStatistics("min", min_of)
        ->ComputeStatistics("max", max_of);
}

constexpr std::size_t ethernet_ipv4_udp_overhead = 8 + 20 + 14 + 4 + 8 + 12;

std::string line_rate_label(std::size_t datagram_bytes) {
    const double ns = static_cast<double>((datagram_bytes + ethernet_ipv4_udp_overhead) * 8) / 10.0;
    return "10GbE: " + std::to_string(static_cast<long>(ns)) + " ns/datagram";
}

// --- Fixtures -------------------------------------------------------------------

constexpr uftp_header sample_header{0x1234, 0x0a000001, 0xabcdef01, 1, 0x20, 0x10};

fileseg_msg sample_fileseg(std::span<const std::uint8_t> data) {
    fileseg_msg m;
    m.file_id = 1;
    m.section = 3;
    m.sec_block = 517;
    m.data = data;
    return m;
}

std::vector<std::uint8_t> block_data(std::size_t block_size) {
    std::vector<std::uint8_t> data(block_size);
    std::iota(data.begin(), data.end(), std::uint8_t{0});
    return data;
}

// An encoded FILESEG datagram carrying one block of `block_size` bytes.
std::vector<std::uint8_t> fileseg_datagram(std::size_t block_size) {
    const auto data = block_data(block_size);
    std::vector<std::uint8_t> out(fileseg_headers_size(false) + block_size);
    const auto n = encode(sample_header, sample_fileseg(data), out);
    if (!n.ok() || *n != out.size()) {
        std::abort();
    }
    return out;
}

// A NAK bitmap for `blocks` blocks with `permille`/1000 of them missing, at
// positions drawn from a generator seeded with `seed`, so that every run scans
// the same maps.
std::vector<std::uint8_t> nak_bitmap(std::uint32_t blocks, std::uint32_t permille,
                                     std::uint32_t seed = 20261121) {
    std::vector<std::uint8_t> bits(nak_bitmap_bytes(blocks));
    nak_bitmap_writer writer(bits, blocks);
    std::vector<std::uint32_t> order(blocks);
    std::iota(order.begin(), order.end(), 0u);
    std::mt19937 rng(seed);
    std::shuffle(order.begin(), order.end(), rng);
    const auto missing = std::max<std::uint32_t>(
        1, static_cast<std::uint32_t>(std::uint64_t{blocks} * permille / 1000));
    for (std::uint32_t i = 0; i < missing; ++i) {
        writer.set_missing(order[i]);
    }
    return bits;
}

// A STATUS datagram for a section of `blocks` blocks, 2% of them missing, with
// the TFMCC ack extension a congestion-controlled client adds.
std::vector<std::uint8_t> status_datagram(std::uint32_t blocks) {
    const auto bits = nak_bitmap(blocks, 20);
    status_msg m;
    m.file_id = 1;
    m.section = 3;
    m.tfmcc = tfmcc_ack_info_ext{0x02, 7, 0x1234, 0x0a000002, {1700000000, 5}};
    m.naks = bits;
    std::vector<std::uint8_t> out(max_datagram_size);
    const auto n = encode(sample_header, m, out);
    if (!n.ok()) {
        std::abort();
    }
    out.resize(*n);
    return out;
}

// --- FILESEG --------------------------------------------------------------------

// The dataplane's zero-copy path: only the 24 header bytes are written, the
// block data is placed by the caller. Arg: block size (for the label only).
void bm_encode_fileseg_headers(benchmark::State& state) {
    const auto block_size = static_cast<std::size_t>(state.range(0));
    const fileseg_msg msg = sample_fileseg({});
    std::uint8_t out[fileseg_headers_size(true)];
    for (auto _ : state) {
        auto n = encode_fileseg_headers(sample_header, msg, out);
        benchmark::DoNotOptimize(n);
        benchmark::ClobberMemory(); // the header bytes must really be stored
    }
    state.SetItemsProcessed(state.iterations());
    state.SetLabel(line_rate_label(fileseg_headers_size(false) + block_size));
}
BENCHMARK(bm_encode_fileseg_headers)->Apply(distribution)->Arg(1300)->Arg(8800);

// A whole FILESEG, block data copied into the datagram. Arg: block size.
void bm_encode_fileseg(benchmark::State& state) {
    const auto data = block_data(static_cast<std::size_t>(state.range(0)));
    const fileseg_msg msg = sample_fileseg(data);
    std::vector<std::uint8_t> out(fileseg_headers_size(false) + data.size());
    for (auto _ : state) {
        auto n = encode(sample_header, msg, out);
        benchmark::DoNotOptimize(n);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(out.size()));
    state.SetLabel(line_rate_label(out.size()));
}
BENCHMARK(bm_encode_fileseg)->Apply(distribution)->Arg(1300)->Arg(8800);

// One decode of `datagram` per iteration with a data-path decoder.
template <class Msg, wire_error (*Decode)(std::span<const std::uint8_t>, uftp_header&, Msg&)>
void run_decoder(benchmark::State& state, const std::vector<std::uint8_t>& datagram) {
    for (auto _ : state) {
        // The decoder may not assume the buffer unchanged between iterations.
        benchmark::DoNotOptimize(datagram.data());
        uftp_header header;
        Msg msg;
        const wire_error e = Decode(datagram, header, msg);
        benchmark::DoNotOptimize(e);
        benchmark::DoNotOptimize(header);
        benchmark::DoNotOptimize(msg);
    }
    state.SetItemsProcessed(state.iterations());
}

// decode_fileseg() of a FILESEG datagram: header checks and a span over the
// data, no copy. Bytes/s counts the whole datagram. Arg: block size.
void bm_decode_fileseg(benchmark::State& state) {
    const auto datagram = fileseg_datagram(static_cast<std::size_t>(state.range(0)));
    run_decoder<fileseg_msg, decode_fileseg>(state, datagram);
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(datagram.size()));
    state.SetLabel(line_rate_label(datagram.size()));
}
BENCHMARK(bm_decode_fileseg)->Apply(distribution)->Arg(1300)->Arg(8800);

// --- STATUS ---------------------------------------------------------------------

// decode_status() of a STATUS with TFMCC extension and a NAK bitmap for a
// 10400-block section (the largest section at the default 1300-byte block).
// The bitmap is not scanned: see the nak_* benchmarks.
void bm_decode_status(benchmark::State& state) {
    const auto datagram = status_datagram(static_cast<std::uint32_t>(state.range(0)));
    run_decoder<status_msg, decode_status>(state, datagram);
}
BENCHMARK(bm_decode_status)->Apply(distribution)->Arg(10400);

// --- NAK bitmap scans -----------------------------------------------------------
// Args: section blocks (10400: default block size; 65536: the section size cap,
// reached with blocks of 8192 bytes or more), and missing blocks in 1/1000
// (1 = 0.1%, 20 = 2%, 500 = 50%). One iteration scans one whole section:
// items/s counts blocks scanned, bytes/s bitmap bytes, "missing" the blocks
// found per scan.
//
// The iterations take turns over 16 different bitmaps of the same density, as
// a server scans the STATUS of many clients: scanning one fixed bitmap over and
// over lets the branch predictor learn it, which flattered the bit-by-bit
// part of next_missing() 4x (10400 blocks, 50% missing: 13 us instead of 55 us).
// 16 bitmaps of 8 KiB still fit in L2.
struct nak_fixture {
    static constexpr std::size_t maps = 16;
    std::uint32_t blocks;
    std::vector<std::vector<std::uint8_t>> bits;
    explicit nak_fixture(const benchmark::State& state)
        : blocks(static_cast<std::uint32_t>(state.range(0))) {
        for (std::uint32_t seed = 0; seed < maps; ++seed) {
            bits.push_back(nak_bitmap(blocks, static_cast<std::uint32_t>(state.range(1)), seed));
        }
    }
    std::span<const std::uint8_t> map(std::size_t iteration) const {
        return bits[iteration % maps];
    }
    void report(benchmark::State& state, std::uint32_t missing) const {
        state.SetItemsProcessed(state.iterations() * blocks);
        state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bits[0].size()));
        state.counters["missing"] = missing;
    }
};

void nak_args(benchmark::internal::Benchmark* b) {
    for (const std::int64_t blocks : {10400, 65536}) {
        for (const std::int64_t permille : {1, 20, 500}) {
            b->Args({blocks, permille});
        }
    }
    b->ArgNames({"blocks", "permille"});
}

// The retransmit loop's idiom: next_missing() from just past the last hit.
void bm_nak_next_missing(benchmark::State& state) {
    const nak_fixture f(state);
    std::uint32_t found = 0;
    std::size_t n = 0;
    for (auto _ : state) {
        const auto bits = f.map(n++);
        benchmark::DoNotOptimize(bits.data());
        const nak_bitmap_view view(bits, f.blocks);
        found = 0;
        for (std::uint32_t i = view.next_missing(0); i < f.blocks; i = view.next_missing(i + 1)) {
            ++found;
            benchmark::DoNotOptimize(i);
        }
    }
    f.report(state, found);
}
BENCHMARK(bm_nak_next_missing)->Apply(distribution)->Apply(nak_args);

void bm_nak_for_each_missing(benchmark::State& state) {
    const nak_fixture f(state);
    std::uint32_t found = 0;
    std::size_t n = 0;
    for (auto _ : state) {
        const auto bits = f.map(n++);
        benchmark::DoNotOptimize(bits.data());
        const nak_bitmap_view view(bits, f.blocks);
        found = 0;
        view.for_each_missing([&](std::uint32_t i) {
            ++found;
            benchmark::DoNotOptimize(i);
        });
    }
    f.report(state, found);
}
BENCHMARK(bm_nak_for_each_missing)->Apply(distribution)->Apply(nak_args);

void bm_nak_count_missing(benchmark::State& state) {
    const nak_fixture f(state);
    std::uint32_t found = 0;
    std::size_t n = 0;
    for (auto _ : state) {
        const auto bits = f.map(n++);
        benchmark::DoNotOptimize(bits.data());
        found = nak_bitmap_view(bits, f.blocks).count_missing();
        benchmark::DoNotOptimize(found);
    }
    f.report(state, found);
}
BENCHMARK(bm_nak_count_missing)->Apply(distribution)->Apply(nak_args);

} // namespace

BENCHMARK_MAIN();
