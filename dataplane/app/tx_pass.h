#pragma once
// One pass of one file being sent: built by the service thread (which opens
// and maps the file and owns this object), handed to the TX lcore through
// the main_to_tx ring, and handed back through tx_to_main when the TX lcore
// is done with it, so the service thread unmaps and frees it. While the TX
// lcore holds it, only the TX lcore writes the "TX lcore state" part, and
// `parity_runs` is shared the way its own header says.

#include "dataplane/api/shared_layout.h"
#include "dataplane/core/net/frame_template.h"
#include "dataplane/core/pacer.h"
#include "dataplane/core/parity_ahead.h"
#include "dataplane/core/parity_builder.h"
#include "dataplane/seal/seal_engine.h"
#include "protocol/blocks.h"
#include "protocol/messages.h"

#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

namespace skycast::dataplane {

struct tx_pass {
    tx_pass(const net::frame_params& frame_params, const protocol::section_layout& file_layout)
        : frame(frame_params), parity_frame(frame_params), layout(file_layout) {}

    // Set up by the service thread; read-only for the TX lcore.
    net::frame_template frame;
    // FEC (docs/protocol.md §17): PARITY goes to the parity port.
    net::frame_template parity_frame;
    protocol::section_layout layout;
    std::uint32_t slot = 0;
    std::uint16_t file_id = 0;
    std::uint32_t pass = 0;
    protocol::uftp_header header;              // seq is drawn per packet
    api::session_counters* counters = nullptr; // shared seq / IV counters
    api::file_slot* shared_slot = nullptr;     // where the cursor is published
    const std::uint8_t* data = nullptr;        // the mapped file
    std::uint64_t size = 0;
    const std::uint64_t* send_bitmap = nullptr; // the slot's bitmap: 1 = send
    pacer_profile profile;
    // The rate control wants (set_pass_rate; the service thread writes it,
    // the TX lcore moves `profile` to it between bursts).
    std::atomic<std::uint64_t> wanted_rate_bps{0};
    bool encrypted = false;
    seal::session_id seal_session = 0;
    // FEC pass: the groups, the builder, and the runs of the slot's parity
    // table that the service thread encodes ahead of the TX lcore
    // (parity_ahead.h, which holds the table). Unset: no parity.
    protocol::fec_groups fec_groups;
    std::optional<parity_builder> parity;
    parity_ahead parity_runs;

    // TX lcore state.
    pacer_state pacer;
    std::uint32_t next_block = 0;
    parity_item parity_next;     // the parity block parity_due picked (tx_lcore.cc)
    bool parity_waiting = false; // the data is out and the next run is not encoded yet
    // The last send_pass_blocks stopped because the pacer refused a frame
    // (tx_pause_limit_us: the lcore's pauses then end before the burst
    // refills).
    bool paced_out = false;
    std::uint64_t blocks_sent = 0;
    std::uint64_t bytes_sent = 0;
    // The block the TX lcore works on, for the prefetcher (writer: TX lcore).
    std::atomic<std::uint32_t> cursor{0};
    int error = 0; // errno-like reason the pass stopped early
};

} // namespace skycast::dataplane
