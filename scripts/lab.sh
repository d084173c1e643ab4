#!/usr/bin/env bash
# The network-namespace lab: a hub and N receivers, each in its own network
# namespace, joined by a Linux bridge (MTU 9000) in a namespace of its own.
# DPDK attaches to each node's inner veth end with net_af_packet.
#
#   scripts/lab.sh up [--receivers N] [--loss PCT] [--name PREFIX] [--kernel-nodes N1,N2]
#                     [--link "LINKEM OPTIONS" [--linkem BIN]]
#   scripts/lab.sh down [--name PREFIX] [--kill]
#   scripts/lab.sh loss PCT [--name PREFIX]
#   scripts/lab.sh status [--name PREFIX]
#   scripts/lab.sh exec [--name PREFIX] NODE CMD...     (NODE: hub, rcv1.., br)
#   scripts/lab.sh env [--name PREFIX]                  (eval "$(scripts/lab.sh env)")
#
# --kernel-nodes hub,rcv2,...: those nodes' inner ends belong to the kernel
# instead of DPDK (for stock uftp/uftpd in the lab, interop tests): the
# node's address below is set on the interface, ARP is answered normally,
# and the 224.0.0.0/4 route is there as on every node.
#
# The prefix (default "sky", or $SKYCAST_LAB_NAME) names every namespace, so
# two labs (a CI run and a dev run) never collide:
#
#   PREFIX-br    bridge "br0", MTU 9000, multicast snooping OFF; its ports
#                "hub" and "rcvK" are the outer veth ends
#   PREFIX-hub   "hub0" (inner end), DPDK's 10.77.0.1/24, MAC 02:5c:77:00:00:01
#   PREFIX-rcvK  "rcv0" (inner end), DPDK's 10.77.0.(10+K)/24, MAC 02:5c:77:00:00:(10+K)
#   (a kernel node's inner end carries that address in the kernel instead)
#
# Choices (docs/operations.md, "The lab"):
# - Multicast snooping is off: the bridge floods every group to every port,
#   like a switch without IGMP snooping. The receiver dataplanes' own group
#   filter is then what keeps unjoined groups out (and counts them as
#   rx.drop.ipv4_unjoined_group), and delivery does not depend on an IGMP
#   querier's timing. The UFTP baseline ran the same way.
# - The inner ends belong to DPDK: the kernel gets no IPv4 address on them,
#   so it neither answers ARP for the DPDK address nor takes UDP for it (and
#   so never sends ICMP port unreachable). Belt and braces: arp_ignore=8
#   (never answer ARP) on them, IPv4 forwarding off in the node namespaces (a
#   non-forwarding host drops unroutable packets without an ICMP error), and
#   IPv6 off everywhere (no neighbour discovery, MLD or router solicitations
#   for the dataplanes to count as foreign traffic).
# - Each inner end has the route 224.0.0.0/4, for kernel tools run in a node.
# - `ethtool -K <veth> tx off` on every veth end: frames a kernel stack sends
#   (stock uftp in a node, for interop) otherwise reach AF_PACKET with an
#   unfinished UDP checksum (CHECKSUM_PARTIAL) and the receiver drops them.
# - Loss (--loss / `loss PCT`) is the classic-BPF random dropper (no netem in
#   this kernel) on the ingress of the bridge's "hub" port: every frame the
#   hub sends (data, control, ARP, IGMP) is dropped with probability PCT%;
#   what the receivers send to the hub is not.
#
# --link "OPTIONS": a satellite link between the hub and the bridge. The
#   hub's veth then ends in a namespace PREFIX-link, where skycast-linkem
#   (perf/linkem/, OPTIONS are its own, e.g. "--delay 250ms --rate 1G --loss 1")
#   joins it ("hubside") to a second veth whose other end is the bridge's
#   "hub" port ("brside"): everything the hub sends crosses the link forward,
#   everything it receives crosses it back. --linkem BIN names the binary
#   (default build/perf/linkem/skycast-linkem). The emulator's counters are in
#   the JSON file $LAB_LINK_STATS (lab.sh env), rewritten every 200 ms; `down`
#   stops it and prints them. It runs --realtime (SCHED_FIFO): it stands for a
#   link, which does not wait for a CPU the nodes under test keep busy.
#
# `up` first takes down an existing lab of the same name and removes what it
# made if any step fails; `down` removes every namespace of the lab (which
# removes the bridge and veths with them) and its state file.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state_dir=/run/skycast-lab
subnet=10.77.0
prefix_len=24
mtu=9000
# The af_packet devargs that carry 9000-byte frames (docs/operations.md, the
# lab): 16 KiB TPACKET frames, and qdisc_bypass=0 so tc (the loss filter,
# tbf) sees what DPDK sends. The ring holds LAB_RING_FRAMES frames (512 by
# default, 8 MiB): the af_packet port's receive buffer, as SO_RCVBUF is a
# kernel socket's (perf/e2e gives Skycast as much as stock uftpd's -B).
ring_frames=${LAB_RING_FRAMES:-512}
[[ $ring_frames =~ ^[0-9]+$ ]] && ((ring_frames >= 64)) ||
    { echo "lab.sh: LAB_RING_FRAMES must be a number >= 64, not '$ring_frames'" >&2; exit 2; }
af_packet_args="blocksz=16384,framesz=16384,framecnt=$ring_frames,qdisc_bypass=0"

die() {
    echo "lab.sh: $*" >&2
    exit 1
}

usage() {
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

need_root() {
    [[ $(id -u) -eq 0 ]] || die "needs root (network namespaces, hugepages)"
}

check_name() {
    [[ "$1" =~ ^[a-z][a-z0-9]{0,9}$ ]] ||
        die "bad lab name '$1': 1-10 characters, a lowercase letter then letters or digits"
}

# The lab's namespaces that exist now, bridge first.
lab_namespaces() {
    local name=$1
    ip netns list 2>/dev/null | awk '{print $1}' |
        grep -E "^${name}-(br|hub|rcv[0-9]+|link)\$" | sort -t- -k2,2 -V || true
}

receiver_count() {
    lab_namespaces "$1" | grep -c -E -- "-rcv[0-9]+\$" || true
}

node_namespace() {
    local name=$1 node=$2
    case "$node" in
    br | bridge) echo "$name-br" ;;
    hub | rcv[0-9]*) echo "$name-$node" ;;
    *) die "unknown node '$node': hub, rcv1..rcvN or br" ;;
    esac
}

node_address() {
    case "$1" in
    hub) echo "$subnet.1" ;;
    rcv*) echo "$subnet.$((10 + ${1#rcv}))" ;;
    esac
}

node_mac() {
    case "$1" in
    hub) echo "02:5c:77:00:00:01" ;;
    rcv*) printf '02:5c:77:00:00:%02x\n' $((10 + ${1#rcv})) ;;
    esac
}

in_ns() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

# The cBPF program for `tc ... bpf da`: drop (TC_ACT_SHOT) when a random
# 32-bit number is below PCT% of 2^32, pass (TC_ACT_OK) otherwise.
#   ld [SKF_AD_OFF + SKF_AD_RANDOM]; jge #threshold, pass; ret #2; pass: ret #0
loss_bytecode() {
    local threshold
    threshold=$(awk -v p="$1" 'BEGIN { printf "%.0f", p * 4294967296 / 100 }')
    if ((threshold >= 4294967296)); then
        echo "1,6 0 0 2"
    else
        echo "4,32 0 0 4294963256,53 1 0 $threshold,6 0 0 2,6 0 0 0"
    fi
}

check_loss() {
    if ! [[ "$1" =~ ^[0-9]+(\.[0-9]+)?$ ]] || ! awk -v p="$1" 'BEGIN { exit !(p <= 100) }'; then
        die "bad loss '$1': a percentage from 0 to 100 (e.g. 1 or 0.5)"
    fi
}

set_loss() {
    local name=$1 pct=$2 ns="$1-br"
    [[ -n "$(lab_namespaces "$name")" ]] || die "no lab named '$name' (lab.sh up --name $name)"
    in_ns "$ns" tc filter del dev hub ingress 2>/dev/null || true
    if awk -v p="$pct" 'BEGIN { exit !(p > 0) }'; then
        in_ns "$ns" tc filter add dev hub ingress pref 10 handle 1 bpf da \
            bytecode "$(loss_bytecode "$pct")"
    fi
    mkdir -p "$state_dir"
    echo "$pct" > "$state_dir/$name.loss"
}

# Stops the lab's link emulator (its PID is in the state dir) and prints what
# it counted.
stop_link() {
    local name=$1 pid
    [[ -f "$state_dir/$name.linkem.pid" ]] || return 0
    pid=$(cat "$state_dir/$name.linkem.pid")
    if kill -TERM "$pid" 2>/dev/null; then
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    if [[ -f "$state_dir/$name.linkem.json" ]]; then
        echo "lab.sh: link emulator counters: $(cat "$state_dir/$name.linkem.json")"
    fi
    rm -f "$state_dir/$name.linkem.pid"
}

cmd_down() {
    local name=$1 kill=$2 ns pids any=0
    stop_link "$name"
    for ns in $(lab_namespaces "$name"); do
        any=1
        pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
        if [[ -n "${pids// /}" && $kill -eq 1 ]]; then
            echo "lab.sh: stopping processes in $ns: $pids" >&2
            # shellcheck disable=SC2086
            kill -TERM $pids 2>/dev/null || true
            for _ in $(seq 50); do
                [[ -z "$(ip netns pids "$ns" 2>/dev/null)" ]] && break
                sleep 0.1
            done
            pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
            if [[ -n "${pids// /}" ]]; then
                # shellcheck disable=SC2086
                kill -KILL $pids 2>/dev/null || true
            fi
        elif [[ -n "${pids// /}" ]]; then
            echo "lab.sh: warning: processes still in $ns ($pids): the namespace lives on" \
                 "unnamed until they exit (down --kill stops them)" >&2
        fi
        ip netns del "$ns"
    done
    rm -f "$state_dir/$name.env" "$state_dir/$name.loss" "$state_dir/$name.kernel" \
        "$state_dir/$name.linkem.json" "$state_dir/$name.linkem.log"
    if ((any)); then
        echo "lab.sh: lab '$name' removed"
    fi
}

# One node: its namespace, the veth pair into the bridge namespace, and the
# kernel settings that leave the inner end to DPDK.
# A kernel node (KERNEL=1) keeps the kernel's ARP and gets the node's address.
# With LINK=1 (the hub behind the link emulator) the veth's outer end is
# "hubside" in the link namespace, and a second pair joins "brside" there to
# the bridge's port.
add_node() {
    local name=$1 node=$2 inner=$3 kernel=${4:-0} link=${5:-0}
    local ns="$name-$node" br_ns="$name-br" arp_ignore=8
    ((kernel)) && arp_ignore=0
    ip netns add "$ns"
    in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
        net.ipv4.conf.all.forwarding=0 net.ipv4.conf.default.forwarding=0 \
        "net.ipv4.conf.default.arp_ignore=$arp_ignore"
    if ((link)); then
        local link_ns="$name-link"
        ip link add "$inner" netns "$ns" mtu "$mtu" address "$(node_mac "$node")" type veth \
            peer name hubside netns "$link_ns" mtu "$mtu"
        ip link add brside netns "$link_ns" mtu "$mtu" type veth \
            peer name "$node" netns "$br_ns" mtu "$mtu"
        in_ns "$link_ns" ip link set hubside up
        in_ns "$link_ns" ip link set brside up
        if command -v ethtool > /dev/null; then
            in_ns "$link_ns" ethtool -K hubside tx off > /dev/null
            in_ns "$link_ns" ethtool -K brside tx off > /dev/null
        fi
    else
        ip link add "$inner" netns "$ns" mtu "$mtu" address "$(node_mac "$node")" type veth \
            peer name "$node" netns "$br_ns" mtu "$mtu"
    fi
    in_ns "$ns" sysctl -qw "net.ipv4.conf.$inner.arp_ignore=$arp_ignore"
    in_ns "$br_ns" ip link set "$node" master br0 up
    in_ns "$ns" ip link set lo up
    if ((kernel)); then
        in_ns "$ns" ip addr add "$(node_address "$node")/$prefix_len" dev "$inner"
    fi
    in_ns "$ns" ip link set "$inner" up
    in_ns "$ns" ip route add 224.0.0.0/4 dev "$inner"
    if command -v ethtool > /dev/null; then
        in_ns "$ns" ethtool -K "$inner" tx off > /dev/null
        in_ns "$br_ns" ethtool -K "$node" tx off > /dev/null
    fi
}

# Is NODE in the comma-separated KERNEL_NODES list?
is_kernel_node() {
    [[ ",$2," == *",$1,"* ]]
}

cmd_up() {
    local name=$1 receivers=$2 loss=$3 kernel_nodes=$4 link=$5 linkem=$6
    if [[ -n "$(lab_namespaces "$name")" ]]; then
        echo "lab.sh: lab '$name' exists: taking it down first"
        cmd_down "$name" 0
    fi
    bash "$root/scripts/setup-hugepages.sh"
    if ! command -v ethtool > /dev/null; then
        echo "lab.sh: warning: ethtool missing (apt-get install ethtool): veth TX checksum" \
             "offload stays on; DPDK traffic is unaffected, but UDP that a kernel stack sends" \
             "in the lab arrives at af_packet with unfinished checksums" >&2
    fi

    # From here on a failing step removes whatever was made (globals: the
    # trap runs outside this function).
    up_name=$name
    up_step="start"
    # shellcheck disable=SC2154
    trap 'up_status=$?; trap - EXIT; if ((up_status != 0)); then
              echo "lab.sh: up failed at: $up_step; removing the partial lab" >&2
              cmd_down "$up_name" 0 >&2 || true
          fi; exit $up_status' EXIT
    # Interrupted: exit, so that the EXIT trap cleans up.
    trap 'exit 130' INT TERM

    up_step="bridge namespace $name-br"
    ip netns add "$name-br"
    in_ns "$name-br" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1
    in_ns "$name-br" ip link add br0 mtu "$mtu" type bridge mcast_snooping 0 stp_state 0
    in_ns "$name-br" ip link set br0 up

    local with_link=0
    if [[ -n "$link" ]]; then
        with_link=1
        up_step="link namespace $name-link"
        ip netns add "$name-link"
        in_ns "$name-link" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
            net.ipv6.conf.default.disable_ipv6=1
        in_ns "$name-link" ip link set lo up
    fi

    up_step="hub node"
    local k=0
    is_kernel_node hub "$kernel_nodes" && k=1
    add_node "$name" hub hub0 "$k" "$with_link"
    local i
    for ((i = 1; i <= receivers; ++i)); do
        up_step="receiver node rcv$i"
        k=0
        is_kernel_node "rcv$i" "$kernel_nodes" && k=1
        add_node "$name" "rcv$i" rcv0 "$k"
    done
    up_step="bridge MTU"
    in_ns "$name-br" ip link set br0 mtu "$mtu"

    up_step="loss filter"
    in_ns "$name-br" tc qdisc add dev hub clsact
    set_loss "$name" "$loss"

    if ((with_link)); then
        up_step="link emulator ($linkem $link)"
        mkdir -p "$state_dir"
        local stats="$state_dir/$name.linkem.json"
        rm -f "$stats"
        # shellcheck disable=SC2086 # $link is the emulator's option list
        ip netns exec "$name-link" "$linkem" --a hubside --b brside --stats "$stats" --realtime $link \
            > "$state_dir/$name.linkem.log" 2>&1 &
        echo $! > "$state_dir/$name.linkem.pid"
        # It writes its counters once its sockets are open: wait for that.
        for _ in $(seq 100); do
            [[ -s "$stats" ]] && break
            kill -0 "$(cat "$state_dir/$name.linkem.pid")" 2>/dev/null ||
                die "the link emulator exited: $(cat "$state_dir/$name.linkem.log")"
            sleep 0.1
        done
        [[ -s "$stats" ]] || die "the link emulator wrote no counters in 10 s"
    fi

    up_step="state file"
    mkdir -p "$state_dir"
    if [[ -n "$kernel_nodes" ]]; then
        echo "$kernel_nodes" > "$state_dir/$name.kernel"
    else
        rm -f "$state_dir/$name.kernel"
    fi
    cmd_env "$name" > "$state_dir/$name.env"
    trap - EXIT INT TERM
    echo "lab.sh: lab '$name' up: hub + $receivers receivers on $name-br/br0 (MTU $mtu)," \
         "loss ${loss}%${kernel_nodes:+, kernel nodes $kernel_nodes}${link:+, link: $link};" \
         "eval \"\$(scripts/lab.sh env --name $name)\" for its names"
}

cmd_env() {
    local name=$1 n i loss=0
    n=$(receiver_count "$name")
    ((n > 0)) || [[ -n "$(lab_namespaces "$name")" ]] || die "no lab named '$name'"
    [[ -f "$state_dir/$name.loss" ]] && loss=$(cat "$state_dir/$name.loss")
    local nodes="hub"
    for ((i = 1; i <= n; ++i)); do
        nodes+=" rcv$i"
    done
    emit() { printf "%s='%s'\n" "$1" "$2"; }
    emit LAB_NAME "$name"
    emit LAB_RECEIVERS "$n"
    emit LAB_NODES "$nodes"
    emit LAB_LOSS_PCT "$loss"
    local kernel_nodes=
    [[ -f "$state_dir/$name.kernel" ]] && kernel_nodes=$(cat "$state_dir/$name.kernel")
    emit LAB_KERNEL_NODES "$kernel_nodes"
    emit LAB_MTU "$mtu"
    if [[ -f "$state_dir/$name.linkem.pid" ]]; then
        emit LAB_LINK_STATS "$state_dir/$name.linkem.json"
    else
        emit LAB_LINK_STATS ""
    fi
    emit LAB_BRIDGE_NS "$name-br"
    emit LAB_BRIDGE br0
    emit LAB_HUB_NS "$name-hub"
    emit LAB_HUB_IF hub0
    emit LAB_HUB_ADDR "$(node_address hub)"
    emit LAB_HUB_CIDR "$(node_address hub)/$prefix_len"
    emit LAB_HUB_MAC "$(node_mac hub)"
    emit LAB_HUB_DEVICE "net_af_packet0,iface=hub0,$af_packet_args"
    emit LAB_RCV_IF rcv0
    emit LAB_RCV_DEVICE "net_af_packet0,iface=rcv0,$af_packet_args"
    for ((i = 1; i <= n; ++i)); do
        emit "LAB_RCV${i}_NS" "$name-rcv$i"
        emit "LAB_RCV${i}_ADDR" "$(node_address "rcv$i")"
        emit "LAB_RCV${i}_CIDR" "$(node_address "rcv$i")/$prefix_len"
        emit "LAB_RCV${i}_MAC" "$(node_mac "rcv$i")"
    done
}

cmd_status() {
    local name=$1 ns node inner pids
    local namespaces
    namespaces=$(lab_namespaces "$name")
    if [[ -z "$namespaces" ]]; then
        echo "lab '$name': down"
        return 0
    fi
    local loss=0
    [[ -f "$state_dir/$name.loss" ]] && loss=$(cat "$state_dir/$name.loss")
    echo "lab '$name': up, $(receiver_count "$name") receivers, loss ${loss}% on the hub's port"
    for ns in $namespaces; do
        node=${ns#"$name"-}
        if [[ "$node" == br ]]; then
            echo "  $ns: $(in_ns "$ns" ip -br link show br0 | awk '{print $1, $2}')," \
                 "ports: $(in_ns "$ns" ip -br link show master br0 | awk '{print $1}' |
                     sed 's/@.*//' | tr '\n' ' ')"
            # The clsact qdisc counts what the loss filter dropped.
            in_ns "$ns" tc -s qdisc show dev hub ingress 2>/dev/null | awk '
                /Sent/ { gsub(/[(,]/, " "); print "    from the hub: " $4 " frames, " $7 \
                         " dropped by the loss filter" }'
            continue
        fi
        if [[ "$node" == link ]]; then
            echo "  $ns: link emulator (PID $(cat "$state_dir/$name.linkem.pid" 2>/dev/null ||
                echo none)), counters: $(cat "$state_dir/$name.linkem.json" 2>/dev/null)"
            continue
        fi
        inner=rcv0
        [[ "$node" == hub ]] && inner=hub0
        pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
        local owner=DPDK
        [[ -f "$state_dir/$name.kernel" ]] &&
            is_kernel_node "$node" "$(cat "$state_dir/$name.kernel")" && owner=kernel
        echo "  $ns: $inner $(in_ns "$ns" ip -br link show "$inner" | awk '{print $2, $3}')" \
             "for $(node_address "$node") ($owner), rx/tx packets" \
             "$(in_ns "$ns" cat "/sys/class/net/$inner/statistics/rx_packets")/$(in_ns "$ns" \
                 cat "/sys/class/net/$inner/statistics/tx_packets"), processes: ${pids:-none}"
    done
}

# --- command line -------------------------------------------------------------------

(($# >= 1)) || usage
command=$1
shift
name=${SKYCAST_LAB_NAME:-sky}
receivers=3
loss=0
kill=0
kernel_nodes=
link=
linkem="$root/build/perf/linkem/skycast-linkem"
positional=()
while (($# > 0)); do
    case "$1" in
    --name)
        (($# >= 2)) || die "--name needs a value"
        name=$2
        shift 2
        ;;
    --receivers)
        (($# >= 2)) || die "--receivers needs a value"
        receivers=$2
        shift 2
        ;;
    --loss)
        (($# >= 2)) || die "--loss needs a value"
        loss=$2
        shift 2
        ;;
    --kernel-nodes)
        (($# >= 2)) || die "--kernel-nodes needs a value"
        kernel_nodes=$2
        shift 2
        ;;
    --link)
        (($# >= 2)) || die "--link needs the emulator's options in one argument"
        link=$2
        shift 2
        ;;
    --linkem)
        (($# >= 2)) || die "--linkem needs a path"
        linkem=$2
        shift 2
        ;;
    --kill)
        kill=1
        shift
        ;;
    -h | --help) usage ;;
    --*) die "unknown option '$1'" ;;
    *)
        if [[ "$command" == exec ]]; then
            # Everything from the node on is the node and its command.
            positional=("$@")
            break
        fi
        positional+=("$1")
        shift
        ;;
    esac
done
check_name "$name"

case "$command" in
up)
    ((${#positional[@]} == 0)) || die "up: unexpected '${positional[0]}'"
    if ! [[ "$receivers" =~ ^[0-9]+$ ]] || ((receivers < 1 || receivers > 64)); then
        die "bad --receivers '$receivers': 1 to 64"
    fi
    check_loss "$loss"
    if [[ -n "$kernel_nodes" ]]; then
        for node in ${kernel_nodes//,/ }; do
            [[ "$node" == hub ]] ||
                { [[ "$node" =~ ^rcv([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 1 &&
                    BASH_REMATCH[1] <= receivers)); } ||
                die "bad --kernel-nodes entry '$node': hub or rcv1..rcv$receivers"
        done
    fi
    if [[ -n "$link" && ! -x "$linkem" ]]; then
        die "--link: no link emulator at $linkem (build it: ninja -C build perf/linkem/skycast-linkem, or give --linkem BIN)"
    fi
    need_root
    cmd_up "$name" "$receivers" "$loss" "$kernel_nodes" "$link" "$linkem"
    ;;
down)
    ((${#positional[@]} == 0)) || die "down: unexpected '${positional[0]}'"
    need_root
    cmd_down "$name" "$kill"
    ;;
loss)
    ((${#positional[@]} == 1)) || die "usage: lab.sh loss PCT [--name PREFIX]"
    check_loss "${positional[0]}"
    need_root
    set_loss "$name" "${positional[0]}"
    echo "lab.sh: lab '$name': ${positional[0]}% loss on what the hub sends"
    ;;
status)
    need_root
    cmd_status "$name"
    ;;
env)
    cmd_env "$name"
    ;;
exec)
    ((${#positional[@]} >= 2)) || die "usage: lab.sh exec [--name PREFIX] NODE CMD..."
    ns=$(node_namespace "$name" "${positional[0]}")
    ip netns list | awk '{print $1}' | grep -qx "$ns" || die "no namespace $ns (is the lab up?)"
    # exec keeps the PID: callers can stop what they started by it.
    exec ip netns exec "$ns" "${positional[@]:1}"
    ;;
*)
    usage
    ;;
esac
