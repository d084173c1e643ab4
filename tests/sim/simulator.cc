#include "tests/sim/simulator.h"

#include "control/dataplane_link/parity_table.h"
#include "control/engine/path_safety.h"
#include "control/engine/receive_file.h"
#include "dataplane/api/block_bitmap.h"
#include "dataplane/core/fec_receiver.h"
#include "dataplane/core/fileseg_builder.h"
#include "dataplane/core/fileseg_receiver.h"
#include "dataplane/core/pacer.h"
#include "dataplane/core/parity_ahead.h"
#include "dataplane/core/parity_builder.h"
#include "protocol/codec.h"
#include "protocol/parity.h"
#include "protocol/quantize.h"
#include "tests/sim/receiver_port.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <memory>
#include <queue>
#include <sys/stat.h>
#include <unistd.h>

namespace skycast::sim {

namespace {

using engine::endpoint;
using engine::ns_per_second;
using engine::seconds_to_ns;
using payload = std::shared_ptr<const std::vector<std::uint8_t>>;

// Virtual time starts at a plausible Unix time so timestamps on the wire look real.
constexpr time_ns epoch = 1'700'000'000ull * ns_per_second;
constexpr std::uint32_t sender_address = sender_uid;
constexpr std::uint32_t receiver_base = receiver_uid(0) - 1;
// Ethernet (14) + IPv4 (20) + UDP (8) in front of every UFTP datagram.
constexpr std::uint32_t l2_l4_overhead = 42;
// Burst bytes for the pacer: a few jumbo frames, as the TX lcore would use.
constexpr std::uint64_t pacer_burst = 32 * 1024;
// FILESEGs sent per tx event when unpaced, so other events interleave.
constexpr int unpaced_batch = 64;

enum class event_kind : std::uint8_t {
    deliver,
    timer,
    tx,
    pass_end,
    crash,
    abort,
    deliver_group,
    send_later, // a spaced control copy leaves node `node` (gen: its endpoint)
};

std::uint64_t pack(endpoint to) {
    return (std::uint64_t{to.address} << 16) | to.port;
}
endpoint unpack(std::uint64_t packed) {
    return {.address = static_cast<std::uint32_t>(packed >> 16),
            .port = static_cast<std::uint16_t>(packed & 0xFFFF)};
}

struct event {
    time_ns at = 0;
    std::uint64_t order = 0; // insertion sequence: breaks ties deterministically
    event_kind kind = event_kind::deliver;
    std::uint32_t node = 0; // 0 = sender, i+1 = receiver i
    std::uint64_t gen = 0;
    payload data;
};
struct later {
    bool operator()(const event& a, const event& b) const {
        return a.at != b.at ? a.at > b.at : a.order > b.order;
    }
};

// How much of a datagram goes into the trace hash: the first 48 bytes (UFTP
// header, message header, NAKs), but only the fixed 28-byte prefix of
// messages whose later bytes are random key material or ciphertext.
std::size_t hashed_bytes(const std::vector<std::uint8_t>& d) {
    if (d.size() > 1) {
        switch (static_cast<protocol::message_type>(d[1])) {
        case protocol::message_type::register_:
        case protocol::message_type::client_key:
        case protocol::message_type::keyinfo:
        case protocol::message_type::encrypted:
            return protocol::encrypted_prefix_size;
        default:
            break;
        }
    }
    return 48;
}

std::uint64_t fnv(std::uint64_t h, const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    for (std::size_t i = 0; i < n; ++i) {
        h = (h ^ b[i]) * 0x100000001b3ull;
    }
    return h;
}

class simulation;

class sender_net : public engine::network_port {
public:
    explicit sender_net(simulation& s) : _sim(s) {}
    void send(endpoint to, std::span<const std::uint8_t> datagram) override;
    void send_later(endpoint to, std::span<const std::uint8_t> datagram, time_ns delay) override;

private:
    simulation& _sim;
};

class receiver_net : public engine::network_port {
public:
    receiver_net(simulation& s, std::uint32_t index) : _sim(s), _index(index) {}
    void send(endpoint to, std::span<const std::uint8_t> datagram) override;
    void send_later(endpoint to, std::span<const std::uint8_t> datagram, time_ns delay) override;

private:
    simulation& _sim;
    std::uint32_t _index;
};

// dataplane/core's pacer and FILESEG builder, fed from the source file.
class sim_sender_dataplane : public engine::sender_dataplane_port {
public:
    explicit sim_sender_dataplane(simulation& s) : _sim(s) {}
    bool start_pass(engine::pass_request request) override;
    void stop_pass() override {
        _active = false;
        ++_gen;
    }
    std::uint32_t pass_cursor() const override {
        return _active ? _cursor : _request.layout.blocks();
    }
    std::uint64_t pass_bytes_sent() const override { return _bytes_sent; }
    void set_pass_rate(std::uint64_t rate_bps) override;
    std::uint64_t parity_failures = 0; // parity the builder could not make
    std::vector<sim_report::pass_record> passes;
    void on_tx(time_ns now, std::uint64_t gen);
    std::uint64_t gen() const { return _gen; }
    std::uint16_t file_id() const { return _request.file_id; }

private:
    std::uint32_t next_block(std::uint32_t from) const {
        const std::uint32_t n = _request.layout.blocks();
        for (std::uint32_t b = from; b < n; ++b) {
            const std::uint64_t w = _request.blocks[b >> 6] >> (b & 63);
            if (w == 0) {
                b |= 63; // skip the rest of an empty word
                continue;
            }
            if (w & 1) {
                return b;
            }
        }
        return n;
    }

    // FEC: the next parity block due (dataplane/core/parity_ahead.h picks
    // it and its order, as on the TX lcore; null run: none), and sending it.
    dataplane::parity_item parity_due();
    void send_parity(const protocol::uftp_header& h, const dataplane::parity_item& item);
    // Whether the pacer lets a frame of `frame` bytes go now (the `sent`th of
    // this event); if not, schedules the next tx event when it will.
    bool admit(time_ns now, int sent, std::uint32_t frame);

    simulation& _sim;
    engine::pass_request _request;
    dataplane::tx_file _tx;
    protocol::fec_groups _groups;
    std::optional<dataplane::parity_builder> _parity;
    std::vector<dataplane::api::parity_entry> _parity_table; // the pass's runs, per group
    dataplane::parity_ahead _parity_runs;                    // encoded here, on this one thread
    const std::vector<std::uint8_t>* _source = nullptr;
    std::map<std::string, std::vector<std::uint8_t>> _cache;
    std::uint32_t _cursor = 0;
    std::uint64_t _bytes_sent = 0; // of the pass in progress
    bool _active = false;
    std::uint64_t _gen = 0;
    std::vector<std::uint8_t> _frame = std::vector<std::uint8_t>(protocol::max_datagram_size);
    // Encrypted sessions: the TX lcore's own cipher context, made from the
    // session_keys the engine passed with the pass.
    const engine::session_keys* _keys_for = nullptr;
    std::optional<crypto::packet_cipher> _cipher;

public:
    std::uint64_t seal_failures = 0;
};

// accept_fileseg + block_bitmap, writing blocks into the engine's temp file.
struct receiver_node {
    std::uint32_t uid = 0;
    std::string destination;
    receiver_profile profile;
    link_state down_state;
    link_state up_state;
    std::unique_ptr<receiver_net> net;
    std::unique_ptr<receiver_port> dp;
    std::unique_ptr<engine::receiver_engine> engine;
    bool crashed = false;
    std::uint32_t stale_temp_files_removed = 0;
    // Same fixed delay as every other uniform receiver, no jitter, reordering
    // or duplication: multicast reaches all of them in one group event.
    bool uniform = false;
    time_ns silent_at = engine::no_deadline;
    time_ns scheduled = engine::no_deadline;
    std::uint64_t timer_gen = 0;
};

class simulation {
public:
    explicit simulation(const sim_config& c) : _config(c), _rng(c.seed) {}

    sim_report run();

    time_ns now() const { return _now; }
    double now_seconds() const { return static_cast<double>(_now - epoch) / 1e9; }
    void push(time_ns at, event_kind kind, std::uint32_t node, std::uint64_t gen = 0,
              payload data = {}) {
        _queue.push({.at = at,
                     .order = _order++,
                     .kind = kind,
                     .node = node,
                     .gen = gen,
                     .data = std::move(data)});
    }
    void from_sender(endpoint to, std::span<const std::uint8_t> datagram);
    void from_receiver(std::uint32_t index, endpoint to, std::span<const std::uint8_t> datagram);
    std::uint8_t header_grtt() const { return protocol::quantize_grtt(_sender->grtt()); }
    std::uint8_t header_gsize() const {
        return protocol::quantize_group_size(_sender->active_clients());
    }
    const engine::sender_config& sender_config() const { return _sender_config; }
    const dataplane::pacer_profile& pacer() const { return _pacer; }
    dataplane::pacer_state& pacer_state() { return _pacer_state; }
    // A pass's own rate (pass_request::rate_bps, set_pass_rate); 0 = the
    // configured one.
    void set_rate(std::uint64_t rate_bps) {
        dataplane::pacer_set_rate(_pacer, _pacer_state, _now,
                                  rate_bps != 0 ? rate_bps : _config.rate_bps);
    }
    engine::sequence_counter& seq() { return _seq; }
    std::map<std::uint16_t, const std::vector<std::uint8_t>*>& sources() { return _sources; }

private:
    void reschedule_sender();
    void reschedule(std::uint32_t index);
    void process(const event& e);

    const sim_config& _config;
    engine::sender_config _sender_config;
    std::mt19937_64 _rng;
    std::priority_queue<event, std::vector<event>, later> _queue;
    std::uint64_t _order = 0;
    time_ns _now = epoch;
    time_ns _last_effective = epoch;
    // FEC decoders by (k, block size), shared by the receivers.
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::optional<dataplane::fec_decoder>>
        _decoders;
    std::uint64_t _hash = 0xcbf29ce484222325ull;
    sim_report _report;
    std::vector<double> _arrivals;

    engine::sequence_counter _seq;
    dataplane::pacer_profile _pacer;
    dataplane::pacer_state _pacer_state;
    std::unique_ptr<sender_net> _sender_net;
    std::unique_ptr<sim_sender_dataplane> _sender_dp;
    std::unique_ptr<engine::sender_engine> _sender;
    time_ns _sender_scheduled = engine::no_deadline;
    std::uint64_t _sender_timer_gen = 0;
    std::vector<receiver_node> _receivers;
    std::map<std::uint16_t, const std::vector<std::uint8_t>*> _sources;
    bool _any_uniform = false;
    void deliver_to(std::uint32_t index, const payload& data, const protocol::uftp_header* h,
                    const protocol::fileseg_msg* seg);
};

void sender_net::send(endpoint to, std::span<const std::uint8_t> datagram) {
    _sim.from_sender(to, datagram);
}

void receiver_net::send(endpoint to, std::span<const std::uint8_t> datagram) {
    _sim.from_receiver(_index, to, datagram);
}

// Spaced copies leave from their node later, whatever became of the engine
// that queued them (as the appliance's link holds them).
void sender_net::send_later(endpoint to, std::span<const std::uint8_t> datagram, time_ns delay) {
    _sim.push(_sim.now() + delay, event_kind::send_later, 0, pack(to),
              std::make_shared<const std::vector<std::uint8_t>>(datagram.begin(), datagram.end()));
}

void receiver_net::send_later(endpoint to, std::span<const std::uint8_t> datagram, time_ns delay) {
    _sim.push(_sim.now() + delay, event_kind::send_later, _index + 1, pack(to),
              std::make_shared<const std::vector<std::uint8_t>>(datagram.begin(), datagram.end()));
}

bool sim_sender_dataplane::start_pass(engine::pass_request request) {
    _request = std::move(request);
    sim_report::pass_record record{.at = static_cast<double>(_sim.now() - epoch) / 1e9,
                                   .pass = _request.pass};
    record.data_blocks = engine::count_blocks(_request.blocks);
    for (const auto& run : _request.parity) {
        record.parity_blocks += run.count;
        record.longest_run = std::max<std::uint32_t>(record.longest_run, run.count);
        ++record.parity_groups;
    }
    passes.push_back(record);
    auto it = _cache.find(_request.source_path);
    if (it == _cache.end()) {
        std::ifstream in(_request.source_path, std::ios::binary);
        std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                        std::istreambuf_iterator<char>());
        it = _cache.emplace(_request.source_path, std::move(bytes)).first;
    }
    _source = &it->second;
    _sim.sources()[_request.file_id] = _source;
    if (_request.keys && _request.keys.get() != _keys_for) {
        const auto& k = *_request.keys;
        auto pc = crypto::packet_cipher::create(k.suite, k.group_keys, k.signer.get());
        _cipher.reset();
        if (pc) {
            _cipher.emplace(std::move(pc).value());
        }
        _keys_for = _request.keys.get();
    }
    _tx = {.file_id = _request.file_id, .layout = _request.layout};
    if (_request.fec_group_blocks != 0) {
        if (!_parity || _parity->k() != _request.fec_group_blocks ||
            _parity->block_size() != _request.layout.block_size()) {
            _parity = dataplane::parity_builder::create(_request.fec_group_blocks,
                                                        _request.layout.block_size());
        }
        _groups = protocol::fec_groups(_request.layout, _request.fec_group_blocks,
                                       _request.fec_span_groups);
    }
    if (_parity) {
        // The table the dataplane reads from shared memory: a run per group.
        _parity_table.resize(_groups.count());
        control::fill_parity_table(_request.parity, _parity_table);
        if (!_parity_runs.init(_parity_table.data(), _groups, _request.layout.block_size(),
                               dataplane::parity_ahead::default_budget_bytes)) {
            parity_failures += _request.parity.size();
            _parity.reset();
        }
    }
    _cursor = next_block(0);
    _bytes_sent = 0;
    _sim.set_rate(_request.rate_bps);
    _active = true;
    ++_gen;
    _sim.push(_sim.now(), event_kind::tx, 0, _gen);
    return true;
}

void sim_sender_dataplane::on_tx(time_ns now, std::uint64_t gen) {
    if (!_active || gen != _gen) {
        return;
    }
    const auto& layout = _request.layout;
    for (int sent = 0;; ++sent) {
        if (const dataplane::parity_item item = parity_due(); item.run != nullptr) {
            const auto frame = static_cast<std::uint32_t>(
                l2_l4_overhead + (_request.keys != nullptr && _cipher
                                      ? _cipher->sealed_size(_parity->plaintext_size())
                                      : protocol::parity_headers_size + layout.block_size()));
            if (!admit(now, sent, frame)) {
                return;
            }
            const auto& cfg = _sim.sender_config();
            send_parity({.seq = _sim.seq().next(),
                         .src_id = cfg.sender_id,
                         .group_id = cfg.group_id,
                         .group_inst = cfg.group_inst,
                         .grtt = _sim.header_grtt(),
                         .gsize = _sim.header_gsize()},
                        item);
            continue;
        }
        if (_cursor >= layout.blocks()) {
            break;
        }
        const std::uint32_t bytes = layout.block_bytes(_cursor);
        const std::uint64_t offset = std::uint64_t{_cursor} * layout.block_size();
        if (offset + bytes > _source->size()) {
            // The source shrank under us: stop rather than send short blocks.
            _active = false;
            return;
        }
        const bool sealed = _request.keys != nullptr;
        const auto frame = static_cast<std::uint32_t>(
            l2_l4_overhead +
            (sealed && _cipher
                 ? _cipher->sealed_size(dataplane::fileseg_plaintext_size(_tx, _cursor))
                 : protocol::fileseg_headers_size(false) + bytes));
        if (!admit(now, sent, frame)) {
            return;
        }
        const auto& cfg = _sim.sender_config();
        const protocol::uftp_header h{.seq = _sim.seq().next(),
                                      .src_id = cfg.sender_id,
                                      .group_id = cfg.group_id,
                                      .group_inst = cfg.group_inst,
                                      .grtt = _sim.header_grtt(),
                                      .gsize = _sim.header_gsize()};
        const auto data = std::span(*_source).subspan(offset, bytes);
        if (sealed) {
            // Never in the clear: without a cipher context nothing is sent.
            const auto r =
                _cipher ? dataplane::build_fileseg_sealed(*_cipher, h, _tx, _cursor, data,
                                                          _sim.seq().next_iv(), _frame)
                        : dataplane::sealed_fileseg{.crypto = crypto::crypto_error::internal_error};
            if (r.ok()) {
                _sim.from_sender(cfg.private_group, std::span(_frame).first(r.size));
            } else {
                ++seal_failures;
            }
        } else {
            const auto size = dataplane::build_fileseg(h, _tx, _cursor, data, _frame);
            if (size.ok()) {
                _sim.from_sender(cfg.private_group, std::span(_frame).first(*size));
            }
        }
        _bytes_sent += bytes;
        _cursor = next_block(_cursor + 1);
    }
    _active = false;
    _sim.push(now, event_kind::pass_end, 0, _gen);
}

void sim_sender_dataplane::set_pass_rate(std::uint64_t rate_bps) {
    if (_active) {
        _sim.set_rate(rate_bps);
    }
}

bool sim_sender_dataplane::admit(time_ns now, int sent, std::uint32_t frame) {
    if (_sim.pacer().rate_bps == 0
            ? sent < unpaced_batch
            : dataplane::pacer_admit(_sim.pacer(), _sim.pacer_state(), now, frame)) {
        return true;
    }
    const time_ns next =
        _sim.pacer().rate_bps == 0
            ? now
            : dataplane::pacer_next_admit(_sim.pacer(), _sim.pacer_state(), now, frame);
    _sim.push(std::max(next, now), event_kind::tx, 0, _gen);
    return false;
}

dataplane::parity_item sim_sender_dataplane::parity_due() {
    if (!_parity) {
        return {};
    }
    // One thread produces and consumes: encode whatever the ring has room
    // for (every block is in memory here), then take the next block due.
    const std::uint32_t blocks = _request.layout.blocks();
    (void)_parity_runs.produce(*_parity, *_source, _groups.count(), blocks);
    const dataplane::parity_item item = _parity_runs.next(_cursor, _cursor >= blocks);
    parity_failures += _parity_runs.take_failed_blocks();
    return item;
}

void sim_sender_dataplane::send_parity(const protocol::uftp_header& h,
                                       const dataplane::parity_item& item) {
    const dataplane::parity_run& run = *item.run;
    const std::size_t bs = _request.layout.block_size();
    const auto parity = std::span<const std::uint8_t>(run.bytes + item.offset * bs, bs);
    const std::uint32_t index = run.first_index + item.offset;
    if (_request.keys != nullptr) {
        // Sealed like a FILESEG; never in the clear.
        const auto r =
            _cipher ? _parity->build_sealed(*_cipher, h, _request.file_id, _groups, run.group,
                                            index, parity, _sim.seq().next_iv(), _frame)
                    : dataplane::sealed_fileseg{.crypto = crypto::crypto_error::internal_error};
        if (r.ok()) {
            _sim.from_sender(_request.parity_to, std::span(_frame).first(r.size));
        } else {
            ++parity_failures;
        }
    } else if (const auto size =
                   _parity->build(h, _request.file_id, _groups, run.group, index, parity, _frame);
               size.ok()) {
        _sim.from_sender(_request.parity_to, std::span(_frame).first(*size));
    } else {
        ++parity_failures;
    }
    _parity_runs.sent();
}

void simulation::from_sender(endpoint to, std::span<const std::uint8_t> datagram) {
    if (datagram.size() > 1 && datagram[1] == protocol::parity_func) {
        ++_report.parity_datagrams;
    } else if (datagram.size() > 1) {
        ++_report.sender_sent_by_type[datagram[1] & 31];
    }
    auto data = std::make_shared<const std::vector<std::uint8_t>>(datagram.begin(), datagram.end());
    const bool group = to.address == _sender_config.public_group.address ||
                       to.address == _sender_config.private_group.address;
    if (group && _any_uniform) {
        push(_now + seconds_to_ns(_config.link.delay_s), event_kind::deliver_group, 0, 0, data);
    }
    for (std::uint32_t i = 0; i < _receivers.size(); ++i) {
        receiver_node& r = _receivers[i];
        if ((!group && r.uid != to.address) || (group && r.uniform)) {
            continue;
        }
        r.down_state.transmit(r.profile.down, _rng, now_seconds(), _arrivals);
        for (double d : _arrivals) {
            push(_now + seconds_to_ns(d), event_kind::deliver, i + 1, 0, data);
        }
    }
}

void simulation::from_receiver(std::uint32_t index, endpoint to,
                               std::span<const std::uint8_t> datagram) {
    receiver_node& r = _receivers[index];
    if (datagram.size() > 1) {
        ++_report.receivers_sent_by_type[datagram[1] & 31];
    }
    if (to.address != sender_address || _now >= r.silent_at) {
        return;
    }
    r.up_state.transmit(r.profile.up, _rng, now_seconds(), _arrivals);
    if (_arrivals.empty()) {
        return;
    }
    auto data = std::make_shared<const std::vector<std::uint8_t>>(datagram.begin(), datagram.end());
    for (double d : _arrivals) {
        push(_now + seconds_to_ns(d), event_kind::deliver, 0, index + 1, data);
    }
}

void simulation::reschedule_sender() {
    if (_report.sender_phases.empty() || _report.sender_phases.back().second != _sender->phase()) {
        _report.sender_phases.emplace_back(static_cast<double>(_now - epoch) / 1e9,
                                           _sender->phase());
    }
    if (_sender->finished() && _report.sender_finished_seconds < 0) {
        _report.sender_finished_seconds = static_cast<double>(_now - epoch) / 1e9;
    }
    const time_ns d = _sender->next_deadline();
    if (d != _sender_scheduled) {
        _sender_scheduled = d;
        ++_sender_timer_gen;
        if (d != engine::no_deadline) {
            push(std::max(d, _now), event_kind::timer, 0, _sender_timer_gen);
        }
    }
}

void simulation::reschedule(std::uint32_t index) {
    receiver_node& r = _receivers[index];
    if (r.crashed) {
        return;
    }
    // Lazy: a pending timer event at or before the deadline stays (it fires,
    // finds nothing due, and reschedules). Data pushes the inactivity deadline
    // forward on every block; re-queuing a timer each time would double the
    // event count. The port's FEC sweep shares the timer (the appliance's
    // node tick runs both).
    const time_ns d = std::min(r.engine->next_deadline(), r.dp->sweep_deadline());
    if (d == engine::no_deadline || (r.scheduled != engine::no_deadline && r.scheduled <= d)) {
        return;
    }
    r.scheduled = d;
    ++r.timer_gen;
    push(std::max(d, _now), event_kind::timer, index + 1, r.timer_gen);
}

void simulation::process(const event& e) {
    // Fold the event into the trace: time, kind, node and (for datagrams)
    // the size and the first 48 bytes (UFTP header, message header, NAKs).
    std::uint64_t h = _hash;
    h = fnv(h, &e.at, sizeof e.at);
    h = fnv(h, &e.kind, sizeof e.kind);
    h = fnv(h, &e.node, sizeof e.node);
    if (e.data) {
        const std::size_t n = e.data->size();
        h = fnv(h, &n, sizeof n);
        h = fnv(h, e.data->data(), std::min<std::size_t>(n, hashed_bytes(*e.data)));
    }
    _hash = h;

    if (e.node == 0) {
        switch (e.kind) {
        case event_kind::deliver: {
            ++_report.datagrams_up;
            _last_effective = _now;
            const endpoint from{.address = _receivers[e.gen - 1].uid};
            // Wall time inside the sender engine, for "STATUS absorbed per second".
            const auto t = std::chrono::steady_clock::now();
            _sender->on_datagram(_now, from, *e.data);
            _report.sender_engine_seconds +=
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
            break;
        }
        case event_kind::timer:
            if (e.gen == _sender_timer_gen) {
                _sender_scheduled = engine::no_deadline;
                _last_effective = _now;
                _sender->on_timer(_now);
            }
            break;
        case event_kind::tx:
            _last_effective = _now;
            _sender_dp->on_tx(_now, e.gen);
            break;
        case event_kind::pass_end:
            if (e.gen == _sender_dp->gen()) {
                _sender->on_pass_end(_now, _sender_dp->file_id());
            }
            break;
        case event_kind::crash:
            break;
        case event_kind::abort:
            _sender->abort(_now, "Session aborted by operator");
            break;
        case event_kind::send_later:
            from_sender(unpack(e.gen), *e.data);
            break;
        case event_kind::deliver_group: {
            // Decode once for every uniform receiver; each draws its own loss.
            const auto& d = *e.data;
            protocol::uftp_header fh;
            protocol::fileseg_msg seg;
            const bool is_seg = protocol::decode_fileseg(d, fh, seg) == protocol::wire_error::ok;
            for (std::uint32_t i = 0; i < _receivers.size(); ++i) {
                receiver_node& r = _receivers[i];
                if (!r.uniform || r.crashed) {
                    continue;
                }
                r.down_state.transmit(r.profile.down, _rng, now_seconds(), _arrivals);
                if (!_arrivals.empty()) {
                    deliver_to(i, e.data, is_seg ? &fh : nullptr, is_seg ? &seg : nullptr);
                }
            }
            return;
        }
        }
        reschedule_sender();
        return;
    }
    const std::uint32_t index = e.node - 1;
    receiver_node& r = _receivers[index];
    if (r.crashed) {
        return;
    }
    if (_config.debug_receiver == static_cast<std::int64_t>(index) &&
        !(e.data && e.data->size() > 1 && (*e.data)[1] == 9)) {
        std::fprintf(stderr, "t=%.4f kind=%d type=%d state=%d deadline=%.4f\n",
                     static_cast<double>(_now - epoch) / 1e9, static_cast<int>(e.kind),
                     e.data && e.data->size() > 1 ? (*e.data)[1] : 0,
                     static_cast<int>(r.engine->state()),
                     r.engine->next_deadline() == engine::no_deadline
                         ? -1.0
                         : static_cast<double>(r.engine->next_deadline() - epoch) / 1e9);
    }
    switch (e.kind) {
    case event_kind::deliver:
        deliver_to(index, e.data, nullptr, nullptr);
        return;
    case event_kind::timer:
        if (e.gen == r.timer_gen) {
            r.scheduled = engine::no_deadline;
            if (r.engine->next_deadline() <= _now || r.dp->sweep_deadline() <= _now) {
                _last_effective = _now; // stale lazy timers do not count as activity
            }
            sweep(*r.engine, *r.dp, _now);
            r.engine->on_timer(_now);
        }
        break;
    case event_kind::crash:
        r.crashed = true;
        r.dp->crash();
        return;
    case event_kind::send_later:
        from_receiver(index, unpack(e.gen), *e.data);
        return;
    default:
        break;
    }
    reschedule(index);
}

void simulation::deliver_to(std::uint32_t index, const payload& data,
                            const protocol::uftp_header* h, const protocol::fileseg_msg* seg) {
    receiver_node& r = _receivers[index];
    if (r.profile.parity_blocked && data->size() > 1 && (*data)[1] == protocol::parity_func) {
        return; // the proxy in its path never passes PARITY on
    }
    ++_report.datagrams_down;
    _last_effective = _now;
    if (_config.debug_receiver == static_cast<std::int64_t>(index) && data->size() > 1 &&
        (*data)[1] != 9) {
        std::fprintf(stderr, "t=%.4f deliver type=%d state=%d\n", now_seconds(), (*data)[1],
                     static_cast<int>(r.engine->state()));
    }
    payload tampered;
    if (r.profile.tamper) {
        auto copy = std::make_shared<std::vector<std::uint8_t>>(*data);
        r.profile.tamper(*copy);
        tampered = std::move(copy);
        h = nullptr; // the shared decode is of the original bytes
        seg = nullptr;
    }
    const auto& d = tampered ? *tampered : *data;
    deliver(*r.engine, *r.dp, _now, {.address = sender_address}, d, h, seg);
    reschedule(index);
}

sim_report simulation::run() {
    const auto wall_start = std::chrono::steady_clock::now();
    _sender_config = _config.sender;
    _sender_config.sender_id = sender_address;
    if (_sender_config.group_id == 0) {
        _sender_config.group_id = static_cast<std::uint32_t>(_rng());
    }
    // The node's rate, as engine_settings gives the appliance's engine: the
    // ceiling its overload control climbs back to and what repair pacing
    // compares with.
    if (_sender_config.rate_bps == 0) {
        _sender_config.rate_bps = _config.rate_bps;
    }
    _pacer = dataplane::make_pacer_profile(ns_per_second, _config.rate_bps, pacer_burst);
    _pacer_state = dataplane::make_pacer_state(_pacer, _now);

    _receivers.resize(_config.receivers);
    for (std::uint32_t i = 0; i < _config.receivers; ++i) {
        receiver_node& r = _receivers[i];
        r.uid = receiver_base + i + 1;
        r.destination = _config.work_dir + "/r" + std::to_string(i);
        std::filesystem::create_directories(r.destination);
        if (_config.prepare_destination) {
            _config.prepare_destination(i, r.destination);
        }
        // What a receiver node does when it starts: a crash's leftovers go.
        r.stale_temp_files_removed = engine::remove_stale_temp_files(r.destination);
        const auto it = _config.overrides.find(i);
        r.profile = it != _config.overrides.end()
                        ? it->second
                        : receiver_profile{.down = _config.link, .up = _config.link};
        r.net = std::make_unique<receiver_net>(*this, i);
        r.dp = std::make_unique<receiver_port>(r.profile.fec_capable, _decoders);
        if (!_config.store_files) {
            r.dp->verify_against(&_sources);
        }
        r.uniform = it == _config.overrides.end() && _config.link.jitter_s == 0 &&
                    _config.link.reorder == 0 && _config.link.duplicate == 0;
        _any_uniform = _any_uniform || r.uniform;
        engine::receiver_config rc{.client_id = r.uid,
                                   .public_group = _sender_config.public_group,
                                   .destination = r.destination,
                                   .free_space = {},
                                   .encryption = r.profile.encryption
                                                     ? *r.profile.encryption
                                                     : _config.receiver_encryption};
        rc.control_copies = _config.receiver_control_copies;
        rc.copy_spacing = _config.receiver_copy_spacing;
        if (r.profile.free_space) {
            const std::uint64_t free = *r.profile.free_space;
            rc.free_space = [free](const std::string&) { return free; };
        }
        r.engine = std::make_unique<engine::receiver_engine>(std::move(rc), *r.net, *r.dp);
        if (r.profile.crash_at_s >= 0) {
            push(_now + seconds_to_ns(r.profile.crash_at_s), event_kind::crash, i + 1);
        }
        if (r.profile.silent_at_s >= 0) {
            r.silent_at = _now + seconds_to_ns(r.profile.silent_at_s);
        }
    }
    _sender_net = std::make_unique<sender_net>(*this);
    _sender_dp = std::make_unique<sim_sender_dataplane>(*this);
    _sender = std::make_unique<engine::sender_engine>(_sender_config, _config.files, *_sender_net,
                                                      *_sender_dp, _seq);
    if (_config.sender_abort_at_s >= 0) {
        push(_now + seconds_to_ns(_config.sender_abort_at_s), event_kind::abort, 0);
    }
    _sender->start(_now);
    reschedule_sender();

    const time_ns limit = epoch + seconds_to_ns(_config.time_limit_s);
    while (!_queue.empty()) {
        event e = _queue.top();
        _queue.pop();
        if (e.at > limit) {
            _report.time_limit_hit = true;
            break;
        }
        if (_config.max_events != 0 && _report.events >= _config.max_events) {
            _report.event_limit_hit = true;
            break;
        }
        _now = e.at;
        ++_report.events;
        process(e);
    }

    // The last moment anything happened, not the last stale timer event.
    _report.sim_seconds = static_cast<double>(_last_effective - epoch) / 1e9;
    _report.trace_hash = _hash;
    _report.sender = _sender->stats();
    _report.sender_phase_times = _sender->time_in_phases(_now);
    _report.seal_failures = _sender_dp->seal_failures;
    _report.parity_failures = _sender_dp->parity_failures;
    _report.passes = _sender_dp->passes;
    _report.sender_failure = _sender->failure();
    _report.final_grtt = _sender->grtt();
    for (std::uint32_t i = 0; i < _receivers.size(); ++i) {
        receiver_node& r = _receivers[i];
        receiver_report rep;
        rep.uid = r.uid;
        rep.outcome = r.engine->outcome();
        rep.reason = r.engine->reason();
        rep.crashed = r.crashed;
        rep.files = r.engine->files();
        rep.stats = r.engine->stats();
        const std::uint32_t h = _sender->clients().find(r.uid);
        if (h != engine::client_table::npos) {
            rep.at_sender = _sender->clients()[h].outcome;
            const auto& reasons = _sender->client_abort_reasons();
            if (const auto it = reasons.find(r.uid); it != reasons.end()) {
                rep.sender_reason = it->second;
            }
        }
        _report.filesegs_dropped_rx +=
            r.dp->counters.dropped[static_cast<std::size_t>(dataplane::fileseg_drop::duplicate)];
        _report.filesegs_not_authentic +=
            r.dp->counters
                .dropped[static_cast<std::size_t>(dataplane::fileseg_drop::not_authentic)];
        _report.filesegs_unencrypted +=
            r.dp->counters.dropped[static_cast<std::size_t>(dataplane::fileseg_drop::unencrypted)];
        _report.fec_rx += r.dp->fec_counters;
        rep.stale_temp_files_removed = r.stale_temp_files_removed;
        rep.groups_still_joined = r.dp->groups_joined;
        const bool finished = rep.outcome == engine::receiver_outcome::completed ||
                              rep.outcome == engine::receiver_outcome::completed_unconfirmed;
        if (h == engine::client_table::npos) {
            rep.mismatch = "never registered: " + std::string(engine::name(rep.outcome)) +
                           (rep.reason.empty() ? "" : " (" + rep.reason + ")");
        } else if (r.crashed) {
            rep.mismatch = "crashed";
        } else if (!finished) {
            rep.mismatch = std::string("session did not complete: ") + engine::name(rep.outcome) +
                           (rep.reason.empty() ? "" : " (" + rep.reason + ")");
        }
        if (_config.store_files) {
            verify_destination(_config.files, r.destination, rep);
        } else if (r.dp->block_mismatches != 0 && rep.mismatch.empty()) {
            rep.mismatch =
                std::to_string(r.dp->block_mismatches) + " blocks differ from the source";
        }
        rep.block_mismatches = r.dp->block_mismatches;
        for (const auto& f : rep.files) {
            if (!f.complete && rep.mismatch.empty()) {
                rep.mismatch = "file " + f.name + " not received: " + f.reason;
            }
        }
        rep.ok = finished && !r.crashed && rep.mismatch.empty();
        _report.receivers_ok += rep.ok ? 1 : 0;
        _report.receivers.push_back(std::move(rep));
    }
    _report.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    return _report;
}

bool same_content(const std::string& a, const std::string& b) {
    std::ifstream fa(a, std::ios::binary);
    std::ifstream fb(b, std::ios::binary);
    if (!fa || !fb) {
        return false;
    }
    std::vector<char> ba(1 << 16);
    std::vector<char> bb(1 << 16);
    while (true) {
        fa.read(ba.data(), static_cast<std::streamsize>(ba.size()));
        fb.read(bb.data(), static_cast<std::streamsize>(bb.size()));
        if (fa.gcount() != fb.gcount() ||
            !std::equal(ba.begin(), ba.begin() + fa.gcount(), bb.begin())) {
            return false;
        }
        if (fa.gcount() == 0) {
            return true;
        }
    }
}

} // namespace

void verify_destination(const std::vector<engine::file_entry>& files,
                        const std::string& destination, receiver_report& report) {
    auto note = [&](const std::string& m) {
        if (report.mismatch.empty()) {
            report.mismatch = m;
        }
    };
    for (const auto& f : files) {
        if (engine::check_relative_name(f.name) != engine::name_problem::none) {
            continue; // a hostile name is expected to be refused, checked by the caller
        }
        const std::string path = destination + "/" + f.name;
        struct stat st {};
        const bool present = ::lstat(path.c_str(), &st) == 0;
        switch (f.type) {
        case protocol::file_type::regular:
            if (!present) {
                note("missing " + f.name);
            } else if (!S_ISREG(st.st_mode) || !same_content(f.source_path, path) ||
                       static_cast<std::uint64_t>(st.st_size) != f.size) {
                // A file under its final name that is not the sender's: the one
                // thing that must never happen.
                ++report.visible_incomplete;
                note("content differs: " + f.name);
            } else if (static_cast<std::uint32_t>(st.st_mtim.tv_sec) != f.mtime) {
                note("mtime differs: " + f.name);
            }
            break;
        case protocol::file_type::directory:
            if (!present || !S_ISDIR(st.st_mode)) {
                note("missing directory " + f.name);
            }
            break;
        case protocol::file_type::symlink: {
            std::error_code ec;
            if (!present || !S_ISLNK(st.st_mode) ||
                std::filesystem::read_symlink(path, ec).string() != f.link) {
                note("missing or wrong symlink " + f.name);
            }
            break;
        }
        default:
            break;
        }
    }
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(destination, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (it->path().filename().string().find(engine::temp_marker) != std::string::npos) {
            ++report.temp_files_left;
        }
    }
}

sim_report run_simulation(const sim_config& config) {
    simulation s(config);
    return s.run();
}

} // namespace skycast::sim
