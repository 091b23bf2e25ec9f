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


# ACPI DMAR tables (VT-d spec ch. 8) for fuzz_dmar.
def dmar_scope(typ, enum_id, bus, path):
    """Device scope: path is [(device, function), ...]."""
    body = b"".join(bytes([d, f]) for d, f in path)
    return struct.pack("<BBHBB", typ, 6 + len(body), 0, enum_id, bus) + body


def dmar_struct(typ, body):
    return struct.pack("<HH", typ, 4 + len(body)) + body


def drhd(flags, size, seg, base, scopes=()):
    return dmar_struct(0, struct.pack("<BBHQ", flags, size, seg, base) + b"".join(scopes))


def rmrr(seg, base, limit, scopes=()):
    return dmar_struct(1, struct.pack("<HHQQ", 0, seg, base, limit) + b"".join(scopes))


def dmar(haw, flags, structs, oem=b"BOCHS ", table_id=b"BXPC    "):
    body = struct.pack("<BB10x", haw - 1, flags) + b"".join(structs)
    hdr = struct.pack("<4sIBB6s8sI4sI", b"DMAR", 36 + len(body), 1, 0, oem, table_id,
                      1, b"BXPC", 1)
    t = bytearray(hdr + body)
    t[9] = -sum(t) & 0xff
    return bytes(t)


IOAPIC = dmar_scope(3, 0, 0xff, [(0, 0)])   # QEMU's pseudo bus for the I/O APIC
INTR_REMAP, X2APIC_OPT_OUT, DMA_OPT_IN = 1, 2, 4
# QEMU 7.2 q35, read from /sys/firmware/acpi/tables/DMAR in a guest started with
# -M q35,kernel-irqchip=split -device intel-iommu,intremap=on: one unit that does
# NOT set INCLUDE_PCI_ALL but lists the I/O APIC and every device on bus 0.
QEMU72_Q35 = (
    "444d415278000000010d424f43485320" "42585043202020200100000042585043"
    "01000000260100000000000000000000" "00004800000000000000d9fe00000000"
    "0308000000ff00000108000000000000" "01080000000001000108000000000200"
    "0108000000001f000108000000001f02" "0108000000001f03")
write("fuzz_dmar", "qemu72_q35", bytes.fromhex(QEMU72_Q35))
# The same with ...,device-iotlb=on,aw-bits=48: haw 48 and an ATSR (all ports) at the end.
QEMU72_Q35_IOTLB = (
    "444d41528000000001f1424f43485320" "42585043202020200100000042585043"
    "010000002f0100000000000000000000" "00004800000000000000d9fe00000000"
    "0308000000ff00000108000000000000" "01080000000001000108000000000200"
    "0108000000001f000108000000001f02" "0108000000001f030200080001000000")
write("fuzz_dmar", "qemu72_q35_iotlb", bytes.fromhex(QEMU72_Q35_IOTLB))
# Older QEMU's shape: one INCLUDE_PCI_ALL unit with only the I/O APIC listed.
write("fuzz_dmar", "q35_include_all", dmar(39, INTR_REMAP | X2APIC_OPT_OUT,
                                           [drhd(1, 0, 0, 0xfed90000, [IOAPIC])]))
# A laptop: a graphics unit for 00:02.0, the catch-all with I/O APIC and HPET,
# RMRRs for the USB controller and graphics stolen memory.
write("fuzz_dmar", "client_two_units", dmar(39, INTR_REMAP | DMA_OPT_IN, [
    drhd(0, 0, 0, 0xfed90000, [dmar_scope(1, 0, 0, [(2, 0)])]),
    drhd(1, 1, 0, 0xfed91000, [dmar_scope(3, 2, 0, [(0x1e, 7)]),
                               dmar_scope(4, 0, 0, [(0x1e, 6)])]),
    rmrr(0, 0x7c8e3000, 0x7c902fff, [dmar_scope(1, 0, 0, [(0x14, 0)])]),
    rmrr(0, 0x7d800000, 0x7fffffff, [dmar_scope(1, 0, 0, [(2, 0)])])],
    oem=b"INTEL ", table_id=b"KBL     "))
# A two-socket server: units on two segments, a bridge scope with a two-entry
# path, ATSR, RHSA, ANDD, SATC and a type no spec defines yet.
write("fuzz_dmar", "server_segments", dmar(46, INTR_REMAP, [
    drhd(0, 0, 0, 0xfbffc000, [dmar_scope(2, 0, 0x5d, [(0, 0), (1, 0)])]),
    drhd(1, 0, 0, 0xc5ffc000, [dmar_scope(3, 8, 0, [(5, 4)])]),
    drhd(1, 0, 1, 0xe0ffc000),
    rmrr(0, 0x6f000000, 0x6f0fffff, [dmar_scope(1, 0, 0, [(0x14, 0)])]),
    dmar_struct(2, struct.pack("<BBH", 0, 0, 0) + dmar_scope(2, 0, 0x5d, [(0, 0)])),
    dmar_struct(3, struct.pack("<IQ", 0, 0xfbffc000)),
    dmar_struct(4, bytes(3) + bytes([1]) + b"\\_SB.PCI0.XHC\0"),
    dmar_struct(5, struct.pack("<BBH", 1, 0, 0) + dmar_scope(1, 0, 0, [(4, 0)])),
    dmar_struct(0x99, bytes(12))], oem=b"INTEL ", table_id=b"S2600   "))
# The most units accepted, with register sets of 1..128 pages.
write("fuzz_dmar", "max_units", dmar(57, 0, [
    drhd(int(i == 7), i, 0, 0xf0000000 + (i << 20), [IOAPIC] if i == 7 else [])
    for i in range(8)]))
