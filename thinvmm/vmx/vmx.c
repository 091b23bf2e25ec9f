/* SPDX-License-Identifier: MIT */
/*
 * Intel VT-x backend: VMXON, a VMCS filled from the CPU's current state so
 * the running OS carries on as the guest, EPT and VPID, and exit decoding
 * for the core. Every control value comes from the capability MSRs (the
 * TRUE_* ones when the CPU has them). The host keeps the guest's TR (and so
 * its TSS): the host runs at CPL 0 with interrupts off and needs no stack
 * switch, and the guest's TR then never has to be reloaded on hand-back.
 */
#include "core/vmm.h"
#include "lib/string.h"
#include "lib/x86.h"
#include "vmx/controls.h"
#include "vmx/vmx.h"

#define VPID_GUEST 1

struct vmx_config {
	uint32_t pin, proc, proc2, exit, entry;
	bool dt_exiting;  /* descriptor-table exiting can be turned on */
	bool cr3_exiting; /* CR3-load exiting can be turned on */
	uint64_t eptp_flags;
	uint32_t revision;
};

static struct vmx_config cfg;
static uint8_t *msr_bitmap; /* 4 KiB, shared */

void vmx_enter(struct vcpu *v) __attribute__((noreturn));

static struct vmx_cpu *vmx(struct vcpu *v)
{
	return v->arch;
}

/* VMX instructions report failure through CF or ZF. */
static inline int vmwrite(uint64_t field, uint64_t val)
{
	uint8_t bad;
	__asm__ volatile("vmwrite %2, %1; setna %0" : "=q"(bad) : "r"(field), "r"(val) : "cc");
	return bad ? -1 : 0;
}

static inline uint64_t vmread(uint64_t field)
{
	uint64_t val = 0;
	__asm__ volatile("vmread %1, %0" : "=r"(val) : "r"(field) : "cc");
	return val;
}

static inline int vmx_op_pa(const char *op, uint64_t pa)
{
	uint8_t bad = 1;
	if (op[0] == 'n')
		__asm__ volatile("vmxon %1; setna %0" : "=q"(bad) : "m"(pa) : "cc", "memory");
	else if (op[0] == 'c')
		__asm__ volatile("vmclear %1; setna %0" : "=q"(bad) : "m"(pa) : "cc", "memory");
	else if (op[0] == 'p')
		__asm__ volatile("vmptrld %1; setna %0" : "=q"(bad) : "m"(pa) : "cc", "memory");
	return bad ? -1 : 0;
}

static void set_why(char *why, size_t n, const char *msg)
{
	size_t len = strnlen(msg, n - 1);
	memcpy(why, msg, len);
	why[len] = 0;
}

static int vmx_check(char *why, size_t n)
{
	struct cpuid_regs r;
	cpuid(1, 0, &r);
	if (!(r.ecx & (1u << 5))) {
		set_why(why, n, "CPU has no VMX (VT-x) support");
		return TVMM_L_NOSUPPORT;
	}
	uint64_t fc = rdmsr(MSR_FEATURE_CONTROL);
	if ((fc & FC_LOCK) && !(fc & FC_VMX_OUTSIDE)) {
		set_why(why, n, "VMX is disabled by firmware (IA32_FEATURE_CONTROL locked off)");
		return TVMM_L_DISABLED;
	}
	uint64_t proc = rdmsr(MSR_VMX_PROCBASED);
	if (!((proc >> 32) & PROC_SECONDARY) || !((rdmsr(MSR_VMX_PROCBASED2) >> 32) & PROC2_EPT)) {
		set_why(why, n, "CPU has no EPT");
		return TVMM_L_NOSUPPORT;
	}
	uint64_t ept = rdmsr(MSR_VMX_EPT_VPID_CAP);
	if (!(ept & (1u << 6)) || !(ept & (1u << 14))) {
		set_why(why, n, "EPT lacks 4-level walks or write-back tables");
		return TVMM_L_NOSUPPORT;
	}
	if (read_cr4() & CR4_VMXE) {
		set_why(why, n, "VMX is already in use (CR4.VMXE set): another hypervisor?");
		return TVMM_L_BUSY;
	}
	return TVMM_L_OK;
}

static void vmx_msr_intercept(uint32_t msr, bool reads, bool writes)
{
	uint32_t off = msr >= 0xc0000000u ? 1024 : 0, bit = msr & 0x1fff;
	if (reads)
		msr_bitmap[off + bit / 8] |= (uint8_t)(1u << (bit % 8));
	if (writes)
		msr_bitmap[2048 + off + bit / 8] |= (uint8_t)(1u << (bit % 8));
}

static int vmx_init(void)
{
	bool true_ctls = rdmsr(MSR_VMX_BASIC) & (1ull << 55);
	uint32_t miss = 0;
	cfg.revision = (uint32_t)rdmsr(MSR_VMX_BASIC) & 0x7fffffffu;
	if (vmx_control(rdmsr(true_ctls ? MSR_VMX_TRUE_PINBASED : MSR_VMX_PINBASED), 0, 0, &cfg.pin,
			&miss) ||
	    vmx_control(rdmsr(true_ctls ? MSR_VMX_TRUE_PROCBASED : MSR_VMX_PROCBASED),
			PROC_USE_MSR_BITMAP | PROC_SECONDARY, 0, &cfg.proc, &miss) ||
	    vmx_control(rdmsr(MSR_VMX_PROCBASED2), PROC2_EPT,
			PROC2_VPID | PROC2_RDTSCP | PROC2_INVPCID | PROC2_XSAVES, &cfg.proc2,
			&miss) ||
	    vmx_control(rdmsr(true_ctls ? MSR_VMX_TRUE_EXIT : MSR_VMX_EXIT),
			EXIT_HOST_64 | EXIT_SAVE_PAT | EXIT_LOAD_PAT | EXIT_SAVE_EFER |
			    EXIT_LOAD_EFER | EXIT_SAVE_DEBUG,
			0, &cfg.exit, &miss) ||
	    vmx_control(rdmsr(true_ctls ? MSR_VMX_TRUE_ENTRY : MSR_VMX_ENTRY),
			ENTRY_IA32E | ENTRY_LOAD_PAT | ENTRY_LOAD_EFER | ENTRY_LOAD_DEBUG, 0,
			&cfg.entry, &miss)) {
	vmx_error_missing:
		vmm_error("VMX controls unavailable: missing bits %#x", miss);
		return TVMM_L_NOSUPPORT;
	}
	/* Exits we cannot handle if the CPU forces them on. */
	if (cfg.proc & ((1u << 7) | (1u << 15) | (1u << 16) | (1u << 24) | (1u << 25))) {
		miss = cfg.proc;
		goto vmx_error_missing;
	}
	cfg.eptp_flags = 6 /* WB */ | (3u << 3) /* 4 levels */;
	msr_bitmap = vmm_alloc_pages(1);
	if (!msr_bitmap)
		return TVMM_L_ENOMEM;
	vmx_msr_intercept(MSR_FEATURE_CONTROL, true, true);
	for (uint32_t m = MSR_VMX_BASIC; m <= MSR_VMX_LAST; m++)
		vmx_msr_intercept(m, true, true);
	cfg.dt_exiting = (rdmsr(MSR_VMX_PROCBASED2) >> 32) & PROC2_DESC_TABLE;
	cfg.cr3_exiting = (rdmsr(true_ctls ? MSR_VMX_TRUE_PROCBASED : MSR_VMX_PROCBASED) >> 32) &
			  PROC_CR3_LOAD_EXIT;
	return TVMM_L_OK;
}

static void load_seg(uint32_t sel_f, uint16_t sel, const struct dtr *gdt, uint64_t base_override,
		     bool use_override)
{
	uint32_t i = (sel_f - VMCS_GUEST_ES_SEL) / 2;
	vmwrite(sel_f, sel);
	if (!(sel & ~3u) || (sel | 7u) > gdt->limit) {
		vmwrite(VMCS_GUEST_ES_AR + 2 * i, 1u << 16);
		vmwrite(VMCS_GUEST_ES_LIMIT + 2 * i, 0);
		vmwrite(VMCS_GUEST_ES_BASE + 2 * i, use_override ? base_override : 0);
		return;
	}
	const uint64_t *desc = (const uint64_t *)(uintptr_t)(gdt->base + (sel & ~7u));
	uint64_t d = desc[0];
	uint32_t limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));
	uint64_t base = ((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000);
	if (d & (1ull << 55))
		limit = (limit << 12) | 0xfff;
	if (!(d & (1ull << 44))) /* system descriptor: 16 bytes in long mode */
		base |= desc[1] << 32;
	vmwrite(VMCS_GUEST_ES_AR + 2 * i, vmx_seg_ar(d));
	vmwrite(VMCS_GUEST_ES_LIMIT + 2 * i, limit);
	vmwrite(VMCS_GUEST_ES_BASE + 2 * i, use_override ? base_override : base);
}

static uint16_t read_tr(void)
{
	uint16_t v;
	__asm__ volatile("str %0" : "=r"(v));
	return v;
}

static uint16_t read_ldtr(void)
{
	uint16_t v;
	__asm__ volatile("sldt %0" : "=r"(v));
	return v;
}

static uint16_t read_seg_fs(void)
{
	uint16_t v;
	__asm__ volatile("mov %%fs, %0" : "=r"(v));
	return v;
}

static uint16_t read_seg_gs(void)
{
	uint16_t v;
	__asm__ volatile("mov %%gs, %0" : "=r"(v));
	return v;
}

static int fill_vmcs(struct vcpu *v, uint64_t rsp, uint64_t rip)
{
	struct vmx_cpu *x = vmx(v);
	struct dtr gdt, idt;
	sgdt(&gdt);
	sidt(&idt);
	int bad = 0;
	/* Controls */
	bad |= vmwrite(VMCS_PIN_CTLS, cfg.pin);
	bad |= vmwrite(VMCS_PROC_CTLS, cfg.proc);
	bad |= vmwrite(VMCS_PROC_CTLS2, cfg.proc2);
	bad |= vmwrite(VMCS_EXIT_CTLS, cfg.exit);
	bad |= vmwrite(VMCS_ENTRY_CTLS, cfg.entry);
	bad |= vmwrite(VMCS_EXC_BITMAP, 0);
	bad |= vmwrite(VMCS_PFEC_MASK, 0); /* with #PF in the bitmap: every page fault */
	bad |= vmwrite(VMCS_PFEC_MATCH, 0);
	bad |= vmwrite(VMCS_CR3_TARGET_COUNT, 0);
	bad |= vmwrite(VMCS_MSR_BITMAP, vmm_va_to_pa(msr_bitmap));
	bad |= vmwrite(VMCS_EPTP, vmm.nested.root_pa | cfg.eptp_flags);
	if (cfg.proc2 & PROC2_VPID)
		bad |= vmwrite(VMCS_VPID, VPID_GUEST);
	/* CR4.VMXE belongs to us: the guest reads it as clear, setting it exits. */
	uint64_t cr4 = read_cr4();
	bad |= vmwrite(VMCS_CR4_MASK, CR4_VMXE);
	bad |= vmwrite(VMCS_CR4_SHADOW, cr4 & ~CR4_VMXE);
	bad |= vmwrite(VMCS_CR0_MASK, 0);
	bad |= vmwrite(VMCS_LINK_POINTER, ~0ull);
	/* Guest: the CPU as it is now. */
	bad |= vmwrite(VMCS_GUEST_CR0, read_cr0());
	bad |= vmwrite(VMCS_GUEST_CR3, read_cr3());
	bad |= vmwrite(VMCS_GUEST_CR4, cr4);
	bad |= vmwrite(VMCS_GUEST_DR7, read_dr7());
	bad |= vmwrite(VMCS_GUEST_RSP, rsp);
	bad |= vmwrite(VMCS_GUEST_RIP, rip);
	bad |= vmwrite(VMCS_GUEST_RFLAGS, read_rflags());
	load_seg(VMCS_GUEST_ES_SEL, read_es(), &gdt, 0, false);
	load_seg(VMCS_GUEST_CS_SEL, read_cs(), &gdt, 0, false);
	load_seg(VMCS_GUEST_SS_SEL, read_ss(), &gdt, 0, false);
	load_seg(VMCS_GUEST_DS_SEL, read_ds(), &gdt, 0, false);
	load_seg(VMCS_GUEST_FS_SEL, read_seg_fs(), &gdt, rdmsr(MSR_FS_BASE), true);
	load_seg(VMCS_GUEST_GS_SEL, read_seg_gs(), &gdt, rdmsr(MSR_GS_BASE), true);
	load_seg(VMCS_GUEST_LDTR_SEL, read_ldtr(), &gdt, 0, false);
	load_seg(VMCS_GUEST_TR_SEL, read_tr(), &gdt, 0, false);
	bad |= vmwrite(VMCS_GUEST_GDTR_BASE, gdt.base);
	bad |= vmwrite(VMCS_GUEST_GDTR_LIMIT, gdt.limit);
	bad |= vmwrite(VMCS_GUEST_IDTR_BASE, idt.base);
	bad |= vmwrite(VMCS_GUEST_IDTR_LIMIT, idt.limit);
	bad |= vmwrite(VMCS_GUEST_DEBUGCTL, rdmsr(MSR_DEBUGCTL));
	bad |= vmwrite(VMCS_GUEST_PAT, rdmsr(MSR_PAT));
	bad |= vmwrite(VMCS_GUEST_EFER, rdmsr(MSR_EFER));
	bad |= vmwrite(VMCS_GUEST_SYSENTER_CS, rdmsr(MSR_SYSENTER_CS));
	bad |= vmwrite(VMCS_GUEST_SYSENTER_ESP, rdmsr(MSR_SYSENTER_ESP));
	bad |= vmwrite(VMCS_GUEST_SYSENTER_EIP, rdmsr(MSR_SYSENTER_EIP));
	bad |= vmwrite(VMCS_GUEST_INTR_STATE, 0);
	bad |= vmwrite(VMCS_GUEST_ACTIVITY, 0);
	bad |= vmwrite(VMCS_GUEST_PENDING_DBG, 0);
	/* Host: our stack, tables and entry; the guest's TR, FS/GS bases unused. */
	extern char vmx_exit_entry[];
	bad |= vmwrite(VMCS_HOST_CR0, read_cr0());
	bad |= vmwrite(VMCS_HOST_CR3, v->host_cr3);
	bad |= vmwrite(VMCS_HOST_CR4, cr4);
	bad |= vmwrite(VMCS_HOST_CS_SEL, 0x08);
	bad |= vmwrite(VMCS_HOST_SS_SEL, 0x10);
	bad |= vmwrite(VMCS_HOST_DS_SEL, 0x10);
	bad |= vmwrite(VMCS_HOST_ES_SEL, 0x10);
	bad |= vmwrite(VMCS_HOST_FS_SEL, 0);
	bad |= vmwrite(VMCS_HOST_GS_SEL, 0);
	bad |= vmwrite(VMCS_HOST_TR_SEL, read_tr() & ~7u);
	bad |= vmwrite(VMCS_HOST_FS_BASE, 0);
	bad |= vmwrite(VMCS_HOST_GS_BASE, (uint64_t)(uintptr_t)v);
	bad |= vmwrite(VMCS_HOST_TR_BASE, vmread(VMCS_GUEST_TR_BASE));
	bad |= vmwrite(VMCS_HOST_GDTR_BASE, v->host_gdtr.base);
	bad |= vmwrite(VMCS_HOST_IDTR_BASE, v->host_idtr.base);
	bad |= vmwrite(VMCS_HOST_SYSENTER_CS, rdmsr(MSR_SYSENTER_CS));
	bad |= vmwrite(VMCS_HOST_SYSENTER_ESP, rdmsr(MSR_SYSENTER_ESP));
	bad |= vmwrite(VMCS_HOST_SYSENTER_EIP, rdmsr(MSR_SYSENTER_EIP));
	bad |= vmwrite(VMCS_HOST_PAT, rdmsr(MSR_PAT));
	bad |= vmwrite(VMCS_HOST_EFER, rdmsr(MSR_EFER));
	bad |= vmwrite(VMCS_HOST_RSP, v->host_rsp);
	bad |= vmwrite(VMCS_HOST_RIP, (uint64_t)(uintptr_t)vmx_exit_entry);
	(void)x;
	return bad ? -1 : 0;
}

static void invept_all(void)
{
	struct {
		uint64_t eptp, zero;
	} d = {vmm.nested.root_pa | cfg.eptp_flags, 0};
	uint64_t type = 2; /* all contexts */
	__asm__ volatile("invept %0, %1" ::"m"(d), "r"(type) : "cc", "memory");
}

static void flush_all_contexts(void)
{
	invept_all();
	if (cfg.proc2 & PROC2_VPID) {
		struct {
			uint64_t vpid, addr;
		} d = {VPID_GUEST, 0};
		uint64_t type = 2; /* all contexts but VPID 0 */
		__asm__ volatile("invvpid %0, %1" ::"m"(d), "r"(type) : "cc", "memory");
	}
}

/*
 * The policy on this CPU's VMCS: pinned CR bits go into the guest/host
 * masks (a write changing one exits; reads see the shadow, kept equal to
 * the real value), and LIDT/LGDT rules turn on descriptor-table exiting.
 */
static void vmx_apply_policy(struct vcpu *v)
{
	(void)v;
	const struct policy *p = &vmm.pol;
	vmwrite(VMCS_CR0_SHADOW, vmread(VMCS_GUEST_CR0));
	vmwrite(VMCS_CR0_MASK, p->cr_mask[0]);
	vmwrite(VMCS_CR4_SHADOW, vmread(VMCS_GUEST_CR4) & ~CR4_VMXE);
	vmwrite(VMCS_CR4_MASK, CR4_VMXE | p->cr_mask[4]);
	if (p->dt_mask && cfg.dt_exiting)
		vmwrite(VMCS_PROC_CTLS2, vmread(VMCS_PROC_CTLS2) | PROC2_DESC_TABLE);
	if (p->cr3_trap && cfg.cr3_exiting)
		vmwrite(VMCS_PROC_CTLS, vmread(VMCS_PROC_CTLS) | PROC_CR3_LOAD_EXIT);
	vmwrite(VMCS_EXC_BITMAP, p->exc_mask);
}

static bool vmx_rule_supported(const struct tvmm_pol_rule *r)
{
	return (r->kind != TVMM_RULE_DT || cfg.dt_exiting) &&
	       (r->kind != TVMM_RULE_CR3 || cfg.cr3_exiting);
}

/* CR0/CR4 as VMX operation requires them (SDM A.7, A.8). */
static bool fixed_bits_ok(uint64_t cr0, uint64_t cr4)
{
	uint64_t f0 = rdmsr(MSR_VMX_CR0_FIXED0), f1 = rdmsr(MSR_VMX_CR0_FIXED1);
	uint64_t g0 = rdmsr(MSR_VMX_CR4_FIXED0), g1 = rdmsr(MSR_VMX_CR4_FIXED1);
	return (cr0 & f0) == f0 && !(cr0 & ~f1) && (cr4 & g0) == g0 && !(cr4 & ~g1);
}

static int vmx_launch(struct vcpu *v, uint64_t rsp, uint64_t rip)
{
	if (!v->arch) {
		struct vmx_cpu *xc = vmm_alloc_pages(1);
		void *on = vmm_alloc_pages(1), *cs = vmm_alloc_pages(1);
		if (!xc || !on || !cs) {
			vmm_error("cpu %u: out of VMM memory", v->cpu);
			return TVMM_L_ENOMEM;
		}
		xc->vmxon = on;
		xc->vmcs = cs;
		xc->vmxon_pa = vmm_va_to_pa(on);
		xc->vmcs_pa = vmm_va_to_pa(cs);
		v->arch = xc;
	}
	struct vmx_cpu *x = vmx(v);
	uint64_t fc = rdmsr(MSR_FEATURE_CONTROL);
	if (!(fc & FC_LOCK))
		wrmsr(MSR_FEATURE_CONTROL, fc | FC_LOCK | FC_VMX_OUTSIDE);
	x->host_cr4 = read_cr4();
	uint64_t cr4 = x->host_cr4 | CR4_VMXE;
	if (!fixed_bits_ok(read_cr0(), cr4)) {
		vmm_error("cpu %u: CR0/CR4 do not meet the VMX fixed bits", v->cpu);
		return TVMM_L_NOSUPPORT;
	}
	*(uint32_t *)x->vmxon = cfg.revision;
	*(uint32_t *)x->vmcs = cfg.revision;
	__asm__ volatile("mov %0, %%cr4" ::"r"(cr4));
	if (vmx_op_pa("n", x->vmxon_pa)) {
		__asm__ volatile("mov %0, %%cr4" ::"r"(x->host_cr4));
		vmm_error("cpu %u: VMXON failed", v->cpu);
		return TVMM_L_HWFAIL;
	}
	if (vmx_op_pa("c", x->vmcs_pa) || vmx_op_pa("p", x->vmcs_pa) || fill_vmcs(v, rsp, rip)) {
		__asm__ volatile("vmxoff" ::: "cc");
		__asm__ volatile("mov %0, %%cr4" ::"r"(x->host_cr4));
		vmm_error("cpu %u: VMCS set-up failed", v->cpu);
		return TVMM_L_HWFAIL;
	}
	v->pol_gen = __atomic_load_n(&vmm.pol.gen, __ATOMIC_ACQUIRE);
	if (vmm.pol.locked)
		vmx_apply_policy(v);
	/* Translations cached under our VPID or an EPT root at this address are stale. */
	flush_all_contexts();
	v->launched = 0;
	v->nmi_pending = 0;
	v->launching = 1;
	v->regs[GREG_RAX] = TVMM_L_OK;
	v->state = TVMM_CPU_RUNNING;
	v->launches++;
	vmm_log("cpu %u (apic %u): launching under VMX, guest rip %#llx", v->cpu, v->apic_id,
		(unsigned long long)rip);
	/* From here on an NMI in the host finds the vcpu through GS (host_entry.S). */
	wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)v);
	vmx_enter(v);
}

static void vmx_decode(struct vcpu *v, struct exit *e)
{
	uint32_t reason = (uint32_t)vmread(VMCS_EXIT_REASON);
	uint64_t qual = vmread(VMCS_EXIT_QUAL);
	e->raw = reason;
	e->insn_len = (uint8_t)vmread(VMCS_EXIT_INSN_LEN);
	switch (reason & 0xffff) {
	case VMX_EXIT_CPUID:
		e->reason = TVMM_EXIT_CPUID;
		break;
	case VMX_EXIT_VMCALL:
		e->reason = TVMM_EXIT_HYPERCALL;
		break;
	case VMX_EXIT_RDMSR:
	case VMX_EXIT_WRMSR:
		e->reason =
		    (reason & 0xffff) == VMX_EXIT_RDMSR ? TVMM_EXIT_MSR_READ : TVMM_EXIT_MSR_WRITE;
		e->msr.index = (uint32_t)v->regs[GREG_RCX];
		break;
	case VMX_EXIT_EPT_VIOLATION: {
		int walk;
		e->reason = TVMM_EXIT_NPF;
		e->npf.gpa = vmread(VMCS_GUEST_PHYS_ADDR);
		/* Qualification bit 7: the guest-linear address field is valid. */
		e->npf.gva = (qual & (1u << 7)) ? vmread(VMCS_GUEST_LINEAR_ADDR) : TVMM_EV_NO_GVA;
		vmx_ept_qual(qual, &e->npf.access, &walk);
		e->npf.in_walk = walk;
		break;
	}
	case VMX_EXIT_CR_ACCESS: {
		struct cr_qual q;
		vmx_cr_qual(qual, &q);
		e->reason = TVMM_EXIT_CR_ACCESS;
		e->cr.cr = q.cr;
		e->cr.write = q.type == 0;
		e->cr.gpr = q.gpr;
		break;
	}
	case VMX_EXIT_EXC_NMI: {
		uint32_t info = (uint32_t)vmread(VMCS_EXIT_INTR_INFO);
		e->reason = TVMM_EXIT_OTHER;
		if (((info >> 8) & 7) == 3) { /* a hardware exception from the bitmap */
			e->reason = TVMM_EXIT_EXCEPTION;
			e->exc.vector = (uint8_t)info;
			e->exc.has_err = (info >> 11) & 1;
			e->exc.err = (uint32_t)vmread(VMCS_EXIT_INTR_ERR);
			e->exc.cr2 = qual;
		}
		break;
	}
	case VMX_EXIT_GDTR_IDTR:
	case VMX_EXIT_LDTR_TR: {
		struct dt_info d;
		vmx_dt_info((uint32_t)vmread(VMCS_EXIT_INSN_INFO), &d);
		e->reason = TVMM_EXIT_DT_ACCESS;
		e->dt.which = 0; /* stores and LDTR/TR forms: emulated by vmx_dt_emulate */
		if ((reason & 0xffff) == VMX_EXIT_GDTR_IDTR && d.identity >= 2)
			e->dt.which = d.identity == 3 ? TVMM_DT_LIDT : TVMM_DT_LGDT;
		break;
	}
	case VMX_EXIT_VMCLEAR:
	case VMX_EXIT_VMLAUNCH:
	case VMX_EXIT_VMPTRLD:
	case VMX_EXIT_VMPTRST:
	case VMX_EXIT_VMREAD:
	case VMX_EXIT_VMRESUME:
	case VMX_EXIT_VMWRITE:
	case VMX_EXIT_VMXOFF:
	case VMX_EXIT_VMXON:
	case VMX_EXIT_INVEPT:
	case VMX_EXIT_INVVPID:
	case VMX_EXIT_GETSEC:
		e->reason = TVMM_EXIT_VIRT_INSN;
		break;
	case VMX_EXIT_XSETBV:
		e->reason = TVMM_EXIT_XSETBV;
		break;
	case VMX_EXIT_INVD:
		e->reason = TVMM_EXIT_INVD;
		break;
	case VMX_EXIT_TRIPLE_FAULT:
		e->reason = TVMM_EXIT_SHUTDOWN;
		break;
	case VMX_EXIT_INIT:
		e->reason = TVMM_EXIT_INIT;
		break;
	default:
		e->reason = TVMM_EXIT_OTHER;
	}
}

static uint64_t vmx_get(struct vcpu *v, enum gstate g)
{
	(void)v;
	switch (g) {
	case GS_RIP:
		return vmread(VMCS_GUEST_RIP);
	case GS_RFLAGS:
		return vmread(VMCS_GUEST_RFLAGS);
	case GS_CR0:
		return vmread(VMCS_GUEST_CR0);
	case GS_CR2:
		return read_cr2(); /* VMX does not switch CR2 */
	case GS_CR3:
		return vmread(VMCS_GUEST_CR3);
	case GS_CR4:
		return vmread(VMCS_GUEST_CR4) & ~CR4_VMXE;
	case GS_EFER:
		return vmread(VMCS_GUEST_EFER);
	case GS_CPL:
		return (vmread(VMCS_GUEST_SS_AR) >> 5) & 3;
	case GS_CS_LONG:
		return (vmread(VMCS_GUEST_CS_AR) >> 13) & 1;
	default:
		return 0;
	}
}

static void vmx_set(struct vcpu *v, enum gstate g, uint64_t val)
{
	(void)v;
	switch (g) {
	case GS_RIP:
		vmwrite(VMCS_GUEST_RIP, val);
		/* The emulated instruction ends any STI / MOV SS blocking. */
		vmwrite(VMCS_GUEST_INTR_STATE, vmread(VMCS_GUEST_INTR_STATE) & ~3ull);
		break;
	case GS_RFLAGS:
		vmwrite(VMCS_GUEST_RFLAGS, val);
		break;
	case GS_CR2:
		__asm__ volatile("mov %0, %%cr2" ::"r"(val)); /* VMX leaves CR2 to us */
		break;
	default:
		break;
	}
}

static void vmx_inject(struct vcpu *v, uint8_t vector, bool has_err, uint32_t err)
{
	(void)v;
	vmwrite(VMCS_ENTRY_INTR_INFO, vector | (3u << 8) | (has_err ? 1u << 11 : 0) | (1u << 31));
	if (has_err)
		vmwrite(VMCS_ENTRY_EXC_ERR, err);
}

static void vmx_flush_nested(struct vcpu *v)
{
	(void)v;
	invept_all();
}

/* 1 GiB EPT leaves only if the CPU says so (IA32_VMX_EPT_VPID_CAP bit 17). */
static unsigned vmx_nested_max_level(void)
{
	return (rdmsr(MSR_VMX_EPT_VPID_CAP) & (1u << 17)) ? 3 : 2;
}

/* MSRs whose guest value the VMCS holds (loaded at every entry). */
static uint64_t guest_msr_field(uint32_t msr)
{
	switch (msr) {
	case MSR_EFER:
		return VMCS_GUEST_EFER;
	case MSR_SYSENTER_CS:
		return VMCS_GUEST_SYSENTER_CS;
	case MSR_SYSENTER_ESP:
		return VMCS_GUEST_SYSENTER_ESP;
	case MSR_SYSENTER_EIP:
		return VMCS_GUEST_SYSENTER_EIP;
	}
	return 0;
}

static bool vmx_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	(void)v;
	if (guest_msr_field(msr)) {
		*val = vmread(guest_msr_field(msr));
		return true;
	}
	if (msr == MSR_FEATURE_CONTROL) {
		/* What firmware that locked VMX off would show. */
		*val = (rdmsr(MSR_FEATURE_CONTROL) | FC_LOCK) & ~(FC_VMX_OUTSIDE | (1ull << 1));
		return true;
	}
	return false; /* the VMX capability MSRs: #GP, as without VMX */
}

/*
 * FEATURE_CONTROL is locked and capability MSRs are read-only (#GP); the
 * VMCS-held MSRs reach here only when a policy traps them.
 */
static bool vmx_msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	(void)v;
	uint64_t field = guest_msr_field(msr);
	if (!field)
		return false;
	if (msr == MSR_EFER) {
		uint64_t cur = vmread(VMCS_GUEST_EFER);
		if (val & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
			return false;
		val = (val & ~EFER_LMA) | (cur & EFER_LMA); /* LMA is the CPU's to set */
	} else if (msr != MSR_SYSENTER_CS && !msr_value_ok(msr, val)) {
		return false;
	} else if (msr == MSR_SYSENTER_CS && (val >> 32)) {
		return false;
	}
	vmwrite(field, val);
	return true;
}

/*
 * A write that changes a bit in the CR0/CR4 guest/host mask: VMXE (ours)
 * or a bit the policy pins. The core checked the value and applied the
 * policy; here it must also meet VMX's fixed bits, or #GP.
 */
static bool vmx_cr_write(struct vcpu *v, unsigned cr, uint64_t val)
{
	(void)v;
	if (cr == 0) {
		if (!fixed_bits_ok(val, vmread(VMCS_GUEST_CR4)))
			return false;
		vmwrite(VMCS_CR0_SHADOW, val);
		vmwrite(VMCS_GUEST_CR0, val);
	} else if (cr == 3) {
		vmwrite(VMCS_GUEST_CR3, val & ~(1ull << 63)); /* "no flush" is a hint */
	} else if (cr == 4) {
		if ((val & CR4_VMXE) || !fixed_bits_ok(vmread(VMCS_GUEST_CR0), val | CR4_VMXE))
			return false; /* VMXE is reserved on a CPU without VMX: #GP */
		vmwrite(VMCS_CR4_SHADOW, val);
		vmwrite(VMCS_GUEST_CR4, val | CR4_VMXE);
	} else {
		return false;
	}
	/* Paging bits may have changed: drop this VPID's translations. */
	flush_all_contexts();
	return true;
}

static uint64_t seg_base(uint8_t seg)
{
	return seg == 4 ? vmread(VMCS_GUEST_FS_BASE) : seg == 5 ? vmread(VMCS_GUEST_GS_BASE) : 0;
}

/* LLDT: a null selector makes LDTR unusable; else an LDT descriptor from the GDT. */
static bool load_ldtr(struct vcpu *v, uint16_t sel)
{
	uint64_t d[2];
	if (!(sel & ~3u)) {
		vmwrite(VMCS_GUEST_LDTR_SEL, sel);
		vmwrite(VMCS_GUEST_LDTR_AR, 1u << 16);
		return true;
	}
	if ((sel & 4) || (sel | 7u) > vmread(VMCS_GUEST_GDTR_LIMIT) ||
	    guest_virt_copy(v, vmread(VMCS_GUEST_GDTR_BASE) + (sel & ~7u), d, sizeof(d), false))
		return false;
	/* Present (bit 47), system (S = 0), type 2 (LDT). */
	if (!((d[0] >> 47) & 1) || ((d[0] >> 40) & 0x1f) != 2)
		return false;
	uint32_t limit = (uint32_t)((d[0] & 0xffff) | ((d[0] >> 32) & 0xf0000));
	if (d[0] & (1ull << 55))
		limit = (limit << 12) | 0xfff;
	vmwrite(VMCS_GUEST_LDTR_SEL, sel);
	vmwrite(VMCS_GUEST_LDTR_BASE,
		((d[0] >> 16) & 0xffffff) | ((d[0] >> 32) & 0xff000000) | (d[1] << 32));
	vmwrite(VMCS_GUEST_LDTR_LIMIT, limit);
	vmwrite(VMCS_GUEST_LDTR_AR, vmx_seg_ar(d[0]));
	return true;
}

/*
 * Descriptor-table exiting is all or nothing: with a LIDT/LGDT rule the
 * stores and the LDTR/TR instructions exit too. Kernel (CPL 0) SGDT, SIDT,
 * SLDT, STR and LLDT are done here as the CPU would; LTR and any of them
 * from user mode get #GP (as UMIP would for the stores). false: #GP.
 */
static bool vmx_dt_emulate(struct vcpu *v, const struct exit *e)
{
	uint32_t info = (uint32_t)vmread(VMCS_EXIT_INSN_INFO);
	uint64_t qual = vmread(VMCS_EXIT_QUAL);
	struct dt_info d;
	vmx_dt_info(info, &d);
	if (vmx_get(v, GS_CPL) != 0 || !vmx_get(v, GS_CS_LONG))
		return false;
	uint64_t la = vmx_dt_addr(info, qual, v->regs, seg_base(d.seg));
	bool ok;
	if ((e->raw & 0xffff) == VMX_EXIT_GDTR_IDTR) { /* SGDT, SIDT */
		struct __attribute__((packed)) {
			uint16_t limit;
			uint64_t base;
		} t = {(uint16_t)vmread(d.identity ? VMCS_GUEST_IDTR_LIMIT : VMCS_GUEST_GDTR_LIMIT),
		       vmread(d.identity ? VMCS_GUEST_IDTR_BASE : VMCS_GUEST_GDTR_BASE)};
		ok = !guest_virt_copy(v, la, &t, sizeof(t), true);
	} else if (d.identity <= 1) { /* SLDT, STR */
		uint16_t sel =
		    (uint16_t)vmread(d.identity ? VMCS_GUEST_TR_SEL : VMCS_GUEST_LDTR_SEL);
		ok = true;
		if (d.reg_operand)
			v->regs[d.reg] = sel;
		else
			ok = !guest_virt_copy(v, la, &sel, sizeof(sel), true);
	} else if (d.identity == 2) { /* LLDT */
		uint16_t sel = (uint16_t)v->regs[d.reg];
		ok = (d.reg_operand || !guest_virt_copy(v, la, &sel, sizeof(sel), false)) &&
		     load_ldtr(v, sel);
	} else {
		ok = false; /* LTR: Linux loads TR only while bringing a CPU up */
	}
	if (ok)
		vmx_set(v, GS_RIP, vmx_get(v, GS_RIP) + e->insn_len);
	return ok;
}

static void vmx_cpuid_hide(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	if (leaf == 1)
		r[2] &= ~(1u << 5); /* VMX */
	/* What the guest cannot use because the control is off would #UD. */
	if (leaf == 0x80000001 && !(cfg.proc2 & PROC2_RDTSCP))
		r[3] &= ~(1u << 27);
	if (leaf == 7 && sub == 0 && !(cfg.proc2 & PROC2_INVPCID))
		r[1] &= ~(1u << 10);
	if (leaf == 0xd && sub == 1 && !(cfg.proc2 & PROC2_XSAVES))
		r[0] &= ~(1u << 3);
}

/* The state the OS gets back, as the guest last had it; then VMX off. */
static void prepare_handback(struct vcpu *v)
{
	struct vmx_cpu *x = vmx(v);
	struct handback *hb = &v->hb;
	hb->cr3 = vmread(VMCS_GUEST_CR3);
	hb->rip = vmread(VMCS_GUEST_RIP);
	hb->rsp = v->regs[GREG_RSP];
	hb->rflags = vmread(VMCS_GUEST_RFLAGS);
	hb->cs = (uint16_t)vmread(VMCS_GUEST_CS_SEL);
	hb->ss = (uint16_t)vmread(VMCS_GUEST_SS_SEL);
	hb->ds = (uint16_t)vmread(VMCS_GUEST_DS_SEL);
	hb->es = (uint16_t)vmread(VMCS_GUEST_ES_SEL);
	hb->gdtr.limit = (uint16_t)vmread(VMCS_GUEST_GDTR_LIMIT);
	hb->gdtr.base = vmread(VMCS_GUEST_GDTR_BASE);
	hb->idtr.limit = (uint16_t)vmread(VMCS_GUEST_IDTR_LIMIT);
	hb->idtr.base = vmread(VMCS_GUEST_IDTR_BASE);
	hb->efer = vmread(VMCS_GUEST_EFER);
	uint64_t cr0 = vmread(VMCS_GUEST_CR0), cr4 = vmread(VMCS_GUEST_CR4) & ~CR4_VMXE;
	wrmsr(MSR_PAT, vmread(VMCS_GUEST_PAT));
	wrmsr(MSR_DEBUGCTL, vmread(VMCS_GUEST_DEBUGCTL));
	wrmsr(MSR_SYSENTER_CS, vmread(VMCS_GUEST_SYSENTER_CS));
	wrmsr(MSR_SYSENTER_ESP, vmread(VMCS_GUEST_SYSENTER_ESP));
	wrmsr(MSR_SYSENTER_EIP, vmread(VMCS_GUEST_SYSENTER_EIP));
	wrmsr(MSR_FS_BASE, vmread(VMCS_GUEST_FS_BASE));
	uint64_t gs_base = vmread(VMCS_GUEST_GS_BASE), dr7 = vmread(VMCS_GUEST_DR7);
	vmx_op_pa("c", x->vmcs_pa);
	__asm__ volatile("vmxoff" ::: "cc", "memory");
	__asm__ volatile("mov %0, %%cr0" ::"r"(cr0));
	__asm__ volatile("mov %0, %%cr4" ::"r"(cr4));
	__asm__ volatile("mov %0, %%dr7" ::"r"(dr7));
	/* Last: the host's per-CPU pointer lives in GS until here. */
	wrmsr(MSR_GS_BASE, gs_base);
	v->state = TVMM_CPU_OFF;
}

/* Called by vmx_asm.S after every VM exit: 0 resume, 1 hand back, 2 halt. */
int vmx_exit_handler(struct vcpu *v)
{
	v->regs[GREG_RSP] = vmread(VMCS_GUEST_RSP);
	uint32_t reason = (uint32_t)vmread(VMCS_EXIT_REASON);
	/* An event cut short by the exit is delivered again on the next entry. */
	uint32_t idt = (uint32_t)vmread(VMCS_IDT_VEC_INFO);
	vmwrite(VMCS_ENTRY_INTR_INFO, 0);
	if (idt & (1u << 31)) {
		vmwrite(VMCS_ENTRY_INTR_INFO, idt & ~(1u << 12));
		vmwrite(VMCS_ENTRY_EXC_ERR, vmread(VMCS_IDT_VEC_ERR));
		vmwrite(VMCS_ENTRY_INSN_LEN, vmread(VMCS_EXIT_INSN_LEN));
	}
	bool refused = reason & VMX_EXIT_ENTRY_FAIL;
	if (refused)
		vmm_log(
		    "cpu %u: VM entry refused the guest state (reason %#x, qualification %#llx)",
		    v->cpu, reason, (unsigned long long)vmread(VMCS_EXIT_QUAL));
	enum action a = core_exit(v, refused);
	vmwrite(VMCS_GUEST_RSP, v->regs[GREG_RSP]);
	if (a == ACT_RESUME && v->nmi_pending) {
		/* An NMI that hit the host belongs to the guest. */
		v->nmi_pending = 0;
		if (!(vmread(VMCS_ENTRY_INTR_INFO) & (1u << 31)))
			vmwrite(VMCS_ENTRY_INTR_INFO, 2 | (2u << 8) | (1u << 31));
	}
	if (a == ACT_DEVIRT)
		prepare_handback(v);
	core_exit_done(v, a);
	return (int)a;
}

/* VMLAUNCH or VMRESUME fell through: the VMCS was refused before entry. */
int vmx_entry_failed(struct vcpu *v)
{
	vmm_log("cpu %u: VM%s failed, instruction error %llu", v->cpu,
		v->launched ? "RESUME" : "LAUNCH", (unsigned long long)vmread(VMCS_INSN_ERROR));
	/* What the loader gets back is what we captured: the guest never ran. */
	v->regs[GREG_RSP] = vmread(VMCS_GUEST_RSP);
	enum action a = core_exit(v, true);
	if (a == ACT_DEVIRT)
		prepare_handback(v);
	core_exit_done(v, a);
	return a;
}

extern const struct pt_format ept_format;

const struct backend_ops vmx_ops = {
    .name = "vmx",
    .id = TVMM_BACKEND_VMX,
    .check = vmx_check,
    .init = vmx_init,
    .launch = vmx_launch,
    .decode_exit = vmx_decode,
    .get = vmx_get,
    .set = vmx_set,
    .inject_exception = vmx_inject,
    .nested_fmt = &ept_format,
    .nested_levels = 4,
    .nested_memtypes = true,
    .nested_max_level = vmx_nested_max_level,
    .flush_nested = vmx_flush_nested,
    .msr_read = vmx_msr_read,
    .msr_write = vmx_msr_write,
    .cr_write = vmx_cr_write,
    .cpuid_hide = vmx_cpuid_hide,
    .rule_supported = vmx_rule_supported,
    .msr_intercept = vmx_msr_intercept,
    .apply_policy = vmx_apply_policy,
    .dt_emulate = vmx_dt_emulate,
};
