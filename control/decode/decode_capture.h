#pragma once
// The engine of `skycast decode`: every UFTP datagram of a capture as one JSON
// object per line, malformed ones as error objects, decoding going on after
// them.

#include "control/decode/capture_reader.h"
#include "control/decode/message_json.h"

#include <cstdint>
#include <ostream>

namespace skycast::decode {

struct decode_totals {
    std::uint64_t frames = 0;         // frames read from the capture
    std::uint64_t datagrams = 0;      // UDP datagrams on the port, decoded or not
    std::uint64_t decoded = 0;        // ... that decoded cleanly
    std::uint64_t errors = 0;         // ... printed as error objects
    std::uint64_t skipped = 0;        // frames not UDP, or UDP on another port
    std::uint64_t bad_frames = 0;     // frames whose L2-L4 headers are malformed
    std::uint64_t fragments = 0;      // IP fragments held for reassembly
    std::uint64_t fragments_lost = 0; // datagrams whose fragments never all arrived
};

// Decodes every UDP datagram to or from `port` and writes one JSON object per
// line to `out`.
decode_totals decode_capture(capture_reader& reader, std::uint16_t port,
                             const json_options& options, std::ostream& out);

} // namespace skycast::decode
