/* SPDX-License-Identifier: MIT */
/* Issuing a hypercall from guest kernel code (see abi.h for the registers). */
#ifndef THINVMM_HYPERCALL_H
#define THINVMM_HYPERCALL_H

#include <thinvmm/abi.h>

/* AMD's VMMCALL; the VT-x backend will need VMCALL here. */
static inline long tvmm_hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
				  uint64_t out[3])
{
	uint64_t rax = nr, rbx = a0, rcx = a1, rdx = a2;
	__asm__ volatile("vmmcall"
			 : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx)
			 : "S"(0ul)
			 : "memory");
	if (out) {
		out[0] = rbx;
		out[1] = rcx;
		out[2] = rdx;
	}
	return (long)rax;
}

#endif
