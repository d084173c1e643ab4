#pragma once
// Reads UDP datagrams out of a pcap or pcapng capture (through libpcap), for
// `skycast decode`. Link types: Ethernet (with 802.1Q/QinQ tags), Linux
// cooked v1/v2 ("any" interface), raw IP and BSD loopback. Network: IPv4 and
// IPv6, with fragmented datagrams reassembled (see ip_reassembly.h).
// Frames that are not UDP are counted and skipped; frames that claim to be IP
// or UDP but do not hold together are reported as problems, never read past.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace skycast::decode {

struct udp_frame {
    std::uint64_t frame_number = 0; // 1-based, as Wireshark numbers frames
    std::int64_t ts_sec = 0;
    std::int64_t ts_usec = 0;
    std::string src_addr; // textual IPv4 or IPv6 address
    std::string dst_addr;
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::span<const std::uint8_t> payload; // valid until the next call to next()
};

enum class frame_status {
    udp,       // `frame` holds a UDP datagram
    not_udp,   // a frame of another protocol (ARP, TCP, ...): skipped
    malformed, // `problem` says what is wrong with the frame's L2-L4 headers
    fragment,  // an IPv4/IPv6 fragment: reassembly is not done
    end,       // no more frames
};

class capture_reader {
public:
    // Opens a capture file; on failure returns null and sets `error`.
    static std::unique_ptr<capture_reader> open_file(const std::string& path, std::string& error);
    // Opens a capture held in memory (used by the fuzz target).
    static std::unique_ptr<capture_reader> open_memory(std::span<const std::uint8_t> bytes,
                                                       std::string& error);
    ~capture_reader();
    capture_reader(const capture_reader&) = delete;
    capture_reader& operator=(const capture_reader&) = delete;

    frame_status next(udp_frame& frame, std::string& problem);

    // Datagrams whose fragments never all arrived: dropped to bound memory
    // while reading, or still incomplete at the end of the capture.
    std::uint64_t fragments_evicted() const;
    std::uint64_t fragments_incomplete() const;

private:
    struct impl;
    explicit capture_reader(std::unique_ptr<impl> p);
    std::unique_ptr<impl> _impl;
};

} // namespace skycast::decode
