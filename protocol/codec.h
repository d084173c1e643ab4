#pragma once
// Encoding and decoding of whole UFTP 4 datagrams and of single messages.
//
// Decoding is strict: every length field is checked against the datagram and
// against the other lengths it must agree with, and the first problem found is
// returned as a wire_error. No decoder reads outside the span it is given, for
// any input. Encoders write into the caller's buffer and return the number of
// bytes written.

#include "protocol/messages.h"
#include "protocol/result.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace skycast::protocol {

// --- Decoding ---------------------------------------------------------------

// Checks the 16-byte header (size, version 0x40, function code) and returns it
// with the message type. Does not look past the header.
wire_error decode_header(std::span<const std::uint8_t> datagram, uftp_header& header,
                         message_type& type);

// Decodes a whole datagram. FILESEG, STATUS and ENCRYPTED bodies keep spans
// into `datagram`.
wire_error decode(std::span<const std::uint8_t> raw, datagram& out);

// Decodes a message without its UFTP header: `message_bytes` starts with the
// func byte (as the plaintext inside an ENCRYPTED datagram does). For
// ENCRYPTED, which has no func byte, it starts with the IV counter.
wire_error decode_message(message_type type, std::span<const std::uint8_t> message_bytes,
                          message& out);

// Data-path decoders: allocation-free, they fail with func_mismatch when the
// datagram holds another message type.
wire_error decode_fileseg(std::span<const std::uint8_t> datagram, uftp_header& header,
                          fileseg_msg& out);
wire_error decode_status(std::span<const std::uint8_t> datagram, uftp_header& header,
                         status_msg& out);

// --- Encoding ---------------------------------------------------------------

// Encodes header and message into `out`; the function code comes from the
// message's type.
result<std::size_t> encode(const uftp_header& header, const message& body,
                           std::span<std::uint8_t> out);
inline result<std::size_t> encode(const datagram& d, std::span<std::uint8_t> out) {
    return encode(d.header, d.body, out);
}

// Encodes only the message (no UFTP header): the plaintext that an ENCRYPTED
// datagram carries.
result<std::size_t> encode_message(const message& body, std::span<std::uint8_t> out);

// The fixed part of an ENCRYPTED datagram (spec §5.8): the UFTP header with
// func = 18, the IV counter, signature length and payload length; 28 bytes.
// Crypto writes it in place and produces the signature and ciphertext right
// after it (the first 28 bytes are also the AEAD's associated data).
inline constexpr std::size_t encrypted_prefix_size = uftp_header_size + 12;
result<std::size_t> encode_encrypted_prefix(const uftp_header& header, std::uint64_t iv_ctr,
                                            std::size_t sig_len, std::size_t payload_len,
                                            std::span<std::uint8_t> out);

// Offset of EXT_ENC_INFO's signature field in an encoded ANNOUNCE datagram
// (UFTP header, ANNOUNCE's fixed part, two addresses, the extension's fixed
// part, the server key blob, the ECDH blob); the field is
// enc_info->signature.size() bytes. The ECDH modes sign the whole datagram
// with this field zeroed (spec §5.6).
std::size_t announce_signature_offset(const announce_msg& announce);

// Bytes of UFTP header + FILESEG header (+ EXT_TFMCC_DATA_INFO) before the data.
constexpr std::size_t fileseg_headers_size(bool with_tfmcc) {
    return uftp_header_size + 8 + (with_tfmcc ? 8 : 0);
}

// Writes the UFTP and FILESEG headers (ignoring `msg.data`) into the first
// fileseg_headers_size() bytes of `out`, for a caller that places the block
// data right after them itself (zero copy on the dataplane).
result<std::size_t> encode_fileseg_headers(const uftp_header& header, const fileseg_msg& msg,
                                           std::span<std::uint8_t> out);

} // namespace skycast::protocol
