#!/usr/bin/env bash
# `skycast check FILE...` (suite 'unit'): what it prints and its exit status.
#   0  every file valid ("FILE: ok" on stdout)
#   1  some file invalid (every problem on stderr, "FILE:LINE:COL: key.path: message")
#   2  no FILE given, or some file unreadable
set -euo pipefail

skycast=$(realpath "${1:?usage: check_cli_test.sh path/to/skycast examples-dir}")
examples=$(realpath "${2:?usage: check_cli_test.sh path/to/skycast examples-dir}")
work=$(mktemp -d /tmp/skycast-check-cli.XXXXXX)
trap 'rm -rf "$work"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# run EXPECTED_STATUS ARGS...: runs skycast check, keeps stdout/stderr.
run() {
    local expected=$1
    shift
    local status=0
    "$skycast" check "$@" >"$work/out" 2>"$work/err" || status=$?
    [[ $status -eq $expected ]] ||
        fail "skycast check $* exited $status, expected $expected; stderr: $(cat "$work/err")"
}

# Valid examples: one "ok" line each, nothing on stderr.
run 0 "$examples/hub.yaml" "$examples/receiver.yaml"
diff <(printf '%s: ok\n' "$examples/hub.yaml" "$examples/receiver.yaml") "$work/out" ||
    fail "unexpected stdout for the examples"
[[ ! -s "$work/err" ]] || fail "stderr not empty for valid files"

# Two problems in one file: both reported, with line, column and key path.
sed -e 's/^      mtu: 9000$/      mtu: 9600/' -e 's/^  rate: 900M$/  rate: 900X/' \
    "$examples/hub.yaml" >"$work/bad.yaml"
mtu_line=$(grep -n '^      mtu: 9600$' "$work/bad.yaml" | cut -d: -f1)
rate_line=$(grep -n '^  rate: 900X$' "$work/bad.yaml" | cut -d: -f1)
run 1 "$work/bad.yaml"
grep -qxF "$work/bad.yaml:$mtu_line:12: dataplane.ports[0].mtu: 9600 is out of range 576..9000" \
    "$work/err" || fail "mtu error missing: $(cat "$work/err")"
grep -qF "$work/bad.yaml:$rate_line:9: control.rate: '900X' is not a rate" "$work/err" ||
    fail "rate error missing: $(cat "$work/err")"
[[ $(wc -l <"$work/err") -eq 2 ]] || fail "expected exactly 2 error lines: $(cat "$work/err")"

# A valid and an invalid file: status 1, the valid one still reported ok.
run 1 "$examples/hub.yaml" "$work/bad.yaml"
grep -qxF "$examples/hub.yaml: ok" "$work/out" || fail "valid file not reported ok"

# Malformed YAML: the syntax error with its line.
printf 'dataplane:\n  eal: [0\ncontrol: {}\n' >"$work/syntax.yaml"
run 1 "$work/syntax.yaml"
grep -qE "^$work/syntax.yaml:[0-9]+:[0-9]+: YAML syntax error" "$work/err" ||
    fail "syntax error not reported: $(cat "$work/err")"

# Unreadable: 2, even next to an invalid file.
run 2 "$work/missing.yaml"
grep -qxF "$work/missing.yaml: cannot read: No such file or directory" "$work/err" ||
    fail "missing file not reported: $(cat "$work/err")"
run 2 "$work/bad.yaml" "$work/missing.yaml"
run 2 "$work"
grep -qxF "$work: cannot read: is a directory, not a regular file" "$work/err" ||
    fail "directory not reported: $(cat "$work/err")"

# Not a regular file: refused at once (opening a FIFO must not wait for a
# writer, /dev/zero must not be read), status 2.
mkfifo "$work/fifo.yaml"
run 2 "$work/fifo.yaml"
grep -qxF "$work/fifo.yaml: cannot read: is a FIFO, not a regular file" "$work/err" ||
    fail "FIFO not reported: $(cat "$work/err")"
run 2 /dev/zero
grep -qxF "/dev/zero: cannot read: is a character device, not a regular file" "$work/err" ||
    fail "/dev/zero not reported: $(cat "$work/err")"

# Over the 1 MiB cap (a sparse 50 MB file): refused by its size, status 2.
truncate -s 50M "$work/big.yaml"
run 2 "$work/big.yaml"
grep -qF "$work/big.yaml: cannot read: is 52428800 bytes, more than the 1048576-byte" "$work/err" ||
    fail "oversized file not reported: $(cat "$work/err")"

# 1 MiB of '[': a nesting error (status 1), not a crash.
head -c 1048576 /dev/zero | tr '\0' '[' >"$work/deep.yaml"
run 1 "$work/deep.yaml"
grep -qE "^$work/deep.yaml:1:[0-9]+: lists and mappings nested more than 64 deep" "$work/err" ||
    fail "deep nesting not reported: $(cat "$work/err")"

# Usage: no FILE.
run 2
grep -qF "no FILE given" "$work/err" || fail "usage message missing"

echo "check_cli: all cases passed"
