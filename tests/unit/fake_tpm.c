/* SPDX-License-Identifier: MIT */
/*
 * Stands in for thinvmm/tpm/tpm.c (it needs a TIS and the freestanding
 * tpm2-tss/mbedtls builds): no TPM, an empty event log.
 */
#include "core/vmm.h"

void tpm_init(void)
{
}

void tpm_policy_locked(const struct policy *p, const void *src, size_t src_len)
{
	(void)p;
	(void)src;
	(void)src_len;
}

void tpm_event(const struct tvmm_event *e)
{
	(void)e;
}

int64_t tpm_hc_log(struct vcpu *v, uint64_t gpa, uint64_t len, uint64_t offset)
{
	(void)offset;
	int rc = hc_check_buffer(gpa, len);
	if (rc)
		return rc;
	v->regs[GREG_RBX] = 0;
	v->regs[GREG_RCX] = 0;
	v->regs[GREG_RDX] = 0;
	return TVMM_OK;
}
