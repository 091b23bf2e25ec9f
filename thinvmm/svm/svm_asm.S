/* SPDX-License-Identifier: MIT */
/*
 * SVM world switch. svm_enter moves the CPU onto the VMM's own stack,
 * address space and descriptor tables, then loops: VMRUN, save the guest's
 * registers, let C decide. The hand-back path undoes the switch in the
 * opposite order and IRETs into the OS where the guest was.
 */
#include "core/vcpu_offsets.h"

	.section .note.GNU-stack, "", @progbits
	.text

#define R(n) (n * 8)
#define RAX R(0)
#define RCX R(1)
#define RDX R(2)
#define RBX R(3)
#define RSP R(4)
#define RBP R(5)
#define RSI R(6)
#define RDI R(7)

#define HOST_CS 0x08
#define HOST_DS 0x10

/* void svm_enter(struct vcpu *v): interrupts off, SVM enabled, VMCB filled. */
	.globl svm_enter
	.hidden svm_enter
svm_enter:
	endbr64
	clgi                            /* no NMI or SMI until we are in the guest */
	movq %rdi, %rbx
	movq VCPU_HOST_RSP(%rbx), %rsp
	movq VCPU_HOST_CR3(%rbx), %rax
	movq %rax, %cr3
	lgdt VCPU_HOST_GDTR(%rbx)
	lidt VCPU_HOST_IDTR(%rbx)
	pushq $HOST_CS
	leaq 1f(%rip), %rax
	pushq %rax
	lretq
1:	movl $HOST_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss

svm_loop:
	movq (%rsp), %rax               /* the vcpu, kept in the stack's top slot */
	movq RCX(%rax), %rcx
	movq RDX(%rax), %rdx
	movq RBX(%rax), %rbx
	movq RBP(%rax), %rbp
	movq RSI(%rax), %rsi
	movq RDI(%rax), %rdi
	movq R(8)(%rax), %r8
	movq R(9)(%rax), %r9
	movq R(10)(%rax), %r10
	movq R(11)(%rax), %r11
	movq R(12)(%rax), %r12
	movq R(13)(%rax), %r13
	movq R(14)(%rax), %r14
	movq R(15)(%rax), %r15
	movq VCPU_ARCH_PA(%rax), %rax   /* the VMCB */
	vmrun %rax
	/* #VMEXIT: RSP and RAX are the host's again, every other GPR the guest's. */
	pushq %rbx
	movq 8(%rsp), %rbx
	movq %rcx, RCX(%rbx)
	movq %rdx, RDX(%rbx)
	movq %rbp, RBP(%rbx)
	movq %rsi, RSI(%rbx)
	movq %rdi, RDI(%rbx)
	movq %r8, R(8)(%rbx)
	movq %r9, R(9)(%rbx)
	movq %r10, R(10)(%rbx)
	movq %r11, R(11)(%rbx)
	movq %r12, R(12)(%rbx)
	movq %r13, R(13)(%rbx)
	movq %r14, R(14)(%rbx)
	movq %r15, R(15)(%rbx)
	popq %rax
	movq %rax, RBX(%rbx)
	movq %rbx, %rdi
	call svm_exit_handler
	testl %eax, %eax
	jz svm_loop
	cmpl $1, %eax
	je svm_handback
2:	cli
	hlt
	jmp 2b

/*
 * Back to the OS: its descriptor tables and address space first (our code
 * and stack are mapped at the same address there), its segments, then
 * GIF=1 and SVME off, then IRET with every register as the guest had it.
 */
svm_handback:
	movq (%rsp), %rbx
	lgdt VCPU_HB+HB_GDTR(%rbx)
	lidt VCPU_HB+HB_IDTR(%rbx)
	movq VCPU_HB+HB_CR3(%rbx), %rax
	movq %rax, %cr3
	movzwq VCPU_HB+HB_CS(%rbx), %rax
	pushq %rax
	leaq 3f(%rip), %rax
	pushq %rax
	lretq
3:	movzwl VCPU_HB+HB_DS(%rbx), %eax
	movl %eax, %ds
	movzwl VCPU_HB+HB_ES(%rbx), %eax
	movl %eax, %es
	movzwl VCPU_HB+HB_SS(%rbx), %eax
	movl %eax, %ss
	stgi
	movl $0xc0000080, %ecx
	movl VCPU_HB+HB_EFER(%rbx), %eax
	movl VCPU_HB+HB_EFER+4(%rbx), %edx
	wrmsr
	movzwq VCPU_HB+HB_SS(%rbx), %rax
	pushq %rax
	pushq VCPU_HB+HB_RSP(%rbx)
	pushq VCPU_HB+HB_RFLAGS(%rbx)
	movzwq VCPU_HB+HB_CS(%rbx), %rax
	pushq %rax
	pushq VCPU_HB+HB_RIP(%rbx)
	movq RAX(%rbx), %rax
	movq RCX(%rbx), %rcx
	movq RDX(%rbx), %rdx
	movq RBP(%rbx), %rbp
	movq RSI(%rbx), %rsi
	movq RDI(%rbx), %rdi
	movq R(8)(%rbx), %r8
	movq R(9)(%rbx), %r9
	movq R(10)(%rbx), %r10
	movq R(11)(%rbx), %r11
	movq R(12)(%rbx), %r12
	movq R(13)(%rbx), %r13
	movq R(14)(%rbx), %r14
	movq R(15)(%rbx), %r15
	movq RBX(%rbx), %rbx
	iretq
