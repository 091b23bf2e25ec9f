/* SPDX-License-Identifier: MIT */
/*
 * Hosted stand-ins for lib/x86.h's instruction wrappers, which the hosted
 * build (TVMM_HOSTED) drops. Force-included (-include) only into the core
 * files that call them; fake_x86.c implements them.
 */
#ifndef TVMM_TESTS_UNIT_FAKE_X86_H
#define TVMM_TESTS_UNIT_FAKE_X86_H

#include <stdbool.h>

#include "lib/x86.h"

void cpuid(uint32_t leaf, uint32_t sub, struct cpuid_regs *r);
void xsetbv(uint32_t idx, uint64_t v);
void wbinvd(void);
uint64_t rdmsr(uint32_t msr);
void wrmsr(uint32_t msr, uint64_t v);
uint64_t read_cr4(void);
/* The fake MSRs rdmsr/wrmsr use; fake_msr_writes counts writes. */
uint64_t *fake_msr(uint32_t msr);
extern unsigned fake_msr_writes;
extern uint64_t fake_cr4;
extern uint64_t fake_xcr0;
/* When on, cpuid(fake_cpuid_override_leaf, *) answers fake_cpuid_override. */
extern bool fake_cpuid_override_on;
extern uint32_t fake_cpuid_override_leaf;
extern struct cpuid_regs fake_cpuid_override;
extern unsigned fake_wbinvd_calls;

#endif
