#include "dataplane/core/fileseg_builder.h"

#include "protocol/codec.h"

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

} // namespace skycast::dataplane
