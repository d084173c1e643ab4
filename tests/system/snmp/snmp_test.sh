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

# shellcheck source=scripts/lab/one_receiver.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/lab/one_receiver.sh"
case ${1:-} in -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac
one_receiver_require snmp_test.sh snmpd snmptrapd snmpget snmpwalk uftp
one_receiver_init snmp_test.sh snmp "$@"
snmp_bin="$build_dir/control/skycast-snmp"
mib_dirs="$root/control/snmp/base-mibs:$root/control/snmp"
one_receiver_up "  snmp: {agentx_socket: $work/agentx.sock, poll_interval: 1s}"

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
"${rcv1_exec[@]}" snmptrapd -f -C -c "$work/snmptrapd.conf" -M /dev/null -m "" -On -Lf "$work/traps.log" \
    udp:127.0.0.1:1162 > "$logs/snmptrapd.out" 2>&1 &
pids+=($!)
"${rcv1_exec[@]}" snmpd -f -C -c "$work/snmpd.conf" -M /dev/null -m "" -Lf "$logs/snmpd.log" \
    > "$logs/snmpd.out" 2>&1 &
pids+=($!)
"${rcv1_exec[@]}" "$snmp_bin" --config "$work/rcv1.yaml" > "$logs/skycast-snmp.out" 2>&1 &
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
get() { "${rcv1_exec[@]}" snmpget -v2c -c skycast -On -Oqv -M /dev/null -m "" 127.0.0.1:1161 "$1" 2> /dev/null || true; }
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
one_receiver_send_stock "$work/payload.bin"
completed=$(wait_get "$base.1.4.1.2.$(text_index completed)" 'v >= 1' 30)
stored=$(wait_get "$base.1.3.1.2.$(text_index storage.bytes)" 'v >= 3000000' 30)
"${rcv1_exec[@]}" snmpwalk -v2c -c skycast -M "$mib_dirs" -m SKYCAST-MIB 127.0.0.1:1161 \
    SKYCAST-MIB::skycastMIB > "$work/walk.txt" 2> "$logs/snmpwalk.err" ||
    fail "snmpwalk with SKYCAST-MIB failed"
grep -q '^SKYCAST-MIB::skycastCounterHelp."storage.bytes" = STRING: .\+' "$work/walk.txt" ||
    fail "the walk has no help text for storage.bytes"
unnamed=$(grep -v '^SKYCAST-MIB::' "$work/walk.txt" || true)
[[ -z $unnamed ]] || fail "instances the MIB does not name: $(head -3 <<< "$unnamed")"
echo "snmp_test: 2. completed=$completed, storage.bytes=$stored, walk of $(wc -l < "$work/walk.txt") named instances"

# 3. A session the stock sender aborts mid-file: skycastSessionFailed.
one_receiver_start_slow_send aborted.bin "$logs/uftp-abort.log"
# lab.sh exec keeps the PID: this is uftp itself, which ABORTs its
# receivers on SIGINT ("Server quit, aborting all").
kill -INT "$uftp_pid"
wait "$uftp_pid" 2> /dev/null || true
wait_trap "$base.0.1" 'aborted by server' 60
echo "snmp_test: 3. skycastSessionFailed (aborted by server) received"

# 4. The dataplane killed: lost; a new one: restored.
kill -KILL "$rcv1_dataplane_pid"
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
one_receiver_start_dataplane
wait_trap "$base.0.3" '' 120
wait_get "$dataplane_alive" 'v == 1' 30 > /dev/null
echo "snmp_test: 4. skycastDataplaneLost, then skycastDataplaneRestored"
echo "snmp_test: passed ($(grep -c -F "$base.0." "$work/traps.log") notifications)"
