#include "protocol/key_blob.h"

#include "protocol/byte_cursor.h"

namespace skycast::protocol {

wire_error parse_key_blob(std::span<const std::uint8_t> blob, key_blob_view& out) {
    constexpr std::size_t rsa_fixed = 8;
    constexpr std::size_t ec_fixed = 4;
    byte_reader r(blob);
    const std::uint8_t type = r.u8();
    if (r.overrun()) {
        return wire_error::key_blob_exceeds_header;
    }
    out = {};
    if (type == static_cast<std::uint8_t>(keyblob_type::rsa)) {
        out.type = keyblob_type::rsa;
        r.skip(1);
        const std::size_t modulus_len = r.u16();
        out.exponent = r.u32();
        if (r.overrun() || rsa_fixed + modulus_len > blob.size()) {
            return wire_error::key_blob_exceeds_header;
        }
        out.modulus = r.bytes(modulus_len);
        return wire_error::ok;
    }
    if (type == static_cast<std::uint8_t>(keyblob_type::ec)) {
        out.type = keyblob_type::ec;
        out.curve = r.u8();
        const std::size_t key_len = r.u16();
        if (r.overrun() || ec_fixed + key_len > blob.size()) {
            return wire_error::key_blob_exceeds_header;
        }
        out.point = r.bytes(key_len);
        return wire_error::ok;
    }
    return wire_error::unknown_key_blob_type;
}

} // namespace skycast::protocol
