#pragma once
// Builds the PARITY datagrams of FEC repair (docs/protocol.md §17) from a
// file's bytes, as the sender's dataplane sends them: parity block `index`
// of FEC group g is row `index` of the session's Reed–Solomon code over the
// group's k data blocks (the short final block zero-padded, positions past
// the group's real blocks zero). One builder per session (its codec has
// room for every index k..254); building does not allocate.

#include "crypto/packet_cipher.h"
#include "dataplane/core/fec_codec.h"
#include "dataplane/core/fileseg_builder.h"
#include "protocol/fec_groups.h"
#include "protocol/parity.h"

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace skycast::dataplane {

class parity_builder {
public:
    // k data blocks per group (1..254), parity indices k..254. Allocates
    // (codec tables, a zero block and a padded tail block).
    static std::optional<parity_builder> create(std::uint32_t k, std::uint32_t block_size);

    std::uint32_t k() const { return _codec.data_blocks(); }
    std::uint32_t block_size() const { return static_cast<std::uint32_t>(_codec.block_size()); }
    // The highest parity index a group can have.
    static constexpr std::uint32_t last_index = fec_codec::max_blocks - 1;

    // Parity blocks first_index .. first_index + out.size() - 1 of group `g`
    // of a file laid out as `groups` says, whose bytes are `file`. Each out
    // buffer holds block_size() bytes.
    fec_error parity_blocks(const protocol::fec_groups& groups, std::span<const std::uint8_t> file,
                            std::uint32_t g, std::uint32_t first_index,
                            std::span<std::uint8_t* const> out);

    // A whole PARITY datagram for group g, index `index`, whose parity bytes
    // (from parity_blocks) are `parity`. Returns its size.
    protocol::result<std::size_t> build(const protocol::uftp_header& header, std::uint16_t file_id,
                                        const protocol::fec_groups& groups, std::uint32_t g,
                                        std::uint32_t index, std::span<const std::uint8_t> parity,
                                        std::span<std::uint8_t> out) const;

    // Bytes of PARITY message (header + parity) an ENCRYPTED datagram seals.
    std::size_t plaintext_size() const { return protocol::parity_fixed + _codec.block_size(); }

    // The whole ENCRYPTED datagram of that PARITY (docs/protocol.md §17.3),
    // sealed in place like a FILESEG (build_fileseg_sealed): `iv_ctr` is the
    // sender's shared IV counter, already incremented.
    sealed_fileseg build_sealed(crypto::packet_cipher& cipher, const protocol::uftp_header& header,
                                std::uint16_t file_id, const protocol::fec_groups& groups,
                                std::uint32_t g, std::uint32_t index,
                                std::span<const std::uint8_t> parity, std::uint64_t iv_ctr,
                                std::span<std::uint8_t> out) const;

    // The PARITY message header (func onward, no parity bytes) for group g,
    // `index`, into `out`; what a caller sealing in place writes first.
    protocol::result<std::size_t> message_header(std::uint16_t file_id,
                                                 const protocol::fec_groups& groups,
                                                 std::uint32_t g, std::uint32_t index,
                                                 std::span<std::uint8_t> out) const;

private:
    parity_builder() = default;
    fec_codec _codec;
    std::vector<std::uint8_t> _zero; // block_size zeros: the positions past a short group
    std::vector<std::uint8_t> _tail; // the file's short last block, zero-padded
};

} // namespace skycast::dataplane
