// libFuzzer target: the capture side of `skycast decode`. The input is a
// capture file (pcap or pcapng); capture_reader::open_memory() hands it to
// libpcap, and decode_capture() parses every frame's L2-L4 headers, decodes
// the UFTP datagrams and renders them as JSON into a stream that discards it.
// Properties: nothing reads outside the capture or libpcap's frame buffer
// (AddressSanitizer; every UDP payload handed out is read in full here, in
// instrumented code); the totals add up; next() keeps saying `end` once it has.
#include "control/decode/capture_reader.h"
#include "control/decode/decode_capture.h"
#include "protocol/constants.h"
#include "tests/fuzz/fuzz_support.h"

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <span>
#include <streambuf>
#include <string>

namespace {

using namespace skycast::decode;

// Accepts and drops everything, so that the JSON is still rendered (that code
// is under test too) while the stream stays good.
class discard_buffer : public std::streambuf {
protected:
    int_type overflow(int_type c) override { return traits_type::not_eof(c); }
    std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

// Frames as next() reports them, with every UDP payload byte read.
std::uint64_t count_frames(std::span<const std::uint8_t> capture) {
    std::string error;
    auto reader = capture_reader::open_memory(capture, error);
    SKYCAST_FUZZ_CHECK(reader != nullptr);
    std::uint64_t frames = 0;
    udp_frame frame;
    std::string problem;
    for (;;) {
        const frame_status status = reader->next(frame, problem);
        if (status == frame_status::end) {
            break;
        }
        ++frames;
        if (status == frame_status::udp) {
            std::uint8_t sum = 0;
            for (const std::uint8_t b : frame.payload) {
                sum = static_cast<std::uint8_t>(sum + b);
            }
            // Keeps the loop (and so the reads) from being optimised away.
            asm volatile("" : : "r"(sum));
        }
    }
    SKYCAST_FUZZ_CHECK(reader->next(frame, problem) == frame_status::end);
    return frames;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> capture(data, size);
    std::string error;
    auto reader = capture_reader::open_memory(capture, error);
    if (reader == nullptr) {
        // Not a capture libpcap recognises: it must say why.
        SKYCAST_FUZZ_CHECK(!error.empty());
        return 0;
    }
    discard_buffer discard;
    std::ostream out(&discard);
    // Both renderings of FILESEG data and ENCRYPTED payloads, picked by a bit
    // of the input that no capture format cares about: its length's parity.
    const json_options options{.include_data = size % 2 == 1};
    const decode_totals totals =
        decode_capture(*reader, skycast::protocol::default_port, options, out);

    SKYCAST_FUZZ_CHECK(totals.datagrams == totals.decoded + totals.errors);
    SKYCAST_FUZZ_CHECK(totals.frames ==
                       totals.datagrams + totals.skipped + totals.bad_frames + totals.fragments);
    SKYCAST_FUZZ_CHECK(count_frames(capture) == totals.frames);
    return 0;
}
