#pragma once
// The sender (server) role of UFTP 4 as an event-driven state machine
// (spec §1.4, §3.2, §4.3): announce rounds, registration, then per file
// FILEINFO rounds, data passes through the dataplane seam, DONE rounds with
// STATUS bitmaps OR-ed into the file's NAK bitmap, further passes from it,
// and the completion phase (DONE file 0 / COMPLETE / DONE_CONF).
//
// Driven from outside: start(), on_datagram(), on_pass_end(), on_timer(),
// each with `now`; next_deadline() says when on_timer() is due. Open and
// closed groups without encryption; the key exchange (KEYINFO, ENCRYPTED)
// is not implemented yet, so sender_config has no way to ask for it.

#include "control/engine/client_table.h"
#include "control/engine/file_list.h"
#include "control/engine/grtt_estimator.h"
#include "control/engine/ports.h"
#include "control/engine/session_config.h"
#include "protocol/blocks.h"
#include "protocol/messages.h"

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace skycast::control::engine {

// Every counter says what a non-zero value means in its comment.
struct sender_stats {
    std::uint64_t datagrams_in = 0;
    std::uint64_t malformed_in = 0;     // failed to decode: a broken or hostile peer
    std::uint64_t wrong_session_in = 0; // another group ID/instance: stray traffic
    std::uint64_t unexpected_in =
        0; // a message type the sender never takes, or from an unknown client
    std::uint64_t announce_rounds = 0;
    std::uint64_t registers = 0;
    std::uint64_t duplicate_registers = 0; // REG_CONF was lost or late: the client resent
    std::uint64_t not_in_host_list = 0;    // closed group: an unlisted client tried to join
    std::uint64_t late_registers = 0;      // REGISTER after the announce phase: ignored
    std::uint64_t fileinfo_rounds = 0;
    std::uint64_t fileinfo_acks = 0;
    std::uint64_t done_rounds = 0;
    std::uint64_t status_in = 0;
    std::uint64_t status_current_section = 0; // NAKs for the section being sent: ignored (§2.11)
    std::uint64_t status_bad = 0;             // section out of range or bitmap short
    std::uint64_t status_stale = 0;           // for another file, or an answered client
    std::uint64_t completes_in = 0;
    std::uint64_t aborts_in = 0;
    std::uint64_t passes = 0;
    std::uint64_t blocks_sent = 0;   // requested from the dataplane, all passes
    std::uint64_t blocks_resent = 0; // passes 2+
    std::uint64_t bytes_sent = 0;    // block data bytes, all passes
    std::uint64_t bytes_resent = 0;
    std::uint64_t files_skipped = 0; // could not be laid out (too large for UFTP counters)
    std::uint64_t clients_lost = 0;
    std::uint64_t clients_aborted = 0;
};

enum class sender_phase : std::uint8_t {
    idle,
    announce,
    fileinfo,
    data,
    done_wait,
    completion,
    finished
};

class sender_engine {
public:
    sender_engine(sender_config config, std::vector<file_entry> files, network_port& network,
                  sender_dataplane_port& dataplane, sequence_counter& seq);

    void start(time_ns now);
    void on_datagram(time_ns now, endpoint from, std::span<const std::uint8_t> datagram);
    void on_pass_end(time_ns now, std::uint16_t file_id);
    void on_timer(time_ns now);
    // Aborts the whole session: ABORT to every client, nothing more is sent.
    void abort(time_ns now, const std::string& reason);

    time_ns next_deadline() const;
    sender_phase phase() const { return _phase; }
    bool finished() const { return _phase == sender_phase::finished; }
    // Why the session ended early ("" when it ran to completion).
    const std::string& failure() const { return _failure; }

    double grtt() const { return _grtt.grtt(); }
    // Clients still in the session (the header's group size).
    std::uint32_t active_clients() const { return _active; }
    const sender_stats& stats() const { return _stats; }
    const client_table& clients() const { return _clients; }
    // The text of ABORTs clients sent, by UID.
    const std::map<std::uint32_t, std::string>& client_abort_reasons() const {
        return _client_abort_reasons;
    }

private:
    protocol::uftp_header header();
    protocol::timestamp stamp(time_ns now) const;
    void send(endpoint to, const protocol::message& body);
    // Sends `body` once per chunk of `ids` (at most block_size/4 UIDs each).
    template <class Msg>
    void send_listing(endpoint to, Msg body, const std::vector<std::uint32_t>& ids);

    void handle_register(time_ns now, const protocol::uftp_header& h, endpoint from,
                         const protocol::register_msg& m);
    void handle_fileinfo_ack(time_ns now, std::uint32_t handle,
                             const protocol::fileinfo_ack_msg& m);
    void handle_status(time_ns now, std::uint32_t handle, const protocol::status_msg& m);
    void handle_complete(time_ns now, std::uint32_t handle, const protocol::complete_msg& m);
    void handle_abort(time_ns now, std::uint32_t handle, const protocol::abort_msg& m);

    void announce_round(time_ns now);
    void end_announce(time_ns now);
    void begin_file(time_ns now);
    void fileinfo_round(time_ns now);
    void after_fileinfo(time_ns now);
    void start_pass(time_ns now, std::vector<std::uint64_t> blocks);
    void pass_ended(time_ns now);
    void done_round(time_ns now);
    void rewind(time_ns now);
    void end_file(time_ns now);
    void begin_completion(time_ns now);
    void completion_round(time_ns now);
    void finish(time_ns now, std::string failure);

    // Drops a client from the session with `outcome`, keeping the phase's
    // pending counts right, and advances the phase if it was the last.
    void remove_client(time_ns now, std::uint32_t handle, client_outcome outcome,
                       const char* abort_reason);
    // Walks the clients due in this round: counts a silent round, drops
    // clients silent for ROBUST rounds, and returns the UIDs still due.
    template <class Due>
    std::vector<std::uint32_t> round_roll_call(time_ns now, Due&& due);
    void maybe_advance(time_ns now);
    void sample_rtt(time_ns now, std::uint32_t handle, protocol::timestamp echoed);

    sender_config _config;
    std::vector<file_entry> _files;
    network_port& _network;
    sender_dataplane_port& _dataplane;
    sequence_counter& _seq;
    grtt_estimator _grtt;
    client_table _clients;
    sender_stats _stats;
    std::map<std::uint32_t, std::string> _client_abort_reasons;
    std::string _failure;

    sender_phase _phase = sender_phase::idle;
    std::uint32_t _active = 0; // clients with outcome active
    std::uint32_t _rounds = 0; // rounds run in the current phase
    time_ns _round_deadline = no_deadline;
    time_ns _rewind_deadline = no_deadline;
    time_ns _finish_deadline = no_deadline;
    bool _announce_closing = false; // closed group: everyone answered, one more GRTT

    // The file being sent.
    std::size_t _file_index = 0;
    std::uint16_t _file_id = 0;
    protocol::section_layout _layout;
    std::uint32_t _pass = 0;
    std::uint32_t _pending_answer = 0;    // FILEINFO not yet answered
    std::uint32_t _need_data = 0;         // answered with FILEINFO_ACK
    std::uint32_t _pending_done = 0;      // took data, no COMPLETE yet
    std::uint32_t _pending_complete0 = 0; // completion phase: no COMPLETE(0) yet
    std::vector<std::uint64_t> _naks;     // blocks NAKed since the last pass started
    bool _naks_pending = false;

    struct pending_abort {
        std::uint32_t uid = 0;
        const char* reason = nullptr; // a string literal
        std::uint8_t remaining = 0;
    };
    std::vector<pending_abort> _abort_resends;
    void resend_aborts();

    std::array<std::uint8_t, protocol::max_datagram_size> _buffer{};
};

} // namespace skycast::control::engine
