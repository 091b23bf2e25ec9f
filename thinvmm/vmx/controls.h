/* SPDX-License-Identifier: MIT */
#ifndef TVMM_VMX_CONTROLS_H
#define TVMM_VMX_CONTROLS_H

#include <stdint.h>

/*
 * A VMX control value from its capability MSR: bits 31:0 are the allowed-0
 * settings (1 = must be 1), bits 63:32 the allowed-1 settings (0 = must be
 * 0). `need` bits must be settable, `want` bits are set when allowed.
 * Returns 0 and *out, or -1 naming the missing bits in *missing.
 */
int vmx_control(uint64_t cap, uint32_t need, uint32_t want, uint32_t *out, uint32_t *missing);

/* CR access exit qualification (SDM table 28-3). */
struct cr_qual {
	uint8_t cr;   /* control register number */
	uint8_t type; /* 0 MOV to CR, 1 MOV from CR, 2 CLTS, 3 LMSW */
	uint8_t gpr;  /* general register (RAX = 0 ... R15 = 15) */
};
void vmx_cr_qual(uint64_t qual, struct cr_qual *q);

/* EPT violation qualification: ACC_* of the access, and whether the
 * fault hit the final translation rather than the guest's page walk. */
void vmx_ept_qual(uint64_t qual, uint8_t *access, int *in_walk);

/* VMCS access rights of a usable segment from its GDT descriptor. */
uint32_t vmx_seg_ar(uint64_t desc);

#endif
