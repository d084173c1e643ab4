// libFuzzer target: every per-type message decoder, without the UFTP header
// check in front of it. Input: one byte choosing the message type
// (byte % 21 + 1), then the message bytes for protocol::decode_message()
// (starting at func; at the IV counter for ENCRYPTED).
// Properties: no decoder reads outside the input; what decodes survives the
// round trip through encode_message(); decode_fileseg() and decode_status()
// agree with decode_message() behind a valid UFTP header; for STATUS, the NAK
// bitmap scans agree with a bit-by-bit reference, for a section size taken
// from the input and for one far larger than any section.
#include "protocol/codec.h"
#include "tests/fuzz/fuzz_support.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <variant>
#include <vector>

namespace {

using namespace skycast::protocol;

// A fixed, valid UFTP header for the data-path decoders, which take whole
// datagrams.
constexpr uftp_header synthetic_header{0x1234, 0x0a000001, 0xabcdef01, 2, 0x20, 0x10};

std::vector<std::uint8_t> with_header(message_type type, std::span<const std::uint8_t> msg) {
    std::vector<std::uint8_t> out(uftp_header_size + msg.size());
    const std::uint8_t header[uftp_header_size] = {uftp_version,
                                                   static_cast<std::uint8_t>(type),
                                                   0x12,
                                                   0x34,
                                                   0x0a,
                                                   0x00,
                                                   0x00,
                                                   0x01,
                                                   0xab,
                                                   0xcd,
                                                   0xef,
                                                   0x01,
                                                   2,
                                                   0x20,
                                                   0x10,
                                                   0x00};
    std::memcpy(out.data(), header, sizeof header);
    if (!msg.empty()) {
        std::memcpy(out.data() + uftp_header_size, msg.data(), msg.size());
    }
    return out;
}

template <class Msg, class DecodeOne>
void check_data_path_decoder(std::span<const std::uint8_t> msg_bytes, message_type type,
                             wire_error error, const message& decoded, DecodeOne&& decode_one) {
    const auto dgram = with_header(type, msg_bytes);
    uftp_header header;
    Msg msg;
    const wire_error e = decode_one(std::span<const std::uint8_t>(dgram), header, msg);
    SKYCAST_FUZZ_CHECK(e == error);
    if (e == wire_error::ok) {
        SKYCAST_FUZZ_CHECK(header == synthetic_header);
        // The spans point into `dgram`, the decoded message's into the input:
        // operator== compares their contents.
        SKYCAST_FUZZ_CHECK(msg == std::get<Msg>(decoded));
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const auto type = static_cast<message_type>(data[0] % last_message_type + 1);
    const std::span<const std::uint8_t> msg_bytes(data + 1, size - 1);

    message m;
    const wire_error error = decode_message(type, msg_bytes, m);
    SKYCAST_FUZZ_CHECK(error < wire_error::count);
    if (error == wire_error::ok) {
        SKYCAST_FUZZ_CHECK(type_of(m) == type);
        skycast::fuzz::check_message_round_trip(m, msg_bytes.size());
    }

    if (type == message_type::fileseg) {
        check_data_path_decoder<fileseg_msg>(
            msg_bytes, type, error, m,
            [](auto in, auto& h, auto& out) { return decode_fileseg(in, h, out); });
        if (error == wire_error::ok) {
            skycast::fuzz::check_fileseg_headers(synthetic_header, std::get<fileseg_msg>(m));
        }
    }
    if (type == message_type::status) {
        check_data_path_decoder<status_msg>(
            msg_bytes, type, error, m,
            [](auto in, auto& h, auto& out) { return decode_status(in, h, out); });
        if (error == wire_error::ok) {
            const auto naks = std::get<status_msg>(m).naks;
            // The section size comes from the input's last four bytes (they
            // also belong to the bitmap; libFuzzer's comparison tracing
            // steers them anyway), reduced to sizes around the bitmap's own:
            // shorter than it, equal, and up to 64 blocks past its end.
            std::uint32_t raw = 0;
            if (size >= 5) {
                std::memcpy(&raw, data + size - 4, sizeof raw);
            }
            const auto blocks =
                static_cast<std::uint32_t>(raw % (std::uint64_t{naks.size()} * 8 + 65));
            skycast::fuzz::check_nak_bitmap(naks, blocks, raw);
            skycast::fuzz::check_nak_bitmap(naks, std::numeric_limits<std::uint32_t>::max(), raw);
        }
    }
    return 0;
}
