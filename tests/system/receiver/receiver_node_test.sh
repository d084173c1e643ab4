#!/usr/bin/env bash
# One Skycast receiver node (rcv1) that takes everything a ground-station
# receiver meets in months of service, without a restart, in the
# network-namespace lab:
#
#   receiver_node_test.sh [--sessions N] [--name LAB] [--keep] BUILD_DIR
#
#  1. N successive sessions from stock `uftp` (hub, a kernel node), each on
#     the random private group stock picks by default; every copy
#     byte-identical, and the node's joined groups back to the public group
#     alone after each session.
#  2. Names from the wire that are not UTF-8 (Latin-1 "caf\xe9.bin") and
#     255-byte names: received, and `skycast stats` still answers (the
#     names shown escaped).
#  3. While a legitimate stock session runs: spoofed ANNOUNCEs for rcv1 with
#     the largest robustness and GRTT the wire carries, ANNOUNCEs for other
#     receivers on many groups, and a flood of them (rcv2, a kernel node).
#     The session completes, one started right after completes too, the
#     spoofed sessions are dropped by register_timeout and counted, and the
#     joined groups return to the public group alone.
#  4. Three senders at once, two stock (hub, rcv2) and one Skycast hub
#     (rcv3), each with its own file, to rcv1 and a second Skycast receiver
#     (rcv4): all three byte-identical at both.
#  5. ABORT reasons that are not UTF-8 (with a terminal escape), forged to
#     the receiver and to a Skycast hub: sessions end, stats and `skycast
#     send` show the text escaped; junk requests on both nodes' sockets are
#     answered with errors and the nodes go on.
#  6. The destination's file system fills up mid-file (a small tmpfs): the
#     stock sender is told "Disk full" by ABORT, nothing incomplete is left
#     under any name, the stats name the cause; the next session succeeds.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lab_sh="$root/scripts/lab.sh"
sessions=30
lab=rnode
keep=0
build_dir=
while (($#)); do
    case $1 in
    --sessions) sessions=$2; shift 2 ;;
    --name) lab=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --*) echo "receiver_node_test.sh: unknown option $1" >&2; exit 2 ;;
    *) build_dir=$1; shift ;;
    esac
done
[[ -n $build_dir ]] || { echo "receiver_node_test.sh: BUILD_DIR missing" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "receiver_node_test.sh: run as root" >&2; exit 2; }
command -v uftp > /dev/null || { echo "receiver_node_test.sh: SKIP: uftp missing" >&2; exit 77; }
build_dir=$(cd "$build_dir" && pwd)
dataplane_bin="$build_dir/dataplane/app/skycast-dataplane"
control_bin="$build_dir/control/skycast-control"
skycast_bin="$build_dir/control/skycast"
# shellcheck source=scripts/lab/skycast.sh
source "$root/scripts/lab/skycast.sh"

work=$(mktemp -d /tmp/skycast-rnode-XXXXXX)
logs="$work/logs"
mkdir -p "$logs" "$work/src"
pids=()
started=$(date +%s.%N)
say() { printf '== [%5.1fs] %s\n' "$(echo "$(date +%s.%N) - $started" | bc)" "$*"; }
fail() { echo "receiver_node_test.sh: FAIL: $*" >&2; exit 1; }

# shellcheck disable=SC2317 # the EXIT trap
cleanup() {
    local status=$?
    if ((keep)); then
        echo "receiver_node_test.sh: --keep: lab '$lab' left up; work dir $work"
        return
    fi
    sky_stop_pids "${pids[@]}"
    bash "$lab_sh" down --name "$lab" > /dev/null 2>&1 || true
    rm -f /dev/hugepages/"$lab"-*map_* 2> /dev/null || true
    umount "$work/rcv1" 2> /dev/null || true
    sky_finish_work "$status" receiver_node_test.sh "$work"
}
trap cleanup EXIT

hub_uid=0x0A4D0001   # stock uftp in hub
rcv1_uid=0x0A4D000B  # the Skycast receiver under test
rcv2_uid=0x0A4D000C  # stock uftp in rcv2 (and the spoofer's host)
rcv3_uid=0x0A4D000D  # a Skycast hub in rcv3
rcv4_uid=0x0A4D000E  # a second Skycast receiver (case 4)
register_timeout=4   # seconds: spoofed handshakes are dropped this fast

bash "$root/scripts/setup-hugepages.sh" 2048 > /dev/null
bash "$lab_sh" up --name "$lab" --receivers 4 --kernel-nodes hub,rcv2 > "$logs/lab-up.log"
eval "$(bash "$lab_sh" env --name "$lab")"

# rcv1's destination and temp_dir on one small file system of their own, so
# that case 5 can fill it (and nothing else).
mkdir -p "$work/rcv1"
mount -t tmpfs -o size=48m skycast-rnode "$work/rcv1"
mkdir -p "$work/rcv1/received" "$work/rcv1/incoming"
dest="$work/rcv1/received"

{
    sky_dataplane_yaml "$lab-rcv1" "$LAB_RCV_DEVICE" "$LAB_RCV1_CIDR"
    cat << YAML
control:
  role: receiver
  eal: {lcores: "8@(0-1)"}
  uid: $rcv1_uid
  destination: $dest
  temp_dir: $work/rcv1/incoming
  max_sessions: 16
  register_timeout: ${register_timeout}s
  socket: $work/rcv1.sock
  log: {level: info, file: $logs/rcv1-control.log}
YAML
} > "$work/rcv1.yaml"
mkdir -p "$work/rcv4/received"
# rcv4's post-receive hooks append their environment to hooks.log, one line
# per hook run (checked in case 4).
cat > "$work/hook.sh" << 'HOOK'
#!/bin/sh
echo "$SKYCAST_EVENT|$SKYCAST_SESSION|$SKYCAST_SENDER|$SKYCAST_NAME|$SKYCAST_SIZE|$SKYCAST_SHA256|$SKYCAST_OUTCOME|$SKYCAST_FILES_COMPLETE" >> "$(dirname "$0")/hooks.log"
echo "hook ran for $SKYCAST_EVENT"
HOOK
chmod +x "$work/hook.sh"
{
    sky_dataplane_yaml "$lab-rcv4" "$LAB_RCV_DEVICE" "$LAB_RCV4_CIDR"
    cat << YAML
control:
  role: receiver
  eal: {lcores: "8@(0-1)"}
  uid: $rcv4_uid
  destination: $work/rcv4/received
  hooks: {file: $work/hook.sh, session: $work/hook.sh, timeout: 30s}
  socket: $work/rcv4.sock
  log: {level: info, file: $logs/rcv4-control.log}
YAML
} > "$work/rcv4.yaml"
{
    sky_dataplane_yaml "$lab-rcv3" "$LAB_RCV_DEVICE" "$LAB_RCV3_CIDR"
    cat << YAML
control:
  role: sender
  eal: {lcores: "8@(0-1)"}
  uid: $rcv3_uid
  rate: 10M
  block_size: 8800
  grtt: {initial: 50ms, min: 50ms, max: 2s}
  clients:
    - uid: $rcv1_uid
    - uid: $rcv4_uid
  socket: $work/rcv3.sock
  log: {level: info, file: $logs/rcv3-control.log}
YAML
} > "$work/rcv3.yaml"
for f in "$work"/rcv1.yaml "$work"/rcv3.yaml "$work"/rcv4.yaml; do
    "$skycast_bin" check "$f" > /dev/null || { "$skycast_bin" check "$f"; exit 1; }
done
start_skycast() { # NODE
    local node=$1
    bash "$lab_sh" exec --name "$lab" "$node" \
        "$dataplane_bin" --config "$work/$node.yaml" > "$logs/$node-dataplane.log" 2>&1 &
    pids+=($!)
    bash "$lab_sh" exec --name "$lab" "$node" \
        "$control_bin" --config "$work/$node.yaml" > "$logs/$node-control.out" 2>&1 &
    pids+=($!)
    sky_wait_node "$work/$node.sock" 60 "${pids[-1]}" || fail "Skycast node $node did not come up"
}
start_skycast rcv1
rcv1_control_pid=${pids[1]}
start_skycast rcv3
start_skycast rcv4
say "nodes up"

# stock_send NODE UID STATUS_FILE [uftp options...] FILE...: stock uftp to
# rcv1 (and the receivers in $stock_hosts) from a kernel node; prints uftp's
# exit status.
stock_hosts=$rcv1_uid
stock_send() {
    local node=$1 uid=$2 status_file=$3 ifname=$LAB_HUB_IF
    shift 3
    [[ $node == rcv2 ]] && ifname=$LAB_RCV_IF
    local rc=0
    timeout 120 bash "$lab_sh" exec --name "$lab" "$node" uftp -I "$ifname" -U "$uid" \
        -H "$stock_hosts" -r 0.05:0.01:1 -x 2 -S "$status_file" "$@" \
        >> "$logs/$node-uftp.log" 2>&1 || rc=$?
    echo "$rc"
}
same() { # SOURCE NAME: the copy at rcv1 is byte-identical
    cmp -s "$1" "$dest/$2" || fail "$dest/$2 differs from $1 (or is missing)"
}
# hostile MESSAGE ARGS...: crafted datagrams from rcv2 (hostile_sender.py).
hostile() {
    local message=$1
    shift
    bash "$lab_sh" exec --name "$lab" rcv2 python3 "$here/hostile_sender.py" "$message" \
        --interface "$LAB_RCV2_ADDR" "$@" >> "$logs/hostile.log" 2>&1
}
groups_joined() { sky_stat "$work/rcv1.sock" 's["receiver"]["groups_joined"]'; }
node_alive() { kill -0 "$rcv1_control_pid" 2> /dev/null || fail "skycast-control of rcv1 died"; }
# The node publishes a session's end before anything else can see it; the
# group is left in the same loop round, so one look after the sender's exit
# plus the publishing interval is enough. Waiting for the condition keeps it
# free of any guess about timing.
wait_groups_idle() {
    sky_wait_stat "$work/rcv1.sock" \
        's["receiver"]["groups_joined"] == 1 and s["receiver"]["sessions_running"] == 0' \
        "$1" > /dev/null || fail "rcv1 still holds $(groups_joined) groups / sessions after $1 s"
}

# --- 1. Successive stock sessions on random private groups -------------------------
say "case 1: $sessions stock sessions, one after the other"
rss_start=$(sky_stat "$work/rcv1.sock" 's["control"]["rss_kib"]')
for ((n = 1; n <= sessions; ++n)); do
    f="$work/src/s$n.bin"
    head -c $((20000 + n * 997)) /dev/urandom > "$f"
    rc=$(stock_send hub "$hub_uid" "$work/s$n.status" "$f")
    ((rc == 0)) || fail "stock session $n: uftp exited $rc"
    same "$f" "s$n.bin"
    # Stock's completion round needs up to robust GRTTs after the sender
    # exits; the node's deadlines bound it: robust (20) x max GRTT (1 s).
    wait_groups_idle 30
    rm -f "$dest/s$n.bin"
done
node_alive
done_count=$(sky_stat "$work/rcv1.sock" 's["sessions_done"]')
((done_count >= sessions)) || fail "rcv1 counted $done_count sessions, expected $sessions"
rss_end=$(sky_stat "$work/rcv1.sock" 's["control"]["rss_kib"]')
say "case 1: $sessions sessions OK, groups back to 1 after each;" \
    "skycast-control resident ${rss_start} KiB before, ${rss_end} KiB after"

# --- 2. Names that are not UTF-8, and 255-byte names -------------------------------
say "case 2: Latin-1 and 255-byte names from stock"
latin1=$(printf 'caf\xe9.bin')
long=$(printf 'n%.0s' $(seq 255))
head -c 5000 /dev/urandom > "$work/src/$latin1"
head -c 7000 /dev/urandom > "$work/src/$long"
rc=$(stock_send hub "$hub_uid" "$work/names.status" "$work/src/$latin1" "$work/src/$long")
((rc == 0)) || fail "names session: uftp exited $rc"
same "$work/src/$latin1" "$latin1"
same "$work/src/$long" "$long"
wait_groups_idle 30
"$skycast_bin" stats --json --socket "$work/rcv1.sock" > "$work/stats-names.json" ||
    fail "skycast stats failed after a Latin-1 name"
grep -q 'caf\\\\xE9.bin' "$work/stats-names.json" ||
    fail "the Latin-1 name is not shown escaped in the stats: $(grep -o 'caf[^"]*' "$work/stats-names.json" | head -1)"
"$skycast_bin" stats --socket "$work/rcv1.sock" > /dev/null || fail "skycast stats (text) failed"
node_alive
say "case 2: OK"

# --- 3. Hostile ANNOUNCEs during a legitimate session -------------------------------
say "case 3: spoofed ANNOUNCEs while a stock session runs"
head -c 6000000 /dev/urandom > "$work/src/legit.bin"
# 48 Mbit over ~10 Mbit/s: the session runs for seconds, the floods land in it.
stock_send hub "$hub_uid" "$work/legit.status" -R 10000 "$work/src/legit.bin" \
    > "$work/legit.rc" &
legit=$!
sky_wait_stat "$work/rcv1.sock" \
    'any(x["state"] == "receiving" for x in s.get("sessions", []))' 30 > /dev/null ||
    fail "the legitimate session never started receiving"
spoof() { hostile announce "$@"; }
# For rcv1, with the largest robust and GRTT: would hold a slot for days.
spoof --count 40 --listed "$rcv1_uid" --first-group 0x5B000000
# For other receivers, each on its own private group: nothing to join.
spoof --count 200 --listed 0x01020304,0x01020305 --first-group 0x5C000000 --private-base 230.7.0.0
# A flood of open-group ANNOUNCEs (every receiver's business).
spoof --count 3000 --first-group 0x5D000000 --private-base 230.8.0.0
joined=$(groups_joined)
((joined <= 17)) || fail "rcv1 joined $joined groups (at most the public one + max_sessions 16)"
wait "$legit" || true
rc=$(cat "$work/legit.rc")
((rc == 0)) || fail "the legitimate session failed during the spoofing: uftp exited $rc"
same "$work/src/legit.bin" legit.bin
head -c 300000 /dev/urandom > "$work/src/after.bin"
rc=$(stock_send hub "$hub_uid" "$work/after.status" "$work/src/after.bin")
((rc == 0)) || fail "the session right after the spoofing failed: uftp exited $rc"
same "$work/src/after.bin" after.bin
# Every spoofed handshake is given up by register_timeout after it began.
wait_groups_idle $((register_timeout * 4 + 10))
ignored=$(sky_stat "$work/rcv1.sock" 's["receiver"]["announces_ignored"]')
timeouts=$(sky_stat "$work/rcv1.sock" 's["receiver"]["handshake_timeouts"] + s["receiver"]["evicted"]')
((ignored >= 200)) || fail "only $ignored ANNOUNCEs for other receivers were counted as ignored"
# The legitimate session held one of the 16 slots: the other 15 (at least)
# were taken by spoofed handshakes, and each of those was dropped since.
((timeouts >= 15)) || fail "only $timeouts spoofed handshakes were dropped (timed out or evicted)"
node_alive
say "case 3: OK (ignored $ignored, handshakes dropped $timeouts)"

# --- 4. Three senders at once ----------------------------------------------------------
say "case 4: stock (hub), stock (rcv2) and a Skycast hub (rcv3) at once"
head -c 4000000 /dev/urandom > "$work/src/from-hub.bin"
head -c 4000000 /dev/urandom > "$work/src/from-rcv2.bin"
head -c 4000000 /dev/urandom > "$work/src/from-rcv3.bin"
stock_hosts="$rcv1_uid,$rcv4_uid"
stock_send hub "$hub_uid" "$work/o1.status" -R 20000 "$work/src/from-hub.bin" > "$work/o1.rc" &
o1=$!
stock_send rcv2 "$rcv2_uid" "$work/o2.status" -R 20000 "$work/src/from-rcv2.bin" > "$work/o2.rc" &
o2=$!
sky_rc=0
timeout 120 "$skycast_bin" send --socket "$work/rcv3.sock" "$work/src/from-rcv3.bin" \
    > "$logs/rcv3-send.log" 2>&1 || sky_rc=$?
wait "$o1" "$o2" || true
((sky_rc == 0)) || fail "the Skycast hub's session failed (skycast send exited $sky_rc)"
(($(cat "$work/o1.rc") == 0)) || fail "stock uftp in hub failed: $(cat "$work/o1.rc")"
(($(cat "$work/o2.rc") == 0)) || fail "stock uftp in rcv2 failed: $(cat "$work/o2.rc")"
same "$work/src/from-hub.bin" from-hub.bin
same "$work/src/from-rcv2.bin" from-rcv2.bin
same "$work/src/from-rcv3.bin" from-rcv3.bin
for f in from-hub.bin from-rcv2.bin from-rcv3.bin; do
    cmp -s "$work/src/$f" "$work/rcv4/received/$f" || fail "rcv4's $f differs (or is missing)"
done
stock_hosts=$rcv1_uid
wait_groups_idle 30
# rcv4's hooks: one per file (with its size and SHA-256) and one per session.
sky_wait_stat "$work/rcv4.sock" 's["hooks"]["succeeded"] >= 6' 60 > /dev/null ||
    fail "rcv4's hooks did not all run: $(sky_stat "$work/rcv4.sock" 's["hooks"]')"
for f in from-hub.bin from-rcv2.bin from-rcv3.bin; do
    sha=$(sha256sum "$work/src/$f" | cut -d' ' -f1)
    size=$(stat -c %s "$work/src/$f")
        grep -q "^file|0x[0-9A-F]*|0x[0-9A-F]*|$f|$size|$sha|" "$work/hooks.log" ||
        fail "no file hook for $f with its size and SHA-256: $(cat "$work/hooks.log")"
done
(($(grep -c '^session|.*|completed|1$' "$work/hooks.log") == 3)) ||
    fail "expected 3 session hooks with outcome completed: $(cat "$work/hooks.log")"
node_alive
say "case 4: OK"

# --- 5. Text that is not UTF-8 from the wire, both ways; junk on the socket ---------
say "case 5: ABORT reasons that are not UTF-8, to a receiver and to a hub"
bad_reason_hex=fffe411b5b33316d   # 0xFF 0xFE "A" ESC "[31m"
bad_reason_shown='\\xFF\\xFEA\\x1B[31m'
rm -f "$dest"/*.bin
head -c 3000000 /dev/urandom > "$work/src/aborted.bin"
stock_send hub "$hub_uid" "$work/ab.status" -R 5000 "$work/src/aborted.bin" > "$work/ab.rc" &
ab=$!
doc=$(sky_wait_stat "$work/rcv1.sock" \
    'any(x["state"] == "receiving" for x in s.get("sessions", []))' 30) ||
    fail "the session to abort never started receiving"
group=$(python3 -c 'import json,sys; print([x for x in json.loads(sys.argv[1])["sessions"]
    if x["state"] == "receiving"][0]["session"])' "$doc")
hostile abort --to "$LAB_RCV1_ADDR" --src-id "$hub_uid" --group "$group" --reason-hex "$bad_reason_hex"
sky_wait_stat "$work/rcv1.sock" "any(h.get(\"session\") == \"$group\" for h in s[\"history\"])" 30 \
    > /dev/null || fail "the spoofed ABORT did not end session $group"
wait "$ab" || true
"$skycast_bin" stats --json --socket "$work/rcv1.sock" > "$work/stats-abort.json" ||
    fail "skycast stats failed after an ABORT reason that is not UTF-8"
grep -qF "$bad_reason_shown" "$work/stats-abort.json" ||
    fail "the ABORT reason is not shown escaped: $(grep -o '"reason":"[^"]*' "$work/stats-abort.json" | tail -1)"
[[ ! -e "$dest/aborted.bin" ]] || fail "the aborted file is visible in the destination"
wait_groups_idle 30

# A receiver's ABORT to a Skycast hub, forged with such a reason: `skycast
# send` reports it escaped (no raw escape sequence reaches the terminal).
# 12 MB at the hub's 10 Mbit/s: ~10 s of data phase for a forged datagram
# that takes well under a second to send.
head -c 12000000 /dev/urandom > "$work/src/hub-big.bin"
sky_rc=0
timeout 120 "$skycast_bin" send --socket "$work/rcv3.sock" "$work/src/hub-big.bin" \
    > "$logs/rcv3-send-abort.log" 2>&1 &
hs=$!
doc=$(sky_wait_stat "$work/rcv3.sock" 's.get("session", {}).get("phase") == "data"' 30) ||
    fail "the hub's session never reached its data phase"
group=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["session"]["id"])' "$doc")
hostile abort --to "$LAB_RCV3_ADDR" --src-id "$rcv1_uid" --group "$group" --reason-hex "$bad_reason_hex"
wait "$hs" || sky_rc=$?
"$skycast_bin" stats --json --socket "$work/rcv3.sock" > "$logs/rcv3-stats.json" 2>&1 || true
((sky_rc != 0)) || fail "skycast send reported success though one of its two receivers (rcv1) aborted"
grep -qF 'xFF' "$logs/rcv3-send-abort.log" ||
    fail "skycast send does not show the receiver's reason: $(tail -3 "$logs/rcv3-send-abort.log")"
if LC_ALL=C grep -q $'\xff\|\x1b' "$logs/rcv3-send-abort.log"; then
    fail "skycast send printed raw bytes from the wire"
fi
"$skycast_bin" stats --socket "$work/rcv3.sock" > /dev/null || fail "the hub's stats failed"
# rcv1's side of that session ends by its own timeout (nobody told it).
wait_groups_idle 60
python3 "$here/socket_junk.py" "$work/rcv1.sock" >> "$logs/socket-junk.log" 2>&1 ||
    fail "the receiver's socket: $(tail -2 "$logs/socket-junk.log")"
python3 "$here/socket_junk.py" "$work/rcv3.sock" >> "$logs/socket-junk.log" 2>&1 ||
    fail "the hub's socket: $(tail -2 "$logs/socket-junk.log")"
node_alive
say "case 5: OK"

# --- 6. The disk fills up mid-file ----------------------------------------------------
say "case 6: the destination's file system fills up mid-file"
rm -f "$dest"/*.bin "$dest/$latin1" "$dest/$long"
head -c 20000000 /dev/urandom > "$work/src/big.bin"
: > "$logs/hub-uftp.log"
stock_send hub "$hub_uid" "$work/big.status" -R 20000 "$work/src/big.bin" > "$work/big.rc" &
big=$!
sky_wait_stat "$work/rcv1.sock" \
    'any(x["state"] == "receiving" for x in s.get("sessions", []))' 30 > /dev/null ||
    fail "the big file's session never started receiving"
# Fill what is left (the file was accepted: it fitted when its FILEINFO came).
fallocate -l "$(($(stat -f -c '%a*%S' "$work/rcv1")))" "$work/rcv1/filler" 2> /dev/null ||
    dd if=/dev/zero of="$work/rcv1/filler" bs=1M 2> /dev/null || true
wait "$big" || true
rc=$(cat "$work/big.rc")
((rc != 0)) || fail "stock uftp reported success for a file the receiver could not store"
grep -q "Disk full" "$logs/hub-uftp.log" ||
    fail "stock uftp was not told 'Disk full': $(grep -i abort "$logs/hub-uftp.log" | tail -2)"
[[ ! -e "$dest/big.bin" ]] || fail "an incomplete big.bin is visible in the destination"
[[ -z $(ls -A "$work/rcv1/incoming") ]] || fail "temp files left: $(ls -A "$work/rcv1/incoming")"
outcome=$(sky_stat "$work/rcv1.sock" 's["history"][-1]["outcome"] + " / " + s["history"][-1]["reason"]')
[[ $outcome == *"Disk full"* ]] || fail "rcv1's stats do not name the cause: $outcome"
rm -f "$work/rcv1/filler"
head -c 100000 /dev/urandom > "$work/src/recovered.bin"
rc=$(stock_send hub "$hub_uid" "$work/recovered.status" "$work/src/recovered.bin")
((rc == 0)) || fail "the session after the disk was freed failed: uftp exited $rc"
same "$work/src/recovered.bin" recovered.bin
wait_groups_idle 30
node_alive
say "case 6: OK ($outcome)"
say "all cases passed"
