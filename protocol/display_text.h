#pragma once
// Text from the wire made safe to show: file names, ABORT reasons and any
// other bytes a peer sends as text.
//
// Why: wire text is hostile or at least foreign. UFTP carries names and
// reasons as raw bytes; a stock sender sends whatever its file system holds
// (a Latin-1 "caf\xe9.bin"), a hostile one anything. nlohmann::json throws
// (type_error.316) when it dumps a string that is not valid UTF-8, and a
// terminal obeys the escape sequences (ESC [ ..., 8-bit CSI) embedded in what
// it prints. So everything that puts wire text into JSON, a log line or the
// operator's terminal passes it through display_text() first: the result is
// always valid UTF-8 and inert.
//
// The rule, in one pass over the bytes:
//   - a well-formed UTF-8 sequence (Unicode table 3-7: no overlongs, no
//     surrogates U+D800..U+DFFF, nothing above U+10FFFF) is copied unchanged,
//     unless it is a control character: C0 (0x00..0x1F), DEL (0x7F) and C1
//     (U+0080..U+009F, encoded as C2 80..C2 9F) have each of their bytes
//     written as \xNN;
//   - every byte that is not part of a well-formed sequence (invalid lead
//     byte, stray continuation byte, truncated sequence, overlong, surrogate,
//     beyond U+10FFFF) is written as \xNN;
//   - a backslash is written as \\ .
// NN is two uppercase hex digits. Every escape stands for exactly one input
// byte and a backslash never appears unescaped, so the result is unambiguous:
// replacing each \xNN by the byte NN and each \\ by \ gives the input back.
// Valid UTF-8 text without controls or backslashes comes out byte for byte
// as it went in (the common case costs one scan and one copy).

#include <string>
#include <string_view>

namespace skycast::protocol {

// `bytes` as valid UTF-8 without control characters, by the rule above.
std::string display_text(std::string_view bytes);

// Whether `bytes` is well-formed UTF-8 (Unicode table 3-7, as above).
// Controls are valid UTF-8: this says nothing about being inert.
bool is_valid_utf8(std::string_view bytes) noexcept;

} // namespace skycast::protocol
