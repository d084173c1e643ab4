#include "dataplane/app/runtime.h"

#include "dataplane/app/counter_ids.h"
#include "dataplane/app/rx_lcore.h"
#include "dataplane/app/telemetry.h"
#include "dataplane/app/tx_lcore.h"
#include "dataplane/core/idle_backoff.h"

#include <algorithm>
#include <cstring>
#include <poll.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>

namespace skycast::dataplane {
namespace {

// A storage thread always sleeps when idle (it is not an lcore and has no
// core of its own); with busy-polling lcores it starts from this pause.
constexpr std::uint32_t storage_idle_pause_us = 50;
// ... and pauses at most this long: the storage ring (4096 blocks by
// default) must hold what the RX lcore hands over meanwhile, ~280 blocks at
// 10 Gbit/s of jumbo frames.
constexpr std::uint32_t storage_longest_pause_us = 2000;
// Deep idle for storage threads (idle_backoff.h): blocks to write come only
// after a FILEINFO, but the thread may still be deep asleep when the first
// ones arrive; 10 ms of 10 Gbit/s jumbo frames is ~1,400 blocks, a third of
// the default storage ring.
constexpr deep_idle storage_deep_idle{1'000'000, 10'000};

struct loop_args {
    rx_context* rx = nullptr; // null when this lcore does not receive
    tx_context* tx = nullptr; // null when this lcore does not send
    const std::atomic<bool>* stop = nullptr;
    idle_backoff backoff{0, 0}; // busy polls unless dataplane.idle_backoff_us is set
    // An RX lcore's port sockets (af_packet), to sleep on in deep idle.
    std::vector<pollfd> wake_on;
};

// Deep pauses (idle_backoff.h): an RX lcore sleeps in poll() on its port's
// sockets, so a frame ends the pause at once; a TX-only lcore just sleeps
// (its work waits in rings). An RX lcore on a port without sockets to wait
// on (tap, memif, ring) never goes deep: frames would pile up unseen.
idle_backoff loop_backoff(const dataplane_options& o, bool receives, bool can_wait_on_port) {
    return idle_backoff(o.idle_backoff_us, o.idle_backoff_max_us, idle_backoff::default_spins,
                        receives && !can_wait_on_port ? deep_idle{} : node_deep_idle);
}

// The loop of one lcore, running the roles placed on it. Busy and idle
// cycles go to the counters of the first role (each block has one writer).
int lcore_loop(void* arg) {
    loop_args& a = *static_cast<loop_args*>(arg);
    std::uint64_t* counters = a.rx != nullptr ? a.rx->counters : a.tx->counters;
    if (a.rx != nullptr) {
        a.rx->gate.running.store(true);
    }
    if (a.tx != nullptr) {
        a.tx->gate.running.store(true);
    }
    std::uint64_t last = rte_rdtsc();
    while (!a.stop->load(std::memory_order_relaxed)) {
        bool did = false;
        if (a.rx != nullptr) {
            did |= rx_iteration(*a.rx);
        }
        if (a.tx != nullptr) {
            did |= tx_iteration(*a.tx);
        }
        const std::uint64_t now = rte_rdtsc();
        bump(counters, did ? counter::loop_busy_cycles : counter::loop_idle_cycles, now - last);
        last = now;
        std::uint32_t pause = a.backoff.after_round(did);
        bool deep = a.backoff.deep_pause();
        // A paced pass must not sleep through its pacer's burst
        // (tx_pause_limit_us).
        if (const std::uint32_t limit =
                pause != 0 && a.tx != nullptr ? tx_pause_limit_us(*a.tx) : no_pause_limit;
            limit < pause) {
            pause = limit;
            deep = false;
        }
        if (pause != 0) {
            if (deep && !a.wake_on.empty()) {
                ::poll(a.wake_on.data(), a.wake_on.size(), static_cast<int>(pause / 1000));
            } else {
                rte_delay_us_sleep(pause);
            }
            last = rte_rdtsc();
        }
    }
    if (a.tx != nullptr) {
        tx_drain(*a.tx);
        a.tx->gate.running.store(false);
    }
    if (a.rx != nullptr) {
        a.rx->gate.running.store(false);
    }
    return 0;
}

std::vector<loop_args>& loops() {
    static std::vector<loop_args> args; // one per lcore in use; lives as long as the process
    return args;
}

} // namespace

runtime::runtime(const dataplane_options& options) : _options(options) {}

runtime::~runtime() {
    stop();
    _service.reset();
    _storage.clear();
    if (_tx) {
        _tx->sealer.reset();
    }
    if (_rx) {
        _rx->opener.reset();
    }
    seal::stop_crypto_devices();
    unregister_telemetry();
    release_resources(_res);
}

std::unique_ptr<runtime> runtime::create(const dataplane_options& options, std::string& error) {
    std::unique_ptr<runtime> rt(new runtime(options));
    error = rt->build();
    if (!error.empty()) {
        return nullptr;
    }
    return rt;
}

std::string runtime::build() {
    if (std::string e = create_resources(_options, _res); !e.empty()) {
        return e;
    }
    rte_ether_addr mac{};
    rte_eth_macaddr_get(_res.port, &mac);
    local_addresses local;
    std::memcpy(local.mac.bytes.data(), mac.addr_bytes, 6);
    local.ip = net::ipv4_address{_options.port.address};
    local.netmask = _options.port.prefix_length == 0
                        ? 0
                        : ~std::uint32_t{0} << (32 - _options.port.prefix_length);
    local.gateway = net::ipv4_address{_options.port.gateway};
    local.mtu = _options.port.mtu;
    local.multicast_ttl = _options.multicast_ttl;

    seal::seal_options seal_opts;
    seal_opts.backend = _options.seal_backend == seal_backend_kind::cryptodev
                            ? seal::backend_kind::cryptodev
                            : seal::backend_kind::openssl;
    seal_opts.cryptodev_device = _options.cryptodev_device;
    seal_opts.queue_pairs = 2; // one for TX, one for RX
    seal_opts.max_sessions = static_cast<std::uint16_t>(api::max_sessions);
    // CBC suites have no cryptodev path here: OpenSSL serves them inside the
    // cryptodev engine. A missing device also falls back; reservations()
    // says so at start, so an operator sees the 3-5x CPU cost coming.
    seal_opts.openssl_fallback = true;

    _tx = std::make_unique<tx_context>();
    _tx->res = &_res;
    _tx->counters = _res.shared.counters(counters_tx).values;
    _tx->local = local;
    _tx->offload = {.ipv4 = (_res.tx_offload & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0,
                    .udp = (_res.tx_offload & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) != 0};
    _tx->tsc_hz = rte_get_tsc_hz();
    _tx->last_igmp_tsc = rte_rdtsc();
    // Receivers started together still draw different IGMP delays.
    _tx->random_state = static_cast<std::uint32_t>(rte_rdtsc() >> 4) | 1u;
    seal_opts.queue_pair = 0;
    auto sealer = seal::create_seal_engine(seal_opts);
    if (!sealer.ok()) {
        return std::string("cannot set up packet encryption (dataplane.crypto): ") +
               std::string(seal::describe(sealer.error()));
    }
    _tx->sealer = std::move(sealer).value();

    _rx = std::make_unique<rx_context>();
    _rx->res = &_res;
    _rx->counters = _res.shared.counters(counters_rx).values;
    _rx->classify.mac = local.mac;
    _rx->classify.ip = local.ip;
    _rx->files.resize(_options.max_files);
    _rx->storage_threads = _options.storage_threads;
    refresh_classifier(*_rx);
    seal_opts.queue_pair = 1;
    auto opener = seal::create_seal_engine(seal_opts);
    if (!opener.ok()) {
        return std::string("cannot set up packet decryption (dataplane.crypto): ") +
               std::string(seal::describe(opener.error()));
    }
    _rx->opener = std::move(opener).value();

    _files = std::make_unique<storage_files>(_options.max_files, _options.flush_before_complete);
    for (unsigned i = 0; i < _options.storage_threads; ++i) {
        _storage.push_back(std::make_unique<storage_thread>(
            _res.storage[i], *_files, _res.shared,
            _res.shared.counters(counters_storage0 + i).values,
            idle_backoff(_options.idle_backoff_us == 0 ? storage_idle_pause_us
                                                       : _options.idle_backoff_us,
                         std::min(_options.idle_backoff_max_us, storage_longest_pause_us),
                         idle_backoff::default_spins, storage_deep_idle)));
    }
    if (_options.telemetry) {
        register_telemetry(_res.shared);
    }
    _service = std::make_unique<service_thread>(_options, _res, *_rx, *_tx, *_files, _storage);
    _res.shared.header().state.store(static_cast<std::uint32_t>(api::dataplane_state::starting));
    return {};
}

std::vector<std::string> runtime::reservations() const {
    auto lines = describe_reservations(_options, _res);
    const seal::seal_engine& engine = *_tx->sealer;
    std::string crypto = "packet crypto: " + std::string(seal::name(engine.backend()));
    if (engine.fallback_reason() != seal::seal_error::ok) {
        crypto += " (cryptodev '" + _options.cryptodev_device +
                  "' unavailable: " + std::string(seal::describe(engine.fallback_reason())) + ")";
    } else if (engine.backend() == seal::backend_kind::cryptodev) {
        crypto += " device " + _options.cryptodev_device + ", queue pairs 0 (TX) and 1 (RX)";
    }
    lines.push_back(crypto);
    return lines;
}

bool runtime::start(std::string& error) {
    auto& args = loops();
    args.clear();
    args.reserve(2);
    const unsigned main = rte_get_main_lcore();
    std::vector<pollfd> port_sockets;
    for (const int fd : _service->port_sockets()) {
        port_sockets.push_back({.fd = fd, .events = POLLIN, .revents = 0});
    }
    const bool can_wait = !port_sockets.empty();
    if (_options.rx_lcore == _options.tx_lcore) {
        args.push_back({.rx = _rx.get(),
                        .tx = _tx.get(),
                        .stop = &_stop_loops,
                        .backoff = loop_backoff(_options, true, can_wait),
                        .wake_on = port_sockets});
    } else {
        args.push_back({.rx = _rx.get(),
                        .stop = &_stop_loops,
                        .backoff = loop_backoff(_options, true, can_wait),
                        .wake_on = port_sockets});
        args.push_back({.tx = _tx.get(),
                        .stop = &_stop_loops,
                        .backoff = loop_backoff(_options, false, can_wait)});
    }
    const unsigned lcores[2] = {_options.rx_lcore, _options.tx_lcore};
    _service->start();
    for (std::size_t i = 0; i < args.size(); ++i) {
        const unsigned lcore = lcores[i];
        if (lcore == main) {
            _loop_on_main = true; // run_until() runs it on this thread
            continue;
        }
        if (!rte_lcore_is_enabled(lcore)) {
            error = "lcore " + std::to_string(lcore) +
                    " is not in the EAL lcore list (dataplane.eal.lcores / dataplane.roles)";
            stop();
            return false;
        }
        if (int rc = rte_eal_remote_launch(lcore_loop, &args[i], lcore); rc != 0) {
            error = "cannot launch the loop on lcore " + std::to_string(lcore) + ": " +
                    std::strerror(-rc);
            stop();
            return false;
        }
    }
    _started = true;
    _res.shared.header().state.store(static_cast<std::uint32_t>(api::dataplane_state::running),
                                     std::memory_order_release);
    return true;
}

void runtime::run_until(const std::atomic<bool>& stop_flag) {
    if (_loop_on_main) {
        // The loop for the main lcore watches its own flag; relay the caller's.
        std::thread relay([&] {
            while (!stop_flag.load()) {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
            _stop_loops.store(true);
        });
        auto& args = loops();
        const unsigned main = rte_get_main_lcore();
        lcore_loop(&args[_options.rx_lcore == main ? 0 : args.size() - 1]);
        relay.join();
    } else {
        while (!stop_flag.load()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    stop();
}

void runtime::stop() {
    if (_res.zone == nullptr || (!_started && !_service)) {
        return;
    }
    _res.shared.header().state.store(static_cast<std::uint32_t>(api::dataplane_state::stopping),
                                     std::memory_order_release);
    _stop_loops.store(true);
    rte_eal_mp_wait_lcore();
    if (_service) {
        _service->stop();
    }
    for (auto& s : _storage) {
        s->stop();
    }
    _started = false;
    _res.shared.header().state.store(static_cast<std::uint32_t>(api::dataplane_state::stopped),
                                     std::memory_order_release);
}

} // namespace skycast::dataplane
