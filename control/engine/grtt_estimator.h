#pragma once
// The sender's group round-trip time (spec §4.1, §4.3): the largest client RTT
// measured in a round, clamped to [min, max]; after the first measurement it
// may fall by at most 10% per round (RFC 5401). Pure: RTT samples and round
// ends are handed in, no clock is read.

#include <algorithm>

namespace skycast::control::engine {

class grtt_estimator {
public:
    grtt_estimator(double init, double min, double max)
        : _grtt(std::clamp(init, min, max)), _min(min), _max(max) {}

    double grtt() const { return _grtt; }

    // One client RTT in seconds; the per-client floor is 1 ms (spec §4.1).
    void sample(double rtt) {
        _round_max = std::max(_round_max, std::max(rtt, 0.001));
        // The first measurement replaces the initial guess at once, so that a
        // short real RTT does not leave timers at the 0.5 s default for rounds.
        if (!_measured) {
            _measured = true;
            _grtt = std::clamp(_round_max, _min, _max);
        } else if (_round_max > _grtt) {
            // Rising RTT is taken immediately: a low GRTT makes every timer fire early.
            _grtt = std::clamp(_round_max, _min, _max);
        }
    }

    // Ends a measurement round: falls towards the round's maximum, at most 10%.
    void end_round() {
        if (_round_max > 0) {
            _grtt = std::clamp(std::max(_round_max, 0.9 * _grtt), _min, _max);
        }
        _round_max = 0;
    }

private:
    double _grtt;
    double _min;
    double _max;
    double _round_max = 0;
    bool _measured = false;
};

} // namespace skycast::control::engine
