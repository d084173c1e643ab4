#include "protocol/display_text.h"

#include <cstddef>

namespace skycast::protocol {
namespace {

// Length of the well-formed UTF-8 sequence that starts at bytes[i], 0 if none
// does (Unicode table 3-7). bytes[i] is not ASCII.
std::size_t sequence_length(std::string_view bytes, std::size_t i) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data()) + i;
    const std::size_t left = bytes.size() - i;
    // The allowed range of the second byte depends on the lead byte: it is
    // what rules out overlongs (E0, F0), surrogates (ED) and code points
    // beyond U+10FFFF (F4). C0, C1 and F5..FF never lead a sequence.
    unsigned second_min = 0x80;
    unsigned second_max = 0xBF;
    std::size_t n = 0;
    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        n = 2;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        n = 3;
        second_min = p[0] == 0xE0 ? 0xA0 : 0x80;
        second_max = p[0] == 0xED ? 0x9F : 0xBF;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        n = 4;
        second_min = p[0] == 0xF0 ? 0x90 : 0x80;
        second_max = p[0] == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (left < n || p[1] < second_min || p[1] > second_max) {
        return 0;
    }
    for (std::size_t k = 2; k < n; ++k) {
        if ((p[k] & 0xC0) != 0x80) {
            return 0;
        }
    }
    return n;
}

void append_escaped_byte(std::string& out, unsigned char b) {
    static constexpr char digits[] = "0123456789ABCDEF";
    const char escaped[4] = {'\\', 'x', digits[b >> 4], digits[b & 0x0F]};
    out.append(escaped, sizeof escaped);
}

} // namespace

std::string display_text(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    // Bytes that pass through unchanged are copied in runs: [run, i).
    std::size_t run = 0;
    std::size_t i = 0;
    while (i < bytes.size()) {
        const auto b = static_cast<unsigned char>(bytes[i]);
        if (b >= 0x20 && b < 0x7F && b != '\\') {
            ++i;
            continue;
        }
        std::size_t n = 1;
        if (b >= 0x80) {
            n = sequence_length(bytes, i);
            // C2 80..C2 9F is U+0080..U+009F: C1 controls (0x9B is an 8-bit CSI).
            const bool c1 = n == 2 && b == 0xC2 && static_cast<unsigned char>(bytes[i + 1]) < 0xA0;
            if (n != 0 && !c1) {
                i += n;
                continue;
            }
            // An invalid byte is escaped alone: what follows it is looked at
            // afresh, so a valid sequence right after a broken one survives.
            n = n == 0 ? 1 : n;
        }
        out.append(bytes.substr(run, i - run));
        if (b == '\\') {
            out.append("\\\\");
        } else {
            for (std::size_t k = 0; k < n; ++k) {
                append_escaped_byte(out, static_cast<unsigned char>(bytes[i + k]));
            }
        }
        i += n;
        run = i;
    }
    out.append(bytes.substr(run));
    return out;
}

bool is_valid_utf8(std::string_view bytes) noexcept {
    std::size_t i = 0;
    while (i < bytes.size()) {
        if (static_cast<unsigned char>(bytes[i]) < 0x80) {
            ++i;
            continue;
        }
        const std::size_t n = sequence_length(bytes, i);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

} // namespace skycast::protocol
