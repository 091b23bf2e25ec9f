/* SPDX-License-Identifier: MIT */
/*
 * The ACPI DMAR table (Intel VT-d specification, chapter 8): where the
 * remapping hardware units' registers are, and which memory firmware
 * still needs DMA to reach (RMRRs).
 *
 * The table arrives from the OS the VMM slid under, so it is untrusted:
 * dmar_parse reads only inside [table, table + len), refuses anything
 * malformed instead of guessing, and keeps only what the driver needs.
 * A unit it returns has a non-zero, 4 KiB aligned base, and base +
 * pages * 4 KiB does not overflow 64 bits; whether that address is really a remapping unit
 * (and not RAM or another device) is for the driver to establish.
 */
#ifndef THINVMM_IOMMU_DMAR_H
#define THINVMM_IOMMU_DMAR_H

#include <stdint.h>

#define DMAR_MAX_UNITS 8u
#define DMAR_MAX_LEN   (64u * 1024u) /* larger tables are refused */

/* struct dmar_info.flags */
#define DMAR_F_INTR_REMAP		(1u << 0)
#define DMAR_F_X2APIC_OPT_OUT		(1u << 1)
#define DMAR_F_DMA_CTRL_PLATFORM_OPT_IN (1u << 2)

struct dmar_unit {
	uint64_t base;	     /* register base, 4 KiB aligned, non-zero */
	uint16_t segment;    /* PCI segment */
	uint8_t include_all; /* DRHD flag INCLUDE_PCI_ALL */
	uint8_t pages;	     /* register set size in 4 KiB pages: 2^Size field (1 when Size is 0) */
};

struct dmar_info {
	uint8_t haw;   /* host address width in bits (table byte + 1) */
	uint8_t flags; /* DMAR flags byte: bit0 INTR_REMAP, bit1 X2APIC_OPT_OUT, bit2
			  DMA_CTRL_PLATFORM_OPT_IN */
	uint32_t nunits;
	struct dmar_unit unit[DMAR_MAX_UNITS];
	uint32_t nrmrr; /* RMRR structures seen (counted, validated, not kept) */
};

/*
 * 0 and *out filled, or -1 with *why set to a static reason (e.g. "bad
 * checksum") and *out zeroed. Units are in table order.
 *
 * Beyond the ACPI rules, a DRHD whose Size field asks for more than
 * 2^7 pages (512 KiB of registers; real units use one or two pages) is
 * refused, since pages could not hold it.
 */
int dmar_parse(const void *table, uint64_t len, struct dmar_info *out, const char **why);

#endif
