#!/usr/bin/env python3
"""Waits until the receivers' copies of a sent tree are in place, instead of
sleeping a guessed second after the sender exits: every file and symlink of
the sources is in each destination with the source's size (and mtime, with
--mtime: a receiver sets it last), no temp file is left in an incoming
directory, and each stock uftpd status file has its RESULT lines, one per
file or symlink. A receiver may still be moving
the last file into place (or setting its mtime) when the sender has its
answer. Exits 0 as soon as that holds, 1 after TIMEOUT seconds (the caller's
byte-for-byte check then names what is missing).

  copies_settled.py --timeout S [--mtime] --dest DIR [--dest DIR ...]
                    [--incoming DIR ...] [--results FILE ...] SOURCE [SOURCE ...]
"""
import argparse
import os
import sys
import time


def expected(sources):
    """(relative path, is_link, size, mtime) of every file and symlink, relative
    to each source's parent, as the receivers lay them out."""
    out = []
    for src in sources:
        base = os.path.dirname(os.path.abspath(src))
        paths = [os.path.abspath(src)]
        if os.path.isdir(src) and not os.path.islink(src):
            # Directories too: a symlink to one is listed among them.
            paths = [os.path.join(top, name)
                     for top, dirs, files in os.walk(src) for name in dirs + files]
        for path in paths:
            rel = os.path.relpath(path, base)
            if os.path.islink(path):
                out.append((rel, True, None, None))
            elif os.path.isfile(path):
                st = os.stat(path)
                out.append((rel, False, st.st_size, int(st.st_mtime)))
    return out


def in_place(dest, entries, check_mtime):
    for rel, is_link, size, mtime in entries:
        copy = os.path.join(dest, rel)
        if is_link:
            if not os.path.islink(copy):
                return False
            continue
        try:
            st = os.lstat(copy)
        except OSError:
            return False
        if st.st_size != size or (check_mtime and int(st.st_mtime) != mtime):
            return False
    return True


def no_leftovers(incoming):
    for _, _, files in os.walk(incoming):
        if files:
            return False
    return True


def results_written(status_file, count):
    try:
        with open(status_file, "rb") as f:
            return sum(1 for line in f if line.startswith(b"RESULT;")) >= count
    except OSError:
        return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, required=True)
    parser.add_argument("--mtime", action="store_true")
    parser.add_argument("--dest", action="append", default=[])
    parser.add_argument("--incoming", action="append", default=[])
    parser.add_argument("--results", action="append", default=[])
    parser.add_argument("sources", nargs="+")
    args = parser.parse_args()
    entries = expected(args.sources)
    deadline = time.monotonic() + args.timeout
    while True:
        if all(in_place(d, entries, args.mtime) for d in args.dest) and all(
            no_leftovers(i) for i in args.incoming
        ) and all(results_written(r, len(entries)) for r in args.results):
            return 0
        if time.monotonic() >= deadline:
            print(f"copies_settled: not all copies in place after {args.timeout} s", file=sys.stderr)
            return 1
        time.sleep(0.05)


if __name__ == "__main__":
    sys.exit(main())
