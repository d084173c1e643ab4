// PARITY (docs/protocol.md §17).
#include "protocol/parity.h"

#include "protocol/byte_cursor.h"
#include "protocol/codec_detail.h"

namespace skycast::protocol {
namespace {

void write_message_header(byte_writer& w, const parity_msg& msg) {
    w.u8(parity_func);
    w.u8(parity_fixed / 4);
    w.u16(msg.file_id);
    w.u16(msg.section);
    w.u16(msg.group);
    w.u8(msg.index);
    w.u8(msg.group_blocks);
    w.u16(0);
}

} // namespace

result<std::size_t> encode_parity_headers(const uftp_header& header, const parity_msg& msg,
                                          std::span<std::uint8_t> out) {
    byte_writer w(out);
    detail::write_uftp_header(w, header, parity_func);
    write_message_header(w, msg);
    return detail::finish(w);
}

result<std::size_t> encode_parity_message_header(const parity_msg& msg,
                                                 std::span<std::uint8_t> out) {
    byte_writer w(out);
    write_message_header(w, msg);
    return detail::finish(w);
}

wire_error decode_parity_message(std::span<const std::uint8_t> msg_bytes, parity_msg& out) {
    if (msg_bytes.size() < parity_fixed) {
        return wire_error::message_too_short;
    }
    byte_reader r(msg_bytes);
    if (r.u8() != parity_func) {
        return wire_error::func_mismatch;
    }
    if (std::size_t{r.u8()} * 4 != parity_fixed) {
        return wire_error::hlen_mismatch;
    }
    out.file_id = r.u16();
    out.section = r.u16();
    out.group = r.u16();
    out.index = r.u8();
    out.group_blocks = r.u8();
    r.skip(2);
    if (out.group_blocks == 0 || out.index < out.group_blocks || out.index > parity_last_index) {
        return wire_error::parity_index_invalid;
    }
    out.data = msg_bytes.subspan(parity_fixed);
    return r.overrun() ? wire_error::truncated : wire_error::ok;
}

wire_error decode_parity(std::span<const std::uint8_t> datagram, uftp_header& header,
                         parity_msg& out) {
    if (datagram.size() < uftp_header_size) {
        return wire_error::datagram_too_short;
    }
    byte_reader r(datagram.first(uftp_header_size));
    if (r.u8() != uftp_version) {
        return wire_error::bad_version;
    }
    if (r.u8() != parity_func) {
        return wire_error::unknown_message_type;
    }
    detail::read_uftp_header_fields(r, header);
    return decode_parity_message(datagram.subspan(uftp_header_size), out);
}

} // namespace skycast::protocol
