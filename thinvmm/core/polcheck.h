/* SPDX-License-Identifier: MIT */
/*
 * The structural check of a compiled policy, shared by the VMM (which takes
 * the blob from the guest as hostile), the loader's user-space tool and the
 * compiler (which checks its own output). Pure: no VMM state, no libc.
 */
#ifndef TVMM_CORE_POLCHECK_H
#define TVMM_CORE_POLCHECK_H

#include <stdbool.h>
#include <stdint.h>

#include <thinvmm/policy.h>

/* Which memory-rule kinds a blob may hold at each step. */
enum pol_stage {
	POL_SOURCE,   /* compiler output: MEM and MEM_SYM */
	POL_VA,	      /* tool to loader: MEM and MEM_VA */
	POL_RESOLVED, /* loader to VMM: MEM only */
};

struct pol_error {
	int64_t rule;	 /* index of the bad rule, -1 for the header */
	const char *why; /* static text */
};

/* 0, or -1 with err filled. Never reads outside [blob, blob + len). */
int pol_check(const void *blob, uint64_t len, enum pol_stage stage, struct pol_error *err);

/*
 * Both blobs already passed pol_check (POL_RESOLVED, POL_SOURCE): 0 if every
 * rule of `resolved` stands, in order, for the rule of `source` it came from
 * (a symbol range as one or more guest-physical ranges, a patch rule with
 * its table's address, every other rule unchanged). The addresses
 * themselves cannot be checked here: the kernel's symbols are not known.
 */
int pol_same_source(const void *resolved, const void *source, struct pol_error *err);

/* The pin-able bits of CR `cr` (0 or 4), and whether an MSR may be named. */
uint64_t pol_cr_pinnable(uint64_t cr);
bool pol_msr_known(uint64_t msr);

#endif
