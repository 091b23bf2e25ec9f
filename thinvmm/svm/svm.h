/* SPDX-License-Identifier: MIT */
/* The VMCB (AMD APM vol. 2, appendix B) and the SVM constants we use. */
#ifndef TVMM_SVM_H
#define TVMM_SVM_H

#include <stdint.h>

struct vmcb_seg {
	uint16_t sel, attrib;
	uint32_t limit;
	uint64_t base;
};

struct vmcb_control {
	uint32_t icpt_cr, icpt_dr, icpt_exc, icpt_misc1, icpt_misc2, icpt_misc3;
	uint8_t rsvd0[0x3c - 0x18];
	uint16_t pause_thresh, pause_count;
	uint64_t iopm_pa, msrpm_pa, tsc_offset;
	uint32_t asid;
	uint8_t tlb_ctl, rsvd1[3];
	uint32_t int_ctl, int_vector, int_state, rsvd2;
	uint64_t exit_code, exit_info1, exit_info2, exit_int_info;
	uint64_t np_ctl, avic_bar, ghcb_pa, event_inj, n_cr3, virt_ext;
	uint32_t clean, rsvd3;
	uint64_t next_rip;
	uint8_t insn_len, insn_bytes[15];
	uint8_t rsvd4[0x400 - 0xe0];
};

struct vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr;
	uint8_t rsvd0[0xca - 0xa0];
	uint8_t vmpl, cpl;
	uint32_t rsvd1;
	uint64_t efer;
	uint8_t rsvd2[0x148 - 0xd8];
	uint64_t cr4, cr3, cr0, dr7, dr6, rflags, rip;
	uint8_t rsvd3[0x1d8 - 0x180];
	uint64_t rsp, s_cet, ssp, isst, rax;
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip, cr2;
	uint8_t rsvd4[0x268 - 0x248];
	uint64_t g_pat, dbgctl;
};

struct vmcb {
	struct vmcb_control c;
	struct vmcb_save s;
};

_Static_assert(__builtin_offsetof(struct vmcb_control, iopm_pa) == 0x40, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb_control, exit_code) == 0x70, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb_control, event_inj) == 0xa8, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb_control, next_rip) == 0xc8, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb, s) == 0x400, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb_save, efer) == 0xd0, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb_save, cr4) == 0x148, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb_save, rsp) == 0x1d8, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb_save, rax) == 0x1f8, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb_save, cr2) == 0x240, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb_save, g_pat) == 0x268, "vmcb");

/* Intercept bits: misc1 (offset 0x0c) and misc2 (0x10). */
#define ICPT1_INIT     (1u << 3)
#define ICPT1_IDTR_W   (1u << 10)
#define ICPT1_GDTR_W   (1u << 11)
#define ICPT1_CPUID    (1u << 18)
#define ICPT1_INVLPGA  (1u << 26)
#define ICPT1_MSR      (1u << 28)
#define ICPT1_SHUTDOWN (1u << 31)
#define ICPT2_VMRUN    (1u << 0)
#define ICPT2_VMMCALL  (1u << 1)
#define ICPT2_VMLOAD   (1u << 2)
#define ICPT2_VMSAVE   (1u << 3)
#define ICPT2_STGI     (1u << 4)
#define ICPT2_CLGI     (1u << 5)
#define ICPT2_SKINIT   (1u << 6)

#define SVM_EXIT_CR0_W	  0x10
#define SVM_EXIT_CR3_W	  0x13
#define SVM_EXIT_CR4_W	  0x14
#define SVM_EXIT_EXC_0	  0x40 /* + vector */
#define SVM_EXIT_INIT	  0x63
#define SVM_EXIT_IDTR_W	  0x6a
#define SVM_EXIT_GDTR_W	  0x6b
#define SVM_EXIT_CPUID	  0x72
#define SVM_EXIT_INVLPGA  0x7a
#define SVM_EXIT_MSR	  0x7c
#define SVM_EXIT_SHUTDOWN 0x7f
#define SVM_EXIT_VMRUN	  0x80
#define SVM_EXIT_VMMCALL  0x81
#define SVM_EXIT_VMLOAD	  0x82
#define SVM_EXIT_VMSAVE	  0x83
#define SVM_EXIT_STGI	  0x84
#define SVM_EXIT_CLGI	  0x85
#define SVM_EXIT_SKINIT	  0x86
#define SVM_EXIT_NPF	  0x400
#define SVM_EXIT_INVALID  ((uint64_t)-1)

#define MSR_VM_CR	0xc0010114u
#define MSR_VM_HSAVE_PA 0xc0010117u
#define MSR_SVM_KEY	0xc0010118u
#define VM_CR_LOCK	(1ull << 3)
#define VM_CR_SVMDIS	(1ull << 4)

#define TLB_FLUSH_NONE	0
#define TLB_FLUSH_ALL	1
#define TLB_FLUSH_GUEST 3

/* Per-CPU backend state, one page. */
struct svm_cpu {
	struct vmcb *vmcb;
	void *hsave;
	uint64_t hsave_pa_guest; /* the guest's view of VM_HSAVE_PA */
	uint64_t host_efer;	 /* EFER before we set SVME: handed back */
	uint8_t next_tlb;	 /* TLB control for the next VMRUN */
};

#endif
