// Sender FILESEG builder -> wire -> receiver path, and every drop reason.
#include "dataplane/core/fileseg_builder.h"
#include "dataplane/core/fileseg_receiver.h"
#include "protocol/codec.h"

#include <gtest/gtest.h>
#include <numeric>
#include <vector>

namespace skycast::dataplane {
namespace {

using protocol::section_layout;

std::vector<std::uint8_t> file_bytes(std::size_t n) {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i) {
        v[i] = static_cast<std::uint8_t>(i * 7 + i / 251);
    }
    return v;
}

TEST(fileseg_path, every_block_of_a_multi_section_file_arrives_intact) {
    // 600-byte blocks, 3 sections (3201/3200/3200), a short last block.
    const auto source = file_bytes(5'760'100);
    const tx_file tx{.file_id = 4, .layout = *section_layout::make(source.size(), 600)};
    ASSERT_EQ(tx.layout.sections(), 3u);

    block_bitmap received(tx.layout.blocks());
    const rx_file rx{.file_id = 4, .layout = tx.layout, .received = received.view()};
    std::vector<std::uint8_t> sink(source.size());
    rx_counters counters;
    std::vector<std::uint8_t> wire(protocol::max_datagram_size);

    for (std::uint32_t n = 0; n < tx.layout.blocks(); ++n) {
        const std::uint64_t offset = std::uint64_t{n} * 600;
        const auto data = std::span(source).subspan(offset, tx.layout.block_bytes(n));
        auto size = build_fileseg({.seq = static_cast<std::uint16_t>(n)}, tx, n, data, wire);
        ASSERT_TRUE(size.ok()) << n;
        protocol::uftp_header h;
        protocol::fileseg_msg seg;
        ASSERT_EQ(protocol::decode_fileseg(std::span(wire).first(*size), h, seg),
                  protocol::wire_error::ok);
        block_write write;
        ASSERT_TRUE(accept_fileseg(&rx, seg, write, counters)) << n;
        EXPECT_EQ(write.block, n);
        std::copy(write.data.begin(), write.data.end(), sink.begin() + write.offset);
    }
    EXPECT_EQ(sink, source);
    EXPECT_TRUE(received.view().complete());
    EXPECT_EQ(counters.blocks_stored, tx.layout.blocks());
    EXPECT_EQ(counters.bytes_stored, source.size());
}

TEST(fileseg_path, builder_refuses_wrong_sizes_and_blocks_past_the_end) {
    const tx_file tx{.file_id = 1, .layout = *section_layout::make(2500, 1000)};
    std::vector<std::uint8_t> wire(protocol::max_datagram_size);
    std::vector<std::uint8_t> data(1000);
    EXPECT_TRUE(build_fileseg({}, tx, 0, data, wire).ok());
    EXPECT_FALSE(build_fileseg({}, tx, 2, data, wire).ok()); // last block is 500 bytes
    EXPECT_TRUE(build_fileseg({}, tx, 2, std::span(data).first(500), wire).ok());
    EXPECT_FALSE(build_fileseg({}, tx, 3, data, wire).ok());
    EXPECT_FALSE(build_fileseg_headers({}, tx, 3, wire).ok());
    auto headers = build_fileseg_headers({}, tx, 1, wire);
    ASSERT_TRUE(headers.ok());
    EXPECT_EQ(*headers, protocol::fileseg_headers_size(false));
}

TEST(fileseg_path, each_drop_reason_is_counted) {
    const auto layout = *section_layout::make(2500, 1000); // blocks of 1000, 1000, 500
    block_bitmap received(layout.blocks());
    const rx_file rx{.file_id = 9, .layout = layout, .received = received.view()};
    rx_counters counters;
    block_write w;
    std::vector<std::uint8_t> full(1000), part(500);
    auto seg = [](std::uint16_t file, std::uint16_t section, std::uint16_t block,
                  std::span<const std::uint8_t> d) {
        return protocol::fileseg_msg{
            .file_id = file, .section = section, .sec_block = block, .data = d};
    };
    EXPECT_FALSE(accept_fileseg(nullptr, seg(9, 0, 0, full), w, counters));
    EXPECT_FALSE(accept_fileseg(&rx, seg(8, 0, 0, full), w, counters));
    EXPECT_FALSE(accept_fileseg(&rx, seg(9, 1, 0, full), w, counters));
    EXPECT_FALSE(accept_fileseg(&rx, seg(9, 0, 3, full), w, counters));
    EXPECT_FALSE(accept_fileseg(&rx, seg(9, 0, 0, part), w, counters)); // short, not last
    EXPECT_FALSE(accept_fileseg(&rx, seg(9, 0, 2, full), w, counters)); // last is 500
    EXPECT_TRUE(accept_fileseg(&rx, seg(9, 0, 2, part), w, counters));
    EXPECT_FALSE(accept_fileseg(&rx, seg(9, 0, 2, part), w, counters)); // again
    const auto count = [&](fileseg_drop d) { return counters.dropped[static_cast<int>(d)]; };
    EXPECT_EQ(count(fileseg_drop::unknown_file), 2u);
    EXPECT_EQ(count(fileseg_drop::section_out_of_range), 1u);
    EXPECT_EQ(count(fileseg_drop::block_out_of_range), 1u);
    EXPECT_EQ(count(fileseg_drop::wrong_length), 2u);
    EXPECT_EQ(count(fileseg_drop::duplicate), 1u);
    EXPECT_EQ(counters.blocks_stored, 1u);
    for (int d = 0; d < static_cast<int>(fileseg_drop::count); ++d) {
        EXPECT_NE(name(static_cast<fileseg_drop>(d)), "unknown");
    }
}

TEST(fileseg_path, nak_bitmap_of_a_section_lists_exactly_the_missing_blocks) {
    const auto layout = *section_layout::make(5'760'100, 600); // sections 3201/3200/3200
    block_bitmap bits(layout.blocks());
    auto view = bits.view();
    for (std::uint32_t n = 0; n < layout.blocks(); ++n) {
        if (n % 97 != 0 && n != 3201 + 5) {
            view.set(n);
        }
    }
    std::vector<std::uint8_t> naks(protocol::nak_bitmap_bytes(3200));
    const auto missing = view.missing_in_section(layout, 1, naks);
    EXPECT_EQ(naks.size(), 401u);
    std::uint32_t expected = 0;
    for (std::uint32_t i = 0; i < 3200; ++i) {
        const std::uint32_t n = 3201 + i;
        const bool should_be_missing = n % 97 == 0 || n == 3201 + 5;
        expected += should_be_missing ? 1 : 0;
        EXPECT_EQ(((naks[i >> 3] >> (i & 7)) & 1) != 0, should_be_missing) << i;
    }
    EXPECT_EQ(missing, expected);
    EXPECT_EQ(naks[400] >> 0, 0); // block 3200 of the section does not exist: padding stays 0
}

} // namespace
} // namespace skycast::dataplane
