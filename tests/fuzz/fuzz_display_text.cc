// libFuzzer target: protocol::display_text(), which every piece of wire text
// (file names, ABORT reasons) goes through before it reaches JSON, a log or a
// terminal. The input is the raw bytes as a peer would send them.
// Properties: the output is valid UTF-8 (is_valid_utf8, and a strict
// nlohmann::json dump does not throw); it holds no C0 control, DEL or C1
// control; text that is valid UTF-8 without controls or backslashes comes out
// unchanged; undoing the escapes gives the input back (the output is
// unambiguous); is_valid_utf8 agrees with a decoder written differently here.
#include "protocol/display_text.h"
#include "tests/fuzz/fuzz_support.h"

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace {

// A reference UTF-8 decoder that computes code points and checks their
// ranges, where the library checks byte ranges (Unicode table 3-7). Sets
// `has_control` when it decodes a C0, DEL or C1 control.
bool reference_valid_utf8(std::string_view s, bool& has_control) {
    has_control = false;
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        std::uint32_t cp = 0;
        std::uint32_t min = 0;
        if (b < 0x80) {
            n = 1;
            cp = b;
        } else if ((b & 0xE0) == 0xC0) {
            n = 2;
            cp = b & 0x1Fu;
            min = 0x80;
        } else if ((b & 0xF0) == 0xE0) {
            n = 3;
            cp = b & 0x0Fu;
            min = 0x800;
        } else if ((b & 0xF8) == 0xF0) {
            n = 4;
            cp = b & 0x07u;
            min = 0x10000;
        } else {
            return false;
        }
        if (s.size() - i < n) {
            return false;
        }
        for (std::size_t k = 1; k < n; ++k) {
            const auto c = static_cast<unsigned char>(s[i + k]);
            if ((c & 0xC0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (c & 0x3Fu);
        }
        if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
            return false;
        }
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
            has_control = true;
        }
        i += n;
    }
    return true;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1; // lowercase is not what display_text writes
}

// Undoes display_text's escapes; false if `shown` holds a backslash that
// starts neither \\ nor \xNN.
bool unescape(std::string_view shown, std::string& out) {
    for (std::size_t i = 0; i < shown.size(); ++i) {
        if (shown[i] != '\\') {
            out += shown[i];
            continue;
        }
        if (i + 1 < shown.size() && shown[i + 1] == '\\') {
            out += '\\';
            i += 1;
            continue;
        }
        if (i + 3 >= shown.size() || shown[i + 1] != 'x') {
            return false;
        }
        const int hi = hex_value(shown[i + 2]);
        const int lo = hex_value(shown[i + 3]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out += static_cast<char>(hi * 16 + lo);
        i += 3;
    }
    return true;
}

bool json_dump_succeeds(const std::string& text) {
    try {
        // Strict: the default error handler throws type_error.316 on invalid UTF-8.
        (void)nlohmann::json{{"k", text}}.dump();
        return true;
    } catch (const nlohmann::json::exception&) {
        return false;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using skycast::protocol::display_text;
    using skycast::protocol::is_valid_utf8;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::string shown = display_text(input);

    SKYCAST_FUZZ_CHECK(is_valid_utf8(shown));
    SKYCAST_FUZZ_CHECK(json_dump_succeeds(shown));
    bool shown_has_control = true;
    SKYCAST_FUZZ_CHECK(reference_valid_utf8(shown, shown_has_control));
    SKYCAST_FUZZ_CHECK(!shown_has_control); // no C0, DEL nor C1 control
    for (const char c : shown) {
        const auto b = static_cast<unsigned char>(c);
        SKYCAST_FUZZ_CHECK(b >= 0x20 && b != 0x7F);
    }

    bool input_has_control = false;
    const bool input_valid = reference_valid_utf8(input, input_has_control);
    SKYCAST_FUZZ_CHECK(is_valid_utf8(input) == input_valid);
    if (input_valid && !input_has_control && input.find('\\') == std::string_view::npos) {
        SKYCAST_FUZZ_CHECK(shown == input);
    }

    std::string recovered;
    SKYCAST_FUZZ_CHECK(unescape(shown, recovered));
    SKYCAST_FUZZ_CHECK(recovered == input);
    return 0;
}
