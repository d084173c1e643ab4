#!/usr/bin/env python3
"""Measures how fast Skycast nodes answer `stats` while they work.

    measure.py NODE=SOCKET [NODE=SOCKET ...]

One thread per node asks for the stats document every 20 ms over a NEW
connection each time (as `skycast stats` and a monitoring scraper do) and
times connect + request + the whole answer. Runs until SIGTERM or SIGINT
(scripts/demo.sh --during starts it when `skycast send` starts and stops it
when the send ends), then prints one line per node:

    stats_latency node=hub p50_ms=1.2 p99_ms=4.4 max_ms=6.0 requests=310 failures=0

A request that fails (refused, closed, no answer within 10 s) is counted in
failures and, being an operator's failed look, given 10 000 ms in the
percentiles. Exits 1 when a node was never answered.
"""

import signal
import socket
import sys
import threading
import time

INTERVAL_S = 0.02
TIMEOUT_S = 10.0

stop = threading.Event()


def ask(path: str) -> float:
    started = time.monotonic()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(TIMEOUT_S)
        conn.connect(path)
        conn.sendall(b'{"request":"stats"}\n')
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(1 << 16)
            if not chunk:
                raise ConnectionError("closed before the answer ended")
            data += chunk
    return (time.monotonic() - started) * 1000.0


def poll(path: str, samples: list, failures: list) -> None:
    while not stop.is_set():
        try:
            samples.append(ask(path))
        except (OSError, ConnectionError):
            failures.append(1)
            samples.append(TIMEOUT_S * 1000.0)
        stop.wait(INTERVAL_S)


def percentile(sorted_values: list, p: float) -> float:
    index = min(len(sorted_values) - 1, int(round(p / 100.0 * (len(sorted_values) - 1))))
    return sorted_values[index]


def main() -> int:
    nodes = [arg.split("=", 1) for arg in sys.argv[1:]]
    if not nodes or any(len(n) != 2 for n in nodes):
        print(__doc__, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    results = {name: ([], []) for name, _ in nodes}
    threads = [threading.Thread(target=poll, args=(path, *results[name]), daemon=True)
               for name, path in nodes]
    for t in threads:
        t.start()
    while not stop.is_set():
        stop.wait(0.5)
    for t in threads:
        t.join()
    status = 0
    for name, _ in nodes:
        samples, failures = results[name]
        if not samples or len(failures) == len(samples):
            print(f"stats_latency node={name} requests={len(samples)} failures={len(failures)} "
                  "(never answered)")
            status = 1
            continue
        s = sorted(samples)
        print(f"stats_latency node={name} p50_ms={percentile(s, 50):.1f} "
              f"p99_ms={percentile(s, 99):.1f} max_ms={s[-1]:.1f} requests={len(s)} "
              f"failures={len(failures)}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
