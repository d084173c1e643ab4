// display_text(): wire bytes made valid, inert UTF-8 (protocol/display_text.h).

#include "protocol/display_text.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace skycast::protocol {
namespace {

using namespace std::string_literals;

struct text_case {
    std::string input;
    std::string shown;
};

// Inputs as a peer may send them, with what an operator must see.
const std::vector<text_case>& cases() {
    static const std::vector<text_case> all = {
        {"", ""},
        {"report-2024.tar.gz", "report-2024.tar.gz"},
        {"caf\xC3\xA9.bin", "caf\xC3\xA9.bin"},                             // "café" in UTF-8
        {"\xE2\x82\xAC \xF0\x9F\x98\x80", "\xE2\x82\xAC \xF0\x9F\x98\x80"}, // € and an emoji
        {"\xEF\xBF\xBD\xF4\x8F\xBF\xBF", "\xEF\xBF\xBD\xF4\x8F\xBF\xBF"},   // U+FFFD, U+10FFFF
        {"caf\xE9.bin", "caf\\xE9.bin"},                                    // Latin-1 "café"
        {"\xFF", "\\xFF"},
        {"\xC0\xAF", "\\xC0\\xAF"},                   // overlong '/'
        {"\xE0\x80\xAF", "\\xE0\\x80\\xAF"},          // overlong '/', 3 bytes
        {"\xED\xA0\x80", "\\xED\\xA0\\x80"},          // surrogate U+D800
        {"\xF4\x90\x80\x80", "\\xF4\\x90\\x80\\x80"}, // U+110000
        {"\xE2\x82", "\\xE2\\x82"},                   // truncated
        {"\xE2\x82x", "\\xE2\\x82x"},                 // truncated mid-text
        {"\x80"
         "abc",
         "\\x80abc"},                              // stray continuation byte
        {"\xE2\xE2\x82\xAC", "\\xE2\xE2\x82\xAC"}, // valid right after broken
        {"\x1B[31mred", "\\x1B[31mred"},           // terminal escape
        {"a\nb\tc\rd\x7F", "a\\x0Ab\\x09c\\x0Dd\\x7F"},
        {"\xC2\x9B"
         "31m",
         "\\xC2\\x9B31m"},                          // C1 CSI (U+009B)
        {"\xC2\x85\xC2\xA0", "\\xC2\\x85\xC2\xA0"}, // C1 NEL; U+00A0 is no control
        {"C:\\dir\\f", "C:\\\\dir\\\\f"},           // backslash
        {"\\xE9", "\\\\xE9"},                       // text that looks like an escape
        {"a\0b"s, "a\\x00b"},                       // embedded NUL
    };
    return all;
}

TEST(display_text, shows_each_case_as_expected) {
    for (const auto& c : cases()) {
        EXPECT_EQ(display_text(c.input), c.shown) << "input " << ::testing::PrintToString(c.input);
    }
}

TEST(display_text, output_is_valid_utf8_without_controls) {
    for (const auto& c : cases()) {
        const std::string shown = display_text(c.input);
        EXPECT_TRUE(is_valid_utf8(shown)) << ::testing::PrintToString(c.input);
        for (const char ch : shown) {
            const auto b = static_cast<unsigned char>(ch);
            EXPECT_TRUE(b >= 0x20 && b != 0x7F) << ::testing::PrintToString(c.input);
        }
    }
}

// The bug this exists for: nlohmann::json throws type_error.316 when it dumps
// invalid UTF-8, which killed the control process.
TEST(display_text, strict_json_dump_never_throws) {
    for (const auto& c : cases()) {
        const std::string shown = display_text(c.input);
        std::string dumped;
        EXPECT_NO_THROW((dumped = nlohmann::json{{"k", shown}}.dump()))
            << ::testing::PrintToString(c.input);
        // And the text survives the JSON round trip unchanged.
        EXPECT_EQ(nlohmann::json::parse(dumped).at("k").get<std::string>(), shown);
    }
    const nlohmann::json latin1 = {{"k", "caf\xE9.bin"}};
    EXPECT_THROW((void)latin1.dump(), nlohmann::json::type_error);
}

TEST(display_text, is_valid_utf8_follows_unicode_table_3_7) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("ascii \x1B\x7F"s + '\0')); // controls are valid UTF-8
    EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9"));
    EXPECT_TRUE(is_valid_utf8("\xC2\x80\xDF\xBF"));                 // U+0080, U+07FF
    EXPECT_TRUE(is_valid_utf8("\xE0\xA0\x80\xED\x9F\xBF"));         // U+0800, U+D7FF
    EXPECT_TRUE(is_valid_utf8("\xEE\x80\x80\xEF\xBF\xBF"));         // U+E000, U+FFFF
    EXPECT_TRUE(is_valid_utf8("\xF0\x90\x80\x80\xF4\x8F\xBF\xBF")); // U+10000, U+10FFFF
    for (const std::string_view bad :
         {"caf\xE9", "\xFF", "\xFE", "\x80", "\xBF", "\xC0\xAF", "\xC1\xBF", "\xE0\x9F\xBF",
          "\xF0\x8F\xBF\xBF", "\xED\xA0\x80", "\xED\xBF\xBF", "\xF4\x90\x80\x80",
          "\xF5\x80\x80\x80", "\xE2\x82", "\xF0\x9F\x98", "\xC3", "\xC3\x28"}) {
        EXPECT_FALSE(is_valid_utf8(bad)) << ::testing::PrintToString(std::string(bad));
    }
}

// Every escape stands for one input byte: undoing them gives the input back.
TEST(display_text, escapes_are_reversible) {
    const auto unescape = [](std::string_view shown) {
        std::string out;
        for (std::size_t i = 0; i < shown.size(); ++i) {
            if (shown[i] != '\\') {
                out += shown[i];
            } else if (shown[i + 1] == '\\') {
                out += '\\';
                ++i;
            } else {
                out +=
                    static_cast<char>(std::stoi(std::string(shown.substr(i + 2, 2)), nullptr, 16));
                i += 3;
            }
        }
        return out;
    };
    for (const auto& c : cases()) {
        EXPECT_EQ(unescape(display_text(c.input)), c.input) << ::testing::PrintToString(c.input);
    }
    std::string every_byte;
    for (int b = 0; b < 256; ++b) {
        every_byte += static_cast<char>(b);
    }
    const std::string shown = display_text(every_byte);
    EXPECT_TRUE(is_valid_utf8(shown));
    EXPECT_EQ(unescape(shown), every_byte);
}

} // namespace
} // namespace skycast::protocol
