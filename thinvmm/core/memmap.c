/* SPDX-License-Identifier: MIT */
/*
 * Which guest-physical ranges are the VMM's and which are guest RAM, from
 * the handoff copy in vmm.ho. Plain checks over plain data: the hypercall
 * buffer validation and the unbacked-access emulation rely on them, and
 * the hosted unit tests link this file as it is.
 */
#include "core/vmm.h"

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

bool vmm_owns_range(uint64_t pa, uint64_t len)
{
	for (uint32_t i = 0; i < vmm.ho.nchunks; i++)
		if (overlaps(pa, len, vmm.ho.chunk_pa[i], 1ull << TVMM_CHUNK_SHIFT))
			return true;
	return false;
}

/* Wholly inside one RAM range of the firmware map. */
bool guest_ram_range(uint64_t pa, uint64_t len)
{
	for (uint32_t i = 0; i < vmm.ho.nmem; i++) {
		const struct tvmm_memrange *m = &vmm.ho.mem[i];
		if (m->type == TVMM_MEM_RAM && pa >= m->base && pa - m->base <= m->size &&
		    len <= m->size - (pa - m->base))
			return true;
	}
	return false;
}
