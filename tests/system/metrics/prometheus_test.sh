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

# shellcheck source=scripts/lab/one_receiver.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/lab/one_receiver.sh"
case ${1:-} in -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac
one_receiver_require prometheus_test.sh prometheus uftp
one_receiver_init prometheus_test.sh prom "$@"
mkdir -p "$work/tsdb"
one_receiver_up "  metrics: {address: 127.0.0.1, port: 9464}"

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
one_receiver_send_stock "$work/payload.bin"

completed=$(wait_query 'skycast_sessions_ended_total{outcome="completed"}' 'v >= 1' 30)
written=$(wait_query 'skycast_dataplane_storage_bytes_total' 'v >= 3000000' 30)
samples=$(query 'count({job="skycast"})')
echo "prometheus_test: up, build_info, completed=$completed, storage bytes=$written, $samples series"
