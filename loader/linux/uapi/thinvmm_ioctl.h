/* SPDX-License-Identifier: MIT */
/*
 * /dev/thinvmm: how guest user space reaches the hypercalls the loader lets
 * through (VERSION, STATUS, LOG, EVENTS). The module bounces the buffer
 * through kernel memory and issues the hypercall on the calling CPU.
 * TVMM_IOC_LOCK hands a policy (thinvmm/policy.h, symbols already looked
 * up: memory rules as TVMM_RULE_MEM_VA) to the module, which turns kernel
 * addresses into guest-physical ranges and asks the VMM to lock it. The
 * compiled policy it came from, as its file holds it, may follow in the
 * same buffer: the VMM checks the one came from the other and measures the
 * compiled one into PCR18 (its digest does not depend on KASLR).
 */
#ifndef THINVMM_IOCTL_H
#define THINVMM_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define TVMM_IOC_MAX_BUF (64u * 1024u)
/* A policy of TVMM_POL_MAX_RULES rules, twice (resolved, then compiled). */
#define TVMM_IOC_MAX_LOCK (96u * 1024u)

struct tvmm_ioc_call {
	__u32 nr;     /* TVMM_HC_* */
	__u32 len;    /* bytes at buf, at most TVMM_IOC_MAX_BUF; 0 for calls without buffer */
	__u64 buf;    /* user pointer */
	__u64 arg;    /* third argument (RDX), e.g. the log cursor */
	__s64 ret;    /* RAX */
	__u64 out[3]; /* RBX, RCX, RDX */
};

#define TVMM_IOC_CALL _IOWR('T', 1, struct tvmm_ioc_call)

struct tvmm_ioc_lock {
	__u64 buf;	/* user pointer to the policy blob [+ the compiled policy] */
	__u32 len;	/* bytes at buf, at most TVMM_IOC_MAX_LOCK */
	__u32 nranges;	/* out: guest-physical ranges handed to the VMM */
	__s64 ret;	/* out: the VMM's status (TVMM_OK or TVMM_E*) */
	__u64 bad_rule; /* out: index of the rule the VMM refused (in buf), ~0 if none */
};

#define TVMM_IOC_LOCK _IOWR('T', 2, struct tvmm_ioc_lock)

#endif
