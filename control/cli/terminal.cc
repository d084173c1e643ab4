#include "control/cli/terminal.h"

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <sys/ioctl.h>
#include <unistd.h>

namespace skycast::cli {
namespace {

// Written by the signal handler, read by the drawing loop: the only state a
// handler may touch (async-signal-safe).
volatile std::sig_atomic_t g_interrupted = 0;
volatile std::sig_atomic_t g_cursor_hidden = 0;
volatile std::sig_atomic_t g_reraise = 0;

struct sigaction g_old_int {};
struct sigaction g_old_term {};

void on_signal(int sig) {
    if (g_reraise == 0) {
        g_interrupted = 1; // the loop ends, and shows the cursor itself
        return;
    }
    if (g_cursor_hidden != 0) {
        // write(2) is async-signal-safe; stdio is not.
        const ssize_t n = ::write(STDOUT_FILENO, show_cursor, std::strlen(show_cursor));
        (void)n;
    }
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

} // namespace

bool stdout_is_terminal() {
    if (::isatty(STDOUT_FILENO) == 0) {
        return false;
    }
    const char* term = std::getenv("TERM");
    return term != nullptr && *term != '\0' && std::strcmp(term, "dumb") != 0;
}

int terminal_width(int fallback) {
    winsize ws{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        return ws.ws_col;
    }
    return fallback;
}

interrupt_guard::interrupt_guard(bool active, bool reraise) {
    g_interrupted = 0;
    g_cursor_hidden = active ? 1 : 0;
    g_reraise = reraise ? 1 : 0;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    // No SA_RESTART: a sleep or read in the drawing loop returns at once.
    sa.sa_flags = 0;
    ::sigaction(SIGINT, &sa, &g_old_int);
    ::sigaction(SIGTERM, &sa, &g_old_term);
}

interrupt_guard::~interrupt_guard() {
    ::sigaction(SIGINT, &g_old_int, nullptr);
    ::sigaction(SIGTERM, &g_old_term, nullptr);
    if (g_cursor_hidden != 0) {
        const ssize_t n = ::write(STDOUT_FILENO, show_cursor, std::strlen(show_cursor));
        (void)n;
        g_cursor_hidden = 0;
    }
}

bool interrupt_guard::interrupted() {
    return g_interrupted != 0;
}

} // namespace skycast::cli
