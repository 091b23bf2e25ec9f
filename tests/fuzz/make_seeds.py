#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpora under corpus/. Run from tests/fuzz/ after
changing an input format; the files it writes are committed. Files named
regress_* are inputs that once failed, kept as they were found."""
import os
import struct


def write(target, name, data):
    d = os.path.join("corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


DECODE = {
    "mov_store32": "8900",                      # mov [rax],eax
    "mov_load64_rip": "488b0578563412",         # mov rax,[rip+d32]
    "mov_gs_percpu": "65488b042528000000",      # mov rax,gs:[0x28]
    "mov_store_ah": "8820",                     # mov [rax],ah
    "mov_imm16": "66c7443408ffff",              # mov word [rsp+rsi+8],-1
    "mov_imm64_sib_d32": "48c78424785634127856341290",
    "movzx_r15d": "440fb638",
    "movsx_rip": "480fbf0578563412",
    "prefixes_15": "2e2e2e2e2e2e2e2e2e2e2e2e2e8b00",
    "lock_rejected": "f08900",
}
for name, hexbytes in DECODE.items():
    write("fuzz_decode", name, bytes.fromhex(hexbytes))

P, RW, PS = 1, 2, 0x80
LA57, LMA, NXE, STRICT = 1, 2, 4, 8


def gwalk_seed(cr3, gva, flags, maxphy, entries, size=256):
    """entries: {gpa: value}; memory wraps modulo `size` unless STRICT."""
    mem = bytearray(size)
    for gpa, val in entries.items():
        struct.pack_into("<Q", mem, gpa % size, val)
    return struct.pack("<QQBB", cr3, gva, flags, maxphy) + bytes(mem)


def idx(gva, level):
    return (gva >> (12 + 9 * (level - 1))) & 511


def chain(gva, levels, leaf_level, leaf_addr, tables):
    """Tables at the given addresses, one per level from the root down."""
    entries = {}
    for i, level in enumerate(range(levels, leaf_level - 1, -1)):
        slot = tables[i] + 8 * idx(gva, level)
        if level == leaf_level:
            entries[slot] = leaf_addr | P | RW | (PS if level > 1 else 0)
        else:
            entries[slot] = tables[i + 1] | P | RW
    return entries


def gva(indices, offset, levels=4):
    """Builds an address from its table indices, root first, sign-extended.
    The image is 256 bytes and tables are 4 KiB aligned, so an entry lands
    at 8 * index modulo 256: indices distinct modulo 32 keep entries apart."""
    va = offset
    for i, index in enumerate(indices):
        va |= index << (12 + 9 * (levels - 1 - i))
    bits = 12 + 9 * levels
    if va >> (bits - 1):
        va |= (1 << 64) - (1 << bits)
    return va


T = [0x1000, 0x2000, 0x3000, 0x4000, 0x5000]
G4K = gva([1, 2, 3, 4], 0x008)
write("fuzz_gwalk", "4level_4k", gwalk_seed(0x1000, G4K, LMA | NXE, 0,
                                           chain(G4K, 4, 1, 0x7000, T)))
G2M = gva([511, 510, 5], 0x12345)  # kernel half
write("fuzz_gwalk", "4level_2m", gwalk_seed(0x1000 | 0x5, G2M, LMA | NXE, 46,
                                           chain(G2M, 4, 2, 0x40000000, T)))
G1G = gva([255, 6], 0x10)
write("fuzz_gwalk", "4level_1g", gwalk_seed(0x1000, G1G, LMA, 0,
                                           chain(G1G, 4, 3, 0x80000000, T)))
G57 = gva([7, 8, 9, 10, 11], 0x432, levels=5)
write("fuzz_gwalk", "5level_4k", gwalk_seed(0x1000, G57, LA57 | LMA | NXE, 52,
                                           chain(G57, 5, 1, 0x12345000, T)))
# Strict mode: every table is the page at 0, the walk uses slots 0..3.
GS = gva([0, 1, 2, 3], 0x567)
write("fuzz_gwalk", "strict_4k", gwalk_seed(0, GS, LMA | STRICT, 0,
                                            {0: P, 8: P, 16: P, 24: 0x9000 | P}, size=32))
# Strict mode, the PDPT beyond the image: a failing read.
write("fuzz_gwalk", "strict_missing", gwalk_seed(0, 0x1000, LMA | STRICT, 0,
                                                 {0: 0x100000 | P}, size=64))
