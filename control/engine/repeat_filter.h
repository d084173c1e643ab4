#pragma once
// Recognises a datagram that arrives again as an identical copy of the one
// before it from the same peer: control.control_copies sends every control
// datagram that way (docs/protocol.md §4.3), and networks duplicate too.
// Without it, each copy of a request would be answered, and each answer
// is itself sent N times: N² answers (N³ for DONE → COMPLETE → DONE_CONF),
// and a STATUS counted N times towards max_nak_pct.
//
// The key is the whole datagram (a 64-bit FNV-1a of its bytes and its
// length), not the sequence number alone: a sender's numbers are shared
// with its FILESEGs and wrap every 65,536 datagrams, so two different
// control datagrams may carry the same one.

#include <cstdint>
#include <span>

namespace skycast::control::engine {

class repeat_filter {
public:
    // True when `datagram` is byte-identical to the previous one offered;
    // either way it becomes the one the next is compared with.
    bool repeat(std::span<const std::uint8_t> datagram) {
        std::uint64_t h = 0xcbf29ce484222325ull;
        for (const std::uint8_t b : datagram) {
            h = (h ^ b) * 0x100000001b3ull;
        }
        h ^= datagram.size();
        const bool same = _seen && h == _last;
        _last = h;
        _seen = true;
        return same;
    }

private:
    std::uint64_t _last = 0;
    bool _seen = false;
};

} // namespace skycast::control::engine
