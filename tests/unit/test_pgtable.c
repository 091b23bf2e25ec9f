/* SPDX-License-Identifier: MIT */
/*
 * The page-table builder over the memory maps the VMM builds: an identity
 * map of [0, phys_limit) with the VMM's 2 MiB chunks carved out. Every
 * 2 MiB is looked up with pt_lookup, and the tables are also walked here
 * by hand, reading the x86 bits directly, so the counters and the entry
 * format are checked by code that shares nothing with the builder.
 * Expected counts are written out for each memory map.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pgtable.h"
#include "core/vmm.h"
#include "fake_pool.h"
#include "test.h"

extern const struct pt_format npt_format; /* svm/npt.c */

#define KiB(x) ((uint64_t)(x) << 10)
#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)

/* x86 entry bits, spelled out again rather than taken from pgtable.c. */
#define E_P    (1ull << 0)
#define E_RW   (1ull << 1)
#define E_US   (1ull << 2)
#define E_PWT  (1ull << 3)
#define E_PCD  (1ull << 4)
#define E_PS   (1ull << 7)
#define E_NX   (1ull << 63)
#define E_ADDR 0x000ffffffffff000ull

/* ---- table pages: a pool at a made-up physical address ---- */

static uint64_t *table_at(uint64_t pa)
{
	return pool_ptr(pa);
}

static void setup(struct pt *pt, const struct pt_format *f, unsigned levels, uint64_t limit)
{
	memset(pt, 0, sizeof(*pt));
	pt->fmt = f;
	pt->levels = levels;
	pt->alloc_table = pool_alloc;
	pt->table_ptr = pool_ptr;
	pool_reset(limit);
	CHECK_EQ(pt_init(pt), 0);
	CHECK_EQ(pt->table_pages, 1);
	CHECK_EQ(pool_used, 1);
}

/* ---- an independent walk over the raw entries ---- */

struct census {
	uint64_t tables;
	uint64_t leaves[4];
	uint64_t bad_user;     /* entries whose U bit is not what the format wants */
	uint64_t bad_ps;       /* PS where it must not be, or missing on a large leaf */
	uint64_t bad_identity; /* leaf address != its virtual address */
	uint64_t bad_align;    /* leaf address not aligned to its size */
};

static void walk(uint64_t table_pa, unsigned level, uint64_t va, bool user, bool identity,
		 struct census *c)
{
	uint64_t *t = table_at(table_pa);

	c->tables++;
	for (unsigned i = 0; i < 512; i++) {
		uint64_t e = t[i], eva = va | ((uint64_t)i << PT_LEVEL_SHIFT(level));
		uint64_t size = PT_LEVEL_SIZE(level), addr = e & E_ADDR;

		if (!(e & E_P))
			continue;
		if (!!(e & E_US) != user)
			c->bad_user++;
		if (level == 1 || (e & E_PS)) {
			if (!CHECK(level <= 3))
				continue;
			c->leaves[level]++;
			/* Bit 12 of a large leaf is PAT, which nothing here sets. */
			if (addr & (size - 1))
				c->bad_align++;
			if (identity && addr != eva)
				c->bad_identity++;
			if ((level == 1) == !!(e & E_PS))
				c->bad_ps++;
		} else {
			walk(addr, level - 1, eva, user, identity, c);
		}
	}
}

static struct census census(const struct pt *pt, bool user, bool identity)
{
	struct census c = {0};

	walk(pt->root_pa, pt->levels, 0, user, identity, &c);
	return c;
}

/* The walk, the pool and the builder's own counters all agree, and with want[]. */
static void check_counts(const struct pt *pt, bool user, uint64_t tables, uint64_t l3, uint64_t l2,
			 uint64_t l1, int line)
{
	struct census c = census(pt, user, true);
	bool ok = true;

	ok &= CHECK_EQ(c.tables, tables);
	ok &= CHECK_EQ(pt->table_pages, tables);
	ok &= CHECK_EQ(pool_used, tables);
	ok &= CHECK_EQ(c.leaves[3], l3);
	ok &= CHECK_EQ(c.leaves[2], l2);
	ok &= CHECK_EQ(c.leaves[1], l1);
	ok &= CHECK_EQ(pt->leaves[3], l3);
	ok &= CHECK_EQ(pt->leaves[2], l2);
	ok &= CHECK_EQ(pt->leaves[1], l1);
	ok &= CHECK_EQ(c.bad_user, 0);
	ok &= CHECK_EQ(c.bad_ps, 0);
	ok &= CHECK_EQ(c.bad_identity, 0);
	ok &= CHECK_EQ(c.bad_align, 0);
	if (!ok)
		fprintf(stderr, "  (line %d)\n", line);
}

#define CHECK_COUNTS(pt, user, tables, l3, l2, l1)                                                 \
	check_counts(pt, user, tables, l3, l2, l1, __LINE__)

/* One lookup: present with this translation, perm, level and type, or absent. */

/* ---- the VMM's memory map: identity minus chunks ---- */

#define PHYS_LIMIT GiB(64)

/*
 * 7 chunks in 6 distinct GiBs: two adjacent ones inside GiB 4, two
 * adjacent across the 3 GiB boundary (one ends there, one starts there),
 * one in the first GiB, one isolated, one at the very top of the map.
 */
static const uint64_t chunks[] = {
    0x0000000000200000ull, 0x00000000bfe00000ull, 0x00000000c0000000ull, 0x0000000100600000ull,
    0x0000000100800000ull, 0x0000000f7a400000ull, 0x0000000fffe00000ull,
};
#define NCHUNKS	   (sizeof(chunks) / sizeof(chunks[0]))
#define SPLIT_GIBS 6 /* GiBs 0, 2, 3, 4, 61, 63 */

static bool is_chunk(uint64_t pa)
{
	for (size_t i = 0; i < NCHUNKS; i++)
		if (pa - chunks[i] < MiB(2))
			return true;
	return false;
}

static bool gib_split(uint64_t pa)
{
	for (size_t i = 0; i < NCHUNKS; i++)
		if (chunks[i] >> 30 == pa >> 30)
			return true;
	return false;
}

static void build_vmm_map(struct pt *pt, unsigned max_level, unsigned perm)
{
	CHECK_EQ(pt_map(pt, 0, 0, PHYS_LIMIT, perm, PT_MT_WB, max_level), 0);
	for (size_t i = 0; i < NCHUNKS; i++)
		CHECK_EQ(pt_map(pt, chunks[i], chunks[i], MiB(2), 0, PT_MT_WB, 2), 0);
}

/* Every 2 MiB, and three 4 KiB samples (plus a byte offset) inside each. */
static void sweep_vmm_map(const struct pt *pt, unsigned max_level, unsigned perm)
{
	unsigned bad = 0;

	for (uint64_t va = 0; va < PHYS_LIMIT && bad < 5; va += MiB(2)) {
		uint64_t samples[4] = {va, va + KiB(4) * ((va >> 21) % 511 + 1) + 0x123,
				       va + MiB(2) - KiB(4), va + MiB(2) - 1};
		unsigned level = max_level == 3 && !gib_split(va) ? 3 : 2;

		for (int s = 0; s < 4; s++) {
			bool ok = is_chunk(va) ? expect_absent(pt, samples[s])
					       : expect_map(pt, samples[s], samples[s], perm, level,
							    PT_MT_WB);
			bad += !ok;
		}
	}
	/* Beyond the map: nothing. */
	expect_absent(pt, PHYS_LIMIT);
	expect_absent(pt, PHYS_LIMIT + MiB(2));
	expect_absent(pt, GiB(512) - 1);
	expect_absent(pt, (1ull << 47) - KiB(4));
}

/*
 * levels, max_level -> tables and leaves. 64 GiB fits one PDPT; each GiB
 * with a chunk needs a PD (all 64 without 1 GiB pages); 5-level adds one
 * PML4 under the PML5.
 */
static void vmm_map_case(const struct pt_format *f, bool user, unsigned levels, unsigned max_level)
{
	struct pt pt;
	uint64_t tables, l3, l2;

	if (max_level == 3) {
		tables = 1 + (levels == 5) + 1 + SPLIT_GIBS; /* 8 or 9 */
		l3 = 64 - SPLIT_GIBS;			     /* 58 */
		l2 = SPLIT_GIBS * 512 - NCHUNKS;	     /* 3065 */
	} else {
		tables = 1 + (levels == 5) + 1 + 64; /* 66 or 67 */
		l3 = 0;
		l2 = 64 * 512 - NCHUNKS; /* 32761 */
	}
	setup(&pt, f, levels, POOL_PAGES);
	build_vmm_map(&pt, max_level, ACC_RWX);
	CHECK_COUNTS(&pt, user, tables, l3, l2, 0);
	sweep_vmm_map(&pt, max_level, ACC_RWX);
	/* The chunks are empty entries, not entries with P clear and bits left. */
	for (size_t i = 0; i < NCHUNKS; i++) {
		uint64_t *t = table_at(pt.root_pa);
		for (unsigned l = levels; l > 2; l--)
			t = table_at(t[(chunks[i] >> PT_LEVEL_SHIFT(l)) & 511] & E_ADDR);
		CHECK_EQ(t[(chunks[i] >> 21) & 511], 0);
	}
}

TEST(pgtable_vmm_map_4level)
{
	vmm_map_case(&pt_format_x86, false, 4, 3);
	vmm_map_case(&npt_format, true, 4, 3);
}

TEST(pgtable_vmm_map_5level)
{
	vmm_map_case(&pt_format_x86, false, 5, 3);
	vmm_map_case(&npt_format, true, 5, 3);
}

TEST(pgtable_vmm_map_no_1g_pages)
{
	vmm_map_case(&pt_format_x86, false, 4, 2);
	vmm_map_case(&npt_format, true, 4, 2);
	vmm_map_case(&npt_format, true, 5, 2);
}

/* The host map: read-write, not executable; NX in every leaf. */
TEST(pgtable_vmm_map_host_rw)
{
	struct pt pt;

	setup(&pt, &pt_format_x86, 4, POOL_PAGES);
	build_vmm_map(&pt, 3, ACC_R | ACC_W);
	sweep_vmm_map(&pt, 3, ACC_R | ACC_W);
	CHECK_COUNTS(&pt, false, 8, 64 - SPLIT_GIBS, SPLIT_GIBS * 512 - NCHUNKS, 0);
	uint64_t *pml4 = table_at(pt.root_pa), *pdpt = table_at(pml4[0] & E_ADDR);
	CHECK_EQ(pdpt[1], GiB(1) | E_P | E_RW | E_PS | E_NX);
	CHECK_EQ(pml4[0] & (E_P | E_RW | E_US | E_NX | E_PS), E_P | E_RW);
}

/* A real-sized map: 64 TiB (4-level cap) with 1 GiB pages; a lookup per GiB. */
TEST(pgtable_vmm_map_64tib)
{
	struct pt pt;
	const uint64_t limit = 1ull << 46;

	setup(&pt, &npt_format, 4, POOL_PAGES);
	CHECK_EQ(pt_map(&pt, 0, 0, limit, ACC_RWX, PT_MT_WB, 3), 0);
	for (size_t i = 0; i < NCHUNKS; i++)
		CHECK_EQ(pt_map(&pt, chunks[i], chunks[i], MiB(2), 0, PT_MT_WB, 2), 0);
	/* 128 PDPTs (512 GiB each) + the root + 6 PDs. */
	CHECK_COUNTS(&pt, true, 1 + 128 + SPLIT_GIBS, (limit >> 30) - SPLIT_GIBS,
		     SPLIT_GIBS * 512 - NCHUNKS, 0);
	for (uint64_t va = 0; va < limit; va += GiB(1))
		if (!gib_split(va) &&
		    !expect_map(&pt, va + 0x1234, va + 0x1234, ACC_RWX, 3, PT_MT_WB))
			break;
	expect_map(&pt, limit - 1, limit - 1, ACC_RWX, 3, PT_MT_WB);
	expect_absent(&pt, limit);
}

/* Host entries are supervisor-only, NPT entries user, at every level; nothing else differs. */
TEST(pgtable_npt_user_bit)
{
	struct pt host, npt;
	unsigned n;

	/* Two trees that need a table at every level, built one after the other. */
	setup(&host, &pt_format_x86, 5, POOL_PAGES);
	CHECK_EQ(pt_map(&host, GiB(1), GiB(1), GiB(1), ACC_RWX, PT_MT_WB, 3), 0);
	CHECK_EQ(pt_map(&host, GiB(3) + KiB(8), GiB(3) + KiB(8), KiB(4), ACC_R, PT_MT_UC, 3), 0);
	CHECK_EQ(pt_map(&host, GiB(4), GiB(4), MiB(2), ACC_R | ACC_W, PT_MT_WB, 3), 0);
	n = (unsigned)pool_used;
	if (!CHECK(n <= 8))
		return;
	uint8_t *saved = malloc(n * PAGE_SIZE);
	memcpy(saved, pool, n * PAGE_SIZE);

	setup(&npt, &npt_format, 5, POOL_PAGES);
	CHECK_EQ(pt_map(&npt, GiB(1), GiB(1), GiB(1), ACC_RWX, PT_MT_WB, 3), 0);
	CHECK_EQ(pt_map(&npt, GiB(3) + KiB(8), GiB(3) + KiB(8), KiB(4), ACC_R, PT_MT_UC, 3), 0);
	CHECK_EQ(pt_map(&npt, GiB(4), GiB(4), MiB(2), ACC_R | ACC_W, PT_MT_WB, 3), 0);
	CHECK_EQ(pool_used, n);
	CHECK_EQ(host.root_pa, npt.root_pa); /* same pool order, same addresses */

	uint64_t present = 0;
	for (unsigned p = 0; p < n; p++) {
		const uint64_t *h = (const uint64_t *)(saved + p * PAGE_SIZE);
		const uint64_t *u = (const uint64_t *)(pool + p * PAGE_SIZE);
		for (unsigned i = 0; i < 512; i++) {
			if (!(h[i] & E_P)) {
				CHECK_EQ(u[i], h[i]);
				continue;
			}
			present++;
			if (!CHECK_EQ(h[i] & E_US, 0) || !CHECK_EQ(u[i], h[i] | E_US))
				fprintf(stderr, "  page %u entry %u\n", p, i);
		}
	}
	/* PML5, PML4, PDPT entries (3) + PD 3 GiB + PT + PD 4 GiB: 1+1+3+1+1+1 */
	CHECK_EQ(present, 8);
	free(saved);
	CHECK_COUNTS(&npt, true, 6, 1, 1, 1);
}

/* Permissions and memory types in the entries, and across a split. */
TEST(pgtable_perm_memtype)
{
	struct pt pt;
	static const struct {
		unsigned perm;
		uint64_t bits;
	} perms[] = {
	    {ACC_R, E_NX},
	    {ACC_R | ACC_W, E_RW | E_NX},
	    {ACC_R | ACC_X, 0},
	    {ACC_RWX, E_RW},
	};

	for (unsigned i = 0; i < 4; i++) {
		for (unsigned mt = PT_MT_WB; mt <= PT_MT_UC; mt++) {
			uint64_t base = GiB(1) * (i + 1) + GiB(8) * mt;
			uint64_t mtbits = mt == PT_MT_UC ? E_PCD | E_PWT : 0;

			setup(&pt, &pt_format_x86, 4, POOL_PAGES);
			CHECK_EQ(pt_map(&pt, base, base, GiB(1), perms[i].perm, mt, 3), 0);
			expect_map(&pt, base + 0x3456789, base + 0x3456789, perms[i].perm, 3, mt);
			uint64_t *pdpt = table_at(table_at(pt.root_pa)[0] & E_ADDR);
			CHECK_EQ(pdpt[base >> 30], base | E_P | E_PS | perms[i].bits | mtbits);
			/* Split 1G -> 2M -> 4K by unmapping one 4 KiB page. */
			CHECK_EQ(pt_map(&pt, base + MiB(6) + KiB(12), base + MiB(6) + KiB(12),
					KiB(4), 0, PT_MT_WB, 3),
				 0);
			CHECK_COUNTS(&pt, false, 4, 0, 511, 511);
			expect_absent(&pt, base + MiB(6) + KiB(12));
			expect_map(&pt, base + MiB(6) + KiB(16), base + MiB(6) + KiB(16),
				   perms[i].perm, 1, mt);
			expect_map(&pt, base + MiB(6) + KiB(8) + 5, base + MiB(6) + KiB(8) + 5,
				   perms[i].perm, 1, mt);
			expect_map(&pt, base + MiB(8), base + MiB(8), perms[i].perm, 2, mt);
			expect_map(&pt, base + GiB(1) - 1, base + GiB(1) - 1, perms[i].perm, 2, mt);
			uint64_t *pd = table_at(pdpt[base >> 30] & E_ADDR);
			uint64_t *ptab = table_at(pd[3] & E_ADDR);
			CHECK_EQ(pd[4], (base + MiB(8)) | E_P | E_PS | perms[i].bits | mtbits);
			CHECK_EQ(ptab[4], (base + MiB(6) + KiB(16)) | E_P | perms[i].bits | mtbits);
			/* Table entries: present, writable, supervisor, never NX. */
			CHECK_EQ(pdpt[base >> 30] & ~E_ADDR, E_P | E_RW);
			CHECK_EQ(pd[3] & ~E_ADDR, E_P | E_RW);
		}
	}
}

/* Mixed sizes from alignment: 4 KiB up to 2 MiB, 2 MiB up to 1 GiB, 1 GiB, then down. */
TEST(pgtable_mixed_sizes)
{
	struct pt pt;
	const uint64_t start = KiB(4), end = GiB(2) + MiB(2) + KiB(12);

	setup(&pt, &npt_format, 4, POOL_PAGES);
	CHECK_EQ(pt_map(&pt, start, start, end - start, ACC_RWX, PT_MT_WB, 3), 0);
	/* 4K: 511 below 2M + 3 at the tail; 2M: 511 below 1G + 1; 1G: one. */
	CHECK_COUNTS(&pt, true, 6, 1, 512, 514);
	expect_absent(&pt, 0);
	expect_absent(&pt, KiB(4) - 1);
	expect_map(&pt, KiB(4), KiB(4), ACC_RWX, 1, PT_MT_WB);
	expect_map(&pt, MiB(2) - 1, MiB(2) - 1, ACC_RWX, 1, PT_MT_WB);
	expect_map(&pt, MiB(2), MiB(2), ACC_RWX, 2, PT_MT_WB);
	expect_map(&pt, GiB(1) - 1, GiB(1) - 1, ACC_RWX, 2, PT_MT_WB);
	expect_map(&pt, GiB(1), GiB(1), ACC_RWX, 3, PT_MT_WB);
	expect_map(&pt, GiB(2) + MiB(1), GiB(2) + MiB(1), ACC_RWX, 2, PT_MT_WB);
	expect_map(&pt, end - 1, end - 1, ACC_RWX, 1, PT_MT_WB);
	expect_absent(&pt, end);
	/* max_level 1: 4 KiB leaves only, even where 1 GiB would fit. */
	setup(&pt, &npt_format, 4, POOL_PAGES);
	CHECK_EQ(pt_map(&pt, GiB(1), GiB(1), MiB(4), ACC_RWX, PT_MT_WB, 1), 0);
	CHECK_COUNTS(&pt, true, 5, 0, 0, 1024);
	/* va and pa aligned differently: the smaller alignment wins. */
	setup(&pt, &npt_format, 4, POOL_PAGES);
	CHECK_EQ(pt_map(&pt, GiB(1), GiB(1) + MiB(2), MiB(4), ACC_RWX, PT_MT_WB, 3), 0);
	{
		struct census c = census(&pt, true, false);
		CHECK_EQ(c.leaves[2], 2);
		CHECK_EQ(c.leaves[3], 0);
	}
	expect_map(&pt, GiB(1) + 5, GiB(1) + MiB(2) + 5, ACC_RWX, 2, PT_MT_WB);
	setup(&pt, &npt_format, 4, POOL_PAGES);
	CHECK_EQ(pt_map(&pt, MiB(2), MiB(2) + KiB(4), MiB(2), ACC_RWX, PT_MT_WB, 3), 0);
	CHECK_EQ(pt.leaves[1], 512);
	CHECK_EQ(pt.leaves[2], 0);
	expect_map(&pt, MiB(2) + KiB(4) + 7, MiB(2) + KiB(8) + 7, ACC_RWX, 1, PT_MT_WB);
}

/* 5-level: the top index is used (2^50 is out of reach of 4 levels). */
TEST(pgtable_5level_high)
{
	struct pt pt;
	const uint64_t hi = 1ull << 50;

	setup(&pt, &npt_format, 5, POOL_PAGES);
	CHECK_EQ(pt_map(&pt, hi, hi, GiB(2), ACC_RWX, PT_MT_WB, 3), 0);
	CHECK_EQ(pt_map(&pt, 0, 0, GiB(1), ACC_R, PT_MT_WB, 3), 0);
	CHECK_COUNTS(&pt, true, 5, 3, 0, 0);
	uint64_t *pml5 = table_at(pt.root_pa);
	CHECK(pml5[4] & E_P);
	CHECK(pml5[0] & E_P);
	expect_map(&pt, hi + GiB(1) + 9, hi + GiB(1) + 9, ACC_RWX, 3, PT_MT_WB);
	expect_map(&pt, 9, 9, ACC_R, 3, PT_MT_WB);
	expect_absent(&pt, hi + GiB(2));
	expect_absent(&pt, 1ull << 48);
	/* The top of the 52-bit space. */
	CHECK_EQ(
	    pt_map(&pt, (1ull << 52) - GiB(1), (1ull << 52) - GiB(1), GiB(1), ACC_RWX, PT_MT_WB, 3),
	    0);
	expect_map(&pt, (1ull << 52) - 1, (1ull << 52) - 1, ACC_RWX, 3, PT_MT_WB);
}

/* A chunk unmapped and mapped again, and unmapping what is already absent. */
TEST(pgtable_perm0_then_rwx)
{
	struct pt pt;

	setup(&pt, &npt_format, 4, POOL_PAGES);
	build_vmm_map(&pt, 3, ACC_RWX);
	CHECK_COUNTS(&pt, true, 8, 58, 3065, 0);
	/* Absent again: nothing changes, no table appears. */
	CHECK_EQ(pt_map(&pt, chunks[3], chunks[3], MiB(2), 0, PT_MT_WB, 2), 0);
	CHECK_COUNTS(&pt, true, 8, 58, 3065, 0);
	/* Back, chunk by chunk. */
	for (size_t i = 0; i < NCHUNKS; i++) {
		CHECK_EQ(pt_map(&pt, chunks[i], chunks[i], MiB(2), ACC_RWX, PT_MT_WB, 2), 0);
		expect_map(&pt, chunks[i] + 0x777, chunks[i] + 0x777, ACC_RWX, 2, PT_MT_WB);
		CHECK_COUNTS(&pt, true, 8, 58, 3065 + i + 1, 0);
	}
	/* Unmapping never-mapped space beyond the limit builds tables but no leaves. */
	CHECK_EQ(pt_map(&pt, GiB(100), GiB(100), MiB(2), 0, PT_MT_WB, 2), 0);
	CHECK_COUNTS(&pt, true, 9, 58, 3072, 0);
	expect_absent(&pt, GiB(100));
}

/*
 * A large leaf mapped over a range that had been split: the old table is
 * dropped (leaked on purpose), and the leaves it held are no longer
 * present, so the counters must no longer count them.
 */
TEST(pgtable_remap_large_over_split)
{
	struct pt pt;

	setup(&pt, &npt_format, 4, POOL_PAGES);
	build_vmm_map(&pt, 3, ACC_RWX);
	/* GiB 4 holds two chunks (510 2M leaves); map it whole again. */
	CHECK_EQ(pt_map(&pt, GiB(4), GiB(4), GiB(1), ACC_RWX, PT_MT_WB, 3), 0);
	expect_map(&pt, chunks[3], chunks[3], ACC_RWX, 3, PT_MT_WB);
	expect_map(&pt, GiB(4) + 5, GiB(4) + 5, ACC_RWX, 3, PT_MT_WB);
	struct census c = census(&pt, true, true);
	CHECK_EQ(c.tables, 7); /* the PD of GiB 4 is unreachable now */
	CHECK_EQ(pt.table_pages, 8);
	CHECK_EQ(c.leaves[3], 59);
	CHECK_EQ(c.leaves[2], 3065 - 510);
	CHECK_EQ(pt.leaves[3], c.leaves[3]);
	CHECK_EQ(pt.leaves[2], c.leaves[2]);
	CHECK_EQ(pt.leaves[1], c.leaves[1]);
	/* The same two levels down: a 2M leaf over a table of 4K leaves. */
	CHECK_EQ(pt_map(&pt, GiB(5) + KiB(4), GiB(5) + KiB(4), KiB(4), 0, PT_MT_WB, 3), 0);
	CHECK_EQ(pt_map(&pt, GiB(5), GiB(5), MiB(2), ACC_R, PT_MT_WB, 3), 0);
	expect_map(&pt, GiB(5) + KiB(4), GiB(5) + KiB(4), ACC_R, 2, PT_MT_WB);
	c = census(&pt, true, true);
	CHECK_EQ(c.leaves[1], 0);
	CHECK_EQ(pt.leaves[3], c.leaves[3]);
	CHECK_EQ(pt.leaves[2], c.leaves[2]);
	CHECK_EQ(pt.leaves[1], c.leaves[1]);
}

TEST(pgtable_map_rejects)
{
	struct pt pt;
	const uint64_t top = 1ull << 52; /* one past what addr_mask can hold */

	setup(&pt, &npt_format, 5, POOL_PAGES);
	CHECK_EQ(pt_map(&pt, 0x800, 0, KiB(4), ACC_RWX, PT_MT_WB, 3), -1);
	CHECK_EQ(pt_map(&pt, 0, 0x800, KiB(4), ACC_RWX, PT_MT_WB, 3), -1);
	CHECK_EQ(pt_map(&pt, 0, 0, KiB(4) + 1, ACC_RWX, PT_MT_WB, 3), -1);
	CHECK_EQ(pt_map(&pt, 0, 0, 1, ACC_RWX, PT_MT_WB, 3), -1);
	CHECK_EQ(pt_map(&pt, 0, 0, KiB(4), ACC_RWX, PT_MT_WB, 0), -1);
	CHECK_EQ(pt_map(&pt, 0, 0, KiB(4), ACC_RWX, PT_MT_WB, 4), -1);
	/* pa + size wraps */
	CHECK_EQ(pt_map(&pt, 0, ~0ull - KiB(4) + 1, KiB(8), ACC_RWX, PT_MT_WB, 3), -1);
	CHECK_EQ(pt_map(&pt, 0, KiB(4), ~0ull - KiB(4) + 1, ACC_RWX, PT_MT_WB, 3), -1);
	CHECK_EQ(pt_map(&pt, 0, ~0ull - KiB(4) + 1, KiB(4), ACC_RWX, PT_MT_WB, 3), -1);
	/* beyond the entry's address bits */
	CHECK_EQ(pt_map(&pt, 0, top, KiB(4), ACC_RWX, PT_MT_WB, 3), -1);
	CHECK_EQ(pt_map(&pt, 0, top - KiB(4), KiB(8), ACC_RWX, PT_MT_WB, 3), -1);
	CHECK_EQ(pt_map(&pt, 0, 1ull << 62, KiB(4), ACC_RWX, PT_MT_WB, 3), -1);
	/* Nothing was built by any of them. */
	CHECK_COUNTS(&pt, true, 1, 0, 0, 0);
	/* The edges that are fine: the last page, and size 0. */
	CHECK_EQ(pt_map(&pt, top - KiB(4), top - KiB(4), KiB(4), ACC_RWX, PT_MT_WB, 3), 0);
	expect_map(&pt, top - 1, top - 1, ACC_RWX, 1, PT_MT_WB);
	CHECK_EQ(pt_map(&pt, GiB(1), GiB(1), 0, ACC_RWX, PT_MT_WB, 3), 0);
	CHECK_COUNTS(&pt, true, 5, 0, 0, 1);
}

TEST(pgtable_init_rejects)
{
	struct pt pt;

	for (unsigned levels = 0; levels <= 8; levels++) {
		memset(&pt, 0, sizeof(pt));
		pt.fmt = &npt_format;
		pt.levels = levels;
		pt.alloc_table = pool_alloc;
		pt.table_ptr = pool_ptr;
		pool_reset(POOL_PAGES);
		CHECK_EQ(pt_init(&pt), levels >= 3 && levels <= 5 ? 0 : -1);
	}
	pt.levels = 4;
	pool_reset(0);
	CHECK_EQ(pt_init(&pt), -1);
	/* pt_init resets the counters. */
	pool_reset(1);
	pt.table_pages = 77;
	pt.leaves[1] = pt.leaves[2] = pt.leaves[3] = 5;
	CHECK_EQ(pt_init(&pt), 0);
	CHECK_COUNTS(&pt, true, 1, 0, 0, 0);
}

/* Out of table pages part way: -1, what was done stays mapped, counters match it. */
TEST(pgtable_alloc_failure)
{
	struct pt pt;

	/* 8 GiB of 2 MiB leaves needs root + PDPT + 8 PDs; only 5 pages: 3 GiB get done. */
	for (unsigned levels = 4; levels <= 5; levels++) {
		unsigned over = levels - 4; /* the extra PML4 */
		setup(&pt, &npt_format, levels, 5 + over);
		CHECK_EQ(pt_map(&pt, 0, 0, GiB(8), ACC_RWX, PT_MT_WB, 2), -1);
		CHECK_COUNTS(&pt, true, 5 + over, 0, 3 * 512, 0);
		expect_map(&pt, GiB(3) - 1, GiB(3) - 1, ACC_RWX, 2, PT_MT_WB);
		expect_absent(&pt, GiB(3));
		expect_absent(&pt, GiB(8) - 1);
	}
	/* A split that cannot get its page leaves the large leaf as it was. */
	setup(&pt, &npt_format, 4, 2);
	CHECK_EQ(pt_map(&pt, 0, 0, GiB(4), ACC_RWX, PT_MT_UC, 3), 0);
	CHECK_EQ(pt_map(&pt, GiB(2) + MiB(4), GiB(2) + MiB(4), MiB(2), 0, PT_MT_WB, 2), -1);
	CHECK_COUNTS(&pt, true, 2, 4, 0, 0);
	expect_map(&pt, GiB(2) + MiB(4), GiB(2) + MiB(4), ACC_RWX, 3, PT_MT_UC);
	/* One more page: the 1G splits, the 2M under it cannot, the 2M leaves stay. */
	pool_limit = 3;
	CHECK_EQ(
	    pt_map(&pt, GiB(2) + MiB(4) + KiB(4), GiB(2) + MiB(4) + KiB(4), KiB(4), 0, PT_MT_WB, 3),
	    -1);
	CHECK_COUNTS(&pt, true, 3, 3, 512, 0);
	expect_map(&pt, GiB(2) + MiB(4) + KiB(4), GiB(2) + MiB(4) + KiB(4), ACC_RWX, 2, PT_MT_UC);
	/* Enough now: it finishes. */
	pool_limit = 4;
	CHECK_EQ(
	    pt_map(&pt, GiB(2) + MiB(4) + KiB(4), GiB(2) + MiB(4) + KiB(4), KiB(4), 0, PT_MT_WB, 3),
	    0);
	CHECK_COUNTS(&pt, true, 4, 3, 511, 511);
	expect_absent(&pt, GiB(2) + MiB(4) + KiB(4));
	expect_map(&pt, GiB(2) + MiB(4), GiB(2) + MiB(4), ACC_RWX, 1, PT_MT_UC);
}

/* Addresses the table levels cannot reach, or that cross the canonical hole, are refused. */
TEST(pgtable_va_reach)
{
	struct pt pt;
	setup(&pt, &pt_format_x86, 4, POOL_PAGES);
	CHECK_EQ(pt_map(&pt, 1ull << 48, 0, 4096, ACC_RWX, PT_MT_WB, 1), -1);
	CHECK_EQ(pt_map(&pt, (1ull << 47) - 4096, 0, 8192, ACC_RWX, PT_MT_WB, 1), -1);
	CHECK_EQ(pt_map(&pt, 0xffff7ffffffff000ull, 0, 4096, ACC_RWX, PT_MT_WB, 1), -1);
	CHECK_EQ(pt_map(&pt, 0xfffffffffffff000ull, 0, 8192, ACC_RWX, PT_MT_WB, 1), -1);
	CHECK_EQ(pt_map(&pt, 0xffff800000000000ull, 0x5000, 4096, ACC_RWX, PT_MT_WB, 1), 0);
	CHECK_EQ(pt_map(&pt, 0xfffffffffffff000ull, 0x6000, 4096, ACC_RWX, PT_MT_WB, 1), 0);
	uint64_t pa;
	unsigned perm, level;
	enum pt_memtype mt;
	CHECK_EQ(pt_lookup(&pt, 0xffff800000000123ull, &pa, &perm, &level, &mt), 0);
	CHECK_EQ(pa, 0x5123);
	CHECK_EQ(pt_lookup(&pt, 0x123, &pa, &perm, &level, &mt), -1);
}

/* ---- pt_set_perm: what a policy's memory rules do to the nested map ---- */

/* A 4 KiB range inside a 1 GiB leaf: two splits, the type kept, the rest untouched. */
TEST(pgtable_set_perm_splits)
{
	struct pt pt;
	uint64_t at = GiB(1) + MiB(4) + KiB(12);

	setup(&pt, &pt_format_x86, 4, POOL_PAGES);
	CHECK_EQ(pt_map(&pt, 0, 0, GiB(1), ACC_RWX, PT_MT_WB, 3), 0);
	CHECK_EQ(pt_map(&pt, GiB(1), GiB(1), GiB(1), ACC_RWX, PT_MT_UC, 3), 0);
	CHECK_EQ(pt.splits, 0);
	CHECK_COUNTS(&pt, false, 2, 2, 0, 0);
	/* Asking for what is there already changes nothing, splits nothing. */
	CHECK_EQ(pt_set_perm(&pt, at, KiB(8), ACC_RWX), 0);
	CHECK_EQ(pt.splits, 0);
	CHECK_COUNTS(&pt, false, 2, 2, 0, 0);
	/* Two pages read-only: 1 GiB -> 2 MiB -> 4 KiB. */
	CHECK_EQ(pt_set_perm(&pt, at, KiB(8), ACC_R), 0);
	CHECK_EQ(pt.splits, 2);
	CHECK_COUNTS(&pt, false, 4, 1, 511, 512);
	expect_map(&pt, at, at, ACC_R, 1, PT_MT_UC);
	expect_map(&pt, at + KiB(4), at + KiB(4), ACC_R, 1, PT_MT_UC);
	expect_map(&pt, at + KiB(8) + 5, at + KiB(8) + 5, ACC_RWX, 1, PT_MT_UC);
	expect_map(&pt, at - 1, at - 1, ACC_RWX, 1, PT_MT_UC);
	expect_map(&pt, GiB(1) + MiB(4), GiB(1) + MiB(4), ACC_RWX, 1, PT_MT_UC);
	expect_map(&pt, GiB(1) + MiB(6), GiB(1) + MiB(6), ACC_RWX, 2, PT_MT_UC);
	expect_map(&pt, GiB(1), GiB(1), ACC_RWX, 2, PT_MT_UC);
	expect_map(&pt, GiB(1) - 1, GiB(1) - 1, ACC_RWX, 3, PT_MT_WB);
	/* Again, or R|X over it: no more splits; the leaves just change. */
	CHECK_EQ(pt_set_perm(&pt, at, KiB(8), ACC_R), 0);
	CHECK_EQ(pt_set_perm(&pt, at, KiB(4), ACC_R | ACC_X), 0);
	CHECK_EQ(pt.splits, 2);
	expect_map(&pt, at, at, ACC_R | ACC_X, 1, PT_MT_UC);
	expect_map(&pt, at + KiB(4), at + KiB(4), ACC_R, 1, PT_MT_UC);
	/* A range across the end of one 2 MiB leaf into the next: one more split. */
	CHECK_EQ(pt_set_perm(&pt, GiB(1) + MiB(8) - KiB(4), MiB(2) + KiB(4), ACC_R), 0);
	CHECK_EQ(pt.splits, 3);
	expect_map(&pt, GiB(1) + MiB(8) - KiB(4), GiB(1) + MiB(8) - KiB(4), ACC_R, 1, PT_MT_UC);
	expect_map(&pt, GiB(1) + MiB(8) - KiB(8), GiB(1) + MiB(8) - KiB(8), ACC_RWX, 1, PT_MT_UC);
	expect_map(&pt, GiB(1) + MiB(8), GiB(1) + MiB(8), ACC_R, 2, PT_MT_UC);
	expect_map(&pt, GiB(1) + MiB(10), GiB(1) + MiB(10), ACC_RWX, 2, PT_MT_UC);
}

TEST(pgtable_set_perm_whole_leaf)
{
	struct pt pt;

	setup(&pt, &pt_format_x86, 4, POOL_PAGES);
	CHECK_EQ(pt_map(&pt, 0, 0, GiB(1), ACC_RWX, PT_MT_UC, 2), 0);
	CHECK_EQ(pt_map(&pt, GiB(1), GiB(1), GiB(1), ACC_RWX, PT_MT_WB, 3), 0);
	CHECK_COUNTS(&pt, false, 3, 1, 512, 0);
	/* Exactly a 2 MiB leaf: it changes in place. */
	CHECK_EQ(pt_set_perm(&pt, MiB(10), MiB(2), ACC_R | ACC_X), 0);
	CHECK_EQ(pt.splits, 0);
	CHECK_COUNTS(&pt, false, 3, 1, 512, 0);
	expect_map(&pt, MiB(10), MiB(10), ACC_R | ACC_X, 2, PT_MT_UC);
	expect_map(&pt, MiB(12), MiB(12), ACC_RWX, 2, PT_MT_UC);
	expect_map(&pt, MiB(10) - 1, MiB(10) - 1, ACC_RWX, 2, PT_MT_UC);
	/* Exactly the 1 GiB leaf; and two 2 MiB leaves at once. */
	CHECK_EQ(pt_set_perm(&pt, GiB(1), GiB(1), ACC_R), 0);
	CHECK_EQ(pt_set_perm(&pt, MiB(20), MiB(4), ACC_R), 0);
	CHECK_EQ(pt.splits, 0);
	CHECK_COUNTS(&pt, false, 3, 1, 512, 0);
	expect_map(&pt, GiB(2) - 1, GiB(2) - 1, ACC_R, 3, PT_MT_WB);
	expect_map(&pt, MiB(23), MiB(23), ACC_R, 2, PT_MT_UC);
}

TEST(pgtable_set_perm_rejects)
{
	struct pt pt;

	setup(&pt, &pt_format_x86, 4, POOL_PAGES);
	CHECK_EQ(pt_map(&pt, 0, 0, GiB(1), ACC_RWX, PT_MT_WB, 3), 0);
	CHECK_EQ(pt_map(&pt, GiB(2), GiB(2), MiB(2), ACC_RWX, PT_MT_WB, 2), 0);
	/* Not mapped at all. */
	CHECK_EQ(pt_set_perm(&pt, GiB(3), KiB(4), ACC_R), -1);
	CHECK_EQ(pt_set_perm(&pt, GiB(1), KiB(4), ACC_R), -1);
	/* Bad arguments: unaligned, perm 0, wrapping. */
	CHECK_EQ(pt_set_perm(&pt, KiB(4) + 1, KiB(4), ACC_R), -1);
	CHECK_EQ(pt_set_perm(&pt, KiB(4), KiB(4) + 1, ACC_R), -1);
	CHECK_EQ(pt_set_perm(&pt, KiB(4), KiB(4), 0), -1);
	CHECK_EQ(pt_set_perm(&pt, 0xfffffffffffff000ull, KiB(8), ACC_R), -1);
	CHECK_EQ(pt.splits, 0);
	CHECK_COUNTS(&pt, false, 3, 1, 1, 0);
	/* Running off the mapped part: -1, what was done keeps the new perm. */
	CHECK_EQ(pt_set_perm(&pt, GiB(2), MiB(4), ACC_R), -1);
	expect_map(&pt, GiB(2), GiB(2), ACC_R, 2, PT_MT_WB);
	/* No memory for the split: -1, the leaf as it was. */
	pool_limit = pool_used;
	CHECK_EQ(pt_set_perm(&pt, MiB(2), KiB(4), ACC_R), -1);
	expect_map(&pt, MiB(2), MiB(2), ACC_RWX, 3, PT_MT_WB);
	CHECK_EQ(pt.splits, 0);
}
