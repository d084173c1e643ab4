#pragma once
// How long a polling loop pauses when it finds nothing to do: the one rule
// for the dataplane's lcores, storage and service threads and the control
// process's loop.
//
// A loop that just did work keeps polling (the next packet of a burst is
// probably microseconds away). After `spins` empty rounds it pauses `first`
// microseconds, and every further empty round doubles the pause, up to
// `longest`. Any work resets it. An idle node thus wakes about 1/longest
// times a second instead of once per `first`: with first = 20 µs and
// longest = 1 ms, 1,000 wake-ups a second instead of 50,000 — the difference
// between ~1 % and ~15 % of a CPU per thread on the 2-core lab machines,
// where every idle node otherwise starves the busy ones.
//
// The cost is latency for the first packet after a quiet spell: at most
// `longest`. A port's RX ring must hold what arrives meanwhile (a 512-frame
// ring holds 1 ms of 10 Gbit/s jumbo frames three times over).
//
// first = 0 means never pause: busy polling, for lcores on dedicated cores.

#include <algorithm>
#include <cstdint>

namespace skycast::dataplane {

class idle_backoff {
public:
    // Empty rounds before the first pause: a few microseconds of spinning
    // keep latency low under light load.
    static constexpr std::uint32_t default_spins = 64;

    idle_backoff(std::uint32_t first_us, std::uint32_t longest_us,
                 std::uint32_t spins = default_spins)
        : _first(first_us), _longest(std::max(first_us, longest_us)), _spins(spins) {}

    // Called after every round of the loop; returns the microseconds to pause
    // now (0: poll again at once).
    std::uint32_t after_round(bool did_work) {
        if (did_work || _first == 0) {
            _idle = 0;
            _pause = 0;
            return 0;
        }
        if (_idle < _spins) {
            ++_idle;
            return 0;
        }
        _pause = _pause == 0 ? _first : std::min(_longest, _pause * 2);
        return _pause;
    }

    std::uint32_t longest_us() const { return _longest; }

private:
    std::uint32_t _first;
    std::uint32_t _longest;
    std::uint32_t _spins;
    std::uint32_t _idle = 0;
    std::uint32_t _pause = 0;
};

} // namespace skycast::dataplane
