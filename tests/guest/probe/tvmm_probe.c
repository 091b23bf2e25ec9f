// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Guest-side probes for the e2e tests, run at insmod time:
 *   test=vmmmem  read and write every page of the VMM's memory through the
 *                kernel's direct map and a fresh vmap alias; the reads must
 *                not see VMM data, the writes must change nothing, and the
 *                VMM must keep answering.
 *   test=badhc   malformed hypercalls must get the documented error codes.
 *   test=hidden  the virtualization extension is hidden: on AMD the CPUID
 *                bits, EFER.SVME and VM_CR, and every SVM instruction raises
 *                #UD; on Intel the CPUID bit, CR4.VMXE, FEATURE_CONTROL, the
 *                VMX capability MSRs, and every VMX instruction raises #UD.
 *   test=triplefault  load an empty IDT and raise an exception: the guest
 *                triple-faults. Under thinvmm the machine must stop, logged,
 *                never reset. Destroys the guest by design.
 * Results are kernel log lines "TVMM-PROBE: PASS|FAIL name [why]".
 */
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
#include <linux/vmalloc.h>

#include <thinvmm/abi.h>
#include <thinvmm/hypercall.h>

static char *test = "";
module_param(test, charp, 0444);

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

static int __init probe_init(void)
{
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
