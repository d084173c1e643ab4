#pragma once
// Shared helpers for the engine tests: a scratch directory removed at the
// end of each test, deterministic source files, and a small-session config.

#include "crypto/keys.h"
#include "tests/sim/simulator.h"

#include <cstdint>
#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <vector>

namespace skycast::test {

namespace engine = control::engine;

class scratch_dir {
public:
    scratch_dir();
    ~scratch_dir();
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
    const std::string& path() const { return _path; }

private:
    std::string _path;
};

// Writes `size` pseudo-random bytes (a function of `seed`) with mtime `mtime`.
std::string write_file(const std::string& path, std::uint64_t size, std::uint32_t seed,
                       std::uint32_t mtime = 1'600'000'000);

engine::file_entry regular_entry(const std::string& source, const std::string& name);

// A short, fast session: 1 ms links, 20 announce rounds (stock), GRTT starting at
// 10 ms, 100 Mbit/s, block size 1300, receivers in dir/dest.
sim::sim_config small_config(const scratch_dir& dir, std::vector<engine::file_entry> files,
                             std::uint32_t receivers, std::uint64_t seed = 1);
// As a lossy link's hub and receivers are set up: every receiver listed (a
// closed group) and every control datagram sent `copies` times.
void closed_group_with_copies(sim::sim_config& cfg, std::uint32_t copies);

// Scenarios both the plain and the encrypted session tests run.
// A file of 2.5 sections (block 512: 4096 blocks per section) to 10
// receivers at 10 % loss.
inline constexpr std::uint64_t multi_section_file_size = 512ull * 4096 * 5 / 2 + 77;
sim::sim_config multi_section_under_loss(const scratch_dir& dir);
// A 4 MB file to 10 receivers over a 600 ms RTT with bursty loss, GRTT
// starting at the stock 0.5 s (announce rounds must outlast one RTT).
sim::sim_config long_rtt_bursty_loss(const scratch_dir& dir);

// An encrypted session's parameters (spec §5.1).
struct encryption_case {
    const char* name = "";
    protocol::keyexchange_type keyex = protocol::keyexchange_type::rsa;
    protocol::key_type cipher = protocol::key_type::aes256_gcm;
    protocol::hash_type hash = protocol::hash_type::sha256;
    protocol::signature_type sigtype = protocol::signature_type::none; // the suite's default
    bool client_auth = false;
};

// Keys made once per test process (key generation is the slow part of a
// small encrypted session): RSA-1024 and EC P-256, `which` picks one of a few.
std::shared_ptr<const crypto::private_key> test_rsa_key(int which = 0);
std::shared_ptr<const crypto::private_key> test_ec_key(int which = 0);

// Makes `cfg` an encrypted session: the server key fits the key exchange
// (RSA, or EC for ecdh_ecdsa), and every receiver holds an RSA and an EC key
// (shared: a client key only needs to be one of its type).
void encrypt(sim::sim_config& cfg, const encryption_case& e);

// What went over the wire was an encrypted session: the key exchange
// completed for `keyed` clients, and FILEINFO, FILESEG, DONE, DONE_CONF,
// FILEINFO_ACK, STATUS and COMPLETE never appeared in the clear.
testing::AssertionResult sealed_session(const sim::sim_report& report, std::uint32_t keyed);

// Says why receivers failed (for test failure messages): the first `limit`
// of them, then how many more, so a broken engine with 200 receivers gives a
// screenful, not megabytes.
std::string describe_failures(const sim::sim_report& report, std::size_t limit = 8);

// Small sessions never need more events than this; hitting it means an
// engine loops, and the run stops at once instead of running away.
inline constexpr std::uint64_t test_max_events = 20'000'000;

// The run ended by itself: neither the time nor the event bound stopped it.
testing::AssertionResult run_finished(const sim::sim_report& report);

// Every receiver ended byte-identical and completed at the sender, with no
// visible incomplete file and no temp file left. Stops at the first problem
// and describes it once (use with ASSERT_TRUE: one failure per session).
testing::AssertionResult all_identical(const sim::sim_report& report, std::uint32_t receivers);

} // namespace skycast::test
