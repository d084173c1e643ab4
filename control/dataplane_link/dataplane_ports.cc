#include "control/dataplane_link/dataplane_ports.h"

#include "control/dataplane_link/parity_table.h"
#include "dataplane/api/block_bitmap.h"
#include "protocol/fec_groups.h"
#include "protocol/parity.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

namespace skycast::control {
namespace {

// Commands are answered by the dataplane's service thread within
// microseconds; closing a file waits for its writes to reach the disk.
constexpr std::chrono::milliseconds command_timeout{30'000};

void set_path(api::command& cmd, const std::string& path) {
    std::snprintf(cmd.path, sizeof cmd.path, "%s", path.c_str());
}

api::file_geometry geometry_of(const protocol::section_layout& l) {
    return {.file_size = l.file_size(), .block_size = l.block_size()};
}

} // namespace

dataplane_ports::dataplane_ports(dataplane_link& link, std::uint16_t local_port,
                                 std::uint64_t rate_bps, engine::endpoint data_group,
                                 std::uint8_t key_slot, group_memberships* groups)
    : _link(link), _local_port(local_port), _rate_bps(rate_bps), _data_group(data_group),
      _key_slot(key_slot), _groups(groups), _layouts(link.shared().header().max_files) {}

dataplane_ports::~dataplane_ports() {
    if (_tx_slot >= 0) {
        stop_pass();
    }
    while (!_open.empty()) {
        close_file(_open.back().file_id);
    }
    while (!_closing.empty()) { // begun by an engine that ended before the flush did
        close_file(_closing.back().file_id);
    }
    if (_installed != nullptr) {
        api::command cmd{};
        cmd.kind = api::command_kind::clear_session_keys;
        cmd.session.session = _key_slot;
        call(cmd);
    }
    // A session dropped before its engine ended (node shutdown, eviction)
    // still gives its groups back.
    while (!_joined.empty()) {
        leave_group(_joined.back());
    }
}

void dataplane_ports::bind_sequence(engine::sequence_counter& seq) {
    auto& counters = _link.shared().header().sessions[_key_slot];
    seq.bind(&counters.sequence, &counters.iv_counter);
}

void dataplane_ports::set_session(std::uint32_t sender_id, std::uint32_t group_id) {
    _session_sender = sender_id;
    _session_group = group_id;
}

std::optional<api::reply> dataplane_ports::call(api::command& cmd) {
    if (!_link.alive()) {
        // Its heartbeat stopped: nobody will answer, and waiting out the
        // timeout would hold the session's failure report up for minutes.
        ++_counters.commands_failed;
        _last_error = "the dataplane is gone";
        return std::nullopt;
    }
    auto r = _link.call(cmd, command_timeout);
    if (!r) {
        ++_counters.commands_failed;
        _last_error = "the dataplane did not answer (stopped or restarting)";
    } else if (r->status != api::reply_status::ok) {
        ++_counters.commands_failed;
        _last_error = "the dataplane refused command " +
                      std::to_string(static_cast<int>(cmd.kind)) + " with status " +
                      std::to_string(static_cast<int>(r->status)) +
                      (r->detail != 0 ? ": " + std::string(std::strerror(r->detail)) : "");
    }
    return r;
}

void dataplane_ports::send(engine::endpoint to, std::span<const std::uint8_t> datagram) {
    if (_link.send({.address = to.address, .port = to.port}, _local_port, datagram)) {
        ++_counters.datagrams_sent;
    } else {
        ++_counters.send_failures;
    }
}

void dataplane_ports::send_later(engine::endpoint to, std::span<const std::uint8_t> datagram,
                                 engine::time_ns delay) {
    // Held by the link, which outlives this session (its last copies still
    // leave); counted there (held_copies in the node's stats).
    if (!_link.send_later({.address = to.address, .port = to.port}, _local_port, datagram,
                          static_cast<std::int64_t>(delay))) {
        ++_counters.send_failures;
    }
}

bool dataplane_ports::install_keys(const engine::session_keys& keys) {
    if (_installed == &keys) {
        return true;
    }
    api::command cmd{};
    cmd.kind = api::command_kind::set_session_keys;
    cmd.session = {.sender_id = _session_sender, .group_id = _session_group, .session = _key_slot};
    cmd.keys.key_type = static_cast<std::uint8_t>(keys.suite.cipher.type);
    cmd.keys.hash_type = static_cast<std::uint8_t>(keys.suite.hash.type);
    cmd.keys.sig_type = static_cast<std::uint8_t>(keys.suite.sigtype);
    const auto bytes = keys.group_keys.bytes();
    if (bytes.size() > sizeof cmd.keys.block) {
        _last_error = "session key block larger than the contract carries";
        return false;
    }
    cmd.keys.block_bytes = static_cast<std::uint32_t>(bytes.size());
    std::memcpy(cmd.keys.block, bytes.data(), bytes.size());
    if (keys.suite.sigtype == protocol::signature_type::keyex) {
        if (keys.signer) {
            set_path(cmd, signer_path);
        }
        if (keys.sender_key) {
            const auto& blob = keys.sender_key->blob();
            if (blob.size() > sizeof cmd.key_blob) {
                _last_error = "sender key blob larger than the contract carries";
                return false;
            }
            cmd.key_blob_bytes = static_cast<std::uint32_t>(blob.size());
            std::memcpy(cmd.key_blob, blob.data(), blob.size());
        }
    }
    const auto r = call(cmd); // the link zeroes its copy; ours goes with cmd
    std::memset(&cmd.keys, 0, sizeof cmd.keys);
    if (!r || r->status != api::reply_status::ok) {
        return false;
    }
    _installed = &keys;
    return true;
}

std::int32_t dataplane_ports::free_slot() const {
    const std::uint32_t slots = _link.shared().header().max_files;
    for (std::uint32_t s = 0; s < slots; ++s) {
        const bool used = static_cast<std::int32_t>(s) == _tx_slot ||
                          std::any_of(_open.begin(), _open.end(),
                                      [&](const open_file& f) { return f.slot == s; });
        const auto state = static_cast<api::file_slot_state>(_link.shared().slot(s).state.load());
        if (!used && state != api::file_slot_state::sending &&
            state != api::file_slot_state::receiving && state != api::file_slot_state::closing) {
            return static_cast<std::int32_t>(s);
        }
    }
    return -1;
}

// --- Sending ------------------------------------------------------------------------

bool dataplane_ports::write_parity_table(std::uint32_t slot, const engine::pass_request& request) {
    const protocol::fec_groups groups(request.layout, request.fec_group_blocks,
                                      request.fec_span_groups);
    if (request.fec_group_blocks < api::min_fec_group_blocks ||
        groups.count() > _link.shared().parity_table_entries()) {
        ++_counters.commands_failed;
        _last_error = "FEC groups smaller than the dataplane takes, or more of them than its "
                      "parity table holds (limits.max_blocks_per_file)";
        return false;
    }
    fill_parity_table(request.parity, std::span(_link.shared().parity_table(slot), groups.count()));
    return true;
}

bool dataplane_ports::start_pass(engine::pass_request request) {
    const fileseg_identity id = identity ? identity() : fileseg_identity{};
    _session_sender = id.sender_id;
    _session_group = id.group_id;
    if (request.keys && !install_keys(*request.keys)) {
        return false; // counted
    }
    const std::int32_t slot = _tx_slot >= 0 ? _tx_slot : free_slot();
    if (slot < 0) {
        ++_counters.commands_failed;
        _last_error = "no free file slot in the dataplane (limits.max_files)";
        return false;
    }
    const auto& h = _link.shared().header();
    if (request.layout.blocks() > h.max_blocks_per_file) {
        ++_counters.commands_failed;
        _last_error = "file has more blocks than the dataplane's limits.max_blocks_per_file";
        return false;
    }
    // The pass's blocks go into the slot's bitmap before the command names it.
    std::uint64_t* bits = _link.shared().bitmap(static_cast<std::uint32_t>(slot));
    std::memset(bits, 0, h.bitmap_words_per_file * sizeof(std::uint64_t));
    std::memcpy(bits, request.blocks.data(),
                std::min<std::size_t>(request.blocks.size(), h.bitmap_words_per_file) *
                    sizeof(std::uint64_t));
    if (request.fec_group_blocks != 0 &&
        !write_parity_table(static_cast<std::uint32_t>(slot), request)) {
        return false; // counted
    }
    api::command cmd{};
    cmd.kind = api::command_kind::start_pass;
    cmd.file_slot = static_cast<std::uint16_t>(slot);
    cmd.fec_group_blocks = static_cast<std::uint16_t>(request.fec_group_blocks);
    cmd.parity_port = request.parity_to.port;
    cmd.fec_span_groups = static_cast<std::uint16_t>(request.fec_span_groups);
    cmd.file_id = request.file_id;
    cmd.pass = request.pass;
    cmd.port = _local_port;
    cmd.rate_bps = pass_rate(request.rate_bps);
    cmd.group = {.address = _data_group.address, .port = _data_group.port};
    cmd.geometry = geometry_of(request.layout);
    cmd.session = {.sender_id = id.sender_id,
                   .group_id = id.group_id,
                   .group_inst = id.group_inst,
                   .grtt = id.grtt,
                   .gsize = id.gsize,
                   .session = request.keys ? _key_slot : api::no_session_keys};
    set_path(cmd, request.source_path);
    const auto r = call(cmd);
    if (!r || r->status != api::reply_status::ok) {
        return false; // counted by call()
    }
    _tx_slot = slot;
    _tx_file_id = request.file_id;
    ++_counters.passes_started;
    return true;
}

void dataplane_ports::stop_pass() {
    api::command cmd{};
    cmd.kind = api::command_kind::stop_pass;
    call(cmd);
    _tx_slot = -1;
}

std::uint32_t dataplane_ports::pass_cursor() const {
    if (_tx_slot < 0) {
        return std::numeric_limits<std::uint32_t>::max();
    }
    return static_cast<std::uint32_t>(
        _link.shared().slot(static_cast<std::uint32_t>(_tx_slot)).segments.load());
}

std::uint64_t dataplane_ports::pass_bytes_sent() const {
    if (_tx_slot < 0) {
        return 0;
    }
    return _link.shared().slot(static_cast<std::uint32_t>(_tx_slot)).bytes_done.load();
}

void dataplane_ports::set_pass_rate(std::uint64_t rate_bps) {
    if (_tx_slot < 0) {
        return;
    }
    api::command cmd{};
    cmd.kind = api::command_kind::set_pass_rate;
    cmd.file_slot = static_cast<std::uint16_t>(_tx_slot);
    cmd.rate_bps = pass_rate(rate_bps);
    (void)call(cmd); // refused: the pass ended meanwhile (the next carries its rate)
}

// --- Receiving ----------------------------------------------------------------------

std::uint64_t dataplane_ports::overload_drops() const {
    const api::shared_view view = _link.shared();
    std::uint64_t total = 0;
    // By name on each call (every 20 ms of a receiving session): a
    // restarted dataplane may lay its counters out anew.
    for (const std::string_view name : {"rx.drop.kernel_ring", "rx.drop.storage_ring_full"}) {
        if (const auto index = view.counter_index(name)) {
            total += view.counter_total(*index);
        }
    }
    const api::port_snapshot port = view.port();
    return total + port.imissed + port.rx_nombuf;
}

const dataplane_ports::open_file* dataplane_ports::find(std::uint16_t file_id) const {
    for (const auto& f : _open) {
        if (f.file_id == file_id) {
            return &f;
        }
    }
    return nullptr;
}

bool dataplane_ports::open_for_receive(const engine::receive_request& request) {
    _session_sender = request.sender_id;
    _session_group = request.group_id;
    if (request.keys && !install_keys(*request.keys)) {
        return false;
    }
    const std::int32_t slot = free_slot();
    if (slot < 0) {
        ++_counters.commands_failed;
        _last_error = "no free file slot in the dataplane (limits.max_files)";
        return false;
    }
    api::command cmd{};
    cmd.kind = api::command_kind::open_receive_file;
    cmd.file_slot = static_cast<std::uint16_t>(slot);
    cmd.file_id = request.file_id;
    cmd.geometry = geometry_of(request.layout);
    cmd.session = {.sender_id = request.sender_id,
                   .group_id = request.group_id,
                   .session = request.keys ? _key_slot : api::no_session_keys};
    set_path(cmd, request.temp_path);
    const auto r = call(cmd);
    if (!r || r->status != api::reply_status::ok) {
        return false;
    }
    _layouts[static_cast<std::uint32_t>(slot)] = request.layout;
    std::unique_ptr<fec_receive_file> fec;
    if (request.fec_group_blocks != 0 && !open_fec(request, fec)) {
        api::command close{};
        close.kind = api::command_kind::close_receive_file;
        close.file_slot = static_cast<std::uint16_t>(slot);
        (void)call(close);
        return false;
    }
    _open.push_back({.file_id = request.file_id,
                     .slot = static_cast<std::uint32_t>(slot),
                     .segments_seen = 0,
                     .fec = std::move(fec)});
    ++_counters.files_opened;
    return true;
}

bool dataplane_ports::open_fec(const engine::receive_request& request,
                               std::unique_ptr<fec_receive_file>& out) {
    const std::uint32_t k = request.fec_group_blocks;
    if (!_decoder || _decoder->k() != k || _decoder->block_size() != request.layout.block_size()) {
        _decoder = dataplane::fec_decoder::create(k, request.layout.block_size());
    }
    if (!_decoder) {
        ++_counters.commands_failed;
        _last_error = "FEC group of " + std::to_string(k) + " blocks cannot be decoded";
        return false;
    }
    // PARITY comes to its own port (stock receivers never see it): the
    // dataplane takes UDP to it from now on.
    if (std::find(_parity_ports.begin(), _parity_ports.end(), request.parity_port) ==
        _parity_ports.end()) {
        api::command open{};
        open.kind = api::command_kind::open_port;
        open.port = request.parity_port;
        const auto r = call(open);
        if (!r || r->status != api::reply_status::ok) {
            _last_error = "the dataplane refused to open the parity port " +
                          std::to_string(request.parity_port);
            return false;
        }
        _parity_ports.push_back(request.parity_port);
    }
    out = fec_receive_file::open(request.temp_path, request.layout, k, request.fec_span_groups,
                                 _last_error);
    if (!out) {
        ++_counters.commands_failed;
        return false;
    }
    return true;
}

std::span<std::uint64_t> dataplane_ports::shared_bits(const open_file& f) const {
    return {_link.shared().bitmap(f.slot),
            dataplane::block_bitmap_view::words_for(_layouts[f.slot].blocks())};
}

int dataplane_ports::on_parity(const protocol::parity_msg& msg) {
    for (auto& f : _open) {
        if (f.file_id == msg.file_id) {
            if (!f.fec) {
                break;
            }
            ++_parity_in;
            f.fec->on_parity(msg, shared_bits(f), _link.shared().slot(f.slot), *_decoder);
            return msg.section;
        }
    }
    _fec_closed.drop(dataplane::parity_drop::not_fec);
    return -1;
}

dataplane::fec_rx_counters dataplane_ports::fec_counters() const {
    dataplane::fec_rx_counters total = _fec_closed;
    for (const auto& f : _open) {
        if (f.fec) {
            total += f.fec->counters();
        }
    }
    return total;
}

bool dataplane_ports::complete(std::uint16_t file_id) const {
    const open_file* f = find(file_id);
    if (f == nullptr) {
        return false;
    }
    const api::file_slot& s = _link.shared().slot(f->slot);
    const std::uint64_t rebuilt = f->fec ? f->fec->rebuilt() : 0;
    const int rebuild_errno = f->fec ? f->fec->write_errno() : 0;
    return s.write_errors.load() == 0 && rebuild_errno == 0 &&
           s.blocks_done.load() + rebuilt == s.blocks;
}

std::uint32_t dataplane_ports::missing_in_section(std::uint16_t file_id, std::uint32_t section,
                                                  std::span<std::uint8_t> out) const {
    const open_file* f = find(file_id);
    if (f == nullptr) {
        return 0;
    }
    const protocol::section_layout& layout = _layouts[f->slot];
    if (f->fec) {
        return f->fec->deficit_in_section(section, shared_bits(*f), out);
    }
    const dataplane::block_bitmap_view received(shared_bits(*f), layout.blocks());
    return received.missing_in_section(layout, section, out);
}

int dataplane_ports::write_error(std::uint16_t file_id) const {
    const open_file* f = find(file_id);
    if (f == nullptr) {
        return 0;
    }
    const int storage = _link.shared().slot(f->slot).write_errno.load(std::memory_order_relaxed);
    return storage != 0 ? storage : (f->fec ? f->fec->write_errno() : 0);
}

bool dataplane_ports::join_group(std::uint32_t group) {
    if (_groups == nullptr || !_groups->join(group)) {
        ++_counters.commands_failed;
        _last_error = _groups == nullptr ? "this node joins no groups" : _groups->last_error();
        return false;
    }
    _joined.push_back(group);
    return true;
}

void dataplane_ports::leave_group(std::uint32_t group) {
    const auto it = std::find(_joined.begin(), _joined.end(), group);
    if (it == _joined.end()) {
        return;
    }
    _joined.erase(it);
    _groups->leave(group);
}

void dataplane_ports::begin_close(std::uint16_t file_id) {
    const open_file* f = find(file_id);
    if (f == nullptr) {
        return;
    }
    bool ok = true;
    // Blocks rebuilt here went through control's own descriptor, closed
    // first: the dataplane's flush of the file then writes them back too.
    if (f->fec) {
        ok = f->fec->close();
        _fec_closed += f->fec->counters();
    }
    api::command cmd{};
    cmd.kind = api::command_kind::close_receive_file;
    cmd.file_slot = static_cast<std::uint16_t>(f->slot);
    const auto r = call(cmd);
    ok = ok && r && r->status == api::reply_status::ok;
    _closing.push_back({.file_id = file_id, .slot = f->slot, .ok_so_far = ok});
    std::erase_if(_open, [&](const open_file& o) { return o.file_id == file_id; });
}

std::optional<bool> dataplane_ports::close_result(std::uint16_t file_id) {
    const auto it = std::find_if(_closing.begin(), _closing.end(),
                                 [&](const closing_file& c) { return c.file_id == file_id; });
    if (it == _closing.end()) {
        return false; // never begun
    }
    bool flushed = false;
    if (it->ok_so_far) {
        const api::file_slot& slot = _link.shared().slot(it->slot);
        if (static_cast<api::file_slot_state>(slot.state.load(std::memory_order_acquire)) !=
            api::file_slot_state::closed) {
            if (_link.alive()) {
                return std::nullopt; // still flushing
            }
            ++_counters.commands_failed;
            _last_error = "the dataplane is gone: the file's flush is unknown";
        } else if (const int e = slot.close_errno.load(std::memory_order_relaxed); e != 0) {
            _last_error = "flushing the received file failed: " + std::string(std::strerror(e));
        } else {
            flushed = true;
        }
    }
    _closing.erase(it);
    return flushed;
}

bool dataplane_ports::close_file(std::uint16_t file_id) {
    begin_close(file_id);
    // The dataplane's closer gives up on writes that do not drain within
    // its own timeout, so this ends unless the disk hangs in fdatasync.
    const auto deadline = std::chrono::steady_clock::now() + 2 * command_timeout;
    for (;;) {
        if (const auto r = close_result(file_id)) {
            return *r;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            _last_error = "the dataplane did not finish flushing the received file";
            std::erase_if(_closing, [&](const closing_file& c) { return c.file_id == file_id; });
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

} // namespace skycast::control
