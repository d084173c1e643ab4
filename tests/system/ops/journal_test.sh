#!/usr/bin/env bash
# Native journal logging (control/node/node_log) against a real journald:
#
#   journal_test.sh TEST_NODE_LOG_BINARY
#
# In a private mount namespace (the host's journal, if any, is untouched),
# tmpfs on /run/systemd/journal and /run/log/journal and Debian's
# systemd-journald on them. The node_log unit test NodeLog.ToTheJournal runs
# with standard error on a journal stream and JOURNAL_STREAM naming it, as
# systemd starts a unit with StandardError=journal; it writes one marked line
# per level. Pass: journalctl finds them as our own entries (not stream lines
# with our timestamp prefix), with PRIORITY mapped (-p warning gives the
# error and warn lines only), SYSLOG_IDENTIFIER the program, SKYCAST_LEVEL.
set -euo pipefail
binary=${1:?usage: journal_test.sh TEST_NODE_LOG_BINARY}
journald=/lib/systemd/systemd-journald
[[ $EUID -eq 0 ]] || { echo "journal_test.sh: run as root" >&2; exit 2; }
[[ -x $journald ]] || { echo "journal_test.sh: SKIP: $journald missing (systemd)" >&2; exit 77; }

if [[ ${SKYCAST_JOURNAL_NS:-} != 1 ]]; then
    SKYCAST_JOURNAL_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi

fail() { echo "journal_test.sh: FAIL: $*" >&2; exit 1; }
mkdir -p /run/systemd/journal /run/log/journal
mount -t tmpfs tmpfs /run/systemd/journal
mount -t tmpfs tmpfs /run/log/journal
if [[ ! -s /etc/machine-id ]]; then
    # journald files its entries under the machine id.
    id=$(tr -d '-' < /proc/sys/kernel/random/uuid)
    echo "$id" > /run/log/journal/machine-id
    mount --bind /run/log/journal/machine-id /etc/machine-id
fi
"$journald" > /dev/null 2>&1 &
journald_pid=$!
trap 'kill "$journald_pid" 2> /dev/null || true' EXIT
for _ in $(seq 100); do [[ -S /run/systemd/journal/stdout ]] && break; sleep 0.1; done
[[ -S /run/systemd/journal/stdout ]] || fail "journald did not open its sockets"

marker="skycast-journal-test-$$-$RANDOM"
# Connect standard error to journald's stream socket the way systemd does
# for StandardError=journal, and name it in JOURNAL_STREAM.
SKYCAST_JOURNAL_MARKER=$marker python3 - "$binary" << 'PY'
import os, socket, sys
binary = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect("/run/systemd/journal/stdout")
# identifier, unit, priority, level prefix, to syslog, to kmsg, to console
s.sendall(b"skycast-stream\n\n6\n0\n0\n0\n0\n")
s.shutdown(socket.SHUT_RD)
st = os.fstat(s.fileno())
os.environ["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
os.dup2(s.fileno(), 2)
os.execv(binary, [binary, "--gtest_filter=NodeLog.ToTheJournal"])
PY

query() { journalctl --directory /run/log/journal --no-pager -o cat "$@" 2> /dev/null | grep -F "$marker" || true; }
deadline=$((SECONDS + 30))
until (($(query | wc -l) >= 4)); do
    ((SECONDS < deadline)) || fail "the four lines never reached the journal: $(query)"
    sleep 0.2
done
urgent=$(query -p warning)
[[ $(wc -l <<< "$urgent") -eq 2 && $urgent == *"error line"* && $urgent == *"warn line"* ]] ||
    fail "journalctl -p warning gives: $urgent"
[[ $(query -p err) == *"error line" ]] || fail "the error line is not PRIORITY=3"
[[ -n $(query SYSLOG_IDENTIFIER=test_node_log SKYCAST_LEVEL=debug) ]] ||
    fail "no entry with SYSLOG_IDENTIFIER=test_node_log and SKYCAST_LEVEL=debug"
# Native entries, not lines on the stream with a timestamp of our own.
[[ -z $(query SYSLOG_IDENTIFIER=skycast-stream) ]] || fail "lines went to the stream: $(query SYSLOG_IDENTIFIER=skycast-stream)"
[[ $(query) != *"[warn]"* ]] || fail "a line carries our own level prefix"
echo "journal_test: 4 entries, priorities err/warning/info/debug, SYSLOG_IDENTIFIER and SKYCAST_LEVEL set"
