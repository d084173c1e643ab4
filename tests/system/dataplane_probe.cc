// A test secondary for the two-process smoke test: attaches to a running
// skycast-dataplane the way skycast-control does (control/dataplane_link),
// exchanges commands and a datagram over the real rings, and reads the
// dataplane's counters from the shared memzone. The dataplane's port must
// loop its TX back to its RX (net_ring0 does).
//
//   dataplane_probe FILE_PREFIX
//
// Exit 0 when every check passed; each failed check prints a line.

#include "control/dataplane_link/dataplane_link.h"
#include "protocol/codec.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <rte_eal.h>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace api = skycast::dataplane::api;

namespace {

int failures = 0;

void check(bool ok, const char* what) {
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    failures += ok ? 0 : 1;
}

std::uint64_t counter(const api::shared_view& view, std::string_view name) {
    for (std::uint32_t i = 0; i < view.header().counter_count; ++i) {
        if (name == view.header().counters[i].name) {
            return view.counter_total(i);
        }
    }
    std::printf("FAIL no counter %.*s\n", static_cast<int>(name.size()), name.data());
    ++failures;
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: dataplane_probe FILE_PREFIX\n");
        return 2;
    }
    std::vector<std::string> args{argv[0],
                                  "--proc-type=secondary",
                                  "--file-prefix=" + std::string(argv[1]),
                                  "--lcores=8@0",
                                  "--no-pci",
                                  "--log-level=*:warning"};
    std::vector<char*> eal;
    for (auto& a : args) {
        eal.push_back(a.data());
    }
    if (!skycast::control::dataplane_link::wait_for_primary(argv[1], 30s)) {
        std::fprintf(stderr, "dataplane_probe: no dataplane with file prefix %s within 30 s\n",
                     argv[1]);
        return 1;
    }
    if (rte_eal_init(static_cast<int>(eal.size()), eal.data()) < 0) {
        std::fprintf(stderr, "dataplane_probe: EAL (secondary) init failed\n");
        return 1;
    }
    std::string error;
    auto link = skycast::control::dataplane_link::attach(10s, error);
    if (!link) {
        std::fprintf(stderr, "dataplane_probe: %s\n", error.c_str());
        return 1;
    }
    check(link->alive(), "dataplane running, contract version matches");

    api::command hello{};
    hello.kind = api::command_kind::hello;
    auto r = link->call(hello, 5s);
    check(r && r->status == api::reply_status::ok, "hello answered over the command/reply rings");

    api::command join{};
    join.kind = api::command_kind::join_group;
    join.group = {.address = 0xE6050501, .port = 1044};
    r = link->call(join, 5s);
    check(r && r->status == api::reply_status::ok, "join_group 230.5.5.1");
    api::command port{};
    port.kind = api::command_kind::open_port;
    port.port = 1044;
    r = link->call(port, 5s);
    check(r && r->status == api::reply_status::ok, "open_port 1044");

    // A UFTP datagram out through the TX lcore; the looped port brings it
    // back through the RX lcore to our receive ring.
    std::uint8_t buf[512];
    const auto n = skycast::protocol::encode(
        skycast::protocol::uftp_header{.seq = 1, .src_id = 0x0A4D0042, .group_id = 7},
        skycast::protocol::message{skycast::protocol::abort_msg{.message = "probe"}}, buf);
    check(n.ok(), "encode a datagram");
    // IGMP reports from the join come back too and are consumed by the
    // dataplane itself; wait for the datagram.
    check(link->send({.address = 0xE6050501, .port = 1044}, 1044,
                     std::span<const std::uint8_t>(buf, *n)),
          "send a datagram over the control TX ring");
    std::optional<skycast::control::dataplane_link::received> got;
    for (int i = 0; i < 500 && !got; ++i) {
        got = link->receive();
        if (!got) {
            std::this_thread::sleep_for(10ms);
        }
    }
    check(got && got->bytes.size() == *n && std::memcmp(got->bytes.data(), buf, *n) == 0,
          "the datagram came back byte-identical on the receive ring");

    const api::shared_view view = link->shared();
    std::this_thread::sleep_for(300ms); // the counters are relaxed; let a round pass
    check(counter(view, "tx.control") >= 1, "counter tx.control counts the datagram");
    check(counter(view, "rx.to_control") >= 1, "counter rx.to_control counts it back");
    check(counter(view, "tx.igmp") >= 1, "counter tx.igmp counts the join's report");
    check(counter(view, "main.commands") >= 3, "counter main.commands counts our commands");
    check(counter(view, "loop.busy_cycles") + counter(view, "loop.idle_cycles") > 0,
          "loop cycles are accounted");
    const auto beat = view.header().heartbeat.load();
    std::this_thread::sleep_for(300ms);
    check(view.header().heartbeat.load() > beat, "the heartbeat advances");
    std::printf("counters:\n");
    for (std::uint32_t i = 0; i < view.header().counter_count; ++i) {
        if (const auto v = view.counter_total(i); v != 0) {
            std::printf("  %-32s %llu\n", view.header().counters[i].name,
                        static_cast<unsigned long long>(v));
        }
    }
    rte_eal_cleanup();
    return failures == 0 ? 0 : 1;
}
