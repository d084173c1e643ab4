#!/usr/bin/env bash
# The lab end to end, the first test over af_packet: scripts/lab.sh brings up
# a hub and two receivers; a skycast-dataplane runs in each namespace on its
# veth (net_af_packet, jumbo settings, hugepages); lab_probe secondaries in
# each namespace check that
#   - a failing `up` removes what it made, and `up` on an existing lab
#     replaces it;
#   - the receivers resolve the hub by ARP (the hub's dataplane answers, the
#     kernel does not) and their unicast datagrams reach the hub's receive
#     ring, a jumbo one (8972 bytes, a full 9000-byte MTU) whole;
#   - a multicast datagram from the hub reaches the receiver that joined the
#     group and not the one that did not (the bridge floods: the dataplane's
#     own filter keeps it out, counted), again also at 8972 bytes;
#   - `lab.sh loss 100` cuts hub -> receivers and only that direction, and
#     `lab.sh loss 0` restores it;
#   - the counters agree (tx.control, rx.to_control, tx.arp, tx.igmp), and no
#     kernel chatter (ICMP, IPv6) reached a dataplane;
#   - every dataplane stops with exit status 0 on SIGTERM, and `down` leaves
#     no namespace behind.
# Everything is torn down at the end, also on failure.
#
#   lab_test.sh SKYCAST_DATAPLANE LAB_PROBE SOURCE_ROOT
set -euo pipefail

dataplane=$1
probe=$2
root=$3
lab="$root/scripts/lab.sh"
name="lt$$"
work=$(mktemp -d /tmp/skycast-lab-test-XXXXXX)
nodes=(hub rcv1 rcv2)
declare -A pid=()
status=0

fail() {
    echo "lab_test: FAIL $*" >&2
    status=1
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    local node
    for node in "${!pid[@]}"; do
        if kill -0 "${pid[$node]}" 2>/dev/null; then
            kill -KILL "${pid[$node]}" 2>/dev/null || true
            wait "${pid[$node]}" 2>/dev/null || true
        fi
    done
    bash "$lab" down --name "$name" > /dev/null 2>&1 || true
    bash "$lab" down --name "${name}f" > /dev/null 2>&1 || true
    for node in "${nodes[@]}"; do
        rm -f /dev/hugepages/"$name-$node"map_* 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

lab_namespaces() {
    ip netns list | awk '{print $1}' | grep -E "^$1-" || true
}

# --- lab.sh: failure cleanup and idempotent up ---------------------------------------

# A `tc` that fails makes `up` fail at its last step (the loss filter), after
# every namespace and veth exists: all of it must be gone again.
mkdir -p "$work/failing-tc"
printf '#!/bin/sh\necho "tc: failing on purpose (lab_test)" >&2\nexit 1\n' > "$work/failing-tc/tc"
chmod +x "$work/failing-tc/tc"
if PATH="$work/failing-tc:$PATH" bash "$lab" up --receivers 2 --name "${name}f" \
    > "$work/failing-up.log" 2>&1; then
    fail "lab.sh up succeeded with a failing tc"
fi
grep -q "up failed at: loss filter" "$work/failing-up.log" ||
    fail "lab.sh up did not name the failing step: $(cat "$work/failing-up.log")"
[[ -z "$(lab_namespaces "${name}f")" ]] ||
    fail "a failed up left namespaces: $(lab_namespaces "${name}f" | tr '\n' ' ')"

bash "$lab" up --receivers 1 --name "$name" > /dev/null
bash "$lab" up --receivers 2 --name "$name" > "$work/up.log"
grep -q "exists: taking it down first" "$work/up.log" || fail "second up did not replace the lab"
[[ "$(lab_namespaces "$name" | sort | tr '\n' ' ')" == "$name-br $name-hub $name-rcv1 $name-rcv2 " ]] ||
    fail "namespaces after up: $(lab_namespaces "$name" | tr '\n' ' ')"
eval "$(bash "$lab" env --name "$name")"
[[ "$LAB_RECEIVERS" == 2 && "$LAB_HUB_ADDR" == 10.77.0.1 && "$LAB_RCV2_ADDR" == 10.77.0.12 ]] ||
    fail "lab.sh env: receivers $LAB_RECEIVERS, hub $LAB_HUB_ADDR, rcv2 ${LAB_RCV2_ADDR:-}"
# The kernel must own no address on the DPDK interfaces.
for node in "${nodes[@]}"; do
    iface=$LAB_RCV_IF
    [[ $node == hub ]] && iface=$LAB_HUB_IF
    if [[ -n "$(bash "$lab" exec --name "$name" "$node" ip -4 -o addr show dev "$iface")" ]]; then
        fail "$node: the kernel has an IPv4 address on $iface"
    fi
done

# --- the dataplanes ---------------------------------------------------------------------

write_config() {
    local node=$1 device=$2 cidr=$3 role
    if [[ $node == hub ]]; then
        role=$'role: sender\n  rate: 100M'
    else
        role="role: receiver
  destination: $work/$node/received"
    fi
    cat > "$work/$node.yaml" <<YAML
# Shaped like config/examples/${node%%[0-9]*}.yaml, with this lab's names.
dataplane:
  eal:
    lcores: "0@(0-1)"
    file_prefix: $name-$node
    memory_mb: 256
  ports:
    - device: "$device"
      mtu: 9000
      address: $cidr
  mempool:
    mbufs: 4095
  idle_backoff_us: 50
control:
  $role
  eal:
    lcores: "8@(0-1)"
YAML
}
write_config hub "$LAB_HUB_DEVICE" "$LAB_HUB_CIDR"
write_config rcv1 "$LAB_RCV_DEVICE" "$LAB_RCV1_CIDR"
write_config rcv2 "$LAB_RCV_DEVICE" "$LAB_RCV2_CIDR"

for node in "${nodes[@]}"; do
    # lab.sh exec execs: the PID is the dataplane's.
    bash "$lab" exec --name "$name" "$node" "$dataplane" --config "$work/$node.yaml" \
        > "$work/$node.log" 2>&1 &
    pid[$node]=$!
done

# probe NODE STEP...: a lab_probe secondary in NODE's namespace.
probe() {
    local node=$1
    shift
    echo "--- probe $node: $*"
    if ! timeout 90 bash "$lab" exec --name "$name" "$node" "$probe" "$name-$node" "$@"; then
        fail "probe $node: $*"
    fi
}

hub=$LAB_HUB_ADDR
rcv1=$LAB_RCV1_ADDR
rcv2=$LAB_RCV2_ADDR
group=230.5.5.1
big=8972 # 9000-byte MTU - IPv4 - UDP headers

probe hub open 1044
probe rcv1 join $group:1044 open 1044
probe rcv2 open 1044

# Unicast receiver -> hub: ARP first (the send step retries while the hub's
# MAC is unresolved), then the datagrams on the hub's receive ring.
probe rcv1 send "$hub":1044 from-rcv1 sendbig "$hub":1044 big-from-rcv1 $big
probe rcv2 send "$hub":1044 from-rcv2
probe hub expect from-rcv1 "$rcv1" "$hub" expectbig big-from-rcv1 "$rcv1" "$hub" $big \
    expect from-rcv2 "$rcv2" "$hub" \
    count rx.arp ge 2 count tx.arp ge 2 count rx.to_control ge 3

# Multicast hub -> group: only the receiver that joined gets it.
probe hub send $group:1044 to-group sendbig $group:1044 big-to-group $big count tx.control ge 2
probe rcv1 expect to-group "$hub" $group expectbig big-to-group "$hub" $group $big
probe rcv2 none to-group 1500 none big-to-group 500

# Loss: 100% on what the hub sends; the other direction still flows.
bash "$lab" loss 100 --name "$name" > /dev/null
probe hub send $group:1044 lost-to-group
probe rcv1 none lost-to-group 1500 send "$hub":1044 rcv1-under-loss
probe hub expect rcv1-under-loss "$rcv1" "$hub"
bash "$lab" loss 0 --name "$name" > /dev/null
probe hub send $group:1044 after-loss
probe rcv1 expect after-loss "$hub" $group

# The counters tell the same story.
probe hub count tx.control ge 4 count rx.to_control ge 4 count tx.arp ge 2 \
    count rx.drop.unsupported_protocol eq 0 count rx.drop.unsupported_ethertype eq 0 \
    count rx.drop.multi_segment eq 0 counters
probe rcv1 count tx.control ge 3 count rx.to_control ge 3 count tx.arp ge 1 count tx.igmp ge 1 \
    count rx.drop.unsupported_protocol eq 0 count rx.drop.unsupported_ethertype eq 0 \
    count rx.drop.multi_segment eq 0 counters
probe rcv2 count tx.control ge 1 count rx.to_control eq 0 count tx.arp ge 1 count tx.igmp eq 0 \
    count rx.drop.ipv4_unjoined_group ge 3 \
    count rx.drop.unsupported_protocol eq 0 count rx.drop.unsupported_ethertype eq 0 \
    count rx.drop.multi_segment eq 0 counters

# The kernel sent nothing of its own on the DPDK interfaces (no ARP reply, no
# ICMP, no IPv6): what the veth transmitted is exactly what the dataplane did.
for node in "${nodes[@]}"; do
    iface=$LAB_RCV_IF
    [[ $node == hub ]] && iface=$LAB_HUB_IF
    sent=$(bash "$lab" exec --name "$name" "$node" cat "/sys/class/net/$iface/statistics/tx_packets")
    echo "--- $node: $iface transmitted $sent frames"
    probe "$node" count tx.packets eq "$sent"
done

bash "$lab" status --name "$name"

# --- stop and tear down ----------------------------------------------------------------

for node in "${nodes[@]}"; do
    kill -TERM "${pid[$node]}"
done
for node in "${nodes[@]}"; do
    rc=0
    wait "${pid[$node]}" || rc=$?
    unset "pid[$node]"
    echo "--- $node dataplane log"
    cat "$work/$node.log"
    [[ $rc -eq 0 ]] || fail "$node: skycast-dataplane exited with $rc after SIGTERM"
    grep -q "skycast-dataplane: stopped" "$work/$node.log" || fail "$node: no clean stop"
    if compgen -G "/dev/hugepages/$name-${node}map_*" > /dev/null; then
        fail "$node: hugepage files left behind"
    fi
done

bash "$lab" down --name "$name"
[[ -z "$(lab_namespaces "$name")" ]] || fail "down left namespaces: $(lab_namespaces "$name")"

if [[ $status -eq 0 ]]; then
    echo "lab_test: all checks passed"
fi
exit $status
