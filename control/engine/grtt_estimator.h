#pragma once
// The sender's group round-trip time (spec §4.1, §4.3): the largest client RTT
// measured in a round, clamped to [min, max]. Pure: RTT samples and round ends
// are handed in, no clock is read.
//
// Rising RTT is taken at once (a low GRTT makes every timer fire early). How
// fast it falls depends on what the round saw:
// - a round in which every active client gave a sample knows the group's
//   largest RTT exactly: the GRTT becomes that round's maximum at once;
// - a round in which some clients were silent may have missed the slowest
//   one: the GRTT falls towards the round's maximum by at most 10 % (RFC 5401).
// Without the first rule one inflated sample — a receiver's REGISTER that
// waited for ARP across a 250 ms satellite hop measures 1 s instead of
// 0.5 s — held the GRTT, and with it every 3·GRTT round, at twice the real
// value for a whole GEO session.

#include <algorithm>
#include <cstdint>
#include <vector>

namespace skycast::control::engine {

class grtt_estimator {
public:
    grtt_estimator(double init, double min, double max)
        : _grtt(std::clamp(init, min, max)), _min(min), _max(max) {}

    double grtt() const { return _grtt; }

    // One RTT in seconds from client `client` (the sender's handle); the
    // per-client floor is 1 ms (spec §4.1).
    void sample(double rtt, std::uint32_t client) {
        _round_max = std::max(_round_max, std::max(rtt, 0.001));
        if (client >= _sampled.size()) {
            _sampled.resize(client + 1, false);
        }
        _sampled[client] = true;
        // The first measurement replaces the initial guess at once, so that a
        // short real RTT does not leave timers at the 0.5 s default for rounds.
        if (!_measured) {
            _measured = true;
            _grtt = std::clamp(_round_max, _min, _max);
        } else if (_round_max > _grtt) {
            _grtt = std::clamp(_round_max, _min, _max);
        }
    }

    // Whether `client` gave a sample in this round.
    bool sampled(std::uint32_t client) const {
        return client < _sampled.size() && _sampled[client];
    }

    // Ends a measurement round; `everyone_sampled`: every client the round
    // waited for gave a sample (the caller checks with sampled()).
    void end_round(bool everyone_sampled) {
        if (_round_max > 0) {
            _grtt = std::clamp(everyone_sampled ? _round_max : std::max(_round_max, 0.9 * _grtt),
                               _min, _max);
        }
        _round_max = 0;
        std::fill(_sampled.begin(), _sampled.end(), false);
    }

private:
    double _grtt;
    double _min;
    double _max;
    double _round_max = 0;
    bool _measured = false;
    std::vector<bool> _sampled; // by client handle: gave a sample this round
};

} // namespace skycast::control::engine
