#include "dataplane/core/fec_receiver.h"

#include "protocol/nak_bitmap.h"

#include <algorithm>
#include <cstring>

namespace skycast::dataplane {

std::string_view name(parity_drop d) {
    switch (d) {
    case parity_drop::not_fec:
        return "not_fec";
    case parity_drop::bad_group:
        return "bad_group";
    case parity_drop::wrong_length:
        return "wrong_length";
    case parity_drop::unneeded:
        return "unneeded";
    case parity_drop::duplicate:
        return "duplicate";
    case parity_drop::no_room:
        return "no_room";
    case parity_drop::decode_failed:
        return "decode_failed";
    case parity_drop::unencrypted:
        return "unencrypted";
    case parity_drop::count:
        break;
    }
    return "unknown";
}

std::optional<fec_decoder> fec_decoder::create(std::uint32_t k, std::uint32_t block_size) {
    if (k < 2 || k >= fec_codec::max_blocks - 1) {
        return std::nullopt;
    }
    auto codec = fec_codec::create(k, fec_codec::max_blocks - k, block_size);
    if (!codec.ok()) {
        return std::nullopt;
    }
    fec_decoder d;
    d._codec = std::move(codec.codec);
    d._scratch.assign(std::size_t{2} * k * block_size, 0);
    d._zero.assign(block_size, 0);
    return d;
}

std::optional<fec_receiver> fec_receiver::create(const protocol::section_layout& layout,
                                                 std::uint32_t k, std::uint32_t span_groups,
                                                 std::uint64_t budget) {
    if (k < 2 || k >= fec_codec::max_blocks - 1) {
        return std::nullopt;
    }
    fec_receiver r;
    r._layout = layout;
    r._groups = protocol::fec_groups(layout, k, span_groups);
    r._kept_count.assign(r._groups.count(), 0);
    r._group_head.assign(r._groups.count(), no_slot);
    r._max_slots = static_cast<std::uint32_t>(std::min<std::uint64_t>(
        budget / std::max<std::uint32_t>(layout.block_size(), 1), std::uint64_t{no_slot} - 1));
    if (r._max_slots == 0) {
        return std::nullopt;
    }
    return r;
}

void fec_receiver::release(std::uint32_t g) {
    std::uint32_t s = _group_head[g];
    while (s != no_slot) {
        const std::uint32_t next = _slots[s].next;
        _slots[s].next = _free;
        _free = s;
        s = next;
    }
    _group_head[g] = no_slot;
    if (_kept_count[g] != 0) {
        --_groups_holding;
    }
    _kept_count[g] = 0;
}

std::uint32_t fec_receiver::missing(std::uint32_t g, const block_bitmap_view& received) const {
    const auto blocks = _groups.blocks_of(g);
    std::uint32_t n = 0;
    for (std::uint32_t i = 0; i < blocks.count; ++i) {
        n += received.test(blocks.at(i)) ? 0 : 1;
    }
    return n;
}

std::uint32_t fec_receiver::kept(std::uint32_t g) const {
    return _kept_count[g];
}

std::uint32_t fec_receiver::deficit(std::uint32_t g, const block_bitmap_view& received) const {
    if (g >= _groups.count()) {
        return 0;
    }
    const std::uint32_t m = missing(g, received);
    return m > kept(g) ? m - kept(g) : 0;
}

std::optional<std::uint32_t> fec_receiver::accept(const protocol::parity_msg& msg,
                                                  const block_bitmap_view& received,
                                                  fec_rx_counters& counters) {
    const std::uint32_t g = _groups.index(msg.section, msg.group);
    if (g >= _groups.count() || msg.group_blocks != _groups.k() || msg.index < _groups.k() ||
        msg.index >= fec_codec::max_blocks) {
        counters.drop(parity_drop::bad_group);
        return std::nullopt;
    }
    if (msg.data.size() != _layout.block_size()) {
        counters.drop(parity_drop::wrong_length);
        return std::nullopt;
    }
    if (deficit(g, received) == 0) {
        counters.drop(parity_drop::unneeded);
        return std::nullopt;
    }
    for (std::uint32_t s = _group_head[g]; s != no_slot; s = _slots[s].next) {
        if (_slots[s].index == msg.index) {
            counters.drop(parity_drop::duplicate);
            return std::nullopt;
        }
    }
    if (_free == no_slot) {
        // Grow: double the slots, within the budget.
        const auto have = static_cast<std::uint32_t>(_slots.size());
        const std::uint32_t want = std::min(_max_slots, std::max<std::uint32_t>(16, have * 2));
        if (want <= have) {
            counters.drop(parity_drop::no_room);
            return std::nullopt;
        }
        _slots.resize(want);
        _slot_bytes.resize(std::size_t{want} * _layout.block_size());
        for (std::uint32_t s = want; s-- > have;) {
            _slots[s].next = _free;
            _free = s;
        }
    }
    const std::uint32_t s = _free;
    _free = _slots[s].next;
    _slots[s] = {.next = _group_head[g], .index = msg.index};
    _group_head[g] = s;
    std::memcpy(_slot_bytes.data() + std::size_t{s} * _layout.block_size(), msg.data.data(),
                msg.data.size());
    if (_kept_count[g]++ == 0) {
        _holding.push_back(g);
        ++_groups_holding;
    }
    ++counters.parity_kept;
    if (deficit(g, received) == 0) {
        return g;
    }
    return std::nullopt;
}

bool fec_receiver::sweep_ready(std::uint64_t stored, std::int64_t now_ns,
                               const block_bitmap_view& received, std::vector<std::uint32_t>& out,
                               fec_rx_counters& counters) {
    const auto due = next_sweep(stored);
    if (!due || now_ns < *due) {
        return false;
    }
    _swept_stored = stored;
    _next_sweep_at = now_ns + ready_sweep_interval_ns;
    // Released groups leave the list here, not in release(): one pass
    // over it instead of a search per release. A group released and given
    // parity again since the last look is listed twice: once is enough.
    std::erase_if(_holding, [&](std::uint32_t g) { return _kept_count[g] == 0; });
    std::sort(_holding.begin(), _holding.end());
    _holding.erase(std::unique(_holding.begin(), _holding.end()), _holding.end());
    const std::size_t waiting = out.size(); // already listed (waiting for storage)
    for (const std::uint32_t g : _holding) {
        if (deficit(g, received) == 0 &&
            std::find(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(waiting), g) ==
                out.begin() + static_cast<std::ptrdiff_t>(waiting)) {
            out.push_back(g);
            ++counters.groups_ready_by_data;
        }
    }
    return true;
}

std::optional<std::int64_t> fec_receiver::next_sweep(std::uint64_t stored) const {
    if (_groups_holding == 0 || stored == _swept_stored) {
        return std::nullopt;
    }
    return _next_sweep_at;
}

bool fec_receiver::rebuild(std::uint32_t g, const block_bitmap_view& received, block_io& io,
                           fec_decoder& decoder, fec_rx_counters& counters) {
    const std::uint32_t k = _groups.k();
    const std::size_t bs = _layout.block_size();
    const auto group_blocks = _groups.blocks_of(g);
    const std::uint32_t real = group_blocks.count;
    const std::uint32_t need = missing(g, received);
    auto free_group = [&] { release(g); };
    if (need == 0) {
        free_group();
        return true;
    }
    if (kept(g) < need) {
        return false;
    }
    if (decoder.k() != k || decoder.block_size() != bs) {
        counters.drop(parity_drop::decode_failed);
        free_group();
        return false;
    }
    // Exactly k symbols: every data position the receiver has (received
    // blocks read back, zero positions), then the first `need` kept parity.
    std::array<std::uint32_t, fec_codec::max_blocks> indices{};
    std::array<const std::uint8_t*, fec_codec::max_blocks> blocks{};
    std::array<std::uint8_t*, fec_codec::max_blocks> out{};
    std::uint32_t n = 0;
    std::uint8_t* const read_area = decoder._scratch.data();
    std::uint8_t* const rebuilt_area = decoder._scratch.data() + std::size_t{k} * bs;
    for (std::uint32_t i = 0; i < k; ++i) {
        if (i >= real) {
            indices[n] = i;
            blocks[n++] = decoder._zero.data();
            continue;
        }
        const std::uint32_t block = group_blocks.at(i);
        if (!received.test(block)) {
            out[i] = rebuilt_area + std::size_t{i} * bs;
            continue;
        }
        std::uint8_t* buf = read_area + std::size_t{i} * bs;
        const std::uint32_t bytes = _layout.block_bytes(block);
        std::memset(buf + bytes, 0, bs - bytes); // the short last block, padded
        if (!io.read(block, std::uint64_t{block} * bs, std::span(buf, bytes))) {
            counters.drop(parity_drop::decode_failed);
            free_group();
            return false;
        }
        indices[n] = i;
        blocks[n++] = buf;
    }
    for (std::uint32_t s = _group_head[g]; s != no_slot && n < k; s = _slots[s].next) {
        indices[n] = _slots[s].index;
        blocks[n++] = _slot_bytes.data() + std::size_t{s} * bs;
    }
    const fec_error e = decoder._codec.decode(std::span(indices).first(k),
                                              std::span(blocks).first(k), std::span(out).first(k));
    if (e != fec_error::ok) {
        counters.drop(parity_drop::decode_failed);
        free_group();
        return false;
    }
    for (std::uint32_t i = 0; i < real; ++i) {
        const std::uint32_t block = group_blocks.at(i);
        if (out[i] == nullptr || received.test(block)) {
            continue;
        }
        const std::uint32_t bytes = _layout.block_bytes(block);
        if (!io.write(block, std::uint64_t{block} * bs, std::span(out[i], bytes))) {
            counters.drop(parity_drop::decode_failed);
            free_group();
            return false;
        }
        received.set(block);
        ++counters.blocks_rebuilt;
    }
    ++counters.groups_rebuilt;
    free_group();
    return true;
}

std::uint32_t fec_receiver::deficit_in_section(std::uint32_t section,
                                               const block_bitmap_view& received,
                                               std::span<std::uint8_t> out) const {
    const std::uint32_t count = _layout.blocks_in_section(section);
    protocol::nak_bitmap_writer naks(out, count);
    const std::uint32_t first_of_section = _layout.first_block(section);
    std::uint32_t set = 0;
    for (std::uint32_t j = 0; j < _groups.groups_in_section(section); ++j) {
        const std::uint32_t g = _groups.index(section, j);
        std::uint32_t owed = deficit(g, received);
        const auto blocks = _groups.blocks_of(g);
        for (std::uint32_t i = 0; owed > 0 && i < blocks.count; ++i) {
            if (!received.test(blocks.at(i))) {
                naks.set_missing(blocks.at(i) - first_of_section);
                --owed;
                ++set;
            }
        }
    }
    return set;
}

} // namespace skycast::dataplane
