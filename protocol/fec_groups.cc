#include "protocol/fec_groups.h"

#include <algorithm>

namespace skycast::protocol {

fec_groups::fec_groups(const section_layout& layout, std::uint32_t k)
    : _layout(layout), _k(std::max<std::uint32_t>(k, 1)) {
    _first_group.reserve(layout.sections() + 1);
    std::uint32_t total = 0;
    for (std::uint32_t s = 0; s < layout.sections(); ++s) {
        _first_group.push_back(total);
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

std::uint32_t fec_groups::first_block(std::uint32_t g) const {
    const auto p = locate(g);
    return _layout.first_block(p.section) + p.group * _k;
}

std::uint32_t fec_groups::data_blocks(std::uint32_t g) const {
    const auto p = locate(g);
    const std::uint32_t in_section = _layout.blocks_in_section(p.section);
    return std::min(_k, in_section - p.group * _k);
}

std::uint32_t fec_groups::group_of_block(std::uint32_t block) const {
    const auto pos = _layout.locate(block);
    return _first_group[pos.section] + pos.index / _k;
}

} // namespace skycast::protocol
