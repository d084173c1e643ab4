#pragma once
// The EC curves UFTP 4 can name on the wire (curve IDs of §2.18; the TLS
// NamedCurve numbers). P-256 (prime256v1, ID 23) is the default.

#include <cstdint>
#include <span>
#include <string_view>

namespace skycast::crypto {

struct curve_info {
    std::uint8_t id;       // UFTP/TLS curve ID in EC key blobs
    int nid;               // OpenSSL NID
    std::string_view name; // OpenSSL short name, as uftp_keymgt prints it
};

inline constexpr std::uint8_t default_curve_id = 23; // prime256v1

std::span<const curve_info> all_curves();
const curve_info* curve_by_id(std::uint8_t id);
const curve_info* curve_by_nid(int nid);
// Accepts the OpenSSL short name ("prime256v1", "secp384r1", "sect163k1"),
// the SEC name of the two X9.62 curves ("secp256r1", "secp192r1") and the
// NIST names ("P-256", "P-384", "P-521", ...).
const curve_info* curve_by_name(std::string_view name);

} // namespace skycast::crypto
