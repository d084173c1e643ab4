#!/usr/bin/env python3
"""Regenerates the committed seed corpora under tests/fuzz/seeds/.

    tests/fuzz/make_seeds.py            # needs tshark and editcap (Wireshark)

fuzz_datagram: whole UDP payloads (UFTP datagrams) taken from the captures in
    tests/data, deduplicated, at most a few per message type, plus hand-built
    datagrams for the message types and variants the captures do not hold
    (STATUS with NAKs, TFMCC extensions, ABORT, proxy and heartbeat messages, an
    IPv6 ANNOUNCE, a symlink FILEINFO, ...).
fuzz_message: the same messages in fuzz_message's input format: one byte that
    selects the type (type - 1), then the message without its UFTP header.
fuzz_capture: the two captures, truncated copies of them (cut mid-record and
    cut to the first frames), a classic-pcap copy, and small hand-built
    captures for the link types and L2-L4 cases the captures lack (Ethernet with
    802.1Q and QinQ tags, raw IP, Linux cooked v2, IPv6, fragments, non-UDP and
    malformed frames).

The corpus is kept small on purpose (< 100 files, < 1 MB in all): the seeds
only have to reach every decoder; libFuzzer finds the variations itself.
Output is deterministic, so rerunning the script shows up in `git status` only
when the captures or this script change.
"""

import hashlib
import pathlib
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE.parent / "data"
SEEDS = HERE / "seeds"

TYPE_NAMES = {
    1: "announce", 2: "register", 3: "client_key", 4: "reg_conf", 5: "keyinfo",
    6: "keyinfo_ack", 7: "fileinfo", 8: "fileinfo_ack", 9: "fileseg", 10: "done",
    11: "status", 12: "complete", 13: "done_conf", 14: "hb_req", 15: "hb_resp",
    16: "key_req", 17: "proxy_key", 18: "encrypted", 19: "abort", 20: "cong_ctrl",
    21: "cc_ack",
}
# Captured datagrams kept per message type: enough to show the decoders a
# couple of length variants without letting 230 near-identical FILESEGs
# dominate the corpus. ENCRYPTED gets more: its inner sizes vary the most.
PER_TYPE = 2
PER_TYPE_ENCRYPTED = 4
UFTP_PORT = 1044


# --- UFTP datagrams built by hand --------------------------------------------

def header(func, seq=1):
    # version 0x40, func, seq, src_id, group_id, group_inst, grtt, gsize, reserved
    return struct.pack(">BBHIIBBBB", 0x40, func, seq, 0x0A000001, 0x1234ABCD, 0, 0x20, 0x10, 0)


def msg(func, body_words, fields):
    """A message header of hlen = body_words words: func, hlen, `fields`, zero padding."""
    fields += bytes(-(2 + len(fields)) % 4)
    assert (2 + len(fields)) == body_words * 4, (func, len(fields))
    return struct.pack(">BB", func, body_words) + fields


def pad4(b):
    return b + bytes(-len(b) % 4)


def tfmcc_ack_info(flags=0x02, cc_seq=7, cc_rate=0x1234, client=0x0A000002):
    return struct.pack(">BBBBHHIII", 3, 5, flags, 0, cc_seq, cc_rate, client, 1700000000, 123456)


def synthetic_datagrams():
    out = []
    # STATUS (none in the captures): a sparse and a full bitmap, with and
    # without EXT_TFMCC_ACK_INFO. 1300 blocks -> 163 bytes; 64 -> 9 bytes.
    sparse = bytearray(1300 // 8 + 1)
    for i in (0, 7, 8, 63, 64, 650, 1299):
        sparse[i >> 3] |= 1 << (i & 7)
    out.append(header(11) + msg(11, 2, struct.pack(">HHH", 1, 0, 0)) + bytes(sparse))
    out.append(header(11) + msg(11, 7, struct.pack(">HHH", 2, 3, 0) + tfmcc_ack_info())
               + b"\xff" * 8 + b"\x01")
    # STATUS with a NAK list (Skycast, docs/protocol.md §19: flag 0x02 at
    # offset 6): runs 0-1, 7 and 136-138.
    out.append(header(11) + msg(11, 2, struct.pack(">HHH", 1, 0, 0x0200))
               + bytes([0, 1, 5, 0, 0x80, 0x01, 2]))
    # FILESEG with EXT_TFMCC_DATA_INFO, and one with an unknown extension to skip.
    out.append(header(9) + msg(9, 4, struct.pack(">HHHBBHHH", 1, 2, 3, 2, 2, 0x2345, 9, 0x3456))
               + bytes(range(256)) * 2)
    out.append(header(9) + msg(9, 3, struct.pack(">HHHBBH", 1, 0, 5, 0x55, 1, 0)) + b"data")
    # COMPLETE with EXT_FREESPACE_INFO and a client list (a proxy's).
    out.append(header(12) + msg(12, 5, struct.pack(">HBBH", 1, 1, 0, 0)
                                + struct.pack(">BBHQ", 7, 3, 0, 1 << 40))
               + struct.pack(">II", 0x0A000002, 0x0A000003))
    # KEYINFO_ACK (only ever encrypted in the captures).
    out.append(header(6) + msg(6, 4, struct.pack(">H", 0) + bytes(range(12))))
    # HB_REQ without and with key blob and signature; HB_RESP; KEY_REQ.
    out.append(header(14) + msg(14, 3, struct.pack(">HHHI", 0, 0, 0, 0xCAFEF00D)))
    out.append(header(14) + msg(14, 5, struct.pack(">HHHI", 0, 5, 3, 1) + b"\x01" * 5 + b"\x02" * 3))
    out.append(header(15) + msg(15, 2, struct.pack(">BBI", 1, 0, 0xCAFEF00D)))
    out.append(header(16) + msg(16, 1, struct.pack(">H", 0)))
    # PROXY_KEY with key blob, ECDH blob and signature.
    out.append(header(17) + msg(17, 6, struct.pack(">HHHI", 4, 3, 2, 42) + b"\xaa" * 4 + b"\xbb" * 3 + b"\xcc" * 2))
    # ABORT: a short reason and a reason filling all 300 bytes but one.
    out.append(header(19) + msg(19, 77, struct.pack(">BBI", 1, 0, 0x0A000002) + pad_to(b"disk full", 300)))
    out.append(header(19) + msg(19, 77, struct.pack(">BBI", 0, 0, 0) + b"x" * 299 + b"\x00"))
    # ... and one without its NUL: decodes, but the encoder refuses it (the one
    # allowed round-trip refusal, see fuzz_support.h).
    out.append(header(19) + msg(19, 77, struct.pack(">BBI", 0, 0, 0) + b"y" * 300))
    # CONG_CTRL with two items; CC_ACK.
    out.append(header(20) + msg(20, 4, struct.pack(">HHHII", 0, 3, 0x4567, 1700000000, 5))
               + struct.pack(">IBBH", 0x0A000002, 0x05, 0x30, 0)
               + struct.pack(">IBBH", 0x0A000003, 0x02, 0x31, 0))
    out.append(header(21) + msg(21, 6, struct.pack(">H", 0) + tfmcc_ack_info(flags=0x01)))
    # ANNOUNCE over IPv6 with a closed group, and FILEINFO of a symlink.
    v6a = bytes.fromhex("ff050000000000000000000000000001")
    v6b = bytes.fromhex("fe800000000000000000000000000042")
    out.append(header(1) + msg(1, 12, struct.pack(">BBBBHII", 0x04, 20, 0, 0, 1300, 1700000000, 0) + v6a + v6b)
               + struct.pack(">II", 0x0A000002, 0x0A000003))
    name, link = pad4(b"dir/link"), pad4(b"../target.bin")
    out.append(header(7) + msg(7, (28 + len(name) + len(link)) // 4,
                               struct.pack(">HBBBBBBHIIII", 3, 2, 0, 0, 0, len(name) // 4,
                                           len(link) // 4, 0, 0, 1700000000, 1700000000, 0)
                               + name + link))
    return out


def pad_to(b, n):
    return b + bytes(n - len(b))


# --- Captures -----------------------------------------------------------------

def captured_payloads(pcap):
    text = subprocess.run(
        ["tshark", "-r", str(pcap), "-T", "fields", "-e", "udp.payload"],
        check=True, capture_output=True, text=True).stdout
    return [bytes.fromhex(line.replace(":", "")) for line in text.split() if line]


def pick_captured(payloads):
    """A few distinct datagrams per type: the shortest and longest first."""
    by_type = {}
    for p in dict.fromkeys(payloads):  # dedupe, keep order
        if len(p) >= 2:
            by_type.setdefault(p[1], []).append(p)
    chosen = []
    for func, items in sorted(by_type.items()):
        limit = PER_TYPE_ENCRYPTED if func == 18 else PER_TYPE
        items.sort(key=len)
        picks, seen_lengths = [], set()
        # Alternate ends of the length range so two picks differ most.
        for p in [x for pair in zip(items, reversed(items)) for x in pair]:
            if len(picks) == limit:
                break
            if len(p) not in seen_lengths:
                seen_lengths.add(len(p))
                picks.append(p)
        chosen += picks
    return chosen


def pcap_file(linktype, frames, nanosecond=False, big_endian=False):
    """A classic pcap file holding `frames` (bytes) with made-up timestamps."""
    e = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nanosecond else 0xA1B2C3D4
    out = struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for i, f in enumerate(frames):
        out += struct.pack(e + "IIII", 1700000000 + i, 1000 * i, len(f), len(f)) + f
    return out


def checksum16(b):
    b = pad_to(b, len(b) + len(b) % 2)
    s = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp(payload, sport=45740, dport=UFTP_PORT, length=None):
    return struct.pack(">HHHH", sport, dport, length if length is not None else 8 + len(payload), 0) + payload


def ipv4(l4, proto=17, frag=0, ihl=5, total=None, src="10.0.0.1", dst="230.4.4.1"):
    opts = bytes(4 * (ihl - 5)) if ihl >= 5 else b""
    total = total if total is not None else 4 * max(ihl, 5) + len(l4)
    h = struct.pack(">BBHHHBBH4s4s", 0x40 | (ihl & 0xF), 0, total, 1, frag, 64, proto, 0,
                    bytes(map(int, src.split("."))), bytes(map(int, dst.split(".")))) + opts
    h = h[:10] + struct.pack(">H", checksum16(h)) + h[12:]
    return h + l4


def ipv6(l4, next_header=17, src="fe800000000000000000000000000001",
         dst="ff050000000000000000000000000001"):
    return struct.pack(">IHBB", 0x60000000, len(l4), next_header, 64) + bytes.fromhex(src) \
        + bytes.fromhex(dst) + l4


def ether(l3, ethertype=0x0800, tags=()):
    out = bytes.fromhex("01005e040401") + bytes.fromhex("020000000001")
    for tpid, vid in tags:
        out += struct.pack(">HH", tpid, vid)
    return out + struct.pack(">H", ethertype) + l3


def sll2(l3, protocol=0x0800):
    # Linux cooked v2: protocol, reserved, ifindex, arphrd, pkttype, addr len, addr[8]
    return struct.pack(">HHIHBB8s", protocol, 0, 2, 1, 2, 6, bytes.fromhex("0200000000010000")) + l3


def synthetic_captures(payloads):
    fileinfo = next(p for p in payloads if p[1] == 7)
    done = next(p for p in payloads if p[1] == 10)
    eth = [
        ether(ipv4(udp(fileinfo))),
        ether(ipv4(udp(done)), ethertype=0x0800, tags=[(0x8100, 10)]),
        ether(ipv4(udp(done)), tags=[(0x88A8, 100), (0x8100, 10)]),
        ether(ipv6(udp(done)), ethertype=0x86DD),
        ether(ipv4(udp(done), ihl=6)),                      # IPv4 options
        ether(ipv4(udp(done)[:20], frag=0x2000)),             # first fragment
        ether(ipv4(udp(done), total=12)),                   # total length < IHL
        ether(ipv4(udp(done, length=4000))),                # UDP length past frame
        ether(ipv4(udp(done, dport=9999))),                 # another port
        ether(ipv4(b"\x00" * 20, proto=6)),                 # TCP
        ether(bytes(28), ethertype=0x0806),                 # ARP
        ether(b"\x45"),                                     # IPv4 cut after 1 byte
    ]
    raw = [ipv4(udp(fileinfo)), ipv6(udp(done)), ipv6(b"\x11\x00\x00\x01\x00\x00\x00\x01" + udp(done), next_header=44)]
    cooked = [sll2(ipv4(udp(done))), sll2(ipv6(udp(done)), protocol=0x86DD)]
    return {
        "synthetic-ethernet-vlan.pcap": pcap_file(1, eth),
        "synthetic-raw-ip-ns-be.pcap": pcap_file(101, raw, nanosecond=True, big_endian=True),
        "synthetic-linux-sll2.pcap": pcap_file(276, cooked),
    }


def write(directory, name, data):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data)


def seed_name(datagram):
    func = datagram[1] if len(datagram) > 1 else 0
    return "%s-%s" % (TYPE_NAMES.get(func, "unknown"), hashlib.sha1(datagram).hexdigest()[:12])


def main():
    for tool in ("tshark", "editcap"):
        if shutil.which(tool) is None:
            sys.exit("make_seeds.py: %s not found (apt-get install tshark)" % tool)
    for target in ("fuzz_datagram", "fuzz_message", "fuzz_capture"):
        shutil.rmtree(SEEDS / target, ignore_errors=True)

    captures = sorted(DATA.glob("*.pcap"))
    payloads = [p for c in captures for p in captured_payloads(c)]
    datagrams = pick_captured(payloads) + synthetic_datagrams()
    for d in datagrams:
        write(SEEDS / "fuzz_datagram", seed_name(d), d)
        # fuzz_message: selector byte (type - 1, see fuzz_message.cc), message bytes.
        write(SEEDS / "fuzz_message", seed_name(d), bytes([d[1] - 1]) + d[16:])

    out = SEEDS / "fuzz_capture"
    for c in captures:
        data = c.read_bytes()
        write(out, c.name, data)
        # Cut mid-record (at an odd offset, never a record boundary): the reader
        # must report the truncation, not read past it. At most ~20 kB, so the
        # copy stays cheap to mutate.
        cut = min(len(data) * 2 // 3, 20011)
        write(out, c.stem + "-cut-%d%s" % (cut, c.suffix), data[:cut])
    big = max(captures, key=lambda c: c.stat().st_size)
    with tempfile.TemporaryDirectory() as tmp:
        first = pathlib.Path(tmp) / "first.pcapng"
        classic = pathlib.Path(tmp) / "first.pcap"
        # One of each message type the capture holds, in order: ANNOUNCE,
        # REGISTER, REG_CONF, FILEINFO(_ACK), FILESEGs, DONE, COMPLETE, DONE_CONF.
        subprocess.run(["editcap", "-r", str(big), str(first), "1-3", "23-25", "255-265"],
                       check=True)
        subprocess.run(["editcap", "-F", "pcap", str(first), str(classic)], check=True)
        write(out, big.stem + "-excerpt.pcapng", first.read_bytes())
        write(out, big.stem + "-excerpt-classic.pcap", classic.read_bytes())
        write(out, big.stem + "-excerpt-classic-cut.pcap", classic.read_bytes()[:1001])
    for name, data in synthetic_captures(payloads).items():
        write(out, name, data)

    files = [f for f in SEEDS.rglob("*") if f.is_file()]
    print("%d seed files, %d bytes" % (len(files), sum(f.stat().st_size for f in files)))


if __name__ == "__main__":
    main()
