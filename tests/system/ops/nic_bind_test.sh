#!/usr/bin/env bash
# scripts/nic-bind.sh against a fake sysfs tree (--sysfs) and a fake `ip`
# (SKYCAST_NIC_BIND_IP): dry-run binds print the expected commands, malformed
# PCI addresses are refused with their reason, UP interfaces and the default
# route's interface are refused without --force, status lists network
# devices, unbind names the recorded driver. Every bind and unbind here is a
# --dry-run on a fake tree: nothing is bound for real, no root needed.
#
#   nic_bind_test.sh SOURCE_ROOT
set -euo pipefail

root=${1:?usage: nic_bind_test.sh SOURCE_ROOT}
nic_bind=$root/scripts/nic-bind.sh
work=$(mktemp -d /tmp/skycast-nicbind-XXXXXX)
trap 'rm -rf "$work"' EXIT

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# ---- the fake machine ------------------------------------------------------
sys=$work/sys
state=$work/state
mkdir -p "$sys/kernel/iommu_groups/7" "$state"
# device ADDR CLASS VENDOR DEVICE DRIVER [IFACE FLAGS]
device() {
    local addr=$1 class=$2 vendor=$3 dev=$4 driver=$5 iface=${6:-} flags=${7:-}
    local d=$sys/bus/pci/devices/$addr
    mkdir -p "$d" "$sys/bus/pci/drivers/$driver"
    echo "$class" >"$d/class"
    echo "$vendor" >"$d/vendor"
    echo "$dev" >"$d/device"
    ln -s "../../../bus/pci/drivers/$driver" "$d/driver"
    if [[ -n $iface ]]; then
        mkdir -p "$d/net/$iface"
        echo "$flags" >"$d/net/$iface/flags"
        if (((16#${flags#0x} & 1) != 0)); then echo up; else echo down; fi >"$d/net/$iface/operstate"
    fi
}
# A down interface: bindable.
device 0000:03:00.0 0x020000 0x8086 0x10fb ixgbe eth9 0x1002
# An UP interface.
device 0000:03:00.1 0x020000 0x8086 0x10fb ixgbe eth10 0x1003
# Down, but the fake routing table sends the default route through it.
device 0000:04:00.0 0x020000 0x8086 0x1572 i40e eth11 0x1002
# Already on vfio-pci, no interface; its kernel driver (ice) was recorded.
device 0000:05:00.0 0x020000 0x8086 0x159b vfio-pci
echo ice >"$state/0000:05:00.0.driver"
# Not a network device: status leaves it out.
device 0000:00:1f.0 0x060100 0x8086 0xa1c8 lpc_ich
# virtio puts the interface one level down (<dev>/virtio0/net/eth12).
mkdir -p "$sys/bus/pci/devices/0000:06:00.0/virtio0/net/eth12"
device 0000:06:00.0 0x020000 0x1af4 0x1041 virtio-pci
echo 0x1003 >"$sys/bus/pci/devices/0000:06:00.0/virtio0/net/eth12/flags"

cat >"$work/ip" <<'EOF'
#!/bin/sh
# fake `ip -o -4|-6 route show default`
case "$*" in
    *-6*) echo "default via fd00::1 dev eth11 proto static metric 1024 pref medium" ;;
    *) echo "default via 10.0.0.1 dev eth0 proto static" ;;
esac
EOF
chmod +x "$work/ip"
export SKYCAST_NIC_BIND_IP=$work/ip

# nb ARGS...: runs nic-bind.sh on the fake tree; sets out (stdout+stderr)
# and status.
nb() {
    status=0
    out=$(bash "$nic_bind" --sysfs "$sys" --state-dir "$state" "$@" 2>&1) || status=$?
}
expect_status() { # WANT WHAT
    [[ $status == "$1" ]] || fail "$2: exit status $status, expected $1; output:
$out"
}
expect_line() { # REGEX WHAT: some line of $out matches REGEX
    grep -qE -- "$1" <<<"$out" || fail "$2: no line matches /$1/ in:
$out"
}
expect_no_line() {
    if grep -qE -- "$1" <<<"$out"; then
        fail "$2: a line matches /$1/ in:
$out"
    fi
}
state_before=$(cd "$state" && ls -l --time-style=+%s.%N)

# ---- bind, dry run ---------------------------------------------------------
nb bind 0000:03:00.0 --dry-run --tool dpdk-devbind
expect_status 0 "dry-run bind of a down interface"
expect_line "^\+ mkdir -p $state\$" "dry-run bind: state dir"
expect_line "^\+ printf '%s\\\\n' ixgbe > $state/0000:03:00.0.driver\$" "dry-run bind: records ixgbe"
expect_line '^\+ modprobe vfio-pci$' "dry-run bind: modprobe"
expect_line '^\+ (/[^ ]*/)?dpdk-devbind\.py -b vfio-pci 0000:03:00\.0$' "dry-run bind: devbind"
expect_line 'would be bound to vfio-pci' "dry-run bind: summary"
# The commands come in this order: record, load, bind.
order=$(grep -E '^\+ ' <<<"$out" | cut -d' ' -f2 | sed 's#.*/##' | paste -sd' ' -)
[[ $order == "mkdir printf modprobe dpdk-devbind.py" ]] || fail "dry-run bind: command order '$order'"

# Short address form, upper case, another driver, driverctl.
nb bind 03:00.0 --dry-run --driver uio_pci_generic --tool driverctl
expect_status 0 "dry-run bind BB:DD.F with driverctl"
expect_line '^\+ modprobe uio_pci_generic$' "driverctl bind: modprobe"
expect_line '^\+ driverctl set-override 0000:03:00\.0 uio_pci_generic$' "driverctl bind: set-override"
nb bind 0000:03:00.0 --dry-run --tool=dpdk-devbind --driver=vfio-pci
expect_status 0 "--opt=value forms"
nb bind 0000:0A:00.0 --dry-run
expect_status 1 "a missing device"
expect_line 'no PCI device 0000:0a:00\.0' "a missing device: message (normalized address)"

# ---- malformed addresses -------------------------------------------------------
check_bad() { # ADDR REGEX
    nb bind "$1" --dry-run
    expect_status 2 "bad address '$1'"
    expect_line "$2" "bad address '$1': message"
    expect_no_line '^\+ ' "bad address '$1': no command"
}
check_bad 0000:03:00 "'0000:03:00' is not a PCI address: expected DDDD:BB:DD\.F or BB:DD\.F"
check_bad eth0 "'eth0' is not a PCI address"
check_bad 0000:03:20.0 "device 20 is out of range 00\.\.1f"
check_bad 0000:03:00.8 "function 8 is out of range 0\.\.7"
check_bad 00000:03:00.0 "domain '00000' is not 4 hex digits"
check_bad 0000:3g:00.0 "bus '3g' is not 2 hex digits"
check_bad 0000:03:0.0 "device '0' is not 2 hex digits"
check_bad 0000:03:00.a "function 'a' is not 1 hex digit|function a is out of range"
check_bad '' "empty PCI address"
nb bind --dry-run
expect_status 2 "bind without an address"
expect_line 'bind takes exactly one PCI address' "bind without an address: message"

# ---- refusals --------------------------------------------------------------------
nb bind 0000:03:00.1 --dry-run
expect_status 1 "an UP interface"
expect_line 'refusing to bind 0000:03:00\.1: interface eth10 is UP' "an UP interface: message"
expect_no_line '^\+ ' "an UP interface: no command"
nb bind 0000:03:00.1 --dry-run --force --tool dpdk-devbind
expect_status 0 "an UP interface with --force"
expect_line 'warning: interface eth10 is UP; binding anyway \(--force\)' "--force: warning"
expect_line '^\+ (/[^ ]*/)?dpdk-devbind\.py -b vfio-pci 0000:03:00\.1$' "--force: devbind"
nb bind 0000:04:00.0 --dry-run
expect_status 1 "the default route's interface (IPv6 here)"
expect_line 'refusing to bind 0000:04:00\.0: interface eth11 carries the default route' \
    "default route: message"
nb bind 0000:06:00.0 --dry-run
expect_status 1 "an UP virtio interface one level down"
expect_line 'interface eth12 is UP' "virtio: message"
# A real run on a fake tree is refused before anything else.
nb bind 0000:03:00.0
expect_status 2 "a real bind with --sysfs"
expect_line '--sysfs .* is for tests' "a real bind with --sysfs: message"
# Already on the target driver: nothing to do, and the record of the kernel
# driver is kept.
nb bind 0000:05:00.0 --dry-run
expect_status 0 "bind of a device already on vfio-pci"
expect_line 'already bound to vfio-pci: nothing to do' "already bound: message"
expect_no_line '^\+ ' "already bound: no command"

# ---- status -------------------------------------------------------------------------
nb status
expect_status 0 "status"
expect_line '^0000:03:00\.0  8086:10fb  driver=ixgbe  interfaces=eth9  recorded=-$' "status: down eth9"
expect_line '^0000:03:00\.1  8086:10fb  driver=ixgbe  interfaces=eth10\(UP\)  recorded=-$' "status: UP eth10"
expect_line '^0000:04:00\.0  8086:1572  driver=i40e  interfaces=eth11\(default route\)  recorded=-$' \
    "status: default route eth11"
expect_line '^0000:05:00\.0  8086:159b  driver=vfio-pci  interfaces=none  recorded=ice$' "status: vfio-pci"
expect_line '^0000:06:00\.0  1af4:1041  driver=virtio-pci  interfaces=eth12\(UP\)  recorded=-$' "status: virtio"
expect_no_line '0000:00:1f\.0' "status: no ISA bridge"
[[ $(grep -c . <<<"$out") == 5 ]] || fail "status: 5 lines expected:
$out"
nb status 05:00.0
expect_status 0 "status ADDR"
[[ $out == "0000:05:00.0  8086:159b  driver=vfio-pci  interfaces=none  recorded=ice" ]] ||
    fail "status ADDR: '$out'"
nb status 0000:05:00.9
expect_status 2 "status of a bad address"
expect_line 'function 9 is out of range' "status of a bad address: message"

# ---- unbind, dry run --------------------------------------------------------------
nb unbind 0000:05:00.0 --dry-run --tool dpdk-devbind
expect_status 0 "dry-run unbind"
expect_line "returning to ice \(recorded in $state/0000:05:00\.0\.driver\)" "unbind: names the recorded driver"
expect_line '^\+ modprobe ice$' "unbind: modprobe"
expect_line '^\+ (/[^ ]*/)?dpdk-devbind\.py -b ice 0000:05:00\.0$' "unbind: devbind"
expect_line "^\+ rm -f $state/0000:05:00\.0\.driver\$" "unbind: forgets the record"
nb unbind 0000:05:00.0 --dry-run --tool driverctl
expect_status 0 "dry-run unbind with driverctl"
expect_line '^\+ driverctl unset-override 0000:05:00\.0$' "driverctl unbind"
nb unbind 0000:05:00.0 --dry-run --driver i40e --tool dpdk-devbind
expect_line 'returning to i40e \(--driver\)' "unbind --driver overrides the record"
nb unbind 0000:04:00.0 --dry-run
expect_status 1 "unbind with nothing recorded"
expect_line 'no kernel driver recorded for 0000:04:00\.0 .*--driver KERNEL_DRIVER' \
    "unbind with nothing recorded: message"

# ---- usage -------------------------------------------------------------------------
nb frobnicate
expect_status 2 "unknown command"
nb bind 0000:03:00.0 --dry-run --tool modprobe
expect_status 2 "unknown tool"
nb status --colour
expect_status 2 "unknown option"

# Dry runs changed nothing.
state_after=$(cd "$state" && ls -l --time-style=+%s.%N)
[[ $state_before == "$state_after" ]] || fail "the state directory changed:
$state_before
--
$state_after"
[[ $(cat "$state/0000:05:00.0.driver") == ice ]] || fail "the record of 0000:05:00.0 changed"

if ((failures)); then
    echo "nic_bind_test: $failures failure(s)" >&2
    exit 1
fi
echo "nic_bind_test: ok"
