// Message framing helpers shared by every message codec.
#include "protocol/codec_detail.h"

namespace skycast::protocol::detail {

wire_error open_frame(std::span<const std::uint8_t> msg, message_type expected,
                      std::size_t fixed_size, message_frame& out) {
    if (msg.size() < 2 || msg.size() < fixed_size) {
        return wire_error::message_too_short;
    }
    if (msg[0] != static_cast<std::uint8_t>(expected)) {
        return wire_error::func_mismatch;
    }
    const std::size_t header_bytes = std::size_t{msg[1]} * 4;
    if (header_bytes < fixed_size) {
        return wire_error::hlen_too_small;
    }
    if (header_bytes > msg.size()) {
        return wire_error::hlen_exceeds_datagram;
    }
    out.header = msg.first(header_bytes);
    out.body = msg.subspan(header_bytes);
    return wire_error::ok;
}

wire_error open_exact_frame(std::span<const std::uint8_t> msg, message_type expected,
                            std::size_t fixed_size, message_frame& out) {
    if (auto e = open_frame(msg, expected, fixed_size, out); e != wire_error::ok) {
        return e;
    }
    return out.header.size() == fixed_size ? wire_error::ok : wire_error::hlen_mismatch;
}

void write_uftp_header(byte_writer& w, const uftp_header& h, std::uint8_t func) {
    w.u8(uftp_version);
    w.u8(func);
    w.u16(h.seq);
    w.u32(h.src_id);
    w.u32(h.group_id);
    w.u8(h.group_inst);
    w.u8(h.grtt);
    w.u8(h.gsize);
    w.u8(0);
}

void read_uftp_header_fields(byte_reader& r, uftp_header& h) {
    h.seq = r.u16();
    h.src_id = r.u32();
    h.group_id = r.u32();
    h.group_inst = r.u8();
    h.grtt = r.u8();
    h.gsize = r.u8();
}

wire_error read_id_list(std::span<const std::uint8_t> body, client_id_list& out) {
    if (body.size() % 4 != 0) {
        return wire_error::id_list_misaligned;
    }
    byte_reader r(body);
    out.clear();
    out.reserve(body.size() / 4);
    while (r.remaining() != 0) {
        out.push_back(r.u32());
    }
    return wire_error::ok;
}

wire_error require_no_body(const message_frame& frame) {
    return frame.body.empty() ? wire_error::ok : wire_error::trailing_bytes;
}

wire_error check_padding(std::size_t declared_end, std::size_t available) {
    return available - declared_end < 4 ? wire_error::ok : wire_error::padding_too_long;
}

wire_error read_declared_parts(byte_reader& r, std::size_t header_size,
                               std::initializer_list<declared_part> parts) {
    std::size_t end = r.position();
    for (const auto& part : parts) {
        end += part.length;
        if (end > header_size) {
            return part.overflow;
        }
    }
    if (auto e = check_padding(end, header_size); e != wire_error::ok) {
        return e;
    }
    for (const auto& part : parts) {
        auto view = r.bytes(part.length);
        part.out->assign(view.begin(), view.end());
    }
    return r.overrun() ? wire_error::truncated : wire_error::ok;
}

std::size_t padded_size(std::size_t fixed,
                        std::initializer_list<std::span<const std::uint8_t>> parts) {
    std::size_t used = fixed;
    for (const auto& part : parts) {
        used += part.size();
    }
    return padded4(used);
}

void write_padded_parts(byte_writer& w, std::size_t fixed,
                        std::initializer_list<std::span<const std::uint8_t>> parts) {
    std::size_t used = fixed;
    for (const auto& part : parts) {
        w.bytes(part);
        used += part.size();
    }
    w.zeros(padded4(used) - used);
}

bool all_fit_u16(std::initializer_list<std::span<const std::uint8_t>> parts) {
    for (const auto& part : parts) {
        if (!fits_u16(part.size())) {
            return false;
        }
    }
    return true;
}

wire_error begin_message(byte_writer& w, message_type type, std::size_t header_bytes) {
    if (header_bytes % 4 != 0 || header_bytes / 4 > 0xff) {
        return wire_error::field_too_large;
    }
    w.u8(static_cast<std::uint8_t>(type));
    w.u8(static_cast<std::uint8_t>(header_bytes / 4));
    return wire_error::ok;
}

void write_id_list(byte_writer& w, const client_id_list& ids) {
    for (const auto id : ids) {
        w.u32(id);
    }
}

bool fits_u16(std::size_t n) {
    return n <= 0xffff;
}

result<std::size_t> finish(const byte_writer& w) {
    if (w.overrun()) {
        return wire_error::buffer_too_small;
    }
    return w.position();
}

} // namespace skycast::protocol::detail
