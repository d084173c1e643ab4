#pragma once
// Reassembles fragmented IPv4 and IPv6 datagrams for `skycast decode`: UFTP
// blocks of up to 8800 bytes cross 1500-byte links as fragments, and an
// operator debugging such a link needs them whole.
//
// Memory is bounded: at most `max_pending` datagrams are in reassembly at once
// (the oldest is dropped, and counted, when a new one would exceed it), and a
// datagram may not exceed 65535 bytes.

#include <cstddef>
#include <cstdint>
#include <list>
#include <span>
#include <string>
#include <vector>

namespace skycast::decode {

struct fragment {
    std::string key;          // source, destination, protocol and IP ID
    std::uint32_t offset = 0; // bytes into the datagram's payload
    bool more = false;        // more fragments follow
    std::span<const std::uint8_t> data;
};

class ip_reassembler {
public:
    explicit ip_reassembler(std::size_t max_pending = 64) : _max_pending(max_pending) {}

    enum class outcome {
        incomplete, // held, waiting for more fragments
        complete,   // `payload` holds the whole datagram's payload
        invalid,    // overlapping or oversized: `problem` says why; dropped
    };

    outcome add(const fragment& f, std::vector<std::uint8_t>& payload, std::string& problem);

    std::uint64_t evicted() const { return _evicted; }
    std::size_t pending() const { return _pending.size(); }

private:
    struct range {
        std::uint32_t begin;
        std::uint32_t end;
    };
    struct datagram_in_progress {
        std::string key;
        std::vector<std::uint8_t> bytes;
        std::vector<range> have;
        std::uint32_t total = 0; // known once the last fragment arrived
        bool total_known = false;
    };

    std::list<datagram_in_progress> _pending; // oldest first
    std::size_t _max_pending;
    std::uint64_t _evicted = 0;
};

} // namespace skycast::decode
