#pragma once
// Transfers in progress as `skycast send` and `skycast status` show them,
// from the documents a node sends: a sender's progress event or its stats
// `session` object (per receiver: bytes known, outcome, pass), or a receiver
// node's stats `sessions` (per session: the file being received).
//
// Two modes:
//   - terminal: one bar line per receiver (or per session on a receiver
//     node) under a header line, redrawn in place on every sample with
//     cursor-up and erase-line, never wider than the terminal (a wrapped
//     line would throw the cursor-up count off):
//         0x0A4D000B [#####.....]  42.0%  118.3 Mbit/s  ETA 0:12  pass 2  active
//   - plain (a log, a pipe, `--plain`): one line per sample that a script
//     can grep and split on spaces, and a line per receiver only when its
//     state changes:
//         progress phase=data pass=1 sent=B percent=P rate_mbps=R eta_s=E receivers=N
//         receiver uid=0x0A4D000B pass=1 percent=100.0 state=completed
//     A receiver node's sessions:
//         progress session=ID server=ID state=S file_id=N files_done=N received=B percent=P
//             rate_mbps=R eta_s=E          (one line)
//         file session=ID id=N bytes=B name=NAME    (when the file changes)
//     An unknown value is `--` in both modes. Text that may end a line
//     (a state, a name) comes last.
//
// Rates come from successive samples of the byte counts, on the node's
// clock (the documents' `elapsed` / `bytes_received_at`) when it gives one,
// smoothed; a single sample gives the average since the session started.
// Every text taken from a document goes through text_member() (node_client.h):
// receivers' outcomes and file names come from the wire.
//
// The view only builds text; the caller writes it (tests read it).

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace skycast::cli {

enum class view_mode { terminal, plain };

// The rate of a growing count from successive samples, smoothed
// exponentially with a time constant (so that samples a second apart and
// samples five seconds apart smooth alike). A count that shrinks (a
// receiver's STATUS report took bytes back) gives a rate of 0 for that step,
// never a negative one.
class rate_meter {
public:
    static constexpr double time_constant_s = 3.0;

    // `t`: seconds on the sampling clock, from the session's start; `value`:
    // the count. A sample not later than the previous one is ignored (the
    // node had not counted again).
    void sample(double t, double value);
    // Units of `value` per second; nullopt before any usable sample.
    std::optional<double> rate() const;

private:
    int _samples = 0;
    double _t = 0;
    double _value = 0;
    std::optional<double> _rate;
};

// Seconds until `remaining` is done at `rate` per second: 0 when nothing
// remains, nullopt when the rate is unknown or zero.
std::optional<double> eta_seconds(double remaining, std::optional<double> rate);

// "42.0%", or "--".
std::string format_percent(std::optional<double> percent);
// Bytes per second as bits per second: "812.0 kbit/s", "118.3 Mbit/s",
// "1.25 Gbit/s"; "--".
std::string format_rate(std::optional<double> bytes_per_second);
// "0:12", "12:05", "1:02:03"; "--" when unknown or beyond 100 hours.
std::string format_eta(std::optional<double> seconds);
// "512 B", "1.5 KiB", "12.3 MiB", "4.00 GiB".
std::string format_bytes(std::uint64_t bytes);

// Displayable text cut to at most `columns` terminal columns, at a
// character boundary. Any non-ASCII character is counted as two columns (it
// may be a wide one): a cut line may be shorter than needed, never longer.
std::string fit_columns(std::string_view text, std::size_t columns);

// One bar line. `label` and `tail` must already be displayable.
struct bar_row {
    std::string label;
    std::optional<double> fraction; // 0..1 of the bar
    std::optional<double> rate;     // bytes per second
    std::optional<double> eta;      // seconds
    std::string tail;               // "pass 2  active", "file 3 name"
};
// `label [#####.....]  42.0%  118.3 Mbit/s  ETA 0:12  tail`, the label
// padded to `label_width`, the bar as wide as `width` allows (10 to 50
// characters), the whole cut to width - 1 columns.
std::string render_bar(const bar_row& row, int width, std::size_t label_width);

class progress_view {
public:
    // `width`: the terminal's columns (terminal mode).
    progress_view(view_mode mode, int width) : _mode(mode), _width(width) {}

    view_mode mode() const { return _mode; }
    void set_width(int width) { _width = width; }

    // A sender's session: a progress event, or the stats document's
    // `session` object. `local_s`: the caller's monotonic seconds, the time
    // base when the document has no `elapsed`. Returns the text to write.
    std::string sender(const nlohmann::json& doc, double local_s);
    // A receiver node's running sessions: the stats document's `sessions`.
    std::string receiver_sessions(const nlohmann::json& sessions, double local_s);
    // A line shown in place of the bars ("no session running").
    std::string message(std::string_view text);
    // Terminal mode: leaves the block drawn as it is, so that what is
    // printed next goes below it, and shows the cursor again.
    std::string release();

private:
    // Terminal mode: replaces the block drawn last with `lines`.
    std::string redraw(const std::vector<std::string>& lines);
    // Forgets the meters of another session.
    void enter_session(const std::string& key);

    view_mode _mode;
    int _width;
    std::size_t _drawn = 0; // lines of the block on screen (terminal mode)
    bool _cursor_hidden = false;
    std::string _session;                           // whose meters these are
    rate_meter _sent;                               // a sender's bytes_sent
    std::map<std::string, rate_meter> _meters;      // by receiver uid / session id
    std::map<std::string, std::string> _last_state; // plain mode: what was last said of each
};

} // namespace skycast::cli
