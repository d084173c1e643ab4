// skycast-swarm: many Skycast receivers in one process, on a kernel UDP
// socket instead of a DPDK port, for scale tests without the simulator
// (tests/system/proxy/swarm_scale.sh): N receiver engines, each with its own
// UID, destination and receive path (tests/sim/receiver_port.h, the
// production FILESEG path), fed from one socket that joins the public group
// and each announced session's private group. Receivers may answer response
// proxies instead of the server (--proxy, in equal blocks of receivers),
// and may each lose FILESEGs independently (--loss) so that their NAKs
// differ. One session: the swarm exits when every receiver has ended it.
// Exit status 0 only when every receiver completed.
#include "control/engine/held_copies.h"
#include "control/engine/receiver_engine.h"
#include "protocol/codec.h"
#include "tests/sim/receiver_port.h"

#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <netinet/in.h>
#include <poll.h>
#include <random>
#include <set>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

namespace engine = skycast::control::engine;
namespace protocol = skycast::protocol;
namespace sim = skycast::sim;

volatile std::sig_atomic_t stop_requested = 0;
void on_signal(int) {
    stop_requested = 1;
}

engine::time_ns wall_ns() {
    // Timestamps on the wire are Unix time.
    return static_cast<engine::time_ns>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
}

std::optional<std::uint32_t> parse_ipv4(const std::string& text) {
    in_addr a{};
    if (::inet_pton(AF_INET, text.c_str(), &a) != 1) {
        return std::nullopt;
    }
    return ntohl(a.s_addr);
}

// Every receiver sends through the swarm's one socket.
class socket_network final : public engine::network_port {
public:
    explicit socket_network(int fd) : _fd(fd) {}
    void send(engine::endpoint to, std::span<const std::uint8_t> datagram) override {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(to.address);
        sa.sin_port = htons(to.port);
        if (::sendto(_fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&sa),
                     sizeof sa) == static_cast<ssize_t>(datagram.size())) {
            ++sent;
        } else {
            ++send_failures;
        }
    }
    // Spaced copies (control.copy_spacing) wait in the hold; the loop sends
    // them when due (send_due()).
    void send_later(engine::endpoint to, std::span<const std::uint8_t> datagram,
                    engine::time_ns delay) override {
        if (!_held.hold(wall_ns() + delay, to, datagram)) {
            send(to, datagram);
        }
    }
    void send_due(engine::time_ns now) {
        _held.release_due(now, [&](const engine::held_copies::copy& c) { send(c.to, c.bytes); });
    }
    engine::time_ns next_due() const { return _held.next_due(); }

    std::uint64_t sent = 0;
    std::uint64_t send_failures = 0;

private:
    int _fd;
    engine::held_copies _held;
};

struct receiver {
    std::unique_ptr<sim::receiver_port> port;
    std::unique_ptr<engine::receiver_engine> engine;
};

bool ended(const engine::receiver_engine& e) {
    return e.state() == engine::receiver_state::finished ||
           e.state() == engine::receiver_state::aborted;
}

int run(int argc, char** argv) {
    CLI::App app{"skycast-swarm: many Skycast receivers in one process (kernel UDP socket)"};
    std::uint32_t count = 100;
    std::string uid_base_text = "0x0B000001";
    std::string address_text;
    std::vector<std::string> proxy_texts;
    std::string dest;
    std::uint16_t port = 1044;
    std::string public_text = "230.4.4.1";
    double loss_pct = 0;
    std::uint64_t seed = 1;
    double timeout_s = 600;
    app.add_option("--receivers", count, "receivers in the swarm")->check(CLI::Range(1, 100000));
    app.add_option("--uid-base", uid_base_text, "UID of the first receiver (then +1 each)");
    app.add_option("--address", address_text, "IPv4 address of the interface to join groups on")
        ->required();
    app.add_option("--proxy", proxy_texts,
                   "response proxy address (repeat: the receivers answer them in equal blocks)");
    app.add_option("--dest", dest, "directory: receiver K's files land in DEST/K")->required();
    app.add_option("--port", port, "UFTP port");
    app.add_option("--public-group", public_text, "public multicast group");
    app.add_option("--loss", loss_pct, "each receiver drops this % of FILESEGs on its own")
        ->check(CLI::Range(0.0, 100.0));
    app.add_option("--seed", seed, "seed of the loss draws");
    app.add_option("--timeout", timeout_s, "give up after this many seconds");
    CLI11_PARSE(app, argc, argv);

    const auto address = parse_ipv4(address_text);
    const auto public_group = parse_ipv4(public_text);
    const auto uid_base = static_cast<std::uint32_t>(std::stoul(uid_base_text, nullptr, 0));
    std::vector<engine::endpoint> proxies;
    for (const auto& p : proxy_texts) {
        const auto a = parse_ipv4(p);
        if (!a) {
            std::fprintf(stderr, "skycast-swarm: --proxy %s is no IPv4 address\n", p.c_str());
            return 2;
        }
        proxies.push_back({.address = *a, .port = port});
    }
    if (!address || !public_group) {
        std::fprintf(stderr, "skycast-swarm: --address / --public-group must be IPv4 addresses\n");
        return 2;
    }

    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    const int one = 1;
    const int buffer = 32 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
    sockaddr_in bind_to{};
    bind_to.sin_family = AF_INET;
    bind_to.sin_port = htons(port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&bind_to), sizeof bind_to) != 0) {
        std::fprintf(stderr, "skycast-swarm: bind to port %u: %s\n", port, std::strerror(errno));
        return 1;
    }
    std::set<std::uint32_t> joined;
    auto join = [&](std::uint32_t group) {
        if ((group >> 28) != 0xE || joined.contains(group)) {
            return true;
        }
        ip_mreq m{};
        m.imr_multiaddr.s_addr = htonl(group);
        m.imr_interface.s_addr = htonl(*address);
        if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0) {
            std::fprintf(stderr, "skycast-swarm: join %08x: %s\n", group, std::strerror(errno));
            return false;
        }
        joined.insert(group);
        return true;
    };
    if (!join(*public_group)) {
        return 1;
    }

    socket_network net(fd);
    std::map<std::pair<std::uint32_t, std::uint32_t>,
             std::optional<skycast::dataplane::fec_decoder>>
        decoders;
    std::vector<receiver> swarm(count);
    for (std::uint32_t k = 0; k < count; ++k) {
        const std::string dir = dest + "/" + std::to_string(k);
        std::filesystem::create_directories(dir);
        engine::receiver_config c{.client_id = uid_base + k,
                                  .public_group = {.address = *public_group, .port = port},
                                  .destination = dir};
        if (!proxies.empty()) {
            c.response_proxy = proxies[static_cast<std::size_t>(k) * proxies.size() / count];
        }
        // No FEC decoding: the swarm NAKs data blocks, as stock receivers do.
        swarm[k].port = std::make_unique<sim::receiver_port>(false, decoders);
        swarm[k].engine =
            std::make_unique<engine::receiver_engine>(std::move(c), net, *swarm[k].port);
    }

    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> draw(0, 100);
    std::uint64_t datagrams = 0;
    std::uint64_t malformed = 0;
    std::uint64_t deliveries = 0;
    std::uint64_t dropped = 0;
    bool session_seen = false;
    const engine::time_ns started = wall_ns();
    const engine::time_ns give_up = started + engine::seconds_to_ns(timeout_s);
    std::vector<std::uint8_t> buf(protocol::max_datagram_size);

    for (;;) {
        engine::time_ns now = wall_ns();
        if (stop_requested != 0 || now >= give_up) {
            break;
        }
        net.send_due(now);
        bool all_ended = session_seen;
        engine::time_ns next = std::min(give_up, net.next_due());
        for (auto& r : swarm) {
            if (r.engine->next_deadline() <= now) {
                r.engine->on_timer(now);
            }
            next = std::min(next, r.engine->next_deadline());
            all_ended = all_ended && ended(*r.engine);
        }
        if (all_ended) {
            break;
        }
        pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
        const auto wait_ms =
            next > now ? std::min<engine::time_ns>((next - now) / 1'000'000 + 1, 200) : 0;
        if (::poll(&p, 1, static_cast<int>(wait_ms)) <= 0) {
            continue;
        }
        // Everything waiting, before the timers run again.
        for (;;) {
            sockaddr_in from{};
            socklen_t from_len = sizeof from;
            const ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT,
                                         reinterpret_cast<sockaddr*>(&from), &from_len);
            if (n <= 0) {
                break;
            }
            ++datagrams;
            now = wall_ns();
            const std::span<const std::uint8_t> d(buf.data(), static_cast<std::size_t>(n));
            const engine::endpoint sender{.address = ntohl(from.sin_addr.s_addr),
                                          .port = ntohs(from.sin_port)};
            protocol::uftp_header h;
            protocol::fileseg_msg seg;
            const bool is_fileseg =
                n > 1 && d[1] == static_cast<std::uint8_t>(protocol::message_type::fileseg);
            if (is_fileseg) {
                if (protocol::decode_fileseg(d, h, seg) != protocol::wire_error::ok) {
                    ++malformed;
                    continue;
                }
            } else {
                protocol::datagram msg;
                if (protocol::decode(d, msg) != protocol::wire_error::ok) {
                    ++malformed;
                    continue;
                }
                if (const auto* a = std::get_if<protocol::announce_msg>(&msg.body)) {
                    // The session's data comes on its private group.
                    const auto& b = a->private_addr.bytes;
                    join((std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                         (std::uint32_t{b[2]} << 8) | b[3]);
                    session_seen = true;
                }
            }
            for (auto& r : swarm) {
                if (is_fileseg && loss_pct > 0 && draw(rng) < loss_pct) {
                    ++dropped;
                    continue;
                }
                ++deliveries;
                sim::deliver(*r.engine, *r.port, now, sender, d, is_fileseg ? &h : nullptr,
                             is_fileseg ? &seg : nullptr);
            }
        }
    }

    std::map<std::string, std::uint32_t> outcomes;
    std::uint32_t completed = 0;
    for (const auto& r : swarm) {
        const auto o = r.engine->outcome();
        ++outcomes[engine::name(o)];
        completed += o == engine::receiver_outcome::completed ? 1 : 0;
    }
    const double seconds = static_cast<double>(wall_ns() - started) / 1e9;
    std::printf("swarm receivers=%u completed=%u proxies=%zu datagrams_in=%" PRIu64
                " malformed=%" PRIu64 " deliveries=%" PRIu64 " filesegs_dropped=%" PRIu64
                " sent=%" PRIu64 " send_failures=%" PRIu64 " seconds=%.1f\n",
                count, completed, proxies.size(), datagrams, malformed, deliveries, dropped,
                net.sent, net.send_failures, seconds);
    for (const auto& [name, n] : outcomes) {
        std::printf("swarm outcome %s: %u\n", name.c_str(), n);
    }
    ::close(fd);
    return completed == count ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "skycast-swarm: %s\n", e.what());
        return 1;
    }
}
