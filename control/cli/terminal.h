#pragma once
// What the CLI needs to know of its terminal to draw progress bars
// (progress_view.h): whether standard output is one that takes ANSI cursor
// movement, how wide it is, and putting the cursor back when the user
// interrupts a redraw loop.

namespace skycast::cli {

// Standard output is a terminal (isatty) and TERM is set and not "dumb":
// cursor-up and erase-line will be obeyed. Otherwise lines are what a log or
// a pipe should get.
bool stdout_is_terminal();

// Columns of the terminal on standard output (TIOCGWINSZ), or `fallback`
// when it is not a terminal or does not say.
int terminal_width(int fallback = 80);

// ANSI sequences the views write: hide and show the cursor (it would
// otherwise flicker across the bars as they are redrawn).
inline constexpr const char* hide_cursor = "\x1b[?25l";
inline constexpr const char* show_cursor = "\x1b[?25h";

// While one exists, SIGINT and SIGTERM show the cursor again (when `active`)
// and set interrupted(); the loop that draws checks it and ends cleanly.
// With `reraise`, the handler instead ends the process by the signal as it
// would have ended without the guard (`skycast send` blocks in a read and
// has nothing to clean up but the cursor). The destructor restores the
// previous handlers and shows the cursor when it was hidden.
class interrupt_guard {
public:
    interrupt_guard(bool active, bool reraise);
    ~interrupt_guard();
    interrupt_guard(const interrupt_guard&) = delete;
    interrupt_guard& operator=(const interrupt_guard&) = delete;

    // SIGINT or SIGTERM came since the guard was made.
    static bool interrupted();
};

} // namespace skycast::cli
