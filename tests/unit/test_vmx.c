/* SPDX-License-Identifier: MIT */
/*
 * The VT-x backend's pure logic: control values from capability MSRs,
 * exit qualifications and segment access rights (vmx/controls.c), each
 * against values worked out by hand from the Intel SDM (appendix A.3,
 * table 28-3 and the EPT-violation qualification, the VMCS
 * access-rights format); and the EPT entry format (vmx/ept.c) driven by
 * the page-table builder, with the raw entries read back by a walk here
 * that spells the EPT bits out again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pgtable.h"
#include "core/vmm.h"
#include "fake_pool.h"
#include "test.h"

/* Identity translations, as every table here maps. */
#define expect_identity(pt, va, perm, level, mt) expect_map(pt, va, va, perm, level, mt)
#include "vmx/controls.h"

extern const struct pt_format ept_format; /* vmx/ept.c */

#define KiB(x) ((uint64_t)(x) << 10)
#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)

/* ---- vmx_control (SDM A.3: low half allowed-0, high half allowed-1) ---- */

static uint64_t cap_of(uint32_t must1, uint32_t may1)
{
	return (uint64_t)may1 << 32 | must1;
}

/* One call with poisoned outputs: its return, *out and *missing. */
static int control(uint64_t cap, uint32_t need, uint32_t want, uint32_t *out, uint32_t *missing)
{
	*out = 0xdeadbeef;
	*missing = 0xdeadbeef;
	return vmx_control(cap, need, want, out, missing);
}

TEST(vmx_control_must1_and_want)
{
	uint32_t out, miss;

	/* A real IA32_VMX_PINBASED_CTLS: bits 1, 2, 4 must be 1; 0..6 may be 1. */
	const uint64_t pin = 0x0000007f00000016ull;
	CHECK_EQ(control(pin, 0, 0, &out, &miss), 0);
	CHECK_EQ(out, 0x16);
	CHECK_EQ(miss, 0);
	/* Want NMI exiting (3, allowed) and posted interrupts (7, not allowed). */
	CHECK_EQ(control(pin, 0, (1u << 3) | (1u << 7), &out, &miss), 0);
	CHECK_EQ(out, 0x1e);
	CHECK_EQ(miss, 0);
	/* Need a bit that is also must-1: no harm. */
	CHECK_EQ(control(pin, 1u << 2, 0, &out, &miss), 0);
	CHECK_EQ(out, 0x16);

	/* A real IA32_VMX_PROCBASED_CTLS: bits 0, 17, 18 may not be 1. */
	const uint64_t proc = 0xfff9fffe0401e172ull;
	/* Need MSR bitmaps (28) and secondary controls (31). */
	CHECK_EQ(control(proc, (1u << 28) | (1u << 31), 0, &out, &miss), 0);
	CHECK_EQ(out, 0x9401e172);
	CHECK_EQ(miss, 0);
	/* Want everything: exactly the allowed-1 settings. */
	CHECK_EQ(control(proc, 0, ~0u, &out, &miss), 0);
	CHECK_EQ(out, 0xfff9fffe);
	/* Want only disallowed bits: must-1 alone. */
	CHECK_EQ(control(proc, 0, (1u << 0) | (1u << 17) | (1u << 18), &out, &miss), 0);
	CHECK_EQ(out, 0x0401e172);

	/* Everything free: need | want, nothing else. */
	CHECK_EQ(control(cap_of(0, ~0u), 0x00f0000f, 0x0f000000, &out, &miss), 0);
	CHECK_EQ(out, 0x0ff0000f);
	/* Nothing allowed at all, nothing asked: 0. */
	CHECK_EQ(control(0, 0, ~0u, &out, &miss), 0);
	CHECK_EQ(out, 0);
	CHECK_EQ(miss, 0);
}

TEST(vmx_control_need_not_allowed)
{
	uint32_t out, miss;
	const uint64_t proc = 0xfff9fffe0401e172ull;

	/* Need bit 17 (not allowed-1) with bit 28 (allowed): -1, only 17 named. */
	CHECK_EQ(control(proc, (1u << 17) | (1u << 28), 0, &out, &miss), -1);
	CHECK_EQ(miss, 1u << 17);
	/* Every missing bit is named, none of the allowed ones. */
	CHECK_EQ(control(proc, ~0u, 0, &out, &miss), -1);
	CHECK_EQ(miss, (1u << 0) | (1u << 17) | (1u << 18));
	CHECK_EQ(control(cap_of(0, 0x0fffffff), 0xf0000001, 0, &out, &miss), -1);
	CHECK_EQ(miss, 0xf0000000);
	CHECK_EQ(control(0, 1, 0, &out, &miss), -1);
	CHECK_EQ(miss, 1);
	/* A want bit that is not allowed is never "missing". */
	CHECK_EQ(control(cap_of(0, 1), 1, 2, &out, &miss), 0);
	CHECK_EQ(out, 1);
	CHECK_EQ(miss, 0);
}

TEST(vmx_control_broken_capability)
{
	uint32_t out, miss;

	/* Bit 5 must be 1 but may not be 1: no value can satisfy the CPU. */
	CHECK_EQ(control(cap_of(0x20, ~0x20u), 0, 0, &out, &miss), -1);
	CHECK_EQ(miss, 0x20);
	/* Even with need and want satisfiable, and with more than one such bit. */
	CHECK_EQ(control(cap_of(0x80000021, 0x7ffffffe), 0x6, 0x8, &out, &miss), -1);
	CHECK_EQ(miss, 0x80000001);
	/* The must-1 bit that is fine is not named. */
	CHECK_EQ(control(cap_of(0x30, ~0x20u), 0, 0, &out, &miss), -1);
	CHECK_EQ(miss, 0x20);
}

/* ---- CR-access qualification (SDM table 28-3) ---- */

static void cr_case(uint64_t qual, unsigned cr, unsigned type, unsigned gpr)
{
	struct cr_qual q;

	memset(&q, 0xa5, sizeof(q));
	vmx_cr_qual(qual, &q);
	if (!CHECK_EQ(q.cr, cr) || !CHECK_EQ(q.type, type) || !CHECK_EQ(q.gpr, gpr))
		fprintf(stderr, "  (qualification %#llx)\n", (unsigned long long)qual);
}

TEST(vmx_cr_qualification)
{
	cr_case(0x303, 3, 0, 3);  /* mov cr3, rbx */
	cr_case(0x004, 4, 0, 0);  /* mov cr4, rax */
	cr_case(0xf18, 8, 1, 15); /* mov r15, cr8 */
	cr_case(0x413, 3, 1, 4);  /* mov rsp, cr3 */
	cr_case(0x900, 0, 0, 9);  /* mov cr0, r9 */
	cr_case(0x020, 0, 2, 0);  /* clts */
	/* lmsw ax: bit 6 operand type (register), 31:16 the source data. */
	cr_case(0xfff10030, 0, 3, 0);
	cr_case(0xfff10070, 0, 3, 0); /* lmsw [mem]: bit 6 must not leak into type */
	/* Reserved bits 7, 15:12 and 63:32 set: the fields stay what they are. */
	cr_case(0xffffffff0000f3a4ull, 4, 2, 3);
	cr_case(~0ull, 15, 3, 15);
}

/* ---- EPT-violation qualification ---- */

static void ept_case(uint64_t qual, unsigned access, int in_walk)
{
	uint8_t a = 0xa5;
	int w = 0x5a;

	vmx_ept_qual(qual, &a, &w);
	if (!CHECK_EQ(a, access) || !CHECK_EQ(!!w, in_walk))
		fprintf(stderr, "  (qualification %#llx)\n", (unsigned long long)qual);
}

TEST(vmx_ept_qualification)
{
	/* Bit 7 clear: no linear address (e.g. PDPTE loads): never "in the walk". */
	ept_case(0x001, ACC_R, 0);
	ept_case(0x002, ACC_W, 0);
	ept_case(0x004, ACC_X, 0);
	/* Bit 7 set, bit 8 set: the access to the final translation. */
	ept_case(0x181, ACC_R, 0);
	ept_case(0x182, ACC_W, 0);
	ept_case(0x184, ACC_X, 0);
	/* Bit 7 set, bit 8 clear: an access to a guest paging-structure entry. */
	ept_case(0x081, ACC_R, 1);
	ept_case(0x083, ACC_W, 1); /* A/D update: read and write */
	/* Bit 8 without bit 7 means nothing. */
	ept_case(0x101, ACC_R, 0);
	/* A read-modify-write reports read and write: it needs write. */
	ept_case(0x183, ACC_W, 0);
	/* Bits 5:3 (what the entry allowed) and 12 (NMI unblocking) are not the access. */
	ept_case(0x1aa, ACC_W, 0);  /* write; entry R, X (bits 3, 5) */
	ept_case(0x1001, ACC_R, 0); /* read, NMI unblocking */
	ept_case(0x0f9, ACC_R, 1);  /* read in the walk, entry R/W/X */
}

/* ---- segment access rights (VMCS format from a GDT descriptor) ---- */

static void ar_case(uint64_t desc, uint32_t ar)
{
	if (!CHECK_EQ(vmx_seg_ar(desc), ar))
		fprintf(stderr, "  (descriptor %#018llx)\n", (unsigned long long)desc);
}

TEST(vmx_segment_access_rights)
{
	/* Linux's GDT: limit 19:16 (bits 51:48) and base 31:24 must not leak. */
	ar_case(0x00af9b000000ffffull, 0xa09b); /* __KERNEL_CS: L=1, G=1, P, DPL 0, code */
	ar_case(0x00cf93000000ffffull, 0xc093); /* __KERNEL_DS: D/B=1, G=1, data RW */
	ar_case(0x00affb000000ffffull, 0xa0fb); /* __USER_CS: DPL 3 */
	ar_case(0x00cff3000000ffffull, 0xc0f3); /* __USER_DS */
	ar_case(0x00cffb000000ffffull, 0xc0fb); /* __USER32_CS */
	ar_case(0x00cf9b000000ffffull, 0xc09b); /* __KERNEL32_CS */
	/*
	 * Low half of a 64-bit busy TSS at 0xfffffe00ab003000, limit 0x206f:
	 * type 0xb, S = 0, P; no flags; base 31:24 = 0xab in bits 63:56.
	 */
	ar_case(0xab008b003000206full, 0x008b);
	/* The same TSS with a 20-bit limit of 0xf206f: limit 19:16 stays out. */
	ar_case(0xab0f8b003000206full, 0x008b);
	/* LDT descriptor (type 2), DPL 0. */
	ar_case(0x0000820010000fffull, 0x0082);
	/* AVL (bit 52) lands in bit 12; nothing from 39:0 or 63:56. */
	ar_case(0x0010000000000000ull, 0x1000);
	ar_case(0xff0f00ffffffffffull, 0x0000);
	ar_case(~0ull, 0xf0ff);
	ar_case(0, 0);
}

/* ---- EPT entries through the page-table builder ---- */

/* EPT entry bits, spelled out again rather than taken from ept.c. */
#define EPT_R	   (1ull << 0)
#define EPT_W	   (1ull << 1)
#define EPT_X	   (1ull << 2)
#define EPT_MT	   (7ull << 3)
#define EPT_IPAT   (1ull << 6)
#define EPT_PS	   (1ull << 7)
#define EPT_ADDR   0x000ffffffffff000ull
#define EPT_RWX	   (EPT_R | EPT_W | EPT_X)
#define MT_BITS(t) ((uint64_t)(t) << 3)

static uint64_t *table_at(uint64_t pa)
{
	return pool_ptr(pa);
}

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

/* What a map should hold at [va, va + size): its memory type, or -1 for a hole. */
typedef int (*want_fn)(uint64_t va, uint64_t size);

struct census {
	uint64_t tables, leaves[4];
	uint64_t bad_table; /* a table entry other than address | R | W | X */
	uint64_t bad_leaf;  /* a leaf with bits outside address | RWX | type | PS */
	uint64_t bad_ps;    /* PS on a 4 KiB leaf, or missing on a large one */
	uint64_t bad_ipat;  /* ignore-PAT set anywhere */
	uint64_t bad_perm, bad_mt, bad_identity, bad_align;
	uint64_t bad_hole; /* a leaf where want says nothing may be */
};

static void walk(uint64_t table_pa, unsigned level, uint64_t va, uint64_t perm_bits, want_fn want,
		 struct census *c)
{
	const uint64_t *t = table_at(table_pa);

	c->tables++;
	for (unsigned i = 0; i < 512; i++) {
		uint64_t e = t[i], eva = va | ((uint64_t)i << PT_LEVEL_SHIFT(level));
		uint64_t size = PT_LEVEL_SIZE(level), addr = e & EPT_ADDR;

		if (!(e & EPT_RWX)) {
			CHECK_EQ(e, 0); /* absent entries are empty */
			continue;
		}
		if (e & EPT_IPAT)
			c->bad_ipat++;
		if (level > 3 || (level > 1 && !(e & EPT_PS))) {
			if (e != (addr | EPT_RWX))
				c->bad_table++;
			if (level > 1)
				walk(addr, level - 1, eva, perm_bits, want, c);
			continue;
		}
		c->leaves[level]++;
		int mt = want ? want(eva, size) : PT_MT_WB;
		if (e & ~(EPT_ADDR | EPT_RWX | EPT_MT | EPT_PS))
			c->bad_leaf++;
		if ((level > 1) != !!(e & EPT_PS))
			c->bad_ps++;
		if ((e & EPT_RWX) != perm_bits)
			c->bad_perm++;
		if (mt < 0)
			c->bad_hole++;
		else if ((e & EPT_MT) != MT_BITS(mt))
			c->bad_mt++;
		if (addr & (size - 1))
			c->bad_align++;
		if (addr != eva)
			c->bad_identity++;
	}
}

/* Walks the whole tree; checks it against the builder's counters and the expected counts. */
static void check_tree(const struct pt *pt, uint64_t perm_bits, want_fn want, uint64_t tables,
		       uint64_t l3, uint64_t l2, uint64_t l1, int line)
{
	struct census c = {0};
	bool ok = true;

	walk(pt->root_pa, pt->levels, 0, perm_bits, want, &c);
	ok &= CHECK_EQ(c.tables, tables);
	ok &= CHECK_EQ(pt->table_pages, tables);
	ok &= CHECK_EQ(c.leaves[3], l3);
	ok &= CHECK_EQ(c.leaves[2], l2);
	ok &= CHECK_EQ(c.leaves[1], l1);
	ok &= CHECK_EQ(pt->leaves[3], l3);
	ok &= CHECK_EQ(pt->leaves[2], l2);
	ok &= CHECK_EQ(pt->leaves[1], l1);
	ok &= CHECK_EQ(c.bad_table, 0);
	ok &= CHECK_EQ(c.bad_leaf, 0);
	ok &= CHECK_EQ(c.bad_ps, 0);
	ok &= CHECK_EQ(c.bad_ipat, 0);
	ok &= CHECK_EQ(c.bad_perm, 0);
	ok &= CHECK_EQ(c.bad_mt, 0);
	ok &= CHECK_EQ(c.bad_hole, 0);
	ok &= CHECK_EQ(c.bad_identity, 0);
	ok &= CHECK_EQ(c.bad_align, 0);
	if (!ok)
		fprintf(stderr, "  (line %d)\n", line);
}

#define CHECK_TREE(pt, perm_bits, want, tables, l3, l2, l1)                                        \
	check_tree(pt, perm_bits, want, tables, l3, l2, l1, __LINE__)

/* The raw leaf for va at `level` (the walk must reach it). */
static uint64_t raw_entry(const struct pt *pt, uint64_t va, unsigned level)
{
	const uint64_t *t = table_at(pt->root_pa);

	for (unsigned l = pt->levels; l > level; l--)
		t = table_at(t[(va >> PT_LEVEL_SHIFT(l)) & 511] & EPT_ADDR);
	return t[(va >> PT_LEVEL_SHIFT(level)) & 511];
}

static const enum pt_memtype all_mts[] = {PT_MT_UC, PT_MT_WC, PT_MT_WT, PT_MT_WP, PT_MT_WB};

/* Every permission and type at every leaf size, entry by entry. */
TEST(ept_entry_format)
{
	static const struct {
		unsigned perm;
		uint64_t bits;
	} perms[] = {
	    {ACC_R, EPT_R},
	    {ACC_R | ACC_W, EPT_R | EPT_W},
	    {ACC_R | ACC_X, EPT_R | EPT_X},
	    {ACC_RWX, EPT_RWX},
	    {ACC_X, EPT_X}, /* execute-only (a CPU capability): present all the same */
	};

	for (unsigned p = 0; p < sizeof(perms) / sizeof(perms[0]); p++) {
		for (unsigned m = 0; m < 5; m++) {
			for (unsigned level = 1; level <= 3; level++) {
				struct pt pt;
				uint64_t size = PT_LEVEL_SIZE(level);
				/* High (bit 46 set), so every address bit of the entry is used. */
				uint64_t va = GiB(0x1fff0) + 5 * size;
				uint64_t want = va | perms[p].bits | MT_BITS(all_mts[m]) |
						(level > 1 ? EPT_PS : 0);

				setup(&pt);
				CHECK_EQ(
				    pt_map(&pt, va, va, size, perms[p].perm, all_mts[m], level), 0);
				if (!CHECK_EQ(raw_entry(&pt, va, level), want))
					fprintf(stderr, "  (perm %u mt %u level %u)\n",
						perms[p].perm, all_mts[m], level);
				expect_identity(&pt, va + size - 1, perms[p].perm, level,
						all_mts[m]);
				expect_absent(&pt, va - KiB(4));
				expect_absent(&pt, va + size);
				/* Table entries: address | RWX, whatever the leaf below says. */
				const uint64_t *t = table_at(pt.root_pa);
				for (unsigned l = 4; l > level; l--) {
					uint64_t e = t[(va >> PT_LEVEL_SHIFT(l)) & 511];
					CHECK_EQ(e & ~EPT_ADDR, EPT_RWX);
					t = table_at(e & EPT_ADDR);
				}
			}
		}
	}
}

/* The VMM's chunks as holes in an identity map: 2 MiB aligned. */
static const uint64_t holes[] = {
    0x0000000000200000ull, 0x00000000bfe00000ull, 0x00000000c0000000ull,
    0x0000000100600000ull, 0x0000000100800000ull, 0x0000000f7a400000ull,
};
#define NHOLES	  (sizeof(holes) / sizeof(holes[0]))
#define HOLE_GIBS 5 /* 0, 2, 3, 4, 61 */
#define MAP_LIMIT GiB(64)
#define UC_START  GiB(3)
#define UC_END	  GiB(4)
#define WC_START  (GiB(7) + MiB(6)) /* a framebuffer-like 2 MiB WC window */
#define WC_END	  (WC_START + MiB(2))

static bool in_hole(uint64_t va)
{
	for (size_t i = 0; i < NHOLES; i++)
		if (va - holes[i] < MiB(2))
			return true;
	return false;
}

/* What the map below should say for a leaf at [va, va + size). */
static int vmm_map_type(uint64_t va, uint64_t size)
{
	for (uint64_t a = va; a < va + size; a += MiB(2))
		if (in_hole(a))
			return -1;
	if (va >= UC_START && va < UC_END)
		return PT_MT_UC;
	if (va >= WC_START && va < WC_END)
		return PT_MT_WC;
	return PT_MT_WB;
}

/* pt_map: WB identity over 64 GiB, a UC GiB, a WC 2 MiB, then the holes. */
TEST(ept_identity_map_holes)
{
	struct pt pt;

	setup(&pt);
	CHECK_EQ(pt_map(&pt, 0, 0, MAP_LIMIT, ACC_RWX, PT_MT_WB, 3), 0);
	CHECK_EQ(pt_map(&pt, UC_START, UC_START, UC_END - UC_START, ACC_RWX, PT_MT_UC, 3), 0);
	CHECK_EQ(pt_map(&pt, WC_START, WC_START, WC_END - WC_START, ACC_RWX, PT_MT_WC, 3), 0);
	for (size_t i = 0; i < NHOLES; i++)
		CHECK_EQ(pt_map(&pt, holes[i], holes[i], MiB(2), 0, PT_MT_WB, 2), 0);
	/* GiBs 0, 2, 3, 4, 61 split by holes, 7 by the WC window: 6 PDs. */
	CHECK_TREE(&pt, EPT_RWX, vmm_map_type, 1 + 1 + 6, 64 - 6, 6 * 512 - NHOLES, 0);
	for (uint64_t va = 0; va < MAP_LIMIT; va += MiB(2)) {
		uint64_t gib = va >> 30;
		bool split = gib == 0 || gib == 2 || gib == 3 || gib == 4 || gib == 61 || gib == 7;
		uint64_t sample = va + KiB(4) * ((va >> 21) % 512) + 0x7;
		int t = vmm_map_type(va, MiB(2));

		if (!(t < 0 ? expect_absent(&pt, sample)
			    : expect_identity(&pt, sample, ACC_RWX, split ? 2 : 3, t)))
			break;
	}
	expect_absent(&pt, MAP_LIMIT);
	/* The split UC GiB kept its type in every 2 MiB leaf the hole left. */
	expect_identity(&pt, GiB(3) + MiB(2), ACC_RWX, 2, PT_MT_UC);
	expect_identity(&pt, GiB(4) - 1, ACC_RWX, 2, PT_MT_UC);
	CHECK_EQ(raw_entry(&pt, GiB(3) + MiB(2), 2),
		 (GiB(3) + MiB(2)) | EPT_RWX | MT_BITS(PT_MT_UC) | EPT_PS);
}

/* Splits carry the permission and the type down: 1 GiB -> 2 MiB -> 4 KiB. */
TEST(ept_split_keeps_perm_and_type)
{
	for (unsigned m = 0; m < 5; m++) {
		struct pt pt;
		const uint64_t base = GiB(5), hole = base + MiB(6) + KiB(12);
		const unsigned perm = ACC_R | ACC_X;

		setup(&pt);
		CHECK_EQ(pt_map(&pt, base, base, GiB(1), perm, all_mts[m], 3), 0);
		CHECK_EQ(pt_map(&pt, hole, hole, KiB(4), 0, PT_MT_WB, 3), 0);
		CHECK_EQ(pt.table_pages, 4); /* PML4, PDPT, PD, PT */
		CHECK_EQ(pt.leaves[3], 0);
		CHECK_EQ(pt.leaves[2], 511);
		CHECK_EQ(pt.leaves[1], 511);
		expect_absent(&pt, hole);
		expect_identity(&pt, hole - 1, perm, 1, all_mts[m]);
		expect_identity(&pt, hole + KiB(4), perm, 1, all_mts[m]);
		expect_identity(&pt, base, perm, 2, all_mts[m]);
		expect_identity(&pt, base + GiB(1) - 1, perm, 2, all_mts[m]);
		/* The raw split entries: PS on 2 MiB, not on 4 KiB; ignore-PAT never. */
		CHECK_EQ(raw_entry(&pt, base + MiB(8), 2),
			 (base + MiB(8)) | EPT_R | EPT_X | MT_BITS(all_mts[m]) | EPT_PS);
		CHECK_EQ(raw_entry(&pt, hole + KiB(4), 1),
			 (hole + KiB(4)) | EPT_R | EPT_X | MT_BITS(all_mts[m]));
		CHECK_EQ(raw_entry(&pt, base + MiB(6), 2) & ~EPT_ADDR, EPT_RWX);
	}
}

/* ---- pt_map_identity_typed with a made-up type map ---- */

/*
 * Types by 4 KiB page, from a list of [start, end) runs over WB: UC at
 * 640 KiB - 1 MiB, WP at 1 MiB + 64 KiB (one page), WC for a 2 MiB
 * aligned 4 MiB in GiB 1, UC for GiB 3 less its last 2 MiB (WT).
 */
static const struct run {
	uint64_t start, end;
	int type;
} runs[] = {
    {KiB(640), MiB(1), PT_MT_UC},
    {MiB(1) + KiB(64), MiB(1) + KiB(68), PT_MT_WP},
    {GiB(1) + MiB(100), GiB(1) + MiB(104), PT_MT_WC},
    {GiB(3), GiB(4) - MiB(2), PT_MT_UC},
    {GiB(4) - MiB(2), GiB(4), PT_MT_WT},
};

static int page_type(uint64_t pa)
{
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		if (pa >= runs[i].start && pa < runs[i].end)
			return runs[i].type;
	return PT_MT_WB;
}

static unsigned type_calls, type_bad_args;

static int runs_type_of(const void *ctx, uint64_t pa, uint64_t size)
{
	type_calls++;
	/* Only naturally aligned page-table-sized blocks are asked for. */
	if (ctx != runs || (size != KiB(4) && size != MiB(2) && size != GiB(1)) ||
	    (pa & (size - 1)))
		type_bad_args++;
	int t = page_type(pa);
	for (uint64_t a = pa; a < pa + size; a += KiB(4))
		if (page_type(a) != t)
			return -1;
	return t;
}

static int runs_want(uint64_t va, uint64_t size)
{
	int t = page_type(va);
	for (uint64_t a = va; a < va + size; a += KiB(4))
		if (page_type(a) != t)
			return 0x77; /* a leaf over mixed types: never right */
	return t;
}

TEST(ept_identity_typed)
{
	struct pt pt;

	setup(&pt);
	type_calls = type_bad_args = 0;
	CHECK_EQ(pt_map_identity_typed(&pt, GiB(6), ACC_RWX, 3, runs_type_of, runs), 0);
	CHECK_EQ(type_bad_args, 0);
	/*
	 * GiB 0: first 2 MiB as 4 KiB (mixed), 511 x 2 MiB. GiB 1: two WC 2 MiB
	 * in 2 MiB leaves (512). GiB 2: 1 GiB. GiB 3: 512 x 2 MiB (UC, WT at
	 * the top). GiBs 4, 5: 1 GiB. Tables: PML4, PDPT, 3 PDs, 1 PT.
	 */
	CHECK_TREE(&pt, EPT_RWX, runs_want, 6, 3, 511 + 512 + 512, 512);
	expect_identity(&pt, 0, ACC_RWX, 1, PT_MT_WB);
	expect_identity(&pt, KiB(640) - 1, ACC_RWX, 1, PT_MT_WB);
	expect_identity(&pt, KiB(640), ACC_RWX, 1, PT_MT_UC);
	expect_identity(&pt, MiB(1) - 1, ACC_RWX, 1, PT_MT_UC);
	expect_identity(&pt, MiB(1), ACC_RWX, 1, PT_MT_WB);
	expect_identity(&pt, MiB(1) + KiB(64) + 0x123, ACC_RWX, 1, PT_MT_WP);
	expect_identity(&pt, MiB(1) + KiB(68), ACC_RWX, 1, PT_MT_WB);
	expect_identity(&pt, MiB(2), ACC_RWX, 2, PT_MT_WB);
	expect_identity(&pt, GiB(1), ACC_RWX, 2, PT_MT_WB);
	expect_identity(&pt, GiB(1) + MiB(101), ACC_RWX, 2, PT_MT_WC);
	expect_identity(&pt, GiB(1) + MiB(103), ACC_RWX, 2, PT_MT_WC);
	expect_identity(&pt, GiB(1) + MiB(104), ACC_RWX, 2, PT_MT_WB);
	expect_identity(&pt, GiB(2) + 77, ACC_RWX, 3, PT_MT_WB);
	expect_identity(&pt, GiB(3), ACC_RWX, 2, PT_MT_UC);
	expect_identity(&pt, GiB(4) - MiB(2) - 1, ACC_RWX, 2, PT_MT_UC);
	expect_identity(&pt, GiB(4) - MiB(2), ACC_RWX, 2, PT_MT_WT);
	expect_identity(&pt, GiB(4), ACC_RWX, 3, PT_MT_WB);
	expect_identity(&pt, GiB(6) - 1, ACC_RWX, 3, PT_MT_WB);
	expect_absent(&pt, GiB(6));

	/* The VMM's chunks punched out afterwards; the types around them stay. */
	CHECK_EQ(pt_map(&pt, MiB(2), MiB(2), MiB(2), 0, PT_MT_WB, 2), 0);
	CHECK_EQ(pt_map(&pt, GiB(2) + MiB(4), GiB(2) + MiB(4), MiB(2), 0, PT_MT_WB, 2), 0);
	CHECK_EQ(pt_map(&pt, GiB(4) - MiB(4), GiB(4) - MiB(4), MiB(2), 0, PT_MT_WB, 2), 0);
	expect_absent(&pt, MiB(2));
	expect_absent(&pt, MiB(4) - 1);
	expect_absent(&pt, GiB(2) + MiB(5));
	expect_absent(&pt, GiB(4) - MiB(3));
	expect_identity(&pt, MiB(4), ACC_RWX, 2, PT_MT_WB);
	expect_identity(&pt, GiB(2) + MiB(6), ACC_RWX, 2, PT_MT_WB);
	expect_identity(&pt, GiB(4) - MiB(4) - 1, ACC_RWX, 2, PT_MT_UC);
	expect_identity(&pt, GiB(4) - 1, ACC_RWX, 2, PT_MT_WT);
	/* GiB 2 split into a new PD: 3 holes out of 512 + 1 + 511 + 512 2 MiB leaves. */
	CHECK_EQ(pt.table_pages, 7);
	CHECK_EQ(pt.leaves[3], 2);
	CHECK_EQ(pt.leaves[2], 511 + 512 + 512 + 512 - 3);
	CHECK_EQ(pt.leaves[1], 512);

	/* Without 1 GiB pages: 2 MiB leaves everywhere uniform, 4 KiB at the start. */
	setup(&pt);
	CHECK_EQ(pt_map_identity_typed(&pt, GiB(6), ACC_RWX, 2, runs_type_of, runs), 0);
	CHECK_TREE(&pt, EPT_RWX, runs_want, 2 + 6 + 1, 0, 6 * 512 - 1, 512);
	/* Read-only, and 4 KiB only. */
	setup(&pt);
	CHECK_EQ(pt_map_identity_typed(&pt, MiB(4), ACC_R, 1, runs_type_of, runs), 0);
	CHECK_TREE(&pt, EPT_R, runs_want, 5, 0, 0, 1024);
	/* A limit that is not a page multiple, and bad levels: refused, nothing built. */
	setup(&pt);
	CHECK_EQ(pt_map_identity_typed(&pt, GiB(1) + 1, ACC_RWX, 3, runs_type_of, runs), -1);
	CHECK_EQ(pt_map_identity_typed(&pt, GiB(1), ACC_RWX, 0, runs_type_of, runs), -1);
	CHECK_EQ(pt_map_identity_typed(&pt, GiB(1), ACC_RWX, 4, runs_type_of, runs), -1);
	CHECK_TREE(&pt, EPT_RWX, runs_want, 1, 0, 0, 0);
}

/* ---- descriptor-table exits (SDM tables 28-10, 28-11) ---- */

/* Instruction information: identity, base, index, scale, address size, segment. */
static uint32_t dt_info_of(unsigned identity, int base, int index, unsigned scale, unsigned asz,
			   unsigned seg)
{
	uint32_t info = (uint32_t)identity << 28 | scale | asz << 7 | seg << 15;

	info |= base < 0 ? 1u << 27 : (uint32_t)base << 23;
	info |= index < 0 ? 1u << 22 : (uint32_t)index << 18;
	return info;
}

TEST(vmx_dt_info_fields)
{
	struct dt_info d;

	memset(&d, 0x5a, sizeof(d));
	vmx_dt_info(dt_info_of(3, 3, 6, 3, 2, 4), &d);
	CHECK_EQ(d.identity, 3);
	CHECK_EQ(d.reg_operand, false);
	CHECK_EQ(d.seg, 4);
	vmx_dt_info(dt_info_of(2, -1, -1, 0, 2, 3), &d);
	CHECK_EQ(d.identity, 2);
	CHECK_EQ(d.seg, 3);
	/* LLDT r/m16 with a register operand: bit 10, the register in bits 6:3. */
	vmx_dt_info((2u << 28) | (1u << 10) | (13u << 3), &d);
	CHECK_EQ(d.identity, 2);
	CHECK_EQ(d.reg_operand, true);
	CHECK_EQ(d.reg, 13);
	/* Every bit set: each field keeps to its width. */
	vmx_dt_info(0xffffffffu, &d);
	CHECK_EQ(d.identity, 3);
	CHECK_EQ(d.reg_operand, true);
	CHECK_EQ(d.reg, 15);
	CHECK_EQ(d.seg, 7);
}

TEST(vmx_dt_address)
{
	uint64_t regs[16];

	for (int i = 0; i < 16; i++)
		regs[i] = 0x1000ull * (uint64_t)(i + 1);
	/* base + index * scale + disp, 64-bit: lidt [rbx + rsi*8 + 0x10]. */
	CHECK_EQ(vmx_dt_addr(dt_info_of(3, 3, 6, 3, 2, 3), 0x10, regs, 0),
		 regs[3] + regs[6] * 8 + 0x10);
	/* Each scale. */
	for (unsigned s = 0; s < 4; s++)
		CHECK_EQ(vmx_dt_addr(dt_info_of(3, 3, 6, s, 2, 3), 0, regs, 0),
			 regs[3] + (regs[6] << s));
	/* R8-R15 as base and index. */
	CHECK_EQ(vmx_dt_addr(dt_info_of(2, 12, 15, 1, 2, 3), 0, regs, 0), regs[12] + regs[15] * 2);
	/* No index, no base, neither (disp32 alone). */
	CHECK_EQ(vmx_dt_addr(dt_info_of(3, 5, -1, 3, 2, 3), 0x20, regs, 0), regs[5] + 0x20);
	CHECK_EQ(vmx_dt_addr(dt_info_of(3, -1, 1, 2, 2, 3), 0x20, regs, 0), regs[1] * 4 + 0x20);
	CHECK_EQ(vmx_dt_addr(dt_info_of(3, -1, -1, 3, 2, 3), 0xffffffff81000000ull, regs, 0),
		 0xffffffff81000000ull);
	/* A negative displacement (the qualification holds it sign-extended). */
	CHECK_EQ(vmx_dt_addr(dt_info_of(3, 4, -1, 0, 2, 2), (uint64_t)-8, regs, 0), regs[4] - 8);
	/* 32-bit address size: the effective address wraps at 4 GiB, the base is added after. */
	regs[0] = 0xfffff000ull;
	regs[1] = 0x123400002000ull;
	CHECK_EQ(vmx_dt_addr(dt_info_of(3, 0, 1, 0, 1, 3), 0x10, regs, 0), 0x1010);
	CHECK_EQ(vmx_dt_addr(dt_info_of(3, 0, 1, 0, 1, 4), 0x10, regs, 0x7f0000000000ull),
		 0x7f0000001010ull);
	/* 16-bit. */
	CHECK_EQ(vmx_dt_addr(dt_info_of(3, 0, -1, 0, 0, 3), 0x1234, regs, 0), 0x0234);
	/* The FS/GS base is added in 64-bit mode too. */
	regs[3] = 0x100;
	CHECK_EQ(vmx_dt_addr(dt_info_of(3, 3, -1, 0, 2, 4), 8, regs, 0xffff888000000000ull),
		 0xffff888000000108ull);
}
