#pragma once
// The RX role: classify every frame (ARP, IGMP, UDP to a session port, or a
// counted drop), store FILESEG blocks of open files (decrypting ENCRYPTED
// ones of sessions whose keys are installed) by setting the block's bit in
// the shared bitmap and handing the mbuf to a storage thread, and pass every
// other UFTP message to the control process. No syscall, no allocation.

#include "dataplane/app/lcore_context.h"

namespace skycast::dataplane {

// One iteration; returns whether it received anything.
bool rx_iteration(rx_context& c);

// Handles one received frame (the mbuf is consumed). Exposed for tests that
// feed crafted frames without a port.
void rx_handle_frame(rx_context& c, rte_mbuf* m, std::uint64_t now_tsc);

} // namespace skycast::dataplane
