/* SPDX-License-Identifier: MIT */
/*
 * NPT entries are ordinary x86-64 paging entries walked as user accesses,
 * so every level carries U=1. Leaves say write-back: the guest's own PAT
 * and the MTRRs then decide the effective memory type, as without us.
 */
#include "core/pgtable.h"

static uint64_t npt_table(uint64_t pa)
{
	return x86_pte_table(pa, true);
}

static uint64_t npt_leaf(uint64_t pa, unsigned perm, unsigned level, enum pt_memtype mt)
{
	return x86_pte_leaf(pa, perm, level, mt, true);
}

const struct pt_format npt_format = {
    .table = npt_table,
    .leaf = npt_leaf,
    .present = x86_present,
    .is_leaf = x86_is_leaf,
    .perm = x86_perm,
    .memtype = x86_memtype,
    .addr_mask = 0x000ffffffffff000ull,
};
