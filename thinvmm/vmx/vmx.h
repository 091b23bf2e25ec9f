/* SPDX-License-Identifier: MIT */
/* VMCS field encodings and VMX constants (Intel SDM vol. 3, appendix B). */
#ifndef TVMM_VMX_H
#define TVMM_VMX_H

#include <stdint.h>

/* 16-bit fields */
#define VMCS_VPID	    0x0000
#define VMCS_GUEST_ES_SEL   0x0800
#define VMCS_GUEST_CS_SEL   0x0802
#define VMCS_GUEST_SS_SEL   0x0804
#define VMCS_GUEST_DS_SEL   0x0806
#define VMCS_GUEST_FS_SEL   0x0808
#define VMCS_GUEST_GS_SEL   0x080a
#define VMCS_GUEST_LDTR_SEL 0x080c
#define VMCS_GUEST_TR_SEL   0x080e
#define VMCS_HOST_ES_SEL    0x0c00
#define VMCS_HOST_CS_SEL    0x0c02
#define VMCS_HOST_SS_SEL    0x0c04
#define VMCS_HOST_DS_SEL    0x0c06
#define VMCS_HOST_FS_SEL    0x0c08
#define VMCS_HOST_GS_SEL    0x0c0a
#define VMCS_HOST_TR_SEL    0x0c0c
/* 64-bit fields */
#define VMCS_MSR_BITMAP	     0x2004
#define VMCS_EPTP	     0x201a
#define VMCS_GUEST_PHYS_ADDR 0x2400
#define VMCS_LINK_POINTER    0x2800
#define VMCS_GUEST_DEBUGCTL  0x2802
#define VMCS_GUEST_PAT	     0x2804
#define VMCS_GUEST_EFER	     0x2806
#define VMCS_HOST_PAT	     0x2c00
#define VMCS_HOST_EFER	     0x2c02
/* 32-bit fields */
#define VMCS_PIN_CTLS	       0x4000
#define VMCS_PROC_CTLS	       0x4002
#define VMCS_EXC_BITMAP	       0x4004
#define VMCS_PFEC_MASK	       0x4006
#define VMCS_PFEC_MATCH	       0x4008
#define VMCS_CR3_TARGET_COUNT  0x400a
#define VMCS_EXIT_CTLS	       0x400c
#define VMCS_EXIT_MSR_STORE_N  0x400e
#define VMCS_EXIT_MSR_LOAD_N   0x4010
#define VMCS_ENTRY_CTLS	       0x4012
#define VMCS_ENTRY_MSR_LOAD_N  0x4014
#define VMCS_ENTRY_INTR_INFO   0x4016
#define VMCS_ENTRY_EXC_ERR     0x4018
#define VMCS_ENTRY_INSN_LEN    0x401a
#define VMCS_PROC_CTLS2	       0x401e
#define VMCS_INSN_ERROR	       0x4400
#define VMCS_EXIT_REASON       0x4402
#define VMCS_EXIT_INTR_INFO    0x4404
#define VMCS_EXIT_INTR_ERR     0x4406
#define VMCS_IDT_VEC_INFO      0x4408
#define VMCS_IDT_VEC_ERR       0x440a
#define VMCS_EXIT_INSN_LEN     0x440c
#define VMCS_EXIT_INSN_INFO    0x440e
#define VMCS_GUEST_ES_LIMIT    0x4800
#define VMCS_GUEST_CS_LIMIT    0x4802
#define VMCS_GUEST_SS_LIMIT    0x4804
#define VMCS_GUEST_DS_LIMIT    0x4806
#define VMCS_GUEST_FS_LIMIT    0x4808
#define VMCS_GUEST_GS_LIMIT    0x480a
#define VMCS_GUEST_LDTR_LIMIT  0x480c
#define VMCS_GUEST_TR_LIMIT    0x480e
#define VMCS_GUEST_GDTR_LIMIT  0x4810
#define VMCS_GUEST_IDTR_LIMIT  0x4812
#define VMCS_GUEST_ES_AR       0x4814
#define VMCS_GUEST_CS_AR       0x4816
#define VMCS_GUEST_SS_AR       0x4818
#define VMCS_GUEST_DS_AR       0x481a
#define VMCS_GUEST_FS_AR       0x481c
#define VMCS_GUEST_GS_AR       0x481e
#define VMCS_GUEST_LDTR_AR     0x4820
#define VMCS_GUEST_TR_AR       0x4822
#define VMCS_GUEST_INTR_STATE  0x4824
#define VMCS_GUEST_ACTIVITY    0x4826
#define VMCS_GUEST_SYSENTER_CS 0x482a
#define VMCS_HOST_SYSENTER_CS  0x4c00
/* natural-width fields */
#define VMCS_CR0_MASK		0x6000
#define VMCS_CR4_MASK		0x6002
#define VMCS_CR0_SHADOW		0x6004
#define VMCS_CR4_SHADOW		0x6006
#define VMCS_EXIT_QUAL		0x6400
#define VMCS_GUEST_LINEAR_ADDR	0x640a
#define VMCS_GUEST_CR0		0x6800
#define VMCS_GUEST_CR3		0x6802
#define VMCS_GUEST_CR4		0x6804
#define VMCS_GUEST_ES_BASE	0x6806
#define VMCS_GUEST_CS_BASE	0x6808
#define VMCS_GUEST_SS_BASE	0x680a
#define VMCS_GUEST_DS_BASE	0x680c
#define VMCS_GUEST_FS_BASE	0x680e
#define VMCS_GUEST_GS_BASE	0x6810
#define VMCS_GUEST_LDTR_BASE	0x6812
#define VMCS_GUEST_TR_BASE	0x6814
#define VMCS_GUEST_GDTR_BASE	0x6816
#define VMCS_GUEST_IDTR_BASE	0x6818
#define VMCS_GUEST_DR7		0x681a
#define VMCS_GUEST_RSP		0x681c
#define VMCS_GUEST_RIP		0x681e
#define VMCS_GUEST_RFLAGS	0x6820
#define VMCS_GUEST_PENDING_DBG	0x6822
#define VMCS_GUEST_SYSENTER_ESP 0x6824
#define VMCS_GUEST_SYSENTER_EIP 0x6826
#define VMCS_HOST_CR0		0x6c00
#define VMCS_HOST_CR3		0x6c02
#define VMCS_HOST_CR4		0x6c04
#define VMCS_HOST_FS_BASE	0x6c06
#define VMCS_HOST_GS_BASE	0x6c08
#define VMCS_HOST_TR_BASE	0x6c0a
#define VMCS_HOST_GDTR_BASE	0x6c0c
#define VMCS_HOST_IDTR_BASE	0x6c0e
#define VMCS_HOST_SYSENTER_ESP	0x6c10
#define VMCS_HOST_SYSENTER_EIP	0x6c12
#define VMCS_HOST_RSP		0x6c14
#define VMCS_HOST_RIP		0x6c16

/* Capability MSRs */
#define MSR_VMX_BASIC	       0x480
#define MSR_VMX_PINBASED       0x481
#define MSR_VMX_PROCBASED      0x482
#define MSR_VMX_EXIT	       0x483
#define MSR_VMX_ENTRY	       0x484
#define MSR_VMX_CR0_FIXED0     0x486
#define MSR_VMX_CR0_FIXED1     0x487
#define MSR_VMX_CR4_FIXED0     0x488
#define MSR_VMX_CR4_FIXED1     0x489
#define MSR_VMX_PROCBASED2     0x48b
#define MSR_VMX_EPT_VPID_CAP   0x48c
#define MSR_VMX_TRUE_PINBASED  0x48d
#define MSR_VMX_TRUE_PROCBASED 0x48e
#define MSR_VMX_TRUE_EXIT      0x48f
#define MSR_VMX_TRUE_ENTRY     0x490
#define MSR_VMX_LAST	       0x493
#define MSR_DEBUGCTL	       0x1d9
#define MSR_SYSENTER_CS	       0x174
#define MSR_SYSENTER_ESP       0x175
#define MSR_SYSENTER_EIP       0x176
#define MSR_MTRRCAP	       0xfe
#define MSR_MTRR_DEF_TYPE      0x2ff

#define FC_LOCK	       (1ull << 0)
#define FC_VMX_OUTSIDE (1ull << 2)
#define CR4_VMXE       (1ull << 13)

/* Controls */
#define PROC_CR3_LOAD_EXIT  (1u << 15)
#define PROC_USE_MSR_BITMAP (1u << 28)
#define PROC_SECONDARY	    (1u << 31)
#define PROC2_EPT	    (1u << 1)
#define PROC2_RDTSCP	    (1u << 3)
#define PROC2_DESC_TABLE    (1u << 2)
#define PROC2_VPID	    (1u << 5)
#define PROC2_INVPCID	    (1u << 12)
#define PROC2_XSAVES	    (1u << 20)
#define EXIT_SAVE_DEBUG	    (1u << 2)
#define EXIT_HOST_64	    (1u << 9)
#define EXIT_SAVE_PAT	    (1u << 18)
#define EXIT_LOAD_PAT	    (1u << 19)
#define EXIT_SAVE_EFER	    (1u << 20)
#define EXIT_LOAD_EFER	    (1u << 21)
#define ENTRY_LOAD_DEBUG    (1u << 2)
#define ENTRY_IA32E	    (1u << 9)
#define ENTRY_LOAD_PAT	    (1u << 14)
#define ENTRY_LOAD_EFER	    (1u << 15)

/* Basic exit reasons */
#define VMX_EXIT_EXC_NMI       0
#define VMX_EXIT_TRIPLE_FAULT  2
#define VMX_EXIT_INIT	       3
#define VMX_EXIT_SIPI	       4
#define VMX_EXIT_CPUID	       10
#define VMX_EXIT_GETSEC	       11
#define VMX_EXIT_INVD	       13
#define VMX_EXIT_VMCALL	       18
#define VMX_EXIT_VMCLEAR       19
#define VMX_EXIT_VMLAUNCH      20
#define VMX_EXIT_VMPTRLD       21
#define VMX_EXIT_VMPTRST       22
#define VMX_EXIT_VMREAD	       23
#define VMX_EXIT_VMRESUME      24
#define VMX_EXIT_VMWRITE       25
#define VMX_EXIT_VMXOFF	       26
#define VMX_EXIT_VMXON	       27
#define VMX_EXIT_CR_ACCESS     28
#define VMX_EXIT_GDTR_IDTR     46
#define VMX_EXIT_LDTR_TR       47
#define VMX_EXIT_RDMSR	       31
#define VMX_EXIT_WRMSR	       32
#define VMX_EXIT_BAD_GUEST     33
#define VMX_EXIT_BAD_MSRLOAD   34
#define VMX_EXIT_EPT_VIOLATION 48
#define VMX_EXIT_EPT_MISCONFIG 49
#define VMX_EXIT_INVEPT	       50
#define VMX_EXIT_INVVPID       53
#define VMX_EXIT_XSETBV	       55
#define VMX_EXIT_ENTRY_FAIL    (1u << 31)

/* Per-CPU backend state. */
struct vmx_cpu {
	void *vmxon;
	void *vmcs;
	uint64_t vmxon_pa;
	uint64_t vmcs_pa;
	uint64_t host_cr4; /* CR4 before we set VMXE: handed back */
};

#endif
