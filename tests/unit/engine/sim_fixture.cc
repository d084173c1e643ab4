#include "tests/unit/engine/sim_fixture.h"

#include "crypto/key_file.h"

#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sys/stat.h>

namespace skycast::test {

scratch_dir::scratch_dir() {
    // tmpfs when there is one: receivers write every block they get.
    const char* base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
    std::string tmpl = std::string(base) + "/skycast-engine-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
        std::abort();
    }
    _path = tmpl;
}

scratch_dir::~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(_path, ec);
}

std::string write_file(const std::string& path, std::uint64_t size, std::uint32_t seed,
                       std::uint32_t mtime) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::mt19937_64 rng(seed);
    std::vector<char> bytes(size);
    for (std::uint64_t i = 0; i < size; i += 8) {
        const std::uint64_t r = rng();
        for (std::uint64_t k = 0; k < 8 && i + k < size; ++k) {
            bytes[i + k] = static_cast<char>(r >> (8 * k));
        }
    }
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(size));
    const struct timespec times[2] = {{.tv_sec = mtime, .tv_nsec = 0},
                                      {.tv_sec = mtime, .tv_nsec = 0}};
    ::utimensat(AT_FDCWD, path.c_str(), times, 0);
    return path;
}

engine::file_entry regular_entry(const std::string& source, const std::string& name) {
    struct stat st {};
    ::stat(source.c_str(), &st);
    return {.type = protocol::file_type::regular,
            .source_path = source,
            .name = name,
            .size = static_cast<std::uint64_t>(st.st_size),
            .mtime = static_cast<std::uint32_t>(st.st_mtim.tv_sec)};
}

sim::sim_config small_config(const scratch_dir& dir, std::vector<engine::file_entry> files,
                             std::uint32_t receivers, std::uint64_t seed) {
    sim::sim_config c;
    c.seed = seed;
    c.receivers = receivers;
    c.link.delay_s = 0.001;
    c.rate_bps = 100'000'000;
    c.sender.block_size = 1300;
    c.sender.grtt_init = 0.01;
    c.sender.grtt_min = 0.01;      // the stock floor
    c.sender.announce_rounds = 20; // stock: ROBUST rounds
    c.files = std::move(files);
    c.work_dir = dir.path() + "/dest";
    c.max_events = test_max_events;
    return c;
}

void closed_group_with_copies(sim::sim_config& cfg, std::uint32_t copies) {
    cfg.sender.control_copies = copies;
    cfg.receiver_control_copies = copies;
    for (std::uint32_t i = 0; i < cfg.receivers; ++i) {
        cfg.sender.host_list.push_back(sim::receiver_uid(i));
    }
}

sim::sim_config multi_section_under_loss(const scratch_dir& dir) {
    auto src = write_file(dir.path() + "/src/multi", multi_section_file_size, 7);
    auto cfg = small_config(dir, {regular_entry(src, "multi")}, 10, 5);
    cfg.sender.block_size = 512;
    cfg.link.loss = 0.10;
    return cfg;
}

sim::sim_config long_rtt_bursty_loss(const scratch_dir& dir) {
    auto src = write_file(dir.path() + "/src/big", 4'000'000, 8);
    auto cfg = small_config(dir, {regular_entry(src, "big")}, 10, 6);
    cfg.link.delay_s = 0.3;
    cfg.sender.grtt_init = 0.5;
    cfg.link = sim::link_profile::with_burst_loss(cfg.link, 0.05);
    return cfg;
}

namespace {

std::shared_ptr<const crypto::private_key> cached_key(bool ec, int which) {
    static std::map<std::pair<bool, int>, std::shared_ptr<const crypto::private_key>> keys;
    auto& k = keys[{ec, which}];
    if (!k) {
        auto made = ec ? crypto::generate_ec_key(*crypto::curve_by_name("prime256v1"))
                       : crypto::generate_rsa_key(1024);
        if (!made) {
            std::abort(); // the fixture cannot run without keys
        }
        k = std::make_shared<const crypto::private_key>(std::move(made).value());
    }
    return k;
}

} // namespace

std::shared_ptr<const crypto::private_key> test_rsa_key(int which) {
    return cached_key(false, which);
}

std::shared_ptr<const crypto::private_key> test_ec_key(int which) {
    return cached_key(true, which);
}

void encrypt(sim::sim_config& cfg, const encryption_case& e) {
    auto& s = cfg.sender.encryption;
    s.keyex = e.keyex;
    s.cipher = e.cipher;
    s.hash = e.hash;
    s.sigtype = e.sigtype;
    s.client_auth = e.client_auth;
    s.key = e.keyex == protocol::keyexchange_type::ecdh_ecdsa ? test_ec_key() : test_rsa_key();
    cfg.receiver_encryption.keys = {test_rsa_key(1), test_ec_key(1)};
}

testing::AssertionResult sealed_session(const sim::sim_report& report, std::uint32_t keyed) {
    using protocol::message_type;
    const auto sent = [](const auto& by_type, message_type t) {
        return by_type[static_cast<std::size_t>(t)];
    };
    for (auto t : {message_type::fileinfo, message_type::fileseg, message_type::done,
                   message_type::done_conf, message_type::reg_conf}) {
        if (sent(report.sender_sent_by_type, t) != 0) {
            return testing::AssertionFailure()
                   << "sender sent " << sent(report.sender_sent_by_type, t)
                   << " plaintext datagrams of type " << static_cast<int>(t);
        }
    }
    for (auto t : {message_type::fileinfo_ack, message_type::status, message_type::complete,
                   message_type::keyinfo_ack}) {
        if (sent(report.receivers_sent_by_type, t) != 0) {
            return testing::AssertionFailure()
                   << "receivers sent " << sent(report.receivers_sent_by_type, t)
                   << " plaintext datagrams of type " << static_cast<int>(t);
        }
    }
    if (sent(report.sender_sent_by_type, message_type::encrypted) == 0 ||
        sent(report.sender_sent_by_type, message_type::keyinfo) == 0) {
        return testing::AssertionFailure() << "no KEYINFO or ENCRYPTED from the sender";
    }
    if (report.sender.keyinfo_acks != keyed) {
        return testing::AssertionFailure()
               << report.sender.keyinfo_acks << " verified KEYINFO_ACKs, expected " << keyed;
    }
    if (report.seal_failures != 0) {
        return testing::AssertionFailure() << report.seal_failures << " FILESEGs not sealed";
    }
    return testing::AssertionSuccess();
}

std::string describe_failures(const sim::sim_report& report, std::size_t limit) {
    std::string out = "sender: " + report.sender_failure + "\n";
    if (report.time_limit_hit) {
        out += "stopped by the time limit\n";
    }
    if (report.event_limit_hit) {
        out += "stopped by the event limit after " + std::to_string(report.events) + " events\n";
    }
    std::size_t shown = 0;
    std::size_t more = 0;
    for (const auto& r : report.receivers) {
        if (r.ok) {
            continue;
        }
        if (shown == limit) {
            ++more;
            continue;
        }
        ++shown;
        out += "receiver " + std::to_string(r.uid) + ": " + r.mismatch +
               " | at sender: " + engine::name(r.at_sender) +
               (r.sender_reason.empty() ? "" : " (" + r.sender_reason + ")") + "\n";
    }
    if (more > 0) {
        out += "... and " + std::to_string(more) + " more\n";
    }
    return out;
}

testing::AssertionResult run_finished(const sim::sim_report& report) {
    if (report.event_limit_hit || report.time_limit_hit) {
        return testing::AssertionFailure() << describe_failures(report);
    }
    return testing::AssertionSuccess();
}

testing::AssertionResult all_identical(const sim::sim_report& report, std::uint32_t receivers) {
    if (auto finished = run_finished(report); !finished) {
        return finished;
    }
    if (report.receivers_ok != receivers || report.receivers.size() != receivers) {
        return testing::AssertionFailure()
               << report.receivers_ok << "/" << receivers << " receivers OK\n"
               << describe_failures(report);
    }
    if (!report.sender_failure.empty()) {
        return testing::AssertionFailure() << "sender failure: " << report.sender_failure;
    }
    for (const auto& rep : report.receivers) {
        // A finished session also gave its private group back.
        if (rep.visible_incomplete != 0 || rep.temp_files_left != 0 ||
            rep.groups_still_joined != 0 || rep.at_sender != engine::client_outcome::completed) {
            return testing::AssertionFailure()
                   << "receiver " << rep.uid << ": visible_incomplete=" << rep.visible_incomplete
                   << " temp_files_left=" << rep.temp_files_left
                   << " groups_still_joined=" << rep.groups_still_joined
                   << " at sender: " << engine::name(rep.at_sender);
        }
    }
    return testing::AssertionSuccess();
}

} // namespace skycast::test
