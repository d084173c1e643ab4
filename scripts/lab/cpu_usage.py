#!/usr/bin/env python3
"""CPU time of chosen processes and of the whole host, between two snapshots.

    cpu_usage.py snapshot OUT.json PID...   record now
    cpu_usage.py diff BEFORE.json AFTER.json
        -> {"seconds": wall, "cpu_s": CPU-seconds of the PIDs (user + system,
            children not included), "host_busy_pct": share of all CPUs busy}
    cpu_usage.py run OUT.json CMD...        run CMD, then write {"status": its
        exit status, "seconds": wall, "cpu_s": CPU-seconds of CMD and its
        children}; exits with CMD's status

Used by scripts/demo.sh --report and perf/e2e to put Skycast's and stock
UFTP's CPU cost per transfer side by side. A PID that exited before the second
snapshot counts with what it had used at the first.
"""

import json
import os
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")


def process_ticks(pid: str) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, IndexError, ValueError):
        return -1


def host_ticks() -> list:
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:9]]


def snapshot(out: str, pids: list) -> None:
    doc = {"t": time.monotonic(), "pids": {p: process_ticks(p) for p in pids},
           "host": host_ticks()}
    with open(out, "w") as f:
        json.dump(doc, f)


def diff(before_path: str, after_path: str) -> dict:
    before = json.load(open(before_path))
    after = json.load(open(after_path))
    cpu = 0
    for pid, start in before["pids"].items():
        end = after["pids"].get(pid, -1)
        if start >= 0 and end >= start:
            cpu += end - start
    delta = [a - b for a, b in zip(after["host"], before["host"])]
    idle = delta[3] + delta[4]  # idle + iowait
    total = sum(delta)
    return {"seconds": round(after["t"] - before["t"], 3),
            "cpu_s": round(cpu / HZ, 2),
            "host_busy_pct": round(100.0 * (total - idle) / total, 1) if total else 0.0}


def run(out: str, command: list) -> int:
    import resource
    import subprocess
    started = time.monotonic()
    status = subprocess.call(command)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out, "w") as f:
        json.dump({"status": status, "seconds": round(time.monotonic() - started, 3),
                   "cpu_s": round(usage.ru_utime + usage.ru_stime, 2)}, f)
    return status


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "run":
        sys.exit(run(sys.argv[2], sys.argv[3:]))
    if len(sys.argv) >= 3 and sys.argv[1] == "snapshot":
        snapshot(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 4 and sys.argv[1] == "diff":
        print(json.dumps(diff(sys.argv[2], sys.argv[3])))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
