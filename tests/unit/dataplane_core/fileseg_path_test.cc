// Sender FILESEG builder -> wire -> receiver path, and every drop reason.
#include "crypto/encrypted_message.h"
#include "crypto/key_schedule.h"
#include "crypto/packet_cipher.h"
#include "crypto/suites.h"
#include "dataplane/core/fileseg_builder.h"
#include "dataplane/core/fileseg_receiver.h"
#include "dataplane/core/parity_builder.h"
#include "protocol/codec.h"
#include "protocol/parity.h"

#include <algorithm>
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

// --- Encrypted sessions: build_fileseg_sealed -> open_fileseg -> accept ---------

struct sealed_case {
    const char* name;
    protocol::key_type cipher;
    protocol::signature_type sigtype;
};

class sealed_path : public testing::TestWithParam<sealed_case> {
protected:
    // One session's group keys: a sender context and a receiver context
    // made from the same bytes, as the engines hand them to each side.
    void SetUp() override {
        auto s =
            crypto::make_suite(GetParam().cipher, protocol::hash_type::sha256, GetParam().sigtype);
        ASSERT_TRUE(s.ok());
        suite = *s;
        std::vector<std::uint8_t> bytes(crypto::key_block_size(suite));
        std::iota(bytes.begin(), bytes.end(), std::uint8_t{3});
        auto keys = crypto::key_block::from_bytes(suite, bytes);
        ASSERT_TRUE(keys.ok());
        auto tx = crypto::packet_cipher::create(suite, *keys);
        auto rx = crypto::packet_cipher::create(suite, *keys);
        ASSERT_TRUE(tx.ok() && rx.ok());
        sealer.emplace(std::move(tx).value());
        opener.emplace(std::move(rx).value());
    }
    crypto::suite suite;
    std::optional<crypto::packet_cipher> sealer;
    std::optional<crypto::packet_cipher> opener;
};

TEST_P(sealed_path, every_block_of_a_multi_section_file_arrives_intact_and_sealed) {
    const auto source = file_bytes(5'760'100); // 3 sections, a short last block
    const tx_file tx{.file_id = 9, .layout = *section_layout::make(source.size(), 600)};
    ASSERT_EQ(tx.layout.sections(), 3u);
    block_bitmap received(tx.layout.blocks());
    const rx_file rx{.file_id = 9, .layout = tx.layout, .received = received.view()};
    std::vector<std::uint8_t> sink(source.size());
    rx_counters counters;
    std::vector<std::uint8_t> wire(protocol::max_datagram_size);
    std::vector<std::uint8_t> scratch(protocol::max_datagram_size + protocol::uftp_header_size);
    std::uint64_t iv = 0;
    for (std::uint32_t n = 0; n < tx.layout.blocks(); ++n) {
        const auto data =
            std::span(source).subspan(std::uint64_t{n} * 600, tx.layout.block_bytes(n));
        const protocol::uftp_header h{
            .seq = static_cast<std::uint16_t>(n), .src_id = 0x01020304, .group_id = 0x55};
        const auto built = build_fileseg_sealed(*sealer, h, tx, n, data, ++iv, wire);
        ASSERT_TRUE(built.ok()) << n;
        const auto datagram = std::span(wire).first(built.size);
        ASSERT_EQ(built.size, sealer->sealed_size(fileseg_plaintext_size(tx, n)));
        // On the wire: ENCRYPTED, and the block's bytes nowhere in the clear.
        ASSERT_EQ(datagram[1], static_cast<std::uint8_t>(protocol::message_type::encrypted));
        if (data.size() >= 16) {
            ASSERT_EQ(
                std::search(datagram.begin(), datagram.end(), data.begin(), data.begin() + 16),
                datagram.end())
                << n;
        }
        protocol::uftp_header got;
        protocol::fileseg_msg seg;
        ASSERT_EQ(open_fileseg(*opener, nullptr, datagram, scratch, got, seg, counters),
                  opened_kind::fileseg)
            << n;
        EXPECT_EQ(got.seq, h.seq);
        EXPECT_EQ(got.src_id, h.src_id);
        block_write write;
        ASSERT_TRUE(accept_fileseg(&rx, seg, write, counters)) << n;
        std::copy(write.data.begin(), write.data.end(), sink.begin() + write.offset);
    }
    EXPECT_EQ(sink, source);
    EXPECT_TRUE(received.view().complete());
}

TEST_P(sealed_path, any_flipped_bit_is_dropped_as_not_authentic_and_sets_nothing) {
    const auto source = file_bytes(1000);
    const tx_file tx{.file_id = 1, .layout = *section_layout::make(source.size(), 1000)};
    std::vector<std::uint8_t> wire(protocol::max_datagram_size);
    std::vector<std::uint8_t> scratch(protocol::max_datagram_size + protocol::uftp_header_size);
    const auto built = build_fileseg_sealed(*sealer, {.src_id = 7}, tx, 0, source, 1, wire);
    ASSERT_TRUE(built.ok());
    rx_counters counters;
    // Every byte after the UFTP header (IV counter, lengths, signature,
    // ciphertext, tag), one bit each.
    std::uint64_t rejected = 0;
    for (std::size_t i = protocol::uftp_header_size; i < built.size; ++i) {
        auto d =
            std::vector<std::uint8_t>(wire.begin(), wire.begin() + static_cast<long>(built.size));
        d[i] ^= 0x04;
        protocol::uftp_header h;
        protocol::fileseg_msg seg;
        const auto kind = open_fileseg(*opener, nullptr, d, scratch, h, seg, counters);
        ASSERT_EQ(kind, opened_kind::dropped) << "byte " << i;
        ++rejected;
    }
    EXPECT_EQ(counters.dropped[static_cast<std::size_t>(fileseg_drop::not_authentic)] +
                  counters.dropped[static_cast<std::size_t>(fileseg_drop::malformed)],
              rejected);
    EXPECT_GT(counters.dropped[static_cast<std::size_t>(fileseg_drop::not_authentic)], 0u);
    EXPECT_EQ(counters.blocks_stored, 0u);
}

TEST_P(sealed_path, other_sealed_messages_go_to_control_and_sizes_are_checked) {
    std::vector<std::uint8_t> wire(protocol::max_datagram_size);
    std::vector<std::uint8_t> plain(protocol::max_datagram_size);
    std::vector<std::uint8_t> scratch(protocol::max_datagram_size + protocol::uftp_header_size);
    const auto n =
        crypto::seal_message(*sealer, {.src_id = 7},
                             protocol::done_msg{.file_id = 1, .client_ids = {5}}, 1, plain, wire);
    ASSERT_TRUE(n.ok());
    rx_counters counters;
    protocol::uftp_header h;
    protocol::fileseg_msg seg;
    EXPECT_EQ(open_fileseg(*opener, nullptr, std::span(wire).first(*n), scratch, h, seg, counters),
              opened_kind::control);
    // The builder refuses what build_fileseg refuses, and a scratch too small.
    const tx_file tx{.file_id = 1, .layout = *section_layout::make(2500, 1000)};
    const std::vector<std::uint8_t> data(1000);
    EXPECT_EQ(build_fileseg_sealed(*sealer, {}, tx, 2, data, 2, wire).wire,
              protocol::wire_error::field_too_large); // the last block is 500 bytes
    EXPECT_EQ(build_fileseg_sealed(*sealer, {}, tx, 0, data, 3, std::span(wire).first(100)).crypto,
              crypto::crypto_error::buffer_too_small);
    // The IV counter must grow: a repeated GCM nonce would give the key away.
    EXPECT_TRUE(build_fileseg_sealed(*sealer, {}, tx, 0, data, 10, wire).ok());
    EXPECT_EQ(build_fileseg_sealed(*sealer, {}, tx, 1, data, 10, wire).crypto,
              crypto::crypto_error::iv_counter_not_increasing);
    EXPECT_EQ(open_fileseg(*opener, nullptr, std::span(wire).first(10), scratch, h, seg, counters),
              opened_kind::dropped);
}

const sealed_case sealed_cases[] = {
    {"aes256gcm", protocol::key_type::aes256_gcm, protocol::signature_type::authenc},
    {"aes128ccm", protocol::key_type::aes128_ccm, protocol::signature_type::authenc},
    {"aes256cbc_hmac", protocol::key_type::aes256_cbc, protocol::signature_type::hmac},
};

// FEC PARITY sealed like a FILESEG (docs/protocol.md §17.3): opened as
// `parity` into a plain PARITY datagram whose bytes are the parity built;
// without a place for it (no `parity` argument) it goes to control.
TEST_P(sealed_path, sealed_parity_opens_as_parity) {
    const auto source = file_bytes(64 * 600 + 17);
    const auto layout = *section_layout::make(source.size(), 600);
    const protocol::fec_groups groups(layout, 16);
    auto builder = *parity_builder::create(16, 600);
    std::vector<std::uint8_t> parity(600);
    std::uint8_t* rows[] = {parity.data()};
    ASSERT_EQ(builder.parity_blocks(groups, source, 4, 21, rows), fec_error::ok);
    std::vector<std::uint8_t> wire(protocol::max_datagram_size);
    const protocol::uftp_header h{.seq = 5, .src_id = 0x01020304, .group_id = 0x55};
    const auto built = builder.build_sealed(*sealer, h, 3, groups, 4, 21, parity, 1, wire);
    ASSERT_TRUE(built.ok());
    const auto datagram = std::span(wire).first(built.size);
    ASSERT_EQ(datagram[1], static_cast<std::uint8_t>(protocol::message_type::encrypted));
    std::vector<std::uint8_t> scratch(protocol::max_datagram_size + protocol::uftp_header_size);
    protocol::uftp_header got;
    protocol::fileseg_msg seg;
    rx_counters counters;
    std::span<const std::uint8_t> plain;
    ASSERT_EQ(open_fileseg(*opener, nullptr, datagram, scratch, got, seg, counters, &plain),
              opened_kind::parity);
    protocol::uftp_header ph;
    protocol::parity_msg msg;
    ASSERT_EQ(protocol::decode_parity(plain, ph, msg), protocol::wire_error::ok);
    EXPECT_EQ(ph, h);
    EXPECT_EQ(msg.file_id, 3);
    EXPECT_EQ(groups.index(msg.section, msg.group), 4u);
    EXPECT_EQ(msg.index, 21);
    EXPECT_TRUE(std::ranges::equal(msg.data, parity));
    EXPECT_EQ(open_fileseg(*opener, nullptr, datagram, scratch, got, seg, counters),
              opened_kind::control);
}

INSTANTIATE_TEST_SUITE_P(suites, sealed_path, testing::ValuesIn(sealed_cases),
                         [](const testing::TestParamInfo<sealed_case>& i) { return i.param.name; });

} // namespace
} // namespace skycast::dataplane
