#!/usr/bin/env bash
# Binds a NIC to a DPDK-capable driver (vfio-pci by default) and back to the
# kernel driver it had, for skycast-dataplane's `ports[].device` PCI address.
# Background: docs/operations-systemd.md.
#
#   nic-bind.sh bind PCI_ADDR [--driver DRIVER] [--force] [--dry-run]
#   nic-bind.sh unbind PCI_ADDR [--driver KERNEL_DRIVER] [--dry-run]
#   nic-bind.sh status [PCI_ADDR]
#
# PCI_ADDR is DDDD:BB:DD.F or BB:DD.F (hex; domain 0000 when left out).
#
# bind     records the device's current kernel driver in
#          STATE_DIR/<addr>.driver (default /var/lib/skycast/nic-bind), loads
#          DRIVER (default vfio-pci) and binds the device to it. Refuses a
#          device whose kernel interface is UP or carries the default route
#          (IPv4 or IPv6): binding it would cut this host off that network,
#          possibly the one you are logged in through. --force binds anyway.
# unbind   binds the device back to the recorded kernel driver (--driver
#          names it when nothing was recorded) and forgets the record.
# status   shows network PCI devices (or the one given): vendor:device,
#          driver, kernel interfaces (UP, default route) and recorded driver.
#
# Options (anywhere on the line):
#   --dry-run        check everything, print the exact commands a real run
#                    would execute (prefixed with "+ "), change nothing
#   --driver NAME    bind: target driver (vfio-pci, uio_pci_generic, ...);
#                    unbind: kernel driver to return to
#   --force          bind even an UP interface or the default route's
#   --tool TOOL      dpdk-devbind (default: /usr/bin/dpdk-devbind.py of the
#                    Debian package dpdk) or driverctl (default when
#                    dpdk-devbind.py is missing and driverctl is installed;
#                    its overrides persist across reboots)
#   --sysfs ROOT     read devices from ROOT instead of /sys (tests build a
#                    fake tree); only status and --dry-run accept it
#   --state-dir DIR  where drivers are recorded (tests)
# Environment (tests): SKYCAST_NIC_BIND_IP, the `ip` program used to find the
# default routes (default: ip).
#
# Exit status: 0 done (or would be done), 1 refused or failed, 2 usage error
# (including a malformed PCI address). A real bind or unbind needs root.
set -euo pipefail

prog=nic-bind
sysfs=/sys
state_dir=/var/lib/skycast/nic-bind
driver=
force=0
dry_run=0
tool=

die() { # status message...
    local status=$1
    shift
    echo "$prog: $*" >&2
    exit "$status"
}
usage() {
    die 2 "$*
usage: nic-bind.sh bind PCI_ADDR [--driver DRIVER] [--force] [--dry-run]
       nic-bind.sh unbind PCI_ADDR [--driver KERNEL_DRIVER] [--dry-run]
       nic-bind.sh status [PCI_ADDR]
       (options: --sysfs ROOT, --state-dir DIR, --tool dpdk-devbind|driverctl)"
}
note() { echo "$prog: $*"; }

# ---- command line --------------------------------------------------------
command=
positional=()
while (($#)); do
    case $1 in
        --dry-run) dry_run=1 ;;
        --force) force=1 ;;
        --driver | --sysfs | --state-dir | --tool)
            (($# >= 2)) || usage "$1 needs a value"
            [[ -n $2 ]] || usage "$1 needs a non-empty value"
            case $1 in
                --driver) driver=$2 ;;
                --sysfs) sysfs=${2%/} ;;
                --state-dir) state_dir=${2%/} ;;
                --tool) tool=$2 ;;
            esac
            shift
            ;;
        --driver=* | --sysfs=* | --state-dir=* | --tool=*)
            value=${1#*=}
            [[ -n $value ]] || usage "${1%%=*} needs a non-empty value"
            case $1 in
                --driver=*) driver=$value ;;
                --sysfs=*) sysfs=${value%/} ;;
                --state-dir=*) state_dir=${value%/} ;;
                --tool=*) tool=$value ;;
            esac
            ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        -*) usage "unknown option $1" ;;
        *)
            if [[ -z $command ]]; then
                command=$1
            else
                positional+=("$1")
            fi
            ;;
    esac
    shift
done
[[ -n $command ]] || usage "no command given"
case $command in
    bind | unbind)
        ((${#positional[@]} == 1)) || usage "$command takes exactly one PCI address"
        ;;
    status)
        ((${#positional[@]} <= 1)) || usage "status takes at most one PCI address"
        [[ -z $driver && $force == 0 ]] || usage "status takes no --driver or --force"
        ;;
    *) usage "unknown command '$command' (bind, unbind or status)" ;;
esac
case $tool in
    '' | dpdk-devbind | driverctl) ;;
    *) usage "unknown --tool '$tool' (dpdk-devbind or driverctl)" ;;
esac
if [[ $command != status && $dry_run == 0 && $sysfs != /sys ]]; then
    usage "--sysfs $sysfs is for tests: only status and --dry-run read another tree than /sys"
fi
[[ -d $sysfs/bus/pci/devices ]] || die 1 "no $sysfs/bus/pci/devices: is $sysfs a sysfs tree?"

# ---- PCI addresses -------------------------------------------------------
# normalize_pci ADDR: prints DDDD:BB:DD.F in lower case, or dies naming what
# is wrong with ADDR.
normalize_pci() {
    local addr=$1 domain bus dev fn
    local shape="expected DDDD:BB:DD.F or BB:DD.F (hex digits), e.g. 0000:03:00.0"
    [[ -n $addr ]] || die 2 "empty PCI address: $shape"
    if [[ $addr =~ ^([^:]*):([^:]*):([^:.]*)\.([^:.]*)$ ]]; then
        domain=${BASH_REMATCH[1]} bus=${BASH_REMATCH[2]}
        dev=${BASH_REMATCH[3]} fn=${BASH_REMATCH[4]}
    elif [[ $addr =~ ^([^:]*):([^:.]*)\.([^:.]*)$ ]]; then
        domain=0000 bus=${BASH_REMATCH[1]}
        dev=${BASH_REMATCH[2]} fn=${BASH_REMATCH[3]}
    else
        die 2 "'$addr' is not a PCI address: $shape"
    fi
    [[ $domain =~ ^[0-9A-Fa-f]{4}$ ]] ||
        die 2 "'$addr': domain '$domain' is not 4 hex digits ($shape)"
    [[ $bus =~ ^[0-9A-Fa-f]{2}$ ]] ||
        die 2 "'$addr': bus '$bus' is not 2 hex digits ($shape)"
    [[ $dev =~ ^[0-9A-Fa-f]{2}$ ]] ||
        die 2 "'$addr': device '$dev' is not 2 hex digits ($shape)"
    ((16#$dev <= 0x1f)) || die 2 "'$addr': device $dev is out of range 00..1f"
    [[ $fn =~ ^[0-9A-Fa-f]$ ]] ||
        die 2 "'$addr': function '$fn' is not 1 hex digit ($shape)"
    ((16#$fn <= 7)) || die 2 "'$addr': function $fn is out of range 0..7"
    local norm="$domain:$bus:$dev.$fn"
    echo "${norm,,}"
}

# ---- what sysfs and the routing table say --------------------------------
dev_path() { echo "$sysfs/bus/pci/devices/$1"; }

# current_driver ADDR: the bound driver's name, or nothing.
current_driver() {
    local link
    link=$(readlink "$(dev_path "$1")/driver" 2>/dev/null) || return 0
    echo "${link##*/}"
}

# interfaces ADDR: the kernel network interfaces of the device, one a line.
# Most drivers put them in <dev>/net/, virtio one level down
# (<dev>/virtio0/net/).
interfaces() {
    local d
    for d in "$(dev_path "$1")"/net/* "$(dev_path "$1")"/*/net/*; do
        [[ -e $d ]] && echo "${d##*/}"
    done
    return 0
}

# interface_dir ADDR IFACE
interface_dir() {
    local d
    for d in "$(dev_path "$1")"/net/"$2" "$(dev_path "$1")"/*/net/"$2"; do
        if [[ -e $d ]]; then
            echo "$d"
            return
        fi
    done
}

# is_up ADDR IFACE: the interface is administratively up (IFF_UP in flags;
# operstate when flags is missing).
is_up() {
    local dir flags state
    dir=$(interface_dir "$1" "$2")
    if [[ -r $dir/flags ]]; then
        flags=$(<"$dir/flags")
        [[ $flags =~ ^0x[0-9A-Fa-f]+$ ]] && (((16#${flags#0x} & 0x1) != 0))
        return
    fi
    [[ -r $dir/operstate ]] || return 1
    state=$(<"$dir/operstate")
    [[ $state == up || $state == unknown ]]
}

# default_route_devices: interfaces that carry a default route, IPv4 or
# IPv6, one a line; "?" when the routing table cannot be read.
default_route_devices() {
    local ip=${SKYCAST_NIC_BIND_IP:-ip} out family
    if ! command -v "$ip" >/dev/null 2>&1; then
        echo "?"
        return
    fi
    for family in -4 -6; do
        out=$("$ip" -o "$family" route show default 2>/dev/null) || {
            echo "?"
            continue
        }
        # "default via 10.0.0.1 dev eth0 ...", multipath "nexthop via ... dev eth1"
        awk '{ for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1) }' <<<"$out"
    done | sort -u
}

# A driver whose devices DPDK runs: never recorded as "the kernel driver".
is_dpdk_driver() {
    case $1 in
        vfio-pci | uio_pci_generic | igb_uio) return 0 ;;
        *) return 1 ;;
    esac
}

state_file() { echo "$state_dir/$1.driver"; }

recorded_driver() {
    local f
    f=$(state_file "$1")
    [[ -r $f ]] && head -n 1 "$f"
    return 0
}

# ---- tools ----------------------------------------------------------------
find_devbind() {
    local p
    for p in "$(command -v dpdk-devbind.py 2>/dev/null || true)" \
        /usr/bin/dpdk-devbind.py /usr/share/dpdk/usertools/dpdk-devbind.py; do
        if [[ -n $p && -x $p ]]; then
            echo "$p"
            return
        fi
    done
}

# choose_tool: sets tool_cmd to the program run for binding.
choose_tool() {
    local devbind
    devbind=$(find_devbind)
    if [[ -z $tool ]]; then
        if [[ -z $devbind ]] && command -v driverctl >/dev/null 2>&1; then
            tool=driverctl
        else
            tool=dpdk-devbind
        fi
    fi
    if [[ $tool == dpdk-devbind ]]; then
        tool_cmd=${devbind:-dpdk-devbind.py}
        [[ -n $devbind ]] && return
        local why="dpdk-devbind.py not found (apt-get install dpdk; or --tool driverctl)"
    else
        tool_cmd=driverctl
        command -v driverctl >/dev/null 2>&1 && return
        local why="driverctl not found (apt-get install driverctl; or --tool dpdk-devbind)"
    fi
    ((dry_run)) || die 1 "$why"
    note "note: $why; a real run would stop here"
}

# A real run loads drivers with modprobe; a dry run only prints it.
require_modprobe() {
    ((dry_run)) && return
    command -v modprobe >/dev/null 2>&1 || die 1 "modprobe not found (apt-get install kmod)"
}

# run COMMAND...: runs it, or prints it with --dry-run.
run() {
    if ((dry_run)); then
        printf '+'
        printf ' %q' "$@"
        printf '\n'
    else
        "$@"
    fi
}

# record_driver ADDR DRIVER: remembers the kernel driver to return to.
record_driver() {
    local f
    f=$(state_file "$1")
    if ((dry_run)); then
        printf '+ mkdir -p %q\n' "$state_dir"
        printf "+ printf '%%s\\\\n' %q > %q\n" "$2" "$f"
    else
        mkdir -p "$state_dir"
        printf '%s\n' "$2" >"$f"
    fi
}

forget_driver() {
    local f
    f=$(state_file "$1")
    [[ -e $f ]] || return 0
    run rm -f "$f"
}

require_device() {
    [[ -d $(dev_path "$1") ]] ||
        die 1 "no PCI device $1 (nothing at $(dev_path "$1"); \`nic-bind.sh status\` lists them)"
}

require_root() {
    ((dry_run)) && return
    (($(id -u) == 0)) || die 1 "$command changes driver bindings: run as root (or try --dry-run)"
}

# ---- commands --------------------------------------------------------------
cmd_bind() {
    local addr=$1 target=${driver:-vfio-pci} current iface routes problems=()
    require_device "$addr"
    current=$(current_driver "$addr")
    note "$addr: driver ${current:-(none)}, interfaces: $(interfaces "$addr" | paste -sd ' ' - | sed 's/^$/(none)/')"
    if [[ $current == "$target" ]]; then
        note "$addr is already bound to $target: nothing to do"
        return 0
    fi
    routes=$(default_route_devices)
    while read -r iface; do
        [[ -n $iface ]] || continue
        if grep -qxF -- "$iface" <<<"$routes"; then
            problems+=("interface $iface carries the default route")
        fi
        if is_up "$addr" "$iface"; then
            problems+=("interface $iface is UP")
        fi
    done < <(interfaces "$addr")
    if grep -qxF '?' <<<"$routes"; then
        note "warning: cannot read the default routes (${SKYCAST_NIC_BIND_IP:-ip} route show default)"
    fi
    if ((${#problems[@]})); then
        local found
        found=$(printf '%s; ' "${problems[@]}")
        found=${found%; }
        if ((!force)); then
            die 1 "refusing to bind $addr: $found (binding it takes the interface away from the" \
                "kernel and cuts this host off that network; if that is intended, take it down" \
                "first (ip link set dev IFACE down) or pass --force)"
        fi
        note "warning: $found; binding anyway (--force)"
    fi
    if [[ $target == vfio-pci ]]; then
        local groups=("$sysfs"/kernel/iommu_groups/*)
        if [[ ! -e ${groups[0]} ]]; then
            note "warning: no IOMMU groups in $sysfs/kernel/iommu_groups: vfio-pci needs the" \
                "IOMMU enabled (intel_iommu=on / amd_iommu=on on the kernel command line) or" \
                "vfio's no-IOMMU mode (modprobe vfio enable_unsafe_noiommu_mode=1)"
        fi
    fi
    require_root
    choose_tool
    require_modprobe
    # Record before binding: if the bind fails halfway, unbind still knows
    # where to go back to. A DPDK driver is never "the kernel driver": keep
    # what an earlier bind recorded.
    if [[ -n $current ]] && ! is_dpdk_driver "$current"; then
        record_driver "$addr" "$current"
    elif [[ -z $current ]]; then
        note "$addr has no driver now: unbind will leave it without one"
        [[ -n $(recorded_driver "$addr") ]] || record_driver "$addr" none
    else
        note "$addr is on $current (a DPDK driver): keeping the recorded kernel driver" \
            "'$(recorded_driver "$addr")'"
    fi
    run modprobe "$target"
    if [[ $tool == driverctl ]]; then
        run "$tool_cmd" set-override "$addr" "$target"
    else
        run "$tool_cmd" -b "$target" "$addr"
    fi
    if ((dry_run)); then
        note "dry run: $addr would be bound to $target"
    else
        current=$(current_driver "$addr")
        [[ $current == "$target" ]] ||
            die 1 "$addr is on '${current:-no driver}' after binding, not $target (see dmesg)"
        note "$addr bound to $target (was ${current:-none}); undo: nic-bind.sh unbind $addr"
    fi
}

cmd_unbind() {
    local addr=$1 current back
    require_device "$addr"
    current=$(current_driver "$addr")
    back=${driver:-$(recorded_driver "$addr")}
    [[ -n $back ]] ||
        die 1 "no kernel driver recorded for $addr in $(state_file "$addr") (was it bound" \
            "with nic-bind.sh?): name it with --driver KERNEL_DRIVER (e.g. ixgbe, i40e, ice," \
            "mlx5_core; \`lspci -k -s $addr\` lists candidates)"
    if [[ -n $driver ]]; then
        note "$addr: driver ${current:-(none)}; returning to $back (--driver)"
    else
        note "$addr: driver ${current:-(none)}; returning to $back (recorded in $(state_file "$addr"))"
    fi
    if [[ $current == "$back" || ($back == none && -z $current) ]]; then
        note "$addr is already on ${current:-no driver}: nothing to bind"
        forget_driver "$addr"
        return 0
    fi
    require_root
    choose_tool
    require_modprobe
    if [[ $tool == driverctl ]]; then
        # driverctl returns the device to the kernel's default driver, which
        # is the recorded one unless someone changed the device's override.
        run "$tool_cmd" unset-override "$addr"
    elif [[ $back == none ]]; then
        run "$tool_cmd" -u "$addr"
    else
        run modprobe "$back"
        run "$tool_cmd" -b "$back" "$addr"
    fi
    forget_driver "$addr"
    if ((dry_run)); then
        note "dry run: $addr would return to $back"
    else
        note "$addr now on '$(current_driver "$addr")'"
    fi
}

status_line() {
    local addr=$1 dir vendor device cur ifs=() iface marks recorded routes
    dir=$(dev_path "$addr")
    vendor=$(cat "$dir/vendor" 2>/dev/null || echo 0x????)
    device=$(cat "$dir/device" 2>/dev/null || echo 0x????)
    cur=$(current_driver "$addr")
    routes=$2
    while read -r iface; do
        [[ -n $iface ]] || continue
        marks=()
        is_up "$addr" "$iface" && marks+=(UP)
        grep -qxF -- "$iface" <<<"$routes" && marks+=("default route")
        if ((${#marks[@]})); then
            iface+="($(IFS=,; echo "${marks[*]}"))"
        fi
        ifs+=("$iface")
    done < <(interfaces "$addr")
    recorded=$(recorded_driver "$addr")
    printf '%s  %s:%s  driver=%s  interfaces=%s  recorded=%s\n' "$addr" "${vendor#0x}" \
        "${device#0x}" "${cur:-none}" "$(IFS=' '; echo "${ifs[*]:-none}")" "${recorded:--}"
}

cmd_status() {
    local routes addr dir class
    routes=$(default_route_devices)
    if (($#)); then
        require_device "$1"
        status_line "$1" "$routes"
        return
    fi
    # Network controllers (PCI class 0x02....), plus anything bound to a
    # DPDK driver (whatever its class says).
    for dir in "$sysfs"/bus/pci/devices/*; do
        [[ -e $dir ]] || continue
        addr=${dir##*/}
        class=$(cat "$dir/class" 2>/dev/null || true)
        if [[ $class == 0x02* ]] || is_dpdk_driver "$(current_driver "$addr")"; then
            status_line "$addr" "$routes"
        fi
    done
}

# normalize_pci dies in a subshell: pass its status on.
addr=
if ((${#positional[@]})); then
    addr=$(normalize_pci "${positional[0]}") || exit $?
fi
case $command in
    bind) cmd_bind "$addr" ;;
    unbind) cmd_unbind "$addr" ;;
    status)
        if [[ -n $addr ]]; then
            cmd_status "$addr"
        else
            cmd_status
        fi
        ;;
esac
