/* SPDX-License-Identifier: MIT */
/*
 * Exit dispatch: the backend decoded the exit into a struct exit; here the
 * core decides, and tells the backend what to apply through its ops.
 */
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

static void handle_msr(struct vcpu *v, const struct exit *e)
{
	uint32_t msr = e->msr.index;
	if (e->reason == TVMM_EXIT_MSR_READ) {
		uint64_t val;
		if (!vmm.ops->msr_read(v, msr, &val)) {
			inject_gp(v);
			return;
		}
		v->regs[GREG_RAX] = (uint32_t)val;
		v->regs[GREG_RDX] = val >> 32;
	} else {
		uint64_t val = (v->regs[GREG_RDX] << 32) | (uint32_t)v->regs[GREG_RAX];
		if (!vmm.ops->msr_write(v, msr, val)) {
			inject_gp(v);
			return;
		}
	}
	advance(v, e);
}

/* A guest write to a control register the backend chose to intercept. */
static void handle_cr(struct vcpu *v, const struct exit *e)
{
	const struct backend_ops *o = vmm.ops;
	if (!e->cr.write || !o->cr_write || !o->cr_write(v, e->cr.cr, v->regs[e->cr.gpr & 15])) {
		inject_gp(v);
		return;
	}
	advance(v, e);
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
		handle_msr(v, &e);
		break;
	case TVMM_EXIT_NPF:
		emulate_unbacked_access(v, &e);
		break;
	case TVMM_EXIT_CR_ACCESS:
		handle_cr(v, &e);
		break;
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
