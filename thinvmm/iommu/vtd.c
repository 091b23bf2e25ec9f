/* SPDX-License-Identifier: MIT */
/*
 * DMA protection with Intel VT-d, when the guest does not use the IOMMU.
 *
 * Every device shares one translation: all buses' root entries point at
 * one context table, whose 256 entries all name one second-level table,
 * an identity map of what devices may reach less the VMM's own memory,
 * the IOMMU's registers and TPM localities 1-4. The lock removes write
 * permission from every write-protected locked range. Faults are read
 * from the fault-recording registers (interrupts masked: the VMM has no
 * interrupt path) whenever the guest makes a hypercall, and become
 * violation records. The register pages leave the guest's nested map, so
 * it can neither turn translation off nor move the root table.
 *
 * A guest that already enabled translation, interrupt remapping or queued
 * invalidation owns the unit: it is left alone and DMA is reported
 * unprotected (docs/threat-model.md says what virtualizing it needs).
 */
#include "core/vmm.h"
#include "iommu/dmar.h"
#include "iommu/vtd.h"
#include "lib/format.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "tpm/tis.h"

#define DOMAIN_ID   1u /* 0 is reserved when CAP.CM is set */
#define WAIT_LOOPS  2000000u
#define SL_MAX_BITS 48u
#define POLL_CYCLES 1000000ull /* under a millisecond at any TSC rate a VMM runs on */

struct unit {
	uint64_t base;
	uint32_t pages;
	uint64_t cap, ecap;
	bool on; /* translation enabled by us */
};

static struct {
	uint32_t state; /* TVMM_DMA_* */
	char why[64];
	uint32_t nunits;
	struct unit u[DMAR_MAX_UNITS];
	struct pt sl;
	uint64_t root_pa, ctx_pa;
	bool coherent;
	uint64_t faults, lost, invalidations;
	uint64_t poll_next;   /* vtd_now() from which an exit reads the fault records */
	struct spinlock lock; /* registers and counters after launch */
} D;

static void refuse(uint32_t state, const char *fmt, uint64_t a)
{
	D.state = state;
	tvmm_snprintf(D.why, sizeof(D.why), fmt, (unsigned long long)a);
}

/* ---- the encodings (pure; unit-tested) ---- */

#define SL_R  (1ull << 0)
#define SL_W  (1ull << 1)
#define SL_PS (1ull << 7)

static uint64_t sl_table(uint64_t pa)
{
	return pa | SL_R | SL_W;
}

static uint64_t sl_leaf(uint64_t pa, unsigned perm, unsigned level, enum pt_memtype mt)
{
	(void)mt; /* device accesses snoop; memory types are the CPU's business */
	return pa | ((perm & ACC_R) ? SL_R : 0) | ((perm & ACC_W) ? SL_W : 0) |
	       (level > 1 ? SL_PS : 0);
}

static bool sl_present(uint64_t e)
{
	return e & (SL_R | SL_W);
}

static bool sl_is_leaf(uint64_t e, unsigned level)
{
	return level == 1 || (e & SL_PS);
}

static unsigned sl_perm(uint64_t e)
{
	return ((e & SL_R) ? ACC_R : 0) | ((e & SL_W) ? ACC_W : 0);
}

static enum pt_memtype sl_memtype(uint64_t e, unsigned level)
{
	(void)e;
	(void)level;
	return PT_MT_WB;
}

const struct pt_format vtd_sl_format = {
    .table = sl_table,
    .leaf = sl_leaf,
    .present = sl_present,
    .is_leaf = sl_is_leaf,
    .perm = sl_perm,
    .memtype = sl_memtype,
    .addr_mask = 0x000ffffffffff000ull,
};

void vtd_root_entry(uint64_t out[2], uint64_t context_table_pa)
{
	out[0] = (context_table_pa & PAGE_MASK) | 1;
	out[1] = 0;
}

void vtd_context_entry(uint64_t out[2], uint64_t sl_root_pa, unsigned levels, uint16_t domain)
{
	out[0] = (sl_root_pa & PAGE_MASK) | 1; /* present, faults recorded, TT 00 */
	out[1] = (uint64_t)(levels - 2) | ((uint64_t)domain << 8);
}

bool vtd_fault_decode(uint64_t lo, uint64_t hi, struct vtd_fault *f)
{
	if (!(hi & VTD_FRCD_F))
		return false;
	f->addr = lo & PAGE_MASK;
	f->sid = (uint16_t)hi;
	f->reason = (uint8_t)(hi >> 32);
	f->read = (hi & VTD_FRCD_READ) != 0;
	return true;
}

unsigned vtd_levels(uint64_t cap, unsigned need_bits)
{
	unsigned sagaw = (unsigned)VTD_CAP_SAGAW(cap);
	for (unsigned levels = 3; levels <= 5; levels++)
		if ((sagaw & (1u << (levels - 2))) && 12 + 9 * levels >= need_bits)
			return levels;
	return 0;
}

/* ---- the hardware ---- */

static bool wait32(const struct unit *u, uint32_t off, uint32_t mask, uint32_t want)
{
	for (uint32_t i = 0; i < WAIT_LOOPS; i++) {
		if ((vtd_read32(u->base, off) & mask) == want)
			return true;
		__builtin_ia32_pause();
	}
	return false;
}

static bool wait64_clear(const struct unit *u, uint32_t off, uint64_t bit)
{
	for (uint32_t i = 0; i < WAIT_LOOPS; i++) {
		if (!(vtd_read64(u->base, off) & bit))
			return true;
		__builtin_ia32_pause();
	}
	return false;
}

/* A GCMD bit set or cleared, the others repeated as GSTS has them; waits for GSTS. */
static bool gcmd(const struct unit *u, uint32_t bit, bool on)
{
	uint32_t sts = vtd_read32(u->base, VTD_GSTS) & VTD_GSTS_PERSISTENT;
	vtd_write32(u->base, VTD_GCMD, on ? sts | bit : sts & ~bit);
	return wait32(u, VTD_GSTS, bit, on ? bit : 0);
}

static bool write_buffer_flush(const struct unit *u)
{
	if (!VTD_CAP_RWBF(u->cap))
		return true;
	uint32_t sts = vtd_read32(u->base, VTD_GSTS) & VTD_GSTS_PERSISTENT;
	vtd_write32(u->base, VTD_GCMD, sts | VTD_GCMD_WBF);
	return wait32(u, VTD_GSTS, VTD_GCMD_WBF, 0);
}

/* Register-based global invalidation of the context cache and the IOTLB. */
static bool invalidate(struct unit *u, bool context)
{
	if (!write_buffer_flush(u))
		return false;
	if (context) {
		vtd_write64(u->base, VTD_CCMD, VTD_CCMD_ICC | VTD_CCMD_GLOBAL);
		if (!wait64_clear(u, VTD_CCMD, VTD_CCMD_ICC))
			return false;
	}
	uint32_t iotlb = VTD_ECAP_IRO(u->ecap) + 8;
	vtd_write64(u->base, iotlb, VTD_IOTLB_IVT | VTD_IOTLB_GLOBAL | VTD_IOTLB_DR | VTD_IOTLB_DW);
	if (!wait64_clear(u, iotlb, VTD_IOTLB_IVT))
		return false;
	D.invalidations++;
	return true;
}

/* ---- setup ---- */

/* The copy of the DMAR table the loader handed over, parsed from our own copy. */
static int find_units(struct dmar_info *info)
{
	if (!vmm.ho.dmar_pa || !vmm.ho.dmar_len) {
		refuse(TVMM_DMA_NONE, "no IOMMU", 0);
		return -1;
	}
	if (vmm.ho.dmar_len > DMAR_MAX_LEN) {
		refuse(TVMM_DMA_FAILED, "unsupported: DMAR table of %llu bytes", vmm.ho.dmar_len);
		return -1;
	}
	uint8_t *copy = vmm_alloc_pages((DMAR_MAX_LEN + PAGE_SIZE - 1) / PAGE_SIZE);
	if (!copy) {
		refuse(TVMM_DMA_FAILED, "unsupported: out of VMM memory", 0);
		return -1;
	}
	memcpy(copy, phys_ptr(vmm.ho.dmar_pa), vmm.ho.dmar_len);
	const char *why = "";
	if (dmar_parse(copy, vmm.ho.dmar_len, info, &why)) {
		D.state = TVMM_DMA_FAILED;
		tvmm_snprintf(D.why, sizeof(D.why), "unsupported: DMAR table: %s", why);
		return -1;
	}
	for (uint32_t i = 0; i < info->nunits; i++)
		if (info->unit[i].segment) {
			refuse(TVMM_DMA_FAILED, "unsupported: PCI segment %llu",
			       info->unit[i].segment);
			return -1;
		}
	return 0;
}

static uint64_t sl_limit(void)
{
	/* RAM and the 32-bit MMIO hole: where devices DMA. */
	uint64_t top = 4ull << 30;
	for (uint32_t i = 0; i < vmm.ho.nmem; i++)
		if (vmm.ho.mem[i].base + vmm.ho.mem[i].size > top)
			top = vmm.ho.mem[i].base + vmm.ho.mem[i].size;
	top = (top + (1ull << 30) - 1) & ~((1ull << 30) - 1);
	return top < vmm.phys_limit ? top : vmm.phys_limit;
}

static unsigned bits_of(uint64_t limit)
{
	unsigned b = 0;
	while (b < 64 && (1ull << b) < limit)
		b++;
	return b + 1; /* the table must reach it from its lower half */
}

/* Each unit's registers, uncached in the VMM's own map. */
static int map_units(const struct dmar_info *info)
{
	for (uint32_t i = 0; i < info->nunits; i++) {
		struct unit *u = &D.u[i];
		u->base = info->unit[i].base;
		u->pages = info->unit[i].pages;
		if (pt_map(&vmm.host, u->base, u->base, (uint64_t)u->pages * PAGE_SIZE,
			   ACC_R | ACC_W, PT_MT_UC, 1)) {
			refuse(TVMM_DMA_FAILED, "unsupported: cannot map unit at %#llx", u->base);
			return -1;
		}
	}
	D.nunits = info->nunits;
	return 0;
}

static int check_units(unsigned need, unsigned *levels, unsigned *max_level)
{
	*levels = 0;
	*max_level = 3;
	D.coherent = true;
	for (uint32_t i = 0; i < D.nunits; i++) {
		struct unit *u = &D.u[i];
		u->cap = vtd_read64(u->base, VTD_CAP);
		u->ecap = vtd_read64(u->base, VTD_ECAP);
		uint32_t sts = vtd_read32(u->base, VTD_GSTS);
		/* Nothing there reads all ones: that is no unit, not a guest's translation. */
		if (u->cap == ~0ull || !u->cap || sts == ~0u) {
			refuse(TVMM_DMA_FAILED, "unsupported: no unit answers at %#llx", u->base);
			return -1;
		}
		if (sts & (VTD_GCMD_TE | VTD_GCMD_IRE | VTD_GCMD_QIE)) {
			refuse(TVMM_DMA_GUEST,
			       (sts & VTD_GCMD_TE) ? "guest owns the IOMMU: translation on"
			       : (sts & VTD_GCMD_IRE)
				   ? "guest owns the IOMMU: interrupt remapping on"
				   : "guest owns the IOMMU: queued invalidation on",
			       0);
			return -1;
		}
		unsigned l = vtd_levels(u->cap, need);
		if (!l) {
			refuse(TVMM_DMA_FAILED, "unsupported: SAGAW %#llx", VTD_CAP_SAGAW(u->cap));
			return -1;
		}
		if (!*levels)
			*levels = l;
		else if (*levels != l) {
			/* One shared table needs one depth; mixed units are not supported yet. */
			refuse(TVMM_DMA_FAILED, "unsupported: units differ in table depth", 0);
			return -1;
		}
		uint64_t lps = VTD_CAP_SLLPS(u->cap);
		unsigned ml = (lps & 2) ? 3 : (lps & 1) ? 2 : 1;
		if (ml < *max_level)
			*max_level = ml;
		if (!VTD_ECAP_C(u->ecap))
			D.coherent = false;
	}
	return 0;
}

static int build_sl(unsigned levels, unsigned max_level)
{
	struct pt *sl = &D.sl;
	sl->fmt = &vtd_sl_format;
	sl->levels = levels;
	sl->alloc_table = vmm_alloc_table;
	sl->table_ptr = vmm_pa_to_va;
	if (pt_init(sl) || pt_map(sl, 0, 0, sl_limit(), ACC_R | ACC_W, PT_MT_WB, max_level))
		return -1;
	for (uint32_t i = 0; i < vmm.ho.nchunks; i++)
		if (pt_map(sl, vmm.ho.chunk_pa[i], vmm.ho.chunk_pa[i], 1ull << TVMM_CHUNK_SHIFT, 0,
			   PT_MT_WB, 2))
			return -1;
	for (uint32_t i = 0; i < D.nunits; i++)
		if (pt_map(sl, D.u[i].base, D.u[i].base, (uint64_t)D.u[i].pages * PAGE_SIZE, 0,
			   PT_MT_UC, 1))
			return -1;
	if (pt_map(sl, TIS_BASE + TIS_LOCALITY_SZ, TIS_BASE + TIS_LOCALITY_SZ,
		   (TIS_NLOCALITIES - 1) * TIS_LOCALITY_SZ, 0, PT_MT_UC, 1))
		return -1;
	uint64_t *root = vmm_alloc_table(&D.root_pa), *ctx = vmm_alloc_table(&D.ctx_pa);
	if (!root || !ctx)
		return -1;
	for (unsigned i = 0; i < 256; i++) {
		vtd_root_entry(&root[2 * i], D.ctx_pa);
		vtd_context_entry(&ctx[2 * i], sl->root_pa, levels, DOMAIN_ID);
	}
	return 0;
}

/* The guest's nested map loses the register pages: reads all ones, writes dropped, recorded. */
static int hide_units(void)
{
	for (uint32_t i = 0; i < D.nunits; i++)
		if (pt_map(&vmm.nested, D.u[i].base, D.u[i].base,
			   (uint64_t)D.u[i].pages * PAGE_SIZE, 0, PT_MT_UC, 1))
			return -1;
	return 0;
}

static bool enable_unit(struct unit *u)
{
	vtd_write32(u->base, VTD_FECTL, VTD_FECTL_IM);
	vtd_write64(u->base, VTD_RTADDR, D.root_pa); /* TTM 00: legacy mode */
	if (!gcmd(u, VTD_GCMD_SRTP, true))	     /* GSTS.RTPS: the pointer is latched */
		return false;
	if (!invalidate(u, true))
		return false;
	u->on = true; /* from the write on: a late TE must still be turned off */
	return gcmd(u, VTD_GCMD_TE, true);
}

/* On the VMM's page tables (vmm_on_host): program every unit. */
static void enable_on_host(void)
{
	if (!D.coherent)
		vtd_flush_caches();
	for (uint32_t i = 0; i < D.nunits; i++) {
		if (!enable_unit(&D.u[i])) {
			refuse(TVMM_DMA_FAILED, "unsupported: unit at %#llx did not answer in time",
			       D.u[i].base);
			return;
		}
	}
	D.state = TVMM_DMA_PROTECTED;
}

static void disable_on_host(void)
{
	for (uint32_t i = 0; i < D.nunits; i++)
		if (D.u[i].on && gcmd(&D.u[i], VTD_GCMD_TE, false))
			D.u[i].on = false;
}

static struct dmar_info info;
static unsigned probe_levels, probe_max;

/* The loader's copy of the table is reached by its physical address: on the VMM's tables. */
static void find_on_host(void)
{
	find_units(&info);
}

static void probe_on_host(void)
{
	check_units(bits_of(sl_limit()), &probe_levels, &probe_max);
}

/* At init, before any CPU runs as a guest; says what it did in the log and in D. */
void iommu_init(void)
{
	memset(&D, 0, sizeof(D));
	if (vmm_on_host(find_on_host) || D.why[0] || map_units(&info))
		goto out;
	if (bits_of(sl_limit()) > SL_MAX_BITS) {
		refuse(TVMM_DMA_FAILED, "unsupported: memory beyond 2^47", 0);
		goto out;
	}
	if (vmm_on_host(probe_on_host) || D.why[0])
		goto out;
	if (build_sl(probe_levels, probe_max)) {
		refuse(TVMM_DMA_FAILED, "unsupported: out of VMM memory for the tables", 0);
		goto out;
	}
	if (vmm_on_host(enable_on_host) || D.state != TVMM_DMA_PROTECTED) {
		if (!D.why[0])
			refuse(TVMM_DMA_FAILED, "unsupported: could not enable", 0);
		vmm_on_host(disable_on_host);
		goto out;
	}
	/* Only now: a guest whose DMA is not protected keeps its view of the registers. */
	if (hide_units()) {
		refuse(TVMM_DMA_FAILED, "unsupported: out of VMM memory for the nested map", 0);
		iommu_release();
	}
out:
	if (D.state == TVMM_DMA_PROTECTED)
		vmm_log("dma: protected by VT-d: %u unit(s), %u-level tables up to %#llx, %llu "
			"table pages, walks %s",
			D.nunits, D.sl.levels, (unsigned long long)sl_limit(),
			(unsigned long long)(D.sl.table_pages + 2),
			D.coherent ? "coherent" : "not coherent (caches flushed)");
	else
		vmm_log(
		    "dma: UNPROTECTED (%s): any device can read and write all memory, the VMM's "
		    "included",
		    D.why);
}

int iommu_release(void)
{
	bool any = false;
	for (uint32_t i = 0; i < D.nunits; i++)
		any |= D.u[i].on;
	if (!any)
		return 0;
	if (vmm_on_host(disable_on_host))
		return -1;
	for (uint32_t i = 0; i < D.nunits; i++)
		if (D.u[i].on)
			return -1;
	if (D.state == TVMM_DMA_PROTECTED) {
		D.state = TVMM_DMA_NONE;
		tvmm_snprintf(D.why, sizeof(D.why), "released");
	}
	return 0;
}

/* ---- after launch (VM-exit context: the VMM's page tables) ---- */

static void record_fault(struct vcpu *v, const struct vtd_fault *f)
{
	const struct tvmm_pol_rule *r = policy_find(TVMM_RULE_MEM, f->addr, PAGE_SIZE, 0);
	struct tvmm_event e = {.gpa = f->addr,
			       .gva = TVMM_EV_NO_GVA,
			       .value = f->reason,
			       .cpu = v->cpu,
			       .index = f->sid,
			       .rule = r ? r->id : TVMM_EV_NO_RULE,
			       .kind = TVMM_EV_DMA,
			       .access = f->read ? TVMM_PERM_R : TVMM_PERM_W,
			       .action = TVMM_ACT_DENY};
	if (r)
		memcpy(e.rule_name, r->name, sizeof(e.rule_name));
	D.faults++;
	event_record(&e);
}

/*
 * The unit's records were full and it dropped faults: which device and
 * address is unknown, but that DMA was blocked is not, so it is a record
 * (and a violation class in PCR19) of its own.
 */
static void record_lost(struct vcpu *v, const struct unit *u)
{
	struct tvmm_event e = {.gpa = u->base,
			       .gva = TVMM_EV_NO_GVA,
			       .cpu = v->cpu,
			       .index = TVMM_DMA_SRC_LOST,
			       .rule = TVMM_EV_NO_RULE,
			       .kind = TVMM_EV_DMA,
			       .action = TVMM_ACT_DENY};
	D.lost++;
	event_record(&e);
}

static void poll_unit(struct vcpu *v, struct unit *u)
{
	uint32_t fsts = vtd_read32(u->base, VTD_FSTS);
	if (fsts & VTD_FSTS_PFO) {
		vtd_write32(u->base, VTD_FSTS, VTD_FSTS_PFO);
		record_lost(v, u);
	}
	if (!(fsts & VTD_FSTS_PPF))
		return;
	unsigned nfr = VTD_CAP_NFR(u->cap), first = (fsts >> 8) & 0xff;
	for (unsigned k = 0; k < nfr; k++) {
		uint32_t off = VTD_CAP_FRO(u->cap) + ((first + k) % nfr) * 16u;
		struct vtd_fault f;
		if (!vtd_fault_decode(vtd_read64(u->base, off), vtd_read64(u->base, off + 8), &f))
			continue;
		vtd_write32(u->base, off + 12, (uint32_t)(VTD_FRCD_F >> 32)); /* RW1C */
		record_fault(v, &f);
	}
}

void iommu_poll(struct vcpu *v)
{
	if (__atomic_load_n(&D.state, __ATOMIC_ACQUIRE) != TVMM_DMA_PROTECTED)
		return;
	spin_lock(&D.lock);
	for (uint32_t i = 0; i < D.nunits; i++)
		poll_unit(v, &D.u[i]);
	spin_unlock(&D.lock);
}

/*
 * At a VM exit, at most every POLL_CYCLES: a unit holds few fault records
 * (QEMU's one), so reading them only at hypercalls would lose most of a
 * burst, and reading them at every exit would add an uncached MMIO read to
 * each exit.
 */
void iommu_poll_exit(struct vcpu *v)
{
	static uint64_t next;
	if (__atomic_load_n(&D.state, __ATOMIC_ACQUIRE) != TVMM_DMA_PROTECTED)
		return;
	uint64_t now = vtd_now(), due = __atomic_load_n(&next, __ATOMIC_RELAXED);
	if (now < due || !__atomic_compare_exchange_n(&next, &due, now + POLL_CYCLES, false,
						      __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	iommu_poll(v);
}

uint64_t iommu_lock_pages(uint32_t mem_rules)
{
	return D.state == TVMM_DMA_PROTECTED ? (uint64_t)mem_rules * 4u : 0;
}

/* After table changes that only take permissions away: caches, then each unit's IOTLB. */
static int flush_after_change(void)
{
	int rc = 0;
	if (!D.coherent)
		vtd_flush_caches();
	for (uint32_t i = 0; i < D.nunits; i++)
		if (!invalidate(&D.u[i], false))
			rc = -1;
	return rc;
}

int iommu_write_protect(uint64_t gpa, uint64_t size)
{
	if (D.state != TVMM_DMA_PROTECTED)
		return 0;
	spin_lock(&D.lock);
	int rc = pt_set_perm(&D.sl, gpa, size, ACC_R);
	if (flush_after_change())
		rc = -1;
	spin_unlock(&D.lock);
	return rc;
}

int iommu_lock(const struct tvmm_pol_rule *rules, uint32_t n)
{
	if (D.state != TVMM_DMA_PROTECTED)
		return 0;
	int rc = 0;
	spin_lock(&D.lock);
	for (uint32_t i = 0; i < n && !rc; i++)
		if (rules[i].kind == TVMM_RULE_MEM && !(rules[i].perm & TVMM_PERM_W) &&
		    pt_set_perm(&D.sl, rules[i].a, rules[i].b, ACC_R))
			rc = -1;
	if (flush_after_change())
		rc = -1;
	spin_unlock(&D.lock);
	if (rc)
		vmm_log("dma: applying the lock to the IOMMU tables FAILED part-way");
	return rc;
}

bool iommu_owns(uint64_t pa)
{
	for (uint32_t i = 0; i < D.nunits; i++)
		if (D.state == TVMM_DMA_PROTECTED && pa - D.u[i].base < D.u[i].pages * PAGE_SIZE)
			return true;
	return false;
}

/* A CPU touched a unit's registers (they are not in its map): recorded as a dma event. */
void iommu_cpu_access(struct vcpu *v, uint64_t gpa, uint8_t access)
{
	struct tvmm_event e = {.rip = vmm.ops->get(v, GS_RIP),
			       .gpa = gpa,
			       .gva = TVMM_EV_NO_GVA,
			       .cpu = v->cpu,
			       .index = TVMM_DMA_SRC_CPU,
			       .rule = TVMM_EV_NO_RULE,
			       .kind = TVMM_EV_DMA,
			       .access = access,
			       .action = TVMM_ACT_DENY};
	event_record(&e);
}

void iommu_status(struct tvmm_status *s)
{
	s->dma_state = D.state;
	s->dma_units = D.state == TVMM_DMA_PROTECTED ? D.nunits : 0;
	s->dma_faults = D.faults;
	s->dma_lost = D.lost;
	s->dma_table_pages = D.state == TVMM_DMA_PROTECTED ? D.sl.table_pages + 2 : 0;
	s->dma_invalidations = D.invalidations;
	memcpy(s->dma_why, D.why, sizeof(s->dma_why));
	s->dma_why[sizeof(s->dma_why) - 1] = 0;
}

int iommu_claim(char *buf, size_t n)
{
	switch (D.state) {
	case TVMM_DMA_PROTECTED:
		return tvmm_snprintf(buf, n, "dma: protected iommu=vt-d units=%u", D.nunits);
	case TVMM_DMA_GUEST:
		return tvmm_snprintf(buf, n, "dma: unprotected reason=guest-owns-iommu");
	case TVMM_DMA_FAILED:
		return tvmm_snprintf(buf, n, "dma: unprotected reason=unsupported");
	}
	return tvmm_snprintf(buf, n, "dma: unprotected reason=no-iommu");
}
