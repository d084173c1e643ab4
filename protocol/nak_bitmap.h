#pragma once
// NAK bitmaps as STATUS carries them (spec §2.11, §14 #13): one bit per block
// of a section, bit (i & 7) of byte (i >> 3), least significant bit first,
// 1 = missing; floor(N/8)+1 bytes for N blocks, not padded.

#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace skycast::protocol {

constexpr std::size_t nak_bitmap_bytes(std::uint32_t blocks) {
    return blocks / 8 + 1;
}

// Read-only view of a received bitmap for a section of `blocks` blocks. Bits
// past `blocks` (the padding of the last byte) are ignored.
class nak_bitmap_view {
public:
    nak_bitmap_view(std::span<const std::uint8_t> bits, std::uint32_t blocks)
        : _bits(bits), _blocks(blocks) {}

    // The stock server accepts a STATUS only when it holds the whole bitmap.
    bool complete() const { return _bits.size() >= nak_bitmap_bytes(_blocks); }
    std::uint32_t blocks() const { return _blocks; }

    bool missing(std::uint32_t i) const {
        return i < _blocks && (i >> 3) < _bits.size() && ((_bits[i >> 3] >> (i & 7)) & 1) != 0;
    }

    // The first missing block at or after `from`, or blocks() if none. Scans
    // 64 bits at a time (sections hold up to 65536 blocks), also right after
    // a hit, so walking every missing block costs one word load per hit.
    std::uint32_t next_missing(std::uint32_t from) const {
        const std::uint32_t limit = usable_bits();
        std::uint32_t i = from;
        // Whole 64-bit words; the first is shifted so that it starts at `from`.
        while (i < limit && (i & ~63u) + 64 <= limit) {
            const std::uint32_t base = i & ~63u;
            const std::uint64_t word = load_word(base >> 3) >> (i - base);
            if (word != 0) {
                return i + static_cast<std::uint32_t>(std::countr_zero(word));
            }
            i = base + 64;
        }
        // The tail shorter than a word, bit by bit.
        for (; i < limit; ++i) {
            if (missing(i)) {
                return i;
            }
        }
        return _blocks;
    }

    std::uint32_t count_missing() const {
        const std::uint32_t limit = usable_bits();
        std::uint32_t count = 0;
        std::uint32_t i = 0;
        for (; i + 64 <= limit; i += 64) {
            count += static_cast<std::uint32_t>(std::popcount(load_word(i >> 3)));
        }
        for (; i < limit; ++i) {
            count += missing(i) ? 1 : 0;
        }
        return count;
    }

    template <class Fn>
    void for_each_missing(Fn&& fn) const {
        for (std::uint32_t i = next_missing(0); i < _blocks; i = next_missing(i + 1)) {
            fn(i);
        }
    }

private:
    std::uint32_t usable_bits() const {
        const std::size_t have = _bits.size() * 8;
        return have < _blocks ? static_cast<std::uint32_t>(have) : _blocks;
    }
    // Little-endian load: bit k of the word is block (byte*8 + k).
    std::uint64_t load_word(std::size_t byte) const {
        std::uint64_t word = 0;
        std::memcpy(&word, _bits.data() + byte, sizeof word);
        if constexpr (std::endian::native == std::endian::big) {
            word = __builtin_bswap64(word);
        }
        return word;
    }

    std::span<const std::uint8_t> _bits;
    std::uint32_t _blocks;
};

// Builds a bitmap in a caller's buffer of at least nak_bitmap_bytes(blocks).
class nak_bitmap_writer {
public:
    // `bits` must hold nak_bitmap_bytes(blocks) bytes.
    nak_bitmap_writer(std::span<std::uint8_t> bits, std::uint32_t blocks)
        : _bits(bits.first(nak_bitmap_bytes(blocks))), _blocks(blocks) {
        assert(bits.size() >= nak_bitmap_bytes(blocks));
        std::memset(_bits.data(), 0, _bits.size());
    }
    void set_missing(std::uint32_t i) {
        if (i < _blocks) {
            _bits[i >> 3] = static_cast<std::uint8_t>(_bits[i >> 3] | (1u << (i & 7)));
        }
    }
    std::span<const std::uint8_t> bytes() const { return _bits; }

private:
    std::span<std::uint8_t> _bits;
    std::uint32_t _blocks;
};

} // namespace skycast::protocol
