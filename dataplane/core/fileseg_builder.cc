#include "dataplane/core/fileseg_builder.h"

#include "protocol/codec.h"

#include <array>
#include <cstring>

namespace skycast::dataplane {

protocol::fileseg_msg fileseg_for_block(const tx_file& file, std::uint32_t block,
                                        std::optional<protocol::tfmcc_data_info_ext> tfmcc) {
    const auto position = file.layout.locate(block);
    return protocol::fileseg_msg{.file_id = file.file_id,
                                 .section = position.section,
                                 .sec_block = position.index,
                                 .tfmcc = tfmcc};
}

protocol::result<std::size_t>
build_fileseg_headers(const protocol::uftp_header& header, const tx_file& file, std::uint32_t block,
                      std::span<std::uint8_t> out,
                      std::optional<protocol::tfmcc_data_info_ext> tfmcc) {
    if (block >= file.layout.blocks()) {
        return protocol::wire_error::field_too_large;
    }
    return protocol::encode_fileseg_headers(header, fileseg_for_block(file, block, tfmcc), out);
}

protocol::result<std::size_t> build_fileseg(const protocol::uftp_header& header,
                                            const tx_file& file, std::uint32_t block,
                                            std::span<const std::uint8_t> data,
                                            std::span<std::uint8_t> out) {
    if (block >= file.layout.blocks() || data.size() != file.layout.block_bytes(block)) {
        return protocol::wire_error::field_too_large;
    }
    auto msg = fileseg_for_block(file, block);
    msg.data = data;
    return protocol::encode(header, msg, out);
}

std::size_t fileseg_plaintext_size(const tx_file& file, std::uint32_t block) {
    return protocol::fileseg_headers_size(false) - protocol::uftp_header_size +
           (block < file.layout.blocks() ? file.layout.block_bytes(block) : 0);
}

sealed_fileseg build_fileseg_sealed(crypto::packet_cipher& cipher,
                                    const protocol::uftp_header& header, const tx_file& file,
                                    std::uint32_t block, std::span<const std::uint8_t> data,
                                    std::uint64_t iv_ctr, std::span<std::uint8_t> out) {
    sealed_fileseg r;
    if (block >= file.layout.blocks() || data.size() != file.layout.block_bytes(block)) {
        r.wire = protocol::wire_error::field_too_large;
        return r;
    }
    // The headers are encoded aside (UFTP + FILESEG); the FILESEG part goes
    // where the plaintext is sealed in place.
    std::array<std::uint8_t, protocol::fileseg_headers_size(false)> headers{};
    const auto n =
        protocol::encode_fileseg_headers(header, fileseg_for_block(file, block), headers);
    if (!n.ok()) {
        r.wire = n.error();
        return r;
    }
    return seal_in_place(
        cipher, header,
        std::span(headers).subspan(protocol::uftp_header_size, *n - protocol::uftp_header_size),
        data, iv_ctr, out);
}

sealed_fileseg seal_in_place(crypto::packet_cipher& cipher, const protocol::uftp_header& header,
                             std::span<const std::uint8_t> message_header,
                             std::span<const std::uint8_t> data, std::uint64_t iv_ctr,
                             std::span<std::uint8_t> out) {
    sealed_fileseg r;
    const std::size_t plain = message_header.size() + data.size();
    const std::size_t at = cipher.payload_offset();
    if (out.size() < cipher.sealed_size(plain)) {
        r.crypto = crypto::crypto_error::buffer_too_small;
        return r;
    }
    // The plaintext is placed right at payload_offset() and sealed there.
    std::memcpy(out.data() + at, message_header.data(), message_header.size());
    std::memcpy(out.data() + at + message_header.size(), data.data(), data.size());
    const auto sealed = cipher.seal(header, out.subspan(at, plain), iv_ctr, out);
    if (!sealed) {
        r.crypto = sealed.error();
        return r;
    }
    r.size = *sealed;
    return r;
}

} // namespace skycast::dataplane
