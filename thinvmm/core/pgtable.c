/* SPDX-License-Identifier: MIT */
#include "core/pgtable.h"
#include "core/vmm.h"

static unsigned idx(uint64_t va, unsigned level)
{
	return (unsigned)(va >> PT_LEVEL_SHIFT(level)) & 511u;
}

int pt_init(struct pt *pt)
{
	if (pt->levels < 3 || pt->levels > 5) /* 3: a VT-d table for 39-bit addresses */
		return -1;
	if (!pt->alloc_table(&pt->root_pa))
		return -1;
	pt->table_pages = 1;
	pt->splits = 0;
	for (unsigned i = 0; i < 4; i++)
		pt->leaves[i] = 0;
	return 0;
}

/* Replace a large leaf at `level` by a table of 512 leaves one level down. */
static int split(struct pt *pt, uint64_t *entry, unsigned level)
{
	const struct pt_format *f = pt->fmt;
	uint64_t e = *entry, tpa;
	uint64_t *t = pt->alloc_table(&tpa);
	if (!t)
		return -1;
	pt->table_pages++;
	uint64_t base = e & f->addr_mask & ~(PT_LEVEL_SIZE(level) - 1);
	unsigned perm = f->perm(e);
	enum pt_memtype mt = f->memtype(e, level);
	for (unsigned i = 0; i < 512; i++)
		t[i] = f->leaf(base + i * PT_LEVEL_SIZE(level - 1), perm, level - 1, mt);
	pt->leaves[level]--;
	pt->leaves[level - 1] += 512;
	pt->splits++;
	*entry = f->table(tpa);
	return 0;
}

static uint64_t *next_table(struct pt *pt, uint64_t *entry, unsigned level)
{
	const struct pt_format *f = pt->fmt;
	if (!f->present(*entry)) {
		uint64_t tpa;
		if (!pt->alloc_table(&tpa))
			return 0;
		pt->table_pages++;
		*entry = f->table(tpa);
	} else if (f->is_leaf(*entry, level) && split(pt, entry, level)) {
		return 0;
	}
	return pt->table_ptr(*entry & f->addr_mask);
}

/* The leaves under a table that is being dropped; `level` is that of its entries. */
static void uncount(struct pt *pt, uint64_t table_pa, unsigned level)
{
	const struct pt_format *f = pt->fmt;
	const uint64_t *t = pt->table_ptr(table_pa);
	for (unsigned i = 0; i < 512; i++) {
		if (!f->present(t[i]))
			continue;
		if (f->is_leaf(t[i], level))
			pt->leaves[level]--;
		else
			uncount(pt, t[i] & f->addr_mask, level - 1);
	}
}

static void set_leaf(struct pt *pt, uint64_t *entry, unsigned level, uint64_t pa, unsigned perm,
		     enum pt_memtype mt)
{
	const struct pt_format *f = pt->fmt;
	if (f->present(*entry) && f->is_leaf(*entry, level))
		pt->leaves[level]--;
	else if (f->present(*entry))
		uncount(pt, *entry & f->addr_mask, level - 1);
	/* A table replaced by a leaf is leaked on purpose: the VMM never frees. */
	*entry = perm ? f->leaf(pa, perm, level, mt) : 0;
	if (perm)
		pt->leaves[level]++;
}

static int map_one(struct pt *pt, uint64_t va, uint64_t pa, unsigned level, unsigned perm,
		   enum pt_memtype mt)
{
	uint64_t *t = pt->table_ptr(pt->root_pa);
	for (unsigned l = pt->levels; l > level; l--) {
		t = next_table(pt, &t[idx(va, l)], l);
		if (!t)
			return -1;
	}
	set_leaf(pt, &t[idx(va, level)], level, pa, perm, mt);
	return 0;
}

static unsigned best_level(uint64_t va, uint64_t pa, uint64_t left, unsigned max_level)
{
	for (unsigned l = max_level; l > 1; l--) {
		uint64_t sz = PT_LEVEL_SIZE(l);
		if (!((va | pa) & (sz - 1)) && left >= sz)
			return l;
	}
	return 1;
}

/* [va, va+size) lies in one canonical half of what `levels` levels translate. */
static bool va_reachable(const struct pt *pt, uint64_t va, uint64_t size)
{
	unsigned bits = 12 + 9 * pt->levels;
	uint64_t hi = va + size - 1;
	if (hi < va)
		return false;
	int64_t slo = (int64_t)(va << (64 - bits)) >> (64 - bits);
	int64_t shi = (int64_t)(hi << (64 - bits)) >> (64 - bits);
	return (uint64_t)slo == va && (uint64_t)shi == hi && !((va ^ hi) >> (bits - 1));
}

int pt_map(struct pt *pt, uint64_t va, uint64_t pa, uint64_t size, unsigned perm,
	   enum pt_memtype mt, unsigned max_level)
{
	if ((va | pa | size) & (PAGE_SIZE - 1) || max_level < 1 || max_level > 3)
		return -1;
	if (size && !va_reachable(pt, va, size))
		return -1;
	if (pa + size < pa || pa + size > (pt->fmt->addr_mask | (PAGE_SIZE - 1)) + 1)
		return -1;
	while (size) {
		unsigned l = best_level(va, pa, size, max_level);
		if (map_one(pt, va, pa, l, perm, mt))
			return -1;
		va += PT_LEVEL_SIZE(l);
		pa += PT_LEVEL_SIZE(l);
		size -= PT_LEVEL_SIZE(l);
	}
	return 0;
}

int pt_map_identity_typed(struct pt *pt, uint64_t limit, unsigned perm, unsigned max_level,
			  int (*type_of)(const void *ctx, uint64_t pa, uint64_t size),
			  const void *ctx)
{
	if ((limit & (PAGE_SIZE - 1)) || max_level < 1 || max_level > 3)
		return -1;
	for (uint64_t pa = 0; pa < limit;) {
		unsigned l = best_level(pa, pa, limit - pa, max_level);
		int t;
		/* Smaller pages until the range has one type; a 4 KiB page always has. */
		while ((t = type_of(ctx, pa, PT_LEVEL_SIZE(l))) < 0 && l > 1)
			l--;
		if (t < 0 || map_one(pt, pa, pa, l, perm, (enum pt_memtype)t))
			return -1;
		pa += PT_LEVEL_SIZE(l);
	}
	return 0;
}

int pt_set_perm(struct pt *pt, uint64_t va, uint64_t size, unsigned perm)
{
	if ((va | size) & (PAGE_SIZE - 1) || !perm || va + size < va)
		return -1;
	for (uint64_t end = va + size; va < end;) {
		uint64_t pa;
		unsigned old, level;
		enum pt_memtype mt;
		if (pt_lookup(pt, va, &pa, &old, &level, &mt))
			return -1;
		/* The rest of this leaf, or of the range if it ends first. */
		uint64_t n = PT_LEVEL_SIZE(level) - (va & (PT_LEVEL_SIZE(level) - 1));
		if (n > end - va)
			n = end - va;
		if (old != perm && pt_map(pt, va, pa, n, perm, mt, level))
			return -1;
		va += n;
	}
	return 0;
}

int pt_lookup(const struct pt *pt, uint64_t va, uint64_t *pa, unsigned *perm, unsigned *level,
	      enum pt_memtype *mt)
{
	const struct pt_format *f = pt->fmt;
	uint64_t *t = pt->table_ptr(pt->root_pa);
	for (unsigned l = pt->levels; l >= 1; l--) {
		uint64_t e = t[idx(va, l)];
		if (!f->present(e))
			return -1;
		if (l == 1 || f->is_leaf(e, l)) {
			uint64_t sz = PT_LEVEL_SIZE(l);
			*pa = (e & f->addr_mask & ~(sz - 1)) | (va & (sz - 1));
			*perm = f->perm(e);
			*level = l;
			*mt = f->memtype(e, l);
			return 0;
		}
		t = pt->table_ptr(e & f->addr_mask);
	}
	return -1;
}

/* x86-64 paging entries: P, RW, (US for NPT), PS, NX; PCD|PWT select UC. */
#define X86_P	(1ull << 0)
#define X86_RW	(1ull << 1)
#define X86_US	(1ull << 2)
#define X86_PWT (1ull << 3)
#define X86_PCD (1ull << 4)
#define X86_PS	(1ull << 7)
#define X86_NX	(1ull << 63)

/*
 * Host tables are supervisor-only (the host runs with the guest's SMEP and
 * SMAP); NPT wants U=1 everywhere. Permissions are decided at the leaves.
 */
uint64_t x86_pte_table(uint64_t pa, bool user)
{
	return pa | X86_P | X86_RW | (user ? X86_US : 0);
}

uint64_t x86_pte_leaf(uint64_t pa, unsigned perm, unsigned level, enum pt_memtype mt, bool user)
{
	uint64_t e = pa | X86_P | (user ? X86_US : 0);
	if (perm & ACC_W)
		e |= X86_RW;
	if (!(perm & ACC_X))
		e |= X86_NX;
	if (level > 1)
		e |= X86_PS;
	if (mt != PT_MT_WB) /* the host and NPT only ask for WB; anything else is UC */
		e |= X86_PCD | X86_PWT;
	return e;
}

static uint64_t host_table(uint64_t pa)
{
	return x86_pte_table(pa, false);
}

static uint64_t host_leaf(uint64_t pa, unsigned perm, unsigned level, enum pt_memtype mt)
{
	return x86_pte_leaf(pa, perm, level, mt, false);
}

bool x86_present(uint64_t e)
{
	return e & X86_P;
}

bool x86_is_leaf(uint64_t e, unsigned level)
{
	return level == 1 || (e & X86_PS);
}

unsigned x86_perm(uint64_t e)
{
	return ACC_R | ((e & X86_RW) ? ACC_W : 0) | ((e & X86_NX) ? 0 : ACC_X);
}

enum pt_memtype x86_memtype(uint64_t e, unsigned level)
{
	(void)level;
	return (e & X86_PCD) ? PT_MT_UC : PT_MT_WB;
}

const struct pt_format pt_format_x86 = {
    .table = host_table,
    .leaf = host_leaf,
    .present = x86_present,
    .is_leaf = x86_is_leaf,
    .perm = x86_perm,
    .memtype = x86_memtype,
    .addr_mask = 0x000ffffffffff000ull,
};
