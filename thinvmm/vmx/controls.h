/* SPDX-License-Identifier: MIT */
#ifndef TVMM_VMX_CONTROLS_H
#define TVMM_VMX_CONTROLS_H

#include <stdbool.h>
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

/*
 * Descriptor-table exits (SDM tables 28-10, 28-11): the instruction's
 * identity (0 SGDT/SLDT, 1 SIDT/STR, 2 LGDT/LLDT, 3 LIDT/LTR), whether its
 * operand is a register (LDTR/TR forms only) and which, and the linear
 * address of a memory operand from the instruction information, the
 * displacement (exit qualification), the GPRs and the segment's base.
 */
struct dt_info {
	uint8_t identity;
	bool reg_operand;
	uint8_t reg;
	uint8_t seg; /* ES=0 CS SS DS FS GS */
};
void vmx_dt_info(uint32_t info, struct dt_info *d);
uint64_t vmx_dt_addr(uint32_t info, uint64_t disp, const uint64_t regs[16], uint64_t seg_base);

/* VMCS access rights of a usable segment from its GDT descriptor. */
uint32_t vmx_seg_ar(uint64_t desc);

#endif
