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
    if (auto e =
            read_declared_parts(r, frame.header.size(),
                                {{blob_len, wire_error::key_blob_exceeds_header, &out.key_blob},
                                 {sig_len, wire_error::signature_exceeds_header, &out.verify}});
        e != wire_error::ok) {
        return e;
    }
    return require_no_body(frame);
}

wire_error encode_body(const hb_req_msg& in, byte_writer& w) {
    if (!all_fit_u16({in.key_blob, in.verify})) {
        return wire_error::field_too_large;
    }
    if (auto e = begin_message(w, message_type::hb_req,
                               padded_size(hb_req_fixed, {in.key_blob, in.verify}));
        e != wire_error::ok) {
        return e;
    }
    w.u16(0);
    w.u16(static_cast<std::uint16_t>(in.key_blob.size()));
    w.u16(static_cast<std::uint16_t>(in.verify.size()));
    w.u32(in.nonce);
    write_padded_parts(w, hb_req_fixed, {in.key_blob, in.verify});
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
    if (auto e =
            read_declared_parts(r, frame.header.size(),
                                {{blob_len, wire_error::key_blob_exceeds_header, &out.key_blob},
                                 {dh_len, wire_error::dh_blob_exceeds_header, &out.dh_blob},
                                 {sig_len, wire_error::signature_exceeds_header, &out.verify}});
        e != wire_error::ok) {
        return e;
    }
    return require_no_body(frame);
}

wire_error encode_body(const proxy_key_msg& in, byte_writer& w) {
    if (!all_fit_u16({in.key_blob, in.dh_blob, in.verify})) {
        return wire_error::field_too_large;
    }
    if (auto e = begin_message(w, message_type::proxy_key,
                               padded_size(proxy_key_fixed, {in.key_blob, in.dh_blob, in.verify}));
        e != wire_error::ok) {
        return e;
    }
    w.u16(static_cast<std::uint16_t>(in.key_blob.size()));
    w.u16(static_cast<std::uint16_t>(in.dh_blob.size()));
    w.u16(static_cast<std::uint16_t>(in.verify.size()));
    w.u32(in.nonce);
    write_padded_parts(w, proxy_key_fixed, {in.key_blob, in.dh_blob, in.verify});
    return wire_error::ok;
}

} // namespace skycast::protocol::detail
