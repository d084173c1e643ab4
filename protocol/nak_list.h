#pragma once
// NAK lists: Skycast's compact form of a STATUS's NAK bitmap (docs/protocol.md
// §19). A bitmap costs floor(N/8)+1 bytes whatever it holds: 7.6 KB for a
// 61,000-block section at 8800-byte blocks, even for a handful of missing
// blocks. On a narrow return link (a satellite terminal's few Mbit/s shared
// by many receivers) those bytes overflow the modem's queue and the lost
// answers cost whole repair rounds. A NAK list names the missing runs
// instead: per run, two LEB128 varints, the gap since the end of the last run
// (from block 0 for the first) and the run's length minus one. At 1 % loss
// that is about two bytes per missing block, a fifth of the bitmap.
//
// Only sent to a Skycast sender that asked for it in its ANNOUNCE
// (EXT_SKYCAST_NAK_LIST): a stock uftp, or a proxy in between, reads the body
// as a bitmap.

#include "protocol/nak_bitmap.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace skycast::protocol {

// Appends the list form of `bits` to `out` (cleared first). An empty list
// means nothing is missing.
void encode_nak_list(const nak_bitmap_view& bits, std::vector<std::uint8_t>& out);

// Rebuilds the bitmap of a section of `blocks` blocks from a received list:
// `bitmap` becomes nak_bitmap_bytes(blocks) bytes. False, with `bitmap`
// unspecified, when the list is malformed: a varint cut short or longer than
// a section index needs, or a run that ends past the section.
bool expand_nak_list(std::span<const std::uint8_t> list, std::uint32_t blocks,
                     std::vector<std::uint8_t>& bitmap);

} // namespace skycast::protocol
