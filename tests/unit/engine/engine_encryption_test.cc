// Encrypted sessions through the simulator with the real engines,
// dataplane/core and crypto/: every key exchange and suite the engines offer
// delivers byte-identical files with nothing sensitive in the clear, and
// every attack (a wrong key, a bad signature, a tampered FILESEG or KEYINFO,
// plaintext injected into an encrypted session) ends without a file that
// looks complete but is not.
#include "control/engine/file_list.h"
#include "protocol/codec.h"
#include "tests/unit/engine/sim_fixture.h"

#include <filesystem>
#include <gtest/gtest.h>

namespace skycast::test {
namespace {

using protocol::hash_type;
using protocol::key_type;
using protocol::keyexchange_type;
using protocol::signature_type;

constexpr std::uint32_t block = 1300;

// 0, 1, B-1, B+1 bytes and ~200 KB: every edge of the FILESEG path.
std::vector<engine::file_entry> some_files(const scratch_dir& dir) {
    std::vector<engine::file_entry> files;
    const std::pair<const char*, std::uint64_t> sizes[] = {{"empty", 0},
                                                           {"one", 1},
                                                           {"b_minus_1", block - 1},
                                                           {"b_plus_1", block + 1},
                                                           {"f", 200'003}};
    std::uint32_t seed = 20;
    for (const auto& [name, size] : sizes) {
        const std::string src = dir.path() + "/src/" + name;
        write_file(src, size, seed++);
        files.push_back(regular_entry(src, name));
    }
    return files;
}

class engine_suites : public testing::TestWithParam<encryption_case> {};

TEST_P(engine_suites, deliver_byte_identical_files_with_nothing_in_the_clear) {
    scratch_dir dir;
    auto cfg = small_config(dir, some_files(dir), 10, 17);
    cfg.link.loss = 0.10;
    encrypt(cfg, GetParam());
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(all_identical(r, 10));
    ASSERT_TRUE(sealed_session(r, 10));
    EXPECT_GT(r.sender.blocks_resent, 0u); // the NAK path ran encrypted too
    EXPECT_EQ(r.filesegs_not_authentic, 0u);
    if (GetParam().client_auth || GetParam().sigtype == signature_type::keyex) {
        EXPECT_GT(r.sender.client_keys_in, 0u);
        EXPECT_GT(
            r.receivers_sent_by_type[static_cast<std::size_t>(protocol::message_type::client_key)],
            0u);
    }
}

std::string suite_name(const testing::TestParamInfo<encryption_case>& info) {
    return info.param.name;
}

// Every cipher with RSA key exchange; each key exchange with GCM, CCM and
// CBC+HMAC; the hashes; client authentication in each key exchange; and
// KEYEX signatures (RSA and ECDSA), which force client authentication.
const encryption_case suites[] = {
    {.name = "rsa_aes128gcm", .keyex = keyexchange_type::rsa, .cipher = key_type::aes128_gcm},
    {.name = "rsa_aes256gcm", .keyex = keyexchange_type::rsa, .cipher = key_type::aes256_gcm},
    {.name = "rsa_aes128ccm", .keyex = keyexchange_type::rsa, .cipher = key_type::aes128_ccm},
    {.name = "rsa_aes256ccm", .keyex = keyexchange_type::rsa, .cipher = key_type::aes256_ccm},
    {.name = "rsa_aes128cbc", .keyex = keyexchange_type::rsa, .cipher = key_type::aes128_cbc},
    {.name = "rsa_aes256cbc", .keyex = keyexchange_type::rsa, .cipher = key_type::aes256_cbc},
    {.name = "rsa_3des", .keyex = keyexchange_type::rsa, .cipher = key_type::des_ede3},
    {.name = "ecdhrsa_aes256gcm",
     .keyex = keyexchange_type::ecdh_rsa,
     .cipher = key_type::aes256_gcm},
    {.name = "ecdhrsa_aes128ccm",
     .keyex = keyexchange_type::ecdh_rsa,
     .cipher = key_type::aes128_ccm},
    {.name = "ecdhrsa_aes256cbc",
     .keyex = keyexchange_type::ecdh_rsa,
     .cipher = key_type::aes256_cbc},
    {.name = "ecdhecdsa_aes256gcm",
     .keyex = keyexchange_type::ecdh_ecdsa,
     .cipher = key_type::aes256_gcm},
    {.name = "ecdhecdsa_aes128ccm",
     .keyex = keyexchange_type::ecdh_ecdsa,
     .cipher = key_type::aes128_ccm},
    {.name = "ecdhecdsa_aes256cbc",
     .keyex = keyexchange_type::ecdh_ecdsa,
     .cipher = key_type::aes256_cbc},
    {.name = "rsa_sha1", .keyex = keyexchange_type::rsa, .hash = hash_type::sha1},
    {.name = "rsa_sha384", .keyex = keyexchange_type::rsa, .hash = hash_type::sha384},
    {.name = "ecdhecdsa_sha512", .keyex = keyexchange_type::ecdh_ecdsa, .hash = hash_type::sha512},
    {.name = "rsa_auth", .keyex = keyexchange_type::rsa, .client_auth = true},
    {.name = "ecdhrsa_auth", .keyex = keyexchange_type::ecdh_rsa, .client_auth = true},
    {.name = "ecdhecdsa_auth", .keyex = keyexchange_type::ecdh_ecdsa, .client_auth = true},
    {.name = "rsa_aes256cbc_keyex",
     .keyex = keyexchange_type::rsa,
     .cipher = key_type::aes256_cbc,
     .sigtype = signature_type::keyex},
    {.name = "ecdhecdsa_aes128cbc_keyex",
     .keyex = keyexchange_type::ecdh_ecdsa,
     .cipher = key_type::aes128_cbc,
     .sigtype = signature_type::keyex},
};

INSTANTIATE_TEST_SUITE_P(encryption, engine_suites, testing::ValuesIn(suites), suite_name);

TEST(engine_encryption, multi_section_file_under_loss) {
    scratch_dir dir;
    auto cfg = multi_section_under_loss(dir);
    encrypt(cfg, {.name = "gcm", .keyex = keyexchange_type::ecdh_ecdsa});
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(all_identical(r, 10));
    ASSERT_TRUE(sealed_session(r, 10));
    EXPECT_GT(r.sender.blocks_resent, 0u);
}

TEST(engine_encryption, few_megabyte_file_bursty_loss_long_rtt) {
    scratch_dir dir;
    auto cfg = long_rtt_bursty_loss(dir);
    encrypt(cfg,
            {.name = "ccm", .keyex = keyexchange_type::ecdh_rsa, .cipher = key_type::aes128_ccm});
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(all_identical(r, 10));
    ASSERT_TRUE(sealed_session(r, 10));
    // GRTT follows the measured RTT through sealed FILEINFO_ACKs too.
    EXPECT_NEAR(r.final_grtt, 0.6, 0.05);
}

TEST(engine_encryption, directory_tree_over_a_jittery_duplicating_reordering_link) {
    scratch_dir dir;
    const std::string root = dir.path() + "/src/tree";
    write_file(root + "/a/one.bin", 5000, 1, 1'500'000'000);
    write_file(root + "/a/b/two.bin", 1, 2, 1'500'000'001);
    write_file(root + "/c/three.bin", 0, 3);
    std::filesystem::create_directories(root + "/empty");
    std::filesystem::create_symlink("a/one.bin", root + "/link");
    const auto list = engine::build_file_list({root});
    ASSERT_TRUE(list.error.empty()) << list.error;
    auto cfg = small_config(dir, list.entries, 10, 9);
    cfg.link.loss = 0.05;
    cfg.link.jitter_s = 0.002;
    cfg.link.duplicate = 0.02;
    cfg.link.reorder = 0.02;
    encrypt(cfg, {.name = "cbc", .keyex = keyexchange_type::rsa, .cipher = key_type::aes128_cbc});
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(all_identical(r, 10));
    ASSERT_TRUE(sealed_session(r, 10));
}

TEST(engine_encryption, closed_group_with_key_fingerprints_admits_only_the_listed_keys) {
    scratch_dir dir;
    auto src = write_file(dir.path() + "/src/f", 20'000, 4);
    auto cfg = small_config(dir, {regular_entry(src, "f")}, 4, 3);
    encrypt(cfg, {.name = "auth", .keyex = keyexchange_type::ecdh_ecdsa, .client_auth = true});
    // Receivers 0..2 hold the listed key; receiver 3 authenticates with another one.
    cfg.sender.host_list = {sim::receiver_uid(0), sim::receiver_uid(1), sim::receiver_uid(2),
                            sim::receiver_uid(3)};
    for (std::uint32_t i = 0; i < 4; ++i) {
        cfg.sender.client_keys.push_back(
            {.uid = sim::receiver_uid(i), .fp = test_ec_key(1)->key_fingerprint()});
    }
    cfg.overrides[3] = {.down = cfg.link,
                        .up = cfg.link,
                        .encryption = engine::receiver_encryption{.keys = {test_ec_key(2)}}};
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(run_finished(r));
    ASSERT_EQ(r.receivers_ok, 3u) << describe_failures(r);
    const auto& bad = r.receivers[3];
    EXPECT_EQ(bad.at_sender, engine::client_outcome::key_exchange_failed);
    EXPECT_EQ(bad.reason, "Client key fingerprint mismatch");
    EXPECT_EQ(r.sender.client_key_refused, 1u);
    EXPECT_FALSE(std::filesystem::exists(cfg.work_dir + "/r3/f"));
    EXPECT_EQ(bad.temp_files_left, 0u);
}

TEST(engine_encryption, a_receiver_pinned_to_another_server_key_refuses_the_session) {
    scratch_dir dir;
    auto src = write_file(dir.path() + "/src/f", 20'000, 4);
    auto cfg = small_config(dir, {regular_entry(src, "f")}, 3, 3);
    encrypt(cfg, {.name = "rsa", .keyex = keyexchange_type::rsa});
    auto pinned = cfg.receiver_encryption;
    pinned.servers = {{.uid = sim::sender_uid, .fp = test_rsa_key(3)->key_fingerprint()}};
    cfg.overrides[0] = {.down = cfg.link, .up = cfg.link, .encryption = pinned};
    // Receiver 1 pins the right key: it joins.
    auto right = cfg.receiver_encryption;
    right.servers = {{.uid = sim::sender_uid, .fp = cfg.sender.encryption.key->key_fingerprint()}};
    cfg.overrides[1] = {.down = cfg.link, .up = cfg.link, .encryption = right};
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(run_finished(r));
    ASSERT_EQ(r.receivers_ok, 2u) << describe_failures(r);
    EXPECT_TRUE(r.receivers[1].ok);
    const auto& bad = r.receivers[0];
    EXPECT_EQ(bad.outcome, engine::receiver_outcome::refused);
    EXPECT_EQ(bad.reason, "Server key fingerprint mismatch");
    EXPECT_FALSE(std::filesystem::exists(cfg.work_dir + "/r0/f"));
}

TEST(engine_encryption, an_announce_with_a_bad_signature_is_not_followed) {
    scratch_dir dir;
    auto src = write_file(dir.path() + "/src/f", 20'000, 4);
    auto cfg = small_config(dir, {regular_entry(src, "f")}, 3, 3);
    encrypt(cfg, {.name = "ecdh", .keyex = keyexchange_type::ecdh_rsa});
    // Someone between the sender and receiver 0 rewrites every ANNOUNCE's last byte
    // (inside the signature: the open group has no client list after it).
    cfg.overrides[0] = {.down = cfg.link, .up = cfg.link};
    cfg.overrides[0].tamper = [](std::vector<std::uint8_t>& d) {
        if (d.size() > 1 && d[1] == static_cast<std::uint8_t>(protocol::message_type::announce)) {
            d.back() ^= 0x01;
        }
    };
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(run_finished(r));
    ASSERT_EQ(r.receivers_ok, 2u) << describe_failures(r);
    const auto& bad = r.receivers[0];
    EXPECT_EQ(bad.outcome, engine::receiver_outcome::running); // never joined
    EXPECT_EQ(bad.stats.announce_signature_bad, r.sender.announce_rounds);
    EXPECT_EQ(bad.stats.registers_sent, 0u);
    EXPECT_FALSE(std::filesystem::exists(cfg.work_dir + "/r0/f"));
}

// Flips a ciphertext bit of ENCRYPTED datagrams of at least `min_size` bytes
// (full-block FILESEGs), every `every`-th one.
std::function<void(std::vector<std::uint8_t>&)> tamper_filesegs(std::size_t min_size, int every) {
    auto n = std::make_shared<int>(0);
    return [=](std::vector<std::uint8_t>& d) {
        if (d.size() >= min_size &&
            d[1] == static_cast<std::uint8_t>(protocol::message_type::encrypted) &&
            ++*n % every == 0) {
            d[d.size() / 2] ^= 0x10;
        }
    };
}

TEST(engine_encryption, tampered_filesegs_are_dropped_and_the_file_still_arrives_intact) {
    scratch_dir dir;
    auto src = write_file(dir.path() + "/src/f", 300'000, 4);
    auto cfg = small_config(dir, {regular_entry(src, "f")}, 3, 3);
    encrypt(cfg, {.name = "gcm", .keyex = keyexchange_type::rsa});
    cfg.overrides[0] = {.down = cfg.link, .up = cfg.link};
    cfg.overrides[0].tamper = tamper_filesegs(block, 7);
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(all_identical(r, 3));
    ASSERT_TRUE(sealed_session(r, 3));
    // Every seventh full block failed its tag and was NAKed, not written.
    EXPECT_GE(r.filesegs_not_authentic, 300'000u / block / 7);
    EXPECT_GT(r.sender.blocks_resent, 0u);
}

TEST(engine_encryption, a_receiver_whose_every_block_is_tampered_never_shows_a_file) {
    scratch_dir dir;
    auto src = write_file(dir.path() + "/src/f", 100'000, 4);
    auto cfg = small_config(dir, {regular_entry(src, "f")}, 2, 3);
    encrypt(cfg, {.name = "cbc", .keyex = keyexchange_type::rsa, .cipher = key_type::aes256_cbc});
    cfg.sender.max_passes = 3;
    cfg.overrides[0] = {.down = cfg.link, .up = cfg.link};
    cfg.overrides[0].tamper = tamper_filesegs(block, 1);
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(run_finished(r));
    ASSERT_EQ(r.receivers_ok, 1u) << describe_failures(r);
    const auto& bad = r.receivers[0];
    EXPECT_EQ(bad.at_sender, engine::client_outcome::max_passes);
    EXPECT_GT(r.filesegs_not_authentic, 0u);
    EXPECT_EQ(bad.visible_incomplete, 0u);
    EXPECT_EQ(bad.temp_files_left, 0u);
    EXPECT_FALSE(std::filesystem::exists(cfg.work_dir + "/r0/f"));
}

TEST(engine_encryption, plaintext_filesegs_injected_into_an_encrypted_session_are_dropped) {
    scratch_dir dir;
    auto src = write_file(dir.path() + "/src/f", 100'000, 4);
    auto cfg = small_config(dir, {regular_entry(src, "f")}, 2, 3);
    encrypt(cfg, {.name = "gcm", .keyex = keyexchange_type::rsa});
    // Every fifth full-block datagram to receiver 0 is swapped for a forged
    // plaintext FILESEG of the same file (ID 1) full of zeros.
    auto n = std::make_shared<int>(0);
    cfg.overrides[0] = {.down = cfg.link, .up = cfg.link};
    cfg.overrides[0].tamper = [n](std::vector<std::uint8_t>& d) {
        if (d.size() < block ||
            d[1] != static_cast<std::uint8_t>(protocol::message_type::encrypted) || ++*n % 5 != 0) {
            return;
        }
        protocol::uftp_header h;
        protocol::message_type t{};
        if (protocol::decode_header(d, h, t) != protocol::wire_error::ok) {
            return;
        }
        const std::vector<std::uint8_t> zeros(block, 0);
        protocol::fileseg_msg forged{.file_id = 1,
                                     .section = 0,
                                     .sec_block = static_cast<std::uint16_t>(*n / 5 % 70),
                                     .data = zeros};
        std::vector<std::uint8_t> out(protocol::max_datagram_size);
        const auto size = protocol::encode(h, forged, out);
        out.resize(size.ok() ? *size : 0);
        d = std::move(out);
    };
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(all_identical(r, 2));
    EXPECT_GT(r.filesegs_unencrypted, 0u);
}

TEST(engine_encryption, a_tampered_keyinfo_keeps_the_client_out_without_a_file) {
    scratch_dir dir;
    auto src = write_file(dir.path() + "/src/f", 20'000, 4);
    auto cfg = small_config(dir, {regular_entry(src, "f")}, 2, 3);
    encrypt(cfg, {.name = "gcm", .keyex = keyexchange_type::rsa});
    cfg.overrides[0] = {.down = cfg.link, .up = cfg.link};
    cfg.overrides[0].tamper = [](std::vector<std::uint8_t>& d) {
        if (d.size() > 1 && d[1] == static_cast<std::uint8_t>(protocol::message_type::keyinfo)) {
            d.back() ^= 0x01; // the last byte of the last entry's encrypted group master
        }
    };
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(run_finished(r));
    ASSERT_EQ(r.receivers_ok, 1u) << describe_failures(r);
    const auto& bad = r.receivers[0];
    // Either the entry no longer decrypts (wrong padding), or it decrypts to
    // another group master whose KEYINFO_ACK the sender rejects.
    EXPECT_GT(bad.stats.keyinfo_bad + r.sender.keyinfo_ack_bad, 0u);
    // The sender drops it at the end of the announce phase, or the client
    // gives up waiting for keys first and says so.
    if (bad.at_sender == engine::client_outcome::aborted_by_client) {
        EXPECT_EQ(bad.sender_reason, "Registration unconfirmed");
    } else {
        EXPECT_EQ(bad.at_sender, engine::client_outcome::lost);
    }
    EXPECT_FALSE(bad.ok);
    EXPECT_FALSE(std::filesystem::exists(cfg.work_dir + "/r0/f"));
    EXPECT_EQ(bad.temp_files_left, 0u);
}

TEST(engine_encryption, a_client_without_a_key_of_the_servers_type_refuses_client_auth) {
    scratch_dir dir;
    auto src = write_file(dir.path() + "/src/f", 20'000, 4);
    auto cfg = small_config(dir, {regular_entry(src, "f")}, 2, 3);
    encrypt(cfg, {.name = "auth", .keyex = keyexchange_type::ecdh_ecdsa, .client_auth = true});
    cfg.overrides[0] = {.down = cfg.link,
                        .up = cfg.link,
                        .encryption = engine::receiver_encryption{.keys = {test_rsa_key(1)}}};
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(run_finished(r));
    ASSERT_EQ(r.receivers_ok, 1u) << describe_failures(r);
    EXPECT_EQ(r.receivers[0].outcome, engine::receiver_outcome::refused);
    EXPECT_EQ(r.receivers[0].reason, "No client key compatible with server key");
}

TEST(engine_encryption, a_sender_with_a_key_of_the_wrong_type_fails_before_announcing) {
    scratch_dir dir;
    auto src = write_file(dir.path() + "/src/f", 1000, 4);
    auto cfg = small_config(dir, {regular_entry(src, "f")}, 1, 3);
    encrypt(cfg, {.name = "ecdsa", .keyex = keyexchange_type::ecdh_ecdsa});
    cfg.sender.encryption.key = test_rsa_key(); // ECDH_ECDSA needs an EC key
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(run_finished(r));
    EXPECT_EQ(r.receivers_ok, 0u);
    EXPECT_NE(r.sender_failure.find("encryption setup failed"), std::string::npos)
        << r.sender_failure;
    EXPECT_EQ(r.sender.announce_rounds, 0u);
    EXPECT_EQ(r.sender_sent_by_type[static_cast<std::size_t>(protocol::message_type::announce)],
              0u);
}

TEST(engine_encryption, sender_abort_reaches_keyed_receivers_sealed) {
    scratch_dir dir;
    auto src = write_file(dir.path() + "/src/f", 2'000'000, 4);
    auto cfg = small_config(dir, {regular_entry(src, "f")}, 5, 3);
    encrypt(cfg, {.name = "gcm", .keyex = keyexchange_type::rsa});
    cfg.rate_bps = 10'000'000;
    cfg.sender_abort_at_s = 0.8;
    const auto r = sim::run_simulation(cfg);
    ASSERT_TRUE(run_finished(r));
    EXPECT_EQ(r.receivers_ok, 0u);
    for (const auto& rep : r.receivers) {
        ASSERT_EQ(rep.outcome, engine::receiver_outcome::aborted_by_server) << rep.uid;
        ASSERT_EQ(rep.reason, "Session aborted by operator");
        ASSERT_EQ(rep.visible_incomplete, 0u);
        ASSERT_EQ(rep.temp_files_left, 0u);
    }
    // Once keys exist ABORT goes sealed only; plaintext ones would be refused.
    EXPECT_EQ(r.sender_sent_by_type[static_cast<std::size_t>(protocol::message_type::abort)], 0u);
}

} // namespace
} // namespace skycast::test
