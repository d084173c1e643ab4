#include "control/cli/progress_view.h"

#include "control/cli/node_client.h"
#include "control/cli/terminal.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

namespace skycast::cli {
namespace {

using json = nlohmann::json;

// Bar characters, narrowest and widest: under 10 a bar says nothing, over
// 50 it only pushes the figures away from the names.
constexpr int bar_min = 10;
constexpr int bar_max = 50;
// Columns kept for a bar line's tail ("pass 2  completed") when sizing the
// bar, so that the bars of one block line up whatever their tails.
constexpr int tail_reserve = 18;
// A label wider than this is cut (a receiver node's "server session").
constexpr std::size_t label_max = 24;
// An ETA beyond this says nothing useful: "--".
constexpr double eta_max_s = 100.0 * 3600;

std::string printf_string(const char* format, auto... args) {
    char buf[128];
    const int n = std::snprintf(buf, sizeof buf, format, args...);
    return n < 0 ? std::string() : std::string(buf, std::min<std::size_t>(n, sizeof buf - 1));
}

// A member that is a non-negative integer, or nothing.
std::optional<std::uint64_t> optional_count(const json& obj, std::string_view key) {
    const auto& v = member(obj, key);
    if (v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0)) {
        return count_member(obj, key);
    }
    return std::nullopt;
}

std::optional<double> optional_number(const json& obj, std::string_view key) {
    const auto& v = member(obj, key);
    if (v.is_number()) {
        const double d = v.get<double>();
        if (std::isfinite(d)) {
            return d;
        }
    }
    return std::nullopt;
}

// A value inside a plain `key=value` line: no spaces (it would split), and
// `--` when empty. The text is displayable already (text_member).
std::string token(std::string text) {
    if (text.empty()) {
        return "--";
    }
    std::replace(text.begin(), text.end(), ' ', '_');
    return text;
}

std::string count_or_unknown(std::optional<std::uint64_t> v) {
    return v ? std::to_string(*v) : std::string("--");
}

std::string plain_percent(std::optional<double> fraction) {
    return fraction ? printf_string("%.1f", std::clamp(*fraction * 100.0, 0.0, 100.0))
                    : std::string("--");
}

std::string plain_rate(std::optional<double> bytes_per_second) {
    return bytes_per_second ? printf_string("%.1f", *bytes_per_second * 8.0 / 1e6)
                            : std::string("--");
}

std::string plain_eta(std::optional<double> seconds) {
    if (!seconds || !std::isfinite(*seconds) || *seconds > eta_max_s) {
        return "--";
    }
    return printf_string("%.0f", std::ceil(std::max(0.0, *seconds)));
}

// The UTF-8 character that starts at text[i]: its length in bytes by its
// lead byte, and the columns it takes (non-ASCII counted as 2, the widest,
// so a line never overflows the terminal).
struct utf8_char {
    std::size_t bytes;
    std::size_t columns;
};
utf8_char char_at(std::string_view text, std::size_t i) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t len = 1;
    if (c >= 0xF0 && c <= 0xF7) {
        len = 4;
    } else if (c >= 0xE0) {
        len = c <= 0xEF ? 3 : 1;
    } else if (c >= 0xC0) {
        len = 2;
    }
    return {len, c < 0x80 ? std::size_t{1} : std::size_t{2}};
}

std::size_t columns_of(std::string_view text) {
    std::size_t cols = 0;
    for (std::size_t i = 0; i < text.size();) {
        const utf8_char ch = char_at(text, i);
        cols += ch.columns;
        i += ch.bytes;
    }
    return cols;
}

std::string pad_right(std::string text, std::size_t columns) {
    const std::size_t have = columns_of(text);
    if (have < columns) {
        text.append(columns - have, ' ');
    }
    return text;
}

std::string pad_left(const std::string& text, std::size_t columns) {
    const std::size_t have = columns_of(text);
    return have < columns ? std::string(columns - have, ' ') + text : text;
}

std::string rstrip(std::string text) {
    while (!text.empty() && text.back() == ' ') {
        text.pop_back();
    }
    return text;
}

} // namespace

// --- Rates and formats -------------------------------------------------------------

void rate_meter::sample(double t, double value) {
    if (!std::isfinite(t) || !std::isfinite(value) || (_samples > 0 && t <= _t)) {
        return;
    }
    if (_samples == 0) {
        // Counts start at 0 when the session does: a single sample gives
        // the average since then (what `skycast status` read once can say).
        if (t > 0) {
            _rate = std::max(0.0, value) / t;
        }
    } else {
        const double dt = t - _t;
        const double step = std::max(0.0, value - _value) / dt;
        if (_samples == 1 || !_rate) {
            // The first measured step replaces the average, which includes
            // the announce phase.
            _rate = step;
        } else {
            const double alpha = 1.0 - std::exp(-dt / time_constant_s);
            _rate = *_rate + alpha * (step - *_rate);
        }
    }
    _t = t;
    _value = value;
    ++_samples;
}

std::optional<double> rate_meter::rate() const {
    return _rate;
}

std::optional<double> eta_seconds(double remaining, std::optional<double> rate) {
    if (remaining <= 0) {
        return 0.0;
    }
    if (!rate || *rate <= 0) {
        return std::nullopt;
    }
    return remaining / *rate;
}

std::string format_percent(std::optional<double> percent) {
    if (!percent || !std::isfinite(*percent)) {
        return "--";
    }
    return printf_string("%.1f%%", std::clamp(*percent, 0.0, 100.0));
}

std::string format_rate(std::optional<double> bytes_per_second) {
    if (!bytes_per_second || !std::isfinite(*bytes_per_second) || *bytes_per_second < 0) {
        return "--";
    }
    const double bits = *bytes_per_second * 8.0;
    if (bits < 1e6) {
        return printf_string("%.1f kbit/s", bits / 1e3);
    }
    if (bits < 1e9) {
        return printf_string("%.1f Mbit/s", bits / 1e6);
    }
    return printf_string("%.2f Gbit/s", bits / 1e9);
}

std::string format_eta(std::optional<double> seconds) {
    if (!seconds || !std::isfinite(*seconds) || *seconds > eta_max_s) {
        return "--";
    }
    const auto s = static_cast<unsigned long long>(std::ceil(std::max(0.0, *seconds)));
    if (s >= 3600) {
        return printf_string("%llu:%02llu:%02llu", s / 3600, s % 3600 / 60, s % 60);
    }
    return printf_string("%llu:%02llu", s / 60, s % 60);
}

std::string format_bytes(std::uint64_t bytes) {
    const auto b = static_cast<double>(bytes);
    if (bytes < 1024) {
        return printf_string("%llu B", static_cast<unsigned long long>(bytes));
    }
    if (bytes < 1024ull * 1024) {
        return printf_string("%.1f KiB", b / 1024);
    }
    if (bytes < 1024ull * 1024 * 1024) {
        return printf_string("%.1f MiB", b / (1024.0 * 1024));
    }
    return printf_string("%.2f GiB", b / (1024.0 * 1024 * 1024));
}

std::string fit_columns(std::string_view text, std::size_t columns) {
    std::size_t cols = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        const utf8_char ch = char_at(text, i);
        if (cols + ch.columns > columns || i + ch.bytes > text.size()) {
            break;
        }
        cols += ch.columns;
        i += ch.bytes;
    }
    return std::string(text.substr(0, i));
}

std::string render_bar(const bar_row& row, int width, std::size_t label_width) {
    const std::string label = pad_right(fit_columns(row.label, label_width), label_width);
    const std::string percent = pad_left(
        format_percent(row.fraction ? std::optional<double>(*row.fraction * 100.0) : std::nullopt),
        6);
    const std::string rate = pad_left(format_rate(row.rate), 12);
    const std::string eta = pad_right(format_eta(row.eta), 7);
    // label, " [", "]  ", percent, "  ", rate, "  ETA ", eta, "  "
    const int fixed = static_cast<int>(label_width) + 2 + 3 + 6 + 2 + 12 + 6 + 7 + 2;
    const int bar = std::clamp(width - 1 - fixed - tail_reserve, bar_min, bar_max);
    int filled = 0;
    if (row.fraction && std::isfinite(*row.fraction)) {
        filled = static_cast<int>(std::floor(std::clamp(*row.fraction, 0.0, 1.0) * bar));
    }
    std::string line = label + " [" + std::string(static_cast<std::size_t>(filled), '#') +
                       std::string(static_cast<std::size_t>(bar - filled), '.') + "]  " + percent +
                       "  " + rate + "  ETA " + eta + "  " + row.tail;
    return rstrip(fit_columns(line, static_cast<std::size_t>(std::max(width - 1, 1))));
}

// --- The view ----------------------------------------------------------------------

void progress_view::enter_session(const std::string& key) {
    if (key == _session) {
        return;
    }
    _session = key;
    _sent = {};
    _meters.clear();
    _last_state.clear();
}

std::string progress_view::redraw(const std::vector<std::string>& lines) {
    std::string out;
    if (!_cursor_hidden) {
        out += hide_cursor;
        _cursor_hidden = true;
    }
    if (_drawn > 0) {
        out += printf_string("\x1b[%zuA", _drawn); // back to the block's first line
    }
    const auto cols = static_cast<std::size_t>(std::max(_width - 1, 1));
    for (const auto& line : lines) {
        out += "\r\x1b[2K" + fit_columns(line, cols) + "\n";
    }
    if (lines.size() < _drawn) {
        out += "\x1b[J"; // what is left of the longer block before
    }
    _drawn = lines.size();
    return out;
}

std::string progress_view::message(std::string_view text) {
    if (_mode == view_mode::terminal) {
        return redraw({std::string(text)});
    }
    return std::string(text) + "\n";
}

std::string progress_view::release() {
    std::string out;
    if (_cursor_hidden) {
        out += show_cursor;
        _cursor_hidden = false;
    }
    _drawn = 0;
    return out;
}

std::string progress_view::sender(const json& doc, double local_s) {
    const std::string id = text_member(doc, "id"); // the stats' session; events have none
    enter_session("sender " + id);
    const double t = optional_number(doc, "elapsed").value_or(local_s);
    const auto total = optional_count(doc, "bytes_total");
    const auto sent = optional_count(doc, "bytes_sent");
    if (sent) {
        _sent.sample(t, static_cast<double>(*sent));
    }
    const auto& receivers = member(doc, "receivers");
    // Nodes before the per-receiver array sent the active count as "receivers".
    std::optional<std::uint64_t> active = optional_count(doc, "receivers_active");
    if (!active && receivers.is_number()) {
        active = optional_count(doc, "receivers");
    }

    std::string plain;
    std::vector<bar_row> rows;
    std::optional<double> slowest;      // fraction of the slowest active receiver
    std::optional<std::uint64_t> least; // its bytes
    bool any_active = false;
    bool any_done = false;
    std::set<std::string> seen;
    if (receivers.is_array()) {
        for (const auto& r : receivers) {
            const std::string uid = text_member(r, "uid");
            const std::string state = text_member(r, "outcome");
            const auto known = optional_count(r, "bytes_known");
            const auto pass = optional_count(r, "pass");
            std::optional<double> fraction;
            if (total && *total > 0 && known) {
                fraction = std::min(1.0, static_cast<double>(*known) / static_cast<double>(*total));
            } else if (const auto p = optional_number(r, "percent")) {
                fraction = std::clamp(*p / 100.0, 0.0, 1.0);
            }
            rate_meter& meter = _meters[uid];
            if (known) {
                meter.sample(t, static_cast<double>(*known));
            }
            seen.insert(uid);
            const bool is_active = state == "active";
            const bool is_done = state == "completed";
            any_active = any_active || is_active;
            any_done = any_done || is_done;
            bar_row row{.label = uid, .fraction = fraction};
            if (is_active) {
                row.rate = meter.rate();
                if (total && known) {
                    row.eta = eta_seconds(static_cast<double>(*total) - static_cast<double>(*known),
                                          row.rate);
                }
                if (fraction && (!slowest || *fraction < *slowest)) {
                    slowest = fraction;
                    least = known;
                }
            } else if (is_done) {
                row.eta = 0.0;
            }
            row.tail =
                (pass && *pass > 0 ? "pass " + std::to_string(*pass) : std::string("pass -")) +
                "  " + state;
            rows.push_back(std::move(row));
            if (_mode == view_mode::plain) {
                // Only when it changes: a log of 1000 receivers is not 1000
                // lines a second.
                auto& said = _last_state[uid];
                if (said != state) {
                    said = state;
                    plain += "receiver uid=" + token(uid) + " pass=" + count_or_unknown(pass) +
                             " percent=" + plain_percent(fraction) + " state=" + token(state) +
                             "\n";
                }
            }
        }
    }
    std::erase_if(_meters, [&](const auto& m) { return !seen.contains(m.first); });
    std::erase_if(_last_state, [&](const auto& m) { return !seen.contains(m.first); });

    // The session as a whole: the slowest receiver still in it decides when
    // it ends; its remaining bytes at the sender's data rate.
    std::optional<double> session_fraction = slowest;
    std::optional<double> session_eta;
    if (!any_active && any_done) {
        session_fraction = 1.0;
        session_eta = 0.0;
    } else if (total && least) {
        session_eta =
            eta_seconds(static_cast<double>(*total) - static_cast<double>(*least), _sent.rate());
    }
    const std::string phase = text_member(doc, "phase");
    const auto pass = optional_count(doc, "pass");
    if (_mode == view_mode::plain) {
        return "progress phase=" + token(phase) + " pass=" + count_or_unknown(pass) +
               " sent=" + count_or_unknown(sent) + " percent=" + plain_percent(session_fraction) +
               " rate_mbps=" + plain_rate(_sent.rate()) + " eta_s=" + plain_eta(session_eta) +
               " receivers=" + count_or_unknown(active) + "\n" + plain;
    }
    // Most telling first: a narrow terminal cuts the end.
    std::string header = format_eta(optional_number(doc, "elapsed")) + "  ";
    header += phase.empty() ? std::string("--") : phase;
    if (const auto files = optional_count(doc, "files")) {
        const auto number = optional_count(doc, "file_number").value_or(0);
        header +=
            "  file " + std::to_string(std::min(number, *files)) + "/" + std::to_string(*files);
    }
    header += "  pass " + (pass && *pass > 0 ? std::to_string(*pass) : std::string("-"));
    header += "  " + (sent ? format_bytes(*sent) : std::string("--"));
    if (total) {
        header += " of " + format_bytes(*total);
    }
    header += "  " + format_rate(_sent.rate()) + "  " + count_or_unknown(active) +
              (active && *active == 1 ? " receiver" : " receivers");
    if (!id.empty()) {
        header += "  session " + id;
    }
    std::vector<std::string> lines{header};
    std::size_t label_width = 10;
    for (const auto& r : rows) {
        label_width = std::max(label_width, std::min(columns_of(r.label), label_max));
    }
    for (const auto& r : rows) {
        lines.push_back(render_bar(r, _width, label_width));
    }
    if (rows.empty()) {
        lines.emplace_back("  no receiver registered yet");
    }
    return redraw(lines);
}

std::string progress_view::receiver_sessions(const json& sessions, double local_s) {
    enter_session("receiver");
    std::string plain;
    std::vector<bar_row> rows;
    std::set<std::string> seen;
    if (sessions.is_array()) {
        for (const auto& s : sessions) {
            const std::string sid = text_member(s, "session");
            const std::string server = text_member(s, "server");
            const std::string state = text_member(s, "state");
            const std::string key = server + "/" + sid;
            seen.insert(key);
            const double t = optional_number(s, "bytes_received_at")
                                 .value_or(optional_number(s, "elapsed").value_or(local_s));
            const auto received = optional_count(s, "bytes_received");
            rate_meter& meter = _meters[key];
            if (received) {
                meter.sample(t, static_cast<double>(*received));
            }
            bar_row row{.label = server + " " + sid, .rate = meter.rate()};
            const auto& file = member(s, "current_file");
            std::optional<std::uint64_t> file_id;
            std::optional<double> fraction;
            if (file.is_object()) {
                file_id = optional_count(file, "id");
                const auto bytes = optional_count(file, "bytes");
                const auto got = optional_count(file, "bytes_received");
                if (bytes && got) {
                    fraction =
                        *bytes > 0
                            ? std::min(1.0, static_cast<double>(*got) / static_cast<double>(*bytes))
                            : 1.0;
                    row.eta = eta_seconds(static_cast<double>(*bytes) - static_cast<double>(*got),
                                          row.rate);
                }
                row.tail = "file " + count_or_unknown(file_id) + " " + text_member(file, "name");
                if (_mode == view_mode::plain) {
                    auto& said = _last_state[key];
                    const std::string now = count_or_unknown(file_id);
                    if (said != now) {
                        said = now;
                        plain += "file session=" + token(sid) + " id=" + now +
                                 " bytes=" + count_or_unknown(bytes) +
                                 " name=" + text_member(file, "name") + "\n";
                    }
                }
            } else {
                row.tail = (state.empty() ? std::string("--") : state) + ", " +
                           count_or_unknown(optional_count(s, "files_done")) + " files done";
            }
            row.fraction = fraction;
            if (_mode == view_mode::plain) {
                plain += "progress session=" + token(sid) + " server=" + token(server) +
                         " state=" + token(state) + " file_id=" + count_or_unknown(file_id) +
                         " files_done=" + count_or_unknown(optional_count(s, "files_done")) +
                         " received=" + count_or_unknown(received) +
                         " percent=" + plain_percent(fraction) +
                         " rate_mbps=" + plain_rate(row.rate) + " eta_s=" + plain_eta(row.eta) +
                         "\n";
            }
            rows.push_back(std::move(row));
        }
    }
    std::erase_if(_meters, [&](const auto& m) { return !seen.contains(m.first); });
    std::erase_if(_last_state, [&](const auto& m) { return !seen.contains(m.first); });
    if (rows.empty()) {
        return message("no session running");
    }
    if (_mode == view_mode::plain) {
        return plain;
    }
    std::vector<std::string> lines{std::to_string(rows.size()) + " session" +
                                   (rows.size() == 1 ? "" : "s") + " running"};
    std::size_t label_width = 10;
    for (const auto& r : rows) {
        label_width = std::max(label_width, std::min(columns_of(r.label), label_max));
    }
    for (const auto& r : rows) {
        lines.push_back(render_bar(r, _width, label_width));
    }
    return redraw(lines);
}

} // namespace skycast::cli
