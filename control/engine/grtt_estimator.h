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
//
// Even then a round takes it down to no less than `fall_floor` of its
// value (sender_engine: grtt_fall_floor). A receiver times out ROBUST times
// the GRTT in our latest header after it last heard from us, and a round
// timed under the old GRTT can keep it waiting a few old GRTTs: a fall of
// 1.06 s to 0.11 s in one round (stock proxies, which hold answers for a
// second, then an answer that measured the path) had stock uftpd time out
// 2.1 s into a 2-second wait for our next DONE.

#include <algorithm>
#include <cstdint>
#include <vector>

namespace skycast::control::engine {

class grtt_estimator {
public:
    // fall_floor in [0, 1]: the least fraction of the GRTT a round that
    // every client answered leaves (0: down to the round's largest RTT
    // whatever it was; 1: no fall but the 10 % of a partial round).
    grtt_estimator(double init, double min, double max, double fall_floor)
        : _grtt(std::clamp(init, min, max)), _min(min), _max(max), _fall_floor(fall_floor) {}

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
            const double floor = everyone_sampled ? std::min(_fall_floor, 0.9) : 0.9;
            _grtt = std::clamp(std::max(_round_max, floor * _grtt), _min, _max);
        }
        _round_max = 0;
        std::fill(_sampled.begin(), _sampled.end(), false);
    }

private:
    double _grtt;
    double _min;
    double _max;
    double _fall_floor;
    double _round_max = 0;
    bool _measured = false;
    std::vector<bool> _sampled; // by client handle: gave a sample this round
};

} // namespace skycast::control::engine
