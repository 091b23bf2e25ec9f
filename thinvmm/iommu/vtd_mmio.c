/* SPDX-License-Identifier: MIT */
/*
 * VT-d register access on the machine: the unit's pages are mapped
 * uncached in the VMM's own tables (iommu/vtd.c), so plain volatile
 * accesses of the register's width reach the hardware.
 */
#include "core/vmm.h"
#include "iommu/vtd.h"
#include "lib/x86.h"

uint32_t vtd_read32(uint64_t base, uint32_t off)
{
	return *(volatile uint32_t *)phys_ptr(base + off);
}

uint64_t vtd_read64(uint64_t base, uint32_t off)
{
	return *(volatile uint64_t *)phys_ptr(base + off);
}

void vtd_write32(uint64_t base, uint32_t off, uint32_t val)
{
	*(volatile uint32_t *)phys_ptr(base + off) = val;
}

void vtd_write64(uint64_t base, uint32_t off, uint64_t val)
{
	*(volatile uint64_t *)phys_ptr(base + off) = val;
}

void vtd_flush_caches(void)
{
	wbinvd();
}

uint64_t vtd_now(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}
