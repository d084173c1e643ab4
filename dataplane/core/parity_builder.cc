#include "dataplane/core/parity_builder.h"

#include <array>
#include <cstring>

namespace skycast::dataplane {

std::optional<parity_builder> parity_builder::create(std::uint32_t k, std::uint32_t block_size) {
    if (k == 0 || k > last_index) {
        return std::nullopt;
    }
    auto codec = fec_codec::create(k, fec_codec::max_blocks - k, block_size);
    if (!codec.ok()) {
        return std::nullopt;
    }
    parity_builder b;
    b._codec = std::move(codec.codec);
    b._zero.assign(block_size, 0);
    b._tail.assign(block_size, 0);
    return b;
}

fec_error parity_builder::parity_blocks(const protocol::fec_groups& groups,
                                        std::span<const std::uint8_t> file, std::uint32_t g,
                                        std::uint32_t first_index,
                                        std::span<std::uint8_t* const> out) {
    const std::uint32_t k = _codec.data_blocks();
    const std::size_t bs = _codec.block_size();
    if (groups.k() != k || g >= groups.count()) {
        return fec_error::wrong_block_count;
    }
    const auto group_blocks = groups.blocks_of(g);
    const std::uint32_t real = group_blocks.count;
    std::array<const std::uint8_t*, fec_codec::max_blocks> data{};
    for (std::uint32_t i = 0; i < k; ++i) {
        data[i] = _zero.data();
        if (i >= real) {
            continue;
        }
        const std::uint64_t offset = std::uint64_t{group_blocks.at(i)} * bs;
        if (offset >= file.size()) {
            return fec_error::null_buffer; // the file is shorter than its layout
        }
        const std::size_t bytes = std::min<std::uint64_t>(bs, file.size() - offset);
        if (bytes == bs) {
            data[i] = file.data() + offset;
        } else {
            // The file's last block: padded with zeros, as the receiver pads it.
            std::memcpy(_tail.data(), file.data() + offset, bytes);
            std::memset(_tail.data() + bytes, 0, bs - bytes);
            data[i] = _tail.data();
        }
    }
    return _codec.encode_parity(std::span(data).first(k), first_index, out);
}

namespace {

protocol::parity_msg message_for(std::uint16_t file_id, const protocol::fec_groups& groups,
                                 std::uint32_t g, std::uint32_t index) {
    const auto pos = groups.locate(g);
    return protocol::parity_msg{.file_id = file_id,
                                .section = static_cast<std::uint16_t>(pos.section),
                                .group = static_cast<std::uint16_t>(pos.group),
                                .index = static_cast<std::uint8_t>(index),
                                .group_blocks = static_cast<std::uint8_t>(groups.k())};
}

} // namespace

protocol::result<std::size_t> parity_builder::message_header(std::uint16_t file_id,
                                                             const protocol::fec_groups& groups,
                                                             std::uint32_t g, std::uint32_t index,
                                                             std::span<std::uint8_t> out) const {
    if (g >= groups.count() || index < groups.k() || index > last_index) {
        return protocol::wire_error::parity_index_invalid;
    }
    return protocol::encode_parity_message_header(message_for(file_id, groups, g, index), out);
}

sealed_fileseg parity_builder::build_sealed(
    crypto::packet_cipher& cipher, const protocol::uftp_header& header, std::uint16_t file_id,
    const protocol::fec_groups& groups, std::uint32_t g, std::uint32_t index,
    std::span<const std::uint8_t> parity, std::uint64_t iv_ctr, std::span<std::uint8_t> out) const {
    sealed_fileseg r;
    if (parity.size() != _codec.block_size()) {
        r.wire = protocol::wire_error::parity_index_invalid;
        return r;
    }
    std::array<std::uint8_t, protocol::parity_fixed> message{};
    const auto n = message_header(file_id, groups, g, index, message);
    if (!n.ok()) {
        r.wire = n.error();
        return r;
    }
    return seal_in_place(cipher, header, message, parity, iv_ctr, out);
}

protocol::result<std::size_t>
parity_builder::build(const protocol::uftp_header& header, std::uint16_t file_id,
                      const protocol::fec_groups& groups, std::uint32_t g, std::uint32_t index,
                      std::span<const std::uint8_t> parity, std::span<std::uint8_t> out) const {
    if (g >= groups.count() || index < groups.k() || index > last_index ||
        parity.size() != _codec.block_size()) {
        return protocol::wire_error::parity_index_invalid;
    }
    const auto n =
        protocol::encode_parity_headers(header, message_for(file_id, groups, g, index), out);
    if (!n.ok()) {
        return n;
    }
    if (out.size() - *n < parity.size()) {
        return protocol::wire_error::buffer_too_small;
    }
    std::memcpy(out.data() + *n, parity.data(), parity.size());
    return *n + parity.size();
}

} // namespace skycast::dataplane
