#pragma once
// Where the FEC groups of a file lie (docs/protocol.md §17.1), identical on
// sender and receiver. Each section's blocks are cut into spans of
// span_groups × k blocks (the section's last span may be shorter); the
// groups of a span take its blocks in turn, so group j of a span of G groups
// holds the span's blocks j, j + G, j + 2G, ... A burst of lost blocks is
// then spread over every group of the span instead of emptying one or two.
// span_groups = 1 is the plain layout: groups of k consecutive blocks. The
// last span's groups may hold fewer than k data blocks; both ends code them
// as if the missing positions held zeros (a shortened Reed–Solomon code,
// still MDS). Groups never span sections, so one STATUS (one section)
// reports whole groups.
//
// Groups are numbered in two ways: within their section (on the wire) and
// across the file (`g`, 0 .. count()-1) for tables. In both, the groups of
// a span are numbered before those of the next. A group is complete at its
// last_block(); within a span's short tail, a lower group may end later.

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
    // k >= 1, span_groups >= 1 (0 is taken as 1). Allocates one word per
    // section (call it when a file opens).
    fec_groups(const section_layout& layout, std::uint32_t k, std::uint32_t span_groups = 1);

    std::uint32_t k() const { return _k; }
    std::uint32_t span_groups() const { return _span; }
    std::uint32_t count() const { return _first_group.empty() ? 0 : _first_group.back(); }
    std::uint32_t groups_in_section(std::uint32_t section) const;
    // The file-wide index of `group` of `section`; count() if there is none.
    std::uint32_t index(std::uint32_t section, std::uint32_t group) const;
    fec_group_position locate(std::uint32_t g) const;
    // Real data blocks of group g (1..k); positions beyond are zeros.
    std::uint32_t data_blocks(std::uint32_t g) const;
    // The file-wide block number of data position i (< data_blocks(g)) of group g.
    std::uint32_t block(std::uint32_t g, std::uint32_t i) const;
    // Its highest block: the group's data is all out once a sender's
    // cursor has passed it.
    std::uint32_t last_block(std::uint32_t g) const;
    std::uint32_t group_of_block(std::uint32_t block) const;
    // The first group of g's span (g itself without interleaving): groups
    // with the same one end within the same span_groups() blocks.
    std::uint32_t span_first_group(std::uint32_t g) const;

    // Group g's blocks as an arithmetic run: first + i × stride, i < count.
    struct run {
        std::uint32_t first = 0;
        std::uint32_t stride = 1;
        std::uint32_t count = 0;
        std::uint32_t at(std::uint32_t i) const { return first + i * stride; }
    };
    run blocks_of(std::uint32_t g) const;

private:
    // The span a position of a section lies in: its first position, and
    // how many groups share it.
    struct span_shape {
        std::uint32_t start = 0; // position in the section
        std::uint32_t groups = 0;
        std::uint32_t blocks = 0;
    };
    span_shape span_of(std::uint32_t section_blocks, std::uint32_t span) const;

    section_layout _layout;
    std::uint32_t _k = 0;
    std::uint32_t _span = 1;
    std::vector<std::uint32_t> _first_group; // per section, then the total
};

} // namespace skycast::protocol
