/* SPDX-License-Identifier: MIT */
/*
 * AMD-V backend: enable SVM, build a VMCB from the CPU's current state so
 * the running OS carries on as the guest, and translate exits for the core.
 * The host never runs VMLOAD/VMSAVE: it does not use FS, GS, TR, LDTR or
 * the SYSCALL MSRs, so the guest's values simply stay live in the CPU.
 */
#include "core/vmm.h"
#include "lib/string.h"
#include "lib/x86.h"
#include "svm/svm.h"

#define NESTED_ASID 1

static uint8_t *msrpm; /* 8 KiB, shared by all CPUs */
static void *iopm;     /* 12 KiB, unused (no I/O intercepts) but must be valid */
static bool has_nrips, has_flush_asid;

void svm_enter(struct vcpu *v) __attribute__((noreturn));

static struct svm_cpu *svm(struct vcpu *v)
{
	return v->arch;
}

static int svm_check(char *why, size_t n)
{
	struct cpuid_regs r;
	cpuid(0x80000000, 0, &r);
	if (r.eax < 0x8000000a) {
		memcpy(why, "no SVM: CPUID has no leaf 0x8000000a", n < 37 ? n : 37);
		why[n - 1] = 0;
		return TVMM_L_NOSUPPORT;
	}
	static const char *const msgs[] = {
	    "CPU has no SVM (AMD-V) support",
	    "SVM is disabled by firmware (VM_CR.SVMDIS)",
	    "CPU has no nested paging (NPT)",
	    "SVM is already in use (EFER.SVME set): another hypervisor?",
	};
	int which = -1, rc = 0;
	cpuid(0x80000001, 0, &r);
	if (!(r.ecx & (1u << 2))) {
		which = 0;
		rc = TVMM_L_NOSUPPORT;
	} else if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) {
		which = 1;
		rc = TVMM_L_DISABLED;
	} else {
		cpuid(0x8000000a, 0, &r);
		if (!(r.edx & 1u)) {
			which = 2;
			rc = TVMM_L_NOSUPPORT;
		} else if (rdmsr(MSR_EFER) & EFER_SVME) {
			which = 3;
			rc = TVMM_L_BUSY;
		}
	}
	if (which >= 0) {
		size_t len = strnlen(msgs[which], n - 1);
		memcpy(why, msgs[which], len);
		why[len] = 0;
	}
	return rc;
}

static void msrpm_set(uint32_t msr, bool read, bool write)
{
	uint32_t base;
	if (msr < 0x2000)
		base = 0;
	else if (msr - 0xc0000000u < 0x2000)
		base = 0x800 * 8, msr -= 0xc0000000u;
	else
		base = 0x1000 * 8, msr -= 0xc0010000u;
	uint32_t bit = base + msr * 2; /* the read bit; the write bit follows */
	msrpm[bit / 8] |= (uint8_t)(((read ? 1u : 0u) | (write ? 2u : 0u)) << (bit % 8));
}

static void msrpm_intercept(uint32_t msr)
{
	msrpm_set(msr, true, true);
}

static int svm_init(void)
{
	msrpm = vmm_alloc_pages(2);
	iopm = vmm_alloc_pages(3);
	if (!msrpm || !iopm)
		return TVMM_L_ENOMEM;
	/* The MSRs whose guest view differs from the hardware's. */
	msrpm_intercept(MSR_EFER);
	msrpm_intercept(MSR_VM_CR);
	msrpm_intercept(MSR_VM_HSAVE_PA);
	msrpm_intercept(MSR_SVM_KEY);
	struct cpuid_regs r;
	cpuid(0x8000000a, 0, &r);
	has_nrips = r.edx & (1u << 3);
	has_flush_asid = r.edx & (1u << 6);
	return TVMM_L_OK;
}

/* Hidden segment state from the descriptor the selector names. */
static void seg_from_gdt(struct vmcb_seg *s, uint16_t sel, const struct dtr *gdt)
{
	s->sel = sel;
	if (!(sel & ~3u) || (sel & 4) || (sel | 7u) > gdt->limit) {
		s->attrib = s->limit = 0;
		s->base = 0;
		return;
	}
	uint64_t d = *(const uint64_t *)(uintptr_t)(gdt->base + (sel & ~7u));
	uint32_t limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));
	uint16_t attr = (uint16_t)(((d >> 40) & 0xff) | ((d >> 44) & 0xf00));
	if (attr & 0x800) /* G */
		limit = (limit << 12) | 0xfff;
	s->attrib = attr;
	s->limit = limit;
	s->base = ((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000);
}

static void fill_vmcb(struct vcpu *v, uint64_t rsp, uint64_t rip)
{
	struct vmcb *vm = svm(v)->vmcb;
	memset(vm, 0, sizeof(*vm));
	struct vmcb_control *c = &vm->c;
	c->icpt_misc1 = ICPT1_INIT | ICPT1_CPUID | ICPT1_INVLPGA | ICPT1_MSR | ICPT1_SHUTDOWN;
	c->icpt_misc2 = ICPT2_VMRUN | ICPT2_VMMCALL | ICPT2_VMLOAD | ICPT2_VMSAVE | ICPT2_STGI |
			ICPT2_CLGI | ICPT2_SKINIT;
	c->iopm_pa = vmm_va_to_pa(iopm);
	c->msrpm_pa = vmm_va_to_pa(msrpm);
	c->asid = NESTED_ASID;
	c->tlb_ctl = TLB_FLUSH_ALL;
	c->np_ctl = 1;
	c->n_cr3 = vmm.nested.root_pa;

	struct vmcb_save *s = &vm->s;
	struct dtr gdt, idt;
	sgdt(&gdt);
	sidt(&idt);
	seg_from_gdt(&s->cs, read_cs(), &gdt);
	seg_from_gdt(&s->ss, read_ss(), &gdt);
	seg_from_gdt(&s->ds, read_ds(), &gdt);
	seg_from_gdt(&s->es, read_es(), &gdt);
	s->gdtr.base = gdt.base;
	s->gdtr.limit = gdt.limit;
	s->idtr.base = idt.base;
	s->idtr.limit = idt.limit;
	s->cpl = 0;
	s->efer = rdmsr(MSR_EFER) | EFER_SVME; /* VMRUN requires it; the guest never sees it */
	s->cr0 = read_cr0();
	s->cr2 = read_cr2();
	s->cr3 = read_cr3();
	s->cr4 = read_cr4();
	s->dr6 = read_dr6();
	s->dr7 = read_dr7();
	s->rflags = read_rflags();
	s->rip = rip;
	s->rsp = rsp;
	s->rax = TVMM_L_OK;
	s->g_pat = rdmsr(MSR_PAT);
}

/* The policy's intercepts on this CPU's VMCB (vmm.pol is locked: it only grows). */
static void svm_apply_policy(struct vcpu *v)
{
	struct vmcb_control *c = &svm(v)->vmcb->c;
	const struct policy *p = &vmm.pol;
	if (p->cr_mask[0])
		c->icpt_cr |= 1u << (16 + 0);
	if (p->cr_mask[4])
		c->icpt_cr |= 1u << (16 + 4);
	if (p->cr3_trap)
		c->icpt_cr |= 1u << (16 + 3);
	c->icpt_exc |= p->exc_mask;
	if (p->dt_mask & TVMM_DT_LIDT)
		c->icpt_misc1 |= ICPT1_IDTR_W;
	if (p->dt_mask & TVMM_DT_LGDT)
		c->icpt_misc1 |= ICPT1_GDTR_W;
}

static int svm_launch(struct vcpu *v, uint64_t rsp, uint64_t rip)
{
	if (!v->arch) {
		struct svm_cpu *sc = vmm_alloc_pages(1);
		void *vmcb = vmm_alloc_pages(1), *hsave = vmm_alloc_pages(1);
		if (!sc || !vmcb || !hsave) {
			vmm_error("cpu %u: out of VMM memory", v->cpu);
			return TVMM_L_ENOMEM;
		}
		sc->vmcb = vmcb;
		sc->hsave = hsave;
		v->arch = sc;
		v->arch_pa = vmm_va_to_pa(vmcb);
	}
	struct svm_cpu *sc = svm(v);
	fill_vmcb(v, rsp, rip);
	v->pol_gen = __atomic_load_n(&vmm.pol.gen, __ATOMIC_ACQUIRE);
	if (vmm.pol.locked)
		svm_apply_policy(v);
	sc->host_efer = rdmsr(MSR_EFER);
	sc->hsave_pa_guest = rdmsr(MSR_VM_HSAVE_PA);
	wrmsr(MSR_EFER, sc->host_efer | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, vmm_va_to_pa(sc->hsave));
	v->launching = 1;
	/* Set before the switch: afterwards this code runs as the guest and cannot reach us. */
	v->state = TVMM_CPU_RUNNING;
	v->launches++;
	vmm_log("cpu %u (apic %u): launching under SVM, guest rip %#llx", v->cpu, v->apic_id,
		(unsigned long long)rip);
	svm_enter(v);
}

static void svm_decode(struct vcpu *v, struct exit *e)
{
	struct vmcb *vm = svm(v)->vmcb;
	uint64_t code = vm->c.exit_code;
	e->raw = code;
	switch (code) {
	case SVM_EXIT_CPUID:
		e->reason = TVMM_EXIT_CPUID;
		e->insn_len = 2;
		break;
	case SVM_EXIT_VMMCALL:
		e->reason = TVMM_EXIT_HYPERCALL;
		e->insn_len = 3;
		break;
	case SVM_EXIT_MSR:
		e->reason = vm->c.exit_info1 ? TVMM_EXIT_MSR_WRITE : TVMM_EXIT_MSR_READ;
		e->msr.index = (uint32_t)v->regs[GREG_RCX];
		e->insn_len = 2;
		break;
	case SVM_EXIT_NPF: {
		uint64_t ec = vm->c.exit_info1;
		e->reason = TVMM_EXIT_NPF;
		e->npf.gpa = vm->c.exit_info2;
		e->npf.gva = TVMM_EV_NO_GVA; /* SVM does not report the linear address */
		e->npf.access = (ec & (1u << 4)) ? ACC_X : (ec & (1u << 1)) ? ACC_W : ACC_R;
		e->npf.in_walk = ec & (1ull << 33);
		break;
	}
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
		e->reason = TVMM_EXIT_VIRT_INSN;
		break;
	case SVM_EXIT_SHUTDOWN:
		e->reason = TVMM_EXIT_SHUTDOWN;
		break;
	case SVM_EXIT_CR0_W:
	case SVM_EXIT_CR3_W:
	case SVM_EXIT_CR4_W:
		e->reason = TVMM_EXIT_CR_ACCESS;
		e->cr.cr = (uint8_t)(code - SVM_EXIT_CR0_W);
		e->cr.write = true;
		/* Decode assists name the register (bit 63); NRIP gives the length. */
		e->cr.gpr = (vm->c.exit_info1 >> 63) && has_nrips ? (uint8_t)(vm->c.exit_info1 & 15)
								  : CR_GPR_DECODE;
		if (e->cr.gpr != CR_GPR_DECODE)
			e->insn_len = 15; /* replaced by NRIP below */
		break;
	case SVM_EXIT_IDTR_W:
	case SVM_EXIT_GDTR_W:
		e->reason = TVMM_EXIT_DT_ACCESS;
		e->dt.which = code == SVM_EXIT_IDTR_W ? TVMM_DT_LIDT : TVMM_DT_LGDT;
		e->insn_len = has_nrips ? 15 : 0; /* replaced by NRIP below */
		break;
	case SVM_EXIT_INIT:
		e->reason = TVMM_EXIT_INIT;
		break;
	default:
		e->reason = TVMM_EXIT_OTHER;
		if (code >= SVM_EXIT_EXC_0 && code < SVM_EXIT_EXC_0 + 32) {
			unsigned vec = (unsigned)(code - SVM_EXIT_EXC_0);
			e->reason = TVMM_EXIT_EXCEPTION;
			e->exc.vector = (uint8_t)vec;
			e->exc.has_err = vec == 8 || (vec >= 10 && vec <= 14) || vec == 17;
			e->exc.err = (uint32_t)vm->c.exit_info1;
			e->exc.cr2 = vm->c.exit_info2;
		}
	}
	/* Prefixes can make an instruction longer than its opcode: trust NRIP when we have it. */
	if (has_nrips && e->insn_len && vm->c.next_rip > vm->s.rip &&
	    vm->c.next_rip - vm->s.rip <= 15)
		e->insn_len = (uint8_t)(vm->c.next_rip - vm->s.rip);
}

static uint64_t svm_get(struct vcpu *v, enum gstate g)
{
	const struct vmcb_save *s = &svm(v)->vmcb->s;
	switch (g) {
	case GS_RIP:
		return s->rip;
	case GS_RFLAGS:
		return s->rflags;
	case GS_CR0:
		return s->cr0;
	case GS_CR2:
		return s->cr2;
	case GS_CR3:
		return s->cr3;
	case GS_CR4:
		return s->cr4;
	case GS_EFER:
		return s->efer & ~EFER_SVME;
	case GS_CPL:
		return s->cpl;
	case GS_CS_LONG:
		return (s->cs.attrib >> 9) & 1;
	default:
		return 0;
	}
}

static void svm_set(struct vcpu *v, enum gstate g, uint64_t val)
{
	struct vmcb *vm = svm(v)->vmcb;
	switch (g) {
	case GS_RIP:
		vm->s.rip = val;
		vm->c.int_state &= ~1u; /* the emulated instruction ends any STI/MOV SS shadow */
		break;
	case GS_RFLAGS:
		vm->s.rflags = val;
		break;
	case GS_CR2:
		vm->s.cr2 = val;
		break;
	default:
		break;
	}
}

static void svm_inject(struct vcpu *v, uint8_t vector, bool has_err, uint32_t err)
{
	svm(v)->vmcb->c.event_inj =
	    vector | (3u << 8) | (has_err ? 1u << 11 : 0) | (1u << 31) | ((uint64_t)err << 32);
}

static void svm_flush_nested(struct vcpu *v)
{
	svm(v)->vmcb->c.tlb_ctl = has_flush_asid ? TLB_FLUSH_GUEST : TLB_FLUSH_ALL;
}

static bool svm_cr_write(struct vcpu *v, unsigned cr, uint64_t val)
{
	struct vmcb *vm = svm(v)->vmcb;
	if (cr == 0)
		vm->s.cr0 = val;
	else if (cr == 3)
		vm->s.cr3 = val & ~(1ull << 63); /* "no flush" is a hint; we flush anyway */
	else if (cr == 4)
		vm->s.cr4 = val;
	else
		return false;
	/* Paging bits may have changed: drop this CPU's guest translations. */
	svm_flush_nested(v);
	return true;
}

static void svm_msr_intercept(uint32_t msr, bool read, bool write)
{
	msrpm_set(msr, read, write);
}

static bool svm_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	switch (msr) {
	case MSR_EFER:
		*val = svm(v)->vmcb->s.efer & ~EFER_SVME;
		return true;
	case MSR_VM_CR:
		/* What firmware that locked SVM off would show. */
		*val = VM_CR_LOCK | VM_CR_SVMDIS;
		return true;
	case MSR_VM_HSAVE_PA:
		*val = svm(v)->hsave_pa_guest;
		return true;
	case MSR_SVM_KEY:
		*val = 0;
		return true;
	}
	return false;
}

static uint64_t efer_allowed(void)
{
	uint64_t ok =
	    EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE | EFER_LMSLE | EFER_FFXSR | EFER_TCE;
	struct cpuid_regs r;
	cpuid(0x80000000, 0, &r);
	if (r.eax >= 0x80000021) {
		cpuid(0x80000021, 0, &r);
		if (r.eax & (1u << 8))
			ok |= EFER_AUTOIBRS;
	}
	return ok;
}

static bool svm_msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	struct vmcb_save *s = &svm(v)->vmcb->s;
	switch (msr) {
	case MSR_EFER:
		/* SVME as on a CPU without SVM: reserved, so #GP like any reserved bit. */
		if (val & ~efer_allowed())
			return false;
		s->efer = (val & ~EFER_LMA) | (s->efer & EFER_LMA) | EFER_SVME;
		return true;
	case MSR_VM_HSAVE_PA:
		if (val & (PAGE_SIZE - 1))
			return false;
		svm(v)->hsave_pa_guest = val;
		return true;
	case MSR_VM_CR:
		return false; /* locked */
	case MSR_SVM_KEY:
		return true;
	}
	return false;
}

static void svm_cpuid_hide(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	(void)sub;
	if (leaf == 0x80000001)
		r[2] &= ~(1u << 2); /* SVM */
	else if (leaf == 0x8000000a)
		r[0] = r[1] = r[2] = r[3] = 0;
}

/* NPT takes 1 GiB leaves wherever the host paging does. */
static unsigned svm_nested_max_level(void)
{
	return 3;
}

/* The state the OS gets back, as the guest last had it. */
static void prepare_handback(struct vcpu *v)
{
	struct svm_cpu *sc = svm(v);
	const struct vmcb_save *s = &sc->vmcb->s;
	struct handback *hb = &v->hb;
	hb->efer = s->efer & ~EFER_SVME;
	hb->cr3 = s->cr3;
	hb->rip = s->rip;
	hb->rsp = v->regs[GREG_RSP];
	hb->rflags = s->rflags;
	hb->cs = s->cs.sel;
	hb->ss = s->ss.sel;
	hb->ds = s->ds.sel;
	hb->es = s->es.sel;
	hb->gdtr.limit = (uint16_t)s->gdtr.limit;
	hb->gdtr.base = s->gdtr.base;
	hb->idtr.limit = (uint16_t)s->idtr.limit;
	hb->idtr.base = s->idtr.base;
	/* What needs no address-space switch is restored here, in C. */
	wrmsr(MSR_PAT, s->g_pat);
	wrmsr(MSR_VM_HSAVE_PA, sc->hsave_pa_guest);
	__asm__ volatile("mov %0, %%cr0" ::"r"(s->cr0));
	__asm__ volatile("mov %0, %%cr4" ::"r"(s->cr4));
	__asm__ volatile("mov %0, %%cr2" ::"r"(s->cr2));
	__asm__ volatile("mov %0, %%dr6" ::"r"(s->dr6));
	__asm__ volatile("mov %0, %%dr7" ::"r"(s->dr7));
	v->state = TVMM_CPU_OFF;
}

/*
 * EXITINTINFO as EVENTINJ takes it. QEMU's TCG records an external interrupt
 * or an NMI cut short by a nested fault as an exception of its vector, which
 * VMRUN then refuses (an exception with vector 2 or above 31): give it back
 * its real type. Hardware never reports those, so nothing changes there.
 */
static uint32_t reinjectable(uint32_t info)
{
	uint32_t type = (info >> 8) & 7, vec = info & 0xff;
	if (type == 3 && (vec == 2 || vec > 31))
		info = (info & ~(0x700u | (1u << 11))) | ((vec == 2 ? 2u : 0u) << 8);
	return info;
}

/* Called by svm_asm.S after every #VMEXIT: 0 resume, 1 hand back, 2 halt. */
int svm_exit_handler(struct vcpu *v)
{
	struct svm_cpu *sc = svm(v);
	struct vmcb *vm = sc->vmcb;
	v->regs[GREG_RAX] = vm->s.rax;
	v->regs[GREG_RSP] = vm->s.rsp;
	vm->c.tlb_ctl = TLB_FLUSH_NONE;
	/* An event cut short by the exit is delivered again on the next entry. */
	vm->c.event_inj =
	    (vm->c.exit_int_info & (1u << 31)) ? reinjectable(vm->c.exit_int_info) : 0;
	/* VMEXIT_INVALID is -1; QEMU's TCG writes it as a 32-bit -1, so compare the low half. */
	bool refused = (uint32_t)vm->c.exit_code == (uint32_t)SVM_EXIT_INVALID;
	if (refused)
		vmm_log("cpu %u: VMRUN refused the guest state (cr0 %#llx cr4 %#llx efer %#llx "
			"cs %#x/%#x)",
			v->cpu, (unsigned long long)vm->s.cr0, (unsigned long long)vm->s.cr4,
			(unsigned long long)vm->s.efer, vm->s.cs.sel, vm->s.cs.attrib);
	enum action a = core_exit(v, refused);
	vm->s.rax = v->regs[GREG_RAX];
	vm->s.rsp = v->regs[GREG_RSP];
	if (a == ACT_DEVIRT)
		prepare_handback(v);
	core_exit_done(v, a);
	return (int)a;
}

extern const struct pt_format npt_format;

const struct backend_ops svm_ops = {
    .name = "svm",
    .id = TVMM_BACKEND_SVM,
    .check = svm_check,
    .init = svm_init,
    .launch = svm_launch,
    .decode_exit = svm_decode,
    .get = svm_get,
    .set = svm_set,
    .inject_exception = svm_inject,
    .nested_fmt = &npt_format,
    .nested_max_level = svm_nested_max_level,
    .flush_nested = svm_flush_nested,
    .msr_read = svm_msr_read,
    .msr_write = svm_msr_write,
    .cpuid_hide = svm_cpuid_hide,
    .cr_write = svm_cr_write,
    .msr_intercept = svm_msr_intercept,
    .apply_policy = svm_apply_policy,
};
