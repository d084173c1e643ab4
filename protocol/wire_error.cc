#include "protocol/wire_error.h"

#include <array>

namespace skycast::protocol {
namespace {

struct error_text {
    std::string_view name;
    std::string_view description;
};

constexpr std::array<error_text, static_cast<std::size_t>(wire_error::count)> texts{{
    {"ok", "no error"},
    {"datagram_too_short", "datagram is shorter than the 16-byte UFTP header"},
    {"bad_version", "UFTP version byte is not 0x40 (UFTP 4)"},
    {"unknown_message_type", "message type is not one of the 21 UFTP 4 types"},
    {"message_too_short", "datagram is shorter than the message's fixed header"},
    {"func_mismatch", "message func byte differs from the UFTP header's function"},
    {"hlen_too_small", "hlen is smaller than the message's fixed header"},
    {"hlen_exceeds_datagram", "hlen runs past the end of the datagram"},
    {"hlen_mismatch", "hlen disagrees with the lengths of the message's variable parts"},
    {"extension_truncated", "an extension runs past the end of the message header"},
    {"extension_length_zero", "an extension has a length of zero words"},
    {"extension_length_wrong", "a known extension has the wrong length for its type"},
    {"extension_missing", "a required extension is absent"},
    {"key_info_exceeds_header", "REGISTER key info length runs past hlen"},
    {"key_blob_exceeds_header", "public key blob length runs past its container"},
    {"dh_blob_exceeds_header", "ECDH key blob length runs past its container"},
    {"signature_exceeds_header", "signature length runs past its container"},
    {"padding_too_long", "more than 3 bytes of padding after the declared lengths"},
    {"name_too_long", "file name or link target is longer than 300 bytes"},
    {"unknown_key_blob_type", "public key blob type is neither RSA (1) nor EC (2)"},
    {"name_contains_nul", "a name, link target or reason contains a NUL byte"},
    {"reason_too_long", "ABORT reason is longer than 299 bytes"},
    {"id_list_misaligned", "client ID list is not a whole number of 4-byte IDs"},
    {"keyinfo_list_misaligned", "KEYINFO body is not a whole number of 52-byte entries"},
    {"cc_list_misaligned", "CONG_CTRL body is not a whole number of 8-byte items"},
    {"trailing_bytes", "bytes follow a message that has no body"},
    {"encrypted_length_mismatch",
     "ENCRYPTED signature and payload lengths do not add up to the datagram"},
    {"address_family_mismatch", "ANNOUNCE addresses do not match its IPv6 flag"},
    {"file_size_too_large", "file size does not fit in 48 bits"},
    {"field_too_large", "a length does not fit in its wire field"},
    {"parity_index_invalid", "PARITY names no FEC group (k is 0) or a parity index outside k..254"},
    {"buffer_too_small", "output buffer is too small for the datagram"},
    {"truncated", "a field runs past the end of the datagram"},
}};

const error_text& text_of(wire_error e) {
    const auto index = static_cast<std::size_t>(e);
    static constexpr error_text unknown{"unknown_error", "unknown error"};
    return index < texts.size() ? texts[index] : unknown;
}

} // namespace

std::string_view name(wire_error e) {
    return text_of(e).name;
}
std::string_view describe(wire_error e) {
    return text_of(e).description;
}

} // namespace skycast::protocol
