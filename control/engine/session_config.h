#pragma once
// Session parameters of the two engines, plain and immutable once an engine
// is built. Defaults are the stock uftp 4.10.x ones (spec §4.1, §10) unless a
// comment says why not.

#include "control/engine/ports.h"
#include "crypto/curves.h"
#include "crypto/keys.h"
#include "protocol/constants.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace skycast::control::engine {

// What an encrypted session uses (spec §5.1). The server alone chooses; the
// ANNOUNCE's EXT_ENC_INFO carries the choice.
struct sender_encryption {
    // none: an unencrypted session (everything below is ignored).
    protocol::keyexchange_type keyex = protocol::keyexchange_type::none;
    protocol::key_type cipher = protocol::key_type::aes256_gcm;
    protocol::hash_type hash = protocol::hash_type::sha256;
    // none: the suite's default (AUTHENC for GCM/CCM, HMAC for CBC); keyex
    // signs every encrypted datagram and forces client authentication.
    protocol::signature_type sigtype = protocol::signature_type::none;
    bool client_auth = false; // clients must send CLIENT_KEY
    // The server's long-term key: RSA for rsa/ecdh_rsa, EC for ecdh_ecdsa.
    std::shared_ptr<const crypto::private_key> key;
    // The curve of the per-session ECDH key (ECDH modes); null: prime256v1.
    const crypto::curve_info* ecdh_curve = nullptr;
    bool enabled() const { return keyex != protocol::keyexchange_type::none; }
};

// A host allowed in, with the SHA-1 fingerprint of its key blob (spec §5.4,
// §5.9): the sender checks clients' CLIENT_KEYs against it (closed groups,
// client authentication), a receiver the server's ANNOUNCE key.
struct host_key {
    std::uint32_t uid = 0;
    crypto::fingerprint fp{};
    // False: the host is listed by UID only and any key is accepted from it
    // (stock uftpd -S without a fingerprint).
    bool pinned = true;
};

struct receiver_encryption {
    // Keys this client can authenticate with (CLIENT_KEY, KEYEX): the one
    // whose type matches the server's key is used (RSA for rsa/ecdh_rsa, EC
    // for ecdh_ecdsa).
    std::vector<std::shared_ptr<const crypto::private_key>> keys;
    // Refuse unencrypted sessions (uftpd -E).
    bool require = false;
    // Non-empty: only these servers, with these key fingerprints (uftpd -S).
    std::vector<host_key> servers;
};

// FEC repair (docs/protocol.md §17): Reed–Solomon parity over groups of
// `group_blocks` data blocks, which Skycast receivers use and stock
// receivers never see (PARITY goes to its own port).
struct sender_fec {
    // k: 0 = off (NAK repair only, as stock); else 2..254.
    std::uint32_t group_blocks = 0;
    // Parity blocks sent with each group in the first pass, as a fraction of
    // its k (0.05 with k = 64: 4 per group).
    double proactive = 0;
    // The share of blocks each receiver is expected to lose (0..0.5; 0:
    // not used): the first pass also carries at least the parity with
    // which a repair pass is unlikely among this many receivers and groups
    // (fec_proactive.h).
    double expected_loss = 0;
    // From the second file on, send at least the fraction of parity the
    // previous file's first pass turned out to need (its worst group).
    bool adaptive = true;
    // UDP port of the private group that PARITY goes to; 0: the private
    // group's port + 1.
    std::uint16_t parity_port = 0;
    // Data bytes per interleaving span (protocol/fec_groups.h): the groups
    // of a span take its blocks in turn, so a burst of loss is spread over
    // all of them. 0: groups of consecutive blocks.
    std::uint64_t interleave_bytes = 0;
    // Repair passes send each group this fraction more parity than its
    // worst receiver misses (rounded up: at least one more): the receivers
    // that set the count have no slack, and a burst during the repair pass
    // would cost them another pass.
    double repair_margin = 0.1;
    bool enabled() const { return group_blocks != 0; }
    // Groups per span for `block_size`-byte blocks (1..65535, the wire field).
    std::uint32_t span_groups(std::uint32_t block_size) const {
        const std::uint64_t group_bytes = std::uint64_t{group_blocks} * block_size;
        if (group_bytes == 0) {
            return 1;
        }
        return static_cast<std::uint32_t>(
            std::clamp<std::uint64_t>(interleave_bytes / group_bytes, 1, 65535));
    }
};

struct sender_config {
    std::uint32_t sender_id = 0;
    // Identical copies of each control datagram sent (control.control_copies),
    // this far apart (control.copy_spacing; at most GRTT/4: copy_spacing()).
    std::uint32_t control_copies = 1;
    time_ns copy_spacing = default_copy_spacing;
    std::uint32_t group_id = 0;
    std::uint8_t group_inst = 0;
    endpoint public_group{.address = 0xE6040401}; // 230.4.4.1
    endpoint private_group{.address = 0xE6050501};
    // The sender's own IPv4 address (its dataplane port's), offered in the
    // ANNOUNCE so that receivers it reaches directly send NAK lists
    // (docs/protocol.md §19); 0: not offered, every STATUS is a bitmap.
    std::uint32_t own_address = 0;
    std::uint16_t block_size = protocol::default_block_size;
    // The node's data rate in wire bits per second (control.rate; 0 =
    // unpaced): where passes start and the ceiling overload_rate.h climbs
    // back to after a receiver's overload.
    std::uint64_t rate_bps = 0;
    std::uint8_t robust = 20;
    // A client that missed ROBUST rounds is dropped as lost only once it has
    // been silent this long too (ns): at a LAN's GRTT, 20 DONE rounds last
    // under half a second, less than a receiver can stall while it flushes a
    // large file to a busy disk (close_file's fdatasync).
    time_ns lost_after_min = 5 * ns_per_second;
    double grtt_init = 0.5;
    double grtt_min = 0.01;
    double grtt_max = 15.0;
    // Closed-group announce, FILEINFO and completion rounds are resent to
    // whoever has not answered after this many GRTTs (stock: 3; an open
    // group's announce rounds keep 3, they are its joining window). Those answers come straight
    // back, within one RTT <= GRTT, so 1.5 keeps half a GRTT of margin and
    // saves 1.5 GRTT per lost answer, which at GEO and a thousand receivers
    // is every round; an answer later than that only costs a duplicate
    // (answered idempotently). DONE rounds keep 3: a receiver answers DONE
    // after its NAK timer.
    double resend_round_grtts = 1.5;
    // Early data (docs/protocol.md §20): a file's first pass starts this long
    // after its first FILEINFO went out if not every client has answered it
    // by then, instead of a round trip later when the FILEINFO_ACKs are in
    // (a GRTT per file at GEO: half a second). FILEINFO rounds to clients
    // that have not answered go on during the pass and its DONE rounds. The
    // wait gives receivers time to open the file, so that the pass's first
    // blocks do not arrive before it is. no_deadline: wait for every answer,
    // as stock does.
    time_ns early_data_after = ns_per_second / 50; // 20 ms
    // Fast start (docs/protocol.md §21): a closed group's first FILEINFO
    // goes out early_data_after the ANNOUNCE, listing every host, instead of
    // after their REGISTERs (a round trip: half a second at GEO). A listed
    // host takes it as its registration's confirmation (spec §8), as stock
    // uftpd does when a REG_CONF is lost. Unencrypted sessions without
    // proxies only: KEYINFO needs the REGISTER's key exchange, and a proxy's
    // REGISTER names its clients.
    bool fast_start = false;
    // Open group: announce rounds to run. Stock runs all ROBUST of them (spec
    // §12 #16); clients rely on nothing here, so the simulator may shorten it.
    std::uint32_t announce_rounds = 20;
    // Closed group: only these UIDs may register (empty = open group).
    std::vector<std::uint32_t> host_list;
    std::uint32_t max_passes = 65535;
    // A client whose NAKs for one section exceed max_nak_pct percent of it
    // more than max_nak_count times is aborted ("Excessive NAKs received").
    std::uint32_t max_nak_pct = 100;
    std::uint32_t max_nak_count = 1;
    sender_encryption encryption;
    sender_fec fec;
    // Client authentication: the fingerprints clients' keys must have. A
    // client without an entry here is accepted on its signature alone when
    // the list is empty, refused when it is not.
    std::vector<host_key> client_keys;
    // Proxies that may register clients for others (a REGISTER with a client
    // list, spec §7), as stock's `uftp -j`: a client list from any other UID
    // is refused and counted, never trusted. A proxy with a fingerprint must
    // present that key when clients authenticate (CLIENT_KEY).
    std::vector<host_key> proxies;
};

// Free bytes available under a directory; injectable so tests can model a
// full disk without filling one.
using free_space_fn = std::function<std::uint64_t(const std::string& dir)>;

class proxy_key_client; // proxy_key_client.h

struct receiver_config {
    std::uint32_t client_id = 0;
    // Identical copies of each control datagram sent (control.control_copies),
    // this far apart (control.copy_spacing; at most GRTT/4: copy_spacing()).
    std::uint32_t control_copies = 1;
    time_ns copy_spacing = default_copy_spacing;
    endpoint public_group{.address = 0xE6040401};
    std::string destination; // received files land under this directory
    // Where files are written until complete (same file system as
    // destination: completion is a rename). Empty: beside the final name.
    std::string temp_dir;
    // Bounds on what a sender's ANNOUNCE and headers may ask of us: the GRTT
    // and robustness factor scale every timer of the session, and a spoofed
    // ANNOUNCE with the largest of both would hold a session slot for days.
    double max_grtt = 15.0;
    std::uint8_t max_robust = 50;
    // A session whose handshake (REG_CONF, or KEYINFO when encrypted) is not
    // done within this time is dropped, whatever its GRTT and robustness.
    time_ns register_timeout = 60 * ns_per_second;
    free_space_fn free_space; // empty: statvfs of the destination
    receiver_encryption encryption;
    // Every response goes to this response proxy instead of the server
    // (stock uftpd -R, spec §7), which answers the server for many
    // receivers.
    std::optional<endpoint> response_proxy;
    // With a response proxy, encrypted sessions do their key exchange with
    // the proxy's keys, which this asks for (KEY_REQ / PROXY_KEY). Owned by
    // the node, which outlives its sessions; null: encrypted sessions through
    // the proxy are refused.
    const proxy_key_client* proxy_keys = nullptr;
};

} // namespace skycast::control::engine
