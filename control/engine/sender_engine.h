#pragma once
// The sender (server) role of UFTP 4 as an event-driven state machine
// (spec §1.4, §3.2, §4.3): announce rounds, registration, then per file
// FILEINFO rounds, data passes through the dataplane seam, DONE rounds with
// STATUS bitmaps OR-ed into the file's NAK bitmap, further passes from it,
// and the completion phase (DONE file 0 / COMPLETE / DONE_CONF).
//
// Driven from outside: start(), on_datagram(), on_pass_end(), on_timer(),
// each with `now`; next_deadline() says when on_timer() is due. Open and
// closed groups, unencrypted or encrypted (sender_config::encryption): then
// ANNOUNCE carries EXT_ENC_INFO (signed in the ECDH modes), REGISTER brings
// the client's premaster or ECDH key, CLIENT_KEY its key when clients
// authenticate, KEYINFO hands out the group master and KEYINFO_ACK proves
// the client has it (spec §5); FILEINFO, DONE, DONE_CONF and ABORT go out
// sealed, and the dataplane seals FILESEGs with the session_keys it is given.

#include "control/engine/client_table.h"
#include "control/engine/file_list.h"
#include "control/engine/grtt_estimator.h"
#include "control/engine/overload_rate.h"
#include "control/engine/ports.h"
#include "control/engine/session_config.h"
#include "control/engine/session_crypto.h"
#include "protocol/blocks.h"
#include "protocol/fec_groups.h"
#include "protocol/messages.h"

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace skycast::control::engine {

// The repair margin of repair passes after the first (sender_fec::repair_margin
// when larger): sender_engine::repair_parity. Such a pass is paced to last
// at least two copy spacings (repair_rate_cap), each group's parity spread
// over it, so a fade of one spacing (the longest the link is assumed to
// have, control.copy_spacing) takes up to half of every group at a
// receiver: a margin of the whole need leaves the receiver that set the
// count enough.
inline constexpr double later_repair_margin = 1.0;

// How long a REGISTER's answer (REG_CONF, or KEYINFO when encrypted) waits
// for others to share its datagram, at most: a quarter of the GRTT when
// that is shorter, far inside the client's resend of REGISTER (4 GRTT, spec
// §4.4). Answered one by one, 10,000 clients cost 10,000 datagrams, each
// sent control_copies times and read by every client.
inline constexpr time_ns confirm_gather_max = 10'000'000;

// Every counter says what a non-zero value means in its comment.
struct sender_stats {
    std::uint64_t datagrams_in = 0;
    std::uint64_t malformed_in = 0;     // failed to decode: a broken or hostile peer
    std::uint64_t wrong_session_in = 0; // another group ID/instance: stray traffic
    std::uint64_t duplicates_in = 0;    // a client's datagram again, byte for byte: dropped
    // Answers echoing a timestamp a sample was already taken from (a
    // client's answer to our copy, or its own copy): no RTT sample.
    std::uint64_t rtt_echo_repeats = 0;
    std::uint64_t unexpected_in =
        0; // a message type the sender never takes, or from an unknown client
    std::uint64_t announce_rounds = 0;
    std::uint64_t registers = 0;
    std::uint64_t duplicate_registers = 0; // REG_CONF was lost or late: the client resent
    std::uint64_t not_in_host_list = 0;    // closed group: an unlisted client tried to join
    std::uint64_t late_registers = 0;      // REGISTER after the announce phase: ignored
    // Fast start (sender_config::fast_start): the listed hosts taken in
    // with the ANNOUNCE, and the ANNOUNCEs sent again in FILEINFO rounds to
    // those not heard from yet (their ANNOUNCE may have been lost).
    std::uint64_t fast_start_hosts = 0;
    std::uint64_t fast_start_reannounces = 0;
    // Proxies (spec §7).
    std::uint64_t proxies = 0;            // proxies registered (sender_config::proxies)
    std::uint64_t proxied_clients = 0;    // clients registered through a proxy
    std::uint64_t proxy_refused = 0;      // a client list from a UID that is no configured proxy
    std::uint64_t proxy_list_refused = 0; // a listed client is not that proxy's (direct, or
                                          // another proxy's): not taken from this one
    std::uint64_t fileinfo_rounds = 0;
    std::uint64_t fileinfo_acks = 0;
    // First passes started before every FILEINFO_ACK was in (early data,
    // sender_config::early_data_after), and the answers that came in after.
    std::uint64_t early_data_passes = 0;
    std::uint64_t fileinfo_acks_late = 0;
    // Of those, clients whose answer came after the pass had ended: each
    // was sent a DONE at once, not at the next round.
    std::uint64_t late_answers_done_at_once = 0;
    // A file (or the completion) started late: the copies of the file
    // before's FILEINFO or DONE were still held (control.copy_spacing).
    std::uint64_t copy_waits = 0;
    std::uint64_t done_rounds = 0;
    // Clients whose COMPLETE(0) came with their COMPLETE for the last file
    // (EXT_SKYCAST_LAST_FILE, docs/protocol.md §22): no DONE(0) round asks
    // them, and a session of only such clients ends a round trip sooner.
    std::uint64_t early_session_completes = 0;
    std::uint64_t status_in = 0;
    std::uint64_t status_current_section = 0; // NAKs for the section being sent: ignored (§2.11)
    // Receiver overload (overload_rate.h, docs/protocol.md §18): a STATUS
    // with no NAKs for the section being sent, from a Skycast receiver that
    // dropped frames it could not keep up with. Each may lower the rate.
    std::uint64_t overload_signals = 0;
    std::uint64_t rate_decreases = 0; // the pass slowed down for it
    std::uint64_t rate_increases = 0; // a quiet spell let it speed up again
    std::uint64_t rate_bps = 0;       // the rate passes run at now (0: the configured one)
    std::uint64_t status_bad = 0;     // section out of range, bitmap short or NAK list malformed
    std::uint64_t nak_lists_in = 0;   // STATUS with a NAK list instead of a bitmap (§19)
    std::uint64_t status_stale = 0;   // for another file, or an answered client
    std::uint64_t completes_in = 0;
    std::uint64_t aborts_in = 0;
    std::uint64_t passes = 0;
    std::uint64_t blocks_sent = 0;   // requested from the dataplane, all passes
    std::uint64_t blocks_resent = 0; // passes 2+
    std::uint64_t bytes_sent = 0;    // block data bytes, all passes
    std::uint64_t bytes_resent = 0;
    std::uint64_t files_skipped = 0; // could not be laid out (too large for UFTP counters)
    // FEC sessions (docs/protocol.md §17).
    std::uint64_t parity_sent = 0;             // PARITY blocks requested, all passes
    std::uint64_t parity_proactive = 0;        // of those, with the first pass
    std::uint64_t parity_bytes_sent = 0;       // their parity bytes (block size each)
    std::uint64_t fec_status_in = 0;           // STATUS with deficit NAKs (Skycast receivers)
    std::uint64_t parity_exhausted = 0;        // groups past index 254: their data blocks resent
    std::uint64_t repair_passes_stretched = 0; // paced to last 2 copy spacings (repair_rate_cap)
    // Passes the dataplane did not take (the node's stats and log say why:
    // the source file changed, no file slot, no dataplane): each went
    // straight to the DONE rounds, its blocks NAKed again.
    std::uint64_t passes_refused = 0;
    std::uint64_t clients_lost = 0;
    std::uint64_t clients_aborted = 0;
    // Encrypted sessions.
    std::uint64_t keyinfo_sent = 0;       // KEYINFO datagrams
    std::uint64_t keyinfo_acks = 0;       // verified KEYINFO_ACKs (first per client)
    std::uint64_t keyinfo_ack_bad = 0;    // verify data wrong: a client with other keys, or forged
    std::uint64_t client_keys_in = 0;     // CLIENT_KEY messages
    std::uint64_t client_key_refused = 0; // wrong key type, fingerprint, or bad signature
    std::uint64_t key_info_bad = 0;   // REGISTER key info unusable (ECDH key on another curve...)
    std::uint64_t decrypt_failed = 0; // ENCRYPTED that did not authenticate: tampered or forged
    std::uint64_t plaintext_refused = 0; // a message that must be encrypted came in the clear
    std::uint64_t pending_auth_full = 0; // CLIENT_KEYs without REGISTER beyond the bound: dropped
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
// "announce", "data", ...: for logs and the stats socket.
const char* name(sender_phase p);
inline constexpr std::size_t sender_phase_count = 7;
static_assert(static_cast<std::size_t>(sender_phase::finished) + 1 == sender_phase_count);

// Where a session's time went (sender_engine::time_in_phases): per phase,
// the time spent in it and how often it was entered (data and done_wait
// once per pass). On a long-delay link the rounds around the data, not the
// data, are often most of a session: this says which.
struct phase_times {
    std::array<time_ns, sender_phase_count> spent{};
    std::array<std::uint32_t, sender_phase_count> entered{};
    time_ns of(sender_phase p) const { return spent[static_cast<std::size_t>(p)]; }
    std::uint32_t entries(sender_phase p) const { return entered[static_cast<std::size_t>(p)]; }
};

// One client's progress as the sender knows it (sender_engine::progress()).
struct receiver_progress {
    std::uint32_t uid = 0;
    client_outcome outcome = client_outcome::active;
    // Bytes the client is known or presumed to hold; the definition is at
    // sender_engine::progress().
    std::uint64_t bytes_known = 0;
    std::uint32_t pass = 0; // the current file's last pass it took part in (0: none)
};

struct session_progress {
    // Sizes of the job's regular files, the ones UFTP can carry (a file too
    // large for its counters is skipped and left out): 100 % of a receiver.
    std::uint64_t bytes_total = 0;
    std::uint32_t files = 0; // entries of the job (files, directories, links)
    // 1-based position of the entry being offered; 0 during the announce
    // phase, files + 1 once every entry is through (completion).
    std::uint32_t file_number = 0;
    std::uint32_t pass = 0;            // pass of that entry (0: none started yet)
    std::uint64_t file_bytes_sent = 0; // its bytes sent at least once so far
    // Bytes of blocks on the wire so far in the session, every pass's (the
    // running pass's as far as the dataplane got): what a live rate is
    // measured from. sender_stats::bytes_sent counts a pass whole when it
    // starts.
    std::uint64_t bytes_sent = 0;
    std::vector<receiver_progress>
        receivers; // every registered client (no proxy), in clients() order
};

// The least fraction of the GRTT one measurement round may leave, for a
// group of robustness `robust` (grtt_estimator.h; why in the definition).
double grtt_fall_floor(std::uint8_t robust);

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
    // Time spent in each phase so far, the current one up to `now`.
    phase_times time_in_phases(time_ns now) const;
    bool finished() const { return _phase == sender_phase::finished; }
    // Why the session ended early ("" when it ran to completion).
    const std::string& failure() const { return _failure; }

    double grtt() const { return _grtt.grtt(); }
    // Clients still in the session (the header's group size).
    std::uint32_t active_clients() const { return _active; }
    const sender_stats& stats() const { return _stats; }
    bool encrypted() const { return _crypto != nullptr; }
    const client_table& clients() const { return _clients; }
    // Every client's progress, for progress lines and the stats. O(clients),
    // no bitmap scan: what it reports was counted as STATUS and COMPLETE
    // messages came in.
    session_progress progress() const;
    // The text of ABORTs clients sent, by UID.
    const std::map<std::uint32_t, std::string>& client_abort_reasons() const {
        return _client_abort_reasons;
    }

private:
    protocol::uftp_header header();
    // Encrypted sessions seal everything but ANNOUNCE, REG_CONF and KEYINFO,
    // unless `plaintext` (an ABORT for a client without the group keys).
    void send(endpoint to, const protocol::message& body, bool plaintext = false);
    // Sends `body` once per chunk of `ids` (at most block_size/4 UIDs each).
    template <class Msg>
    void send_listing(endpoint to, Msg body, const std::vector<std::uint32_t>& ids);

    void handle_register(time_ns now, const protocol::uftp_header& h, endpoint from,
                         const protocol::register_msg& m);
    void handle_fileinfo_ack(time_ns now, std::uint32_t handle,
                             const protocol::fileinfo_ack_msg& m);
    void handle_status(time_ns now, std::uint32_t handle, const protocol::status_msg& m);
    // A STATUS that NAKs nothing for the section being sent: a Skycast
    // receiver's overload report (overload_rate.h), not an answer.
    bool overload_signal(const protocol::status_msg& m) const;
    void on_overload(time_ns now);
    // Quiet time before the rate may climb a step.
    time_ns rate_raise_after() const;
    // The rate the pass in progress runs at (0: the node's configured one):
    // the overload controller's, under _repair_rate_cap.
    std::uint64_t pass_rate() const;
    std::uint64_t repair_rate_cap(std::uint64_t blocks, const std::vector<parity_run>& parity);
    // How far apart our control copies go now (copy_spacing(), 0 during a
    // pass), and how long after a datagram's first copy its last has left.
    time_ns copy_spacing_now() const;
    time_ns copies_out_after() const;
    void handle_complete(time_ns now, std::uint32_t handle, const protocol::complete_msg& m);
    void handle_abort(time_ns now, std::uint32_t handle, const protocol::abort_msg& m);
    // A proxy's FILEINFO_ACK / COMPLETE stand for the clients they list;
    // its STATUS (an OR of its clients' bitmaps) for all its clients.
    void handle_proxy_register(time_ns now, const protocol::uftp_header& h, endpoint from,
                               const protocol::register_msg& m);
    void handle_proxy_message(time_ns now, std::uint32_t proxy, const protocol::message& body);
    // The handles of the clients `ids` lists that are registered through
    // `proxy` (others counted as proxy_list_refused).
    std::vector<std::uint32_t> clients_of(std::uint32_t proxy, const protocol::client_id_list& ids);
    // A proxy's key exchange is done: its clients hold the group keys too.
    void proxy_keyed(time_ns now, std::uint32_t proxy);
    const host_key* listed_proxy(std::uint32_t uid) const;
    // Handles of the clients registered through `proxy`.
    std::vector<std::uint32_t> clients_behind(std::uint32_t proxy) const;
    // Whether `uid` may join: any in an open group, the listed hosts in a closed one.
    bool may_join(std::uint32_t uid) const;
    // The per-client parts of FILEINFO_ACK, STATUS and COMPLETE; the caller
    // advances the phase (maybe_advance) once the whole message is applied.
    // True: the client's first answer, and its pass is over (early data):
    // the caller sends it a DONE at once (done_for_late_answers).
    bool fileinfo_acked(time_ns now, std::uint32_t handle, const protocol::fileinfo_ack_msg& m);
    void done_for_late_answers(time_ns now, const std::vector<std::uint32_t>& handles);
    // The current file's DONE to `uids`: a round's roll call (done_round),
    // or clients that answered after their pass (done_for_late_answers).
    void send_file_done(time_ns now, const std::vector<std::uint32_t>& uids);
    // False: the STATUS is not for the current file's passes, or the client
    // takes no part in them (the caller counts it stale).
    bool status_applies(const client_entry& c, const protocol::status_msg& m) const;
    // Marks the NAKed blocks; the number missing and their bytes, or nullopt
    // for a malformed or ignored STATUS (counted).
    struct nak_count {
        std::uint32_t missing = 0;
        std::uint64_t bytes = 0;
    };
    std::optional<nak_count> mark_naks(const protocol::status_msg& m);
    // A STATUS carrying a NAK list (docs/protocol.md §19) made a bitmap one,
    // in _nak_list_bitmap; false when the list is malformed.
    bool bitmap_of_nak_list(protocol::status_msg& m);
    void naks_marked(time_ns now);
    // True: a DONE_CONF is owed to the client.
    bool client_completed(std::uint32_t handle, const protocol::complete_msg& m);
    // The last file's FILEINFO, pass or DONE rounds are on (§22: a
    // COMPLETE(0) with its COMPLETE ends the session for that client).
    bool on_the_last_file() const;

    // Encrypted sessions (spec §5).
    crypto::crypto_error setup_crypto(time_ns now);
    // REGISTER of a new client: premaster, key blocks, verify data; false if
    // its key info is unusable.
    bool register_keys(std::uint32_t handle, const protocol::register_msg& m);
    void handle_client_key(time_ns now, const protocol::uftp_header& h, endpoint from,
                           const protocol::client_key_msg& m);
    // REGISTER and CLIENT_KEY both in: check the signature, then KEYINFO.
    void finish_client_auth(time_ns now, std::uint32_t handle);
    // Stores the verify data the client's KEYINFO_ACK must carry.
    bool expect_ack(std::uint32_t handle, std::span<const std::uint8_t> vd1,
                    std::span<const std::uint8_t> client_blob);
    void handle_keyinfo_ack(time_ns now, std::uint32_t handle, const protocol::keyinfo_ack_msg& m);
    void send_keyinfo(const std::vector<std::uint32_t>& handles);
    // KEYINFO to every client whose KEYINFO_ACK is missing; their count.
    std::uint32_t resend_keyinfo();
    // A direct client's REGISTER is answered within confirm_gather_max,
    // beside the others that came meanwhile: one listing (REG_CONF, or
    // KEYINFO when encrypted) sent when the datagram is full, the gather
    // time is up, or the announce phase ends.
    void confirm_soon(time_ns now, std::uint32_t handle);
    void send_confirmations();
    // A client is in (REG_CONF sent, or KEYINFO_ACK verified): a closed
    // group whose hosts are all in ends its announce phase early.
    void client_joined(time_ns now);

    void announce_round(time_ns now);
    // The ANNOUNCE, to the public group; a closed group's lists `listed`.
    void send_announce(time_ns now, const std::vector<std::uint32_t>& listed);
    // Fast start: every listed host taken in now, the FILEINFO due shortly.
    bool fast_start_applies() const;
    void begin_fast_start(time_ns now);
    void end_announce(time_ns now);
    void begin_file(time_ns now);
    void fileinfo_round(time_ns now);
    void after_fileinfo(time_ns now);
    // FILEINFO to `ids` (clients that have not answered it), and the next
    // round's deadline.
    void send_fileinfo(time_ns now, const std::vector<std::uint32_t>& ids);
    // Early data: the first pass, while FILEINFO answers are still out.
    void start_early_pass(time_ns now);
    // The first pass's blocks: all of the file's.
    std::vector<std::uint64_t> every_block() const;
    void start_pass(time_ns now, std::vector<std::uint64_t> blocks,
                    std::vector<parity_run> parity = {});
    // FEC: the first pass's proactive parity, and a repair pass's parity from
    // the deficits reported (adding to `blocks` the data of groups whose
    // parity indices ran out).
    std::vector<parity_run> proactive_parity();
    std::vector<parity_run> repair_parity(std::vector<std::uint64_t>& blocks);
    void count_fec_status(const protocol::status_msg& m);
    // DONE rounds: a due client answered; when all have, rewind soon.
    void heard_in_done_round(client_entry& c);
    void rewind_when_all_answered(time_ns now);
    std::uint16_t parity_port() const;
    void pass_ended(time_ns now);
    void done_round(time_ns now);
    void rewind(time_ns now);
    void end_file(time_ns now);
    void begin_completion(time_ns now);
    bool wait_for_copies(time_ns now);
    void completion_round(time_ns now);
    void finish(time_ns now, std::string failure);
    // Bytes of the current file sent at least once (pass 1's cursor).
    std::uint64_t file_bytes_sent() const;

    // Drops a client from the session with `outcome`, keeping the phase's
    // pending counts right, and advances the phase if it was the last.
    void remove_client(time_ns now, std::uint32_t handle, client_outcome outcome,
                       const char* abort_reason);
    // Walks the clients due in this round: counts a silent round, drops
    // clients silent for ROBUST rounds, and returns the UIDs still due.
    template <class Due>
    std::vector<std::uint32_t> round_roll_call(time_ns now, Due&& due);
    void maybe_advance(time_ns now);
    // An RTT sample from a client's answer echoing one of our timestamps;
    // the first answer echoing a given timestamp only (_echo_sampled).
    void sample_rtt(time_ns now, std::uint32_t handle, protocol::timestamp echoed);
    // Ends the GRTT's measurement round (grtt_estimator.h): at once to the
    // round's largest RTT when every active client gave one.
    void end_grtt_round();

    sender_config _config;
    std::vector<file_entry> _files;
    std::uint64_t _bytes_total = 0; // session_progress::bytes_total
    // The file ID the last entry will have (EXT_SKYCAST_LAST_FILE); none
    // for a job with no entry to send or more entries than file IDs.
    std::optional<std::uint16_t> _last_file_id;
    network_port& _network;
    sender_dataplane_port& _dataplane;
    sequence_counter& _seq;
    grtt_estimator _grtt;
    overload_rate _overload;
    // sender_stats::bytes_sent before the running pass added its blocks
    // (session_progress::bytes_sent).
    std::uint64_t _bytes_sent_before_pass = 0;
    // A short repair pass of parity is paced down so that it lasts two copy
    // spacings (repair_rate_cap); 0: no cap on the pass in progress.
    std::uint64_t _repair_rate_cap = 0;
    client_table _clients;
    sender_stats _stats;
    std::map<std::uint32_t, std::string> _client_abort_reasons;
    // Per client handle: the echoed timestamp of its last RTT sample. With
    // control copies a client answers our copy of a datagram as well as the
    // original, and sends its own answers twice: every answer after the
    // first echoes the same timestamp and arrives a copy spacing or two
    // later. Sampled, each would measure the spacing as round trip, and the
    // largest of a round sets the GRTT: 0.6-0.7 s on a 0.5 s link with no
    // loss at all, and every round's timers that much longer. (Beside the
    // entries: client_entry stays within 32 bytes.)
    std::vector<time_ns> _echo_sampled;
    std::string _failure;

    sender_phase _phase = sender_phase::idle;
    // Every phase change goes through here: it keeps _phase_times.
    void enter(sender_phase p, time_ns now);
    phase_times _phase_times;
    time_ns _phase_since = 0;   // when _phase was entered
    std::uint32_t _active = 0;  // clients with outcome active
    std::uint32_t _rounds = 0;  // rounds run in the current phase
    time_ns _last_round_at = 0; // when round_roll_call() last ran
    time_ns _round_deadline = no_deadline;
    time_ns _rewind_deadline = no_deadline;
    time_ns _finish_deadline = no_deadline;
    time_ns _early_data_deadline = no_deadline; // fileinfo phase: start the first pass then
    // When the last held copy of a FILEINFO or DONE leaves; the next file's
    // first round (or the completion's) waits for it (_copies_out_deadline).
    time_ns _copies_out_at = 0;
    time_ns _copies_out_deadline = no_deadline;
    bool _announce_closing = false;          // closed group: everyone answered, one more GRTT
    std::vector<std::uint32_t> _confirm_due; // client handles, for send_confirmations()
    time_ns _confirm_deadline = no_deadline;

    // The file being sent.
    std::size_t _file_index = 0;
    std::uint16_t _file_id = 0;
    protocol::section_layout _layout;
    std::uint32_t _pass = 0;
    std::uint32_t _pending_answer = 0;    // FILEINFO not yet answered
    std::uint32_t _need_data = 0;         // answered with FILEINFO_ACK
    std::uint32_t _pending_done = 0;      // took data, no COMPLETE yet
    std::uint32_t _pending_complete0 = 0; // completion phase: no COMPLETE(0) yet
    std::uint32_t _done_unheard = 0;      // clients the last DONE asked that have not answered
    time_ns _done_sent_at = 0;            // when the last DONE round went out
    std::vector<std::uint64_t> _naks;     // blocks NAKed since the last pass started
    std::vector<std::uint8_t> _nak_list_bitmap; // the last NAK list, expanded
    bool _naks_pending = false;
    // FEC (docs/protocol.md §17), the current file.
    protocol::fec_groups _fec_groups;
    std::vector<std::uint32_t> _fec_status_counts; // count_fec_status's scratch, per group
    std::vector<std::uint8_t> _parity_next;        // per group: the next unused parity index
    std::vector<std::uint8_t> _parity_need;        // per group: most parity a receiver asked for
    std::vector<std::uint64_t> _fec_naks;          // blocks of deficit NAKs since the last pass
    double _fec_learned = 0;            // parity fraction the last file's first pass needed
    bool _fec_first_pass_needs = false; // the current deficits answer pass 1

    struct pending_abort {
        std::uint32_t uid = 0;
        const char* reason = nullptr; // a string literal
        std::uint8_t remaining = 0;
    };
    std::vector<pending_abort> _abort_resends;
    void resend_aborts();

    std::unique_ptr<sender_crypto> _crypto; // null: unencrypted session
    std::uint32_t _joined = 0;              // registered (and keyed, if encrypted)
    std::uint32_t _key_rounds = 0; // announce rounds past the limit, for missing KEYINFO_ACKs

    std::array<std::uint8_t, protocol::max_datagram_size> _buffer{};
    std::array<std::uint8_t, protocol::max_datagram_size> _scratch{};
    std::array<std::uint8_t, protocol::max_datagram_size> _plain{};
};

} // namespace skycast::control::engine
