#!/usr/bin/env bash
# `systemd-analyze verify` on the systemd units of scripts/systemd/,
# instantiated for a node "lab" (skycast-dataplane@lab.service,
# skycast-control@lab.service, skycast-hugepages.service), with their
# ExecStart= programs pointed at stub executables (verify insists that they
# exist). Then the same check on deliberately broken copies, each of which
# must fail: an unknown directive, a bad value, a missing program, a
# dependency on a unit that does not exist.
#
# systemd 252's verify reports unknown keys and unparsable values as
# warnings and still exits 0, so a unit passes only when verify exits 0 AND
# prints nothing about our units. Lines about other units (the host's own)
# are shown but do not count.
#
#   systemd_verify_test.sh SOURCE_ROOT
set -euo pipefail

root=${1:?usage: systemd_verify_test.sh SOURCE_ROOT}
units_dir=$root/scripts/systemd
work=$(mktemp -d /tmp/skycast-sdverify-XXXXXX)
trap 'rm -rf "$work"' EXIT

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "FAIL: systemd-analyze not found: install the Debian package systemd" \
        "(scripts/install-deps.sh does)" >&2
    exit 1
fi

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# The installed paths the units name (scripts/systemd/README.md).
bin_prefix=/usr/local/bin/
lib_prefix=/usr/local/lib/skycast/
templates=(skycast-dataplane@.service skycast-control@.service skycast-snmp@.service)
plain=(skycast-hugepages.service)
for u in "${templates[@]}" "${plain[@]}"; do
    [[ -f $units_dir/$u ]] || fail "missing $units_dir/$u"
done
((failures == 0)) || exit 1

stubs=$work/bin
mkdir -p "$stubs"
for p in skycast-dataplane skycast-control skycast-snmp setup-hugepages.sh; do
    printf '#!/bin/sh\nexit 0\n' >"$stubs/$p"
    chmod +x "$stubs/$p"
done

# stage DIR: DIR gets the units with their programs pointed at the stubs:
# the templates as they are (Requires=skycast-dataplane@%i.service resolves
# through them) and instantiated for node "lab".
stage() {
    local dir=$1 u
    mkdir -p "$dir"
    for u in "${templates[@]}" "${plain[@]}"; do
        sed -e "s#${bin_prefix}#$stubs/#g" -e "s#${lib_prefix}#$stubs/#g" \
            "$units_dir/$u" >"$dir/$u"
    done
    for u in "${templates[@]}"; do
        cp "$dir/$u" "$dir/${u/@./@lab.}"
    done
}

instances=(skycast-dataplane@lab.service skycast-control@lab.service skycast-snmp@lab.service
    skycast-hugepages.service)

# verify DIR UNIT...: 0 when systemd-analyze verify accepts the units
# silently. Prints its output.
verify() {
    local dir=$1 status=0 out ours
    shift
    out=$(cd "$dir" && systemd-analyze verify --man=no "${@/#/./}" 2>&1) || status=$?
    if [[ -n $out ]]; then
        local line
        while IFS= read -r line; do
            echo "    verify: $line"
        done <<<"$out"
    fi
    ours=$(grep -E "skycast|$dir" <<<"$out" || true)
    ((status == 0)) && [[ -z $ours ]]
}

# ---- the real units ---------------------------------------------------------
good=$work/good
stage "$good"
# The units must name the installed programs (or the stubs replaced nothing
# and verify would check the wrong thing).
grep -q "^ExecStart=${bin_prefix}skycast-dataplane --config /etc/skycast/%i.yaml\$" \
    "$units_dir/skycast-dataplane@.service" || fail "dataplane: unexpected ExecStart="
grep -q "^ExecStart=${bin_prefix}skycast-control --config /etc/skycast/%i.yaml\$" \
    "$units_dir/skycast-control@.service" || fail "control: unexpected ExecStart="
grep -q "^ExecStart=${bin_prefix}skycast-snmp --config /etc/skycast/%i.yaml\$" \
    "$units_dir/skycast-snmp@.service" || fail "snmp: unexpected ExecStart="
grep -q "^ExecStart=${lib_prefix}setup-hugepages.sh " \
    "$units_dir/skycast-hugepages.service" || fail "hugepages: unexpected ExecStart="
for u in "${instances[@]}"; do
    echo "== verify $u"
    verify "$good" "$u" || fail "systemd-analyze verify rejects $u"
done
echo "== verify all of them together"
verify "$good" "${instances[@]}" || fail "systemd-analyze verify rejects the set"

# What the units promise operators (docs/operations-systemd.md).
c=$units_dir/skycast-control@.service
d=$units_dir/skycast-dataplane@.service
grep -qx 'Requires=skycast-dataplane@%i.service' "$c" || fail "control: no Requires= on its dataplane"
grep -qx 'After=skycast-dataplane@%i.service' "$c" || fail "control: not ordered after its dataplane"
if grep -q '^BindsTo=' "$c"; then
    fail "control: BindsTo= would leave it stopped after a dataplane restart"
fi
grep -qx 'Requires=skycast-hugepages.service' "$d" || fail "dataplane: no Requires= on hugepages"
# The subagent reports a node that is down: it must not stop with it.
sn=$units_dir/skycast-snmp@.service
if grep -q '^\(Requires\|BindsTo\|PartOf\)=' "$sn"; then
    fail "snmp: bound to the node, it could not report the node down"
fi
grep -qx 'CapabilityBoundingSet=' "$sn" || fail "snmp: keeps capabilities it does not need"
for f in "$c" "$d"; do
    for line in Type=simple Restart=on-failure RestartPreventExitStatus=2 \
        LimitMEMLOCK=infinity NoNewPrivileges=yes ProtectSystem=strict \
        RuntimeDirectoryPreserve=yes; do
        grep -qx "$line" "$f" || fail "${f##*/}: no $line"
    done
done

# Exposure as systemd rates it (informational: the scale moves between
# systemd versions).
for u in skycast-dataplane@lab.service skycast-control@lab.service skycast-snmp@lab.service; do
    (cd "$good" && systemd-analyze security --offline=yes "./$u" 2>/dev/null |
        grep 'Overall exposure' | sed 's/^/    /') || true
done

# ---- broken copies must fail ---------------------------------------------------
# broken NAME UNIT SED_SCRIPT: stages the units, edits UNIT's instance with
# SED_SCRIPT, and expects verify to reject it.
broken() {
    local name=$1 unit=$2 script=$3 dir=$work/broken-$1
    stage "$dir"
    sed -i -e "$script" "$dir/$unit"
    cmp -s "$dir/$unit" "$good/$unit" && fail "broken copy '$name': the edit changed nothing"
    echo "== verify broken copy '$name' ($unit), must fail"
    if verify "$dir" "$unit"; then
        fail "systemd-analyze verify accepts the broken copy '$name' of $unit"
    fi
}
broken unknown-directive skycast-dataplane@lab.service \
    's/^Restart=on-failure$/Restart=on-failure\nRestartOnTuesdays=yes/'
broken bad-value skycast-control@lab.service 's/^Restart=on-failure$/Restart=sometimes/'
broken bad-type skycast-hugepages.service 's/^Type=oneshot$/Type=oneshoot/'
broken missing-program skycast-control@lab.service "s#^ExecStart=$stubs/#ExecStart=$work/nowhere/#"
broken missing-dependency skycast-control@lab.service \
    's/^Requires=skycast-dataplane@%i.service$/Requires=skycast-dataplan@%i.service/'
broken unknown-section skycast-dataplane@lab.service 's/^\[Install\]$/[Instal]/'

if ((failures)); then
    echo "systemd_verify_test: $failures failure(s)" >&2
    exit 1
fi
echo "systemd_verify_test: ok"
