#pragma once
// The receiver (client) role of UFTP 4 as an event-driven state machine
// (spec §1.4, §3.3, §4.4, §8): join on ANNOUNCE, register, accept or refuse
// each FILEINFO (path checks, free space), receive into a temp file through
// the dataplane seam, NAK at section ends and on DONE, COMPLETE, apply the
// mtime and move the file into place only when every block is there, and the
// completion phase. Every client timeout of §4.4 is a deadline here.
//
// Driven from outside with `now`: on_datagram() for control messages,
// on_data() when the dataplane has stored FILESEGs, on_timer() at
// next_deadline(). Encrypted sessions (spec §5): the ANNOUNCE's signature
// is verified in the ECDH modes (and the server key's fingerprint, if
// receiver_config::encryption lists servers), REGISTER carries our premaster
// or ECDH key, CLIENT_KEY our key when the server asks for it, KEYINFO
// delivers the group master and KEYINFO_ACK proves we have it; from then on
// the server's FILEINFO/DONE/DONE_CONF/ABORT must arrive sealed (plaintext
// ones are refused, counted) and everything we send is sealed. The dataplane
// gets the group keys with each file (receive_request::keys).

#include "control/engine/ports.h"
#include "control/engine/repeat_filter.h"
#include "control/engine/session_config.h"
#include "control/engine/session_crypto.h"
#include "protocol/blocks.h"
#include "protocol/messages.h"

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace skycast::control::engine {

struct receiver_stats {
    std::uint64_t datagrams_in = 0;
    std::uint64_t malformed_in = 0;     // failed to decode
    std::uint64_t foreign_in = 0;       // not from our session's server: ignored
    std::uint64_t duplicates_in = 0;    // the server's datagram again, byte for byte: dropped
    std::uint64_t seq_out_of_range = 0; // more than 5 behind the newest (spec §1.2): dropped
    // Of those not dropped: a late copy of a listing that named us and that
    // we still needed (late_listing_welcome).
    std::uint64_t late_listings_taken = 0;
    std::uint64_t not_listed = 0;        // a message for other clients
    std::uint64_t fec_declined = 0;      // ANNOUNCE offered FEC we cannot use: NAK repair instead
    std::uint64_t encrypted_refused = 0; // could not join: suite, key type or server key refused
    std::uint64_t proxy_key_missing =
        0; // encrypted ANNOUNCE before our response proxy's key: waits
    std::uint64_t unencrypted_refused = 0; // an unencrypted session, and encryption is required
    std::uint64_t announce_signature_bad =
        0;                               // ECDH ANNOUNCE whose signature fails: forged or damaged
    std::uint64_t keyinfo_bad = 0;       // our KEYINFO entry did not decrypt: not our key block
    std::uint64_t decrypt_failed = 0;    // ENCRYPTED that did not authenticate: tampered or forged
    std::uint64_t undecryptable = 0;     // ENCRYPTED before we had the group keys
    std::uint64_t plaintext_refused = 0; // a message that must be sealed came in the clear
    std::uint64_t registers_sent = 0;
    std::uint64_t register_early = 0; // of those: resent because a closed ANNOUNCE still listed us
    std::uint64_t fileinfo_in = 0;
    std::uint64_t files_received = 0;
    std::uint64_t files_rejected = 0; // bad name, path through a symlink, cannot open
    std::uint64_t status_sent = 0;
    // This node dropped frames it could not keep up with during the file and
    // told the sender (report_overload): see the dataplane's rx.drop counters.
    std::uint64_t overload_reports = 0;
    // STATUS sent as NAK lists (docs/protocol.md §19), and the bytes of NAK
    // bitmap or list in every STATUS: what the return link carried for NAKs.
    std::uint64_t nak_lists_sent = 0; // overload reports (§18, empty lists) included
    // FEC session whose parity stopped reaching us after we asked for it
    // twice (a proxy in the path): from then on its STATUS NAKs data blocks.
    std::uint64_t fec_fallbacks = 0;
    // A DONE asked about the file while it was not complete and nothing
    // was missing to NAK (a FEC group waiting for its rebuild): no answer.
    // The sender asks again next round; a count that keeps rising means a
    // receiver stuck with nothing to say (docs/protocol.md §17.6).
    std::uint64_t done_silent = 0;
    std::uint64_t status_bytes_sent = 0;
    std::uint64_t completes_sent = 0;
    // COMPLETE(0)s sent with the sender's last file's COMPLETE (§22), not
    // asked for by a DONE(0).
    std::uint64_t early_completes = 0;
    std::uint64_t nak_timer_fired = 0;
    std::uint64_t move_failed = 0; // temp file could not be moved into place
    std::uint64_t temp_files_discarded = 0;
    std::uint64_t timeouts = 0;       // one of the §4.4 timeouts ended the session
    std::uint64_t grtt_clamped = 0;   // a header asked for more than max_grtt
    std::uint64_t robust_clamped = 0; // an ANNOUNCE asked for more than max_robust
    std::uint64_t write_failures = 0; // a file's write failed: session aborted, reason says why
};

enum class receiver_state : std::uint8_t {
    listening,   // waiting for an ANNOUNCE
    registering, // REGISTER sent, no REG_CONF yet
    between_files,
    receiving,
    completing, // COMPLETE(0) sent, waiting for DONE_CONF
    finished,
    aborted,
};
// "receiving", "completing", ...: for logs and the stats socket.
const char* name(receiver_state s);

// How a session ended for this receiver.
enum class receiver_outcome : std::uint8_t {
    running,
    completed,             // DONE_CONF received
    completed_unconfirmed, // COMPLETE(0) never confirmed; files are in place
    aborted_by_server,
    timed_out, // "Transfer timed out"
    registration_unconfirmed,
    disk_full,    // "Not enough disk space", or a write failed with ENOSPC/EDQUOT
    write_failed, // a write of the file failed otherwise (I/O error); reason names it
    refused,      // the session's encryption could not be joined (reason says why)
    count
};
const char* name(receiver_outcome o);

// What the receiver did with one FILEINFO.
struct file_result {
    std::uint16_t file_id = 0;
    std::string name;
    protocol::file_type type = protocol::file_type::regular;
    protocol::complete_status status = protocol::complete_status::normal;
    bool complete = false; // in place (or applied) in the destination
    std::string reason;    // why it was rejected, if it was
};

// What a progress line shows of a session (`skycast status` on a receiver
// node). UFTP 4 announces files one at a time: a receiver never knows the
// session's total, only the size of the file being received.
struct receive_progress {
    std::uint32_t files_done = 0; // entries in place: files, directories, links, deletes
    std::uint64_t bytes_done = 0; // sizes of the regular files moved into place
    bool receiving = false;       // a regular file is open; the members below describe it
    std::uint16_t file_id = 0;
    std::string name;                // as the sender sent it: display_text() before showing it
    std::uint64_t file_bytes = 0;    // its size
    std::uint64_t file_received = 0; // data bytes of its blocks received, counted at counted_at
    time_ns counted_at = 0;          // refresh_progress()'s `now` of that count; 0: not yet
};

class receiver_engine {
public:
    receiver_engine(receiver_config config, network_port& network,
                    receiver_dataplane_port& dataplane);

    void on_datagram(time_ns now, endpoint from, std::span<const std::uint8_t> datagram);
    // A datagram of this session that arrived ENCRYPTED and that the dataplane
    // already authenticated and opened with the session's keys (it holds them
    // for FILESEGs): the original header with the inner message's function
    // code, then the inner message. Taken as if it had come sealed.
    void on_decrypted(time_ns now, endpoint from, std::span<const std::uint8_t> datagram);
    // The dataplane saw a FILESEG of this session for `file_id`/`section`
    // (stored or not): restarts the inactivity timer and, for the file being
    // received, arms the section-end NAK timer (spec §3.3). The dataplane may
    // batch these: one call per section change is enough. `seq` is the
    // FILESEG's header sequence number: the window of §1.2 must follow the
    // data too, or a pass of more than 32768 blocks between two control
    // messages would make the next DONE look 5+ behind (16-bit wrap).
    void on_data(time_ns now, std::uint16_t file_id, std::uint16_t section, std::uint16_t seq);
    void on_timer(time_ns now);
    // Leaves the session: ABORT to the server, temp file removed.
    void abort(time_ns now, const std::string& reason);

    time_ns next_deadline() const;
    receiver_state state() const { return _state; }
    receiver_outcome outcome() const { return _outcome; }
    const std::string& reason() const { return _reason; }
    const receiver_stats& stats() const { return _stats; }
    // Whether the session is encrypted and we hold its group keys.
    bool keyed() const { return _crypto && _crypto->cipher; }
    const std::vector<file_result>& files() const { return _results; }
    // Indices into files() of the entries completed (in place in the
    // destination) since the last call: what post-receive hooks are run for.
    std::vector<std::size_t> take_completed_files() { return std::exchange(_completed, {}); }
    double grtt() const { return _grtt; }
    // The session's progress; the open file's received bytes as of the last
    // refresh_progress().
    receive_progress progress() const;
    // Counts the open file's received blocks again (in the dataplane's
    // bitmap) when the last count is a second old or belongs to another
    // file; cheap to call every loop round.
    void refresh_progress(time_ns now);

private:
    void handle_datagram(time_ns now, endpoint from, std::span<const std::uint8_t> datagram,
                         bool opened_by_dataplane);

    struct current_file {
        std::uint16_t file_id = 0;
        protocol::file_type type = protocol::file_type::regular;
        std::string final_path;
        std::string temp_path;
        protocol::section_layout layout;
        std::uint32_t mtime = 0;
        std::optional<std::uint16_t> mode; // sender's permission bits, if sent
        protocol::timestamp fileinfo_stamp;
        time_ns fileinfo_at = 0;
        std::vector<bool> section_done; // every block in: never asked about again
        std::uint32_t highest_section_seen = 0;
        std::uint32_t nak_upto = 0;      // sections [0, nak_upto) are due for NAKs
        bool asked = false;              // a DONE asked for status
        bool closing = false;            // complete; the dataplane flushes it (begin_close)
        time_ns complete_checked_at = 0; // check_complete()'s last look
        std::size_t result_index = 0;
        std::uint64_t received = 0;      // progress: data bytes received, counted at received_at
        time_ns received_at = 0;         // 0: not counted yet
        time_ns overload_checked_at = 0; // report_overload()'s last look
    };

    std::uint16_t send(const protocol::message& body);
    // How long a DONE waits for its STATUS answer (handle_done).
    time_ns done_answer_delay() const;
    protocol::timestamp echo(protocol::timestamp stamp, time_ns received_at, time_ns now) const;
    bool listed(const std::vector<std::uint32_t>& ids) const;
    // A datagram beyond the sequence window that is still ours to take: a
    // spaced copy of one datagram of a listing the server sent in several
    // (docs/protocol.md §4.3), which names us and which we still wait for.
    bool late_listing_welcome(const protocol::message& body) const;
    time_ns robust_grtt() const;
    // The GRTT a header advertises, within max_grtt (counted when clamped).
    double header_grtt(std::uint8_t quantized);
    // Ends the session when storage failed to write the open file.
    bool write_failed(time_ns now);
    // Tells the sender when the node dropped frames since the last look.
    void report_overload(time_ns now, std::uint16_t section);
    // One STATUS for `section` of the open file: its bitmap, or the NAK
    // list of it when the sender takes lists and the list is smaller.
    void send_status(std::uint16_t section, std::span<const std::uint8_t> bitmap, bool fec_deficit);
    // Whether this NAK round may ask for parity (deficit NAKs), or the path
    // showed it does not carry PARITY and data blocks must be NAKed.
    bool parity_reaches_us();

    void handle_announce(time_ns now, const protocol::uftp_header& h, endpoint from,
                         const protocol::announce_msg& m, std::span<const std::uint8_t> datagram);
    // Sets up the key exchange from EXT_ENC_INFO; "" when we can take part,
    // else why not. `bad_signature` is set for a forged or damaged ANNOUNCE
    // (ignored rather than refused: the real one may still come).
    std::string join_encrypted(time_ns now, const protocol::announce_msg& m,
                               std::span<const std::uint8_t> datagram, bool& bad_signature);
    void handle_keyinfo(time_ns now, const protocol::keyinfo_msg& m);
    void handle_fileinfo(time_ns now, const protocol::fileinfo_msg& m);
    void handle_done(time_ns now, const protocol::done_msg& m);
    void handle_abort(time_ns now, const protocol::abort_msg& m);
    void send_register(time_ns now);
    // Sends a COMPLETE; the one for the sender's last file (§22) begins the
    // session's completion with it.
    void send_complete(time_ns now, std::uint16_t file_id, protocol::complete_status status);
    // COMPLETE(0), and its resend timer; entering the completing state
    // first if not in it yet (a DONE(0) asked, or the last file is through,
    // §22). The resend timer fires only in that state.
    void send_session_complete(time_ns now);
    void reject(time_ns now, const protocol::fileinfo_msg& m, std::string why);
    void nak_timer(time_ns now);
    // Checks the open file; when complete, starts its close, and once the
    // dataplane has flushed it, moves it into place and sends COMPLETE.
    // Returns true if the file needs no STATUS (finished, or flushing).
    bool try_finish_file(time_ns now);
    // As data comes in: finishes the file when it is complete before a DONE
    // asks. True if it did (or its flush began).
    bool check_complete(time_ns now);
    // The flushed file into place (or discarded, when a write failed) and
    // its COMPLETE, sent when `answer`.
    void finish_closed_file(time_ns now, bool flushed, bool answer);
    void drop_current_file(time_ns now);
    void end(time_ns now, receiver_outcome outcome, std::string reason, bool tell_server);
    void touch(time_ns now);

    receiver_config _config;
    network_port& _network;
    receiver_dataplane_port& _dataplane;
    receiver_stats _stats;
    receiver_state _state = receiver_state::listening;
    receiver_outcome _outcome = receiver_outcome::running;
    std::string _reason;

    // The session, from its ANNOUNCE.
    std::uint32_t _server_id = 0;
    std::uint32_t _group_id = 0;
    std::uint8_t _group_inst = 0;
    endpoint _server;
    std::uint32_t _joined_group = 0; // private group joined for the session (0: none)
    std::uint16_t _block_size = 0;
    // FEC (docs/protocol.md §17): the ANNOUNCE's k when this dataplane
    // decodes parity (0: NAK data blocks, as stock), and the parity port.
    std::uint32_t _fec_k = 0;
    repeat_filter _last_from_server; // its identical copies are dropped
    std::uint32_t _fec_span = 1;     // groups interleaved per span (protocol/fec_groups.h)
    std::uint16_t _parity_port = 0;
    // Parity fallback (parity_reaches_us()): a DONE of this file was answered
    // with deficit NAKs when the port had seen _parity_in_at_ask PARITY
    // datagrams; DONEs in a row since that found none arrived.
    bool _parity_asked = false;
    std::uint64_t _parity_in_at_ask = 0;
    std::uint32_t _parity_unanswered = 0;
    bool _fec_nak_data = false;          // no parity reaches us: NAK data blocks
    bool _sender_takes_overload = false; // its ANNOUNCE carried EXT_SKYCAST_OVERLOAD
    // The node's overload_drops() at the last look; empty before the
    // session's first file.
    std::optional<std::uint64_t> _overload_drops_seen;
    bool _sender_takes_nak_lists = false; // EXT_SKYCAST_NAK_LIST, and straight from it
    // EXT_SKYCAST_LAST_FILE, straight from the sender: its last file's ID.
    std::optional<std::uint16_t> _last_file_id;
    std::vector<std::uint8_t> _nak_list; // send_status's list, kept for its capacity
    std::uint8_t _robust = 20;
    double _grtt = 0.5;
    protocol::timestamp _announce_stamp;
    time_ns _announce_at = 0;
    std::uint16_t _seq = 0;          // our own header sequence counter
    std::uint16_t _max_seq_seen = 0; // the server's
    bool _seq_seen = false;

    bool _has_file = false;
    current_file _file;
    // Answers already given, to repeat when the server repeats itself.
    std::map<std::uint16_t, protocol::complete_status> _answered;
    std::vector<file_result> _results;
    std::vector<std::size_t> _completed; // see take_completed_files()
    std::uint32_t _entries_done = 0;     // progress: results in place
    std::uint64_t _bytes_done = 0;       // progress: sizes of the regular files in place

    time_ns _register_resend = no_deadline;
    time_ns _register_giveup = no_deadline;
    time_ns _inactivity = no_deadline;
    time_ns _nak_deadline = no_deadline;
    time_ns _complete_check = no_deadline; // check_complete() once allowed again
    time_ns _complete_resend = no_deadline;
    time_ns _complete_giveup = no_deadline;

    std::unique_ptr<receiver_crypto> _crypto; // null: unencrypted session

    std::array<std::uint8_t, protocol::max_datagram_size> _buffer{};
    std::array<std::uint8_t, protocol::max_datagram_size> _scratch{};
    std::array<std::uint8_t, protocol::max_datagram_size> _plain{};
};

} // namespace skycast::control::engine
