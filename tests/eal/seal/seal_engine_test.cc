// dataplane/seal: both backends (OpenSSL, DPDK cryptodev with the ipsec_mb
// software PMDs) against crypto::packet_cipher, the reference sealer: the
// same bytes for every AEAD suite and size, each other's output opened,
// tampering refused with nothing released, the IV counter guarantee, mixed
// bursts, the caller's mbuf, and clear errors for bad devices and suites.
//
// In-process EAL (main() below): --no-huge --no-pci --no-shconf, a unique
// --file-prefix, crypto_aesni_gcm0 probed by EAL from --vdev and
// crypto_aesni_mb0 created by the engine itself (both creation paths).
#include "crypto/key_schedule.h"
#include "crypto/packet_cipher.h"
#include "crypto/secure_memory.h"
#include "dataplane/seal/backends.h"
#include "dataplane/seal/seal_engine.h"
#include "protocol/codec.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <random>
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <string>
#include <unistd.h>
#include <vector>

using namespace skycast;
using namespace skycast::dataplane::seal;
using crypto::crypto_error;

namespace {

constexpr const char* gcm_device = "crypto_aesni_gcm0"; // GCM only (probed by EAL)
constexpr const char* mb_device = "crypto_aesni_mb0";   // GCM and CCM (created by the engine)

struct aead_case {
    const char* label;
    protocol::key_type cipher;
    const char* device; // a device that supports it
};

constexpr aead_case aead_suites[] = {
    {"aes128-gcm", protocol::key_type::aes128_gcm, gcm_device},
    {"aes256-gcm", protocol::key_type::aes256_gcm, gcm_device},
    {"aes128-ccm", protocol::key_type::aes128_ccm, mb_device},
    {"aes256-ccm", protocol::key_type::aes256_ccm, mb_device},
};
constexpr std::size_t sizes[] = {0, 1, 1300, 8000, 8800};

const protocol::uftp_header header{0x1234, 0xc0000202, 0x11223344, 1, 0x55, 0x66};

crypto::suite make(protocol::key_type cipher,
                   protocol::signature_type sig = protocol::signature_type::authenc) {
    auto s = crypto::make_suite(cipher, protocol::hash_type::sha256, sig);
    EXPECT_TRUE(s.ok());
    return *s;
}

crypto::key_block keys_for(const crypto::suite& s, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<std::uint8_t> bytes(crypto::key_block_size(s));
    for (auto& b : bytes) {
        b = static_cast<std::uint8_t>(rng());
    }
    auto k = crypto::key_block::from_bytes(s, bytes);
    EXPECT_TRUE(k.ok());
    return std::move(k).value();
}

// An encoded inner message: FILESEG's func byte, then varied bytes.
std::vector<std::uint8_t> plaintext(std::size_t n, unsigned seed = 1) {
    std::vector<std::uint8_t> p(n);
    std::mt19937 rng(seed + static_cast<unsigned>(n));
    for (auto& b : p) {
        b = static_cast<std::uint8_t>(rng());
    }
    if (n > 0) {
        p[0] = 9; // FILESEG
    }
    return p;
}

seal_options cryptodev_options(const char* device, std::uint16_t qp = 0, bool cpu = true) {
    seal_options o;
    o.backend = backend_kind::cryptodev;
    o.cryptodev_device = device;
    o.queue_pair = qp;
    o.queue_pairs = 2;
    o.cpu_crypto = cpu;
    return o;
}

// The backends and, for cryptodev, both ways of driving the device: the
// enqueue/dequeue path (what a hardware PMD uses) and the synchronous CPU path.
struct variant {
    const char* label;
    backend_kind kind;
    bool cpu_crypto;
};
const variant variants[] = {
    {"openssl", backend_kind::openssl, false},
    {"cryptodev-ops", backend_kind::cryptodev, false},
    {"cryptodev-cpu", backend_kind::cryptodev, true},
};

std::unique_ptr<seal_engine> engine_for(const variant& v, const char* device) {
    auto e = v.kind == backend_kind::openssl
                 ? create_seal_engine(seal_options{})
                 : create_seal_engine(cryptodev_options(device, 0, v.cpu_crypto));
    EXPECT_TRUE(e.ok()) << name(e.error()) << ": " << describe(e.error());
    return e.ok() ? std::move(e).value() : nullptr;
}
const variant& ops_variant = variants[1];

struct reference {
    std::vector<std::uint8_t> datagram;
    crypto_error status = crypto_error::ok;
};

reference reference_seal(const crypto::suite& s, const crypto::key_block& k,
                         std::span<const std::uint8_t> plain, std::uint64_t ctr) {
    auto pc = crypto::packet_cipher::create(s, k);
    EXPECT_TRUE(pc.ok());
    reference r;
    r.datagram.assign(pc->sealed_size(plain.size()), 0);
    auto n = pc->seal(header, plain, ctr, r.datagram);
    r.status = n.ok() ? crypto_error::ok : n.error();
    r.datagram.resize(n.ok() ? *n : 0);
    return r;
}

bool all_zero(std::span<const std::uint8_t> b) {
    return std::all_of(b.begin(), b.end(), [](std::uint8_t x) { return x == 0; });
}

} // namespace

TEST(seal_engine, seals_byte_identical_to_packet_cipher_for_every_aead_suite_and_size) {
    for (const auto& c : aead_suites) {
        const auto s = make(c.cipher);
        const auto k = keys_for(s, 7);
        for (const auto& b : variants) {
            auto e = engine_for(b, c.device);
            ASSERT_NE(e, nullptr);
            auto id = e->add_session(s, k);
            ASSERT_TRUE(id.ok()) << c.label << " " << b.label << ": " << name(id.error());
            std::uint64_t ctr = 0;
            for (auto n : sizes) {
                for (int in_place = 0; in_place < 2; ++in_place) {
                    SCOPED_TRACE(std::string(c.label) + " " + std::string(b.label) + " size " +
                                 std::to_string(n) + (in_place != 0 ? " in place" : ""));
                    const auto plain = plaintext(n);
                    ++ctr;
                    const auto want = reference_seal(s, k, plain, ctr);
                    std::vector<std::uint8_t> out(e->sealed_size(*id, n) + 5, 0xee);
                    seal_job j{.session = *id, .header = header, .iv_ctr = ctr};
                    if (in_place != 0) {
                        std::copy(plain.begin(), plain.end(),
                                  out.begin() + static_cast<long>(e->payload_offset(*id)));
                        j.plaintext = std::span(out).subspan(e->payload_offset(*id), n);
                    } else {
                        j.plaintext = plain;
                    }
                    j.out = out;
                    const std::size_t ok = e->seal_burst(std::span(&j, 1));
                    EXPECT_EQ(j.status, want.status) << crypto::name(j.status);
                    if (want.status != crypto_error::ok) {
                        EXPECT_EQ(ok, 0u);
                        continue;
                    }
                    EXPECT_EQ(ok, 1u);
                    ASSERT_EQ(j.size, want.datagram.size());
                    EXPECT_TRUE(
                        std::equal(want.datagram.begin(), want.datagram.end(), out.begin()));
                    EXPECT_EQ(out[j.size], 0xee) << "wrote past the datagram";
                }
            }
            EXPECT_EQ(e->counters().sealed, 8u); // 4 sizes x 2 layouts; size 0 refused
            EXPECT_EQ(e->counters().seal_refused, 2u);
        }
    }
}

TEST(seal_engine, each_backend_opens_the_others_output) {
    for (const auto& c : aead_suites) {
        const auto s = make(c.cipher);
        const auto k = keys_for(s, 11);
        for (const auto& sealer : variants) {
            for (const auto& opener : variants) {
                if (&sealer == &opener) {
                    continue;
                }
                auto se = engine_for(sealer, c.device);
                auto oe = engine_for(opener, c.device);
                ASSERT_TRUE(se && oe);
                auto sid = se->add_session(s, k);
                auto oid = oe->add_session(s, k);
                ASSERT_TRUE(sid.ok() && oid.ok());
                std::uint64_t ctr = 100;
                for (auto n : sizes) {
                    if (n == 0) {
                        continue; // nothing to seal (checked above)
                    }
                    SCOPED_TRACE(std::string(c.label) + " sealed by " + sealer.label +
                                 ", opened by " + opener.label + ", size " + std::to_string(n));
                    const auto plain = plaintext(n, 3);
                    std::vector<std::uint8_t> dg(se->sealed_size(*sid, n));
                    seal_job sj{.session = *sid,
                                .header = header,
                                .iv_ctr = ++ctr,
                                .plaintext = plain,
                                .out = dg};
                    ASSERT_EQ(se->seal_burst(std::span(&sj, 1)), 1u) << crypto::name(sj.status);

                    // Out of place, then in place (plaintext over the ciphertext).
                    std::vector<std::uint8_t> got(dg.size(), 0xcc);
                    open_job oj{.session = *oid, .datagram = dg, .plaintext_out = got};
                    ASSERT_EQ(oe->open_burst(std::span(&oj, 1)), 1u) << crypto::name(oj.status);
                    EXPECT_EQ(oj.opened.plaintext_size, n);
                    EXPECT_EQ(oj.opened.header, header);
                    EXPECT_EQ(oj.opened.iv_ctr, ctr);
                    EXPECT_EQ(oj.opened.inner_type, protocol::message_type::fileseg);
                    EXPECT_TRUE(std::equal(plain.begin(), plain.end(), got.begin()));

                    auto payload = std::span(dg).subspan(oe->payload_offset(*oid));
                    open_job ip{.session = *oid, .datagram = dg, .plaintext_out = payload};
                    ASSERT_EQ(oe->open_burst(std::span(&ip, 1)), 1u) << crypto::name(ip.status);
                    EXPECT_TRUE(std::equal(plain.begin(), plain.end(), payload.begin()));
                }
                EXPECT_EQ(oe->counters().opened, 8u);
            }
        }
    }
}

TEST(seal_engine, tampered_tag_aad_or_ciphertext_is_refused_and_nothing_released) {
    for (const auto& c : aead_suites) {
        const auto s = make(c.cipher);
        const auto k = keys_for(s, 13);
        for (const auto& b : variants) {
            auto e = engine_for(b, c.device);
            ASSERT_NE(e, nullptr);
            auto id = e->add_session(s, k);
            ASSERT_TRUE(id.ok());
            const auto plain = plaintext(1300, 5);
            std::vector<std::uint8_t> dg(e->sealed_size(*id, plain.size()));
            seal_job sj{
                .session = *id, .header = header, .iv_ctr = 1, .plaintext = plain, .out = dg};
            ASSERT_EQ(e->seal_burst(std::span(&sj, 1)), 1u);
            // AAD bytes that keep the datagram parseable: seq, group, IV counter.
            const std::size_t tag_at = dg.size() - 1;
            const std::size_t ct_at = e->payload_offset(*id) + 100;
            const std::size_t positions[] = {2, 9, 19, ct_at, tag_at};
            std::uint64_t failures = 0;
            for (auto pos : positions) {
                for (int in_place = 0; in_place < 2; ++in_place) {
                    SCOPED_TRACE(std::string(c.label) + " " + std::string(b.label) + " byte " +
                                 std::to_string(pos) + (in_place != 0 ? " in place" : ""));
                    auto bad = dg;
                    bad[pos] ^= 0x01;
                    std::vector<std::uint8_t> out(dg.size(), 0xaa);
                    auto target = in_place != 0 ? std::span(bad).subspan(e->payload_offset(*id))
                                                : std::span(out);
                    open_job j{.session = *id, .datagram = bad, .plaintext_out = target};
                    EXPECT_EQ(e->open_burst(std::span(&j, 1)), 0u);
                    EXPECT_EQ(j.status, crypto_error::tag_mismatch) << crypto::name(j.status);
                    EXPECT_TRUE(all_zero(target.first(plain.size() + crypto::aead_tag_len)))
                        << "unauthenticated bytes released";
                    EXPECT_EQ(j.opened.plaintext_size, 0u);
                    ++failures;
                }
            }
            EXPECT_EQ(e->counters().auth_failures, failures);
            EXPECT_EQ(e->counters().open_refused, failures);
            EXPECT_EQ(e->counters().opened, 0u);
        }
    }
}

TEST(seal_engine, malformed_datagrams_get_the_same_errors_from_both_backends) {
    const auto s = make(protocol::key_type::aes256_gcm);
    const auto k = keys_for(s, 17);
    auto ref = crypto::packet_cipher::create(s, k);
    ASSERT_TRUE(ref.ok());
    const auto plain = plaintext(64);
    std::vector<std::uint8_t> dg(ref->sealed_size(plain.size()));
    ASSERT_TRUE(ref->seal(header, plain, 1, dg).ok());
    std::vector<std::vector<std::uint8_t>> cases;
    cases.push_back(std::vector<std::uint8_t>(dg.begin(), dg.begin() + 20)); // truncated header
    cases.push_back(dg);
    cases.back()[1] = 9; // not ENCRYPTED
    cases.push_back(dg);
    cases.back().pop_back(); // lengths do not add up
    cases.push_back(std::vector<std::uint8_t>(dg.begin(), dg.begin() + 28 + 16));
    cases.back()[27] = 16; // payload is just a tag
    cases.back()[26] = 0;
    std::uint64_t ref_ctr = 1; // the reference sealed counter 1 above
    for (const auto& b : variants) {
        auto e = engine_for(b, gcm_device);
        ASSERT_NE(e, nullptr);
        auto id = e->add_session(s, k);
        ASSERT_TRUE(id.ok());
        for (std::size_t i = 0; i < cases.size(); ++i) {
            std::vector<std::uint8_t> out(dg.size());
            auto want = ref->open(cases[i], out);
            ASSERT_FALSE(want.ok());
            open_job j{.session = *id, .datagram = cases[i], .plaintext_out = out};
            EXPECT_EQ(e->open_burst(std::span(&j, 1)), 0u);
            EXPECT_EQ(j.status, want.error())
                << b.label << " case " << i << ": " << crypto::name(j.status);
        }
        // A plaintext buffer too small, and one overlapping the datagram.
        std::vector<std::uint8_t> small(10);
        open_job j{.session = *id, .datagram = dg, .plaintext_out = small};
        EXPECT_EQ(e->open_burst(std::span(&j, 1)), 0u);
        EXPECT_EQ(j.status, crypto_error::buffer_too_small);
        auto shifted = dg;
        open_job o{
            .session = *id, .datagram = shifted, .plaintext_out = std::span(shifted).subspan(10)};
        EXPECT_EQ(e->open_burst(std::span(&o, 1)), 0u);
        EXPECT_EQ(o.status, crypto_error::buffers_overlap);
        // A session the engine does not hold.
        open_job u{.session = 7, .datagram = dg, .plaintext_out = small};
        EXPECT_EQ(e->open_burst(std::span(&u, 1)), 0u);
        EXPECT_EQ(u.status, crypto_error::key_mismatch);
        EXPECT_EQ(e->counters().unknown_session, 1u);
        // Authentic, but the decrypted message starts with an invalid
        // function code (0, or a nested ENCRYPTED): refused, output wiped.
        for (std::uint8_t func : {std::uint8_t{0}, std::uint8_t{18}}) {
            auto inner = plaintext(64);
            inner[0] = func;
            std::vector<std::uint8_t> sealed(ref->sealed_size(inner.size()));
            ASSERT_TRUE(ref->seal(header, inner, ++ref_ctr, sealed).ok());
            std::vector<std::uint8_t> out(sealed.size(), 0xaa);
            open_job bad{.session = *id, .datagram = sealed, .plaintext_out = out};
            EXPECT_EQ(e->open_burst(std::span(&bad, 1)), 0u);
            EXPECT_EQ(bad.status, crypto_error::inner_type_invalid) << b.label;
            EXPECT_TRUE(all_zero(std::span(out).first(inner.size() + crypto::aead_tag_len)));
        }
    }
}

TEST(seal_engine, a_full_device_queue_is_retried_not_dropped) {
    // A device of its own whose queue pair holds fewer ops than a burst: the
    // engine must enqueue what fits, collect, and enqueue the rest.
    seal_options o = cryptodev_options("crypto_aesni_gcm1", 0, false);
    o.queue_pairs = 1;
    o.queue_depth = 16;
    o.max_burst = 16;
    auto e = create_seal_engine(o);
    ASSERT_TRUE(e.ok()) << describe(e.error());
    const auto s = make(protocol::key_type::aes128_gcm);
    const auto k = keys_for(s, 41);
    auto id = e.value()->add_session(s, k);
    ASSERT_TRUE(id.ok());
    auto ref = crypto::packet_cipher::create(s, k);
    ASSERT_TRUE(ref.ok());
    constexpr std::size_t burst = 40; // also longer than max_burst: cut in three
    std::vector<std::vector<std::uint8_t>> plains(burst), outs(burst);
    std::vector<seal_job> jobs(burst);
    for (std::size_t i = 0; i < burst; ++i) {
        plains[i] = plaintext(100 + i * 50, static_cast<unsigned>(i));
        outs[i].assign(e.value()->sealed_size(*id, plains[i].size()), 0);
        jobs[i] = seal_job{.session = *id,
                           .header = header,
                           .iv_ctr = i + 1,
                           .plaintext = plains[i],
                           .out = outs[i]};
    }
    EXPECT_EQ(e.value()->seal_burst(jobs), burst);
    for (std::size_t i = 0; i < burst; ++i) {
        std::vector<std::uint8_t> want(ref->sealed_size(plains[i].size()));
        ASSERT_TRUE(ref->seal(header, plains[i], i + 1, want).ok());
        EXPECT_EQ(outs[i], want) << "job " << i;
    }
    // A ring of 16 descriptors holds 15 ops: every chunk of 16 falls short once.
    EXPECT_GE(e.value()->counters().enqueue_shortfalls, 2u);
    EXPECT_EQ(e.value()->counters().sealed, burst);
}

TEST(seal_engine, a_non_increasing_iv_counter_is_refused) {
    for (const auto& c : aead_suites) {
        const auto s = make(c.cipher);
        const auto k = keys_for(s, 19);
        for (const auto& b : variants) {
            SCOPED_TRACE(std::string(c.label) + " " + std::string(b.label));
            auto e = engine_for(b, c.device);
            ASSERT_NE(e, nullptr);
            auto id = e->add_session(s, k);
            ASSERT_TRUE(id.ok());
            const auto plain = plaintext(100);
            std::vector<std::vector<std::uint8_t>> outs(6, std::vector<std::uint8_t>(200, 0x77));
            // One burst: 5, 5 (repeat), 4 (backwards), 6, then 6 and 9 in the next.
            const std::uint64_t ctrs[] = {5, 5, 4, 6};
            std::vector<seal_job> jobs;
            for (std::size_t i = 0; i < 4; ++i) {
                jobs.push_back(seal_job{.session = *id,
                                        .header = header,
                                        .iv_ctr = ctrs[i],
                                        .plaintext = plain,
                                        .out = outs[i]});
            }
            EXPECT_EQ(e->seal_burst(jobs), 2u);
            EXPECT_EQ(jobs[0].status, crypto_error::ok);
            EXPECT_EQ(jobs[1].status, crypto_error::iv_counter_not_increasing);
            EXPECT_EQ(jobs[2].status, crypto_error::iv_counter_not_increasing);
            EXPECT_EQ(jobs[3].status, crypto_error::ok);
            EXPECT_EQ(jobs[1].size, 0u);
            // Nothing was written for the refused ones.
            EXPECT_TRUE(
                std::all_of(outs[1].begin(), outs[1].end(), [](auto x) { return x == 0x77; }));
            seal_job again[] = {
                {.session = *id, .header = header, .iv_ctr = 6, .plaintext = plain, .out = outs[4]},
                {.session = *id,
                 .header = header,
                 .iv_ctr = 9,
                 .plaintext = plain,
                 .out = outs[5]}};
            EXPECT_EQ(e->seal_burst(again), 1u);
            EXPECT_EQ(again[0].status, crypto_error::iv_counter_not_increasing);
            EXPECT_EQ(again[1].status, crypto_error::ok);
            EXPECT_EQ(e->counters().iv_refused, 3u);
            // A second session has its own counter.
            auto id2 = e->add_session(s, keys_for(s, 20));
            ASSERT_TRUE(id2.ok());
            seal_job other{
                .session = *id2, .header = header, .iv_ctr = 1, .plaintext = plain, .out = outs[1]};
            EXPECT_EQ(e->seal_burst(std::span(&other, 1)), 1u);
        }
    }
}

TEST(seal_engine, bursts_of_32_mixed_sizes_and_sessions_match_the_reference) {
    // crypto_aesni_mb0 serves GCM and CCM, so one burst mixes both.
    const auto gcm = make(protocol::key_type::aes256_gcm);
    const auto ccm = make(protocol::key_type::aes128_ccm);
    const auto kg = keys_for(gcm, 23);
    const auto kc = keys_for(ccm, 29);
    for (const auto& b : variants) {
        SCOPED_TRACE(std::string(b.label));
        // Fresh references per backend: each keeps its own IV counter guard.
        auto ref_g = crypto::packet_cipher::create(gcm, kg);
        auto ref_c = crypto::packet_cipher::create(ccm, kc);
        ASSERT_TRUE(ref_g.ok() && ref_c.ok());
        auto e = engine_for(b, mb_device);
        ASSERT_NE(e, nullptr);
        auto ig = e->add_session(gcm, kg);
        auto ic = e->add_session(ccm, kc);
        ASSERT_TRUE(ig.ok() && ic.ok());
        for (int round = 0; round < 3; ++round) {
            constexpr std::size_t burst = 32;
            std::vector<std::vector<std::uint8_t>> plains(burst);
            std::vector<std::vector<std::uint8_t>> outs(burst);
            std::vector<seal_job> jobs(burst);
            std::mt19937 rng(static_cast<unsigned>(round));
            for (std::size_t i = 0; i < burst; ++i) {
                const std::size_t n = 1 + rng() % 8800;
                plains[i] = plaintext(n, static_cast<unsigned>(i));
                const bool use_ccm = i % 3 == 1;
                const auto id = use_ccm ? *ic : *ig;
                outs[i].assign(e->sealed_size(id, n), 0);
                // Counters per session: round * 100 + position keeps them increasing.
                jobs[i] = seal_job{.session = id,
                                   .header = header,
                                   .iv_ctr = static_cast<std::uint64_t>(round * 100 + i + 1),
                                   .plaintext = plains[i],
                                   .out = outs[i]};
            }
            ASSERT_EQ(e->seal_burst(jobs), burst);
            std::vector<std::vector<std::uint8_t>> opened(burst);
            std::vector<open_job> ojobs(burst);
            for (std::size_t i = 0; i < burst; ++i) {
                auto& ref = i % 3 == 1 ? *ref_c : *ref_g;
                std::vector<std::uint8_t> want(ref.sealed_size(plains[i].size()));
                ASSERT_TRUE(ref.seal(header, plains[i], jobs[i].iv_ctr, want).ok());
                EXPECT_EQ(outs[i], want) << "job " << i;
                opened[i].assign(outs[i].size(), 0);
                ojobs[i] = open_job{
                    .session = jobs[i].session, .datagram = outs[i], .plaintext_out = opened[i]};
            }
            ASSERT_EQ(e->open_burst(ojobs), burst);
            for (std::size_t i = 0; i < burst; ++i) {
                ASSERT_EQ(ojobs[i].opened.plaintext_size, plains[i].size());
                EXPECT_TRUE(std::equal(plains[i].begin(), plains[i].end(), opened[i].begin()));
            }
        }
        EXPECT_EQ(e->counters().sealed, 96u);
        EXPECT_EQ(e->counters().opened, 96u);
        EXPECT_EQ(e->counters().enqueue_shortfalls, 0u);
    }
}

TEST(seal_engine, seals_in_place_in_the_callers_mbuf) {
    // The TX lcore's layout: the plaintext already at payload_offset() in an
    // mbuf; the device gets the mbuf itself, not a wrapper.
    rte_mempool* pool = rte_pktmbuf_pool_create("seal_test_mbufs", 63, 0, 0,
                                                RTE_PKTMBUF_HEADROOM + 9216, SOCKET_ID_ANY);
    ASSERT_NE(pool, nullptr);
    for (const auto& c : aead_suites) {
        for (const auto* v : {&variants[1], &variants[2]}) {
            SCOPED_TRACE(std::string(c.label) + " " + v->label);
            const auto s = make(c.cipher);
            const auto k = keys_for(s, 31);
            auto e = engine_for(*v, c.device);
            ASSERT_NE(e, nullptr);
            auto id = e->add_session(s, k);
            ASSERT_TRUE(id.ok());
            for (std::uint64_t ctr = 1; ctr <= 2; ++ctr) {
                const std::size_t n = ctr == 1 ? 1300 : 8800;
                const auto plain = plaintext(n);
                rte_mbuf* m = rte_pktmbuf_alloc(pool);
                ASSERT_NE(m, nullptr);
                auto* data = reinterpret_cast<std::uint8_t*>(
                    rte_pktmbuf_append(m, static_cast<std::uint16_t>(e->sealed_size(*id, n))));
                ASSERT_NE(data, nullptr);
                const std::span<std::uint8_t> dg(data, e->sealed_size(*id, n));
                std::copy(plain.begin(), plain.end(), dg.begin() + 28);
                seal_job j{.session = *id,
                           .header = header,
                           .iv_ctr = ctr,
                           .plaintext = dg.subspan(28, n),
                           .out = dg,
                           .mbuf = m};
                EXPECT_EQ(e->seal_burst(std::span(&j, 1)), 1u) << crypto::name(j.status);
                const auto want = reference_seal(s, k, plain, ctr);
                EXPECT_TRUE(std::equal(want.datagram.begin(), want.datagram.end(), dg.begin()))
                    << c.label << " " << n;
                // And open it in place in the same mbuf.
                open_job o{
                    .session = *id, .datagram = dg, .plaintext_out = dg.subspan(28), .mbuf = m};
                EXPECT_EQ(e->open_burst(std::span(&o, 1)), 1u) << crypto::name(o.status);
                EXPECT_TRUE(std::equal(plain.begin(), plain.end(), dg.begin() + 28));
                rte_pktmbuf_free(m);
            }
        }
    }
    rte_mempool_free(pool);
}

TEST(seal_engine, clear_errors_for_a_wrong_device_or_suite) {
    // Configures crypto_aesni_gcm0 with 2 queue pairs if no test did yet.
    auto gcm_only = engine_for(ops_variant, gcm_device);
    ASSERT_NE(gcm_only, nullptr);
    auto bad = create_seal_engine(cryptodev_options("crypto_nosuch0"));
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error(), seal_error::device_not_found);
    EXPECT_NE(describe(bad.error()).find("no crypto device of that name"), std::string_view::npos);

    EXPECT_EQ(create_seal_engine(cryptodev_options("")).error(), seal_error::device_name_empty);
    auto qp = cryptodev_options(gcm_device, 5);
    qp.queue_pairs = 6;
    EXPECT_EQ(create_seal_engine(qp).error(), seal_error::queue_pair_out_of_range);
    auto inverted = cryptodev_options(gcm_device, 2);
    EXPECT_EQ(create_seal_engine(inverted).error(), seal_error::options_invalid);

    // Fallback only when asked for, and it says why.
    auto asked = cryptodev_options("crypto_nosuch0");
    asked.openssl_fallback = true;
    auto fb = create_seal_engine(asked);
    ASSERT_TRUE(fb.ok());
    EXPECT_EQ(fb.value()->backend(), backend_kind::openssl);
    EXPECT_EQ(fb.value()->fallback_reason(), seal_error::device_not_found);

    // CCM on the GCM-only device.
    const auto ccm = make(protocol::key_type::aes128_ccm);
    auto r = gcm_only->add_session(ccm, keys_for(ccm, 1));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), seal_error::algorithm_not_supported);

    // CBC+HMAC: OpenSSL only, and only when allowed; then byte-identical.
    const auto cbc = make(protocol::key_type::aes256_cbc, protocol::signature_type::hmac);
    const auto kcbc = keys_for(cbc, 37);
    EXPECT_EQ(gcm_only->add_session(cbc, kcbc).error(), seal_error::suite_not_aead);
    auto with_fb = cryptodev_options(gcm_device);
    with_fb.openssl_fallback = true;
    auto mixed = create_seal_engine(with_fb);
    ASSERT_TRUE(mixed.ok());
    EXPECT_EQ(mixed.value()->backend(), backend_kind::cryptodev);
    auto id = mixed.value()->add_session(cbc, kcbc);
    ASSERT_TRUE(id.ok());
    const auto plain = plaintext(1000);
    std::vector<std::uint8_t> out(mixed.value()->sealed_size(*id, plain.size()));
    seal_job j{.session = *id, .header = header, .iv_ctr = 3, .plaintext = plain, .out = out};
    EXPECT_EQ(mixed.value()->seal_burst(std::span(&j, 1)), 1u);
    const auto want = reference_seal(cbc, kcbc, plain, 3);
    EXPECT_EQ(out, want.datagram);
    EXPECT_EQ(mixed.value()->counters().openssl_packets, 1u);

    // Session table size is honoured.
    auto small = cryptodev_options(gcm_device);
    small.max_sessions = 1;
    auto one = create_seal_engine(small);
    ASSERT_TRUE(one.ok());
    const auto gcm = make(protocol::key_type::aes128_gcm);
    EXPECT_TRUE(one.value()->add_session(gcm, keys_for(gcm, 1)).ok());
    EXPECT_EQ(one.value()->add_session(gcm, keys_for(gcm, 2)).error(),
              seal_error::session_table_full);
}

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    if (crypto::initialize() != crypto_error::ok) {
        return 1;
    }
    const std::string prefix = "--file-prefix=skycast_seal_test_" + std::to_string(getpid());
    const char* eal_argv[] = {
        "seal_engine_test",         "-l", "0",   "--no-huge",    "--no-pci", "--no-shconf",
        "--no-telemetry",           "-m", "256", prefix.c_str(), "--vdev",   gcm_device,
        "--log-level=lib.eal:error"};
    std::vector<char*> args;
    for (const char* a : eal_argv) {
        args.push_back(const_cast<char*>(a));
    }
    if (rte_eal_init(static_cast<int>(args.size()), args.data()) < 0) {
        std::fprintf(stderr, "EAL initialisation failed\n");
        return 1;
    }
    const int rc = RUN_ALL_TESTS();
    stop_crypto_devices();
    // EAL leaves its runtime directory behind (empty with --no-shconf and
    // --no-telemetry: no config file, no sockets).
    const std::string runtime_dir = rte_eal_get_runtime_dir();
    rte_eal_cleanup();
    rmdir(runtime_dir.c_str());
    return rc;
}
