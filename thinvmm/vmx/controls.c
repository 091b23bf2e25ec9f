/* SPDX-License-Identifier: MIT */
/* VMX logic that is plain arithmetic: control values and exit qualifications. */
#include "vmx/controls.h"
#include "core/vmm.h"

int vmx_control(uint64_t cap, uint32_t need, uint32_t want, uint32_t *out, uint32_t *missing)
{
	uint32_t must1 = (uint32_t)cap, may1 = (uint32_t)(cap >> 32);
	*missing = need & ~may1;
	if (*missing)
		return -1;
	*out = (must1 | need | (want & may1)) & may1;
	/* A must-be-1 bit the CPU does not allow as 1 is a broken capability MSR. */
	if ((must1 & ~may1) != 0) {
		*missing = must1 & ~may1;
		return -1;
	}
	return 0;
}

void vmx_cr_qual(uint64_t qual, struct cr_qual *q)
{
	q->cr = qual & 0xf;
	q->type = (qual >> 4) & 3;
	q->gpr = (qual >> 8) & 0xf;
}

void vmx_ept_qual(uint64_t qual, uint8_t *access, int *in_walk)
{
	/* Bit 0 read, 1 write, 2 instruction fetch; bit 8 set = the final translation. */
	*access = (qual & 4) ? ACC_X : (qual & 2) ? ACC_W : ACC_R;
	*in_walk = (qual & (1u << 7)) && !(qual & (1u << 8));
}

uint32_t vmx_seg_ar(uint64_t desc)
{
	/* Descriptor bits 47:40 (type, S, DPL, P) and 55:52 (AVL, L, D/B, G) stay in place. */
	return (uint32_t)((desc >> 40) & 0xf0ff);
}

void vmx_dt_info(uint32_t info, struct dt_info *d)
{
	d->identity = (info >> 28) & 3;
	d->reg_operand = (info >> 10) & 1;
	d->reg = (info >> 3) & 15;
	d->seg = (info >> 15) & 7;
}

uint64_t vmx_dt_addr(uint32_t info, uint64_t disp, const uint64_t regs[16], uint64_t seg_base)
{
	uint64_t a = disp;
	if (!((info >> 27) & 1))
		a += regs[(info >> 23) & 15];
	if (!((info >> 22) & 1))
		a += regs[(info >> 18) & 15] << (info & 3);
	unsigned asz = (info >> 7) & 7;
	if (asz == 0)
		a &= 0xffff;
	else if (asz == 1)
		a &= 0xffffffffull;
	return a + seg_base;
}
