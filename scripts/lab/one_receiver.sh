# shellcheck shell=bash
# Sourced by the system tests that watch one Skycast receiver node in the
# lab with a real monitoring peer (tests/system/metrics/prometheus_test.sh,
# tests/system/snmp/snmp_test.sh): their command line, their work folder and
# EXIT trap, and the node itself.
#
#   source scripts/lab/one_receiver.sh
#   one_receiver_require NAME TOOL...          # exit 77 (skip) if one is missing
#   one_receiver_init NAME DEFAULT_LAB "$@"   # [--name LAB] [--keep] BUILD_DIR
#   one_receiver_up "  metrics: {port: 9464}"  # extra lines for control:
#
# Sets: root, lab_sh, lab, keep, build_dir, dataplane_bin, control_bin,
# skycast_bin, work, logs, pids (stopped in reverse order by the EXIT trap),
# rcv1_exec (an array: a command in rcv1's namespace; lab.sh exec keeps its
# PID), rcv1_dataplane_pid, and LAB_* from lab.sh env. Defines fail().

one_receiver_require() {
    local name=$1 tool
    shift
    for tool in "$@"; do
        command -v "$tool" > /dev/null ||
            { echo "$name: SKIP: $tool missing (scripts/install-deps.sh)" >&2; exit 77; }
    done
}

one_receiver_init() {
    _or_name=$1
    lab=$2
    shift 2
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    lab_sh="$root/scripts/lab.sh"
    keep=0
    build_dir=
    while (($#)); do
        case $1 in
        --name) lab=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        --*) echo "$_or_name: unknown option $1" >&2; exit 2 ;;
        *) build_dir=$1; shift ;;
        esac
    done
    [[ -n $build_dir ]] || { echo "$_or_name: BUILD_DIR missing" >&2; exit 2; }
    [[ $EUID -eq 0 ]] || { echo "$_or_name: run as root" >&2; exit 2; }
    build_dir=$(cd "$build_dir" && pwd)
    dataplane_bin="$build_dir/dataplane/app/skycast-dataplane"
    control_bin="$build_dir/control/skycast-control"
    skycast_bin="$build_dir/control/skycast"
    # shellcheck source=scripts/lab/skycast.sh
    source "$root/scripts/lab/skycast.sh"
    work=$(mktemp -d "/tmp/skycast-$lab-XXXXXX")
    logs="$work/logs"
    mkdir -p "$logs" "$work/received"
    pids=()
    rcv1_exec=(bash "$lab_sh" exec --name "$lab" rcv1)
    trap _one_receiver_cleanup EXIT
}

fail() { echo "$_or_name: FAIL: $*" >&2; exit 1; }

# shellcheck disable=SC2317 # the EXIT trap
_one_receiver_cleanup() {
    local status=$?
    ((keep)) && { echo "$_or_name: --keep: lab '$lab' left up; $work"; return; }
    sky_stop_pids "${pids[@]}"
    bash "$lab_sh" down --name "$lab" > /dev/null 2>&1 || true
    rm -f /dev/hugepages/"$lab"-*map_* 2> /dev/null || true
    sky_finish_work "$status" "$_or_name" "$work"
}

# one_receiver_start_dataplane: rcv1's dataplane (again, after a kill).
one_receiver_start_dataplane() {
    "${rcv1_exec[@]}" "$dataplane_bin" --config "$work/rcv1.yaml" >> "$logs/rcv1-dataplane.log" 2>&1 &
    rcv1_dataplane_pid=$!
    pids+=("$rcv1_dataplane_pid")
}

# one_receiver_up EXTRA: the lab (rcv1 and a kernel hub), rcv1's YAML with
# EXTRA appended to its control: section, and the node up and answering.
one_receiver_up() {
    bash "$root/scripts/setup-hugepages.sh" 2048 > /dev/null
    bash "$lab_sh" up --name "$lab" --receivers 1 --kernel-nodes hub > "$logs/lab-up.log"
    eval "$(bash "$lab_sh" env --name "$lab")"
    "${rcv1_exec[@]}" ip link set lo up
    {
        sky_dataplane_yaml "$lab-rcv1" "$LAB_RCV_DEVICE" "$LAB_RCV1_CIDR"
        cat << YAML
control:
  role: receiver
  eal: {lcores: "8@(0-1)"}
  uid: 0x0A4D000B
  destination: $work/received
  socket: $work/rcv1.sock
  log: {level: info, file: $logs/rcv1-control.log}
$1
YAML
    } > "$work/rcv1.yaml"
    "$skycast_bin" check "$work/rcv1.yaml" > /dev/null || { "$skycast_bin" check "$work/rcv1.yaml"; exit 1; }
    one_receiver_start_dataplane
    "${rcv1_exec[@]}" "$control_bin" --config "$work/rcv1.yaml" > "$logs/rcv1-control.out" 2>&1 &
    pids+=($!)
    sky_wait_node "$work/rcv1.sock" 60 "${pids[-1]}" || fail "the receiver node did not come up"
}

# one_receiver_send_stock FILE: stock uftp in the hub sends FILE to rcv1
# (closed group, short GRTT); fails the test unless it completes intact.
one_receiver_send_stock() {
    local rc=0
    timeout 120 bash "$lab_sh" exec --name "$lab" hub uftp -I "$LAB_HUB_IF" -U 0x0A4D0001 \
        -H 0x0A4D000B -r 0.05:0.01:1 -R 200000 -x 2 "$1" > "$logs/uftp.log" 2>&1 || rc=$?
    ((rc == 0)) || fail "uftp exited $rc"
    cmp -s "$1" "$work/received/$(basename "$1")" || fail "the copy of $(basename "$1") differs"
}

# one_receiver_start_slow_send NAME LOG: stock uftp in the hub sends a fresh
# 20 MB file NAME (in $work) at 20 Mbit/s, in the background (uftp_pid; in
# pids, so the cleanup stops it); returns once the receiver holds part of it
# (its temp file has grown past 100 kB), i.e. mid-file, about 8 s from its end.
one_receiver_start_slow_send() {
    head -c 20000000 /dev/urandom > "$work/$1"
    bash "$lab_sh" exec --name "$lab" hub uftp -I "$LAB_HUB_IF" -U 0x0A4D0001 -H 0x0A4D000B \
        -r 0.05:0.01:1 -R 20000 "$work/$1" > "$2" 2>&1 &
    uftp_pid=$!
    pids+=("$uftp_pid")
    local deadline=$((SECONDS + 60))
    until [[ -n $(find "$work/received" -name '.~skycast-*' -size +100k -print -quit 2> /dev/null) ]]; do
        ((SECONDS < deadline)) || fail "the session of $1 never started receiving"
        sleep 0.2
    done
}
