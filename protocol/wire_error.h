#pragma once
// The error vocabulary of the wire-format library: every way a datagram can be
// malformed, and every way a message can be unencodable, has its own value, so
// that a caller (and `skycast decode`) can say exactly what is wrong.

#include <cstdint>
#include <string_view>

namespace skycast::protocol {

enum class wire_error : std::uint8_t {
    ok,
    // The 16-byte UFTP header.
    datagram_too_short,   // fewer than 16 bytes: no UFTP header
    bad_version,          // version byte is not 0x40 (UFTP 4)
    unknown_message_type, // function code outside 1..21
    // The message header (func, hlen, fixed fields, extensions).
    message_too_short,      // fewer bytes than the message's fixed header
    func_mismatch,          // message func byte differs from the UFTP header's
    hlen_too_small,         // hlen*4 is below the message's fixed header
    hlen_exceeds_datagram,  // hlen*4 runs past the end of the datagram
    hlen_mismatch,          // hlen disagrees with the lengths it must equal
    extension_truncated,    // an extension header or body runs past hlen*4
    extension_length_zero,  // an extension claims zero words (would never advance)
    extension_length_wrong, // a known extension has the wrong length for its type
    extension_missing,      // a required extension is absent (CC_ACK's TFMCC_ACK_INFO)
    // Variable parts inside the message header.
    key_info_exceeds_header,  // REGISTER key info longer than hlen allows
    key_blob_exceeds_header,  // a public key blob longer than its container allows
    dh_blob_exceeds_header,   // an ECDH key blob longer than its container allows
    signature_exceeds_header, // a signature longer than its container allows
    padding_too_long,         // more than 3 bytes of padding after declared lengths
    name_too_long,            // FILEINFO name or link longer than 300 bytes
    unknown_key_blob_type,    // a public key blob that is neither RSA (1) nor EC (2)
    name_contains_nul,        // (encode) a name, link or reason with a NUL byte
    reason_too_long,          // (encode) ABORT reason over 299 bytes
    // Bodies.
    id_list_misaligned,        // a client ID list not a whole number of 4-byte IDs
    keyinfo_list_misaligned,   // KEYINFO body not a whole number of 52-byte entries
    cc_list_misaligned,        // CONG_CTRL body not a whole number of 8-byte items
    trailing_bytes,            // bytes after a message that has no body
    encrypted_length_mismatch, // ENCRYPTED sig_len + payload_len != datagram rest
    address_family_mismatch,   // (encode) ANNOUNCE addresses differ from the IPv6 flag
    // Values.
    file_size_too_large,  // (encode) file size above 48 bits
    field_too_large,      // (encode) a length that does not fit its wire field
    parity_index_invalid, // PARITY: k of 0, or a parity index outside k..254
    // Buffers.
    buffer_too_small, // (encode) the caller's buffer cannot hold the datagram
    truncated,        // a read would have left the datagram (defence in depth)
    count             // sentinel
};

// A stable snake_case name for the error, as printed by `skycast decode`.
std::string_view name(wire_error e);
// One sentence saying what is wrong, for logs and error objects.
std::string_view describe(wire_error e);

} // namespace skycast::protocol
