#!/usr/bin/env bash
# The link emulator (perf/linkem) between two network namespaces: UDP probes
# with send timestamps (probe.py) measure what it does, and its own counters
# must agree.
#   delay:  no datagram ever arrives early; the median one-way delay exceeds a
#           baseline run's (no emulated delay) by the configured delay, within
#           the baseline's own p99-p50 spread plus 10 ms for the emulator's
#           wake-up on a loaded 2-core machine; the return direction has its own.
#   loss:   10 % random loss over 4000 datagrams: the emulator's loss_drops
#           within 5 sigma of the binomial mean, and every datagram it let
#           through arrived.
#   rate:   500 x 1292-byte frames offered at once to a 20 Mbit/s cap: all
#           arrive (the queue holds them), and the last arrives no sooner
#           than 500 wire times after the first was sent (the cap is never
#           exceeded) nor much later.
#   Every case: no unplanned drop (the emulator kept up).
#
#   linkem_test.sh LINKEM_BIN
set -euo pipefail
linkem=$1
probe="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/probe.py"
[[ $EUID -eq 0 ]] || { echo "linkem_test.sh: needs root (namespaces)" >&2; exit 1; }

p="lkt$$"
ns_a="$p-a" ns_l="$p-l" ns_b="$p-b"
work=$(mktemp -d /tmp/skycast-linkem-test-XXXXXX)
em_pid=
cleanup() {
    [[ -n $em_pid ]] && { kill -TERM "$em_pid" 2>/dev/null; wait "$em_pid" 2>/dev/null || true; }
    for ns in "$ns_a" "$ns_l" "$ns_b"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

for ns in "$ns_a" "$ns_l" "$ns_b"; do
    ip netns add "$ns"
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip netns exec "$ns" ip link set lo up
done
ip link add a0 netns "$ns_a" mtu 9000 type veth peer name la netns "$ns_l" mtu 9000
ip link add b0 netns "$ns_b" mtu 9000 type veth peer name lb netns "$ns_l" mtu 9000
ip -n "$ns_a" addr add 10.99.0.1/24 dev a0
ip -n "$ns_b" addr add 10.99.0.2/24 dev b0
for x in "$ns_a a0" "$ns_b b0" "$ns_l la" "$ns_l lb"; do
    read -r ns dev <<<"$x"
    ip -n "$ns" link set "$dev" up
    ip netns exec "$ns" ethtool -K "$dev" tx off >/dev/null
done
# Static neighbours: no ARP crosses the emulator, so every frame it sees is
# a probe datagram and the counts can be compared one for one.
mac_a=$(ip netns exec "$ns_a" cat /sys/class/net/a0/address)
mac_b=$(ip netns exec "$ns_b" cat /sys/class/net/b0/address)
ip -n "$ns_a" neigh replace 10.99.0.2 lladdr "$mac_b" dev a0 nud permanent
ip -n "$ns_b" neigh replace 10.99.0.1 lladdr "$mac_a" dev b0 nud permanent

# run_case NAME DIRECTION COUNT SIZE PPS EMULATOR-OPTIONS...: one emulator run
# with one probe stream (DIRECTION forward: a -> b, return: b -> a); leaves
# $work/NAME.json (what the receiver saw) and $work/NAME.stats (the counters).
run_case() {
    local name=$1 dir=$2 count=$3 size=$4 pps=$5
    shift 5
    local stats="$work/$name.stats"
    # --realtime, as the lab runs it: the test measures the emulator, not
    # how long a loaded 2-core machine keeps it waiting for a CPU.
    ip netns exec "$ns_l" "$linkem" --a la --b lb --stats "$stats" --realtime "$@" \
        > "$work/$name.linkem.out" 2>&1 &
    em_pid=$!
    for _ in $(seq 100); do [[ -s $stats ]] && break; sleep 0.1; done
    [[ -s $stats ]] || { echo "FAIL $name: the emulator did not start:"; cat "$work/$name.linkem.out"; exit 1; }
    local rx_ns=$ns_b tx_ns=$ns_a to=10.99.0.2
    [[ $dir == return ]] && { rx_ns=$ns_a tx_ns=$ns_b to=10.99.0.1; }
    # The receiver gives up 3 s after the last datagram: far beyond any delay
    # configured here.
    rm -f "$work/$name.ready"
    ip netns exec "$rx_ns" python3 "$probe" recv 9999 "$count" 3 "$work/$name.json" \
        "$work/$name.ready" &
    local rx_pid=$!
    # The sender starts once the receiver has bound its port (it says so).
    for _ in $(seq 300); do [[ -e $work/$name.ready ]] && break; sleep 0.05; done
    [[ -e $work/$name.ready ]] || { echo "FAIL $name: the probe receiver did not start"; exit 1; }
    ip netns exec "$tx_ns" python3 "$probe" send "$to" 9999 "$count" "$size" "$pps"
    wait "$rx_pid"
    kill -TERM "$em_pid"
    wait "$em_pid" || { echo "FAIL $name: the emulator exited $?"; exit 1; }
    em_pid=
}

run_case base forward 300 200 300 --seed 1
run_case delay forward 300 200 300 --delay 100ms --return-delay 30ms --seed 1
run_case delay_return return 100 200 300 --delay 100ms --return-delay 30ms --seed 1
run_case loss forward 4000 200 4000 --loss 10 --seed 7
run_case rate forward 500 1250 0 --rate 20M --queue 5s --seed 1

python3 - "$work" <<'PY'
import json, math, statistics, sys
work = sys.argv[1]
failures = []
def load(name):
    return json.load(open(f"{work}/{name}.json")), json.load(open(f"{work}/{name}.stats"))
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)

def quantile(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))]

base, base_stats = load("base")
check(base["received"] == 300, f"base: 300 of 300 arrived ({base['received']})")
b50, b99 = quantile(base["delays_s"], 0.5), quantile(base["delays_s"], 0.99)
print(f"     base one-way delay p50 {b50*1e3:.2f} ms p99 {b99*1e3:.2f} ms")
slack = (b99 - b50) + 0.010
# How much less than the baseline's median a delayed datagram's own path can
# cost: the emulator's timer releases it at a moment when the receiver may be
# quicker than at the baseline's median (a delayed datagram takes at least the
# delay plus the fastest baseline datagram's path).
below = (b50 - min(base["delays_s"])) + 0.001

for name, want in (("delay", 0.100), ("delay_return", 0.030)):
    got, stats = load(name)
    d = got["delays_s"]
    check(len(d) == (300 if name == "delay" else 100), f"{name}: all arrived ({len(d)})")
    if d:
        check(min(d) >= want, f"{name}: none early (min {min(d)*1e3:.2f} ms >= {want*1e3:.0f} ms)")
        extra = quantile(d, 0.5) - b50
        check(want - below <= extra <= want + slack,
              f"{name}: median adds {extra*1e3:.2f} ms to the baseline, want {want*1e3:.0f} ms "
              f"(- at most {below*1e3:.2f} ms, + at most {slack*1e3:.2f} ms)")
    check(stats["unplanned_drops"] == 0, f"{name}: no unplanned drop ({stats['unplanned_drops']})")

got, stats = load("loss")
fwd = stats["forward"]
n, lost = fwd["in_frames"], fwd["loss_drops"]
sigma = math.sqrt(n * 0.1 * 0.9)
check(n == 4000, f"loss: the emulator saw 4000 frames ({n})")
check(abs(lost - 0.1 * n) <= 5 * sigma,
      f"loss: {lost} dropped of {n}, want {0.1*n:.0f} +- {5*sigma:.0f} (5 sigma)")
check(got["received"] == fwd["out_frames"] == n - lost,
      f"loss: received {got['received']} = sent on {fwd['out_frames']} = {n} - {lost}")
check(stats["unplanned_drops"] == 0, f"loss: no unplanned drop ({stats['unplanned_drops']})")

got, stats = load("rate")
fwd = stats["forward"]
wire_s = (1250 + 28 + 14 + 24) * 8 / 20e6
check(got["received"] == 500 and fwd["queue_drops"] == 0,
      f"rate: 500 arrived ({got['received']}), no queue drop ({fwd['queue_drops']})")
# From the first send to the last arrival: at least 500 wire times (arrival
# stamps can only be late); at most that plus the sender's own spread and the
# slack above.
if got["delays_s"]:
    span = max(s + d for s, d in zip(got["sent_s"], got["delays_s"])) - min(got["sent_s"])
    spread = max(got["sent_s"]) - min(got["sent_s"])
    check(span >= 500 * wire_s,
          f"rate: first send to last arrival {span*1e3:.1f} ms >= 500 wire times "
          f"({500*wire_s*1e3:.1f} ms)")
    check(span <= 500 * wire_s + spread + slack,
          f"rate: first send to last arrival {span*1e3:.1f} ms <= 500 wire times + send "
          f"spread + slack ({(500*wire_s + spread + slack)*1e3:.1f} ms)")
check(stats["unplanned_drops"] == 0, f"rate: no unplanned drop ({stats['unplanned_drops']})")
sys.exit(1 if failures else 0)
PY
