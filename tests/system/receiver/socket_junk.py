#!/usr/bin/env python3
"""Sends requests that are not requests to a node's control socket, one
connection each, and checks that every one gets a line back (an error) and
that the node still answers `stats` afterwards.

  socket_junk.py SOCKET
"""
import json
import socket
import sys

JUNK = [
    b"\xff\xfe\x00garbage\n",                    # not UTF-8, not JSON
    b"[1, 2, 3]\n",                               # JSON, not an object
    b'{"request": 5}\n',                          # the wrong type
    b'{"request": "send", "paths": "x"}\n',       # a receiver asked to send, paths not a list
    b'{"request": "\xff"}\n',                    # a request name that is not UTF-8
    b'{"request": "stats", "x": ' + b"[" * 5000 + b"\n",  # deep, unterminated
]


def ask(path, data):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    return out


def main():
    path = sys.argv[1]
    for junk in JUNK:
        answer = ask(path, junk)
        line = answer.split(b"\n")[0]
        doc = json.loads(line)  # every answer is valid JSON (and so valid UTF-8)
        if doc.get("event") != "error":
            sys.exit(f"socket_junk: {junk[:40]!r} got {line[:200]!r}, not an error")
        print(f"socket_junk: {junk[:30]!r} -> {doc.get('error', '')[:80]}")
    stats = json.loads(ask(path, b'{"request": "stats"}\n').split(b"\n")[0])
    if "control" not in stats:
        sys.exit("socket_junk: no stats after the junk")
    print("socket_junk: the node still answers stats")


if __name__ == "__main__":
    main()
