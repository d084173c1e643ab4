#pragma once
// The sender's data rate under receiver overload (docs/protocol.md §18).
//
// A Skycast receiver whose node drops frames for want of capacity (its
// af_packet ring or storage ring overflowed: it could not keep up, which no
// link loss can cause) tells the sender at once, mid-pass, with a STATUS for
// the section being sent that NAKs nothing. Stock senders ignore a STATUS for
// the section in progress (spec §3.2); a Skycast sender takes it as the
// signal handled here. Without it an unpaced sender on a LAN outruns slow
// receivers and loses a third of the file, resent pass after pass.
//
// The rule (AIMD, as TCP's but with the receivers' own drops as the signal):
// - overload: the rate falls to 85 % of what was actually sent since the
//   last change (the configured rate may be far above what the port
//   reaches), then holds for one GRTT plus the receivers' detection delay,
//   so one burst of drops counts once;
// - no overload for `raise_after`: 10 % up, until the configured rate is
//   reached again (and the controller lets go).
// Pure: time and the bytes sent are handed in; the sender's stats count the
// signals and changes (on_overload/on_quiet say whether the rate moved).

#include "control/engine/ports.h"

#include <algorithm>
#include <cstdint>

namespace skycast::control::engine {

class overload_rate {
public:
    // A receiver notices its drops within this (the dataplane reads the
    // kernel's ring statistics every 20 ms) and its control within a poll.
    static constexpr time_ns detection_delay = 30'000'000;
    // Never below this: a rate of zero would stall the session.
    static constexpr std::uint64_t floor_bps = 1'000'000;
    // An unpaced node lets go (unpaced again) once the rate climbs past
    // this: no port here sends faster.
    static constexpr std::uint64_t unpaced_ceiling_bps = 400'000'000'000;

    // `configured_bps`: the node's rate (the ceiling; 0 = unpaced).
    explicit overload_rate(std::uint64_t configured_bps) : _configured(configured_bps) {}

    // The rate a pass should use: 0 = the configured one.
    std::uint64_t rate_bps() const { return _rate; }

    // A receiver reported overload at `now`; `bytes_sent` is the pass's wire
    // bytes so far (resets to 0 with each pass), `grtt` in seconds. Returns
    // true when the rate changed (the caller hands rate_bps() to the pass).
    bool on_overload(time_ns now, std::uint64_t bytes_sent, double grtt) {
        if (_hold_until != no_deadline && now < _hold_until) {
            return false;
        }
        const std::uint64_t achieved = achieved_bps(now, bytes_sent);
        const std::uint64_t from = achieved != 0 ? achieved : current_or_configured();
        if (from == 0) {
            return false; // unpaced and nothing sent yet to measure: wait for the next
        }
        std::uint64_t next = from / 100 * 85;
        if (const std::uint64_t current = current_or_configured(); current != 0) {
            next = std::min(next, current);
        }
        _rate = std::max(next, floor_bps);
        _hold_until = now + seconds_to_ns(grtt) + detection_delay;
        mark(now, bytes_sent);
        return true;
    }

    // Called as time passes (the engine's timer, and each new pass); returns
    // true when the rate rose. `raise_after`: quiet time per step.
    bool on_quiet(time_ns now, std::uint64_t bytes_sent, time_ns raise_after) {
        if (_rate == 0 || now < _mark_at + raise_after) {
            return false;
        }
        const std::uint64_t up = _rate + _rate / 10;
        _rate = up >= (_configured != 0 ? _configured : unpaced_ceiling_bps) ? 0 : up;
        mark(now, bytes_sent);
        return true;
    }

    // The rate passes run at now, lowered or not: the configured one (0:
    // unpaced) until an overload lowered it.
    std::uint64_t current_or_configured() const { return _rate != 0 ? _rate : _configured; }

    // A new pass starts at `now`: its byte count starts from zero.
    void pass_started(time_ns now) { mark(now, 0); }

    // When on_quiet() may next raise the rate (no_deadline: nothing to raise).
    time_ns next_raise(time_ns raise_after) const {
        return _rate == 0 ? no_deadline : _mark_at + raise_after;
    }

private:
    // Wire bits per second since the last change or pass start (0: too
    // short to tell).
    std::uint64_t achieved_bps(time_ns now, std::uint64_t bytes_sent) const {
        if (now <= _mark_at + 1'000'000 || bytes_sent <= _mark_bytes) {
            return 0;
        }
        const double seconds = static_cast<double>(now - _mark_at) / 1e9;
        return static_cast<std::uint64_t>(static_cast<double>(bytes_sent - _mark_bytes) * 8 /
                                          seconds);
    }

    // The last change, or the pass's start: where the achieved rate is
    // measured from and the quiet spell before a raise counts from.
    void mark(time_ns now, std::uint64_t bytes_sent) {
        _mark_at = now;
        _mark_bytes = bytes_sent;
    }

    std::uint64_t _configured;
    std::uint64_t _rate = 0; // 0: the configured rate
    time_ns _hold_until = no_deadline;
    time_ns _mark_at = 0;
    std::uint64_t _mark_bytes = 0;
};

} // namespace skycast::control::engine
