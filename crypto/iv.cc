#include "crypto/iv.h"

namespace skycast::crypto {
namespace {

void put_u32(std::uint8_t* p, std::uint32_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 24);
    p[1] = static_cast<std::uint8_t>(v >> 16);
    p[2] = static_cast<std::uint8_t>(v >> 8);
    p[3] = static_cast<std::uint8_t>(v);
}

void put_u64(std::uint8_t* p, std::uint64_t v) {
    put_u32(p, static_cast<std::uint32_t>(v >> 32));
    put_u32(p + 4, static_cast<std::uint32_t>(v));
}

} // namespace

std::size_t build_iv(const cipher_spec& cipher, std::span<const std::uint8_t, salt_len> salt,
                     std::uint32_t uid, std::uint64_t ctr,
                     std::span<std::uint8_t, max_iv_len> out) {
    std::uint8_t uid_be[4];
    put_u32(uid_be, uid);
    if (cipher.aead()) {
        for (std::size_t i = 0; i < 4; ++i) {
            out[i] = salt[i] ^ uid_be[i];
        }
        put_u64(out.data() + 4, ctr);
        return 12;
    }
    if (cipher.iv_len == 16) {
        for (std::size_t i = 0; i < 4; ++i) {
            out[i] = salt[i];
            out[4 + i] = uid_be[i];
        }
        put_u64(out.data() + 8, ctr);
        return 16;
    }
    // 8-byte block ciphers (3DES).
    std::uint8_t ctr_be[8];
    put_u64(ctr_be, ctr);
    for (std::size_t i = 0; i < 4; ++i) {
        out[i] = salt[i] ^ ctr_be[i];
        out[4 + i] = uid_be[i] ^ ctr_be[4 + i];
    }
    return 8;
}

} // namespace skycast::crypto
