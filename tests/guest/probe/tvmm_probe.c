// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Guest-side probes for the e2e tests, run at insmod time:
 *   test=vmmmem  read and write every page of the VMM's memory through the
 *                kernel's direct map and a fresh vmap alias; the reads must
 *                not see VMM data, the writes must change nothing, and the
 *                VMM must keep answering.
 *   test=badhc   malformed hypercalls must get the documented error codes.
 *   test=hotplug-enable  cpu_hotplug_enable(): undoes the disable the loader's
 *                forced-unload path leaves, as hostile kernel code could.
 *   test=hidden  the virtualization extension is hidden: on AMD the CPUID
 *                bits, EFER.SVME and VM_CR, and every SVM instruction raises
 *                #UD; on Intel the CPUID bit, CR4.VMXE, FEATURE_CONTROL, the
 *                VMX capability MSRs, and every VMX instruction raises #UD.
 *   test=triplefault  load an empty IDT and raise an exception: the guest
 *                triple-faults. Under thinvmm the machine must stop, logged,
 *                never reset. Destroys the guest by design.
 *   test=attack-NAME  one attack on the kernel (attack_*() below), for the
 *                policy scenarios, run the same way with and without thinvmm:
 *                each reports "TVMM-ATTACK: NAME succeeded|blocked|error detail"
 *                and leaves the kernel as it found it. Targets are harmless:
 *                a byte of a function the tests never call, the first byte
 *                of the banner, a reserved field of an IDT gate nobody
 *                raises, the value a register or MSR already holds, a copy
 *                of the IDT. target= gives the address (from /proc/kallsyms).
 *                attack-pte-remap changes no physical page the lock protects: it
 *                points the kernel's own leaf entry for a text address at a copy
 *                of the frame, for an instant, with every CPU stopped.
 * Results are kernel log lines "TVMM-PROBE: PASS|FAIL name [why]".
 */
#include <linux/cpu.h>
#include <linux/io.h>
#include <asm/asm.h>
#include <asm/desc.h>
#include <asm/msr.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/special_insns.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/stop_machine.h>
#include <linux/vmalloc.h>
#include <asm/tlbflush.h>

#include <thinvmm/abi.h>
#include <thinvmm/hypercall.h>

static char *test = "";
module_param(test, charp, 0444);
static unsigned long target;
module_param(target, ulong, 0444);

#define PASS(name)	     pr_info("TVMM-PROBE: PASS %s\n", name)
#define FAIL(name, fmt, ...) pr_info("TVMM-PROBE: FAIL %s " fmt "\n", name, ##__VA_ARGS__)

#define STATUS_BUF 8192

static long get_status(struct tvmm_status *s)
{
	u64 out[3];
	return tvmm_hypercall(TVMM_HC_STATUS, virt_to_phys(s), STATUS_BUF, 0, out);
}

static u64 total_npf(const struct tvmm_status *s)
{
	u64 n = 0;
	u32 i;
	for (i = 0; i < s->ncpus; i++)
		n += s->cpu[i].exits[TVMM_EXIT_NPF];
	return n;
}

/* Every page: a read that must come back all ones, then a write of a pattern. */
static int attack_page(u64 *p, const char *how, u64 pa)
{
	u64 v = READ_ONCE(*p);
	if (v != ~0ull) {
		FAIL("vmm-read", "%s pa %#llx read %#llx, expected all ones", how, pa, v);
		return -1;
	}
	WRITE_ONCE(*p, 0x4141414141414141ull);
	v = READ_ONCE(*p);
	if (v != ~0ull) {
		FAIL("vmm-write", "%s pa %#llx read back %#llx after a write", how, pa, v);
		return -1;
	}
	return 0;
}

static void test_vmmmem(void)
{
	struct tvmm_status *before = kzalloc(STATUS_BUF, GFP_KERNEL);
	struct tvmm_status *after = kzalloc(STATUS_BUF, GFP_KERNEL);
	u32 i, pages = 0, bad = 0;
	long rc;

	if (!before || !after)
		goto out;
	rc = get_status(before);
	if (rc || !before->nchunks || before->nchunks > 32) {
		FAIL("vmm-status", "status rc %ld nchunks %u", rc, before->nchunks);
		goto out;
	}
	for (i = 0; i < before->nchunks; i++) {
		u64 base = before->chunk_pa[i], off;
		for (off = 0; off < (2u << 20); off += PAGE_SIZE, pages++)
			bad += attack_page(phys_to_virt(base + off), "direct-map", base + off) != 0;
	}
	/* A second, fresh kernel mapping of the first page (the image header). */
	{
		struct page *pg = pfn_to_page(before->chunk_pa[0] >> PAGE_SHIFT);
		u64 *alias = vmap(&pg, 1, VM_MAP, PAGE_KERNEL);
		if (!alias) {
			FAIL("vmm-alias", "vmap failed");
			bad++;
		} else {
			bad += attack_page(alias, "vmap-alias", before->chunk_pa[0]) != 0;
			if (!memcmp(alias, "ThinVMM", 7)) {
				FAIL("vmm-read", "image header visible through an alias");
				bad++;
			}
			vunmap(alias);
		}
	}
	rc = get_status(after);
	if (rc) {
		FAIL("vmm-alive", "status after the attack: %ld", rc);
		goto out;
	}
	PASS("vmm-alive");
	if (after->image_hash != before->image_hash)
		FAIL("vmm-unchanged", "image hash %#llx -> %#llx", before->image_hash,
		     after->image_hash);
	else
		PASS("vmm-unchanged");
	/* Every access trapped: at least a read and a write per page. */
	if (total_npf(after) - total_npf(before) < 2ull * pages)
		FAIL("vmm-trapped", "%llu nested faults for %u pages",
		     total_npf(after) - total_npf(before), pages);
	else
		PASS("vmm-trapped");
	if (!bad)
		PASS("vmm-read-write");
	pr_info("TVMM-PROBE: attacked %u pages of VMM memory\n", pages);
out:
	kfree(before);
	kfree(after);
}

struct hc_case {
	const char *name;
	u64 nr, a0, a1, a2;
	long want;
};

static void test_badhc(void)
{
	struct tvmm_status *s = kzalloc(STATUS_BUF, GFP_KERNEL);
	u64 out[3], vmm_pa, buf_pa;
	long rc;
	unsigned int i;

	if (!s || get_status(s) || !s->nchunks) {
		FAIL("badhc-setup", "no status");
		kfree(s);
		return;
	}
	vmm_pa = s->chunk_pa[0];
	buf_pa = virt_to_phys(s);
	{
		const struct hc_case cases[] = {
		    {"unknown-call", TVMM_HC_BASE + 0x99, 0, 0, 0, TVMM_ENOSYS},
		    {"call-zero", 0, 0, 0, 0, TVMM_ENOSYS},
		    {"len-zero", TVMM_HC_STATUS, buf_pa, 0, 0, TVMM_ERANGE},
		    {"len-huge", TVMM_HC_STATUS, buf_pa, TVMM_HC_MAX_BUF + 1ull, 0, TVMM_ERANGE},
		    {"len-wraps", TVMM_HC_STATUS, ~0ull - 16, 4096, 0, TVMM_ERANGE},
		    {"vmm-memory", TVMM_HC_STATUS, vmm_pa, 4096, 0, TVMM_EPERM},
		    {"vmm-overlap", TVMM_HC_LOG, vmm_pa - 2048, 4096, 0, TVMM_EPERM},
		    {"beyond-ram", TVMM_HC_STATUS, 1ull << 50, 4096, 0, TVMM_EFAULT},
		    {"mmio-hole", TVMM_HC_LOG, 0xfee00000ull, 4096, 0, TVMM_EFAULT},
		    {"too-small", TVMM_HC_STATUS, buf_pa, 16, 0, TVMM_ETOOSMALL},
		    {"devirt-flags", TVMM_HC_DEVIRT, 1, 0, 0, TVMM_EINVAL},
		};
		for (i = 0; i < ARRAY_SIZE(cases); i++) {
			const struct hc_case *c = &cases[i];
			rc = tvmm_hypercall(c->nr, c->a0, c->a1, c->a2, out);
			if (rc == c->want)
				PASS(c->name);
			else
				FAIL(c->name, "returned %ld, expected %ld", rc, c->want);
		}
	}
	rc = tvmm_hypercall(TVMM_HC_STATUS, buf_pa, 16, 0, out);
	if (rc == TVMM_ETOOSMALL && out[0] > 16 && out[0] <= STATUS_BUF)
		PASS("too-small-says-size");
	else
		FAIL("too-small-says-size", "rc %ld needed %llu", rc, out[0]);
	rc = tvmm_hypercall(TVMM_HC_VERSION, 0, 0, 0, out);
	if (rc == TVMM_OK && out[0] == TVMM_ABI_VERSION)
		PASS("still-answers");
	else
		FAIL("still-answers", "version rc %ld abi %#llx", rc, out[0]);
	kfree(s);
}

/* Runs one instruction; true if it raised an exception (caught by the extable). */
#define FAULTS(insn)                                                                               \
	({                                                                                         \
		int __faulted = 1;                                                                 \
		asm volatile("1: " insn "\n"                                                       \
			     "   movl $0, %0\n"                                                    \
			     "2:\n" _ASM_EXTABLE(1b, 2b)                                           \
			     : "+r"(__faulted)                                                     \
			     : "a"(0ul), "c"(0ul)                                                  \
			     : "memory");                                                          \
		__faulted;                                                                         \
	})

static void check(const char *name, bool ok)
{
	if (ok)
		PASS(name);
	else
		FAIL(name, "");
}

static void test_svm(void)
{
	unsigned int a, b, c, d;
	u64 efer, vmcr;

	cpuid(0x80000001, &a, &b, &c, &d);
	check("cpuid-svm-hidden", !(c & (1u << 2)));
	cpuid(0x8000000a, &a, &b, &c, &d);
	check("cpuid-svm-leaf-empty", !a && !b && !c && !d);
	check("efer-read", !rdmsrl_safe(MSR_EFER, &efer) && !(efer & EFER_SVME));
	check("efer-set-svme-gp", wrmsrl_safe(MSR_EFER, efer | EFER_SVME) != 0);
	check("efer-unchanged", !rdmsrl_safe(MSR_EFER, &efer) && !(efer & EFER_SVME));
	check("efer-write-same", wrmsrl_safe(MSR_EFER, efer) == 0);
	check("vm-cr-disabled", !rdmsrl_safe(MSR_VM_CR, &vmcr) && (vmcr & (1u << 4)));
	check("vm-cr-write-gp", wrmsrl_safe(MSR_VM_CR, 0) != 0);
	check("vmrun-ud", FAULTS("vmrun"));
	check("vmload-ud", FAULTS("vmload"));
	check("vmsave-ud", FAULTS("vmsave"));
	check("stgi-ud", FAULTS("stgi"));
	check("clgi-ud", FAULTS("clgi"));
	check("invlpga-ud", FAULTS("invlpga"));
}

static void test_triplefault(void)
{
	struct desc_ptr empty = {.size = 0, .address = 0};

	pr_info("TVMM-PROBE: triple fault now\n");
	local_irq_disable();
	load_idt(&empty);
	asm volatile("int3");
	FAIL("triplefault", "still running after a triple fault");
}

/* Sets CR4 to val; true if that raised an exception. */
static bool cr4_write_faults(unsigned long val)
{
	int faulted = 1;
	asm volatile("1: mov %1, %%cr4\n"
		     "   movl $0, %0\n"
		     "2:\n" _ASM_EXTABLE(1b, 2b)
		     : "+r"(faulted)
		     : "r"(val)
		     : "memory");
	return faulted;
}

static void test_vmx(void)
{
	unsigned int a, b, c, d;
	u64 fc, basic;
	unsigned long cr4 = native_read_cr4();

	cpuid(1, &a, &b, &c, &d);
	check("cpuid-vmx-hidden", !(c & (1u << 5)));
	check("cr4-vmxe-reads-clear", !(cr4 & X86_CR4_VMXE));
	check("cr4-set-vmxe-gp", cr4_write_faults(cr4 | X86_CR4_VMXE));
	check("cr4-vmxe-still-clear", !(native_read_cr4() & X86_CR4_VMXE));
	check("feature-control-locked-off",
	      !rdmsrl_safe(MSR_IA32_FEAT_CTL, &fc) && (fc & 1) && !(fc & (1u << 2)));
	check("feature-control-write-gp", wrmsrl_safe(MSR_IA32_FEAT_CTL, fc) != 0);
	check("vmx-basic-msr-gp", rdmsrl_safe(MSR_IA32_VMX_BASIC, &basic) != 0);
	check("vmxoff-ud", FAULTS("vmxoff"));
	check("vmlaunch-ud", FAULTS("vmlaunch"));
	check("vmresume-ud", FAULTS("vmresume"));
	check("vmread-ud", FAULTS("vmread %%rax, %%rcx"));
	check("vmwrite-ud", FAULTS("vmwrite %%rax, %%rcx"));
	check("vmclear-ud", FAULTS("vmclear (%%rsp)"));
	check("vmptrld-ud", FAULTS("vmptrld (%%rsp)"));
	check("vmxon-ud", FAULTS("vmxon (%%rsp)"));
}

/* ---- attacks ---- */

#define ATTACK(name, verdict, fmt, ...)                                                            \
	pr_info("TVMM-ATTACK: %s %s " fmt "\n", name, verdict, ##__VA_ARGS__)

static struct page *kernel_page(unsigned long va)
{
	return pfn_to_page(slow_virt_to_phys((void *)va) >> PAGE_SHIFT);
}

/* A fresh writable mapping of target's page; write a flipped byte, read it back, restore. */
static void attack_alias(const char *name, unsigned long va)
{
	struct page *pg;
	u8 *alias, before, after;

	if (!va) {
		ATTACK(name, "error", "no target= given");
		return;
	}
	pg = kernel_page(va);
	alias = vmap(&pg, 1, VM_MAP, PAGE_KERNEL);
	if (!alias) {
		ATTACK(name, "error", "vmap failed");
		return;
	}
	alias += va & ~PAGE_MASK;
	before = READ_ONCE(*(u8 *)va);
	WRITE_ONCE(*alias, before ^ 0x01);
	after = READ_ONCE(*(u8 *)va);
	if (after != before)
		WRITE_ONCE(*alias, before);
	ATTACK(name, after != before ? "succeeded" : "blocked",
	       "va %#lx pa %#llx byte %#x -> %#x (restored: %d)", va,
	       (u64)slow_virt_to_phys((void *)va), before, after, READ_ONCE(*(u8 *)va) == before);
	vunmap(alias - (va & ~PAGE_MASK));
}

/* 100000 writes to one text byte through an alias: a storm must cost one record, not the guest. */
static void attack_storm(unsigned long va)
{
	struct page *pg;
	u8 *alias, before;
	unsigned long i, changed = 0;

	if (!va) {
		ATTACK("text-storm", "error", "no target= given");
		return;
	}
	pg = kernel_page(va);
	alias = vmap(&pg, 1, VM_MAP, PAGE_KERNEL);
	if (!alias) {
		ATTACK("text-storm", "error", "vmap failed");
		return;
	}
	alias += va & ~PAGE_MASK;
	before = READ_ONCE(*(u8 *)va);
	for (i = 0; i < 100000; i++) {
		WRITE_ONCE(*alias, before ^ 0x01);
		if (READ_ONCE(*(u8 *)va) != before) {
			changed++;
			WRITE_ONCE(*alias, before);
		}
		if (!(i & 4095))
			cond_resched();
	}
	ATTACK("text-storm", changed ? "succeeded" : "blocked", "100000 writes, %lu took effect",
	       changed);
	vunmap(alias - (va & ~PAGE_MASK));
}

/* The reserved upper dword of IDT gate 15 (no exception 15 exists), through an alias. */
static void attack_idt(void)
{
	struct desc_ptr idt;
	unsigned long va;
	struct page *pg;
	u32 *alias, before, after;

	store_idt(&idt);
	va = target ? target : idt.address;
	va += 15 * 16 + 12;
	pg = kernel_page(va);
	alias = vmap(&pg, 1, VM_MAP, PAGE_KERNEL);
	if (!alias) {
		ATTACK("idt-entry", "error", "vmap failed");
		return;
	}
	alias = (u32 *)((u8 *)alias + (va & ~PAGE_MASK));
	before = READ_ONCE(*(u32 *)va);
	WRITE_ONCE(*alias, before ^ 0x5a5a0000u);
	after = READ_ONCE(*(u32 *)va);
	if (after != before)
		WRITE_ONCE(*alias, before);
	ATTACK("idt-entry", after != before ? "succeeded" : "blocked",
	       "gate 15 reserved dword at %#lx: %#x -> %#x", va, before, after);
	vunmap((void *)((unsigned long)alias & PAGE_MASK));
}

static unsigned long raw_cr0(void)
{
	unsigned long v;
	asm volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

/* Linux's own write_cr0/cr4 would re-pin the bits: the attacker writes the register directly. */
static void attack_cr(const char *name, int cr, unsigned long bit)
{
	unsigned long flags, before, during, after;

	local_irq_save(flags);
	before = cr ? native_read_cr4() : raw_cr0();
	if (!(before & bit)) {
		local_irq_restore(flags);
		ATTACK(name, "error", "CR%d bit %#lx is not set here: nothing to clear", cr, bit);
		return;
	}
	if (cr)
		asm volatile("mov %0, %%cr4" ::"r"(before & ~bit) : "memory");
	else
		asm volatile("mov %0, %%cr0" ::"r"(before & ~bit) : "memory");
	during = cr ? native_read_cr4() : raw_cr0();
	if (cr)
		asm volatile("mov %0, %%cr4" ::"r"(before) : "memory");
	else
		asm volatile("mov %0, %%cr0" ::"r"(before) : "memory");
	after = cr ? native_read_cr4() : raw_cr0();
	local_irq_restore(flags);
	ATTACK(name, (during & bit) ? "blocked" : "succeeded", "CR%d %#lx -> %#lx -> %#lx", cr,
	       before, during, after);
}

/* One plain byte store; -EFAULT if it faulted (caught by the extable). */
static long store_byte(unsigned long va, u8 val)
{
	long rc = -EFAULT;
	asm volatile("1: movb %2, (%1)\n"
		     "   xor %0, %0\n"
		     "2:\n" _ASM_EXTABLE(1b, 2b)
		     : "+r"(rc)
		     : "r"(va), "q"(val)
		     : "memory");
	return rc;
}

/* Clear CR0.WP and write kernel text through its own (read-only) mapping. */
static void attack_text_wp(void)
{
	unsigned long flags, cr0;
	u8 before, flip, after;
	long rc;

	if (!target) {
		ATTACK("text-wp", "error", "no target= given");
		return;
	}
	target += 8; /* past any endbr64 */
	local_irq_save(flags);
	cr0 = raw_cr0();
	asm volatile("mov %0, %%cr0" ::"r"(cr0 & ~X86_CR0_WP) : "memory");
	before = READ_ONCE(*(u8 *)target);
	flip = before ^ 0x01;
	rc = store_byte(target, flip);
	after = READ_ONCE(*(u8 *)target);
	if (after != before)
		store_byte(target, before);
	asm volatile("mov %0, %%cr0" ::"r"(cr0) : "memory");
	local_irq_restore(flags);
	ATTACK("text-wp", after != before ? "succeeded" : "blocked",
	       "at %#lx: write rc %ld, byte %#x -> %#x", target, rc, before, after);
}

/* Write LSTAR with the value it already has: harmless, but a write all the same. */
static void attack_lstar(void)
{
	u64 v;
	int rc;

	if (rdmsrl_safe(MSR_LSTAR, &v)) {
		ATTACK("lstar", "error", "cannot read LSTAR");
		return;
	}
	rc = wrmsrl_safe(MSR_LSTAR, v);
	ATTACK("lstar", rc ? "blocked" : "succeeded", "wrmsr LSTAR %#llx: rc %d", v, rc);
}

/* Load a copy of the IDT (identical, so nothing changes for the CPU), then the original. */
static void attack_lidt(void)
{
	struct desc_ptr cur, copy, now;
	unsigned long flags;
	void *tbl = (void *)__get_free_page(GFP_KERNEL);

	if (!tbl) {
		ATTACK("lidt", "error", "no memory");
		return;
	}
	local_irq_save(flags);
	store_idt(&cur);
	memcpy(tbl, (void *)cur.address, min_t(size_t, cur.size + 1, PAGE_SIZE));
	copy.address = (unsigned long)tbl;
	copy.size = cur.size;
	asm volatile("lidt %0" ::"m"(copy));
	store_idt(&now);
	asm volatile("lidt %0" ::"m"(cur));
	local_irq_restore(flags);
	ATTACK("lidt", now.address == copy.address ? "succeeded" : "blocked",
	       "IDTR base %#lx, after lidt %#lx (copy at %#lx)", cur.address, now.address,
	       copy.address);
	free_page((unsigned long)tbl);
}

/*
 * pte-remap: the kernel's leaf entry (PTE, or PMD for a 2 MiB mapping) for va is pointed at
 * a copy of the frame it maps, with one byte changed, and back. No protected physical page
 * is written: only the page-table page (kernel data) and the fresh copy.
 */
struct remap {
	unsigned long va, size;
	unsigned long *entry;
	unsigned long old, new, seen;
	u8 *copy;
	u8 before, during, after;
	long wrc, rrc;
};

/* One 64-bit store; -EFAULT if it faulted (caught by the extable). */
static long store_entry(unsigned long *p, unsigned long v)
{
	long rc = -EFAULT;
	asm volatile("1: movq %2, (%1)\n"
		     "   xor %0, %0\n"
		     "2:\n" _ASM_EXTABLE(1b, 2b)
		     : "+r"(rc)
		     : "r"(p), "r"(v)
		     : "memory");
	return rc;
}

/*
 * Under stop_machine(): every other CPU spins with interrupts off, so nothing patches the
 * frame between the copy and the restore and nothing calls the target. They may execute
 * other code of the frame through the copy meanwhile; it is identical but for one byte.
 */
static int remap_window(void *data)
{
	struct remap *r = data;
	unsigned long off = r->va & (r->size - 1);

	memcpy(r->copy, (void *)(r->va - off), r->size);
	r->before = READ_ONCE(*(u8 *)r->va);
	r->copy[off] = r->before ^ 0x01;
	r->wrc = store_entry(r->entry, r->new);
	r->seen = READ_ONCE(*r->entry);
	__flush_tlb_all();
	r->during = READ_ONCE(*(u8 *)r->va);
	r->rrc = store_entry(r->entry, r->old); /* always, whatever the write above did */
	__flush_tlb_all();
	r->after = READ_ONCE(*(u8 *)r->va);
	return 0;
}

static void flush_this_cpu(void *unused)
{
	__flush_tlb_all();
}

static void attack_pte_remap(unsigned long va)
{
	struct remap r = {.va = va};
	unsigned int level, order;
	unsigned long mask;
	const char *lvl, *verdict;
	struct page *pg;
	u64 copy_pa;
	bool restored;
	char why[96] = "";

	if (!va) {
		ATTACK("pte-remap", "error", "no target= given");
		return;
	}
	r.entry = (unsigned long *)lookup_address(va, &level);
	if (!r.entry) {
		ATTACK("pte-remap", "error", "va %#lx: lookup_address found no entry", va);
		return;
	}
	if (level == PG_LEVEL_4K) {
		lvl = "pte", order = 0, mask = PTE_PFN_MASK;
	} else if (level == PG_LEVEL_2M) {
		lvl = "pmd", order = PMD_SHIFT - PAGE_SHIFT, mask = PHYSICAL_PMD_PAGE_MASK;
	} else {
		ATTACK("pte-remap", "error", "va %#lx: mapped at level %u, neither 4K nor 2M", va,
		       level);
		return;
	}
	r.size = PAGE_SIZE << order;
	r.old = READ_ONCE(*r.entry);
	/* A writable frame could be written meanwhile, and those writes lost: text only. */
	if (!(r.old & _PAGE_PRESENT) || (r.old & _PAGE_RW)) {
		ATTACK("pte-remap", "error",
		       "va %#lx: %s entry %#lx is not a present read-only leaf", va, lvl, r.old);
		return;
	}
	pg = alloc_pages(GFP_KERNEL | __GFP_NOWARN | __GFP_RETRY_MAYFAIL, order);
	if (!pg) {
		ATTACK("pte-remap", "error", "no %lu KiB of contiguous memory for the copy",
		       r.size >> 10);
		return;
	}
	copy_pa = page_to_phys(pg);
	if (copy_pa & (r.size - 1)) {
		ATTACK("pte-remap", "error", "copy at %#llx is not %lu KiB aligned", copy_pa,
		       r.size >> 10);
		__free_pages(pg, order);
		return;
	}
	r.copy = page_address(pg);
	r.new = (r.old & ~mask) | copy_pa;

	stop_machine(remap_window, &r, NULL);
	/* Another CPU may have walked to the copy in the window: flush everywhere. */
	on_each_cpu(flush_this_cpu, NULL, 1);

	restored = !r.rrc && READ_ONCE(*r.entry) == r.old && READ_ONCE(*(u8 *)va) == r.before;
	if (!restored) {
		verdict = "error";
		snprintf(why, sizeof(why), "NOT restored (restore rc %ld, entry %#lx): copy kept",
			 r.rrc, READ_ONCE(*r.entry));
	} else if (r.wrc) {
		verdict = "blocked";
		snprintf(why, sizeof(why), "the entry write faulted (rc %ld)", r.wrc);
	} else if (r.seen != r.new) {
		verdict = "blocked";
		snprintf(why, sizeof(why), "the entry write did not take (reads %#lx)", r.seen);
	} else if (r.during == r.before) {
		verdict = "blocked";
		snprintf(why, sizeof(why), "entry changed but the va still reads the old frame");
	} else if (r.during == (r.before ^ 0x01)) {
		verdict = "succeeded";
	} else {
		verdict = "error";
		snprintf(why, sizeof(why), "the va read %#x, neither old nor new", r.during);
	}
	ATTACK("pte-remap", verdict,
	       "va %#lx %s entry %#lx -> %#lx, frame %#llx -> %#llx, byte %#x -> %#x -> %#x "
	       "(restored: %d)%s%s",
	       va, lvl, r.old, r.new, (u64)(r.old & mask), copy_pa, r.before, r.during, r.after,
	       restored, why[0] ? " " : "", why);
	if (restored)
		__free_pages(pg, order);
}

/* Ask the VMM to let go: a second lock and a hand-back, both refused once locked. */
static void attack_hypercalls(void)
{
	u64 out[3];
	long lock = tvmm_hypercall(TVMM_HC_LOCK, 0, 0, 0, out);
	long devirt = tvmm_hypercall(TVMM_HC_DEVIRT, 0, 0, 0, out);
	bool blocked = lock == TVMM_EDENIED && devirt == TVMM_EDENIED;
	ATTACK("hc-unlock", blocked ? "blocked" : "succeeded", "LOCK again: %ld, DEVIRT: %ld", lock,
	       devirt);
}

static bool run_attack(const char *name)
{
	if (!strcmp(name, "text-alias"))
		attack_alias("text-alias", target ? target + 8 : 0);
	else if (!strcmp(name, "rodata-alias"))
		attack_alias("rodata-alias", target);
	else if (!strcmp(name, "text-wp"))
		attack_text_wp();
	else if (!strcmp(name, "text-storm"))
		attack_storm(target ? target + 8 : 0);
	else if (!strcmp(name, "idt-entry"))
		attack_idt();
	else if (!strcmp(name, "cr0-wp"))
		attack_cr("cr0-wp", 0, X86_CR0_WP);
	else if (!strcmp(name, "cr4-smep"))
		attack_cr("cr4-smep", 4, X86_CR4_SMEP);
	else if (!strcmp(name, "cr4-smap"))
		attack_cr("cr4-smap", 4, X86_CR4_SMAP);
	else if (!strcmp(name, "lstar"))
		attack_lstar();
	else if (!strcmp(name, "lidt"))
		attack_lidt();
	else if (!strcmp(name, "hc-unlock"))
		attack_hypercalls();
	else if (!strcmp(name, "pte-remap"))
		attack_pte_remap(target ? target + 8 : 0);
	else
		return false;
	return true;
}

static int __init probe_init(void)
{
	if (!strcmp(test, "noop")) {
		PASS("noop"); /* an unrelated module: loads and unloads, touches nothing */
		return 0;
	}
	if (!strcmp(test, "hotplug-enable")) {
		/* What any module may do: undo a cpu_hotplug_disable() (the counter is shared). */
		cpu_hotplug_enable();
		PASS("hotplug-enable");
		return 0;
	}
	if (!strncmp(test, "attack-", 7)) {
		if (!run_attack(test + 7))
			ATTACK(test + 7, "error", "unknown attack");
		return 0;
	}
	if (!strcmp(test, "vmmmem"))
		test_vmmmem();
	else if (!strcmp(test, "badhc"))
		test_badhc();
	else if (!strcmp(test, "hidden") && boot_cpu_data.x86_vendor == X86_VENDOR_INTEL)
		test_vmx();
	else if (!strcmp(test, "hidden"))
		test_svm();
	else if (!strcmp(test, "triplefault"))
		test_triplefault();
	else
		FAIL("usage", "test=vmmmem|badhc|hidden|triplefault, got '%s'", test);
	return 0;
}

static void __exit probe_exit(void)
{
}

module_init(probe_init);
module_exit(probe_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("thinvmm e2e probes");
