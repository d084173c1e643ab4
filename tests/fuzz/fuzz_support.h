#pragma once
// Properties shared by the libFuzzer targets: the codec round trip and the NAK
// bitmap scans checked against a bit-by-bit reference. A violated property
// prints what failed and traps, which libFuzzer reports as a crash and saves
// the input for (see run_fuzzer.sh).

#include "protocol/codec.h"
#include "protocol/nak_bitmap.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <variant>
#include <vector>

namespace skycast::fuzz {

[[noreturn]] inline void property_failed(const char* what, const char* file, int line) {
    std::fprintf(stderr, "skycast fuzz: property violated: %s (%s:%d)\n", what, file, line);
    __builtin_trap();
}

// Not assert(): it must hold in the release-like fuzz build too, and it names
// the property in the crash report.
#define SKYCAST_FUZZ_CHECK(cond)                                                                   \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            ::skycast::fuzz::property_failed(#cond, __FILE__, __LINE__);                           \
        }                                                                                          \
    } while (0)

// Encodings that the encoder may refuse although the decoder accepted them.
// Every entry is a deliberate asymmetry: the decoder is lenient with what stock
// peers send, the encoder only builds what stock peers would build.
inline bool encoder_may_refuse(const protocol::message& m, protocol::wire_error e) {
    // ABORT: the decoder takes a reason that fills all 300 bytes without a NUL
    // terminator; the encoder keeps the terminator stock receivers rely on and
    // refuses reasons of 300 bytes or more.
    if (const auto* a = std::get_if<protocol::abort_msg>(&m)) {
        return e == protocol::wire_error::reason_too_long &&
               a->message.size() >= protocol::abort_reason_field;
    }
    return false;
}

// What every encoder must do with a message that decoded: encode it again,
// into a buffer of exactly the right size (heap-allocated so that AddressSanitizer
// sees a one-byte overrun), refuse a buffer one byte short, and give back the
// same message on decoding. Byte equality with the input is not expected (names
// are cut at their NUL, padding is rewritten as zeros, unknown extensions are
// dropped), but the re-encoding is canonical: encoding the decoded copy yields
// the same bytes again.
//
// `encode_fn(msg, out)` returns result<size_t>; `decode_fn(bytes, msg)` returns
// wire_error. `Value` is protocol::datagram or protocol::message.
template <class Value, class EncodeFn, class DecodeFn, class BodyFn>
void check_round_trip(const Value& decoded, std::size_t input_size, EncodeFn&& encode_fn,
                      DecodeFn&& decode_fn, BodyFn&& body_of) {
    // Re-encoding never grows a message: every length is recomputed from what
    // the decoder kept, which is at most what it read. The slack covers the
    // property failing without turning into a buffer overrun.
    std::vector<std::uint8_t> roomy(input_size + 4096);
    const auto first = encode_fn(decoded, std::span(roomy));
    if (!first.ok()) {
        SKYCAST_FUZZ_CHECK(encoder_may_refuse(body_of(decoded), first.error()));
        return;
    }
    const std::size_t n = *first;
    SKYCAST_FUZZ_CHECK(n <= input_size);

    std::vector<std::uint8_t> exact(n);
    const auto again = encode_fn(decoded, std::span(exact));
    SKYCAST_FUZZ_CHECK(again.ok() && *again == n);
    SKYCAST_FUZZ_CHECK(std::ranges::equal(exact, std::span(roomy).first(n)));
    if (n > 0) {
        std::vector<std::uint8_t> short_by_one(n - 1);
        const auto refused = encode_fn(decoded, std::span(short_by_one));
        SKYCAST_FUZZ_CHECK(!refused.ok() &&
                           refused.error() == protocol::wire_error::buffer_too_small);
    }

    Value second;
    SKYCAST_FUZZ_CHECK(decode_fn(std::span<const std::uint8_t>(exact), second) ==
                       protocol::wire_error::ok);
    SKYCAST_FUZZ_CHECK(second == decoded);

    std::vector<std::uint8_t> canonical(n);
    const auto third = encode_fn(second, std::span(canonical));
    SKYCAST_FUZZ_CHECK(third.ok() && *third == n && canonical == exact);
}

inline void check_datagram_round_trip(const protocol::datagram& decoded, std::size_t input_size) {
    check_round_trip(
        decoded, input_size,
        [](const protocol::datagram& d, std::span<std::uint8_t> out) {
            return protocol::encode(d, out);
        },
        [](std::span<const std::uint8_t> in, protocol::datagram& d) {
            return protocol::decode(in, d);
        },
        [](const protocol::datagram& d) -> const protocol::message& { return d.body; });
}

inline void check_message_round_trip(const protocol::message& decoded, std::size_t input_size) {
    check_round_trip(
        decoded, input_size,
        [](const protocol::message& m, std::span<std::uint8_t> out) {
            return protocol::encode_message(m, out);
        },
        [&](std::span<const std::uint8_t> in, protocol::message& m) {
            return protocol::decode_message(protocol::type_of(decoded), in, m);
        },
        [](const protocol::message& m) -> const protocol::message& { return m; });
}

// encode_fileseg_headers() writes exactly the bytes that encode() puts before
// the block data, so that the dataplane can place the data itself.
inline void check_fileseg_headers(const protocol::uftp_header& header,
                                  const protocol::fileseg_msg& msg) {
    std::vector<std::uint8_t> whole(protocol::fileseg_headers_size(true) + msg.data.size());
    const auto n = protocol::encode(header, msg, whole);
    SKYCAST_FUZZ_CHECK(n.ok());
    const std::size_t headers_size = protocol::fileseg_headers_size(msg.tfmcc.has_value());
    SKYCAST_FUZZ_CHECK(*n == headers_size + msg.data.size());

    std::vector<std::uint8_t> headers(headers_size);
    const auto h = protocol::encode_fileseg_headers(header, msg, headers);
    SKYCAST_FUZZ_CHECK(h.ok() && *h == headers_size);
    SKYCAST_FUZZ_CHECK(std::ranges::equal(headers, std::span(whole).first(headers_size)));
}

// Checks nak_bitmap_view over `bits` for a section of `blocks` blocks against
// the definition (bit i & 7 of byte i >> 3; bits at or past `blocks`, or past
// the bytes received, are not missing). `probe` is an arbitrary start for
// next_missing(), so that unaligned starts are covered.
inline void check_nak_bitmap(std::span<const std::uint8_t> bits, std::uint32_t blocks,
                             std::uint32_t probe) {
    const protocol::nak_bitmap_view view(bits, blocks);
    SKYCAST_FUZZ_CHECK(view.blocks() == blocks);
    SKYCAST_FUZZ_CHECK(view.complete() == (bits.size() >= protocol::nak_bitmap_bytes(blocks)));

    // The reference only has to look at bits that exist: beyond them nothing is
    // missing, whatever `blocks` says (it may be 2^32 - 1).
    const std::uint64_t have = std::uint64_t{bits.size()} * 8;
    const auto limit = static_cast<std::uint32_t>(have < blocks ? have : blocks);
    std::vector<std::uint32_t> expected;
    for (std::uint32_t i = 0; i < limit; ++i) {
        const bool set = ((bits[i >> 3] >> (i & 7)) & 1) != 0;
        SKYCAST_FUZZ_CHECK(view.missing(i) == set);
        if (set) {
            expected.push_back(i);
        }
    }
    SKYCAST_FUZZ_CHECK(!view.missing(limit));
    SKYCAST_FUZZ_CHECK(view.count_missing() == expected.size());

    std::vector<std::uint32_t> seen;
    view.for_each_missing([&](std::uint32_t i) { seen.push_back(i); });
    SKYCAST_FUZZ_CHECK(seen == expected);

    // next_missing(from) is the first expected entry at or after `from`.
    const auto within = static_cast<std::uint32_t>(probe % (std::uint64_t{limit} + 1));
    const std::uint32_t froms[] = {0, within, probe, limit, blocks};
    for (const std::uint32_t from : froms) {
        const auto it = std::ranges::lower_bound(expected, from);
        SKYCAST_FUZZ_CHECK(view.next_missing(from) == (it == expected.end() ? blocks : *it));
    }

    // The writer rebuilds the same bitmap (padding bits cleared) in a buffer
    // of exactly nak_bitmap_bytes(blocks), for the sizes a section can have.
    if (blocks <= 65536) {
        std::vector<std::uint8_t> rebuilt(protocol::nak_bitmap_bytes(blocks));
        protocol::nak_bitmap_writer writer(rebuilt, blocks);
        for (const std::uint32_t i : expected) {
            writer.set_missing(i);
        }
        writer.set_missing(blocks); // ignored: past the section
        std::vector<std::uint32_t> reread;
        protocol::nak_bitmap_view(writer.bytes(), blocks).for_each_missing([&](std::uint32_t i) {
            reread.push_back(i);
        });
        SKYCAST_FUZZ_CHECK(reread == expected);
    }
}

} // namespace skycast::fuzz
