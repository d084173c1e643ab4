#!/usr/bin/env python3
"""UDP probe for the link emulator test (linkem_test.sh).

    probe.py send ADDR PORT COUNT SIZE PPS      (PPS 0: as fast as possible)
    probe.py recv PORT COUNT IDLE_S OUT.json [READY_FILE]

Each datagram carries its sequence number and the sender's CLOCK_MONOTONIC
send time (the namespaces share one clock), so the receiver knows every
datagram's one-way delay. The receiver stops after COUNT datagrams or IDLE_S
seconds without one, and writes {"received": N, "delays_s": [...],
"sent_s": [...], "first_s": T, "last_s": T, "sequences": [...]} to OUT.json
(times in seconds of CLOCK_MONOTONIC).
"""

import json
import socket
import struct
import sys
import time

HEADER = struct.Struct("!Qd")


def send(addr: str, port: int, count: int, size: int, pps: float) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
    pad = b"\0" * max(0, size - HEADER.size)
    start = time.monotonic()
    for seq in range(count):
        if pps > 0:
            due = start + seq / pps
            while (now := time.monotonic()) < due:
                time.sleep(due - now)
        sock.sendto(HEADER.pack(seq, time.monotonic()) + pad, (addr, port))


def recv(port: int, count: int, idle_s: float, out: str, ready: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind(("0.0.0.0", port))
    if ready:
        open(ready, "w").close()  # bound: the sender may start
    sock.settimeout(idle_s)
    delays, sent_times, sequences, first, last = [], [], [], None, None
    while len(delays) < count:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        now = time.monotonic()
        seq, sent = HEADER.unpack_from(data)
        delays.append(now - sent)
        sent_times.append(sent)
        sequences.append(seq)
        first = now if first is None else first
        last = now
    with open(out, "w") as f:
        json.dump({"received": len(delays), "delays_s": delays, "sent_s": sent_times,
                   "sequences": sequences, "first_s": first, "last_s": last}, f)


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
             float(sys.argv[6]))
    else:
        recv(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5],
             sys.argv[6] if len(sys.argv) > 6 else "")
