/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "fake.h"
#include "fake_pool.h"
#include "test.h"

void fake_machine(struct vcpu *v, uint32_t cpu)
{
	static const struct tvmm_memrange map[] = {
	    {0, 0x9f000, TVMM_MEM_RAM, 0},
	    {0x9f000, 0x61000, TVMM_MEM_RESERVED, 0},
	    {0x100000, FAKE_RAM_END - 0x100000, TVMM_MEM_RAM, 0},
	};

	memset(v, 0, sizeof(*v));
	fake_reset(v);
	v->cpu = cpu;
	memcpy(vmm.ho.mem, map, sizeof(map));
	vmm.ho.nmem = sizeof(map) / sizeof(map[0]);
	vmm.ho.nchunks = 1;
	vmm.ho.chunk_pa[0] = FAKE_VMM_CHUNK;
	vmm.phys_limit = FAKE_PHYS_LIMIT;
	vmm.mem_total = 64ull << 20;
	pool_reset(64);
	fake_pt(&vmm.nested);
}

void fake_pt(struct pt *pt)
{
	pt->fmt = &pt_format_x86;
	pt->levels = 4;
	pt->alloc_table = pool_alloc;
	pt->table_ptr = pool_ptr;
	CHECK_EQ(pt_init(pt), 0);
}
