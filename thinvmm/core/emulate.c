/* SPDX-License-Identifier: MIT */
/*
 * Guest accesses to guest-physical pages that are not there for it (the
 * VMM's own memory, addresses beyond the map) behave like unbacked memory
 * on real hardware: reads return all ones, writes vanish. The access is
 * recorded. Only plain MOV forms are emulated; anything else gets #GP.
 */
#include "core/decode.h"
#include "core/gwalk.h"
#include "core/vmm.h"
#include "lib/string.h"

#define VEC_GP 13

static uint64_t unbacked_hits;

static int read_guest64(void *opaque, uint64_t gpa, uint64_t *val)
{
	(void)opaque;
	if (vmm_owns_range(gpa, 8) || gpa + 8 > vmm.phys_limit)
		return -1;
	memcpy(val, phys_ptr(gpa), 8);
	return 0;
}

/*
 * A guest-virtual address through the guest's current page tables to a
 * guest-physical one the guest could reach itself (not VMM memory, inside
 * the map), with n bytes from there in the same page. 0 or -1.
 */
int guest_virt_to_phys(struct vcpu *v, uint64_t gva, uint64_t n, uint64_t *gpa)
{
	const struct backend_ops *o = vmm.ops;
	struct gwalk_ctx c = {.cr3 = o->get(v, GS_CR3),
			      .cr4 = o->get(v, GS_CR4),
			      .efer = o->get(v, GS_EFER),
			      .read64 = read_guest64};
	uint64_t psz;
	if (n > PAGE_SIZE - (gva & (PAGE_SIZE - 1)) || gwalk_translate(&c, gva, gpa, &psz))
		return -1;
	return vmm_owns_range(*gpa, n) || *gpa + n > vmm.phys_limit ? -1 : 0;
}

/*
 * Copies up to len bytes between buf and the guest's virtual memory, page
 * by page; returns how many from the start were done. Writes refuse pages
 * a policy memory rule covers: the VMM never writes where the guest itself
 * could not.
 */
static size_t virt_copy(struct vcpu *v, uint64_t gva, uint8_t *buf, size_t len, bool write)
{
	size_t done = 0;
	while (done < len) {
		uint64_t gpa, n = PAGE_SIZE - ((gva + done) & (PAGE_SIZE - 1));
		if (n > len - done)
			n = len - done;
		if (guest_virt_to_phys(v, gva + done, n, &gpa) ||
		    (write && policy_find(TVMM_RULE_MEM, gpa & PAGE_MASK, PAGE_SIZE, 0)))
			break;
		if (write)
			memcpy(phys_ptr(gpa), buf + done, n);
		else
			memcpy(buf + done, phys_ptr(gpa), n);
		done += n;
	}
	return done;
}

/* Up to `len` instruction bytes at the guest's RIP. */
size_t guest_fetch_insn(struct vcpu *v, uint8_t *buf, size_t len)
{
	return virt_copy(v, vmm.ops->get(v, GS_RIP), buf, len, false);
}

/* All of [gva, gva + len) or nothing useful: 0 or -1. */
int guest_virt_copy(struct vcpu *v, uint64_t gva, void *buf, size_t len, bool write)
{
	return virt_copy(v, gva, buf, len, write) == len ? 0 : -1;
}

static void record(struct vcpu *v, const struct exit *e, const char *what)
{
	uint64_t n = __atomic_add_fetch(&unbacked_hits, 1, __ATOMIC_RELAXED);
	/* A storm must not flood the log: the first few, then one in 4096. */
	if (n <= 16 || !(n & 4095))
		vmm_log("cpu %u: guest %s gpa %#llx at rip %#llx (%s; hit %llu)", v->cpu,
			e->npf.access & ACC_W	? "write"
			: e->npf.access & ACC_X ? "fetch"
						: "read",
			(unsigned long long)e->npf.gpa, (unsigned long long)vmm.ops->get(v, GS_RIP),
			what, (unsigned long long)n);
}

void emulate_unbacked_access(struct vcpu *v, const struct exit *e)
{
	bool iommu = iommu_owns(e->npf.gpa);
	const char *what = vmm_owns_range(e->npf.gpa & PAGE_MASK, PAGE_SIZE) ? "VMM memory"
			   : iommu					     ? "IOMMU registers"
									     : "unbacked address";
	if (iommu && (e->npf.access & ACC_W))
		iommu_cpu_access(v, e->npf.gpa,
				 TVMM_PERM_W); /* an attempt to switch DMA protection off */
	if ((e->npf.access & ACC_X) || e->npf.in_walk || !vmm.ops->get(v, GS_CS_LONG)) {
		record(v, e, "refused with #GP");
		vmm.ops->inject_exception(v, VEC_GP, true, 0);
		return;
	}
	uint8_t bytes[15];
	struct insn in;
	size_t n = guest_fetch_insn(v, bytes, sizeof(bytes));
	if (insn_decode(bytes, n, &in)) {
		record(v, e, "not a plain MOV: #GP");
		vmm.ops->inject_exception(v, VEC_GP, true, 0);
		return;
	}
	record(v, e, what);
	if (in.op != INSN_STORE && in.op != INSN_STORE_IMM)
		insn_apply_load(&in, v->regs, ~0ull);
	vmm.ops->set(v, GS_RIP, vmm.ops->get(v, GS_RIP) + in.len);
}
