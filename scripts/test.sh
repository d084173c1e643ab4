#!/usr/bin/env bash
# Runs Skycast's whole test suite, from a fresh clone on a fresh Debian 12
# machine (as root) or from an existing checkout:
#   1. installs missing Debian packages (scripts/install-deps.sh),
#   2. reserves hugepages (scripts/setup-hugepages.sh: the two-process and lab
#      tests need them), builds with g++ and -Werror into build/ and runs the
#      unit, eal (in-process DPDK) and system suites,
#   3. builds with clang, AddressSanitizer and UndefinedBehaviorSanitizer into
#      build-sanitize/ and runs the unit suite again plus the fuzz suite (DPDK's
#      hugepage memory and ASan do not mix: eal and system run in build/ only).
#      That build runs while step 2's suites do, at idle CPU priority (why,
#      and what it costs the tests: at build_sanitize below).
# Exits non-zero, after printing the failing tests' logs, if anything fails.
# Environment: FUZZ_SECONDS (per fuzz target, default 15: five targets keep the
# whole run under 30 minutes; longer runs: tests/fuzz/README.md), JOBS (build jobs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fuzz_seconds=${FUZZ_SECONDS:-15}
jobs=${JOBS:-$(nproc)}

bash scripts/install-deps.sh
bash scripts/setup-hugepages.sh

# configure DIR [meson options...]: set up DIR, or reconfigure it if it exists.
configure() {
    local dir=$1
    shift
    local log
    log=$(mktemp)
    local status=0
    if [[ -f "$dir/build.ninja" ]]; then
        meson setup --reconfigure "$dir" "$@" >"$log" 2>&1 || status=$?
    else
        meson setup "$dir" "$@" >"$log" 2>&1 || status=$?
    fi
    if ((status != 0)); then
        # Meson prints its errors on stdout: show them, or CI fails silently.
        tail -n 30 "$log" >&2
        echo "test.sh: meson setup $dir failed" >&2
    fi
    rm -f "$log"
    return "$status"
}

failed=0
run_suites() {
    local dir=$1
    shift
    local args=()
    for suite in "$@"; do
        args+=(--suite "$suite")
    done
    echo "== $(date +%T) meson test -C $dir $*"
    # --no-rebuild: the directory is built already, and build/'s header
    # checks may be compiling in the background (one ninja per directory).
    if ! meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes "$jobs" "${args[@]}"; then
        failed=1
    fi
}

echo "== $(date +%T) build (g++, -Werror)"
# -Ddebug=false: the same -O2 code without debug info, which nearly doubles
# g++'s compile time here and serves no test (the sanitizer build keeps its
# symbols for its reports). CI's budget is 30 minutes including the package
# install on a fresh machine.
configure build -Dwerror=true -Ddebug=false
ninja -C build -j "$jobs"

# build-sanitize: clang, ASan+UBSan, libFuzzer targets. Without the DPDK
# processes (-Ddpdk=false): their suites run in build/ only, and building
# them twice would double CI's compile time.
build_sanitize() {
    CXX=clang++ CC=clang configure build-sanitize -Dwerror=true \
        -Db_sanitize=address,undefined -Db_lundef=false -Dfuzzing=true \
        -Dfuzz_seconds="$fuzz_seconds" -Ddpdk=false -Dheader_checks=false &&
        ninja -C build-sanitize -j "$jobs"
}
# It is compiled while build/'s suites run, after build/'s header
# self-containment checks (`ninja header-checks`: compile-only, nothing the
# suites run), under SCHED_IDLE and nice 19:
# the scheduler gives it only CPU time no test process wants (the system
# suite mostly waits on sessions and timers), and a test's process takes
# the CPU back the moment it wakes. The tests still run slower meanwhile
# (a third on this 2-vCPU host: caches and memory are shared), which their
# margins, derived from what they measure, absorb; CI saves most of the
# build's minutes. Its output goes to a log, shown if it fails.
sanitize_log=$(mktemp)
echo "== $(date +%T) header checks, then build-sanitize (clang, ASan+UBSan, libFuzzer targets): in the background, idle priority"
(
    renice -n 19 -p "$BASHPID" >/dev/null || true
    chrt --idle --pid 0 "$BASHPID" 2>/dev/null || true # nice 19 alone where refused
    status=0
    if ! ninja -C build -j "$jobs" header-checks; then
        echo "test.sh: a public header does not compile on its own (ninja -C build header-checks)"
        status=1
    fi
    echo "== $(date +%T) header checks done"
    build_sanitize || status=$((status | 2))
    echo "== $(date +%T) build-sanitize done"
    exit "$status"
) >"$sanitize_log" 2>&1 &
sanitize_pid=$!

run_suites build unit eal system

echo "== $(date +%T) header checks and build-sanitize: waiting for them"
sanitize_built=1
headers_compiled=1
background=0
wait "$sanitize_pid" || background=$?
grep '^== ' "$sanitize_log" || true # when the background work ended
if ((background != 0)); then
    failed=1
    tail -n 60 "$sanitize_log" >&2
fi
if ((background & 1)); then
    headers_compiled=0
    echo "test.sh: build/'s header checks failed (log above)" >&2
fi
if ((background & ~1)); then
    sanitize_built=0
    echo "test.sh: the sanitizer build (build-sanitize) failed; its suites did not run" >&2
fi
rm -f "$sanitize_log"
# Any sanitizer report is a failure, not a warning.
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
logs=(build/meson-logs/testlog.json)
if ((sanitize_built)); then
    run_suites build-sanitize unit fuzz
    logs+=(build-sanitize/meson-logs/testlog.json)
fi

# One closing line that counts every test of both builds.
python3 - "${logs[@]}" <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    with open(path) as log:
        for line in log:
            result = json.loads(line).get("result")
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY

# CI keeps only the tail of this output: name every failed test again here,
# with the last lines of what it printed, so the reason survives truncation.
python3 - "${logs[@]}" <<'PY'
import json, sys
for path in sys.argv[1:]:
    with open(path) as log:
        for line in log:
            test = json.loads(line)
            if test.get("result") in ("OK", "EXPECTEDFAIL", "SKIP"):
                continue
            print(f"FAILED {path.split('/')[0]}: {test.get('name')} "
                  f"({test.get('result')}, {test.get('duration', 0):.1f} s)")
            output = (test.get("stdout") or "") + (test.get("stderr") or "")
            for text in output.splitlines()[-25:]:
                print(f"    {text}")
PY

if ((!headers_compiled)); then
    echo "FAILED build: a header self-containment check (ninja -C build header-checks; the log is above)"
fi
if ((!sanitize_built)); then
    echo "FAILED build-sanitize: the build itself (its log is above; its unit and fuzz suites did not run)"
fi
if ((failed)); then
    echo "test.sh: FAILED (see the logs above)" >&2
    exit 1
fi
echo "test.sh: all suites passed"
