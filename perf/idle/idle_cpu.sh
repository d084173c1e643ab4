#!/usr/bin/env bash
# What an idle receiver costs: CPU of a Skycast receiver node (dataplane and
# control) and of a stock uftpd, both in rcv1's namespace of the lab with
# nothing to receive, measured over the same window (issue 12's goal: an
# idle node under 2 % of a CPU).
#
#   idle_cpu.sh [--name LAB] [--seconds N] BUILD_DIR
#
# Prints, for the window after both have been idle for 3 s (so Skycast's
# threads are in their deep idle stage, dataplane/core/idle_backoff.h):
#   idle_cpu skycast_pct=X dataplane_pct= control_pct= stock_uftpd_pct=Y goal_pct=2 seconds=N
# CPU is what /proc/PID/stat says the processes used (user + system), so a
# busy host makes no difference to the figure, only to its noise.
set -euo pipefail
seconds=30
args=()
while (($#)); do
    case $1 in
    --seconds) seconds=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
    esac
done
# shellcheck source=scripts/lab/one_receiver.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lab/one_receiver.sh"
command -v uftpd > /dev/null || { echo "idle_cpu.sh: SKIP: uftpd missing" >&2; exit 77; }
one_receiver_init idle_cpu.sh idle "${args[@]}"
one_receiver_up ""
control_pid=${pids[-1]}
# uftpd in the foreground on the same namespace (the node's port is a
# DPDK-owned veth end there; uftpd listens on the kernel's side of it).
mkdir -p "$work/stock"
"${rcv1_exec[@]}" uftpd -d -D "$work/stock" -L "$logs/uftpd.log" > "$logs/uftpd.out" 2>&1 &
pids+=($!)
uftpd_pid=$!
sleep 3

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
read -r d0 c0 u0 t0 <<< "$(ticks "$rcv1_dataplane_pid") $(ticks "$control_pid") $(ticks "$uftpd_pid") $(date +%s.%N)"
sleep "$seconds"
read -r d1 c1 u1 t1 <<< "$(ticks "$rcv1_dataplane_pid") $(ticks "$control_pid") $(ticks "$uftpd_pid") $(date +%s.%N)"
python3 - "$hz" "$t0" "$t1" "$d0" "$d1" "$c0" "$c1" "$u0" "$u1" << 'PY'
import sys
hz, t0, t1 = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
d0, d1, c0, c1, u0, u1 = map(int, sys.argv[4:])
el = t1 - t0
pct = lambda a, b: 100.0 * (b - a) / hz / el
dp, cp, up = pct(d0, d1), pct(c0, c1), pct(u0, u1)
print("idle_cpu skycast_pct=%.2f dataplane_pct=%.2f control_pct=%.2f stock_uftpd_pct=%.2f "
      "goal_pct=2 seconds=%.0f" % (dp + cp, dp, cp, up, el))
PY
