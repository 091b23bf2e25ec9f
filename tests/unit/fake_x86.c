/* SPDX-License-Identifier: MIT */
/* A deterministic CPUID for the hosted build: every leaf has a distinct answer. */
#include "fake.h"
#include "fake_x86.h"

#include <stdlib.h>

int fake_cpuid_calls;
bool fake_cpuid_override_on;
uint32_t fake_cpuid_override_leaf;
struct cpuid_regs fake_cpuid_override;
uint32_t fake_cpuid_leaf, fake_cpuid_sub;

void fake_cpuid_expect(uint32_t leaf, uint32_t sub, struct cpuid_regs *r)
{
	/* Mixes of both inputs that use all 32 bits, so truncation shows. */
	r->eax = leaf * 0x9e3779b1u ^ sub;
	r->ebx = ~leaf ^ (sub * 0x85ebca6bu);
	r->ecx = (leaf << 7 | leaf >> 25) ^ 0xc2b2ae35u ^ sub;
	r->edx = 0x80000001u ^ leaf ^ (sub << 16);
}

void cpuid(uint32_t leaf, uint32_t sub, struct cpuid_regs *r)
{
	fake_cpuid_calls++;
	fake_cpuid_leaf = leaf;
	fake_cpuid_sub = sub;
	fake_cpuid_expect(leaf, sub, r);
	if (fake_cpuid_override_on && leaf == fake_cpuid_override_leaf)
		*r = fake_cpuid_override;
}

uint64_t fake_xcr0;
unsigned fake_wbinvd_calls;

void xsetbv(uint32_t idx, uint64_t v)
{
	(void)idx;
	fake_xcr0 = v;
}

void wbinvd(void)
{
	fake_wbinvd_calls++;
}

/* A handful of MSRs, found by index; enough for the tests. */
static struct {
	uint32_t msr;
	uint64_t val;
} msrs[32];
static unsigned nmsrs;
unsigned fake_msr_writes;
uint64_t fake_cr4;

uint64_t *fake_msr(uint32_t msr)
{
	for (unsigned i = 0; i < nmsrs; i++)
		if (msrs[i].msr == msr)
			return &msrs[i].val;
	if (nmsrs == 32)
		abort();
	msrs[nmsrs].msr = msr;
	msrs[nmsrs].val = 0;
	return &msrs[nmsrs++].val;
}

uint64_t rdmsr(uint32_t msr)
{
	return *fake_msr(msr);
}

void wrmsr(uint32_t msr, uint64_t v)
{
	fake_msr_writes++;
	*fake_msr(msr) = v;
}

uint64_t read_cr4(void)
{
	return fake_cr4;
}
