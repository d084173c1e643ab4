#include "tests/eal/dataplane/runtime_fixture.h"

#include "dataplane/app/rx_lcore.h"
#include "dataplane/app/tx_lcore.h"

#include <cstring>
#include <random>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <thread>

namespace skycast::dataplane::testing {

void runtime_fixture::SetUp() {
    static int instance = 0;
    ++instance;
    port_name = "sky_test" + std::to_string(instance);
    in = rte_ring_create(("t_in" + std::to_string(instance)).c_str(), 4096, rte_socket_id(),
                         RING_F_SP_ENQ | RING_F_SC_DEQ);
    out = rte_ring_create(("t_out" + std::to_string(instance)).c_str(), 16384, rte_socket_id(),
                          RING_F_SP_ENQ | RING_F_SC_DEQ);
    ASSERT_NE(in, nullptr);
    ASSERT_NE(out, nullptr);
    const int port = rte_eth_from_rings(port_name.c_str(), &in, 1, &out, 1, rte_socket_id());
    ASSERT_GE(port, 0);
    // The ring PMD prefixes the name it is given; the runtime finds ports by
    // their device name, as a config names them.
    char name[RTE_ETH_NAME_MAX_LEN];
    ASSERT_EQ(rte_eth_dev_get_name_by_port(static_cast<std::uint16_t>(port), name), 0);
    port_name = name;
    std::string error;
    rt = runtime::create(options(), error);
    ASSERT_TRUE(rt) << error;
}

void runtime_fixture::TearDown() {
    auto rest = take_sent();
    free_all(rest);
    rt.reset();
    rte_mbuf* m = nullptr;
    while (in != nullptr && rte_ring_dequeue(in, reinterpret_cast<void**>(&m)) == 0) {
        rte_pktmbuf_free(m);
    }
    rte_ring_free(in);
    rte_ring_free(out);
}

dataplane_options runtime_fixture::options() const {
    dataplane_options o;
    o.port.device = port_name;
    o.port.mtu = 9000;
    o.port.address = our_ip;
    o.port.prefix_length = 24;
    o.mbufs = 8191;
    o.mbuf_cache = 64;
    o.control_mbufs = 255;
    o.max_files = 4;
    o.max_blocks_per_file = 1u << 16;
    o.rx_lcore = o.tx_lcore = rte_lcore_id();
    return o;
}

void runtime_fixture::pump(int rounds) {
    for (int i = 0; i < rounds; ++i) {
        rx_iteration(rt->rx());
        tx_iteration(rt->tx());
        rt->service().run_once();
    }
}

int runtime_fixture::close_received_file(std::uint16_t slot) {
    auto close = make_command(api::command_kind::close_receive_file);
    close.file_slot = slot;
    EXPECT_EQ(execute(close).status, api::reply_status::ok);
    const api::file_slot& s = rt->shared().slot(slot);
    const auto closed = [&] {
        return static_cast<api::file_slot_state>(s.state.load(std::memory_order_acquire)) ==
               api::file_slot_state::closed;
    };
    // The flush is the closer thread's: this thread only waits, bounded by
    // the closer's own drain timeout (30 s) plus a slow disk's fdatasync.
    const auto until = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    while (!closed() && std::chrono::steady_clock::now() < until) {
        pump();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return closed() ? s.close_errno.load() : -1;
}

void runtime_fixture::join_test_group() {
    ASSERT_EQ(execute(make_command(api::command_kind::join_group)).status, api::reply_status::ok);
    pump(2);
    auto sent = take_sent();
    free_all(sent);
}

std::vector<rte_mbuf*> runtime_fixture::pump_until_sent(std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        pump();
        auto sent = take_sent();
        if (!sent.empty()) {
            return sent;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return {};
}

std::vector<rte_mbuf*> runtime_fixture::take_sent() {
    std::vector<rte_mbuf*> frames;
    void* m = nullptr;
    while (out != nullptr && rte_ring_dequeue(out, &m) == 0) {
        frames.push_back(static_cast<rte_mbuf*>(m));
    }
    return frames;
}

void runtime_fixture::inject(rte_mbuf* m) {
    ASSERT_EQ(rte_ring_enqueue(in, m), 0);
}

rte_mbuf* runtime_fixture::frame_from(std::span<const std::uint8_t> bytes) {
    rte_mbuf* m = rte_pktmbuf_alloc(rt->res().packets);
    EXPECT_NE(m, nullptr);
    auto* p = rte_pktmbuf_append(m, static_cast<std::uint16_t>(bytes.size()));
    std::memcpy(p, bytes.data(), bytes.size());
    return m;
}

api::reply runtime_fixture::execute(api::command c) {
    c.version = api::contract_version;
    return rt->service().execute(c);
}

std::uint64_t runtime_fixture::counter(std::string_view name) const {
    const auto view = rt->shared();
    for (std::uint32_t i = 0; i < view.header().counter_count; ++i) {
        if (name == view.header().counters[i].name) {
            return view.counter_total(i);
        }
    }
    ADD_FAILURE() << "no counter named " << name;
    return 0;
}

std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint32_t seed) {
    std::vector<std::uint8_t> v(n);
    std::mt19937 g(seed);
    for (auto& b : v) {
        b = static_cast<std::uint8_t>(g());
    }
    return v;
}

void free_all(std::vector<rte_mbuf*>& frames) {
    for (rte_mbuf* m : frames) {
        rte_pktmbuf_free(m);
    }
    frames.clear();
}

} // namespace skycast::dataplane::testing
