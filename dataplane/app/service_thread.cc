#include "dataplane/app/service_thread.h"

#include "crypto/key_file.h"
#include "crypto/key_schedule.h"
#include "crypto/suites.h"
#include "dataplane/app/counter_ids.h"
#include "dataplane/app/extbuf.h"
#include "dataplane/app/internal_messages.h"
#include "dataplane/app/tx_pass.h"
#include "dataplane/core/idle_backoff.h"
#include "protocol/parity.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ring_elem.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace skycast::dataplane {
namespace {

using api::reply_status;

// Blocks the service thread keeps resident ahead of the TX lcore's cursor:
// enough for ~50 ms at 10 Gbit/s, so the lcore never waits on the disk for a
// page fault (the prefetcher takes it instead).
constexpr std::uint64_t prefetch_window_bytes = 64ull << 20;
// Bytes touched per service round, so commands are not held up behind a
// slow disk.
constexpr std::uint64_t prefetch_step_bytes = 4ull << 20;
// Parity runs encoded per service round: about 1 ms of ISA-L at k = 64 and
// jumbo blocks, so commands are not held up behind the encoder.
constexpr std::uint32_t parity_runs_per_round = 4;
// How long a close waits for the storage threads to write what is queued.
constexpr auto drain_timeout = std::chrono::seconds(30);
// Pauses of idle service rounds: its work is at GRTT scale (milliseconds),
// and control waits at most the longest pause for a command's reply.
constexpr std::uint32_t idle_pause_first_us = 200;
constexpr std::uint32_t idle_pause_longest_us = 2000;
// How long a start_pass waits for a pass control stopped to come back from
// the TX lcore, which takes it back on its next loop (microseconds; more
// only when the host preempts it). Far under control's command timeout.
constexpr auto stopped_pass_return_wait = std::chrono::milliseconds(200);

std::optional<protocol::section_layout> layout_of(const api::file_geometry& g) {
    auto l = protocol::section_layout::make(g.file_size, g.block_size);
    if (!l.ok()) {
        return std::nullopt;
    }
    return *l;
}

bool valid_path(const char* path) {
    return std::memchr(path, '\0', api::max_path_bytes) != nullptr && path[0] == '/';
}

template <typename Array>
bool add_unique(Array& values, std::size_t& count, auto value) {
    for (std::size_t i = 0; i < count; ++i) {
        if (values[i] == value) {
            return true;
        }
    }
    if (count == values.size()) {
        return false;
    }
    values[count++] = value;
    return true;
}

template <typename Array>
void remove_value(Array& values, std::size_t& count, auto value) {
    for (std::size_t i = 0; i < count; ++i) {
        if (values[i] == value) {
            values[i] = values[--count];
            return;
        }
    }
}

} // namespace

service_thread::service_thread(const dataplane_options& options, resources& res, rx_context& rx,
                               tx_context& tx, storage_files& files,
                               std::vector<std::unique_ptr<storage_thread>>& storage)
    : _options(options), _res(res), _rx(rx), _tx(tx), _files(files), _storage(storage),
      _counters(res.shared.counters(counters_service).values),
      _kernel_ring(kernel_ring_drops::find()),
      _closer(files, res.shared, _counters, [this] { return wait_storage_drained(); }) {}

service_thread::~service_thread() {
    stop();
}

void service_thread::start() {
    _thread = std::thread([this] { loop(); });
}

void service_thread::stop() {
    _stop.store(true);
    if (_thread.joinable()) {
        _thread.join();
    }
    // The lcores have stopped (the runtime stops them first): close what is open.
    reclaim_passes();
    close_all_received_files();
}

bool service_thread::in_session() const {
    if (_current_pass != nullptr) {
        return true;
    }
    for (std::uint32_t slot = 0; slot < _options.max_files; ++slot) {
        if (_files.fd[slot].load(std::memory_order_relaxed) >= 0) {
            return true;
        }
    }
    return false;
}

void service_thread::loop() {
    // Deep idle (idle_backoff.h) only outside sessions: commands then wait
    // up to 20 ms, beside heartbeats every 100 ms and GRTT-scale rounds.
    idle_backoff backoff(idle_pause_first_us, idle_pause_longest_us, 0, node_deep_idle);
    while (!_stop.load()) {
        std::uint32_t pause = backoff.after_round(run_once());
        if (in_session()) {
            // Prefetching ahead of the TX lcore, or commands (open, close,
            // next pass) coming at GRTT pace: keep the first pause, so a
            // command waits at most 200 us for its reply.
            pause = std::min(pause, idle_pause_first_us);
        }
        if (pause != 0) {
            std::this_thread::sleep_for(std::chrono::microseconds(pause));
        }
    }
}

bool service_thread::run_once() {
    bool did = false;
    api::command cmd;
    while (rte_ring_sc_dequeue_elem(_res.command, &cmd, sizeof cmd) == 0) {
        did = true;
        api::reply r = execute(cmd);
        // The keys are in the engines now; do not leave a copy on the stack.
        std::memset(&cmd.keys, 0, sizeof cmd.keys);
        if (rte_ring_sp_enqueue_elem(_res.reply, &r, sizeof r) != 0) {
            bump(_counters, counter::main_reply_ring_full);
        }
    }
    did |= reclaim_passes();
    prefetch();
    if (_current_pass != nullptr) {
        did |= encode_parity_ahead(*_current_pass);
    }
    const std::uint64_t now = rte_rdtsc();
    auto& h = _res.shared.header();
    // Every 20 ms: the kernel's ring drops are the receivers' overload
    // signal to the sender's rate control (control/engine/overload_rate.h),
    // which must come soon enough to matter within a pass.
    if (now - _last_stats_tsc > rte_get_tsc_hz() / 50) {
        _last_stats_tsc = now;
        h.heartbeat.fetch_add(1, std::memory_order_release);
        refresh_port_stats();
    }
    return did;
}

api::reply service_thread::execute(const api::command& cmd) {
    api::reply r{.version = api::contract_version,
                 .kind = cmd.kind,
                 .status = reply_status::ok,
                 .request_id = cmd.request_id};
    bump(_counters, counter::main_commands);
    if (cmd.version != api::contract_version) {
        bump(_counters, counter::main_bad_version);
        r.status = reply_status::bad_version;
        return r;
    }
    switch (cmd.kind) {
    case api::command_kind::hello:
        // A control process (re)starting: whatever an earlier one set up is
        // orphaned — files it had open, keys, groups, ports, a pass.
        reset_session_state();
        break;
    case api::command_kind::join_group:
        r.status = join_group(cmd, true);
        break;
    case api::command_kind::leave_group:
        r.status = join_group(cmd, false);
        break;
    case api::command_kind::open_port:
        r.status = open_port(cmd);
        break;
    case api::command_kind::set_session_keys:
        r.status = set_session_keys(cmd);
        break;
    case api::command_kind::clear_session_keys:
        r.status = clear_session_keys(cmd);
        break;
    case api::command_kind::open_receive_file:
        r.status = open_receive_file(cmd, r.detail);
        break;
    case api::command_kind::close_receive_file:
        r.status = close_receive_file(cmd, r.detail);
        break;
    case api::command_kind::start_pass:
        r.status = start_pass(cmd, r.detail);
        break;
    case api::command_kind::stop_pass:
        r.status = stop_pass();
        break;
    case api::command_kind::set_pass_rate:
        r.status = set_pass_rate(cmd);
        break;
    case api::command_kind::set_forward:
        r.status = set_forward(cmd);
        break;
    case api::command_kind::count:
        r.status = reply_status::not_supported;
        break;
    }
    if (r.status != reply_status::ok) {
        bump(_counters, counter::main_commands_failed);
    }
    return r;
}

void service_thread::reset_session_state() {
    if (_current_pass != nullptr) {
        (void)stop_pass();
    }
    close_all_received_files();
    for (std::uint8_t session = 0; session < api::max_sessions; ++session) {
        api::command clear{};
        clear.session.session = session;
        (void)clear_session_keys(clear);
    }
    const receive_filter joined = _rx.filter;
    for (std::size_t i = 0; i < joined.group_count; ++i) {
        api::command leave{};
        leave.group.address = joined.groups[i].value;
        (void)join_group(leave, false);
    }
    gate_hold rx(_rx.gate);
    if (rx.ok()) {
        _rx.filter.port_count = 0;
        refresh_classifier(_rx);
        _rx.forward_count = 0;
    }
}

// --- Receive filter ---------------------------------------------------------------

api::reply_status service_thread::join_group(const api::command& cmd, bool join) {
    const net::ipv4_address group{cmd.group.address};
    if (!group.is_multicast()) {
        return reply_status::bad_slot;
    }
    // One gate at a time: when RX and TX share an lcore, that lcore parks in
    // whichever gate it meets first and would never reach the second.
    {
        gate_hold rx(_rx.gate);
        if (!rx.ok()) {
            return reply_status::busy;
        }
        if (join) {
            if (!add_unique(_rx.filter.groups, _rx.filter.group_count, group)) {
                return reply_status::no_room;
            }
        } else {
            remove_value(_rx.filter.groups, _rx.filter.group_count, group);
        }
        refresh_classifier(_rx);
    }
    {
        gate_hold tx(_tx.gate);
        if (!tx.ok()) {
            return reply_status::busy;
        }
        if (join) {
            if (!add_unique(_tx.filter.groups, _tx.filter.group_count, group)) {
                return reply_status::no_room;
            }
        } else {
            remove_value(_tx.filter.groups, _tx.filter.group_count, group);
        }
    }
    send_tx_work(tx_work{.kind = join ? tx_work_kind::igmp_join : tx_work_kind::igmp_leave,
                         .group = group.value});
    return reply_status::ok;
}

api::reply_status service_thread::open_port(const api::command& cmd) {
    gate_hold rx(_rx.gate);
    if (!rx.ok()) {
        return reply_status::busy;
    }
    if (!add_unique(_rx.filter.ports, _rx.filter.port_count, cmd.port)) {
        return reply_status::no_room;
    }
    refresh_classifier(_rx);
    return reply_status::ok;
}

api::reply_status service_thread::set_forward(const api::command& cmd) {
    const net::ipv4_address source{cmd.group.address};
    const net::ipv4_address to{cmd.forward_to.address};
    if (source.is_unspecified() || source.is_multicast() ||
        (!to.is_unspecified() && cmd.forward_to.port == 0) ||
        (cmd.forward_flags & ~api::forward_tap_sealed) != 0) {
        return reply_status::bad_slot;
    }
    const std::uint32_t group_id = cmd.session.group_id;
    gate_hold rx(_rx.gate);
    if (!rx.ok()) {
        return reply_status::busy;
    }
    auto& rules = _rx.forwards;
    std::size_t& count = _rx.forward_count;
    std::size_t i = 0;
    while (i < count && (rules[i].source != source || rules[i].group_id != group_id)) {
        ++i;
    }
    if (to.is_unspecified()) {
        if (i < count) {
            rules[i] = rules[count - 1];
            --count;
        }
        return reply_status::ok;
    }
    if (i == count) {
        if (count == rules.size()) {
            return reply_status::no_room;
        }
        ++count;
    }
    rules[i] = {.source = source,
                .group_id = group_id,
                .to = cmd.forward_to,
                .tap_sealed = (cmd.forward_flags & api::forward_tap_sealed) != 0};
    return reply_status::ok;
}

// --- Session keys -------------------------------------------------------------------

api::reply_status service_thread::set_session_keys(const api::command& cmd) {
    const std::uint8_t index = cmd.session.session;
    if (index >= api::max_sessions || cmd.keys.block_bytes > sizeof cmd.keys.block) {
        return reply_status::bad_slot;
    }
    const auto suite = crypto::make_suite(static_cast<protocol::key_type>(cmd.keys.key_type),
                                          static_cast<protocol::hash_type>(cmd.keys.hash_type),
                                          static_cast<protocol::signature_type>(cmd.keys.sig_type));
    if (!suite.ok() || !_tx.sealer || !_rx.opener) {
        return reply_status::not_supported;
    }
    const auto keys = crypto::key_block::from_bytes(
        *suite, std::span<const std::uint8_t>(cmd.keys.block, cmd.keys.block_bytes));
    if (!keys.ok()) {
        return reply_status::not_supported;
    }
    (void)clear_session_keys(cmd);
    // Per-packet signatures (stock -w keyex): the signer's key from its file,
    // the verifier's from its blob.
    std::shared_ptr<const crypto::private_key> signer;
    std::unique_ptr<const crypto::public_key> verifier;
    if (suite->sigtype == protocol::signature_type::keyex) {
        if (cmd.path[0] != '\0') {
            if (!valid_path(cmd.path)) {
                return reply_status::file_error;
            }
            auto key = crypto::load_private_key_file(cmd.path);
            if (!key.ok()) {
                return reply_status::file_error;
            }
            signer = std::make_shared<const crypto::private_key>(std::move(key).value());
        }
        if (cmd.key_blob_bytes != 0) {
            auto key = crypto::public_key::from_blob(std::span<const std::uint8_t>(
                cmd.key_blob, std::min<std::size_t>(cmd.key_blob_bytes, sizeof cmd.key_blob)));
            if (!key.ok()) {
                return reply_status::not_supported;
            }
            verifier = std::make_unique<const crypto::public_key>(std::move(key).value());
        }
    }
    // Sessions are added with the lcores parked: an engine is not thread-safe,
    // and adding one allocates (once per session, never per packet).
    for (auto [gate, engine, table] : {std::tuple{&_tx.gate, _tx.sealer.get(), &_tx.sessions},
                                       std::tuple{&_rx.gate, _rx.opener.get(), &_rx.sessions}}) {
        gate_hold hold(*gate);
        if (!hold.ok()) {
            return reply_status::busy;
        }
        auto id = engine->add_session(*suite, *keys, signer.get());
        if (!id.ok()) {
            return reply_status::not_supported;
        }
        (*table)[index] = session_entry{.active = true,
                                        .sender_id = cmd.session.sender_id,
                                        .group_id = cmd.session.group_id,
                                        .id = *id,
                                        .sender_key = verifier.get()};
    }
    _signers[index] = std::move(signer);
    _verifiers[index] = std::move(verifier);
    return reply_status::ok;
}

api::reply_status service_thread::clear_session_keys(const api::command& cmd) {
    const std::uint8_t index = cmd.session.session;
    if (index >= api::max_sessions) {
        return reply_status::bad_slot;
    }
    for (auto [gate, engine, table] : {std::tuple{&_tx.gate, _tx.sealer.get(), &_tx.sessions},
                                       std::tuple{&_rx.gate, _rx.opener.get(), &_rx.sessions}}) {
        gate_hold hold(*gate);
        if (!hold.ok()) {
            return reply_status::busy;
        }
        session_entry& e = (*table)[index];
        if (e.active && engine != nullptr) {
            engine->remove_session(e.id);
        }
        e = session_entry{};
    }
    _signers[index].reset();
    _verifiers[index].reset();
    return reply_status::ok;
}

// --- Receiving ----------------------------------------------------------------------

api::reply_status service_thread::open_receive_file(const api::command& cmd, std::int32_t& detail) {
    const std::uint32_t slot = cmd.file_slot;
    if (slot >= _options.max_files || _files.fd[slot].load() >= 0 ||
        static_cast<api::file_slot_state>(_res.shared.slot(slot).state.load()) ==
            api::file_slot_state::closing) {
        return reply_status::bad_slot; // in use, or its last file is still being flushed
    }
    const auto layout = layout_of(cmd.geometry);
    if (!layout) {
        return reply_status::too_large;
    }
    if (layout->blocks() > _options.max_blocks_per_file) {
        return reply_status::too_large;
    }
    if (!valid_path(cmd.path)) {
        detail = EINVAL;
        return reply_status::file_error;
    }
    // The engine created the temp file; the dataplane writes into it.
    const int fd = ::open(cmd.path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        detail = errno;
        return reply_status::file_error;
    }
    api::file_slot& s = _res.shared.slot(slot);
    std::uint64_t* bitmap = _res.shared.bitmap(slot);
    std::memset(bitmap, 0, _res.shared.header().bitmap_words_per_file * sizeof(std::uint64_t));
    s.file_id = cmd.file_id;
    s.session = cmd.session;
    s.geometry = cmd.geometry;
    s.blocks = layout->blocks();
    s.pass = 0;
    s.blocks_done.store(0);
    s.bytes_done.store(0);
    s.write_errors.store(0);
    s.write_errno.store(0);
    s.segments.store(0);
    const std::uint32_t generation = _files.generation[slot].load() + 1;
    _files.generation[slot].store(generation, std::memory_order_release);
    _files.fd[slot].store(fd, std::memory_order_release);
    {
        gate_hold rx(_rx.gate);
        if (!rx.ok()) {
            _files.fd[slot].store(-1);
            ::close(fd);
            return reply_status::busy;
        }
        _rx.files[slot] = rx_file_entry{.active = true,
                                        .sender_id = cmd.session.sender_id,
                                        .group_id = cmd.session.group_id,
                                        .file_id = cmd.file_id,
                                        .slot = slot,
                                        .generation = generation,
                                        .encrypted = cmd.session.session != api::no_session_keys,
                                        .layout = *layout,
                                        .bitmap = bitmap};
    }
    s.state.store(static_cast<std::uint32_t>(api::file_slot_state::receiving),
                  std::memory_order_release);
    return reply_status::ok;
}

bool service_thread::wait_storage_drained() {
    const auto deadline = std::chrono::steady_clock::now() + drain_timeout;
    for (;;) {
        bool drained = true;
        for (const auto& t : _storage) {
            drained = drained && t->drained();
        }
        if (drained) {
            return true;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
}

api::reply_status service_thread::close_receive_file(const api::command& cmd,
                                                     std::int32_t& /*detail*/) {
    const std::uint32_t slot = cmd.file_slot;
    if (slot >= _options.max_files || _files.fd[slot].load() < 0) {
        return reply_status::bad_slot;
    }
    api::file_slot& s = _res.shared.slot(slot);
    if (static_cast<api::file_slot_state>(s.state.load()) == api::file_slot_state::closing) {
        return reply_status::bad_slot; // already closing
    }
    {
        gate_hold rx(_rx.gate);
        if (!rx.ok()) {
            return reply_status::busy;
        }
        _rx.files[slot].active = false;
    }
    // Nothing new for this slot can be queued now: the closer writes what
    // is, flushes and closes, off this thread (file_closer.h).
    s.close_errno.store(0, std::memory_order_relaxed);
    s.state.store(static_cast<std::uint32_t>(api::file_slot_state::closing),
                  std::memory_order_release);
    _closer.close(slot);
    return reply_status::ok;
}

void service_thread::close_all_received_files() {
    for (std::uint32_t slot = 0; slot < _options.max_files; ++slot) {
        if (_files.fd[slot].load() >= 0) {
            api::command cmd{};
            cmd.file_slot = static_cast<std::uint16_t>(slot);
            std::int32_t detail = 0;
            (void)close_receive_file(cmd, detail);
        }
    }
    _closer.wait_idle();
}

// --- Sending ------------------------------------------------------------------------

bool service_thread::send_tx_work(const tx_work& w) {
    tx_work copy = w; // the ring API takes a non-const pointer
    return rte_ring_sp_enqueue_elem(_res.main_to_tx, &copy, sizeof copy) == 0;
}

api::reply_status service_thread::start_pass(const api::command& cmd, std::int32_t& detail) {
    const std::uint32_t slot = cmd.file_slot;
    if (slot >= _options.max_files || _files.fd[slot].load() >= 0 ||
        static_cast<api::file_slot_state>(_res.shared.slot(slot).state.load()) ==
            api::file_slot_state::closing) {
        return reply_status::bad_slot;
    }
    // The pass before may be over with its return not yet taken: the TX
    // lcore hands a pass back before it reports its end (finish_pass), so
    // the next pass, started the moment control hears of the end, finds it
    // here. One control stopped (a file ended early, stop_pass) comes back
    // within the TX lcore's next loop: wait for it, boundedly.
    reclaim_passes();
    if (_current_pass != nullptr && _current_pass_stopped) {
        const auto give_up = std::chrono::steady_clock::now() + stopped_pass_return_wait;
        while (_current_pass != nullptr && std::chrono::steady_clock::now() < give_up) {
            std::this_thread::sleep_for(std::chrono::microseconds(idle_pause_first_us));
            reclaim_passes();
        }
    }
    if (_current_pass != nullptr) {
        return reply_status::busy;
    }
    const auto layout = layout_of(cmd.geometry);
    if (!layout || layout->blocks() > _options.max_blocks_per_file) {
        return reply_status::too_large;
    }
    if (!net::ipv4_address{cmd.group.address}.is_multicast()) {
        return reply_status::not_supported; // unicast data (uftp -U) is a later issue
    }
    // PARITY's headers are 4 bytes longer than a FILESEG's; both stay in the MTU.
    const std::size_t largest_payload =
        std::max(protocol::fileseg_headers_size(false) + 64, protocol::parity_headers_size) +
        cmd.geometry.block_size; // + AEAD overhead
    if (largest_payload + net::ipv4_header_min_size + net::udp_header_size > _tx.local.mtu) {
        return reply_status::too_large;
    }
    if (!valid_path(cmd.path)) {
        detail = EINVAL;
        return reply_status::file_error;
    }
    const int fd = ::open(cmd.path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        detail = errno;
        return reply_status::file_error;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) != cmd.geometry.file_size) {
        detail = ESTALE; // the file changed since control announced it
        ::close(fd);
        return reply_status::file_error;
    }
    const std::uint8_t* data = nullptr;
    if (st.st_size > 0) {
        void* map =
            ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED) {
            detail = errno;
            ::close(fd);
            return reply_status::file_error;
        }
        ::madvise(map, static_cast<std::size_t>(st.st_size), MADV_SEQUENTIAL);
        data = static_cast<const std::uint8_t*>(map);
    }
    ::close(fd); // the mapping keeps the file
    const net::ipv4_address group{cmd.group.address};
    auto* pass = new tx_pass(net::frame_params{.src_mac = _tx.local.mac,
                                               .dst_mac = net::multicast_mac(group),
                                               .udp = {.src = _tx.local.ip,
                                                       .dst = group,
                                                       .src_port = cmd.port,
                                                       .dst_port = cmd.group.port},
                                               .ttl = _tx.local.multicast_ttl},
                             *layout);
    pass->slot = slot;
    pass->file_id = cmd.file_id;
    pass->pass = cmd.pass;
    pass->header = protocol::uftp_header{.src_id = cmd.session.sender_id,
                                         .group_id = cmd.session.group_id,
                                         .group_inst = cmd.session.group_inst,
                                         .grtt = cmd.session.grtt,
                                         .gsize = cmd.session.gsize};
    const std::uint8_t session = cmd.session.session;
    pass->counters = &_res.shared.header().sessions[session < api::max_sessions ? session : 0];
    pass->data = data;
    pass->size = static_cast<std::uint64_t>(st.st_size);
    pass->send_bitmap = _res.shared.bitmap(slot);
    pass->shared_slot = &_res.shared.slot(slot);
    pass->shared_slot->segments.store(0, std::memory_order_release);
    pass->shared_slot->bytes_done.store(0, std::memory_order_release);
    // A burst of 16 jumbo frames may leave back to back: small enough that a
    // switch buffer absorbs it, large enough to amortise the TX burst call.
    pass->profile = make_pacer_profile(rte_get_tsc_hz(), cmd.rate_bps, 16 * 9038);
    pass->wanted_rate_bps.store(cmd.rate_bps, std::memory_order_relaxed);
    if (session != api::no_session_keys) {
        if (session >= api::max_sessions || !_tx.sessions[session].active) {
            free_pass(pass);
            return reply_status::not_supported;
        }
        pass->encrypted = true;
        pass->seal_session = _tx.sessions[session].id;
    }
    if (cmd.fec_group_blocks != 0) {
        pass->fec_groups = protocol::fec_groups(*layout, cmd.fec_group_blocks, cmd.fec_span_groups);
        pass->parity = parity_builder::create(cmd.fec_group_blocks, cmd.geometry.block_size);
        if (cmd.fec_group_blocks < api::min_fec_group_blocks || !pass->parity ||
            pass->fec_groups.count() > _res.shared.parity_table_entries()) {
            free_pass(pass);
            return reply_status::too_large;
        }
        if (!pass->parity_runs.init(_res.shared.parity_table(slot), pass->fec_groups,
                                    cmd.geometry.block_size, parity_ahead::default_budget_bytes)) {
            free_pass(pass);
            return reply_status::too_large;
        }
        // The first runs before the TX lcore starts: they are due after
        // the first group's data.
        (void)encode_parity_ahead(*pass);
        pass->parity_frame =
            net::frame_template(net::frame_params{.src_mac = _tx.local.mac,
                                                  .dst_mac = net::multicast_mac(group),
                                                  .udp = {.src = _tx.local.ip,
                                                          .dst = group,
                                                          .src_port = cmd.port,
                                                          .dst_port = cmd.parity_port},
                                                  .ttl = _tx.local.multicast_ttl});
    }
    api::file_slot& s = _res.shared.slot(slot);
    s.file_id = cmd.file_id;
    s.session = cmd.session;
    s.geometry = cmd.geometry;
    s.blocks = layout->blocks();
    s.pass = cmd.pass;
    s.state.store(static_cast<std::uint32_t>(api::file_slot_state::sending),
                  std::memory_order_release);
    if (!send_tx_work(tx_work{.kind = tx_work_kind::start_pass, .pass = pass})) {
        s.state.store(static_cast<std::uint32_t>(api::file_slot_state::free));
        free_pass(pass);
        return reply_status::busy;
    }
    _current_pass = pass;
    _current_pass_stopped = false;
    _prefetched = 0;
    return reply_status::ok;
}

api::reply_status service_thread::stop_pass() {
    if (_current_pass == nullptr) {
        return reply_status::ok;
    }
    if (!send_tx_work(tx_work{.kind = tx_work_kind::stop_pass})) {
        return reply_status::busy;
    }
    _current_pass_stopped = true;
    return reply_status::ok;
}

api::reply_status service_thread::set_pass_rate(const api::command& cmd) {
    if (_current_pass == nullptr || _current_pass->slot != cmd.file_slot) {
        return reply_status::bad_slot; // that pass is over: the next one carries its rate
    }
    _current_pass->wanted_rate_bps.store(cmd.rate_bps, std::memory_order_relaxed);
    return reply_status::ok;
}

void service_thread::free_pass(tx_pass* pass) {
    // Frames attached to the mapping (zero copy) must be gone before it is:
    // on the ports zero copy is enabled for they are freed within the TX
    // burst, so this returns at once; the cleanup call and the bounded wait
    // cover any port that keeps them a little longer.
    for (int i = 0; i < 1000 && zero_copy_frames_in_flight(_res.port) != 0; ++i) {
        (void)rte_eth_tx_done_cleanup(_res.port, 0, 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (pass->data != nullptr && zero_copy_frames_in_flight(_res.port) != 0) {
        // Unmapping now would let the port read freed pages: keep the
        // mapping (a leak of one file's address space, counted) instead.
        bump(_counters, counter::main_mapping_kept);
        delete pass;
        return;
    }
    if (pass->data != nullptr) {
        ::munmap(const_cast<std::uint8_t*>(pass->data), pass->size);
    }
    delete pass;
}

bool service_thread::reclaim_passes() {
    tx_work w;
    bool did = false;
    while (rte_ring_sc_dequeue_elem(_res.tx_to_main, &w, sizeof w) == 0) {
        did = true;
        _res.shared.slot(w.pass->slot)
            .state.store(static_cast<std::uint32_t>(api::file_slot_state::free),
                         std::memory_order_release);
        if (w.pass == _current_pass) {
            _current_pass = nullptr;
        }
        free_pass(w.pass);
    }
    return did;
}

bool service_thread::encode_parity_ahead(tx_pass& pass) {
    if (!pass.parity || pass.parity_runs.all_produced()) {
        return false;
    }
    // Groups whose data the prefetcher has made resident (or is about to):
    // the encoder never faults far ahead of the TX lcore's cursor.
    const std::uint64_t cursor = pass.cursor.load(std::memory_order_relaxed);
    const std::uint64_t horizon = std::min<std::uint64_t>(
        pass.layout.blocks(), cursor + prefetch_window_bytes / pass.layout.block_size());
    return pass.parity_runs.produce(*pass.parity, std::span(pass.data, pass.size),
                                    parity_runs_per_round,
                                    static_cast<std::uint32_t>(horizon)) != 0;
}

// Touches the pages ahead of the TX lcore so that its reads hit the page
// cache: a fault on the lcore would stall the whole port.
void service_thread::prefetch() {
    tx_pass* p = _current_pass;
    if (p == nullptr || p->size == 0) {
        return;
    }
    const std::uint64_t block = p->layout.block_size();
    const std::uint64_t cursor = std::uint64_t{p->cursor.load(std::memory_order_relaxed)} * block;
    const std::uint64_t target = std::min(p->size, cursor + prefetch_window_bytes);
    std::uint64_t from = std::max(cursor, std::uint64_t{_prefetched} * block);
    const std::uint64_t until = std::min(target, from + prefetch_step_bytes);
    if (from >= until) {
        return;
    }
    ::madvise(const_cast<std::uint8_t*>(p->data) + (from & ~std::uint64_t{4095}),
              until - (from & ~std::uint64_t{4095}), MADV_WILLNEED);
    volatile std::uint8_t sink = 0;
    for (std::uint64_t at = from; at < until; at += 4096) {
        sink = static_cast<std::uint8_t>(sink + p->data[at]);
    }
    _prefetched = static_cast<std::uint32_t>(until / block);
}

void service_thread::refresh_port_stats() {
    rte_eth_stats st{};
    if (rte_eth_stats_get(_res.port, &st) != 0) {
        return;
    }
    bump(_counters, counter::rx_drop_kernel_ring, _kernel_ring.take());
    auto& h = _res.shared.header();
    // Seqlock: odd while writing, so a reader retries a torn snapshot.
    h.port_seq.fetch_add(1, std::memory_order_acq_rel);
    h.port = api::port_snapshot{st.ipackets, st.opackets, st.ibytes,  st.obytes,
                                st.imissed,  st.ierrors,  st.oerrors, st.rx_nombuf};
    h.port_seq.fetch_add(1, std::memory_order_release);
}

} // namespace skycast::dataplane
