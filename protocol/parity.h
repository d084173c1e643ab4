#pragma once
// PARITY: Skycast's FEC repair datagram (docs/protocol.md §17). Not a UFTP 4
// message: stock has no function code 80, and a Skycast sender sends PARITY
// only to the parity port that its ANNOUNCE's EXT_SKYCAST_FEC names, where no
// stock receiver listens. In an encrypted session the message (func byte
// onward) is sealed inside ENCRYPTED exactly as a FILESEG is.
//
//   UFTP header (16 bytes, func = 80)
//   0  func = 80      1  hlen = 3
//   2  file ID (2)    4  section (2)    6  group within the section (2)
//   8  index (1): the parity block's index in the group, k .. 254
//   9  k (1): the session's data blocks per group (EXT_SKYCAST_FEC)
//   10 reserved (2)
//   12 parity bytes: exactly the session's block size
//
// Allocation-free, like the FILESEG fast path.

#include "protocol/messages.h"
#include "protocol/result.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace skycast::protocol {

inline constexpr std::uint8_t parity_func = 80;
// GF(2^8) Reed–Solomon: a group's k data blocks and parity indices k..254.
inline constexpr std::uint8_t parity_last_index = 254;
inline constexpr std::size_t parity_fixed = 12;
inline constexpr std::size_t parity_headers_size = uftp_header_size + parity_fixed;

// A function code an ENCRYPTED datagram may carry inside: a UFTP 4 message
// other than ENCRYPTED itself, or PARITY (sealed like a FILESEG).
constexpr bool valid_sealed_func(std::uint8_t func) {
    return (func >= first_message_type && func <= last_message_type &&
            func != static_cast<std::uint8_t>(message_type::encrypted)) ||
           func == parity_func;
}

struct parity_msg {
    std::uint16_t file_id = 0;
    std::uint16_t section = 0;
    std::uint16_t group = 0;       // within the section
    std::uint8_t index = 0;        // k .. 254
    std::uint8_t group_blocks = 0; // k
    std::span<const std::uint8_t> data;
    bool operator==(const parity_msg& o) const {
        return file_id == o.file_id && section == o.section && group == o.group &&
               index == o.index && group_blocks == o.group_blocks &&
               std::ranges::equal(data, o.data);
    }
};

// UFTP header + PARITY header into the first parity_headers_size bytes of
// `out`; the caller places the parity bytes right after.
result<std::size_t> encode_parity_headers(const uftp_header& header, const parity_msg& msg,
                                          std::span<std::uint8_t> out);
// The message only (func byte onward, no data): what an ENCRYPTED datagram seals.
result<std::size_t> encode_parity_message_header(const parity_msg& msg,
                                                 std::span<std::uint8_t> out);

// A whole datagram (UFTP header first). `data` points into `datagram`.
// Checks the header, func, hlen and that k and index make sense; the data
// length is the session's to check (it knows the block size).
wire_error decode_parity(std::span<const std::uint8_t> datagram, uftp_header& header,
                         parity_msg& out);
// The message without its UFTP header (inside ENCRYPTED).
wire_error decode_parity_message(std::span<const std::uint8_t> msg_bytes, parity_msg& out);

} // namespace skycast::protocol
