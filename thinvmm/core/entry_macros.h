/* SPDX-License-Identifier: MIT */
/*
 * Assembly shared by the SVM and VMX world switches: the move onto the
 * VMM's own context, the guest GPR save/load, and the hand-back to the OS.
 * Included by svm_asm.S and vmx_asm.S only.
 */
#ifndef TVMM_ENTRY_MACROS_H
#define TVMM_ENTRY_MACROS_H

#define R_RAX  (0 * 8)
#define R_RCX  (1 * 8)
#define R_RDX  (2 * 8)
#define R_RBX  (3 * 8)
#define R_RBP  (5 * 8)
#define R_RSI  (6 * 8)
#define R_RDI  (7 * 8)
#define R_N(n) ((n)*8)

#define HOST_CS 0x08
#define HOST_DS 0x10

/* Onto the VMM's stack, page tables and descriptor tables; \v holds the vcpu. */
.macro SWITCH_TO_HOST v movq VCPU_HOST_RSP(\v), % rsp movq VCPU_HOST_CR3(\v), % rax movq % rax,
    % cr3 lgdt VCPU_HOST_GDTR(\v) lidt VCPU_HOST_IDTR(\v) pushq $HOST_CS leaq 1001f(% rip),
    % rax pushq % rax lretq 1001 : movl $HOST_DS, % eax movl % eax, % ds movl % eax, % es movl % eax
    ,
    % ss.endm

	    /* Guest GPRs from the vcpu in \v, except RAX (and RSP, which the VMCB/VMCS hold). */
	    .macro LOAD_GUEST_GPRS_BUT_RAX v movq R_RCX(\v),
    % rcx movq R_RDX(\v), % rdx movq R_RBX(\v), % rbx movq R_RBP(\v), % rbp movq R_RSI(\v),
    % rsi movq R_RDI(\v), % rdi movq R_N(8)(\v), % r8 movq R_N(9)(\v), % r9 movq R_N(10)(\v),
    % r10 movq R_N(11)(\v), % r11 movq R_N(12)(\v), % r12 movq R_N(13)(\v), % r13 movq R_N(14)(\v),
    % r14 movq R_N(15)(\v), %
				r15.endm

				    /* After an exit: every GPR but RSP is the guest's; the vcpu
				       sits at (%rsp). Leaves it in RBX. */
				    .macro SAVE_GUEST_GPRS pushq
				% rbx movq 8(% rsp),
    % rbx movq % rax, R_RAX(% rbx) movq % rcx, R_RCX(% rbx) movq % rdx, R_RDX(% rbx) movq % rbp,
    R_RBP(% rbx) movq % rsi, R_RSI(% rbx) movq % rdi, R_RDI(% rbx) movq % r8,
    R_N(8)(% rbx) movq % r9, R_N(9)(% rbx) movq % r10, R_N(10)(% rbx) movq % r11,
    R_N(11)(% rbx) movq % r12, R_N(12)(% rbx) movq % r13, R_N(13)(% rbx) movq % r14,
    R_N(14)(% rbx) movq % r15, R_N(15)(% rbx) popq % rax movq % rax,
    R_RBX(% rbx)
	    .endm

	    .macro HALT_FOREVER 1002
    : cli hlt jmp
      1002b.endm

	    /*
	     * Back to the OS's descriptor tables, address space (our code and stack are
	     * mapped at the same address there) and segments, from v->hb.
	     */
	    .macro HANDBACK_TABLES_AND_SEGMENTS v lgdt VCPU_HB
	+ HB_GDTR(\v) lidt VCPU_HB + HB_IDTR(\v) movq VCPU_HB + HB_CR3(\v),
    % rax movq % rax, % cr3 movzwq VCPU_HB + HB_CS(\v), % rax pushq % rax leaq 1003f(% rip),
    % rax pushq % rax lretq 1003 : movzwl VCPU_HB + HB_DS(\v), % eax movl % eax,
    % ds movzwl VCPU_HB + HB_ES(\v), % eax movl % eax, % es movzwl VCPU_HB + HB_SS(\v),
    % eax movl % eax, % ss.endm

				  /* IRET to where the guest was, with every register as it had
				     them. The vcpu is in RBX. */
				  .macro HANDBACK_IRET movzwq VCPU_HB
			  + HB_SS(% rbx),
    % rax pushq % rax pushq VCPU_HB + HB_RSP(% rbx) pushq VCPU_HB + HB_RFLAGS(% rbx) movzwq VCPU_HB
	+ HB_CS(% rbx),
    % rax pushq % rax pushq VCPU_HB + HB_RIP(% rbx) movq R_RAX(% rbx), % rax movq R_RCX(% rbx),
    % rcx movq R_RDX(% rbx), % rdx movq R_RBP(% rbx), % rbp movq R_RSI(% rbx),
    % rsi movq R_RDI(% rbx), % rdi movq R_N(8)(% rbx), % r8 movq R_N(9)(% rbx),
    % r9 movq R_N(10)(% rbx), % r10 movq R_N(11)(% rbx), % r11 movq R_N(12)(% rbx),
    % r12 movq R_N(13)(% rbx), % r13 movq R_N(14)(% rbx), % r14 movq R_N(15)(% rbx),
    % r15 movq R_RBX(% rbx), % rbx iretq.endm

#endif
