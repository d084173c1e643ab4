// Announce/register and key-exchange messages: ANNOUNCE, REGISTER, CLIENT_KEY,
// REG_CONF, KEYINFO, KEYINFO_ACK (spec §2.1–§2.6).
#include "protocol/codec_detail.h"

#include <algorithm>

namespace skycast::protocol::detail {
namespace {

constexpr std::size_t register_fixed = 44;
constexpr std::size_t client_key_fixed = 8;
constexpr std::size_t reg_conf_fixed = 4;
constexpr std::size_t keyinfo_fixed = 12;
constexpr std::size_t keyinfo_entry_size = 52;
constexpr std::size_t keyinfo_ack_fixed = 16;

std::size_t address_size(bool ipv6) {
    return ipv6 ? 16 : 4;
}

bool ipv4_clean(const ip_address& a) {
    return std::all_of(a.bytes.begin() + 4, a.bytes.end(), [](auto b) { return b == 0; });
}

// Skycast's versioned ANNOUNCE extensions (docs/protocol.md §18, §19, §22)
// start type, length (words), version, reserved.
void write_skycast_extension_head(byte_writer& w, extension_type type, std::size_t bytes) {
    w.u8(static_cast<std::uint8_t>(type));
    w.u8(static_cast<std::uint8_t>(bytes / 4));
    w.u8(1); // version
    w.u8(0);
}

// Reads the body that version 1 of such an extension lays out. Another
// version may lay its bytes out otherwise: no offer this receiver
// understands, and `on_version_1` is not called.
template <class OnVersion1>
wire_error read_skycast_extension(std::span<const std::uint8_t> ext, OnVersion1&& on_version_1) {
    byte_reader x(ext);
    x.skip(2); // type, length
    const std::uint8_t version = x.u8();
    x.skip(1); // reserved
    if (version == 1) {
        on_version_1(x);
    }
    return wire_error::ok;
}

} // namespace

wire_error decode_body(std::span<const std::uint8_t> msg, announce_msg& out) {
    message_frame frame;
    if (auto e = open_frame(msg, message_type::announce, announce_fixed, frame);
        e != wire_error::ok) {
        return e;
    }
    byte_reader r(frame.header);
    r.skip(2);
    out.flags = r.u8();
    out.robust = r.u8();
    out.cc = static_cast<cc_type>(r.u8());
    r.skip(1);
    out.block_size = r.u16();
    out.tstamp.sec = r.u32();
    out.tstamp.usec = r.u32();
    const std::size_t addr_len = address_size(out.ipv6());
    if (frame.header.size() < announce_fixed + 2 * addr_len) {
        return wire_error::hlen_too_small;
    }
    out.public_addr = {};
    out.private_addr = {};
    auto pub = r.bytes(addr_len);
    auto priv = r.bytes(addr_len);
    std::copy(pub.begin(), pub.end(), out.public_addr.bytes.begin());
    std::copy(priv.begin(), priv.end(), out.private_addr.bytes.begin());
    out.enc_info.reset();
    if (auto e = walk_extensions(frame.header, r.position(), extension_type::enc_info, 0,
                                 [&](auto ext) {
                                     out.enc_info.emplace();
                                     return decode_enc_info(ext, *out.enc_info);
                                 });
        e != wire_error::ok) {
        return e;
    }
    out.fec_info.reset();
    if (auto e = walk_extensions(frame.header, r.position(), extension_type::skycast_fec,
                                 fec_info_size / 4,
                                 [&](auto ext) {
                                     out.fec_info.emplace();
                                     return decode_fec_info(ext, *out.fec_info);
                                 });
        e != wire_error::ok) {
        return e;
    }
    out.takes_overload_reports = false;
    if (auto e = walk_extensions(frame.header, r.position(), extension_type::skycast_overload,
                                 overload_info_size / 4,
                                 [&](auto) {
                                     out.takes_overload_reports = true;
                                     return wire_error::ok;
                                 });
        e != wire_error::ok) {
        return e;
    }
    out.nak_lists_from.reset();
    if (auto e = walk_extensions(frame.header, r.position(), extension_type::skycast_nak_list,
                                 nak_list_info_size / 4,
                                 [&](auto ext) {
                                     return read_skycast_extension(ext, [&](byte_reader& x) {
                                         out.nak_lists_from = x.u32();
                                     });
                                 });
        e != wire_error::ok) {
        return e;
    }
    out.last_file_id.reset();
    if (auto e = walk_extensions(frame.header, r.position(), extension_type::skycast_last_file,
                                 last_file_info_size / 4,
                                 [&](auto ext) {
                                     return read_skycast_extension(ext, [&](byte_reader& x) {
                                         // File IDs start at 1: 0 names no file.
                                         if (const std::uint16_t last = x.u16(); last != 0) {
                                             out.last_file_id = last;
                                         }
                                     });
                                 });
        e != wire_error::ok) {
        return e;
    }
    if (r.overrun()) {
        return wire_error::truncated;
    }
    return read_id_list(frame.body, out.client_ids);
}

wire_error encode_body(const announce_msg& in, byte_writer& w) {
    if (!in.ipv6() && !(ipv4_clean(in.public_addr) && ipv4_clean(in.private_addr))) {
        return wire_error::address_family_mismatch;
    }
    const std::size_t addr_len = address_size(in.ipv6());
    const std::size_t header =
        announce_fixed + 2 * addr_len + (in.enc_info ? enc_info_size(*in.enc_info) : 0) +
        (in.fec_info ? fec_info_size : 0) + (in.takes_overload_reports ? overload_info_size : 0) +
        (in.nak_lists_from ? nak_list_info_size : 0) + (in.last_file_id ? last_file_info_size : 0);
    if (auto e = begin_message(w, message_type::announce, header); e != wire_error::ok) {
        return e;
    }
    w.u8(in.flags);
    w.u8(in.robust);
    w.u8(static_cast<std::uint8_t>(in.cc));
    w.u8(0);
    w.u16(in.block_size);
    w.u32(in.tstamp.sec);
    w.u32(in.tstamp.usec);
    w.bytes(std::span(in.public_addr.bytes).first(addr_len));
    w.bytes(std::span(in.private_addr.bytes).first(addr_len));
    if (in.enc_info) {
        if (auto e = encode_enc_info(*in.enc_info, w); e != wire_error::ok) {
            return e;
        }
    }
    if (in.fec_info) {
        // After EXT_ENC_INFO: stock 4.10 reads only the extension right after
        // the addresses, and must find EXT_ENC_INFO there.
        encode_fec_info(*in.fec_info, w);
    }
    if (in.takes_overload_reports) {
        write_skycast_extension_head(w, extension_type::skycast_overload, overload_info_size);
    }
    if (in.nak_lists_from) {
        write_skycast_extension_head(w, extension_type::skycast_nak_list, nak_list_info_size);
        w.u32(*in.nak_lists_from);
    }
    if (in.last_file_id) {
        write_skycast_extension_head(w, extension_type::skycast_last_file, last_file_info_size);
        w.u16(*in.last_file_id);
        w.u16(0);
    }
    write_id_list(w, in.client_ids);
    return wire_error::ok;
}

} // namespace skycast::protocol::detail

namespace skycast::protocol {

std::size_t announce_signature_offset(const announce_msg& announce) {
    const std::size_t addr_len = announce.ipv6() ? 16 : 4;
    const std::size_t key_len = announce.enc_info ? announce.enc_info->key_blob.size() : 0;
    const std::size_t dh_len = announce.enc_info ? announce.enc_info->dh_blob.size() : 0;
    return uftp_header_size + detail::announce_fixed + 2 * addr_len + detail::enc_info_fixed +
           key_len + dh_len;
}

} // namespace skycast::protocol

namespace skycast::protocol::detail {

wire_error decode_body(std::span<const std::uint8_t> msg, register_msg& out) {
    message_frame frame;
    if (auto e = open_frame(msg, message_type::register_, register_fixed, frame);
        e != wire_error::ok) {
        return e;
    }
    byte_reader r(frame.header);
    r.skip(2);
    const std::size_t key_info_len = r.u16();
    out.tstamp.sec = r.u32();
    out.tstamp.usec = r.u32();
    r.copy_to(out.rand2);
    if (auto e = read_declared_parts(
            r, frame.header.size(),
            {{key_info_len, wire_error::key_info_exceeds_header, &out.key_info}});
        e != wire_error::ok) {
        return e;
    }
    return read_id_list(frame.body, out.client_ids);
}

wire_error encode_body(const register_msg& in, byte_writer& w) {
    if (!all_fit_u16({in.key_info})) {
        return wire_error::field_too_large;
    }
    if (auto e =
            begin_message(w, message_type::register_, padded_size(register_fixed, {in.key_info}));
        e != wire_error::ok) {
        return e;
    }
    w.u16(static_cast<std::uint16_t>(in.key_info.size()));
    w.u32(in.tstamp.sec);
    w.u32(in.tstamp.usec);
    w.bytes(in.rand2);
    write_padded_parts(w, register_fixed, {in.key_info});
    write_id_list(w, in.client_ids);
    return wire_error::ok;
}

wire_error decode_body(std::span<const std::uint8_t> msg, client_key_msg& out) {
    message_frame frame;
    if (auto e = open_frame(msg, message_type::client_key, client_key_fixed, frame);
        e != wire_error::ok) {
        return e;
    }
    byte_reader r(frame.header);
    r.skip(4);
    const std::size_t blob_len = r.u16();
    const std::size_t sig_len = r.u16();
    if (auto e =
            read_declared_parts(r, frame.header.size(),
                                {{blob_len, wire_error::key_blob_exceeds_header, &out.key_blob},
                                 {sig_len, wire_error::signature_exceeds_header, &out.verify}});
        e != wire_error::ok) {
        return e;
    }
    return require_no_body(frame);
}

wire_error encode_body(const client_key_msg& in, byte_writer& w) {
    if (!all_fit_u16({in.key_blob, in.verify})) {
        return wire_error::field_too_large;
    }
    if (auto e = begin_message(w, message_type::client_key,
                               padded_size(client_key_fixed, {in.key_blob, in.verify}));
        e != wire_error::ok) {
        return e;
    }
    w.u16(0);
    w.u16(static_cast<std::uint16_t>(in.key_blob.size()));
    w.u16(static_cast<std::uint16_t>(in.verify.size()));
    write_padded_parts(w, client_key_fixed, {in.key_blob, in.verify});
    return wire_error::ok;
}

wire_error decode_body(std::span<const std::uint8_t> msg, reg_conf_msg& out) {
    message_frame frame;
    if (auto e = open_exact_frame(msg, message_type::reg_conf, reg_conf_fixed, frame);
        e != wire_error::ok) {
        return e;
    }
    return read_id_list(frame.body, out.client_ids);
}

wire_error encode_body(const reg_conf_msg& in, byte_writer& w) {
    if (auto e = begin_message(w, message_type::reg_conf, reg_conf_fixed); e != wire_error::ok) {
        return e;
    }
    w.u16(0);
    write_id_list(w, in.client_ids);
    return wire_error::ok;
}

wire_error decode_body(std::span<const std::uint8_t> msg, keyinfo_msg& out) {
    message_frame frame;
    if (auto e = open_exact_frame(msg, message_type::keyinfo, keyinfo_fixed, frame);
        e != wire_error::ok) {
        return e;
    }
    if (frame.body.size() % keyinfo_entry_size != 0) {
        return wire_error::keyinfo_list_misaligned;
    }
    byte_reader r(frame.header);
    r.skip(4);
    out.iv_ctr = r.u64();
    byte_reader body(frame.body);
    out.entries.resize(frame.body.size() / keyinfo_entry_size);
    for (auto& entry : out.entries) {
        entry.dest_id = body.u32();
        body.copy_to(entry.group_master);
    }
    return r.overrun() || body.overrun() ? wire_error::truncated : wire_error::ok;
}

wire_error encode_body(const keyinfo_msg& in, byte_writer& w) {
    if (auto e = begin_message(w, message_type::keyinfo, keyinfo_fixed); e != wire_error::ok) {
        return e;
    }
    w.u16(0);
    w.u64(in.iv_ctr);
    for (const auto& entry : in.entries) {
        w.u32(entry.dest_id);
        w.bytes(entry.group_master);
    }
    return wire_error::ok;
}

wire_error decode_body(std::span<const std::uint8_t> msg, keyinfo_ack_msg& out) {
    message_frame frame;
    if (auto e = open_exact_frame(msg, message_type::keyinfo_ack, keyinfo_ack_fixed, frame);
        e != wire_error::ok) {
        return e;
    }
    byte_reader r(frame.header);
    r.skip(4);
    r.copy_to(out.verify_data);
    if (r.overrun()) {
        return wire_error::truncated;
    }
    return require_no_body(frame);
}

wire_error encode_body(const keyinfo_ack_msg& in, byte_writer& w) {
    if (auto e = begin_message(w, message_type::keyinfo_ack, keyinfo_ack_fixed);
        e != wire_error::ok) {
        return e;
    }
    w.u16(0);
    w.bytes(in.verify_data);
    return wire_error::ok;
}

} // namespace skycast::protocol::detail
