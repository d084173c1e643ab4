#!/usr/bin/env bash
# System test (suite 'system'): `skycast keys` against the stock UFTP 4.10.2
# tools. Needs uftp, uftpd and uftp_keymgt (Debian package uftp); skipped
# (exit 77) without them. Traffic stays on loopback, ports are random and high,
# and only the processes started here are stopped, by PID.
#
#  1. For keys made by uftp_keymgt, `skycast keys fingerprint` prints the line
#     uftp_keymgt prints (uftp_keymgt writes it to stderr, skycast to stdout).
#  2. For keys made by `skycast keys generate`, uftp_keymgt prints the line
#     skycast printed, and the file is mode 0600.
#  3. Stock uftp/uftpd accept our key files (-k) and a file arrives:
#     RSA-1024 (OAEP premaster) + AES-256-GCM + SHA-256, and ECDH_ECDSA P-256
#     + AES-128-CBC + SHA-256 + client authentication against a host list
#     whose fingerprint comes from `skycast keys fingerprint`.
set -euo pipefail

skycast=$(realpath "${1:?usage: keys_interop_test.sh path/to/skycast}")
for tool in uftp uftpd uftp_keymgt; do
    if ! command -v "$tool" >/dev/null; then
        echo "SKIP: $tool not installed"
        exit 77
    fi
done

work=$(mktemp -d /tmp/skycast-keys-interop.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# 1. Fingerprints of uftp_keymgt's keys.
for spec in rsa:512 rsa:1024 ec:prime256v1 ec:secp384r1 ec:secp521r1 ec:sect163k1; do
    file="keymgt_${spec/:/_}.pem"
    expected=$(uftp_keymgt -g "$spec" "$file" 2>&1 >/dev/null)
    got=$("$skycast" keys fingerprint "$file")
    [[ "$got" == "$expected" ]] || fail "fingerprint of $spec: skycast '$got', uftp_keymgt '$expected'"
    echo "ok: $got"
done

# 2. uftp_keymgt reads the keys skycast generates.
for spec in rsa:512 rsa:2048 ec:prime256v1 ec:secp521r1 ec:sect163k1; do
    file="skycast_${spec/:/_}.pem"
    line=$("$skycast" keys generate "$spec" "$file")
    mode=$(stat -c %a "$file")
    [[ "$mode" == 600 ]] || fail "$file has mode $mode, expected 600"
    keymgt=$(uftp_keymgt "$file" 2>&1 >/dev/null)
    [[ "$keymgt" == "$line" ]] || fail "uftp_keymgt says '$keymgt', skycast said '$line'"
    echo "ok: $line"
done
if "$skycast" keys generate rsa:512 skycast_rsa_512.pem 2>/dev/null; then
    fail "generate overwrote an existing key file"
fi

# 3. Transfers between stock peers holding our keys.
transfer() { # name server_key client_key uftp_options...
    local name=$1 server_key=$2 client_key=$3
    shift 3
    local port=$((20000 + RANDOM % 40000))
    local dest="$work/recv_$name"
    mkdir -p "$dest"
    head -c 200000 /dev/urandom >"payload_$name.bin"
    timeout 90 uftpd -d -p "$port" -U 0x11223344 -D "$dest" -x 3 -k "$client_key" \
        >"uftpd_$name.log" 2>&1 &
    local uftpd_pid=$!
    pids+=("$uftpd_pid")
    sleep 0.5
    local rc=0
    timeout 60 uftp -M 127.0.0.1 -p "$port" -U 0x01020304 -x 3 -k "$server_key" "$@" \
        "payload_$name.bin" >"uftp_$name.log" 2>&1 || rc=$?
    kill "$uftpd_pid" 2>/dev/null || true
    wait "$uftpd_pid" 2>/dev/null || true
    if [[ $rc -ne 0 ]] || ! cmp -s "payload_$name.bin" "$dest/payload_$name.bin"; then
        echo "--- uftp log" >&2
        tail -20 "uftp_$name.log" >&2
        echo "--- uftpd log" >&2
        tail -20 "uftpd_$name.log" >&2
        fail "transfer $name (uftp exit $rc)"
    fi
    echo "ok: transfer $name"
}

"$skycast" keys generate rsa:1024 server_rsa.pem >/dev/null
"$skycast" keys generate rsa:1024 client_rsa.pem >/dev/null
transfer rsa_gcm server_rsa.pem client_rsa.pem -Y aes256-gcm -h sha256

"$skycast" keys generate ec:prime256v1 server_ec.pem >/dev/null
client_line=$("$skycast" keys generate ec:prime256v1 client_ec.pem)
echo "0x11223344|${client_line##*fingerprint: }" >hosts.txt
transfer ecdsa_cbc server_ec.pem client_ec.pem -e ecdh_ecdsa -Y aes128-cbc -h sha256 -c \
    -H @hosts.txt

echo "PASS"
