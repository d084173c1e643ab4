// FEC decoding in the control process (control/dataplane_link/fec_receive_file):
// the storage thread's part (blocks in the temp file, their bits, its
// blocks_done count) is played by the test, as the RX lcore and storage
// thread would leave them; control sees only the bits and the counts.
#include "control/dataplane_link/fec_receive_file.h"
#include "dataplane/core/parity_builder.h"

#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <random>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace skycast::control {
namespace {

constexpr std::uint32_t bs = 512;
constexpr std::uint32_t k = 16;

struct fixture {
    protocol::section_layout layout = *protocol::section_layout::make(std::uint64_t{bs} * 64, bs);
    std::vector<std::uint8_t> file;
    std::string path;
    int fd = -1;
    std::vector<std::uint64_t> bits = std::vector<std::uint64_t>(1);
    dataplane::api::file_slot slot{};
    dataplane::fec_decoder decoder = *dataplane::fec_decoder::create(k, bs);
    dataplane::parity_builder builder = *dataplane::parity_builder::create(k, bs);
    std::unique_ptr<fec_receive_file> rx;

    fixture() : file(layout.file_size()) {
        std::mt19937 rng(5);
        for (auto& b : file) {
            b = static_cast<std::uint8_t>(rng());
        }
        char name[] = "/tmp/skycast-fec-receive-XXXXXX";
        fd = ::mkstemp(name);
        path = name;
        slot.blocks = layout.blocks();
        std::string error;
        rx = fec_receive_file::open(path, layout, k, 1, error);
        EXPECT_NE(rx, nullptr) << error;
    }
    ~fixture() {
        rx.reset();
        ::close(fd);
        ::unlink(path.c_str());
    }
    // What the RX lcore and the storage thread do with a FILESEG.
    void store(std::uint32_t block) {
        const std::uint64_t off = std::uint64_t{block} * bs;
        ASSERT_EQ(::pwrite(fd, file.data() + off, bs, static_cast<off_t>(off)), ssize_t{bs});
        bits[block / 64] |= std::uint64_t{1} << (block % 64);
        slot.blocks_done.fetch_add(1);
    }
    void parity(std::uint32_t g, std::uint32_t index) {
        std::vector<std::uint8_t> p(bs);
        std::uint8_t* out[] = {p.data()};
        ASSERT_EQ(builder.parity_blocks(rx_groups(), file, g, index, out),
                  dataplane::fec_error::ok);
        const protocol::parity_msg msg{.section = 0,
                                       .group = static_cast<std::uint16_t>(g),
                                       .index = static_cast<std::uint8_t>(index),
                                       .group_blocks = static_cast<std::uint8_t>(k),
                                       .data = p};
        rx->on_parity(msg, bits, slot, decoder);
    }
    // The node's next tick, at least one sweep interval after the last:
    // retry() looks for groups data made ready at most that often.
    bool poll() {
        std::this_thread::sleep_for(
            std::chrono::nanoseconds(dataplane::fec_receiver::ready_sweep_interval_ns));
        return rx->retry(bits, slot, decoder);
    }
    protocol::fec_groups rx_groups() const { return protocol::fec_groups(layout, k, 1); }
    bool complete() const { return slot.blocks_done.load() + rx->rebuilt() == slot.blocks; }
    std::vector<std::uint8_t> on_disk() const {
        std::vector<std::uint8_t> out(file.size());
        EXPECT_EQ(::pread(fd, out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
        return out;
    }
};

// The interop failure this guards against: a Skycast receiver beside stock
// ones kept one parity block for a group that missed two, the repair pass
// for the stock receivers brought one of the two as data, and the group
// then showed no deficit (nothing to NAK) yet was never rebuilt (nothing
// to complete): the receiver went silent until the sender dropped it.
TEST(fec_receive_file, a_group_that_data_made_ready_is_rebuilt_on_the_next_poll) {
    fixture f;
    for (std::uint32_t b = 0; b < 64; ++b) {
        if (b != 2 && b != 9 && b != 40 && b != 41) {
            f.store(b);
        }
    }
    f.parity(0, k);     // group 0: 2 missing, 1 kept
    f.parity(2, k);     // group 2: 40 and 41 missing, 1 kept
    f.parity(2, k + 1); // ... and 2 kept: rebuilt at once
    EXPECT_EQ(f.rx->rebuilt(), 2u);
    EXPECT_FALSE(f.poll()); // nothing new stored
    EXPECT_FALSE(f.complete());

    f.store(9); // a data resend
    EXPECT_TRUE(f.poll());
    EXPECT_EQ(f.rx->rebuilt(), 3u);
    EXPECT_EQ(f.rx->counters().groups_ready_by_data, 1u);
    EXPECT_TRUE(f.complete());
    EXPECT_TRUE(f.rx->close());
    EXPECT_EQ(f.on_disk(), f.file);
}

TEST(fec_receive_file, parity_that_data_made_unneeded_is_released) {
    fixture f;
    for (std::uint32_t b = 0; b < 64; ++b) {
        if (b != 2 && b != 9) {
            f.store(b);
        }
    }
    f.parity(0, k);
    EXPECT_EQ(f.rx->counters().parity_kept, 1u);
    f.store(2);
    f.store(9);
    EXPECT_FALSE(f.poll()); // nothing to rebuild
    EXPECT_EQ(f.rx->counters().groups_ready_by_data, 1u);
    EXPECT_EQ(f.rx->rebuilt(), 0u);
    EXPECT_TRUE(f.complete());
    // The group needs nothing now: the same parity again is unneeded.
    f.parity(0, k);
    EXPECT_EQ(f.rx->counters().dropped[static_cast<std::size_t>(dataplane::parity_drop::unneeded)],
              1u);
}

// A group ready before the storage thread has written every block the RX
// lcore took waits (it reads received blocks back from the file), and is
// rebuilt once the storage thread has caught up.
TEST(fec_receive_file, a_ready_group_waits_for_the_storage_thread) {
    fixture f;
    for (std::uint32_t b = 0; b < 64; ++b) {
        if (b != 5 && b != 30) {
            f.store(b);
        }
    }
    // Block 30 taken by the RX lcore, not yet written by the storage thread.
    f.bits[0] |= std::uint64_t{1} << 30;
    f.parity(0, k);
    EXPECT_EQ(f.rx->rebuilt(), 0u);
    EXPECT_FALSE(f.poll());
    const std::uint64_t off = std::uint64_t{30} * bs;
    ASSERT_EQ(::pwrite(f.fd, f.file.data() + off, bs, static_cast<off_t>(off)), ssize_t{bs});
    f.slot.blocks_done.fetch_add(1);
    EXPECT_TRUE(f.poll());
    EXPECT_EQ(f.rx->rebuilt(), 1u);
    EXPECT_TRUE(f.complete());
    EXPECT_EQ(f.on_disk(), f.file);
}

} // namespace
} // namespace skycast::control
