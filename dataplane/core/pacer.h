#pragma once
// The sender's pacer: a token bucket as a pure function of (profile, state,
// now), in the manner of DPDK's rte_meter. The TX lcore calls it with the TSC;
// tests and the simulator call it with a fake clock.
//
// Rates are bits per second of *wire time*: every frame also costs the
// Ethernet preamble, start delimiter, FCS and inter-frame gap, so a 10 Gbit/s
// profile fills a 10 GbE port exactly and not a little more.
//
// Arithmetic is exact: tokens are kept in units of bit·tick (bits multiplied
// by the clock rate), in 128-bit integers, so no rounding accumulates however
// long a pass runs and however slow or fast the rate.

#include <cstdint>

namespace skycast::dataplane {

// Preamble + SFD (8) + FCS (4) + inter-frame gap (12): bytes a frame occupies
// on the wire beyond the Ethernet header and payload the NIC is handed.
inline constexpr std::uint32_t ethernet_wire_overhead = 24;

// GCC and clang's 128-bit integer; __extension__ keeps -Wpedantic quiet.
__extension__ typedef unsigned __int128 pacer_u128;

struct pacer_profile {
    std::uint64_t clock_hz = 0;    // ticks per second of `now` (TSC Hz, or 1e9 for ns)
    std::uint64_t rate_bps = 0;    // bits per second of wire time; 0 = unpaced
    std::uint64_t burst_bytes = 0; // wire bytes that may leave back to back
    pacer_u128 capacity = 0;       // burst in bit·ticks (derived)
};

struct pacer_state {
    pacer_u128 tokens = 0;  // bit·ticks available
    std::uint64_t last = 0; // `now` of the last refill
    // Bit·ticks the rate offered while the bucket was already full: wire
    // time the sender did not use because it was not there to send (a
    // descheduled or sleeping lcore) or had nothing ready.
    pacer_u128 unused = 0;
};

// Builds a profile; `burst_bytes` is raised to at least one jumbo frame so a
// maximal frame can always eventually pass.
pacer_profile make_pacer_profile(std::uint64_t clock_hz, std::uint64_t rate_bps,
                                 std::uint64_t burst_bytes);

// Starts full: a new pass may send one burst at once.
pacer_state make_pacer_state(const pacer_profile& profile, std::uint64_t now);

// Admits a frame of `frame_bytes` (Ethernet header + payload, no FCS) at `now`
// if the bucket holds enough tokens, consuming them; otherwise changes nothing
// but the refill and returns false.
bool pacer_admit(const pacer_profile& profile, pacer_state& state, std::uint64_t now,
                 std::uint32_t frame_bytes);

// Wire bytes of the rate left unused so far (pacer_state::unused): what a
// sender that kept up with its pacer would have sent on top.
std::uint64_t pacer_unused_bytes(const pacer_profile& profile, const pacer_state& state);

// Changes the rate from `now` on: what the bucket gathered at the old rate
// stays (a bucket is never fuller than its burst), so the change neither
// bursts nor stalls. From unpaced, the bucket starts full.
void pacer_set_rate(pacer_profile& profile, pacer_state& state, std::uint64_t now,
                    std::uint64_t rate_bps);

// The earliest `now` at which a frame of `frame_bytes` would be admitted
// (`now` itself if it would be admitted now).
std::uint64_t pacer_next_admit(const pacer_profile& profile, const pacer_state& state,
                               std::uint64_t now, std::uint32_t frame_bytes);

} // namespace skycast::dataplane
