#pragma once
// Private key files: unencrypted PEM, RSA or EC, as `uftp -k`, `uftpd -k` and
// `uftp_keymgt` use them (§5.11). Files are read into guarded memory and
// parsed from there; new files are written 0600 in the traditional
// "RSA PRIVATE KEY" / "EC PRIVATE KEY" (named curve) form uftp_keymgt writes.

#include "crypto/keys.h"

#include <string>
#include <string_view>

namespace skycast::crypto {

result<private_key> load_private_key_pem(std::span<const std::uint8_t> pem);
result<private_key> load_private_key_file(const std::string& path);

// RSA with public exponent 65537, 512..2048 bits.
result<private_key> generate_rsa_key(int bits);
result<private_key> generate_ec_key(const curve_info& curve);

// "rsa:BITS" or "ec:CURVE" (uftp_keymgt -g syntax).
struct key_spec {
    key_kind kind = key_kind::rsa;
    int bits = 0;                      // RSA
    const curve_info* curve = nullptr; // EC
};
result<key_spec> parse_key_spec(std::string_view text);
result<private_key> generate_key(const key_spec& spec);

// Creates `path` with mode 0600 and writes the key; never overwrites
// (key_file_exists), removes a partly written file on failure.
[[nodiscard]] crypto_error write_private_key_file(const private_key& key, const std::string& path);

} // namespace skycast::crypto
