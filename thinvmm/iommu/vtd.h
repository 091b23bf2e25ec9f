/* SPDX-License-Identifier: MIT */
/*
 * Intel VT-d (DMA remapping), legacy translation mode: the register layout
 * the driver uses and the two seams that let the hosted unit tests drive it
 * (register access, and the pure table and fault-record encodings).
 */
#ifndef TVMM_VTD_H
#define TVMM_VTD_H

#include <stdbool.h>
#include <stdint.h>

#include "core/pgtable.h"

/* Registers (VT-d spec 10.4), offsets from a unit's base. */
#define VTD_VER	   0x00u
#define VTD_CAP	   0x08u
#define VTD_ECAP   0x10u
#define VTD_GCMD   0x18u
#define VTD_GSTS   0x1cu
#define VTD_RTADDR 0x20u
#define VTD_CCMD   0x28u
#define VTD_FSTS   0x34u
#define VTD_FECTL  0x38u

/* GCMD / GSTS bits (same positions). */
#define VTD_GCMD_TE   (1u << 31) /* translation enable */
#define VTD_GCMD_SRTP (1u << 30) /* set root table pointer */
#define VTD_GCMD_WBF  (1u << 27) /* write buffer flush */
#define VTD_GCMD_QIE  (1u << 26) /* queued invalidation */
#define VTD_GCMD_IRE  (1u << 25) /* interrupt remapping */
/* Status bits that reflect persistent commands: what a GCMD write must repeat. */
#define VTD_GSTS_PERSISTENT 0x96800000u

#define VTD_CCMD_ICC	 (1ull << 63)
#define VTD_CCMD_GLOBAL	 (1ull << 61)
#define VTD_IOTLB_IVT	 (1ull << 63)
#define VTD_IOTLB_GLOBAL (1ull << 60)
#define VTD_IOTLB_DR	 (1ull << 49)
#define VTD_IOTLB_DW	 (1ull << 48)

#define VTD_FSTS_PFO  (1u << 0)
#define VTD_FSTS_PPF  (1u << 1)
#define VTD_FECTL_IM  (1u << 31)
#define VTD_FRCD_F    (1ull << 63) /* in the record's upper quadword */
#define VTD_FRCD_READ (1ull << 62) /* T: 1 read, 0 write */

/* Capability fields. */
#define VTD_CAP_RWBF(c)	 (((c) >> 4) & 1)
#define VTD_CAP_SAGAW(c) (((c) >> 8) & 0x1f)
#define VTD_CAP_FRO(c)	 ((unsigned)(((c) >> 24) & 0x3ff) * 16u)
#define VTD_CAP_SLLPS(c) (((c) >> 34) & 0xf)
#define VTD_CAP_NFR(c)	 ((unsigned)(((c) >> 40) & 0xff) + 1u)
#define VTD_ECAP_C(e)	 ((e)&1)
#define VTD_ECAP_IRO(e)	 ((unsigned)(((e) >> 8) & 0x3ff) * 16u)

/* Register access: thinvmm/iommu/vtd_mmio.c on the machine, a fake in the unit tests. */
uint32_t vtd_read32(uint64_t base, uint32_t off);
uint64_t vtd_read64(uint64_t base, uint32_t off);
void vtd_write32(uint64_t base, uint32_t off, uint32_t val);
void vtd_write64(uint64_t base, uint32_t off, uint64_t val);
/* Make table writes visible to a unit that does not snoop its walks (ECAP.C = 0). */
void vtd_flush_caches(void);
/* The time base of fault polling (TSC cycles). */
uint64_t vtd_now(void);

/* Second-level paging entries (legacy mode): R, W, and PS for large leaves. */
extern const struct pt_format vtd_sl_format;

/* Root and context entries: 128 bits each, low quadword first. */
void vtd_root_entry(uint64_t out[2], uint64_t context_table_pa);
/* Untranslated requests through second-level tables of `levels` (3, 4 or 5) levels. */
void vtd_context_entry(uint64_t out[2], uint64_t sl_root_pa, unsigned levels, uint16_t domain);

/* One fault record, decoded. */
struct vtd_fault {
	uint64_t addr; /* page of the faulting request */
	uint16_t sid;  /* PCI requester: bus << 8 | dev << 3 | fn */
	uint8_t reason;
	bool read;
};
/* false when the record holds no fault (F clear). */
bool vtd_fault_decode(uint64_t lo, uint64_t hi, struct vtd_fault *f);

/*
 * Second-level paging levels for a unit's SAGAW: the fewest levels it offers
 * that cover `need_bits` of address; 0 if none fits.
 */
unsigned vtd_levels(uint64_t cap, unsigned need_bits);

#endif
