// A test secondary for the network-namespace lab: attaches to the
// skycast-dataplane of one lab node (as skycast-control does, through
// control/dataplane_link) and runs the steps given on the command line, in
// order, against the real port:
//
//   lab_probe FILE_PREFIX STEP...
//
//   join GROUP:PORT        join a multicast group (the dataplane sends IGMP)
//   open PORT              accept UDP to PORT
//   send ADDR:PORT TAG     send an ABORT datagram whose text is TAG, from
//                          port 1044; waits until the TX lcore framed it and
//                          sends again while the next hop's ARP resolves
//   sendbig ADDR:PORT TAG BYTES
//                          the same with a STATUS datagram of BYTES bytes
//                          (8972 fills a 9000-byte MTU): its NAK bitmap holds
//                          TAG, a NUL and a known pattern
//   expect TAG FROM TO     within 10 s a datagram with text TAG arrives,
//                          from address FROM, sent to address TO
//   expectbig TAG FROM TO BYTES
//                          the same for a sendbig datagram, which must come
//                          whole: BYTES long, the pattern intact
//   none TAG MS            no datagram with text TAG arrives within MS ms
//   count NAME OP N        counter NAME (summed over the dataplane's
//                          threads) compares to N, OP one of ge, eq, le;
//                          ge and le wait up to 3 s for the relaxed counters
//   counters               print every non-zero counter
//
// The dataplane keeps what a step changed (groups, ports, datagrams queued
// on the receive ring) after the probe exits, so a test can interleave
// probes of several nodes. Prints "ok"/"FAIL" per step; exit 0 when every
// step passed, 1 otherwise, 2 on a bad command line.

#include "control/dataplane_link/dataplane_link.h"
#include "protocol/codec.h"

#include <arpa/inet.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <rte_eal.h>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

using namespace std::chrono_literals;
namespace api = skycast::dataplane::api;
using skycast::control::dataplane_link;

namespace {

constexpr std::uint16_t probe_port = 1044;
constexpr std::uint32_t probe_uid = 0x0A4D00EE;

int failures = 0;

void report(bool ok, const std::string& what) {
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
    std::fflush(stdout);
    failures += ok ? 0 : 1;
}

std::optional<std::uint32_t> parse_address(const std::string& text) {
    in_addr a{};
    if (inet_pton(AF_INET, text.c_str(), &a) != 1) {
        return std::nullopt;
    }
    return ntohl(a.s_addr);
}

std::string address_text(std::uint32_t host_order) {
    in_addr a{.s_addr = htonl(host_order)};
    char buf[INET_ADDRSTRLEN];
    return inet_ntop(AF_INET, &a, buf, sizeof buf) != nullptr ? buf : "?";
}

std::optional<std::uint16_t> parse_port(const std::string& text) {
    char* end = nullptr;
    const unsigned long v = std::strtoul(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v == 0 || v > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(v);
}

std::optional<api::endpoint4> parse_endpoint(const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) {
        return std::nullopt;
    }
    const auto address = parse_address(text.substr(0, colon));
    const auto port = parse_port(text.substr(colon + 1));
    if (!address || !port) {
        return std::nullopt;
    }
    return api::endpoint4{.address = *address, .port = *port, .pad = 0};
}

// A datagram taken off the receive ring: its tag (an ABORT's text or the
// text at the head of a sendbig STATUS; empty otherwise), size and addresses.
struct arrival {
    std::string tag;
    api::endpoint4 from;
    api::endpoint4 to;
    std::size_t bytes = 0;
    bool pattern_intact = false; // sendbig's pattern (STATUS only)
};

std::uint8_t pattern_byte(std::size_t i) {
    return static_cast<std::uint8_t>((i * 7 + 13) & 0xFF);
}

class probe {
public:
    explicit probe(dataplane_link link) : _link(std::move(link)), _view(_link.shared()) {}

    std::optional<std::uint64_t> counter(std::string_view name) const {
        for (std::uint32_t i = 0; i < _view.header().counter_count; ++i) {
            if (name == _view.header().counters[i].name) {
                return _view.counter_total(i);
            }
        }
        return std::nullopt;
    }

    void command(api::command_kind kind, api::endpoint4 group, std::uint16_t port,
                 const std::string& what) {
        api::command c{};
        c.kind = kind;
        c.group = group;
        c.port = port;
        const auto r = _link.call(c, 5s);
        report(r && r->status == api::reply_status::ok, what + (r ? "" : " (no reply within 5 s)"));
    }

    void send(api::endpoint4 to, const std::string& tag) {
        std::vector<std::uint8_t> buf(512);
        const auto n = skycast::protocol::encode(
            skycast::protocol::uftp_header{.seq = 1, .src_id = probe_uid, .group_id = 7},
            skycast::protocol::message{skycast::protocol::abort_msg{.message = tag}}, buf);
        if (!n.ok()) {
            report(false, "encode the datagram " + tag);
            return;
        }
        buf.resize(*n);
        transmit(to, tag, buf);
    }

    void send_big(api::endpoint4 to, const std::string& tag, std::size_t bytes) {
        const skycast::protocol::uftp_header h{.seq = 2, .src_id = probe_uid, .group_id = 7};
        std::vector<std::uint8_t> buf(api::max_datagram + 64);
        // The STATUS overhead first, then a bitmap that makes up the size.
        const auto empty = skycast::protocol::encode(
            h, skycast::protocol::message{skycast::protocol::status_msg{}}, buf);
        if (!empty.ok() || bytes < *empty + tag.size() + 1 || bytes > api::max_datagram) {
            report(false, "sendbig " + tag + ": " + std::to_string(bytes) +
                              " bytes cannot hold the tag or exceed the contract's datagram");
            return;
        }
        std::vector<std::uint8_t> naks(bytes - *empty);
        for (std::size_t i = 0; i < naks.size(); ++i) {
            naks[i] = i < tag.size()    ? static_cast<std::uint8_t>(tag[i])
                      : i == tag.size() ? std::uint8_t{0}
                                        : pattern_byte(i);
        }
        skycast::protocol::status_msg status{};
        status.naks = naks;
        const auto n = skycast::protocol::encode(h, skycast::protocol::message{status}, buf);
        if (!n.ok() || *n != bytes) {
            report(false, "sendbig " + tag + ": encoding gave the wrong size");
            return;
        }
        buf.resize(*n);
        transmit(to, tag + " (" + std::to_string(bytes) + " bytes)", buf);
    }

    void transmit(api::endpoint4 to, const std::string& tag,
                  std::span<const std::uint8_t> datagram) {
        const std::string what =
            "send " + tag + " to " + address_text(to.address) + ":" + std::to_string(to.port);
        // The first datagram to an unresolved unicast next hop is dropped
        // (counted) while the ARP request goes out: send until one is framed.
        for (int attempt = 1; attempt <= 20; ++attempt) {
            const auto before = counter("tx.control").value_or(0);
            if (!_link.send(to, probe_port, datagram)) {
                report(false, what + ": the control TX ring or pool is full");
                return;
            }
            for (int i = 0; i < 25; ++i) {
                std::this_thread::sleep_for(10ms);
                if (counter("tx.control").value_or(0) > before) {
                    report(true, what + " (framed on attempt " + std::to_string(attempt) + ")");
                    return;
                }
            }
        }
        report(false, what + ": never framed (tx.drop.arp_unresolved " +
                          std::to_string(counter("tx.drop.arp_unresolved").value_or(0)) + ")");
    }

    // Finds (and removes) a datagram with text `tag`, taking new ones off the
    // receive ring until `wait` has passed.
    std::optional<arrival> take(const std::string& tag, std::chrono::milliseconds wait) {
        const auto deadline = std::chrono::steady_clock::now() + wait;
        for (;;) {
            for (auto it = _arrivals.begin(); it != _arrivals.end(); ++it) {
                if (it->tag == tag) {
                    arrival a = *it;
                    _arrivals.erase(it);
                    return a;
                }
            }
            if (std::chrono::steady_clock::now() >= deadline) {
                return std::nullopt;
            }
            drain();
            std::this_thread::sleep_for(5ms);
        }
    }

    void counters() const {
        std::printf("counters:\n");
        for (std::uint32_t i = 0; i < _view.header().counter_count; ++i) {
            if (const auto v = _view.counter_total(i); v != 0) {
                std::printf("  %-32s %llu\n", _view.header().counters[i].name,
                            static_cast<unsigned long long>(v));
            }
        }
        std::fflush(stdout);
    }

private:
    void drain() {
        while (auto got = _link.receive()) {
            skycast::protocol::datagram d;
            arrival a{.tag = {},
                      .from = got->meta.peer,
                      .to = got->meta.local,
                      .bytes = got->bytes.size()};
            if (skycast::protocol::decode(got->bytes, d) == skycast::protocol::wire_error::ok) {
                if (const auto* abort = std::get_if<skycast::protocol::abort_msg>(&d.body)) {
                    a.tag = abort->message;
                } else if (const auto* st = std::get_if<skycast::protocol::status_msg>(&d.body)) {
                    const auto naks = st->naks;
                    std::size_t end = 0;
                    while (end < naks.size() && naks[end] != 0) {
                        ++end;
                    }
                    a.tag.assign(naks.begin(), naks.begin() + static_cast<std::ptrdiff_t>(end));
                    a.pattern_intact = end < naks.size();
                    for (std::size_t i = end + 1; i < naks.size(); ++i) {
                        a.pattern_intact = a.pattern_intact && naks[i] == pattern_byte(i);
                    }
                }
            }
            std::printf("     (received %zu bytes \"%s\" from %s:%u to %s:%u)\n", a.bytes,
                        a.tag.c_str(), address_text(a.from.address).c_str(), a.from.port,
                        address_text(a.to.address).c_str(), a.to.port);
            _arrivals.push_back(std::move(a));
        }
    }

    dataplane_link _link;
    api::shared_view _view;
    std::vector<arrival> _arrivals;
};

bool bad_usage(const std::string& why) {
    std::fprintf(stderr, "lab_probe: %s (see the usage at the top of lab_probe.cc)\n", why.c_str());
    return false;
}

// Checks the steps before touching the dataplane, so a typo in a test fails
// at once and clearly.
bool valid_steps(const std::vector<std::string>& s) {
    for (std::size_t i = 0; i < s.size();) {
        const std::string& op = s[i];
        std::size_t args = 0;
        if (op == "join") {
            args = 1;
        } else if (op == "open") {
            args = 1;
        } else if (op == "send") {
            args = 2;
        } else if (op == "sendbig") {
            args = 3;
        } else if (op == "expect") {
            args = 3;
        } else if (op == "expectbig") {
            args = 4;
        } else if (op == "none") {
            args = 2;
        } else if (op == "count") {
            args = 3;
        } else if (op == "counters") {
            args = 0;
        } else {
            return bad_usage("unknown step '" + op + "'");
        }
        if (i + args >= s.size()) {
            return bad_usage("step '" + op + "' needs " + std::to_string(args) + " arguments");
        }
        if ((op == "join" || op == "send" || op == "sendbig") && !parse_endpoint(s[i + 1])) {
            return bad_usage("'" + s[i + 1] + "' is not ADDRESS:PORT");
        }
        if (op == "open" && !parse_port(s[i + 1])) {
            return bad_usage("'" + s[i + 1] + "' is not a port");
        }
        if ((op == "sendbig" && !parse_port(s[i + 3])) ||
            (op == "expectbig" && !parse_port(s[i + 4]))) {
            return bad_usage(op + ": the size is not a number from 1 to 65535");
        }
        if ((op == "expect" || op == "expectbig") &&
            (!parse_address(s[i + 2]) || !parse_address(s[i + 3]))) {
            return bad_usage("expect: '" + s[i + 2] + "' or '" + s[i + 3] + "' is not an address");
        }
        if (op == "none" && !parse_port(s[i + 2])) {
            return bad_usage("none: '" + s[i + 2] + "' is not a number of milliseconds");
        }
        if (op == "count" && s[i + 2] != "ge" && s[i + 2] != "eq" && s[i + 2] != "le") {
            return bad_usage("count: operator '" + s[i + 2] + "' is not ge, eq or le");
        }
        if (op == "count" && s[i + 3].find_first_not_of("0123456789") != std::string::npos) {
            return bad_usage("count: '" + s[i + 3] + "' is not a number");
        }
        i += 1 + args;
    }
    return true;
}

void run_count(probe& p, const std::string& name, const std::string& op, std::uint64_t want) {
    auto holds = [&](std::uint64_t v) {
        return op == "ge" ? v >= want : op == "le" ? v <= want : v == want;
    };
    std::optional<std::uint64_t> v = p.counter(name);
    if (!v) {
        report(false, "no counter named " + name);
        return;
    }
    // Counters are relaxed and bumped by other threads: give them a moment.
    for (int i = 0; i < 30 && !holds(*v); ++i) {
        std::this_thread::sleep_for(100ms);
        v = p.counter(name);
    }
    report(holds(*v),
           name + " = " + std::to_string(*v) + " (want " + op + " " + std::to_string(want) + ")");
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: lab_probe FILE_PREFIX STEP... (see lab_probe.cc)\n");
        return 2;
    }
    const std::string prefix = argv[1];
    const std::vector<std::string> steps(argv + 2, argv + argc);
    if (!valid_steps(steps)) {
        return 2;
    }
    std::vector<std::string> args{
        argv[0],    "--proc-type=secondary", "--file-prefix=" + prefix, "--lcores=8@(0-1)",
        "--no-pci", "--log-level=*:warning"};
    std::vector<char*> eal;
    for (auto& a : args) {
        eal.push_back(a.data());
    }
    if (!dataplane_link::wait_for_primary(prefix, 30s)) {
        std::fprintf(stderr, "lab_probe: no dataplane with file prefix %s within 30 s\n",
                     prefix.c_str());
        return 1;
    }
    if (rte_eal_init(static_cast<int>(eal.size()), eal.data()) < 0) {
        std::fprintf(stderr, "lab_probe: EAL (secondary) init failed for %s\n", prefix.c_str());
        return 1;
    }
    std::string error;
    auto link = dataplane_link::attach(10s, error);
    if (!link) {
        std::fprintf(stderr, "lab_probe: %s\n", error.c_str());
        rte_eal_cleanup();
        return 1;
    }
    probe p(std::move(*link));
    for (std::size_t i = 0; i < steps.size();) {
        const std::string& op = steps[i];
        if (op == "join") {
            p.command(api::command_kind::join_group, *parse_endpoint(steps[i + 1]), 0,
                      "join " + steps[i + 1]);
            i += 2;
        } else if (op == "open") {
            p.command(api::command_kind::open_port, {}, *parse_port(steps[i + 1]),
                      "open port " + steps[i + 1]);
            i += 2;
        } else if (op == "send") {
            p.send(*parse_endpoint(steps[i + 1]), steps[i + 2]);
            i += 3;
        } else if (op == "sendbig") {
            p.send_big(*parse_endpoint(steps[i + 1]), steps[i + 2], *parse_port(steps[i + 3]));
            i += 4;
        } else if (op == "expect" || op == "expectbig") {
            const bool big = op == "expectbig";
            const auto a = p.take(steps[i + 1], 10s);
            std::string what = op + " " + steps[i + 1] + " from " + steps[i + 2] + " to " +
                               steps[i + 3] + (big ? " (" + steps[i + 4] + " bytes)" : "");
            if (!a) {
                report(false, what + ": nothing within 10 s");
            } else {
                const bool from_ok = a->from.address == *parse_address(steps[i + 2]);
                const bool to_ok = a->to.address == *parse_address(steps[i + 3]);
                const bool whole =
                    !big || (a->bytes == *parse_port(steps[i + 4]) && a->pattern_intact);
                if (!from_ok || !to_ok) {
                    what += ": came from " + address_text(a->from.address) + " to " +
                            address_text(a->to.address);
                }
                if (!whole) {
                    what += ": came as " + std::to_string(a->bytes) + " bytes" +
                            (a->pattern_intact ? "" : ", pattern damaged");
                }
                report(from_ok && to_ok && whole, what);
            }
            i += big ? 5 : 4;
        } else if (op == "none") {
            const auto ms = std::chrono::milliseconds(*parse_port(steps[i + 2]));
            const auto a = p.take(steps[i + 1], ms);
            report(!a, "no " + steps[i + 1] + " within " + steps[i + 2] + " ms" +
                           (a ? ": it came from " + address_text(a->from.address) : ""));
            i += 3;
        } else if (op == "count") {
            run_count(p, steps[i + 1], steps[i + 2],
                      std::strtoull(steps[i + 3].c_str(), nullptr, 10));
            i += 4;
        } else {
            p.counters();
            i += 1;
        }
    }
    rte_eal_cleanup();
    return failures == 0 ? 0 : 1;
}
