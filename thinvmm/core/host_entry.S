/* SPDX-License-Identifier: MIT */
/* Exception stubs for the VMM's own IDT: normalise the frame, call C. */
#include "core/vcpu_offsets.h"

	.section .note.GNU-stack, "", @progbits
	.text

.macro STUB n, has_err
	.align 16
stub_\n:
	endbr64
	.if \has_err == 0
	pushq $0
	.endif
	movq $\n, %rdi
	jmp common_exc
.endm

common_exc:
	movq (%rsp), %rsi        /* error code */
	leaq 8(%rsp), %rdx       /* rip, cs, rflags, rsp, ss */
	andq $-16, %rsp
	call host_exception
	ud2

STUB 0, 0
STUB 1, 0
/*
 * NMI. On VMX an NMI that arrives while the host runs belongs to the guest:
 * note it (host GS base = the vcpu) and let the exit path inject it. On SVM
 * the host runs with GIF=0, so no NMI reaches this gate.
 */
	.align 16
stub_2:
	endbr64
	movb $1, %gs:VCPU_NMI_PENDING
	iretq
STUB 3, 0
STUB 4, 0
STUB 5, 0
STUB 6, 0
STUB 7, 0
STUB 8, 1
STUB 9, 0
STUB 10, 1
STUB 11, 1
STUB 12, 1
STUB 13, 1
STUB 14, 1
STUB 15, 0
STUB 16, 0
STUB 17, 1
STUB 18, 0
STUB 19, 0
STUB 20, 0
STUB 21, 1
STUB 22, 0
STUB 23, 0
STUB 24, 0
STUB 25, 0
STUB 26, 0
STUB 27, 0
STUB 28, 0
STUB 29, 1
STUB 30, 1
STUB 31, 0

	.section .data.rel.ro, "aw"
	.align 8
	.globl host_exc_stubs
	.hidden host_exc_stubs
host_exc_stubs:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad stub_\n
	.endr
