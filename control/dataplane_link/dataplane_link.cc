#include "control/dataplane_link/dataplane_link.h"

#include <cstring>
#include <fcntl.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_memzone.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <string>
#include <thread>
#include <unistd.h>

namespace skycast::control {
namespace {

using clock = std::chrono::steady_clock;

// A dataplane whose heartbeat stood still this long is gone (it beats every
// 100 ms; the margin covers a loaded machine).
constexpr auto heartbeat_timeout = std::chrono::seconds(3);
// Sleep between polls of a ring the control process waits on.
constexpr auto poll_interval = std::chrono::microseconds(200);

} // namespace

bool dataplane_link::wait_for_primary(const std::string& file_prefix,
                                      std::chrono::milliseconds wait) {
    // EAL's runtime directory for a prefix (root: /var/run/dpdk/<prefix>);
    // the primary writes `config` there when its memory is set up.
    // A running primary holds a write lock on it (EAL's rte_eal_config_create);
    // a file nobody locks is what a killed primary left behind.
    const std::string config = "/var/run/dpdk/" + file_prefix + "/config";
    const auto deadline = clock::now() + wait;
    for (;;) {
        const int fd = ::open(config.c_str(), O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
            struct flock lock {};
            lock.l_type = F_WRLCK;
            lock.l_whence = SEEK_SET;
            const bool held = ::fcntl(fd, F_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
            ::close(fd);
            if (held) {
                return true;
            }
        }
        if (clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

std::optional<dataplane_link> dataplane_link::attach(std::chrono::milliseconds wait,
                                                     std::string& error) {
    const auto deadline = clock::now() + wait;
    const rte_memzone* zone = nullptr;
    for (;;) {
        zone = rte_memzone_lookup(api::memzone_shared);
        if (zone != nullptr) {
            const api::shared_view view(zone->addr);
            const auto state = static_cast<api::dataplane_state>(view.header().state.load());
            if (view.header().magic == api::shared_magic &&
                view.header().contract_version != api::contract_version) {
                error = "the dataplane speaks contract version " +
                        std::to_string(view.header().contract_version) + ", this control process " +
                        std::to_string(api::contract_version) +
                        ": install matching builds of skycast-dataplane and skycast-control";
                return std::nullopt;
            }
            if (state == api::dataplane_state::running) {
                break;
            }
        }
        if (clock::now() > deadline) {
            error = zone == nullptr ? "no dataplane is running under this file prefix (memzone " +
                                          std::string(api::memzone_shared) + " not found)"
                                    : "the dataplane did not reach the running state";
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    dataplane_link link;
    link._zone_addr = zone->addr;
    link._generation = link.shared().header().generation;
    link._command = rte_ring_lookup(api::ring_command);
    link._control_tx = rte_ring_lookup(api::ring_control_tx);
    link._reply = rte_ring_lookup(api::ring_reply);
    link._tx_event = rte_ring_lookup(api::ring_tx_event);
    link._received = rte_ring_lookup(api::ring_received);
    link._pool = rte_mempool_lookup(api::pool_control);
    if (link._command == nullptr || link._control_tx == nullptr || link._reply == nullptr ||
        link._tx_event == nullptr || link._received == nullptr || link._pool == nullptr) {
        error = "the dataplane's rings or control pool are missing (a dataplane of another "
                "build?)";
        return std::nullopt;
    }
    // Replies and pass events left over from an earlier control process are
    // not ours. Received datagrams are kept: they may be for us (a peer that
    // spoke while we restarted), and the engines ignore stale ones.
    api::reply stale;
    while (rte_ring_sc_dequeue_elem(link._reply, &stale, sizeof stale) == 0) {
    }
    while (link.next_tx_event()) {
    }
    link._last_beat = link.shared().header().heartbeat.load();
    link._last_beat_change = clock::now();
    return link;
}

bool dataplane_link::take_control(std::uint16_t port, std::string& error) {
    api::command hello{};
    hello.kind = api::command_kind::hello;
    if (!call(hello, std::chrono::seconds(5))) {
        error = "the dataplane does not answer commands";
        return false;
    }
    api::command open{};
    open.kind = api::command_kind::open_port;
    open.port = port;
    if (auto r = call(open, std::chrono::seconds(5)); !r || r->status != api::reply_status::ok) {
        error = "the dataplane refused to open UDP port " + std::to_string(port);
        return false;
    }
    shared().header().control_pid.store(static_cast<std::uint64_t>(::getpid()));
    return true;
}

bool dataplane_link::alive() {
    const auto& h = shared().header();
    if (h.generation != _generation ||
        static_cast<api::dataplane_state>(h.state.load()) != api::dataplane_state::running) {
        return false;
    }
    // A dataplane killed outright leaves "running" behind: its service thread
    // bumps the heartbeat every 100 ms, so a still one means it is gone.
    const std::uint64_t beat = h.heartbeat.load(std::memory_order_acquire);
    const auto now = clock::now();
    if (beat != _last_beat) {
        _last_beat = beat;
        _last_beat_change = now;
    }
    return now - _last_beat_change < heartbeat_timeout;
}

std::optional<api::reply> dataplane_link::call(api::command cmd,
                                               std::chrono::milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    cmd.version = api::contract_version;
    cmd.request_id = _next_request++;
    while (rte_ring_sp_enqueue_elem(_command, &cmd, sizeof cmd) != 0) {
        if (clock::now() > deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(poll_interval);
    }
    // The ring copied it: do not keep key material on our stack either.
    std::memset(&cmd.keys, 0, sizeof cmd.keys);
    api::reply r;
    for (;;) {
        while (rte_ring_sc_dequeue_elem(_reply, &r, sizeof r) == 0) {
            if (r.request_id == cmd.request_id) {
                return r;
            }
            // A reply to a command that timed out earlier: drop it.
        }
        if (clock::now() > deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(poll_interval);
    }
}

bool dataplane_link::send(api::endpoint4 to, std::uint16_t from_port,
                          std::span<const std::uint8_t> datagram) {
    if (datagram.size() > api::max_datagram) {
        return false;
    }
    rte_mbuf* m = rte_pktmbuf_alloc(_pool);
    if (m == nullptr) {
        return false;
    }
    std::memcpy(rte_pktmbuf_mtod(m, void*), datagram.data(), datagram.size());
    api::datagram d{.version = api::contract_version,
                    .length = static_cast<std::uint16_t>(datagram.size()),
                    .offset = m->data_off,
                    .peer = to,
                    .local = {.address = shared().header().local_address, .port = from_port},
                    .mbuf = reinterpret_cast<std::uint64_t>(m)};
    if (rte_ring_sp_enqueue_elem(_control_tx, &d, sizeof d) != 0) {
        rte_pktmbuf_free(m);
        return false;
    }
    return true;
}

std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

bool dataplane_link::send_later(api::endpoint4 to, std::uint16_t from_port,
                                std::span<const std::uint8_t> datagram, std::int64_t delay_ns) {
    const auto due =
        static_cast<engine::time_ns>(steady_ns() + std::max<std::int64_t>(delay_ns, 0));
    if (_held.hold(due, {.address = to.address, .port = to.port}, datagram, from_port)) {
        return true;
    }
    return send(to, from_port, datagram);
}

bool dataplane_link::send_due() {
    if (_held.size() == 0) {
        return false;
    }
    const auto now = static_cast<engine::time_ns>(steady_ns());
    return _held.release_due(now, [&](const engine::held_copies::copy& c) {
        if (!send({.address = c.to.address, .port = c.to.port, .pad = 0}, c.local_port, c.bytes)) {
            ++_held_send_failures; // no mbuf or the ring full: UFTP retransmits
        }
    }) != 0;
}

std::optional<std::int64_t> dataplane_link::next_due_in() const {
    const engine::time_ns due = _held.next_due();
    if (due == engine::no_deadline) {
        return std::nullopt;
    }
    return std::max<std::int64_t>(static_cast<std::int64_t>(due) - steady_ns(), 0);
}

std::optional<dataplane_link::received> dataplane_link::receive() {
    api::datagram d;
    if (rte_ring_sc_dequeue_elem(_received, &d, sizeof d) != 0) {
        return std::nullopt;
    }
    auto* m = reinterpret_cast<rte_mbuf*>(d.mbuf);
    const std::size_t n = std::min<std::size_t>(d.length, sizeof _buffer);
    std::memcpy(_buffer, rte_pktmbuf_mtod_offset(m, const void*, d.offset), n);
    rte_pktmbuf_free(m);
    return received{d, std::span<const std::uint8_t>(_buffer, n)};
}

std::optional<api::tx_event> dataplane_link::next_tx_event() {
    api::tx_event e;
    if (rte_ring_sc_dequeue_elem(_tx_event, &e, sizeof e) != 0) {
        return std::nullopt;
    }
    return e;
}

} // namespace skycast::control
