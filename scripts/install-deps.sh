#!/usr/bin/env bash
# Installs every Debian 12 package Skycast builds, tests and runs with.
# Idempotent: packages already present are not reinstalled, and apt is not
# touched at all when nothing is missing (so repeated test runs stay fast).
set -euo pipefail

packages=(
    # build
    build-essential pkg-config meson ninja-build clang lld libclang-rt-14-dev clang-format
    # libraries
    libdpdk-dev dpdk libssl-dev libsodium-dev libyaml-cpp-dev libpcap-dev libisal-dev
    nlohmann-json3-dev libcli11-dev libmicrohttpd-dev libsnmp-dev libsystemd-dev
    # tests and benchmarks
    libgtest-dev libgmock-dev libbenchmark-dev openssl
    # independent peers and readers of the wire format
    uftp tshark
    # a real Prometheus server scrapes a node's /metrics in the system suite
    prometheus
    # a real snmpd (AgentX master), snmptrapd and snmpwalk with skycast-snmp,
    # and smilint for SKYCAST-MIB
    snmpd snmptrapd snmp smitools
    # the network-namespace lab
    iproute2 procps ethtool
    # NAT in front of a client proxy (tests/system/proxy/two_sites.sh --nat)
    iptables
    # systemd-analyze verify of the units in scripts/systemd/ (system suite)
    systemd
)

missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
    if [[ "$status" != "installed" ]]; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#packages[@]} packages present"
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages (${missing[*]}) and not root: run as root" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# wireshark-common asks whether non-root users may capture; answer for it.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
