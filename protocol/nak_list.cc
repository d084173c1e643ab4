#include "protocol/nak_list.h"

#include <algorithm>

namespace skycast::protocol {
namespace {

// A section holds at most 65,536 blocks (spec §3.1), so every value fits in
// 17 bits: three LEB128 bytes. A longer varint is malformed, never a bigger
// number.
constexpr int max_varint_bytes = 3;

void put_varint(std::uint32_t v, std::vector<std::uint8_t>& out) {
    while (v >= 0x80) {
        out.push_back(static_cast<std::uint8_t>(v | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<std::uint8_t>(v));
}

// Reads one varint at `pos`; false when cut short or too long.
bool get_varint(std::span<const std::uint8_t> in, std::size_t& pos, std::uint32_t& v) {
    v = 0;
    for (int i = 0; i < max_varint_bytes; ++i) {
        if (pos >= in.size()) {
            return false;
        }
        const std::uint8_t byte = in[pos++];
        v |= std::uint32_t{byte & 0x7Fu} << (7 * i);
        if ((byte & 0x80) == 0) {
            return true;
        }
    }
    return false;
}

} // namespace

void encode_nak_list(const nak_bitmap_view& bits, std::vector<std::uint8_t>& out) {
    out.clear();
    std::uint32_t end = 0; // one past the last run
    for (std::uint32_t first = bits.next_missing(0); first < bits.blocks();) {
        std::uint32_t last = first;
        while (last + 1 < bits.blocks() && bits.missing(last + 1)) {
            ++last;
        }
        put_varint(first - end, out);
        put_varint(last - first, out);
        end = last + 1;
        first = bits.next_missing(end);
    }
}

bool expand_nak_list(std::span<const std::uint8_t> list, std::uint32_t blocks,
                     std::vector<std::uint8_t>& bitmap) {
    bitmap.assign(nak_bitmap_bytes(blocks), 0);
    std::uint64_t end = 0; // one past the last run; 64-bit so no sum wraps
    std::size_t pos = 0;
    while (pos < list.size()) {
        std::uint32_t gap = 0;
        std::uint32_t length_less_one = 0;
        if (!get_varint(list, pos, gap) || !get_varint(list, pos, length_less_one)) {
            return false;
        }
        const std::uint64_t first = end + gap;
        const std::uint64_t stop = first + length_less_one + 1;
        if (stop > blocks) {
            return false;
        }
        for (auto i = static_cast<std::uint32_t>(first); i < stop; ++i) {
            bitmap[i >> 3] = static_cast<std::uint8_t>(bitmap[i >> 3] | (1u << (i & 7)));
        }
        end = stop;
    }
    return true;
}

} // namespace skycast::protocol
