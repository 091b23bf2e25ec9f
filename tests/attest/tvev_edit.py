#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Craft hostile TVEV bundles for tests/attest/run.sh (docs/evidence.md).
  tvev_edit.py IN OUT set SECTION HEX        replace a section's value (header length fixed up)
  tvev_edit.py IN OUT flip SECTION OFFSET    xor 0x01 into one byte of a section's value
  tvev_edit.py IN OUT truncate N             keep the first N bytes (no fix-up)
  tvev_edit.py IN OUT pad N                  append N zero bytes (no fix-up)
  tvev_edit.py IN OUT grow SECTION N         append N zero bytes to a section (fixed up)
  tvev_edit.py IN OUT flipstr SECTION TEXT [D]  flip the byte D (default 0) bytes into the
                                             first occurrence of TEXT in a section
  tvev_edit.py IN OUT replace SECTION OLD NEW   replace the first OLD in a section by NEW,
                                             of the same length (no length to fix up)
SECTION is the numeric type (1 nonce .. 10 agent-info)."""
import struct
import sys


def parse(b):
    assert b[:4] == b"TVEV"
    secs, off = [], 12
    while off < len(b):
        t, _, n = struct.unpack(">HHI", b[off:off + 8])
        secs.append([t, bytearray(b[off + 8:off + 8 + n])])
        off += 8 + n
    return secs


def build(secs):
    body = b"".join(struct.pack(">HHI", t, 0, len(v)) + bytes(v) for t, v in secs)
    return b"TVEV" + struct.pack(">HHI", 1, 0, 12 + len(body)) + body


def find(secs, t):
    for s in secs:
        if s[0] == t:
            return s
    sys.exit(f"no section {t}")


def at(value, text):
    i = value.find(text.encode())
    if i < 0:
        sys.exit(f"{text!r} not found")
    return i


def main():
    src, dst, op, *args = sys.argv[1:]
    b = open(src, "rb").read()
    if op == "truncate":
        out = b[:int(args[0])]
    elif op == "pad":
        out = b + bytes(int(args[0]))
    else:
        secs = parse(b)
        s = find(secs, int(args[0]))
        if op == "set":
            s[1] = bytearray.fromhex(args[1])
        elif op == "flip":
            s[1][int(args[1])] ^= 1
        elif op == "grow":
            s[1] += bytes(int(args[1]))
        elif op == "flipstr":
            s[1][at(s[1], args[1]) + (int(args[2]) if len(args) > 2 else 0)] ^= 1
        elif op == "replace":
            old, new = args[1].encode(), args[2].encode()
            assert len(old) == len(new), "replace keeps the length"
            i = at(s[1], args[1])
            s[1][i:i + len(old)] = new
        else:
            sys.exit(f"unknown op {op}")
        out = build(secs)
    open(dst, "wb").write(out)


if __name__ == "__main__":
    main()
