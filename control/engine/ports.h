#pragma once
// The two seams through which the engines talk to the world (DESIGN.md,
// "control/"): the network (send a UFTP datagram to an endpoint) and the
// dataplane (send a pass of a file from a bitmap; open a file for receiving
// and read its received bitmap). The real implementations sit on the DPDK
// rings; the simulator (tests/sim/) implements them in process. Engines
// never read a clock or sleep: every entry point takes `now`, and each
// engine reports the next instant it wants to be called (next_deadline()).

#include "protocol/blocks.h"

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace skycast::control::engine {

// Nanoseconds on the caller's clock (virtual time in the simulator). Only
// differences matter, except that timestamps on the wire carry it as Unix
// seconds/microseconds.
using time_ns = std::uint64_t;
inline constexpr time_ns no_deadline = std::numeric_limits<time_ns>::max();
inline constexpr time_ns ns_per_second = 1'000'000'000;

inline time_ns seconds_to_ns(double s) {
    return s <= 0 ? 0 : static_cast<time_ns>(s * 1e9);
}

// An IPv4 address and UDP port, host order. Multicast groups are endpoints too.
struct endpoint {
    std::uint32_t address = 0;
    std::uint16_t port = 1044;
    bool operator==(const endpoint&) const = default;
};

// The sender's one header sequence counter (spec §1.2, §12 #3): control
// messages from the engine and FILESEGs from the dataplane draw from the same
// counter, so both hold a reference to one instance. Single-threaded in the
// simulator; on the appliance the TX lcore owns it and stamps control
// messages as it frames them.
struct sequence_counter {
    std::uint16_t value = 0;
    std::uint16_t next() { return value++; }
};

class network_port {
public:
    virtual ~network_port() = default;
    // Queues one whole UFTP datagram (header included) for `to`. Never blocks;
    // a datagram the network cannot take is the network's to count.
    virtual void send(endpoint to, std::span<const std::uint8_t> datagram) = 0;
};

// What the sender asks the dataplane to transmit: the blocks of one file
// whose bit is set in `blocks` (1 = send), in order, at the configured rate.
struct pass_request {
    std::uint16_t file_id = 0;
    std::string source_path; // the dataplane opens the file itself (DESIGN.md)
    protocol::section_layout layout;
    std::uint32_t pass = 1;
    std::vector<std::uint64_t> blocks; // words of a bitmap over the file's blocks
};

class sender_dataplane_port {
public:
    virtual ~sender_dataplane_port() = default;
    // Starts a pass; the dataplane later calls the engine's on_pass_end().
    virtual void start_pass(pass_request request) = 0;
    // Stops the pass in progress, if any (session abort). No on_pass_end().
    virtual void stop_pass() = 0;
    // The block the pass in progress will send next (blocks() when idle):
    // the engine ignores NAKs for the section still being transmitted.
    virtual std::uint32_t pass_cursor() const = 0;
};

// Identifies a FILESEG stream the receive path must accept.
struct receive_request {
    std::uint32_t sender_id = 0;
    std::uint32_t group_id = 0;
    std::uint16_t file_id = 0;
    protocol::section_layout layout;
    std::string temp_path; // already created by the engine; the dataplane writes into it
};

class receiver_dataplane_port {
public:
    virtual ~receiver_dataplane_port() = default;
    // Starts accepting FILESEGs for the file; false if the dataplane cannot
    // (the file cannot be opened): the engine rejects the file.
    virtual bool open_for_receive(const receive_request& request) = 0;
    // Whether every block of the open file has been received and handed to
    // storage (false for a file that is not open).
    virtual bool complete(std::uint16_t file_id) const = 0;
    // Writes the STATUS NAK bitmap of `section` (1 = missing) into `out`,
    // which holds nak_bitmap_bytes() of the section's block count; returns
    // the number of missing blocks. Reads the received bitmap the RX path
    // fills (a shared-memory bitmap on the appliance).
    virtual std::uint32_t missing_in_section(std::uint16_t file_id, std::uint32_t section,
                                             std::span<std::uint8_t> out) const = 0;
    // Stops accepting the file and flushes what was written; true when every
    // write reached the file (a failed write must not become a complete file).
    virtual bool close_file(std::uint16_t file_id) = 0;
};

} // namespace skycast::control::engine
