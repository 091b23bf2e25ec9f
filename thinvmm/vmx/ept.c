/* SPDX-License-Identifier: MIT */
/*
 * EPT entries: R/W/X in bits 2:0, and at the leaves the memory type in
 * bits 5:3. Unlike NPT, EPT replaces the MTRRs, so each leaf carries the
 * type the MTRRs give its range (core/mtrr.c); the guest's PAT still
 * combines with it as it would with the MTRRs (bit 6, ignore-PAT, clear).
 */
#include "core/pgtable.h"
#include "core/vmm.h"

#define EPT_R	  (1ull << 0)
#define EPT_W	  (1ull << 1)
#define EPT_X	  (1ull << 2)
#define EPT_LARGE (1ull << 7)

static uint64_t ept_table(uint64_t pa)
{
	return pa | EPT_R | EPT_W | EPT_X;
}

static uint64_t ept_leaf(uint64_t pa, unsigned perm, unsigned level, enum pt_memtype mt)
{
	uint64_t e = pa | ((uint64_t)mt << 3);
	if (perm & ACC_R)
		e |= EPT_R;
	if (perm & ACC_W)
		e |= EPT_W;
	if (perm & ACC_X)
		e |= EPT_X;
	if (level > 1)
		e |= EPT_LARGE;
	return e;
}

static bool ept_present(uint64_t e)
{
	return e & (EPT_R | EPT_W | EPT_X);
}

static bool ept_is_leaf(uint64_t e, unsigned level)
{
	return level == 1 || (e & EPT_LARGE);
}

static unsigned ept_perm(uint64_t e)
{
	return ((e & EPT_R) ? ACC_R : 0) | ((e & EPT_W) ? ACC_W : 0) | ((e & EPT_X) ? ACC_X : 0);
}

static enum pt_memtype ept_memtype(uint64_t e, unsigned level)
{
	(void)level;
	return (enum pt_memtype)((e >> 3) & 7);
}

const struct pt_format ept_format = {
    .table = ept_table,
    .leaf = ept_leaf,
    .present = ept_present,
    .is_leaf = ept_is_leaf,
    .perm = ept_perm,
    .memtype = ept_memtype,
    .addr_mask = 0x000ffffffffff000ull,
};
