// Decoding hostile input: the reference captures must decode, every
// truncation and every wrong length field must be rejected (or, where the
// spec allows another reading, decoded without reading outside the datagram),
// and each malformation has its own wire_error.
//
// Every datagram handed to the decoder sits in an exactly-sized heap block
// (test::exact_buffer), so the ASan build of this test turns any over-read
// into a failure.

#include "protocol/codec.h"
#include "protocol_test_support.h"

#include <algorithm>
#include <array>
#include <gtest/gtest.h>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace skycast::protocol {
namespace {

using test::concat;
using test::encode_to_bytes;
using test::exact_buffer;
using test::hex;
using test::pattern;

constexpr std::size_t h = uftp_header_size; // message offsets below are relative to it

struct wire_sample {
    std::string label;
    bytes wire;
};

// A datagram decoded from its own exactly-sized copy, which it keeps: FILESEG,
// STATUS and ENCRYPTED hold spans into it.
struct decoded {
    explicit decoded(std::span<const std::uint8_t> wire) : buffer(wire) {
        error = decode(buffer.span(), d);
    }
    exact_buffer buffer;
    datagram d;
    wire_error error = wire_error::ok;
};

wire_error decode_bytes(std::span<const std::uint8_t> wire) {
    return decoded(wire).error;
}

// --- The corpus: both captures plus every message type with its extensions ------

std::vector<wire_sample> capture_corpus() {
    std::vector<wire_sample> out;
    for (const auto& file : test::capture_files()) {
        const auto payloads = test::capture_payloads(file);
        for (std::size_t i = 0; i < payloads.size(); ++i) {
            out.push_back({file + " datagram " + std::to_string(i + 1), payloads[i]});
        }
    }
    return out;
}

const std::vector<wire_sample>& captures() {
    static const std::vector<wire_sample> corpus = capture_corpus();
    return corpus;
}

ip_address ipv4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    ip_address out;
    out.bytes = {a, b, c, d};
    return out;
}

std::vector<wire_sample> built_corpus() {
    static const bytes seg_data = pattern(37, 1);
    static const bytes naks = pattern(5, 2);
    static const bytes enc_sig = pattern(20, 3);
    static const bytes enc_payload = pattern(45, 4);
    const uftp_header hdr{3, 0xc0000202, 0x21d8a64a, 1, 0x9d, 0x18};
    std::vector<std::pair<std::string, message>> msgs;

    announce_msg a;
    a.public_addr = ipv4(230, 4, 4, 1);
    a.private_addr = ipv4(230, 5, 5, 52);
    a.client_ids = {0xc0000202, 7};
    msgs.emplace_back("announce closed", a);
    enc_info_ext e;
    e.keyextype = keyexchange_type::ecdh_rsa;
    e.key_blob = pattern(72, 5);
    e.dh_blob = pattern(68, 6);
    e.signature = pattern(64, 7);
    a.enc_info = e;
    msgs.emplace_back("announce enc_info unpadded", a);
    a.flags = flags::announce_ipv6;
    a.enc_info->key_blob = pattern(5, 5);
    a.enc_info->dh_blob = pattern(3, 6);
    a.enc_info->signature = pattern(1, 7);
    msgs.emplace_back("announce ipv6 enc_info padded", a);
    a.client_ids.clear();
    msgs.emplace_back("announce ipv6 enc_info open", a);

    msgs.emplace_back("register padded", register_msg{{1, 2}, {}, pattern(65, 8), {9, 10}});
    msgs.emplace_back("register empty", register_msg{});
    msgs.emplace_back("client_key", client_key_msg{pattern(68, 1), pattern(64, 2)});
    msgs.emplace_back("client_key padded", client_key_msg{pattern(5, 1), pattern(2, 2)});
    msgs.emplace_back("reg_conf", reg_conf_msg{{1, 2}});
    keyinfo_msg k;
    k.iv_ctr = 5;
    k.entries.resize(2);
    k.entries[1].dest_id = 0xc0000202;
    msgs.emplace_back("keyinfo", k);
    msgs.emplace_back("keyinfo_ack", keyinfo_ack_msg{});
    fileinfo_msg f;
    f.file_id = 1;
    f.size = 300000;
    f.name = "file1.bin";
    f.client_ids = {0xc0000202};
    msgs.emplace_back("fileinfo", f);
    f.ftype = file_type::symlink;
    f.name = "dir/a";
    f.link = "target";
    f.client_ids.clear();
    msgs.emplace_back("fileinfo symlink", f);
    msgs.emplace_back("fileinfo_ack", fileinfo_ack_msg{1, 1, {2, 3}, {4}});
    msgs.emplace_back("fileseg", fileseg_msg{1, 2, 3, std::nullopt, seg_data});
    msgs.emplace_back("fileseg tfmcc",
                      fileseg_msg{1, 2, 3, tfmcc_data_info_ext{4, 5, 6}, seg_data});
    msgs.emplace_back("done", done_msg{1, 2, {3, 4}});
    msgs.emplace_back("status", status_msg{1, 2, std::nullopt, naks});
    msgs.emplace_back("status tfmcc",
                      status_msg{1, 2, tfmcc_ack_info_ext{2, 3, 4, 5, {6, 7}}, naks});
    msgs.emplace_back("complete", complete_msg{1, complete_status::normal, std::nullopt, {5}});
    msgs.emplace_back("complete freespace",
                      complete_msg{0, complete_status::rejected, freespace_info_ext{99}, {5}});
    msgs.emplace_back("done_conf", done_conf_msg{{1}});
    msgs.emplace_back("hb_req", hb_req_msg{1, pattern(5, 1), pattern(2, 2)});
    msgs.emplace_back("hb_req unauthenticated", hb_req_msg{});
    msgs.emplace_back("hb_resp", hb_resp_msg{hb_auth::challenge, 7});
    msgs.emplace_back("key_req", key_req_msg{});
    msgs.emplace_back("proxy_key", proxy_key_msg{1, pattern(8, 1), pattern(3, 2), pattern(4, 3)});
    msgs.emplace_back("proxy_key unpadded",
                      proxy_key_msg{1, pattern(68, 1), pattern(68, 2), pattern(64, 3)});
    msgs.emplace_back("encrypted", encrypted_msg{9, enc_sig, enc_payload});
    msgs.emplace_back("encrypted no signature", encrypted_msg{9, {}, enc_payload});
    msgs.emplace_back("abort", abort_msg{1, 2, "reason"});
    msgs.emplace_back("cong_ctrl", cong_ctrl_msg{1, 2, {3, 4}, {{5, 6, 7}, {8, 9, 10}}});
    msgs.emplace_back("cc_ack", cc_ack_msg{{2, 3, 4, 5, {6, 7}}});

    std::vector<wire_sample> out;
    for (const auto& [label, m] : msgs) {
        out.push_back({label, encode_to_bytes(hdr, m)});
    }
    return out;
}

const std::vector<wire_sample>& corpus() {
    static const std::vector<wire_sample> all = [] {
        auto out = captures();
        auto built = built_corpus();
        out.insert(out.end(), built.begin(), built.end());
        return out;
    }();
    return all;
}

// --- The captures ---------------------------------------------------------------

TEST(protocol_captures, every_udp_payload_decodes_and_reencodes_to_the_same_bytes) {
    std::set<message_type> seen;
    for (const auto& file : test::capture_files()) {
        const auto payloads = test::capture_payloads(file);
        // Frame counts of the reference captures (tshark: 265 and 13 UFTP frames).
        EXPECT_EQ(payloads.size(), file.starts_with("plain") ? 265u : 13u) << file;
    }
    for (const auto& s : captures()) {
        SCOPED_TRACE(s.label);
        datagram d;
        const exact_buffer exact(s.wire);
        ASSERT_EQ(decode(exact.span(), d), wire_error::ok) << name(decode(exact.span(), d));
        seen.insert(d.type());
        // Stock 4.10.2 writes canonical messages: zero reserved bytes and
        // padding, so our encoding of the decoded message is byte-identical.
        EXPECT_EQ(encode_to_bytes(d), s.wire);
    }
    // The plain capture holds the whole unencrypted flow; the encrypted one the
    // key exchange and ENCRYPTED wrappers.
    for (const auto t :
         {message_type::announce, message_type::register_, message_type::client_key,
          message_type::reg_conf, message_type::keyinfo, message_type::fileinfo,
          message_type::fileinfo_ack, message_type::fileseg, message_type::done,
          message_type::complete, message_type::done_conf, message_type::encrypted}) {
        EXPECT_TRUE(seen.contains(t)) << name(t);
    }
}

// --- Truncation at every length ------------------------------------------------

enum class body_kind { none, ids, keyinfo_entries, cc_items, raw };

body_kind body_of(message_type t) {
    switch (t) {
    case message_type::announce:
    case message_type::register_:
    case message_type::reg_conf:
    case message_type::fileinfo:
    case message_type::fileinfo_ack:
    case message_type::done:
    case message_type::complete:
    case message_type::done_conf:
        return body_kind::ids;
    case message_type::keyinfo:
        return body_kind::keyinfo_entries;
    case message_type::cong_ctrl:
        return body_kind::cc_items;
    case message_type::fileseg:
    case message_type::status:
        return body_kind::raw;
    default:
        return body_kind::none; // ENCRYPTED included: its lengths must add up exactly
    }
}

// Whether a datagram cut to `k` bytes is still a valid (shorter) message: only
// when the cut falls on an item boundary of a body list, or anywhere in raw data.
bool cut_is_valid(message_type t, std::size_t header_end, std::size_t k) {
    if (k < header_end) {
        return false;
    }
    const std::size_t body = k - header_end;
    switch (body_of(t)) {
    case body_kind::ids:
        return body % 4 == 0;
    case body_kind::keyinfo_entries:
        return body % 52 == 0;
    case body_kind::cc_items:
        return body % 8 == 0;
    case body_kind::raw:
        return true;
    case body_kind::none:
        return false;
    }
    return false;
}

TEST(protocol_malformed, every_truncation_is_rejected_unless_it_is_a_shorter_valid_body) {
    for (const auto& s : corpus()) {
        SCOPED_TRACE(s.label);
        const decoded first(s.wire);
        ASSERT_EQ(first.error, wire_error::ok);
        const auto type = first.d.type();
        const std::size_t header_end =
            type == message_type::encrypted ? s.wire.size() : h + std::size_t{s.wire[h + 1]} * 4;
        for (std::size_t k = 0; k < s.wire.size(); ++k) {
            const auto cut = std::span<const std::uint8_t>(s.wire).first(k);
            const decoded r(cut);
            const wire_error e = r.error;
            if (cut_is_valid(type, header_end, k)) {
                ASSERT_EQ(e, wire_error::ok) << "cut at " << k;
                // The shorter list or data is exactly what is left.
                ASSERT_EQ(encode_to_bytes(r.d, k), bytes(cut.begin(), cut.end())) << "cut at " << k;
            } else {
                ASSERT_NE(e, wire_error::ok) << "cut at " << k;
                if (k < h) {
                    ASSERT_EQ(e, wire_error::datagram_too_short) << "cut at " << k;
                } else if (k < h + 2 && type != message_type::encrypted) {
                    ASSERT_EQ(e, wire_error::message_too_short) << "cut at " << k;
                }
            }
        }
    }
}

// --- Length fields set to other values ------------------------------------------

// A set of lengths that must add up, with padding under 4 bytes, to the
// container they live in (spec §2.1.1, §2.2, §2.3, §2.16).
struct length_group {
    std::size_t fixed;                // bytes of the container before the blobs
    std::size_t container_offset;     // where the container starts in the datagram
    std::size_t container_size;       // bytes
    std::vector<std::size_t> offsets; // the 16-bit length fields
};

enum class field_rule {
    reject,     // any other value must be rejected
    may_decode, // another value may be a different valid reading
    group,      // valid iff the lengths of its group still fit exactly
};

struct length_field {
    std::string what;
    std::size_t offset;
    int width; // 1 or 2 bytes
    field_rule rule;
    std::optional<length_group> group;
};

std::size_t read_field(const bytes& w, std::size_t off, int width) {
    return width == 1 ? w[off] : (std::size_t{w[off]} << 8) | w[off + 1];
}

void write_field(bytes& w, std::size_t off, int width, std::size_t v) {
    if (width == 1) {
        w[off] = static_cast<std::uint8_t>(v);
    } else {
        w[off] = static_cast<std::uint8_t>(v >> 8);
        w[off + 1] = static_cast<std::uint8_t>(v);
    }
}

std::vector<length_field> length_fields(const datagram& d, const bytes& w) {
    std::vector<length_field> out;
    const auto type = d.type();
    if (type == message_type::encrypted) {
        out.push_back({"sig_len", h + 8, 2, field_rule::reject, {}});
        out.push_back({"payload_len", h + 10, 2, field_rule::reject, {}});
        return out;
    }
    const std::size_t hlen_bytes = std::size_t{w[h + 1]} * 4;
    // hlen can only be re-read differently where extensions may start or end.
    const bool loose = type == message_type::announce || type == message_type::fileseg ||
                       type == message_type::status || type == message_type::complete;
    out.push_back({"hlen", h + 1, 1, loose ? field_rule::may_decode : field_rule::reject, {}});
    auto group = [&](std::size_t fixed, std::size_t start, std::size_t size,
                     std::vector<std::size_t> offsets, std::vector<std::string> names) {
        length_group g{fixed, start, size, offsets};
        for (std::size_t i = 0; i < offsets.size(); ++i) {
            out.push_back({names[i], offsets[i], 2, field_rule::group, g});
        }
    };
    switch (type) {
    case message_type::announce: {
        const auto& a = std::get<announce_msg>(d.body);
        const std::size_t ext = h + 16 + 2 * (a.ipv6() ? 16 : 4);
        if (a.enc_info) {
            out.push_back({"enc_info length", ext + 1, 1, field_rule::reject, {}});
            group(44, ext, std::size_t{w[ext + 1]} * 4, {ext + 6, ext + 8, ext + 10},
                  {"key_len", "dh_len", "sig_len"});
        }
        break;
    }
    case message_type::register_:
        group(44, h, hlen_bytes, {h + 2}, {"keyinfo_len"});
        break;
    case message_type::client_key:
        group(8, h, hlen_bytes, {h + 4, h + 6}, {"blob_len", "sig_len"});
        break;
    case message_type::hb_req:
        group(12, h, hlen_bytes, {h + 4, h + 6}, {"blob_len", "sig_len"});
        break;
    case message_type::proxy_key:
        group(12, h, hlen_bytes, {h + 2, h + 4, h + 6}, {"blob_len", "dh_len", "sig_len"});
        break;
    case message_type::fileinfo:
        out.push_back({"namelen", h + 8, 1, field_rule::reject, {}});
        out.push_back({"linklen", h + 9, 1, field_rule::reject, {}});
        break;
    case message_type::fileseg:
        if (std::get<fileseg_msg>(d.body).tfmcc) {
            out.push_back({"tfmcc_data_info length", h + 9, 1, field_rule::reject, {}});
        }
        break;
    case message_type::status:
        if (std::get<status_msg>(d.body).tfmcc) {
            out.push_back({"tfmcc_ack_info length", h + 9, 1, field_rule::reject, {}});
        }
        break;
    case message_type::complete:
        if (std::get<complete_msg>(d.body).freespace) {
            out.push_back({"freespace_info length", h + 9, 1, field_rule::reject, {}});
        }
        break;
    case message_type::cc_ack:
        out.push_back({"tfmcc_ack_info length", h + 5, 1, field_rule::reject, {}});
        break;
    default:
        break;
    }
    return out;
}

std::vector<std::size_t> other_values(std::size_t v, int width) {
    const std::size_t max = width == 1 ? 0xff : 0xffff;
    std::set<std::size_t> values{0, 1, 2, 3, 4, 5, 8, max - 1, max, max / 2};
    for (std::size_t d = 1; d <= 9; ++d) {
        if (v >= d) {
            values.insert(v - d);
        }
        if (v + d <= max) {
            values.insert(v + d);
        }
    }
    values.insert(std::min(max, v * 2));
    values.erase(v);
    return {values.begin(), values.end()};
}

bool group_fits(const length_group& g, const bytes& w) {
    std::size_t used = g.fixed;
    for (const auto off : g.offsets) {
        used += read_field(w, off, 2);
    }
    return used <= g.container_size && g.container_size - used < 4;
}

bytes with_zero_padding(const length_group& g, bytes w) {
    std::size_t used = g.fixed;
    for (const auto off : g.offsets) {
        used += read_field(w, off, 2);
    }
    std::fill(w.begin() + static_cast<std::ptrdiff_t>(g.container_offset + used),
              w.begin() + static_cast<std::ptrdiff_t>(g.container_offset + g.container_size), 0);
    return w;
}

TEST(protocol_malformed, every_length_field_set_to_another_value) {
    std::size_t mutations = 0;
    std::size_t accepted = 0;
    for (const auto& s : corpus()) {
        SCOPED_TRACE(s.label);
        const decoded original(s.wire);
        ASSERT_EQ(original.error, wire_error::ok);
        for (const auto& field : length_fields(original.d, s.wire)) {
            const std::size_t v = read_field(s.wire, field.offset, field.width);
            for (const std::size_t other : other_values(v, field.width)) {
                bytes w = s.wire;
                write_field(w, field.offset, field.width, other);
                const decoded r(w);
                const wire_error e = r.error;
                ++mutations;
                accepted += e == wire_error::ok ? 1 : 0;
                const auto where = testing::Message() << field.what << " " << v << " -> " << other;
                switch (field.rule) {
                case field_rule::reject:
                    ASSERT_NE(e, wire_error::ok) << where;
                    break;
                case field_rule::may_decode:
                    // Another split between header and body; what matters is
                    // that nothing outside the datagram was read (ASan).
                    break;
                case field_rule::group:
                    ASSERT_EQ(e == wire_error::ok, group_fits(*field.group, w))
                        << where << ": " << name(e);
                    if (e == wire_error::ok) {
                        // The other reading moves bytes between the blobs and the
                        // padding; re-encoding gives the same bytes with zero padding.
                        ASSERT_EQ(encode_to_bytes(r.d), with_zero_padding(*field.group, w))
                            << where;
                    }
                    break;
                }
            }
        }
    }
    EXPECT_GT(mutations, 1000u);
    // Some group mutations must be other valid readings (a blob shortened into
    // padding), or the group rule is not being exercised.
    EXPECT_GT(accepted, 0u);
}

TEST(protocol_malformed, encrypted_lengths_may_move_bytes_between_signature_and_payload) {
    const bytes sig = pattern(20, 1);
    const bytes payload = pattern(45, 2);
    const bytes wire = encode_to_bytes(uftp_header{}, encrypted_msg{1, sig, payload});
    for (int shift = -20; shift <= 45; ++shift) {
        bytes w = wire;
        write_field(w, h + 8, 2, static_cast<std::size_t>(20 + shift));
        write_field(w, h + 10, 2, static_cast<std::size_t>(45 - shift));
        const decoded r(w);
        ASSERT_EQ(r.error, wire_error::ok) << shift;
        const auto& m = std::get<encrypted_msg>(r.d.body);
        EXPECT_EQ(m.signature.size(), static_cast<std::size_t>(20 + shift));
        EXPECT_EQ(m.payload.size(), static_cast<std::size_t>(45 - shift));
        // Both halves together are still exactly the bytes after the 12-byte header.
        EXPECT_EQ(m.signature.data() + m.signature.size(), m.payload.data());
        // One more byte either way no longer adds up.
        write_field(w, h + 10, 2, static_cast<std::size_t>(46 - shift));
        EXPECT_EQ(decode_bytes(w), wire_error::encrypted_length_mismatch) << shift;
    }
}

// --- Hand-built malformations, one wire_error each --------------------------------

const uftp_header any_header{1, 2, 3, 4, 5, 6};

bytes wire_of(const message& m) {
    return encode_to_bytes(any_header, m);
}

TEST(protocol_malformed, header_errors) {
    const bytes done = wire_of(done_msg{1, 2, {3}});
    for (std::size_t k = 0; k < h; ++k) {
        EXPECT_EQ(decode_bytes(std::span<const std::uint8_t>(done).first(k)),
                  wire_error::datagram_too_short)
            << k;
    }
    for (const std::uint8_t version :
         std::array<std::uint8_t, 6>{0x30, 0x50, 0x00, 0x41, 0x04, 0xff}) {
        bytes w = done;
        w[0] = version;
        EXPECT_EQ(decode_bytes(w), wire_error::bad_version) << int(version);
        uftp_header hdr;
        message_type t{};
        const exact_buffer exact(w);
        EXPECT_EQ(decode_header(exact.span(), hdr, t), wire_error::bad_version);
    }
    for (const std::uint8_t func : std::array<std::uint8_t, 5>{0, 22, 23, 0x80, 0xff}) {
        bytes w = done;
        w[1] = func;
        w[h] = func;
        EXPECT_EQ(decode_bytes(w), wire_error::unknown_message_type) << int(func);
    }
    message out;
    const exact_buffer body(std::span<const std::uint8_t>(done).subspan(h));
    EXPECT_EQ(decode_message(static_cast<message_type>(0), body.span(), out),
              wire_error::unknown_message_type);
    EXPECT_EQ(decode_message(static_cast<message_type>(22), body.span(), out),
              wire_error::unknown_message_type);
}

TEST(protocol_malformed, func_mismatch_between_header_and_message) {
    // Every pair of (header function, message func byte) that differ.
    for (const auto& s : corpus()) {
        if (s.wire[1] == static_cast<std::uint8_t>(message_type::encrypted)) {
            continue; // no func byte of its own
        }
        for (std::uint8_t other = first_message_type; other <= last_message_type; ++other) {
            if (other == s.wire[1] || other == static_cast<std::uint8_t>(message_type::encrypted)) {
                continue;
            }
            bytes w = s.wire;
            w[1] = other;
            const wire_error e = decode_bytes(w);
            // The header now names another message: its decoder sees the wrong
            // func byte, or a message too short for it.
            ASSERT_TRUE(e == wire_error::func_mismatch || e == wire_error::message_too_short)
                << s.label << " as " << name(static_cast<message_type>(other)) << ": " << name(e);
            if (w.size() - h >= 400) {
                ASSERT_EQ(e, wire_error::func_mismatch) << s.label;
            }
        }
    }
}

TEST(protocol_malformed, message_shorter_than_its_fixed_header) {
    const bytes fileinfo =
        wire_of(fileinfo_msg{1, file_type::regular, 5, 0, std::nullopt, {}, "a", "", {}});
    for (std::size_t k = h; k < h + 28; ++k) {
        const wire_error e = decode_bytes(std::span<const std::uint8_t>(fileinfo).first(k));
        EXPECT_EQ(e, wire_error::message_too_short) << k;
    }
    const bytes abort = wire_of(abort_msg{0, 0, "x"});
    EXPECT_EQ(decode_bytes(std::span<const std::uint8_t>(abort).first(h + 307)),
              wire_error::message_too_short);
    const bytes encrypted = wire_of(encrypted_msg{});
    for (std::size_t k = h; k < h + 12; ++k) {
        EXPECT_EQ(decode_bytes(std::span<const std::uint8_t>(encrypted).first(k)),
                  wire_error::message_too_short);
    }
}

TEST(protocol_malformed, hlen_too_small_and_past_the_datagram) {
    bytes done = wire_of(done_msg{1, 2, {}});
    done[h + 1] = 1;
    EXPECT_EQ(decode_bytes(done), wire_error::hlen_too_small);
    done[h + 1] = 0;
    EXPECT_EQ(decode_bytes(done), wire_error::hlen_too_small);
    done[h + 1] = 3;
    EXPECT_EQ(decode_bytes(done), wire_error::hlen_exceeds_datagram);
    done[h + 1] = 0xff;
    EXPECT_EQ(decode_bytes(done), wire_error::hlen_exceeds_datagram);

    // An IPv6 ANNOUNCE needs 16 + 2 * 16 bytes of header; hlen 6 covers IPv4 only.
    announce_msg a;
    a.client_ids.assign(10, 0);
    bytes w = wire_of(a);
    w[h + 2] = flags::announce_ipv6;
    EXPECT_EQ(decode_bytes(w), wire_error::hlen_too_small);
}

TEST(protocol_malformed, fileinfo_with_an_extension_is_hlen_mismatch) {
    // FILEINFO must never carry extensions (spec §2.7, §14 #14): hlen must be
    // exactly 7 + namelen + linklen.
    const bytes plain =
        wire_of(fileinfo_msg{1, file_type::regular, 5, 0, std::nullopt, {}, "file1.bin", "", {}});
    bytes w = plain;
    w[h + 1] = static_cast<std::uint8_t>(w[h + 1] + 2);
    const bytes ext = hex("02 02 3556 0001 481e");
    w.insert(w.end(), ext.begin(), ext.end());
    EXPECT_EQ(decode_bytes(w), wire_error::hlen_mismatch);
    // namelen or linklen disagreeing with hlen.
    w = plain;
    w[h + 8] = 2;
    EXPECT_EQ(decode_bytes(w), wire_error::hlen_mismatch);
    w = plain;
    w[h + 9] = 1;
    EXPECT_EQ(decode_bytes(w), wire_error::hlen_mismatch);
    // Exact-frame messages likewise refuse a longer header.
    bytes done = wire_of(done_msg{1, 2, {3}});
    done[h + 1] = 3;
    EXPECT_EQ(decode_bytes(done), wire_error::hlen_mismatch);
}

TEST(protocol_malformed, fileinfo_name_or_link_of_76_words_is_too_long) {
    for (const bool link : {false, true}) {
        fileinfo_msg f;
        f.name = std::string(300, 'n');
        f.link = link ? std::string(300, 'l') : std::string();
        bytes w = wire_of(f);
        ASSERT_EQ(decode_bytes(w), wire_error::ok);
        // Grow the name or link field to 76 words (304 bytes), hlen to match.
        const std::size_t field_end = h + 28 + 300 + (link ? 300 : 0);
        w.insert(w.begin() + static_cast<std::ptrdiff_t>(field_end), 4, std::uint8_t{'x'});
        w[h + (link ? 9 : 8)] = 76;
        w[h + 1] = static_cast<std::uint8_t>(w[h + 1] + 1);
        EXPECT_EQ(decode_bytes(w), wire_error::name_too_long) << (link ? "link" : "name");
    }
}

TEST(protocol_malformed, fileinfo_names_end_at_the_first_nul) {
    // NUL padding is how names shorter than their words end; a name filling
    // its words has no terminator (spec §2.7).
    bytes w = wire_of(fileinfo_msg{1, file_type::regular, 5, 0, std::nullopt, {}, "abcd", "", {}});
    const decoded full(w);
    ASSERT_EQ(full.error, wire_error::ok);
    EXPECT_EQ(std::get<fileinfo_msg>(full.d.body).name, "abcd");
    w[h + 28 + 2] = 0;
    const decoded cut(w);
    ASSERT_EQ(cut.error, wire_error::ok);
    EXPECT_EQ(std::get<fileinfo_msg>(cut.d.body).name, "ab");
}

TEST(protocol_malformed, misaligned_bodies) {
    const message id_list_msgs[] = {announce_msg{}, register_msg{},     reg_conf_msg{},
                                    fileinfo_msg{}, fileinfo_ack_msg{}, done_msg{},
                                    complete_msg{}, done_conf_msg{}};
    for (const auto& m : id_list_msgs) {
        for (const std::size_t extra : {1, 2, 3, 5, 7}) {
            bytes w = wire_of(m);
            w.resize(w.size() + extra, 0xab);
            EXPECT_EQ(decode_bytes(w), wire_error::id_list_misaligned)
                << name(type_of(m)) << " + " << extra;
        }
    }
    for (const std::size_t body : {1, 51, 53, 103}) {
        bytes w = wire_of(keyinfo_msg{});
        w.resize(w.size() + body, 0xab);
        EXPECT_EQ(decode_bytes(w), wire_error::keyinfo_list_misaligned) << body;
    }
    for (const std::size_t body : {1, 4, 7, 9, 15}) {
        bytes w = wire_of(cong_ctrl_msg{});
        w.resize(w.size() + body, 0xab);
        EXPECT_EQ(decode_bytes(w), wire_error::cc_list_misaligned) << body;
    }
}

TEST(protocol_malformed, trailing_bytes_after_bodiless_messages) {
    const message bodiless[] = {client_key_msg{pattern(4), {}},
                                keyinfo_ack_msg{},
                                hb_req_msg{},
                                hb_resp_msg{},
                                key_req_msg{},
                                proxy_key_msg{},
                                abort_msg{0, 0, "bye"},
                                cc_ack_msg{}};
    for (const auto& m : bodiless) {
        for (const std::size_t extra : {1, 4, 300}) {
            bytes w = wire_of(m);
            w.resize(w.size() + extra, 0);
            EXPECT_EQ(decode_bytes(w), wire_error::trailing_bytes)
                << name(type_of(m)) << " + " << extra;
        }
    }
}

TEST(protocol_malformed, extension_errors) {
    // FILESEG with TFMCC_DATA_INFO: type 2 at h+8, length at h+9.
    const bytes seg = wire_of(fileseg_msg{1, 2, 3, tfmcc_data_info_ext{4, 5, 6}, {}});
    bytes w = seg;
    w[h + 9] = 0;
    EXPECT_EQ(decode_bytes(w), wire_error::extension_length_zero);
    w[h + 9] = 1;
    EXPECT_EQ(decode_bytes(w), wire_error::extension_length_wrong);
    w[h + 9] = 3;
    EXPECT_EQ(decode_bytes(w), wire_error::extension_truncated);
    // An unknown extension of length 0 is as fatal: the walk could not advance.
    w = seg;
    w[h + 8] = 0x42;
    w[h + 9] = 0;
    EXPECT_EQ(decode_bytes(w), wire_error::extension_length_zero);
    // ... while an unknown extension of the right size is skipped.
    w[h + 9] = 2;
    const decoded skipped(w);
    ASSERT_EQ(skipped.error, wire_error::ok);
    EXPECT_FALSE(std::get<fileseg_msg>(skipped.d.body).tfmcc.has_value());

    // STATUS with TFMCC_ACK_INFO of the wrong size, COMPLETE with FREESPACE_INFO likewise.
    bytes st = wire_of(status_msg{1, 2, tfmcc_ack_info_ext{}, {}});
    st[h + 9] = 4;
    EXPECT_EQ(decode_bytes(st), wire_error::extension_length_wrong);
    bytes co = wire_of(complete_msg{1, complete_status::normal, freespace_info_ext{1}, {}});
    co[h + 9] = 2;
    EXPECT_EQ(decode_bytes(co), wire_error::extension_length_wrong);

    // ENC_INFO shorter than its 44-byte fixed part.
    announce_msg a;
    a.enc_info.emplace();
    bytes an = wire_of(a);
    const std::size_t ext = h + 24;
    an[ext + 1] = 10; // 40 bytes, less than the fixed part
    EXPECT_EQ(decode_bytes(an), wire_error::extension_length_wrong);
}

TEST(protocol_malformed, an_unknown_extension_before_the_wanted_one_is_skipped) {
    // FILESEG: unknown type 9 (1 word), then TFMCC_DATA_INFO.
    const bytes w =
        concat({hex("40 09 0001 00000002 00000003 00 00 00 00"),
                hex("09 05 0001 0000 0003 | 09 01 ffff | 02 02 3556 0001 481e"), hex("abcdef")});
    const decoded r(w);
    ASSERT_EQ(r.error, wire_error::ok);
    const auto& seg = std::get<fileseg_msg>(r.d.body);
    ASSERT_TRUE(seg.tfmcc.has_value());
    EXPECT_EQ(seg.tfmcc->send_rate, 0x3556);
    EXPECT_EQ(seg.tfmcc->cc_rate, 0x481e);
    EXPECT_EQ(seg.data.size(), 3u);
}

TEST(protocol_malformed, cc_ack_without_tfmcc_ack_info) {
    bytes w = concat({hex("40 15 0001 00000002 00000003 00 00 00 00"), hex("15 01 0000")});
    EXPECT_EQ(decode_bytes(w), wire_error::extension_missing);
    // Another extension in its place does not count.
    w = concat({hex("40 15 0001 00000002 00000003 00 00 00 00"), hex("15 03 0000 07 02 0000"),
                hex("00000000")});
    EXPECT_EQ(decode_bytes(w), wire_error::extension_missing);
}

TEST(protocol_malformed, encrypted_length_mismatch) {
    const bytes w = wire_of(encrypted_msg{1, pattern(20), pattern(45)});
    for (const int delta : {-45, -2, -1, 1, 2, 100}) {
        bytes m = w;
        write_field(m, h + 10, 2, static_cast<std::size_t>(45 + delta));
        EXPECT_EQ(decode_bytes(m), wire_error::encrypted_length_mismatch) << delta;
        m = w;
        write_field(m, h + 8, 2, static_cast<std::size_t>(std::max(0, 20 + delta)));
        EXPECT_EQ(decode_bytes(m), wire_error::encrypted_length_mismatch) << delta;
    }
    bytes longer = w;
    longer.push_back(0);
    EXPECT_EQ(decode_bytes(longer), wire_error::encrypted_length_mismatch);
}

TEST(protocol_malformed, blob_lengths_past_their_container_and_padding) {
    // REGISTER: key info past hlen, and a whole spare word of padding.
    bytes reg = wire_of(register_msg{{}, {}, pattern(4), {}});
    write_field(reg, h + 2, 2, 5);
    EXPECT_EQ(decode_bytes(reg), wire_error::key_info_exceeds_header);
    write_field(reg, h + 2, 2, 0);
    EXPECT_EQ(decode_bytes(reg), wire_error::padding_too_long);

    // CLIENT_KEY blob 4 + sig 4 in 16 bytes.
    bytes ck = wire_of(client_key_msg{pattern(4), pattern(4)});
    write_field(ck, h + 4, 2, 9);
    EXPECT_EQ(decode_bytes(ck), wire_error::key_blob_exceeds_header);
    write_field(ck, h + 4, 2, 5);
    EXPECT_EQ(decode_bytes(ck), wire_error::signature_exceeds_header);
    write_field(ck, h + 4, 2, 0);
    write_field(ck, h + 6, 2, 4);
    EXPECT_EQ(decode_bytes(ck), wire_error::padding_too_long);

    // HB_REQ: fixed 12 bytes, blob 4 + sig 4.
    bytes hb = wire_of(hb_req_msg{1, pattern(4), pattern(4)});
    write_field(hb, h + 4, 2, 9);
    EXPECT_EQ(decode_bytes(hb), wire_error::key_blob_exceeds_header);
    write_field(hb, h + 4, 2, 4);
    write_field(hb, h + 6, 2, 5);
    EXPECT_EQ(decode_bytes(hb), wire_error::signature_exceeds_header);
    write_field(hb, h + 6, 2, 0);
    EXPECT_EQ(decode_bytes(hb), wire_error::padding_too_long);

    // PROXY_KEY: blob 4 + dh 4 + sig 4.
    bytes pk = wire_of(proxy_key_msg{1, pattern(4), pattern(4), pattern(4)});
    write_field(pk, h + 2, 2, 13);
    EXPECT_EQ(decode_bytes(pk), wire_error::key_blob_exceeds_header);
    write_field(pk, h + 2, 2, 4);
    write_field(pk, h + 4, 2, 9);
    EXPECT_EQ(decode_bytes(pk), wire_error::dh_blob_exceeds_header);
    write_field(pk, h + 4, 2, 4);
    write_field(pk, h + 6, 2, 5);
    EXPECT_EQ(decode_bytes(pk), wire_error::signature_exceeds_header);
    write_field(pk, h + 6, 2, 0);
    EXPECT_EQ(decode_bytes(pk), wire_error::padding_too_long);

    // ENC_INFO: key 4 + dh 4 + sig 4 after its 44 fixed bytes.
    announce_msg a;
    a.enc_info.emplace();
    a.enc_info->key_blob = pattern(4);
    a.enc_info->dh_blob = pattern(4);
    a.enc_info->signature = pattern(4);
    bytes an = wire_of(a);
    const std::size_t ext = h + 24;
    write_field(an, ext + 6, 2, 13);
    EXPECT_EQ(decode_bytes(an), wire_error::key_blob_exceeds_header);
    write_field(an, ext + 6, 2, 4);
    write_field(an, ext + 8, 2, 9);
    EXPECT_EQ(decode_bytes(an), wire_error::dh_blob_exceeds_header);
    write_field(an, ext + 8, 2, 4);
    write_field(an, ext + 10, 2, 0xffff);
    EXPECT_EQ(decode_bytes(an), wire_error::signature_exceeds_header);
    write_field(an, ext + 10, 2, 0);
    EXPECT_EQ(decode_bytes(an), wire_error::padding_too_long);
}

TEST(protocol_malformed, abort_reason_without_terminator_stays_in_its_field) {
    // A reason filling all 300 bytes has no NUL: it must end at the field, not
    // run on into whatever follows (ASan would see a read past the datagram).
    bytes w = wire_of(abort_msg{0, 0, "x"});
    std::fill(w.begin() + static_cast<std::ptrdiff_t>(h + 8), w.end(), std::uint8_t{'r'});
    const decoded r(w);
    ASSERT_EQ(r.error, wire_error::ok);
    EXPECT_EQ(std::get<abort_msg>(r.d.body).message, std::string(300, 'r'));
}

// --- The error vocabulary ------------------------------------------------------

TEST(protocol_wire_error, every_value_has_a_unique_name_and_description) {
    std::set<std::string_view> names;
    std::set<std::string_view> descriptions;
    const auto count = static_cast<std::size_t>(wire_error::count);
    for (std::size_t i = 0; i < count; ++i) {
        const auto e = static_cast<wire_error>(i);
        const auto n = name(e);
        const auto d = describe(e);
        EXPECT_FALSE(n.empty()) << i;
        EXPECT_FALSE(d.empty()) << i;
        EXPECT_NE(n, "unknown_error") << i;
        // snake_case, as `skycast decode` prints them.
        EXPECT_TRUE(std::all_of(n.begin(), n.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        })) << n;
        EXPECT_TRUE(names.insert(n).second) << "duplicate name " << n;
        EXPECT_TRUE(descriptions.insert(d).second) << "duplicate description " << d;
    }
    EXPECT_EQ(name(wire_error::ok), "ok");
    EXPECT_EQ(name(wire_error::bad_version), "bad_version");
    EXPECT_EQ(name(wire_error::buffer_too_small), "buffer_too_small");
    // Out-of-range values still print something.
    EXPECT_FALSE(name(wire_error::count).empty());
    EXPECT_FALSE(describe(static_cast<wire_error>(200)).empty());
}

} // namespace
} // namespace skycast::protocol
