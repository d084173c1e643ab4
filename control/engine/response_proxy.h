#pragma once
// A UFTP response proxy (stock `uftpproxyd -r`, spec §7): the server
// multicasts straight to its clients, and the clients send their answers
// here (stock `uftpd -R`, Skycast `control.response_proxy`). Per session the
// proxy holds REGISTER, FILEINFO_ACK, STATUS and COMPLETE for one GRTT after
// the first one pending, then sends the server one message per kind that
// lists every client it stands for (STATUS: the OR of their NAK bitmaps), so
// a server with thousands of receivers hears a few proxies. A client's ABORT
// is passed on at once, naming the client.
//
// It learns a session from the server's ANNOUNCE on the public group (the
// server's address, port and GRTT).
//
// Encrypted sessions (docs/protocol.md §7.1), when the proxy has keys: its
// clients fetch the proxy's keys with KEY_REQ (PROXY_KEY answers) and make
// their premasters with them; the proxy registers with the server for them
// with a key exchange of its own, gets the group master in the server's
// KEYINFO and hands it on to each client in a KEYINFO of its own, sent in
// the server's name. Client answers arrive sealed with the group keys; the
// proxy opens them and seals its aggregates under its own UID and IV
// counter. The key-exchange half of the class is in response_proxy_keys.cc.
//
// Driven like the other engines: on_datagram(), on_timer() and
// next_deadline(), each with `now`; it sends through a network_port.

#include "control/engine/key_exchange.h"
#include "control/engine/ports.h"
#include "control/engine/session_crypto.h"
#include "crypto/keys.h"
#include "crypto/packet_cipher.h"
#include "protocol/messages.h"

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace skycast::control::engine {

struct response_proxy_config {
    std::uint32_t proxy_id = 0;
    // Identical copies of each aggregate sent (control.control_copies), this
    // far apart (control.copy_spacing; at most the session's GRTT/4).
    std::uint32_t control_copies = 1;
    time_ns copy_spacing = default_copy_spacing;
    // The largest GRTT a server's ANNOUNCE may ask of us (seconds): it is how
    // long answers are held, so a hostile ANNOUNCE must not stretch it.
    double max_grtt = 15.0;
    // Sessions followed at once; an ANNOUNCE beyond them replaces the one
    // heard from least recently.
    std::uint32_t max_sessions = 256;
    // Clients one session's proxy stands for (stock: 1000); a REGISTER from
    // one more is dropped and counted.
    std::uint32_t max_clients = 1000;
    // A session nobody has sent anything for this long is forgotten (a
    // clean data pass has no answers at all: hours, for a large file).
    time_ns session_idle = 24ull * 3600 * ns_per_second;
    // Encrypted sessions: the proxy's key (RSA or EC, of the type and size
    // or curve of the servers' keys: stock clients insist) and its
    // long-lived ECDH key (ECDH key exchanges; on the servers' ECDH curve).
    // Without `key`, encrypted sessions are counted and not served.
    std::shared_ptr<const crypto::private_key> key;
    std::shared_ptr<const crypto::private_key> ecdh_key;
    // The port clients listen on: KEYINFO goes to the private group there.
    std::uint16_t port = 1044;
    // Whether the server's KEYINFO and REG_CONF must be heard on the
    // session's private group (a response proxy), or come to us anyway (a
    // client proxy's aggregation: its upstream delivers them unicast).
    bool join_private_groups = true;
    // KEYINFO rounds (every 2 GRTT) a client may leave unanswered before
    // the proxy gives it up and tells the server (ABORT naming it).
    std::uint32_t keyinfo_rounds = 10;
    // Encrypted sessions whose private group we hold at once: the
    // dataplane's group table is small (api::max_joined_groups), and a
    // group is held only while the server registers clients.
    std::uint32_t max_joined_groups = 32;
    // PROXY_KEYs sent a second, all askers together: a KEY_REQ is 20 bytes
    // and a PROXY_KEY hundreds, so spoofed askers must not make us a
    // reflector.
    std::uint32_t proxy_keys_per_second = 100;
};

// Every counter says what a non-zero value means.
struct response_proxy_stats {
    std::uint64_t datagrams_in = 0;
    std::uint64_t malformed_in = 0;           // failed to decode: a broken or hostile peer
    std::uint64_t announces = 0;              // ANNOUNCEs heard (sessions learned or refreshed)
    std::uint64_t sessions_started = 0;       // sessions learned from an ANNOUNCE
    std::uint64_t sessions_evicted = 0;       // forgotten for a newer one (max_sessions)
    std::uint64_t sessions_expired = 0;       // forgotten after session_idle of silence
    std::uint64_t encrypted_not_served = 0;   // encrypted sessions we hold no fitting keys for
    std::uint64_t encrypted_sessions = 0;     // encrypted sessions served
    std::uint64_t announce_signature_bad = 0; // an ECDH ANNOUNCE whose signature fails: ignored
    std::uint64_t unknown_session = 0;  // an answer for a session whose ANNOUNCE we never heard
    std::uint64_t clients_full = 0;     // a REGISTER beyond max_clients: dropped
    std::uint64_t unexpected_in = 0;    // a message a response proxy never takes
    std::uint64_t answers_in = 0;       // client answers taken into an aggregate
    std::uint64_t aggregates_sent = 0;  // REGISTER/FILEINFO_ACK/STATUS/COMPLETE sent upstream
    std::uint64_t aborts_forwarded = 0; // client ABORTs passed on to the server
    std::uint64_t key_requests_unanswered = 0; // KEY_REQ: this proxy has no keys to give
    std::uint64_t proxy_keys_sent = 0;         // PROXY_KEY answers to KEY_REQ
    std::uint64_t key_requests_limited = 0;    // KEY_REQ within a second of the last from there
    std::uint64_t key_info_bad = 0;            // a client REGISTER whose key info we cannot use
    std::uint64_t keyinfo_in = 0;              // the server's KEYINFO listing us
    std::uint64_t keyinfo_bad = 0;             // ... that does not open: the session stays unkeyed
    std::uint64_t keyinfo_sent = 0;            // KEYINFO datagrams to our clients
    std::uint64_t keyinfo_acks = 0;            // clients' KEYINFO_ACKs that verified
    std::uint64_t keyinfo_ack_bad = 0;         // ... that did not: ignored
    std::uint64_t clients_unkeyed = 0;   // clients given up after keyinfo_rounds: ABORT upstream
    std::uint64_t plaintext_refused = 0; // a client answer in the clear in an encrypted session
    std::uint64_t undecryptable = 0;     // sealed before we hold the group keys
    std::uint64_t decrypt_failed = 0;    // sealed and failed to open: forged or damaged
    std::uint64_t server_sealed_ignored = 0; // the server's sealed traffic: not ours to open
    std::uint64_t server_spoofed = 0;        // the server's UID from another address, or vice versa
    std::uint64_t group_join_failed = 0;     // no room for an encrypted session's private group
    std::uint64_t groups_left_idle = 0;      // left after the server's announcing stopped
    std::uint64_t client_rekeyed = 0; // a client's REGISTER with a new random: keys made again
    std::uint64_t seal_failed = 0;    // an aggregate we could not seal: not sent
    std::uint64_t keyinfo_failed = 0; // a KEYINFO entry or datagram we could not build
    std::uint64_t client_keys_in = 0; // CLIENT_KEYs (client authentication)
    std::uint64_t client_key_bad = 0; // ... of another key type, or whose signature fails
    std::uint64_t client_keys_early_dropped = 0; // CLIENT_KEYs before their REGISTER, no room
    std::uint64_t clients_unproved = 0;          // registered, never proved their key: dropped
    std::uint64_t announce_refused = 0;          // a repeated ANNOUNCE with other keys, or unsigned
    // A client whose REG_CONF was lost, named in the server's sealed FILEINFO or DONE instead.
    std::uint64_t clients_confirmed_by_listing = 0;
};

class response_proxy {
public:
    // `groups`: the private groups of encrypted sessions, joined to hear the
    // server's KEYINFO and REG_CONF (docs/protocol.md §7.1).
    response_proxy(response_proxy_config config, network_port& network, membership_port& groups);

    void on_datagram(time_ns now, endpoint from, std::span<const std::uint8_t> datagram);
    void on_timer(time_ns now);
    time_ns next_deadline() const;

    const response_proxy_stats& stats() const { return _stats; }
    std::size_t sessions() const { return _sessions.size(); }
    // An ANNOUNCE (a client proxy's, which passes it on only when taken):
    // true when the session is followed from `from` with it, its keys
    // checked (docs/protocol.md §7.1).
    bool take_announce(time_ns now, endpoint from, std::span<const std::uint8_t> datagram);
    // An encrypted session with a client that still waits for the server's
    // word that it took it (its REG_CONF lost): until when the server's
    // sealed FILEINFO and DONE, which would list it, are worth reading
    // (announcing stopped long enough: group_hold). Nullopt: none waits.
    std::optional<time_ns> listings_wanted_until(std::uint32_t group_id,
                                                 std::uint8_t group_inst) const;
    // Clients the proxy has registered, all sessions.
    std::size_t clients() const;

private:
    // Clients waiting to be listed in one aggregate message.
    struct pending_list {
        std::vector<std::uint32_t> uids;
        time_ns first_at = no_deadline;
        // The earliest echoed timestamp less its arrival: the client with the
        // longest RTT, whose echo (advanced by the hold) the aggregate carries
        // and who is listed first, as stock does (spec §7).
        std::optional<std::int64_t> echo_minus_arrival;
        std::size_t longest = 0; // index in uids
        std::uint8_t flags = 0;  // FILEINFO_ACK: the OR of the clients' flags
        void add(time_ns now, std::uint32_t uid, std::optional<protocol::timestamp> echo);
    };
    struct pending_status {
        std::vector<std::uint8_t> naks; // OR of the clients' bitmaps
        time_ns first_at = no_deadline;
    };
    // A client of an encrypted session.
    struct keyed_client {
        std::uint32_t slot = 0;          // its key block in session_keys::store
        bool confirmed = false;          // listed in the server's REG_CONF, FILEINFO or DONE
        bool keyed = false;              // its KEYINFO_ACK verified
        std::uint32_t keyinfo_sends = 0; // KEYINFOs sent it, unanswered
        crypto::hello_random rand2{};    // its REGISTER's: another one means it started again
        // Client authentication: its key, once its CLIENT_KEY's signature
        // verified (KEYEX sessions open its datagrams with it), and its
        // REGISTER's stamp, held until then (it is listed upstream after).
        std::optional<crypto::public_key> key;
        protocol::timestamp register_stamp{};
        time_ns since = 0;         // its first REGISTER: unproved clients expire
        bool ack_expected = false; // its expected KEYINFO_ACK is computed
    };
    // An encrypted session's keys: ours with the server (the client's half)
    // and each client's with us (the server's half).
    struct session_keys {
        crypto::suite suite;
        protocol::keyexchange_type keyex = protocol::keyexchange_type::none;
        bool client_auth = false;  // clients prove their key (CLIENT_KEY), and so do we
        bool keyex_signed = false; // `-w keyex`: every sealed datagram signed by its sender
        std::optional<crypto::public_key> server_key; // what the server's seals verify against
        client_handshake upstream;
        protocol::bytes client_key_sig; // our CLIENT_KEY's signature of our verify data 1
        // CLIENT_KEYs that came before their REGISTER (a reordering: few).
        std::unordered_map<std::uint32_t, protocol::client_key_msg> early_client_keys;
        time_ns next_unproved_sweep = no_deadline;
        std::optional<crypto::packet_cipher> cipher; // the group keys, once KEYINFO is open
        crypto::secure_bytes group_master;
        std::array<std::uint8_t, crypto::verify_data_len> ack_verify{}; // our KEYINFO_ACK's
        std::uint64_t iv = 0; // our IV counter: KEYINFO entries and everything we seal
        client_key_store store;
        std::unordered_map<std::uint32_t, keyed_client> clients;
        std::uint32_t next_slot = 0;
        std::vector<std::uint32_t> free_slots; // released by clients gone, zeroed
        time_ns last_announce = 0;             // the group is left once announcing stops
        endpoint private_group;
        bool joined = false; // the private group, until the server's data starts
        std::array<std::uint8_t, 4> private_addr{};
        std::uint8_t server_grtt = 0;  // the server's header fields, which our
        std::uint8_t server_gsize = 0; // KEYINFO in its name carries
        std::size_t entries_per_keyinfo = 1;
        time_ns next_keyinfo = no_deadline;
    };
    struct session {
        std::uint32_t server_id = 0;
        endpoint server;
        double grtt = 0.5;
        time_ns last_heard = 0;
        std::unordered_set<std::uint32_t> clients;
        pending_list registers;
        std::map<std::uint16_t, pending_list> fileinfo_acks;                      // by file ID
        std::map<std::pair<std::uint16_t, std::uint8_t>, pending_list> completes; // file, status
        // file, section, FEC deficit flag (docs/protocol.md §17: not mixed
        // with plain NAKs)
        std::map<std::tuple<std::uint16_t, std::uint16_t, bool>, pending_status> statuses;
        std::unique_ptr<session_keys> keys; // encrypted sessions only
        time_ns hold() const { return seconds_to_ns(grtt); }
    };
    // Sessions by (group ID, instance): clients' headers name no server.
    using session_key = std::pair<std::uint32_t, std::uint8_t>;

    // False when the ANNOUNCE is not taken (counted): another server's for a
    // session we follow, one whose keys are not the session's, one we
    // cannot serve.
    bool on_announce(time_ns now, const protocol::uftp_header& h, endpoint from,
                     const protocol::announce_msg& m, std::span<const std::uint8_t> datagram);
    // A repeated ANNOUNCE of an encrypted session: the same server key and
    // rand1, and in the ECDH modes the same ECDH key and a signature that
    // verifies with the server key we keyed with. Always true unencrypted
    // (and for a session we keep no keys of, if it stays unencrypted).
    bool same_keys(const session& s, const protocol::announce_msg& m,
                   std::span<const std::uint8_t> datagram) const;
    // Takes a client's answer (opened, when sealed) into its aggregate.
    void take_answer(time_ns now, const session_key& key, session& s, std::uint32_t uid,
                     const protocol::message& body);
    void send(const session_key& key, session& s, const protocol::message& body);

    // Key exchange (response_proxy_keys.cc).
    // Our PROXY_KEY datagram, signed; empty without keys.
    std::vector<std::uint8_t> build_proxy_key() const;
    void answer_key_request(time_ns now, endpoint from);
    // An encrypted session's keys, with our key exchange with the server
    // begun and its private group joined; null (counted) when we cannot
    // serve it.
    std::unique_ptr<session_keys> begin_keys(time_ns now, const protocol::uftp_header& h,
                                             const protocol::announce_msg& m,
                                             std::span<const std::uint8_t> datagram);
    void end_keys(session& s);
    // A client's REGISTER in an encrypted session: false (counted) to drop it.
    bool register_keys(time_ns now, const session_key& key, session& s, std::uint32_t uid,
                       const protocol::register_msg& m);
    // Client authentication: clients that never proved their key, given up.
    void sweep_unproved(time_ns now, session& s);
    // A client's expected KEYINFO_ACK, once the group master is known.
    void expect_ack(session_keys& k, keyed_client& c);
    void on_server_datagram(time_ns now, const session_key& key, session& s,
                            const protocol::datagram& d, std::span<const std::uint8_t> raw);
    void on_server_keyinfo(time_ns now, const session_key& key, session& s,
                           const protocol::keyinfo_msg& m);
    // Clients the server named as taken: a KEYINFO to the newly confirmed,
    // whose number is returned.
    std::size_t confirm_clients(time_ns now, const session_key& key, session& s,
                                std::span<const std::uint32_t> uids);
    // The same for the clients the server's sealed FILEINFO or DONE lists.
    void confirm_listed_clients(time_ns now, const session_key& key, session& s,
                                const protocol::message& sealed_body);
    void on_keyinfo_ack(session& s, std::uint32_t uid, const protocol::keyinfo_ack_msg& m);
    void send_keyinfo(time_ns now, const session_key& key, session& s,
                      const std::vector<std::uint32_t>& uids);
    void keyinfo_round(time_ns now, const session_key& key, session& s);
    // A client gone (ABORT, given up): its slot zeroed and free again.
    void release_client(session_keys& k, std::uint32_t uid);
    // The key exchange's timers: KEYINFO rounds, and leaving the private
    // group once the server stopped announcing.
    void keys_timer(time_ns now, const session_key& key, session& s);
    time_ns keys_deadline(const session& s) const;
    time_ns group_hold(const session& s) const;
    // A client registered with us still waits for the server's confirmation
    // (a REG_CONF, or a sealed listing naming it).
    static bool client_waits(const session_keys& k);
    // An ENCRYPTED datagram from client `uid`: its opened body, or nullopt.
    std::optional<protocol::message> open_answer(session& s, std::uint32_t uid,
                                                 std::span<const std::uint8_t> datagram);
    // Client authentication: a CLIENT_KEY (before or after its REGISTER);
    // once it verifies, the client's REGISTER is taken.
    void on_client_key(time_ns now, const session_key& key, session& s, std::uint32_t uid,
                       const protocol::client_key_msg& m);
    bool check_client_key(session_keys& k, keyed_client& c, const protocol::client_key_msg& m);
    template <class Msg>
    void send_listing(const session_key& key, session& s, Msg body, const pending_list& list);
    void flush(time_ns now, const session_key& key, session& s, bool all);
    std::optional<protocol::timestamp> echo_for(time_ns now, const pending_list& list) const;

    response_proxy_config _config;
    network_port& _network;
    membership_port& _groups;
    // PROXY_KEY, signed once (its nonce is ours: a replay proves no more
    // than the original), and when each source last had it.
    std::vector<std::uint8_t> _proxy_key;
    std::unordered_map<std::uint32_t, time_ns> _key_requests;
    time_ns _proxy_key_second = 0; // the second of the last PROXY_KEY, and how many in it
    std::uint32_t _proxy_keys_in_second = 0;
    std::vector<std::uint8_t> _plain = std::vector<std::uint8_t>(protocol::max_datagram_size);
    std::vector<std::uint8_t> _scratch = std::vector<std::uint8_t>(protocol::max_datagram_size);
    response_proxy_stats _stats;
    std::map<session_key, session> _sessions;
    std::uint16_t _seq = 0;
    std::array<std::uint8_t, protocol::max_datagram_size> _buffer{};
};

} // namespace skycast::control::engine
