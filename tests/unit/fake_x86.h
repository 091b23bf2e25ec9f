/* SPDX-License-Identifier: MIT */
/*
 * Hosted stand-ins for lib/x86.h's instruction wrappers, which the hosted
 * build (TVMM_HOSTED) drops. Force-included (-include) only into the core
 * files that call them; fake_x86.c implements them.
 */
#ifndef TVMM_TESTS_UNIT_FAKE_X86_H
#define TVMM_TESTS_UNIT_FAKE_X86_H

#include "lib/x86.h"

void cpuid(uint32_t leaf, uint32_t sub, struct cpuid_regs *r);

#endif
