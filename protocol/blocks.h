#pragma once
// Block and section arithmetic, identical on sender and receiver
// (docs/protocol.md §3.1).
//
// A file of `size` bytes is cut into blocks of `block_size` bytes; blocks are
// grouped into sections small enough that one section's NAK bitmap fits in one
// block. The first `big_sections` sections hold one block more than the rest.

#include "protocol/constants.h"
#include "protocol/result.h"

#include <cstdint>

namespace skycast::protocol {

struct block_position {
    std::uint16_t section = 0;
    std::uint16_t index = 0; // block number within the section
    bool operator==(const block_position&) const = default;
};

class section_layout {
public:
    // Refuses a block size of zero or above 9000 (field_too_large) and a
    // file whose blocks or sections overflow UFTP's counters: more than 2^31-1
    // blocks or 65536 sections. The stock server does not check and wraps the
    // 16-bit section number; we refuse such files instead (spec §10).
    static result<section_layout> make(std::uint64_t file_size, std::uint32_t block_size);

    std::uint64_t file_size() const { return _file_size; }
    std::uint32_t block_size() const { return _block_size; }
    std::uint32_t blocks() const { return _blocks; }
    std::uint32_t sections() const { return _sections; }
    std::uint32_t max_section_blocks() const { return _max_section_blocks; }
    std::uint32_t small_section_blocks() const { return _small; }
    std::uint32_t big_section_blocks() const { return _big; }
    std::uint32_t big_sections() const { return _nbig; }

    // Where block `n` (0-based, < blocks()) lies.
    block_position locate(std::uint32_t n) const;
    // The file block at `index` of `section`; the inverse of locate().
    std::uint32_t block_at(block_position p) const;
    std::uint32_t first_block(std::uint32_t section) const;
    std::uint32_t blocks_in_section(std::uint32_t section) const;
    // The section DONE names: the last one, 0 for an empty file (spec §2.10).
    std::uint16_t last_section() const {
        return static_cast<std::uint16_t>(_sections == 0 ? 0 : _sections - 1);
    }
    // Bytes in block `n`: block_size, except a short final block.
    std::uint32_t block_bytes(std::uint32_t n) const;

private:
    std::uint64_t _file_size = 0;
    std::uint32_t _block_size = 0;
    std::uint32_t _blocks = 0;
    std::uint32_t _sections = 0;
    std::uint32_t _max_section_blocks = 0;
    std::uint32_t _small = 0;
    std::uint32_t _big = 0;
    std::uint32_t _nbig = 0;
};

} // namespace skycast::protocol
