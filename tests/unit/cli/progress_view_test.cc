// control/cli/progress_view: bars at several widths, the percent, rate and
// ETA arithmetic, unknown values, the plain lines scripts grep, the
// terminal redraw sequences, and text from the wire made displayable.
#include "control/cli/progress_view.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <string>

namespace skycast::cli {
namespace {

using json = nlohmann::json;

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

// A progress event as node.cc sends it: two receivers of a 10 MB session.
json sender_event(double elapsed, std::uint64_t sent, std::uint64_t known_a, std::uint64_t known_b,
                  const std::string& outcome_b = "active") {
    return {{"event", "progress"},
            {"phase", "data"},
            {"receivers_active", outcome_b == "active" ? 2 : 1},
            {"receivers",
             {{{"uid", "0x0A4D000B"},
               {"bytes_known", known_a},
               {"percent", 0},
               {"outcome", "active"},
               {"pass", 1}},
              {{"uid", "0x0A4D000C"},
               {"bytes_known", known_b},
               {"percent", 0},
               {"outcome", outcome_b},
               {"pass", 1}}}},
            {"passes", 1},
            {"bytes_sent", sent},
            {"grtt", 0.5},
            {"files", 3},
            {"file_number", 2},
            {"pass", 1},
            {"bytes_total", 10'000'000},
            {"elapsed", elapsed}};
}

// --- Formats and arithmetic --------------------------------------------------------

TEST(progress_format, percent_rate_eta_and_bytes) {
    EXPECT_EQ(format_percent(42.0), "42.0%");
    EXPECT_EQ(format_percent(99.96), "100.0%");
    EXPECT_EQ(format_percent(150.0), "100.0%");
    EXPECT_EQ(format_percent(std::nullopt), "--");
    EXPECT_EQ(format_rate(14'787'500.0), "118.3 Mbit/s"); // bytes/s
    EXPECT_EQ(format_rate(100'000.0), "800.0 kbit/s");
    EXPECT_EQ(format_rate(156'250'000.0), "1.25 Gbit/s");
    EXPECT_EQ(format_rate(std::nullopt), "--");
    EXPECT_EQ(format_rate(-1.0), "--");
    EXPECT_EQ(format_eta(12.0), "0:12");
    EXPECT_EQ(format_eta(11.2), "0:12"); // rounded up: never "0:00" while bytes remain
    EXPECT_EQ(format_eta(725.0), "12:05");
    EXPECT_EQ(format_eta(3723.0), "1:02:03");
    EXPECT_EQ(format_eta(0.0), "0:00");
    EXPECT_EQ(format_eta(101.0 * 3600), "--");
    EXPECT_EQ(format_eta(std::nullopt), "--");
    EXPECT_EQ(format_bytes(512), "512 B");
    EXPECT_EQ(format_bytes(1536), "1.5 KiB");
    EXPECT_EQ(format_bytes(12'897'485), "12.3 MiB");
    EXPECT_EQ(format_bytes(4ull << 30), "4.00 GiB");
}

TEST(progress_format, eta_from_remaining_bytes_and_rate) {
    EXPECT_EQ(eta_seconds(1000.0, 100.0), 10.0);
    EXPECT_EQ(eta_seconds(0.0, std::nullopt), 0.0); // nothing left: done, rate or not
    EXPECT_EQ(eta_seconds(1000.0, 0.0), std::nullopt);
    EXPECT_EQ(eta_seconds(1000.0, std::nullopt), std::nullopt);
}

TEST(rate_meter, average_first_then_steps_smoothed_by_time) {
    rate_meter m;
    EXPECT_EQ(m.rate(), std::nullopt);
    m.sample(4.0, 1000.0); // one read: the average since the start
    EXPECT_DOUBLE_EQ(*m.rate(), 250.0);
    m.sample(5.0, 2000.0); // the first step replaces it
    EXPECT_DOUBLE_EQ(*m.rate(), 1000.0);
    m.sample(5.0, 9000.0); // not later: the node had not counted again
    EXPECT_DOUBLE_EQ(*m.rate(), 1000.0);
    m.sample(6.0, 5000.0); // a step of 3000/s, weighted 1 - e^(-1/3)
    const double alpha = 1.0 - std::exp(-1.0 / rate_meter::time_constant_s);
    EXPECT_NEAR(*m.rate(), 1000.0 + alpha * 2000.0, 1e-9);
    rate_meter back;
    back.sample(1.0, 0.0);
    back.sample(2.0, 500.0);
    back.sample(3.0, 400.0); // a STATUS took bytes back: a step of 0, never negative
    EXPECT_NEAR(*back.rate(), 500.0 * (1.0 - alpha), 1e-9);
    EXPECT_GE(*back.rate(), 0.0);
    rate_meter start;
    start.sample(0.0, 0.0); // no time yet: nothing to say
    EXPECT_EQ(start.rate(), std::nullopt);
}

TEST(progress_format, fit_columns_cuts_at_characters_counting_non_ascii_as_wide) {
    EXPECT_EQ(fit_columns("abcdef", 4), "abcd");
    EXPECT_EQ(fit_columns("abc", 10), "abc");
    // "é" (2 bytes) counts two columns; never cut inside it.
    EXPECT_EQ(fit_columns("a\xC3\xA9z", 2), "a");
    EXPECT_EQ(fit_columns("a\xC3\xA9z", 3), "a\xC3\xA9");
    EXPECT_EQ(fit_columns("\xE2\x82\xAC\xE2\x82\xAC", 3), "\xE2\x82\xAC");
}

// --- Bars ---------------------------------------------------------------------------

TEST(render_bar, the_bar_takes_what_the_width_leaves_between_10_and_50) {
    const bar_row row{.label = "0x0A4D000B",
                      .fraction = 0.42,
                      .rate = 14'787'500.0,
                      .eta = 12.0,
                      .tail = "pass 2  active"};
    // 80 columns: 80 - 1 - 50 fixed - 18 kept for the tail = a bar of 11.
    EXPECT_EQ(render_bar(row, 80, 10),
              "0x0A4D000B [####.......]   42.0%  118.3 Mbit/s  ETA 0:12     pass 2  active");
    // 120 columns: a bar of 50 at most, 21 of it filled (42 %, rounded down).
    const std::string wide = render_bar(row, 120, 10);
    EXPECT_NE(wide.find("[" + std::string(21, '#') + std::string(29, '.') + "]"), std::string::npos)
        << wide;
    EXPECT_LE(wide.size(), 119u);
    // 100 columns: 31.
    const std::string mid = render_bar(row, 100, 10);
    EXPECT_NE(mid.find("[" + std::string(13, '#') + std::string(18, '.') + "]"), std::string::npos)
        << mid;
    // 40 columns: the bar keeps 10 and the line is cut at 39 columns.
    const std::string narrow = render_bar(row, 40, 10);
    EXPECT_EQ(narrow, "0x0A4D000B [####......]   42.0%  118.3");
    EXPECT_EQ(narrow.size(), 38u); // 39 columns, the last a space: dropped
    // A wider label column pads the label: the bars of a block line up.
    EXPECT_EQ(render_bar(row, 80, 12).substr(0, 14), "0x0A4D000B   [");
}

TEST(render_bar, unknown_values_show_as_dashes_and_an_empty_bar) {
    const bar_row row{.label = "0x0A4D000B", .tail = "pass -  active"};
    EXPECT_EQ(render_bar(row, 80, 10),
              "0x0A4D000B [...........]      --            --  ETA --       pass -  active");
    const bar_row full{.label = "x", .fraction = 1.0, .eta = 0.0, .tail = "done"};
    EXPECT_NE(render_bar(full, 80, 10).find("[###########]  100.0%"), std::string::npos);
}

// --- The sender's view ----------------------------------------------------------------

TEST(progress_view, plain_lines_per_sample_and_receiver_lines_only_on_change) {
    progress_view view(view_mode::plain, 80);
    // First sample at 2 s: the rates are averages since the start.
    EXPECT_EQ(view.sender(sender_event(2.0, 2'000'000, 2'000'000, 1'000'000), 0),
              "progress phase=data pass=1 sent=2000000 percent=10.0 rate_mbps=8.0 eta_s=9 "
              "receivers=2\n"
              "receiver uid=0x0A4D000B pass=1 percent=20.0 state=active\n"
              "receiver uid=0x0A4D000C pass=1 percent=10.0 state=active\n");
    // A second later: 4 MB sent (a step of 2 MB/s = 16 Mbit/s); the slowest
    // receiver holds 3 MB: 7 MB left at 2 MB/s = 3.5 s, shown as 4.
    EXPECT_EQ(view.sender(sender_event(3.0, 4'000'000, 4'000'000, 3'000'000), 0),
              "progress phase=data pass=1 sent=4000000 percent=30.0 rate_mbps=16.0 eta_s=4 "
              "receivers=2\n");
    // Receiver C is lost: one line for it, and the session follows B alone.
    const std::string lost = view.sender(
        sender_event(4.0, 6'000'000, 6'000'000, 3'000'000, "lost (stopped answering)"), 0);
    EXPECT_NE(lost.find("percent=60.0"), std::string::npos) << lost;
    EXPECT_NE(lost.find("receivers=1\n"), std::string::npos) << lost;
    EXPECT_NE(lost.find("receiver uid=0x0A4D000C pass=1 percent=30.0 "
                        "state=lost_(stopped_answering)\n"),
              std::string::npos)
        << lost;
    EXPECT_EQ(count_of(lost, "receiver uid="), 1u);
}

TEST(progress_view, a_completed_session_is_at_100_percent_with_nothing_left) {
    progress_view view(view_mode::plain, 80);
    auto doc = sender_event(9.0, 10'000'000, 10'000'000, 10'000'000, "completed");
    doc["receivers"][0]["outcome"] = "completed";
    doc["phase"] = "completion";
    doc["receivers_active"] = 0;
    const std::string out = view.sender(doc, 0);
    EXPECT_EQ(out.substr(0, out.find('\n')),
              "progress phase=completion pass=1 sent=10000000 percent=100.0 rate_mbps=8.9 "
              "eta_s=0 receivers=0");
}

TEST(progress_view, unknown_members_are_dashes_and_an_old_nodes_count_is_read) {
    progress_view view(view_mode::plain, 80);
    // What a node before per-receiver progress sent: "receivers" a count,
    // no totals, no elapsed time.
    const json old{{"event", "progress"},
                   {"phase", "announce"},
                   {"receivers", 3},
                   {"passes", 0},
                   {"bytes_sent", 0}};
    EXPECT_EQ(view.sender(old, 0.0),
              "progress phase=announce pass=-- sent=0 percent=-- rate_mbps=-- eta_s=-- "
              "receivers=3\n");
    progress_view empty(view_mode::plain, 80);
    EXPECT_EQ(empty.sender(json::object(), 1.0),
              "progress phase=-- pass=-- sent=-- percent=-- rate_mbps=-- eta_s=-- "
              "receivers=--\n");
}

TEST(progress_view, terminal_mode_redraws_the_block_in_place) {
    progress_view view(view_mode::terminal, 80);
    const std::string first = view.sender(sender_event(2.0, 2'000'000, 2'000'000, 1'000'000), 0);
    // Cursor hidden, no move up the first time, three erased lines.
    EXPECT_EQ(first.rfind("\x1b[?25l", 0), 0u);
    EXPECT_EQ(first.find("\x1b[3A"), std::string::npos);
    EXPECT_EQ(count_of(first, "\r\x1b[2K"), 3u);
    EXPECT_NE(first.find("\r\x1b[2K0:02  data  file 2/3  pass 1  1.9 MiB of 9.5 MiB  "
                         "8.0 Mbit/s  2 receivers\n"),
              std::string::npos)
        << first;
    EXPECT_NE(first.find("0x0A4D000B [##.........]   20.0%    8.0 Mbit/s  ETA 0:08     "
                         "pass 1  active\n"),
              std::string::npos)
        << first;
    // Every line fits in 79 columns.
    std::size_t start = 0;
    for (auto nl = first.find('\n'); nl != std::string::npos; nl = first.find('\n', start)) {
        const std::string line = first.substr(start, nl - start);
        const auto erase = line.find("\x1b[2K");
        ASSERT_NE(erase, std::string::npos) << line;
        EXPECT_LE(line.size() - erase - 4, 79u) << line;
        start = nl + 1;
    }
    // The next sample goes back up three lines and does not hide the cursor again.
    const std::string second = view.sender(sender_event(3.0, 4'000'000, 4'000'000, 3'000'000), 0);
    EXPECT_EQ(second.rfind("\x1b[3A", 0), 0u);
    EXPECT_EQ(second.find("\x1b[?25l"), std::string::npos);
    EXPECT_EQ(second.find("\x1b[J"), std::string::npos);
    // A shorter block (one line) erases what is left of the longer one.
    const std::string shorter = view.message("no session running");
    EXPECT_EQ(shorter, "\x1b[3A\r\x1b[2Kno session running\n\x1b[J");
    // Released: the cursor is back, and the next block starts below.
    EXPECT_EQ(view.release(), "\x1b[?25h");
    const std::string after = view.message("x");
    EXPECT_EQ(after, "\x1b[?25l\r\x1b[2Kx\n");
}

TEST(progress_view, text_from_the_wire_reaches_the_terminal_inert) {
    // An outcome and a uid with escape sequences and a newline (a hostile
    // peer's, relayed by a node): escaped, never obeyed, never a new line.
    auto doc = sender_event(2.0, 1000, 1000, 1000);
    doc["receivers"][0]["uid"] = "0x1\x1b]0;pwned\x07";
    doc["receivers"][1]["outcome"] = "aborted\x1b[2J\nby \x9b"
                                     "31m";
    doc["phase"] = "data\r\x1b[1A";
    for (const auto mode : {view_mode::plain, view_mode::terminal}) {
        progress_view view(mode, 200); // wide enough that no line is cut
        const std::string out = view.sender(doc, 0);
        std::string stripped = out;
        // Take away the view's own sequences; no other ESC, CSI or CR may remain.
        for (const std::string own : {"\x1b[?25l", "\r\x1b[2K"}) {
            for (auto at = stripped.find(own); at != std::string::npos; at = stripped.find(own)) {
                stripped.erase(at, own.size());
            }
        }
        EXPECT_EQ(stripped.find('\x1b'), std::string::npos) << out;
        EXPECT_EQ(stripped.find('\r'), std::string::npos) << out;
        EXPECT_EQ(stripped.find("\xC2\x9B"), std::string::npos) << out;
        EXPECT_NE(out.find("\\x1B]0;pwned\\x07"), std::string::npos) << out;
        EXPECT_NE(out.find("\\x0Aby"), std::string::npos) << out;
        // Plain: 1 sample line + 2 receiver lines; terminal: header + 2 bars.
        EXPECT_EQ(count_of(out, "\n"), 3u) << out;
    }
}

// --- A receiver node's sessions ---------------------------------------------------------

json receiver_sessions(double at, std::uint64_t file_received, std::uint64_t file_id = 3,
                       const std::string& name = "data/big.bin") {
    return json::array({{{"session", "0x5A3F0001"},
                         {"server", "0x0A4D0001"},
                         {"state", "receiving"},
                         {"files", 3},
                         {"files_done", 2},
                         {"bytes_done", 1000},
                         {"bytes_received", 1000 + file_received},
                         {"bytes_received_at", at},
                         {"elapsed", at + 0.4},
                         {"current_file",
                          {{"id", file_id},
                           {"name", name},
                           {"bytes", 8'000'000},
                           {"bytes_received", file_received}}}}});
}

TEST(progress_view, receiver_sessions_in_plain_lines) {
    progress_view view(view_mode::plain, 80);
    // 4 MB of the file at 2 s (plus 1000 bytes before): 2,000,500 B/s.
    EXPECT_EQ(view.receiver_sessions(receiver_sessions(2.0, 4'000'000), 0),
              "file session=0x5A3F0001 id=3 bytes=8000000 name=data/big.bin\n"
              "progress session=0x5A3F0001 server=0x0A4D0001 state=receiving file_id=3 "
              "files_done=2 received=4001000 percent=50.0 rate_mbps=16.0 eta_s=2\n");
    // The node had not counted again (same bytes_received_at): the rate stands.
    EXPECT_EQ(view.receiver_sessions(receiver_sessions(2.0, 4'000'000), 5),
              "progress session=0x5A3F0001 server=0x0A4D0001 state=receiving file_id=3 "
              "files_done=2 received=4001000 percent=50.0 rate_mbps=16.0 eta_s=2\n");
    // Counted a second later: 2 MB more, 2 MB left at 2 MB/s.
    EXPECT_EQ(view.receiver_sessions(receiver_sessions(3.0, 6'000'000), 0),
              "progress session=0x5A3F0001 server=0x0A4D0001 state=receiving file_id=3 "
              "files_done=2 received=6001000 percent=75.0 rate_mbps=16.0 eta_s=1\n");
    EXPECT_EQ(view.receiver_sessions(json::array(), 0), "no session running\n");
}

TEST(progress_view, receiver_sessions_as_bars_with_hostile_names_escaped) {
    progress_view view(view_mode::terminal, 140);
    const std::string out =
        view.receiver_sessions(receiver_sessions(2.0, 4'000'000, 4, "caf\xE9\x1b[2J.bin"), 0);
    EXPECT_NE(out.find("1 session running\n"), std::string::npos) << out;
    EXPECT_NE(out.find("0x0A4D0001 0x5A3F0001 ["), std::string::npos) << out;
    EXPECT_NE(out.find("50.0%   16.0 Mbit/s  ETA 0:02     file 4 caf\\xE9\\x1B[2J.bin"),
              std::string::npos)
        << out;
    EXPECT_EQ(count_of(out, "\x1b[2J"), 0u);
    // Between files: the state and the files done, no bar figures.
    auto between = receiver_sessions(3.0, 0);
    between[0].erase("current_file");
    between[0]["state"] = "between_files";
    const std::string idle = view.receiver_sessions(between, 0);
    EXPECT_NE(idle.find("      --  "), std::string::npos) << idle; // no percent
    EXPECT_NE(idle.find("ETA --       between_files, 2 files done"), std::string::npos) << idle;
}

} // namespace
} // namespace skycast::cli
