#pragma once
// A UFTP datagram as JSON: header fields, message type, and every field of the
// message and its extensions by name (the output format of `skycast decode`,
// documented in README.md). Quantized fields are shown raw and decoded;
// enumerations as number and name; IDs as 0x-prefixed hex; byte strings as
// lower-case hex.

#include "protocol/messages.h"

#include <nlohmann/json.hpp>

namespace skycast::decode {

struct json_options {
    // FILESEG data and ENCRYPTED payloads can be 8800 bytes a datagram: by
    // default only their length is printed.
    bool include_data = false;
};

// {"header": {...}, "type": "FILEINFO", "fileinfo": {...}}
nlohmann::ordered_json to_json(const protocol::datagram& d, std::span<const std::uint8_t> raw,
                               const json_options& options);

// The header alone, for error objects of datagrams whose body failed to decode.
nlohmann::ordered_json header_to_json(const protocol::uftp_header& h,
                                      std::span<const std::uint8_t> raw);

std::string hex(std::span<const std::uint8_t> bytes);
std::string hex_id(std::uint32_t id);

} // namespace skycast::decode
