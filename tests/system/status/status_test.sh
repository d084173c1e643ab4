#!/usr/bin/env bash
# `skycast status` on a receiver node while a stock sender is mid-file, in
# both of its forms:
#
#   status_test.sh [--name LAB] [--keep] BUILD_DIR
#
# Stock `uftp` in the hub sends a 20 MB file to a Skycast receiver at
# 20 Mbit/s. Once the receiver holds part of it: `skycast status` to a pipe
# prints the plain line for the session (server, state, file 1, a percent);
# under a pseudo-terminal (`script`, TERM=xterm) it draws the session's bar
# (the "1 session running" header, the sender's id and the file's name, a
# percent) with the terminal's redraw sequences. Then the session completes.
set -euo pipefail

# shellcheck source=scripts/lab/one_receiver.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/lab/one_receiver.sh"
case ${1:-} in -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac
one_receiver_require status_test.sh uftp script
one_receiver_init status_test.sh status "$@"
one_receiver_up ""

one_receiver_start_slow_send slow.bin "$logs/uftp.log"

# Plain: not a terminal. The node counts a file's received bytes from the
# dataplane at most once a second: wait until the session shows some.
deadline=$((SECONDS + 30))
while :; do
    plain=$("$skycast_bin" status --socket "$work/rcv1.sock") || fail "skycast status exited $?"
    grep -Eq ' received=[1-9][0-9]* ' <<< "$plain" && break
    ((SECONDS < deadline)) || fail "skycast status never showed bytes received: $plain"
    sleep 0.2
done
echo "$plain" | sed 's/^/  plain: /'
grep -Eq '^progress session=0x[0-9A-F]{8} server=0x0A4D0001 state=[a-z_]+ file_id=1 files_done=[0-9]+ received=[0-9]+ percent=[0-9]+\.[0-9] ' <<< "$plain" ||
    fail "no plain progress line for the session"
grep -Eq '^file session=0x[0-9A-F]{8} id=1 bytes=20000000 name=slow\.bin$' <<< "$plain" ||
    fail "no plain file line naming slow.bin"

# A terminal: script(1) gives skycast a pseudo-terminal.
# 200 columns, so the bar line keeps the file's name (it is cut to the width).
tty_out=$(TERM=xterm script -qec "stty cols 200; $skycast_bin status --socket $work/rcv1.sock" \
    /dev/null) ||
    fail "skycast status under a terminal exited $?"
printf '%s\n' "$tty_out" | sed -n 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\r//g; /./s/^/  terminal: /p'
grep -q '1 session running' <<< "$tty_out" || fail "no '1 session running' header on the terminal"
grep -Eq '0x0A4D0001 .*[0-9]+\.[0-9]%.*[0-9.]+ [kMG]?bit/s.*slow\.bin' <<< "$tty_out" ||
    fail "no bar with the sender, a percent and slow.bin on the terminal"
grep -q $'\x1b\[2K' <<< "$tty_out" || fail "no erase-line sequence: not drawn as a terminal"

wait "$uftp_pid" || fail "uftp exited $?"
cmp -s "$work/slow.bin" "$work/received/slow.bin" || fail "the copy differs"
echo "status_test: plain and terminal forms of skycast status shown mid-file; the copy is intact"
