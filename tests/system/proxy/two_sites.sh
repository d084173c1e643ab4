#!/usr/bin/env bash
# Two sites joined by unicast only, bridged by proxies (a server proxy at
# the server's site, stock uftpproxyd -c at the receivers'), in the lab:
#
#   two_sites.sh [--suite none|ecdh-p256-aes128gcm|ecdh-p256-aes256cbc-sigkeyex] [--nat]
#                [--server-proxy stock|skycast]
#                [--client-proxy stock|skycast|none] [--hub skycast|stock] [--name LAB]
#                [--fec K] [--loss PCT] [--drop-reg-conf] BUILD_DIR
#
#   site A (10.77.0.0/24, the lab's bridge):
#     hub    Skycast hub (DPDK), control.proxies: the client proxy; with
#            --hub stock, stock uftp (kernel node, -j the client proxy)
#     rcv1   server proxy at 10.77.0.11: stock uftpproxyd -s 10.77.0.12
#            (kernel node), or with --server-proxy skycast Skycast's
#            (control.role: server_proxy, DPDK node)
#     rcv2   stock uftpproxyd -c (client proxy, kernel node), whose first leg
#            is here (10.77.0.12) and second leg in site B; with
#            --client-proxy skycast, Skycast's (control.role: client_proxy,
#            DPDK node, one port) at 10.78.0.1 in site B, reached through a
#            router (10.77.0.12 / 10.78.0.254) that forwards no multicast;
#            encrypted, with its own key (control.encryption). With
#            --client-proxy none there is none: the
#            server proxy's downstream is the Skycast receiver rcv3 itself
#            (stock uftpd -H's case), the hub's only client, which with
#            --nat sends the heartbeats.
#   site B (10.78.0.0/24, a second bridge this script makes): no multicast
#   from site A reaches it; the client proxy re-multicasts there (10.78.0.1)
#     rcv3   Skycast receiver (DPDK, 10.78.0.13)
#     rcv4   stock uftpd (kernel node, 10.78.0.14)
#
# --nat: the client proxy's first leg sits behind a NAT (iptables MASQUERADE
# in a namespace of its own, LAB-nat: 10.79.0.2 inside, 10.77.0.12 outside),
# so the server proxy cannot know where to send: it runs `-s fp=FINGERPRINT`
# (Skycast: server_proxy.downstream_fingerprint) and learns the client
# proxy's address from its signed heartbeats (`-H`), which the test waits
# for it to accept. Against Skycast's server proxy a forged heartbeat (the
# right fingerprint's key blob, signed by another key) and an
# unauthenticated one are sent first, from another host: both must be
# refused, counted, and change nothing.
#
# --loss PCT: random loss on everything the hub's port sends (lab.sh --loss),
# so the receivers behind the proxies need repair passes.
# --drop-reg-conf (Skycast's client proxy, encrypted): the router between
# the sites drops every REG_CONF (iptables u32 on the UFTP function byte).
# A stock server sends it once and never again, so the client proxy must
# learn that the server took its receivers from the server's sealed
# FILEINFO, which lists them: its dataplane hands it copies of the sealed
# datagrams while a receiver waits (docs/protocol.md §7.1). The test
# requires REG_CONFs dropped, every receiver confirmed that way, and the
# copies stopped again.
# --fec K (Skycast hub): control.fec with groups of K blocks, 5 % up front.
# PARITY goes to the session port + 1, which no proxy forwards. A stock
# client proxy ORs its receivers' STATUS into plain NAKs (the deficit flag
# does not survive it), so the hub resends data blocks; Skycast's client
# proxy keeps the flag, and without a client proxy the receiver's own STATUS
# reaches the hub, so there the Skycast receiver must notice that no parity
# reaches it and NAK data blocks instead (docs/protocol.md §17.6), logged at
# its session's end: with --loss the test requires that line, and leaves
# the stock rcv4 out of the session. rcv4's plain NAKs make the hub resend
# the same lost data blocks (the loss is on the hub's port), which would
# complete rcv3 before it had reason to fall back: a race the test would
# lose by chance. Always: byte-identical copies.
#
# Pass: `skycast send` succeeds for its receivers, every copy is
# byte-identical, the hub's session result lists the client proxy
# (completed) and every receiver, and no frame the hub sent reached site B
# except through the proxies (the site-B bridge saw nothing from the hub's
# MAC). Encrypted (ECDH P-256, AES-128-GCM), the client proxy terminates the
# key exchange: it re-signs the ANNOUNCE with its own key and hands its
# receivers the group keys.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
lab_sh="$root/scripts/lab.sh"
# shellcheck source=scripts/lab/skycast.sh
source "$root/scripts/lab/skycast.sh"
suite=none
nat=0
server_proxy=stock
client_proxy=stock
hub=skycast
lab=sites
fec=0
loss=0
drop_reg_conf=0
build_dir=
while (($#)); do
    case $1 in
    --suite) suite=$2; shift 2 ;;
    --nat) nat=1; shift ;;
    --server-proxy) server_proxy=$2; shift 2 ;;
    --client-proxy) client_proxy=$2; shift 2 ;;
    --hub) hub=$2; shift 2 ;;
    --name) lab=$2; shift 2 ;;
    --fec) fec=$2; shift 2 ;;
    --loss) loss=$2; shift 2 ;;
    --drop-reg-conf) drop_reg_conf=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --*) echo "two_sites.sh: unknown option $1" >&2; exit 2 ;;
    *) build_dir=$1; shift ;;
    esac
done
[[ $suite =~ ^(none|ecdh-p256-aes128gcm|ecdh-p256-aes256cbc-sigkeyex)$ ]] ||
    { echo "two_sites.sh: unknown suite $suite" >&2; exit 2; }
# `-w keyex` (client authentication forced): every sealed datagram is
# signed by its sender; a client proxy checks the server's and signs again.
keyex_signed=0
[[ $suite == ecdh-p256-aes256cbc-sigkeyex ]] && keyex_signed=1
[[ $server_proxy =~ ^(stock|skycast)$ ]] || { echo "two_sites.sh: --server-proxy stock|skycast" >&2; exit 2; }
[[ $hub =~ ^(stock|skycast)$ ]] || { echo "two_sites.sh: --hub skycast|stock" >&2; exit 2; }
[[ $client_proxy =~ ^(stock|skycast|none)$ ]] || { echo "two_sites.sh: --client-proxy stock|skycast|none" >&2; exit 2; }
[[ $fec == 0 || $hub == skycast ]] || { echo "two_sites.sh: --fec needs the Skycast hub" >&2; exit 2; }
# The stock rcv4 joins behind a client proxy, except where rcv3's fallback
# from parity is what is tested (see --fec above).
with_rcv4=1
if [[ $client_proxy == none ]] || { ((fec)) && [[ $loss != 0 && $client_proxy != stock ]]; }; then
    with_rcv4=0
fi
[[ $drop_reg_conf == 0 || ($client_proxy == skycast && $suite != none) ]] ||
    { echo "two_sites.sh: --drop-reg-conf needs --client-proxy skycast and a --suite" >&2; exit 2; }
[[ -n $build_dir ]] || { echo "two_sites.sh: BUILD_DIR missing" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "two_sites.sh: run as root" >&2; exit 2; }
for tool in uftp uftpproxyd uftpd uftp_keymgt dumpcap tshark; do
    command -v $tool > /dev/null ||
        { echo "two_sites.sh: SKIP: $tool missing (apt-get install uftp tshark)" >&2; exit 77; }
done
build_dir=$(cd "$build_dir" && pwd)
dataplane_bin="$build_dir/dataplane/app/skycast-dataplane"
control_bin="$build_dir/control/skycast-control"
skycast_bin="$build_dir/control/skycast"

work=$(mktemp -d /tmp/skycast-sites-XXXXXX)
logs="$work/logs"
mkdir -p "$logs" "$work/keys"
pids=()
br2_ns="$lab-br2"
nat_ns="$lab-nat"
started=$(date +%s.%N)
say() { printf '== [%5.1fs] %s\n' "$(echo "$(date +%s.%N) - $started" | bc)" "$*"; }

# shellcheck disable=SC2317 # the EXIT trap
cleanup() {
    local status=$?
    sky_stop_pids "${pids[@]}"
    bash "$lab_sh" down --name "$lab" > /dev/null 2>&1 || true
    ip netns del "$br2_ns" 2> /dev/null || true
    ip netns del "$nat_ns" 2> /dev/null || true
    rm -f /dev/hugepages/"$lab"-*map_* 2> /dev/null || true
    sky_finish_work "$status" two_sites.sh "$work"
}
trap cleanup EXIT

hub_uid=0x0A4D0001
cproxy_uid=0x0A4D0101
sproxy_uid=0x0A4D0102
rcv3_uid=0x0A4E000D
rcv4_uid=0x0A4E000E

say "lab '$lab': two sites, suite $suite, $hub hub, $server_proxy server proxy, $client_proxy client proxy, fec $fec, loss $loss%"
bash "$root/scripts/setup-hugepages.sh" 1024 > /dev/null
kernel_nodes=rcv4
[[ $client_proxy == stock ]] && kernel_nodes+=,rcv2
[[ $server_proxy == stock ]] && kernel_nodes+=,rcv1
[[ $hub == stock ]] && kernel_nodes+=,hub
bash "$lab_sh" up --name "$lab" --receivers 4 --kernel-nodes "$kernel_nodes" --loss "$loss" \
    > "$logs/lab-up.log"
eval "$(bash "$lab_sh" env --name "$lab")"

# --- Site B: a second bridge; rcv3 and rcv4 move there ---------------------------------
ip netns add "$br2_ns"
ip -n "$br2_ns" link set lo up
ip netns exec "$br2_ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$br2_ns" link add br2 mtu 9000 type bridge mcast_snooping 0 stp_state 0
ip -n "$br2_ns" link set br2 up
for node in rcv3 rcv4; do
    ip -n "$LAB_BRIDGE_NS" link set "$node" netns "$br2_ns"
    ip -n "$br2_ns" link set "$node" master br2 up
done
ip -n "$LAB_RCV4_NS" addr flush dev "$LAB_RCV_IF"
ip -n "$LAB_RCV4_NS" addr add 10.78.0.14/24 dev "$LAB_RCV_IF"
if [[ $client_proxy == stock ]]; then
    # The client proxy's second leg: 10.78.0.1 in site B, where its multicast goes.
    ip link add cpb netns "$LAB_RCV2_NS" mtu 9000 type veth peer name cproxy netns "$br2_ns" mtu 9000
    ip -n "$br2_ns" link set cproxy master br2 up
    ip -n "$LAB_RCV2_NS" addr add 10.78.0.1/24 dev cpb
    ip -n "$LAB_RCV2_NS" link set cpb up
    ip -n "$LAB_RCV2_NS" route replace 224.0.0.0/4 dev cpb
    if command -v ethtool > /dev/null; then
        ip netns exec "$LAB_RCV2_NS" ethtool -K cpb tx off > /dev/null
        ip netns exec "$br2_ns" ethtool -K cproxy tx off > /dev/null
    fi
    if ((nat)); then
        # rcv2's site-A leg moves behind a NAT: its veth's outer end leaves the
        # bridge for LAB-nat (10.79.0.1), and a new veth joins LAB-nat to the
        # bridge as 10.77.0.12, where MASQUERADE rewrites what goes out.
        command -v iptables > /dev/null ||
            { echo "two_sites.sh: SKIP: iptables missing (apt-get install iptables)" >&2; exit 77; }
        ip netns add "$nat_ns"
        ip -n "$nat_ns" link set lo up
        ip netns exec "$nat_ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.disable_ipv6=1
        ip -n "$LAB_BRIDGE_NS" link set rcv2 nomaster
        ip -n "$LAB_BRIDGE_NS" link set rcv2 netns "$nat_ns"
        ip -n "$nat_ns" addr add 10.79.0.1/24 dev rcv2
        ip -n "$nat_ns" link set rcv2 up
        ip link add nat-out netns "$nat_ns" mtu 9000 type veth peer name nat netns "$LAB_BRIDGE_NS" mtu 9000
        ip -n "$LAB_BRIDGE_NS" link set nat master "$LAB_BRIDGE" up
        ip -n "$nat_ns" addr add 10.77.0.12/24 dev nat-out
        ip -n "$nat_ns" link set nat-out up
        ip netns exec "$nat_ns" iptables -t nat -A POSTROUTING -o nat-out -j MASQUERADE
        ip -n "$LAB_RCV2_NS" addr flush dev "$LAB_RCV_IF"
        ip -n "$LAB_RCV2_NS" addr add 10.79.0.2/24 dev "$LAB_RCV_IF"
        ip -n "$LAB_RCV2_NS" route add default via 10.79.0.1
        if command -v ethtool > /dev/null; then
            ip netns exec "$nat_ns" ethtool -K nat-out tx off > /dev/null
            ip netns exec "$nat_ns" ethtool -K rcv2 tx off > /dev/null
            ip netns exec "$LAB_BRIDGE_NS" ethtool -K nat tx off > /dev/null
        fi
    fi
else
    # Skycast's client proxy has one port: on site B (10.78.0.1), behind a
    # router (LAB-nat: 10.77.0.12 on site A, 10.78.0.254 on site B) that
    # forwards unicast and no multicast; with --nat it masquerades what
    # leaves for site A. Without a client proxy, rcv3 sits behind it alone.
    command -v iptables > /dev/null ||
        { echo "two_sites.sh: SKIP: iptables missing (apt-get install iptables)" >&2; exit 77; }
    if [[ $client_proxy == skycast ]]; then
        ip -n "$LAB_BRIDGE_NS" link set rcv2 nomaster
        ip -n "$LAB_BRIDGE_NS" link set rcv2 netns "$br2_ns"
        ip -n "$br2_ns" link set rcv2 master br2 up
    fi
    ip netns add "$nat_ns"
    ip -n "$nat_ns" link set lo up
    ip netns exec "$nat_ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.disable_ipv6=1
    ip link add nat-out netns "$nat_ns" mtu 9000 type veth peer name nat netns "$LAB_BRIDGE_NS" mtu 9000
    ip -n "$LAB_BRIDGE_NS" link set nat master "$LAB_BRIDGE" up
    ip -n "$nat_ns" addr add 10.77.0.12/24 dev nat-out
    ip -n "$nat_ns" link set nat-out up
    ip link add rt-b netns "$nat_ns" mtu 9000 type veth peer name rtb netns "$br2_ns" mtu 9000
    ip -n "$br2_ns" link set rtb master br2 up
    ip -n "$nat_ns" addr add 10.78.0.254/24 dev rt-b
    ip -n "$nat_ns" link set rt-b up
    ((nat)) && ip netns exec "$nat_ns" iptables -t nat -A POSTROUTING -o nat-out -j MASQUERADE
    if ((drop_reg_conf)); then
        # UDP payload byte 1 (the UFTP function) 4: REG_CONF.
        ip netns exec "$nat_ns" iptables -A FORWARD -p udp -m u32 \
            --u32 "0>>22&0x3C@8>>16&0xFF=4" -j DROP
    fi
    if [[ $server_proxy == stock ]] && ((!nat)); then
        ip -n "$LAB_RCV1_NS" route add 10.78.0.0/24 via 10.77.0.12
    fi
    if command -v ethtool > /dev/null; then
        ip netns exec "$nat_ns" ethtool -K nat-out tx off > /dev/null
        ip netns exec "$nat_ns" ethtool -K rt-b tx off > /dev/null
        ip netns exec "$LAB_BRIDGE_NS" ethtool -K nat tx off > /dev/null
        ip netns exec "$br2_ns" ethtool -K rtb tx off > /dev/null
    fi
fi

# --- Keys ----------------------------------------------------------------------------
if [[ $suite != none ]]; then
    "$skycast_bin" keys generate ec:prime256v1 "$work/keys/hub.pem" > /dev/null
    "$skycast_bin" keys generate ec:prime256v1 "$work/keys/rcv3.pem" > /dev/null
    for k in sproxy rcv4; do
        uftp_keymgt -g ec:prime256v1 "$work/keys/$k.pem" > /dev/null 2>&1
    done
fi
if [[ $suite != none ]] || ((nat)); then
    # Behind the NAT the client proxy signs its heartbeats with this key,
    # which the server proxy knows by its fingerprint.
    uftp_keymgt -g ec:prime256v1 "$work/keys/cproxy.pem" > /dev/null 2>&1
fi

# --- Nodes ---------------------------------------------------------------------------
# A hub's `clients:` or `proxies:` entry; with client authentication, with
# the key's fingerprint (the hub checks the client proxy's; its receivers'
# keys are checked by the proxy, which terminates the key exchange).
peer_entry() { # UID KEY_NAME
    if ((keyex_signed)); then
        echo "{uid: $1, fingerprint: \"$("$skycast_bin" keys fingerprint "$work/keys/$2.pem" | sed 's/.*fingerprint: //')\"}"
    else
        echo "{uid: $1}"
    fi
}
downstream=10.77.0.12
[[ $client_proxy == skycast ]] && downstream=10.78.0.1 # through the router
[[ $client_proxy == none ]] && downstream=10.78.0.13
# Who proves the heartbeat key: the client proxy, or rcv3 without one.
heartbeat_node=rcv2
[[ $client_proxy == none ]] && heartbeat_node=rcv3
fingerprint=
heartbeat=()
if ((nat)); then
    fingerprint=$("$skycast_bin" keys fingerprint "$work/keys/cproxy.pem" | sed 's/.*fingerprint: //')
    downstream="fp=$fingerprint"
    heartbeat=(-H 10.77.0.11 -h 1)
fi
dpdk_nodes=()
[[ $client_proxy != none ]] && dpdk_nodes+=(rcv3) # else it starts as the downstream, below
[[ $hub == skycast ]] && dpdk_nodes+=(hub)
[[ $server_proxy == skycast ]] && dpdk_nodes+=(rcv1)
{
    sky_dataplane_yaml "$lab-hub" "$LAB_HUB_DEVICE" "$LAB_HUB_CIDR"
    sky_control_yaml "$work" "$logs" hub sender "$hub_uid"
    cat << YAML
  rate: 100M
  block_size: 1300
  grtt: {initial: 100ms, min: 100ms, max: 2s}
YAML
    if ((with_rcv4)); then
        echo "  clients: [$(peer_entry "$rcv3_uid" rcv3), $(peer_entry "$rcv4_uid" rcv4)]"
    else
        echo "  clients: [$(peer_entry "$rcv3_uid" rcv3)]"
    fi
    [[ $client_proxy != none ]] && echo "  proxies: [$(peer_entry "$cproxy_uid" cproxy)]"
    ((fec)) && echo "  fec: {group_blocks: $fec, proactive: \"5%\"}"
} > "$work/hub.yaml"
if ((keyex_signed)); then
    cat >> "$work/hub.yaml" << YAML
  encryption: {keyex: ecdh_ecdsa, cipher: aes256-cbc, hash: sha256, signature: keyex,
               client_auth: true, private_key: $work/keys/hub.pem}
YAML
elif [[ $suite != none ]]; then
    cat >> "$work/hub.yaml" << YAML
  encryption: {keyex: ecdh_ecdsa, cipher: aes128-gcm, hash: sha256, private_key: $work/keys/hub.pem}
YAML
fi
{
    sky_dataplane_yaml "$lab-rcv1" "$LAB_RCV_DEVICE" "$LAB_RCV1_CIDR" 10.77.0.12
    sky_control_yaml "$work" "$logs" rcv1 server_proxy "$sproxy_uid"
    if ((nat)); then
        echo "  server_proxy: {downstream_fingerprint: \"$fingerprint\"}"
    else
        echo "  server_proxy: {downstream: $downstream}"
    fi
} > "$work/rcv1.yaml"
{
    sky_dataplane_yaml "$lab-rcv2" "$LAB_RCV_DEVICE" 10.78.0.1/24 10.78.0.254
    sky_control_yaml "$work" "$logs" rcv2 client_proxy "$cproxy_uid"
    if ((nat)); then
        echo "  heartbeats: {to: [10.77.0.11], interval: 1s, private_key: $work/keys/cproxy.pem}"
    fi
    if [[ $suite != none ]]; then
        # The key the site's receivers key with (of the hub's type: EC P-256).
        echo "  encryption: {private_key: $work/keys/cproxy.pem, ecdh_curve: prime256v1}"
    fi
} > "$work/rcv2.yaml"
mkdir -p "$work/rcv3/received" "$work/rcv4/received"
{
    sky_dataplane_yaml "$lab-rcv3" "$LAB_RCV_DEVICE" 10.78.0.13/24 10.78.0.254
    sky_control_yaml "$work" "$logs" rcv3 receiver "$rcv3_uid"
    echo "  destination: $work/rcv3/received"
    if [[ $client_proxy == none ]] && ((nat)); then
        echo "  heartbeats: {to: [10.77.0.11], interval: 1s, private_key: $work/keys/cproxy.pem}"
    fi
} > "$work/rcv3.yaml"
if [[ $suite != none ]]; then
    printf '  encryption:\n    private_keys: [%s]\n' "$work/keys/rcv3.pem" >> "$work/rcv3.yaml"
fi
for node in "${dpdk_nodes[@]}" $([[ $client_proxy != stock ]] && echo "$heartbeat_node"); do
    "$skycast_bin" check "$work/$node.yaml" > /dev/null || { "$skycast_bin" check "$work/$node.yaml"; exit 1; }
done

key_args() { # NAME: stock key options for an encrypted run
    if [[ $suite != none ]]; then
        echo "-k $work/keys/$1.pem -e prime256v1"
    elif ((nat)) && [[ $1 == cproxy ]]; then
        echo "-k $work/keys/$1.pem"
    fi
}
# The Skycast nodes first: the stock client proxy heartbeats as soon as it starts.
for node in "${dpdk_nodes[@]}"; do
    sky_start_node "$lab" "$node" "$logs"
done
for node in "${dpdk_nodes[@]}"; do
    sky_wait_node "$work/$node.sock" 30 || { echo "two_sites.sh: $node did not come up" >&2; exit 1; }
done
server_proxy_stat() { # FIELD: a number (or text) from Skycast's server proxy stats
    "$skycast_bin" stats --socket "$work/rcv1.sock" --json |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["server_proxy"][sys.argv[1]])' "$1"
}
if [[ $server_proxy == skycast ]] && ((nat)); then
    # Before the real client proxy speaks: from the NAT's outside address,
    # an unauthenticated heartbeat (challenged) and one that carries the
    # pinned key's blob and the challenged nonce with a signature that is
    # not the key's (refused). Neither may make it the downstream.
    openssl ec -in "$work/keys/cproxy.pem" -pubout -outform DER 2> /dev/null |
        tail -c 64 > "$work/keys/cproxy.xy"
    ip netns exec "$nat_ns" python3 - "$work/keys/cproxy.xy" "$fingerprint" << 'PY' > "$logs/forged-heartbeats.log" 2>&1 ||
import hashlib, socket, struct, sys
xy = open(sys.argv[1], "rb").read()
blob = bytes([2, 23]) + struct.pack(">H", len(xy)) + xy  # EC blob, P-256 (uftp4.md §5.4)
fp = ":".join("%02X" % b for b in hashlib.sha1(blob).digest())
assert fp == sys.argv[2], "blob fingerprint %s != %s" % (fp, sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.77.0.12", 0))
s.settimeout(5)
def hb_req(nonce, key, sig):
    body = struct.pack(">BBHHHI", 14, 0, 0, len(key), len(sig), nonce) + key + sig
    body += bytes(-len(body) % 4)
    body = body[:1] + bytes([len(body) // 4]) + body[2:]
    return struct.pack(">BBHIIBBBB", 0x40, 14, 1, 0x0A4D0199, 0, 0, 0, 0, 0) + body
def answer():
    data, _ = s.recvfrom(2048)
    func, auth, nonce = data[16], data[18], struct.unpack(">I", data[20:24])[0]
    assert func == 15, "not an HB_RESP: %d" % func
    return auth, nonce
s.sendto(hb_req(0, b"", b""), ("10.77.0.11", 1044))
auth, nonce = answer()
print("unauthenticated heartbeat: answer %d nonce %08x" % (auth, nonce))
assert auth == 2 and nonce != 0, "want CHALLENGE (2) with a nonce"
s.sendto(hb_req(nonce, blob, bytes([0, 32, 0, 32]) + bytes(64)), ("10.77.0.11", 1044))
auth, _ = answer()
print("forged heartbeat: answer %d" % auth)
assert auth == 0, "want FAILED (0)"
PY
        { cat "$logs/forged-heartbeats.log"; echo "two_sites.sh: forged heartbeats not refused" >&2; exit 1; }
    cat "$logs/forged-heartbeats.log"
    # Both were answered, so both are counted; the stats document catches
    # up within its publishing interval (100 ms).
    for _ in $(seq 50); do
        (($(server_proxy_stat heartbeats_refused) > 0)) && break
        sleep 0.1
    done
    refused=$(server_proxy_stat heartbeats_refused)
    unauthenticated=$(server_proxy_stat heartbeats_unauthenticated)
    adopted=$(server_proxy_stat downstream)
    echo "server proxy: heartbeats refused $refused, unauthenticated $unauthenticated, downstream '$adopted'"
    [[ $refused == 1 && $unauthenticated == 1 && -z $adopted ]] ||
        { echo "two_sites.sh: the forged heartbeats were not counted, or changed the downstream" >&2; exit 1; }
fi
if [[ $server_proxy == stock ]]; then
    # shellcheck disable=SC2046 # key_args is a word list
    bash "$lab_sh" exec --name "$lab" rcv1 uftpproxyd -s "$downstream" -d -U "$sproxy_uid" \
        -I "$LAB_RCV_IF" -x 4 $(key_args sproxy) > "$logs/rcv1-server-proxy.log" 2>&1 &
    pids+=($!)
fi
if [[ $client_proxy == stock ]]; then
    # shellcheck disable=SC2046
    bash "$lab_sh" exec --name "$lab" rcv2 uftpproxyd -c -d -U "$cproxy_uid" -I cpb -O cpb \
        "${heartbeat[@]}" -x 4 $(key_args cproxy) > "$logs/rcv2-client-proxy.log" 2>&1 &
    pids+=($!)
else
    # Skycast's client proxy, or the receiver that is the downstream itself.
    node=$heartbeat_node
    sky_start_node "$lab" "$node" "$logs"
    sky_wait_node "$work/$node.sock" 30 || { echo "two_sites.sh: $node did not come up" >&2; exit 1; }
fi
if ((nat)); then
    # The server proxy knows where to send only once a heartbeat through the
    # NAT proved the client proxy's key (it sends one every second).
    accepted=0
    for _ in $(seq 100); do
        if [[ $server_proxy == stock ]]; then
            grep -q "as downstream address" "$logs/rcv1-server-proxy.log" && accepted=1
        else
            (($(server_proxy_stat heartbeats_accepted) > 0)) && accepted=1
        fi
        ((accepted)) && break
        sleep 0.1
    done
    ((accepted)) ||
        { echo "two_sites.sh: the server proxy never accepted the client proxy's heartbeat" >&2; exit 1; }
    if [[ $server_proxy == stock ]]; then
        grep "as downstream address" "$logs/rcv1-server-proxy.log" | head -1
    else
        echo "server proxy: downstream $(server_proxy_stat downstream) from a proved heartbeat"
    fi
fi
receivers=(rcv3 rcv4)
if ((!with_rcv4)); then
    receivers=(rcv3)
else
    uftpd_key=()
    [[ $suite != none ]] && uftpd_key=(-k "$work/keys/rcv4.pem")
    bash "$lab_sh" exec --name "$lab" rcv4 uftpd -d -q -I "$LAB_RCV_IF" -U "$rcv4_uid" \
        -D "$work/rcv4/received" -x 3 "${uftpd_key[@]}" > "$logs/rcv4-uftpd.log" 2>&1 &
    pids+=($!)
fi
# Capture site B's bridge: nothing of the hub's may appear there.
ip netns exec "$br2_ns" dumpcap -q -i br2 -w "$work/site-b.pcapng" > "$logs/dumpcap.log" 2>&1 &
capture_pid=$!
pids+=("$capture_pid")
# dumpcap writes the file's header once it captures (bounded: 10 s).
for ((i = 0; i < 200; ++i)); do
    [[ -s "$work/site-b.pcapng" ]] && break
    sleep 0.05
done
[[ -s "$work/site-b.pcapng" ]] ||
    { echo "two_sites.sh: dumpcap on br2 did not start: $(tail -2 "$logs/dumpcap.log")" >&2; exit 1; }
say "nodes up"

src="$work/src"
mkdir -p "$src/tree"
head -c 3000000 /dev/urandom > "$src/three-mb.bin"
echo "across two sites" > "$src/tree/note.txt"
send_status=0
if [[ $hub == skycast ]]; then
    timeout 90 "$skycast_bin" send --socket "$work/hub.sock" "$src/three-mb.bin" "$src/tree" \
        > "$logs/send.log" 2>&1 || send_status=$?
else
    echo "$cproxy_uid" > "$work/proxies"
    uftp_crypto=()
    [[ $suite == ecdh-p256-aes128gcm ]] &&
        uftp_crypto=(-Y aes128-gcm -h sha256 -e ecdh_ecdsa:prime256v1 -k "$work/keys/hub.pem")
    if ((keyex_signed)); then
        uftp_crypto=(-Y aes256-cbc -h sha256 -w keyex -c -e ecdh_ecdsa:prime256v1
            -k "$work/keys/hub.pem")
        # With -c the server checks the proxy's key.
        echo "$cproxy_uid|$("$skycast_bin" keys fingerprint "$work/keys/cproxy.pem" |
            sed 's/.*fingerprint: //')" > "$work/proxies"
    fi
    (cd "$src" && timeout 90 bash "$lab_sh" exec --name "$lab" hub uftp -I "$LAB_HUB_IF" \
        -U "$hub_uid" -H "$rcv3_uid,$rcv4_uid" -j "$work/proxies" -R 100000 -b 1300 -x 2 \
        "${uftp_crypto[@]}" three-mb.bin tree) > "$logs/send.log" 2>&1 || send_status=$?
fi
tail -n 4 "$logs/send.log"
say "$hub hub's send exited $send_status"
# A receiver may still be moving the last file into place (bounded).
settle=(--timeout 30)
for node in "${receivers[@]}"; do
    settle+=(--dest "$work/$node/received")
done
python3 "$root/tests/system/interop/copies_settled.py" "${settle[@]}" \
    "$src/three-mb.bin" "$src/tree" || true

failures=0
bad() {
    echo "  $*"
    failures=$((failures + 1))
}
((send_status == 0)) || bad "the $hub hub's send exited $send_status"
for node in "${receivers[@]}"; do
    for rel in three-mb.bin tree/note.txt; do
        if ! cmp -s "$src/$rel" "$work/$node/received/$rel"; then
            bad "$node: $rel missing or different"
        fi
    done
done
if [[ $hub == skycast ]]; then
    "$skycast_bin" stats --socket "$work/hub.sock" --json > "$work/hub-stats.json"
    expected_proxy=$cproxy_uid
    receiver_uids=("$rcv3_uid" "$rcv4_uid")
    ((with_rcv4)) || receiver_uids=("$rcv3_uid")
    [[ $client_proxy == none ]] && expected_proxy=
    python3 - "$work/hub-stats.json" "$expected_proxy" "${receiver_uids[@]}" << 'PY' || bad "the hub's result does not show the client proxy and every receiver completed"
import json, sys
r = json.load(open(sys.argv[1]))["history"][-1]
proxies = {p["uid"].lower(): p["outcome"] for p in r.get("proxies", [])}
receivers = {x["uid"].lower(): x["outcome"] for x in r["receivers"]}
print("hub result: proxies", proxies, "receivers", receivers, "peers", r.get("peers"),
      "fileinfo_acks_late", r.get("fileinfo_acks_late"), "late_answers_done_at_once",
      r.get("late_answers_done_at_once"))
want_proxies = {sys.argv[2].lower(): "completed"} if sys.argv[2] else {}
sys.exit(0 if proxies == want_proxies and
         receivers == {uid.lower(): "completed" for uid in sys.argv[3:]} else 1)
PY
fi
if [[ $server_proxy == skycast ]]; then
    # The data went the dataplane's way (RX lcore to TX lcore), the
    # ANNOUNCE and the answers through the engine.
    "$skycast_bin" stats --socket "$work/rcv1.sock" --json > "$work/rcv1-stats.json"
    python3 - "$work/rcv1-stats.json" "$(wc -c < "$src/three-mb.bin")" << 'PY' || bad "Skycast's server proxy did not forward the session both ways"
import json, sys
doc = json.load(open(sys.argv[1]))
p, c = doc["server_proxy"], doc["dataplane"]["counters"]
fwd, fwd_bytes = c.get("rx.forwarded", 0), c.get("rx.forwarded.bytes", 0)
print("server proxy: announces %d, answers up %d, sessions %d, servers %d; dataplane forwarded "
      "%d datagrams, %d bytes (file %s); not from downstream %d, unknown session %d" %
      (p["announces"], p["answers_upstream"], p["sessions"], p["servers"], fwd, fwd_bytes,
       sys.argv[2], p["not_downstream"], p["unknown_session"]))
sys.exit(0 if p["announces"] >= 1 and p["answers_upstream"] >= 3 and
         fwd_bytes >= int(sys.argv[2]) and c.get("rx.drop.forward_ring_full", 0) == 0 else 1)
PY
fi
if [[ $client_proxy == skycast ]]; then
    # The session multicast on site B by the dataplane, the receivers'
    # answers aggregated upstream by the engine.
    "$skycast_bin" stats --socket "$work/rcv2.sock" --json > "$work/rcv2-stats.json"
    python3 - "$work/rcv2-stats.json" "$(wc -c < "$src/three-mb.bin")" "$nat" "$suite" "$((1 + with_rcv4))" "$keyex_signed" "$drop_reg_conf" << 'PY' || bad "Skycast's client proxy did not carry the session both ways"
import json, sys
doc = json.load(open(sys.argv[1]))
cp, agg, c = doc["client_proxy"], doc["proxy"], doc["dataplane"]["counters"]
hb = cp["heartbeats"]
fwd_bytes = c.get("rx.forwarded.bytes", 0)
print("client proxy: announces %d, sessions started %d; dataplane multicast %d datagrams, %d "
      "bytes (file %s); aggregates up %d for %d answers; heartbeats sent %d, signed %d, ok %d" %
      (cp["announces"], cp["sessions_started"], c.get("rx.forwarded", 0), fwd_bytes, sys.argv[2],
       agg["aggregates_sent"], agg["answers_in"], hb["sent"], hb["signed"], hb["ok"]))
heartbeats_ok = hb["signed"] >= 1 and hb["ok"] >= 1 and hb["servers_accepting"] == 1 if sys.argv[3] == "1" else True
keys_ok = True
if sys.argv[4] != "none":
    # It terminated the key exchange: keyed by the hub, keying each receiver.
    keys = ("encrypted_sessions", "keyinfo_in", "keyinfo_acks", "keyinfo_ack_bad", "decrypt_failed")
    print("client proxy keys: " + " ".join("%s=%s" % (k, agg[k]) for k in keys) +
          ", handshake in %d" % cp["handshake_in"])
    keys_ok = (agg["encrypted_sessions"] == 1 and agg["keyinfo_in"] >= 1 and
               agg["keyinfo_acks"] == int(sys.argv[5]) and agg["keyinfo_ack_bad"] == 0 and
               agg["decrypt_failed"] == 0 and
               cp["handshake_in"] >= (1 if sys.argv[7] == "1" else 2))  # KEYINFO (and REG_CONF)
if sys.argv[6] == "1":
    # -w keyex: the session came through the engine, every sealed datagram
    # of the server checked and signed again; its receivers proved their keys.
    print("client proxy: %d sealed datagrams signed again, %d refused; %d CLIENT_KEYs" %
          (cp["resigned"], cp["resign_bad"], agg["client_keys_in"]))
    keys_ok = keys_ok and cp["resigned"] > 0 and cp["resign_bad"] == 0 and \
        agg["client_keys_in"] >= int(sys.argv[5]) and agg["client_key_bad"] == 0
    fwd_bytes = int(sys.argv[2])  # no dataplane rule: nothing forwarded there
if sys.argv[7] == "1":
    # Every REG_CONF lost: each receiver confirmed by the server's sealed
    # listing, read from the dataplane's copies, which stopped again.
    taps = ("taps_started", "taps_ended", "sealed_tapped", "tap_failures")
    print("client proxy, REG_CONFs lost: confirmed by listing %d; " % agg["clients_confirmed_by_listing"] +
          " ".join("%s=%s" % (k, cp[k]) for k in taps) +
          ", dataplane rx.forward_tapped=%d" % c.get("rx.forward_tapped", 0))
    keys_ok = keys_ok and agg["clients_confirmed_by_listing"] == int(sys.argv[5])
    if sys.argv[6] != "1":  # -w keyex: no rule to copy; every sealed datagram comes through control
        keys_ok = keys_ok and cp["taps_started"] >= 1 and cp["taps_ended"] == cp["taps_started"] and \
            cp["sealed_tapped"] >= 1 and c.get("rx.forward_tapped", 0) >= cp["sealed_tapped"] and \
            cp["tap_failures"] == 0
sys.exit(0 if cp["announces"] >= 1 and agg["aggregates_sent"] >= 3 and fwd_bytes >= int(sys.argv[2])
         and c.get("rx.drop.forward_ring_full", 0) == 0 and heartbeats_ok and keys_ok else 1)
PY
fi
if ((drop_reg_conf)); then
    dropped=$(ip netns exec "$nat_ns" iptables -L FORWARD -v -x -n | awk '/u32/ {print $1}')
    echo "router: $dropped REG_CONF datagrams dropped"
    ((dropped > 0)) || bad "the router dropped no REG_CONF: the case was not tested"
fi
if [[ $client_proxy == none ]] && ((nat)); then
    # The receiver's own heartbeats (stock uftpd -H) proved its key.
    "$skycast_bin" stats --socket "$work/rcv3.sock" --json |
        python3 -c 'import json,sys; h = json.load(sys.stdin)["receiver"]["heartbeats"]; print("rcv3 heartbeats:", h); sys.exit(0 if h["signed"] >= 1 and h["ok"] >= 1 and h["servers_accepting"] == 1 else 1)' ||
        bad "rcv3's heartbeats were not taken by the server proxy"
fi
if [[ $suite != none ]]; then
    # Really encrypted: the Skycast receiver opened what it got.
    opened=$("$skycast_bin" stats --socket "$work/rcv3.sock" --json |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["dataplane"]["counters"].get("crypto.opened", 0))')
    echo "rcv3: $opened packets opened"
    ((opened > 0)) || bad "rcv3 opened nothing in an encrypted session"
fi
if ((fec)) && [[ $loss != 0 && $client_proxy != stock ]]; then
    # No parity crosses the proxies: rcv3 found that out after two
    # unanswered parity asks and NAKed data blocks (docs/protocol.md §17.6);
    # nothing else could have repaired it (no rcv4 here). Its session ends
    # (and says so) once the hub's DONE_CONF is in.
    for _ in $(seq 300); do
        grep -q "session .* ended" "$logs/rcv3-control.log" && break
        sleep 0.1
    done
    if grep -q "no FEC parity reached this node" "$logs/rcv3-control.log"; then
        echo "rcv3: fell back to NAKing data blocks (no parity crossed the proxies)"
    else
        bad "rcv3 never logged falling back from FEC parity to data NAKs"
    fi
fi
kill -TERM "$capture_pid" 2> /dev/null || true
wait "$capture_pid" 2> /dev/null || true
from_hub=$(tshark -r "$work/site-b.pcapng" -Y "eth.src == $LAB_HUB_MAC" 2> /dev/null | wc -l)
in_b=$(tshark -r "$work/site-b.pcapng" -Y udp 2> /dev/null | wc -l)
echo "site B bridge: $in_b UDP frames, $from_hub from the hub's MAC"
((from_hub == 0)) || bad "$from_hub frames from the hub reached site B directly"
((in_b > 0)) || bad "nothing crossed into site B"
((failures == 0)) || { echo "two_sites: FAIL ($failures problems)"; exit 1; }
echo "two_sites: PASS suite=$suite hub=$hub server_proxy=$server_proxy client_proxy=$client_proxy nat=$nat fec=$fec loss=$loss"
