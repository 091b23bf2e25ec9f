/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for gwalk_translate and gwalk_read. The guest controls
 * its page tables completely, so the input is the guest's physical memory:
 *
 *   bytes 0..7   CR3 (little-endian)
 *   bytes 8..15  the guest-virtual address to translate
 *   byte  16     bit 0 CR4.LA57, bit 1 EFER.LMA, bit 2 EFER.NXE,
 *                bit 3 "strict": reads past the image fail instead of wrapping
 *   byte  17     MAXPHYADDR
 *   bytes 18..   guest-physical memory from address 0
 *
 * Wrapping addresses modulo the image lets a few hundred bytes hold a
 * whole 5-level walk; strict mode covers the failing-read paths.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gwalk.h"
#include "fuzz.h"

#define HEADER 18

struct image {
	const uint8_t *mem;
	size_t len;
	int strict;
	int reads, max_reads; /* one entry per level per walk */
};

static int mem_byte(const struct image *im, uint64_t gpa, uint8_t *b)
{
	if (im->len == 0 || (im->strict && gpa >= im->len))
		return -1;
	*b = im->mem[gpa % im->len];
	return 0;
}

static int read64(void *opaque, uint64_t gpa, uint64_t *val)
{
	struct image *im = opaque;
	uint64_t v = 0;
	uint8_t b;

	REQUIRE((gpa & 7) == 0);
	REQUIRE(gpa < (1ULL << 52));
	REQUIRE(++im->reads <= im->max_reads);
	for (int i = 0; i < 8; i++) {
		if (mem_byte(im, gpa + (uint64_t)i, &b) != 0)
			return -1;
		v |= (uint64_t)b << (8 * i);
	}
	*val = v;
	return 0;
}

static int read_phys(void *opaque, uint64_t gpa, void *dst, size_t n)
{
	struct image *im = opaque;

	REQUIRE(n > 0 && n <= 64);
	for (size_t i = 0; i < n; i++)
		if (mem_byte(im, gpa + i, (uint8_t *)dst + i) != 0)
			return -1;
	return 0;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void check_result(const struct gwalk_ctx *c, uint64_t gva, uint64_t gpa, uint64_t size)
{
	unsigned va_bits = (c->cr4 & GWALK_CR4_LA57) ? 57 : 48;
	uint64_t top = gva >> (va_bits - 1);

	REQUIRE(c->efer & GWALK_EFER_LMA);
	REQUIRE(top == 0 || top == ~0ULL >> (va_bits - 1));
	REQUIRE(size == GWALK_PAGE_4K || size == GWALK_PAGE_2M || size == GWALK_PAGE_1G);
	REQUIRE((gpa & (size - 1)) == (gva & (size - 1)));
	REQUIRE(gpa < (1ULL << 52));
	if (c->maxphyaddr >= 32 && c->maxphyaddr < 52)
		REQUIRE(gpa < (1ULL << c->maxphyaddr));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image im;
	struct gwalk_ctx c;
	uint64_t gva, gpa, psize, gpa2, psize2;
	uint8_t buf[64];
	size_t len, got;
	int ret;

	if (size < HEADER)
		return 0;
	im = (struct image){data + HEADER, size - HEADER, data[16] & 8, 0, 5};
	c = (struct gwalk_ctx){.cr3 = le64(data),
			       .cr4 = (data[16] & 1) ? GWALK_CR4_LA57 : 0,
			       .efer = ((data[16] & 2) ? GWALK_EFER_LMA : 0) |
				       ((data[16] & 4) ? GWALK_EFER_NXE : 0),
			       .read64 = read64,
			       .opaque = &im,
			       .maxphyaddr = data[17]};
	gva = le64(data + 8);
	ret = gwalk_translate(&c, gva, &gpa, &psize);
	REQUIRE(ret == 0 || ret == -1);
	if (ret == 0)
		check_result(&c, gva, gpa, psize);
	/* CR3's PCID and no-flush bits must not change the answer. */
	c.cr3 ^= 0x8000000000000fffULL;
	im.reads = 0;
	REQUIRE(gwalk_translate(&c, gva, &gpa2, &psize2) == ret);
	if (ret == 0)
		REQUIRE(gpa2 == gpa && psize2 == psize);
	/* Under 64 bytes touch at most two pages: two walks. */
	len = data[17] % sizeof(buf);
	im.reads = 0;
	im.max_reads = 10;
	got = gwalk_read(&c, gva, buf, len, read_phys);
	REQUIRE(got <= len);
	if (got > 0)
		REQUIRE(ret == 0);
	return 0;
}
