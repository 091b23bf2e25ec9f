/* SPDX-License-Identifier: MIT */
/*
 * The VT-d driver (iommu/vtd.c) against fake_vtd.c, one QEMU-like unit at
 * FAKE_VTD_BASE: the pure encodings first, then iommu_init on a fake
 * machine (the tables it builds are walked from the registers the unit
 * was given), each refusal, the lock, faults becoming events, CPU accesses
 * to the registers and the release. The driver's state is static: every
 * test starts with iommu_init() and ends by putting it back to "no IOMMU",
 * so later tests (tpm_launch's claim) see what a machine without one says.
 */
#include <stdio.h>
#include <string.h>

#include "fake.h"
#include "fake_pool.h"
#include "fake_tis.h"
#include "fake_vtd.h"
#include "iommu/vtd.h"
#include "test.h"
#include "tpm/tpm.h"

#define DMAR_GPA  0x000f0000ull /* the loader's copy of the table, a window of its own */
#define DMAR_ROOM 0x1000u
#define VTD_NFR	  8u

#define TPM_LOC0 0xfed40000ull
#define TPM_LOC1 0xfed41000ull
#define TPM_LOC4 0xfed44000ull

/* Locked ranges (guest RAM, below the VMM chunk). */
#define LOCK_RX 0x00300000ull /* two pages, perm r+x */
#define LOCK_R	0x40000000ull /* one page inside a 1 GiB leaf, perm r */
#define LOCK_RW 0x00600000ull /* one page, perm r+w: stays writable */

#define ALL_PERM (ACC_R | ACC_W)

static struct vcpu v;
static uint8_t *dmar;
static uint64_t rtaddr_before; /* what RTADDR reads before init (machine(): 0) */

/* ---- a DMAR table in fake guest memory ---- */

static void put(uint8_t *b, uint32_t off, uint64_t val, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		b[off + i] = (uint8_t)(val >> (8 * i));
}

static void dmar_seal(uint8_t *b, uint32_t len)
{
	uint8_t sum = 0;

	put(b, 4, len, 4);
	b[9] = 0;
	for (uint32_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b[i]);
	b[9] = (uint8_t)-sum;
}

/*
 * QEMU's shape: a 39-bit host address width, n DRHDs (INCLUDE_PCI_ALL) at base,
 * each with an I/O APIC scope. Returns the table's length.
 */
static uint32_t dmar_build_n(uint8_t *b, uint64_t base, unsigned n)
{
	memset(b, 0, DMAR_ROOM);
	memcpy(b, "DMAR", 4);
	b[8] = 1;
	memcpy(b + 10, "BOCHS ", 6);
	memcpy(b + 16, "BXPC    ", 8);
	b[36] = 39 - 1;
	b[37] = 1; /* INTR_REMAP */
	uint32_t off = 48;
	for (unsigned i = 0; i < n; i++, off += 24) {
		put(b, off, 0, 2);	     /* DRHD */
		put(b, off + 2, 16 + 8, 2);  /* its length */
		b[off + 4] = 1;		     /* INCLUDE_PCI_ALL */
		b[off + 5] = 0;		     /* size: one page */
		put(b, off + 6, 0, 2);	     /* segment */
		put(b, off + 8, base, 8);    /* register base */
		b[off + 16] = 3;	     /* device scope: I/O APIC */
		b[off + 17] = 8;	     /* its length */
		b[off + 20] = 0xf0;	     /* enumeration id */
		b[off + 21] = 0;	     /* start bus */
		put(b, off + 22, 0x1f00, 2); /* path: device 31, function 0 */
	}
	dmar_seal(b, off);
	return off;
}

static uint32_t dmar_build(uint8_t *b, uint64_t base)
{
	return dmar_build_n(b, base, 1);
}

/* ---- the machine ---- */

/*
 * The fake machine (a CPU of its own), its nested map over all of [0, 4 GiB),
 * the VMM's own map, no TPM, a fresh unit with nfr fault records and a
 * DMAR naming it. The caller adjusts, then calls iommu_init().
 */
static void machine(void)
{
	static uint32_t next_cpu = 7000;

	fake_machine(&v, next_cpu++);
	fake_pt(&vmm.host);
	CHECK_EQ(pt_map(&vmm.nested, 0, 0, 3ull << 30, ACC_RWX, PT_MT_WB, 3), 0);
	CHECK_EQ(pt_map(&vmm.nested, 3ull << 30, 3ull << 30, 1ull << 30, ACC_RWX, PT_MT_UC, 2), 0);
	/* tpm.c's state from earlier tests: no TPM, so events extend nothing. */
	fake_tis_reset(TIS_NONE);
	CHECK_EQ(tpm_setup(), 0);
	fake_vtd_reset(VTD_NFR);
	rtaddr_before = 0;
	dmar = fake_mem_add(DMAR_GPA, DMAR_ROOM, 0);
	vmm.ho.dmar_pa = DMAR_GPA;
	vmm.ho.dmar_len = dmar_build(dmar, FAKE_VTD_BASE);
}

/* The driver back to "no IOMMU" (what a machine without one looks like to later tests). */
static void done(void)
{
	vmm.ho.dmar_pa = 0;
	vmm.ho.dmar_len = 0;
	iommu_init();
}

static struct tvmm_status status(void)
{
	struct tvmm_status s;

	memset(&s, 0x5a, sizeof(s));
	iommu_status(&s);
	return s;
}

static const char *claim(void)
{
	static char buf[128];

	memset(buf, 'x', sizeof(buf));
	int n = iommu_claim(buf, sizeof(buf));
	CHECK_EQ(n, strlen(buf));
	return buf;
}

/* GSTS (32 bits at 0x1c) without touching RTADDR next to it. */
static void set_gsts(uint32_t val)
{
	uint64_t q = fake_vtd_reg64(VTD_GSTS);
	fake_vtd_set64(VTD_GSTS, (q & ~0xffffffffull) | val);
}

static void set_fsts(uint32_t val)
{
	uint64_t q = fake_vtd_reg64(VTD_FSTS);
	fake_vtd_set64(VTD_FSTS, (q & ~0xffffffffull) | val);
}

static bool nested_has(uint64_t pa)
{
	uint64_t out;
	unsigned perm, level;
	enum pt_memtype mt;

	return pt_lookup(&vmm.nested, pa, &out, &perm, &level, &mt) == 0;
}

/*
 * The second-level table the unit was given, found the way the hardware
 * finds it: RTADDR, the root entry of bus 0, that bus's context entry of
 * devfn 0. false (and checks failed) if the chain is not there.
 */
static bool unit_table(struct pt *sl)
{
	uint64_t rt = fake_vtd_reg64(VTD_RTADDR);

	memset(sl, 0, sizeof(*sl));
	if (!CHECK(rt != 0) || !CHECK_EQ(rt & 0xfff, 0)) /* TTM 00: legacy */
		return false;
	const uint64_t *root = pool_ptr(rt);
	if (!CHECK_EQ(root[0] & 1, 1))
		return false;
	const uint64_t *ctx = pool_ptr(root[0] & PAGE_MASK);
	if (!CHECK_EQ(ctx[0] & 1, 1))
		return false;
	sl->fmt = &vtd_sl_format;
	sl->levels = (unsigned)(ctx[1] & 7) + 2;
	sl->root_pa = ctx[0] & PAGE_MASK;
	sl->table_ptr = pool_ptr;
	return true;
}

/* va is mapped to itself with exactly these permissions (and nothing is mapped if perm is 0). */
static bool sl_perm_at(const struct pt *sl, uint64_t va, unsigned perm, int line)
{
	uint64_t pa = 0x5a5a;
	unsigned p = 0x5a, level = 0x5a;
	enum pt_memtype mt;
	bool ok;

	if (!perm) {
		ok = CHECK_EQ(pt_lookup(sl, va, &pa, &p, &level, &mt), -1);
	} else {
		ok = CHECK_EQ(pt_lookup(sl, va, &pa, &p, &level, &mt), 0) && CHECK_EQ(pa, va) &&
		     CHECK_EQ(p, perm);
	}
	if (!ok)
		fprintf(stderr, "  (va %#llx, line %d)\n", (unsigned long long)va, line);
	return ok;
}

#define SL_AT(sl, va, perm) sl_perm_at(sl, va, perm, __LINE__)

/* Nothing was programmed: no GCMD write, no root table pointer. */
static void untouched(int line)
{
	if (!CHECK_EQ(fake_vtd.gcmd_writes, 0) |
	    !CHECK_EQ(fake_vtd_reg64(VTD_RTADDR), rtaddr_before) |
	    !CHECK_EQ(fake_vtd.ccmd_invalidations, 0) | !CHECK_EQ(fake_vtd.iotlb_invalidations, 0))
		fprintf(stderr, "  (line %d)\n", line);
}

#define UNTOUCHED() untouched(__LINE__)

/* ---- events ---- */

static uint64_t ev_cursor(void)
{
	struct tvmm_events h;

	events_read(&h, sizeof(h), ~0ull);
	return h.records + 1;
}

static struct {
	struct tvmm_events h;
	struct tvmm_event r[4];
} evbuf;

/* The records made since the cursor (at most 4). */
static uint32_t ev_since(uint64_t from)
{
	memset(&evbuf, 0, sizeof(evbuf));
	events_read(&evbuf.h, sizeof(evbuf), from);
	return evbuf.h.n;
}

/* ---- 1. the encodings ---- */

TEST(vtd_root_and_context_entries)
{
	uint64_t e[2] = {~0ull, ~0ull};

	vtd_root_entry(e, 0x000ab00000123000ull);
	CHECK_EQ(e[0], 0x000ab00000123001ull);
	CHECK_EQ(e[1], 0);
	/* Low bits of the address are not the caller's to set. */
	vtd_root_entry(e, 0x5000ull | 0xfff);
	CHECK_EQ(e[0], 0x5001ull);

	e[0] = e[1] = ~0ull;
	vtd_context_entry(e, 0x000ab00000456000ull, 3, 1);
	CHECK_EQ(e[0], 0x000ab00000456001ull); /* present, FPD 0, TT 00 */
	CHECK_EQ(e[1], 0x101ull);	       /* AW 1 (39 bits), DID 1 */
	vtd_context_entry(e, 0x7000ull | 0xabc, 4, 0xbeef);
	CHECK_EQ(e[0], 0x7001ull);
	CHECK_EQ(e[1], 2ull | 0xbeefull << 8);
	vtd_context_entry(e, 0x8000ull, 5, 0xffff);
	CHECK_EQ(e[1], 3ull | 0xffffull << 8); /* DID stays in bits 23:8 */
	CHECK_EQ(e[1] >> 24, 0);
}

TEST(vtd_fault_decode_fields)
{
	struct vtd_fault f = {.addr = 1, .sid = 2, .reason = 3, .read = true};

	/* F clear: nothing, whatever else the record holds. */
	CHECK(!vtd_fault_decode(0x1234000, VTD_FRCD_READ | 5ull << 32 | 0x18, &f));
	CHECK_EQ(f.addr, 1);
	CHECK_EQ(f.sid, 2);
	CHECK_EQ(f.reason, 3);
	CHECK(f.read);
	/* A write; the page address only, SID in bits 15:0, reason in 39:32. */
	uint64_t hi = VTD_FRCD_F | 0xabull << 40 | 0x05ull << 32 | 0x1234ull << 16 | 0x0018;
	if (CHECK(vtd_fault_decode(0x0000000123456abcull, hi, &f))) {
		CHECK_EQ(f.addr, 0x0000000123456000ull);
		CHECK_EQ(f.sid, 0x0018);
		CHECK_EQ(f.reason, 0x05);
		CHECK(!f.read);
	}
	/* A read (T = 1) high in the address space. */
	hi = VTD_FRCD_F | VTD_FRCD_READ | 0x26ull << 32 | 0xfffa;
	if (CHECK(vtd_fault_decode(0xfffffffffffff001ull, hi, &f))) {
		CHECK_EQ(f.addr, 0xfffffffffffff000ull);
		CHECK_EQ(f.sid, 0xfffa);
		CHECK_EQ(f.reason, 0x26);
		CHECK(f.read);
	}
}

static uint64_t cap_sagaw(unsigned sagaw)
{
	return (uint64_t)sagaw << 8 | 0xffffffffffffe0ffull; /* every other field all ones */
}

TEST(vtd_levels_for_sagaw_and_width)
{
	/* QEMU's 39 and 48 bits: the shallowest table that reaches. */
	CHECK_EQ(vtd_levels(cap_sagaw(0x6), 33), 3);
	CHECK_EQ(vtd_levels(cap_sagaw(0x6), 39), 3);
	CHECK_EQ(vtd_levels(cap_sagaw(0x6), 40), 4);
	CHECK_EQ(vtd_levels(cap_sagaw(0x6), 48), 4);
	CHECK_EQ(vtd_levels(cap_sagaw(0x6), 49), 0);
	/* One width only. */
	CHECK_EQ(vtd_levels(cap_sagaw(0x2), 33), 3);
	CHECK_EQ(vtd_levels(cap_sagaw(0x2), 40), 0);
	CHECK_EQ(vtd_levels(cap_sagaw(0x4), 33), 4);
	CHECK_EQ(vtd_levels(cap_sagaw(0x8), 33), 5);
	CHECK_EQ(vtd_levels(cap_sagaw(0x8), 57), 5);
	CHECK_EQ(vtd_levels(cap_sagaw(0x8), 58), 0);
	CHECK_EQ(vtd_levels(cap_sagaw(0xa), 45), 5);
	/* 2-level (30 bits) and the reserved bit are not widths the driver builds. */
	CHECK_EQ(vtd_levels(cap_sagaw(0x1), 12), 0);
	CHECK_EQ(vtd_levels(cap_sagaw(0x11), 30), 0);
	CHECK_EQ(vtd_levels(cap_sagaw(0), 12), 0);
	/* SAGAW alone decides: the fake unit's capability says 3. */
	fake_vtd_reset(VTD_NFR);
	CHECK_EQ(vtd_levels(fake_vtd_reg64(VTD_CAP), 33), 3);
}

TEST(vtd_sl_format_bits)
{
	const struct pt_format *f = &vtd_sl_format;
	const uint64_t pa = 0x000ab00040000000ull;
	static const unsigned perms[] = {ACC_R, ACC_W, ACC_R | ACC_W};
	static const enum pt_memtype mts[] = {PT_MT_UC, PT_MT_WC, PT_MT_WT, PT_MT_WP, PT_MT_WB};

	CHECK_EQ(f->table(pa), pa | 3);
	CHECK(f->present(f->table(pa)));
	CHECK(!f->is_leaf(f->table(pa), 2));
	CHECK(!f->is_leaf(f->table(pa), 3));
	CHECK_EQ(f->leaf(pa, ACC_R, 1, PT_MT_WB), pa | 1);
	CHECK_EQ(f->leaf(pa, ACC_W, 1, PT_MT_WB), pa | 2);
	CHECK_EQ(f->leaf(pa, ACC_R | ACC_W, 2, PT_MT_UC), pa | 0x83);
	CHECK_EQ(f->leaf(pa, ACC_R, 3, PT_MT_WB), pa | 0x81);
	/* Execute is not a second-level permission here. */
	CHECK_EQ(f->leaf(pa, ACC_RWX, 1, PT_MT_WB), pa | 3);
	CHECK_EQ(f->leaf(pa, ACC_X, 1, PT_MT_WB), pa);
	for (unsigned l = 1; l <= 3; l++)
		for (unsigned i = 0; i < 3; i++)
			for (unsigned m = 0; m < 5; m++) {
				uint64_t e = f->leaf(pa, perms[i], l, mts[m]);
				uint64_t want = (l > 1 ? 0x80 : 0) | perms[i];
				if (!CHECK_EQ(e & ~f->addr_mask, want) ||
				    !CHECK_EQ(e & f->addr_mask, pa) ||
				    !CHECK_EQ(f->perm(e), perms[i]) || !CHECK(f->present(e)) ||
				    !CHECK(f->is_leaf(e, l)) ||
				    !CHECK_EQ(f->memtype(e, l), PT_MT_WB))
					fprintf(stderr, "  (level %u perm %u mt %u)\n", l, perms[i],
						mts[m]);
			}
	CHECK(!f->present(0));
	CHECK(!f->present(0x80));
	CHECK(!f->present(pa));
	CHECK(f->is_leaf(pa | 1, 1));
	CHECK_EQ(f->perm(0), 0);
	CHECK_EQ(f->addr_mask, 0x000ffffffffff000ull);
}

/* ---- 2. init ---- */

TEST(vtd_init_protects)
{
	machine();
	CHECK(nested_has(FAKE_VTD_BASE));
	uint64_t pool_before = pool_used;
	iommu_init();

	struct tvmm_status s = status();
	CHECK_EQ(s.dma_state, TVMM_DMA_PROTECTED);
	CHECK_EQ(s.dma_units, 1);
	CHECK_EQ(s.dma_faults, 0);
	CHECK_EQ(s.dma_lost, 0);
	CHECK_EQ(s.dma_invalidations, 1);
	CHECK_STREQ(s.dma_why, "");
	CHECK_STREQ(claim(), "dma: protected iommu=vt-d units=1");
	/* Root, context, and the second level: its root, 0-1 GiB split around the VMM
	 * chunk, 3-4 GiB split to 2 MiB, and the 2 MiB holding the unit and the TPM. */
	CHECK_EQ(s.dma_table_pages, 6);
	/* ... and the nested split of the register page's 2 MiB. */
	CHECK_EQ(pool_used - pool_before, 7);

	/* The unit: translation on, faults masked, one global invalidation of each kind. */
	CHECK_EQ(fake_vtd_reg32(VTD_GSTS) & VTD_GCMD_TE, VTD_GCMD_TE);
	CHECK_EQ(fake_vtd_reg32(VTD_FECTL), VTD_FECTL_IM);
	CHECK_EQ(fake_vtd.ccmd_invalidations, 1);
	CHECK_EQ(fake_vtd.iotlb_invalidations, 1);
	CHECK_EQ(fake_vtd_reg64(FAKE_VTD_IRO + 8),
		 VTD_IOTLB_GLOBAL | VTD_IOTLB_DR | VTD_IOTLB_DW); /* IVT cleared by the unit */
	CHECK_EQ(fake_vtd_reg64(VTD_CCMD), VTD_CCMD_GLOBAL);
	CHECK_EQ(fake_vtd.flushes, 0); /* ECAP.C: walks snoop */

	/* Every bus to one context table, every devfn to one second-level table. */
	uint64_t rt = fake_vtd_reg64(VTD_RTADDR);
	if (!CHECK(rt >= POOL_BASE && rt < POOL_BASE + pool_used * PAGE_SIZE))
		goto out;
	const uint64_t *root = pool_ptr(rt);
	uint64_t ctx_pa = root[0] & PAGE_MASK;
	CHECK(ctx_pa != rt);
	for (unsigned i = 0; i < 256; i++)
		if (!CHECK_EQ(root[2 * i], ctx_pa | 1) || !CHECK_EQ(root[2 * i + 1], 0)) {
			fprintf(stderr, "  (bus %u)\n", i);
			break;
		}
	const uint64_t *ctx = pool_ptr(ctx_pa);
	uint64_t sl_root = ctx[0] & PAGE_MASK;
	CHECK(sl_root != rt && sl_root != ctx_pa);
	for (unsigned i = 0; i < 256; i++)
		if (!CHECK_EQ(ctx[2 * i], sl_root | 1) || !CHECK_EQ(ctx[2 * i + 1], 1 | 1 << 8)) {
			fprintf(stderr, "  (devfn %u)\n", i);
			break;
		}

	struct pt sl;
	if (!unit_table(&sl) || !CHECK_EQ(sl.levels, 3))
		goto out;
	/* Guest RAM, identity, read and write, the largest leaves that fit. */
	CHECK(expect_map(&sl, 0, 0, ALL_PERM, 2, PT_MT_WB));
	CHECK(expect_map(&sl, 0x100000, 0x100000, ALL_PERM, 2, PT_MT_WB));
	CHECK(expect_map(&sl, LOCK_RX, LOCK_RX, ALL_PERM, 2, PT_MT_WB));
	CHECK(expect_map(&sl, 1ull << 30, 1ull << 30, ALL_PERM, 3, PT_MT_WB));
	CHECK(expect_map(&sl, FAKE_RAM_END - PAGE_SIZE, FAKE_RAM_END - PAGE_SIZE, ALL_PERM, 3,
			 PT_MT_WB));
	SL_AT(&sl, FAKE_VMM_CHUNK - PAGE_SIZE, ALL_PERM);
	/* Not the VMM's memory. */
	CHECK(expect_absent(&sl, FAKE_VMM_CHUNK));
	CHECK(expect_absent(&sl, FAKE_VMM_CHUNK + (1ull << TVMM_CHUNK_SHIFT) - PAGE_SIZE));
	SL_AT(&sl, FAKE_VMM_CHUNK + (1ull << TVMM_CHUNK_SHIFT), ALL_PERM);
	/* Not the unit's registers, exactly its page. */
	CHECK(expect_absent(&sl, FAKE_VTD_BASE));
	CHECK(expect_absent(&sl, FAKE_VTD_BASE + 0xff8));
	SL_AT(&sl, FAKE_VTD_BASE - PAGE_SIZE, ALL_PERM);
	SL_AT(&sl, FAKE_VTD_BASE + PAGE_SIZE, ALL_PERM);
	/* TPM localities 1-4 are not for devices; locality 0 is where the OS's driver is. */
	CHECK(expect_map(&sl, TPM_LOC0, TPM_LOC0, ALL_PERM, 1, PT_MT_WB));
	CHECK(expect_absent(&sl, TPM_LOC1));
	CHECK(expect_absent(&sl, TPM_LOC1 + 0x2000));
	CHECK(expect_absent(&sl, TPM_LOC4 + 0xfff));
	SL_AT(&sl, TPM_LOC4 + PAGE_SIZE, ALL_PERM);
	/* The 32-bit hole up to 4 GiB, and nothing beyond. */
	SL_AT(&sl, 0xfffff000ull, ALL_PERM);
	SL_AT(&sl, 4ull << 30, 0);

	/* The guest lost the register page, only it. */
	CHECK_EQ(pt_lookup(&vmm.nested, FAKE_VTD_BASE, &(uint64_t){0}, &(unsigned){0},
			   &(unsigned){0}, &(enum pt_memtype){0}),
		 -1);
	CHECK(nested_has(FAKE_VTD_BASE - PAGE_SIZE));
	CHECK(nested_has(FAKE_VTD_BASE + PAGE_SIZE));
	/* Its registers are in the VMM's own map, uncached. */
	CHECK(expect_map(&vmm.host, FAKE_VTD_BASE, FAKE_VTD_BASE, ACC_R | ACC_W, 1, PT_MT_UC));
	CHECK(strstr(fake_console, "dma: protected by VT-d: 1 unit(s), 3-level tables") != NULL);
out:
	done();
}

TEST(vtd_init_not_coherent_flushes)
{
	machine();
	fake_vtd_set64(VTD_ECAP, fake_vtd_reg64(VTD_ECAP) & ~1ull);
	iommu_init();
	CHECK_EQ(status().dma_state, TVMM_DMA_PROTECTED);
	CHECK(fake_vtd.flushes >= 1);
	CHECK(strstr(fake_console, "not coherent") != NULL);
	done();
}

/* ---- 3. refusals ---- */

TEST(vtd_refuses_no_dmar)
{
	machine();
	vmm.ho.dmar_pa = 0;
	iommu_init();
	struct tvmm_status s = status();
	CHECK_EQ(s.dma_state, TVMM_DMA_NONE);
	CHECK_EQ(s.dma_units, 0);
	CHECK_EQ(s.dma_table_pages, 0);
	CHECK_STREQ(s.dma_why, "no IOMMU");
	CHECK_STREQ(claim(), "dma: unprotected reason=no-iommu");
	UNTOUCHED();
	CHECK(nested_has(FAKE_VTD_BASE));
	CHECK(strstr(fake_console, "dma: UNPROTECTED (no IOMMU)") != NULL);
	done();
}

/* A guest that already uses the unit keeps it: nothing written, its page still mapped. */
static void guest_owns(uint32_t gsts, const char *why)
{
	machine();
	set_gsts(gsts);
	iommu_init();
	struct tvmm_status s = status();
	CHECK_EQ(s.dma_state, TVMM_DMA_GUEST);
	CHECK_EQ(s.dma_units, 0);
	CHECK_STREQ(s.dma_why, why);
	CHECK_STREQ(claim(), "dma: unprotected reason=guest-owns-iommu");
	UNTOUCHED();
	CHECK_EQ(fake_vtd_reg32(VTD_GSTS), gsts);
	CHECK_EQ(fake_vtd_reg32(VTD_FECTL), 0);
	CHECK(nested_has(FAKE_VTD_BASE));
	CHECK(!iommu_owns(FAKE_VTD_BASE));
	CHECK_EQ(iommu_lock_pages(3), 0);
	CHECK_EQ(iommu_release(), 0);
	CHECK_EQ(fake_vtd.gcmd_writes, 0);
}

TEST(vtd_refuses_guest_translation)
{
	guest_owns(VTD_GCMD_TE | VTD_GCMD_SRTP, "guest owns the IOMMU: translation on");
	done();
	guest_owns(VTD_GCMD_TE | VTD_GCMD_IRE, "guest owns the IOMMU: translation on");
	done();
}

TEST(vtd_refuses_guest_interrupt_remapping)
{
	guest_owns(VTD_GCMD_IRE | (1u << 24) /* IRTPS */,
		   "guest owns the IOMMU: interrupt remapping on");
	done();
}

TEST(vtd_refuses_guest_queued_invalidation)
{
	guest_owns(VTD_GCMD_QIE, "guest owns the IOMMU: queued invalidation on");
	done();
}

/* Refused as unusable before anything was programmed. */
static void unsupported(const char *why, int line)
{
	struct tvmm_status s = status();
	bool ok = CHECK_EQ(s.dma_state, TVMM_DMA_FAILED) & CHECK_EQ(s.dma_units, 0) &
		  CHECK_STREQ(s.dma_why, why) &
		  CHECK_STREQ(claim(), "dma: unprotected reason=unsupported") &
		  CHECK(nested_has(FAKE_VTD_BASE)) & CHECK(!iommu_owns(FAKE_VTD_BASE));
	untouched(line);
	if (!ok)
		fprintf(stderr, "  (line %d)\n", line);
}

#define UNSUPPORTED(why) unsupported(why, __LINE__)

TEST(vtd_refuses_bad_dmar)
{
	machine();
	dmar[20] ^= 0x40; /* the OEM table id: the checksum no longer holds */
	iommu_init();
	UNSUPPORTED("unsupported: DMAR table: bad checksum");
	done();

	machine();
	vmm.ho.dmar_len = dmar_build(dmar, FAKE_VTD_BASE) - 1; /* cut off */
	iommu_init();
	UNSUPPORTED("unsupported: DMAR table: length field beyond the buffer");
	done();

	machine();
	vmm.ho.dmar_len = 64u * 1024u + 1u;
	iommu_init();
	UNSUPPORTED("unsupported: DMAR table of 65537 bytes");
	done();
}

TEST(vtd_refuses_sagaw)
{
	/* 30 bits (2 levels) only: no table the driver builds reaches 4 GiB. */
	machine();
	fake_vtd_set64(VTD_CAP, (fake_vtd_reg64(VTD_CAP) & ~(0x1full << 8)) | 1ull << 8);
	iommu_init();
	UNSUPPORTED("unsupported: SAGAW 0x1");
	done();

	machine();
	fake_vtd_set64(VTD_CAP, fake_vtd_reg64(VTD_CAP) & ~(0x1full << 8));
	iommu_init();
	UNSUPPORTED("unsupported: SAGAW 0");
	done();
}

TEST(vtd_refuses_no_unit)
{
	/* Nothing decodes the address: every register reads all ones (GSTS too). */
	machine();
	memset(fake_vtd.regs, 0xff, sizeof(fake_vtd.regs));
	rtaddr_before = ~0ull;
	iommu_init();
	UNSUPPORTED("unsupported: no unit answers at 0xfed90000");
	done();

	/* A capability register of zero is no unit either. */
	machine();
	fake_vtd_set64(VTD_CAP, 0);
	iommu_init();
	UNSUPPORTED("unsupported: no unit answers at 0xfed90000");
	done();
}

TEST(vtd_refuses_other_segment)
{
	machine();
	put(dmar, 48 + 6, 1, 2);
	dmar_seal(dmar, vmm.ho.dmar_len);
	iommu_init();
	UNSUPPORTED("unsupported: PCI segment 1");
	done();
}

TEST(vtd_stuck_unit_fails_bounded)
{
	machine();
	fake_vtd.stuck = true;
	iommu_init(); /* returns: every wait is bounded */
	struct tvmm_status s = status();
	CHECK_EQ(s.dma_state, TVMM_DMA_FAILED);
	CHECK_EQ(s.dma_units, 0);
	CHECK_STREQ(s.dma_why, "unsupported: unit at 0xfed90000 did not answer in time");
	CHECK_STREQ(claim(), "dma: unprotected reason=unsupported");
	/* Never asked to translate, and not translating. */
	CHECK_EQ(fake_vtd_reg32(VTD_GSTS) & VTD_GCMD_TE, 0);
	CHECK_EQ(fake_vtd_reg32(VTD_GCMD) & VTD_GCMD_TE, 0);
	CHECK(!iommu_owns(FAKE_VTD_BASE));
	CHECK_EQ(iommu_release(), 0); /* nothing to turn off */
	/* Not protected: a fault the unit holds is not the VMM's to report. */
	uint64_t from = ev_cursor();
	fake_vtd_fault(0, 0x1000, 0x18, 5, false);
	iommu_poll(&v);
	CHECK_EQ(ev_since(from), 0);
	CHECK_EQ(status().dma_faults, 0);
	done();
}

/* ---- 4. the lock ---- */

static struct tvmm_pol_rule rules[4];

/* A locked policy (as core/policy.c leaves it) over three ranges of guest RAM. */
static void lock_policy(void)
{
	memset(rules, 0, sizeof(rules));
	rules[0] = (struct tvmm_pol_rule){.kind = TVMM_RULE_MEM,
					  .action = TVMM_ACT_DENY,
					  .perm = TVMM_PERM_R | TVMM_PERM_X,
					  .id = 7,
					  .a = LOCK_RX,
					  .b = 0x2000};
	snprintf(rules[0].name, sizeof(rules[0].name), "kernel-text");
	rules[1] = (struct tvmm_pol_rule){.kind = TVMM_RULE_CR, .action = TVMM_ACT_DENY, .id = 8};
	rules[2] = (struct tvmm_pol_rule){.kind = TVMM_RULE_MEM,
					  .action = TVMM_ACT_HALT,
					  .perm = TVMM_PERM_R,
					  .id = 9,
					  .a = LOCK_R,
					  .b = 0x1000};
	snprintf(rules[2].name, sizeof(rules[2].name), "rodata");
	rules[3] = (struct tvmm_pol_rule){.kind = TVMM_RULE_MEM,
					  .action = TVMM_ACT_MONITOR,
					  .perm = TVMM_PERM_R | TVMM_PERM_W,
					  .id = 10,
					  .a = LOCK_RW,
					  .b = 0x1000};
	snprintf(rules[3].name, sizeof(rules[3].name), "watched");
	vmm.pol.rules = rules;
	vmm.pol.nrules = 4;
	snprintf(vmm.pol.name, sizeof(vmm.pol.name), "unit");
	vmm.pol.locked = true;
}

/* A protected machine with the policy locked and applied to the unit's table. */
static bool locked(void)
{
	machine();
	iommu_init();
	if (!CHECK_EQ(status().dma_state, TVMM_DMA_PROTECTED))
		return false;
	lock_policy();
	return CHECK_EQ(iommu_lock(rules, 4), 0);
}

TEST(vtd_lock_write_protects)
{
	machine();
	iommu_init();
	if (!CHECK_EQ(status().dma_state, TVMM_DMA_PROTECTED))
		goto out;
	uint64_t need = iommu_lock_pages(3);
	CHECK(need > 0);
	CHECK_EQ(iommu_lock_pages(0), 0);
	lock_policy();
	uint64_t pool_before = pool_used, pages_before = status().dma_table_pages;
	CHECK_EQ(iommu_lock(rules, 4), 0);
	/* What the lock took is what iommu_lock_pages promised at most. */
	CHECK(pool_used - pool_before <= need);
	CHECK_EQ(status().dma_table_pages - pages_before, pool_used - pool_before);

	struct pt sl;
	if (!unit_table(&sl))
		goto out;
	SL_AT(&sl, LOCK_RX - PAGE_SIZE, ALL_PERM);
	SL_AT(&sl, LOCK_RX, ACC_R);
	SL_AT(&sl, LOCK_RX + PAGE_SIZE, ACC_R);
	SL_AT(&sl, LOCK_RX + 2 * PAGE_SIZE, ALL_PERM);
	SL_AT(&sl, LOCK_R - PAGE_SIZE, ALL_PERM);
	SL_AT(&sl, LOCK_R, ACC_R);
	SL_AT(&sl, LOCK_R + PAGE_SIZE, ALL_PERM);
	SL_AT(&sl, LOCK_RW, ALL_PERM);
	/* What was out of reach stays so. */
	SL_AT(&sl, FAKE_VMM_CHUNK, 0);
	SL_AT(&sl, FAKE_VTD_BASE, 0);
	/* The unit was told: one more IOTLB invalidation (no context one). */
	CHECK_EQ(fake_vtd.iotlb_invalidations, 2);
	CHECK_EQ(fake_vtd.ccmd_invalidations, 1);
	CHECK_EQ(status().dma_invalidations, 2);
	CHECK_EQ(fake_vtd.flushes, 0);
	/* No memory rule: nothing changes but the invalidation. */
	CHECK_EQ(iommu_lock(&rules[1], 1), 0);
	CHECK_EQ(status().dma_invalidations, 3);
	SL_AT(&sl, LOCK_RX, ACC_R);
out:
	done();
}

TEST(vtd_lock_not_protected)
{
	machine();
	vmm.ho.dmar_pa = 0;
	iommu_init();
	CHECK_EQ(iommu_lock_pages(3), 0);
	lock_policy();
	CHECK_EQ(iommu_lock(rules, 4), 0);
	CHECK_EQ(fake_vtd.iotlb_invalidations, 0);
	CHECK_EQ(status().dma_invalidations, 0);
	done();
}

/* ---- 5. faults ---- */

TEST(vtd_faults_become_events)
{
	if (!locked())
		goto out;
	uint64_t from = ev_cursor();
	fake_vtd_fault(0, LOCK_RX + PAGE_SIZE + 0x123, 0x0018, 0x05, false);
	fake_vtd_fault(1, FAKE_VMM_CHUNK + 0x5000, 0x0100, 0x06, true);
	CHECK_EQ(fake_vtd_reg32(VTD_FSTS) & VTD_FSTS_PPF, VTD_FSTS_PPF);
	iommu_poll(&v);

	if (CHECK_EQ(ev_since(from), 2)) {
		const struct tvmm_event *e = &evbuf.r[0];
		CHECK_EQ(e->kind, TVMM_EV_DMA);
		CHECK_EQ(e->gpa, LOCK_RX + PAGE_SIZE);
		CHECK_EQ(e->gva, TVMM_EV_NO_GVA);
		CHECK_EQ(e->index, 0x0018);
		CHECK_EQ(e->value, 0x05);
		CHECK_EQ(e->access, TVMM_PERM_W);
		CHECK_EQ(e->rule, 7);
		CHECK_STREQ(e->rule_name, "kernel-text");
		CHECK_EQ(e->action, TVMM_ACT_DENY);
		CHECK_EQ(e->cpu, v.cpu);
		CHECK_EQ(e->count, 1);
		e = &evbuf.r[1];
		CHECK_EQ(e->kind, TVMM_EV_DMA);
		CHECK_EQ(e->gpa, FAKE_VMM_CHUNK + 0x5000);
		CHECK_EQ(e->index, 0x0100);
		CHECK_EQ(e->value, 0x06);
		CHECK_EQ(e->access, TVMM_PERM_R);
		CHECK_EQ(e->rule, TVMM_EV_NO_RULE);
		CHECK_STREQ(e->rule_name, "");
		CHECK_EQ(e->action, TVMM_ACT_DENY);
		CHECK_EQ(e->cpu, v.cpu);
	}
	/* The records are handed back to the unit. */
	CHECK_EQ(fake_vtd_reg64(FAKE_VTD_FRO + 8) & VTD_FRCD_F, 0);
	CHECK_EQ(fake_vtd_reg64(FAKE_VTD_FRO + 16 + 8) & VTD_FRCD_F, 0);
	CHECK_EQ(fake_vtd_reg32(VTD_FSTS) & VTD_FSTS_PPF, 0);
	struct tvmm_status s = status();
	CHECK_EQ(s.dma_faults, 2);
	CHECK_EQ(s.dma_lost, 0);

	/* Nothing new: nothing recorded. */
	iommu_poll(&v);
	CHECK_EQ(ev_since(from), 2);
	CHECK_EQ(status().dma_faults, 2);

	/* The unit dropped some: counted, recorded as such, and the overflow acknowledged. */
	set_fsts(fake_vtd_reg32(VTD_FSTS) | VTD_FSTS_PFO);
	iommu_poll(&v);
	s = status();
	CHECK_EQ(s.dma_lost, 1);
	CHECK_EQ(s.dma_faults, 2);
	CHECK_EQ(fake_vtd_reg32(VTD_FSTS) & VTD_FSTS_PFO, 0);
	if (CHECK_EQ(ev_since(from), 3)) {
		const struct tvmm_event *e = &evbuf.r[2];
		CHECK_EQ(e->kind, TVMM_EV_DMA);
		CHECK_EQ(e->index, TVMM_DMA_SRC_LOST);
		CHECK_EQ(e->gpa, FAKE_VTD_BASE);
		CHECK_EQ(e->rule, TVMM_EV_NO_RULE);
		CHECK_EQ(e->action, TVMM_ACT_DENY);
	}
	iommu_poll(&v);
	CHECK_EQ(status().dma_lost, 1);
	CHECK_EQ(ev_since(from), 3);
out:
	done();
}

TEST(vtd_faults_from_fault_record_index)
{
	if (!locked())
		goto out;
	/* The unit's next record is the last one; it wraps to record 0. */
	uint64_t from = ev_cursor();
	fake_vtd_fault(VTD_NFR - 1, LOCK_R, 0x0200, 0x05, false);
	fake_vtd_fault(0, LOCK_RW, 0x0208, 0x06, true);
	set_fsts(fake_vtd_reg32(VTD_FSTS) | (VTD_NFR - 1) << 8);
	iommu_poll(&v);
	if (CHECK_EQ(ev_since(from), 2)) {
		CHECK_EQ(evbuf.r[0].gpa, LOCK_R);
		CHECK_EQ(evbuf.r[0].rule, 9);
		CHECK_STREQ(evbuf.r[0].rule_name, "rodata");
		CHECK_EQ(evbuf.r[0].index, 0x0200);
		CHECK_EQ(evbuf.r[1].gpa, LOCK_RW);
		CHECK_EQ(evbuf.r[1].rule, 10);
		CHECK_EQ(evbuf.r[1].index, 0x0208);
		CHECK_EQ(evbuf.r[1].access, TVMM_PERM_R);
	}
	CHECK_EQ(fake_vtd_reg32(VTD_FSTS) & VTD_FSTS_PPF, 0);
	CHECK_EQ(status().dma_faults, 2);
out:
	done();
}

TEST(vtd_poll_not_protected)
{
	guest_owns(VTD_GCMD_TE, "guest owns the IOMMU: translation on");
	uint64_t from = ev_cursor();
	fake_vtd_fault(0, 0x1000, 0x18, 5, false);
	set_fsts(fake_vtd_reg32(VTD_FSTS) | VTD_FSTS_PFO);
	iommu_poll(&v);
	CHECK_EQ(ev_since(from), 0);
	/* The guest's records and status, left as they are. */
	CHECK_EQ(fake_vtd_reg64(FAKE_VTD_FRO + 8) & VTD_FRCD_F, VTD_FRCD_F);
	CHECK_EQ(fake_vtd_reg32(VTD_FSTS), VTD_FSTS_PPF | VTD_FSTS_PFO);
	struct tvmm_status s = status();
	CHECK_EQ(s.dma_faults, 0);
	CHECK_EQ(s.dma_lost, 0);
	done();
}

/* ---- 6. CPU accesses to the registers ---- */

TEST(vtd_cpu_access_and_owns)
{
	machine();
	iommu_init();
	CHECK_EQ(status().dma_state, TVMM_DMA_PROTECTED);
	CHECK(iommu_owns(FAKE_VTD_BASE));
	CHECK(iommu_owns(FAKE_VTD_BASE + VTD_GCMD));
	CHECK(iommu_owns(FAKE_VTD_BASE + PAGE_SIZE - 1));
	CHECK(!iommu_owns(FAKE_VTD_BASE + PAGE_SIZE));
	CHECK(!iommu_owns(FAKE_VTD_BASE - 1));
	CHECK(!iommu_owns(0));
	CHECK(!iommu_owns(TPM_LOC1));

	uint64_t from = ev_cursor();
	iommu_cpu_access(&v, FAKE_VTD_BASE + VTD_GCMD, TVMM_PERM_W);
	if (CHECK_EQ(ev_since(from), 1)) {
		const struct tvmm_event *e = &evbuf.r[0];
		CHECK_EQ(e->kind, TVMM_EV_DMA);
		CHECK_EQ(e->index, TVMM_DMA_SRC_CPU);
		CHECK_EQ(e->gpa, FAKE_VTD_BASE + VTD_GCMD);
		CHECK_EQ(e->gva, TVMM_EV_NO_GVA);
		CHECK_EQ(e->rip, FAKE_RIP);
		CHECK_EQ(e->access, TVMM_PERM_W);
		CHECK_EQ(e->rule, TVMM_EV_NO_RULE);
		CHECK_EQ(e->action, TVMM_ACT_DENY);
		CHECK_EQ(e->cpu, v.cpu);
	}
	CHECK_EQ(fake.wrong_vcpu, 0);
	/* Not a device fault. */
	CHECK_EQ(status().dma_faults, 0);

	/* Released: the registers are no longer the VMM's. */
	CHECK_EQ(iommu_release(), 0);
	CHECK(!iommu_owns(FAKE_VTD_BASE));
	done();
	CHECK(!iommu_owns(FAKE_VTD_BASE));
}

/* ---- 7. release ---- */

TEST(vtd_release_turns_translation_off)
{
	machine();
	iommu_init();
	if (!CHECK_EQ(status().dma_state, TVMM_DMA_PROTECTED))
		goto out;
	CHECK_EQ(iommu_release(), 0);
	CHECK_EQ(fake_vtd_reg32(VTD_GSTS) & VTD_GCMD_TE, 0);
	CHECK_EQ(fake_vtd_reg32(VTD_GCMD) & VTD_GCMD_TE, 0);
	struct tvmm_status s = status();
	CHECK(s.dma_state != TVMM_DMA_PROTECTED);
	CHECK_EQ(s.dma_units, 0);
	CHECK_STREQ(s.dma_why, "released");
	CHECK(strncmp(claim(), "dma: unprotected", 16) == 0);
	/* Once is enough. */
	int writes = fake_vtd.gcmd_writes;
	CHECK_EQ(iommu_release(), 0);
	CHECK_EQ(fake_vtd.gcmd_writes, writes);
	/* Nothing polled after it. */
	uint64_t from = ev_cursor();
	fake_vtd_fault(0, 0x1000, 0x18, 5, false);
	iommu_poll(&v);
	CHECK_EQ(ev_since(from), 0);
out:
	done();
}

TEST(vtd_release_stuck_keeps_memory)
{
	machine();
	iommu_init();
	if (!CHECK_EQ(status().dma_state, TVMM_DMA_PROTECTED))
		goto out;
	fake_vtd.stuck = true;
	CHECK_EQ(iommu_release(), -1); /* the loader must keep the VMM's memory */
	CHECK_EQ(fake_vtd_reg32(VTD_GSTS) & VTD_GCMD_TE, VTD_GCMD_TE);
	CHECK_EQ(status().dma_state, TVMM_DMA_PROTECTED);
	/* Asked again, still -1 while the unit does not answer; then 0. */
	CHECK_EQ(iommu_release(), -1);
	fake_vtd.stuck = false;
	CHECK_EQ(iommu_release(), 0);
	CHECK_EQ(fake_vtd_reg32(VTD_GSTS) & VTD_GCMD_TE, 0);
out:
	done();
}

/*
 * Two units (both stand-ins are the one fake register file): the first is
 * enabled, the second stops answering, and so does turning the first off
 * again. Translation is still on with tables in the VMM's memory, so the
 * release must say the loader has to keep that memory.
 */
TEST(vtd_release_after_failed_init_keeps_memory)
{
	machine();
	vmm.ho.dmar_len = dmar_build_n(dmar, FAKE_VTD_BASE, 2);
	iommu_init();
	CHECK_EQ(status().dma_state, TVMM_DMA_PROTECTED);
	CHECK_STREQ(claim(), "dma: protected iommu=vt-d units=2");
	CHECK_EQ(fake_vtd.iotlb_invalidations, 2);
	done();

	machine();
	vmm.ho.dmar_len = dmar_build_n(dmar, FAKE_VTD_BASE, 2);
	fake_vtd.stuck_after_gcmd = 2; /* SRTP and TE of the first unit */
	iommu_init();
	struct tvmm_status s = status();
	CHECK_EQ(s.dma_state, TVMM_DMA_FAILED);
	CHECK_STREQ(s.dma_why, "unsupported: unit at 0xfed90000 did not answer in time");
	CHECK_STREQ(claim(), "dma: unprotected reason=unsupported");
	/* The first unit translates through the VMM's tables... */
	CHECK_EQ(fake_vtd_reg32(VTD_GSTS) & VTD_GCMD_TE, VTD_GCMD_TE);
	CHECK(fake_vtd_reg64(VTD_RTADDR) >= POOL_BASE);
	/* ... so their memory must not be handed back. */
	CHECK_EQ(iommu_release(), -1);
	done();
}

/* At exits the records are read at most once per POLL_CYCLES of the time base. */
TEST(vtd_exit_poll_is_rate_limited)
{
	if (!locked())
		goto out;
	uint64_t from = ev_cursor();
	fake_vtd_now = 5000000;
	iommu_poll_exit(&v); /* due: reads (nothing there) and sets the next time */
	fake_vtd_fault(0, LOCK_RX, 0x0018, 0x05, false);
	fake_vtd_now += 1000;
	iommu_poll_exit(&v);
	CHECK_EQ(ev_since(from), 0); /* too soon: the fault waits in the unit */
	CHECK(fake_vtd_reg64(FAKE_VTD_FRO + 8) & VTD_FRCD_F);
	fake_vtd_now += 2000000;
	iommu_poll_exit(&v);
	CHECK_EQ(ev_since(from), 1);
	CHECK_EQ(fake_vtd_reg64(FAKE_VTD_FRO + 8) & VTD_FRCD_F, 0);
out:
	done();
}
