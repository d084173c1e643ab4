#!/usr/bin/env bash
# Receive loss that no DPDK counter shows is counted: frames the kernel drops
# in an af_packet port's socket ring because the RX lcore is not reading
# (dataplane/app/kernel_ring_drops.h) appear as rx.drop.kernel_ring, and the
# accounting closes: every frame the receiver's veth delivered is either one
# the dataplane received (rx.packets) or one counted as dropped in the ring.
#
# A receiver dataplane whose idle pause grows to 200 ms (so its lcore sleeps
# through a burst) gets 4,000 frames in one burst from the bridge, far more
# than its 512-frame ring holds. The frames carry an ethertype nobody uses
# (0x88B5, IEEE local experimental): the dataplane counts and drops them.
#
#   kernel_ring_test.sh SKYCAST_DATAPLANE LAB_PROBE SOURCE_ROOT
set -euo pipefail
dataplane=$1
probe=$2
root=$3
lab="$root/scripts/lab.sh"
name="kr$$"
work=$(mktemp -d /tmp/skycast-kernel-ring-XXXXXX)
pid=
cleanup() {
    if [[ -n $pid ]]; then
        kill -TERM "$pid" 2> /dev/null || true
        wait "$pid" 2> /dev/null || true
    fi
    bash "$lab" down --name "$name" > /dev/null 2>&1 || true
    rm -f /dev/hugepages/"$name-rcv1"map_* 2> /dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

bash "$lab" up --receivers 1 --name "$name" > /dev/null
eval "$(bash "$lab" env --name "$name")"
cat > "$work/rcv1.yaml" << YAML
dataplane:
  eal: {lcores: "0@(0-1)", file_prefix: $name-rcv1, memory_mb: 256}
  ports:
    - {device: "$LAB_RCV_DEVICE", mtu: 9000, address: $LAB_RCV1_CIDR}
  mempool: {mbufs: 4095}
  idle_backoff_us: 10000
  idle_backoff_max_us: 100000
control:
  role: receiver
  eal: {lcores: "8@(0-1)"}
  destination: $work/received
YAML
bash "$lab" exec --name "$name" rcv1 "$dataplane" --config "$work/rcv1.yaml" > "$work/rcv1.log" 2>&1 &
pid=$!
# The probe attaches as a secondary once the dataplane runs (it waits).
timeout 60 bash "$lab" exec --name "$name" rcv1 "$probe" "$name-rcv1" counters > /dev/null

veth_rx() {
    bash "$lab" exec --name "$name" rcv1 cat "/sys/class/net/$LAB_RCV_IF/statistics/rx_packets"
}
read_counters() { # -> "RX_PACKETS KERNEL_RING_DROPS"
    timeout 60 bash "$lab" exec --name "$name" rcv1 "$probe" "$name-rcv1" counters |
        awk '$1 == "rx.packets" { p = $2 } $1 == "rx.drop.kernel_ring" { k = $2 }
             END { print p + 0, k + 0 }'
}
# Both sides' counts before the burst, taken while nothing sends (no hub,
# IPv6 off): a frame that reached the veth before the dataplane's socket
# existed is in the veth's count but can be in neither of the dataplane's,
# so the accounting below compares what each side counted from here on.
start=$(veth_rx)
read -r received0 ring0 < <(read_counters)
delivered() { # frames the veth delivered since the baseline
    echo $(($(veth_rx) - start))
}

# 4,000 frames out of the bridge's port towards rcv1 in a few milliseconds,
# while the lcore sleeps up to 100 ms.
bash "$lab" exec --name "$name" br python3 - "$LAB_RCV1_MAC" << 'PY'
import socket, sys
mac = bytes.fromhex(sys.argv[1].replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("rcv1", 0))
frame = mac + bytes.fromhex("02aabbccddee") + b"\x88\xb5" + b"\0" * 1000
for _ in range(4000):
    s.send(frame)
PY
expected=$(delivered)
# The lcore reads what its ring kept within one pause (at most 100 ms) and
# the service thread reads the kernel's count every 100 ms: poll until every
# delivered frame is accounted for (bounded: 10 s is 100 of those rounds).
received=0 ring=0
for _ in $(seq 50); do
    read -r received ring < <(read_counters)
    received=$((received - received0)) ring=$((ring - ring0))
    ((received + ring >= expected)) && break
    sleep 0.2
done
echo "veth delivered $expected frames; dataplane rx.packets=$received rx.drop.kernel_ring=$ring"
status=0
((expected >= 4000)) || { echo "FAIL: the veth delivered only $expected frames"; status=1; }
((ring > 0)) || { echo "FAIL: no frame counted as dropped in the kernel ring (the lcore kept up?)"; status=1; }
# Exact: every frame is received or counted dropped, none twice.
if ((received + ring != expected)); then
    echo "FAIL: rx.packets + rx.drop.kernel_ring = $((received + ring)), the veth delivered $expected"
    status=1
fi
((status == 0)) && echo "PASS: the kernel ring's drops are counted ($ring of $expected)"
exit "$status"
