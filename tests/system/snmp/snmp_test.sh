#!/usr/bin/env bash
# A real snmpd walks a Skycast receiver node's SKYCAST-MIB through the
# node's AgentX subagent (skycast-snmp), and a real snmptrapd receives its
# notifications, in the network-namespace lab:
#
#   snmp_test.sh [--name LAB] [--keep] BUILD_DIR
#
# In rcv1's namespace: the Skycast receiver (dataplane + control), snmpd as
# AgentX master (UDP 127.0.0.1:1161, its AgentX socket in the work folder,
# trap2sink to 127.0.0.1:1162), snmptrapd on 1162, and skycast-snmp polling
# the node every second. Stock `uftp` in the hub sends. Pass:
#   1. snmpget: the node is reachable, a receiver, its dataplane alive;
#   2. after one stock session: skycastOutcomeSessions."completed" >= 1 and
#      skycastCounterValue."storage.bytes" >= the file's size; a walk with
#      SKYCAST-MIB loaded names every instance (net-snmp parses the MIB);
#   3. a session the stock sender aborts (SIGINT mid-file): snmptrapd gets
#      skycastSessionFailed with outcome "aborted by server";
#   4. the dataplane killed: skycastDataplaneLost, and skycastNodeReachable
#      or skycastDataplaneAlive false; a new dataplane: the control process
#      re-attaches and skycastDataplaneRestored arrives.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
lab_sh="$root/scripts/lab.sh"
lab=snmp
keep=0
build_dir=
while (($#)); do
    case $1 in
    --name) lab=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --*) echo "snmp_test.sh: unknown option $1" >&2; exit 2 ;;
    *) build_dir=$1; shift ;;
    esac
done
[[ -n $build_dir ]] || { echo "snmp_test.sh: BUILD_DIR missing" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "snmp_test.sh: run as root" >&2; exit 2; }
for tool in snmpd snmptrapd snmpget snmpwalk uftp; do
    command -v $tool > /dev/null ||
        { echo "snmp_test.sh: SKIP: $tool missing (scripts/install-deps.sh)" >&2; exit 77; }
done
build_dir=$(cd "$build_dir" && pwd)
dataplane_bin="$build_dir/dataplane/app/skycast-dataplane"
control_bin="$build_dir/control/skycast-control"
snmp_bin="$build_dir/control/skycast-snmp"
skycast_bin="$build_dir/control/skycast"
mib_dirs="$root/control/snmp/base-mibs:$root/control/snmp"
# shellcheck source=scripts/lab/skycast.sh
source "$root/scripts/lab/skycast.sh"

work=$(mktemp -d /tmp/skycast-snmp-XXXXXX)
logs="$work/logs"
mkdir -p "$logs" "$work/received"
pids=()
dataplane_pid=
fail() { echo "snmp_test.sh: FAIL: $*" >&2; exit 1; }
# shellcheck disable=SC2317 # the EXIT trap
cleanup() {
    local status=$? pid
    ((keep)) && { echo "snmp_test.sh: --keep: lab '$lab' left up; $work"; return; }
    for ((i = ${#pids[@]} - 1; i >= 0; --i)); do kill -TERM "${pids[i]}" 2> /dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2> /dev/null || true
    done
    bash "$lab_sh" down --name "$lab" > /dev/null 2>&1 || true
    rm -f /dev/hugepages/"$lab"-*map_* 2> /dev/null || true
    if ((status != 0)); then
        echo "snmp_test.sh: FAILED; logs kept in $work" >&2
        for f in "$logs"/*; do echo "----- $f (last 25 lines)" >&2; tail -n 25 "$f" >&2; done
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# A command in rcv1's namespace. An array, not a function: a function run
# with & is a subshell, and its PID is not the command's (lab.sh exec keeps
# the command's PID).
in_rcv1=(bash "$lab_sh" exec --name "$lab" rcv1)

bash "$root/scripts/setup-hugepages.sh" 2048 > /dev/null
bash "$lab_sh" up --name "$lab" --receivers 1 --kernel-nodes hub > "$logs/lab-up.log"
eval "$(bash "$lab_sh" env --name "$lab")"
"${in_rcv1[@]}" ip link set lo up

cat > "$work/rcv1.yaml" << YAML
dataplane:
  eal: {lcores: "0@(0-1)", file_prefix: $lab-rcv1, memory_mb: 256}
  ports:
    - {device: "$LAB_RCV_DEVICE", mtu: 9000, address: $LAB_RCV1_CIDR}
  mempool: {mbufs: 4095}
  idle_backoff_us: 20
control:
  role: receiver
  eal: {lcores: "8@(0-1)"}
  uid: 0x0A4D000B
  destination: $work/received
  socket: $work/rcv1.sock
  snmp: {agentx_socket: $work/agentx.sock, poll_interval: 1s}
  log: {level: info, file: $logs/rcv1-control.log}
YAML
"$skycast_bin" check "$work/rcv1.yaml" > /dev/null || { "$skycast_bin" check "$work/rcv1.yaml"; exit 1; }

start_dataplane() {
    "${in_rcv1[@]}" "$dataplane_bin" --config "$work/rcv1.yaml" >> "$logs/rcv1-dataplane.log" 2>&1 &
    dataplane_pid=$!
    pids+=("$dataplane_pid")
}
start_dataplane
"${in_rcv1[@]}" "$control_bin" --config "$work/rcv1.yaml" > "$logs/rcv1-control.out" 2>&1 &
pids+=($!)
sky_wait_node "$work/rcv1.sock" 60 "${pids[-1]}" || fail "the receiver node did not come up"

# snmpd and snmptrapd with their own configuration only (-C), no MIBs of
# their own (-M/-m: Debian ships none), numeric output.
cat > "$work/snmpd.conf" << CONF
master agentx
agentXSocket $work/agentx.sock
agentaddress udp:127.0.0.1:1161
rocommunity skycast 127.0.0.1
trap2sink 127.0.0.1:1162 skycast
CONF
echo "disableAuthorization yes" > "$work/snmptrapd.conf"
"${in_rcv1[@]}" snmptrapd -f -C -c "$work/snmptrapd.conf" -M /dev/null -m "" -On -Lf "$work/traps.log" \
    udp:127.0.0.1:1162 > "$logs/snmptrapd.out" 2>&1 &
pids+=($!)
"${in_rcv1[@]}" snmpd -f -C -c "$work/snmpd.conf" -M /dev/null -m "" -Lf "$logs/snmpd.log" \
    > "$logs/snmpd.out" 2>&1 &
pids+=($!)
"${in_rcv1[@]}" "$snmp_bin" --config "$work/rcv1.yaml" > "$logs/skycast-snmp.out" 2>&1 &
pids+=($!)
snmp_pid=$!

base=.1.3.6.1.4.1.32473
node_reachable=$base.1.1.4.0
dataplane_alive=$base.1.1.5.0
node_role=$base.1.1.2.0
# text_index TEXT: a DisplayString table index (length, then each byte).
text_index() {
    local s=$1 i out=${#1}
    for ((i = 0; i < ${#s}; i++)); do out+=.$(printf '%d' "'${s:i:1}"); done
    echo "$out"
}
# get OID: the value snmpd answers for OID (numeric, value only), or nothing.
get() { "${in_rcv1[@]}" snmpget -v2c -c skycast -On -Oqv -M /dev/null -m "" 127.0.0.1:1161 "$1" 2> /dev/null || true; }
# wait_get OID PYCOND SECONDS: until the value satisfies PYCOND (over v).
wait_get() {
    local deadline=$((SECONDS + $3)) v=
    while ((SECONDS < deadline)); do
        kill -0 "$snmp_pid" 2> /dev/null || fail "skycast-snmp exited"
        v=$(get "$1")
        if [[ $v =~ ^-?[0-9]+$ ]] && V=$v python3 -c "import os,sys; v=int(os.environ['V']); sys.exit(0 if ($2) else 1)"; then
            echo "$v"
            return 0
        fi
        sleep 0.5
    done
    fail "snmpget $1 never satisfied $2 (last value '$v')"
}
# wait_trap NOTIFICATION_OID PATTERN SECONDS: until snmptrapd logged it with
# PATTERN in the same notification.
wait_trap() {
    local deadline=$((SECONDS + $3))
    while ((SECONDS < deadline)); do
        # snmptrapd writes one notification per two lines: a header, then
        # all its varbinds on one line, which must hold both.
        # (Into a variable, not a pipe into grep -q: with pipefail, an early
        # exit of grep -q fails the pipeline when the writer gets SIGPIPE.)
        local seen
        seen=$(grep -F -- "$base" "$work/traps.log" 2> /dev/null || true)
        if grep -q -- "= OID: $1[[:space:]].*$2" <<< "$seen"; then
            return 0
        fi
        sleep 0.5
    done
    fail "no notification $1 with '$2' in $work/traps.log"
}

# 1. The node as snmpd serves it through the subagent.
wait_get "$node_reachable" 'v == 1' 60 > /dev/null
wait_get "$dataplane_alive" 'v == 1' 30 > /dev/null
[[ $(get "$node_role") == 2 ]] || fail "skycastNodeRole is '$(get "$node_role")', not receiver(2)"
echo "snmp_test: 1. reachable, receiver, dataplane alive"

# 2. One stock session; the outcome table and a dataplane counter follow.
head -c 3000000 /dev/urandom > "$work/payload.bin"
rc=0
timeout 120 bash "$lab_sh" exec --name "$lab" hub uftp -I "$LAB_HUB_IF" -U 0x0A4D0001 \
    -H 0x0A4D000B -r 0.05:0.01:1 -R 200000 -x 2 "$work/payload.bin" > "$logs/uftp.log" 2>&1 || rc=$?
((rc == 0)) || fail "uftp exited $rc"
cmp -s "$work/payload.bin" "$work/received/payload.bin" || fail "the copy differs"
completed=$(wait_get "$base.1.4.1.2.$(text_index completed)" 'v >= 1' 30)
stored=$(wait_get "$base.1.3.1.2.$(text_index storage.bytes)" 'v >= 3000000' 30)
"${in_rcv1[@]}" snmpwalk -v2c -c skycast -M "$mib_dirs" -m SKYCAST-MIB 127.0.0.1:1161 \
    SKYCAST-MIB::skycastMIB > "$work/walk.txt" 2> "$logs/snmpwalk.err" ||
    fail "snmpwalk with SKYCAST-MIB failed"
grep -q '^SKYCAST-MIB::skycastCounterHelp."storage.bytes" = STRING: .\+' "$work/walk.txt" ||
    fail "the walk has no help text for storage.bytes"
unnamed=$(grep -v '^SKYCAST-MIB::' "$work/walk.txt" || true)
[[ -z $unnamed ]] || fail "instances the MIB does not name: $(head -3 <<< "$unnamed")"
echo "snmp_test: 2. completed=$completed, storage.bytes=$stored, walk of $(wc -l < "$work/walk.txt") named instances"

# 3. A session the stock sender aborts mid-file: skycastSessionFailed.
head -c 20000000 /dev/urandom > "$work/aborted.bin"
bash "$lab_sh" exec --name "$lab" hub uftp -I "$LAB_HUB_IF" -U 0x0A4D0001 -H 0x0A4D000B \
    -r 0.05:0.01:1 -R 20000 "$work/aborted.bin" > "$logs/uftp-abort.log" 2>&1 &
uftp_pid=$!
pids+=("$uftp_pid")
# Mid-file: the receiver holds part of it (its temp file grows).
deadline=$((SECONDS + 60))
until [[ -n $(find "$work/received" -name '.~skycast-*' -size +100k -print -quit 2> /dev/null) ]]; do
    ((SECONDS < deadline)) || fail "the session to abort never started receiving"
    sleep 0.2
done
# lab.sh exec keeps the PID: this is uftp itself, which ABORTs its
# receivers on SIGINT ("Server quit, aborting all").
kill -INT "$uftp_pid"
wait "$uftp_pid" 2> /dev/null || true
wait_trap "$base.0.1" 'aborted by server' 60
echo "snmp_test: 3. skycastSessionFailed (aborted by server) received"

# 4. The dataplane killed: lost; a new one: restored.
kill -KILL "$dataplane_pid"
wait_trap "$base.0.2" 'STRING' 60
wait_get "$dataplane_alive" 'v == 2' 30 > /dev/null
# A new dataplane can set up its memory only once the control process has
# let go of the old one's: it re-executes itself (which drops every mapping)
# and logs that it waits for a dataplane, a second time.
deadline=$((SECONDS + 60))
until (($(grep -c 'waiting for the dataplane (file prefix' "$logs/rcv1-control.log") >= 2)); do
    ((SECONDS < deadline)) || fail "skycast-control did not restart after its dataplane was killed"
    sleep 0.2
done
wait_get "$node_reachable" 'v == 2' 60 > /dev/null
rm -f /dev/hugepages/"$lab"-rcv1map_* 2> /dev/null || true
start_dataplane
wait_trap "$base.0.3" '' 120
wait_get "$dataplane_alive" 'v == 1' 30 > /dev/null
echo "snmp_test: 4. skycastDataplaneLost, then skycastDataplaneRestored"
echo "snmp_test: passed ($(grep -c -F "$base.0." "$work/traps.log") notifications)"
