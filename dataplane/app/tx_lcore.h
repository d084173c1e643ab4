#pragma once
// The TX role: control datagrams first (they are few and time-critical:
// DONE, REG_CONF, STATUS...), then FILESEGs of the pass in progress, paced
// by the dataplane/core pacer on the TSC. Also answers ARP (the RX lcore
// hands ARP and IGMP frames over) and sends IGMP reports for joined groups.

#include "dataplane/app/lcore_context.h"

namespace skycast::dataplane {

// One iteration; returns whether it did any work (for idle accounting and
// backoff).
bool tx_iteration(tx_context& c);

// How long the lcore may pause, in microseconds, when a pass is held back by
// its pacer: until the pacer's burst has refilled to half. A longer sleep
// (the idle backoff's doubling, or a late wake-up on a busy host) lets the
// burst fill and overflow, and the overflow is rate lost for good
// (tx.pass.rate_unused_bytes); waking at half leaves the other half of the
// burst as slack for a late wake-up. 0: a frame is due now. no_pause_limit
// when nothing paced is waiting.
inline constexpr std::uint32_t no_pause_limit = UINT32_MAX;
std::uint32_t tx_pause_limit_us(const tx_context& c);

// Frees what the context holds (the burst in hand; the pass goes back to the
// service thread). Called after the loop stopped.
void tx_drain(tx_context& c);

} // namespace skycast::dataplane
