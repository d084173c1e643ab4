#pragma once
// The configuration of one Skycast node, as plain typed values: what
// config::load_node_config() returns after one validating pass over the YAML
// file (config/loader.h). Every value here has already been checked (types,
// ranges, cross-field rules), so the processes read it without re-checking.
// Treat a node_config as immutable: build it once, hold it as const.
//
// The YAML schema, with types, defaults and ranges, is the table in
// config/README.md; the comments below say what each value is for and why its
// default is what it is. Addresses are IPv4 in host byte order, like
// control/engine's endpoint and dataplane/app's options.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace skycast::config {

using ipv4_address = std::uint32_t; // host byte order

// An interface address with its subnet ("10.77.0.1/24").
struct ipv4_interface {
    ipv4_address address = 0;
    std::uint8_t prefix_length = 0; // 1..32
    ipv4_address netmask() const {
        return prefix_length == 0 ? 0 : ~ipv4_address{0} << (32 - prefix_length);
    }
    ipv4_address network() const { return address & netmask(); }
    bool contains(ipv4_address a) const { return (a & netmask()) == network(); }
    bool operator==(const ipv4_interface&) const = default;
};

using mac_address = std::array<std::uint8_t, 6>;

// SHA-1 of a public key blob, as `skycast keys fingerprint` and uftp_keymgt
// print it (20 colon-separated hex bytes).
using key_fingerprint = std::array<std::uint8_t, 20>;

// ---------------------------------------------------------------------------
// dataplane: the DPDK primary process
// ---------------------------------------------------------------------------

struct eal_config {
    // DPDK lcore list exactly as written, passed to the EAL as --lcores. Both
    // the -l form ("0-3,5") and the --lcores form with CPU sets ("0@(0-1)")
    // are accepted, so a two-core machine can float lcores over both CPUs.
    std::string lcores;
    // The lcore ids that `lcores` names, ascending: what main_lcore, the role
    // placement and the control process's disjointness check are held to.
    std::vector<unsigned> lcore_ids;
    // --main-lcore. Defaults to the lowest id in lcores, which is what the EAL
    // itself picks, so leaving it out changes nothing.
    unsigned main_lcore = 0;
    // --file-prefix: names the hugepage files and the runtime directory. The
    // control process (a DPDK secondary) must use the same one to attach, and
    // two dataplanes on one host (the lab) must not share one.
    std::string file_prefix;
    // false means --no-huge: the memory is ordinary pages, which DPDK cannot
    // share with a secondary, so the control process cannot attach. For
    // single-process tests only; a node needs hugepages, hence the default.
    bool hugepages = true;
    // -m: MiB the EAL reserves. 256 fits the lab's receiver (mempools, rings,
    // bitmaps for 16 files of up to 2^20 blocks) with room to spare, so a hub
    // and three receivers share one small machine's hugepages.
    std::uint32_t memory_mb = 256;
    // Appended verbatim to the EAL arguments (e.g. "--log-level=pmd.net.af_packet:debug"):
    // an escape hatch for settings this schema does not model. Empty by default.
    std::vector<std::string> extra_args;
};

// Which lcore runs which loop. Both default to the main lcore: on a two-core
// machine every role shares one lcore; an appliance gives each its own.
struct roles_config {
    unsigned rx = 0; // polls the port: classify, decrypt, hand blocks to storage
    unsigned tx = 0; // builds, seals and paces FILESEGs; frames control messages
};

enum class device_kind : std::uint8_t { pci, vdev };
enum class checksum_offload : std::uint8_t { automatic, on, off };

struct port_config {
    // A PCI address ("0000:03:00.0", bound to vfio-pci) or a virtual device
    // string ("net_af_packet0,iface=hub0,..."), passed to the EAL as -a / --vdev.
    std::string device;
    // Which of the two `device` is, so the dataplane picks -a or --vdev.
    device_kind kind = device_kind::pci;
    // IP MTU. 1500 is what every Ethernet path carries; jumbo (9000) is what
    // lets 8800-byte blocks through unfragmented and what the lab uses.
    std::uint16_t mtu = 1500;
    // Our address and subnet; the subnet decides which unicast peers are ARPed
    // directly and which go through the gateway.
    ipv4_interface address;
    // Next hop for unicast peers outside the subnet; none means such peers are
    // unreachable (multicast needs no gateway).
    std::optional<ipv4_address> gateway;
    // Override of the port's own MAC (virtual devices often make one up); must
    // be unicast. None keeps the port's.
    std::optional<mac_address> mac;
    // Descriptor ring sizes. 1024 absorbs a burst of ~1 ms at 1 Mpps without
    // the memory of a deeper ring; drivers round to their own limits.
    std::uint16_t rx_descriptors = 1024;
    std::uint16_t tx_descriptors = 1024;
    // IPv4/UDP checksums in hardware: auto uses the offload when the port
    // offers it (af_packet does not), on requires it, off computes in software.
    checksum_offload checksum = checksum_offload::automatic;
};

struct mempool_config {
    // Packet buffers (RX and TX share the pool). 2^n − 1 is the size DPDK's
    // ring-backed pools use best; 8191 covers both descriptor rings, the
    // per-lcore caches and the blocks waiting in the storage ring.
    std::uint32_t mbufs = 8191;
    // Per-lcore cache of the pool: saves the shared ring on every alloc/free.
    // 256 is DPDK's usual choice; DPDK refuses a cache above mbufs / 1.5.
    std::uint32_t cache = 256;
};

// Ring sizes (entries, powers of two as rte_ring requires without
// RING_F_EXACT_SZ). One ring per producer, consumer and direction.
struct rings_config {
    // Commands and control datagrams: control sends little, 1024 is ample.
    std::uint32_t control_to_dataplane = 1024;
    // Datagrams and events for the control process; bursts of STATUS/NAKs
    // from many receivers arrive together, hence 4096.
    std::uint32_t dataplane_to_control = 4096;
    // Received blocks waiting for a storage thread: 4096 jumbo blocks are
    // ~36 MB, enough to ride out a slow write at 10 Gbit/s for ~30 ms.
    std::uint32_t storage = 4096;
};

struct limits_config {
    // Files open at once (file-table slots in the shared memzone). 16 covers
    // a session's pipelining; each slot costs one bitmap.
    std::uint32_t max_files = 16;
    // Blocks per file slot, i.e. bitmap bits: 2^20 blocks of 8800 bytes is a
    // 9.2 GB file, and the bitmap costs 128 KiB per slot.
    std::uint32_t max_blocks_per_file = 1u << 20;
};

enum class crypto_backend : std::uint8_t { openssl, cryptodev };

struct crypto_config {
    // Who seals and opens ENCRYPTED packets on the lcores. cryptodev by
    // default: DPDK's ipsec_mb software PMD costs ~100 ns per packet against
    // OpenSSL's ~320 (1.15x faster at 8800-byte GCM blocks, 3x for CCM;
    // dataplane/seal/README.md), and a hardware PMD (QAT, mlx5) is configured
    // the same way. The dataplane falls back to OpenSSL, and says so at start,
    // where the device is missing and for CBC suites (no cryptodev path).
    crypto_backend backend = crypto_backend::cryptodev;
    // The cryptodev: a vdev or a PCI address. crypto_aesni_mb0 serves GCM and
    // CCM (crypto_aesni_gcm0 is 1-4 % faster, GCM only). Empty with openssl.
    std::string cryptodev_device = "crypto_aesni_mb0";
};

struct stats_config {
    // Register the counters with DPDK telemetry (dpdk-telemetry.py). Cheap:
    // readers sum the per-lcore counters, the lcores do nothing extra.
    bool telemetry = true;
};

struct dataplane_config {
    eal_config eal;
    roles_config roles;
    // Threads that write received blocks to disk (pwritev/io_uring). One keeps
    // up with a 10 GbE port on an SSD; more help on slower, parallel storage.
    std::uint32_t storage_threads = 1;
    // Exactly one port for now; a list so that a second port needs no schema
    // change.
    std::vector<port_config> ports;
    mempool_config mempool;
    rings_config rings;
    limits_config limits;
    // Microseconds an lcore (and the storage threads) pause after a run of
    // empty polls; each further empty poll doubles the pause up to
    // idle_backoff_max_us (dataplane/core/idle_backoff.h). 0 busy-polls:
    // lowest latency, one CPU at 100 %. The shared lab machines use 20.
    std::uint32_t idle_backoff_us = 0;
    std::uint32_t idle_backoff_max_us = 1000;
    // Receiving: whether a file is flushed to disk (fdatasync, with writeback
    // started as it arrives) before the receiver reports it complete and
    // renames it into place. true: COMPLETE means on disk, and the receive
    // rate is bounded by the disk's write rate. false: COMPLETE once the data
    // is in the page cache, as stock uftpd does; a crash soon after can leave
    // a complete-looking file with missing data (docs/operations.md).
    bool flush_before_complete = true;
    crypto_config crypto;
    stats_config stats;
};

// ---------------------------------------------------------------------------
// control: the DPDK secondary process that runs the protocol
// ---------------------------------------------------------------------------

// response_proxy: answers of many receivers aggregated for their server
// (stock uftpproxyd -r, docs/protocol.md §7); unencrypted sessions only.
// server_proxy: a server's sessions carried unicast to another site (stock
// uftpproxyd -s); client_proxy: the other end, multicasting them again at
// that site and answering for its receivers (stock uftpproxyd -c),
// unencrypted sessions only.
enum class node_role : std::uint8_t {
    sender,
    receiver,
    response_proxy,
    server_proxy,
    client_proxy
};
// "sender", "receiver", "response_proxy", "server_proxy", "client_proxy": as
// in the YAML and the stats.
inline const char* role_name(node_role r) {
    switch (r) {
    case node_role::sender:
        return "sender";
    case node_role::receiver:
        return "receiver";
    case node_role::response_proxy:
        return "response_proxy";
    case node_role::server_proxy:
        return "server_proxy";
    case node_role::client_proxy:
        return "client_proxy";
    }
    return "unknown";
}

// The enumerators carry the UFTP 4 wire values (protocol/constants.h:
// keyexchange_type, key_type, hash_type, signature_type) so that control/
// converts them with a cast; tests/unit/config checks they stay equal.
// config/ itself depends on nothing but yaml-cpp.
enum class keyex_kind : std::uint8_t { none = 0, rsa = 1, ecdh_rsa = 2, ecdh_ecdsa = 3 };
enum class cipher_kind : std::uint8_t {
    none = 0,
    des_ede3_cbc = 2, // "3des"; single DES (1) is refused, see the loader
    aes128_cbc = 3,
    aes256_cbc = 4,
    aes128_gcm = 5,
    aes256_gcm = 6,
    aes128_ccm = 7,
    aes256_ccm = 8,
};
enum class hash_kind : std::uint8_t { sha1 = 2, sha256 = 3, sha384 = 4, sha512 = 5 };
enum class signature_kind : std::uint8_t { none = 0, hmac = 1, keyex = 2, authenc = 3 };

inline bool is_aead(cipher_kind c) {
    return c == cipher_kind::aes128_gcm || c == cipher_kind::aes256_gcm ||
           c == cipher_kind::aes128_ccm || c == cipher_kind::aes256_ccm;
}

enum class log_level : std::uint8_t { error, warn, info, debug };

struct control_eal_config {
    // The control process's own lcore list ("8@(0-1)": lcore id 8, floating
    // over CPUs 0-1). Its ids must not collide with the dataplane's.
    std::string lcores;
    std::vector<unsigned> lcore_ids;
    // Always the dataplane's file_prefix: a secondary attaches by it.
    std::string file_prefix;
};

// A peer allowed into a session: a client of a closed-group sender, or a
// server a receiver accepts sessions from. With a fingerprint, the peer's key
// must match it.
struct peer_config {
    std::uint32_t uid = 0;
    std::optional<key_fingerprint> fingerprint;
};

struct grtt_config {
    // Group round-trip time bounds in seconds (stock uftp -r init:min:max).
    // Stock defaults: 0.5 s before any measurement, clamped to [0.01, 15] s;
    // a satellite hop (~0.6 s) stays well inside.
    double initial = 0.5;
    double min = 0.01;
    double max = 15.0;
};

struct sender_encryption_config {
    // How the group key reaches the clients. none = unencrypted session.
    keyex_kind keyex = keyex_kind::none;
    // Set whenever keyex is; none otherwise.
    cipher_kind cipher = cipher_kind::none;
    // PRF/HMAC hash. sha256 rather than stock's sha1 default: every stock
    // client supports it, and SHA-1 is deprecated for new keys.
    hash_kind hash = hash_kind::sha256;
    // How each encrypted packet is authenticated: authenc for GCM/CCM (their
    // tag); for CBC ciphers hmac (stock's default, cheap) or keyex (a
    // signature with the server key per packet: slow, but only the sender can
    // make it). none for unencrypted sessions.
    signature_kind signature = signature_kind::none;
    // PEM private key of the sender (absolute path), RSA for rsa/ecdh_rsa, EC
    // for ecdh_ecdsa. Required with a keyex: a key generated per run (stock's
    // fallback) could never be pinned by a client's fingerprint.
    std::string private_key;
    // Clients must prove their key (CLIENT_KEY) and match their fingerprint.
    bool client_auth = false;
    // Curve of the per-session ECDH key (stock -e MODE:CURVE), as its OpenSSL
    // short name; empty unless keyex is ecdh_rsa or ecdh_ecdsa. prime256v1 is
    // stock's default and every client has it.
    std::string ecdh_curve = "prime256v1";

    bool enabled() const { return keyex != keyex_kind::none; }
};

// FEC repair (control.fec, docs/protocol.md §17): Reed–Solomon parity for
// Skycast receivers, NAK repair as ever for stock ones.
struct fec_config {
    std::uint32_t group_blocks = 0; // k; 0: off
    double proactive = 0;           // parity with the first pass, fraction of k
    double expected_loss = 0;       // first-pass parity sized from it too (0: not used)
    bool adaptive = true;
    std::uint16_t parity_port = 0; // 0: control.port + 1
    // Data per interleaving span (protocol/fec_groups.h), MiB; 0: groups of
    // consecutive blocks.
    std::uint32_t interleave_mib = 64;
    // Repair parity beyond the worst receiver's deficit, fraction of it
    // (rounded up: at least one more per group repaired).
    double repair_margin = 0.1;
};

struct sender_config {
    // Data rate in bits per second of wire time (Ethernet framing included),
    // what the dataplane pacer holds. No default: it must match the link.
    std::uint64_t rate_bps = 0;
    // Bytes of file data per FILESEG. 1300 is stock's default and fits a
    // 1500-byte MTU; 8800 is the jumbo-frame maximum. (The stock uftp 4.10.2
    // server aborts with encryption and 8800-byte blocks; that is its bug,
    // so the loader allows the combination.)
    std::uint16_t block_size = 1300;
    grtt_config grtt;
    // Early data (docs/protocol.md §20): a file's first pass starts this
    // many seconds after its FILEINFO if the answers are not all in by then,
    // instead of waiting a round trip for them; nullopt ("off"): wait for
    // every answer, as stock does. 0..1 s.
    std::optional<double> early_data = 0.02;
    // Fast start (docs/protocol.md §21): a closed group's FILEINFO goes out
    // with the ANNOUNCE instead of after the REGISTERs. Unencrypted
    // sessions without proxies; ignored otherwise.
    bool fast_start = false;
    // Rounds (announce, FILEINFO, DONE) before a silent client is given up:
    // stock's 20, sent to clients in ANNOUNCE.
    std::uint8_t robustness = 20;
    // Announce rounds for an open group; defaults to robustness as stock does
    // (stock clients expect the full announce phase).
    std::uint32_t announce_rounds = 20;
    // Repair passes before a file is given up on; 65535 = stock's "until
    // done or the clients are lost".
    std::uint32_t max_passes = 65535;
    // A client whose NAKs for one section exceed max_nak_pct percent of it
    // more than max_nak_count times is aborted; 100/1 = never (stock).
    std::uint32_t max_nak_pct = 100;
    std::uint32_t max_nak_count = 1;
    // Closed group when non-empty: only these clients may register.
    std::vector<peer_config> clients;
    // Proxies that may register clients and answer for them (stock uftp
    // -j): a client list from any other node is refused. A fingerprint is
    // checked when clients authenticate (encryption.client_auth).
    std::vector<peer_config> proxies;
    // The second multicast group, for the session's data (stock 230.5.5.1).
    ipv4_address private_group = 0xE6050501;
    sender_encryption_config encryption;
    fec_config fec;
};

// Commands a receiver runs after it received something (no shell: the
// path of an executable, which may be a script). `file` runs once per
// completed file, `session` once per ended session; each gets what it needs
// in its environment (SKYCAST_PATH, SKYCAST_SIZE, SKYCAST_SHA256, ...: see
// config/README.md). They run one at a time on a thread of their own, never
// in the way of reception; one that runs past `timeout` is killed.
struct hooks_config {
    std::string file_command;    // absolute path; empty: none
    std::string session_command; // absolute path; empty: none
    double timeout = 60.0;       // seconds
    // Hooks waiting to run, at most; more are dropped (counted, logged).
    std::uint32_t max_queued = 10000;
    bool enabled() const { return !file_command.empty() || !session_command.empty(); }
};

struct receiver_config {
    // Where completed files land (absolute).
    std::string destination;
    // Where files are written while incomplete (absolute, outside
    // destination, on its file system: completion is a rename), as stock
    // uftpd -T. Empty = beside the final name, under a ".~skycast-" temp
    // name that no reader mistakes for a received file (control/engine).
    std::string temp_dir;
    // Accept sessions only from these servers (stock uftpd -S); empty = any.
    std::vector<peer_config> servers;
    // PEM private keys (absolute paths) offered to encrypted sessions. A stock
    // server needs the receiver to hold a key of its key's type and size
    // even without client authentication; empty = accept unencrypted only.
    std::vector<std::string> private_keys;
    // Refuse unencrypted sessions (stock uftpd -E).
    bool require_encryption = false;
    // Sessions this receiver runs at once; an ANNOUNCE beyond them is
    // ignored. 16 by default (or dataplane.limits.max_files when smaller:
    // every session may hold one file open, so it is never more than that),
    // 1..64: stock uftpd runs up to 100, but the dataplane has 64 session key
    // slots.
    std::uint32_t max_sessions = 16;
    // The largest GRTT (seconds) a sender's ANNOUNCE or headers may ask of
    // us; a larger one is clamped to it. The GRTT scales every timer of a
    // session, so a spoofed ANNOUNCE must not stretch them without bound.
    // 15 s is stock's maximum GRTT; 0.01..60.
    double max_grtt = 15.0;
    // The largest robustness factor taken from an ANNOUNCE; a larger one is
    // clamped to it. 50 is the most stock uftp -s accepts; 1..255 (one byte
    // on the wire).
    std::uint8_t max_robust = 50;
    // Seconds a session may take to finish its handshake (REG_CONF, or
    // KEYINFO when encrypted) before it is dropped, whatever its GRTT and
    // robustness: a sender that announces and goes silent holds no slot for
    // long. 60 by default, 1..3600.
    double register_timeout = 60.0;
    // Send every response to this response proxy (stock uftpd -R) instead
    // of to the server: it aggregates the answers of many receivers (spec
    // §7). Encrypted sessions do their key exchange with the proxy's keys,
    // asked for with KEY_REQ (PROXY_KEY).
    struct response_proxy_config {
        ipv4_address address = 0;
        std::uint16_t port = 0; // 0: control.port
        // The proxy's key must have this fingerprint (stock -R proxy/fp).
        std::optional<key_fingerprint> fingerprint;
    };
    std::optional<response_proxy_config> response_proxy;
    hooks_config hooks;
};

// The node's Prometheus endpoint: GET /metrics over HTTP on address:port
// (text exposition format). Off unless a port is given; the address
// defaults to loopback, so nothing is exposed beyond the host by accident.
struct metrics_config {
    ipv4_address address = 0x7F000001; // 127.0.0.1
    std::uint16_t port = 0;            // 0: no endpoint
    bool enabled() const { return port != 0; }
};

// The node's SNMP subagent (skycast-snmp, a process of its own next to
// skycast-control): where the host's snmpd takes AgentX subagents, and how
// often the subagent reads the node's stats. Used only by skycast-snmp.
struct snmp_config {
    std::string agentx_socket = "/var/agentx/master"; // net-snmp's default
    double poll_interval = 2.0;                       // seconds, 500ms..300s
};

struct log_config {
    log_level level = log_level::info; // UFTP-style per-session/file/receiver lines
    std::string file = "-";            // absolute path, or "-" for standard error
};

// role server_proxy (stock uftpproxyd -s, docs/protocol.md §7): where the
// servers' sessions go. Exactly one of the two.
struct server_proxy_config {
    // `-s dest`: a client proxy at this address (port: its UFTP port).
    std::optional<ipv4_address> downstream;
    std::uint16_t downstream_port = 1044;
    // `-s fp=...`: whoever proves this key in a heartbeat (HB_REQ signed
    // over our challenge) is the downstream, at the address and port the
    // heartbeat came from: a client proxy behind a NAT.
    std::optional<key_fingerprint> downstream_fingerprint;
};

// Heartbeats to server proxies (stock -H, -h, -k), from a client proxy or a
// receiver behind a NAT: they keep the NAT's pinhole open, and a server
// proxy that pins our key's fingerprint learns our address from them.
struct heartbeat_config {
    std::vector<ipv4_address> to; // server proxies, on control.port
    double interval = 20.0;       // seconds
    std::string private_key;      // PEM; signs the proxies' challenges ("": unauthenticated)
};

// roles response_proxy and client_proxy: their keys for encrypted sessions
// (docs/protocol.md §7.1). Their clients make their premasters with them
// (stock uftpproxyd -k and -e), and stock clients insist that the key is of
// the server key's type and size (RSA) or curve (EC), and the ECDH curve
// the server's.
struct proxy_keys_config {
    std::string private_key;               // PEM, absolute path
    std::string ecdh_curve = "prime256v1"; // its long-lived ECDH key's
};

struct control_config {
    // Required in the file; which engine runs and which of sender/receiver
    // below is set.
    node_role role = node_role::receiver;
    // Our UFTP node id. Defaults to the port's IPv4 address, as stock uftp
    // defaults to its interface's (10.77.0.1 -> 0x0A4D0001).
    std::uint32_t uid = 0;
    control_eal_config eal;
    // The announce group every node listens on: stock's 230.4.4.1.
    ipv4_address public_group = 0xE6040401;
    // UDP port of the session: stock's 1044.
    std::uint16_t port = 1044;
    // Times each control datagram (not FILESEG) is sent, back to back, as
    // identical copies: 2 on lossy links (docs/operations.md).
    std::uint32_t control_copies = 1;
    // Seconds between those copies (at most a quarter of the session's
    // GRTT): one fade does not take them all. 0: back to back.
    double copy_spacing = 0.1;
    // The Unix socket of `skycast send` and `skycast stats`; defaults to
    // /run/skycast/<file_prefix>.sock so nodes on one host do not collide.
    std::string socket;
    metrics_config metrics;
    snmp_config snmp;
    log_config log;
    // Exactly one is set, the one of `role` (none for a response proxy).
    std::optional<sender_config> sender;
    std::optional<receiver_config> receiver;
    std::optional<server_proxy_config> server_proxy;
    // Receivers and client proxies only.
    std::optional<heartbeat_config> heartbeats;
    // Response and client proxies only; without it, encrypted sessions are
    // not served.
    std::optional<proxy_keys_config> proxy_keys;
};

struct node_config {
    dataplane_config dataplane;
    control_config control;
    std::string source_file; // the path it was loaded from, for messages
};

} // namespace skycast::config
