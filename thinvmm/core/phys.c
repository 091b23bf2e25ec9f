/* SPDX-License-Identifier: MIT */
/* In the VMM's own address space all physical memory is identity-mapped. */
#include "core/vmm.h"

void *phys_ptr(uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}
