/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "core/vmm.h"
#include "fake_pool.h"
#include "fake_vtd.h"
#include "iommu/vtd.h"
#include "test.h"

struct fake_vtd fake_vtd;

void fake_vtd_reset(unsigned nfr)
{
	memset(&fake_vtd, 0, sizeof(fake_vtd));
	fake_vtd.base = FAKE_VTD_BASE;
	uint64_t cap = (1ull << 8 | 1ull << 9) << 1 /* SAGAW: 39 and 48 bits */ |
		       (uint64_t)(FAKE_VTD_FRO / 16) << 24 | 3ull << 34 /* SLLPS: 2M, 1G */ |
		       (uint64_t)(nfr - 1) << 40 | 38ull << 16 /* MGAW */ | 2 /* ND */;
	fake_vtd_set64(VTD_CAP, cap);
	fake_vtd_set64(VTD_ECAP, (uint64_t)(FAKE_VTD_IRO / 16) << 8 | 1 /* C */);
}

uint32_t fake_vtd_reg32(uint32_t off)
{
	uint32_t v;
	memcpy(&v, fake_vtd.regs + off, 4);
	return v;
}

uint64_t fake_vtd_reg64(uint32_t off)
{
	uint64_t v;
	memcpy(&v, fake_vtd.regs + off, 8);
	return v;
}

static void set32(uint32_t off, uint32_t val)
{
	memcpy(fake_vtd.regs + off, &val, 4);
}

void fake_vtd_set64(uint32_t off, uint64_t val)
{
	memcpy(fake_vtd.regs + off, &val, 8);
}

void fake_vtd_fault(unsigned i, uint64_t addr, uint16_t sid, uint8_t reason, bool read)
{
	uint32_t off = FAKE_VTD_FRO + 16 * i;
	fake_vtd_set64(off, addr);
	fake_vtd_set64(off + 8,
		       VTD_FRCD_F | (read ? VTD_FRCD_READ : 0) | (uint64_t)reason << 32 | sid);
	set32(VTD_FSTS, fake_vtd_reg32(VTD_FSTS) | VTD_FSTS_PPF);
}

static bool ours(uint64_t base, uint32_t off, unsigned width)
{
	return CHECK_EQ(base, fake_vtd.base) && CHECK(off + width <= sizeof(fake_vtd.regs));
}

uint32_t vtd_read32(uint64_t base, uint32_t off)
{
	return ours(base, off, 4) ? fake_vtd_reg32(off) : ~0u;
}

uint64_t vtd_read64(uint64_t base, uint32_t off)
{
	return ours(base, off, 8) ? fake_vtd_reg64(off) : ~0ull;
}

static bool faults_left(void)
{
	unsigned nfr = VTD_CAP_NFR(fake_vtd_reg64(VTD_CAP));
	for (unsigned i = 0; i < nfr; i++)
		if (fake_vtd_reg64(FAKE_VTD_FRO + 16 * i + 8) & VTD_FRCD_F)
			return true;
	return false;
}

void vtd_write32(uint64_t base, uint32_t off, uint32_t val)
{
	if (!ours(base, off, 4))
		return;
	if (off == VTD_GCMD) {
		fake_vtd.gcmd_writes++;
		if (fake_vtd.stuck_after_gcmd && fake_vtd.gcmd_writes > fake_vtd.stuck_after_gcmd)
			fake_vtd.stuck = true;
		if (fake_vtd.stuck)
			return;
		uint32_t sts = val & VTD_GSTS_PERSISTENT;
		if (val & VTD_GCMD_SRTP)
			sts |= VTD_GCMD_SRTP;
		set32(VTD_GSTS, sts | (fake_vtd_reg32(VTD_GSTS) & VTD_GCMD_SRTP));
	} else if (off == VTD_FSTS) {
		set32(off, fake_vtd_reg32(off) & ~(val & VTD_FSTS_PFO));
	} else if (off >= FAKE_VTD_FRO && (off - FAKE_VTD_FRO) % 16 == 12) {
		if (val & (1u << 31))
			set32(off, fake_vtd_reg32(off) & ~(1u << 31));
		if (!faults_left())
			set32(VTD_FSTS, fake_vtd_reg32(VTD_FSTS) & ~VTD_FSTS_PPF);
	} else {
		set32(off, val);
	}
}

void vtd_write64(uint64_t base, uint32_t off, uint64_t val)
{
	if (!ours(base, off, 8))
		return;
	if (off == VTD_CCMD && !fake_vtd.stuck) {
		fake_vtd.ccmd_invalidations++;
		val &= ~VTD_CCMD_ICC;
	} else if (off == FAKE_VTD_IRO + 8 && !fake_vtd.stuck) {
		fake_vtd.iotlb_invalidations++;
		val &= ~VTD_IOTLB_IVT;
	}
	fake_vtd_set64(off, val);
}

void vtd_flush_caches(void)
{
	fake_vtd.flushes++;
}

uint64_t fake_vtd_now;

uint64_t vtd_now(void)
{
	return fake_vtd_now;
}

/* What core/main.c and core/on_host.c give vtd.c in the VMM. */
void *vmm_alloc_table(uint64_t *pa)
{
	return pool_alloc(pa);
}

void *vmm_pa_to_va(uint64_t pa)
{
	return pool_ptr(pa);
}

int vmm_on_host(void (*fn)(void))
{
	fn();
	return 0;
}
