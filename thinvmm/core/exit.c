/* SPDX-License-Identifier: MIT */
/*
 * Exit dispatch: the backend decoded the exit into a struct exit; here the
 * core decides, and tells the backend what to apply through its ops.
 */
#include "core/decode.h"
#include "core/polcheck.h"
#include "core/vmm.h"
#include "lib/string.h"
#include "lib/x86.h"

#define VEC_UD 6
#define VEC_GP 13

static void advance(struct vcpu *v, const struct exit *e)
{
	vmm.ops->set(v, GS_RIP, vmm.ops->get(v, GS_RIP) + e->insn_len);
}

static void inject_gp(struct vcpu *v)
{
	vmm.ops->inject_exception(v, VEC_GP, true, 0);
}

/* Host CPUID, less what reveals the extension, plus our signature leaf. */
static void handle_cpuid(struct vcpu *v, const struct exit *e)
{
	uint32_t leaf = (uint32_t)v->regs[GREG_RAX], sub = (uint32_t)v->regs[GREG_RCX];
	uint32_t r[4];
	if (leaf == TVMM_CPUID_LEAF) {
		r[0] = TVMM_CPUID_LEAF;
		r[1] = TVMM_SIG_EBX;
		r[2] = TVMM_SIG_ECX;
		r[3] = TVMM_SIG_EDX;
	} else if (leaf > TVMM_CPUID_LEAF && leaf <= TVMM_CPUID_LEAF + 0xff) {
		r[0] = r[1] = r[2] = r[3] = 0;
	} else {
		struct cpuid_regs c;
		cpuid(leaf, sub, &c);
		r[0] = c.eax;
		r[1] = c.ebx;
		r[2] = c.ecx;
		r[3] = c.edx;
		vmm.ops->cpuid_hide(leaf, sub, r);
	}
	v->regs[GREG_RAX] = r[0];
	v->regs[GREG_RBX] = r[1];
	v->regs[GREG_RCX] = r[2];
	v->regs[GREG_RDX] = r[3];
	advance(v, e);
}

/*
 * The backend answers for the MSRs it keeps in guest state; the ones only
 * a policy traps (pol_msr_known) live in the CPU and are done here.
 */
static bool msr_do(struct vcpu *v, uint32_t msr, bool write, uint64_t *val)
{
	if (write ? vmm.ops->msr_write(v, msr, *val) : vmm.ops->msr_read(v, msr, val))
		return true;
	if (!pol_msr_known(msr) || msr == MSR_EFER) /* EFER: only ever the backend's view */
		return false;
	if (!write) {
		*val = rdmsr(msr);
		return true;
	}
	if (!msr_value_ok(msr, *val))
		return false;
	wrmsr(msr, *val);
	return true;
}

static enum action handle_msr(struct vcpu *v, const struct exit *e)
{
	uint32_t msr = e->msr.index;
	bool write = e->reason == TVMM_EXIT_MSR_WRITE;
	uint64_t val = write ? (v->regs[GREG_RDX] << 32) | (uint32_t)v->regs[GREG_RAX] : 0;
	enum policy_verdict pv = policy_msr(v, msr, write, val);
	if (pv == PV_HALT)
		return ACT_HALT;
	if (pv == PV_DENY || !msr_do(v, msr, write, &val)) {
		inject_gp(v);
		return ACT_RESUME;
	}
	if (!write) {
		v->regs[GREG_RAX] = (uint32_t)val;
		v->regs[GREG_RDX] = val >> 32;
	}
	advance(v, e);
	return ACT_RESUME;
}

/*
 * The source register and length of an intercepted CR write, decoding the
 * instruction when the hardware did not say. false: not MOV CR or CLTS.
 */
static bool cr_operand(struct vcpu *v, const struct exit *e, uint64_t *val, uint8_t *len)
{
	*len = e->insn_len;
	if (e->cr.gpr != CR_GPR_DECODE) {
		*val = v->regs[e->cr.gpr & 15];
		return true;
	}
	uint8_t bytes[INSN_MAX_LEN];
	struct insn_sys d;
	if (!vmm.ops->get(v, GS_CS_LONG) ||
	    insn_decode_sys(bytes, guest_fetch_insn(v, bytes, sizeof(bytes)), &d))
		return false;
	*len = d.len;
	if (d.op == SYS_CLTS && e->cr.cr == 0) {
		*val = vmm.ops->get(v, GS_CR0) & ~8ull; /* TS */
		return true;
	}
	if (d.op != SYS_MOV_TO_CR || d.cr != e->cr.cr)
		return false;
	*val = v->regs[d.gpr];
	return true;
}

/* A guest write to a control register the backend intercepts: policy, check, apply. */
static enum action handle_cr(struct vcpu *v, const struct exit *e)
{
	const struct backend_ops *o = vmm.ops;
	uint64_t val;
	uint8_t len;
	if (!e->cr.write || !o->cr_write || !cr_operand(v, e, &val, &len)) {
		inject_gp(v);
		return ACT_RESUME;
	}
	unsigned cr = e->cr.cr;
	if (cr == 3) {
		if (!cr_value_ok(3, o->get(v, GS_CR3), val, o->get(v, GS_EFER),
				 o->get(v, GS_CR4))) {
			inject_gp(v);
			return ACT_RESUME;
		}
		if (policy_cr3(v, val) == ACT_HALT)
			return ACT_HALT;
	}
	uint64_t old = o->get(v, cr == 0 ? GS_CR0 : GS_CR4);
	if (cr == 0 || cr == 4) {
		if (!cr_value_ok(cr, old, val, o->get(v, GS_EFER), o->get(v, GS_CR3))) {
			inject_gp(v);
			return ACT_RESUME;
		}
		if (policy_cr(v, cr, old, &val) == ACT_HALT)
			return ACT_HALT;
	}
	if (!o->cr_write(v, cr, val)) {
		inject_gp(v);
		return ACT_RESUME;
	}
	o->set(v, GS_RIP, o->get(v, GS_RIP) + len);
	return ACT_RESUME;
}

/* LIDT/LGDT the policy traps. Only deny and halt exist: the load is skipped. */
static enum action handle_dt(struct vcpu *v, const struct exit *e)
{
	if (!e->dt.which) {
		if (!vmm.ops->dt_emulate || !vmm.ops->dt_emulate(v, e))
			inject_gp(v);
		return ACT_RESUME;
	}
	uint8_t len = e->insn_len;
	if (!len) {
		uint8_t bytes[INSN_MAX_LEN];
		struct insn_sys d;
		if (!vmm.ops->get(v, GS_CS_LONG) ||
		    insn_decode_sys(bytes, guest_fetch_insn(v, bytes, sizeof(bytes)), &d) ||
		    (d.op != SYS_LGDT && d.op != SYS_LIDT)) {
			inject_gp(v);
			return ACT_RESUME;
		}
		len = d.len;
	}
	enum policy_verdict pv = policy_dt(v, e->dt.which, TVMM_EV_NO_GVA);
	if (pv == PV_HALT)
		return ACT_HALT;
	if (pv == PV_ALLOW) {
		/* Not ours to trap (no rule): only reachable through a backend bug. */
		inject_gp(v);
		return ACT_RESUME;
	}
	vmm.ops->set(v, GS_RIP, vmm.ops->get(v, GS_RIP) + len);
	return ACT_RESUME;
}

/*
 * XSETBV exits unconditionally on VT-x. Check it as the CPU would (#GP for
 * anything it would refuse) before executing it, so a hostile value faults
 * in the guest and never in the VMM.
 */
static void handle_xsetbv(struct vcpu *v, const struct exit *e)
{
	uint64_t val = (v->regs[GREG_RDX] << 32) | (uint32_t)v->regs[GREG_RAX];
	struct cpuid_regs c;
	cpuid(0xd, 0, &c);
	uint64_t supported = ((uint64_t)c.edx << 32) | c.eax;
	bool ok = (uint32_t)v->regs[GREG_RCX] == 0 && vmm.ops->get(v, GS_CPL) == 0 && (val & 1) &&
		  !(val & ~supported) && (!(val & 4) || (val & 2)) &&
		  ((val & 0xe0) == 0 || (val & 0xe6) == 0xe6) &&
		  (!(val & 0x18) || (val & 0x18) == 0x18);
	if (!ok) {
		inject_gp(v);
		return;
	}
	xsetbv(0, val);
	advance(v, e);
}

static void log_guest_state(struct vcpu *v, const char *what)
{
	const struct backend_ops *o = vmm.ops;
	vmm_log("cpu %u: %s: rip %#llx rsp %#llx rflags %#llx cr0 %#llx cr2 %#llx cr3 %#llx "
		"cr4 %#llx efer %#llx cpl %llu",
		v->cpu, what, (unsigned long long)o->get(v, GS_RIP),
		(unsigned long long)v->regs[GREG_RSP], (unsigned long long)o->get(v, GS_RFLAGS),
		(unsigned long long)o->get(v, GS_CR0), (unsigned long long)o->get(v, GS_CR2),
		(unsigned long long)o->get(v, GS_CR3), (unsigned long long)o->get(v, GS_CR4),
		(unsigned long long)o->get(v, GS_EFER), (unsigned long long)o->get(v, GS_CPL));
}

/*
 * Stop every CPU without resetting anything. Emptying the shared nested
 * map makes each other CPU exit at its next nested-TLB miss, and every exit
 * after `stopping` halts that CPU. No IPI is needed: an INIT IPI would be
 * held pending by GIF=0 on AMD hardware, but emulators (QEMU TCG) deliver it
 * anyway and reset the CPU, which is exactly what must not happen here.
 */
void core_stop_machine(struct vcpu *v, const char *why)
{
	vmm.stopping = true;
	memset(vmm.nested.table_ptr(vmm.nested.root_pa), 0, PAGE_SIZE);
	vmm.ops->flush_nested(v);
	vmm_log("cpu %u: %s: stopping the machine (no reset: the state stays for inspection)",
		v->cpu, why);
}

/*
 * Every exit passes here from the backend. A first entry the hardware
 * refused goes back to the loader as TVMM_L_HWFAIL (the CPU continues
 * where LAUNCH was called); a later refusal can only be our bug: stop.
 */
enum action core_exit(struct vcpu *v, bool entry_refused)
{
	if (entry_refused) {
		if (v->launching) {
			v->launching = 0;
			v->regs[GREG_RAX] = (uint64_t)(int64_t)TVMM_L_HWFAIL;
			return ACT_DEVIRT;
		}
		core_stop_machine(v, "the hardware refused the guest state");
		return ACT_HALT;
	}
	if (v->launching)
		vmm_log("cpu %u: virtualized", v->cpu);
	v->launching = 0;
	return core_handle_exit(v);
}

/* After the backend applied the action. */
void core_exit_done(struct vcpu *v, enum action a)
{
	if (a == ACT_DEVIRT)
		vmm_log("cpu %u: handed back to the OS at rip %#llx", v->cpu,
			(unsigned long long)v->hb.rip);
	else if (a == ACT_HALT)
		vmm_log("cpu %u: halted", v->cpu);
}

enum action core_handle_exit(struct vcpu *v)
{
	struct exit e = {.reason = TVMM_EXIT_OTHER};
	vmm.ops->decode_exit(v, &e);
	if ((unsigned)e.reason >= TVMM_EXIT_NR)
		e.reason = TVMM_EXIT_OTHER;
	v->exits_total++;
	v->exits[e.reason]++;
	if (vmm.stopping)
		return ACT_HALT;
	policy_sync(v);
	iommu_poll_exit(v); /* blocked DMA becomes events soon, not only at hypercalls */
	enum action act = ACT_RESUME;
	switch (e.reason) {
	case TVMM_EXIT_CPUID:
		handle_cpuid(v, &e);
		break;
	case TVMM_EXIT_HYPERCALL:
		if (vmm.ops->get(v, GS_CPL) != 0) {
			vmm.ops->inject_exception(v, VEC_UD, false, 0);
			break;
		}
		return hypercall_dispatch(v, &e);
	case TVMM_EXIT_MSR_READ:
	case TVMM_EXIT_MSR_WRITE:
		return handle_msr(v, &e);
	case TVMM_EXIT_NPF:
		if (xlat_npf(v, &e, &act))
			return act;
		if (!policy_npf(v, &e, &act))
			emulate_unbacked_access(v, &e);
		return act;
	case TVMM_EXIT_CR_ACCESS:
		return handle_cr(v, &e);
	case TVMM_EXIT_DT_ACCESS:
		return handle_dt(v, &e);
	case TVMM_EXIT_EXCEPTION:
		return policy_exception(v, &e);
	case TVMM_EXIT_XSETBV:
		handle_xsetbv(v, &e);
		break;
	case TVMM_EXIT_INVD:
		/* INVD would drop dirty lines, ours included: write them back instead. */
		wbinvd();
		advance(v, &e);
		break;
	case TVMM_EXIT_VIRT_INSN:
		/* What the instruction does with the extension off. */
		vmm.ops->inject_exception(v, VEC_UD, false, 0);
		break;
	case TVMM_EXIT_SHUTDOWN:
		log_guest_state(v, "triple fault");
		core_stop_machine(v, "guest triple fault");
		return ACT_HALT;
	case TVMM_EXIT_INIT:
		if (vmm.pol.locked) {
			/* A fresh boot of this CPU would run unwatched: it stays stopped. */
			policy_refused_init(v);
			vmm_log("cpu %u: INIT after the lock: CPU halted, not handed back", v->cpu);
			return ACT_HALT;
		}
		vmm_log("cpu %u: INIT signal: leaving the CPU to the OS, which asked for a reset",
			v->cpu);
		return ACT_DEVIRT;
	default:
		log_guest_state(v, "unexpected exit");
		vmm_log("cpu %u: exit code %#llx", v->cpu, (unsigned long long)e.raw);
		core_stop_machine(v, "unexpected exit");
		return ACT_HALT;
	}
	return ACT_RESUME;
}
