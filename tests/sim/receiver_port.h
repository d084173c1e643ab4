#pragma once
// The receive path of a receiver without DPDK, for the simulator and the
// receiver swarm (perf/swarm): FILESEGs (plain or sealed) and PARITY go
// through dataplane/core's production code (accept_fileseg, open_fileseg,
// fec_receiver) into the session's temp file, exactly as the RX lcore and
// storage thread do on the appliance; or, in no-store mode, are checked
// against the sender's bytes. deliver() hands one datagram to a receiver
// engine the way the RX lcore sorts them: data to this port, the rest to
// the engine.

#include "control/engine/receiver_engine.h"
#include "crypto/packet_cipher.h"
#include "dataplane/api/block_bitmap.h"
#include "dataplane/core/fec_receiver.h"
#include "dataplane/core/fileseg_receiver.h"
#include "protocol/codec.h"
#include "protocol/parity.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <unistd.h>
#include <utility>
#include <vector>

namespace skycast::sim {

namespace engine = control::engine;

class receiver_port : public engine::receiver_dataplane_port, private dataplane::block_io {
public:
    // `decoders`: the simulation's FEC decoders, shared by every receiver (the
    // simulation runs on one thread, as a node's storage thread does).
    receiver_port(bool fec, std::map<std::pair<std::uint32_t, std::uint32_t>,
                                     std::optional<dataplane::fec_decoder>>& decoders)
        : _fec_capable(fec), _decoders(decoders) {}
    bool fec_capable() const override { return _fec_capable; }
    bool open_for_receive(const engine::receive_request& r) override {
        close_file(_file_id);
        // Read and write: FEC decoding reads received blocks back.
        _fd = ::open(r.temp_path.c_str(), O_RDWR | O_NOFOLLOW);
        if (_fd < 0) {
            return false;
        }
        _open = true;
        _file_id = r.file_id;
        _sender = r.sender_id;
        _group = r.group_id;
        _bits = std::make_unique<dataplane::block_bitmap>(r.layout.blocks());
        _rx.emplace(dataplane::rx_file{
            .file_id = r.file_id, .layout = r.layout, .received = _bits->view()});
        _write_errno = 0;
        _stored = 0;
        _fec.reset();
        _decoder = nullptr;
        if (r.fec_group_blocks != 0) {
            _fec = dataplane::fec_receiver::create(r.layout, r.fec_group_blocks, r.fec_span_groups);
            auto& d = _decoders[{r.fec_group_blocks, r.layout.block_size()}];
            if (!d) {
                d = dataplane::fec_decoder::create(r.fec_group_blocks, r.layout.block_size());
            }
            _decoder = d ? &*d : nullptr;
            if (_decoder == nullptr) {
                _fec.reset();
            }
        }
        if (r.keys && r.keys != _keys) {
            // The RX lcore's own cipher context for the session.
            _keys = r.keys;
            auto pc = crypto::packet_cipher::create(_keys->suite, _keys->group_keys);
            _cipher.reset();
            if (pc) {
                _cipher.emplace(std::move(pc).value());
            }
        }
        return true;
    }
    bool encrypted() const { return _keys != nullptr; }
    std::uint16_t last_file_id() const { return _last_file_id; }
    // An ENCRYPTED datagram of the session: opened here if it is a FILESEG
    // (-1 when it is not ours or dropped, the section otherwise), or
    // `control` when the engine must open it.
    int on_encrypted(std::span<const std::uint8_t> datagram, bool& control) {
        control = false;
        if (!_cipher) {
            control = true; // no keys here yet: the engine decides
            return -1;
        }
        protocol::uftp_header h;
        protocol::fileseg_msg seg;
        std::span<const std::uint8_t> parity;
        const auto kind =
            dataplane::open_fileseg(*_cipher, _keys->sender_key ? &*_keys->sender_key : nullptr,
                                    datagram, _scratch, h, seg, counters, &parity);
        if (kind == dataplane::opened_kind::parity) {
            return on_parity(parity, true);
        }
        if (kind == dataplane::opened_kind::control) {
            control = true;
            return -1;
        }
        if (kind != dataplane::opened_kind::fileseg) {
            return -1;
        }
        return on_fileseg(h, seg, true);
    }
    bool complete(std::uint16_t file_id) const override {
        return _open && file_id == _file_id && _rx->received.complete();
    }
    std::uint32_t missing_in_section(std::uint16_t file_id, std::uint32_t section,
                                     std::span<std::uint8_t> out) const override {
        if (!_open || file_id != _file_id) {
            return 0;
        }
        if (_fec) {
            return _fec->deficit_in_section(section, _rx->received, out);
        }
        return _rx->received.missing_in_section(_rx->layout, section, out);
    }
    int write_error(std::uint16_t file_id) const override {
        return _open && file_id == _file_id ? _write_errno : 0;
    }
    bool close_file(std::uint16_t file_id) override {
        if (!_open || file_id != _file_id) {
            return false;
        }
        _open = false;
        const bool ok = ::close(_fd) == 0 && _write_errno == 0;
        _fd = -1;
        return ok;
    }
    // Memberships are the owner's (the simulator delivers multicast to every
    // receiver; the swarm's socket joins for all): only the count is kept,
    // so tests can check that sessions leave.
    bool join_group(std::uint32_t) override {
        ++groups_joined;
        return true;
    }
    void leave_group(std::uint32_t) override { --groups_joined; }
    std::int32_t groups_joined = 0;
    // The RX path: returns the FILESEG's section when it belongs to the
    // session (stored or not: it shows the server is alive), else -1.
    int on_fileseg(std::span<const std::uint8_t> datagram) {
        if (encrypted()) {
            counters.drop(dataplane::fileseg_drop::unencrypted);
            return -1;
        }
        protocol::uftp_header h;
        protocol::fileseg_msg seg;
        if (protocol::decode_fileseg(datagram, h, seg) != protocol::wire_error::ok) {
            ++malformed;
            return -1;
        }
        return on_fileseg(h, seg);
    }
    // The same for a datagram the simulator decoded once for a whole group.
    int on_fileseg(const protocol::uftp_header& h, const protocol::fileseg_msg& seg,
                   bool opened = false) {
        if (encrypted() && !opened) {
            counters.drop(dataplane::fileseg_drop::unencrypted);
            return -1;
        }
        _last_file_id = seg.file_id;
        if (h.src_id != _sender || h.group_id != _group) {
            counters.drop(dataplane::fileseg_drop::unknown_file);
            return -1;
        }
        dataplane::block_write w;
        if (!dataplane::accept_fileseg(_open && seg.file_id == _file_id ? &*_rx : nullptr, seg, w,
                                       counters)) {
            return seg.section; // not stored, but the session is alive
        }
        if (_sources != nullptr) {
            // No-store mode (scale runs): check the block against the
            // sender's bytes instead of writing it.
            const auto it = _sources->find(seg.file_id);
            if (it == _sources->end() || w.offset + w.data.size() > it->second->size() ||
                !std::equal(w.data.begin(), w.data.end(),
                            it->second->begin() + static_cast<std::ptrdiff_t>(w.offset))) {
                ++block_mismatches;
            }
            stored(h, seg);
            return seg.section;
        }
        if (const auto n =
                ::pwrite(_fd, w.data.data(), w.data.size(), static_cast<off_t>(w.offset));
            n != static_cast<ssize_t>(w.data.size()) && _write_errno == 0) {
            _write_errno = n < 0 ? errno : ENOSPC;
        }
        stored(h, seg);
        return seg.section;
    }
    // A PARITY datagram (to the session's parity port): returns its section
    // when it belongs to the session (kept or not), else -1.
    int on_parity(std::span<const std::uint8_t> datagram, bool opened = false) {
        if (encrypted() && !opened) {
            fec_counters.drop(dataplane::parity_drop::unencrypted);
            return -1;
        }
        protocol::uftp_header h;
        protocol::parity_msg msg;
        if (protocol::decode_parity(datagram, h, msg) != protocol::wire_error::ok) {
            ++malformed;
            return -1;
        }
        if (h.src_id != _sender || h.group_id != _group) {
            fec_counters.drop(dataplane::parity_drop::not_fec);
            return -1;
        }
        _last_file_id = msg.file_id;
        if (!_open || !_fec || msg.file_id != _file_id) {
            fec_counters.drop(dataplane::parity_drop::not_fec);
            return msg.section;
        }
        ++_parity_in;
        if (const auto g = _fec->accept(msg, _rx->received, fec_counters)) {
            _fec->rebuild(*g, _rx->received, *this, *_decoder, fec_counters);
        }
        return msg.section;
    }
    std::uint64_t parity_in() const override { return _parity_in; }
    void crash() {
        // The process dies: its descriptor goes, its temp file stays as it was.
        if (_open) {
            ::close(_fd);
            _open = false;
        }
    }

    // No-store mode: blocks are compared with these sources (by file ID).
    void verify_against(const std::map<std::uint16_t, const std::vector<std::uint8_t>*>* sources) {
        _sources = sources;
    }

    dataplane::rx_counters counters;
    dataplane::fec_rx_counters fec_counters;
    std::uint64_t malformed = 0;
    std::uint64_t block_mismatches = 0;

    // FEC: when sweep() is due, no_deadline while it has nothing to look for.
    engine::time_ns sweep_deadline() const {
        const auto at = _open && _fec ? _fec->next_sweep(_stored) : std::nullopt;
        return at ? static_cast<engine::time_ns>(*at) : engine::no_deadline;
    }
    // What the appliance's control process does on a node tick (its
    // fec_receive_file::retry): the groups that the blocks stored since the
    // last look made ready are rebuilt, by the same rule
    // (fec_receiver::sweep_ready) on the simulator's clock. Storage here is
    // synchronous, so nothing waits for it. True if a block was rebuilt.
    bool sweep(engine::time_ns now) {
        if (!_open || !_fec) {
            return false;
        }
        _ready.clear();
        if (!_fec->sweep_ready(_stored, static_cast<std::int64_t>(now), _rx->received, _ready,
                               fec_counters)) {
            return false;
        }
        const std::uint64_t before = fec_counters.blocks_rebuilt;
        for (const std::uint32_t g : _ready) {
            _fec->rebuild(g, _rx->received, *this, *_decoder, fec_counters);
        }
        return fec_counters.blocks_rebuilt != before;
    }
    // The open file and the last FILESEG stored, for the engine's on_data()
    // after a sweep rebuilt blocks (the appliance reads them from the slot).
    std::uint16_t file_id() const { return _file_id; }
    std::uint16_t last_section() const { return _last_section; }
    std::uint16_t last_seq() const { return _last_seq; }

private:
    void stored(const protocol::uftp_header& h, const protocol::fileseg_msg& seg) {
        ++_stored;
        _last_section = seg.section;
        _last_seq = h.seq;
    }
    // block_io for FEC decoding: the temp file, or in no-store mode the
    // sender's bytes (every block the receive path took was checked equal
    // to them), and a rebuilt block is checked against them too.
    bool read(std::uint32_t, std::uint64_t offset, std::span<std::uint8_t> out) override {
        if (_sources != nullptr) {
            const auto it = _sources->find(_file_id);
            if (it == _sources->end() || offset + out.size() > it->second->size()) {
                return false;
            }
            std::copy_n(it->second->begin() + static_cast<std::ptrdiff_t>(offset), out.size(),
                        out.begin());
            return true;
        }
        return ::pread(_fd, out.data(), out.size(), static_cast<off_t>(offset)) ==
               static_cast<ssize_t>(out.size());
    }
    bool write(std::uint32_t, std::uint64_t offset, std::span<const std::uint8_t> data) override {
        if (_sources != nullptr) {
            const auto it = _sources->find(_file_id);
            if (it == _sources->end() || offset + data.size() > it->second->size() ||
                !std::equal(data.begin(), data.end(),
                            it->second->begin() + static_cast<std::ptrdiff_t>(offset))) {
                ++block_mismatches;
            }
            return true;
        }
        const auto n = ::pwrite(_fd, data.data(), data.size(), static_cast<off_t>(offset));
        if (n != static_cast<ssize_t>(data.size())) {
            if (_write_errno == 0) {
                _write_errno = n < 0 ? errno : ENOSPC;
            }
            return false;
        }
        return true;
    }

    bool _fec_capable = true;
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::optional<dataplane::fec_decoder>>&
        _decoders;
    std::optional<dataplane::fec_receiver> _fec;
    dataplane::fec_decoder* _decoder = nullptr;
    bool _open = false;
    int _fd = -1;
    std::uint16_t _file_id = 0;
    std::uint32_t _sender = 0;
    std::uint32_t _group = 0;
    std::unique_ptr<dataplane::block_bitmap> _bits;
    std::optional<dataplane::rx_file> _rx;
    int _write_errno = 0; // of the first failed write of the open file
    const std::map<std::uint16_t, const std::vector<std::uint8_t>*>* _sources = nullptr;
    std::shared_ptr<const engine::session_keys> _keys;
    std::optional<crypto::packet_cipher> _cipher;
    std::uint16_t _last_file_id = 0;
    std::uint64_t _parity_in = 0; // PARITY for the open FEC file (parity_in())
    std::uint64_t _stored = 0;    // data blocks stored (the storage thread's count)
    std::uint16_t _last_section = 0;
    std::uint16_t _last_seq = 0;
    std::vector<std::uint32_t> _ready; // sweep()'s groups
    std::vector<std::uint8_t> _scratch =
        std::vector<std::uint8_t>(protocol::max_datagram_size + protocol::uftp_header_size);
};

// One datagram of the session to one receiver: PARITY and FILESEGs (opened
// here when sealed) to `port`, which stores them, and then the engine's
// on_data(); anything else to the engine. `h` and `seg`: the FILESEG already
// decoded once for many receivers (null: decoded here).
inline void deliver(engine::receiver_engine& receiver, receiver_port& port, engine::time_ns now,
                    engine::endpoint from, std::span<const std::uint8_t> d,
                    const protocol::uftp_header* h = nullptr,
                    const protocol::fileseg_msg* seg = nullptr) {
    const std::uint16_t seq =
        d.size() > 3 ? static_cast<std::uint16_t>((d[2] << 8) | d[3]) : std::uint16_t{0};
    auto file_id_of = [&] {
        return static_cast<std::uint16_t>((d[protocol::uftp_header_size + 2] << 8) |
                                          d[protocol::uftp_header_size + 3]);
    };
    if (d.size() > 1 && d[1] == protocol::parity_func) {
        const int section = port.on_parity(d);
        if (section >= 0) {
            receiver.on_data(now, file_id_of(), static_cast<std::uint16_t>(section), seq);
        }
    } else if (d.size() > 1 && d[1] == static_cast<std::uint8_t>(protocol::message_type::fileseg)) {
        const int section = seg != nullptr ? port.on_fileseg(*h, *seg) : port.on_fileseg(d);
        if (section >= 0) {
            receiver.on_data(now, file_id_of(), static_cast<std::uint16_t>(section), seq);
        }
    } else if (d.size() > 1 &&
               d[1] == static_cast<std::uint8_t>(protocol::message_type::encrypted)) {
        // The RX lcore opens ENCRYPTED datagrams of sessions it has keys
        // for: FILESEGs stay on the data path, the rest go to the engine.
        bool control = false;
        const int section = port.on_encrypted(d, control);
        if (control) {
            receiver.on_datagram(now, from, d);
        } else if (section >= 0) {
            receiver.on_data(now, port.last_file_id(), static_cast<std::uint16_t>(section), seq);
        }
    } else {
        receiver.on_datagram(now, from, d);
    }
}

// The port's sweep (receiver_port::sweep) when it is due, and the engine
// told of the rebuilt blocks, as the appliance's poll_progress does.
inline void sweep(engine::receiver_engine& receiver, receiver_port& port, engine::time_ns now) {
    if (port.sweep_deadline() <= now && port.sweep(now)) {
        receiver.on_data(now, port.file_id(), port.last_section(), port.last_seq());
    }
}

} // namespace skycast::sim
