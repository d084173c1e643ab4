#pragma once
// Per-packet ENCRYPTED sealing and opening (§5.8) for an lcore, behind one
// burst interface with two backends:
//
//   openssl    crypto::packet_cipher per session (EVP contexts keyed once).
//   cryptodev  a DPDK cryptodev queue pair: a software PMD (crypto_aesni_gcm,
//              crypto_aesni_mb from librte_crypto_ipsec_mb) or any hardware
//              PMD named in the config (dataplane.crypto.cryptodev_device).
//
// Both write byte-identical datagrams (the same prefix encoder, the same IV
// construction as crypto/iv.h, AAD = the first 28 bytes, tag appended) and
// return the same crypto::crypto_error for the same bad input, so a receiver
// cannot tell which backend sealed a packet, and tests compare them directly.
//
// Why bursts: cryptodev is enqueue/dequeue, and its per-operation cost only
// pays off when a burst shares one enqueue and one dequeue. seal_burst() and
// open_burst() are synchronous: every job is finished (or refused) when they
// return. Jobs may use different sessions.
//
// In place: a seal job whose plaintext starts exactly at out + payload_offset
// (the layout the TX lcore builds in an mbuf) is encrypted where it lies; an
// open job whose plaintext_out starts exactly at the payload decrypts in
// place. Other overlaps are refused (buffers_overlap), as in packet_cipher.
//
// One engine per lcore (not thread-safe); set-up (create, add_session) runs on
// the main thread before the lcores start, because it allocates. The bursts
// do not allocate, lock, throw or make syscalls.

#include "crypto/key_schedule.h"
#include "crypto/keys.h"
#include "crypto/packet_cipher.h"
#include "crypto/suites.h"
#include "dataplane/seal/seal_error.h"
#include "protocol/messages.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

struct rte_mbuf;

namespace skycast::dataplane::seal {

enum class backend_kind : std::uint8_t { openssl, cryptodev, count };
std::string_view name(backend_kind b);

// What the config loader fills in (YAML dataplane.crypto.*). Capacities are
// runtime values: a hub with many sessions and a receiver with one size
// their engines differently.
struct seal_options {
    backend_kind backend = backend_kind::openssl; // dataplane.crypto.backend
    // dataplane.crypto.cryptodev_device: a device EAL already probed (a
    // hardware PMD, or a --vdev), or a virtual device name this engine creates
    // (crypto_aesni_gcm0: GCM only; crypto_aesni_mb0: GCM and CCM).
    std::string cryptodev_device;
    std::string cryptodev_devargs; // only when the engine creates the vdev
    // This lcore's queue pair, and how many the device gets when this engine
    // is the first to use it (one per lcore that seals or opens).
    std::uint16_t queue_pair = 0;
    std::uint16_t queue_pairs = 1;
    // Descriptors per queue pair: at least one burst in flight.
    std::uint32_t queue_depth = 128;
    // Largest burst handed to the device at once; longer spans are cut.
    std::uint16_t max_burst = 32;
    // Sessions (keys) this engine holds at once: the hub has one per
    // concurrent transfer, a receiver one per server it listens to.
    std::uint16_t max_sessions = 8;
    // Use OpenSSL where cryptodev cannot serve: a missing device makes the
    // engine an OpenSSL one, and CBC suites are sealed by packet_cipher
    // inside a cryptodev engine. Off by default: a misconfigured hardware
    // device should stop the dataplane, not silently cost 5x the CPU.
    bool openssl_fallback = false;
    // Use the device's synchronous CPU path (rte_cryptodev_sym_cpu_crypto_process)
    // when it has one (RTE_CRYPTODEV_FF_SYM_CPU_CRYPTO: the ipsec_mb software
    // PMDs): no ops, mbufs or queue, the same sessions. Hardware PMDs do not
    // offer it and always take the enqueue/dequeue path. See README.md for
    // what each costs.
    bool cpu_crypto = true;
    int socket_id = -1; // SOCKET_ID_ANY
};

using session_id = std::uint16_t;

// One datagram to seal. Inputs first, results last.
struct seal_job {
    session_id session = 0;
    protocol::uftp_header header;            // seq, source UID (also in the IV), group, grtt, gsize
    std::uint64_t iv_ctr = 0;                // must exceed the session's last one on this engine
    std::span<const std::uint8_t> plaintext; // inner message from its func byte
    std::span<std::uint8_t> out;             // the datagram is written here
    // Optional: the mbuf whose first segment holds `out` (in place). The
    // cryptodev backend then hands the mbuf itself to the device, with its
    // real IOVA, instead of wrapping the span; required for hardware PMDs
    // whenever `out` is not in DPDK memory mapped for the device.
    rte_mbuf* mbuf = nullptr;

    std::size_t size = 0; // datagram bytes written, when status is ok
    crypto::crypto_error status = crypto::crypto_error::ok;
};

// One datagram to open.
struct open_job {
    session_id session = 0;
    std::span<const std::uint8_t> datagram;
    std::span<std::uint8_t> plaintext_out;      // >= payload length; zeroed on failure
    const crypto::public_key* sender = nullptr; // CBC+KEYEX sessions only
    rte_mbuf* mbuf = nullptr;                   // optional: the mbuf holding `datagram`

    crypto::opened_packet opened; // when status is ok
    crypto::crypto_error status = crypto::crypto_error::ok;
};

// Per engine (so per lcore), written only by its lcore; readers sum.
struct alignas(64) seal_counters {
    std::uint64_t sealed = 0;             // datagrams sealed
    std::uint64_t opened = 0;             // datagrams opened and authenticated
    std::uint64_t seal_refused = 0;       // seal jobs refused (any reason, incl. below)
    std::uint64_t open_refused = 0;       // open jobs refused (any reason, incl. below)
    std::uint64_t auth_failures = 0;      // tag/HMAC/signature did not verify: forged or corrupt
    std::uint64_t iv_refused = 0;         // seal with a non-increasing IV counter: a caller bug
    std::uint64_t unknown_session = 0;    // job named a session this engine does not hold
    std::uint64_t enqueue_shortfalls = 0; // device took fewer ops than offered (queue full)
    std::uint64_t dequeue_shortfalls = 0; // a poll returned fewer ops than were in flight
    std::uint64_t device_errors = 0;      // the device failed an op other than by auth
    std::uint64_t op_alloc_failures = 0;  // op mempool empty: jobs refused (internal_error)
    std::uint64_t device_timeouts = 0;    // ops not back within the deadline: engine stopped
    std::uint64_t openssl_packets = 0;    // cryptodev engine: packets of CBC sessions (OpenSSL)
};

class seal_engine {
public:
    virtual ~seal_engine() = default;
    seal_engine(const seal_engine&) = delete;
    seal_engine& operator=(const seal_engine&) = delete;

    virtual backend_kind backend() const = 0;
    // Why a cryptodev engine was asked for and this is an OpenSSL one
    // (openssl_fallback); ok when it is what was asked for.
    seal_error fallback_reason() const { return _fallback_reason; }

    // Set-up path: prepares a session's keys (copied; the caller may drop
    // its key_block). `signer`: CBC+KEYEX sealing only, must outlive the session.
    virtual seal_result<session_id> add_session(const crypto::suite& s,
                                                const crypto::key_block& keys,
                                                const crypto::private_key* signer = nullptr) = 0;
    // Set-up path: forgets the session (its id may be reused).
    virtual void remove_session(session_id id) = 0;

    // Where the ciphertext starts in a sealed datagram of this session (28 for
    // GCM/CCM), and the datagram size for a plaintext of `n` bytes; 0 for an
    // unknown session.
    virtual std::size_t payload_offset(session_id id) const = 0;
    virtual std::size_t sealed_size(session_id id, std::size_t n) const = 0;

    // Seal or open every job; returns how many succeeded. Each job's status
    // says what happened to it; refused jobs leave nothing usable in their
    // output (sealed output is zeroed on a device failure, opened output on
    // any failure after decryption started).
    virtual std::size_t seal_burst(std::span<seal_job> jobs) = 0;
    virtual std::size_t open_burst(std::span<open_job> jobs) = 0;

    const seal_counters& counters() const { return _counters; }

protected:
    seal_engine() = default;
    seal_counters _counters;
    seal_error _fallback_reason = seal_error::ok;
};

// Set-up path. The cryptodev backend needs EAL initialised; it finds the
// device by name, or creates it as a virtual device, and configures and
// starts it (options.queue_pairs queue pairs) when no earlier engine did.
seal_result<std::unique_ptr<seal_engine>> create_seal_engine(const seal_options& options);

// Shutdown path, after every engine is gone: stops the crypto devices the
// engines started, so that rte_eal_cleanup() can close them.
void stop_crypto_devices();

} // namespace skycast::dataplane::seal
