/* SPDX-License-Identifier: MIT */
/*
 * Entry from a loader: relocate, take over the handed memory, build the
 * VMM's own address space and the nested identity map, then virtualize
 * CPUs one at a time as the loader asks.
 */
#include <stdarg.h>

#include "core/mtrr.h"
#include "core/vmm.h"
#include "lib/console.h"
#include "lib/format.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "lib/x86.h"

#define HIDDEN __attribute__((visibility("hidden")))

struct vmm vmm;

extern const struct backend_ops svm_ops, vmx_ops;
extern char __image_start[] HIDDEN;
extern char __mem_end[] HIDDEN;

struct rela {
	uint64_t offset, info;
	int64_t addend;
};
extern const struct rela __rela_start[] HIDDEN, __rela_end[] HIDDEN;

#define R_X86_64_RELATIVE 8

/* Runs before anything else; touches only RIP-relative data. */
static void relocate(void)
{
	static uint8_t done;
	if (done)
		return;
	uint64_t base = (uint64_t)(uintptr_t)__image_start;
	for (const struct rela *r = __rela_start; r < __rela_end; r++)
		if ((r->info & 0xffffffffu) == R_X86_64_RELATIVE)
			*(uint64_t *)(base + r->offset) = base + (uint64_t)r->addend;
	done = 1;
}

/* Over code and constant data: what a write into the VMM would change first. */
uint64_t vmm_image_hash(void)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const uint8_t *p = (const uint8_t *)__image_start; p < (const uint8_t *)__rela_end;
	     p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return h;
}

void vmm_error(const char *fmt, ...)
{
	char *dst = vmm.loader_ho ? vmm.loader_ho->error : 0;
	char buf[sizeof(vmm.ho.error)];
	va_list ap;
	va_start(ap, fmt);
	tvmm_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (dst)
		memcpy(dst, buf, sizeof(buf));
	vmm_log("%s", buf);
}

/* The region is nchunks 2 MiB chunks, virtually contiguous at image_va. */
uint64_t vmm_va_to_pa(const void *va)
{
	uint64_t off = (uint64_t)(uintptr_t)va - vmm.image_va;
	return vmm.ho.chunk_pa[off >> TVMM_CHUNK_SHIFT] + (off & ((1ull << TVMM_CHUNK_SHIFT) - 1));
}

void *vmm_pa_to_va(uint64_t pa)
{
	for (uint32_t i = 0; i < vmm.ho.nchunks; i++) {
		uint64_t off = pa - vmm.ho.chunk_pa[i];
		if (off < (1ull << TVMM_CHUNK_SHIFT))
			return (void *)(uintptr_t)(vmm.image_va +
						   ((uint64_t)i << TVMM_CHUNK_SHIFT) + off);
	}
	return 0;
}

static struct spinlock alloc_lock;

/* Zeroed, physically contiguous pages; never freed (the loader frees all). */
void *vmm_alloc_pages(size_t npages)
{
	uint64_t bytes = npages * PAGE_SIZE, chunk = 1ull << TVMM_CHUNK_SHIFT;
	if (!npages || bytes > chunk)
		return 0;
	spin_lock(&alloc_lock);
	uint64_t off = vmm.alloc_next;
	if ((off & (chunk - 1)) + bytes > chunk)
		off = (off + chunk - 1) & ~(chunk - 1);
	void *p = 0;
	if (off + bytes <= vmm.mem_total) {
		vmm.alloc_next = off + bytes;
		p = (void *)(uintptr_t)(vmm.image_va + off);
	}
	spin_unlock(&alloc_lock);
	if (p)
		memset(p, 0, bytes);
	return p;
}

void *vmm_alloc_table(uint64_t *pa)
{
	void *p = vmm_alloc_pages(1);
	if (p)
		*pa = vmm_va_to_pa(p);
	return p;
}

static int check_handoff(const struct tvmm_handoff *h)
{
	if (h->version != TVMM_HANDOFF_VERSION || h->size != sizeof(*h))
		return -1;
	if (!h->nchunks || h->nchunks > TVMM_MAX_CHUNKS || !h->max_cpus ||
	    h->max_cpus > TVMM_MAX_CPUS || h->nmem > TVMM_MAX_MEMRANGES)
		return -1;
	for (uint32_t i = 0; i < h->nchunks; i++)
		if (h->chunk_pa[i] & ((1ull << TVMM_CHUNK_SHIFT) - 1))
			return -1;
	return 0;
}

static const struct backend_ops *pick_backend(void)
{
	struct cpuid_regs r;
	cpuid(0, 0, &r);
	/* "AuthenticAMD" and Hygon's "HygonGenuine" both carry SVM. */
	if ((r.ebx == 0x68747541 && r.edx == 0x69746e65) ||
	    (r.ebx == 0x6f677948 && r.edx == 0x6e65476e))
		return &svm_ops;
	if (r.ebx == 0x756e6547 && r.edx == 0x49656e69) /* "GenuineIntel" */
		return &vmx_ops;
	return 0;
}

static void probe_paging(void)
{
	struct cpuid_regs r;
	cpuid(0x80000000, 0, &r);
	uint32_t max_ext = r.eax;
	unsigned bits = 36;
	if (max_ext >= 0x80000008) {
		cpuid(0x80000008, 0, &r);
		bits = r.eax & 0xff;
	}
	cpuid(0x80000001, 0, &r);
	vmm.gbpages = (r.edx & (1u << 26)) && vmm.ops->nested_max_level() == 3;
	vmm.phys_bits = bits;
	unsigned levels = (read_cr4() & CR4_LA57) ? 5 : 4;
	unsigned cap = levels == 5 ? 52 : 46; /* keep 4-level host identity in the lower half */
	if (bits > cap)
		bits = cap;
	vmm.phys_limit = 1ull << bits;
	if (!vmm.gbpages) {
		/* 2 MiB leaves over a terabyte cost megabytes: cover RAM and 4 GiB. */
		uint64_t top = 4ull << 30;
		for (uint32_t i = 0; i < vmm.ho.nmem; i++)
			if (vmm.ho.mem[i].base + vmm.ho.mem[i].size > top)
				top = vmm.ho.mem[i].base + vmm.ho.mem[i].size;
		top = (top + (1ull << 30) - 1) & ~((1ull << 30) - 1);
		if (top < vmm.phys_limit)
			vmm.phys_limit = top;
	}
	vmm.host.levels = levels;
	vmm.nested.levels = vmm.ops->nested_levels ? vmm.ops->nested_levels : levels;
}

static int write_back(const void *ctx, uint64_t pa, uint64_t size)
{
	(void)ctx;
	(void)pa;
	(void)size;
	return PT_MT_WB;
}

static int mtrr_type_of(const void *ctx, uint64_t pa, uint64_t size)
{
	return mtrr_range_type(ctx, pa, size);
}

static int build_tables(void)
{
	unsigned max_level = vmm.gbpages ? 3 : 2;
	struct pt *h = &vmm.host, *n = &vmm.nested;
	h->fmt = &pt_format_x86;
	n->fmt = vmm.ops->nested_fmt;
	h->alloc_table = n->alloc_table = vmm_alloc_table;
	h->table_ptr = n->table_ptr = vmm_pa_to_va;
	if (pt_init(h) || pt_init(n))
		return -1;
	/* Host: identity map of physical memory, plus the image where the loader put it. */
	if (pt_map(h, 0, 0, vmm.phys_limit, ACC_R | ACC_W, PT_MT_WB, max_level))
		return -1;
	for (uint32_t i = 0; i < vmm.ho.nchunks; i++)
		if (pt_map(h, vmm.image_va + ((uint64_t)i << TVMM_CHUNK_SHIFT), vmm.ho.chunk_pa[i],
			   1ull << TVMM_CHUNK_SHIFT, ACC_RWX, PT_MT_WB, 2))
			return -1;
	/*
	 * Nested: everything the guest could address, identity, minus us. NPT
	 * leaves say write-back and the MTRRs still apply; EPT replaces the
	 * MTRRs, so its leaves carry the type the MTRRs give each range.
	 */
	struct mtrr_state mtrr;
	mtrr_read(&mtrr, vmm.phys_bits);
	if (pt_map_identity_typed(n, vmm.phys_limit, ACC_RWX, max_level,
				  vmm.ops->nested_memtypes ? mtrr_type_of : write_back, &mtrr))
		return -1;
	for (uint32_t i = 0; i < vmm.ho.nchunks; i++)
		if (pt_map(n, vmm.ho.chunk_pa[i], vmm.ho.chunk_pa[i], 1ull << TVMM_CHUNK_SHIFT, 0,
			   PT_MT_WB, 2))
			return -1;
	return 0;
}

void host_idt_init(void);

static long vmm_init(struct tvmm_handoff *h)
{
	vmm.loader_ho = h;
	if (vmm.ready)
		return TVMM_L_BUSY;
	if (check_handoff(h)) {
		vmm.loader_ho = 0;
		return TVMM_L_EINVAL;
	}
	memcpy(&vmm.ho, h, sizeof(*h));
	vmm.image_va = h->image_va;
	vmm.mem_total = (uint64_t)h->nchunks << TVMM_CHUNK_SHIFT;
	vmm.alloc_next =
	    ((uint64_t)(uintptr_t)__mem_end - (uint64_t)(uintptr_t)__image_start + PAGE_SIZE - 1) &
	    PAGE_MASK;
	console_init(h->console_kind, h->console_port);
	log_init();
	vmm_log("thinvmm %s starting: %u MiB at pa %#llx, console %u:%#x", TVMM_VERSION,
		(unsigned)(vmm.mem_total >> 20), (unsigned long long)h->chunk_pa[0],
		h->console_kind, h->console_port);
	vmm.ops = pick_backend();
	if (!vmm.ops) {
		vmm_error("no supported backend: this CPU is neither AMD nor Intel");
		return TVMM_L_NOSUPPORT;
	}
	char why[128];
	int rc = vmm.ops->check(why, sizeof(why));
	if (rc) {
		vmm_error("%s", why);
		return rc;
	}
	probe_paging();
	if (build_tables()) {
		vmm_error("out of VMM memory building page tables");
		return TVMM_L_ENOMEM;
	}
	host_idt_init();
	iommu_init(); /* DMA protection (iommu/vtd.c), measured by tpm_init */
	tpm_init();   /* emulated late launch: PCR17 and the TPM event log (tpm/tpm.c) */
	rc = vmm.ops->init();
	if (rc)
		return rc; /* the loader's RELEASE turns DMA translation off before freeing */
	vmm_log("%s backend; %u-level paging; identity map up to %#llx with %s pages; "
		"nested table pages %llu",
		vmm.ops->name, vmm.host.levels, (unsigned long long)vmm.phys_limit,
		vmm.gbpages ? "1 GiB" : "2 MiB", (unsigned long long)vmm.nested.table_pages);
	vmm.ready = true;
	return TVMM_L_OK;
}

static struct vcpu *vcpu_get(uint32_t cpu)
{
	if (vmm.vcpus[cpu])
		return vmm.vcpus[cpu];
	struct vcpu *v = vmm_alloc_pages((sizeof(*v) + PAGE_SIZE - 1) / PAGE_SIZE);
	uint8_t *stack = vmm_alloc_pages(VMM_STACK_SIZE / PAGE_SIZE);
	if (!v || !stack)
		return 0;
	v->cpu = cpu;
	/* The stack's top slot holds the vcpu, for the entry code; 16-byte aligned below it. */
	uint64_t *top = (uint64_t *)(stack + VMM_STACK_SIZE) - 2;
	top[0] = (uint64_t)(uintptr_t)v;
	v->host_rsp = (uint64_t)(uintptr_t)top;
	vmm.vcpus[cpu] = v;
	return v;
}

extern struct dtr host_gdtr, host_idtr;

static long vmm_launch(uint32_t cpu, uint64_t guest_rsp, uint64_t guest_rip)
{
	if (!vmm.ready)
		return TVMM_L_NOTINIT;
	if (cpu >= vmm.ho.max_cpus)
		return TVMM_L_EINVAL;
	struct vcpu *v = vcpu_get(cpu);
	if (!v) {
		vmm_error("cpu %u: out of VMM memory", cpu);
		return TVMM_L_ENOMEM;
	}
	if (v->state == TVMM_CPU_RUNNING)
		return TVMM_L_BUSY;
	char why[128];
	int rc = vmm.ops->check(why, sizeof(why));
	if (rc) {
		vmm_error("cpu %u: %s", cpu, why);
		return rc;
	}
	struct cpuid_regs r;
	cpuid(1, 0, &r);
	v->apic_id = r.ebx >> 24;
	v->host_cr3 = vmm.host.root_pa;
	v->host_gdtr.limit = host_gdtr.limit;
	v->host_gdtr.base = host_gdtr.base;
	v->host_idtr.limit = host_idtr.limit;
	v->host_idtr.base = host_idtr.base;
	return vmm.ops->launch(v, guest_rsp, guest_rip);
}

/* Nothing may outlive the VMM's memory: DMA remapping goes off before the loader frees it. */
static long vmm_release(void)
{
	for (uint32_t i = 0; i < TVMM_MAX_CPUS; i++)
		if (vmm.vcpus[i] && vmm.vcpus[i]->state == TVMM_CPU_RUNNING)
			return TVMM_L_BUSY;
	if (iommu_release()) {
		vmm_error("the IOMMU did not turn translation off: keep the VMM's memory");
		return TVMM_L_BUSY;
	}
	return TVMM_L_OK;
}

long tvmm_entry(uint64_t cmd, uint64_t arg, uint64_t guest_rsp, uint64_t guest_rip)
{
	relocate();
	switch (cmd) {
	case TVMM_CMD_INIT:
		return vmm_init((struct tvmm_handoff *)(uintptr_t)arg);
	case TVMM_CMD_LAUNCH:
		return vmm_launch((uint32_t)arg, guest_rsp, guest_rip);
	case TVMM_CMD_RELEASE:
		return vmm_release();
	}
	return TVMM_L_EINVAL;
}
