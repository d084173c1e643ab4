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
#   --expect-fail    exit 0 only if the transfer FAILS
#   --memif          no lab: the hub and ONE receiver both on this host, joined
#                    by net_memif (hub = memif server, receiver = client; the
#                    socket is a file in the work dir), 10.77.0.1 and 10.77.0.11
#   --expect-repair  also require the hub's session to have needed repair
#                    passes (passes > 1 in its result): for --loss runs
#   --expect-nak-lists  also require the hub to have taken NAK lists
#                    (nak_lists_in > 0 in its result: docs/protocol.md §19):
#                    for light --loss, where a list is smaller than a bitmap
#   --fault KIND     kill -9 a process mid-file, restart it, and require: the
#                    first `skycast send` fails (naming the failed receiver
#                    for receiver-control), nothing partial in any destination
#                    under a final name, and a second send succeeding to all.
#                    KIND: receiver-control (rcv1's skycast-control) or
#                    hub-dataplane (the hub's skycast-dataplane)
#   --link "OPTS"    put the satellite link emulator between the hub and the
#                    bridge (lab.sh --link; OPTS are skycast-linkem's, e.g.
#                    "--delay 250ms --rate 1G --loss 1"); its counters are
#                    printed at the end
#   --fec K[:PCT[:LOSS]]  the hub sends FEC parity over groups of K blocks,
#                    PCT % of them with the first pass, and at least what a
#                    LOSS % loss at each receiver asks for (control.fec,
#                    expected_loss; docs/protocol.md §17); the receivers decode it
#   --control-copies N   every node sends each control datagram N times
#                    (control.control_copies; 2 on lossy links)
#   --fast-start     the hub's FILEINFO goes out with its ANNOUNCE, not after
#                    the REGISTERs (control.fast_start, docs/protocol.md §21)
#   --no-flush       receivers report a file complete once it is in the page
#                    cache, as stock uftpd does (dataplane.flush_before_complete:
#                    false; the default flushes it to disk first)
#   --report FILE    write what the (last) send measured as JSON: the send's
#                    exit status and wall seconds, the hub's session (passes,
#                    bytes, bytes_sent), CPU-seconds of every node's
#                    processes and the host's busy share during the send
#                    (scripts/lab/cpu_usage.py), and the link emulator's
#                    counters (perf/e2e compares this with stock UFTP)
#   --during PROG    run PROG NODE=SOCKET... (every node's control socket)
#                    while `skycast send` runs; it gets SIGTERM when the
#                    send ends, its output is shown, and a non-zero exit
#                    fails the run (perf/stats_latency uses it)
#   --fault-at FRAC  when to kill: once the hub sent FRAC of the big file
#                    (tx.fileseg.bytes; default 0.5). The kill cannot miss
#                    the file: the hub's pacer sends at most --rate, so the
#                    rest of the file takes at least (1-FRAC)*big/rate
#                    seconds, and the wait sees the point within one poll
#                    (20 ms) plus one stats answer; the run checks that this
#                    window was at least 10 times what the wait measured.
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
transport=af_packet
expect_repair=0
expect_nak_lists=0
fault=
fault_at=0.5
during=
link=
report=
flush_before_complete=true
fec=
fast_start=0
control_copies=1

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
    --memif) transport=memif; shift ;;
    --expect-repair) expect_repair=1; shift ;;
    --expect-nak-lists) expect_nak_lists=1; shift ;;
    --fault) fault=$2; shift 2 ;;
    --fault-at) fault_at=$2; shift 2 ;;
    --during) during=$2; shift 2 ;;
    --link) link=$2; shift 2 ;;
    --fec) fec=$2; shift 2 ;;
    --control-copies) control_copies=$2; shift 2 ;;
    --report) report=$2; shift 2 ;;
    --fast-start) fast_start=1; shift ;;
    --no-flush) flush_before_complete=false; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ $EUID -eq 0 ]] || { echo "demo.sh: run as root (namespaces, hugepages)" >&2; exit 2; }
case $fault in
"" | receiver-control | hub-dataplane) ;;
*) echo "demo.sh: --fault $fault: use receiver-control or hub-dataplane" >&2; exit 2 ;;
esac
if [[ $transport == memif ]]; then
    ((receivers == 1)) || { echo "demo.sh: --memif pairs a hub with one receiver (--receivers 1)" >&2; exit 2; }
    [[ $loss == 0 ]] || { echo "demo.sh: --loss needs the namespace lab, not --memif" >&2; exit 2; }
    [[ -z $link ]] || { echo "demo.sh: --link needs the namespace lab, not --memif" >&2; exit 2; }
fi
if [[ -n $fault ]] && ((${#files[@]} != 0)); then
    echo "demo.sh: --fault uses the sample set (its big file); no --files" >&2; exit 2
fi

say() { printf '\n== %s\n' "$*"; }

if [[ -z "$build_dir" ]]; then
    say "installing packages and building"
    bash "$root/scripts/install-deps.sh"
    build_dir="$root/build"
    if [[ ! -f "$build_dir/build.ninja" ]]; then
        meson setup "$build_dir" "$root" >/dev/null
    fi
    ninja -C "$build_dir" dataplane/app/skycast-dataplane control/skycast-control control/skycast \
        perf/linkem/skycast-linkem
fi
build_dir=$(cd "$build_dir" && pwd)
dataplane_bin="$build_dir/dataplane/app/skycast-dataplane"
control_bin="$build_dir/control/skycast-control"
skycast_bin="$build_dir/control/skycast"
# shellcheck source=lab/skycast.sh
source "$root/scripts/lab/skycast.sh"
for b in "$dataplane_bin" "$control_bin" "$skycast_bin"; do
    [[ -x "$b" ]] || { echo "demo.sh: $b not built" >&2; exit 2; }
done

work=$(mktemp -d /tmp/skycast-demo-XXXXXX)
# The PIDs of what runs now, by node: restarts (--fault) replace them here.
declare -A dataplane_pid=() control_pid=()
nodes=(hub)
for ((i = 1; i <= receivers; ++i)); do nodes+=("rcv$i"); done
send_pid=
send_seconds=0
during_pid=
lab_up=0
cleanup() {
    local status=$?
    if ((keep)); then
        echo "demo.sh: --keep: lab '$lab' and processes left up; work dir $work"
        return
    fi
    local node
    [[ -n $send_pid ]] && sky_stop_pid "$send_pid" 1
    [[ -n $during_pid ]] && sky_stop_pid "$during_pid" 1
    # Every node's last stats (counters, session, history), for the logs.
    for node in "${nodes[@]}"; do
        timeout 5 "$skycast_bin" stats --json --socket "$work/$node.sock" \
            > "$work/logs/$node-stats.json" 2>&1 || true
    done
    # Receivers first, control before its dataplane, one at a time: with
    # memif the server (hub) must outlive its client, or the PMD may crash
    # on its way out (a memif PMD behaviour on DPDK 22.11).
    local code
    for ((n = ${#nodes[@]} - 1; n >= 0; --n)); do
        node=${nodes[n]}
        if [[ -n ${control_pid[$node]:-} ]]; then
            sky_stop_pid "${control_pid[$node]}"
            code=${sky_stop_status:?}
            echo "$node control exit $code" >> "$work/logs/exit-codes"
        fi
        if [[ -n ${dataplane_pid[$node]:-} ]]; then
            sky_stop_pid "${dataplane_pid[$node]}"
            code=${sky_stop_status:?}
            echo "$node dataplane exit $code" >> "$work/logs/exit-codes"
            if [[ $transport == memif && $code == 139 ]]; then
                echo "demo.sh: note: $node dataplane crashed at shutdown (SIGSEGV, the known" \
                     "memif PMD teardown crash); ignored" >&2
            fi
        fi
    done
    ((lab_up)) && { bash "$root/scripts/lab.sh" down --name "$lab" >/dev/null 2>&1 || true; }
    if ((status != 0)); then
        echo "demo.sh: logs of the failed run are in $work/logs" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

mkdir -p "$work/logs" "$work/keys"
bash "$root/scripts/setup-hugepages.sh" 2048 >/dev/null
if [[ $transport == memif ]]; then
    say "memif: hub (server) and one receiver (client) on this host"
    memif_args="socket=$work/memif.sock,socket-abstract=no"
    LAB_HUB_DEVICE="net_memif0,role=server,$memif_args"
    LAB_RCV_DEVICE="net_memif0,role=client,$memif_args"
    LAB_HUB_CIDR=10.77.0.1/24
    LAB_RCV1_CIDR=10.77.0.11/24 # read as ${!cidr_var} below
    : "$LAB_RCV1_CIDR"
    # No `mac:` override: the memif PMD cannot set one (ENOTSUP); its own
    # MAC serves.
else
    say "bringing up the lab: hub + $receivers receivers"
    lab_up=1
    bash "$root/scripts/lab.sh" up --name "$lab" --receivers "$receivers" --loss "$loss" \
        ${link:+--link "$link" --linkem "$build_dir/perf/linkem/skycast-linkem"}
    eval "$(bash "$root/scripts/lab.sh" env --name "$lab")"
fi

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
    - device: "$LAB_HUB_DEVICE"
      mtu: 9000
      address: $LAB_HUB_CIDR
  mempool: {mbufs: 4095}
  idle_backoff_us: 20
control:
  role: sender
  eal: {lcores: "8@(0-1)"}
  rate: $rate
  block_size: $block
  grtt: {initial: 50ms, min: 10ms, max: 2s}
  control_copies: $control_copies
$( ((fast_start)) && echo "  fast_start: true")
  clients:
$(for ((i = 1; i <= receivers; ++i)); do printf '    - uid: 0x0A4D%04X\n' $((10 + i)); done)
  socket: $work/hub.sock
  log: {level: info, file: $work/logs/hub-control.log}
$encryption_hub
$([[ -n $fec ]] && IFS=: read -r fec_k fec_pct fec_loss <<< "$fec" &&
    printf '  fec: {group_blocks: %s, proactive: "%s%%", expected_loss: "%s%%"}\n' "$fec_k" \
        "${fec_pct:-0}" "${fec_loss:-0}")
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
    - device: "$LAB_RCV_DEVICE"
      mtu: 9000
      address: ${!cidr_var}
  mempool: {mbufs: 4095}
  idle_backoff_us: 20
  flush_before_complete: $flush_before_complete
control:
  role: receiver
  eal: {lcores: "8@(0-1)"}
  destination: $work/rcv$i/received
  temp_dir: $work/rcv$i/incoming
  servers: [{uid: $hub_uid}]
  control_copies: $control_copies
  socket: $work/rcv$i.sock
  log: {level: info, file: $work/logs/rcv$i-control.log}
$encryption_rcv
YAML
done
for f in "$work"/*.yaml; do
    "$skycast_bin" check "$f" >/dev/null || { "$skycast_bin" check "$f"; exit 2; }
done

# --- Start every node ------------------------------------------------------------
# In the lab, a node's processes run in its namespace (`lab.sh exec` keeps the
# PID); with memif, on this host.
run_on() { # NODE CMD...
    local node=$1
    shift
    if [[ $transport == memif ]]; then
        exec "$@"
    fi
    exec bash "$root/scripts/lab.sh" exec --name "$lab" "$node" "$@"
}
start_dataplane() { # NODE
    (run_on "$1" "$dataplane_bin" --config "$work/$1.yaml") >> "$work/logs/$1-dataplane.log" 2>&1 &
    dataplane_pid[$1]=$!
}
start_control() { # NODE
    (run_on "$1" "$control_bin" --config "$work/$1.yaml") >> "$work/logs/$1-control.out" 2>&1 &
    control_pid[$1]=$!
}
wait_nodes() { # SECONDS
    local node
    for node in "${nodes[@]}"; do
        sky_wait_node "$work/$node.sock" "$1" "${control_pid[$node]}" ||
            { echo "demo.sh: node $node did not come up; see $work/logs" >&2; return 1; }
    done
}
say "starting the hub and the receivers (dataplane + control each)"
# The hub's dataplane first: with memif it is the server the receiver's
# client connects to.
for node in "${nodes[@]}"; do
    start_dataplane "$node"
    start_control "$node"
    if [[ $transport == memif && $node == hub ]]; then
        # The memif client's port start fails (EPERM) if the server's socket
        # is not there yet: wait for the hub to create it.
        for _ in $(seq 300); do [[ -S "$work/memif.sock" ]] && break; sleep 0.1; done
        [[ -S "$work/memif.sock" ]] ||
            { echo "demo.sh: the hub's memif socket did not appear; see $work/logs" >&2; exit 1; }
    fi
done
wait_nodes 30 || exit 1

# --- Send ----------------------------------------------------------------------------
# send_files LOG: `skycast send` of every path, output shown as it comes and
# kept in LOG; returns its exit status. At most 10 minutes: a hung session
# fails the run.
send_files() {
    local log=$1 status=0 started
    started=$(date +%s.%N)
    timeout 600 "$skycast_bin" send --socket "$work/hub.sock" "${files[@]}" \
        > >(tee "$log") 2>&1 &
    send_pid=$!
    wait "$send_pid" || status=$?
    # The send's wall time, from its start to its exit (what perf/e2e
    # compares with stock uftp's, measured the same way): not the tee's
    # pause below nor the CPU snapshots around it.
    send_seconds=$(echo "$(date +%s.%N) - $started" | bc)
    send_pid=
    sleep 0.2 # let tee write the last lines
    return "$status"
}

# verify_all MODE: every receiver's destination against the sources
# (sky_verify_dest); in full mode also no temp files left behind.
verify_all() {
    local mode=$1 status=0 leftovers
    for ((i = 1; i <= receivers; ++i)); do
        local bad=0
        sky_verify_dest "rcv$i" "$work/rcv$i/received" "$mode" "${files[@]}" || bad=1
        if [[ $mode == full ]]; then
            leftovers=$(find "$work/rcv$i/incoming" -type f | wc -l)
            if ((leftovers != 0)); then
                echo "  rcv$i: $leftovers temp file(s) left in incoming/"; bad=1
            fi
        fi
        if ((bad)); then
            status=1
            echo "rcv$i: FAILED"
        elif [[ $mode == full ]]; then
            echo "rcv$i: every file byte-identical"
        else
            echo "rcv$i: nothing partial under a final name" \
                 "($(find "$work/rcv$i/incoming" -type f | wc -l) file(s) in its temp_dir)"
        fi
    done
    return "$status"
}

fault_status=0
if [[ -n $fault ]]; then
    big_bytes=$((big_mb * 1048576))
    threshold=$(python3 -c "print(int($big_bytes * $fault_at))")
    # The shortest time the rest of the big file can take on the wire: the
    # pacer never exceeds the rate (rate_bits: "100M" -> 100000000).
    window=$(python3 -c "
import re, sys
m = re.fullmatch(r'([0-9]+(?:\.[0-9]+)?)([kKmMgGtT]?)', '$rate')
bits = float(m.group(1)) * {'': 1, 'k': 1e3, 'm': 1e6, 'g': 1e9, 't': 1e12}[m.group(2).lower()] if m else 0
if bits <= 0:
    sys.exit('demo.sh: --fault needs a --rate like 100M (bits/s, K/M/G/T), got $rate')
print(f'{(1 - $fault_at) * $big_bytes * 8 / bits:.3f}')")
    say "fault run ($fault): skycast send, kill -9 once the hub sent $threshold bytes" \
        "(the rest of the file takes at least $window s at $rate)"
    timeout 240 "$skycast_bin" send --socket "$work/hub.sock" "${files[@]}" \
        > "$work/logs/send-1.out" 2>&1 &
    send_pid=$!
    if ! sky_wait_stat "$work/hub.sock" \
        "s['dataplane']['counters'].get('tx.fileseg.bytes', 0) >= $threshold" 120 \
        "$work/logs/fault-wait" > "$work/logs/fault-point.json"; then
        echo "demo.sh: the hub never sent $threshold file bytes; see $work/logs" >&2
        exit 1
    fi
    if ! kill -0 "$send_pid" 2>/dev/null; then
        echo "demo.sh: the session ended before the fault could be injected although the" \
             "rest of the file needs $window s at $rate; the wait measured:" \
             "$(cat "$work/logs/fault-wait")" >&2
        exit 1
    fi
    # The condition became true between the wait's last two answers, so it
    # was seen at most that gap late: the window must dwarf it, or the kill
    # could land after the file.
    if ! python3 - "$work/logs/fault-wait" "$window" <<'PY'
import sys
fields = dict(kv.split("=") for kv in open(sys.argv[1]).read().split())
late = float(fields["last_gap_s"])
window = float(sys.argv[2])
if window < 10 * late:
    sys.exit(f"demo.sh: the fault window ({window} s) is under 10x the wait's "
             f"measured lateness ({late:.3f} s): raise --big or lower --rate")
PY
    then
        exit 1
    fi
    case $fault in
    receiver-control) victim=rcv1 kind=control ;;
    hub-dataplane) victim=hub kind=dataplane ;;
    esac
    if [[ $kind == control ]]; then pid=${control_pid[$victim]}; else pid=${dataplane_pid[$victim]}; fi
    kill -KILL "$pid"
    echo "killed $victim's skycast-$kind (PID $pid) with SIGKILL once the hub reported" \
         "tx.fileseg.bytes=$(python3 -c "import json,sys; print(json.load(sys.stdin)['dataplane']['counters'].get('tx.fileseg.bytes'))" \
                             < "$work/logs/fault-point.json") (wait: $(cat "$work/logs/fault-wait"))"
    wait "$pid" 2>/dev/null || true
    if [[ $kind == control ]]; then
        control_pid[$victim]=
        echo "restarting $victim's skycast-control"
        start_control "$victim"
    else
        dataplane_pid[$victim]=
        # Like a supervisor (systemd Restart=on-failure): a new primary
        # cannot initialise its EAL while the old one's secondary (our
        # control) is still attached to its memory, so retry until one stays
        # up for 2 s.
        for attempt in $(seq 60); do
            echo "restarting $victim's skycast-dataplane (attempt $attempt)"
            start_dataplane "$victim"
            sleep 2
            kill -0 "${dataplane_pid[$victim]}" 2>/dev/null && break
            wait "${dataplane_pid[$victim]}" 2>/dev/null || true
            dataplane_pid[$victim]=
        done
        [[ -n ${dataplane_pid[$victim]} ]] ||
            { echo "demo.sh: FAULT CHECK: the hub dataplane never came back up" >&2; fault_status=1; }
    fi
    send1_status=0
    wait "$send_pid" || send1_status=$?
    send_pid=
    cat "$work/logs/send-1.out"
    if ((send1_status == 0)); then
        echo "demo.sh: FAULT CHECK: the first skycast send exited 0 despite the fault" >&2
        fault_status=1
    elif ((send1_status == 124)); then
        echo "demo.sh: FAULT CHECK: the first skycast send hung (timed out)" >&2
        fault_status=1
    fi
    if [[ $fault == receiver-control ]]; then
        # The killed receiver must be reported failed, with why: the line is
        # "receiver UID: OUTCOME[: reason]", e.g. "lost (stopped answering)".
        rcv1_uid=$(printf '0x0A4D%04X' 11)
        line=$(grep -i "receiver $rcv1_uid:" "$work/logs/send-1.out" || true)
        outcome=${line#*"$rcv1_uid: "}
        if [[ -z $line || -z $outcome || $outcome == completed* ]]; then
            echo "demo.sh: FAULT CHECK: rcv1 ($rcv1_uid) not reported failed with a reason: '$line'" >&2
            fault_status=1
        fi
    fi
    say "after the failed session: nothing partial in any destination"
    verify_all no-partial || fault_status=1
    say "waiting for every node to answer again"
    nodes_back=1
    wait_nodes 60 || { fault_status=1; nodes_back=0; }
    if [[ $fault == hub-dataplane ]] && ((nodes_back)); then
        # The hub's control must have re-attached to the NEW dataplane.
        sky_wait_stat "$work/hub.sock" "s['dataplane']['pid'] == ${dataplane_pid[hub]}" 60 >/dev/null ||
            { echo "demo.sh: FAULT CHECK: hub control did not re-attach to the restarted dataplane" >&2
              fault_status=1; }
    fi
    say "second session: skycast send ${files[*]}"
else
    say "skycast send ${files[*]}"
fi
if [[ -n $during ]]; then
    during_args=()
    for node in "${nodes[@]}"; do during_args+=("$node=$work/$node.sock"); done
    "$during" "${during_args[@]}" &
    during_pid=$!
fi
# cpu_snapshot NAME: every node process's CPU time and the host's, for --report.
cpu_snapshot() {
    [[ -n $report ]] || return 0
    local node node_pids=()
    for node in "${nodes[@]}"; do node_pids+=("${dataplane_pid[$node]}" "${control_pid[$node]}"); done
    python3 "$root/scripts/lab/cpu_usage.py" snapshot "$work/logs/cpu-$1.json" "${node_pids[@]}"
}
cpu_snapshot before
send_status=0
send_files "$work/logs/send.out" || send_status=$?
cpu_snapshot after
if [[ -n $report ]]; then
    session=$(sky_stat "$work/hub.sock" "s['history'][-1]" || echo null)
    # The link emulator rewrites its counters every 200 ms: let the last
    # frames of the session reach the file.
    [[ -n $link ]] && sleep 0.5
    python3 - "$root" "$work" "$send_status" "$session" "${LAB_LINK_STATS:-}" "$send_seconds" \
        > "$report" <<'PY'
import json, subprocess, sys
root, work, status, session, link_stats, send_seconds = sys.argv[1:7]
usage = json.loads(subprocess.check_output(
    ["python3", f"{root}/scripts/lab/cpu_usage.py", "diff",
     f"{work}/logs/cpu-before.json", f"{work}/logs/cpu-after.json"]))
link = json.load(open(link_stats)) if link_stats else None
# "seconds": the send's own wall time; CPU figures stay over the snapshots.
usage["snapshot_seconds"] = usage.get("seconds")
usage["seconds"] = float(send_seconds)
print(json.dumps({"send_status": int(status), **usage, "session": json.loads(session),
                  "link": link}))
PY
fi
during_status=0
if [[ -n $during_pid ]]; then
    kill -TERM "$during_pid" 2>/dev/null || true
    wait "$during_pid" || during_status=$?
    during_pid=
    ((during_status == 0)) || echo "demo.sh: --during $during exited $during_status" >&2
fi

repair_status=0
if ((expect_repair)); then
    # `passes` counts one pass per file with data (a clean session has as
    # many as it has non-empty files); each repair round adds one, and adds
    # the resent bytes to bytes_sent beyond the session's bytes.
    data_files=$(find "${files[@]}" -type f -size +0 | wc -l)
    passes=$(sky_stat "$work/hub.sock" "s['history'][-1]['passes']" || echo 0)
    resent=$(sky_stat "$work/hub.sock" \
        "s['history'][-1]['bytes_sent'] - s['history'][-1]['bytes']" || echo 0)
    if ((passes > data_files && resent > 0)); then
        echo "repair: the hub's last session needed $passes passes for $data_files files" \
             "with data, $resent bytes resent"
    else
        echo "demo.sh: REPAIR CHECK: expected passes > $data_files and bytes resent > 0 in the" \
             "hub's last session (stats history), got passes $passes, resent $resent" >&2
        repair_status=1
    fi
    line_passes=$(sed -nE 's/^(success|FAILED): .*, ([0-9]+) passes, .*/\2/p' "$work/logs/send.out")
    ((${line_passes:-0} > data_files)) ||
        { echo "demo.sh: REPAIR CHECK: skycast send's result line shows ${line_passes:-no}" \
               "passes for $data_files files with data: no repair pass" >&2
          repair_status=1; }
fi

if ((expect_nak_lists)); then
    nak_lists=$(sky_stat "$work/hub.sock" "s['history'][-1]['nak_lists_in']" || echo 0)
    if ((nak_lists > 0)); then
        echo "nak lists: the hub took $nak_lists STATUS as NAK lists"
    else
        echo "demo.sh: NAK LIST CHECK: the receivers sent the hub no NAK list" \
             "(nak_lists_in ${nak_lists:-missing} in its last session)" >&2
        repair_status=1
    fi
fi

# --- Verify ----------------------------------------------------------------------------
say "verifying every receiver's copy (SHA-256, mode, mtime, symlinks)"
verify_status=0
verify_all full || verify_status=1

say "summary"
"$skycast_bin" stats --socket "$work/hub.sock" | sed -n '1,40p' || true
if [[ -n $link && -n ${LAB_LINK_STATS:-} && -f $LAB_LINK_STATS ]]; then
    echo "link emulator: $(cat "$LAB_LINK_STATS")"
fi
if ((send_status == 0 && verify_status == 0 && repair_status == 0 && fault_status == 0 &&
      during_status == 0)); then
    echo "demo: SUCCESS: ${#files[@]} path(s) to $receivers receivers, all verified${fault:+ (after fault $fault)}"
    ((expect_fail)) && exit 1
    exit 0
fi
echo "demo: FAILED (skycast send exit $send_status, verification $verify_status," \
     "repair check $repair_status, fault checks $fault_status, --during $during_status)"
((expect_fail)) && exit 0
exit 1
