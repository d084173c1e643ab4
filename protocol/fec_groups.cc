#include "protocol/fec_groups.h"

#include <algorithm>

namespace skycast::protocol {

fec_groups::fec_groups(const section_layout& layout, std::uint32_t k, std::uint32_t span_groups)
    : _layout(layout), _k(std::max<std::uint32_t>(k, 1)),
      // No span is longer than a section: this bounds span × k, and both
      // ends clamp alike.
      _span(std::clamp<std::uint32_t>(
          span_groups, 1,
          std::max<std::uint32_t>((layout.max_section_blocks() + _k - 1) / _k, 1))) {
    _first_group.reserve(layout.sections() + 1);
    std::uint32_t total = 0;
    for (std::uint32_t s = 0; s < layout.sections(); ++s) {
        _first_group.push_back(total);
        // Whole spans hold span_groups groups and the last one
        // ceil(blocks / k): ceil(section blocks / k) either way.
        total += (layout.blocks_in_section(s) + _k - 1) / _k;
    }
    _first_group.push_back(total);
}

std::uint32_t fec_groups::groups_in_section(std::uint32_t section) const {
    if (section + 1 >= _first_group.size()) {
        return 0;
    }
    return _first_group[section + 1] - _first_group[section];
}

std::uint32_t fec_groups::index(std::uint32_t section, std::uint32_t group) const {
    if (group >= groups_in_section(section)) {
        return count();
    }
    return _first_group[section] + group;
}

fec_group_position fec_groups::locate(std::uint32_t g) const {
    // The last section whose first group is <= g.
    const auto it = std::upper_bound(_first_group.begin(), _first_group.end() - 1, g);
    const auto section = static_cast<std::uint32_t>(it - _first_group.begin() - 1);
    return {.section = section, .group = g - _first_group[section]};
}

std::uint32_t fec_groups::span_first_group(std::uint32_t g) const {
    // Every span of a section but its last holds span_groups() groups, and
    // groups are numbered span by span.
    return g - locate(g).group % _span;
}

fec_groups::span_shape fec_groups::span_of(std::uint32_t section_blocks, std::uint32_t span) const {
    const std::uint32_t span_blocks = _span * _k;
    const std::uint32_t start = span * span_blocks;
    const std::uint32_t blocks = std::min(span_blocks, section_blocks - start);
    return {.start = start, .groups = (blocks + _k - 1) / _k, .blocks = blocks};
}

fec_groups::run fec_groups::blocks_of(std::uint32_t g) const {
    const auto p = locate(g);
    const std::uint32_t in_section = _layout.blocks_in_section(p.section);
    const span_shape sp = span_of(in_section, p.group / _span);
    const std::uint32_t j = p.group % _span; // the group's place in its span
    // Positions j, j + G, ... below the span's end.
    return {.first = _layout.first_block(p.section) + sp.start + j,
            .stride = sp.groups,
            .count = (sp.blocks - j + sp.groups - 1) / sp.groups};
}

std::uint32_t fec_groups::data_blocks(std::uint32_t g) const {
    return blocks_of(g).count;
}

std::uint32_t fec_groups::block(std::uint32_t g, std::uint32_t i) const {
    return blocks_of(g).at(i);
}

std::uint32_t fec_groups::last_block(std::uint32_t g) const {
    const run r = blocks_of(g);
    return r.at(r.count - 1);
}

std::uint32_t fec_groups::group_of_block(std::uint32_t block) const {
    const auto pos = _layout.locate(block);
    const std::uint32_t span = pos.index / (_span * _k);
    const span_shape sp = span_of(_layout.blocks_in_section(pos.section), span);
    return _first_group[pos.section] + span * _span + (pos.index - sp.start) % sp.groups;
}

} // namespace skycast::protocol
