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

// Frees what the context holds (the burst in hand; the pass goes back to the
// service thread). Called after the loop stopped.
void tx_drain(tx_context& c);

} // namespace skycast::dataplane
