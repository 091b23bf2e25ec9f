/* SPDX-License-Identifier: MIT */
/* Decoding of a TVEV v1 bundle's TPM sections with tss2-mu. Every structure must use its
 * section exactly: trailing bytes are an error. Nothing decoded here is trusted yet. */
#ifndef TVEV_EVIDENCE_H
#define TVEV_EVIDENCE_H

#include "tvev.h"

#include <tss2/tss2_tpm2_types.h>

#define EVIDENCE_MAX_PCRS 24

struct evidence {
	struct tvev_bundle b;
	TPMS_ATTEST attest; /* signed */
	TPMT_SIGNATURE sig;
	TPML_PCR_SELECTION claimed_sel; /* unsigned: must equal attest's */
	uint8_t pcr_values[EVIDENCE_MAX_PCRS][64];
	uint16_t pcr_sizes[EVIDENCE_MAX_PCRS];
	unsigned npcr_values;
	TPM2B_PUBLIC ak;
	TPMS_TIME_INFO time; /* unsigned, informational */
	int have_time;
};

/* Parse the container and decode its sections. 0, or -1 with a reason. */
int evidence_decode(const uint8_t *buf, size_t len, struct evidence *e, char *err, size_t errlen);

/* Selection -> ascending list of PCR indices of one bank; -1 if the selection is not exactly
 * one bank with sizeofSelect 3 (PCRs 0-23), else the count. */
int selection_pcrs(const TPML_PCR_SELECTION *sel, TPMI_ALG_HASH *bank, unsigned idx[24]);

#endif
