#pragma once
// Small helpers shared by the crypto unit tests.

#include "crypto/key_file.h"
#include "crypto/suites.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace test_util {

inline std::vector<std::uint8_t> from_hex(std::string_view hex) {
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(
            static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    }
    return out;
}

inline std::string to_hex(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (auto b : bytes) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 15]);
    }
    return out;
}

inline std::span<const std::uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

inline skycast::crypto::private_key load_pem(std::string_view pem) {
    auto key = skycast::crypto::load_private_key_pem(as_bytes(pem));
    if (!key) {
        std::abort();
    }
    return std::move(key).value();
}

inline skycast::crypto::suite make(std::uint8_t key, std::uint8_t hash) {
    using namespace skycast::protocol;
    const auto cipher = static_cast<key_type>(key);
    const bool aead = key >= 5;
    auto s = skycast::crypto::make_suite(cipher, static_cast<hash_type>(hash),
                                         aead ? signature_type::authenc : signature_type::hmac);
    if (!s) {
        std::abort();
    }
    return *s;
}

} // namespace test_util
