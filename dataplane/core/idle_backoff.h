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
//
// Deep idle: a node with no session at all still woke ~1,000 times a second
// per thread, 5-6 % of a CPU per node on the lab machines. After `after_us`
// of continuous idleness (no session is that quiet: its rounds are GRTT
// apart) the pause keeps doubling past `longest`, up to `deep.longest_us`,
// so an idle node wakes ~50 times a second. Its cost, latency for the first
// event after a quiet second, is taken only where that event cannot be
// lost: an RX lcore goes that deep only when it can wait on its port's
// sockets (poll() wakes it the moment a frame arrives, deep_pause() says
// when), the others handle work that waits for them in rings (commands,
// control datagrams) or that follows such work (blocks to store follow a
// FILEINFO). deep.longest_us <= longest: no deep stage.

#include <algorithm>
#include <cstdint>

namespace skycast::dataplane {

struct deep_idle {
    std::uint32_t after_us = 0;   // continuous idleness before the deep stage
    std::uint32_t longest_us = 0; // its longest pause (<= longest: none)
};

// The deep stage of the dataplane's threads and the control loop: after a
// second without work, pauses of up to 20 ms (50 wake-ups a second).
inline constexpr deep_idle node_deep_idle{1'000'000, 20'000};

class idle_backoff {
public:
    // Empty rounds before the first pause: a few microseconds of spinning
    // keep latency low under light load.
    static constexpr std::uint32_t default_spins = 64;

    idle_backoff(std::uint32_t first_us, std::uint32_t longest_us,
                 std::uint32_t spins = default_spins, deep_idle deep = {})
        : _first(first_us), _longest(std::max(first_us, longest_us)), _spins(spins), _deep(deep) {}

    // Called after every round of the loop; returns the microseconds to pause
    // now (0: poll again at once).
    std::uint32_t after_round(bool did_work) {
        if (did_work || _first == 0) {
            _idle = 0;
            _pause = 0;
            _idle_us = 0;
            return 0;
        }
        if (_idle < _spins) {
            ++_idle;
            return 0;
        }
        const std::uint32_t cap =
            _deep.longest_us > _longest && _idle_us >= _deep.after_us ? _deep.longest_us : _longest;
        _pause = _pause == 0 ? _first : std::min(cap, _pause * 2);
        // Saturating: a year of idleness must not wrap back to shallow.
        _idle_us = _idle_us > UINT64_MAX - _pause ? UINT64_MAX : _idle_us + _pause;
        return _pause;
    }

    std::uint32_t longest_us() const { return _longest; }
    // Whether the pause after_round() just returned is past `longest`: the
    // deep stage, where a loop that can wait on its event source should.
    bool deep_pause() const { return _pause > _longest; }

private:
    std::uint32_t _first;
    std::uint32_t _longest;
    std::uint32_t _spins;
    deep_idle _deep;
    std::uint32_t _idle = 0;
    std::uint32_t _pause = 0;
    std::uint64_t _idle_us = 0;
};

} // namespace skycast::dataplane
