#!/usr/bin/env bash
# skycast-sim stopped midway (SIGINT, or a timeout's SIGTERM) removes its
# work directory, whose source files live in /dev/shm (memory), and exits
# 128 + the signal. The run asked for takes minutes; the signal comes as
# soon as the directory exists, so the simulation is still going.
#
#   perf/skycast_sim_stopped_test.sh SKYCAST_SIM
set -euo pipefail
sim=${1:?usage: skycast_sim_stopped_test.sh SKYCAST_SIM}
work=$(mktemp -d)
pid=
# A failing check must not leave a simulation running (gigabytes of memory).
cleanup() {
    if [[ -n $pid ]]; then
        kill -KILL "$pid" 2> /dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; cat "$work/err" >&2 || true; exit 1; }

for sig in INT TERM; do
    # The file exists before the simulator starts: the loop below may read
    # it before the background job's redirection has opened it.
    : > "$work/err"
    "$sim" --receivers 1000 --size 1G --rate 1000 --rtt 500 --closed --no-store \
        > /dev/null 2> "$work/err" &
    pid=$!
    dir=
    # The first line on stderr names the directory; wait for it as long as
    # the simulator lives.
    while kill -0 "$pid" 2> /dev/null; do
        dir=$(sed -n 's/^skycast-sim: work directory //p' "$work/err")
        [[ -n $dir && -d $dir ]] && break
        sleep 0.05
    done
    [[ -n $dir ]] || fail "SIG$sig: the simulator never named its work directory"
    kill -"$sig" "$pid"
    status=0
    wait "$pid" || status=$?
    pid=
    want=$((128 + $(kill -l "$sig")))
    ((status == want)) || fail "SIG$sig: exit status $status, expected $want"
    [[ ! -e $dir ]] || { rm -rf "$dir"; fail "SIG$sig: $dir left behind"; }
    grep -q "stopped by signal" "$work/err" || fail "SIG$sig: no message about the stop"
    echo "SIG$sig: exit $status, $dir removed"
done
