#include "protocol/blocks.h"

#include <algorithm>

namespace skycast::protocol {
namespace {
constexpr std::uint64_t max_blocks = 0x7fffffff; // stock counts blocks in a signed 32-bit int
constexpr std::uint32_t max_sections = 65536;    // section numbers are 16-bit
} // namespace

result<section_layout> section_layout::make(std::uint64_t file_size, std::uint32_t block_size) {
    if (block_size == 0 || block_size > max_datagram_size) {
        return wire_error::field_too_large;
    }
    // Not (file_size + block_size - 1) / block_size: that wraps for sizes near
    // 2^64 and would turn a huge file into a tiny layout instead of refusing it.
    const std::uint64_t blocks = file_size / block_size + (file_size % block_size != 0 ? 1 : 0);
    if (blocks > max_blocks) {
        return wire_error::file_size_too_large;
    }
    section_layout l;
    l._file_size = file_size;
    l._block_size = block_size;
    l._blocks = static_cast<std::uint32_t>(blocks);
    l._max_section_blocks = std::min<std::uint32_t>(8 * block_size, 65536);
    l._sections =
        static_cast<std::uint32_t>((blocks + l._max_section_blocks - 1) / l._max_section_blocks);
    if (l._sections > max_sections) {
        return wire_error::file_size_too_large;
    }
    if (l._sections != 0) {
        l._small = l._blocks / l._sections;
        l._big = l._small + (l._blocks % l._sections != 0 ? 1 : 0);
        l._nbig = l._blocks - l._small * l._sections;
    }
    return l;
}

block_position section_layout::locate(std::uint32_t n) const {
    const std::uint32_t in_big = _nbig * _big;
    if (n >= in_big) {
        return {static_cast<std::uint16_t>(_nbig + (n - in_big) / _small),
                static_cast<std::uint16_t>((n - in_big) % _small)};
    }
    return {static_cast<std::uint16_t>(n / _big), static_cast<std::uint16_t>(n % _big)};
}

std::uint32_t section_layout::first_block(std::uint32_t section) const {
    if (section <= _nbig) {
        return section * _big;
    }
    return _nbig * _big + (section - _nbig) * _small;
}

std::uint32_t section_layout::block_at(block_position p) const {
    return first_block(p.section) + p.index;
}

std::uint32_t section_layout::blocks_in_section(std::uint32_t section) const {
    if (section >= _sections) {
        return 0;
    }
    return section < _nbig ? _big : _small;
}

std::uint32_t section_layout::block_bytes(std::uint32_t n) const {
    if (n >= _blocks) {
        return 0;
    }
    if (n + 1 < _blocks) {
        return _block_size;
    }
    return static_cast<std::uint32_t>(_file_size - std::uint64_t{n} * _block_size);
}

} // namespace skycast::protocol
