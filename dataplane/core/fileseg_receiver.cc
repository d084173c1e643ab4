#include "dataplane/core/fileseg_receiver.h"

#include "protocol/codec.h"
#include "protocol/parity.h"

#include <cstring>

namespace skycast::dataplane {

std::string_view name(fileseg_drop d) {
    switch (d) {
    case fileseg_drop::unknown_file:
        return "unknown_file";
    case fileseg_drop::section_out_of_range:
        return "section_out_of_range";
    case fileseg_drop::block_out_of_range:
        return "block_out_of_range";
    case fileseg_drop::wrong_length:
        return "wrong_length";
    case fileseg_drop::duplicate:
        return "duplicate";
    case fileseg_drop::not_authentic:
        return "not_authentic";
    case fileseg_drop::malformed:
        return "malformed";
    case fileseg_drop::unencrypted:
        return "unencrypted";
    case fileseg_drop::count:
        break;
    }
    return "unknown";
}

bool accept_fileseg(const rx_file* file, const protocol::fileseg_msg& seg, block_write& out,
                    rx_counters& counters) {
    if (file == nullptr || file->file_id != seg.file_id) {
        counters.drop(fileseg_drop::unknown_file);
        return false;
    }
    const auto& layout = file->layout;
    if (seg.section >= layout.sections()) {
        counters.drop(fileseg_drop::section_out_of_range);
        return false;
    }
    if (seg.sec_block >= layout.blocks_in_section(seg.section)) {
        counters.drop(fileseg_drop::block_out_of_range);
        return false;
    }
    const std::uint32_t block = layout.block_at({seg.section, seg.sec_block});
    // Stock clients drop any block whose length is not exactly its size: a
    // short non-final block would leave a hole that looks received.
    if (seg.data.size() != layout.block_bytes(block)) {
        counters.drop(fileseg_drop::wrong_length);
        return false;
    }
    // The bit means "handed to storage": a NAK scan must not ask again for a
    // block whose write is queued. The receiver flushes storage before it
    // reports the file complete.
    if (!file->received.set(block)) {
        counters.drop(fileseg_drop::duplicate);
        return false;
    }
    out.block = block;
    out.offset = std::uint64_t{block} * layout.block_size();
    out.data = seg.data;
    ++counters.blocks_stored;
    counters.bytes_stored += seg.data.size();
    return true;
}

opened_kind open_fileseg(crypto::packet_cipher& cipher, const crypto::public_key* sender,
                         std::span<const std::uint8_t> datagram, std::span<std::uint8_t> scratch,
                         protocol::uftp_header& header, protocol::fileseg_msg& seg,
                         rx_counters& counters, std::span<const std::uint8_t>* parity) {
    constexpr std::size_t h = protocol::uftp_header_size;
    if (datagram.size() < h || scratch.size() < datagram.size() + h) {
        counters.drop(fileseg_drop::malformed);
        return opened_kind::dropped;
    }
    // The plaintext lands after room for a UFTP header, so that the FILESEG
    // can be decoded as a whole datagram without another copy.
    const auto opened = cipher.open(datagram, scratch.subspan(h), sender);
    if (!opened) {
        counters.drop(opened.error() == crypto::crypto_error::datagram_malformed
                          ? fileseg_drop::malformed
                          : fileseg_drop::not_authentic);
        return opened_kind::dropped;
    }
    if (static_cast<std::uint8_t>(opened->inner_type) == protocol::parity_func &&
        parity != nullptr) {
        std::memcpy(scratch.data(), datagram.data(), h);
        scratch[1] = protocol::parity_func;
        *parity = scratch.first(h + opened->plaintext_size);
        return opened_kind::parity;
    }
    if (opened->inner_type != protocol::message_type::fileseg) {
        return opened_kind::control;
    }
    // The outer header is the inner one with func = 18 (spec §5.8).
    std::memcpy(scratch.data(), datagram.data(), h);
    scratch[1] = static_cast<std::uint8_t>(protocol::message_type::fileseg);
    if (protocol::decode_fileseg(scratch.first(h + opened->plaintext_size), header, seg) !=
        protocol::wire_error::ok) {
        counters.drop(fileseg_drop::malformed);
        return opened_kind::dropped;
    }
    return opened_kind::fileseg;
}

} // namespace skycast::dataplane
