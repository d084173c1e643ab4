// The line-rate benchmark of the TX path (issue 5): the real dataplane
// runtime over net_null, its TX role driven on this thread with
// tx_iteration(), sending unpaced passes over a real file in the page cache,
// so every block is really read (copied, checksummed, or sealed) per packet.
//
//   meson test -C build --benchmark tx_path --verbose
//   (or run perf/tx_path/tx_path_bench [--seconds S] [--repetitions N]
//    [--file-mib M] [--dir D])
//
// Cases, each for 1300- and 8800-byte blocks:
//   plain, backend=copy        the block copied into the frame
//   plain, backend=zero-copy   the block attached from the mapping as a second
//                              segment (dataplane/app/extbuf.h)
//   plain, backend=zero-copy+csum_offload   (see below)
//   aes256-gcm, backend=openssl / cryptodev:crypto_aesni_mb0 /
//                              cryptodev:crypto_aesni_mb0+csum_offload /
//                              cryptodev:crypto_aesni_gcm0
//
// Per case one line (the format; backend= added after suite):
//   tx_path suite=S backend=K block=B gbps_per_core=X cycles_per_packet=Y
//           limit_gbps=Z ratio=R
// from the median of the repetitions, then a `tx_path_dist` line with
// min/median/max. The limit is measured in the same run: for aes256-gcm
// `openssl speed -evp aes-256-gcm -bytes B -seconds 2`, for plain the
// memcpy bandwidth of B-byte blocks read from the same file.
//
// Time: the TSC and the thread's CPU time are both taken around the TX
// iterations only (the service thread's work — prefetching the file ahead of
// the cursor, reclaiming passes — runs between them, untimed, as it runs on
// another core in the real process). gbps_per_core and cycles_per_packet use
// CPU time (cycles = CPU seconds x TSC Hz), like `openssl speed`, so the
// ratio compares like with like on a shared machine; the wall-clock (TSC)
// figures and the share of wall time the thread got are on the dist line.
//
// net_null offers no checksum offload, so the UDP checksum is computed in
// software over the payload, as on any port without the offload; the
// "+csum_offload" cases set the TX context's offload flags (net_null ignores
// them) to show the CPU's share on a NIC that computes checksums. net_null
// does not advertise RTE_ETH_TX_OFFLOAD_MULTI_SEGS although its TX frees
// chained mbufs like any other, so the zero-copy cases set that bit in the
// runtime's port offloads themselves (what setup_port does, through
// zero_copy_tx_offload(), for the drivers where zero copy is safe).
#include "crypto/secure_memory.h"
#include "crypto/suites.h"
#include "dataplane/app/extbuf.h"
#include "dataplane/app/runtime.h"
#include "dataplane/app/tx_lcore.h"
#include "perf/support/openssl_speed.h"
#include "protocol/blocks.h"
#include "protocol/fec_groups.h"
#include "tests/support/test_session.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <map>
#include <memory>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ring_elem.h>
#include <span>
#include <string>
#include <string_view>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <vector>

namespace {

using skycast::perf::max_of;
using skycast::perf::min_of;
using skycast::perf::openssl_speed_gbps;

using namespace skycast;
using namespace skycast::dataplane;
using skycast::dataplane::testing::make_command;

// TX iterations between two untimed service rounds: 8 x 32 frames of 8800
// bytes is 2.2 MiB, under the 4 MiB the service thread prefetches per round,
// so the prefetcher keeps ahead; and the clock reads cost < 1%.
constexpr int iterations_per_chunk = 8;
constexpr std::uint8_t session_slot = 0;

struct settings {
    double seconds = 0.5; // CPU seconds of TX per repetition
    int repetitions = 5;
    std::uint64_t file_mib = 256;
    std::string dir = "/dev/shm";
    std::vector<std::uint32_t> blocks{1300, 8800};
    bool plain_only = false;
};

double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct stats {
    double min = 0, median = 0, max = 0;
};

stats distribution(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    if (v.empty()) {
        return {};
    }
    const std::size_t n = v.size();
    const double median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return {v.front(), median, v.back()};
}

// The file the passes send: pseudo-random bytes, read once so every page is
// in the page cache before anything is timed.
struct bench_file {
    std::string path;
    std::uint64_t size = 0;
    const std::uint8_t* map = nullptr;

    bool create(const settings& s) {
        size = s.file_mib << 20;
        std::string dir = s.dir;
        struct statvfs vfs {};
        if (statvfs(dir.c_str(), &vfs) != 0 ||
            static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_bsize < size + (64u << 20)) {
            dir = "/tmp"; // tmpfs too small: any file system's page cache will do
        }
        path = dir + "/skycast-tx-path-" + std::to_string(getpid());
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) {
            std::fprintf(stderr, "cannot create %s: %s\n", path.c_str(), std::strerror(errno));
            return false;
        }
        std::vector<std::uint64_t> chunk(1 << 17); // 1 MiB
        std::uint64_t x = 0x9E3779B97F4A7C15ull;
        for (std::uint64_t done = 0; done < size; done += chunk.size() * 8) {
            for (auto& w : chunk) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                w = x;
            }
            if (::write(fd, chunk.data(), chunk.size() * 8) !=
                static_cast<ssize_t>(chunk.size() * 8)) {
                std::fprintf(stderr, "cannot write %s: %s\n", path.c_str(), std::strerror(errno));
                ::close(fd);
                return false;
            }
        }
        void* m = ::mmap(nullptr, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
        ::close(fd);
        if (m == MAP_FAILED) {
            std::fprintf(stderr, "cannot map %s: %s\n", path.c_str(), std::strerror(errno));
            return false;
        }
        map = static_cast<const std::uint8_t*>(m);
        volatile std::uint64_t sink = 0;
        for (std::uint64_t at = 0; at < size; at += 64) {
            sink = sink + map[at];
        }
        return true;
    }

    ~bench_file() {
        if (map != nullptr) {
            ::munmap(const_cast<std::uint8_t*>(map), size);
        }
        if (!path.empty()) {
            ::unlink(path.c_str());
        }
    }
};

// memcpy of B-byte blocks from the file into one frame-sized buffer, as the
// copy path does, in Gbit/s per CPU second.
double memcpy_gbps(const bench_file& f, std::uint32_t block, double seconds) {
    std::vector<std::uint8_t> frame(block + 128);
    std::uint64_t bytes = 0;
    std::uint64_t at = 0;
    const double t0 = thread_cpu_seconds();
    double t = t0;
    while (t - t0 < seconds) {
        for (int i = 0; i < 4096; ++i) {
            if (at + block > f.size) {
                at = 0;
            }
            std::memcpy(frame.data() + 66, f.map + at, block);
            asm volatile("" : : "r"(frame.data()) : "memory");
            at += block;
            bytes += block;
        }
        t = thread_cpu_seconds();
    }
    return static_cast<double>(bytes) * 8 / (t - t0) / 1e9;
}

struct sample {
    double cpu_seconds = 0;
    double wall_seconds = 0;
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    // FEC cases: PARITY frames sent, and the CPU time of the service
    // rounds between TX iterations (another core in the real process, so
    // not in cpu_seconds). The service thread encodes the parity ahead of
    // the TX lcore (dataplane/core/parity_ahead.h), so it is counted here.
    std::uint64_t parity = 0;
    double service_cpu_seconds = 0;
};

// FEC cases: groups of fec_k data blocks (docs/protocol.md §17).
constexpr std::uint32_t fec_k = 64;

std::uint32_t counter_index(runtime& rt, std::string_view name) {
    const auto view = rt.shared();
    for (std::uint32_t i = 0; i < view.header().counter_count; ++i) {
        if (name == view.header().counters[i].name) {
            return i;
        }
    }
    std::fprintf(stderr, "no counter %.*s\n", static_cast<int>(name.size()), name.data());
    std::exit(1);
}

class bench_runtime {
public:
    bench_runtime(std::unique_ptr<runtime> rt, const bench_file& file, std::uint32_t smallest_block)
        : _rt(std::move(rt)), _file(file) {
        _fileseg = counter_index(*_rt, "tx.fileseg");
        _fileseg_bytes = counter_index(*_rt, "tx.fileseg.bytes");
        _parity = counter_index(*_rt, "tx.parity");
        _drops = {
            counter_index(*_rt, "tx.drop.no_mbuf"), counter_index(*_rt, "tx.drop.seal_failed"),
            counter_index(*_rt, "tx.drop.port_full"), counter_index(*_rt, "tx.drop.parity_failed")};
        // Pass 1 sends every block: the slot's bitmap all ones (enough for
        // the smallest block size of the run).
        std::uint64_t* bits = _rt->shared().bitmap(0);
        const std::uint64_t blocks = file.size / smallest_block + 1;
        for (std::uint64_t b = 0; b < blocks; ++b) {
            bits[b >> 6] |= std::uint64_t{1} << (b & 63);
        }
    }

    runtime& rt() { return *_rt; }

    bool set_keys() {
        const auto suite =
            crypto::make_suite(protocol::key_type::aes256_gcm, protocol::hash_type::sha256,
                               protocol::signature_type::authenc);
        if (!suite.ok()) {
            return false;
        }
        auto keys = make_command(api::command_kind::set_session_keys);
        keys.session.session = session_slot;
        keys.keys.key_type = static_cast<std::uint8_t>(protocol::key_type::aes256_gcm);
        keys.keys.hash_type = static_cast<std::uint8_t>(protocol::hash_type::sha256);
        keys.keys.sig_type = static_cast<std::uint8_t>(protocol::signature_type::authenc);
        keys.keys.block_bytes = static_cast<std::uint32_t>(crypto::key_block_size(*suite));
        for (std::uint32_t i = 0; i < keys.keys.block_bytes; ++i) {
            keys.keys.block[i] = static_cast<std::uint8_t>(i * 7 + 1);
        }
        return _rt->service().execute(keys).status == api::reply_status::ok;
    }

    // One repetition: passes of `block`-byte blocks until `seconds` of CPU
    // time went into TX iterations.
    sample run(std::uint32_t block, bool encrypted, double seconds, std::uint8_t parity = 0) {
        sample s;
        const std::uint64_t packets0 = total(_fileseg);
        const std::uint64_t bytes0 = total(_fileseg_bytes);
        const std::uint64_t parity0 = total(_parity);
        const double hz = static_cast<double>(rte_get_tsc_hz());
        std::uint64_t wall_cycles = 0;
        while (s.cpu_seconds < seconds) {
            if (!_active) {
                start_pass(block, encrypted, parity);
            }
            const double c0 = thread_cpu_seconds();
            const std::uint64_t t0 = rte_rdtsc();
            for (int i = 0; i < iterations_per_chunk; ++i) {
                (void)tx_iteration(_rt->tx());
            }
            const std::uint64_t t1 = rte_rdtsc();
            const double c1 = thread_cpu_seconds();
            wall_cycles += t1 - t0;
            s.cpu_seconds += c1 - c0;
            service_round();
            s.service_cpu_seconds += thread_cpu_seconds() - c1;
        }
        stop_pass();
        s.wall_seconds = static_cast<double>(wall_cycles) / hz;
        s.packets = total(_fileseg) - packets0;
        s.bytes = total(_fileseg_bytes) - bytes0;
        s.parity = total(_parity) - parity0;
        return s;
    }

    std::uint64_t drops() const {
        std::uint64_t n = 0;
        for (auto i : _drops) {
            n += total(i);
        }
        return n;
    }

private:
    std::uint64_t total(std::uint32_t i) const { return _rt->shared().counter_total(i); }

    void start_pass(std::uint32_t block, bool encrypted, std::uint8_t parity) {
        auto start = make_command(api::command_kind::start_pass);
        start.file_slot = 0;
        start.file_id = 1;
        start.pass = ++_passes;
        start.rate_bps = 0; // unpaced
        start.session.session = encrypted ? session_slot : api::no_session_keys;
        start.geometry = {.file_size = _file.size, .block_size = block};
        if (parity != 0) {
            // Every group of the file carries `parity` PARITY blocks, as a
            // first pass with proactive parity does.
            const auto layout = protocol::section_layout::make(_file.size, block);
            const protocol::fec_groups groups(*layout, fec_k);
            api::parity_entry* table = _rt->shared().parity_table(0);
            for (std::uint32_t g = 0; g < groups.count(); ++g) {
                table[g] = {.count = parity, .first_index = static_cast<std::uint8_t>(fec_k)};
            }
            start.fec_group_blocks = fec_k;
            start.parity_port = 1045;
        }
        std::snprintf(start.path, sizeof start.path, "%s", _file.path.c_str());
        for (int attempt = 0; attempt < 1000; ++attempt) {
            const api::reply r = _rt->service().execute(start);
            if (r.status == api::reply_status::ok) {
                _active = true;
                return;
            }
            if (r.status != api::reply_status::busy) {
                std::fprintf(stderr, "start_pass refused: status %d detail %d\n",
                             static_cast<int>(r.status), r.detail);
                std::exit(1);
            }
            (void)tx_iteration(_rt->tx());
            service_round();
        }
        std::fprintf(stderr, "start_pass stayed busy\n");
        std::exit(1);
    }

    void stop_pass() {
        if (!_active) {
            return;
        }
        (void)_rt->service().execute(make_command(api::command_kind::stop_pass));
        for (int i = 0; i < 100000 && _active; ++i) {
            (void)tx_iteration(_rt->tx());
            service_round();
        }
    }

    // What the service thread would do meanwhile: reclaim, prefetch; and
    // what control would: read the pass-end events.
    void service_round() {
        (void)_rt->service().run_once();
        api::tx_event e{};
        while (rte_ring_sc_dequeue_elem(_rt->res().tx_event, &e, sizeof e) == 0) {
            if (e.kind == api::tx_event_kind::pass_stopped && e.detail != 0) {
                std::fprintf(stderr, "pass stopped early: error %d\n", e.detail);
                std::exit(1);
            }
            _active = false;
        }
        // Other rings fill otherwise: replies and received datagrams (none expected).
        api::reply r{};
        while (rte_ring_sc_dequeue_elem(_rt->res().reply, &r, sizeof r) == 0) {
        }
        if (_active) {
            return;
        }
        // The pass is over: make sure it has been reclaimed before the next.
        (void)_rt->service().run_once();
    }

    std::unique_ptr<runtime> _rt;
    const bench_file& _file;
    std::uint32_t _fileseg = 0;
    std::uint32_t _fileseg_bytes = 0;
    std::uint32_t _parity = 0;
    std::vector<std::uint32_t> _drops;
    std::uint32_t _passes = 0;
    bool _active = false;
};

std::unique_ptr<bench_runtime> make_runtime(const std::string& port, seal_backend_kind backend,
                                            const std::string& cryptodev, const bench_file& file,
                                            std::uint32_t smallest_block) {
    dataplane_options o;
    o.port.device = port;
    o.port.mtu = 9000;
    o.port.address = 0x0A4D0001;
    o.port.prefix_length = 24;
    o.rx_lcore = o.tx_lcore = rte_lcore_id();
    o.mbufs = 8191;
    o.mbuf_cache = 256;
    o.control_mbufs = 255;
    o.max_files = 2;
    o.max_blocks_per_file = static_cast<std::uint32_t>(file.size / smallest_block + 64);
    o.seal_backend = backend;
    o.cryptodev_device = cryptodev;
    o.telemetry = false;
    std::string error;
    auto rt = runtime::create(o, error);
    if (!rt) {
        std::fprintf(stderr, "runtime on %s: %s\n", port.c_str(), error.c_str());
        return nullptr;
    }
    if (backend == seal_backend_kind::cryptodev &&
        rt->tx().sealer->backend() != seal::backend_kind::cryptodev) {
        std::fprintf(stderr, "cryptodev %s unavailable: the runtime fell back to OpenSSL\n",
                     cryptodev.c_str());
        return nullptr;
    }
    return std::make_unique<bench_runtime>(std::move(rt), file, smallest_block);
}

// One way of sending, measured per block size.
struct mode {
    const char* suite;   // plain | aes256-gcm
    const char* backend; // what the line's backend= says
    bool encrypted = false;
    bool multi_segment = false; // the port's MULTI_SEGS offload bit: zero copy
    bool checksum_offload = false;
    std::uint8_t parity = 0;       // FEC: PARITY blocks per group of fec_k
    const char* without = nullptr; // FEC: the backend= of the same case without parity
};

struct case_result {
    std::string suite;
    std::string backend;
    std::uint32_t block = 0;
    std::vector<double> gbps;   // per CPU second
    std::vector<double> cycles; // CPU cycles per packet
    std::vector<double> wall_gbps;
    std::vector<double> cpu_share;
    double limit = 0;
    std::uint8_t parity = 0;
    std::string without;
    std::vector<double> parity_per_fileseg;
    std::vector<double> service_cpu_per_tx_cpu;
};

void record(case_result& r, const sample& s) {
    const double hz = static_cast<double>(rte_get_tsc_hz());
    if (s.packets == 0 || s.cpu_seconds <= 0) {
        return;
    }
    r.gbps.push_back(static_cast<double>(s.bytes) * 8 / s.cpu_seconds / 1e9);
    r.cycles.push_back(s.cpu_seconds * hz / static_cast<double>(s.packets));
    r.wall_gbps.push_back(static_cast<double>(s.bytes) * 8 / s.wall_seconds / 1e9);
    r.cpu_share.push_back(s.cpu_seconds / s.wall_seconds);
    r.parity_per_fileseg.push_back(static_cast<double>(s.parity) / static_cast<double>(s.packets));
    r.service_cpu_per_tx_cpu.push_back(s.service_cpu_seconds / s.cpu_seconds);
}

void print(const case_result& r) {
    const stats g = distribution(r.gbps);
    const stats c = distribution(r.cycles);
    const stats w = distribution(r.wall_gbps);
    const stats share = distribution(r.cpu_share);
    std::printf("tx_path suite=%s backend=%s block=%u gbps_per_core=%.2f cycles_per_packet=%.0f "
                "limit_gbps=%.2f ratio=%.2f\n",
                r.suite.c_str(), r.backend.c_str(), r.block, g.median, c.median, r.limit,
                r.limit > 0 ? g.median / r.limit : 0.0);
    std::printf(
        "tx_path_dist suite=%s backend=%s block=%u reps=%zu gbps_per_core min=%.2f "
        "median=%.2f max=%.2f cycles_per_packet min=%.0f median=%.0f max=%.0f "
        "wall_gbps median=%.2f cpu_share median=%.2f min=%.2f service_cpu_per_tx_cpu=%.2f\n",
        r.suite.c_str(), r.backend.c_str(), r.block, r.gbps.size(), g.min, g.median, g.max, c.min,
        c.median, c.max, w.median, share.median, share.min,
        distribution(r.service_cpu_per_tx_cpu).median);
    if (r.parity != 0) {
        std::printf("tx_path_parity suite=%s backend=%s block=%u k=%u parity_per_group=%u "
                    "parity_per_fileseg=%.3f service_cpu_per_tx_cpu=%.2f\n",
                    r.suite.c_str(), r.backend.c_str(), r.block, fec_k, r.parity,
                    distribution(r.parity_per_fileseg).median,
                    distribution(r.service_cpu_per_tx_cpu).median);
    }
    std::fflush(stdout);
}

// The limits, measured once per block size in this run.
class limits {
public:
    limits(const bench_file& file, double seconds, int repetitions)
        : _file(file), _seconds(seconds), _repetitions(repetitions) {}

    double plain(std::uint32_t block) {
        auto& v = _memcpy[block];
        if (v == 0) {
            std::vector<double> g;
            for (int rep = 0; rep < _repetitions; ++rep) {
                g.push_back(memcpy_gbps(_file, block, _seconds / 2));
            }
            v = distribution(g).median;
        }
        return v;
    }
    double gcm(std::uint32_t block) {
        auto& v = _openssl[block];
        if (v == 0) {
            v = openssl_speed_gbps("aes-256-gcm", block, 2);
        }
        return v;
    }

private:
    const bench_file& _file;
    double _seconds;
    int _repetitions;
    std::map<std::uint32_t, double> _memcpy;
    std::map<std::uint32_t, double> _openssl;
};

// Runs every mode on one runtime, for each block size, the modes' repetitions
// interleaved so the machine's noise hits them alike.
bool run_modes(bench_runtime& b, std::span<const mode> modes, const settings& s, limits& lim,
               std::vector<case_result>& results) {
    resources& res = b.rt().res();
    tx_context& tx = b.rt().tx();
    const std::uint64_t configured = res.tx_offload;
    const net::tx_checksum_offload configured_checksums = tx.offload;
    for (std::uint32_t block : s.blocks) {
        std::vector<case_result> rs;
        for (const mode& m : modes) {
            rs.push_back(case_result{.suite = m.suite,
                                     .backend = m.backend,
                                     .block = block,
                                     .parity = m.parity,
                                     .without = m.without != nullptr ? m.without : ""});
        }
        for (int rep = 0; rep < s.repetitions; ++rep) {
            for (std::size_t i = 0; i < modes.size(); ++i) {
                const mode& m = modes[i];
                res.tx_offload = m.multi_segment
                                     ? configured | RTE_ETH_TX_OFFLOAD_MULTI_SEGS
                                     : configured & ~std::uint64_t{RTE_ETH_TX_OFFLOAD_MULTI_SEGS};
                // net_null ignores the request: this is the CPU's share on a
                // NIC that computes the checksums.
                tx.offload = m.checksum_offload ? net::tx_checksum_offload{true, true}
                                                : configured_checksums;
                record(rs[i], b.run(block, m.encrypted, s.seconds, m.parity));
            }
        }
        res.tx_offload = configured;
        tx.offload = configured_checksums;
        for (std::size_t i = 0; i < modes.size(); ++i) {
            rs[i].limit = modes[i].encrypted ? lim.gcm(block) : lim.plain(block);
            print(rs[i]);
            results.push_back(rs[i]);
        }
    }
    if (zero_copy_frames_in_flight(res.port) != 0) {
        std::fprintf(stderr, "zero-copy frames still in flight on net_null: %llu\n",
                     static_cast<unsigned long long>(zero_copy_frames_in_flight(res.port)));
        return false;
    }
    if (b.drops() != 0) {
        std::fprintf(stderr, "TX drops: %llu\n", static_cast<unsigned long long>(b.drops()));
        return false;
    }
    return true;
}

int parse(int argc, char** argv, settings& s) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view a(argv[i]);
        const bool has_value = i + 1 < argc;
        if (a == "--seconds" && has_value) {
            s.seconds = std::strtod(argv[++i], nullptr);
        } else if (a == "--repetitions" && has_value) {
            s.repetitions = std::atoi(argv[++i]);
        } else if (a == "--file-mib" && has_value) {
            s.file_mib = std::strtoull(argv[++i], nullptr, 10);
        } else if (a == "--dir" && has_value) {
            s.dir = argv[++i];
        } else if (a == "--blocks" && has_value) {
            s.blocks.clear();
            for (char* p = argv[++i]; *p != '\0';) {
                char* end = nullptr;
                s.blocks.push_back(static_cast<std::uint32_t>(std::strtoul(p, &end, 10)));
                p = *end == ',' ? end + 1 : end;
                if (end == p && *p != '\0') {
                    break;
                }
            }
        } else if (a == "--plain-only") {
            s.plain_only = true;
        } else {
            std::fprintf(stderr,
                         "usage: %s [--seconds S] [--repetitions N] [--file-mib M] [--dir D] "
                         "[--blocks B,B...] [--plain-only]\n",
                         argv[0]);
            return 2;
        }
    }
    const bool blocks_ok =
        !s.blocks.empty() && std::all_of(s.blocks.begin(), s.blocks.end(),
                                         [](std::uint32_t b) { return b >= 64 && b <= 8800; });
    if (s.seconds <= 0 || s.repetitions < 1 || s.file_mib < 16 || !blocks_ok) {
        std::fprintf(stderr,
                     "--seconds > 0, --repetitions >= 1, --file-mib >= 16, blocks 64..8800\n");
        return 2;
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    settings s;
    if (int rc = parse(argc, argv, s); rc != 0) {
        return rc;
    }
    // In-process EAL, no hugepages; one net_null port per runtime (closing a
    // runtime's port releases it), and the cryptodevs the engines attach to.
    const std::string prefix = "--file-prefix=sky-txperf-" + std::to_string(getpid());
    std::vector<std::string> args{argv[0],
                                  "-l",
                                  "0",
                                  "--no-huge",
                                  "--no-pci",
                                  "--no-shconf",
                                  "-m",
                                  "1024",
                                  prefix,
                                  "--vdev=net_null0",
                                  "--vdev=net_null1",
                                  "--vdev=net_null2",
                                  "--vdev=crypto_aesni_mb0",
                                  "--vdev=crypto_aesni_gcm0",
                                  "--log-level=*:warning"};
    std::vector<char*> eal;
    for (auto& a : args) {
        eal.push_back(a.data());
    }
    if (rte_eal_init(static_cast<int>(eal.size()), eal.data()) < 0) {
        std::fprintf(stderr, "EAL init failed\n");
        return 1;
    }
    if (crypto::initialize() != crypto::crypto_error::ok) {
        std::fprintf(stderr, "crypto init failed\n");
        return 1;
    }
    int rc = 0;
    {
        bench_file file;
        if (!file.create(s)) {
            rte_eal_cleanup();
            return 1;
        }
        std::printf("tx_path: %llu MiB file %s in the page cache; %d repetitions of %.2f CPU s "
                    "per case; TSC %.3f GHz\n",
                    static_cast<unsigned long long>(s.file_mib), file.path.c_str(), s.repetitions,
                    s.seconds, static_cast<double>(rte_get_tsc_hz()) / 1e9);
        limits lim(file, s.seconds, s.repetitions);
        std::vector<case_result> results;

        // OpenSSL engine: plain both ways, AES-256-GCM through OpenSSL.
        const mode openssl_modes[] = {
            {"plain", "copy", false, false, false},
            {"plain", "zero-copy", false, true, false},
            {"plain", "zero-copy+csum_offload", false, true, true},
            {"aes256-gcm", "openssl", true, false, false},
            // FEC: 8 PARITY per 64 data blocks (12.5 %), encoded (ISA-L)
            // by the service thread, framed and sealed by the TX lcore, as in a first pass with
            // proactive parity; the figure is FILESEG data per core.
            {"plain", "copy+fec64:8", false, false, false, 8, "copy"},
            {"aes256-gcm", "openssl+fec64:8", true, false, false, 8, "openssl"},
        };
        const mode mb_modes[] = {
            {"aes256-gcm", "cryptodev:crypto_aesni_mb0", true, false, false},
            {"aes256-gcm", "cryptodev:crypto_aesni_mb0+csum_offload", true, false, true},
        };
        const mode gcm_modes[] = {
            {"aes256-gcm", "cryptodev:crypto_aesni_gcm0", true, false, false},
        };
        struct engine {
            const char* port;
            seal_backend_kind backend;
            const char* device;
            std::span<const mode> modes;
        };
        const engine engines[] = {
            {"net_null0", seal_backend_kind::openssl, "",
             s.plain_only ? std::span<const mode>(openssl_modes, 3) : openssl_modes},
            {"net_null1", seal_backend_kind::cryptodev, "crypto_aesni_mb0", mb_modes},
            {"net_null2", seal_backend_kind::cryptodev, "crypto_aesni_gcm0", gcm_modes},
        };
        for (const engine& e : engines) {
            if (s.plain_only && e.backend != seal_backend_kind::openssl) {
                continue;
            }
            auto b = make_runtime(e.port, e.backend, e.device, file,
                                  *std::min_element(s.blocks.begin(), s.blocks.end()));
            if (!b || !b->set_keys() || !run_modes(*b, e.modes, s, lim, results)) {
                rc = 1;
            }
        }

        std::printf("\nsummary (medians; goal: aes256-gcm ratio >= 0.85, plain >= 40 Gbit/s per "
                    "core)\n");
        for (const auto& r : results) {
            const double g = distribution(r.gbps).median;
            if (r.parity != 0) {
                // Issue 14: FILESEG data per core with parity on, against
                // the same case without, in this run.
                const auto base = std::find_if(results.begin(), results.end(), [&](const auto& o) {
                    return o.suite == r.suite && o.block == r.block && o.backend == r.without;
                });
                const double without = base == results.end() ? 0 : distribution(base->gbps).median;
                const double ratio = without > 0 ? g / without : 0;
                // What the encoding costs the service thread: its CPU per TX
                // CPU second, beside the same figure without parity.
                const double service = distribution(r.service_cpu_per_tx_cpu).median;
                const double service_without =
                    base == results.end() ? 0 : distribution(base->service_cpu_per_tx_cpu).median;
                std::printf("  %-10s %-40s %5u %7.2f Gbit/s  ratio to %s %.2f  %s  (service CPU "
                            "per TX CPU %.2f, without parity %.2f)\n",
                            r.suite.c_str(), r.backend.c_str(), r.block, g, r.without.c_str(),
                            ratio, ratio >= 0.8 ? "goal met" : "goal NOT met", service,
                            service_without);
                continue;
            }
            const bool goal = r.suite == "plain" ? g >= 40 : r.limit > 0 && g / r.limit >= 0.85;
            std::printf("  %-10s %-40s %5u %7.2f Gbit/s  ratio %.2f  %s\n", r.suite.c_str(),
                        r.backend.c_str(), r.block, g, r.limit > 0 ? g / r.limit : 0.0,
                        goal ? "goal met" : "goal NOT met");
        }
    }
    rte_eal_cleanup();
    return rc;
}
