#!/usr/bin/env bash
# A real Prometheus server scrapes a Skycast receiver node's /metrics in the
# network-namespace lab, and answers PromQL queries about it:
#
#   prometheus_test.sh [--name LAB] [--keep] BUILD_DIR
#
# rcv1 is a Skycast receiver with `control.metrics` on 127.0.0.1:9464 of its
# namespace; Prometheus (Debian's `prometheus`) runs in the same namespace and
# scrapes it every second. Stock `uftp` in the hub sends one file. Pass: the
# target is up, skycast_build_info says role="receiver", the session appears
# in skycast_sessions_ended_total{outcome="completed"}, and a dataplane counter
# (skycast_dataplane_storage_bytes_total) holds at least the file's size.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
lab_sh="$root/scripts/lab.sh"
lab=prom
keep=0
build_dir=
while (($#)); do
    case $1 in
    --name) lab=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --*) echo "prometheus_test.sh: unknown option $1" >&2; exit 2 ;;
    *) build_dir=$1; shift ;;
    esac
done
[[ -n $build_dir ]] || { echo "prometheus_test.sh: BUILD_DIR missing" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "prometheus_test.sh: run as root" >&2; exit 2; }
for tool in prometheus uftp; do
    command -v $tool > /dev/null ||
        { echo "prometheus_test.sh: SKIP: $tool missing (scripts/install-deps.sh)" >&2; exit 77; }
done
build_dir=$(cd "$build_dir" && pwd)
dataplane_bin="$build_dir/dataplane/app/skycast-dataplane"
control_bin="$build_dir/control/skycast-control"
skycast_bin="$build_dir/control/skycast"
# shellcheck source=scripts/lab/skycast.sh
source "$root/scripts/lab/skycast.sh"

work=$(mktemp -d /tmp/skycast-prom-XXXXXX)
logs="$work/logs"
mkdir -p "$logs" "$work/received" "$work/tsdb"
pids=()
fail() { echo "prometheus_test.sh: FAIL: $*" >&2; exit 1; }
# shellcheck disable=SC2317 # the EXIT trap
cleanup() {
    local status=$? pid
    ((keep)) && { echo "prometheus_test.sh: --keep: lab '$lab' left up; $work"; return; }
    for ((i = ${#pids[@]} - 1; i >= 0; --i)); do kill -TERM "${pids[i]}" 2> /dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2> /dev/null || true
    done
    bash "$lab_sh" down --name "$lab" > /dev/null 2>&1 || true
    rm -f /dev/hugepages/"$lab"-*map_* 2> /dev/null || true
    if ((status != 0)); then
        echo "prometheus_test.sh: FAILED; logs kept in $work" >&2
        for f in "$logs"/*; do echo "----- $f (last 25 lines)" >&2; tail -n 25 "$f" >&2; done
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

bash "$root/scripts/setup-hugepages.sh" 2048 > /dev/null
bash "$lab_sh" up --name "$lab" --receivers 1 --kernel-nodes hub > "$logs/lab-up.log"
eval "$(bash "$lab_sh" env --name "$lab")"
bash "$lab_sh" exec --name "$lab" rcv1 ip link set lo up

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
  metrics: {address: 127.0.0.1, port: 9464}
  log: {level: info, file: $logs/rcv1-control.log}
YAML
"$skycast_bin" check "$work/rcv1.yaml" > /dev/null || { "$skycast_bin" check "$work/rcv1.yaml"; exit 1; }
bash "$lab_sh" exec --name "$lab" rcv1 "$dataplane_bin" --config "$work/rcv1.yaml" \
    > "$logs/rcv1-dataplane.log" 2>&1 &
pids+=($!)
bash "$lab_sh" exec --name "$lab" rcv1 "$control_bin" --config "$work/rcv1.yaml" \
    > "$logs/rcv1-control.out" 2>&1 &
pids+=($!)
sky_wait_node "$work/rcv1.sock" 60 "${pids[-1]}" || fail "the receiver node did not come up"

cat > "$work/prometheus.yml" << YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: skycast
    static_configs:
      - targets: ['127.0.0.1:9464']
YAML
bash "$lab_sh" exec --name "$lab" rcv1 prometheus --config.file="$work/prometheus.yml" \
    --storage.tsdb.path="$work/tsdb" --web.listen-address=127.0.0.1:9090 \
    > "$logs/prometheus.log" 2>&1 &
pids+=($!)

# query EXPR: the value of a PromQL instant query (the first series), or nothing.
query() {
    bash "$lab_sh" exec --name "$lab" rcv1 python3 - "$1" << 'PY' 2> /dev/null
import json, sys, urllib.parse, urllib.request
url = "http://127.0.0.1:9090/api/v1/query?query=" + urllib.parse.quote(sys.argv[1])
doc = json.load(urllib.request.urlopen(url, timeout=5))
result = doc["data"]["result"]
print(result[0]["value"][1] if result else "")
PY
}
# wait_query EXPR PYCOND SECONDS: until the value satisfies PYCOND (over v).
wait_query() {
    local deadline=$((SECONDS + $3)) v
    while ((SECONDS < deadline)); do
        v=$(query "$1" || true)
        if [[ -n $v ]] && V=$v python3 -c "import os,sys; v=float(os.environ['V']); sys.exit(0 if ($2) else 1)"; then
            echo "$v"
            return 0
        fi
        sleep 0.5
    done
    fail "Prometheus never had $1 with $2 (last value '${v:-}')"
}

# Up once Prometheus has started and scraped (a few scrape intervals).
wait_query 'up{job="skycast"}' 'v == 1' 60 > /dev/null
wait_query 'skycast_build_info{role="receiver",node="0x0A4D000B"}' 'v == 1' 30 > /dev/null

head -c 3000000 /dev/urandom > "$work/payload.bin"
rc=0
timeout 120 bash "$lab_sh" exec --name "$lab" hub uftp -I "$LAB_HUB_IF" -U 0x0A4D0001 \
    -H 0x0A4D000B -r 0.05:0.01:1 -R 200000 -x 2 "$work/payload.bin" > "$logs/uftp.log" 2>&1 || rc=$?
((rc == 0)) || fail "uftp exited $rc"
cmp -s "$work/payload.bin" "$work/received/payload.bin" || fail "the copy differs"

completed=$(wait_query 'skycast_sessions_ended_total{outcome="completed"}' 'v >= 1' 30)
written=$(wait_query 'skycast_dataplane_storage_bytes_total' 'v >= 3000000' 30)
samples=$(query 'count({job="skycast"})')
echo "prometheus_test: up, build_info, completed=$completed, storage bytes=$written, $samples series"
