/* SPDX-License-Identifier: MIT */
/*
 * VMX world switch, the twin of svm_asm.S. vmx_enter moves the CPU onto the
 * VMM's stack, address space and descriptor tables, then enters the guest.
 * A VM exit lands at vmx_exit_entry with RSP at the stack's top slot (the
 * vcpu) and every GPR the guest's; VMX saves none of them, RAX included.
 */
#include "core/vcpu_offsets.h"
#include "core/entry_macros.inc"

	.section .note.GNU-stack, "", @progbits
	.text

/* void vmx_enter(struct vcpu *v): interrupts off, VMCS current and filled. */
	.globl vmx_enter
	.hidden vmx_enter
vmx_enter:
	endbr64
	movq %rdi, %rbx
	SWITCH_TO_HOST %rbx
	jmp vmx_entry

vmx_entry:
	movq (%rsp), %rax
	cmpb $0, VCPU_LAUNCHED(%rax)
	LOAD_GUEST_GPRS_BUT_RAX %rax
	movq R_RAX(%rax), %rax
	jne 1f
	vmlaunch
	jmp vmx_failed
1:	vmresume
vmx_failed:
	movq (%rsp), %rdi
	call vmx_entry_failed
	jmp vmx_after

	.globl vmx_exit_entry
	.hidden vmx_exit_entry
vmx_exit_entry:
	SAVE_GUEST_GPRS
	movq %rbx, %rdi
	movb $1, VCPU_LAUNCHED(%rbx)
	call vmx_exit_handler
vmx_after:
	testl %eax, %eax
	jz vmx_entry
	cmpl $1, %eax
	je 2f
	HALT_FOREVER
2:	movq (%rsp), %rbx
	HANDBACK_TABLES_AND_SEGMENTS %rbx
	HANDBACK_IRET
