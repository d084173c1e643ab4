#pragma once
// Builds the FILESEG datagram for block n of a file being sent, as the TX
// lcore does: the UFTP and FILESEG headers are written in front of the block
// data. Unencrypted blocks keep their data where it is (the headers go into
// the mbuf headroom and the data is attached by reference); `build_fileseg`
// copies both into one buffer for paths that need a contiguous datagram.
// In an encrypted session the FILESEG (message header + block) is sealed
// into an ENCRYPTED datagram with the session's per-lcore packet_cipher
// (build_fileseg_sealed): the block is copied once, into the ciphertext's
// place, and encrypted there.

#include "crypto/errors.h"
#include "crypto/packet_cipher.h"
#include "protocol/blocks.h"
#include "protocol/messages.h"
#include "protocol/result.h"

#include <cstdint>
#include <optional>
#include <span>

namespace skycast::dataplane {

struct tx_file {
    std::uint16_t file_id = 0;
    protocol::section_layout layout;
};

// The FILESEG message for block `block` (data not set).
protocol::fileseg_msg fileseg_for_block(const tx_file& file, std::uint32_t block,
                                        std::optional<protocol::tfmcc_data_info_ext> tfmcc = {});

// Headers only, into `out`; returns their size. The caller places the
// block's bytes (file.layout.block_bytes(block) of them) right after.
protocol::result<std::size_t>
build_fileseg_headers(const protocol::uftp_header& header, const tx_file& file, std::uint32_t block,
                      std::span<std::uint8_t> out,
                      std::optional<protocol::tfmcc_data_info_ext> tfmcc = {});

// The whole datagram into `out`. `data` must be exactly the block's bytes:
// anything else is refused (field_too_large), never sent short.
protocol::result<std::size_t> build_fileseg(const protocol::uftp_header& header,
                                            const tx_file& file, std::uint32_t block,
                                            std::span<const std::uint8_t> data,
                                            std::span<std::uint8_t> out);

// Bytes of FILESEG message (header + data) that an ENCRYPTED datagram seals
// for block `block`: what packet_cipher::sealed_size() takes.
std::size_t fileseg_plaintext_size(const tx_file& file, std::uint32_t block);

// The outcome of a sealed build: a size, or which layer refused.
struct sealed_fileseg {
    std::size_t size = 0;
    protocol::wire_error wire = protocol::wire_error::ok;   // block past the end, wrong data size
    crypto::crypto_error crypto = crypto::crypto_error::ok; // from packet_cipher::seal
    bool ok() const {
        return wire == protocol::wire_error::ok && crypto == crypto::crypto_error::ok;
    }
};

// The whole ENCRYPTED datagram of block `block` into `out` (spec §5.8): the
// FILESEG header and `data` are placed where the ciphertext goes and sealed
// in place with `iv_ctr` (the sender's shared IV counter, already
// incremented). `header` is the FILESEG's UFTP header (func becomes 18 on the
// wire). Does not allocate for the AEAD and HMAC suites.
sealed_fileseg build_fileseg_sealed(crypto::packet_cipher& cipher,
                                    const protocol::uftp_header& header, const tx_file& file,
                                    std::uint32_t block, std::span<const std::uint8_t> data,
                                    std::uint64_t iv_ctr, std::span<std::uint8_t> out);

// What the sealed builders share: `message_header` then `data` (a message
// without its UFTP header) placed where the ciphertext goes in `out`, and
// sealed there with `iv_ctr`.
sealed_fileseg seal_in_place(crypto::packet_cipher& cipher, const protocol::uftp_header& header,
                             std::span<const std::uint8_t> message_header,
                             std::span<const std::uint8_t> data, std::uint64_t iv_ctr,
                             std::span<std::uint8_t> out);

} // namespace skycast::dataplane
