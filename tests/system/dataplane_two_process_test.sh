#!/usr/bin/env bash
# Two-process smoke test: skycast-dataplane as the DPDK primary with
# hugepages (its port a net_ring0 loopback), and dataplane_probe as a
# secondary that exchanges commands and a datagram over the real rings and
# reads the counters. Then SIGTERM: the dataplane must stop cleanly and leave
# no hugepage files behind.
#
#   dataplane_two_process_test.sh SKYCAST_DATAPLANE DATAPLANE_PROBE SOURCE_ROOT
set -euo pipefail

dataplane=$1
probe=$2
root=$3
prefix="sky2p$$"
work=$(mktemp -d /tmp/skycast-2proc-XXXXXX)
dp_pid=
cleanup() {
    if [[ -n "$dp_pid" ]] && kill -0 "$dp_pid" 2>/dev/null; then
        kill -KILL "$dp_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
    rm -f /dev/hugepages/"${prefix}"map_* 2>/dev/null || true
}
trap cleanup EXIT

bash "$root/scripts/setup-hugepages.sh" 1024 >/dev/null

cat > "$work/node.yaml" <<YAML
dataplane:
  eal:
    lcores: "0@(0-1)"
    file_prefix: $prefix
    memory_mb: 256
  ports:
    - device: net_ring0
      mtu: 9000
      address: 10.77.0.1/24
  mempool:
    mbufs: 4095
  idle_backoff_us: 50
control:
  role: receiver
  eal:
    lcores: "8@(0-1)"
  destination: $work/received
YAML

"$dataplane" --config "$work/node.yaml" > "$work/dataplane.log" 2>&1 &
dp_pid=$!

status=0
if ! timeout 60 "$probe" "$prefix"; then
    echo "dataplane_two_process_test: the probe failed; dataplane log:" >&2
    status=1
fi
# The same counters through DPDK telemetry, as a monitoring system reads them.
# (Debian's dpdk package does not ship dpdk-telemetry.py; the protocol is one
# SOCK_SEQPACKET request per reply, so a few lines of Python read it.)
telemetry=$(timeout 10 python3 - "$prefix" <<'PY' 2>&1 || true
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(f"/var/run/dpdk/{sys.argv[1]}/dpdk_telemetry.v2")
s.recv(16384)  # greeting: version, pid, max output length
s.send(b"/skycast/counters")
print(s.recv(1 << 20).decode())
PY
)
if ! grep -q '"tx_control":[1-9]' <<<"$telemetry"; then
    echo "dataplane_two_process_test: /skycast/counters over telemetry lacks tx_control:" >&2
    echo "$telemetry" >&2
    status=1
fi
kill -TERM "$dp_pid"
dp_status=0
wait "$dp_pid" || dp_status=$?
dp_pid=
cat "$work/dataplane.log"
if [[ $dp_status -ne 0 ]]; then
    echo "dataplane_two_process_test: skycast-dataplane exited with $dp_status after SIGTERM" >&2
    status=1
fi
grep -q "skycast-dataplane: reserved packet pool" "$work/dataplane.log" ||
    { echo "dataplane_two_process_test: no reservation report at start" >&2; status=1; }
grep -q "skycast-dataplane: stopped" "$work/dataplane.log" ||
    { echo "dataplane_two_process_test: no clean stop" >&2; status=1; }
if compgen -G "/dev/hugepages/${prefix}map_*" > /dev/null; then
    echo "dataplane_two_process_test: hugepage files left behind after the stop" >&2
    status=1
fi
exit $status
