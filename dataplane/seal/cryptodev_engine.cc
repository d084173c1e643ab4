// The cryptodev backend: one device queue pair per engine (per lcore), two
// symmetric AEAD sessions (encrypt, decrypt) per UFTP session key, an op
// mempool sized for one burst, and "carrier" mbufs that wrap the caller's
// spans so any buffer can be handed to the device.
//
// Each burst is checked and described as "slots" (nonce, AAD, buffers,
// digest), then run by one of two paths over the same sessions:
// - ops: rte_crypto_op + enqueue/dequeue on the queue pair. Every PMD has
//   it; it is the road to hardware (QAT, mlx5), where the work is DMA'd.
// - cpu: rte_cryptodev_sym_cpu_crypto_process, synchronous, no ops, mbufs or
//   queue; only software PMDs offer it (RTE_CRYPTODEV_FF_SYM_CPU_CRYPTO).
//   Measured 2-4% cheaper than ops on the ipsec_mb PMDs (README.md).
//
// Op layout: each rte_crypto_op carries, after the symmetric op, a private
// area of op_priv_size bytes:
//
//   +0   IV (16): GCM nonce at +0; CCM nonce at +1 (byte 0 is the PMD's flags
//        byte, rte_crypto_sym.h "For CCM mode, the first byte is reserved")
//   +16  AAD (64): GCM reads the 28 bytes at +16; CCM needs 18 bytes of room
//        before the AAD (its B0 block and the AAD length) and padding to a
//        multiple of 16, so the 28 bytes go at +16+18 and 48 bytes are used
//   +80  job index within the burst (4)
//
// The AAD is copied (28 bytes) rather than pointed at in the datagram: CCM
// needs the 18 bytes before it, which the datagram does not have, and a
// hardware PMD needs an IOVA for it, which the op area has.
//
// CBC suites (HMAC, KEYEX) are not AEAD: with openssl_fallback their
// sessions get a crypto::packet_cipher and their jobs never reach the device.
#include "crypto/iv.h"
#include "dataplane/seal/backends.h"
#include "protocol/codec.h"
#include "protocol/parity.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <optional>
#include <rte_crypto.h>
#include <rte_cryptodev.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_memory.h>
#include <rte_mempool.h>
#include <string>
#include <vector>

namespace skycast::dataplane::seal {
namespace {

using crypto::crypto_error;
using protocol::signature_type;

constexpr std::size_t header_size = crypto::encrypted_header_size; // 28: the AAD
constexpr std::size_t tag_len = crypto::aead_tag_len;
constexpr std::size_t max_payload = 0xffff; // ENCRYPTED's 16-bit payload length

constexpr std::uint16_t iv_offset = sizeof(rte_crypto_op) + sizeof(rte_crypto_sym_op);
constexpr std::uint16_t aad_area = 16;
constexpr std::uint16_t ccm_aad_skip = 18;
constexpr std::uint16_t index_area = 80;
constexpr std::uint16_t op_priv_size = 96;
static_assert(aad_area + ccm_aad_skip + header_size <= index_area);

// A device that has not returned an op in this long is wedged; the engine
// stops using it rather than spin forever on the lcore. Software PMDs finish
// within the dequeue call; hardware within microseconds.
constexpr double device_deadline_seconds = 0.1;

// op->sym is a zero-length array member, which GCC 12's -Warray-bounds
// rejects on access; the symmetric op sits right after the op header.
rte_crypto_sym_op* sym_of(rte_crypto_op* op) {
    return reinterpret_cast<rte_crypto_sym_op*>(reinterpret_cast<std::uint8_t*>(op) +
                                                sizeof(rte_crypto_op));
}

bool overlaps(const std::uint8_t* a, std::size_t a_len, const std::uint8_t* b, std::size_t b_len) {
    std::less<const std::uint8_t*> lt;
    return lt(a, b + b_len) && lt(b, a + a_len);
}

std::uint16_t get_u16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint64_t get_u64(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
        v = (v << 8) | p[i];
    }
    return v;
}

// Unique names for this process's mempools (DPDK names are global).
std::string pool_name(const char* what, std::uint8_t dev, std::uint16_t qp) {
    static std::atomic<unsigned> serial{0};
    return std::string("sl") + what + std::to_string(dev) + "_" + std::to_string(qp) + "_" +
           std::to_string(serial.fetch_add(1));
}

// Carriers are created attached to a dummy external buffer, so that the
// EXTERNAL flag is set and freeing them at the end goes through the (no-op)
// shared-info callback instead of returning a foreign buffer to the pool.
// Per packet only their buffer fields are repointed.
void noop_free(void*, void*) {}

// Devices an engine configured and started, for stop_crypto_devices().
// Set-up and shutdown paths only (the main thread).
std::array<bool, 256>& started_here() {
    static std::array<bool, 256> started{};
    return started;
}

struct aead_session {
    bool in_use = false;
    crypto::suite suite;
    void* enc = nullptr;
    void* dec = nullptr;
    std::array<std::uint8_t, crypto::salt_len> salt{};
    std::uint64_t last_iv_ctr = 0;                // 0: none yet (UFTP's first counter is 1)
    std::optional<crypto::packet_cipher> openssl; // CBC suites, with openssl_fallback
};

class cryptodev_engine final : public seal_engine {
public:
    ~cryptodev_engine() override;
    backend_kind backend() const override { return backend_kind::cryptodev; }

    static seal_result<std::unique_ptr<seal_engine>> create(const seal_options& o);

    seal_result<session_id> add_session(const crypto::suite& s, const crypto::key_block& keys,
                                        const crypto::private_key* signer) override;
    void remove_session(session_id id) override;
    std::size_t payload_offset(session_id id) const override;
    std::size_t sealed_size(session_id id, std::size_t n) const override;
    std::size_t seal_burst(std::span<seal_job> jobs) override;
    std::size_t open_burst(std::span<open_job> jobs) override;

private:
    // What became of one slot's operation.
    enum class slot_result : std::uint8_t { in_flight, ok, auth_failed, device_error };
    // One datagram's AEAD operation, as both paths (ops, CPU) consume it.
    struct slot {
        void* sess = nullptr;
        bool ccm = false;
        // The nonce as the PMD wants it: GCM at [0], CCM at [1] (byte 0 is
        // the PMD's flags byte, rte_crypto_sym.h); 16 bytes either way.
        std::array<std::uint8_t, 16> iv{};
        const std::uint8_t* aad = nullptr; // the datagram's first 28 bytes
        const std::uint8_t* src = nullptr;
        std::uint8_t* dst = nullptr;
        std::uint32_t len = 0;          // bytes to encrypt or decrypt
        std::uint8_t* digest = nullptr; // tag: written (seal) or checked (open)
        rte_mbuf* mbuf = nullptr;       // the caller's, if any
        slot_result result = slot_result::in_flight;
    };
    // The CPU path's AAD buffer (the op path uses the op's private area):
    // GCM reads 28 bytes at +0; CCM wants 18 bytes of room first and padding
    // to a multiple of 16, so 48 bytes.
    struct alignas(16) aad_buffer {
        std::array<std::uint8_t, 64> bytes{};
    };

    cryptodev_engine() = default;
    seal_error setup(const seal_options& o);
    aead_session* find(session_id id) {
        return id < _sessions.size() && _sessions[id].in_use ? &_sessions[id] : nullptr;
    }
    std::size_t seal_chunk(std::span<seal_job> jobs);
    std::size_t open_chunk(std::span<open_job> jobs);
    // A job's way before the device, the same for seal and open: an unknown
    // session or a wedged device refuses it; a session OpenSSL serves (CBC,
    // HMAC, or no device for the suite) is done here by `via_openssl(s, j)`,
    // which returns its error and stores the result in the job, counted in
    // `done` and `ok`. Returns the session when the job goes on to the device.
    template <typename Job, typename Refuse, typename ViaOpenssl>
    aead_session* before_device(Job& j, Refuse& refuse, ViaOpenssl via_openssl, std::uint64_t& done,
                                std::size_t& ok) {
        auto* s = find(j.session);
        if (s == nullptr) {
            ++_counters.unknown_session;
            refuse(j, crypto_error::key_mismatch);
            return nullptr;
        }
        if (s->openssl) {
            ++_counters.openssl_packets;
            if (auto e = via_openssl(*s, j); e != crypto_error::ok) {
                refuse(j, e);
                return nullptr;
            }
            j.status = crypto_error::ok;
            ++done;
            ++ok;
            return nullptr;
        }
        if (_wedged) {
            refuse(j, crypto_error::internal_error);
            return nullptr;
        }
        return s;
    }
    crypto_error check_seal(seal_job& j, aead_session& s);
    crypto_error check_open(open_job& j, std::uint16_t& sig_len, std::size_t& payload);
    static void set_iv(slot& sl, const aead_session& s, std::uint32_t uid, std::uint64_t ctr);
    // Runs _slots[0..n) through the device; each slot ends with a result
    // (in_flight only if the device missed the deadline).
    void process(std::size_t n) {
        if (_cpu) {
            process_cpu(n);
        } else {
            process_ops(n);
        }
    }
    void process_ops(std::size_t n);
    void process_cpu(std::size_t n);
    static void fill_op(rte_crypto_op* op, std::uint32_t index, const slot& sl);
    // Points the op's source (and destination) at the data; returns false
    // when a buffer cannot be given to the device (no IOVA).
    bool attach_buffers(rte_crypto_op* op, std::uint32_t index, const slot& sl);
    rte_iova_t iova_of(const void* p) const;
    // Enqueues _ops[0..n) and dequeues them into _done; returns how many came
    // back (n, unless the device missed the deadline: then it is wedged).
    std::size_t run(std::size_t n);
    // The op index (within the burst) an op was prepared with.
    static std::uint32_t index_of(rte_crypto_op* op) {
        std::uint32_t index = 0;
        std::memcpy(&index, rte_crypto_op_ctod_offset(op, std::uint8_t*, iv_offset + index_area),
                    sizeof index);
        return index;
    }
    bool alloc_ops(std::size_t n);

    std::uint8_t _dev = 0;
    std::uint16_t _qp = 0;
    bool _cpu = false;        // synchronous CPU path (rte_cryptodev_sym_cpu_crypto_process)
    bool _oop = false;        // device can write to a separate linear buffer
    bool _iova_is_va = false; // EAL IOVA mode VA: an address is its IOVA
    bool _hardware = false;   // device DMAs: buffers need real IOVAs
    bool _fallback = false;   // options.openssl_fallback
    bool _wedged = false;     // a device timeout happened: refuse everything
    std::uint16_t _max_burst = 0;
    std::uint64_t _deadline_cycles = 0;
    rte_mempool* _op_pool = nullptr;
    rte_mempool* _sess_pool = nullptr;
    rte_mempool* _carrier_pool = nullptr;
    std::vector<rte_mbuf*> _carriers;                  // 2 per op: source, destination
    std::vector<rte_mbuf_ext_shared_info> _carrier_si; // one per carrier
    std::vector<rte_crypto_op*> _ops;                  // this burst's ops
    std::vector<rte_crypto_op*> _done;                 // as dequeued
    std::vector<std::uint32_t> _op_slot;               // slot of _ops[i]
    std::vector<std::uint32_t> _pending;               // job index of _slots[k]
    std::vector<slot> _slots;
    // The CPU path's descriptors, one per slot.
    std::vector<rte_crypto_vec> _cpu_vec;
    std::vector<rte_crypto_sgl> _cpu_sgl;
    std::vector<rte_crypto_va_iova_ptr> _cpu_iv, _cpu_aad, _cpu_digest;
    std::vector<std::int32_t> _cpu_status;
    std::vector<aad_buffer> _aad;
    std::vector<aead_session> _sessions;
};

seal_error cryptodev_engine::setup(const seal_options& o) {
    if (o.cryptodev_device.empty()) {
        return seal_error::device_name_empty;
    }
    if (o.queue_pair >= o.queue_pairs || o.max_burst == 0 || o.max_sessions == 0 ||
        o.queue_depth < o.max_burst) {
        return seal_error::options_invalid;
    }
    int id = rte_cryptodev_get_dev_id(o.cryptodev_device.c_str());
    if (id < 0) {
        // Not probed: a virtual device we create (the ipsec_mb PMDs are vdevs).
        if (rte_eal_hotplug_add("vdev", o.cryptodev_device.c_str(), o.cryptodev_devargs.c_str()) !=
            0) {
            return seal_error::device_not_found;
        }
        id = rte_cryptodev_get_dev_id(o.cryptodev_device.c_str());
        if (id < 0) {
            return seal_error::device_not_found;
        }
    }
    _dev = static_cast<std::uint8_t>(id);
    _qp = o.queue_pair;
    _max_burst = o.max_burst;
    _fallback = o.openssl_fallback;

    rte_cryptodev_info info{};
    rte_cryptodev_info_get(_dev, &info);
    _oop = (info.feature_flags & RTE_CRYPTODEV_FF_OOP_LB_IN_LB_OUT) != 0;
    _hardware = (info.feature_flags & RTE_CRYPTODEV_FF_HW_ACCELERATED) != 0;
    _cpu = o.cpu_crypto && (info.feature_flags & RTE_CRYPTODEV_FF_SYM_CPU_CRYPTO) != 0;
    _iova_is_va = rte_eal_iova_mode() == RTE_IOVA_VA;
    const int socket = o.socket_id >= 0 ? o.socket_id : rte_cryptodev_socket_id(_dev);

    const unsigned sess_size = rte_cryptodev_sym_get_private_session_size(_dev);
    // Two device sessions (encrypt, decrypt) per UFTP session.
    _sess_pool = rte_cryptodev_sym_session_pool_create(
        pool_name("s", _dev, _qp).c_str(), 2u * o.max_sessions, sess_size, 0, 0, socket);
    if (_sess_pool == nullptr) {
        return seal_error::pool_create_failed;
    }

    // First engine on this device: configure it with every lcore's queue pair.
    const std::uint16_t configured = rte_cryptodev_queue_pair_count(_dev);
    if (configured == 0) {
        if (o.queue_pairs > info.max_nb_queue_pairs) {
            return seal_error::device_configure_failed;
        }
        rte_cryptodev_config conf{};
        conf.socket_id = socket;
        conf.nb_queue_pairs = o.queue_pairs;
        conf.ff_disable = RTE_CRYPTODEV_FF_ASYMMETRIC_CRYPTO | RTE_CRYPTODEV_FF_SECURITY;
        if (rte_cryptodev_configure(_dev, &conf) != 0) {
            return seal_error::device_configure_failed;
        }
        rte_cryptodev_qp_conf qp_conf{};
        qp_conf.nb_descriptors = o.queue_depth;
        // mp_session is for sessionless ops, which this engine never sends;
        // leaving it empty keeps the device independent of this engine's
        // lifetime (other lcores' engines outlive it).
        qp_conf.mp_session = nullptr;
        for (std::uint16_t q = 0; q < o.queue_pairs; ++q) {
            if (rte_cryptodev_queue_pair_setup(_dev, q, &qp_conf, socket) != 0) {
                return seal_error::queue_pair_setup_failed;
            }
        }
        if (rte_cryptodev_start(_dev) != 0) {
            return seal_error::device_start_failed;
        }
        started_here()[_dev] = true;
    } else if (configured <= _qp) {
        return seal_error::queue_pair_out_of_range;
    }

    // Ops for one burst in flight, plus slack so a refill never waits.
    const unsigned nb_ops = std::max(2u * o.max_burst, 64u);
    _op_pool =
        rte_crypto_op_pool_create(pool_name("o", _dev, _qp).c_str(), RTE_CRYPTO_OP_TYPE_SYMMETRIC,
                                  nb_ops, 0, op_priv_size, socket);
    if (_op_pool == nullptr) {
        return seal_error::pool_create_failed;
    }
    const unsigned nb_carriers = 2u * o.max_burst;
    _carrier_pool =
        rte_pktmbuf_pool_create(pool_name("c", _dev, _qp).c_str(), nb_carriers, 0, 0, 0, socket);
    if (_carrier_pool == nullptr) {
        return seal_error::pool_create_failed;
    }
    _carriers.assign(nb_carriers, nullptr);
    _carrier_si.assign(nb_carriers, rte_mbuf_ext_shared_info{});
    if (rte_pktmbuf_alloc_bulk(_carrier_pool, _carriers.data(), nb_carriers) != 0) {
        _carriers.clear();
        return seal_error::pool_create_failed;
    }
    static std::uint8_t dummy[1];
    for (unsigned i = 0; i < nb_carriers; ++i) {
        _carrier_si[i].free_cb = noop_free;
        _carrier_si[i].fcb_opaque = nullptr;
        rte_mbuf_ext_refcnt_set(&_carrier_si[i], 1);
        rte_pktmbuf_attach_extbuf(_carriers[i], dummy, iova_of(dummy), 1, &_carrier_si[i]);
    }
    _ops.assign(o.max_burst, nullptr);
    _done.assign(o.max_burst, nullptr);
    _op_slot.assign(o.max_burst, 0);
    _pending.assign(o.max_burst, 0);
    _slots.assign(o.max_burst, slot{});
    _cpu_vec.assign(o.max_burst, rte_crypto_vec{});
    _cpu_sgl.assign(o.max_burst, rte_crypto_sgl{});
    _cpu_iv.assign(o.max_burst, rte_crypto_va_iova_ptr{});
    _cpu_aad.assign(o.max_burst, rte_crypto_va_iova_ptr{});
    _cpu_digest.assign(o.max_burst, rte_crypto_va_iova_ptr{});
    _cpu_status.assign(o.max_burst, 0);
    _aad.assign(o.max_burst, aad_buffer{});
    _sessions.resize(o.max_sessions);
    _deadline_cycles =
        static_cast<std::uint64_t>(device_deadline_seconds * static_cast<double>(rte_get_tsc_hz()));
    return seal_error::ok;
}

cryptodev_engine::~cryptodev_engine() {
    for (std::size_t i = 0; i < _sessions.size(); ++i) {
        remove_session(static_cast<session_id>(i));
    }
    for (auto* m : _carriers) {
        rte_pktmbuf_free(m);
    }
    rte_mempool_free(_carrier_pool);
    rte_mempool_free(_op_pool);
    rte_mempool_free(_sess_pool);
    // The device stays configured: other lcores' engines use its other queue
    // pairs, and rte_eal_cleanup() closes it.
}

seal_result<std::unique_ptr<seal_engine>> cryptodev_engine::create(const seal_options& o) {
    std::unique_ptr<cryptodev_engine> e(new cryptodev_engine());
    if (auto err = e->setup(o); err != seal_error::ok) {
        return err;
    }
    return std::unique_ptr<seal_engine>(std::move(e));
}

rte_iova_t cryptodev_engine::iova_of(const void* p) const {
    if (_iova_is_va) {
        return static_cast<rte_iova_t>(reinterpret_cast<std::uintptr_t>(p));
    }
    if (!_hardware) {
        return RTE_BAD_IOVA; // a CPU PMD only reads the virtual address
    }
    // DPDK memory only (a memseg lookup, no syscall); anything else cannot
    // be handed to a DMA engine.
    const rte_memseg* ms = rte_mem_virt2memseg(p, nullptr);
    if (ms == nullptr || ms->iova == RTE_BAD_IOVA) {
        return RTE_BAD_IOVA;
    }
    return ms->iova + static_cast<rte_iova_t>(static_cast<const std::uint8_t*>(p) -
                                              static_cast<const std::uint8_t*>(ms->addr));
}

seal_result<session_id> cryptodev_engine::add_session(const crypto::suite& s,
                                                      const crypto::key_block& keys,
                                                      const crypto::private_key* signer) {
    auto free_slot = std::find_if(_sessions.begin(), _sessions.end(),
                                  [](const aead_session& a) { return !a.in_use; });
    if (free_slot == _sessions.end()) {
        return seal_error::session_table_full;
    }
    const auto id = static_cast<session_id>(free_slot - _sessions.begin());
    aead_session fresh;
    fresh.suite = s;
    if (!s.cipher.aead()) {
        if (!_fallback) {
            return seal_error::suite_not_aead;
        }
        auto pc = crypto::packet_cipher::create(s, keys, signer);
        if (!pc) {
            return seal_error::key_setup_failed;
        }
        fresh.openssl.emplace(std::move(pc).value());
        fresh.in_use = true;
        *free_slot = std::move(fresh);
        return id;
    }
    if (s.sigtype != signature_type::authenc || keys.key().size() != s.cipher.key_len) {
        return seal_error::key_setup_failed;
    }
    const auto algo = s.cipher.mode == crypto::cipher_mode::gcm ? RTE_CRYPTO_AEAD_AES_GCM
                                                                : RTE_CRYPTO_AEAD_AES_CCM;
    rte_cryptodev_sym_capability_idx idx{};
    idx.type = RTE_CRYPTO_SYM_XFORM_AEAD;
    idx.algo.aead = algo;
    const auto* cap = rte_cryptodev_sym_capability_get(_dev, &idx);
    if (cap == nullptr || rte_cryptodev_sym_capability_check_aead(
                              cap, static_cast<std::uint16_t>(s.cipher.key_len), tag_len,
                              header_size, static_cast<std::uint16_t>(s.cipher.iv_len)) != 0) {
        return seal_error::algorithm_not_supported;
    }
    // The PMD copies the key into its session (expanded key schedule); the
    // xform only points at our guarded copy for the duration of the call.
    rte_crypto_sym_xform xf{};
    xf.type = RTE_CRYPTO_SYM_XFORM_AEAD;
    xf.aead.algo = algo;
    xf.aead.key.data = keys.key().data();
    xf.aead.key.length = static_cast<std::uint16_t>(s.cipher.key_len);
    xf.aead.iv.offset = iv_offset;
    xf.aead.iv.length = static_cast<std::uint16_t>(s.cipher.iv_len);
    xf.aead.digest_length = tag_len;
    xf.aead.aad_length = header_size;
    xf.aead.op = RTE_CRYPTO_AEAD_OP_ENCRYPT;
    fresh.enc = rte_cryptodev_sym_session_create(_dev, &xf, _sess_pool);
    xf.aead.op = RTE_CRYPTO_AEAD_OP_DECRYPT;
    fresh.dec = rte_cryptodev_sym_session_create(_dev, &xf, _sess_pool);
    if (fresh.enc == nullptr || fresh.dec == nullptr) {
        if (fresh.enc != nullptr) {
            rte_cryptodev_sym_session_free(_dev, fresh.enc);
        }
        if (fresh.dec != nullptr) {
            rte_cryptodev_sym_session_free(_dev, fresh.dec);
        }
        return seal_error::session_create_failed;
    }
    std::copy(keys.salt().begin(), keys.salt().end(), fresh.salt.begin());
    fresh.in_use = true;
    *free_slot = std::move(fresh);
    return id;
}

void cryptodev_engine::remove_session(session_id id) {
    if (id >= _sessions.size() || !_sessions[id].in_use) {
        return;
    }
    auto& s = _sessions[id];
    if (s.enc != nullptr) {
        rte_cryptodev_sym_session_free(_dev, s.enc);
    }
    if (s.dec != nullptr) {
        rte_cryptodev_sym_session_free(_dev, s.dec);
    }
    s = aead_session{};
}

std::size_t cryptodev_engine::payload_offset(session_id id) const {
    if (id >= _sessions.size() || !_sessions[id].in_use) {
        return 0;
    }
    const auto& s = _sessions[id];
    return s.openssl ? s.openssl->payload_offset() : header_size;
}

std::size_t cryptodev_engine::sealed_size(session_id id, std::size_t n) const {
    if (id >= _sessions.size() || !_sessions[id].in_use) {
        return 0;
    }
    const auto& s = _sessions[id];
    return s.openssl ? s.openssl->sealed_size(n) : header_size + n + tag_len;
}

bool cryptodev_engine::alloc_ops(std::size_t n) {
    if (rte_crypto_op_bulk_alloc(_op_pool, RTE_CRYPTO_OP_TYPE_SYMMETRIC, _ops.data(),
                                 static_cast<std::uint16_t>(n)) != n) {
        ++_counters.op_alloc_failures;
        return false;
    }
    return true;
}

void cryptodev_engine::set_iv(slot& sl, const aead_session& s, std::uint32_t uid,
                              std::uint64_t ctr) {
    std::array<std::uint8_t, crypto::max_iv_len> iv{};
    const std::size_t len = crypto::build_iv(s.suite.cipher, s.salt, uid, ctr, iv);
    sl.ccm = s.suite.cipher.mode == crypto::cipher_mode::ccm;
    sl.iv.fill(0);
    std::memcpy(sl.iv.data() + (sl.ccm ? 1 : 0), iv.data(), len);
}

void cryptodev_engine::fill_op(rte_crypto_op* op, std::uint32_t index, const slot& sl) {
    rte_crypto_op_attach_sym_session(op, sl.sess);
    auto* priv = rte_crypto_op_ctod_offset(op, std::uint8_t*, iv_offset);
    std::memcpy(priv, sl.iv.data(), sl.iv.size());
    std::memcpy(priv + aad_area + (sl.ccm ? ccm_aad_skip : 0), sl.aad, header_size);
    std::memcpy(priv + index_area, &index, sizeof index);
    sym_of(op)->aead.aad.data = priv + aad_area;
    sym_of(op)->aead.aad.phys_addr = rte_crypto_op_ctophys_offset(op, iv_offset + aad_area);
}

bool cryptodev_engine::attach_buffers(rte_crypto_op* op, std::uint32_t index, const slot& sl) {
    auto* sym = sym_of(op);
    // The caller's mbuf, when it holds the data in place: no wrapping, and
    // the IOVAs are the mbuf's own.
    if (sl.mbuf != nullptr && sl.src == sl.dst) {
        auto* base = rte_pktmbuf_mtod(sl.mbuf, std::uint8_t*);
        const auto* end = base + sl.mbuf->data_len;
        if (sl.dst >= base && sl.dst + sl.len <= end && sl.digest >= base &&
            sl.digest + tag_len <= end) {
            const auto off = static_cast<std::uint32_t>(sl.dst - base);
            sym->m_src = sl.mbuf;
            sym->m_dst = nullptr;
            sym->aead.data.offset = off;
            sym->aead.data.length = sl.len;
            sym->aead.digest.data = sl.digest;
            sym->aead.digest.phys_addr =
                rte_pktmbuf_iova_offset(sl.mbuf, static_cast<std::uint32_t>(sl.digest - base));
            return true;
        }
    }
    auto point = [](rte_mbuf* m, const std::uint8_t* p, std::size_t n, rte_iova_t iova) {
        m->buf_addr = const_cast<std::uint8_t*>(p);
        rte_mbuf_iova_set(m, iova);
        m->buf_len = static_cast<std::uint16_t>(n);
        m->data_off = 0;
        m->data_len = static_cast<std::uint16_t>(n);
        m->pkt_len = static_cast<std::uint32_t>(n);
        m->nb_segs = 1;
        m->next = nullptr;
    };
    // The wrapped region is the ciphertext only (at most 0xffff bytes, which
    // fits the mbuf's 16-bit lengths); AAD and digest are given by pointer.
    const rte_iova_t dst_iova = iova_of(sl.dst);
    const rte_iova_t digest_iova = iova_of(sl.digest);
    if (_hardware && (dst_iova == RTE_BAD_IOVA || digest_iova == RTE_BAD_IOVA)) {
        return false;
    }
    rte_mbuf* d = _carriers[2 * index];
    point(d, sl.dst, sl.len, dst_iova);
    sym->aead.data.offset = 0;
    sym->aead.data.length = sl.len;
    sym->aead.digest.data = sl.digest;
    sym->aead.digest.phys_addr = digest_iova;
    if (sl.src == sl.dst) {
        sym->m_src = d;
        sym->m_dst = nullptr;
        return true;
    }
    if (!_oop) {
        // The device only works in place: bring the input to the output
        // first (the buffers do not overlap; checked before).
        std::memcpy(sl.dst, sl.src, sl.len);
        sym->m_src = d;
        sym->m_dst = nullptr;
        return true;
    }
    const rte_iova_t src_iova = iova_of(sl.src);
    if (_hardware && src_iova == RTE_BAD_IOVA) {
        return false;
    }
    rte_mbuf* s = _carriers[2 * index + 1];
    point(s, sl.src, sl.len, src_iova);
    sym->m_src = s;
    sym->m_dst = d;
    return true;
}

void cryptodev_engine::process_ops(std::size_t n) {
    if (!alloc_ops(n)) {
        for (std::size_t k = 0; k < n; ++k) {
            _slots[k].result = slot_result::device_error;
        }
        return;
    }
    std::size_t w = 0;
    for (std::size_t k = 0; k < n; ++k) {
        rte_crypto_op* op = _ops[k];
        if (!attach_buffers(op, static_cast<std::uint32_t>(w), _slots[k])) {
            // A hardware PMD and a buffer outside DPDK memory: no IOVA for it.
            rte_mempool_put(_op_pool, op);
            _slots[k].result = slot_result::device_error;
            continue;
        }
        fill_op(op, static_cast<std::uint32_t>(w), _slots[k]);
        _slots[k].result = slot_result::in_flight;
        _ops[w] = op;
        _op_slot[w] = static_cast<std::uint32_t>(k);
        ++w;
    }
    const std::size_t back = run(w);
    for (std::size_t d = 0; d < back; ++d) {
        rte_crypto_op* op = _done[d];
        auto& sl = _slots[_op_slot[index_of(op)]];
        sl.result = op->status == RTE_CRYPTO_OP_STATUS_SUCCESS       ? slot_result::ok
                    : op->status == RTE_CRYPTO_OP_STATUS_AUTH_FAILED ? slot_result::auth_failed
                                                                     : slot_result::device_error;
    }
    rte_mempool_put_bulk(_op_pool, reinterpret_cast<void**>(_done.data()),
                         static_cast<unsigned>(back));
    // Slots whose op did not come back (wedged device) stay in_flight; the
    // ops are lost with the device.
}

void cryptodev_engine::process_cpu(std::size_t n) {
    // One call per run of slots sharing a device session (the API takes one
    // session per call); a TX burst is usually one run.
    std::size_t start = 0;
    while (start < n) {
        std::size_t end = start + 1;
        while (end < n && _slots[end].sess == _slots[start].sess) {
            ++end;
        }
        for (std::size_t k = start; k < end; ++k) {
            auto& sl = _slots[k];
            if (sl.src != sl.dst) {
                // In place only: out-of-place support varies between PMDs'
                // CPU paths, and it is not the lcore's layout anyway.
                std::memcpy(sl.dst, sl.src, sl.len);
            }
            _cpu_vec[k] = rte_crypto_vec{sl.dst, iova_of(sl.dst), sl.len, sl.len};
            _cpu_sgl[k] = rte_crypto_sgl{&_cpu_vec[k], 1};
            _cpu_iv[k] = rte_crypto_va_iova_ptr{sl.iv.data(), iova_of(sl.iv.data())};
            auto& aad = _aad[k].bytes;
            std::memcpy(aad.data() + (sl.ccm ? ccm_aad_skip : 0), sl.aad, header_size);
            _cpu_aad[k] = rte_crypto_va_iova_ptr{aad.data(), iova_of(aad.data())};
            _cpu_digest[k] = rte_crypto_va_iova_ptr{sl.digest, iova_of(sl.digest)};
            _cpu_status[k] = 0;
        }
        rte_crypto_sym_vec vec{};
        vec.num = static_cast<std::uint32_t>(end - start);
        vec.src_sgl = &_cpu_sgl[start];
        vec.dest_sgl = nullptr;
        vec.iv = &_cpu_iv[start];
        vec.digest = &_cpu_digest[start];
        vec.aad = &_cpu_aad[start];
        vec.status = &_cpu_status[start];
        rte_crypto_sym_ofs ofs{};
        ofs.raw = 0;
        (void)rte_cryptodev_sym_cpu_crypto_process(_dev, _slots[start].sess, ofs, &vec);
        for (std::size_t k = start; k < end; ++k) {
            const std::int32_t st = _cpu_status[k];
            _slots[k].result = st == 0                           ? slot_result::ok
                               : st == EBADMSG || st == -EBADMSG ? slot_result::auth_failed
                                                                 : slot_result::device_error;
        }
        start = end;
    }
}

std::size_t cryptodev_engine::run(std::size_t n) {
    std::size_t enq = 0;
    std::size_t deq = 0;
    const std::uint64_t deadline = rte_get_tsc_cycles() + _deadline_cycles;
    while (deq < n) {
        if (enq < n) {
            const auto want = static_cast<std::uint16_t>(n - enq);
            const std::uint16_t got =
                rte_cryptodev_enqueue_burst(_dev, _qp, _ops.data() + enq, want);
            _counters.enqueue_shortfalls += got < want ? 1 : 0;
            enq += got;
        }
        const auto outstanding = static_cast<std::uint16_t>(enq - deq);
        if (outstanding != 0) {
            const std::uint16_t got =
                rte_cryptodev_dequeue_burst(_dev, _qp, _done.data() + deq, outstanding);
            _counters.dequeue_shortfalls += got < outstanding ? 1 : 0;
            deq += got;
        }
        if (deq < n && rte_get_tsc_cycles() > deadline) {
            ++_counters.device_timeouts;
            _wedged = true;
            break;
        }
    }
    return deq;
}

crypto_error cryptodev_engine::check_seal(seal_job& j, aead_session& s) {
    // The same checks in the same order as packet_cipher::seal, so both
    // backends refuse the same job with the same error.
    const std::size_t n = j.plaintext.size();
    if (n == 0) {
        return crypto_error::plaintext_empty;
    }
    const std::size_t payload = n + tag_len;
    if (payload > max_payload) {
        return crypto_error::plaintext_too_large;
    }
    const std::size_t total = header_size + payload;
    if (j.out.size() < total) {
        return crypto_error::buffer_too_small;
    }
    std::uint8_t* const ciphertext = j.out.data() + header_size;
    if (j.plaintext.data() != ciphertext && overlaps(j.plaintext.data(), n, j.out.data(), total)) {
        return crypto_error::buffers_overlap;
    }
    if (j.iv_ctr <= s.last_iv_ctr) {
        return crypto_error::iv_counter_not_increasing;
    }
    s.last_iv_ctr = j.iv_ctr;
    if (!protocol::encode_encrypted_prefix(j.header, j.iv_ctr, 0, payload, j.out).ok()) {
        return crypto_error::buffer_too_small; // sizes were checked above; defensive
    }
    return crypto_error::ok;
}

std::size_t cryptodev_engine::seal_chunk(std::span<seal_job> jobs) {
    std::size_t ok = 0;
    std::size_t n = 0;
    auto refuse = [this](seal_job& j, crypto_error e) {
        j.status = e;
        ++_counters.seal_refused;
        _counters.iv_refused += e == crypto_error::iv_counter_not_increasing ? 1 : 0;
    };
    // 1. Check, write the prefix (the AAD), describe the operation.
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        auto& j = jobs[i];
        j.size = 0;
        auto via_openssl = [](aead_session& session, seal_job& job) {
            auto r = session.openssl->seal(job.header, job.plaintext, job.iv_ctr, job.out);
            if (!r) {
                return r.error();
            }
            job.size = *r;
            return crypto_error::ok;
        };
        auto* s = before_device(j, refuse, via_openssl, _counters.sealed, ok);
        if (s == nullptr) {
            continue;
        }
        if (auto e = check_seal(j, *s); e != crypto_error::ok) {
            refuse(j, e);
            continue;
        }
        auto& sl = _slots[n];
        sl.sess = s->enc;
        set_iv(sl, *s, j.header.src_id, j.iv_ctr);
        sl.aad = j.out.data();
        sl.src = j.plaintext.data();
        sl.dst = j.out.data() + header_size;
        sl.len = static_cast<std::uint32_t>(j.plaintext.size());
        sl.digest = sl.dst + sl.len;
        sl.mbuf = j.mbuf;
        _pending[n++] = static_cast<std::uint32_t>(i);
    }
    if (n == 0) {
        return ok;
    }
    // 2. Through the device.
    process(n);
    // 3. Results. A job the device did not finish leaves nothing to send.
    for (std::size_t k = 0; k < n; ++k) {
        auto& j = jobs[_pending[k]];
        if (_slots[k].result != slot_result::ok) {
            ++_counters.device_errors;
            crypto::secure_zero(j.out.first(header_size + j.plaintext.size() + tag_len));
            refuse(j, crypto_error::internal_error);
            continue;
        }
        j.status = crypto_error::ok;
        j.size = header_size + j.plaintext.size() + tag_len;
        ++_counters.sealed;
        ++ok;
    }
    return ok;
}

crypto_error cryptodev_engine::check_open(open_job& j, std::uint16_t& sig_len,
                                          std::size_t& payload) {
    // The same checks in the same order as packet_cipher::open (the decoder
    // it uses requires the lengths to add up to the datagram exactly).
    protocol::uftp_header header;
    protocol::message_type type{};
    if (protocol::decode_header(j.datagram, header, type) != protocol::wire_error::ok) {
        return crypto_error::datagram_malformed;
    }
    if (type != protocol::message_type::encrypted) {
        return crypto_error::not_encrypted;
    }
    const std::uint8_t* d = j.datagram.data();
    if (j.datagram.size() < header_size) {
        return crypto_error::datagram_malformed;
    }
    sig_len = get_u16(d + 24);
    payload = get_u16(d + 26);
    if (header_size + sig_len + payload != j.datagram.size()) {
        return crypto_error::datagram_malformed;
    }
    j.opened.header = header;
    j.opened.iv_ctr = get_u64(d + protocol::uftp_header_size);
    if (j.plaintext_out.size() < payload) {
        return crypto_error::buffer_too_small;
    }
    const std::uint8_t* payload_ptr = d + header_size + sig_len;
    if (j.plaintext_out.data() != payload_ptr &&
        overlaps(j.plaintext_out.data(), j.plaintext_out.size(), d, j.datagram.size())) {
        return crypto_error::buffers_overlap;
    }
    if (sig_len != 0) {
        return crypto_error::signature_length_wrong;
    }
    if (payload <= tag_len) {
        return crypto_error::payload_length_invalid;
    }
    return crypto_error::ok;
}

std::size_t cryptodev_engine::open_chunk(std::span<open_job> jobs) {
    std::size_t ok = 0;
    std::size_t n = 0;
    auto refuse = [this](open_job& j, crypto_error e) {
        j.status = e;
        j.opened = {};
        ++_counters.open_refused;
        _counters.auth_failures += e == crypto_error::tag_mismatch ||
                                           e == crypto_error::hmac_mismatch ||
                                           e == crypto_error::signature_invalid
                                       ? 1
                                       : 0;
    };
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        auto& j = jobs[i];
        j.opened = {};
        auto via_openssl = [](aead_session& session, open_job& job) {
            auto r = session.openssl->open(job.datagram, job.plaintext_out, job.sender);
            if (!r) {
                return r.error();
            }
            job.opened = *r;
            return crypto_error::ok;
        };
        auto* s = before_device(j, refuse, via_openssl, _counters.opened, ok);
        if (s == nullptr) {
            continue;
        }
        std::uint16_t sig_len = 0;
        std::size_t payload = 0;
        if (auto e = check_open(j, sig_len, payload); e != crypto_error::ok) {
            refuse(j, e);
            continue;
        }
        auto& sl = _slots[n];
        sl.sess = s->dec;
        set_iv(sl, *s, j.opened.header.src_id, j.opened.iv_ctr);
        sl.aad = j.datagram.data();
        sl.src = j.datagram.data() + header_size;
        sl.dst = j.plaintext_out.data();
        sl.len = static_cast<std::uint32_t>(payload - tag_len);
        // The tag is read where it arrived, not after the output (which may
        // be elsewhere); the PMD only reads it when decrypting.
        sl.digest = const_cast<std::uint8_t*>(sl.src + sl.len);
        sl.mbuf = j.mbuf;
        _pending[n++] = static_cast<std::uint32_t>(i);
    }
    if (n == 0) {
        return ok;
    }
    process(n);
    for (std::size_t k = 0; k < n; ++k) {
        auto& j = jobs[_pending[k]];
        const auto& sl = _slots[k];
        crypto_error e = crypto_error::ok;
        if (sl.result == slot_result::auth_failed) {
            e = crypto_error::tag_mismatch;
        } else if (sl.result != slot_result::ok) {
            ++_counters.device_errors;
            e = crypto_error::internal_error;
        } else {
            if (!protocol::valid_sealed_func(j.plaintext_out[0])) {
                e = crypto_error::inner_type_invalid;
            }
        }
        if (e != crypto_error::ok) {
            // Decryption may have written into the output: wipe the payload's
            // length of it, as packet_cipher does, before refusing.
            crypto::secure_zero(j.plaintext_out.first(sl.len + tag_len));
            refuse(j, e);
            continue;
        }
        j.opened.inner_type = static_cast<protocol::message_type>(j.plaintext_out[0]);
        j.opened.plaintext_size = sl.len;
        j.status = crypto_error::ok;
        ++_counters.opened;
        ++ok;
    }
    return ok;
}

std::size_t cryptodev_engine::seal_burst(std::span<seal_job> jobs) {
    std::size_t ok = 0;
    for (std::size_t base = 0; base < jobs.size(); base += _max_burst) {
        ok += seal_chunk(jobs.subspan(base, std::min<std::size_t>(_max_burst, jobs.size() - base)));
    }
    return ok;
}

std::size_t cryptodev_engine::open_burst(std::span<open_job> jobs) {
    std::size_t ok = 0;
    for (std::size_t base = 0; base < jobs.size(); base += _max_burst) {
        ok += open_chunk(jobs.subspan(base, std::min<std::size_t>(_max_burst, jobs.size() - base)));
    }
    return ok;
}

} // namespace

seal_result<std::unique_ptr<seal_engine>> create_cryptodev_engine(const seal_options& options) {
    return cryptodev_engine::create(options);
}

void stop_crypto_devices() {
    auto& started = started_here();
    for (std::size_t id = 0; id < started.size(); ++id) {
        if (started[id]) {
            rte_cryptodev_stop(static_cast<std::uint8_t>(id));
            started[id] = false;
        }
    }
}

} // namespace skycast::dataplane::seal
