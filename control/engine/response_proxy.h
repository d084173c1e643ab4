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
// server's address, port and GRTT). Unencrypted sessions only: an encrypted
// one needs the proxy to take part in the key exchange (KEY_REQ, PROXY_KEY,
// its own REGISTER keys and KEYINFO to its clients), which is not built; its
// ANNOUNCE is counted and the session not served.
//
// Driven like the other engines: on_datagram(), on_timer() and
// next_deadline(), each with `now`; it sends through a network_port.

#include "control/engine/ports.h"
#include "protocol/messages.h"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <tuple>
#include <unordered_set>
#include <vector>

namespace skycast::control::engine {

struct response_proxy_config {
    std::uint32_t proxy_id = 0;
    // Identical copies of each aggregate sent (control.control_copies).
    std::uint32_t control_copies = 1;
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
};

// Every counter says what a non-zero value means.
struct response_proxy_stats {
    std::uint64_t datagrams_in = 0;
    std::uint64_t malformed_in = 0;         // failed to decode: a broken or hostile peer
    std::uint64_t announces = 0;            // ANNOUNCEs heard (sessions learned or refreshed)
    std::uint64_t sessions_started = 0;     // sessions learned from an ANNOUNCE
    std::uint64_t sessions_evicted = 0;     // forgotten for a newer one (max_sessions)
    std::uint64_t sessions_expired = 0;     // forgotten after session_idle of silence
    std::uint64_t encrypted_not_served = 0; // ANNOUNCEs of encrypted sessions: not served
    std::uint64_t unknown_session = 0;      // an answer for a session whose ANNOUNCE we never heard
    std::uint64_t clients_full = 0;         // a REGISTER beyond max_clients: dropped
    std::uint64_t unexpected_in = 0;        // a message a response proxy never takes
    std::uint64_t answers_in = 0;           // client answers taken into an aggregate
    std::uint64_t aggregates_sent = 0;      // REGISTER/FILEINFO_ACK/STATUS/COMPLETE sent upstream
    std::uint64_t aborts_forwarded = 0;     // client ABORTs passed on to the server
    std::uint64_t key_requests_unanswered = 0; // KEY_REQ: this proxy has no keys to give
};

class response_proxy {
public:
    response_proxy(response_proxy_config config, network_port& network);

    void on_datagram(time_ns now, endpoint from, std::span<const std::uint8_t> datagram);
    void on_timer(time_ns now);
    time_ns next_deadline() const;

    const response_proxy_stats& stats() const { return _stats; }
    std::size_t sessions() const { return _sessions.size(); }
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
        time_ns hold() const { return seconds_to_ns(grtt); }
    };
    // Sessions by (group ID, instance): clients' headers name no server.
    using session_key = std::pair<std::uint32_t, std::uint8_t>;

    void on_announce(time_ns now, const protocol::uftp_header& h, endpoint from,
                     const protocol::announce_msg& m);
    void send(const session_key& key, const session& s, const protocol::message& body);
    template <class Msg>
    void send_listing(const session_key& key, const session& s, Msg body, const pending_list& list);
    void flush(time_ns now, const session_key& key, session& s, bool all);
    std::optional<protocol::timestamp> echo_for(time_ns now, const pending_list& list) const;

    response_proxy_config _config;
    network_port& _network;
    response_proxy_stats _stats;
    std::map<session_key, session> _sessions;
    std::uint16_t _seq = 0;
    std::array<std::uint8_t, protocol::max_datagram_size> _buffer{};
};

} // namespace skycast::control::engine
