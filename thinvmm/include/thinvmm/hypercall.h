/* SPDX-License-Identifier: MIT */
/* Issuing a hypercall from guest kernel code (see abi.h for the registers). */
#ifndef THINVMM_HYPERCALL_H
#define THINVMM_HYPERCALL_H

#include <thinvmm/abi.h>

#ifdef __KERNEL__
#include <asm/processor.h>
/* VMCALL on Intel, VMMCALL on AMD and Hygon: the other one is #UD there. */
static inline bool tvmm_use_vmcall(void)
{
	return boot_cpu_data.x86_vendor == X86_VENDOR_INTEL;
}
#endif

static inline long tvmm_hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
				  uint64_t out[3])
{
	uint64_t rax = nr, rbx = a0, rcx = a1, rdx = a2;
	if (tvmm_use_vmcall())
		__asm__ volatile("vmcall"
				 : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx)
				 : "S"(0ul)
				 : "memory");
	else
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
