// The UFTP header and dispatch to the per-message codecs by function code.
#include "protocol/codec.h"

#include "protocol/codec_detail.h"

#include <array>
#include <utility>

namespace skycast::protocol {
namespace {

using decoder_fn = wire_error (*)(std::span<const std::uint8_t>, message&);

template <std::size_t I>
wire_error decode_alternative(std::span<const std::uint8_t> msg, message& out) {
    return detail::decode_body(msg, out.emplace<I>());
}

template <std::size_t... I>
constexpr std::array<decoder_fn, sizeof...(I)> make_decoders(std::index_sequence<I...>) {
    return {&decode_alternative<I>...};
}

// One decoder per function code, in variant order (index = code - 1).
constexpr auto decoders = make_decoders(std::make_index_sequence<std::variant_size_v<message>>{});

void write_header(byte_writer& w, const uftp_header& h, message_type type) {
    detail::write_uftp_header(w, h, static_cast<std::uint8_t>(type));
}

wire_error encode_any(const message& body, byte_writer& w) {
    return std::visit([&](const auto& m) { return detail::encode_body(m, w); }, body);
}

template <class Msg>
wire_error decode_one(std::span<const std::uint8_t> datagram, message_type wanted,
                      uftp_header& header, Msg& out) {
    message_type type{};
    if (auto e = decode_header(datagram, header, type); e != wire_error::ok) {
        return e;
    }
    if (type != wanted) {
        return wire_error::func_mismatch;
    }
    return detail::decode_body(datagram.subspan(uftp_header_size), out);
}

} // namespace

wire_error decode_header(std::span<const std::uint8_t> datagram, uftp_header& header,
                         message_type& type) {
    if (datagram.size() < uftp_header_size) {
        return wire_error::datagram_too_short;
    }
    byte_reader r(datagram.first(uftp_header_size));
    if (r.u8() != uftp_version) {
        return wire_error::bad_version;
    }
    const std::uint8_t func = r.u8();
    if (func < first_message_type || func > last_message_type) {
        return wire_error::unknown_message_type;
    }
    type = static_cast<message_type>(func);
    detail::read_uftp_header_fields(r, header);
    return wire_error::ok;
}

wire_error decode_message(message_type type, std::span<const std::uint8_t> message_bytes,
                          message& out) {
    const auto code = static_cast<std::size_t>(type);
    if (code < first_message_type || code > last_message_type) {
        return wire_error::unknown_message_type;
    }
    return decoders[code - 1](message_bytes, out);
}

wire_error decode(std::span<const std::uint8_t> raw, datagram& out) {
    message_type type{};
    if (auto e = decode_header(raw, out.header, type); e != wire_error::ok) {
        return e;
    }
    return decode_message(type, raw.subspan(uftp_header_size), out.body);
}

wire_error decode_fileseg(std::span<const std::uint8_t> datagram, uftp_header& header,
                          fileseg_msg& out) {
    return decode_one(datagram, message_type::fileseg, header, out);
}

wire_error decode_status(std::span<const std::uint8_t> datagram, uftp_header& header,
                         status_msg& out) {
    return decode_one(datagram, message_type::status, header, out);
}

result<std::size_t> encode(const uftp_header& header, const message& body,
                           std::span<std::uint8_t> out) {
    byte_writer w(out);
    write_header(w, header, type_of(body));
    if (auto e = encode_any(body, w); e != wire_error::ok) {
        return e;
    }
    return detail::finish(w);
}

result<std::size_t> encode_message(const message& body, std::span<std::uint8_t> out) {
    byte_writer w(out);
    if (auto e = encode_any(body, w); e != wire_error::ok) {
        return e;
    }
    return detail::finish(w);
}

result<std::size_t> encode_encrypted_prefix(const uftp_header& header, std::uint64_t iv_ctr,
                                            std::size_t sig_len, std::size_t payload_len,
                                            std::span<std::uint8_t> out) {
    if (!detail::fits_u16(sig_len) || !detail::fits_u16(payload_len)) {
        return wire_error::field_too_large;
    }
    byte_writer w(out);
    write_header(w, header, message_type::encrypted);
    w.u64(iv_ctr);
    w.u16(static_cast<std::uint16_t>(sig_len));
    w.u16(static_cast<std::uint16_t>(payload_len));
    return detail::finish(w);
}

result<std::size_t> encode_fileseg_headers(const uftp_header& header, const fileseg_msg& msg,
                                           std::span<std::uint8_t> out) {
    fileseg_msg headers_only = msg;
    headers_only.data = {};
    byte_writer w(out);
    write_header(w, header, message_type::fileseg);
    if (auto e = detail::encode_body(headers_only, w); e != wire_error::ok) {
        return e;
    }
    return detail::finish(w);
}

} // namespace skycast::protocol
