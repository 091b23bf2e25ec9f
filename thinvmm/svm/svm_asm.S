/* SPDX-License-Identifier: MIT */
/*
 * SVM world switch. svm_enter moves the CPU onto the VMM's own stack,
 * address space and descriptor tables, then loops: VMRUN, save the guest's
 * registers, let C decide. The hand-back path undoes the switch in the
 * opposite order and IRETs into the OS where the guest was.
 */
#include "core/vcpu_offsets.h"
#include "core/entry_macros.inc"

	.section .note.GNU-stack, "", @progbits
	.text

/* void svm_enter(struct vcpu *v): interrupts off, SVM enabled, VMCB filled. */
	.globl svm_enter
	.hidden svm_enter
svm_enter:
	endbr64
	clgi                            /* no NMI or SMI until we are in the guest */
	movq %rdi, %rbx
	SWITCH_TO_HOST %rbx

svm_loop:
	movq (%rsp), %rax               /* the vcpu, kept in the stack's top slot */
	LOAD_GUEST_GPRS_BUT_RAX %rax
	movq VCPU_ARCH_PA(%rax), %rax   /* the VMCB; the guest's RAX lives there */
	vmrun %rax
	/* #VMEXIT: RSP and RAX are the host's again (svm_exit_handler reads RAX from the VMCB). */
	SAVE_GUEST_GPRS
	movq %rbx, %rdi
	call svm_exit_handler
	testl %eax, %eax
	jz svm_loop
	cmpl $1, %eax
	je svm_handback
	HALT_FOREVER

/*
 * Back to the OS: tables, address space and segments first, then GIF=1
 * (an NMI from here on finds the OS's IDT and segments) and SVME off.
 */
svm_handback:
	movq (%rsp), %rbx
	HANDBACK_TABLES_AND_SEGMENTS %rbx
	stgi
	movl $0xc0000080, %ecx
	movl VCPU_HB+HB_EFER(%rbx), %eax
	movl VCPU_HB+HB_EFER+4(%rbx), %edx
	wrmsr
	HANDBACK_IRET
