/* SPDX-License-Identifier: MIT */
/*
 * Reading the VMM's TPM event log through /dev/thinvmm, for the user-space
 * tools (thinvmm-ctl tpmlog, thinvmm-agent --vmm-log vmm). TVMM_HC_TPMLOG
 * copies from an offset and says the log's total size; the log only
 * appends, so the total may grow between calls and the loop runs until it
 * has read up to the latest total. Errors go to stderr under PROG's name.
 */
#ifndef THINVMM_TPMLOG_H
#define THINVMM_TPMLOG_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include <thinvmm/abi.h>

#include "thinvmm_ioctl.h"

/* The log into buf (at most max bytes); its length in *len. 0, or -1 after a message. */
static inline int tvmm_tpmlog_read(int fd, const char *prog, uint8_t *buf, size_t max, size_t *len)
{
	size_t off = 0;
	for (;;) {
		size_t room = max - off < TVMM_IOC_MAX_BUF ? max - off : TVMM_IOC_MAX_BUF;
		struct tvmm_ioc_call c = {.nr = TVMM_HC_TPMLOG,
					  .len = (uint32_t)room,
					  .buf = (uintptr_t)(buf + off),
					  .arg = off};
		if (ioctl(fd, TVMM_IOC_CALL, &c)) {
			fprintf(stderr, "%s: TPMLOG hypercall: %s\n", prog, strerror(errno));
			return -1;
		}
		if (c.ret) {
			fprintf(stderr, "%s: TPMLOG hypercall: VMM error %lld\n", prog,
				(long long)c.ret);
			return -1;
		}
		if (!c.out[1]) {
			fprintf(stderr, "%s: the VMM has no TPM event log (it found no TPM)\n",
				prog);
			return -1;
		}
		if (c.out[1] > max || c.out[0] > c.len) {
			fprintf(stderr, "%s: VMM event log of %llu bytes (at most %zu)\n", prog,
				(unsigned long long)c.out[1], max);
			return -1;
		}
		off += c.out[0];
		if (off >= c.out[1])
			break;
		if (!c.out[0]) {
			fprintf(stderr, "%s: VMM event log ends at %zu of %llu bytes\n", prog, off,
				(unsigned long long)c.out[1]);
			return -1;
		}
	}
	*len = off;
	return 0;
}

#endif
