#!/bin/sh
# Runs a libFuzzer target for the `fuzz` test suite (tests/fuzz/meson.build).
#
#   run_fuzzer.sh fuzz   FUZZER WORKDIR SECONDS SEED_DIR [LIBFUZZER_FLAG...]
#       Fuzzes for SECONDS over a fresh corpus WORKDIR/corpus (new inputs go
#       there) plus the read-only SEED_DIR.
#   run_fuzzer.sh replay FUZZER WORKDIR DIR...
#       Runs every file in the DIRs once (README.md files excepted).
#
# Exit status: 0 when nothing was found, 1 on any finding. libFuzzer's own exit
# codes are not passed through: it reports a crash with 77 by default, which
# Meson would count as a skipped test, not a failed one.
# Crashing inputs are saved under WORKDIR/artifacts/ and named in the output.
set -u

if [ $# -lt 4 ]; then
    echo "usage: $0 fuzz FUZZER WORKDIR SECONDS SEED_DIR [FLAG...] | replay FUZZER WORKDIR DIR..." >&2
    exit 1
fi
mode=$1
fuzzer=$2
workdir=$3
shift 3
artifacts="$workdir/artifacts"
name=$(basename "$fuzzer")
# Meson passes the target relative to the build directory: make the
# reproduction commands printed below work from anywhere.
case $fuzzer in
/*) ;;
*) fuzzer="$PWD/$fuzzer" ;;
esac

# UBSan only prints and goes on by default, which would let a fuzz run pass
# with undefined behaviour found: make its findings fatal (options given later
# in the string win over earlier ones, including Meson's defaults).
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:print_stacktrace=1"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1"

rm -rf "$artifacts"
mkdir -p "$artifacts"

report_findings() {
    echo
    echo "FUZZ FINDING in $name. Inputs saved under $artifacts/:"
    ls -l "$artifacts"
    for f in "$artifacts"/*; do
        [ -f "$f" ] && echo "  reproduce: $fuzzer $f"
    done
    echo "Keep each as a regression input: copy it to tests/fuzz/regressions/$name/."
}

case $mode in
fuzz)
    seconds=$1
    seed_dir=$2
    shift 2
    corpus="$workdir/corpus"
    rm -rf "$corpus"
    mkdir -p "$corpus"
    # -error_exitcode/-timeout_exitcode: see the exit status note above; the
    # wrapper maps them to 1 anyway, they only make the log unambiguous.
    "$fuzzer" -max_total_time="$seconds" -artifact_prefix="$artifacts/" \
        -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 "$@" "$corpus" "$seed_dir"
    rc=$?
    if [ $rc -ne 0 ]; then
        echo "$name exited with status $rc"
        report_findings
        exit 1
    fi
    echo "$name: no findings in ${seconds}s; corpus grown to $(ls "$corpus" | wc -l) inputs in $corpus"
    ;;
replay)
    failed=0
    count=0
    for dir in "$@"; do
        for f in "$dir"/*; do
            if [ ! -f "$f" ] || [ "$(basename "$f")" = README.md ]; then
                continue
            fi
            count=$((count + 1))
            # One process per input, so that every failing input is named.
            if ! "$fuzzer" -artifact_prefix="$artifacts/" -error_exitcode=1 \
                -timeout_exitcode=1 "$f" >"$artifacts/last.log" 2>&1; then
                cat "$artifacts/last.log"
                echo "FAILED: $fuzzer $f"
                failed=$((failed + 1))
            fi
        done
    done
    rm -f "$artifacts/last.log"
    echo "$name: replayed $count inputs, $failed failed"
    if [ $failed -ne 0 ]; then
        echo "FUZZ FINDING in $name: the inputs marked FAILED above crash again."
        exit 1
    fi
    ;;
*)
    echo "$0: unknown mode '$mode'" >&2
    exit 1
    ;;
esac
