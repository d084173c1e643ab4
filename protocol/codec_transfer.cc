// File transfer messages: FILEINFO, FILEINFO_ACK, FILESEG, DONE, STATUS,
// COMPLETE, DONE_CONF (spec §2.7–§2.14).
#include "protocol/codec_detail.h"

#include <algorithm>

namespace skycast::protocol::detail {
namespace {

constexpr std::size_t fileinfo_fixed = 28;
// FILEINFO's reserved bytes 5..7 as Skycast uses them (messages.h).
constexpr std::uint8_t fileinfo_mode_present = 0x01;
constexpr std::uint16_t fileinfo_mode_mask = 07777;
constexpr std::size_t fileinfo_ack_fixed = 16;
constexpr std::size_t fileseg_fixed = 8;
constexpr std::size_t done_fixed = 8;
constexpr std::size_t status_fixed = 8;
// STATUS offset 6, reserved upstream (docs/protocol.md §17).
constexpr std::uint8_t status_flag_fec_deficit = 0x01;
constexpr std::uint8_t status_flag_nak_list = 0x02; // §19
constexpr std::size_t complete_fixed = 8;
constexpr std::size_t done_conf_fixed = 4;
constexpr std::uint64_t max_file_size = (std::uint64_t{1} << 48) - 1;

// A NUL-padded string field: the text ends at the first NUL, or fills the field.
std::string read_padded_string(std::span<const std::uint8_t> field) {
    const auto end = std::find(field.begin(), field.end(), std::uint8_t{0});
    return std::string(field.begin(), end);
}

bool has_nul(const std::string& s) {
    return s.find('\0') != std::string::npos;
}

void write_padded_string(byte_writer& w, const std::string& s) {
    w.bytes(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
    w.zeros(padded4(s.size()) - s.size());
}

} // namespace

wire_error decode_body(std::span<const std::uint8_t> msg, fileinfo_msg& out) {
    message_frame frame;
    if (auto e = open_frame(msg, message_type::fileinfo, fileinfo_fixed, frame);
        e != wire_error::ok) {
        return e;
    }
    byte_reader r(frame.header);
    r.skip(2);
    out.file_id = r.u16();
    out.ftype = static_cast<file_type>(r.u8());
    const std::uint8_t mode_flags = r.u8();
    const std::uint16_t mode = r.u16();
    out.mode.reset();
    if ((mode_flags & fileinfo_mode_present) != 0) {
        out.mode = static_cast<std::uint16_t>(mode & fileinfo_mode_mask);
    }
    const std::size_t name_bytes = std::size_t{r.u8()} * 4;
    const std::size_t link_bytes = std::size_t{r.u8()} * 4;
    const std::uint64_t size_high = r.u16();
    out.size = (size_high << 32) | r.u32();
    out.ftstamp = r.u32();
    out.tstamp.sec = r.u32();
    out.tstamp.usec = r.u32();
    // Stock clients require hlen to cover exactly the fixed part, name and link:
    // FILEINFO never carries extensions (spec §2.7, §14 #14).
    if (frame.header.size() != fileinfo_fixed + name_bytes + link_bytes) {
        return wire_error::hlen_mismatch;
    }
    if (name_bytes > max_path_bytes || link_bytes > max_path_bytes) {
        return wire_error::name_too_long;
    }
    out.name = read_padded_string(r.bytes(name_bytes));
    out.link = read_padded_string(r.bytes(link_bytes));
    if (r.overrun()) {
        return wire_error::truncated;
    }
    return read_id_list(frame.body, out.client_ids);
}

wire_error encode_body(const fileinfo_msg& in, byte_writer& w) {
    if (in.name.size() > max_path_bytes || in.link.size() > max_path_bytes) {
        return wire_error::name_too_long;
    }
    if (has_nul(in.name) || has_nul(in.link)) {
        return wire_error::name_contains_nul;
    }
    if (in.size > max_file_size) {
        return wire_error::file_size_too_large;
    }
    const std::size_t name_bytes = padded4(in.name.size());
    const std::size_t link_bytes = padded4(in.link.size());
    if (auto e = begin_message(w, message_type::fileinfo, fileinfo_fixed + name_bytes + link_bytes);
        e != wire_error::ok) {
        return e;
    }
    w.u16(in.file_id);
    w.u8(static_cast<std::uint8_t>(in.ftype));
    w.u8(in.mode ? fileinfo_mode_present : 0);
    w.u16(in.mode ? static_cast<std::uint16_t>(*in.mode & fileinfo_mode_mask) : 0);
    w.u8(static_cast<std::uint8_t>(name_bytes / 4));
    w.u8(static_cast<std::uint8_t>(link_bytes / 4));
    w.u16(static_cast<std::uint16_t>(in.size >> 32));
    w.u32(static_cast<std::uint32_t>(in.size));
    w.u32(in.ftstamp);
    w.u32(in.tstamp.sec);
    w.u32(in.tstamp.usec);
    write_padded_string(w, in.name);
    write_padded_string(w, in.link);
    write_id_list(w, in.client_ids);
    return wire_error::ok;
}

wire_error decode_body(std::span<const std::uint8_t> msg, fileinfo_ack_msg& out) {
    message_frame frame;
    if (auto e = open_exact_frame(msg, message_type::fileinfo_ack, fileinfo_ack_fixed, frame);
        e != wire_error::ok) {
        return e;
    }
    byte_reader r(frame.header);
    r.skip(2);
    out.file_id = r.u16();
    out.flags = r.u8();
    r.skip(3);
    out.tstamp.sec = r.u32();
    out.tstamp.usec = r.u32();
    if (r.overrun()) {
        return wire_error::truncated;
    }
    return read_id_list(frame.body, out.client_ids);
}

wire_error encode_body(const fileinfo_ack_msg& in, byte_writer& w) {
    if (auto e = begin_message(w, message_type::fileinfo_ack, fileinfo_ack_fixed);
        e != wire_error::ok) {
        return e;
    }
    w.u16(in.file_id);
    w.u8(in.flags);
    w.zeros(3);
    w.u32(in.tstamp.sec);
    w.u32(in.tstamp.usec);
    write_id_list(w, in.client_ids);
    return wire_error::ok;
}

wire_error decode_body(std::span<const std::uint8_t> msg, fileseg_msg& out) {
    message_frame frame;
    if (auto e = open_frame(msg, message_type::fileseg, fileseg_fixed, frame);
        e != wire_error::ok) {
        return e;
    }
    byte_reader r(frame.header);
    r.skip(2);
    out.file_id = r.u16();
    out.section = r.u16();
    out.sec_block = r.u16();
    out.tfmcc.reset();
    if (auto e = walk_extensions(frame.header, fileseg_fixed, extension_type::tfmcc_data_info,
                                 tfmcc_data_info_size / 4,
                                 [&](auto ext) {
                                     out.tfmcc.emplace();
                                     return decode_tfmcc_data_info(ext, *out.tfmcc);
                                 });
        e != wire_error::ok) {
        return e;
    }
    out.data = frame.body;
    return r.overrun() ? wire_error::truncated : wire_error::ok;
}

wire_error encode_body(const fileseg_msg& in, byte_writer& w) {
    const std::size_t header = fileseg_fixed + (in.tfmcc ? tfmcc_data_info_size : 0);
    if (auto e = begin_message(w, message_type::fileseg, header); e != wire_error::ok) {
        return e;
    }
    w.u16(in.file_id);
    w.u16(in.section);
    w.u16(in.sec_block);
    if (in.tfmcc) {
        encode_tfmcc_data_info(*in.tfmcc, w);
    }
    w.bytes(in.data);
    return wire_error::ok;
}

wire_error decode_body(std::span<const std::uint8_t> msg, done_msg& out) {
    message_frame frame;
    if (auto e = open_exact_frame(msg, message_type::done, done_fixed, frame);
        e != wire_error::ok) {
        return e;
    }
    byte_reader r(frame.header);
    r.skip(2);
    out.file_id = r.u16();
    out.section = r.u16();
    if (r.overrun()) {
        return wire_error::truncated;
    }
    return read_id_list(frame.body, out.client_ids);
}

wire_error encode_body(const done_msg& in, byte_writer& w) {
    if (auto e = begin_message(w, message_type::done, done_fixed); e != wire_error::ok) {
        return e;
    }
    w.u16(in.file_id);
    w.u16(in.section);
    w.u16(0);
    write_id_list(w, in.client_ids);
    return wire_error::ok;
}

wire_error decode_body(std::span<const std::uint8_t> msg, status_msg& out) {
    message_frame frame;
    if (auto e = open_frame(msg, message_type::status, status_fixed, frame); e != wire_error::ok) {
        return e;
    }
    byte_reader r(frame.header);
    r.skip(2);
    out.file_id = r.u16();
    out.section = r.u16();
    const std::uint8_t status_flags = r.u8();
    out.fec_deficit = (status_flags & status_flag_fec_deficit) != 0;
    out.nak_list = (status_flags & status_flag_nak_list) != 0;
    out.tfmcc.reset();
    if (auto e = walk_extensions(frame.header, status_fixed, extension_type::tfmcc_ack_info,
                                 tfmcc_ack_info_size / 4,
                                 [&](auto ext) {
                                     out.tfmcc.emplace();
                                     return decode_tfmcc_ack_info(ext, *out.tfmcc);
                                 });
        e != wire_error::ok) {
        return e;
    }
    // The bitmap's expected length depends on the section's block count, which
    // only the session knows: see nak_bitmap.h (and nak_list.h for a list).
    out.naks = frame.body;
    return r.overrun() ? wire_error::truncated : wire_error::ok;
}

wire_error encode_body(const status_msg& in, byte_writer& w) {
    const std::size_t header = status_fixed + (in.tfmcc ? tfmcc_ack_info_size : 0);
    if (auto e = begin_message(w, message_type::status, header); e != wire_error::ok) {
        return e;
    }
    w.u16(in.file_id);
    w.u16(in.section);
    w.u8(static_cast<std::uint8_t>((in.fec_deficit ? status_flag_fec_deficit : 0) |
                                   (in.nak_list ? status_flag_nak_list : 0)));
    w.u8(0);
    if (in.tfmcc) {
        encode_tfmcc_ack_info(*in.tfmcc, w);
    }
    w.bytes(in.naks); // not padded: stock reads exactly floor(N/8)+1 bytes
    return wire_error::ok;
}

wire_error decode_body(std::span<const std::uint8_t> msg, complete_msg& out) {
    message_frame frame;
    if (auto e = open_frame(msg, message_type::complete, complete_fixed, frame);
        e != wire_error::ok) {
        return e;
    }
    byte_reader r(frame.header);
    r.skip(2);
    out.file_id = r.u16();
    out.status = static_cast<complete_status>(r.u8());
    out.freespace.reset();
    if (auto e = walk_extensions(frame.header, complete_fixed, extension_type::freespace_info,
                                 freespace_info_size / 4,
                                 [&](auto ext) {
                                     out.freespace.emplace();
                                     return decode_freespace_info(ext, *out.freespace);
                                 });
        e != wire_error::ok) {
        return e;
    }
    if (r.overrun()) {
        return wire_error::truncated;
    }
    return read_id_list(frame.body, out.client_ids);
}

wire_error encode_body(const complete_msg& in, byte_writer& w) {
    const std::size_t header = complete_fixed + (in.freespace ? freespace_info_size : 0);
    if (auto e = begin_message(w, message_type::complete, header); e != wire_error::ok) {
        return e;
    }
    w.u16(in.file_id);
    w.u8(static_cast<std::uint8_t>(in.status));
    w.zeros(3);
    if (in.freespace) {
        encode_freespace_info(*in.freespace, w);
    }
    write_id_list(w, in.client_ids);
    return wire_error::ok;
}

wire_error decode_body(std::span<const std::uint8_t> msg, done_conf_msg& out) {
    message_frame frame;
    if (auto e = open_exact_frame(msg, message_type::done_conf, done_conf_fixed, frame);
        e != wire_error::ok) {
        return e;
    }
    return read_id_list(frame.body, out.client_ids);
}

wire_error encode_body(const done_conf_msg& in, byte_writer& w) {
    if (auto e = begin_message(w, message_type::done_conf, done_conf_fixed); e != wire_error::ok) {
        return e;
    }
    w.u16(0);
    write_id_list(w, in.client_ids);
    return wire_error::ok;
}

} // namespace skycast::protocol::detail
