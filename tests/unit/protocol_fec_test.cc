// Skycast's FEC additions to the wire (docs/protocol.md §17): EXT_SKYCAST_FEC
// in ANNOUNCE, the deficit flag in STATUS's reserved field, and PARITY. What
// matters beyond round trips is what a stock receiver sees: the extension
// comes after EXT_ENC_INFO (stock reads only the first extension), and a
// stock STATUS (reserved zero) never reads as deficits.

#include "protocol/codec.h"
#include "protocol/fec_groups.h"
#include "protocol/parity.h"
#include "tests/unit/protocol_test_support.h"

#include <algorithm>
#include <array>
#include <gtest/gtest.h>
#include <vector>

namespace skycast::protocol {
namespace {

announce_msg fec_announce(bool encrypted) {
    announce_msg a;
    a.public_addr.bytes = {230, 4, 4, 1};
    a.private_addr.bytes = {230, 5, 5, 1};
    if (encrypted) {
        enc_info_ext e;
        e.keyextype = keyexchange_type::ecdh_ecdsa;
        e.keytype = key_type::aes256_gcm;
        e.hashtype = hash_type::sha256;
        e.key_blob = bytes(68, 0x11);
        e.dh_blob = bytes(68, 0x22);
        e.signature = bytes(72, 0x33);
        a.enc_info = e;
    }
    a.fec_info = fec_info_ext{.group_blocks = 64, .parity_port = 1045, .span_groups = 163};
    return a;
}

TEST(protocol_fec, announce_extension_round_trips_after_enc_info) {
    for (bool encrypted : {false, true}) {
        const auto a = fec_announce(encrypted);
        const auto wire = test::encode_to_bytes({.src_id = 1, .group_id = 2}, a);
        datagram d;
        ASSERT_EQ(decode(wire, d), wire_error::ok);
        EXPECT_EQ(std::get<announce_msg>(d.body), a);
        // What stock 4.10 reads: the extension right after the two addresses
        // is EXT_ENC_INFO when the session is encrypted, and the FEC
        // extension's eight bytes close the header.
        const std::size_t after_addresses = uftp_header_size + 16 + 8;
        const std::size_t header_end = uftp_header_size + std::size_t{wire[17]} * 4;
        if (encrypted) {
            EXPECT_EQ(wire[after_addresses], 1);
        }
        EXPECT_EQ(wire[header_end - 8], 0x80);
        EXPECT_EQ(wire[header_end - 7], 2);  // two words
        EXPECT_EQ(wire[header_end - 6], 2);  // version 2: interleaved groups
        EXPECT_EQ(wire[header_end - 5], 64); // k
        EXPECT_EQ((wire[header_end - 4] << 8) | wire[header_end - 3], 1045);
        EXPECT_EQ((wire[header_end - 2] << 8) | wire[header_end - 1], 163); // span groups
        if (encrypted) {
            // The ECDH signature field did not move: the FEC extension follows it.
            EXPECT_EQ(announce_signature_offset(a) + 72 + 8, header_end);
        }
    }
}

TEST(protocol_fec, a_version_1_extension_means_consecutive_groups_whatever_its_reserved_field) {
    auto wire = test::encode_to_bytes({}, fec_announce(false));
    const std::size_t header_end = uftp_header_size + std::size_t{wire[17]} * 4;
    wire[header_end - 6] = 1;    // version 1
    wire[header_end - 1] = 0x55; // its reserved field, not a span
    datagram d;
    ASSERT_EQ(decode(wire, d), wire_error::ok);
    const auto& f = std::get<announce_msg>(d.body).fec_info;
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->version, 1);
    EXPECT_EQ(f->span_groups, 1);
}

TEST(protocol_fec, announce_without_the_extension_decodes_as_no_fec) {
    auto a = fec_announce(false);
    a.fec_info.reset();
    datagram d;
    ASSERT_EQ(decode(test::encode_to_bytes({}, a), d), wire_error::ok);
    EXPECT_FALSE(std::get<announce_msg>(d.body).fec_info.has_value());
}

TEST(protocol_fec, overload_extension_round_trips_last_and_is_absent_unless_set) {
    // EXT_SKYCAST_OVERLOAD (docs/protocol.md §18): four bytes closing the
    // header, after EXT_ENC_INFO and EXT_SKYCAST_FEC.
    for (bool encrypted : {false, true}) {
        auto a = fec_announce(encrypted);
        a.takes_overload_reports = true;
        const auto wire = test::encode_to_bytes({.src_id = 1, .group_id = 2}, a);
        datagram d;
        ASSERT_EQ(decode(wire, d), wire_error::ok);
        EXPECT_EQ(std::get<announce_msg>(d.body), a);
        const std::size_t header_end = uftp_header_size + std::size_t{wire[17]} * 4;
        EXPECT_EQ(wire[header_end - 4], 0x81);
        EXPECT_EQ(wire[header_end - 3], 1);     // one word
        EXPECT_EQ(wire[header_end - 2], 1);     // version
        EXPECT_EQ(wire[header_end - 12], 0x80); // the FEC extension before it
        if (encrypted) {
            EXPECT_EQ(announce_signature_offset(a) + 72 + 8 + 4, header_end);
        }
    }
    auto plain = fec_announce(false);
    plain.fec_info.reset();
    datagram d;
    ASSERT_EQ(decode(test::encode_to_bytes({}, plain), d), wire_error::ok);
    EXPECT_FALSE(std::get<announce_msg>(d.body).takes_overload_reports);
}

TEST(protocol_fec, a_short_fec_extension_is_refused) {
    auto wire = test::encode_to_bytes({}, fec_announce(false));
    const std::size_t header_end = uftp_header_size + std::size_t{wire[17]} * 4;
    wire[header_end - 7] = 1; // one word: the extension's length is wrong for its type
    // ... and the header now has a stray word after it: a second extension of
    // type 0 and length 0, which is refused too. Either way: not ok.
    datagram d;
    EXPECT_NE(decode(wire, d), wire_error::ok);
}

TEST(protocol_fec, status_deficit_flag_rides_in_the_reserved_byte) {
    const std::array<std::uint8_t, 2> naks{0x05, 0x00};
    for (bool deficit : {false, true}) {
        status_msg s{.file_id = 3, .section = 1, .naks = naks, .fec_deficit = deficit};
        const auto wire = test::encode_to_bytes({}, s);
        EXPECT_EQ(wire[uftp_header_size + 6], deficit ? 0x01 : 0x00);
        EXPECT_EQ(wire[uftp_header_size + 7], 0x00);
        uftp_header h;
        status_msg back;
        ASSERT_EQ(decode_status(wire, h, back), wire_error::ok);
        EXPECT_EQ(back.fec_deficit, deficit);
        EXPECT_EQ(back, s);
    }
}

TEST(protocol_fec, parity_round_trips_and_is_not_a_uftp_message) {
    const std::vector<std::uint8_t> data(1300, 0xA5);
    const uftp_header h{.seq = 7, .src_id = 0x0A000001, .group_id = 99, .grtt = 3, .gsize = 4};
    const parity_msg m{
        .file_id = 2, .section = 1, .group = 5, .index = 70, .group_blocks = 64, .data = data};
    std::vector<std::uint8_t> wire(parity_headers_size + data.size());
    const auto n = encode_parity_headers(h, m, wire);
    ASSERT_TRUE(n.ok());
    ASSERT_EQ(*n, parity_headers_size);
    std::copy(data.begin(), data.end(), wire.begin() + parity_headers_size);
    uftp_header hb;
    parity_msg back;
    ASSERT_EQ(decode_parity(wire, hb, back), wire_error::ok);
    EXPECT_EQ(hb, h);
    EXPECT_EQ(back, m);
    // UFTP decoders refuse function code 80: stock and Skycast alike.
    datagram d;
    EXPECT_EQ(decode(wire, d), wire_error::unknown_message_type);
}

TEST(protocol_fec, hostile_parity_headers_are_refused) {
    const std::vector<std::uint8_t> data(16, 0);
    const parity_msg good{.file_id = 1, .index = 64, .group_blocks = 64, .data = data};
    std::vector<std::uint8_t> wire(parity_headers_size + data.size());
    ASSERT_TRUE(encode_parity_headers({}, good, wire).ok());
    uftp_header h;
    parity_msg out;
    ASSERT_EQ(decode_parity(wire, h, out), wire_error::ok);
    auto with = [&](std::size_t at, std::uint8_t v) {
        auto copy = wire;
        copy[at] = v;
        return decode_parity(copy, h, out);
    };
    constexpr std::size_t m = uftp_header_size;
    EXPECT_EQ(with(m + 9, 0), wire_error::parity_index_invalid);   // k = 0
    EXPECT_EQ(with(m + 8, 63), wire_error::parity_index_invalid);  // a data index
    EXPECT_EQ(with(m + 8, 255), wire_error::parity_index_invalid); // past 254
    EXPECT_EQ(with(m + 1, 4), wire_error::hlen_mismatch);          // hlen
    EXPECT_EQ(with(m + 0, 9), wire_error::func_mismatch);          // message func
    EXPECT_EQ(with(0, 0x30), wire_error::bad_version);             // UFTP 3
    EXPECT_EQ(with(1, 9), wire_error::unknown_message_type);       // header func
    for (std::size_t len = 0; len < parity_headers_size; ++len) {
        EXPECT_NE(decode_parity(std::span(wire).first(len), h, out), wire_error::ok) << len;
    }
}

TEST(protocol_fec, groups_tile_every_section_in_order) {
    // Big and small sections (block 512: 4096 blocks per section, uneven).
    for (std::uint64_t size : {1ull, 512ull * 64, 512ull * 4096 * 5 / 2 + 77, 512ull * 10007}) {
        const auto layout = *section_layout::make(size, 512);
        for (std::uint32_t k : {2u, 16u, 64u, 253u}) {
            const fec_groups groups(layout, k);
            EXPECT_EQ(groups.span_groups(), 1u);
            std::uint32_t next_block = 0;
            for (std::uint32_t g = 0; g < groups.count(); ++g) {
                const auto pos = groups.locate(g);
                ASSERT_EQ(groups.index(pos.section, pos.group), g);
                ASSERT_EQ(groups.block(g, 0), next_block);
                ASSERT_GE(groups.data_blocks(g), 1u);
                ASSERT_LE(groups.data_blocks(g), k);
                for (std::uint32_t i = 0; i < groups.data_blocks(g); ++i) {
                    ASSERT_EQ(groups.block(g, i), next_block + i);
                    ASSERT_EQ(groups.group_of_block(next_block + i), g);
                    // A group never leaves its section.
                    ASSERT_EQ(layout.locate(next_block + i).section, pos.section);
                }
                next_block += groups.data_blocks(g);
                ASSERT_EQ(groups.last_block(g), next_block - 1);
            }
            EXPECT_EQ(next_block, layout.blocks()) << size << " k=" << k;
            EXPECT_EQ(groups.index(layout.sections(), 0), groups.count());
        }
    }
}

TEST(protocol_fec, interleaved_groups_cover_every_block_once_and_stay_in_their_span) {
    for (std::uint64_t size : {1ull, 512ull * 64, 512ull * 4096 * 5 / 2 + 77, 512ull * 10007}) {
        const auto layout = *section_layout::make(size, 512);
        for (std::uint32_t k : {2u, 16u, 64u, 253u}) {
            for (std::uint32_t span : {1u, 3u, 8u, 100u, 65535u}) {
                const fec_groups groups(layout, k, span);
                // Never longer than a section; the same clamp at both ends.
                const std::uint32_t S = groups.span_groups();
                ASSERT_GE(S, 1u);
                ASSERT_LE(S, span);
                ASSERT_LE(std::uint64_t{S} * k, layout.max_section_blocks() + k);
                // As many groups as without interleaving: ceil(blocks / k) per section.
                EXPECT_EQ(groups.count(), fec_groups(layout, k).count());
                std::vector<std::uint32_t> owner(layout.blocks(), groups.count());
                for (std::uint32_t g = 0; g < groups.count(); ++g) {
                    const auto pos = groups.locate(g);
                    const std::uint32_t n = groups.data_blocks(g);
                    ASSERT_GE(n, 1u);
                    ASSERT_LE(n, k);
                    const std::uint32_t section_first = layout.first_block(pos.section);
                    // The span: span × k blocks of the section, the group's place in it.
                    const std::uint32_t span_first = section_first + (pos.group / S) * S * k;
                    for (std::uint32_t i = 0; i < n; ++i) {
                        const std::uint32_t b = groups.block(g, i);
                        ASSERT_LT(b, layout.blocks());
                        ASSERT_EQ(owner[b], groups.count()) << "block " << b << " in two groups";
                        owner[b] = g;
                        ASSERT_EQ(groups.group_of_block(b), g);
                        ASSERT_EQ(layout.locate(b).section, pos.section);
                        ASSERT_GE(b, span_first);
                        ASSERT_LT(b, span_first + S * k);
                        if (i > 0) {
                            ASSERT_GT(b, groups.block(g, i - 1));
                        }
                    }
                    ASSERT_EQ(groups.last_block(g), groups.block(g, n - 1));
                }
                for (std::uint32_t b = 0; b < layout.blocks(); ++b) {
                    ASSERT_LT(owner[b], groups.count()) << "block " << b << " in no group";
                }
            }
        }
    }
}

TEST(protocol_fec, a_burst_is_spread_over_the_groups_of_its_span) {
    // 1300-byte blocks: 10,400 blocks per section; k = 64, one span a
    // whole section (163 groups). A burst of 1900 consecutive blocks (20 ms
    // at 1 Gbit/s) costs every group at most ceil(1900 / 163) = 12 blocks,
    // where consecutive groups lose up to all 64 of 30 groups.
    const auto layout = *section_layout::make(1300ull * 10400 * 3, 1300);
    const fec_groups plain(layout, 64);
    const fec_groups interleaved(layout, 64, 65535);
    std::vector<std::uint32_t> lost_plain(plain.count(), 0);
    std::vector<std::uint32_t> lost_interleaved(interleaved.count(), 0);
    for (std::uint32_t b = 12000; b < 12000 + 1900; ++b) {
        ++lost_plain[plain.group_of_block(b)];
        ++lost_interleaved[interleaved.group_of_block(b)];
    }
    EXPECT_EQ(*std::max_element(lost_plain.begin(), lost_plain.end()), 64u);
    EXPECT_LE(*std::max_element(lost_interleaved.begin(), lost_interleaved.end()), 12u);
}

} // namespace
} // namespace skycast::protocol
