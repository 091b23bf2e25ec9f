/* SPDX-License-Identifier: MIT */
/* TVEV v1: the evidence bundle container (docs/evidence.md). Hostile-input parser. */
#ifndef TVEV_H
#define TVEV_H

#include <stddef.h>
#include <stdint.h>

#define TVEV_MAGIC	 "TVEV"
#define TVEV_VERSION	 1
#define TVEV_HDR_LEN	 12 /* magic[4] version u16 flags u16 total_len u32 */
#define TVEV_SEC_HDR_LEN 8  /* type u16 flags u16 len u32 */
#define TVEV_MAX_BUNDLE	 (2u * 1024 * 1024)

enum tvev_type {
	TVEV_NONCE = 1,	       /* raw nonce bytes */
	TVEV_QUOTE_ATTEST = 2, /* TPMS_ATTEST, marshalled (the signed bytes) */
	TVEV_QUOTE_SIG = 3,    /* TPMT_SIGNATURE, marshalled */
	TVEV_PCR_SELECT = 4,   /* TPML_PCR_SELECTION, marshalled (claim, unsigned) */
	TVEV_PCR_VALUES = 5,   /* one or more TPML_DIGEST, marshalled, back to back */
	TVEV_AK_PUBLIC = 6,    /* TPM2B_PUBLIC, marshalled */
	TVEV_FW_LOG = 7,       /* firmware TCG event log (crypto-agile), raw */
	TVEV_VMM_LOG = 8,      /* VMM TCG event log (crypto-agile), raw */
	TVEV_CLOCK_INFO = 9,   /* TPMS_TIME_INFO read at quote time (claim, unsigned) */
	TVEV_AGENT_INFO = 10,  /* UTF-8 text, informational, never trusted */
	TVEV_TYPE_MAX = 10,
};

struct tvev_section {
	const uint8_t *data;
	uint32_t len;
	int present;
};

struct tvev_bundle {
	uint16_t version;
	struct tvev_section sec[TVEV_TYPE_MAX + 1];
};

/* Limits per section type (bytes); 0 for unknown types. */
uint32_t tvev_max_len(unsigned type);
int tvev_required(unsigned type);
const char *tvev_type_name(unsigned type);

/* Parse buf[0..len). Returns 0 on success, or -1 with a reason in err (size errlen).
 * Section pointers point into buf. */
int tvev_parse(const uint8_t *buf, size_t len, struct tvev_bundle *b, char *err, size_t errlen);

/* Writer: append sections to a growing buffer. */
struct tvev_writer {
	uint8_t *buf;
	size_t len, cap;
	int failed;
};
void tvev_writer_init(struct tvev_writer *w);
void tvev_add(struct tvev_writer *w, unsigned type, const void *data, size_t len);
/* Finish: fixes up the header; returns 0 or -1 if something failed (too large, OOM). */
int tvev_finish(struct tvev_writer *w);
void tvev_writer_free(struct tvev_writer *w);

#endif
