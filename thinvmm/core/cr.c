/* SPDX-License-Identifier: MIT */
/*
 * What the CPU itself would refuse with #GP, checked before the VMM writes
 * a control register or MSR on the guest's behalf: a value the hardware
 * rejects must fault in the guest, never at VM entry or in the VMM.
 */
#include "core/vmm.h"
#include "lib/x86.h"

#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_AM (1ull << 18)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)

#define CR4_PCIDE (1ull << 17)

/* CR4 bits this CPU implements, from CPUID (bits 0-10 exist on any x86-64). */
static uint64_t cr4_known(void)
{
	struct cpuid_regs l1, l7;
	uint64_t k = 0x7ff;
	cpuid(1, 0, &l1);
	cpuid(0, 0, &l7);
	bool has7 = l7.eax >= 7;
	if (has7)
		cpuid(7, 0, &l7);
	else
		l7.ebx = l7.ecx = 0;
	k |= (uint64_t)((l7.ecx >> 2) & 1) << 11;  /* UMIP */
	k |= (uint64_t)((l7.ecx >> 16) & 1) << 12; /* LA57 */
	k |= (uint64_t)((l1.ecx >> 6) & 1) << 14;  /* SMXE */
	k |= (uint64_t)(l7.ebx & 1) << 16;	   /* FSGSBASE */
	k |= (uint64_t)((l1.ecx >> 17) & 1) << 17; /* PCIDE */
	k |= (uint64_t)((l1.ecx >> 26) & 1) << 18; /* OSXSAVE */
	k |= (uint64_t)((l7.ebx >> 7) & 1) << 20;  /* SMEP */
	k |= (uint64_t)((l7.ebx >> 20) & 1) << 21; /* SMAP */
	k |= (uint64_t)((l7.ecx >> 3) & 1) << 22;  /* PKE */
	k |= (uint64_t)((l7.ecx >> 7) & 1) << 23;  /* CET */
	return k;
}

bool cr_value_ok(unsigned cr, uint64_t old, uint64_t val, uint64_t efer, uint64_t cr3)
{
	bool long_mode = efer & EFER_LMA;
	if (cr == 3) {
		/* Here the last argument is CR4: with PCIDE, bit 63 means "do not flush". */
		struct cpuid_regs r;
		unsigned bits = 36;
		cpuid(0x80000000, 0, &r);
		if (r.eax >= 0x80000008) {
			cpuid(0x80000008, 0, &r);
			bits = r.eax & 0xff;
		}
		uint64_t v = (cr3 & CR4_PCIDE) ? val & ~(1ull << 63) : val;
		(void)old;
		return bits >= 64 || !(v >> bits);
	}
	if (cr == 0) {
		uint64_t known = CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP |
				 CR0_AM | CR0_NW | CR0_CD | CR0_PG;
		if (val & ~known)
			return false;
		if (((val & CR0_PG) && !(val & CR0_PE)) || ((val & CR0_NW) && !(val & CR0_CD)))
			return false;
		/* Leaving long mode would need the VMM to follow; it refuses instead. */
		return !(long_mode && (old & CR0_PG) && !(val & CR0_PG));
	}
	if (cr == 4) {
		if (val & ~cr4_known())
			return false;
		if (long_mode && (!(val & CR4_PAE) || ((old ^ val) & CR4_LA57)))
			return false;
		if (!(old & CR4_PCIDE) && (val & CR4_PCIDE) && (!long_mode || (cr3 & 0xfff)))
			return false;
		return true;
	}
	return false;
}

static bool canonical(uint64_t v)
{
	unsigned bits = (read_cr4() & CR4_LA57) ? 57 : 48;
	return (uint64_t)((int64_t)(v << (64 - bits)) >> (64 - bits)) == v;
}

/* MSRs the core writes directly (their guest value lives in the CPU). */
bool msr_value_ok(uint32_t msr, uint64_t val)
{
	switch (msr) {
	case 0xc0000081u: /* STAR: any value */
		return true;
	case 0xc0000082u: /* LSTAR */
	case 0xc0000083u: /* CSTAR */
	case 0x175u:	  /* SYSENTER_ESP */
	case 0x176u:	  /* SYSENTER_EIP */
		return canonical(val);
	case 0xc0000084u: /* SFMASK: the upper half is reserved */
		return !(val >> 32);
	case 0x174u: /* SYSENTER_CS: a selector */
		return !(val >> 16);
	}
	return false; /* EFER and anything else: the backend's, or #GP */
}
