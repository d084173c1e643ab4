#pragma once
// The engines' seams (control/engine/ports.h) over the real dataplane
// (control/dataplane_link): datagrams go out through the control TX ring,
// passes and receive files become commands naming a file slot of the shared
// memzone, NAK bitmaps are read from and written to the slots' bitmaps, and
// the session's keys are installed in the dataplane's seal engines.
//
// One object serves one session (the node makes one per session; receiver
// sessions run side by side, each with its own session key slot of the
// dataplane and its own file slots). Every refusal by the dataplane is
// counted and kept in `last_error` for the logs and stats.

#include "control/dataplane_link/dataplane_link.h"
#include "control/dataplane_link/fec_receive_file.h"
#include "control/dataplane_link/group_memberships.h"
#include "control/engine/ports.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace skycast::control {

namespace api = dataplane::api;

struct port_counters {
    std::uint64_t datagrams_sent = 0;
    std::uint64_t send_failures = 0;   // control pool empty or TX ring full: UFTP retransmits
    std::uint64_t commands_failed = 0; // the dataplane refused or did not answer a command
    std::uint64_t passes_started = 0;
    std::uint64_t files_opened = 0;
};

// Header fields the dataplane stamps on FILESEGs, asked of the sender engine
// at each pass start (GRTT and group size change during a session).
struct fileseg_identity {
    std::uint32_t sender_id = 0;
    std::uint32_t group_id = 0;
    std::uint8_t group_inst = 0;
    std::uint8_t grtt = 0;
    std::uint8_t gsize = 0;
};

class dataplane_ports final : public engine::network_port,
                              public engine::sender_dataplane_port,
                              public engine::receiver_dataplane_port {
public:
    // `key_slot`: the dataplane's session key slot this session's keys go to
    // (< api::max_sessions, one per concurrent session). `groups`: the
    // node's memberships, for a receiving session's private group (null for
    // a sender, which joins nothing).
    dataplane_ports(dataplane_link& link, std::uint16_t local_port, std::uint64_t rate_bps,
                    engine::endpoint data_group, std::uint8_t key_slot, group_memberships* groups);
    ~dataplane_ports() override;

    // The sender engine's current header fields (set by the node).
    std::function<fileseg_identity()> identity;
    // Sender with per-packet signatures (KEYEX): the PEM file of the key the
    // engine signs with, which the dataplane loads to sign FILESEGs.
    std::string signer_path;
    // Sender: one sequence and IV counter for the engine's messages and the
    // TX lcore's FILESEGs, the memzone's for our key slot (spec §1.2, §5.8).
    void bind_sequence(engine::sequence_counter& seq);
    // For receiving: the session's sender and group, learned from the ANNOUNCE.
    void set_session(std::uint32_t sender_id, std::uint32_t group_id);

    // network_port
    void send(engine::endpoint to, std::span<const std::uint8_t> datagram) override;
    void send_later(engine::endpoint to, std::span<const std::uint8_t> datagram,
                    engine::time_ns delay) override;

    // sender_dataplane_port
    bool start_pass(engine::pass_request request) override;
    void stop_pass() override;
    std::uint32_t pass_cursor() const override;
    std::uint64_t pass_bytes_sent() const override;
    void set_pass_rate(std::uint64_t rate_bps) override;
    // The TX event for our pass: the node calls the engine's on_pass_end().
    bool pass_in_progress() const { return _tx_slot >= 0; }
    void pass_finished() { _tx_slot = -1; }
    std::uint16_t pass_file_id() const { return _tx_file_id; }

    // receiver_dataplane_port
    // FEC parity is decoded here, in control (fec_receive_file.h).
    bool fec_capable() const override { return true; }
    std::uint64_t parity_in() const override { return _parity_in; }
    bool open_for_receive(const engine::receive_request& request) override;
    bool complete(std::uint16_t file_id) const override;
    std::uint32_t missing_in_section(std::uint16_t file_id, std::uint32_t section,
                                     std::span<std::uint8_t> out) const override;
    // The dataplane's rx.drop.kernel_ring and rx.drop.storage_ring_full and
    // the port's imissed and rx_nombuf: the node's own receive overload.
    std::uint64_t overload_drops() const override;
    int write_error(std::uint16_t file_id) const override;
    bool close_file(std::uint16_t file_id) override;
    // The dataplane flushes off its service thread (file_closer.h): the
    // command only starts it, and the slot says when it is done.
    void begin_close(std::uint16_t file_id) override;
    std::optional<bool> close_result(std::uint16_t file_id) override;
    bool join_group(std::uint32_t group) override;
    void leave_group(std::uint32_t group) override;

    // A PARITY of this session (the RX lcore passes them to control; the
    // caller has decoded it): kept and decoded for its file. Returns its
    // section when it is for a file open here (the session is alive), else -1.
    int on_parity(const protocol::parity_msg& msg);

    // Calls `seen(file_id, section, seq)` for each open file the RX lcore
    // stored FILESEGs for, or FEC rebuilt blocks of, since the last call
    // (the engine's on_data()); first rebuilds the FEC groups that waited
    // for the storage thread, or that the blocks it wrote made ready.
    template <typename Seen>
    void poll_progress(Seen&& seen) {
        for (auto& f : _open) {
            const api::file_slot& slot = _link.shared().slot(f.slot);
            const std::uint64_t segments = slot.segments.load(std::memory_order_acquire);
            if (f.fec) {
                f.fec->retry(shared_bits(f), slot, *_decoder);
            }
            const std::uint64_t rebuilt = f.fec ? f.fec->rebuilt() : 0;
            if (segments != f.segments_seen || rebuilt != f.rebuilt_seen) {
                f.segments_seen = segments;
                f.rebuilt_seen = rebuilt;
                seen(f.file_id, static_cast<std::uint16_t>(slot.last_section.load()),
                     static_cast<std::uint16_t>(slot.last_seq.load()));
            }
        }
    }
    // FEC counters of the files open now, summed (for the stats).
    dataplane::fec_rx_counters fec_counters() const;

    const port_counters& counters() const { return _counters; }
    const std::string& last_error() const { return _last_error; }

private:
    // Files being received: slot per file.
    struct open_file {
        std::uint16_t file_id;
        std::uint32_t slot;
        std::uint64_t segments_seen;
        std::unique_ptr<fec_receive_file> fec; // FEC session: its decoding
        std::uint64_t rebuilt_seen = 0;
    };
    std::span<std::uint64_t> shared_bits(const open_file& f) const;
    bool open_fec(const engine::receive_request& request, std::unique_ptr<fec_receive_file>& out);

    std::optional<api::reply> call(api::command& cmd);
    // FEC pass: the runs into the slot's parity table (before the command).
    bool write_parity_table(std::uint32_t slot, const engine::pass_request& request);
    bool install_keys(const engine::session_keys& keys);
    const open_file* find(std::uint16_t file_id) const;
    std::int32_t free_slot() const;
    // The rate a pass is asked to run at: the engine's, or the node's
    // configured rate when the engine says 0 (overload_rate.h's "no change").
    std::uint64_t pass_rate(std::uint64_t engine_bps) const {
        return engine_bps != 0 ? engine_bps : _rate_bps;
    }

    dataplane_link& _link;
    std::uint16_t _local_port;
    std::uint64_t _rate_bps;
    engine::endpoint _data_group;
    std::uint32_t _session_sender = 0;
    std::uint32_t _session_group = 0;
    std::uint8_t _key_slot;
    group_memberships* _groups;
    std::vector<std::uint32_t> _joined; // our memberships, left at the latest in the destructor
    const engine::session_keys* _installed = nullptr; // keys in the dataplane's _key_slot
    std::int32_t _tx_slot = -1;
    std::uint16_t _tx_file_id = 0;
    std::vector<open_file> _open;
    // Files whose close began: the slot until the dataplane has flushed it,
    // and whether everything before the flush went well (command accepted,
    // FEC writes).
    struct closing_file {
        std::uint16_t file_id;
        std::uint32_t slot;
        bool ok_so_far;
    };
    std::vector<closing_file> _closing;
    std::optional<dataplane::fec_decoder> _decoder; // the session's k and block size
    std::vector<std::uint16_t> _parity_ports;       // opened in the dataplane for us
    dataplane::fec_rx_counters _fec_closed;         // of files already closed
    std::uint64_t _parity_in = 0;                   // PARITY for an open FEC file
    std::vector<protocol::section_layout> _layouts; // by slot
    port_counters _counters;
    std::string _last_error;
};

} // namespace skycast::control
