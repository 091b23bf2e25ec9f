/* SPDX-License-Identifier: MIT */
/*
 * long tvmm_launch_cpu(void *entry, unsigned long cpu)
 *
 * The VMM's pages vanish from the guest, so the point where this CPU
 * resumes as a guest must be ours: label 1 below. The VMM records our
 * stack pointer and that label; on success the CPU "returns" from there
 * with RAX = 0, on a refused first VMRUN with RAX = the error. An error
 * found before the switch comes back as a plain return from the call.
 */
#include <linux/linkage.h>
#include <asm/nospec-branch.h>

	.text
SYM_FUNC_START(tvmm_launch_cpu)
	pushq %rbp
	movq %rsp, %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rdi, %rax
	movq $2, %rdi              /* TVMM_CMD_LAUNCH */
	movq %rsp, %rdx            /* guest RSP */
	leaq 1f(%rip), %rcx        /* guest RIP */
	CALL_NOSPEC rax
1:
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	RET
SYM_FUNC_END(tvmm_launch_cpu)
