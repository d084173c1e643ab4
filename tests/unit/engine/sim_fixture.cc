#include "tests/unit/engine/sim_fixture.h"

#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
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
    return c;
}

std::string describe_failures(const sim::sim_report& report) {
    std::string out = "sender: " + report.sender_failure + "\n";
    for (const auto& r : report.receivers) {
        if (!r.ok) {
            out += "receiver " + std::to_string(r.uid) + ": " + r.mismatch +
                   " | at sender: " + engine::name(r.at_sender) + "\n";
        }
    }
    return out;
}

} // namespace skycast::test
