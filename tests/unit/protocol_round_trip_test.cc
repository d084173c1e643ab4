// Round trips of all 21 UFTP 4 messages through encode and decode, the exact
// bytes of the spec's captured examples (docs/protocol.md §2), and the encoders'
// refusals (bad values, buffers too small).

#include "protocol/codec.h"
#include "protocol_test_support.h"

#include <array>
#include <deque>
#include <gtest/gtest.h>
#include <limits>
#include <set>
#include <string>
#include <vector>

namespace skycast::protocol {
namespace {

using test::ascii;
using test::concat;
using test::encode_to_bytes;
using test::exact_buffer;
using test::hex;
using test::pattern;

constexpr std::uint16_t u16_max = std::numeric_limits<std::uint16_t>::max();
constexpr std::uint32_t u32_max = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t max_file_size = (std::uint64_t{1} << 48) - 1;

struct sample {
    std::string label;
    message body;
};

// Backing store for the span fields of FILESEG, STATUS and ENCRYPTED samples;
// a deque so that adding a buffer never moves the earlier ones.
std::deque<bytes>& span_storage() {
    static std::deque<bytes> storage;
    return storage;
}

std::span<const std::uint8_t> stored(bytes b) {
    span_storage().push_back(std::move(b));
    return span_storage().back();
}

std::vector<client_id_list> id_lists() {
    client_id_list many(2300); // more than fits in one 9000-byte datagram
    for (std::size_t i = 0; i < many.size(); ++i) {
        many[i] = static_cast<std::uint32_t>(0x9e3779b9u * (i + 1));
    }
    return {{}, {0}, {1}, {u32_max}, {0xc0000202, 0, u32_max}, many};
}

std::vector<timestamp> timestamps() {
    return {{0, 0}, {1, 1}, {u32_max, u32_max}};
}

std::vector<uftp_header> headers() {
    return {{0, 0, 0, 0, 0, 0},
            {1, 1, 1, 1, 1, 1},
            {u16_max, u32_max, u32_max, 0xff, 0xff, 0xff},
            {0x1234, 0xc0000202, 0x21d8a64a, 3, 0x9d, 0x18}};
}

ip_address ipv4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    ip_address out;
    out.bytes[0] = a;
    out.bytes[1] = b;
    out.bytes[2] = c;
    out.bytes[3] = d;
    return out;
}

ip_address ipv6_pattern(std::uint8_t seed) {
    ip_address out;
    for (std::size_t i = 0; i < out.bytes.size(); ++i) {
        out.bytes[i] = static_cast<std::uint8_t>(seed + 17 * i + 1);
    }
    return out;
}

// Blob lengths that need 0, 1, 2 and 3 bytes of padding, alone and together.
constexpr std::array<std::size_t, 7> blob_sizes{0, 1, 2, 3, 4, 5, 67};

std::vector<sample> announce_samples() {
    std::vector<sample> out;
    for (const bool v6 : {false, true}) {
        for (const auto& ids : id_lists()) {
            announce_msg m;
            m.flags = v6 ? 0x07 : 0x03;
            m.robust = v6 ? 0xff : 0;
            m.cc = v6 ? cc_type::pgmcc : cc_type::tfmcc;
            m.block_size = v6 ? u16_max : 0;
            m.tstamp = v6 ? timestamp{u32_max, u32_max} : timestamp{};
            m.public_addr = v6 ? ipv6_pattern(1) : ipv4(230, 4, 4, 1);
            m.private_addr = v6 ? ipv6_pattern(99) : ipv4(255, 255, 255, 255);
            m.client_ids = ids;
            out.push_back(
                {"announce v6=" + std::to_string(v6) + " ids=" + std::to_string(ids.size()), m});
        }
        // Unicast mode: all-zero addresses.
        announce_msg zero;
        zero.flags = v6 ? flags::announce_ipv6 : 0;
        out.push_back({"announce unicast v6=" + std::to_string(v6), zero});
        for (const auto key : blob_sizes) {
            for (const auto dh : blob_sizes) {
                for (const auto sig : blob_sizes) {
                    announce_msg m;
                    m.flags = v6 ? flags::announce_ipv6 : 0;
                    m.public_addr = v6 ? ipv6_pattern(3) : ipv4(1, 2, 3, 4);
                    m.private_addr = v6 ? ipv6_pattern(4) : ipv4(5, 6, 7, 8);
                    enc_info_ext e;
                    e.flags =
                        static_cast<std::uint8_t>(key & 1 ? 0xff : flags::enc_info_client_auth);
                    e.keyextype = static_cast<keyexchange_type>((key + dh) % 16);
                    e.sigtype = static_cast<signature_type>((dh + sig) % 16);
                    e.keytype = static_cast<key_type>(sig & 1 ? 0xff : 6);
                    e.hashtype = static_cast<hash_type>(key % 6);
                    for (std::size_t i = 0; i < e.rand1.size(); ++i) {
                        e.rand1[i] = static_cast<std::uint8_t>(0xa0 + i + key);
                    }
                    e.key_blob = pattern(key, 1);
                    e.dh_blob = pattern(dh, 2);
                    e.signature = pattern(sig, 3);
                    m.enc_info = e;
                    if (sig == 5) {
                        m.client_ids = {0xc0000202, 7};
                    }
                    out.push_back({"announce enc_info v6=" + std::to_string(v6) +
                                       " key=" + std::to_string(key) + " dh=" + std::to_string(dh) +
                                       " sig=" + std::to_string(sig),
                                   m});
                }
            }
        }
    }
    // RSA-2048-sized blobs, as large as stock uses (§5.1).
    announce_msg big;
    big.enc_info.emplace();
    big.enc_info->key_blob = pattern(264, 5);
    big.enc_info->dh_blob = pattern(136, 6);
    big.enc_info->signature = pattern(256, 7);
    out.push_back({"announce enc_info rsa-2048", big});
    return out;
}

std::vector<sample> register_samples() {
    std::vector<sample> out;
    for (const std::size_t key : {0, 1, 2, 3, 4, 5, 48, 65, 68, 256, 976}) {
        for (const auto& ts : timestamps()) {
            register_msg m;
            m.tstamp = ts;
            for (std::size_t i = 0; i < m.rand2.size(); ++i) {
                m.rand2[i] = static_cast<std::uint8_t>(ts.sec == 0 ? 0 : 0xff - i);
            }
            m.key_info = pattern(key, 9);
            out.push_back({"register key_info=" + std::to_string(key), m});
        }
    }
    for (const auto& ids : id_lists()) {
        register_msg m;
        m.key_info = pattern(3);
        m.client_ids = ids;
        out.push_back({"register ids=" + std::to_string(ids.size()), m});
    }
    return out;
}

std::vector<sample> client_key_samples() {
    std::vector<sample> out;
    for (const auto blob : blob_sizes) {
        for (const auto sig : blob_sizes) {
            out.push_back(
                {"client_key blob=" + std::to_string(blob) + " sig=" + std::to_string(sig),
                 client_key_msg{pattern(blob, 1), pattern(sig, 2)}});
        }
    }
    out.push_back({"client_key rsa-2048", client_key_msg{pattern(264, 1), pattern(256, 2)}});
    return out;
}

std::vector<sample> id_list_only_samples() {
    std::vector<sample> out;
    for (const auto& ids : id_lists()) {
        const auto n = std::to_string(ids.size());
        out.push_back({"reg_conf ids=" + n, reg_conf_msg{ids}});
        out.push_back({"done_conf ids=" + n, done_conf_msg{ids}});
    }
    return out;
}

std::vector<sample> keyinfo_samples() {
    std::vector<sample> out;
    for (const std::uint64_t ctr :
         {std::uint64_t{0}, std::uint64_t{1}, u64_max, std::uint64_t{0x0102030405060708}}) {
        for (const std::size_t n : {0, 1, 2, 25, 200}) {
            keyinfo_msg m;
            m.iv_ctr = ctr;
            for (std::size_t i = 0; i < n; ++i) {
                keyinfo_entry e;
                e.dest_id = i == 0 ? u32_max : static_cast<std::uint32_t>(i);
                const auto p = pattern(48, static_cast<std::uint8_t>(i));
                std::copy(p.begin(), p.end(), e.group_master.begin());
                m.entries.push_back(e);
            }
            out.push_back({"keyinfo entries=" + std::to_string(n), m});
        }
    }
    return out;
}

std::vector<sample> keyinfo_ack_samples() {
    std::vector<sample> out;
    keyinfo_ack_msg zero;
    keyinfo_ack_msg ones;
    ones.verify_data.fill(0xff);
    keyinfo_ack_msg mixed;
    const auto p = pattern(12);
    std::copy(p.begin(), p.end(), mixed.verify_data.begin());
    out.push_back({"keyinfo_ack zero", zero});
    out.push_back({"keyinfo_ack ones", ones});
    out.push_back({"keyinfo_ack pattern", mixed});
    return out;
}

std::string name_of_length(std::size_t n, char fill) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
        s.push_back(i % 10 == 9 ? '/' : static_cast<char>(fill + i % 7));
    }
    return s;
}

std::vector<sample> fileinfo_samples() {
    std::vector<sample> out;
    const std::uint64_t sizes[] = {0, 1, u32_max, std::uint64_t{u32_max} + 1, max_file_size};
    const std::size_t name_lengths[] = {0, 1, 2, 3, 4, 5, 8, 299, 300};
    for (const auto size : sizes) {
        for (const auto name_len : name_lengths) {
            fileinfo_msg m;
            m.file_id = static_cast<std::uint16_t>(name_len % 2 ? u16_max : name_len);
            m.ftype = static_cast<file_type>(name_len == 299 ? 0xff : name_len % 5);
            m.size = size;
            m.ftstamp = name_len % 2 ? u32_max : 0;
            m.tstamp = {static_cast<std::uint32_t>(size), u32_max};
            m.name = name_of_length(name_len, 'a');
            // UTF-8 and high bytes must pass through untouched.
            if (name_len == 8) {
                m.name = "d\xc3\xa9j\xc3\xa0/\xff\x80";
            }
            out.push_back(
                {"fileinfo size=" + std::to_string(size) + " name=" + std::to_string(name_len), m});
        }
    }
    for (const std::size_t link_len : {1, 3, 4, 299, 300}) {
        fileinfo_msg m;
        m.ftype = file_type::symlink;
        m.name = name_of_length(300, 'A');
        m.link = name_of_length(link_len, 'k');
        out.push_back({"fileinfo link=" + std::to_string(link_len), m});
    }
    for (const auto& ids : id_lists()) {
        fileinfo_msg m;
        m.file_id = 1;
        m.name = "file1.bin";
        m.client_ids = ids;
        out.push_back({"fileinfo ids=" + std::to_string(ids.size()), m});
    }
    return out;
}

std::vector<sample> fileinfo_ack_samples() {
    std::vector<sample> out;
    for (const auto& ids : id_lists()) {
        for (const std::uint8_t f : std::array<std::uint8_t, 3>{0x00, 0x01, 0xff}) {
            fileinfo_ack_msg m;
            m.file_id = f == 0 ? 0 : (f == 1 ? 1 : u16_max);
            m.flags = f;
            m.tstamp = {f == 0 ? 0 : u32_max, f};
            m.client_ids = ids;
            out.push_back(
                {"fileinfo_ack flags=" + std::to_string(f) + " ids=" + std::to_string(ids.size()),
                 m});
        }
    }
    return out;
}

std::vector<sample> fileseg_samples() {
    std::vector<sample> out;
    const std::optional<tfmcc_data_info_ext> tfmccs[] = {
        std::nullopt, tfmcc_data_info_ext{0, 0, 0}, tfmcc_data_info_ext{1, 1, 1},
        tfmcc_data_info_ext{u16_max, u16_max, u16_max}, tfmcc_data_info_ext{0x3556, 1, 0x481e}};
    for (const auto& tfmcc : tfmccs) {
        for (const std::size_t len : {0, 1, 3, 512, 1299, 1300, 8800}) {
            fileseg_msg m;
            m.file_id = static_cast<std::uint16_t>(len % 2 ? u16_max : 1);
            m.section = static_cast<std::uint16_t>(len % 2 ? u16_max : 0);
            m.sec_block = static_cast<std::uint16_t>(len == 1300 ? u16_max : len);
            m.tfmcc = tfmcc;
            m.data = stored(pattern(len, static_cast<std::uint8_t>(len)));
            out.push_back({"fileseg tfmcc=" + std::to_string(tfmcc.has_value()) +
                               " data=" + std::to_string(len),
                           m});
        }
    }
    return out;
}

std::vector<sample> done_samples() {
    std::vector<sample> out;
    for (const auto& ids : id_lists()) {
        for (const std::uint16_t v : {std::uint16_t{0}, std::uint16_t{1}, u16_max}) {
            out.push_back({"done v=" + std::to_string(v) + " ids=" + std::to_string(ids.size()),
                           done_msg{v, static_cast<std::uint16_t>(u16_max - v), ids}});
        }
    }
    return out;
}

std::vector<tfmcc_ack_info_ext> ack_infos() {
    return {{0, 0, 0, 0, {0, 0}},
            {1, 1, 1, 1, {1, 1}},
            {0xff, u16_max, u16_max, u32_max, {u32_max, u32_max}},
            {0x06, 0, 0xbea4, 0xc0000202, {0x6b014a8c, 0x0006be47}}};
}

std::vector<sample> status_samples() {
    std::vector<sample> out;
    std::vector<std::optional<tfmcc_ack_info_ext>> tfmccs{std::nullopt};
    for (const auto& a : ack_infos()) {
        tfmccs.emplace_back(a);
    }
    // floor(N/8)+1 bytes for N < 8, N = 3200 and N = 65536, plus empty and odd lengths.
    for (const auto& tfmcc : tfmccs) {
        for (const std::size_t len : {0, 1, 3, 401, 1300, 8192, 8193}) {
            status_msg m;
            m.file_id = static_cast<std::uint16_t>(len % 2 ? u16_max : 0);
            m.section = static_cast<std::uint16_t>(len % 2 ? 0 : u16_max);
            m.tfmcc = tfmcc;
            m.naks = stored(pattern(len, 0x55));
            out.push_back({"status tfmcc=" + std::to_string(tfmcc.has_value()) +
                               " naks=" + std::to_string(len),
                           m});
        }
    }
    return out;
}

std::vector<sample> complete_samples() {
    std::vector<sample> out;
    const std::optional<freespace_info_ext> spaces[] = {
        std::nullopt, freespace_info_ext{0}, freespace_info_ext{1},
        freespace_info_ext{std::uint64_t{u32_max} + 1}, freespace_info_ext{u64_max}};
    for (const auto& space : spaces) {
        for (const std::uint8_t st : std::array<std::uint8_t, 5>{0, 1, 2, 3, 0xff}) {
            complete_msg m;
            m.file_id = static_cast<std::uint16_t>(st == 0xff ? u16_max : st);
            m.status = static_cast<complete_status>(st);
            m.freespace = space;
            out.push_back({"complete status=" + std::to_string(st) +
                               " freespace=" + std::to_string(space.has_value()),
                           m});
        }
    }
    for (const auto& ids : id_lists()) {
        complete_msg m;
        m.freespace = freespace_info_ext{12345};
        m.client_ids = ids;
        out.push_back({"complete ids=" + std::to_string(ids.size()), m});
    }
    return out;
}

std::vector<sample> proxy_samples() {
    std::vector<sample> out;
    for (const auto blob : blob_sizes) {
        for (const auto sig : blob_sizes) {
            const auto nonce = static_cast<std::uint32_t>(blob == 0 ? 0 : u32_max - sig);
            out.push_back({"hb_req blob=" + std::to_string(blob) + " sig=" + std::to_string(sig),
                           hb_req_msg{nonce, pattern(blob, 1), pattern(sig, 2)}});
            for (const auto dh : blob_sizes) {
                out.push_back(
                    {"proxy_key blob=" + std::to_string(blob) + " dh=" + std::to_string(dh) +
                         " sig=" + std::to_string(sig),
                     proxy_key_msg{nonce, pattern(blob, 1), pattern(dh, 2), pattern(sig, 3)}});
            }
        }
    }
    for (const std::uint8_t auth : std::array<std::uint8_t, 4>{0, 1, 2, 0xff}) {
        for (const std::uint32_t nonce : {0u, 1u, u32_max}) {
            out.push_back({"hb_resp auth=" + std::to_string(auth),
                           hb_resp_msg{static_cast<hb_auth>(auth), nonce}});
        }
    }
    out.push_back({"key_req", key_req_msg{}});
    return out;
}

std::vector<sample> encrypted_samples() {
    std::vector<sample> out;
    for (const std::uint64_t ctr : {std::uint64_t{0}, std::uint64_t{1}, u64_max}) {
        for (const std::size_t sig : {0, 1, 20, 32, 64, 256}) {
            for (const std::size_t payload : {0, 1, 3, 17, 45, 1341, 8900}) {
                encrypted_msg m;
                m.iv_ctr = ctr;
                m.signature = stored(pattern(sig, 11));
                m.payload = stored(pattern(payload, 13));
                out.push_back(
                    {"encrypted sig=" + std::to_string(sig) + " payload=" + std::to_string(payload),
                     m});
            }
        }
    }
    return out;
}

std::vector<sample> abort_samples() {
    std::vector<sample> out;
    for (const std::size_t len : {0, 1, 3, 4, 40, 298, 299}) {
        for (const std::uint8_t f : std::array<std::uint8_t, 3>{0, 1, 0xff}) {
            abort_msg m;
            m.flags = f;
            m.host = f == 0 ? 0 : (f == 1 ? 0xc0000202 : u32_max);
            m.message = name_of_length(len, 'N');
            out.push_back(
                {"abort reason=" + std::to_string(len) + " flags=" + std::to_string(f), m});
        }
    }
    return out;
}

std::vector<sample> congestion_samples() {
    std::vector<sample> out;
    for (const std::size_t n : {0, 1, 2, 162, 1100}) {
        for (const auto& ts : timestamps()) {
            cong_ctrl_msg m;
            m.cc_seq = static_cast<std::uint16_t>(ts.sec == 0 ? 0 : u16_max);
            m.cc_rate = static_cast<std::uint16_t>(ts.sec == 1 ? 1 : 0x481e);
            m.tstamp = ts;
            for (std::size_t i = 0; i < n; ++i) {
                m.items.push_back({i == 0 ? u32_max : static_cast<std::uint32_t>(i),
                                   static_cast<std::uint8_t>(i % 2 ? 0xff : i % 16),
                                   static_cast<std::uint8_t>(i)});
            }
            out.push_back({"cong_ctrl items=" + std::to_string(n), m});
        }
    }
    for (const auto& a : ack_infos()) {
        out.push_back({"cc_ack flags=" + std::to_string(a.flags), cc_ack_msg{a}});
    }
    return out;
}

std::vector<sample> all_samples() {
    std::vector<sample> out;
    for (auto* make : {announce_samples, register_samples, client_key_samples, id_list_only_samples,
                       keyinfo_samples, keyinfo_ack_samples, fileinfo_samples, fileinfo_ack_samples,
                       fileseg_samples, done_samples, status_samples, complete_samples,
                       proxy_samples, encrypted_samples, abort_samples, congestion_samples}) {
        auto part = make();
        out.insert(out.end(), std::make_move_iterator(part.begin()),
                   std::make_move_iterator(part.end()));
    }
    return out;
}

const std::vector<sample>& samples() {
    static const std::vector<sample> all = all_samples();
    return all;
}

TEST(protocol_round_trip, samples_cover_all_21_message_types) {
    std::set<message_type> seen;
    for (const auto& s : samples()) {
        seen.insert(type_of(s.body));
    }
    EXPECT_EQ(seen.size(), std::size_t{last_message_type});
}

TEST(protocol_round_trip, decode_of_encode_is_identity) {
    for (const auto& h : headers()) {
        for (const auto& s : samples()) {
            SCOPED_TRACE(s.label);
            const datagram original{h, s.body};
            const bytes wire = encode_to_bytes(original);
            ASSERT_GE(wire.size(), uftp_header_size);
            EXPECT_EQ(wire[0], uftp_version);
            EXPECT_EQ(wire[1], static_cast<std::uint8_t>(type_of(s.body)));
            if (type_of(s.body) != message_type::encrypted) {
                // Every message but ENCRYPTED repeats its function code.
                EXPECT_EQ(wire[16], wire[1]);
                EXPECT_LE(std::size_t{wire[17]} * 4, wire.size() - uftp_header_size);
            }
            const exact_buffer exact(wire);
            datagram back;
            ASSERT_EQ(decode(exact.span(), back), wire_error::ok);
            EXPECT_EQ(back, original);
            // The encoding is canonical: decoding and encoding again gives the same bytes.
            EXPECT_EQ(encode_to_bytes(back), wire);
        }
    }
}

TEST(protocol_round_trip, decode_message_of_encode_message_is_identity) {
    for (const auto& s : samples()) {
        SCOPED_TRACE(s.label);
        bytes out(test::encode_capacity);
        auto n = encode_message(s.body, out);
        ASSERT_TRUE(n.ok()) << name(n.error());
        out.resize(*n);
        // encode_message is encode without the 16-byte UFTP header.
        const bytes full = encode_to_bytes(uftp_header{}, s.body);
        EXPECT_TRUE(
            std::equal(out.begin(), out.end(), full.begin() + uftp_header_size, full.end()));
        const exact_buffer exact(out);
        message back;
        ASSERT_EQ(decode_message(type_of(s.body), exact.span(), back), wire_error::ok);
        EXPECT_EQ(back, s.body);
    }
}

TEST(protocol_round_trip, data_path_decoders_match_decode) {
    for (const auto& s : samples()) {
        SCOPED_TRACE(s.label);
        const uftp_header h{7, 0xc0000202, 0x12345678, 2, 0x9d, 0x18};
        const bytes wire = encode_to_bytes(h, s.body);
        const exact_buffer exact(wire);
        uftp_header header;
        fileseg_msg seg;
        status_msg st;
        const auto seg_result = decode_fileseg(exact.span(), header, seg);
        const auto st_result = decode_status(exact.span(), header, st);
        if (type_of(s.body) == message_type::fileseg) {
            ASSERT_EQ(seg_result, wire_error::ok);
            EXPECT_EQ(seg, std::get<fileseg_msg>(s.body));
            EXPECT_EQ(header, h);
            EXPECT_EQ(st_result, wire_error::func_mismatch);
        } else if (type_of(s.body) == message_type::status) {
            ASSERT_EQ(st_result, wire_error::ok);
            EXPECT_EQ(st, std::get<status_msg>(s.body));
            EXPECT_EQ(header, h);
            EXPECT_EQ(seg_result, wire_error::func_mismatch);
        } else {
            EXPECT_EQ(seg_result, wire_error::func_mismatch);
            EXPECT_EQ(st_result, wire_error::func_mismatch);
        }
    }
}

TEST(protocol_round_trip, decode_header_reads_every_field) {
    for (const auto& h : headers()) {
        const bytes wire = encode_to_bytes(h, done_msg{});
        const exact_buffer exact(std::span<const std::uint8_t>(wire).first(uftp_header_size));
        uftp_header back;
        message_type type{};
        ASSERT_EQ(decode_header(exact.span(), back, type), wire_error::ok);
        EXPECT_EQ(back, h);
        EXPECT_EQ(type, message_type::done);
        EXPECT_EQ(wire[15], 0) << "reserved byte";
    }
}

// Every buffer shorter than the datagram is refused, and nothing is written
// past the end of the buffer handed over: the bytes after it keep a canary.
TEST(protocol_round_trip, every_short_buffer_is_refused_without_overflow) {
    constexpr std::size_t guard = 64;
    constexpr std::uint8_t canary = 0xa5;
    for (const auto& s : samples()) {
        SCOPED_TRACE(s.label);
        const bytes wire = encode_to_bytes(uftp_header{}, s.body);
        if (wire.size() > 2048) {
            continue; // the sweep is quadratic; smaller samples cover the same code
        }
        bytes buffer(wire.size() + guard);
        for (std::size_t size = 0; size < wire.size(); ++size) {
            std::fill(buffer.begin(), buffer.end(), canary);
            auto n = encode(uftp_header{}, s.body, std::span(buffer).first(size));
            ASSERT_FALSE(n.ok()) << "size " << size;
            EXPECT_EQ(n.error(), wire_error::buffer_too_small) << "size " << size;
            for (std::size_t i = size; i < buffer.size(); ++i) {
                ASSERT_EQ(buffer[i], canary)
                    << "wrote byte " << i << " into a " << size << "-byte buffer";
            }
            auto m = encode_message(s.body, std::span(buffer).first(size));
            if (size < wire.size() - uftp_header_size) {
                ASSERT_FALSE(m.ok());
                EXPECT_EQ(m.error(), wire_error::buffer_too_small);
            }
            for (std::size_t i = size; i < buffer.size(); ++i) {
                ASSERT_EQ(buffer[i], canary) << "encode_message wrote byte " << i;
            }
        }
        // And the exact size is enough.
        auto n = encode(uftp_header{}, s.body, std::span(buffer).first(wire.size()));
        ASSERT_TRUE(n.ok());
        EXPECT_EQ(*n, wire.size());
    }
}

// --- The spec's captured examples (docs/protocol.md §2) ------------------------------

const uftp_header example_header{0x0102, 0xc0000202, 0x21d8a64a, 0, 0x9d, 0x18};

// The UFTP header with the function code of `type`.
bytes header_bytes(message_type type) {
    bytes h = hex("40 00 0102 c0000202 21d8a64a 00 9d 18 00");
    h[1] = static_cast<std::uint8_t>(type);
    return h;
}

// Encodes `m`, expects exactly `header || message_bytes`, then decodes those
// bytes and expects `m` back.
void expect_wire_bytes(const message& m, const bytes& message_bytes) {
    const bytes expected = concat({header_bytes(type_of(m)), message_bytes});
    EXPECT_EQ(encode_to_bytes(example_header, m), expected);
    const exact_buffer exact(expected);
    datagram back;
    ASSERT_EQ(decode(exact.span(), back), wire_error::ok);
    EXPECT_EQ(back.header, example_header);
    EXPECT_EQ(back.body, m);
}

TEST(protocol_spec_examples, announce_closed_group_tfmcc) {
    announce_msg m;
    m.flags = 0;
    m.robust = 20;
    m.cc = cc_type::tfmcc;
    m.block_size = 1300;
    m.tstamp = {0x6b014a8c, 0x0006120b};
    m.public_addr = ipv4(230, 4, 4, 1);
    m.private_addr = ipv4(230, 5, 5, 52);
    m.client_ids = {0xc0000202};
    expect_wire_bytes(m, hex("01 06 00 14 02 00 05 14 | 6b014a8c 0006120b | e6040401 | e6050534 "
                             "| c0000202"));
}

TEST(protocol_spec_examples, announce_with_enc_info_ecdh_rsa) {
    announce_msg m;
    m.robust = 20;
    m.block_size = 1300;
    m.tstamp = {0x6b014a8c, 0x0006120b};
    m.public_addr = ipv4(230, 4, 4, 1);
    m.private_addr = ipv4(230, 5, 5, 52);
    enc_info_ext e;
    e.flags = flags::enc_info_client_auth;
    e.keyextype = keyexchange_type::ecdh_rsa;
    e.sigtype = signature_type::authenc;
    e.keytype = key_type::aes256_gcm;
    e.hashtype = hash_type::sha256;
    const bytes rand1 = pattern(32, 0x10);
    std::copy(rand1.begin(), rand1.end(), e.rand1.begin());
    const bytes modulus = pattern(64, 0x20);
    const bytes point = pattern(64, 0x30);
    const bytes sig = pattern(64, 0x40);
    e.key_blob = concat({hex("01 00 0040 00010001"), modulus});
    e.dh_blob = concat({hex("02 17 0040"), point});
    e.signature = sig;
    m.enc_info = e;
    // hlen = (16 + 8 + 248) / 4 = 68 = 0x44; extension 248 / 4 = 62 = 0x3e.
    expect_wire_bytes(m,
                      concat({hex("01 44 00 14 00 00 05 14 | 6b014a8c 0006120b | e6040401 | "
                                  "e6050534"),
                              hex("01 3e 01 23 06 03 0048 0044 0040"), rand1,
                              hex("01 00 0040 00010001"), modulus, hex("02 17 0040"), point, sig}));
}

TEST(protocol_spec_examples, announce_ipv6) {
    announce_msg m;
    m.flags = flags::announce_ipv6;
    m.robust = 20;
    m.block_size = 1300;
    m.public_addr = ipv6_pattern(0);
    m.private_addr = ipv6_pattern(0x80);
    bytes pub(m.public_addr.bytes.begin(), m.public_addr.bytes.end());
    bytes priv(m.private_addr.bytes.begin(), m.private_addr.bytes.end());
    // hlen = (16 + 2 * 16) / 4 = 12.
    expect_wire_bytes(m, concat({hex("01 0c 04 14 00 00 05 14 00000000 00000000"), pub, priv}));
}

TEST(protocol_spec_examples, register_unencrypted) {
    register_msg m;
    m.tstamp = {0x6b014a75, 0x000f10ea};
    expect_wire_bytes(m, concat({hex("02 0b 0000 6b014a75 000f10ea"), bytes(32, 0)}));
}

TEST(protocol_spec_examples, register_key_info_is_padded) {
    register_msg m;
    m.key_info = pattern(65);
    m.client_ids = {0x01020304};
    // 44 + 65 = 109 -> 112 bytes = 28 words.
    expect_wire_bytes(m, concat({hex("02 1c 0041 00000000 00000000"), bytes(32, 0), pattern(65),
                                 bytes(3, 0), hex("01020304")}));
}

TEST(protocol_spec_examples, client_key) {
    client_key_msg m{pattern(68, 1), pattern(65, 2)};
    // 8 + 68 + 65 = 141 -> 144 bytes = 36 words.
    expect_wire_bytes(
        m, concat({hex("03 24 0000 0044 0041"), pattern(68, 1), pattern(65, 2), bytes(3, 0)}));
}

TEST(protocol_spec_examples, reg_conf) {
    expect_wire_bytes(reg_conf_msg{{0xc0000202}}, hex("04 01 0000 c0000202"));
}

TEST(protocol_spec_examples, keyinfo) {
    keyinfo_msg m;
    m.iv_ctr = 1;
    keyinfo_entry e;
    e.dest_id = 0xc0000202;
    const bytes master = pattern(48, 0x77);
    std::copy(master.begin(), master.end(), e.group_master.begin());
    m.entries.push_back(e);
    expect_wire_bytes(m, concat({hex("05 03 0000 00000000 00000001 c0000202"), master}));
}

TEST(protocol_spec_examples, keyinfo_ack) {
    keyinfo_ack_msg m;
    const bytes vd = pattern(12, 0x60);
    std::copy(vd.begin(), vd.end(), m.verify_data.begin());
    expect_wire_bytes(m, concat({hex("06 04 0000"), vd}));
}

TEST(protocol_spec_examples, fileinfo) {
    fileinfo_msg m;
    m.file_id = 1;
    m.ftype = file_type::regular;
    m.size = 300000;
    m.ftstamp = 0x6b014a71;
    m.tstamp = {0x6b014a78, 0x0000ec86};
    m.name = "file1.bin";
    m.client_ids = {0xc0000202};
    expect_wire_bytes(m, concat({hex("07 0a 0001 00 000000 03 00 0000 000493e0 6b014a71 6b014a78 "
                                     "0000ec86"),
                                 ascii("file1.bin"), bytes(3, 0), hex("c0000202")}));
}

TEST(protocol_spec_examples, fileinfo_symlink_48_bit_size) {
    fileinfo_msg m;
    m.file_id = 0xfffe;
    m.ftype = file_type::symlink;
    m.size = 0x123456789abc;
    m.name = "abcd";
    m.link = "t";
    expect_wire_bytes(m, concat({hex("07 09 fffe 02 000000 01 01 1234 56789abc 00000000 00000000 "
                                     "00000000"),
                                 ascii("abcd"), ascii("t"), bytes(3, 0)}));
}

TEST(protocol_spec_examples, fileinfo_ack) {
    fileinfo_ack_msg m{2, flags::fileinfo_ack_partial, {0x6b014a78, 0x0000ec86}, {}};
    expect_wire_bytes(m, hex("08 04 0002 01 000000 6b014a78 0000ec86"));
}

TEST(protocol_spec_examples, fileseg_with_tfmcc) {
    const bytes data = pattern(1300, 0x42);
    fileseg_msg m;
    m.file_id = 1;
    m.section = 0;
    m.sec_block = 0x32;
    m.tfmcc = tfmcc_data_info_ext{0x3556, 1, 0x481e};
    m.data = data;
    expect_wire_bytes(m, concat({hex("09 04 0001 0000 0032 | 02 02 3556 0001 481e"), data}));
}

TEST(protocol_spec_examples, fileseg_without_tfmcc) {
    const bytes data = pattern(3, 0x42);
    fileseg_msg m{2, 3, 4, std::nullopt, data};
    expect_wire_bytes(m, concat({hex("09 02 0002 0003 0004"), data}));
}

TEST(protocol_spec_examples, done) {
    expect_wire_bytes(done_msg{1, 0, {0xc0000202}}, hex("0a 02 0001 0000 0000 c0000202"));
}

TEST(protocol_spec_examples, status_with_tfmcc_and_odd_bitmap) {
    const bytes naks = hex("01 80 ff 00 03");
    status_msg m;
    m.file_id = 1;
    m.section = 2;
    m.tfmcc = tfmcc_ack_info_ext{0x06, 0x0203, 0xbea4, 0xc0000202, {0x6b014a8c, 0x0006be47}};
    m.naks = naks;
    // The bitmap is not padded to a word (spec §2.11, §14 #6).
    expect_wire_bytes(m, concat({hex("0b 07 0001 0002 0000 | 03 05 06 00 0203 bea4 c0000202 "
                                     "6b014a8c 0006be47"),
                                 naks}));
}

TEST(protocol_spec_examples, complete_with_freespace) {
    complete_msg m;
    m.file_id = 0;
    m.status = complete_status::rejected;
    m.freespace = freespace_info_ext{0x0102030405060708};
    m.client_ids = {9};
    expect_wire_bytes(m, hex("0c 05 0000 03 000000 | 07 03 0000 01020304 05060708 | 00000009"));
}

TEST(protocol_spec_examples, complete_plain) {
    expect_wire_bytes(complete_msg{1, complete_status::skipped, std::nullopt, {}},
                      hex("0c 02 0001 01 000000"));
}

TEST(protocol_spec_examples, done_conf) {
    expect_wire_bytes(done_conf_msg{{0xc0000202}}, hex("0d 01 0000 c0000202"));
}

TEST(protocol_spec_examples, hb_req_and_resp) {
    expect_wire_bytes(hb_req_msg{}, hex("0e 03 0000 0000 0000 00000000"));
    expect_wire_bytes(
        hb_req_msg{0x11223344, pattern(5, 1), pattern(2, 2)},
        concat({hex("0e 05 0000 0005 0002 11223344"), pattern(5, 1), pattern(2, 2), bytes(1, 0)}));
    expect_wire_bytes(hb_resp_msg{hb_auth::challenge, 0xdeadbeef}, hex("0f 02 02 00 deadbeef"));
}

TEST(protocol_spec_examples, key_req_and_proxy_key) {
    expect_wire_bytes(key_req_msg{}, hex("10 01 0000"));
    expect_wire_bytes(proxy_key_msg{0x01020304, pattern(8, 1), pattern(3, 2), pattern(4, 3)},
                      concat({hex("11 07 0008 0003 0004 01020304"), pattern(8, 1), pattern(3, 2),
                              pattern(4, 3), bytes(1, 0)}));
}

TEST(protocol_spec_examples, encrypted) {
    const bytes sig = pattern(20, 1);
    const bytes payload = pattern(45, 2);
    encrypted_msg m{5, sig, payload};
    // No func/hlen; payload length not a multiple of 4 and not padded (§5.8).
    expect_wire_bytes(m, concat({hex("00000000 00000005 0014 002d"), sig, payload}));
}

TEST(protocol_spec_examples, abort_from_client) {
    const std::string reason = "No client key compatible with server key";
    abort_msg m{0, 0, reason};
    expect_wire_bytes(
        m, concat({hex("13 4d 00 00 00000000"), ascii(reason), bytes(300 - reason.size(), 0)}));
}

TEST(protocol_spec_examples, cong_ctrl) {
    cong_ctrl_msg m;
    m.cc_seq = 0;
    m.cc_rate = 0x481e;
    m.tstamp = {0x6b014a8c, 0x0006be43};
    m.items.push_back({0xc0000202, 0x07, 0x6a});
    expect_wire_bytes(m, hex("14 04 0000 0000 481e 6b014a8c 0006be43 | c0000202 07 6a 0000"));
}

TEST(protocol_spec_examples, cc_ack) {
    cc_ack_msg m{{0x06, 0, 0xbea4, 0xc0000202, {0x6b014a8c, 0x0006be47}}};
    expect_wire_bytes(m, hex("15 06 0000 | 03 05 06 00 0000 bea4 c0000202 6b014a8c 0006be47"));
}

// --- Refusals -----------------------------------------------------------------

wire_error encode_error(const message& m) {
    bytes out(test::encode_capacity);
    auto n = encode(uftp_header{}, m, out);
    return n.ok() ? wire_error::ok : n.error();
}

TEST(protocol_encode_refusals, fileinfo_name_and_link_longer_than_300_bytes) {
    fileinfo_msg m;
    m.name = std::string(300, 'n');
    m.link = std::string(300, 'l');
    EXPECT_EQ(encode_error(m), wire_error::ok);
    m.name = std::string(301, 'n');
    EXPECT_EQ(encode_error(m), wire_error::name_too_long);
    m.name = "n";
    m.link = std::string(301, 'l');
    EXPECT_EQ(encode_error(m), wire_error::name_too_long);
    m.link = std::string(1000, 'l');
    EXPECT_EQ(encode_error(m), wire_error::name_too_long);
}

TEST(protocol_encode_refusals, nul_bytes_in_names_links_and_reasons) {
    for (const std::string& bad :
         {std::string("a\0b", 3), std::string(1, '\0'), std::string("abc\0", 4)}) {
        fileinfo_msg f;
        f.name = bad;
        EXPECT_EQ(encode_error(f), wire_error::name_contains_nul);
        f.name = "ok";
        f.link = bad;
        EXPECT_EQ(encode_error(f), wire_error::name_contains_nul);
        EXPECT_EQ(encode_error(abort_msg{0, 0, bad}), wire_error::name_contains_nul);
    }
}

TEST(protocol_encode_refusals, abort_reason_of_300_bytes_or_more) {
    EXPECT_EQ(encode_error(abort_msg{0, 0, std::string(299, 'r')}), wire_error::ok);
    EXPECT_EQ(encode_error(abort_msg{0, 0, std::string(300, 'r')}), wire_error::reason_too_long);
    EXPECT_EQ(encode_error(abort_msg{0, 0, std::string(5000, 'r')}), wire_error::reason_too_long);
}

TEST(protocol_encode_refusals, file_size_of_2_pow_48_or_more) {
    fileinfo_msg m;
    m.name = "f";
    m.size = max_file_size;
    EXPECT_EQ(encode_error(m), wire_error::ok);
    for (const std::uint64_t size : {max_file_size + 1, std::uint64_t{1} << 63, u64_max}) {
        m.size = size;
        EXPECT_EQ(encode_error(m), wire_error::file_size_too_large) << size;
    }
}

TEST(protocol_encode_refusals, ipv4_announce_with_bytes_beyond_the_first_four) {
    for (std::size_t i = 4; i < 16; ++i) {
        for (const bool on_public : {true, false}) {
            announce_msg m;
            m.public_addr = ipv4(10, 0, 0, 1);
            m.private_addr = ipv4(10, 0, 0, 2);
            (on_public ? m.public_addr : m.private_addr).bytes[i] = 1;
            EXPECT_EQ(encode_error(m), wire_error::address_family_mismatch)
                << "byte " << i << (on_public ? " public" : " private");
            // The same addresses are fine in an IPv6 ANNOUNCE.
            m.flags = flags::announce_ipv6;
            EXPECT_EQ(encode_error(m), wire_error::ok);
        }
    }
}

TEST(protocol_encode_refusals, lengths_that_do_not_fit_their_fields) {
    // REGISTER: hlen is one byte of words, so key info may be at most 1020 - 44.
    register_msg r;
    r.key_info = bytes(976);
    EXPECT_EQ(encode_error(r), wire_error::ok);
    r.key_info = bytes(977);
    EXPECT_EQ(encode_error(r), wire_error::field_too_large);
    r.key_info = bytes(70000); // also beyond the 16-bit length field
    EXPECT_EQ(encode_error(r), wire_error::field_too_large);

    client_key_msg c{bytes(1012), {}};
    EXPECT_EQ(encode_error(c), wire_error::ok);
    c.verify = bytes(1);
    EXPECT_EQ(encode_error(c), wire_error::field_too_large);
    EXPECT_EQ(encode_error(client_key_msg{bytes(65536), {}}), wire_error::field_too_large);

    EXPECT_EQ(encode_error(hb_req_msg{0, bytes(1008), {}}), wire_error::ok);
    EXPECT_EQ(encode_error(hb_req_msg{0, bytes(1008), bytes(1)}), wire_error::field_too_large);
    EXPECT_EQ(encode_error(proxy_key_msg{0, bytes(1000), bytes(8), {}}), wire_error::ok);
    EXPECT_EQ(encode_error(proxy_key_msg{0, bytes(1000), bytes(8), bytes(1)}),
              wire_error::field_too_large);

    // ANNOUNCE: ENC_INFO's length byte and the ANNOUNCE hlen.
    announce_msg a;
    a.enc_info.emplace();
    a.enc_info->key_blob = bytes(996 - 44);
    EXPECT_EQ(encode_error(a), wire_error::ok); // 24 + 996 = 1020 bytes of header
    a.enc_info->key_blob.push_back(0);
    EXPECT_EQ(encode_error(a), wire_error::field_too_large);
    a.enc_info->key_blob = bytes(65536);
    EXPECT_EQ(encode_error(a), wire_error::field_too_large);

    // ENCRYPTED: 16-bit signature and payload lengths.
    const bytes big(65536);
    const bytes max(65535);
    EXPECT_EQ(encode_error(encrypted_msg{0, {}, max}), wire_error::ok);
    EXPECT_EQ(encode_error(encrypted_msg{0, {}, big}), wire_error::field_too_large);
    EXPECT_EQ(encode_error(encrypted_msg{0, big, {}}), wire_error::field_too_large);
}

// --- encode_fileseg_headers ---------------------------------------------------

TEST(protocol_fileseg_headers, match_the_full_encoding_and_leave_the_data_alone) {
    EXPECT_EQ(fileseg_headers_size(false), std::size_t{24});
    EXPECT_EQ(fileseg_headers_size(true), std::size_t{32});
    const bytes data = pattern(1300, 9);
    for (const bool tfmcc : {false, true}) {
        SCOPED_TRACE(tfmcc);
        fileseg_msg m{0xfffe, 0x0102, 0xa0b0, std::nullopt, data};
        if (tfmcc) {
            m.tfmcc = tfmcc_data_info_ext{0x3556, 7, 0x481e};
        }
        const uftp_header h{9, 0xc0000202, 0xabcdef01, 4, 0x9d, 0x18};
        const bytes full = encode_to_bytes(h, m);
        const std::size_t hs = fileseg_headers_size(tfmcc);
        ASSERT_EQ(full.size(), hs + data.size());

        // The caller places the data after the headers itself.
        bytes frame(hs + data.size(), 0xee);
        std::copy(data.begin(), data.end(), frame.begin() + static_cast<std::ptrdiff_t>(hs));
        auto n = encode_fileseg_headers(h, m, frame);
        ASSERT_TRUE(n.ok());
        EXPECT_EQ(*n, hs);
        EXPECT_EQ(frame, full);

        datagram back;
        const exact_buffer exact(frame);
        ASSERT_EQ(decode(exact.span(), back), wire_error::ok);
        EXPECT_EQ(back, (datagram{h, m}));

        // Too small: refused, and the canary after the buffer stays intact.
        for (std::size_t size = 0; size < hs; ++size) {
            bytes guarded(hs + 16, 0xa5);
            auto r = encode_fileseg_headers(h, m, std::span(guarded).first(size));
            ASSERT_FALSE(r.ok());
            EXPECT_EQ(r.error(), wire_error::buffer_too_small);
            for (std::size_t i = size; i < guarded.size(); ++i) {
                ASSERT_EQ(guarded[i], 0xa5) << "size " << size << " byte " << i;
            }
        }
        // Exactly the headers' size is enough, whatever the data's size.
        bytes exact_out(hs);
        auto r = encode_fileseg_headers(h, m, exact_out);
        ASSERT_TRUE(r.ok());
        EXPECT_TRUE(std::equal(exact_out.begin(), exact_out.end(), full.begin()));
    }
}

// Skycast carries permission bits in FILEINFO's reserved bytes 5..7; stock
// sends zeros there (no mode), and a stock receiver ignores them.
TEST(protocol_round_trip, fileinfo_mode_rides_in_the_reserved_bytes) {
    fileinfo_msg m;
    m.file_id = 3;
    m.name = "bin/tool";
    m.size = 10;
    m.mode = 04755; // setuid is carried; the receiver decides what to apply
    const bytes wire = encode_to_bytes(datagram{uftp_header{.src_id = 1, .group_id = 2}, m});
    EXPECT_EQ(wire[uftp_header_size + 5], 0x01);
    EXPECT_EQ(wire[uftp_header_size + 6], 0x09);
    EXPECT_EQ(wire[uftp_header_size + 7], 0xED);
    const exact_buffer exact(wire);
    datagram back;
    ASSERT_EQ(decode(exact.span(), back), wire_error::ok);
    EXPECT_EQ(std::get<fileinfo_msg>(back.body).mode, std::optional<std::uint16_t>(04755));

    bytes stock = wire;
    stock[uftp_header_size + 5] = stock[uftp_header_size + 6] = stock[uftp_header_size + 7] = 0;
    const exact_buffer stock_exact(stock);
    ASSERT_EQ(decode(stock_exact.span(), back), wire_error::ok);
    EXPECT_FALSE(std::get<fileinfo_msg>(back.body).mode.has_value());
}

} // namespace
} // namespace skycast::protocol
