/* SPDX-License-Identifier: MIT */
#include "evidence.h"
#include "util.h"

#include <tss2/tss2_mu.h>

#include <stdio.h>
#include <string.h>

#define DECODE(fn, sidx, dst, what)                                                                \
	do {                                                                                       \
		size_t off_ = 0;                                                                   \
		if (fn(e->b.sec[sidx].data, e->b.sec[sidx].len, &off_, dst) != TSS2_RC_SUCCESS)    \
			return fail(err, errlen, "%s does not unmarshal", what);                   \
		if (off_ != e->b.sec[sidx].len)                                                    \
			return fail(err, errlen, "%s: %zu trailing bytes", what,                   \
				    e->b.sec[sidx].len - off_);                                    \
	} while (0)

int selection_pcrs(const TPML_PCR_SELECTION *sel, TPMI_ALG_HASH *bank, unsigned idx[24])
{
	unsigned i, n = 0;

	if (sel->count != 1 || sel->pcrSelections[0].sizeofSelect != 3)
		return -1;
	*bank = sel->pcrSelections[0].hash;
	for (i = 0; i < 24; i++)
		if (sel->pcrSelections[0].pcrSelect[i / 8] & (1u << (i % 8)))
			idx[n++] = i;
	return (int)n;
}

int evidence_decode(const uint8_t *buf, size_t len, struct evidence *e, char *err, size_t errlen)
{
	size_t off = 0;
	const struct tvev_section *pv;

	memset(e, 0, sizeof(*e));
	if (tvev_parse(buf, len, &e->b, err, errlen))
		return -1;
	DECODE(Tss2_MU_TPMS_ATTEST_Unmarshal, TVEV_QUOTE_ATTEST, &e->attest, "quote-attest");
	DECODE(Tss2_MU_TPMT_SIGNATURE_Unmarshal, TVEV_QUOTE_SIG, &e->sig, "quote-signature");
	DECODE(Tss2_MU_TPML_PCR_SELECTION_Unmarshal, TVEV_PCR_SELECT, &e->claimed_sel,
	       "pcr-selection");
	DECODE(Tss2_MU_TPM2B_PUBLIC_Unmarshal, TVEV_AK_PUBLIC, &e->ak, "ak-public");
	if (e->b.sec[TVEV_CLOCK_INFO].present) {
		DECODE(Tss2_MU_TPMS_TIME_INFO_Unmarshal, TVEV_CLOCK_INFO, &e->time, "clock-info");
		e->have_time = 1;
	}
	/* PCR values: TPML_DIGEST after TPML_DIGEST until the section ends. */
	pv = &e->b.sec[TVEV_PCR_VALUES];
	while (off < pv->len) {
		TPML_DIGEST d;
		uint32_t i;

		if (Tss2_MU_TPML_DIGEST_Unmarshal(pv->data, pv->len, &off, &d) != TSS2_RC_SUCCESS)
			return fail(err, errlen, "pcr-values do not unmarshal");
		if (d.count == 0)
			return fail(err, errlen, "pcr-values: empty TPML_DIGEST");
		for (i = 0; i < d.count; i++) {
			if (e->npcr_values >= EVIDENCE_MAX_PCRS)
				return fail(err, errlen, "pcr-values: more than %u digests",
					    EVIDENCE_MAX_PCRS);
			if (d.digests[i].size == 0 || d.digests[i].size > 64)
				return fail(err, errlen, "pcr-values: digest of %u bytes",
					    d.digests[i].size);
			memcpy(e->pcr_values[e->npcr_values], d.digests[i].buffer,
			       d.digests[i].size);
			e->pcr_sizes[e->npcr_values++] = d.digests[i].size;
		}
	}
	return 0;
}
