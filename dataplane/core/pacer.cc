#include "dataplane/core/pacer.h"

#include <algorithm>

namespace skycast::dataplane {
namespace {

using u128 = pacer_u128;

// A jumbo frame (9000-byte IP packet + Ethernet header) plus wire overhead.
constexpr std::uint64_t min_burst_bytes = 9014 + ethernet_wire_overhead;

u128 cost(const pacer_profile& p, std::uint32_t frame_bytes) {
    return u128{frame_bytes + ethernet_wire_overhead} * 8 * p.clock_hz;
}

void refill(const pacer_profile& p, pacer_state& s, std::uint64_t now) {
    if (now <= s.last) {
        return; // a clock that stands still (or a stale timestamp) adds nothing
    }
    const u128 added = u128{now - s.last} * p.rate_bps;
    const u128 full = s.tokens + added;
    if (full > p.capacity) {
        s.unused += full - p.capacity;
        s.tokens = p.capacity;
    } else {
        s.tokens = full;
    }
    s.last = now;
}

} // namespace

pacer_profile make_pacer_profile(std::uint64_t clock_hz, std::uint64_t rate_bps,
                                 std::uint64_t burst_bytes) {
    pacer_profile p;
    p.clock_hz = clock_hz;
    p.rate_bps = rate_bps;
    p.burst_bytes = std::max(burst_bytes, min_burst_bytes);
    p.capacity = u128{p.burst_bytes} * 8 * clock_hz;
    return p;
}

pacer_state make_pacer_state(const pacer_profile& profile, std::uint64_t now) {
    return pacer_state{.tokens = profile.capacity, .last = now};
}

void pacer_set_rate(pacer_profile& profile, pacer_state& state, std::uint64_t now,
                    std::uint64_t rate_bps) {
    if (profile.rate_bps == 0) {
        const pacer_u128 unused = state.unused;
        state = make_pacer_state(profile, now);
        state.unused = unused;
    } else {
        refill(profile, state, now);
    }
    profile.rate_bps = rate_bps;
}

std::uint64_t pacer_unused_bytes(const pacer_profile& profile, const pacer_state& state) {
    if (profile.clock_hz == 0) {
        return 0;
    }
    return static_cast<std::uint64_t>(state.unused / (u128{8} * profile.clock_hz));
}

bool pacer_admit(const pacer_profile& profile, pacer_state& state, std::uint64_t now,
                 std::uint32_t frame_bytes) {
    if (profile.rate_bps == 0) {
        return true;
    }
    refill(profile, state, now);
    const u128 needed = cost(profile, frame_bytes);
    if (state.tokens < needed) {
        return false;
    }
    state.tokens -= needed;
    return true;
}

std::uint64_t pacer_next_admit(const pacer_profile& profile, const pacer_state& state,
                               std::uint64_t now, std::uint32_t frame_bytes) {
    if (profile.rate_bps == 0) {
        return now;
    }
    pacer_state probe = state;
    refill(profile, probe, now);
    const u128 needed = cost(profile, frame_bytes);
    if (probe.tokens >= needed) {
        return now;
    }
    const u128 deficit = needed - probe.tokens;
    const u128 ticks = (deficit + profile.rate_bps - 1) / profile.rate_bps;
    return std::max(now, probe.last) + static_cast<std::uint64_t>(ticks);
}

} // namespace skycast::dataplane
