#!/usr/bin/env python3
"""UDP probe for the link emulator test (linkem_test.sh).

    probe.py send ADDR PORT COUNT SIZE PPS      (PPS 0: as fast as possible)
    probe.py recv PORT COUNT IDLE_S OUT.json [READY_FILE]

Each datagram carries its sequence number and the sender's CLOCK_REALTIME
send time (the namespaces share one clock), so the receiver knows every
datagram's one-way delay. Arrival times are the kernel's receive stamps
(SO_TIMESTAMPNS, CLOCK_REALTIME), not the time this script got round to
reading the datagram: a receiver descheduled for a moment on a busy machine
must not look like a slow link. The receiver stops after COUNT datagrams or
IDLE_S seconds without one, and writes {"received": N, "delays_s": [...],
"sent_s": [...], "first_s": T, "last_s": T, "sequences": [...]} to OUT.json
(times in seconds of CLOCK_REALTIME).
"""

import json
import socket
import struct
import sys
import time

HEADER = struct.Struct("!Qd")
# Linux's SO_TIMESTAMPNS (= SCM_TIMESTAMPNS), which Python's socket module
# does not name; its control message is a struct timespec of two longs.
SO_TIMESTAMPNS = 35
TIMESPEC = struct.Struct("@ll")


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
        sock.sendto(HEADER.pack(seq, time.time()) + pad, (addr, port))


def recv(port: int, count: int, idle_s: float, out: str, ready: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.bind(("0.0.0.0", port))
    if ready:
        open(ready, "w").close()  # bound: the sender may start
    sock.settimeout(idle_s)
    delays, sent_times, sequences, first, last = [], [], [], None, None
    while len(delays) < count:
        try:
            data, ancillary, _, _ = sock.recvmsg(65536, socket.CMSG_SPACE(TIMESPEC.size))
        except socket.timeout:
            break
        stamps = [d for level, kind, d in ancillary
                  if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS]
        if not stamps:
            sys.exit("probe.py: the kernel gave no receive timestamp")
        sec, nsec = TIMESPEC.unpack_from(stamps[0])
        now = sec + nsec * 1e-9
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
