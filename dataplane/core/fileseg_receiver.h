#pragma once
// The receive path of a FILESEG, as the RX lcore runs it: validate the block
// against the file it belongs to, set its bit, and hand the bytes to storage.
// No allocation, no syscall: the caller writes the returned block later (the
// storage thread), and counts the outcome.

#include "crypto/packet_cipher.h"
#include "dataplane/api/block_bitmap.h"
#include "protocol/blocks.h"
#include "protocol/messages.h"

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace skycast::dataplane {

// Why a FILESEG was not stored. Every value has a counter (rx_counters).
enum class fileseg_drop : std::uint8_t {
    unknown_file,         // no open file with this file ID in the session
    section_out_of_range, // section number beyond the file's last section
    block_out_of_range,   // block number beyond its section's block count
    wrong_length,         // not block_size bytes (or the short final block's size)
    duplicate,            // block already received: not written again
    // Encrypted sessions.
    not_authentic, // ENCRYPTED that failed its tag/HMAC/signature: tampered, forged, other keys
    malformed,     // authenticated, but the FILESEG inside does not decode
    unencrypted,   // a FILESEG in the clear in an encrypted session (spec §12 #17)
    count
};
std::string_view name(fileseg_drop d);

// A file open for receiving.
struct rx_file {
    std::uint16_t file_id = 0;
    protocol::section_layout layout;
    block_bitmap_view received;
};

// Where to write an accepted block.
struct block_write {
    std::uint32_t block = 0;
    std::uint64_t offset = 0;
    std::span<const std::uint8_t> data;
};

struct rx_counters {
    std::uint64_t blocks_stored = 0;
    std::uint64_t bytes_stored = 0;
    std::array<std::uint64_t, static_cast<std::size_t>(fileseg_drop::count)> dropped{};
    void drop(fileseg_drop d) { ++dropped[static_cast<std::size_t>(d)]; }
};

// Returns true, marks the block received and fills `out` when the block is
// new and valid; otherwise counts the drop and returns false. The caller has matched the session
// (group ID and source) and picked `file` by file ID; `file == nullptr` counts unknown_file.
bool accept_fileseg(const rx_file* file, const protocol::fileseg_msg& seg, block_write& out,
                    rx_counters& counters);

// What an ENCRYPTED datagram of the session turned out to hold.
enum class opened_kind : std::uint8_t {
    fileseg, // `header` and `seg` are set; seg.data points into `scratch`
    parity,  // FEC PARITY (docs/protocol.md §17): `*parity` is it as a plain datagram in `scratch`
    control, // another message: the control process opens it itself
    dropped, // counted (not_authentic, malformed)
};

// The RX lcore's decryption of an ENCRYPTED datagram of a session whose
// keys it holds (spec §5.8): authenticates and decrypts into `scratch`
// (at least datagram.size() + uftp_header_size bytes) and, when it is a
// FILESEG, decodes it for accept_fileseg(). Nothing unauthenticated is ever
// decoded. `sender` is the server's key for `-w keyex` sessions, else null.
// No allocation for the AEAD and HMAC suites.
// A sealed PARITY comes back as `parity` when `parity` is given (the UFTP
// header with func 80 rebuilt in front of the plaintext, for decode_parity),
// as `control` otherwise.
opened_kind open_fileseg(crypto::packet_cipher& cipher, const crypto::public_key* sender,
                         std::span<const std::uint8_t> datagram, std::span<std::uint8_t> scratch,
                         protocol::uftp_header& header, protocol::fileseg_msg& seg,
                         rx_counters& counters, std::span<const std::uint8_t>* parity = nullptr);

} // namespace skycast::dataplane
