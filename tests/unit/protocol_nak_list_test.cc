// NAK lists (docs/protocol.md §19): the compact STATUS body a Skycast
// receiver sends a Skycast sender that offered it, and the ANNOUNCE extension
// that offers it. What matters: a list names exactly the bitmap's missing
// blocks, is much smaller at realistic loss, and a hostile list is refused
// rather than read past its section.

#include "control/decode/message_json.h"
#include "protocol/codec.h"
#include "protocol/nak_bitmap.h"
#include "protocol/nak_list.h"
#include "tests/unit/protocol_test_support.h"

#include <gtest/gtest.h>
#include <random>
#include <vector>

namespace skycast::protocol {
namespace {

std::vector<std::uint8_t> bitmap_of(std::uint32_t blocks,
                                    const std::vector<std::uint32_t>& missing) {
    std::vector<std::uint8_t> bits(nak_bitmap_bytes(blocks));
    nak_bitmap_writer w(bits, blocks);
    for (auto i : missing) {
        w.set_missing(i);
    }
    return bits;
}

std::vector<std::uint8_t> round_trip(const std::vector<std::uint8_t>& bits, std::uint32_t blocks) {
    std::vector<std::uint8_t> list;
    encode_nak_list(nak_bitmap_view(bits, blocks), list);
    std::vector<std::uint8_t> back;
    EXPECT_TRUE(expand_nak_list(list, blocks, back));
    return back;
}

TEST(nak_list, names_exactly_the_missing_blocks) {
    // Edges: nothing, the first block, the last, everything, runs that touch.
    const std::uint32_t blocks = 65536; // the largest section (spec §3.1)
    for (const auto& missing : std::vector<std::vector<std::uint32_t>>{
             {}, {0}, {65535}, {0, 1, 2, 65533, 65534, 65535}, {127, 128, 16383, 16384}}) {
        const auto bits = bitmap_of(blocks, missing);
        EXPECT_EQ(round_trip(bits, blocks), bits);
    }
    std::vector<std::uint32_t> all(blocks);
    for (std::uint32_t i = 0; i < blocks; ++i) {
        all[i] = i;
    }
    const auto full = bitmap_of(blocks, all);
    EXPECT_EQ(round_trip(full, blocks), full);
    // Random loss at several densities and section sizes, odd ones included.
    std::mt19937 rng(7);
    for (std::uint32_t n : {1u, 7u, 8u, 9u, 1000u, 61009u}) {
        for (double p : {0.001, 0.01, 0.3, 0.9}) {
            std::bernoulli_distribution lost(p);
            std::vector<std::uint32_t> missing;
            for (std::uint32_t i = 0; i < n; ++i) {
                if (lost(rng)) {
                    missing.push_back(i);
                }
            }
            const auto bits = bitmap_of(n, missing);
            EXPECT_EQ(round_trip(bits, n), bits) << n << " blocks at " << p;
        }
    }
}

TEST(nak_list, is_a_fraction_of_the_bitmap_at_one_percent_loss) {
    // The case it exists for: a 61,009-block section (1 GiB at 8800-byte
    // blocks, two sections) with 1 % independent loss is a 7.6 KB bitmap.
    const std::uint32_t blocks = 61009;
    std::mt19937 rng(1);
    std::bernoulli_distribution lost(0.01);
    std::vector<std::uint32_t> missing;
    for (std::uint32_t i = 0; i < blocks; ++i) {
        if (lost(rng)) {
            missing.push_back(i);
        }
    }
    const auto bits = bitmap_of(blocks, missing);
    std::vector<std::uint8_t> list;
    encode_nak_list(nak_bitmap_view(bits, blocks), list);
    EXPECT_LT(list.size() * 4, bits.size())
        << list.size() << " list bytes for " << missing.size() << " missing blocks";
    // Nothing missing (the overload signal, §18) is an empty list.
    encode_nak_list(nak_bitmap_view(bitmap_of(blocks, {}), blocks), list);
    EXPECT_TRUE(list.empty());
}

TEST(nak_list, a_hostile_list_is_refused) {
    std::vector<std::uint8_t> bitmap;
    // A run past the section: block 10 of a 10-block section.
    EXPECT_FALSE(expand_nak_list(std::vector<std::uint8_t>{10, 0}, 10, bitmap));
    // A run whose length reaches past it.
    EXPECT_FALSE(expand_nak_list(std::vector<std::uint8_t>{5, 5}, 10, bitmap));
    // A gap without its length; a varint cut short.
    EXPECT_FALSE(expand_nak_list(std::vector<std::uint8_t>{1}, 10, bitmap));
    EXPECT_FALSE(expand_nak_list(std::vector<std::uint8_t>{1, 0x80}, 10, bitmap));
    // A varint longer than a section index needs (4 bytes), even for a
    // small value; and the largest 3-byte values (2^21 - 1) are past any
    // section.
    EXPECT_FALSE(
        expand_nak_list(std::vector<std::uint8_t>{0x81, 0x80, 0x80, 0x00, 0}, 65536, bitmap));
    EXPECT_FALSE(expand_nak_list(std::vector<std::uint8_t>{0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0x7F},
                                 65536, bitmap));
    // Well-formed: runs 0-1 and 4, and the empty list.
    ASSERT_TRUE(expand_nak_list(std::vector<std::uint8_t>{0, 1, 2, 0}, 10, bitmap));
    EXPECT_EQ(bitmap, bitmap_of(10, {0, 1, 4}));
    ASSERT_TRUE(expand_nak_list({}, 10, bitmap));
    EXPECT_EQ(bitmap, bitmap_of(10, {}));
}

TEST(nak_list, the_announce_offer_closes_the_header_with_the_senders_address) {
    announce_msg a;
    a.public_addr.bytes = {230, 4, 4, 1};
    a.private_addr.bytes = {230, 5, 5, 1};
    a.takes_overload_reports = true;
    a.nak_lists_from = 0x0A4D0001; // 10.77.0.1
    const auto wire = test::encode_to_bytes({.src_id = 1, .group_id = 2}, a);
    datagram d;
    ASSERT_EQ(decode(wire, d), wire_error::ok);
    EXPECT_EQ(std::get<announce_msg>(d.body), a);
    const std::size_t header_end = uftp_header_size + std::size_t{wire[17]} * 4;
    const std::vector<std::uint8_t> ext(wire.begin() + static_cast<long>(header_end) - 8,
                                        wire.begin() + static_cast<long>(header_end));
    EXPECT_EQ(ext, (std::vector<std::uint8_t>{0x82, 2, 1, 0, 10, 77, 0, 1}));
    EXPECT_EQ(wire[header_end - 12], 0x81); // the overload offer before it
    // A version this receiver does not know is no offer.
    auto v2 = wire;
    v2[header_end - 6] = 2;
    ASSERT_EQ(decode(v2, d), wire_error::ok);
    EXPECT_FALSE(std::get<announce_msg>(d.body).nak_lists_from.has_value());
    a.nak_lists_from.reset();
    ASSERT_EQ(decode(test::encode_to_bytes({}, a), d), wire_error::ok);
    EXPECT_FALSE(std::get<announce_msg>(d.body).nak_lists_from.has_value());
}

TEST(nak_list, the_last_file_offer_follows_the_nak_list_offer) {
    // EXT_SKYCAST_LAST_FILE (docs/protocol.md §22).
    announce_msg a;
    a.public_addr.bytes = {230, 4, 4, 1};
    a.private_addr.bytes = {230, 5, 5, 1};
    a.nak_lists_from = 0x0A4D0001;
    a.last_file_id = 0x1234;
    const auto wire = test::encode_to_bytes({.src_id = 1, .group_id = 2}, a);
    datagram d;
    ASSERT_EQ(decode(wire, d), wire_error::ok);
    EXPECT_EQ(std::get<announce_msg>(d.body), a);
    EXPECT_EQ(decode::to_json(d, wire, {})["announce"]["last_file_id"], 0x1234);
    const std::size_t header_end = uftp_header_size + std::size_t{wire[17]} * 4;
    const std::vector<std::uint8_t> ext(wire.begin() + static_cast<long>(header_end) - 8,
                                        wire.begin() + static_cast<long>(header_end));
    EXPECT_EQ(ext, (std::vector<std::uint8_t>{0x83, 2, 1, 0, 0x12, 0x34, 0, 0}));
    EXPECT_EQ(wire[header_end - 16], 0x82); // the NAK list offer before it
    // Another version, or file ID 0 (no file has it), is no offer.
    auto other = wire;
    other[header_end - 6] = 2;
    ASSERT_EQ(decode(other, d), wire_error::ok);
    EXPECT_FALSE(std::get<announce_msg>(d.body).last_file_id.has_value());
    other = wire;
    other[header_end - 4] = 0;
    other[header_end - 3] = 0;
    ASSERT_EQ(decode(other, d), wire_error::ok);
    EXPECT_FALSE(std::get<announce_msg>(d.body).last_file_id.has_value());
    // A length other than 2 words is malformed.
    other = wire;
    other[header_end - 7] = 1;
    EXPECT_NE(decode(other, d), wire_error::ok);
    a.last_file_id.reset();
    ASSERT_EQ(decode(test::encode_to_bytes({}, a), d), wire_error::ok);
    EXPECT_FALSE(std::get<announce_msg>(d.body).last_file_id.has_value());
}

TEST(nak_list, a_status_says_list_in_its_reserved_byte_beside_the_deficit_flag) {
    const std::vector<std::uint8_t> list{0, 1, 2, 0};
    for (bool deficit : {false, true}) {
        const status_msg st{
            .file_id = 3, .section = 1, .naks = list, .fec_deficit = deficit, .nak_list = true};
        const auto wire = test::encode_to_bytes({.src_id = 1, .group_id = 2}, st);
        EXPECT_EQ(wire[uftp_header_size + 6], deficit ? 0x03 : 0x02);
        datagram d;
        ASSERT_EQ(decode(wire, d), wire_error::ok);
        EXPECT_EQ(std::get<status_msg>(d.body), st);
    }
}

TEST(nak_list, the_decoder_shows_the_offer_and_counts_a_lists_blocks) {
    // `skycast decode` (control/decode): what an operator reads in a capture.
    announce_msg a;
    a.public_addr.bytes = {230, 4, 4, 1};
    a.private_addr.bytes = {230, 5, 5, 1};
    a.nak_lists_from = 0x0A4D0001;
    auto wire = test::encode_to_bytes({.src_id = 1, .group_id = 2}, a);
    datagram d;
    ASSERT_EQ(decode(wire, d), wire_error::ok);
    EXPECT_EQ(decode::to_json(d, wire, {})["announce"]["nak_lists_from"], "10.77.0.1");
    const std::vector<std::uint8_t> list{0, 1, 2, 0}; // blocks 0, 1 and 4
    wire = test::encode_to_bytes(
        {.src_id = 1, .group_id = 2},
        status_msg{.file_id = 1, .section = 0, .naks = list, .nak_list = true});
    ASSERT_EQ(decode(wire, d), wire_error::ok);
    auto j = decode::to_json(d, wire, {})["status"];
    EXPECT_EQ(j["nak_list"], true);
    EXPECT_EQ(j["naks_set"], 3);
    const std::vector<std::uint8_t> past_any_section{0xFF, 0xFF, 0x7F, 0};
    wire = test::encode_to_bytes(
        {.src_id = 1, .group_id = 2},
        status_msg{.file_id = 1, .section = 0, .naks = past_any_section, .nak_list = true});
    ASSERT_EQ(decode(wire, d), wire_error::ok);
    j = decode::to_json(d, wire, {})["status"];
    EXPECT_TRUE(j["naks_set"].is_null());
    EXPECT_EQ(j["nak_list_malformed"], true);
}

} // namespace
} // namespace skycast::protocol
