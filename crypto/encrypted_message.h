#pragma once
// Convenience for control-plane code: seal a protocol::message (encoding it
// first) and open a datagram back into one. The per-packet path uses
// packet_cipher::seal/open on bytes directly.

#include "crypto/packet_cipher.h"
#include "protocol/codec.h"

namespace skycast::crypto {

// Encodes `body` into `scratch`, then seals it into `out`.
result<std::size_t> seal_message(packet_cipher& pc, const protocol::uftp_header& header,
                                 const protocol::message& body, std::uint64_t iv_ctr,
                                 std::span<std::uint8_t> scratch, std::span<std::uint8_t> out);

struct opened_message {
    opened_packet packet;
    protocol::message body; // spans in FILESEG/STATUS point into the plaintext buffer
};

// Opens into `plaintext` and decodes the inner message. A message that
// authenticates but does not decode yields datagram_malformed.
result<opened_message> open_message(packet_cipher& pc, std::span<const std::uint8_t> datagram,
                                    std::span<std::uint8_t> plaintext,
                                    const public_key* sender = nullptr);

} // namespace skycast::crypto
