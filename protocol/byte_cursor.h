#pragma once
// Bounds-checked big-endian cursors over a caller's buffer.
//
// Decoders check every length field against the datagram with a named error
// before they read; these cursors are the second line of defence: a read or
// write past the end never touches memory outside the span, returns zero and
// latches `overrun()`, which decoders report as `wire_error::truncated`.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace skycast::protocol {

class byte_reader {
public:
    explicit byte_reader(std::span<const std::uint8_t> data) : _data(data) {}

    std::uint8_t u8() {
        if (!take(1)) {
            return 0;
        }
        return _data[_pos - 1];
    }
    std::uint16_t u16() {
        if (!take(2)) {
            return 0;
        }
        const auto* p = _data.data() + _pos - 2;
        return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
    }
    std::uint32_t u32() {
        if (!take(4)) {
            return 0;
        }
        const auto* p = _data.data() + _pos - 4;
        return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
               (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
    }
    std::uint64_t u64() {
        const std::uint64_t high = u32();
        return (high << 32) | u32();
    }
    // A view of the next `n` bytes; empty (and overrun latched) if fewer remain.
    std::span<const std::uint8_t> bytes(std::size_t n) {
        if (!take(n)) {
            return {};
        }
        return _data.subspan(_pos - n, n);
    }
    template <std::size_t N>
    void copy_to(std::array<std::uint8_t, N>& out) {
        auto view = bytes(N);
        if (!view.empty()) {
            std::memcpy(out.data(), view.data(), N);
        }
    }
    void skip(std::size_t n) { (void)take(n); }

    std::size_t position() const { return _pos; }
    std::size_t remaining() const { return _data.size() - _pos; }
    bool overrun() const { return _overrun; }

private:
    bool take(std::size_t n) {
        if (_overrun || n > _data.size() - _pos) {
            _overrun = true;
            return false;
        }
        _pos += n;
        return true;
    }

    std::span<const std::uint8_t> _data;
    std::size_t _pos = 0;
    bool _overrun = false;
};

class byte_writer {
public:
    explicit byte_writer(std::span<std::uint8_t> out) : _out(out) {}

    void u8(std::uint8_t v) {
        if (auto* p = take(1)) {
            p[0] = v;
        }
    }
    void u16(std::uint16_t v) {
        if (auto* p = take(2)) {
            p[0] = static_cast<std::uint8_t>(v >> 8);
            p[1] = static_cast<std::uint8_t>(v);
        }
    }
    void u32(std::uint32_t v) {
        if (auto* p = take(4)) {
            p[0] = static_cast<std::uint8_t>(v >> 24);
            p[1] = static_cast<std::uint8_t>(v >> 16);
            p[2] = static_cast<std::uint8_t>(v >> 8);
            p[3] = static_cast<std::uint8_t>(v);
        }
    }
    void u64(std::uint64_t v) {
        u32(static_cast<std::uint32_t>(v >> 32));
        u32(static_cast<std::uint32_t>(v));
    }
    void bytes(std::span<const std::uint8_t> data) {
        if (auto* p = take(data.size()); p != nullptr && !data.empty()) {
            std::memcpy(p, data.data(), data.size());
        }
    }
    void zeros(std::size_t n) {
        if (auto* p = take(n); p != nullptr && n != 0) {
            std::memset(p, 0, n);
        }
    }

    std::size_t position() const { return _pos; }
    bool overrun() const { return _overrun; }

private:
    std::uint8_t* take(std::size_t n) {
        if (_overrun || n > _out.size() - _pos) {
            _overrun = true;
            return nullptr;
        }
        _pos += n;
        return _out.data() + _pos - n;
    }

    std::span<std::uint8_t> _out;
    std::size_t _pos = 0;
    bool _overrun = false;
};

} // namespace skycast::protocol
