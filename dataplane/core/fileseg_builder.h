#pragma once
// Builds the FILESEG datagram for block n of a file being sent, as the TX
// lcore does: the UFTP and FILESEG headers are written in front of the block
// data. Unencrypted blocks keep their data where it is (the headers go into
// the mbuf headroom and the data is attached by reference); `build_fileseg`
// copies both into one buffer for paths that need a contiguous datagram.

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

} // namespace skycast::dataplane
