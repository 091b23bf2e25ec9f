/* SPDX-License-Identifier: MIT */
/*
 * A TPM behind tis_probe/tis_transmit for the hosted tests of tpm/tpm.c:
 * it unmarshals each command with the host's tss2-mu (an independent
 * reader of what the VMM marshalled), keeps a SHA-256 PCR bank with the PC
 * Client reset values and extend localities, and can be told to answer
 * TPM_RC_RETRY or to time out.
 */
#ifndef TVMM_TESTS_UNIT_FAKE_TIS_H
#define TVMM_TESTS_UNIT_FAKE_TIS_H

#include <stdbool.h>
#include <stdint.h>

#include "tpm/tis.h"

struct fake_tis {
	enum tis_found found; /* what tis_probe answers: TIS_FIFO is a TPM here */
	int retries;	      /* answer TPM_RC_RETRY this many more times */
	int timeouts;	      /* fail this many more transmits (locality not granted) */
	int commands;	      /* transmits that reached the TPM */
	int bad;	      /* commands the fake could not unmarshal, or of another kind */
	unsigned last_loc;
	uint8_t pcr[24][32];
};

extern struct fake_tis ftis;

/* A TPM just started (or none: TIS_NONE): PCR 17-22 all ones, the rest zero; no knobs set. */
void fake_tis_reset(enum tis_found found);
/* The value PCR `pcr` would have after extending `digest` into it. */
void fake_tis_extend(uint8_t pcr[32], const uint8_t digest[32]);

#endif
