/* SPDX-License-Identifier: MIT */
/*
 * Work the VMM does at init or release, while the CPU is still the
 * loader's: MMIO (TPM, IOMMU) is mapped uncached only in the VMM's own
 * page tables, so such work runs there, on a stack of the VMM's.
 */
#include "core/vmm.h"
#include "lib/x86.h"

#define TRAMP_STACK_PAGES 4u

extern struct dtr host_idtr;

/*
 * Runs fn on the VMM's own page tables (where the TIS registers are mapped
 * uncached) and stack, interrupts off: at init the CPU is still on the
 * loader's address space, which maps no MMIO.
 */
static void on_host(void (*fn)(void), void *stack_top)
{
	uint64_t flags = read_rflags();
	struct dtr old_idt;
	sidt(&old_idt);
	__asm__ volatile("cli" ::: "memory");
	__asm__ volatile("lidt %0" ::"m"(host_idtr));
	register uint64_t r12 __asm__("r12") = (uint64_t)(uintptr_t)fn;
	register uint64_t r13 __asm__("r13") = read_cr3();
	register uint64_t r14 __asm__("r14") = vmm.host.root_pa;
	register uint64_t r15 __asm__("r15") = (uint64_t)(uintptr_t)stack_top;
	__asm__ volatile("mov %%rsp, %%rbx\n\t"
			 "mov %%r15, %%rsp\n\t"
			 "mov %%r14, %%cr3\n\t"
			 "call *%%r12\n\t"
			 "mov %%r13, %%cr3\n\t"
			 "mov %%rbx, %%rsp\n\t"
			 : "+r"(r12), "+r"(r13), "+r"(r14), "+r"(r15)
			 :
			 : "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
			   "memory", "cc");
	__asm__ volatile("lidt %0" ::"m"(old_idt));
	if (flags & (1u << 9))
		__asm__ volatile("sti" ::: "memory");
}

int vmm_on_host(void (*fn)(void))
{
	static uint8_t *stack;
	if (!stack && !(stack = vmm_alloc_pages(TRAMP_STACK_PAGES)))
		return -1;
	on_host(fn, stack + TRAMP_STACK_PAGES * PAGE_SIZE);
	return 0;
}
