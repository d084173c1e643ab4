#pragma once
// The layout of UFTP public key blobs (spec §5.4), as ANNOUNCE, CLIENT_KEY,
// HB_REQ and PROXY_KEY carry them:
//   RSA: type=1, reserved, modlen(2), exponent(4), modulus(modlen)
//   EC:  type=2, curve id, keylen(2), X||Y (keylen), zero padding to 4 bytes
// Parsing gives views into the blob; the keys themselves are crypto/'s.

#include "protocol/constants.h"
#include "protocol/wire_error.h"

#include <cstdint>
#include <span>

namespace skycast::protocol {

struct key_blob_view {
    keyblob_type type = keyblob_type::rsa;
    // RSA
    std::uint32_t exponent = 0;
    std::span<const std::uint8_t> modulus;
    // EC
    std::uint8_t curve = 0;              // spec §2.18 curve IDs; 23 = prime256v1
    std::span<const std::uint8_t> point; // X||Y, without padding
};

// Fails with key_blob_exceeds_header when a declared length runs past the
// blob, and unknown_key_blob_type for a type other than RSA or EC.
wire_error parse_key_blob(std::span<const std::uint8_t> blob, key_blob_view& out);

} // namespace skycast::protocol
