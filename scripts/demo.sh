#!/usr/bin/env bash
# The main job: a real Skycast transfer in a network-namespace lab, from a
# fresh Debian 12 machine, as root, with nothing to prepare by hand.
#
#   scripts/demo.sh [--receivers N] [--files PATH...] [--encrypt SUITE]
#                   [--loss PCT] [--block BYTES] [--rate RATE] [--big MB]
#
# It installs what it needs and builds (scripts/install-deps.sh, meson/ninja
# into build/), reserves hugepages, brings the lab up (scripts/lab.sh: a hub
# and N receivers on a bridge, MTU 9000), starts skycast-dataplane and
# skycast-control on every node, sends a sample set of files (or PATH...)
# with `skycast send`, checks every received file against its source by
# SHA-256 (and mode, mtime and symlink target), prints a summary, and tears
# the lab down again, even after a failure.
#
# --encrypt SUITE: aes256-gcm (the default suite when encrypting), aes128-gcm,
#   aes128-ccm, aes256-ccm, aes256-cbc, aes128-cbc: ECDH-ECDSA key exchange
#   with P-256 keys generated for the hub and every receiver.
# Options for tests and development:
#   --build-dir DIR  use an existing build (skips installing and building)
#   --name PREFIX    lab name (default "demo")
#   --keep           leave the lab and processes up at the end (for poking)
#   --expect-fail    exit 0 only if the transfer FAILS (for fault tests)
# Exit status: 0 when every receiver holds every file byte-identical.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
receivers=3
files=()
encrypt=none
loss=0
block=8800
rate=400M
big_mb=64
build_dir=
lab=demo
keep=0
expect_fail=0

while (($#)); do
    case $1 in
    --receivers) receivers=$2; shift 2 ;;
    --files)
        shift
        while (($#)) && [[ $1 != --* ]]; do files+=("$1"); shift; done
        ;;
    --encrypt) encrypt=$2; shift 2 ;;
    --loss) loss=$2; shift 2 ;;
    --block) block=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --big) big_mb=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --name) lab=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --expect-fail) expect_fail=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ $EUID -eq 0 ]] || { echo "demo.sh: run as root (namespaces, hugepages)" >&2; exit 2; }

say() { printf '\n== %s\n' "$*"; }

if [[ -z "$build_dir" ]]; then
    say "installing packages and building"
    bash "$root/scripts/install-deps.sh"
    build_dir="$root/build"
    if [[ ! -f "$build_dir/build.ninja" ]]; then
        meson setup "$build_dir" "$root" >/dev/null
    fi
    ninja -C "$build_dir" dataplane/app/skycast-dataplane control/skycast-control control/skycast
fi
build_dir=$(cd "$build_dir" && pwd)
dataplane_bin="$build_dir/dataplane/app/skycast-dataplane"
control_bin="$build_dir/control/skycast-control"
skycast_bin="$build_dir/control/skycast"
for b in "$dataplane_bin" "$control_bin" "$skycast_bin"; do
    [[ -x "$b" ]] || { echo "demo.sh: $b not built" >&2; exit 2; }
done

work=$(mktemp -d /tmp/skycast-demo-XXXXXX)
pids=()
cleanup() {
    local status=$?
    if ((keep)); then
        echo "demo.sh: --keep: lab '$lab' and processes left up; work dir $work"
        return
    fi
    for ((i = ${#pids[@]} - 1; i >= 0; --i)); do
        kill -TERM "${pids[i]}" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    bash "$root/scripts/lab.sh" down --name "$lab" >/dev/null 2>&1 || true
    if ((status != 0)); then
        echo "demo.sh: logs of the failed run are in $work/logs" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

say "bringing up the lab: hub + $receivers receivers"
bash "$root/scripts/setup-hugepages.sh" 2048 >/dev/null
bash "$root/scripts/lab.sh" up --name "$lab" --receivers "$receivers" --loss "$loss"
eval "$(bash "$root/scripts/lab.sh" env --name "$lab")"
mkdir -p "$work/logs" "$work/keys"

# --- The files to send -------------------------------------------------------
if ((${#files[@]} == 0)); then
    say "making the sample set"
    src="$work/sample"
    mkdir -p "$src/tree/a/b" "$src/tree/c"
    : > "$src/empty.bin"
    head -c 1 /dev/urandom > "$src/one.bin"
    head -c 8800 /dev/urandom > "$src/block.bin"
    head -c 8801 /dev/urandom > "$src/block-plus-one.bin"
    head -c $((big_mb * 1048576)) /dev/urandom > "$src/big.bin"
    head -c 100000 /dev/urandom > "$src/tree/a/b/deep.bin"
    echo "hello from the hub" > "$src/tree/c/note.txt"
    chmod 0640 "$src/tree/c/note.txt"
    touch -d '2020-02-02 02:02:02' "$src/tree/a/b/deep.bin"
    ln -s ../c/note.txt "$src/tree/a/link-to-note"
    files=("$src/empty.bin" "$src/one.bin" "$src/block.bin" "$src/block-plus-one.bin"
           "$src/big.bin" "$src/tree")
fi

# --- Configuration -------------------------------------------------------------
encryption_hub=
encryption_rcv=
if [[ $encrypt != none ]]; then
    say "generating keys for an encrypted session ($encrypt, ECDH-ECDSA P-256)"
    "$skycast_bin" keys generate ec:prime256v1 "$work/keys/hub.pem" >/dev/null
    signature=
    [[ $encrypt == *cbc* ]] && signature="    signature: hmac"
    encryption_hub="  encryption:
    keyex: ecdh_ecdsa
    cipher: $encrypt
    hash: sha256
$signature
    private_key: $work/keys/hub.pem"
fi

hub_uid=0x0A4D0001
cat > "$work/hub.yaml" <<YAML
dataplane:
  eal: {lcores: "0@(0-1)", file_prefix: ${lab}-hub, memory_mb: 256}
  ports:
    - {device: "$LAB_HUB_DEVICE", mtu: 9000, address: $LAB_HUB_CIDR}
  mempool: {mbufs: 4095}
  idle_backoff_us: 20
control:
  role: sender
  eal: {lcores: "8@(0-1)"}
  rate: $rate
  block_size: $block
  grtt: {initial: 50ms, min: 10ms, max: 2s}
  clients:
$(for ((i = 1; i <= receivers; ++i)); do printf '    - uid: 0x0A4D%04X\n' $((10 + i)); done)
  socket: $work/hub.sock
  log: {level: info, file: $work/logs/hub-control.log}
$encryption_hub
YAML

for ((i = 1; i <= receivers; ++i)); do
    cidr_var="LAB_RCV${i}_CIDR"
    if [[ $encrypt != none ]]; then
        "$skycast_bin" keys generate ec:prime256v1 "$work/keys/rcv$i.pem" >/dev/null
        encryption_rcv="  encryption:
    private_keys: [$work/keys/rcv$i.pem]"
    fi
    mkdir -p "$work/rcv$i/received" "$work/rcv$i/incoming"
    cat > "$work/rcv$i.yaml" <<YAML
dataplane:
  eal: {lcores: "0@(0-1)", file_prefix: ${lab}-rcv$i, memory_mb: 256}
  ports:
    - {device: "$LAB_RCV_DEVICE", mtu: 9000, address: ${!cidr_var}}
  mempool: {mbufs: 4095}
  idle_backoff_us: 20
control:
  role: receiver
  eal: {lcores: "8@(0-1)"}
  destination: $work/rcv$i/received
  temp_dir: $work/rcv$i/incoming
  servers: [{uid: $hub_uid}]
  socket: $work/rcv$i.sock
  log: {level: info, file: $work/logs/rcv$i-control.log}
$encryption_rcv
YAML
done
for f in "$work"/*.yaml; do
    "$skycast_bin" check "$f" >/dev/null || { "$skycast_bin" check "$f"; exit 2; }
done

# --- Start every node ------------------------------------------------------------
start_node() { # NODE CONFIG
    local node=$1 cfg=$2
    bash "$root/scripts/lab.sh" exec --name "$lab" "$node" \
        "$dataplane_bin" --config "$cfg" > "$work/logs/$node-dataplane.log" 2>&1 &
    pids+=($!)
    bash "$root/scripts/lab.sh" exec --name "$lab" "$node" \
        "$control_bin" --config "$cfg" > "$work/logs/$node-control.out" 2>&1 &
    pids+=($!)
}
say "starting the hub and the receivers (dataplane + control each)"
start_node hub "$work/hub.yaml"
for ((i = 1; i <= receivers; ++i)); do
    start_node "rcv$i" "$work/rcv$i.yaml"
done
# Every control socket answers once its node is attached.
for node in hub $(for ((i = 1; i <= receivers; ++i)); do echo "rcv$i"; done); do
    for _ in $(seq 150); do
        [[ -S "$work/$node.sock" ]] && "$skycast_bin" stats --socket "$work/$node.sock" \
            --json >/dev/null 2>&1 && break
        sleep 0.2
    done
    "$skycast_bin" stats --socket "$work/$node.sock" --json >/dev/null ||
        { echo "demo.sh: node $node did not come up; see $work/logs" >&2; exit 1; }
done

# --- Send ----------------------------------------------------------------------------
say "skycast send ${files[*]}"
send_status=0
"$skycast_bin" send --socket "$work/hub.sock" "${files[@]}" || send_status=$?

# --- Verify ----------------------------------------------------------------------------
say "verifying every receiver's copy (SHA-256, mode, mtime, symlinks)"
verify_status=0
for ((i = 1; i <= receivers; ++i)); do
    dest="$work/rcv$i/received"
    bad=0
    for f in "${files[@]}"; do
        base=$(basename "$f")
        while IFS= read -r -d '' path; do
            rel=${path#"$(dirname "$f")"/}
            copy="$dest/$rel"
            if [[ -L "$path" ]]; then
                [[ -L "$copy" && "$(readlink "$path")" == "$(readlink "$copy")" ]] ||
                    { echo "  rcv$i: $rel: symlink missing or different"; bad=1; }
            elif [[ -f "$path" ]]; then
                if [[ ! -f "$copy" ]]; then
                    echo "  rcv$i: $rel: missing"; bad=1; continue
                fi
                [[ "$(sha256sum < "$path")" == "$(sha256sum < "$copy")" ]] ||
                    { echo "  rcv$i: $rel: content differs"; bad=1; }
                [[ "$(stat -c %Y "$path")" == "$(stat -c %Y "$copy")" ]] ||
                    { echo "  rcv$i: $rel: mtime differs"; bad=1; }
            fi
        done < <(find "$f" -print0)
        : "$base"
    done
    leftovers=$(find "$work/rcv$i/incoming" -type f | wc -l)
    if ((leftovers != 0)); then
        echo "  rcv$i: $leftovers temp file(s) left in incoming/"; bad=1
    fi
    if ((bad)); then
        verify_status=1
        echo "rcv$i: FAILED"
    else
        echo "rcv$i: every file byte-identical"
    fi
done

say "summary"
"$skycast_bin" stats --socket "$work/hub.sock" | sed -n '1,40p' || true
if ((send_status == 0 && verify_status == 0)); then
    echo "demo: SUCCESS: ${#files[@]} path(s) to $receivers receivers, all verified"
    ((expect_fail)) && exit 1
    exit 0
fi
echo "demo: FAILED (skycast send exit $send_status, verification $verify_status)"
((expect_fail)) && exit 0
exit 1
