#!/usr/bin/env python3
"""Generates kat_vectors.h: known-answer values for tests/unit/crypto.

An implementation independent of crypto/: the UFTP PRF, key schedule,
KEYINFO entries, verify data and ENCRYPTED framing are written here from
docs/protocol.md §5 alone, and the ciphers come from Python's
`cryptography` package and `hmac`/`hashlib`. The script first checks its PRF
against the spec's §5.10 vectors (made by the implementation that
interoperated with stock uftp 4.10.2), then prints a C++ header.

Run: python3 gen_kat.py > kat_vectors.h   (needs python3-cryptography)
"""
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM

try:  # TripleDES moved to the decrepit module in cryptography >= 43
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover
    TripleDES = algorithms.TripleDES

HASHES = {"sha1": (2, 20), "sha256": (3, 32), "sha384": (4, 48), "sha512": (5, 64)}
# name: (key_type, key_len, mode, block)
CIPHERS = {
    "des_ede3": (2, 24, "cbc", 8),
    "aes128_cbc": (3, 16, "cbc", 16),
    "aes256_cbc": (4, 32, "cbc", 16),
    "aes128_gcm": (5, 16, "gcm", 16),
    "aes256_gcm": (6, 32, "gcm", 16),
    "aes128_ccm": (7, 16, "ccm", 16),
    "aes256_ccm": (8, 32, "ccm", 16),
}


def p_hash(name, secret, s, n):
    out = b""
    prev = hmac.new(secret, s, name).digest()
    while len(out) < n:
        prev = hmac.new(secret, prev + s, name).digest()
        out += prev
    return out[:n]


def prf(hash_name, secret, label, seed, n):
    s = label.encode() + seed
    if hash_name == "sha1":
        half = (len(secret) + 1) // 2
        a = p_hash("md5", secret[:half], s, n)
        b = p_hash("sha1", secret[len(secret) - half:], s, n)
        return bytes(x ^ y for x, y in zip(a, b))
    return p_hash(hash_name, secret, s, n)


def check_spec_vectors():
    secret = bytes(range(0x30))
    seed = bytes(range(0x40, 0x60)) + bytes(range(0x80, 0xA0))
    spec = {
        "sha256": "27a1f7fef6c3aa38a25e76b768709cf4ca4135901524cc7becbc6630be76a64b"
        "2a5eedad817ab547218070c387b94f2f5b0ed57d452d873fd5dcd9c9b6bcd260afda174596a02ee7",
        "sha1": "748b221484e763069059ec5d688e25a0d79c43013c0bb34efbf133fdc6124dc0"
        "ce186e368f1cef4ad3a2630889c8a27e6e271a62362190b9d448b3d29621c61d4e6f9d7618a7381b",
        "sha384": "38131831f2c862ffa5c81591f8a8c43774d1668a663ba718267c1eab1f2a01cbc2061cfc60bacf0edbef606024cefb20"
        "62c090138671e8750d5592580cf68da5b016cb43a7dde23f",
    }
    for h, want in spec.items():
        got = prf(h, secret, "key expansion", seed, 72).hex()
        assert got == want, (h, got)
    return secret, seed


def iv_for(mode, block, salt, uid, ctr):
    uid_b = struct.pack(">I", uid)
    ctr_b = struct.pack(">Q", ctr)
    if mode in ("gcm", "ccm"):
        return bytes(a ^ b for a, b in zip(salt, uid_b)) + ctr_b
    if block == 16:
        return salt + uid_b + ctr_b
    return bytes(a ^ b for a, b in zip(salt + uid_b, ctr_b))


def cbc(cipher_name, key, iv, data, encrypt=True):
    algo = TripleDES(key) if cipher_name == "des_ede3" else algorithms.AES(key)
    c = Cipher(algo, modes.CBC(iv))
    if encrypt:
        padder = padding.PKCS7(algo.block_size).padder()
        data = padder.update(data) + padder.finalize()
        e = c.encryptor()
    else:
        e = c.decryptor()
    return e.update(data) + e.finalize()


def key_block(cipher, hash_name, secret, seed):
    _, key_len, _, _ = CIPHERS[cipher]
    hlen = HASHES[hash_name][1]
    kb = prf(hash_name, secret, "key expansion", seed, hlen + key_len + 4)
    return kb


def seal(cipher, hash_name, kb, header, iv_ctr, plaintext):
    _, key_len, mode, block = CIPHERS[cipher]
    hlen = HASHES[hash_name][1]
    hmac_key, key, salt = kb[:hlen], kb[hlen:hlen + key_len], kb[hlen + key_len:]
    seq, src, group, inst, grtt, gsize = header
    uftp = struct.pack(">BBHIIBBBB", 0x40, 18, seq, src, group, inst, grtt, gsize, 0)
    iv = iv_for(mode, block, salt, src, iv_ctr)
    if mode in ("gcm", "ccm"):
        payload_len = len(plaintext) + 16
        aad = uftp + struct.pack(">QHH", iv_ctr, 0, payload_len)
        aead = AESGCM(key) if mode == "gcm" else AESCCM(key, tag_length=16)
        return aad + aead.encrypt(iv, plaintext, aad)
    ct = cbc(cipher, key, iv, plaintext)
    zeroed = uftp + struct.pack(">QHH", iv_ctr, hlen, len(ct)) + bytes(hlen) + ct
    mac = hmac.new(hmac_key, zeroed, hash_name).digest()
    return uftp + struct.pack(">QHH", iv_ctr, hlen, len(ct)) + mac + ct


def c_bytes(name, data):
    body = ", ".join(f"0x{b:02x}" for b in data)
    return f"inline constexpr std::uint8_t {name}[] = {{{body}}};"


def main():
    check_spec_vectors()
    premaster = bytes(range(1, 49))
    rand1 = bytes(range(0xA0, 0xC0))
    rand2 = bytes(range(0xC0, 0xE0))
    group_master = bytes([0x40]) + bytes(range(0x11, 0x11 + 47))
    header = (0x1234, 0xC0000202, 0x11223344, 1, 0x55, 0x66)
    iv_ctr = 5
    # A FILESEG (func 9, hlen 2, file 1, section 0, block 3) with 45 data bytes:
    # 53 bytes, deliberately not a multiple of any block size.
    plaintext = bytes([9, 2, 0, 1, 0, 0, 0, 3]) + bytes((7 * i) & 0xFF for i in range(45))

    out = ["#pragma once",
           "// Generated by gen_kat.py from docs/protocol.md §5 with Python's `cryptography`;",
           "// do not edit. Regenerate: python3 gen_kat.py > kat_vectors.h",
           "// clang-format off",
           "#include <cstddef>", "#include <cstdint>", "", "namespace kat {", ""]
    out.append(c_bytes("premaster", premaster))
    out.append(c_bytes("rand1", rand1))
    out.append(c_bytes("rand2", rand2))
    out.append(c_bytes("group_master", group_master))
    out.append(c_bytes("plaintext", plaintext))
    out.append(f"inline constexpr std::uint64_t iv_ctr = {iv_ctr};")
    out.append("")
    for h in HASHES:
        master = prf(h, premaster, "master secret", rand1 + rand2, 48)
        out.append(c_bytes(f"master_{h}", master))
    out.append("")
    suites = [("aes128_gcm", "sha256"), ("aes256_gcm", "sha512"), ("aes128_ccm", "sha1"),
              ("aes256_ccm", "sha384"), ("aes128_cbc", "sha1"), ("aes256_cbc", "sha256"),
              ("des_ede3", "sha256"), ("des_ede3", "sha1"), ("aes256_cbc", "sha512"),
              ("aes128_cbc", "sha384")]
    out.append("struct suite_vector {")
    out.append("    std::uint8_t key_type;")
    out.append("    std::uint8_t hash_type;")
    out.append("    const std::uint8_t* client_block; std::size_t client_block_len;")
    out.append("    const std::uint8_t* group_block; std::size_t group_block_len;")
    out.append("    const std::uint8_t* keyinfo; // 48 bytes")
    out.append("    const std::uint8_t* sealed; std::size_t sealed_len;")
    out.append("};")
    entries = []
    for cipher, h in suites:
        tag = f"{cipher}_{h}"
        master = prf(h, premaster, "master secret", rand1 + rand2, 48)
        ckb = key_block(cipher, h, master, rand1 + rand2)
        gkb = key_block(cipher, h, group_master, rand1)
        # KEYINFO: forced CBC, client key + salt, server UID, IV counter.
        _, key_len, mode, block = CIPHERS[cipher]
        hlen = HASHES[h][1]
        cbc_name = cipher if mode == "cbc" else ("aes128_cbc" if key_len == 16 else "aes256_cbc")
        cblock = CIPHERS[cbc_name][3]
        ckey, csalt = ckb[hlen:hlen + key_len], ckb[hlen + key_len:]
        kiv = iv_for("cbc", cblock, csalt, 0x01020304, 7)
        entry = cbc(cbc_name, ckey, kiv, group_master[1:])
        assert len(entry) == 48
        sealed = seal(cipher, h, gkb, header, iv_ctr, plaintext)
        out.append(c_bytes(f"client_block_{tag}", ckb))
        out.append(c_bytes(f"group_block_{tag}", gkb))
        out.append(c_bytes(f"keyinfo_{tag}", entry))
        out.append(c_bytes(f"sealed_{tag}", sealed))
        entries.append(f"    {{{CIPHERS[cipher][0]}, {HASHES[h][0]}, client_block_{tag}, "
                       f"sizeof client_block_{tag}, group_block_{tag}, sizeof group_block_{tag}, "
                       f"keyinfo_{tag}, sealed_{tag}, sizeof sealed_{tag}}},")
    out.append("inline constexpr suite_vector suites[] = {")
    out.extend(entries)
    out.append("};")
    out.append("inline constexpr std::uint32_t keyinfo_server_uid = 0x01020304;")
    out.append("inline constexpr std::uint64_t keyinfo_iv_ctr = 7;")
    out.append("")
    # Verify data (§5.7), SHA-256, unicast (private address 0.0.0.0), RSA premaster.
    vd1 = struct.pack(">I", 0x11223344) + bytes(4) + rand1 + rand2 + premaster
    blob = bytes([1, 0, 0, 4]) + struct.pack(">I", 65537) + bytes([0xC1, 0x02, 0x03, 0x05])
    out.append(c_bytes("vd1", vd1))
    out.append(c_bytes("client_blob", blob))
    for h in ("sha256", "sha1"):
        vd2 = vd1 + blob + group_master
        digest = hashlib.new(h, vd2).digest()
        out.append(c_bytes(f"verify_{h}_auth", prf(h, group_master, "client finished", digest, 12)))
        digest = hashlib.new(h, vd1 + group_master).digest()
        out.append(c_bytes(f"verify_{h}_noauth", prf(h, group_master, "client finished", digest, 12)))
    out += ["", "} // namespace kat", "// clang-format on"]
    print("\n".join(out))


if __name__ == "__main__":
    main()
