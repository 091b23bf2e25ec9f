/* SPDX-License-Identifier: MIT */
#include "core/mtrr.h"

#define VAR_VALID (1ull << 11)

/* Where the fixed ranges start in fixed[] and how large each entry is. */
static int fixed_type(const struct mtrr_state *m, uint64_t pa)
{
	if (pa < 0x80000)
		return m->fixed[pa >> 16];
	if (pa < 0xc0000)
		return m->fixed[8 + ((pa - 0x80000) >> 14)];
	return m->fixed[24 + ((pa - 0xc0000) >> 12)];
}

/* The first MiB: uniform only if every 4 KiB entry in the range agrees. */
static int fixed_range_type(const struct mtrr_state *m, uint64_t pa, uint64_t size)
{
	int t = fixed_type(m, pa);
	for (uint64_t a = pa; a < pa + size; a += 4096) {
		if (a >= 0x100000)
			return -1; /* straddles the fixed and variable regimes */
		if (fixed_type(m, a) != t)
			return -1;
	}
	return t;
}

/* SDM rules for overlapping variable ranges: UC wins, WT beats WB, else conflict. */
static int combine(int a, int b)
{
	if (a < 0)
		return b;
	if (a == b)
		return a;
	if (a == MT_UC || b == MT_UC)
		return MT_UC;
	if ((a == MT_WT && b == MT_WB) || (a == MT_WB && b == MT_WT))
		return MT_WT;
	return MT_UC; /* undefined by the SDM: take the safe one */
}

int mtrr_range_type(const struct mtrr_state *m, uint64_t pa, uint64_t size)
{
	if (!size || (size & (size - 1)) || (pa & (size - 1)) || (pa & 4095))
		return -1;
	if (!m->enabled)
		return MT_UC;
	if (m->fixed_enabled && pa < 0x100000)
		return fixed_range_type(m, pa, size);
	int t = -1;
	for (unsigned i = 0; i < m->nvar; i++) {
		uint64_t mask = m->var[i].mask;
		if (!(mask & VAR_VALID))
			continue;
		mask &= m->addr_mask;
		/* The range lies wholly outside this block: it does not matter here. */
		uint64_t above = mask & ~(size - 1);
		if ((pa & above) != (m->var[i].base & above))
			continue;
		/* Mask bits inside the block: part of it matches and part not. */
		if (mask & (size - 1))
			return -1;
		t = combine(t, (int)(m->var[i].base & 0xff));
	}
	return t < 0 ? m->def_type : t;
}
