/* SPDX-License-Identifier: MIT */
/*
 * /dev/thinvmm: how guest user space reaches the hypercalls the loader lets
 * through (VERSION, STATUS, LOG). The module bounces the buffer through
 * kernel memory and issues the hypercall on the calling CPU.
 */
#ifndef THINVMM_IOCTL_H
#define THINVMM_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define TVMM_IOC_MAX_BUF (64u * 1024u)

struct tvmm_ioc_call {
	__u32 nr;     /* TVMM_HC_* */
	__u32 len;    /* bytes at buf, at most TVMM_IOC_MAX_BUF; 0 for calls without buffer */
	__u64 buf;    /* user pointer */
	__u64 arg;    /* third argument (RDX), e.g. the log cursor */
	__s64 ret;    /* RAX */
	__u64 out[3]; /* RBX, RCX, RDX */
};

#define TVMM_IOC_CALL _IOWR('T', 1, struct tvmm_ioc_call)

#endif
