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
# Exits non-zero, after printing the failing tests' logs, if anything fails.
# Environment: FUZZ_SECONDS (per fuzz target, default 20: five targets keep the
# whole run under 30 minutes; longer runs: tests/fuzz/README.md), JOBS (build jobs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fuzz_seconds=${FUZZ_SECONDS:-20}
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
    echo "== meson test -C $dir $*"
    if ! meson test -C "$dir" --print-errorlogs --num-processes "$jobs" "${args[@]}"; then
        failed=1
    fi
}

echo "== build (g++, -Werror)"
# -Ddebug=false: the same -O2 code without debug info, which nearly doubles
# g++'s compile time here and serves no test (the sanitizer build keeps its
# symbols for its reports). CI's budget is 30 minutes including the package
# install on a fresh machine.
configure build -Dwerror=true -Ddebug=false
ninja -C build -j "$jobs"
run_suites build unit eal system

echo "== build-sanitize (clang, ASan+UBSan, libFuzzer targets)"
# Without the DPDK processes (-Ddpdk=false): their suites run in build/ only,
# and building them twice would double CI's compile time.
CXX=clang++ CC=clang configure build-sanitize -Dwerror=true -Db_sanitize=address,undefined \
    -Db_lundef=false -Dfuzzing=true -Dfuzz_seconds="$fuzz_seconds" -Ddpdk=false \
    -Dheader_checks=false
ninja -C build-sanitize -j "$jobs"
# Any sanitizer report is a failure, not a warning.
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
run_suites build-sanitize unit fuzz

# One closing line that counts every test of both builds.
python3 - build/meson-logs/testlog.json build-sanitize/meson-logs/testlog.json <<'PY'
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
python3 - build/meson-logs/testlog.json build-sanitize/meson-logs/testlog.json <<'PY'
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

if ((failed)); then
    echo "test.sh: FAILED (see the logs above)" >&2
    exit 1
fi
echo "test.sh: all suites passed"
