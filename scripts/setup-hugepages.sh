#!/usr/bin/env bash
# Reserves 2 MiB hugepages for DPDK and makes sure hugetlbfs is mounted.
# Idempotent: raises the reservation to at least PAGES (default 1024 = 2 GiB:
# a hub and three receivers of the lab at 256 MiB each, plus tests), never
# lowers it. Needs root.
#
#   scripts/setup-hugepages.sh [PAGES]
set -euo pipefail

pages=${1:-1024}
nr=/proc/sys/vm/nr_hugepages
current=$(cat "$nr")
if (( current < pages )); then
    echo "$pages" > "$nr"
    current=$(cat "$nr")
    if (( current < pages )); then
        echo "setup-hugepages: asked for $pages hugepages, the kernel gave $current" \
             "(memory fragmented or short): free memory or ask for fewer" >&2
        exit 1
    fi
fi
if ! mountpoint -q /dev/hugepages; then
    mkdir -p /dev/hugepages
    mount -t hugetlbfs nodev /dev/hugepages
fi
echo "setup-hugepages: $current x 2 MiB hugepages, hugetlbfs on /dev/hugepages"
