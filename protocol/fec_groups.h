#pragma once
// Where the FEC groups of a file lie (docs/protocol.md §17), identical on
// sender and receiver: each section's blocks are cut into groups of k, in
// order; the last group of a section may hold fewer than k data blocks, and
// both ends code it as if the missing positions held zeros (a shortened
// Reed–Solomon code, still MDS). Groups never span sections, so one STATUS
// (one section) reports whole groups.
//
// Groups are numbered in two ways: within their section (on the wire) and
// across the file (`g`, 0 .. count()-1) for tables.

#include "protocol/blocks.h"

#include <cstdint>
#include <vector>

namespace skycast::protocol {

struct fec_group_position {
    std::uint32_t section = 0;
    std::uint32_t group = 0; // within the section
};

class fec_groups {
public:
    fec_groups() = default;
    // k >= 1. Allocates one word per section (call it when a file opens).
    fec_groups(const section_layout& layout, std::uint32_t k);

    std::uint32_t k() const { return _k; }
    std::uint32_t count() const { return _first_group.empty() ? 0 : _first_group.back(); }
    std::uint32_t groups_in_section(std::uint32_t section) const;
    // The file-wide index of `group` of `section`; count() if there is none.
    std::uint32_t index(std::uint32_t section, std::uint32_t group) const;
    fec_group_position locate(std::uint32_t g) const;
    std::uint32_t first_block(std::uint32_t g) const;
    // Real data blocks of group g (1..k); positions beyond are zeros.
    std::uint32_t data_blocks(std::uint32_t g) const;
    std::uint32_t group_of_block(std::uint32_t block) const;

private:
    section_layout _layout;
    std::uint32_t _k = 0;
    std::vector<std::uint32_t> _first_group; // per section, then the total
};

} // namespace skycast::protocol
