/* SPDX-License-Identifier: MIT */
/*
 * Translation integrity, below the top level: the lock protects physical
 * frames, and the guest's own page tables decide which frames its kernel
 * addresses reach. After a lock, TVMM_HC_LOCK_XLAT names the kernel-virtual
 * ranges the policy's memory rules came from; the VMM walks them on the
 * current CR3, checks each leaf lands in a locked range, and takes the
 * page-table pages on those walks below the top level (shared by every
 * process on x86-64 Linux) away from guest writes, in the nested map and
 * the IOMMU's. A trapped write that leaves every protected entry's frame
 * and permissions as they were (Accessed/Dirty aside) is performed for the
 * guest; one that would change them is dropped and recorded (kind
 * `translation`). The top-level page of each process, and so a forged CR3,
 * is not covered (docs/threat-model.md).
 */
#include "core/decode.h"
#include "core/gwalk.h"
#include "core/vmm.h"
#include "lib/spinlock.h"
#include "lib/string.h"

#define XLAT_MAX_PAGES	32u
#define XLAT_MAX_RANGES 64u
#define PTE_P		(1ull << 0)
#define PTE_RW		(1ull << 1)
#define PTE_A		(1ull << 5)
#define PTE_D		(1ull << 6)
#define PTE_PS		(1ull << 7)
#define VEC_GP		13

struct xlat_page {
	uint64_t gpa;
	uint8_t level;	     /* of its entries: 1 = PTEs */
	uint8_t perm;	     /* its nested permissions before it was guarded */
	uint64_t guarded[8]; /* entries on a protected walk, one bit each */
};

enum xlat_state { XLAT_OFF, XLAT_ON, XLAT_GAVE_UP };

static struct {
	uint32_t state; /* enum xlat_state */
	uint32_t n, ranges;
	struct xlat_page p[XLAT_MAX_PAGES];
	uint64_t denied, emulated;
	struct spinlock lock; /* entry writes done for the guest */
} X;

/* ---- the classifier (pure; unit-tested) ---- */

/*
 * The entry as it would be after storing `len` bytes of `val` at byte `off`
 * within it (off + len <= 8).
 */
uint64_t xlat_merge(uint64_t old, unsigned off, unsigned len, uint64_t val)
{
	uint64_t mask = len >= 8 ? ~0ull : ((1ull << (8 * len)) - 1);
	return (old & ~(mask << (8 * off))) | ((val & mask) << (8 * off));
}

/* Would this change what a protected entry maps (frame, permissions, presence, size)? */
bool xlat_changes(uint64_t old, uint64_t new)
{
	return ((old ^ new) & ~(PTE_A | PTE_D)) != 0;
}

/* ---- recording walks ---- */

struct walk_rec {
	uint64_t entry[5]; /* guest-physical addresses of the entries read, top first */
	unsigned n;
};

static int rec_read64(void *opaque, uint64_t gpa, uint64_t *val)
{
	struct walk_rec *w = opaque;
	if (vmm_owns_range(gpa, 8) || gpa + 8 > vmm.phys_limit || (gpa & 7))
		return -1;
	if (w->n < 5)
		w->entry[w->n++] = gpa;
	memcpy(val, phys_ptr(gpa), 8);
	return 0;
}

static struct xlat_page *page_of(uint64_t gpa)
{
	for (uint32_t i = 0; i < X.n; i++)
		if (X.p[i].gpa == (gpa & PAGE_MASK))
			return &X.p[i];
	return 0;
}

/* Adds the entry at `gpa` (its page's entries are at `level`) to the guarded set. */
static int guard(uint64_t gpa, unsigned level)
{
	struct xlat_page *p = page_of(gpa);
	if (!p) {
		if (X.n == XLAT_MAX_PAGES)
			return -1;
		p = &X.p[X.n++];
		p->gpa = gpa & PAGE_MASK;
		p->level = (uint8_t)level;
	}
	unsigned i = (unsigned)((gpa & (PAGE_SIZE - 1)) / 8);
	p->guarded[i / 64] |= 1ull << (i % 64);
	return 0;
}

/* Walks [va, va + size) page by page (leaf by leaf); each leaf must be a locked frame. */
static int64_t walk_range(struct vcpu *v, uint64_t va, uint64_t size)
{
	const struct backend_ops *o = vmm.ops;
	unsigned levels = (o->get(v, GS_CR4) & GWALK_CR4_LA57) ? 5 : 4;
	uint64_t end = va + size;
	if (!size || end < va || size > (1ull << 32))
		return TVMM_ERANGE;
	while (va < end) {
		struct walk_rec w = {.n = 0};
		struct gwalk_ctx c = {.cr3 = o->get(v, GS_CR3),
				      .cr4 = o->get(v, GS_CR4),
				      .efer = o->get(v, GS_EFER),
				      .read64 = rec_read64,
				      .opaque = &w};
		uint64_t gpa, psz;
		if (gwalk_translate(&c, va, &gpa, &psz))
			return TVMM_EFAULT;
		if (!policy_find(TVMM_RULE_MEM, gpa & PAGE_MASK, PAGE_SIZE, 0))
			return TVMM_EINVAL; /* not a locked frame: not what the lock is about */
		/* Below the top level: entry k of the walk sits in a table of level levels - k. */
		for (unsigned k = 1; k < w.n; k++)
			if (guard(w.entry[k], levels - k))
				return TVMM_ENOMEM;
		va = (va & ~(psz - 1)) + psz;
		if (!va)
			break;
	}
	return TVMM_OK;
}

/*
 * Entries the CPU would set Accessed or Dirty in by itself: set now, so its
 * page walks never write the guarded pages (a walk's write would trap).
 */
static unsigned settle_ad(const struct xlat_page *p)
{
	uint64_t *e = phys_ptr(p->gpa);
	unsigned changed = 0;
	for (unsigned i = 0; i < 512; i++) {
		uint64_t v = __atomic_load_n(&e[i], __ATOMIC_RELAXED);
		if (!(v & PTE_P))
			continue;
		uint64_t want = v | PTE_A;
		if ((p->level == 1 || (v & PTE_PS)) && (v & PTE_RW))
			want |= PTE_D;
		if (want != v) {
			__atomic_compare_exchange_n(&e[i], &v, want, false, __ATOMIC_RELAXED,
						    __ATOMIC_RELAXED);
			changed++;
		}
	}
	return changed;
}

int64_t xlat_lock(struct vcpu *v, uint64_t gpa, uint64_t len)
{
	if (!__atomic_load_n(&vmm.pol.locked, __ATOMIC_ACQUIRE) || X.state != XLAT_OFF)
		return TVMM_EDENIED;
	int64_t rc = hc_check_buffer(gpa, len);
	if (rc)
		return rc;
	if (len % 16 || len / 16 > XLAT_MAX_RANGES)
		return TVMM_EINVAL;
	uint64_t r[2 * XLAT_MAX_RANGES];
	memcpy(r, phys_ptr(gpa), len); /* ours first: the guest's copy may change */
	X.n = 0;
	memset(X.p, 0, sizeof(X.p));
	for (uint64_t i = 0; i < len / 16; i++)
		if ((rc = walk_range(v, r[2 * i], r[2 * i + 1]))) {
			v->regs[GREG_RBX] = i;
			X.n = 0;
			return rc;
		}
	for (uint32_t i = 0; i < X.n; i++) {
		uint64_t pa;
		unsigned perm = ACC_RWX, level;
		enum pt_memtype mt;
		pt_lookup(&vmm.nested, X.p[i].gpa, &pa, &perm, &level, &mt);
		X.p[i].perm = (uint8_t)perm; /* what give_up() restores */
	}
	X.ranges = (uint32_t)(len / 16);
	/*
	 * On before the first page turns read-only: another CPU's fault on it
	 * must find it here, not in the unbacked-memory emulation; and a CPU
	 * that gives up meanwhile stops the loop (both under X.lock).
	 */
	__atomic_store_n(&X.state, XLAT_ON, __ATOMIC_RELEASE);
	for (uint32_t i = 0; i < X.n; i++) {
		spin_lock(&X.lock);
		bool on = X.state == XLAT_ON;
		if (on) {
			settle_ad(&X.p[i]);
			if (nested_protect(X.p[i].gpa, PAGE_SIZE, ACC_R) ||
			    iommu_write_protect(X.p[i].gpa, PAGE_SIZE)) {
				vmm_log(
				    "translations: protecting page-table page %#llx failed: the "
				    "pages before it stay protected",
				    (unsigned long long)X.p[i].gpa);
				X.n = i;
				rc = TVMM_ENOMEM;
				on = false;
			}
		}
		spin_unlock(&X.lock);
		if (!on)
			break;
	}
	__atomic_add_fetch(&vmm.pol.gen, 1, __ATOMIC_ACQ_REL); /* every CPU flushes its TLB */
	policy_sync(v);
	vmm_log("translations: %u range(s) locked through %u page-table page(s) below the top "
		"level (the top level and CR3 are not covered)",
		X.ranges, X.n);
	return rc;
}

static void record_xlat(struct vcpu *v, const struct exit *e, uint64_t entry_gpa, uint64_t new)
{
	struct tvmm_event ev = {.rip = vmm.ops->get(v, GS_RIP),
				.gpa = entry_gpa,
				.gva = e->npf.gva,
				.value = new,
				.cpu = v->cpu,
				.index = (uint32_t)((entry_gpa & (PAGE_SIZE - 1)) / 8),
				.rule = TVMM_EV_NO_RULE,
				.kind = TVMM_EV_XLAT,
				.access = TVMM_PERM_W,
				.action = TVMM_ACT_DENY};
	event_record(&ev);
}

/*
 * A page walk wrote a guarded page although every Accessed and Dirty bit it
 * could want was set: this walker stores on every walk (QEMU 7.2's TCG
 * does, under nested paging), so guarding page tables would stop the guest.
 * The pages get their permissions back and the status says so.
 */
static void give_up(struct vcpu *v)
{
	spin_lock(&X.lock);
	if (X.state == XLAT_ON) {
		for (uint32_t i = 0; i < X.n; i++)
			nested_protect(X.p[i].gpa, PAGE_SIZE, X.p[i].perm);
		__atomic_store_n(&X.state, XLAT_GAVE_UP, __ATOMIC_RELEASE);
		__atomic_add_fetch(&vmm.pol.gen, 1, __ATOMIC_ACQ_REL);
		vmm_log(
		    "translations: NOT protected: this CPU's page walker writes page-table "
		    "entries on every walk (an emulator's, e.g. QEMU TCG's), so page tables cannot "
		    "be write-protected here");
	}
	spin_unlock(&X.lock);
	policy_sync(v);
}

/*
 * A nested fault on a guarded page-table page. true if handled (*act set);
 * false: not one of ours.
 */
bool xlat_npf(struct vcpu *v, const struct exit *e, enum action *act)
{
	uint32_t state = __atomic_load_n(&X.state, __ATOMIC_ACQUIRE);
	if (state == XLAT_OFF)
		return false;
	struct xlat_page *p = page_of(e->npf.gpa);
	if (!p)
		return false;
	*act = ACT_RESUME;
	if (state == XLAT_ON && e->npf.in_walk && !settle_ad(p))
		give_up(v);
	if (state != XLAT_ON || !(e->npf.access & ACC_W) || e->npf.in_walk) {
		/* Given up, a stale translation, or the CPU's own Accessed/Dirty update done. */
		vmm.ops->flush_nested(v);
		return true;
	}
	struct insn in;
	uint8_t bytes[INSN_MAX_LEN];
	uint64_t off = e->npf.gpa & 7;
	if (!vmm.ops->get(v, GS_CS_LONG) ||
	    insn_decode(bytes, guest_fetch_insn(v, bytes, sizeof(bytes)), &in) ||
	    (in.op != INSN_STORE && in.op != INSN_STORE_IMM) || off + in.mem_size > 8) {
		/* Only plain stores within one entry are emulated, as for memory rules. */
		record_xlat(v, e, e->npf.gpa & ~7ull, 0);
		vmm.ops->inject_exception(v, VEC_GP, true, 0);
		return true;
	}
	uint64_t entry = e->npf.gpa & ~7ull, *ep = phys_ptr(entry);
	unsigned i = (unsigned)((entry & (PAGE_SIZE - 1)) / 8);
	spin_lock(&X.lock);
	uint64_t old = __atomic_load_n(ep, __ATOMIC_RELAXED);
	uint64_t new = xlat_merge(old, (unsigned)off, in.mem_size, insn_store_value(&in, v->regs));
	bool deny = (p->guarded[i / 64] >> (i % 64) & 1) && xlat_changes(old, new);
	if (!deny) {
		__atomic_store_n(ep, new, __ATOMIC_RELAXED);
		X.emulated++;
	} else {
		X.denied++;
	}
	spin_unlock(&X.lock);
	if (deny)
		record_xlat(v, e, entry, new);
	vmm.ops->set(v, GS_RIP, vmm.ops->get(v, GS_RIP) + in.len);
	return true;
}

void xlat_status(uint32_t *ranges, uint32_t *pages, bool *gave_up)
{
	uint32_t state = __atomic_load_n(&X.state, __ATOMIC_ACQUIRE);
	*ranges = state == XLAT_ON ? X.ranges : 0;
	*pages = state == XLAT_ON ? X.n : 0;
	*gave_up = state == XLAT_GAVE_UP;
}
