#!/usr/bin/env bash
# Response aggregation at scale, in the network-namespace lab:
#
#   swarm_scale.sh [--receivers N] [--proxies P] [--loss PCT] [--size BYTES]
#                  [--mode proxies|direct|both] [--proxy-kind stock|skycast]
#                  [--name LAB] BUILD_DIR
#
# A Skycast hub (DPDK, control.proxies) sends to N receivers emulated by one
# skycast-swarm process (rcvP+1, a kernel node; perf/swarm), each with its own
# UID, destination and independent FILESEG loss. In mode `proxies` they answer
# P response proxies (rcv1..rcvP: stock `uftpproxyd -r`, or with --proxy-kind
# skycast Skycast's, control.role response_proxy on DPDK nodes, whose
# clients must then add up to N), in equal blocks; in mode `direct` the
# hub itself. Pass: the hub's session succeeds for all N, every receiver's
# copy is byte-identical (SHA-256), and with proxies the hub heard only the P
# proxies (its result's "peers") and lists them completed. Prints, per mode:
#
#   scale mode=M proxy_kind=stock|skycast receivers=N proxies=P peers=K
#         hub_datagrams_in=D status_in=S seconds=T hub_datagrams_per_s=R
#         hub_status_per_s=Q
#
# and, with --mode both, how many times fewer datagrams the hub took with the
# proxies. Figures, not assertions: the machine is shared (perf/README.md).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
lab_sh="$root/scripts/lab.sh"
# shellcheck source=scripts/lab/skycast.sh
source "$root/scripts/lab/skycast.sh"
receivers=1000
proxies=4
loss=1
size=262144
mode=proxies
proxy_kind=stock
lab=scale
build_dir=
while (($#)); do
    case $1 in
    --receivers) receivers=$2; shift 2 ;;
    --proxies) proxies=$2; shift 2 ;;
    --loss) loss=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --mode) mode=$2; shift 2 ;;
    --proxy-kind) proxy_kind=$2; shift 2 ;;
    --name) lab=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --*) echo "swarm_scale.sh: unknown option $1" >&2; exit 2 ;;
    *) build_dir=$1; shift ;;
    esac
done
[[ $mode =~ ^(proxies|direct|both)$ ]] || { echo "swarm_scale.sh: --mode proxies|direct|both" >&2; exit 2; }
[[ $proxy_kind =~ ^(stock|skycast)$ ]] || { echo "swarm_scale.sh: --proxy-kind stock|skycast" >&2; exit 2; }
[[ -n $build_dir ]] || { echo "swarm_scale.sh: BUILD_DIR missing" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "swarm_scale.sh: run as root (namespaces, hugepages)" >&2; exit 2; }
((proxies >= 1 && proxies <= 8)) || { echo "swarm_scale.sh: --proxies 1..8" >&2; exit 2; }
command -v uftpproxyd > /dev/null ||
    { echo "swarm_scale.sh: SKIP: uftpproxyd missing (apt-get install uftp)" >&2; exit 77; }
build_dir=$(cd "$build_dir" && pwd)
dataplane_bin="$build_dir/dataplane/app/skycast-dataplane"
control_bin="$build_dir/control/skycast-control"
skycast_bin="$build_dir/control/skycast"
swarm_bin="$build_dir/perf/skycast-swarm"
for b in "$dataplane_bin" "$control_bin" "$skycast_bin" "$swarm_bin"; do
    [[ -x "$b" ]] || { echo "swarm_scale.sh: $b not built" >&2; exit 2; }
done

work=$(mktemp -d /tmp/skycast-scale-XXXXXX)
# The swarm's N copies go to memory, not to the disk the CI machine shares.
copies=$(mktemp -d /dev/shm/skycast-scale-XXXXXX)
logs="$work/logs"
mkdir -p "$logs"
pids=()
swarm_node=rcv$((proxies + 1))
started=$(date +%s.%N)
say() { printf '== [%5.1fs] %s\n' "$(echo "$(date +%s.%N) - $started" | bc)" "$*"; }

# shellcheck disable=SC2317 # the EXIT trap
cleanup() {
    local status=$?
    sky_stop_pids "${pids[@]}"
    bash "$lab_sh" down --name "$lab" > /dev/null 2>&1 || true
    rm -f /dev/hugepages/"$lab"-*map_* 2> /dev/null || true
    rm -rf "$copies"
    sky_finish_work "$status" swarm_scale.sh "$work"
}
trap cleanup EXIT

hub_uid=0x0A4D0001
uid_base=0x0B000001
proxy_uid() { printf '0x0A4D01%02X' "$1"; }
kernel_nodes=$swarm_node
if [[ $proxy_kind == stock ]]; then
    for ((p = 1; p <= proxies; ++p)); do kernel_nodes+=",rcv$p"; done
fi

say "lab '$lab': $receivers receivers in one swarm, $proxies $proxy_kind proxies, loss $loss %, $size bytes"
bash "$root/scripts/setup-hugepages.sh" 1024 > /dev/null
bash "$lab_sh" up --name "$lab" --receivers $((proxies + 1)) --kernel-nodes "$kernel_nodes" \
    > "$logs/lab-up.log"
eval "$(bash "$lab_sh" env --name "$lab")"
addr_of() { local v="LAB_RCV${1}_CIDR"; echo "${!v%/*}"; }

src="$work/src"
mkdir -p "$src"
head -c "$size" /dev/urandom > "$src/payload.bin"
echo "from the hub" > "$src/note.txt"

hub_yaml() { # MODE
    sky_dataplane_yaml "$lab-hub" "$LAB_HUB_DEVICE" "$LAB_HUB_CIDR"
    cat << YAML
control:
  role: sender
  eal: {lcores: "8@(0-1)"}
  uid: $hub_uid
  rate: 100M
  block_size: 1300
  grtt: {initial: 100ms, min: 100ms, max: 2s}
  socket: $work/hub.sock
  log: {level: info, file: $logs/hub-control.log}
  clients:
$(for ((k = 0; k < receivers; ++k)); do printf '    - uid: 0x%08X\n' $((uid_base + k)); done)
YAML
    if [[ $1 == proxies ]]; then
        echo "  proxies:"
        for ((p = 1; p <= proxies; ++p)); do echo "    - uid: $(proxy_uid "$p")"; done
    fi
}

# The hub runs for the whole test; only its configuration's proxies differ
# between modes, so it is restarted per mode.
start_hub() { # MODE
    hub_yaml "$1" > "$work/hub.yaml"
    "$skycast_bin" check "$work/hub.yaml" > /dev/null || { "$skycast_bin" check "$work/hub.yaml"; exit 1; }
    rm -f "$work/hub.sock"
    bash "$lab_sh" exec --name "$lab" hub "$dataplane_bin" --config "$work/hub.yaml" \
        > "$logs/hub-dataplane-$1.log" 2>&1 &
    hub_pids=($!)
    bash "$lab_sh" exec --name "$lab" hub "$control_bin" --config "$work/hub.yaml" \
        > "$logs/hub-control-$1.out" 2>&1 &
    hub_pids+=($!)
    pids+=("${hub_pids[@]}")
    sky_wait_node "$work/hub.sock" 30 "${hub_pids[1]}" ||
        { echo "swarm_scale.sh: the hub did not come up" >&2; exit 1; }
}
stop_hub() {
    sky_stop_pids "${hub_pids[@]}"
}

for ((p = 1; p <= proxies; ++p)); do
    if [[ $proxy_kind == stock ]]; then
        bash "$lab_sh" exec --name "$lab" "rcv$p" uftpproxyd -r -d -I "$LAB_RCV_IF" \
            -U "$(proxy_uid "$p")" -x 2 > "$logs/rcv$p-uftpproxyd.log" 2>&1 &
        pids+=($!)
        continue
    fi
    cidr_var="LAB_RCV${p}_CIDR"
    {
        sky_dataplane_yaml "$lab-rcv$p" "$LAB_RCV_DEVICE" "${!cidr_var}"
        sky_control_yaml "$work" "$logs" "rcv$p" response_proxy "$(proxy_uid "$p")"
    } > "$work/rcv$p.yaml"
    "$skycast_bin" check "$work/rcv$p.yaml" > /dev/null || { "$skycast_bin" check "$work/rcv$p.yaml"; exit 1; }
    sky_start_node "$lab" "rcv$p" "$logs"
    sky_wait_node "$work/rcv$p.sock" 30 || { echo "swarm_scale.sh: rcv$p did not come up" >&2; exit 1; }
done

failures=0
bad() {
    echo "  $*"
    failures=$((failures + 1))
}
declare -A datagrams_in
run_mode() { # MODE
    local m=$1 proxy_args=() swarm_status=0 send_status=0
    start_hub "$m"
    rm -rf "${copies:?}"/*
    if [[ $m == proxies ]]; then
        for ((p = 1; p <= proxies; ++p)); do proxy_args+=(--proxy "$(addr_of "$p")"); done
    fi
    bash "$lab_sh" exec --name "$lab" "$swarm_node" "$swarm_bin" --receivers "$receivers" \
        --uid-base "$uid_base" --address "$(addr_of $((proxies + 1)))" --dest "$copies" \
        --loss "$loss" --timeout 300 "${proxy_args[@]}" > "$logs/swarm-$m.log" 2>&1 &
    local swarm_pid=$!
    pids+=("$swarm_pid")
    # The swarm's socket must be bound and joined before the first ANNOUNCE:
    # it says so by being in the node's UDP table on the port.
    for _ in $(seq 100); do
        bash "$lab_sh" exec --name "$lab" "$swarm_node" ss -uln 2> /dev/null | grep -q ':1044 ' && break
        sleep 0.1
    done
    say "mode $m: skycast send"
    timeout 600 "$skycast_bin" send --socket "$work/hub.sock" "$src/payload.bin" "$src/note.txt" \
        > "$logs/send-$m.log" 2>&1 || send_status=$?
    tail -n 3 "$logs/send-$m.log"
    wait "$swarm_pid" || swarm_status=$?
    grep '^swarm' "$logs/swarm-$m.log" || true
    ((send_status == 0)) || bad "mode $m: skycast send exited $send_status"
    ((swarm_status == 0)) || bad "mode $m: the swarm exited $swarm_status (not every receiver completed)"
    # Every copy, byte for byte.
    local want_payload want_note wrong
    want_payload=$(sha256sum < "$src/payload.bin" | cut -d' ' -f1)
    want_note=$(sha256sum < "$src/note.txt" | cut -d' ' -f1)
    wrong=$( (cd "$copies" && find . -name payload.bin -print0 | xargs -0 -r sha256sum) |
        awk -v w="$want_payload" '$1 != w' | wc -l)
    local have
    have=$(find "$copies" -name payload.bin | wc -l)
    ((have == receivers)) || bad "mode $m: $have copies of payload.bin, want $receivers"
    ((wrong == 0)) || bad "mode $m: $wrong copies of payload.bin differ"
    wrong=$( (cd "$copies" && find . -name note.txt -print0 | xargs -0 -r sha256sum) |
        awk -v w="$want_note" '$1 != w' | wc -l)
    ((wrong == 0)) || bad "mode $m: $wrong copies of note.txt differ"
    # What the hub heard.
    "$skycast_bin" stats --socket "$work/hub.sock" --json > "$work/hub-$m.json"
    local line
    line=$(python3 - "$work/hub-$m.json" "$m" "$receivers" "$proxies" "$proxy_kind" << 'PY'
import json, sys
path, mode, receivers, proxies = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
kind = sys.argv[5]
r = json.load(open(path))["history"][-1]
done = sum(1 for x in r["receivers"] if x["outcome"] == "completed")
proxied = [p for p in r.get("proxies", []) if p["outcome"] == "completed"]
rate = r["datagrams_in"] / r["seconds"] if r["seconds"] > 0 else 0
status_rate = r["status_in"] / r["seconds"] if r["seconds"] > 0 else 0
print(f"scale mode={mode} proxy_kind={kind} receivers={done} proxies={len(proxied)} peers={r['peers']} "
      f"hub_datagrams_in={r['datagrams_in']} status_in={r['status_in']} "
      f"seconds={r['seconds']:.1f} hub_datagrams_per_s={rate:.0f} "
      f"hub_status_per_s={status_rate:.0f} ok={str(r['ok']).lower()}")
PY
)
    echo "$line"
    datagrams_in[$m]=$(sed -n 's/.* hub_datagrams_in=\([0-9]*\).*/\1/p' <<< "$line")
    [[ $line == *"receivers=$receivers "* && $line == *"ok=true"* ]] ||
        bad "mode $m: the hub's result is not every receiver completed"
    if [[ $m == proxies ]]; then
        [[ $line == *"proxies=$proxies peers=$proxies "* ]] ||
            bad "mode $m: the hub heard other peers than its $proxies proxies"
        if [[ $proxy_kind == skycast ]]; then
            # Each Skycast proxy stood for its block of the swarm.
            local clients=0 n
            for ((p = 1; p <= proxies; ++p)); do
                n=$("$skycast_bin" stats --socket "$work/rcv$p.sock" --json |
                    python3 -c 'import json,sys; print(json.load(sys.stdin)["proxy"]["clients"])')
                echo "rcv$p: Skycast response proxy for $n clients"
                clients=$((clients + n))
            done
            ((clients == receivers)) || bad "mode $m: the proxies stood for $clients clients, want $receivers"
        fi
    else
        [[ $line == *"peers=$receivers "* ]] || bad "mode $m: not every receiver answered the hub"
    fi
    stop_hub
}

if [[ $mode == both ]]; then
    run_mode direct
    run_mode proxies
    python3 -c "import sys; d, p = int(sys.argv[1]), int(sys.argv[2]); print(f'scale hub_datagrams direct/proxies = {d / max(p, 1):.1f}x')" \
        "${datagrams_in[direct]}" "${datagrams_in[proxies]}"
else
    run_mode "$mode"
fi
((failures == 0)) || { echo "swarm_scale: FAIL ($failures problems)"; exit 1; }
echo "swarm_scale: PASS"
