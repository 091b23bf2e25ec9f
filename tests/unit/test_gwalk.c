/* SPDX-License-Identifier: MIT */
/*
 * The guest page-table walker against page tables built in a fake,
 * sparse guest-physical memory. Expected addresses are written out by
 * hand rather than computed, so the builder and the walker cannot agree
 * on the same mistake.
 */
#include <stdio.h>
#include <string.h>

#include "core/gwalk.h"
#include "test.h"

#define P  (1ULL << 0)
#define RW (1ULL << 1)
#define US (1ULL << 2)
#define PS (1ULL << 7)
#define NX (1ULL << 63)

#define LMA  GWALK_EFER_LMA
#define NXE  GWALK_EFER_NXE
#define LA57 GWALK_CR4_LA57

#define MAX_PAGES 48

/* Guest-physical pages at arbitrary addresses, each 4 KiB. */
struct fake_mem {
	uint64_t gpa[MAX_PAGES];
	uint64_t data[MAX_PAGES][512];
	int npages;
	uint64_t next_table; /* where the builder puts the next table */
	int reads;
	bool misaligned; /* a read64 not 8-aligned: a walker bug */
};

static uint64_t *page_at(struct fake_mem *m, uint64_t gpa)
{
	for (int i = 0; i < m->npages; i++)
		if (m->gpa[i] == (gpa & ~0xfffULL))
			return m->data[i];
	return NULL;
}

static uint64_t *add_page(struct fake_mem *m, uint64_t gpa)
{
	uint64_t *p = page_at(m, gpa);

	if (p != NULL)
		return p;
	if (!CHECK(m->npages < MAX_PAGES))
		return m->data[0];
	m->gpa[m->npages] = gpa & ~0xfffULL;
	memset(m->data[m->npages], 0, sizeof(m->data[0]));
	return m->data[m->npages++];
}

static int fake_read64(void *opaque, uint64_t gpa, uint64_t *val)
{
	struct fake_mem *m = opaque;
	uint64_t *p = page_at(m, gpa);

	m->reads++;
	if (gpa & 7)
		m->misaligned = true;
	if (p == NULL)
		return -1;
	*val = p[(gpa & 0xfff) / 8];
	return 0;
}

static int fake_read_phys(void *opaque, uint64_t gpa, void *dst, size_t n)
{
	struct fake_mem *m = opaque;
	uint8_t *out = dst;

	/* The walker promises each call stays inside one guest page. */
	for (size_t i = 0; i < n; i++) {
		uint64_t *p = page_at(m, gpa + i);

		if (p == NULL)
			return -1;
		out[i] = ((uint8_t *)p)[(gpa + i) & 0xfff];
	}
	return 0;
}

/* Tables go at 0x000f'0000'0000'0000 upwards: high bits exercise the masks. */
static void mem_init(struct fake_mem *m)
{
	memset(m, 0, sizeof(*m));
	m->next_table = 0x000f000000000000ULL;
}

static uint64_t new_table(struct fake_mem *m)
{
	uint64_t gpa = m->next_table;

	m->next_table += 0x1000;
	add_page(m, gpa);
	return gpa;
}

/*
 * Maps gva to gpa with a leaf at `leaf_level` (1: 4K, 2: 2M, 3: 1G) and
 * returns a pointer to the entry at `want_level` so tests can corrupt it.
 */
static uint64_t *map(struct fake_mem *m, uint64_t root, int levels, uint64_t gva, uint64_t gpa,
		     int leaf_level, int want_level)
{
	uint64_t table = root, *want = NULL;

	for (int level = levels; level >= leaf_level; level--) {
		uint64_t *t = page_at(m, table), *e;

		if (!CHECK(t != NULL))
			return m->data[0];
		e = &t[(gva >> (12 + 9 * (level - 1))) & 511];

		if (level == want_level)
			want = e;
		if (level == leaf_level) {
			*e = gpa | P | RW | (leaf_level > 1 ? PS : 0);
			break;
		}
		if (!(*e & P))
			*e = new_table(m) | P | RW | US;
		table = *e & 0x000ffffffffff000ULL;
	}
	return want;
}

static struct gwalk_ctx ctx(struct fake_mem *m, uint64_t cr3, uint64_t cr4)
{
	struct gwalk_ctx c = {
	    .cr3 = cr3, .cr4 = cr4, .efer = LMA | NXE, .read64 = fake_read64, .opaque = m};
	return c;
}

/* Translates and checks gpa and page size; also counts the reads. */
static void expect(const struct gwalk_ctx *c, uint64_t gva, uint64_t want_gpa, uint64_t want_size,
		   int want_reads, int line)
{
	struct fake_mem *m = c->opaque;
	uint64_t gpa = 0xdead, size = 0xdead;

	m->reads = 0;
	if (!CHECK_EQ(gwalk_translate(c, gva, &gpa, &size), 0) || !CHECK_EQ(gpa, want_gpa) ||
	    !CHECK_EQ(size, want_size) || !CHECK_EQ(m->reads, want_reads))
		fprintf(stderr, "  (line %d, gva %#llx)\n", line, (unsigned long long)gva);
	CHECK(!m->misaligned);
}

static void expect_fail(const struct gwalk_ctx *c, uint64_t gva, int line)
{
	uint64_t gpa = 0x5a5a, size = 0x5a5a;

	if (!CHECK_EQ(gwalk_translate(c, gva, &gpa, &size), -1))
		fprintf(stderr, "  (line %d, gva %#llx gave %#llx)\n", line,
			(unsigned long long)gva, (unsigned long long)gpa);
	CHECK_EQ(gpa, 0x5a5a);
	CHECK_EQ(size, 0x5a5a);
}

#define EXPECT(c, gva, gpa, size, reads) expect(c, gva, gpa, size, reads, __LINE__)
#define EXPECT_FAIL(c, gva)		 expect_fail(c, gva, __LINE__)

static struct fake_mem mem; /* too big for the stack under ASan */

TEST(gwalk_4level_4k)
{
	uint64_t cr3;
	struct gwalk_ctx c;

	mem_init(&mem);
	cr3 = new_table(&mem);
	c = ctx(&mem, cr3, 0);
	map(&mem, cr3, 4, 0x0000123456789000ULL, 0x00000000deadb000ULL, 1, 0);
	map(&mem, cr3, 4, 0x00007ffffffff000ULL, 0x000ffffffffff000ULL, 1, 0);
	map(&mem, cr3, 4, 0xffff888000001000ULL, 0x0000000000001000ULL, 1, 0);
	map(&mem, cr3, 4, 0xfffffffffffff000ULL, 0x0000000000abc000ULL, 1, 0);
	EXPECT(&c, 0x0000123456789abcULL, 0x00000000deadbabcULL, 4096, 4);
	EXPECT(&c, 0x0000123456789000ULL, 0x00000000deadb000ULL, 4096, 4);
	EXPECT(&c, 0x00007fffffffffffULL, 0x000fffffffffffffULL, 4096, 4);
	EXPECT(&c, 0xffff888000001008ULL, 0x0000000000001008ULL, 4096, 4);
	EXPECT(&c, 0xffffffffffffffffULL, 0x0000000000abcfffULL, 4096, 4);
	EXPECT_FAIL(&c, 0x0000123456788abcULL); /* the neighbouring page */
	EXPECT_FAIL(&c, 0);
}

TEST(gwalk_4level_large_pages)
{
	uint64_t cr3;
	struct gwalk_ctx c;

	mem_init(&mem);
	cr3 = new_table(&mem);
	c = ctx(&mem, cr3, 0);
	map(&mem, cr3, 4, 0x0000000040000000ULL, 0x0000001fc0000000ULL, 3, 0);
	map(&mem, cr3, 4, 0xffffffff80000000ULL, 0x0000000001000000ULL, 2, 0);
	map(&mem, cr3, 4, 0xffffffff80200000ULL, 0x000fffffffe00000ULL, 2, 0);
	EXPECT(&c, 0x0000000040000000ULL, 0x0000001fc0000000ULL, 1ULL << 30, 2);
	EXPECT(&c, 0x000000007fffffffULL, 0x0000001fffffffffULL, 1ULL << 30, 2);
	EXPECT(&c, 0x0000000041234567ULL, 0x0000001fc1234567ULL, 1ULL << 30, 2);
	EXPECT(&c, 0xffffffff80123456ULL, 0x0000000001123456ULL, 1ULL << 21, 3);
	EXPECT(&c, 0xffffffff803fffffULL, 0x000fffffffffffffULL, 1ULL << 21, 3);
	EXPECT_FAIL(&c, 0xffffffff80400000ULL);
}

TEST(gwalk_5level)
{
	uint64_t cr3;
	struct gwalk_ctx c;

	mem_init(&mem);
	cr3 = new_table(&mem);
	c = ctx(&mem, cr3, LA57);
	map(&mem, cr3, 5, 0x00fedcba98765000ULL, 0x0000000012345000ULL, 1, 0);
	map(&mem, cr3, 5, 0xff11223344556000ULL, 0x0000000000777000ULL, 1, 0);
	map(&mem, cr3, 5, 0x0000800000000000ULL, 0x0000000080000000ULL, 3, 0);
	map(&mem, cr3, 5, 0xff00000000200000ULL, 0x0000000000400000ULL, 2, 0);
	EXPECT(&c, 0x00fedcba98765432ULL, 0x0000000012345432ULL, 4096, 5);
	EXPECT(&c, 0xff11223344556fffULL, 0x0000000000777fffULL, 4096, 5);
	EXPECT(&c, 0x0000800012345678ULL, 0x0000000092345678ULL, 1ULL << 30, 3);
	EXPECT(&c, 0xff000000002abcdeULL, 0x00000000004abcdeULL, 1ULL << 21, 4);
	/* The same tables read with 4 levels: those addresses are not canonical. */
	c.cr4 = 0;
	mem.reads = 0;
	EXPECT_FAIL(&c, 0x00fedcba98765432ULL);
	EXPECT_FAIL(&c, 0x0000800012345678ULL);
	CHECK_EQ(mem.reads, 0);
}

TEST(gwalk_not_present_each_level)
{
	for (int levels = 4; levels <= 5; levels++) {
		for (int leaf = 1; leaf <= 3; leaf++) {
			for (int level = leaf; level <= levels; level++) {
				uint64_t gva = 0x00003456789ab000ULL, cr3, *e;
				struct gwalk_ctx c;

				mem_init(&mem);
				cr3 = new_table(&mem);
				c = ctx(&mem, cr3, levels == 5 ? LA57 : 0);
				e = map(&mem, cr3, levels, gva, 0x200000000ULL, leaf, level);
				if (!CHECK(gwalk_translate(&c, gva, &(uint64_t){0}, NULL) == 0))
					continue;
				/* Every other bit set, P clear: still not present. */
				*e = ~P;
				if (!CHECK_EQ(gwalk_translate(&c, gva, &(uint64_t){0}, NULL), -1))
					fprintf(stderr, "  levels %d leaf %d level %d\n", levels,
						leaf, level);
			}
		}
	}
}

TEST(gwalk_non_canonical)
{
	uint64_t cr3;
	struct gwalk_ctx c;

	mem_init(&mem);
	cr3 = new_table(&mem);
	c = ctx(&mem, cr3, 0);
	/* Make index 0 and 511 present at every level so only the check fails. */
	map(&mem, cr3, 4, 0x0000000000000000ULL, 0, 1, 0);
	map(&mem, cr3, 4, 0xfffffffffffff000ULL, 0, 1, 0);
	mem.reads = 0;
	EXPECT_FAIL(&c, 0x0000800000000000ULL);
	EXPECT_FAIL(&c, 0xffff7fffffffffffULL);
	EXPECT_FAIL(&c, 0x8000000000000000ULL);
	EXPECT_FAIL(&c, 0x7fffffffffffffffULL);
	EXPECT_FAIL(&c, 0x0001000000000000ULL);
	EXPECT_FAIL(&c, 0xfeff800000000000ULL);
	CHECK_EQ(mem.reads, 0);
	mem_init(&mem);
	cr3 = new_table(&mem);
	c = ctx(&mem, cr3, LA57);
	map(&mem, cr3, 5, 0x0000000000000000ULL, 0, 1, 0);
	map(&mem, cr3, 5, 0xfffffffffffff000ULL, 0, 1, 0);
	EXPECT(&c, 0x0000000000000123ULL, 0x123, 4096, 5);
	EXPECT(&c, 0xffffffffffffffffULL, 0xfff, 4096, 5);
	EXPECT_FAIL(&c, 0x0100000000000000ULL);
	EXPECT_FAIL(&c, 0xfeffffffffffffffULL);
	EXPECT_FAIL(&c, 0x8000000000000000ULL);
}

/* CR3: PCID (or PWT/PCD) in 11:0, no-flush in 63 and LAM in 62:61 are not address. */
TEST(gwalk_cr3_flags)
{
	uint64_t cr3;
	struct gwalk_ctx c;

	mem_init(&mem);
	cr3 = new_table(&mem);
	map(&mem, cr3, 4, 0x0000000000400000ULL, 0x0000000000123000ULL, 1, 0);
	c = ctx(&mem, cr3 | 0xfff, 0);
	EXPECT(&c, 0x400010, 0x123010, 4096, 4);
	c.cr3 = cr3 | 1ULL << 63 | 0x018;
	EXPECT(&c, 0x400010, 0x123010, 4096, 4);
	c.cr3 = cr3 | 3ULL << 61 | 0x001;
	EXPECT(&c, 0x400010, 0x123010, 4096, 4);
}

TEST(gwalk_requires_long_mode)
{
	uint64_t cr3;
	struct gwalk_ctx c;

	mem_init(&mem);
	cr3 = new_table(&mem);
	map(&mem, cr3, 4, 0x1000, 0x2000, 1, 0);
	c = ctx(&mem, cr3, 0);
	EXPECT(&c, 0x1000, 0x2000, 4096, 4);
	c.efer = NXE;
	EXPECT_FAIL(&c, 0x1000);
}

/* Bits that are not address: NX, PKEY/ignored 62:52, PAT, A/D, AVL. */
TEST(gwalk_entry_flag_bits)
{
	uint64_t cr3, *pml4e, *pdpte, *pte, *pde;
	struct gwalk_ctx c;

	mem_init(&mem);
	cr3 = new_table(&mem);
	c = ctx(&mem, cr3, 0);
	pml4e = map(&mem, cr3, 4, 0x1000, 0x5000, 1, 4);
	pdpte = map(&mem, cr3, 4, 0x1000, 0x5000, 1, 3);
	pde = map(&mem, cr3, 4, 0x1000, 0x5000, 1, 2);
	pte = map(&mem, cr3, 4, 0x1000, 0x5000, 1, 1);
	*pml4e |= NX | 0x7ff0000000000000ULL | 0xe60;
	*pdpte |= NX | 0x7ff0000000000000ULL | 0xe60;
	*pde |= NX | 0x7ff0000000000000ULL | 0xe60;
	*pte |= NX | 0x7ff0000000000000ULL | 0xfe0; /* bit 7 is PAT here */
	EXPECT(&c, 0x1234, 0x5234, 4096, 4);
	/* Without EFER.NXE bit 63 is reserved. */
	c.efer = LMA;
	EXPECT_FAIL(&c, 0x1234);
	*pml4e &= ~NX;
	*pdpte &= ~NX;
	*pde &= ~NX;
	EXPECT_FAIL(&c, 0x1234);
	*pte &= ~NX;
	EXPECT(&c, 0x1234, 0x5234, 4096, 4);
}

TEST(gwalk_large_page_reserved_bits)
{
	uint64_t cr3, *pdpte, *pde;
	struct gwalk_ctx c;

	mem_init(&mem);
	cr3 = new_table(&mem);
	c = ctx(&mem, cr3, 0);
	pdpte = map(&mem, cr3, 4, 0x40000000, 0x80000000ULL, 3, 3);
	pde = map(&mem, cr3, 4, 0x200000, 0x600000, 2, 2);
	/* Bit 12 is the large page's PAT bit, not address. */
	*pdpte |= 1ULL << 12;
	*pde |= 1ULL << 12;
	EXPECT(&c, 0x40000123, 0x80000123ULL, 1ULL << 30, 2);
	EXPECT(&c, 0x200123, 0x600123, 1ULL << 21, 3);
	for (int bit = 13; bit <= 29; bit++) {
		uint64_t saved = *pdpte;

		*pdpte |= 1ULL << bit;
		EXPECT_FAIL(&c, 0x40000123);
		*pdpte = saved;
	}
	for (int bit = 13; bit <= 20; bit++) {
		uint64_t saved = *pde;

		*pde |= 1ULL << bit;
		EXPECT_FAIL(&c, 0x200123);
		*pde = saved;
	}
}

TEST(gwalk_ps_reserved_at_top_levels)
{
	for (int levels = 4; levels <= 5; levels++) {
		for (int level = 4; level <= levels; level++) {
			uint64_t cr3, *e;
			struct gwalk_ctx c;

			mem_init(&mem);
			cr3 = new_table(&mem);
			c = ctx(&mem, cr3, levels == 5 ? LA57 : 0);
			e = map(&mem, cr3, levels, 0x1000, 0x3000, 1, level);
			EXPECT(&c, 0x1000, 0x3000, 4096, levels);
			*e |= PS;
			EXPECT_FAIL(&c, 0x1000);
		}
	}
}

TEST(gwalk_maxphyaddr)
{
	uint64_t cr3, *pte;
	struct gwalk_ctx c;

	mem_init(&mem);
	cr3 = 0x1000;
	add_page(&mem, cr3);
	mem.next_table = 0x2000;
	c = ctx(&mem, cr3, 0);
	pte = map(&mem, cr3, 4, 0x7000, 0x000000ffff000000ULL, 1, 1);
	c.maxphyaddr = 40;
	EXPECT(&c, 0x7008, 0x000000ffff000008ULL, 4096, 4);
	*pte |= 1ULL << 40;
	EXPECT_FAIL(&c, 0x7008);
	c.maxphyaddr = 0; /* unknown: every address bit allowed */
	EXPECT(&c, 0x7008, 0x000001ffff000008ULL, 4096, 4);
	c.maxphyaddr = 52;
	EXPECT(&c, 0x7008, 0x000001ffff000008ULL, 4096, 4);
	c.maxphyaddr = 31; /* no real CPU: ignored */
	EXPECT(&c, 0x7008, 0x000001ffff000008ULL, 4096, 4);
	c.maxphyaddr = 41;
	EXPECT(&c, 0x7008, 0x000001ffff000008ULL, 4096, 4);
	c.maxphyaddr = 32;
	EXPECT_FAIL(&c, 0x7008);
}

TEST(gwalk_read_failure)
{
	uint64_t cr3, *pde;
	struct gwalk_ctx c;

	mem_init(&mem);
	cr3 = new_table(&mem);
	c = ctx(&mem, cr3, 0);
	pde = map(&mem, cr3, 4, 0x1000, 0x3000, 1, 2);
	/* Point the PDE at a table nobody backs: read64 fails. */
	*pde = 0x0000000700000000ULL | P | RW;
	EXPECT_FAIL(&c, 0x1000);
	c.cr3 = 0x0000000900000000ULL;
	EXPECT_FAIL(&c, 0x1000);
}

TEST(gwalk_read_across_pages)
{
	uint64_t cr3, *pte;
	uint8_t *p1, *p2, buf[32];
	struct gwalk_ctx c;

	mem_init(&mem);
	cr3 = new_table(&mem);
	c = ctx(&mem, cr3, 0);
	/* Two neighbouring virtual pages on physical pages far apart. */
	map(&mem, cr3, 4, 0x400000, 0x9000, 1, 0);
	pte = map(&mem, cr3, 4, 0x401000, 0x3000, 1, 1);
	p1 = (uint8_t *)add_page(&mem, 0x9000);
	p2 = (uint8_t *)add_page(&mem, 0x3000);
	for (int i = 0; i < 4096; i++) {
		p1[i] = (uint8_t)i;
		p2[i] = (uint8_t)(0x80 + i);
	}
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(gwalk_read(&c, 0x400ff8, buf, 16, fake_read_phys), 16);
	for (int i = 0; i < 8; i++) {
		CHECK_EQ(buf[i], 0xf8 + i);
		CHECK_EQ(buf[8 + i], 0x80 + i);
	}
	CHECK_EQ(gwalk_read(&c, 0x400ff8, buf, 0, fake_read_phys), 0);
	/* Second page gone: the bytes before the boundary still come back. */
	*pte = 0;
	CHECK_EQ(gwalk_read(&c, 0x400ff1, buf, 15, fake_read_phys), 15);
	CHECK_EQ(gwalk_read(&c, 0x400ff2, buf, 15, fake_read_phys), 14);
	CHECK_EQ(gwalk_read(&c, 0x401000, buf, 15, fake_read_phys), 0);
	/* Mapped, but its physical page is not backed. */
	*pte = 0x0000000400000000ULL | P;
	CHECK_EQ(gwalk_read(&c, 0x400ffc, buf, 8, fake_read_phys), 4);
	/* No wrap past the top of the address space. */
	map(&mem, cr3, 4, 0xfffffffffffff000ULL, 0x9000, 1, 0);
	map(&mem, cr3, 4, 0, 0x9000, 1, 0);
	CHECK_EQ(gwalk_read(&c, 0xfffffffffffffffcULL, buf, 8, fake_read_phys), 4);
}

TEST(gwalk_read_large_page)
{
	uint64_t cr3;
	uint8_t *p, buf[8];
	struct gwalk_ctx c;

	mem_init(&mem);
	cr3 = new_table(&mem);
	c = ctx(&mem, cr3, 0);
	map(&mem, cr3, 4, 0x600000, 0x40000000, 2, 0);
	/* Crossing a 4 KiB boundary inside one 2 MiB page: one chunk. */
	p = (uint8_t *)add_page(&mem, 0x40001000);
	add_page(&mem, 0x40000000)[511] = 0x8877665544332211ULL;
	p[0] = 0x99;
	CHECK_EQ(gwalk_read(&c, 0x600ff9, buf, 8, fake_read_phys), 8);
	CHECK_EQ(buf[0], 0x22);
	CHECK_EQ(buf[6], 0x88);
	CHECK_EQ(buf[7], 0x99);
}
