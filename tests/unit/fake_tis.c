/* SPDX-License-Identifier: MIT */
#include <string.h>

#include <mbedtls/sha256.h>
#include <tss2_mu.h>

#include "fake_tis.h"
#include "tpm/tis.h"

struct fake_tis ftis;

void fake_tis_reset(enum tis_found found)
{
	memset(&ftis, 0, sizeof(ftis));
	ftis.found = found;
	for (unsigned p = 17; p <= 22; p++)
		memset(ftis.pcr[p], 0xff, 32);
}

void fake_tis_extend(uint8_t pcr[32], const uint8_t digest[32])
{
	uint8_t cat[64];
	memcpy(cat, pcr, 32);
	memcpy(cat + 32, digest, 32);
	mbedtls_sha256_ret(cat, sizeof(cat), pcr, 0);
}

enum tis_found tis_probe(uint32_t *did_vid)
{
	if (did_vid)
		*did_vid = ftis.found == TIS_FIFO ? 0x00011014u : 0;
	return ftis.found;
}

/* PC Client: PCR 17-19 take extends from localities 2-4, 20 from 1-3, 21-22 from 2. */
static bool may_extend(unsigned pcr, unsigned loc)
{
	if (pcr < 17 || pcr == 23)
		return true;
	if (pcr <= 19)
		return loc >= 2;
	if (pcr == 20)
		return loc >= 1 && loc <= 3;
	return loc == 2;
}

static long respond(uint8_t *rsp, size_t max, TPM2_RC rc)
{
	size_t off = 0;
	/* A failed command answers with a bare header; a good PCR_Extend has an auth area. */
	UINT32 size = rc ? 10 : 19;
	if (max < size)
		return -1;
	Tss2_MU_TPM2_ST_Marshal(rc ? TPM2_ST_NO_SESSIONS : TPM2_ST_SESSIONS, rsp, max, &off);
	Tss2_MU_UINT32_Marshal(size, rsp, max, &off);
	Tss2_MU_UINT32_Marshal(rc, rsp, max, &off);
	if (!rc) {
		static const uint8_t tail[9] = {0, 0, 0, 0, 0, 0, 0x01, 0, 0};
		memcpy(rsp + off, tail, sizeof(tail));
		off += sizeof(tail);
	}
	return (long)off;
}

long tis_transmit(unsigned loc, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp, size_t rsp_max,
		  const char **why)
{
	size_t off = 0;
	TPM2_ST tag;
	UINT32 size, cc, handle, auth_size;
	TPMS_AUTH_COMMAND auth;
	TPML_DIGEST_VALUES dv;

	*why = "";
	if (ftis.timeouts > 0) {
		ftis.timeouts--;
		*why = "locality not granted in time";
		return -1;
	}
	ftis.commands++;
	ftis.last_loc = loc;
	if (Tss2_MU_TPM2_ST_Unmarshal(cmd, cmd_len, &off, &tag) ||
	    Tss2_MU_UINT32_Unmarshal(cmd, cmd_len, &off, &size) ||
	    Tss2_MU_TPM2_CC_Unmarshal(cmd, cmd_len, &off, &cc) ||
	    Tss2_MU_TPM2_HANDLE_Unmarshal(cmd, cmd_len, &off, &handle) ||
	    Tss2_MU_UINT32_Unmarshal(cmd, cmd_len, &off, &auth_size) ||
	    Tss2_MU_TPMS_AUTH_COMMAND_Unmarshal(cmd, cmd_len, &off, &auth) ||
	    Tss2_MU_TPML_DIGEST_VALUES_Unmarshal(cmd, cmd_len, &off, &dv) || off != cmd_len ||
	    size != cmd_len || tag != TPM2_ST_SESSIONS || cc != TPM2_CC_PCR_Extend ||
	    auth.sessionHandle != TPM2_RS_PW || handle > 23 || dv.count != 1 ||
	    dv.digests[0].hashAlg != TPM2_ALG_SHA256) {
		ftis.bad++;
		return respond(rsp, rsp_max, TPM2_RC_FAILURE);
	}
	if (ftis.retries > 0) {
		ftis.retries--;
		return respond(rsp, rsp_max, TPM2_RC_RETRY);
	}
	if (!may_extend(handle, loc))
		return respond(rsp, rsp_max, TPM2_RC_LOCALITY);
	fake_tis_extend(ftis.pcr[handle], dv.digests[0].digest.sha256);
	return respond(rsp, rsp_max, TPM2_RC_SUCCESS);
}
