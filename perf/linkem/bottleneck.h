#pragma once
// The rate cap of one direction of the link emulator: a FIFO queue drained at
// `rate_bps` of wire time (each frame also costs the Ethernet preamble, FCS
// and gap, as on a real port), holding at most `queue_bytes`. A frame that
// would overflow the queue is dropped — the loss a real modem's buffer
// causes, and one the emulator was told to cause (it is counted apart from
// the drops it was not told to make). Pure: the caller hands in the clock.

#include <algorithm>
#include <cstdint>

namespace skycast::linkem {

// GCC and clang's 128-bit integer; __extension__ keeps -Wpedantic quiet.
__extension__ typedef unsigned __int128 u128;

// Preamble + SFD (8) + FCS (4) + inter-frame gap (12).
inline constexpr std::uint64_t wire_overhead_bytes = 24;

class bottleneck {
public:
    // rate_bps 0: no cap (every frame leaves at once).
    bottleneck(std::uint64_t rate_bps, std::uint64_t queue_bytes)
        : _rate_bps(rate_bps), _queue_bytes(queue_bytes) {}

    // A frame of `bytes` (Ethernet header onwards) arriving at `now_ns`: the
    // time its last bit leaves the queue, or 0 when the queue is full.
    std::uint64_t admit(std::uint64_t now_ns, std::uint64_t bytes) {
        if (_rate_bps == 0) {
            return now_ns;
        }
        const std::uint64_t start = std::max(now_ns, _free_ns);
        // What is still queued ahead of this frame, in bytes of wire time
        // (the queue is counted as the wire sees it, overhead included).
        const std::uint64_t backlog_ns = start - now_ns;
        const auto backlog_bytes = static_cast<std::uint64_t>(static_cast<u128>(backlog_ns) *
                                                              _rate_bps / 8 / 1'000'000'000u);
        if (backlog_bytes + bytes + wire_overhead_bytes > _queue_bytes) {
            return 0;
        }
        const auto wire_ns = static_cast<std::uint64_t>(
            (static_cast<u128>(bytes + wire_overhead_bytes) * 8 * 1'000'000'000u + _rate_bps - 1) /
            _rate_bps);
        _free_ns = start + wire_ns;
        return _free_ns;
    }

    std::uint64_t rate_bps() const { return _rate_bps; }

private:
    std::uint64_t _rate_bps;
    std::uint64_t _queue_bytes;
    std::uint64_t _free_ns = 0; // when the queue is empty again
};

} // namespace skycast::linkem
