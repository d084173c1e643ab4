#pragma once
// Spaced control copies waiting to leave (network_port::send_later): held by
// whoever owns the socket or ring, which sends what is due each time round
// its loop and sleeps no longer than until the next one is due. They outlive
// the engine that queued them: a session's last DONE_CONF or COMPLETE copy
// still leaves after the session has ended.
//
// Bounded: a copy that finds the hold full is refused and the caller sends
// it at once, back to back as copies went before they were spaced, counted
// in `unspaced`. One owner thread; time is the owner's clock (ns).

#include "control/engine/ports.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

namespace skycast::control::engine {

class held_copies {
public:
    static constexpr std::size_t capacity = 1024;

    struct copy {
        endpoint to;
        std::uint16_t local_port = 0; // the UDP port it leaves from, where the owner has several
        std::vector<std::uint8_t> bytes;
    };
    struct counters {
        std::uint64_t held = 0;     // queued to leave later
        std::uint64_t released = 0; // handed to the wire when due
        std::uint64_t unspaced = 0; // the hold was full: sent at once instead
    };

    // Queues `datagram` for `to` at `due`; false (counted) when full.
    bool hold(time_ns due, endpoint to, std::span<const std::uint8_t> datagram,
              std::uint16_t local_port = 0) {
        if (_queue.size() >= capacity) {
            ++_counters.unspaced;
            return false;
        }
        _queue.emplace(due, copy{to, local_port, {datagram.begin(), datagram.end()}});
        ++_counters.held;
        return true;
    }

    // Calls send(const copy&) for every copy due at `now`, earliest first.
    // Returns how many.
    template <class Send>
    std::size_t release_due(time_ns now, Send&& send) {
        std::size_t n = 0;
        while (!_queue.empty() && _queue.begin()->first <= now) {
            const auto node = _queue.extract(_queue.begin());
            send(node.mapped());
            ++_counters.released;
            ++n;
        }
        return n;
    }

    // When the next copy is due, or no_deadline.
    time_ns next_due() const { return _queue.empty() ? no_deadline : _queue.begin()->first; }
    std::size_t size() const { return _queue.size(); }
    const counters& stats() const { return _counters; }

private:
    std::multimap<time_ns, copy> _queue; // equal times keep their order
    counters _counters;
};

} // namespace skycast::control::engine
