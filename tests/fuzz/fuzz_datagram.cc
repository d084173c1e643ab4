// libFuzzer target: protocol::decode() of the whole input as one datagram.
// Properties: no decoder reads outside the input (AddressSanitizer); every
// datagram that decodes survives the encode/decode round trip (fuzz_support.h);
// the data-path decoders decode_fileseg() and decode_status() agree with
// decode() on every input, including the header errors; Skycast's PARITY
// decoder (docs/protocol.md §17) stays within the input, and what it accepts
// re-encodes to the same bytes; a STATUS's NAK list (§19) expands within its
// section or is refused, and what it names survives encode/expand.
#include "protocol/codec.h"
#include "protocol/nak_list.h"
#include "protocol/parity.h"
#include "tests/fuzz/fuzz_support.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

namespace {

using namespace skycast::protocol;

// `decode_one` is decode_fileseg or decode_status, `Msg` what it fills in.
template <class Msg, class DecodeOne>
void check_data_path_decoder(std::span<const std::uint8_t> raw, message_type its_type,
                             wire_error header_error, message_type type, wire_error error,
                             const datagram& full, DecodeOne&& decode_one) {
    uftp_header header;
    Msg msg;
    const wire_error e = decode_one(raw, header, msg);
    if (header_error != wire_error::ok) {
        SKYCAST_FUZZ_CHECK(e == header_error);
    } else if (type != its_type) {
        SKYCAST_FUZZ_CHECK(e == wire_error::func_mismatch);
    } else {
        SKYCAST_FUZZ_CHECK(e == error);
        if (e == wire_error::ok) {
            SKYCAST_FUZZ_CHECK(header == full.header);
            SKYCAST_FUZZ_CHECK(msg == std::get<Msg>(full.body));
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> raw(data, size);

    uftp_header header;
    message_type type{};
    const wire_error header_error = decode_header(raw, header, type);

    datagram d;
    const wire_error error = decode(raw, d);
    SKYCAST_FUZZ_CHECK(error < wire_error::count);
    if (header_error != wire_error::ok) {
        SKYCAST_FUZZ_CHECK(error == header_error);
    }

    check_data_path_decoder<fileseg_msg>(
        raw, message_type::fileseg, header_error, type, error, d,
        [](auto in, auto& h, auto& m) { return decode_fileseg(in, h, m); });
    check_data_path_decoder<status_msg>(
        raw, message_type::status, header_error, type, error, d,
        [](auto in, auto& h, auto& m) { return decode_status(in, h, m); });

    {
        uftp_header ph;
        parity_msg pm;
        const wire_error pe = decode_parity(raw, ph, pm);
        SKYCAST_FUZZ_CHECK(pe < wire_error::count);
        // PARITY is not a UFTP 4 message: decode() refuses every one.
        if (pe == wire_error::ok) {
            SKYCAST_FUZZ_CHECK(error == wire_error::unknown_message_type);
            SKYCAST_FUZZ_CHECK(pm.data.data() == data + parity_headers_size);
            SKYCAST_FUZZ_CHECK(pm.data.size() == size - parity_headers_size);
            std::uint8_t again[parity_headers_size];
            const auto n = encode_parity_headers(ph, pm, again);
            SKYCAST_FUZZ_CHECK(n.ok() && *n == parity_headers_size);
            // Reserved bytes are not kept: compare everything else.
            for (std::size_t i = 0; i < parity_headers_size; ++i) {
                if (i != 15 && i != uftp_header_size + 10 && i != uftp_header_size + 11) {
                    SKYCAST_FUZZ_CHECK(again[i] == data[i]);
                }
            }
        }
    }

    if (error != wire_error::ok) {
        return 0;
    }
    SKYCAST_FUZZ_CHECK(d.header == header && d.type() == type);
    skycast::fuzz::check_datagram_round_trip(d, size);
    if (const auto* seg = std::get_if<fileseg_msg>(&d.body)) {
        skycast::fuzz::check_fileseg_headers(d.header, *seg);
    }
    if (const auto* st = std::get_if<status_msg>(&d.body); st != nullptr && st->nak_list) {
        // Read against the largest section and a small one (the section
        // number picks its size): whatever the sender accepts, encoded again,
        // names the same blocks.
        for (const std::uint32_t blocks : {65536u, 1u + st->section % 4096u}) {
            std::vector<std::uint8_t> bitmap;
            if (!expand_nak_list(st->naks, blocks, bitmap)) {
                continue;
            }
            SKYCAST_FUZZ_CHECK(bitmap.size() == nak_bitmap_bytes(blocks));
            std::vector<std::uint8_t> list;
            encode_nak_list(nak_bitmap_view(bitmap, blocks), list);
            SKYCAST_FUZZ_CHECK(list.size() <= st->naks.size());
            std::vector<std::uint8_t> again;
            SKYCAST_FUZZ_CHECK(expand_nak_list(list, blocks, again) && again == bitmap);
        }
    }
    return 0;
}
