#pragma once
// Helpers shared by the wire-format unit tests: exactly-sized heap copies (so
// AddressSanitizer sees any read past a datagram), hex literals, encoding into
// a vector and reading the UDP payloads of the reference captures.

#include "control/decode/capture_reader.h"
#include "protocol/codec.h"

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <gtest/gtest.h>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace skycast::protocol::test {

// A copy of some bytes in a heap block of exactly their size: no slack after
// the last byte, so an over-read lands in ASan's redzone instead of in spare
// vector capacity or in the next field of a larger buffer.
class exact_buffer {
public:
    explicit exact_buffer(std::span<const std::uint8_t> bytes)
        : _data(new std::uint8_t[bytes.size()]), _size(bytes.size()) {
        std::copy(bytes.begin(), bytes.end(), _data.get());
    }
    std::span<const std::uint8_t> span() const { return {_data.get(), _size}; }
    std::span<std::uint8_t> writable() { return {_data.get(), _size}; }

private:
    std::unique_ptr<std::uint8_t[]> _data;
    std::size_t _size;
};

// "01 06 00 14 | 6b014a8c": hex digits; spaces and '|' are ignored.
inline bytes hex(std::string_view text) {
    bytes out;
    int high = -1;
    for (const char c : text) {
        if (c == ' ' || c == '|' || c == '\n') {
            continue;
        }
        const int nibble = std::isdigit(static_cast<unsigned char>(c))
                               ? c - '0'
                               : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
        EXPECT_TRUE(nibble >= 0 && nibble < 16) << "bad hex digit '" << c << "'";
        if (high < 0) {
            high = nibble;
        } else {
            out.push_back(static_cast<std::uint8_t>((high << 4) | nibble));
            high = -1;
        }
    }
    EXPECT_EQ(high, -1) << "odd number of hex digits";
    return out;
}

inline bytes ascii(std::string_view text) {
    return bytes(text.begin(), text.end());
}

inline bytes concat(std::initializer_list<bytes> parts) {
    bytes out;
    for (const auto& p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

// `n` bytes of a pattern that differs per byte and per seed, so that a field
// read from the wrong offset does not compare equal by accident.
inline bytes pattern(std::size_t n, std::uint8_t seed = 0) {
    bytes out(n);
    for (std::size_t i = 0; i < n; ++i) {
        out[i] = static_cast<std::uint8_t>(seed + i * 7 + (i >> 8) + 1);
    }
    return out;
}

// Large enough for any message the tests build (lists longer than a 9000-byte
// datagram included: the encoder does not cap datagram size).
inline constexpr std::size_t encode_capacity = 1 << 17;

inline bytes encode_to_bytes(const uftp_header& header, const message& body,
                             std::size_t capacity = encode_capacity) {
    bytes out(capacity);
    auto n = encode(header, body, out);
    EXPECT_TRUE(n.ok()) << "encode failed: " << name(n.error());
    out.resize(n.ok() ? *n : 0);
    return out;
}

inline bytes encode_to_bytes(const datagram& d, std::size_t capacity = encode_capacity) {
    return encode_to_bytes(d.header, d.body, capacity);
}

// The UDP payloads of a capture in tests/data, in frame order.
inline std::vector<bytes> capture_payloads(const std::string& file) {
    std::string error;
    auto reader =
        decode::capture_reader::open_file(std::string(SKYCAST_TEST_DATA) + "/" + file, error);
    EXPECT_NE(reader, nullptr) << file << ": " << error;
    std::vector<bytes> out;
    if (reader == nullptr) {
        return out;
    }
    decode::udp_frame frame;
    std::string problem;
    for (;;) {
        const auto status = reader->next(frame, problem);
        if (status == decode::frame_status::end) {
            break;
        }
        EXPECT_NE(status, decode::frame_status::malformed)
            << file << " frame " << frame.frame_number << ": " << problem;
        if (status == decode::frame_status::udp) {
            out.emplace_back(frame.payload.begin(), frame.payload.end());
        }
    }
    return out;
}

inline const std::vector<std::string>& capture_files() {
    static const std::vector<std::string> files{"plain-open-group-2files.pcap",
                                                "ecdh-rsa-aes256gcm-clientauth.pcap"};
    return files;
}

} // namespace skycast::protocol::test
