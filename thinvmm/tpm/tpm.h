/* SPDX-License-Identifier: MIT */
/*
 * The VMM's own TPM use: an emulated late launch (PCR17: the VMM image,
 * PCR18: the locked policy, PCR19: what the lock protected and each
 * violation class, extended at locality 2) and a TCG crypto-agile event log
 * of what was extended. With no TPM at 0xFED40000 it does
 * nothing and says so.
 */
#ifndef TVMM_TPM_H
#define TVMM_TPM_H

#define TPM_PCR_LAUNCH	17u
#define TPM_PCR_POLICY	18u
#define TPM_PCR_RUNTIME 19u /* extend: localities 2-4 only; reset: locality 4 only */
#define TPM_LOCALITY	2u

/* Event tags (EV_EVENT_TAG taggedEventID) of the VMM's log, as attest/verifier reads them. */
#define TPM_TAG_IMAGE	  0x54560001u
#define TPM_TAG_POLICY	  0x54560002u
#define TPM_TAG_LAUNCH	  0x54560003u
#define TPM_TAG_LOCK	  0x54560004u
#define TPM_TAG_VIOLATION 0x54560005u
#define TPM_TAG_DMA	  0x54560006u /* "dma: protected ..." / "dma: unprotected reason=..." */

#include <stdint.h>

/* The entry points (tpm_init, tpm_policy_locked, tpm_event, tpm_hc_log): core/vmm.h. */

/* tpm_init's steps (tpm/launch.c runs them; the unit tests call them directly). */
int tpm_setup(void);
void tpm_launch(const uint8_t image_sha[32]);
void tpm_launched(const uint8_t image_sha[32]);

#endif
