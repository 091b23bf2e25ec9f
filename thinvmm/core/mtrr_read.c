/* SPDX-License-Identifier: MIT */
/* Reading the MTRR MSRs: the only part of the MTRR logic that touches hardware. */
#include "core/mtrr.h"
#include "lib/x86.h"

#define MSR_MTRRCAP	  0xfe
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_MTRR_BASE0	  0x200

static const uint32_t fixed_msrs[11] = {0x250, 0x258, 0x259, 0x268, 0x269, 0x26a,
					0x26b, 0x26c, 0x26d, 0x26e, 0x26f};

void mtrr_read(struct mtrr_state *m, unsigned phys_bits)
{
	struct cpuid_regs r;
	cpuid(1, 0, &r);
	*m = (struct mtrr_state){0};
	m->addr_mask = ((1ull << phys_bits) - 1) & ~0xfffull;
	if (!(r.edx & (1u << 12))) /* no MTRRs: everything is uncached */
		return;
	uint64_t cap = rdmsr(MSR_MTRRCAP), def = rdmsr(MSR_MTRR_DEF_TYPE);
	m->enabled = def & (1u << 11);
	m->fixed_enabled = (cap & (1u << 8)) && (def & (1u << 10));
	m->def_type = (uint8_t)def;
	if (m->fixed_enabled)
		for (unsigned i = 0; i < 11; i++) {
			uint64_t v = rdmsr(fixed_msrs[i]);
			for (unsigned b = 0; b < 8; b++)
				m->fixed[i * 8 + b] = (uint8_t)(v >> (8 * b));
		}
	m->nvar = cap & 0xff;
	if (m->nvar > MTRR_MAX_VAR)
		m->nvar = MTRR_MAX_VAR;
	for (unsigned i = 0; i < m->nvar; i++) {
		m->var[i].base = rdmsr(MSR_MTRR_BASE0 + 2 * i);
		m->var[i].mask = rdmsr(MSR_MTRR_BASE0 + 2 * i + 1);
	}
}
