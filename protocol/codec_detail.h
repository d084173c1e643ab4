#pragma once
// Internal helpers shared by the per-message codec files. Not part of the
// library's interface.

#include "protocol/byte_cursor.h"
#include "protocol/messages.h"
#include "protocol/result.h"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

namespace skycast::protocol::detail {

// A message split into its header (hlen*4 bytes, starting at func) and body.
struct message_frame {
    std::span<const std::uint8_t> header;
    std::span<const std::uint8_t> body;
};

// Checks func, the fixed header size and hlen against the message bytes.
wire_error open_frame(std::span<const std::uint8_t> msg, message_type expected,
                      std::size_t fixed_size, message_frame& out);

// As open_frame, and hlen must be exactly `fixed_size` (no extensions).
wire_error open_exact_frame(std::span<const std::uint8_t> msg, message_type expected,
                            std::size_t fixed_size, message_frame& out);

// Walks the extensions in header[from, end). A known extension of type
// `wanted` must be `wanted_words` long and is handed to `on_wanted` (the
// first one only); other types are length-checked and skipped, as stock
// receivers skip them.
template <class OnWanted>
wire_error walk_extensions(std::span<const std::uint8_t> header, std::size_t from,
                           extension_type wanted, std::size_t wanted_words, OnWanted&& on_wanted) {
    bool seen = false;
    std::size_t pos = from;
    while (pos < header.size()) {
        if (header.size() - pos < 2) {
            return wire_error::extension_truncated;
        }
        const std::uint8_t type = header[pos];
        const std::size_t words = header[pos + 1];
        if (words == 0) {
            return wire_error::extension_length_zero;
        }
        if (words * 4 > header.size() - pos) {
            return wire_error::extension_truncated;
        }
        if (type == static_cast<std::uint8_t>(wanted) && !seen) {
            if (wanted_words != 0 && words != wanted_words) {
                return wire_error::extension_length_wrong;
            }
            if (auto e = on_wanted(header.subspan(pos, words * 4)); e != wire_error::ok) {
                return e;
            }
            seen = true;
        }
        pos += words * 4;
    }
    return wire_error::ok;
}

// The 16-byte UFTP header with function code `func` (a UFTP 4 message type,
// or Skycast's PARITY), and its fields after version and func on reading.
void write_uftp_header(byte_writer& w, const uftp_header& h, std::uint8_t func);
void read_uftp_header_fields(byte_reader& r, uftp_header& h);

wire_error read_id_list(std::span<const std::uint8_t> body, client_id_list& out);
wire_error require_no_body(const message_frame& frame);

// Lengths padded to the 4-byte words hlen counts in.
constexpr std::size_t padded4(std::size_t n) {
    return (n + 3) & ~std::size_t{3};
}

// Checks that declared lengths end within `available` bytes with at most 3
// bytes of padding; `overflow` names the part that ran over.
wire_error check_padding(std::size_t declared_end, std::size_t available);

// A variable-length part of a message header (key blob, ECDH blob,
// signature, key info) whose length is declared earlier in the header.
struct declared_part {
    std::size_t length;  // as declared on the wire
    wire_error overflow; // the error when it runs past the header
    bytes* out;
};

// Reads `parts` in order from `r` (positioned at the first one), after
// checking that each ends within `header_size` bytes and that at most 3
// bytes of padding follow the last.
wire_error read_declared_parts(byte_reader& r, std::size_t header_size,
                               std::initializer_list<declared_part> parts);

// The padded size of a header of `fixed` bytes followed by `parts`, and the
// writer of those parts and their padding.
std::size_t padded_size(std::size_t fixed,
                        std::initializer_list<std::span<const std::uint8_t>> parts);
void write_padded_parts(byte_writer& w, std::size_t fixed,
                        std::initializer_list<std::span<const std::uint8_t>> parts);
bool all_fit_u16(std::initializer_list<std::span<const std::uint8_t>> parts);

// Writing.
wire_error begin_message(byte_writer& w, message_type type, std::size_t header_bytes);
void write_id_list(byte_writer& w, const client_id_list& ids);
bool fits_u16(std::size_t n);
result<std::size_t> finish(const byte_writer& w);

// Per-type message codecs: message bytes start at func (or at the IV counter
// for ENCRYPTED). Declared here, defined in the codec_*.cc files.
#define SKYCAST_DECLARE_CODEC(msg_type)                                                            \
    wire_error decode_body(std::span<const std::uint8_t> msg, msg_type& out);                      \
    wire_error encode_body(const msg_type& in, byte_writer& w);
SKYCAST_DECLARE_CODEC(announce_msg)
SKYCAST_DECLARE_CODEC(register_msg)
SKYCAST_DECLARE_CODEC(client_key_msg)
SKYCAST_DECLARE_CODEC(reg_conf_msg)
SKYCAST_DECLARE_CODEC(keyinfo_msg)
SKYCAST_DECLARE_CODEC(keyinfo_ack_msg)
SKYCAST_DECLARE_CODEC(fileinfo_msg)
SKYCAST_DECLARE_CODEC(fileinfo_ack_msg)
SKYCAST_DECLARE_CODEC(fileseg_msg)
SKYCAST_DECLARE_CODEC(done_msg)
SKYCAST_DECLARE_CODEC(status_msg)
SKYCAST_DECLARE_CODEC(complete_msg)
SKYCAST_DECLARE_CODEC(done_conf_msg)
SKYCAST_DECLARE_CODEC(hb_req_msg)
SKYCAST_DECLARE_CODEC(hb_resp_msg)
SKYCAST_DECLARE_CODEC(key_req_msg)
SKYCAST_DECLARE_CODEC(proxy_key_msg)
SKYCAST_DECLARE_CODEC(encrypted_msg)
SKYCAST_DECLARE_CODEC(abort_msg)
SKYCAST_DECLARE_CODEC(cong_ctrl_msg)
SKYCAST_DECLARE_CODEC(cc_ack_msg)
#undef SKYCAST_DECLARE_CODEC

// Fixed parts, shared by the codec files that need them.
inline constexpr std::size_t announce_fixed = 16;
inline constexpr std::size_t enc_info_fixed = 44;

// Extensions (extensions.cc): `ext` spans the whole extension, type byte first.
wire_error decode_enc_info(std::span<const std::uint8_t> ext, enc_info_ext& out);
wire_error decode_tfmcc_data_info(std::span<const std::uint8_t> ext, tfmcc_data_info_ext& out);
wire_error decode_tfmcc_ack_info(std::span<const std::uint8_t> ext, tfmcc_ack_info_ext& out);
wire_error decode_freespace_info(std::span<const std::uint8_t> ext, freespace_info_ext& out);
std::size_t enc_info_size(const enc_info_ext& in);
wire_error encode_enc_info(const enc_info_ext& in, byte_writer& w);
inline constexpr std::size_t tfmcc_data_info_size = 8;
inline constexpr std::size_t tfmcc_ack_info_size = 20;
inline constexpr std::size_t freespace_info_size = 12;
inline constexpr std::size_t fec_info_size = 8;
inline constexpr std::size_t overload_info_size = 4; // type, length, version, reserved
inline constexpr std::size_t nak_list_info_size = 8; // + the sender's IPv4 address
// type, length, version, reserved, last file ID (16 bits), reserved (16 bits)
inline constexpr std::size_t last_file_info_size = 8;
void encode_tfmcc_data_info(const tfmcc_data_info_ext& in, byte_writer& w);
void encode_tfmcc_ack_info(const tfmcc_ack_info_ext& in, byte_writer& w);
void encode_freespace_info(const freespace_info_ext& in, byte_writer& w);
wire_error decode_fec_info(std::span<const std::uint8_t> ext, fec_info_ext& out);
void encode_fec_info(const fec_info_ext& in, byte_writer& w);

} // namespace skycast::protocol::detail
