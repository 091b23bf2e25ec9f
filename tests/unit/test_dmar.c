/* SPDX-License-Identifier: MIT */
/*
 * The DMAR parser (iommu/dmar.c) over tables built here and one QEMU 7.2
 * produced: q35 `-device intel-iommu` shapes, several units with RMRRs, then one test per
 * refusal, each starting from a valid table and breaking one thing, so a
 * refusal is known to come from that thing. Every parse goes through a heap
 * copy of exactly the bytes given, so ASan catches a read one byte past.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommu/dmar.h"
#include "test.h"

#define QEMU_IOMMU_BASE 0xfed90000ull

struct tb {
	uint8_t b[DMAR_MAX_LEN + 64];
	uint32_t len;
};

/* Little-endian v in n bytes; bytes beyond the eighth are zero (padding). */
static void put(struct tb *t, uint32_t off, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		t->b[off + i] = i < 8 ? (uint8_t)(v >> (8 * i)) : 0;
}

static uint32_t add(struct tb *t, uint64_t v, unsigned n)
{
	uint32_t off = t->len;

	put(t, off, v, n);
	t->len += n;
	return off;
}

/* The 48 bytes before the structures, with QEMU's identification fields. */
static void tb_init(struct tb *t, unsigned haw, uint8_t flags)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->b, "DMAR", 4);
	t->b[8] = 1; /* revision */
	memcpy(t->b + 10, "BOCHS ", 6);
	memcpy(t->b + 16, "BXPC    ", 8);
	put(t, 24, 1, 4);
	memcpy(t->b + 28, "BXPC", 4);
	put(t, 32, 1, 4);
	t->b[36] = (uint8_t)(haw - 1);
	t->b[37] = flags;
	t->len = 48;
}

/* A structure header; returns its offset, for tb_end to patch the length. */
static uint32_t tb_begin(struct tb *t, uint16_t type)
{
	uint32_t off = add(t, type, 2);

	add(t, 0, 2);
	return off;
}

static void tb_end(struct tb *t, uint32_t off)
{
	put(t, off + 2, t->len - off, 2);
}

/* A device scope of `len` bytes (6 plus two per path entry). */
static void tb_scope(struct tb *t, uint8_t type, uint8_t len)
{
	uint32_t off = t->len;

	add(t, type, 1);
	add(t, len, 1);
	t->len = off + len;
}

static uint32_t tb_drhd_open(struct tb *t, uint8_t flags, uint8_t size, uint16_t seg, uint64_t base)
{
	uint32_t off = tb_begin(t, 0);

	add(t, flags, 1);
	add(t, size, 1);
	add(t, seg, 2);
	add(t, base, 8);
	return off;
}

static void tb_drhd(struct tb *t, uint8_t flags, uint8_t size, uint16_t seg, uint64_t base)
{
	uint32_t off = tb_drhd_open(t, flags, size, seg, base);

	tb_scope(t, 3, 8); /* the I/O APIC, as QEMU lists it */
	tb_end(t, off);
}

static void tb_rmrr(struct tb *t, uint16_t seg, uint64_t base, uint64_t limit)
{
	uint32_t off = tb_begin(t, 1);

	add(t, 0, 2);
	add(t, seg, 2);
	add(t, base, 8);
	add(t, limit, 8);
	tb_scope(t, 1, 8); /* an endpoint, e.g. a USB controller */
	tb_end(t, off);
}

/* Length and checksum over everything added. */
static void tb_seal(struct tb *t)
{
	uint8_t sum = 0;

	put(t, 4, t->len, 4);
	t->b[9] = 0;
	for (uint32_t i = 0; i < t->len; i++)
		sum = (uint8_t)(sum + t->b[i]);
	t->b[9] = (uint8_t)-sum;
}

static int parse_n(const struct tb *t, uint32_t n, struct dmar_info *info, const char **why)
{
	uint8_t *copy = malloc(n ? n : 1);
	int ret;

	memcpy(copy, t->b, n);
	*why = NULL;
	ret = dmar_parse(copy, n, info, why);
	free(copy);
	return ret;
}

static int parse(const struct tb *t, struct dmar_info *info, const char **why)
{
	return parse_n(t, t->len, info, why);
}

/* Refused, for this reason, with nothing left in *info. */
#define CHECK_REFUSED(t, reason)                                                                   \
	do {                                                                                       \
		struct dmar_info info_;                                                            \
		const char *why_;                                                                  \
		static const struct dmar_info zero_;                                               \
		memset(&info_, 0xa5, sizeof(info_));                                               \
		CHECK_EQ(parse(t, &info_, &why_), -1);                                             \
		CHECK_STREQ(why_, reason);                                                         \
		CHECK(memcmp(&info_, &zero_, sizeof(info_)) == 0);                                 \
	} while (0)

/* Older QEMU's q35 DMAR: one INCLUDE_PCI_ALL unit listing only the I/O APIC. */
static void qemu_q35(struct tb *t)
{
	tb_init(t, 39, 0x3); /* intremap=on, eim off: INTR_REMAP | X2APIC_OPT_OUT */
	tb_drhd(t, 1, 0, 0, QEMU_IOMMU_BASE);
	tb_seal(t);
}

static struct tb t; /* 64 KiB: not on the stack */

TEST(dmar_qemu_q35)
{
	struct dmar_info info;
	const char *why;

	qemu_q35(&t);
	CHECK_EQ(t.len, 72);
	if (!CHECK_EQ(parse(&t, &info, &why), 0)) {
		fprintf(stderr, "  why: %s\n", why);
		return;
	}
	CHECK_EQ(info.haw, 39);
	CHECK_EQ(info.flags, DMAR_F_INTR_REMAP | DMAR_F_X2APIC_OPT_OUT);
	CHECK_EQ(info.nunits, 1);
	CHECK_EQ(info.unit[0].base, QEMU_IOMMU_BASE);
	CHECK_EQ(info.unit[0].segment, 0);
	CHECK_EQ(info.unit[0].include_all, 1);
	CHECK_EQ(info.unit[0].pages, 1);
	CHECK_EQ(info.nrmrr, 0);
}

/*
 * Byte for byte what QEMU 7.2 gives a q35 guest with -device intel-iommu,intremap=on
 * (read from /sys/firmware/acpi/tables/DMAR): the unit lists the I/O APIC and each
 * device on bus 0 (00:00.0, 00:01.0, 00:02.0, 00:1f.0, 00:1f.2, 00:1f.3) instead of
 * setting INCLUDE_PCI_ALL, as the older shape above does.
 */
static const uint8_t qemu72_q35[] = {
    0x44, 0x4d, 0x41, 0x52, 0x78, 0x00, 0x00, 0x00, 0x01, 0x0d, 0x42, 0x4f, 0x43, 0x48, 0x53,
    0x20, 0x42, 0x58, 0x50, 0x43, 0x20, 0x20, 0x20, 0x20, 0x01, 0x00, 0x00, 0x00, 0x42, 0x58,
    0x50, 0x43, 0x01, 0x00, 0x00, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd9, 0xfe,
    0x00, 0x00, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x01, 0x08, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x08,
    0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x1f, 0x00, 0x01,
    0x08, 0x00, 0x00, 0x00, 0x00, 0x1f, 0x02, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x1f, 0x03,
};

TEST(dmar_qemu72_captured)
{
	struct dmar_info info;
	const char *why;

	memset(&t, 0, sizeof(t));
	memcpy(t.b, qemu72_q35, sizeof(qemu72_q35));
	t.len = sizeof(qemu72_q35);
	if (!CHECK_EQ(parse(&t, &info, &why), 0)) {
		fprintf(stderr, "  why: %s\n", why);
		return;
	}
	CHECK_EQ(info.haw, 39);
	CHECK_EQ(info.flags, DMAR_F_INTR_REMAP);
	CHECK_EQ(info.nunits, 1);
	CHECK_EQ(info.unit[0].base, QEMU_IOMMU_BASE);
	CHECK_EQ(info.unit[0].segment, 0);
	CHECK_EQ(info.unit[0].include_all, 0);
	CHECK_EQ(info.unit[0].pages, 1);
	CHECK_EQ(info.nrmrr, 0);

	/* The last scope's length one too long: it would reach past the table. */
	t.b[t.len - 7] = 9;
	t.b[9]--;
	CHECK_REFUSED(&t, "device scope overflows its structure");
}

/* With device-iotlb=on QEMU adds an ATSR (type 2), which is skipped. */
TEST(dmar_qemu_q35_atsr)
{
	struct dmar_info info;
	const char *why;
	uint32_t off;

	tb_init(&t, 39, 0x1);
	tb_drhd(&t, 1, 0, 0, QEMU_IOMMU_BASE);
	off = tb_begin(&t, 2);
	add(&t, 1, 1); /* ALL_PORTS */
	add(&t, 0, 1);
	add(&t, 0, 2);
	tb_end(&t, off);
	tb_seal(&t);
	CHECK_EQ(t.len, 80);
	CHECK_EQ(parse(&t, &info, &why), 0);
	CHECK_EQ(info.nunits, 1);
	CHECK_EQ(info.flags, DMAR_F_INTR_REMAP);
}

TEST(dmar_two_units_rmrr)
{
	struct dmar_info info;
	const char *why;

	tb_init(&t, 46, 0x5);
	/* The integrated-graphics unit first, the catch-all last, as firmware orders them. */
	tb_drhd(&t, 0, 0, 0, 0xfed90000);
	tb_drhd(&t, 1, 1, 0, 0xfed91000);
	tb_rmrr(&t, 0, 0x7a000000, 0x7bffffff);
	tb_rmrr(&t, 0, 0xe000, 0xefff);
	tb_seal(&t);
	if (!CHECK_EQ(parse(&t, &info, &why), 0)) {
		fprintf(stderr, "  why: %s\n", why);
		return;
	}
	CHECK_EQ(info.haw, 46);
	CHECK_EQ(info.flags, 0x5);
	CHECK_EQ(info.nunits, 2);
	CHECK_EQ(info.unit[0].base, 0xfed90000);
	CHECK_EQ(info.unit[0].include_all, 0);
	CHECK_EQ(info.unit[0].pages, 1);
	CHECK_EQ(info.unit[1].base, 0xfed91000);
	CHECK_EQ(info.unit[1].include_all, 1);
	CHECK_EQ(info.unit[1].pages, 2);
	CHECK_EQ(info.nrmrr, 2);
}

TEST(dmar_segments_sizes_limits)
{
	struct dmar_info info;
	const char *why;
	uint32_t off;

	tb_init(&t, 64, 0);
	tb_drhd(&t, 0xfe, 0xf7, 3, 0x1000); /* reserved bits set in both bytes */
	/* No device scopes at all, and the highest page with room for 2^7 pages. */
	off = tb_drhd_open(&t, 1, 7, 0xffff, UINT64_MAX - (128ull << 12) + 1 - 0x1000);
	tb_end(&t, off);
	/* A one-page RMRR, and one ending at the top of the address space. */
	tb_rmrr(&t, 3, 0x5000, 0x5fff);
	tb_rmrr(&t, 3, 0xfffffffffffff000ull, UINT64_MAX);
	tb_seal(&t);
	if (!CHECK_EQ(parse(&t, &info, &why), 0)) {
		fprintf(stderr, "  why: %s\n", why);
		return;
	}
	CHECK_EQ(info.haw, 64);
	CHECK_EQ(info.nunits, 2);
	CHECK_EQ(info.unit[0].segment, 3);
	CHECK_EQ(info.unit[0].include_all, 0);
	CHECK_EQ(info.unit[0].pages, 128);
	CHECK_EQ(info.unit[1].segment, 0xffff);
	CHECK_EQ(info.unit[1].include_all, 1);
	CHECK_EQ(info.unit[1].pages, 128);
	CHECK_EQ(info.nrmrr, 2);
}

TEST(dmar_unknown_types_skipped)
{
	struct dmar_info info;
	const char *why;
	uint32_t off;

	tb_init(&t, 39, 0);
	/* RHSA, ANDD (odd length), SATC, SIDP, a future type, one of 0xffff: lengths only. */
	off = tb_begin(&t, 3);
	add(&t, 0, 4);
	add(&t, QEMU_IOMMU_BASE, 8);
	add(&t, 0, 4);
	tb_end(&t, off);
	off = tb_begin(&t, 4);
	add(&t, 0x11223344, 4);
	add(&t, 0x55, 1);
	tb_end(&t, off);
	tb_drhd(&t, 1, 0, 0, QEMU_IOMMU_BASE);
	off = tb_begin(&t, 5);
	tb_end(&t, off);
	off = tb_begin(&t, 6);
	add(&t, 0, 2); /* a "scope" of length 0 inside: not looked at */
	tb_end(&t, off);
	off = tb_begin(&t, 0x1234);
	add(&t, 0, 60);
	tb_end(&t, off);
	off = tb_begin(&t, 0xffff);
	tb_end(&t, off);
	tb_seal(&t);
	if (!CHECK_EQ(parse(&t, &info, &why), 0)) {
		fprintf(stderr, "  why: %s\n", why);
		return;
	}
	CHECK_EQ(info.nunits, 1);
	CHECK_EQ(info.unit[0].base, QEMU_IOMMU_BASE);
	CHECK_EQ(info.nrmrr, 0);
}

/* The buffer may be longer than the table: only `length` bytes count. */
TEST(dmar_buffer_longer_than_table)
{
	struct dmar_info info;
	const char *why;

	qemu_q35(&t);
	memset(t.b + t.len, 0xff, 16);
	CHECK_EQ(parse_n(&t, t.len + 16, &info, &why), 0);
	CHECK_EQ(info.nunits, 1);
}

TEST(dmar_max_units)
{
	struct dmar_info info;
	const char *why;

	tb_init(&t, 39, 0);
	for (unsigned i = 0; i < DMAR_MAX_UNITS; i++)
		tb_drhd(&t, i == DMAR_MAX_UNITS - 1, 0, 0, 0xfed00000 + 0x1000ull * i);
	tb_seal(&t);
	if (!CHECK_EQ(parse(&t, &info, &why), 0)) {
		fprintf(stderr, "  why: %s\n", why);
		return;
	}
	CHECK_EQ(info.nunits, DMAR_MAX_UNITS);
	CHECK_EQ(info.unit[DMAR_MAX_UNITS - 1].base, 0xfed00000 + 0x1000ull * (DMAR_MAX_UNITS - 1));
	CHECK_EQ(info.unit[DMAR_MAX_UNITS - 1].include_all, 1);

	tb_drhd(&t, 0, 0, 0, 0xfee00000);
	tb_seal(&t);
	CHECK_REFUSED(&t, "too many DRHD units");
}

/* The largest table accepted is DMAR_MAX_LEN bytes; one more is refused. */
TEST(dmar_max_len)
{
	struct dmar_info info;
	const char *why;
	uint32_t off;

	tb_init(&t, 39, 0);
	tb_drhd(&t, 1, 0, 0, QEMU_IOMMU_BASE);
	/* One unknown structure fills the rest: a u16 length reaches that far. */
	off = tb_begin(&t, 0x80);
	t.len = DMAR_MAX_LEN;
	tb_end(&t, off);
	tb_seal(&t);
	CHECK_EQ(parse(&t, &info, &why), 0);

	t.len = off;
	off = tb_begin(&t, 0x80);
	t.len = DMAR_MAX_LEN + 1;
	tb_end(&t, off);
	tb_seal(&t);
	CHECK_REFUSED(&t, "table too large");
}

TEST(dmar_refuse_header)
{
	struct dmar_info info;
	const char *why;

	qemu_q35(&t);
	t.b[0] = 'd';
	CHECK_REFUSED(&t, "bad signature");

	qemu_q35(&t);
	memcpy(t.b, "RSDT", 4);
	CHECK_REFUSED(&t, "bad signature");

	/* Fewer bytes than the DMAR header, down to none. */
	qemu_q35(&t);
	for (uint32_t n = 0; n < 48; n++) {
		CHECK_EQ(parse_n(&t, n, &info, &why), -1);
		CHECK_STREQ(why, "shorter than the DMAR header");
	}
	CHECK_EQ(dmar_parse(NULL, 72, &info, &why), -1);
	CHECK_STREQ(why, "no table");
	why = NULL;
	CHECK_EQ(dmar_parse(t.b, t.len, NULL, &why), -1);
	CHECK_STREQ(why, "no output");
	CHECK_EQ(dmar_parse(t.b, t.len, &info, NULL), 0);

	/* The buffer ends before the length the table claims. */
	qemu_q35(&t);
	CHECK_EQ(parse_n(&t, t.len - 1, &info, &why), -1);
	CHECK_STREQ(why, "length field beyond the buffer");
	CHECK_EQ(parse_n(&t, 48, &info, &why), -1);
	CHECK_STREQ(why, "length field beyond the buffer");

	/* A length field below 48, or one whose high bytes are set. */
	tb_init(&t, 39, 0);
	tb_seal(&t);
	put(&t, 4, 47, 4);
	CHECK_REFUSED(&t, "length field below the DMAR header");
	put(&t, 4, 0, 4);
	CHECK_REFUSED(&t, "length field below the DMAR header");
	qemu_q35(&t);
	put(&t, 4, 0x01000048, 4);
	CHECK_REFUSED(&t, "length field beyond the buffer");

	qemu_q35(&t);
	t.b[9]++;
	CHECK_REFUSED(&t, "bad checksum");
	qemu_q35(&t);
	t.b[60] ^= 0x10; /* a base bit: still aligned, caught only by the sum */
	CHECK_REFUSED(&t, "bad checksum");
}

TEST(dmar_refuse_haw)
{
	struct dmar_info info;
	const char *why;
	static const unsigned bad[] = {1, 2, 31, 65, 66, 200, 256};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tb_init(&t, bad[i], 0);
		tb_drhd(&t, 1, 0, 0, QEMU_IOMMU_BASE);
		tb_seal(&t);
		CHECK_REFUSED(&t, "host address width out of range");
	}
	for (unsigned haw = 32; haw <= 64; haw++) {
		tb_init(&t, haw, 0);
		tb_drhd(&t, 1, 0, 0, QEMU_IOMMU_BASE);
		tb_seal(&t);
		CHECK_EQ(parse(&t, &info, &why), 0);
		CHECK_EQ(info.haw, haw);
	}
}

TEST(dmar_refuse_structure_length)
{
	uint32_t off;

	for (unsigned slen = 0; slen < 4; slen++) {
		tb_init(&t, 39, 0);
		tb_drhd(&t, 1, 0, 0, QEMU_IOMMU_BASE);
		off = tb_begin(&t, 0x80);
		add(&t, 0, 4);
		put(&t, off + 2, slen, 2);
		tb_seal(&t);
		CHECK_REFUSED(&t, "structure length below 4");
	}

	/* One byte past the table's end, and as far past as a u16 reaches. */
	tb_init(&t, 39, 0);
	tb_drhd(&t, 1, 0, 0, QEMU_IOMMU_BASE);
	off = tb_begin(&t, 0x80);
	add(&t, 0, 4);
	put(&t, off + 2, 9, 2);
	tb_seal(&t);
	CHECK_REFUSED(&t, "structure overflows the table");
	put(&t, off + 2, 0xffff, 2);
	tb_seal(&t);
	CHECK_REFUSED(&t, "structure overflows the table");

	/* A DRHD whose length runs past the table. */
	qemu_q35(&t);
	put(&t, 50, 25, 2);
	tb_seal(&t);
	CHECK_REFUSED(&t, "structure overflows the table");

	/* 1..3 bytes after the last structure: no room for a header. */
	for (unsigned extra = 1; extra < 4; extra++) {
		qemu_q35(&t);
		add(&t, 0, extra);
		tb_seal(&t);
		CHECK_REFUSED(&t, "truncated structure header");
	}
}

TEST(dmar_refuse_drhd_short)
{
	for (unsigned slen = 4; slen < 16; slen++) {
		tb_init(&t, 39, 0);
		tb_drhd(&t, 1, 0, 0, QEMU_IOMMU_BASE);
		tb_drhd_open(&t, 0, 0, 0, 0xfed91000);
		put(&t, t.len - 14, slen, 2);
		t.len = t.len - 16 + slen;
		tb_seal(&t);
		CHECK_REFUSED(&t, "DRHD too short");
	}
}

TEST(dmar_refuse_device_scope)
{
	uint32_t off;

	/* A scope length below 6, down to 0 (which would never advance). */
	for (unsigned len = 0; len < 6; len++) {
		tb_init(&t, 39, 0);
		off = tb_drhd_open(&t, 1, 0, 0, QEMU_IOMMU_BASE);
		tb_scope(&t, 3, 8);
		add(&t, 3, 1);
		add(&t, len, 1);
		add(&t, 0, 6);
		tb_end(&t, off);
		tb_seal(&t);
		CHECK_REFUSED(&t, "device scope too short");
	}

	/* The I/O APIC scope claims 10 bytes, the DRHD holds 8 of it. */
	qemu_q35(&t);
	t.b[48 + 16 + 1] = 10;
	tb_seal(&t);
	CHECK_REFUSED(&t, "device scope overflows its structure");

	/* The DRHD ends one byte into a second scope. */
	tb_init(&t, 39, 0);
	off = tb_drhd_open(&t, 1, 0, 0, QEMU_IOMMU_BASE);
	tb_scope(&t, 3, 8);
	add(&t, 1, 1);
	tb_end(&t, off);
	tb_seal(&t);
	CHECK_REFUSED(&t, "truncated device scope");

	/* The same faults in an RMRR's scopes. */
	qemu_q35(&t);
	tb_rmrr(&t, 0, 0x1000, 0x1fff);
	t.b[t.len - 7] = 9;
	tb_seal(&t);
	CHECK_REFUSED(&t, "device scope overflows its structure");
	t.b[t.len - 7] = 5;
	tb_seal(&t);
	CHECK_REFUSED(&t, "device scope too short");
}

static void one_unit(uint8_t size, uint64_t base)
{
	tb_init(&t, 39, 0);
	tb_drhd(&t, 1, size, 0, base);
	tb_seal(&t);
}

TEST(dmar_refuse_base)
{
	struct dmar_info info;
	const char *why;

	one_unit(0, 0);
	CHECK_REFUSED(&t, "DRHD register base is zero");
	one_unit(0, QEMU_IOMMU_BASE + 0x800);
	CHECK_REFUSED(&t, "DRHD register base not 4 KiB aligned");
	one_unit(0, 1);
	CHECK_REFUSED(&t, "DRHD register base not 4 KiB aligned");
	one_unit(0, UINT64_MAX);
	CHECK_REFUSED(&t, "DRHD register base not 4 KiB aligned");

	/* Ending exactly at 2^64 counts as wrapping; one page lower fits. */
	one_unit(0, 0xfffffffffffff000ull);
	CHECK_REFUSED(&t, "DRHD register set wraps the address space");
	one_unit(0, 0xffffffffffffe000ull);
	CHECK_EQ(parse(&t, &info, &why), 0);
	one_unit(1, 0xffffffffffffe000ull);
	CHECK_REFUSED(&t, "DRHD register set wraps the address space");
	one_unit(7, 0xffffffffffff0000ull);
	CHECK_REFUSED(&t, "DRHD register set wraps the address space");
	one_unit(7, 0xfffffffffff7f000ull);
	CHECK_EQ(parse(&t, &info, &why), 0);
	CHECK_EQ(info.unit[0].pages, 128);

	/* Size fields beyond what pages holds; the high nibble is reserved, ignored. */
	for (unsigned size = 8; size < 16; size++) {
		one_unit((uint8_t)size, QEMU_IOMMU_BASE);
		CHECK_REFUSED(&t, "DRHD register set too large");
	}
	one_unit(0xf0, QEMU_IOMMU_BASE);
	CHECK_EQ(parse(&t, &info, &why), 0);
	CHECK_EQ(info.unit[0].pages, 1);

	/* A bad second unit spoils the table, not just itself. */
	tb_init(&t, 39, 0);
	tb_drhd(&t, 0, 0, 0, QEMU_IOMMU_BASE);
	tb_drhd(&t, 1, 0, 0, 0);
	tb_seal(&t);
	CHECK_REFUSED(&t, "DRHD register base is zero");
}

TEST(dmar_refuse_no_drhd)
{
	uint32_t off;

	tb_init(&t, 39, 0);
	tb_seal(&t);
	CHECK_REFUSED(&t, "no DRHD unit");

	tb_init(&t, 39, 0);
	tb_rmrr(&t, 0, 0x1000, 0x1fff);
	off = tb_begin(&t, 2);
	add(&t, 0, 4);
	tb_end(&t, off);
	tb_seal(&t);
	CHECK_REFUSED(&t, "no DRHD unit");
}

static void with_rmrr(uint64_t base, uint64_t limit)
{
	qemu_q35(&t);
	tb_rmrr(&t, 0, base, limit);
	tb_seal(&t);
}

TEST(dmar_refuse_rmrr)
{
	with_rmrr(0x1800, 0x1fff);
	CHECK_REFUSED(&t, "RMRR base not 4 KiB aligned");
	with_rmrr(0x1000, 0x1ffe);
	CHECK_REFUSED(&t, "RMRR limit + 1 not 4 KiB aligned");
	with_rmrr(0x1000, 0x2000);
	CHECK_REFUSED(&t, "RMRR limit + 1 not 4 KiB aligned");
	with_rmrr(0x3000, 0x1fff);
	CHECK_REFUSED(&t, "RMRR base above its limit");
	/* base == limit + 1 is an empty range: base above the limit as well. */
	with_rmrr(0x2000, 0x1fff);
	CHECK_REFUSED(&t, "RMRR base above its limit");

	for (unsigned slen = 4; slen < 24; slen++) {
		qemu_q35(&t);
		uint32_t off = tb_begin(&t, 1);
		add(&t, 0, slen - 4);
		tb_end(&t, off);
		tb_seal(&t);
		CHECK_REFUSED(&t, "RMRR too short");
	}
}
