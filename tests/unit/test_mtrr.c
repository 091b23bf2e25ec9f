/* SPDX-License-Identifier: MIT */
/*
 * The MTRR type of a block (core/mtrr.c) over a struct mtrr_state built
 * here, as core/mtrr_read.c would fill it from the MSRs (Intel SDM 11.11):
 * MTRRdefType's E and FE, the fixed ranges of the first MiB, variable
 * ranges matched by (pa & mask) == (base & mask) and their overlap rules;
 * then the EPT identity map the VMM builds from a firmware-like layout
 * with pt_map_identity_typed, walked entry by entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mtrr.h"
#include "core/pgtable.h"
#include "core/vmm.h"
#include "fake_pool.h"
#include "test.h"

/* Identity translations, as every table here maps. */
#define expect_identity(pt, va, level, mt)                                                         \
	expect_map(pt, va, va, ACC_RWX, level, (enum pt_memtype)(mt))

extern const struct pt_format ept_format; /* vmx/ept.c */

#define KiB(x) ((uint64_t)(x) << 10)
#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)

#define PHYS_BITS 39
#define ADDR_MASK (((1ull << PHYS_BITS) - 1) & ~0xfffull)
#define VALID	  (1ull << 11) /* IA32_MTRR_PHYSMASKn.V */

/* Enabled, fixed ranges off, no variable ranges, default `def`. */
static void state_init(struct mtrr_state *m, uint8_t def)
{
	memset(m, 0, sizeof(*m));
	m->enabled = true;
	m->def_type = def;
	m->addr_mask = ADDR_MASK;
	/* Garbage in the unused slots: nvar says what counts. */
	for (unsigned i = 0; i < MTRR_MAX_VAR; i++) {
		m->var[i].base = 0x5a5a5a5a5a5a5000ull | MT_UC;
		m->var[i].mask = ~0ull;
	}
}

/* PHYSBASEn/PHYSMASKn as firmware writes them for a naturally aligned range. */
static void add_var(struct mtrr_state *m, uint64_t base, uint64_t size, uint8_t type)
{
	if (!CHECK(m->nvar < MTRR_MAX_VAR))
		return;
	m->var[m->nvar].base = base | type;
	m->var[m->nvar].mask = (~(size - 1) & ADDR_MASK) | VALID;
	m->nvar++;
}

/* The fixed entries over [start, end) of the first MiB (on entry boundaries). */
static void set_fixed(struct mtrr_state *m, uint64_t start, uint64_t end, uint8_t type)
{
	/* Spelled out as a list of entries: 8 x 64K, 16 x 16K, 64 x 4K. */
	unsigned i = 0;
	for (uint64_t a = 0; a < MiB(1); i++) {
		uint64_t size = a < 0x80000 ? KiB(64) : a < 0xc0000 ? KiB(16) : KiB(4);
		if (a >= start && a + size <= end)
			m->fixed[i] = type;
		else
			CHECK(a + size <= start || a >= end); /* a range splitting an entry */
		a += size;
	}
	CHECK_EQ(i, 88);
}

static int range_type(const struct mtrr_state *m, uint64_t pa, uint64_t size)
{
	return mtrr_range_type(m, pa, size);
}

#define CHECK_TYPE(m, pa, size, want)                                                              \
	do {                                                                                       \
		if (!CHECK_EQ(range_type(m, pa, size), want))                                      \
			fprintf(stderr, "  (pa %#llx size %#llx)\n", (unsigned long long)(pa),     \
				(unsigned long long)(size));                                       \
	} while (0)

TEST(mtrr_disabled_is_uc)
{
	struct mtrr_state m;

	/* E clear: everything UC, whatever FE, the fixed and the variable ranges say. */
	state_init(&m, MT_WB);
	m.fixed_enabled = true;
	memset(m.fixed, MT_WB, sizeof(m.fixed));
	add_var(&m, 0, GiB(4), MT_WB);
	m.enabled = false;
	CHECK_TYPE(&m, 0, KiB(4), MT_UC);
	CHECK_TYPE(&m, 0xa0000, KiB(4), MT_UC);
	CHECK_TYPE(&m, 0, MiB(2), MT_UC);
	CHECK_TYPE(&m, 0, GiB(1), MT_UC);
	CHECK_TYPE(&m, GiB(1), GiB(1), MT_UC);
	CHECK_TYPE(&m, GiB(64), GiB(1), MT_UC);
	/* Bad blocks are still bad. */
	CHECK_TYPE(&m, KiB(4), KiB(8), -1);
	/* The same state enabled: WB. */
	m.enabled = true;
	CHECK_TYPE(&m, 0xa0000, KiB(4), MT_WB);
	CHECK_TYPE(&m, GiB(1), GiB(1), MT_WB);
}

TEST(mtrr_default_type)
{
	static const uint8_t defs[] = {MT_UC, MT_WC, MT_WT, MT_WP, MT_WB};

	for (unsigned d = 0; d < sizeof(defs); d++) {
		struct mtrr_state m;

		state_init(&m, defs[d]);
		/* Fixed ranges present but FE clear: not used. */
		memset(m.fixed, defs[d] == MT_UC ? MT_WB : MT_UC, sizeof(m.fixed));
		CHECK_TYPE(&m, 0, KiB(4), defs[d]);
		CHECK_TYPE(&m, 0xa0000, KiB(4), defs[d]);
		CHECK_TYPE(&m, 0, MiB(1), defs[d]);
		CHECK_TYPE(&m, 0, MiB(2), defs[d]);
		CHECK_TYPE(&m, 0, GiB(1), defs[d]);
		CHECK_TYPE(&m, GiB(3), GiB(1), defs[d]);
		CHECK_TYPE(&m, GiB(256), GiB(256), defs[d]);
		CHECK_TYPE(&m, (1ull << PHYS_BITS) - KiB(4), KiB(4), defs[d]);
		/* Variable ranges with V clear, or past nvar, do not count. */
		m.nvar = 2;
		m.var[0].base = 0 | MT_UC;
		m.var[0].mask = ~0ull & ~VALID;
		m.var[1].base = GiB(3) | MT_WC;
		m.var[1].mask = (~(GiB(1) - 1) & ADDR_MASK);
		CHECK_TYPE(&m, 0, GiB(1), defs[d]);
		CHECK_TYPE(&m, GiB(3), GiB(1), defs[d]);
		CHECK_TYPE(&m, GiB(3), KiB(4), defs[d]);
		m.var[1].mask |= VALID;
		CHECK_TYPE(&m, GiB(3), GiB(1), MT_WC);
		m.nvar = 1;
		CHECK_TYPE(&m, GiB(3), GiB(1), defs[d]);
	}
}

/*
 * The fixed-range layout: each of the 88 entries gets its own value, so a
 * wrong index shows. Expected types come from a per-4 KiB-page table filled
 * by entry size here, not from the formula in mtrr.c.
 */
static uint8_t page_fixed[256];

static void fill_page_fixed(const struct mtrr_state *m)
{
	unsigned page = 0;

	for (unsigned i = 0; i < 8; i++)
		for (unsigned p = 0; p < 16; p++)
			page_fixed[page++] = m->fixed[i];
	for (unsigned i = 8; i < 24; i++)
		for (unsigned p = 0; p < 4; p++)
			page_fixed[page++] = m->fixed[i];
	for (unsigned i = 24; i < 88; i++)
		page_fixed[page++] = m->fixed[i];
	CHECK_EQ(page, 256);
}

static int expect_fixed(uint64_t pa, uint64_t size)
{
	int t = page_fixed[pa >> 12];
	for (uint64_t a = pa; a < pa + size; a += KiB(4))
		if (page_fixed[a >> 12] != t)
			return -1;
	return t;
}

/* Every aligned block of 4 KiB .. 1 MiB in the first MiB. */
static void sweep_fixed(const struct mtrr_state *m)
{
	unsigned bad = 0;

	fill_page_fixed(m);
	for (uint64_t size = KiB(4); size <= MiB(1); size <<= 1)
		for (uint64_t pa = 0; pa < MiB(1) && bad < 10; pa += size) {
			int want = expect_fixed(pa, size);
			if (range_type(m, pa, size) != want) {
				bad++;
				CHECK_TYPE(m, pa, size, want);
			}
		}
}

TEST(mtrr_fixed_ranges)
{
	struct mtrr_state m;

	state_init(&m, MT_UC);
	m.fixed_enabled = true;
	/* Distinct values: the function passes types through untouched. */
	for (unsigned i = 0; i < 88; i++)
		m.fixed[i] = (uint8_t)(0x80 + i);
	/* A variable range over the first MiB is overridden by the fixed ranges. */
	add_var(&m, 0, MiB(1), MT_WT);
	sweep_fixed(&m);
	/* A few by hand: the first and last entry of each kind. */
	CHECK_TYPE(&m, 0, KiB(64), 0x80);
	CHECK_TYPE(&m, 0x70000, KiB(64), 0x87);
	CHECK_TYPE(&m, 0x7f000, KiB(4), 0x87);
	CHECK_TYPE(&m, 0x80000, KiB(16), 0x88);
	CHECK_TYPE(&m, 0xbc000, KiB(16), 0x97);
	CHECK_TYPE(&m, 0xc0000, KiB(4), 0x98);
	CHECK_TYPE(&m, 0xff000, KiB(4), 0xd7);
	CHECK_TYPE(&m, 0x80000, KiB(32), -1);
	CHECK_TYPE(&m, 0xc0000, KiB(8), -1);
	CHECK_TYPE(&m, 0, KiB(128), -1);

	/* Real types, uniform over large blocks and mixed across them. */
	memset(m.fixed, MT_WB, sizeof(m.fixed));
	set_fixed(&m, 0xa0000, 0xc0000, MT_UC);
	set_fixed(&m, 0xc0000, 0xc8000, MT_WP);
	set_fixed(&m, 0xf0000, 0x100000, MT_WT);
	sweep_fixed(&m);
	CHECK_TYPE(&m, 0, KiB(512), MT_WB);
	CHECK_TYPE(&m, 0x80000, KiB(128), MT_WB);
	CHECK_TYPE(&m, 0xa0000, KiB(128), MT_UC);
	CHECK_TYPE(&m, 0x80000, KiB(256), -1);
	CHECK_TYPE(&m, 0xc0000, KiB(32), MT_WP);
	CHECK_TYPE(&m, 0xc0000, KiB(64), -1);
	CHECK_TYPE(&m, 0xf0000, KiB(64), MT_WT);
	CHECK_TYPE(&m, 0, MiB(1), -1);
	memset(m.fixed, MT_WB, sizeof(m.fixed));
	CHECK_TYPE(&m, 0, MiB(1), MT_WB);
	/* Above 1 MiB the fixed ranges are out of it: the WT range and the default. */
	CHECK_TYPE(&m, MiB(1), MiB(1), MT_UC);
	CHECK_TYPE(&m, MiB(1), KiB(4), MT_UC);

	/* FE clear: the first MiB is the variable range's. */
	m.fixed_enabled = false;
	CHECK_TYPE(&m, 0xa0000, KiB(4), MT_WT);
	CHECK_TYPE(&m, 0, MiB(1), MT_WT);
	CHECK_TYPE(&m, 0, MiB(2), -1);
}

/*
 * A block straddling 1 MiB: fixed below, variable/default above. mtrr.c
 * returns -1 for every such block, even a uniform one (a conservative
 * choice its comment documents: it only costs 4 KiB pages in the first
 * 2 MiB), so only the mixed cases are held to one answer.
 */
TEST(mtrr_fixed_straddle)
{
	struct mtrr_state m;

	state_init(&m, MT_UC);
	m.fixed_enabled = true;
	memset(m.fixed, MT_WB, sizeof(m.fixed));
	/* Fixed all WB, UC above. */
	CHECK_TYPE(&m, 0, MiB(2), -1);
	CHECK_TYPE(&m, 0, MiB(4), -1);
	CHECK_TYPE(&m, 0, GiB(1), -1);
	CHECK_TYPE(&m, 0, GiB(512), -1);
	/* Fixed with a UC hole, WB above. */
	m.def_type = MT_WB;
	set_fixed(&m, 0xa0000, 0xc0000, MT_UC);
	CHECK_TYPE(&m, 0, MiB(2), -1);
	CHECK_TYPE(&m, 0, GiB(1), -1);
	/* Fixed WB below a UC variable range at 1 MiB .. 2 MiB. */
	memset(m.fixed, MT_WB, sizeof(m.fixed));
	add_var(&m, MiB(1), MiB(1), MT_UC);
	CHECK_TYPE(&m, 0, MiB(2), -1);
	CHECK_TYPE(&m, MiB(1), MiB(1), MT_UC);
	CHECK_TYPE(&m, 0, MiB(1), MT_WB);
	/* Uniform all the way: WB, or the conservative -1. */
	m.nvar = 0;
	int t = range_type(&m, 0, MiB(2));
	CHECK(t == MT_WB || t == -1);
}

TEST(mtrr_variable_match)
{
	struct mtrr_state m;

	state_init(&m, MT_WB);
	add_var(&m, GiB(3), GiB(1), MT_UC);
	/* Inside, any block size. */
	CHECK_TYPE(&m, GiB(3), GiB(1), MT_UC);
	CHECK_TYPE(&m, GiB(3) + MiB(2), MiB(2), MT_UC);
	CHECK_TYPE(&m, GiB(4) - MiB(2), MiB(2), MT_UC);
	CHECK_TYPE(&m, GiB(3), KiB(4), MT_UC); /* PHYSMASK's V bit is not an address bit */
	CHECK_TYPE(&m, GiB(4) - KiB(4), KiB(4), MT_UC);
	/* Outside. */
	CHECK_TYPE(&m, GiB(3) - KiB(4), KiB(4), MT_WB);
	CHECK_TYPE(&m, GiB(2), GiB(1), MT_WB);
	CHECK_TYPE(&m, GiB(4), GiB(1), MT_WB);
	CHECK_TYPE(&m, GiB(4), KiB(4), MT_WB);
	/* Partly inside. */
	CHECK_TYPE(&m, GiB(2), GiB(2), -1);
	CHECK_TYPE(&m, 0, GiB(4), -1);
	CHECK_TYPE(&m, 0, GiB(8), -1);
	CHECK_TYPE(&m, 0, GiB(512), -1);

	/* A small range: 64 KiB WT. */
	state_init(&m, MT_WB);
	add_var(&m, 0x12340000, KiB(64), MT_WT);
	CHECK_TYPE(&m, 0x12340000, KiB(64), MT_WT);
	CHECK_TYPE(&m, 0x12340000, KiB(32), MT_WT);
	CHECK_TYPE(&m, 0x1234f000, KiB(4), MT_WT);
	CHECK_TYPE(&m, 0x1233f000, KiB(4), MT_WB);
	CHECK_TYPE(&m, 0x12350000, KiB(4), MT_WB);
	CHECK_TYPE(&m, 0x12340000, KiB(128), -1);
	CHECK_TYPE(&m, 0x12200000, MiB(2), -1);
	/* A single 4 KiB page WC (blocks away from it: see
	 * mtrr_far_small_range_allows_large_pages). */
	state_init(&m, MT_WB);
	add_var(&m, 0x12356000, KiB(4), MT_WC);
	CHECK_TYPE(&m, 0x12356000, KiB(4), MT_WC);
	CHECK_TYPE(&m, 0x12355000, KiB(4), MT_WB);
	CHECK_TYPE(&m, 0x12357000, KiB(4), MT_WB);
	CHECK_TYPE(&m, 0x12354000, KiB(16), -1);
	CHECK_TYPE(&m, 0x12356000, KiB(8), -1);
	CHECK_TYPE(&m, 0x12200000, MiB(2), -1);
}

/* Mask bits: only those in addr_mask count; a mask narrower than that aliases. */
TEST(mtrr_variable_mask_bits)
{
	struct mtrr_state m;

	/* A PHYSMASK with every bit above 30 set, as if MAXPHYADDR were 64. */
	state_init(&m, MT_WB);
	m.nvar = 1;
	m.var[0].base = GiB(3) | MT_UC;
	m.var[0].mask = 0xffffffffc0000000ull | VALID;
	CHECK_TYPE(&m, GiB(3), GiB(1), MT_UC);
	CHECK_TYPE(&m, GiB(3) + KiB(4), KiB(4), MT_UC);
	CHECK_TYPE(&m, GiB(7), GiB(1), MT_WB);
	/* Reserved bits 10:0 set in the mask (only 11 is V): ignored. */
	m.var[0].mask |= 0x7ff;
	CHECK_TYPE(&m, GiB(3) + KiB(4), KiB(4), MT_UC);
	CHECK_TYPE(&m, GiB(2), KiB(4), MT_WB);
	/* A mask of bits 31:30 only: matches 3 GiB modulo 4 GiB (SDM: AND of both). */
	m.var[0].mask = 0xc0000000ull | VALID;
	CHECK_TYPE(&m, GiB(3), GiB(1), MT_UC);
	CHECK_TYPE(&m, GiB(7), GiB(1), MT_UC);
	CHECK_TYPE(&m, GiB(7) + MiB(2), MiB(2), MT_UC);
	CHECK_TYPE(&m, GiB(6), GiB(1), MT_WB);
	/* Address bits of the base beyond the mask do not matter. */
	m.var[0].base = GiB(35) | MT_UC;
	CHECK_TYPE(&m, GiB(3), GiB(1), MT_UC);
	/* A narrower MAXPHYADDR cuts the mask: bit 31 gone, 1 GiB of every 2 GiB. */
	m.var[0].base = GiB(3) | MT_UC;
	m.var[0].mask = 0xffffffffc0000000ull | VALID;
	m.addr_mask = ((1ull << 31) - 1) & ~0xfffull;
	CHECK_TYPE(&m, GiB(1), GiB(1), MT_UC);
	CHECK_TYPE(&m, GiB(3), GiB(1), MT_UC);
	CHECK_TYPE(&m, GiB(2), GiB(1), MT_WB);
}

/* SDM 11.11.4.1: identical types agree, UC wins, WT beats WB, the rest is undefined (UC). */
static void overlap_case(uint8_t a, uint8_t b, int want, int line)
{
	struct mtrr_state m;

	for (int order = 0; order < 2; order++) {
		state_init(&m, MT_WB);
		/* 2 GiB .. 4 GiB with one type, 3 GiB .. 4 GiB with another. */
		add_var(&m, GiB(2), GiB(2), order ? b : a);
		add_var(&m, GiB(3), GiB(1), order ? a : b);
		if (!CHECK_EQ(range_type(&m, GiB(3), GiB(1)), want) ||
		    !CHECK_EQ(range_type(&m, GiB(3) + KiB(4), KiB(4)), want) ||
		    !CHECK_EQ(range_type(&m, GiB(2), GiB(1)), order ? b : a))
			fprintf(stderr, "  (types %u, %u; order %d; line %d)\n", a, b, order, line);
	}
}

#define OVERLAP(a, b, want) overlap_case(a, b, want, __LINE__)

TEST(mtrr_variable_overlaps)
{
	static const uint8_t types[] = {MT_UC, MT_WC, MT_WT, MT_WP, MT_WB};

	for (unsigned i = 0; i < sizeof(types); i++) {
		OVERLAP(types[i], types[i], types[i]);
		OVERLAP(types[i], MT_UC, MT_UC);
	}
	OVERLAP(MT_WT, MT_WB, MT_WT);
	OVERLAP(MT_WC, MT_WB, MT_UC);
	OVERLAP(MT_WP, MT_WB, MT_UC);
	OVERLAP(MT_WC, MT_WT, MT_UC);
	OVERLAP(MT_WP, MT_WT, MT_UC);
	OVERLAP(MT_WC, MT_WP, MT_UC);

	/* Three at once, every order: WB + WT + WB is WT; add UC and it is UC. */
	struct mtrr_state m;
	static const uint8_t three[3][3] = {
	    {MT_WB, MT_WT, MT_WB}, {MT_WT, MT_WB, MT_WB}, {MT_WB, MT_WB, MT_WT}};
	for (unsigned o = 0; o < 3; o++) {
		state_init(&m, MT_UC);
		add_var(&m, 0, GiB(8), three[o][0]);
		add_var(&m, GiB(4), GiB(4), three[o][1]);
		add_var(&m, GiB(4), GiB(1), three[o][2]);
		CHECK_TYPE(&m, GiB(4), GiB(1), MT_WT);
		add_var(&m, GiB(4), MiB(2), MT_UC);
		CHECK_TYPE(&m, GiB(4), MiB(2), MT_UC);
		CHECK_TYPE(&m, GiB(4) + MiB(2), MiB(2), MT_WT);
	}
	/* A WT range overlapping WB, then an unrelated WC range elsewhere: still WT. */
	state_init(&m, MT_UC);
	add_var(&m, GiB(4), GiB(4), MT_WB);
	add_var(&m, GiB(4), GiB(1), MT_WT);
	add_var(&m, GiB(16), GiB(1), MT_WC);
	CHECK_TYPE(&m, GiB(4), GiB(1), MT_WT);
	CHECK_TYPE(&m, GiB(16), GiB(1), MT_WC);
	CHECK_TYPE(&m, GiB(5), GiB(1), MT_WB);
}

TEST(mtrr_bad_blocks)
{
	struct mtrr_state m;

	state_init(&m, MT_WB);
	m.fixed_enabled = true;
	memset(m.fixed, MT_WB, sizeof(m.fixed));
	CHECK_TYPE(&m, 0, 0, -1);
	CHECK_TYPE(&m, GiB(1), 0, -1);
	CHECK_TYPE(&m, 0, KiB(12), -1);
	CHECK_TYPE(&m, 0, MiB(3), -1);
	CHECK_TYPE(&m, 0, GiB(1) + KiB(4), -1);
	CHECK_TYPE(&m, KiB(4), KiB(8), -1);
	CHECK_TYPE(&m, MiB(1), MiB(2), -1);
	CHECK_TYPE(&m, GiB(1) + MiB(2), GiB(1), -1);
	CHECK_TYPE(&m, 0x800, KiB(4), -1);
	CHECK_TYPE(&m, 0x800, 0x800, -1); /* aligned to its size, not to a page */
	CHECK_TYPE(&m, GiB(5) + 1, KiB(4), -1);
	CHECK_TYPE(&m, 0xa0000 + 0x10, KiB(4), -1); /* in the fixed regime too */
	/* The good neighbours of those. */
	CHECK_TYPE(&m, KiB(8), KiB(8), MT_WB);
	CHECK_TYPE(&m, GiB(1), GiB(1), MT_WB);
	CHECK_TYPE(&m, GiB(5), KiB(4), MT_WB);
}

/* ---- the EPT map the VMM builds from the MTRRs ---- */

#define EPT_R	 (1ull << 0)
#define EPT_W	 (1ull << 1)
#define EPT_X	 (1ull << 2)
#define EPT_MT	 (7ull << 3)
#define EPT_IPAT (1ull << 6)
#define EPT_PS	 (1ull << 7)
#define EPT_ADDR 0x000ffffffffff000ull
#define EPT_RWX	 (EPT_R | EPT_W | EPT_X)

static void setup(struct pt *pt)
{
	pool_reset(POOL_PAGES);
	memset(pt, 0, sizeof(*pt));
	pt->fmt = &ept_format;
	pt->levels = 4;
	pt->alloc_table = pool_alloc;
	pt->table_ptr = pool_ptr;
	CHECK_EQ(pt_init(pt), 0);
}

/* What core/main.c hands pt_map_identity_typed. */
static int mtrr_type_of(const void *ctx, uint64_t pa, uint64_t size)
{
	return mtrr_range_type(ctx, pa, size);
}

/* The expected type of a leaf at [va, va + size), -1 for a hole. */
typedef int (*want_fn)(uint64_t va, uint64_t size);

struct census {
	uint64_t tables, leaves[4], bad;
};

static void walk(uint64_t table_pa, unsigned level, uint64_t va, want_fn want, struct census *c)
{
	const uint64_t *t = pool_ptr(table_pa);

	c->tables++;
	for (unsigned i = 0; i < 512; i++) {
		uint64_t e = t[i], eva = va | ((uint64_t)i << PT_LEVEL_SHIFT(level));
		uint64_t size = PT_LEVEL_SIZE(level);

		if (!(e & EPT_RWX))
			continue;
		if (level > 3 || (level > 1 && !(e & EPT_PS))) {
			if (!CHECK_EQ(e & ~EPT_ADDR, EPT_RWX))
				c->bad++;
			if (level > 1)
				walk(e & EPT_ADDR, level - 1, eva, want, c);
			continue;
		}
		c->leaves[level]++;
		int mt = want(eva, size);
		uint64_t good = eva | EPT_RWX | ((uint64_t)mt << 3) | (level > 1 ? EPT_PS : 0);
		if (mt < 0 || e != good) {
			/* Only the first few, with what was expected. */
			if (c->bad++ < 5)
				fprintf(stderr,
					"  leaf %#llx level %u: %#llx, want type %d (%#llx)\n",
					(unsigned long long)eva, level, (unsigned long long)e, mt,
					(unsigned long long)good);
		}
	}
}

static bool check_tree(const struct pt *pt, want_fn want, uint64_t tables, uint64_t l3, uint64_t l2,
		       uint64_t l1, int line)
{
	struct census c = {0};
	bool ok = true;

	walk(pt->root_pa, pt->levels, 0, want, &c);
	ok &= CHECK_EQ(c.bad, 0);
	ok &= CHECK_EQ(c.tables, tables);
	ok &= CHECK_EQ(pt->table_pages, tables);
	ok &= CHECK_EQ(c.leaves[3], l3);
	ok &= CHECK_EQ(c.leaves[2], l2);
	ok &= CHECK_EQ(c.leaves[1], l1);
	ok &= CHECK_EQ(pt->leaves[3], l3);
	ok &= CHECK_EQ(pt->leaves[2], l2);
	ok &= CHECK_EQ(pt->leaves[1], l1);
	if (!ok)
		fprintf(stderr, "  (line %d)\n", line);
	return ok;
}

#define CHECK_TREE(pt, want, tables, l3, l2, l1) check_tree(pt, want, tables, l3, l2, l1, __LINE__)

/*
 * A firmware-like layout: default WB; one variable range, UC for
 * 0xc0000000-0xffffffff (the PCI hole); the fixed ranges WB below
 * 0xa0000, UC for the legacy VGA window 0xa0000-0xbffff, WP for the video
 * BIOS 0xc0000-0xc7fff, UC 0xc8000-0xdffff (option ROM space), WP for the
 * system BIOS 0xe0000-0xfffff. Unused variable slots hold garbage with V clear.
 */
static void firmware_layout(struct mtrr_state *m)
{
	state_init(m, MT_WB);
	m->fixed_enabled = true;
	memset(m->fixed, MT_WB, sizeof(m->fixed));
	set_fixed(m, 0xa0000, 0xc0000, MT_UC);
	set_fixed(m, 0xc0000, 0xc8000, MT_WP);
	set_fixed(m, 0xc8000, 0xe0000, MT_UC);
	set_fixed(m, 0xe0000, 0x100000, MT_WP);
	add_var(m, 0xc0000000, GiB(1), MT_UC);
	m->nvar = 10;
	for (unsigned i = 1; i < 10; i++)
		m->var[i].mask &= ~VALID;
}

/* The same layout, written out by hand for every byte of memory. */
static int firmware_type(uint64_t pa)
{
	if (pa < 0xa0000)
		return MT_WB;
	if (pa < 0xc0000)
		return MT_UC;
	if (pa < 0xc8000)
		return MT_WP;
	if (pa < 0xe0000)
		return MT_UC;
	if (pa < 0x100000)
		return MT_WP;
	if (pa >= 0xc0000000 && pa < 0x100000000)
		return MT_UC;
	return MT_WB;
}

static int firmware_want(uint64_t va, uint64_t size)
{
	/* A leaf must be uniform: check its start, end and every 4 KiB in the first MiB. */
	int t = firmware_type(va);
	uint64_t step = va < MiB(1) ? KiB(4) : MiB(1);
	for (uint64_t a = va; a < va + size; a += step)
		if (firmware_type(a) != t)
			return 0x77;
	return firmware_type(va + size - 1) == t ? t : 0x77;
}

TEST(mtrr_firmware_layout_types)
{
	struct mtrr_state m;

	firmware_layout(&m);
	CHECK_TYPE(&m, 0, KiB(512), MT_WB);
	CHECK_TYPE(&m, 0x80000, KiB(128), MT_WB);
	CHECK_TYPE(&m, 0xa0000, KiB(128), MT_UC);
	CHECK_TYPE(&m, 0xc0000, KiB(32), MT_WP);
	CHECK_TYPE(&m, 0xc8000, KiB(32), MT_UC);
	CHECK_TYPE(&m, 0xe0000, KiB(128), MT_WP);
	CHECK_TYPE(&m, 0x9f000, KiB(4), MT_WB);
	CHECK_TYPE(&m, 0xc7000, KiB(4), MT_WP);
	CHECK_TYPE(&m, 0x80000, KiB(256), -1);
	CHECK_TYPE(&m, 0, MiB(2), -1);
	CHECK_TYPE(&m, MiB(1), KiB(4), MT_WB);
	CHECK_TYPE(&m, MiB(2), MiB(2), MT_WB);
	CHECK_TYPE(&m, GiB(1), GiB(1), MT_WB);
	CHECK_TYPE(&m, GiB(2), GiB(1), MT_WB);
	CHECK_TYPE(&m, GiB(3), GiB(1), MT_UC);
	CHECK_TYPE(&m, GiB(4), GiB(1), MT_WB);
	CHECK_TYPE(&m, 0xfee00000, KiB(4), MT_UC); /* the local APIC */
	CHECK_TYPE(&m, 0xfffff000, KiB(4), MT_UC);
	CHECK_TYPE(&m, GiB(2), GiB(2), -1);
}

TEST(mtrr_firmware_layout_ept)
{
	struct mtrr_state m;
	struct pt pt;

	firmware_layout(&m);
	setup(&pt);
	CHECK_EQ(pt_map_identity_typed(&pt, GiB(8), ACC_RWX, 3, mtrr_type_of, &m), 0);
	/*
	 * 1 GiB leaves for GiBs 1, 2, 3 (UC), 4..7; GiB 0 in 2 MiB leaves but
	 * the first 2 MiB in 4 KiB ones. Tables: PML4, PDPT, PD, PT.
	 */
	CHECK_TREE(&pt, firmware_want, 4, 7, 511, 512);
	expect_identity(&pt, 0, 1, MT_WB);
	expect_identity(&pt, 0x9ffff, 1, MT_WB);
	expect_identity(&pt, 0xa0000, 1, MT_UC);
	expect_identity(&pt, 0xbffff, 1, MT_UC);
	expect_identity(&pt, 0xc0000, 1, MT_WP);
	expect_identity(&pt, 0xc8000, 1, MT_UC);
	expect_identity(&pt, 0xe0000, 1, MT_WP);
	expect_identity(&pt, 0xfffff, 1, MT_WP);
	expect_identity(&pt, 0x100000, 1, MT_WB);
	expect_identity(&pt, MiB(2) - 1, 1, MT_WB);
	expect_identity(&pt, MiB(2), 2, MT_WB);
	expect_identity(&pt, GiB(1) - 1, 2, MT_WB);
	expect_identity(&pt, GiB(1), 3, MT_WB);
	expect_identity(&pt, GiB(3) - 1, 3, MT_WB);
	expect_identity(&pt, GiB(3), 3, MT_UC);
	expect_identity(&pt, 0xfee00000, 3, MT_UC);
	expect_identity(&pt, GiB(4) - 1, 3, MT_UC);
	expect_identity(&pt, GiB(4), 3, MT_WB);
	expect_identity(&pt, GiB(8) - 1, 3, MT_WB);
	expect_absent(&pt, GiB(8));

	/* The VMM's chunks carved out (2 MiB each, as build_tables does). */
	static const uint64_t chunks[] = {MiB(4), GiB(3) + MiB(10), GiB(5) + MiB(2)};
	for (size_t i = 0; i < 3; i++)
		CHECK_EQ(pt_map(&pt, chunks[i], chunks[i], MiB(2), 0, PT_MT_WB, 2), 0);
	for (size_t i = 0; i < 3; i++) {
		expect_absent(&pt, chunks[i]);
		expect_absent(&pt, chunks[i] + MiB(2) - 1);
	}
	/* The split GiBs keep their types; the UC one stays UC in all 511 leaves. */
	expect_identity(&pt, GiB(3) + MiB(8), 2, MT_UC);
	expect_identity(&pt, GiB(3) + MiB(12), 2, MT_UC);
	expect_identity(&pt, GiB(4) - 1, 2, MT_UC);
	expect_identity(&pt, GiB(5) + MiB(4), 2, MT_WB);
	expect_identity(&pt, GiB(5), 2, MT_WB);
	expect_identity(&pt, MiB(6), 2, MT_WB);
	expect_identity(&pt, 0xa0000, 1, MT_UC);
	CHECK_EQ(pt.table_pages, 6);
	CHECK_EQ(pt.leaves[3], 5);
	CHECK_EQ(pt.leaves[2], 511 - 1 + 2 * 511);
	CHECK_EQ(pt.leaves[1], 512);

	/* Without 1 GiB pages: 2 MiB everywhere but the first 2 MiB. */
	setup(&pt);
	CHECK_EQ(pt_map_identity_typed(&pt, GiB(8), ACC_RWX, 2, mtrr_type_of, &m), 0);
	CHECK_TREE(&pt, firmware_want, 2 + 8 + 1, 0, 8 * 512 - 1, 512);

	/* MTRRs off (E clear): all UC, 1 GiB leaves everywhere, even the first MiB. */
	m.enabled = false;
	setup(&pt);
	CHECK_EQ(pt_map_identity_typed(&pt, GiB(8), ACC_RWX, 3, mtrr_type_of, &m), 0);
	CHECK_EQ(pt.table_pages, 2);
	CHECK_EQ(pt.leaves[3], 8);
	expect_identity(&pt, 0xa0000, 3, MT_UC);
	expect_identity(&pt, GiB(5), 3, MT_UC);
}

/*
 * BUG (thinvmm/core/mtrr.c, mtrr_range_type, the line
 * `if (mask & (size - 1)) return -1;`): any valid variable range smaller
 * than the block makes the block "mixed", even when the range does not
 * touch the block at all. The check runs before the base comparison, so
 * one small range anywhere in memory (a 256 MiB PCI window, an 8 MiB
 * TSEG, ...) turns every 1 GiB query into -1 and the whole EPT map into
 * 2 MiB leaves; a range under 2 MiB turns it into 4 KiB leaves. With
 * phys_limit = 2^phys_bits (build_tables, gbpages) that is 512 PD pages
 * (2 MiB) instead of a handful at 39 bits, 64 Ki pages (256 MiB) at 46
 * bits, and with a sub-2 MiB range 512x more: the VMM runs out of memory.
 * The contract (mtrr.h) is "the type of every byte if they all share
 * one". A fix: first compare the bits above the block,
 * `(pa & mask & ~(size - 1)) != (base & mask & ~(size - 1))` -> the range
 * misses the block, skip it; only then `mask & (size - 1)` -> -1.
 * (A regression test: mtrr.c once ran the partial-overlap check first.)
 */
TEST(mtrr_far_small_range_allows_large_pages)
{
	struct mtrr_state m;
	struct pt pt;

	/* One range, 3..4 GiB UC; a block far above it. */
	state_init(&m, MT_WB);
	add_var(&m, GiB(3), GiB(1), MT_UC);
	CHECK_TYPE(&m, GiB(256), GiB(256), MT_WB);
	CHECK_TYPE(&m, GiB(8), GiB(8), MT_WB);
	/* A 64 KiB WT range, and a 4 KiB WC page just past it. */
	add_var(&m, 0x12340000, KiB(64), MT_WT);
	add_var(&m, 0x12356000, KiB(4), MT_WC);
	CHECK_TYPE(&m, 0x12340000, KiB(64), MT_WT);
	CHECK_TYPE(&m, 0x12350000, KiB(16), MT_WB);

	/* The firmware layout with the PCI hole from 0xb0000000: 1 GiB + 256 MiB. */
	firmware_layout(&m);
	m.var[1].base = 0xb0000000 | MT_UC;
	m.var[1].mask = (~(MiB(256) - 1) & ADDR_MASK) | VALID;
	/* Nowhere near the 256 MiB range: all WB, or all UC. */
	CHECK_TYPE(&m, GiB(1), GiB(1), MT_WB);
	CHECK_TYPE(&m, GiB(4), GiB(1), MT_WB);
	CHECK_TYPE(&m, GiB(3), GiB(1), MT_UC);
	CHECK_TYPE(&m, GiB(256), GiB(256), MT_WB);
	/* Inside it, and across its edge: right today. */
	CHECK_TYPE(&m, 0xb0000000, MiB(256), MT_UC);
	CHECK_TYPE(&m, GiB(2), GiB(1), -1);
	/* A 1 MiB range (at 0xfed00000, inside the UC GiB) and a 2 MiB block far away. */
	m.var[2].base = 0xfed00000 | MT_UC;
	m.var[2].mask = (~(MiB(1) - 1) & ADDR_MASK) | VALID;
	CHECK_TYPE(&m, GiB(4), MiB(2), MT_WB);
	CHECK_TYPE(&m, MiB(2), MiB(2), MT_WB);
	m.var[2].mask &= ~VALID;

	/* The EPT map: 1 GiB leaves wherever a GiB is uniform. */
	setup(&pt);
	CHECK_EQ(pt_map_identity_typed(&pt, GiB(8), ACC_RWX, 3, mtrr_type_of, &m), 0);
	expect_identity(&pt, GiB(1), 3, MT_WB);
	expect_identity(&pt, GiB(3), 3, MT_UC);
	expect_identity(&pt, GiB(4), 3, MT_WB);
	expect_identity(&pt, GiB(2) + MiB(768), 2, MT_UC);
	expect_identity(&pt, GiB(2) + MiB(768) - 1, 2, MT_WB);
	/* GiBs 1, 3..7 as 1 GiB; GiB 0 and 2 in 2 MiB; the first 2 MiB in 4 KiB. */
	if (pt.table_pages != 5)
		fprintf(stderr, "  today: %llu table pages for 8 GiB, want 5\n",
			(unsigned long long)pt.table_pages);
	CHECK_EQ(pt.table_pages, 5);
	CHECK_EQ(pt.leaves[3], 6);
	CHECK_EQ(pt.leaves[2], 511 + 512);
	CHECK_EQ(pt.leaves[1], 512);

	/* The whole 39-bit space, as build_tables maps it with 1 GiB pages. */
	setup(&pt);
	CHECK_EQ(pt_map_identity_typed(&pt, 1ull << PHYS_BITS, ACC_RWX, 3, mtrr_type_of, &m), 0);
	if (pt.table_pages != 5)
		fprintf(stderr, "  today: %llu table pages for 512 GiB, want 5\n",
			(unsigned long long)pt.table_pages);
	CHECK_EQ(pt.table_pages, 5);
	CHECK_EQ(pt.leaves[3], 512 - 2);
}
