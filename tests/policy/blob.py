#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compiled-policy helpers for tests/policy/run.sh, independent of the C code:
  blob.py fields BLOB        check the bytes of tests/policy/good/fields.pol's blob
  blob.py patch BLOB         check the patch record of tests/policy/good/patch.pol's blob
  blob.py same A B           A and B hold the same rules (the source line may differ)
  blob.py corrupt IN OUT HOW write IN with one defect (magic, action, nrules, name, reserved)
Layout: thinvmm/include/thinvmm/policy.h."""
import struct
import sys

HDR = struct.Struct("<QIIII32s")  # magic version size nrules reserved name
RULE = struct.Struct("<HBBHHQQ32s64s64s")  # kind action perm id line a b name sym0 sym1
MAGIC = 0x314C4F504D4D5654
assert HDR.size == 56 and RULE.size == 184


def load(path):
    data = open(path, "rb").read()
    h = HDR.unpack_from(data, 0)
    rules = [RULE.unpack_from(data, HDR.size + i * RULE.size) for i in range(h[3])]
    return data, h, rules


def cstr(b, what):
    s, nul, rest = b.partition(b"\0")
    if not nul or rest.strip(b"\0"):
        raise SystemExit(f"{what}: not NUL-terminated or junk after the NUL: {b!r}")
    return s.decode()


def fields(path):
    data, h, rules = load(path)
    magic, version, size, nrules, reserved, name = h
    want_hdr = (MAGIC, 1, 56 + 8 * 184, 8, 0, "fields-test")
    got_hdr = (magic, version, size, nrules, reserved, cstr(name, "header name"))
    if got_hdr != want_hdr or len(data) != size:
        raise SystemExit(f"header {got_hdr} (file {len(data)} bytes), want {want_hdr}")
    M, MS, CR, MSR, DT = 1, 2, 3, 4, 5
    MON, DENY, HALT = 1, 2, 3
    R, W, X = 1, 2, 4
    # kind action perm id line a b name sym0 sym1
    want = [
        (MS, DENY, R | X, 0, 4, 0, 0, "text", "_stext", "_etext"),
        (MS, MON, R, 1, 5, 0x10, 4096, "idt", "idt_table", ""),
        (M, HALT, R | W, 2, 6, 0x100000, 2 << 20, "low", "", ""),
        (CR, DENY, 0, 3, 7, 0, (1 << 16) | (1 << 31), "wp", "", ""),
        (CR, MON, 0, 4, 8, 4, (1 << 20) | (1 << 21), "prot", "", ""),
        (MSR, HALT, R | W, 5, 9, 0xC0000082, 0, "sys", "", ""),
        (MSR, HALT, R | W, 5, 9, 0x176, 0, "sys", "", ""),
        (DT, HALT, 0, 6, 10, 1, 0, "idt-loads", "", ""),
    ]
    for i, (r, w) in enumerate(zip(rules, want)):
        got = r[:7] + tuple(cstr(r[k], f"rule {i} field {k}") for k in (7, 8, 9))
        if got != w:
            raise SystemExit(f"rule {i}: {got}\n  want {w}")
    print(f"{path}: all fields as expected")


def patch(path):
    data, h, rules = load(path)
    if h[3] != 4 or len(data) != 56 + 4 * 184:
        raise SystemExit(f"{h[3]} rules, {len(data)} bytes; want 4, {56 + 4 * 184}")
    PATCH, MON = 7, 1
    # kind action perm id line a b name sym0 sym1: no permissions, monitor, a and b zero
    want = (PATCH, MON, 0, 1, 4, 0, 0, "jump-labels",
            "__start___jump_table", "__stop___jump_table")
    r = rules[1]
    got = r[:7] + tuple(cstr(r[k], f"patch record field {k}") for k in (7, 8, 9))
    if got != want:
        raise SystemExit(f"patch record: {got}\n  want {want}")
    print(f"{path}: the patch record as expected")


def same(a, b):
    da, ha, ra = load(a)
    db, hb, rb = load(b)
    if ha != hb or len(da) != len(db):
        raise SystemExit(f"headers differ: {ha} / {hb}")
    for i, (x, y) in enumerate(zip(ra, rb)):
        if x[:4] + x[5:] != y[:4] + y[5:]:  # all but the source line
            raise SystemExit(f"rule {i} differs:\n  {x}\n  {y}")


def corrupt(src, dst, how):
    data = bytearray(open(src, "rb").read())
    if how == "magic":
        data[0] ^= 0xFF
    elif how == "action":  # first rule's action
        data[HDR.size + 2] = 9
    elif how == "nrules":  # one more rule than the file holds
        struct.pack_into("<I", data, 16, struct.unpack_from("<I", data, 16)[0] + 1)
    elif how == "name":  # policy name without a NUL
        data[24:56] = b"A" * 32
    elif how == "reserved":
        data[20] = 1
    else:
        raise SystemExit(f"unknown corruption {how}")
    open(dst, "wb").write(data)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"fields": fields, "patch": patch, "same": same, "corrupt": corrupt}[cmd](*args)
