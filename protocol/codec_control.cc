// Session control messages: ENCRYPTED (outer fields), ABORT, CONG_CTRL, CC_ACK
// (spec §2.15, §2.17, §5.8).
#include "protocol/codec_detail.h"

#include <algorithm>

namespace skycast::protocol::detail {
namespace {

constexpr std::size_t encrypted_fixed = 12; // after the UFTP header; no func/hlen
constexpr std::size_t abort_fixed = 8 + abort_reason_field;
constexpr std::size_t cong_ctrl_fixed = 16;
constexpr std::size_t cc_item_size = 8;
constexpr std::size_t cc_ack_fixed = 4;

} // namespace

wire_error decode_body(std::span<const std::uint8_t> msg, encrypted_msg& out) {
    if (msg.size() < encrypted_fixed) {
        return wire_error::message_too_short;
    }
    byte_reader r(msg);
    out.iv_ctr = r.u64();
    const std::size_t sig_len = r.u16();
    const std::size_t payload_len = r.u16();
    if (encrypted_fixed + sig_len + payload_len != msg.size()) {
        return wire_error::encrypted_length_mismatch;
    }
    out.signature = r.bytes(sig_len);
    out.payload = r.bytes(payload_len);
    return r.overrun() ? wire_error::truncated : wire_error::ok;
}

wire_error encode_body(const encrypted_msg& in, byte_writer& w) {
    if (!fits_u16(in.signature.size()) || !fits_u16(in.payload.size())) {
        return wire_error::field_too_large;
    }
    w.u64(in.iv_ctr);
    w.u16(static_cast<std::uint16_t>(in.signature.size()));
    w.u16(static_cast<std::uint16_t>(in.payload.size()));
    w.bytes(in.signature);
    w.bytes(in.payload);
    return wire_error::ok;
}

wire_error decode_body(std::span<const std::uint8_t> msg, abort_msg& out) {
    message_frame frame;
    if (auto e = open_exact_frame(msg, message_type::abort, abort_fixed, frame);
        e != wire_error::ok) {
        return e;
    }
    byte_reader r(frame.header);
    r.skip(2);
    out.flags = r.u8();
    r.skip(1);
    out.host = r.u32();
    auto reason = r.bytes(abort_reason_field);
    const auto end = std::find(reason.begin(), reason.end(), std::uint8_t{0});
    out.message.assign(reason.begin(), end);
    if (r.overrun()) {
        return wire_error::truncated;
    }
    return require_no_body(frame);
}

wire_error encode_body(const abort_msg& in, byte_writer& w) {
    if (in.message.size() >= abort_reason_field) {
        return wire_error::reason_too_long;
    }
    if (in.message.find('\0') != std::string::npos) {
        return wire_error::name_contains_nul;
    }
    if (auto e = begin_message(w, message_type::abort, abort_fixed); e != wire_error::ok) {
        return e;
    }
    w.u8(in.flags);
    w.u8(0);
    w.u32(in.host);
    w.bytes(std::span(reinterpret_cast<const std::uint8_t*>(in.message.data()), in.message.size()));
    w.zeros(abort_reason_field - in.message.size());
    return wire_error::ok;
}

wire_error decode_body(std::span<const std::uint8_t> msg, cong_ctrl_msg& out) {
    message_frame frame;
    if (auto e = open_exact_frame(msg, message_type::cong_ctrl, cong_ctrl_fixed, frame);
        e != wire_error::ok) {
        return e;
    }
    if (frame.body.size() % cc_item_size != 0) {
        return wire_error::cc_list_misaligned;
    }
    byte_reader r(frame.header);
    r.skip(4);
    out.cc_seq = r.u16();
    out.cc_rate = r.u16();
    out.tstamp.sec = r.u32();
    out.tstamp.usec = r.u32();
    byte_reader body(frame.body);
    out.items.resize(frame.body.size() / cc_item_size);
    for (auto& item : out.items) {
        item.dest_id = body.u32();
        item.flags = body.u8();
        item.rtt = body.u8();
        body.skip(2);
    }
    return r.overrun() || body.overrun() ? wire_error::truncated : wire_error::ok;
}

wire_error encode_body(const cong_ctrl_msg& in, byte_writer& w) {
    if (auto e = begin_message(w, message_type::cong_ctrl, cong_ctrl_fixed); e != wire_error::ok) {
        return e;
    }
    w.u16(0);
    w.u16(in.cc_seq);
    w.u16(in.cc_rate);
    w.u32(in.tstamp.sec);
    w.u32(in.tstamp.usec);
    for (const auto& item : in.items) {
        w.u32(item.dest_id);
        w.u8(item.flags);
        w.u8(item.rtt);
        w.u16(0);
    }
    return wire_error::ok;
}

wire_error decode_body(std::span<const std::uint8_t> msg, cc_ack_msg& out) {
    message_frame frame;
    if (auto e = open_frame(msg, message_type::cc_ack, cc_ack_fixed, frame); e != wire_error::ok) {
        return e;
    }
    bool found = false;
    if (auto e = walk_extensions(frame.header, cc_ack_fixed, extension_type::tfmcc_ack_info,
                                 tfmcc_ack_info_size / 4,
                                 [&](auto ext) {
                                     found = true;
                                     return decode_tfmcc_ack_info(ext, out.tfmcc);
                                 });
        e != wire_error::ok) {
        return e;
    }
    if (!found) {
        return wire_error::extension_missing;
    }
    return require_no_body(frame);
}

wire_error encode_body(const cc_ack_msg& in, byte_writer& w) {
    if (auto e = begin_message(w, message_type::cc_ack, cc_ack_fixed + tfmcc_ack_info_size);
        e != wire_error::ok) {
        return e;
    }
    w.u16(0);
    encode_tfmcc_ack_info(in.tfmcc, w);
    return wire_error::ok;
}

} // namespace skycast::protocol::detail
