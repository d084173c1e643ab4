// skycast-linkem: a satellite link emulator between two network interfaces,
// for the lab (the kernel here has no netem).
//
//   skycast-linkem --a hubside --b bridgeside --delay 250ms --rate 1G --loss 1
//                  [--return-delay 250ms --return-rate 2M --return-loss 1]
//                  [--jitter 2ms] [--burst-loss PCT] [--reorder PCT] [--dup PCT]
//                  [--queue 50ms] [--seed N] [--stats FILE] [--realtime]
//
// Frames that arrive on --a go out of --b ("forward": the hub's data towards
// the receivers) and the other way ("return"). Each direction applies, in
// order: the rate cap with its queue (bottleneck.h: a full queue drops), then
// the link's loss, duplication, delay, jitter and reordering — decided by the
// simulator's link model (tests/sim/link_model.h), so the simulator and the
// lab impair traffic by one definition.
//
// It never busy-polls: one thread sleeps in ppoll(2) until a frame arrives or
// the next one is due. What it did is counted per direction, and so is
// anything it dropped without being told to (the kernel's drops on its
// receive sockets, failed sends, a memory cap) and how late it delivered
// (a starved emulator shows up as lateness and unplanned drops, never as the
// product's loss). The counters go to --stats as JSON every 200 ms and at
// exit (SIGINT/SIGTERM), and to stdout at exit.

#include "config/values.h"
#include "perf/linkem/bottleneck.h"
#include "tests/sim/link_model.h"

#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <queue>
#include <random>
#include <sched.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

using skycast::linkem::bottleneck;
using skycast::sim::link_profile;
using skycast::sim::link_state;

volatile std::sig_atomic_t stop_requested = 0;
extern "C" void on_signal(int) {
    stop_requested = 1;
}

std::uint64_t wall_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

// When the kernel received the frame (SO_TIMESTAMPNS), on the monotonic
// clock; `fallback` when the stamp is missing or later than it.
std::uint64_t arrival_ns(const msghdr& m, std::int64_t wall_minus_mono, std::uint64_t fallback) {
    for (const cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&m), const_cast<cmsghdr*>(c))) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            timespec ts{};
            std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
            const std::int64_t wall =
                static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
            const std::int64_t mono = wall - wall_minus_mono;
            if (mono > 0 && static_cast<std::uint64_t>(mono) <= fallback) {
                return static_cast<std::uint64_t>(mono);
            }
        }
    }
    return fallback;
}

std::uint64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

// Held frames of all directions together: a frame is copied once on arrival
// and sent when due.
constexpr std::uint64_t max_held_bytes = 2ull << 30;
// Frames read per wake-up and socket; bounded so a flood in one direction
// cannot starve deliveries in the other.
constexpr int read_batch = 64;
// Room for one frame: jumbo frames with headroom.
constexpr std::size_t frame_buffer = 16384;
// How often the counters file is rewritten.
constexpr std::uint64_t stats_interval_ns = 200'000'000u;
// A delivery later than this behind its schedule counts as late.
constexpr std::uint64_t late_threshold_ns = 1'000'000;

struct direction_counters {
    std::uint64_t in_frames = 0;
    std::uint64_t in_bytes = 0;
    std::uint64_t out_frames = 0;
    std::uint64_t out_bytes = 0;
    std::uint64_t queue_drops = 0; // told: the rate cap's queue was full
    std::uint64_t loss_drops = 0;  // told: random or bursty loss
    std::uint64_t duplicated = 0;  // told
    // Not told: the kernel dropped frames before we read them (our socket
    // buffer overflowed), a send failed, or the memory cap was hit.
    std::uint64_t unplanned_rx_drops = 0;
    std::uint64_t unplanned_tx_errors = 0;
    std::uint64_t unplanned_memory_drops = 0;
    std::uint64_t late_deliveries = 0; // over 1 ms behind schedule
    std::uint64_t max_late_us = 0;

    std::uint64_t unplanned() const {
        return unplanned_rx_drops + unplanned_tx_errors + unplanned_memory_drops;
    }
    nlohmann::json to_json() const {
        return {{"in_frames", in_frames},
                {"in_bytes", in_bytes},
                {"out_frames", out_frames},
                {"out_bytes", out_bytes},
                {"queue_drops", queue_drops},
                {"loss_drops", loss_drops},
                {"duplicated", duplicated},
                {"unplanned_rx_drops", unplanned_rx_drops},
                {"unplanned_tx_errors", unplanned_tx_errors},
                {"unplanned_memory_drops", unplanned_memory_drops},
                {"unplanned_drops", unplanned()},
                {"late_deliveries", late_deliveries},
                {"max_late_us", max_late_us}};
    }
};

struct direction {
    std::string name;
    int in_fd = -1;
    int out_fd = -1;
    link_profile link;
    link_state state;
    bottleneck queue{0, 0};
    bool keep_order = true; // jitter delays but never reorders, unless --reorder
    std::uint64_t last_due_ns = 0;
    direction_counters counters;
};

struct held_frame {
    std::uint64_t due_ns;
    std::uint64_t order; // FIFO among equal due times
    int dir;
    std::vector<std::uint8_t> bytes;
    bool operator>(const held_frame& o) const {
        return due_ns != o.due_ns ? due_ns > o.due_ns : order > o.order;
    }
};

int open_port(const std::string& ifname, std::string& error) {
    const unsigned index = ::if_nametoindex(ifname.c_str());
    if (index == 0) {
        error = "no interface '" + ifname + "': " + std::strerror(errno);
        return -1;
    }
    const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd < 0) {
        error = std::string("AF_PACKET socket (needs root): ") + std::strerror(errno);
        return -1;
    }
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = static_cast<int>(index);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        error = "bind to " + ifname + ": " + std::strerror(errno);
        ::close(fd);
        return -1;
    }
    packet_mreq mreq{};
    mreq.mr_ifindex = static_cast<int>(index);
    mreq.mr_type = PACKET_MR_PROMISC;
    const int one = 1;
    // 64 MiB each way: a second of 500 Mbit/s while this thread is not
    // scheduled. SO_*BUFFORCE (root) is not capped by net.core.rmem_max.
    const int buffer = 64 << 20;
    if (::setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0 ||
        ::setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof buffer) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) != 0) {
        error = "socket options on " + ifname + ": " + std::strerror(errno);
        ::close(fd);
        return -1;
    }
    return fd;
}

// Frames the kernel dropped on `fd` since the last call (PACKET_STATISTICS
// resets on read).
std::uint64_t kernel_drops(int fd) {
    tpacket_stats st{};
    socklen_t len = sizeof st;
    if (::getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0) {
        return 0;
    }
    return st.tp_drops;
}

struct options {
    std::string a, b, stats_file;
    std::string delay = "0", return_delay, jitter = "0", queue = "50ms";
    std::string rate = "0", return_rate;
    double loss_pct = 0, return_loss_pct = -1, burst_loss_pct = 0, burst_s = 0.02;
    double reorder_pct = 0, reorder_gap_ms = 10, dup_pct = 0;
    std::uint64_t seed = 1;
    bool realtime = false;
};

// Reads an option with the configuration file's notation (config/values.h);
// "0" means none. False, with the problem on stderr, when it does not parse.
template <class T, class Parser>
bool parse_option(const std::string& text, const char* what, T& out, Parser parse) {
    if (text == "0") {
        out = 0;
        return true;
    }
    auto v = parse(text);
    if (!v) {
        std::fprintf(stderr, "skycast-linkem: %s: %s\n", what, v.error.c_str());
        return false;
    }
    out = *v;
    return true;
}

bool parse_seconds(const std::string& text, const char* what, double& out) {
    return parse_option(text, what, out, skycast::config::parse_duration);
}

bool parse_bits(const std::string& text, const char* what, std::uint64_t& out) {
    return parse_option(text, what, out, skycast::config::parse_rate);
}

class emulator {
public:
    emulator(std::vector<direction> dirs, std::uint64_t seed, std::string stats_file,
             sigset_t wait_mask)
        : _dirs(std::move(dirs)), _rng(seed), _stats_file(std::move(stats_file)),
          _started_ns(now_ns()), _wait_mask(wait_mask) {}

    void run() {
        std::uint64_t next_stats = now_ns() + stats_interval_ns;
        while (stop_requested == 0) {
            const std::uint64_t now = now_ns();
            deliver_due(now);
            if (now >= next_stats) {
                collect_kernel_drops();
                write_stats();
                next_stats = now + stats_interval_ns;
            }
            pollfd fds[2] = {{.fd = _dirs[0].in_fd, .events = POLLIN, .revents = 0},
                             {.fd = _dirs[1].in_fd, .events = POLLIN, .revents = 0}};
            std::uint64_t wake = next_stats;
            if (!_held.empty()) {
                wake = std::min(wake, _held.top().due_ns);
            }
            const std::uint64_t wait = wake > now ? wake - now : 0;
            const timespec ts{.tv_sec = static_cast<time_t>(wait / 1'000'000'000u),
                              .tv_nsec = static_cast<long>(wait % 1'000'000'000u)};
            // SIGINT/SIGTERM are blocked outside ppoll and let through only
            // inside it: a stop that arrives between the check above and
            // the wait still ends the wait at once.
            if (::ppoll(fds, 2, &ts, &_wait_mask) < 0) {
                continue; // EINTR: a signal, checked at the top
            }
            for (int d = 0; d < 2; ++d) {
                if (fds[d].revents & POLLIN) {
                    read_frames(d);
                }
            }
        }
        collect_kernel_drops();
        write_stats();
        std::printf("%s\n", document().dump(2).c_str());
    }

private:
    void read_frames(int d) {
        direction& dir = _dirs[static_cast<std::size_t>(d)];
        // One recvmmsg for up to read_batch frames: a syscall per frame would
        // cost the 2-core lab more CPU than the link it emulates.
        mmsghdr msgs[read_batch];
        iovec iov[read_batch];
        alignas(cmsghdr) char control[read_batch][CMSG_SPACE(sizeof(timespec))];
        for (int i = 0; i < read_batch; ++i) {
            iov[i] = {_rx_buffers.data() + static_cast<std::size_t>(i) * frame_buffer,
                      frame_buffer};
            msgs[i] = {};
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_control = control[i];
            msgs[i].msg_hdr.msg_controllen = sizeof control[i];
        }
        const int got = ::recvmmsg(dir.in_fd, msgs, read_batch, MSG_TRUNC, nullptr);
        const std::uint64_t read_at = now_ns();
        // The kernel's receive stamps are wall-clock time; the schedule runs
        // on the monotonic clock.
        const std::int64_t wall_minus_mono =
            static_cast<std::int64_t>(wall_ns()) - static_cast<std::int64_t>(read_at);
        for (int i = 0; i < got; ++i) {
            // A frame's link time starts when the kernel received it, not when
            // this thread got round to reading it: time spent waiting in the
            // socket (the emulator not scheduled) is then lateness, counted,
            // not extra link delay that nobody sees.
            const std::uint64_t now = arrival_ns(msgs[i].msg_hdr, wall_minus_mono, read_at);
            const std::uint8_t* buf =
                _rx_buffers.data() + static_cast<std::size_t>(i) * frame_buffer;
            const auto bytes = static_cast<std::uint64_t>(msgs[i].msg_len);
            ++dir.counters.in_frames;
            dir.counters.in_bytes += bytes;
            if ((msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0 || bytes > frame_buffer) {
                ++dir.counters.unplanned_memory_drops; // larger than any MTU we serve (16 KiB)
                continue;
            }
            const std::uint64_t leaves = dir.queue.admit(now, bytes);
            if (leaves == 0) {
                ++dir.counters.queue_drops;
                continue;
            }
            const double leaves_s = static_cast<double>(leaves) / 1e9;
            dir.state.transmit(dir.link, _rng, leaves_s, _arrivals);
            if (_arrivals.empty()) {
                ++dir.counters.loss_drops;
                continue;
            }
            if (_arrivals.size() > 1) {
                dir.counters.duplicated += _arrivals.size() - 1;
            }
            for (const double delay_s : _arrivals) {
                if (_held_bytes + bytes > max_held_bytes) {
                    ++dir.counters.unplanned_memory_drops;
                    continue;
                }
                std::uint64_t due = leaves + static_cast<std::uint64_t>(delay_s * 1e9);
                if (dir.keep_order) {
                    due = std::max(due, dir.last_due_ns);
                    dir.last_due_ns = due;
                }
                _held_bytes += bytes;
                _held.push({.due_ns = due,
                            .order = _order++,
                            .dir = d,
                            .bytes = std::vector<std::uint8_t>(buf, buf + bytes)});
            }
        }
    }

    void deliver_due(std::uint64_t now) {
        while (!_held.empty() && _held.top().due_ns <= now) {
            const held_frame& f = _held.top();
            direction& dir = _dirs[static_cast<std::size_t>(f.dir)];
            const std::uint64_t late = now - f.due_ns;
            if (late > late_threshold_ns) {
                ++dir.counters.late_deliveries;
            }
            dir.counters.max_late_us = std::max(dir.counters.max_late_us, late / 1000);
            if (::send(dir.out_fd, f.bytes.data(), f.bytes.size(), 0) ==
                static_cast<ssize_t>(f.bytes.size())) {
                ++dir.counters.out_frames;
                dir.counters.out_bytes += f.bytes.size();
            } else {
                ++dir.counters.unplanned_tx_errors;
            }
            _held_bytes -= f.bytes.size();
            _held.pop();
            now = now_ns();
        }
    }

    void collect_kernel_drops() {
        for (auto& dir : _dirs) {
            dir.counters.unplanned_rx_drops += kernel_drops(dir.in_fd);
        }
    }

    nlohmann::json document() const {
        nlohmann::json doc{{"seconds", static_cast<double>(now_ns() - _started_ns) / 1e9},
                           {"held_bytes", _held_bytes}};
        std::uint64_t unplanned = 0;
        for (const auto& dir : _dirs) {
            doc[dir.name] = dir.counters.to_json();
            unplanned += dir.counters.unplanned();
        }
        doc["unplanned_drops"] = unplanned;
        return doc;
    }

    void write_stats() const {
        if (_stats_file.empty()) {
            return;
        }
        const std::string tmp = _stats_file + ".tmp";
        {
            std::ofstream out(tmp);
            out << document().dump() << "\n";
        }
        std::rename(tmp.c_str(), _stats_file.c_str());
    }

    std::vector<direction> _dirs;
    std::mt19937_64 _rng;
    std::string _stats_file;
    std::uint64_t _started_ns;
    sigset_t _wait_mask; // the signal mask inside ppoll: SIGINT/SIGTERM let through
    std::priority_queue<held_frame, std::vector<held_frame>, std::greater<>> _held;
    std::uint64_t _held_bytes = 0;
    std::uint64_t _order = 0;
    std::vector<double> _arrivals;
    std::vector<std::uint8_t> _rx_buffers = std::vector<std::uint8_t>(read_batch * frame_buffer);
};

int run(const options& o) {
    double delay = 0, return_delay = 0, jitter = 0, queue_s = 0;
    std::uint64_t rate = 0, return_rate = 0;
    if (!parse_seconds(o.delay, "--delay", delay) ||
        !parse_seconds(o.return_delay.empty() ? o.delay : o.return_delay, "--return-delay",
                       return_delay) ||
        !parse_seconds(o.jitter, "--jitter", jitter) ||
        !parse_seconds(o.queue, "--queue", queue_s) || !parse_bits(o.rate, "--rate", rate) ||
        !parse_bits(o.return_rate.empty() ? o.rate : o.return_rate, "--return-rate", return_rate)) {
        return 2;
    }
    for (const auto& [value, what] :
         {std::pair{delay, "--delay"}, {return_delay, "--return-delay"}, {jitter, "--jitter"}}) {
        if (value < 0 || value > 10.0) {
            std::fprintf(stderr, "skycast-linkem: %s must be 0..10 s\n", what);
            return 2;
        }
    }
    std::string error;
    const int a = open_port(o.a, error);
    const int b = a < 0 ? -1 : open_port(o.b, error);
    if (a < 0 || b < 0) {
        std::fprintf(stderr, "skycast-linkem: %s\n", error.c_str());
        return 1;
    }
    auto make = [&](const char* name, int in, int out, double d, std::uint64_t r, double loss_pct) {
        direction dir;
        dir.name = name;
        dir.in_fd = in;
        dir.out_fd = out;
        dir.link = link_profile{.delay_s = d,
                                .jitter_s = jitter,
                                .loss = loss_pct / 100.0,
                                .duplicate = o.dup_pct / 100.0,
                                .reorder = o.reorder_pct / 100.0,
                                .reorder_extra_s = o.reorder_gap_ms / 1000.0};
        dir.link = link_profile::with_burst_loss(dir.link, o.burst_loss_pct / 100.0, o.burst_s);
        // The queue holds --queue of the rate (at least two jumbo frames).
        const auto queue_bytes = std::max<std::uint64_t>(
            2 * 9100, static_cast<std::uint64_t>(queue_s * static_cast<double>(r) / 8.0));
        dir.queue = bottleneck(r, queue_bytes);
        dir.keep_order = o.reorder_pct <= 0;
        return dir;
    };
    std::vector<direction> dirs;
    dirs.push_back(make("forward", a, b, delay, rate, o.loss_pct));
    dirs.push_back(make("return", b, a, return_delay, return_rate,
                        o.return_loss_pct < 0 ? o.loss_pct : o.return_loss_pct));
    if (o.realtime) {
        // The emulator stands for hardware, which does not wait for a CPU:
        // SCHED_FIFO wakes it on time however busy the nodes under test keep
        // the machine. It sleeps in ppoll between frames, so it takes only
        // what the frames cost (and the kernel's RT throttling bounds even a
        // runaway at 95 %).
        sched_param sp{};
        sp.sched_priority = 10;
        if (::sched_setscheduler(0, SCHED_FIFO, &sp) != 0) {
            std::fprintf(stderr, "skycast-linkem: --realtime: %s (running unprioritised)\n",
                         std::strerror(errno));
        }
    }
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sigset_t stop_signals, wait_mask;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, &wait_mask);
    sigdelset(&wait_mask, SIGINT);
    sigdelset(&wait_mask, SIGTERM);
    std::fprintf(stderr,
                 "skycast-linkem: %s <-> %s: forward %.1f ms %s, return %.1f ms %s, loss %.2f %% / "
                 "%.2f %%\n",
                 o.a.c_str(), o.b.c_str(), delay * 1e3,
                 rate ? (std::to_string(rate) + " bit/s").c_str() : "uncapped", return_delay * 1e3,
                 return_rate ? (std::to_string(return_rate) + " bit/s").c_str() : "uncapped",
                 o.loss_pct, o.return_loss_pct < 0 ? o.loss_pct : o.return_loss_pct);
    emulator(std::move(dirs), o.seed, o.stats_file, wait_mask).run();
    ::close(a);
    ::close(b);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"skycast-linkem: a satellite link between two interfaces (delay, rate, loss)"};
    options o;
    app.add_option("--a", o.a, "interface on the sender's side (forward = a -> b)")->required();
    app.add_option("--b", o.b, "interface on the receivers' side")->required();
    app.add_option("--delay", o.delay, "one-way delay, both directions (e.g. 250ms)");
    app.add_option("--return-delay", o.return_delay, "one-way delay b -> a (default: --delay)");
    app.add_option("--jitter", o.jitter, "extra uniform delay 0..J per frame (order kept)");
    app.add_option("--rate", o.rate, "rate cap, both directions (bits/s: 1G, 500M; 0 = none)");
    app.add_option("--return-rate", o.return_rate, "rate cap b -> a (default: --rate)");
    app.add_option("--queue", o.queue, "queue of the rate cap, as time at the rate (50ms)");
    app.add_option("--loss", o.loss_pct, "random loss %, both directions")
        ->check(CLI::Range(0.0, 100.0));
    app.add_option("--return-loss", o.return_loss_pct, "random loss % b -> a (default: --loss)")
        ->check(CLI::Range(0.0, 100.0));
    app.add_option("--burst-loss", o.burst_loss_pct,
                   "Gilbert-Elliott bursty loss: long-run %, both directions")
        ->check(CLI::Range(0.0, 99.0));
    app.add_option("--burst-seconds", o.burst_s, "mean length of a loss burst (0.02)")
        ->check(CLI::Range(0.0001, 10.0));
    app.add_option("--reorder", o.reorder_pct, "% of frames held back by --reorder-gap")
        ->check(CLI::Range(0.0, 100.0));
    app.add_option("--reorder-gap", o.reorder_gap_ms, "how long a reordered frame is held (ms)")
        ->check(CLI::Range(0.0, 10000.0));
    app.add_option("--dup", o.dup_pct, "% of frames delivered twice")
        ->check(CLI::Range(0.0, 100.0));
    app.add_option("--seed", o.seed, "seed of the loss/jitter generator");
    app.add_option("--stats", o.stats_file, "JSON counters, rewritten every 200 ms and at exit");
    app.add_flag("--realtime", o.realtime, "run as SCHED_FIFO (priority 10), as hardware would");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    try {
        return run(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "skycast-linkem: %s\n", e.what());
        return 1;
    }
}
