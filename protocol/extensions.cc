// Header extensions: EXT_ENC_INFO, EXT_TFMCC_DATA_INFO, EXT_TFMCC_ACK_INFO,
// EXT_FREESPACE_INFO (spec §2.1.1, §2.9, §2.12, §2.13), and Skycast's
// EXT_SKYCAST_FEC (docs/protocol.md §17).
#include "protocol/codec_detail.h"

namespace skycast::protocol::detail {

wire_error decode_enc_info(std::span<const std::uint8_t> ext, enc_info_ext& out) {
    if (ext.size() < enc_info_fixed) {
        return wire_error::extension_length_wrong;
    }
    byte_reader r(ext);
    r.skip(2); // type, length: checked by walk_extensions
    out.flags = r.u8();
    const std::uint8_t exchange_and_signature = r.u8();
    out.keyextype = static_cast<keyexchange_type>(exchange_and_signature >> 4);
    out.sigtype = static_cast<signature_type>(exchange_and_signature & 0x0f);
    out.keytype = static_cast<key_type>(r.u8());
    out.hashtype = static_cast<hash_type>(r.u8());
    const std::size_t key_len = r.u16();
    const std::size_t dh_len = r.u16();
    const std::size_t sig_len = r.u16();
    r.copy_to(out.rand1);
    return read_declared_parts(r, ext.size(),
                               {{key_len, wire_error::key_blob_exceeds_header, &out.key_blob},
                                {dh_len, wire_error::dh_blob_exceeds_header, &out.dh_blob},
                                {sig_len, wire_error::signature_exceeds_header, &out.signature}});
}

std::size_t enc_info_size(const enc_info_ext& in) {
    return padded_size(enc_info_fixed, {in.key_blob, in.dh_blob, in.signature});
}

wire_error encode_enc_info(const enc_info_ext& in, byte_writer& w) {
    const std::size_t size = enc_info_size(in);
    if (size / 4 > 0xff || !all_fit_u16({in.key_blob, in.dh_blob, in.signature})) {
        return wire_error::field_too_large;
    }
    w.u8(static_cast<std::uint8_t>(extension_type::enc_info));
    w.u8(static_cast<std::uint8_t>(size / 4));
    w.u8(in.flags);
    w.u8(static_cast<std::uint8_t>((static_cast<unsigned>(in.keyextype) << 4) |
                                   (static_cast<unsigned>(in.sigtype) & 0x0f)));
    w.u8(static_cast<std::uint8_t>(in.keytype));
    w.u8(static_cast<std::uint8_t>(in.hashtype));
    w.u16(static_cast<std::uint16_t>(in.key_blob.size()));
    w.u16(static_cast<std::uint16_t>(in.dh_blob.size()));
    w.u16(static_cast<std::uint16_t>(in.signature.size()));
    w.bytes(in.rand1);
    write_padded_parts(w, enc_info_fixed, {in.key_blob, in.dh_blob, in.signature});
    return wire_error::ok;
}

wire_error decode_tfmcc_data_info(std::span<const std::uint8_t> ext, tfmcc_data_info_ext& out) {
    byte_reader r(ext);
    r.skip(2);
    out.send_rate = r.u16();
    out.cc_seq = r.u16();
    out.cc_rate = r.u16();
    return r.overrun() ? wire_error::truncated : wire_error::ok;
}

void encode_tfmcc_data_info(const tfmcc_data_info_ext& in, byte_writer& w) {
    w.u8(static_cast<std::uint8_t>(extension_type::tfmcc_data_info));
    w.u8(tfmcc_data_info_size / 4);
    w.u16(in.send_rate);
    w.u16(in.cc_seq);
    w.u16(in.cc_rate);
}

wire_error decode_tfmcc_ack_info(std::span<const std::uint8_t> ext, tfmcc_ack_info_ext& out) {
    byte_reader r(ext);
    r.skip(2);
    out.flags = r.u8();
    r.skip(1);
    out.cc_seq = r.u16();
    out.cc_rate = r.u16();
    out.client_id = r.u32();
    out.tstamp.sec = r.u32();
    out.tstamp.usec = r.u32();
    return r.overrun() ? wire_error::truncated : wire_error::ok;
}

void encode_tfmcc_ack_info(const tfmcc_ack_info_ext& in, byte_writer& w) {
    w.u8(static_cast<std::uint8_t>(extension_type::tfmcc_ack_info));
    w.u8(tfmcc_ack_info_size / 4);
    w.u8(in.flags);
    w.u8(0);
    w.u16(in.cc_seq);
    w.u16(in.cc_rate);
    w.u32(in.client_id);
    w.u32(in.tstamp.sec);
    w.u32(in.tstamp.usec);
}

wire_error decode_freespace_info(std::span<const std::uint8_t> ext, freespace_info_ext& out) {
    byte_reader r(ext);
    r.skip(4); // type, length, reserved(2)
    out.freespace = r.u64();
    return r.overrun() ? wire_error::truncated : wire_error::ok;
}

void encode_freespace_info(const freespace_info_ext& in, byte_writer& w) {
    w.u8(static_cast<std::uint8_t>(extension_type::freespace_info));
    w.u8(freespace_info_size / 4);
    w.u16(0);
    w.u64(in.freespace);
}

wire_error decode_fec_info(std::span<const std::uint8_t> ext, fec_info_ext& out) {
    byte_reader r(ext);
    r.skip(2);
    out.version = r.u8();
    out.group_blocks = r.u8();
    out.parity_port = r.u16();
    const std::uint16_t span = r.u16(); // reserved (0) in version 1
    out.span_groups = out.version >= 2 ? span : 1;
    return r.overrun() ? wire_error::truncated : wire_error::ok;
}

void encode_fec_info(const fec_info_ext& in, byte_writer& w) {
    w.u8(static_cast<std::uint8_t>(extension_type::skycast_fec));
    w.u8(fec_info_size / 4);
    w.u8(in.version);
    w.u8(in.group_blocks);
    w.u16(in.parity_port);
    w.u16(in.version >= 2 ? in.span_groups : 0);
}

} // namespace skycast::protocol::detail
