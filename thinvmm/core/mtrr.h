/* SPDX-License-Identifier: MIT */
/*
 * The firmware's MTRRs, as data. With EPT the nested entries carry the
 * memory type that the MTRRs would otherwise give, so the VMM must compute
 * it per range; a range is mapped with one large page only if its type is
 * uniform.
 */
#ifndef TVMM_MTRR_H
#define TVMM_MTRR_H

#include <stdbool.h>
#include <stdint.h>

#define MTRR_MAX_VAR 16

/* Architectural memory-type encodings (the same in MTRRs, PAT and EPT). */
enum { MT_UC = 0, MT_WC = 1, MT_WT = 4, MT_WP = 5, MT_WB = 6 };

struct mtrr_state {
	bool enabled, fixed_enabled;
	uint8_t def_type;
	uint8_t fixed[88]; /* 64K x 8, 16K x 16, 4K x 64: the first MiB */
	unsigned nvar;
	struct {
		uint64_t base, mask; /* PHYSBASEn, PHYSMASKn as read */
	} var[MTRR_MAX_VAR];
	uint64_t addr_mask; /* bits 12 .. MAXPHYADDR-1 */
};

/* Reads the calling CPU's MTRRs (VMM only). */
void mtrr_read(struct mtrr_state *m, unsigned phys_bits);
/* The type of every byte of [pa, pa + size) if they all share one, else -1. */
int mtrr_range_type(const struct mtrr_state *m, uint64_t pa, uint64_t size);

#endif
