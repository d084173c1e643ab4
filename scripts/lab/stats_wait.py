#!/usr/bin/env python3
"""Waits on a Skycast node's stats until a condition holds.

    stats_wait.py SOCKET EXPR SECONDS [--interval S] [--report FILE]

Keeps ONE connection to the node's control socket and asks for the stats
document every --interval seconds (default 0.02), in this process: no
`skycast` or python start per poll, so a poll costs what the node takes to
answer (milliseconds) and the condition is seen within about one interval
plus one answer of becoming true. EXPR is a Python expression over the
document `s`, e.g. "s['dataplane']['counters'].get('tx.fileseg.bytes', 0) >= 1000".

Exit status 0 as soon as EXPR is true (the document that made it true is
printed as JSON on stdout), 1 after SECONDS without it, 2 when the node
cannot be reached at all. With --report FILE it also writes what the wait
measured: requests, the slowest answer, the longest gap between two answers
and the gap between the last two (in which the condition became true), in
seconds ("requests=N slowest_s=X longest_gap_s=Y last_gap_s=Z"), so a caller
can check how late it can have seen the condition.
"""

import argparse
import json
import socket
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("socket")
    parser.add_argument("expr")
    parser.add_argument("seconds", type=float)
    parser.add_argument("--interval", type=float, default=0.02)
    parser.add_argument("--report")
    args = parser.parse_args()
    code = compile(args.expr, "<expr>", "eval")

    deadline = time.monotonic() + args.seconds
    conn = None
    pending = b""
    requests = 0
    slowest = 0.0
    longest_gap = 0.0
    last_gap = 0.0
    last_answer = None
    ever_connected = False
    status = 1

    def report() -> None:
        if args.report:
            with open(args.report, "w") as out:
                out.write(f"requests={requests} slowest_s={slowest:.4f} "
                          f"longest_gap_s={longest_gap:.4f} last_gap_s={last_gap:.4f}\n")

    while time.monotonic() < deadline:
        try:
            if conn is None:
                conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                conn.settimeout(max(0.1, deadline - time.monotonic()))
                conn.connect(args.socket)
                ever_connected = True
                pending = b""
            asked = time.monotonic()
            conn.sendall(b'{"request":"stats"}\n')
            while b"\n" not in pending:
                chunk = conn.recv(1 << 16)
                if not chunk:
                    raise ConnectionError("the node closed the connection")
                pending += chunk
            line, pending = pending.split(b"\n", 1)
            now = time.monotonic()
            requests += 1
            slowest = max(slowest, now - asked)
            if last_answer is not None:
                last_gap = now - last_answer
                longest_gap = max(longest_gap, last_gap)
            last_answer = now
            doc = json.loads(line)
            try:
                value = eval(code, {}, {"s": doc})
            except Exception:  # the document does not hold it (yet)
                value = False
            if value:
                print(json.dumps(doc))
                status = 0
                break
        except (OSError, ConnectionError, ValueError):
            # The node restarting (or not up yet): reconnect.
            if conn is not None:
                conn.close()
            conn = None
        time.sleep(args.interval)
    if conn is not None:
        conn.close()
    report()
    if status != 0 and not ever_connected:
        print(f"stats_wait: cannot connect to {args.socket}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
