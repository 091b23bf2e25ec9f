/* SPDX-License-Identifier: MIT */
/*
 * Page-table entries come from guest memory: a malicious guest controls
 * every bit, so each one is checked before it is used as an address, and
 * the walk is bounded by the paging depth rather than by anything it reads.
 */
#include <stdbool.h>

#include "gwalk.h"

#define PTE_P	  (1ull << 0)
#define PTE_PS	  (1ull << 7)
#define PTE_NX	  (1ull << 63)
#define ADDR_MASK 0x000ffffffffff000ull /* bits 51:12; 62:52 are ignored or PKEY */

static uint64_t bits(unsigned hi, unsigned lo)
{
	return ((hi >= 63 ? 0 : 1ull << (hi + 1)) - 1) & ~((1ull << lo) - 1);
}

/* Bits 63:(va_bits-1) must all equal the top implemented bit. */
static bool canonical(uint64_t va, unsigned va_bits)
{
	uint64_t top = va >> (va_bits - 1);

	return top == 0 || top == ~0ull >> (va_bits - 1);
}

/*
 * Real CPUs report 36 to 52. Anything below 32 is a caller's mistake, and
 * honouring it would make large pages translate outside "physical" memory.
 */
static uint64_t phys_reserved(const struct gwalk_ctx *c)
{
	unsigned m = c->maxphyaddr;

	if (m < 32 || m >= 52)
		return 0;
	return bits(51, m);
}

/*
 * SDM vol. 3A, 4.5 (tables 4-15 to 4-20): PS is reserved above the PDPTE,
 * and a large page's address field has bits below its alignment reserved
 * except bit 12, which is its PAT bit.
 */
static uint64_t reserved_bits(const struct gwalk_ctx *c, unsigned level, uint64_t e)
{
	uint64_t rsvd = phys_reserved(c);

	if (!(c->efer & GWALK_EFER_NXE))
		rsvd |= PTE_NX;
	if (level >= 4)
		rsvd |= PTE_PS;
	else if (level == 3 && (e & PTE_PS))
		rsvd |= bits(29, 13);
	else if (level == 2 && (e & PTE_PS))
		rsvd |= bits(20, 13);
	return rsvd;
}

static unsigned level_shift(unsigned level)
{
	return 12 + 9 * (level - 1);
}

static bool read_entry(const struct gwalk_ctx *c, uint64_t table, uint64_t gva, unsigned level,
		       uint64_t *e)
{
	uint64_t index = (gva >> level_shift(level)) & 511;

	if (c->read64(c->opaque, table + index * 8, e) != 0)
		return false;
	return (*e & PTE_P) && !(*e & reserved_bits(c, level, *e));
}

static bool is_leaf(unsigned level, uint64_t e)
{
	/* At level 1, bit 7 is PAT, not PS. */
	return level == 1 || (level <= 3 && (e & PTE_PS));
}

int gwalk_translate(const struct gwalk_ctx *c, uint64_t gva, uint64_t *gpa, uint64_t *page_size)
{
	unsigned levels = (c->cr4 & GWALK_CR4_LA57) ? 5 : 4;
	uint64_t table = c->cr3 & ADDR_MASK;
	uint64_t e, size;

	/* LMA implies CR0.PG and CR4.PAE, so no other control bit matters. */
	if (!(c->efer & GWALK_EFER_LMA) || !canonical(gva, level_shift(levels) + 9))
		return -1;
	for (unsigned level = levels; level >= 1; level--) {
		if (!read_entry(c, table, gva, level, &e))
			return -1;
		if (is_leaf(level, e)) {
			size = 1ull << level_shift(level);
			*gpa = (e & ADDR_MASK & ~(size - 1)) | (gva & (size - 1));
			if (page_size != NULL)
				*page_size = size;
			return 0;
		}
		table = e & ADDR_MASK;
	}
	return -1; /* not reached: level 1 is always a leaf */
}

size_t gwalk_read(const struct gwalk_ctx *c, uint64_t gva, void *buf, size_t len,
		  int (*read_phys)(void *opaque, uint64_t gpa, void *dst, size_t n))
{
	uint8_t *dst = buf;
	size_t done = 0;

	while (done < len) {
		uint64_t va = gva + done, gpa, size, chunk;

		/* Stop rather than wrap past the top of the address space. */
		if (va < gva || gwalk_translate(c, va, &gpa, &size) != 0)
			break;
		chunk = size - (gpa & (size - 1));
		if (chunk > len - done)
			chunk = len - done;
		if (read_phys(c->opaque, gpa, dst + done, (size_t)chunk) != 0)
			break;
		done += (size_t)chunk;
	}
	return done;
}
