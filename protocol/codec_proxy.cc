// Proxy and heartbeat messages: HB_REQ, HB_RESP, KEY_REQ, PROXY_KEY (spec §2.16).
#include "protocol/codec_detail.h"

namespace skycast::protocol::detail {
namespace {

constexpr std::size_t hb_req_fixed = 12;
constexpr std::size_t hb_resp_fixed = 8;
constexpr std::size_t key_req_fixed = 4;
constexpr std::size_t proxy_key_fixed = 12;

} // namespace

wire_error decode_body(std::span<const std::uint8_t> msg, hb_req_msg& out) {
    message_frame frame;
    if (auto e = open_frame(msg, message_type::hb_req, hb_req_fixed, frame); e != wire_error::ok) {
        return e;
    }
    byte_reader r(frame.header);
    r.skip(4);
    const std::size_t blob_len = r.u16();
    const std::size_t sig_len = r.u16();
    out.nonce = r.u32();
    if (hb_req_fixed + blob_len > frame.header.size()) {
        return wire_error::key_blob_exceeds_header;
    }
    if (hb_req_fixed + blob_len + sig_len > frame.header.size()) {
        return wire_error::signature_exceeds_header;
    }
    if (auto e = check_padding(hb_req_fixed + blob_len + sig_len, frame.header.size());
        e != wire_error::ok) {
        return e;
    }
    auto blob = r.bytes(blob_len);
    auto sig = r.bytes(sig_len);
    out.key_blob.assign(blob.begin(), blob.end());
    out.verify.assign(sig.begin(), sig.end());
    if (r.overrun()) {
        return wire_error::truncated;
    }
    return require_no_body(frame);
}

wire_error encode_body(const hb_req_msg& in, byte_writer& w) {
    if (!fits_u16(in.key_blob.size()) || !fits_u16(in.verify.size())) {
        return wire_error::field_too_large;
    }
    const std::size_t used = hb_req_fixed + in.key_blob.size() + in.verify.size();
    if (auto e = begin_message(w, message_type::hb_req, padded4(used)); e != wire_error::ok) {
        return e;
    }
    w.u16(0);
    w.u16(static_cast<std::uint16_t>(in.key_blob.size()));
    w.u16(static_cast<std::uint16_t>(in.verify.size()));
    w.u32(in.nonce);
    w.bytes(in.key_blob);
    w.bytes(in.verify);
    w.zeros(padded4(used) - used);
    return wire_error::ok;
}

wire_error decode_body(std::span<const std::uint8_t> msg, hb_resp_msg& out) {
    message_frame frame;
    if (auto e = open_exact_frame(msg, message_type::hb_resp, hb_resp_fixed, frame);
        e != wire_error::ok) {
        return e;
    }
    byte_reader r(frame.header);
    r.skip(2);
    out.authenticated = static_cast<hb_auth>(r.u8());
    r.skip(1);
    out.nonce = r.u32();
    if (r.overrun()) {
        return wire_error::truncated;
    }
    return require_no_body(frame);
}

wire_error encode_body(const hb_resp_msg& in, byte_writer& w) {
    if (auto e = begin_message(w, message_type::hb_resp, hb_resp_fixed); e != wire_error::ok) {
        return e;
    }
    w.u8(static_cast<std::uint8_t>(in.authenticated));
    w.u8(0);
    w.u32(in.nonce);
    return wire_error::ok;
}

wire_error decode_body(std::span<const std::uint8_t> msg, key_req_msg&) {
    message_frame frame;
    if (auto e = open_exact_frame(msg, message_type::key_req, key_req_fixed, frame);
        e != wire_error::ok) {
        return e;
    }
    return require_no_body(frame);
}

wire_error encode_body(const key_req_msg&, byte_writer& w) {
    if (auto e = begin_message(w, message_type::key_req, key_req_fixed); e != wire_error::ok) {
        return e;
    }
    w.u16(0);
    return wire_error::ok;
}

wire_error decode_body(std::span<const std::uint8_t> msg, proxy_key_msg& out) {
    message_frame frame;
    if (auto e = open_frame(msg, message_type::proxy_key, proxy_key_fixed, frame);
        e != wire_error::ok) {
        return e;
    }
    byte_reader r(frame.header);
    r.skip(2);
    const std::size_t blob_len = r.u16();
    const std::size_t dh_len = r.u16();
    const std::size_t sig_len = r.u16();
    out.nonce = r.u32();
    if (proxy_key_fixed + blob_len > frame.header.size()) {
        return wire_error::key_blob_exceeds_header;
    }
    if (proxy_key_fixed + blob_len + dh_len > frame.header.size()) {
        return wire_error::dh_blob_exceeds_header;
    }
    if (proxy_key_fixed + blob_len + dh_len + sig_len > frame.header.size()) {
        return wire_error::signature_exceeds_header;
    }
    if (auto e = check_padding(proxy_key_fixed + blob_len + dh_len + sig_len, frame.header.size());
        e != wire_error::ok) {
        return e;
    }
    auto blob = r.bytes(blob_len);
    auto dh = r.bytes(dh_len);
    auto sig = r.bytes(sig_len);
    out.key_blob.assign(blob.begin(), blob.end());
    out.dh_blob.assign(dh.begin(), dh.end());
    out.verify.assign(sig.begin(), sig.end());
    if (r.overrun()) {
        return wire_error::truncated;
    }
    return require_no_body(frame);
}

wire_error encode_body(const proxy_key_msg& in, byte_writer& w) {
    if (!fits_u16(in.key_blob.size()) || !fits_u16(in.dh_blob.size()) ||
        !fits_u16(in.verify.size())) {
        return wire_error::field_too_large;
    }
    const std::size_t used =
        proxy_key_fixed + in.key_blob.size() + in.dh_blob.size() + in.verify.size();
    if (auto e = begin_message(w, message_type::proxy_key, padded4(used)); e != wire_error::ok) {
        return e;
    }
    w.u16(static_cast<std::uint16_t>(in.key_blob.size()));
    w.u16(static_cast<std::uint16_t>(in.dh_blob.size()));
    w.u16(static_cast<std::uint16_t>(in.verify.size()));
    w.u32(in.nonce);
    w.bytes(in.key_blob);
    w.bytes(in.dh_blob);
    w.bytes(in.verify);
    w.zeros(padded4(used) - used);
    return wire_error::ok;
}

} // namespace skycast::protocol::detail
