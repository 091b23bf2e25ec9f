/* SPDX-License-Identifier: MIT */
/*
 * One VT-d unit as register memory that answers like the hardware the
 * driver expects: GCMD changes GSTS, context-cache and IOTLB invalidations
 * complete at once, fault records clear on a write of F. `stuck` makes
 * every command hang (the driver must give up, not spin forever), from the
 * start or (stuck_after_gcmd) part-way through.
 */
#ifndef TVMM_TESTS_UNIT_FAKE_VTD_H
#define TVMM_TESTS_UNIT_FAKE_VTD_H

#include <stdbool.h>
#include <stdint.h>

#define FAKE_VTD_BASE 0xfed90000ull
#define FAKE_VTD_FRO  0x220u /* fault records here (QEMU's offset) */
#define FAKE_VTD_IRO  0x200u /* IOTLB registers here */

struct fake_vtd {
	uint64_t base;
	uint8_t regs[4096];
	bool stuck;
	/* If > 0: `stuck` turns on by itself once this many GCMD writes have completed. */
	int stuck_after_gcmd;
	int gcmd_writes, ccmd_invalidations, iotlb_invalidations, flushes;
};
extern struct fake_vtd fake_vtd;
extern uint64_t fake_vtd_now; /* what vtd_now() answers */

/* A unit with 39- and 48-bit tables, 2 MiB and 1 GiB leaves, nfr fault records. */
void fake_vtd_reset(unsigned nfr);
uint32_t fake_vtd_reg32(uint32_t off);
uint64_t fake_vtd_reg64(uint32_t off);
void fake_vtd_set64(uint32_t off, uint64_t val);
/* The hardware recording a fault in record i. */
void fake_vtd_fault(unsigned i, uint64_t addr, uint16_t sid, uint8_t reason, bool read);

#endif
