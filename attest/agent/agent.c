/* SPDX-License-Identifier: MIT */
/* thinvmm-agent: the guest side of attestation (docs/evidence.md). tpm2-tss ESAPI only.
 *   thinvmm-agent [--tcti CONF] [--ak-handle H] enroll-key --out-dir DIR
 *   thinvmm-agent [--tcti CONF] [--ak-handle H] activate --challenge F -o SECRET
 *   thinvmm-agent [--tcti CONF] [--ak-handle H] quote --nonce HEX --pcrs LIST
 *                 [--vmm-log vmm|F] [--fw-log F] -o BUNDLE
 * --vmm-log vmm reads the VMM's TCG event log by hypercall (TVMM_HC_TPMLOG through
 * /dev/thinvmm); any other value is a file (a file named vmm: ./vmm).
 * The EK is the TCG EK profile's RSA 2048 EK (template L-1), re-created with CreatePrimary
 * and flushed after use; the AK is a restricted ECC P-256 ECDSA/SHA-256 signing key, a
 * primary of the endorsement hierarchy, persisted at --ak-handle (default 0x81010002).
 * Every transient object and session is flushed: the swtpm TCTI has no resource manager. */
#include "../common/templates.h"
#include "../common/tvev.h"
#include "../common/util.h"

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include <thinvmm/abi.h>

#include "uapi/thinvmm_ioctl.h"
#include "uapi/thinvmm_tpmlog.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const char *tcti_conf = "device:/dev/tpmrm0";
static TPM2_HANDLE ak_handle = 0x81010002;
static ESYS_CONTEXT *ectx;
static TSS2_TCTI_CONTEXT *tcti;

#define CHECK(rc, what)                                                                            \
	do {                                                                                       \
		if ((rc) != TSS2_RC_SUCCESS) {                                                     \
			fprintf(stderr, "thinvmm-agent: %s: %s\n", what, Tss2_RC_Decode(rc));      \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)

static int tpm_open(void)
{
	TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti_conf, &tcti);

	if (rc != TSS2_RC_SUCCESS) {
		fprintf(stderr, "thinvmm-agent: TCTI %s: %s\n", tcti_conf, Tss2_RC_Decode(rc));
		return -1;
	}
	rc = Esys_Initialize(&ectx, tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		fprintf(stderr, "thinvmm-agent: Esys_Initialize: %s\n", Tss2_RC_Decode(rc));
		Tss2_TctiLdr_Finalize(&tcti);
		return -1;
	}
	return 0;
}

static void tpm_close(void)
{
	if (ectx)
		Esys_Finalize(&ectx);
	if (tcti)
		Tss2_TctiLdr_Finalize(&tcti);
}

static void flush(ESYS_TR *h)
{
	if (*h != ESYS_TR_NONE)
		Esys_FlushContext(ectx, *h);
	*h = ESYS_TR_NONE;
}

static TPM2B_PUBLIC ek_template(void)
{
	TPM2B_PUBLIC t = {0};

	t.publicArea.type = TPM2_ALG_RSA;
	t.publicArea.nameAlg = TPM2_ALG_SHA256;
	t.publicArea.objectAttributes = EK_ATTRS;
	t.publicArea.authPolicy.size = 32;
	memcpy(t.publicArea.authPolicy.buffer, ek_policy_sha256, 32);
	t.publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
	t.publicArea.parameters.rsaDetail.symmetric.keyBits.aes = 128;
	t.publicArea.parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	t.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	t.publicArea.parameters.rsaDetail.keyBits = 2048;
	t.publicArea.parameters.rsaDetail.exponent = 0;
	t.publicArea.unique.rsa.size = 256; /* 256 zero bytes, per template L-1 */
	return t;
}

static TPM2B_PUBLIC ak_template(void)
{
	TPM2B_PUBLIC t = {0};

	t.publicArea.type = TPM2_ALG_ECC;
	t.publicArea.nameAlg = TPM2_ALG_SHA256;
	t.publicArea.objectAttributes = AK_ATTRS;
	t.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	t.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	t.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	t.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	t.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	return t;
}

static int create_primary(ESYS_TR hierarchy, TPM2B_PUBLIC *tmpl, ESYS_TR *out, TPM2B_PUBLIC **pub)
{
	TPM2B_SENSITIVE_CREATE sens = {0};
	TPM2B_DATA outside = {0};
	TPML_PCR_SELECTION pcrs = {0};
	TSS2_RC rc;

	rc = Esys_CreatePrimary(ectx, hierarchy, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
				&sens, tmpl, &outside, &pcrs, out, pub, NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		fprintf(stderr, "thinvmm-agent: CreatePrimary: %s\n", Tss2_RC_Decode(rc));
		return -1;
	}
	return 0;
}

/* The AK: loaded from its persistent handle, or created and persisted there. */
static int load_ak(ESYS_TR *ak, TPM2B_PUBLIC **pub, int create)
{
	TSS2_RC rc;
	ESYS_TR t = ESYS_TR_NONE;
	TPM2B_PUBLIC tmpl = ak_template();

	rc = Esys_TR_FromTPMPublic(ectx, ak_handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ak);
	if (rc == TSS2_RC_SUCCESS) {
		rc = Esys_ReadPublic(ectx, *ak, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, pub, NULL,
				     NULL);
		if (rc != TSS2_RC_SUCCESS) {
			fprintf(stderr, "thinvmm-agent: ReadPublic: %s\n", Tss2_RC_Decode(rc));
			return -1;
		}
		return 0;
	}
	if (!create) {
		fprintf(stderr, "thinvmm-agent: no AK at 0x%08x (run enroll-key first)\n",
			ak_handle);
		return -1;
	}
	/* A random unique field: each enrolment makes a new AK, not the template's one key. */
	{
		TPM2B_DIGEST *rnd = NULL;

		rc = Esys_GetRandom(ectx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, 32, &rnd);
		if (rc != TSS2_RC_SUCCESS || rnd->size != 32) {
			fprintf(stderr, "thinvmm-agent: GetRandom: %s\n", Tss2_RC_Decode(rc));
			Esys_Free(rnd);
			return -1;
		}
		tmpl.publicArea.unique.ecc.x.size = 32;
		memcpy(tmpl.publicArea.unique.ecc.x.buffer, rnd->buffer, 32);
		Esys_Free(rnd);
	}
	if (create_primary(ESYS_TR_RH_ENDORSEMENT, &tmpl, &t, NULL))
		return -1;
	rc = Esys_EvictControl(ectx, ESYS_TR_RH_OWNER, t, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			       ESYS_TR_NONE, ak_handle, ak);
	flush(&t);
	if (rc != TSS2_RC_SUCCESS) {
		fprintf(stderr, "thinvmm-agent: EvictControl 0x%08x: %s\n", ak_handle,
			Tss2_RC_Decode(rc));
		return -1;
	}
	rc = Esys_ReadPublic(ectx, *ak, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, pub, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		fprintf(stderr, "thinvmm-agent: ReadPublic: %s\n", Tss2_RC_Decode(rc));
		return -1;
	}
	return 0;
}

static int save_public(const char *dir, const char *name, const TPM2B_PUBLIC *pub)
{
	uint8_t buf[sizeof(TPM2B_PUBLIC)];
	size_t off = 0;
	char path[4096];

	if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return write_file(path, buf, off);
}

static int read_nv(TPM2_HANDLE index, uint8_t **data, size_t *len)
{
	ESYS_TR nv = ESYS_TR_NONE;
	TPM2B_NV_PUBLIC *npub = NULL;
	TSS2_RC rc;
	uint16_t size, off = 0;
	uint8_t *b = NULL;

	rc = Esys_TR_FromTPMPublic(ectx, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv);
	if (rc != TSS2_RC_SUCCESS)
		return -1;
	rc = Esys_NV_ReadPublic(ectx, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &npub, NULL);
	if (rc != TSS2_RC_SUCCESS)
		goto out;
	size = npub->nvPublic.dataSize;
	b = malloc(size ? size : 1);
	if (!b)
		goto out;
	while (off < size) {
		TPM2B_MAX_NV_BUFFER *chunk = NULL;
		uint16_t n = size - off > 512 ? 512 : size - off;

		rc = Esys_NV_Read(ectx, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, n,
				  off, &chunk);
		CHECK(rc, "NV_Read");
		if (chunk->size != n) {
			Esys_Free(chunk);
			goto out;
		}
		memcpy(b + off, chunk->buffer, n);
		off += n;
		Esys_Free(chunk);
	}
	Esys_Free(npub);
	Esys_TR_Close(ectx, &nv);
	*data = b;
	*len = size;
	return 0;
out:
	free(b);
	Esys_Free(npub);
	Esys_TR_Close(ectx, &nv);
	return -1;
}

static int cmd_enroll_key(const char *dir)
{
	ESYS_TR ak = ESYS_TR_NONE, ek = ESYS_TR_NONE;
	TPM2B_PUBLIC *akpub = NULL, *ekpub = NULL, tmpl = ek_template();
	uint8_t *cert = NULL;
	size_t certlen;
	char path[4096];
	int ret = 1;

	if (load_ak(&ak, &akpub, 1) || save_public(dir, "ak.pub", akpub))
		goto out;
	if (create_primary(ESYS_TR_RH_ENDORSEMENT, &tmpl, &ek, &ekpub) ||
	    save_public(dir, "ek.pub", ekpub))
		goto out;
	if (read_nv(EK_CERT_NV_RSA, &cert, &certlen)) {
		fprintf(stderr, "thinvmm-agent: no RSA EK certificate at NV 0x%08x\n",
			EK_CERT_NV_RSA);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/ek.crt", dir);
	if (write_file(path, cert, certlen))
		goto out;
	printf("ak 0x%08x, ek rsa2048 (template L-1), ek certificate %zu bytes -> %s\n", ak_handle,
	       certlen, dir);
	ret = 0;
out:
	flush(&ek);
	free(cert);
	Esys_Free(akpub);
	Esys_Free(ekpub);
	return ret;
}

/* Challenge file: the layout of tpm2-tools' makecredential output: magic 0xBADCC0DE,
 * version 1 (both big-endian u32), TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET. */
static int cmd_activate(const char *in, const char *outpath)
{
	ESYS_TR ak = ESYS_TR_NONE, ek = ESYS_TR_NONE, sess = ESYS_TR_NONE;
	TPM2B_PUBLIC *akpub = NULL, tmpl = ek_template();
	TPM2B_ID_OBJECT blob = {0};
	TPM2B_ENCRYPTED_SECRET secret = {0};
	TPM2B_DIGEST *cert = NULL;
	TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_NULL};
	uint8_t *buf = NULL;
	size_t len, off = 8;
	int ret = 1;
	TSS2_RC rc;

	if (read_file(in, 4096, &buf, &len))
		return 1;
	if (len < 8 || memcmp(buf, "\xba\xdc\xc0\xde\x00\x00\x00\x01", 8) != 0 ||
	    Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(buf, len, &off, &blob) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(buf, len, &off, &secret) != TSS2_RC_SUCCESS ||
	    off != len) {
		fprintf(stderr, "thinvmm-agent: %s: not a credential challenge\n", in);
		goto out;
	}
	if (load_ak(&ak, &akpub, 0))
		goto out;
	if (create_primary(ESYS_TR_RH_ENDORSEMENT, &tmpl, &ek, NULL))
		goto out;
	rc =
	    Esys_StartAuthSession(ectx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				  ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256, &sess);
	CHECK(rc, "StartAuthSession");
	rc = Esys_PolicySecret(ectx, ESYS_TR_RH_ENDORSEMENT, sess, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			       ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL, NULL);
	CHECK(rc, "PolicySecret");
	rc = Esys_ActivateCredential(ectx, ak, ek, ESYS_TR_PASSWORD, sess, ESYS_TR_NONE, &blob,
				     &secret, &cert);
	CHECK(rc, "ActivateCredential");
	if (write_file(outpath, cert->buffer, cert->size))
		goto out;
	ret = 0;
out:
	flush(&sess);
	flush(&ek);
	Esys_Free(cert);
	Esys_Free(akpub);
	free(buf);
	return ret;
}

static void select_pcrs(TPML_PCR_SELECTION *sel, uint32_t mask)
{
	memset(sel, 0, sizeof(*sel));
	sel->count = 1;
	sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel->pcrSelections[0].sizeofSelect = 3;
	sel->pcrSelections[0].pcrSelect[0] = mask & 0xff;
	sel->pcrSelections[0].pcrSelect[1] = (mask >> 8) & 0xff;
	sel->pcrSelections[0].pcrSelect[2] = (mask >> 16) & 0xff;
}

/* PCR_Read returns at most 8 digests per call: read until the whole selection is covered,
 * marshalling each TPML_DIGEST back to back. Returns the update counter of the first call. */
static int read_pcrs(uint32_t mask, uint8_t *out, size_t cap, size_t *len, uint32_t *counter)
{
	uint32_t left = mask;
	int first = 1;

	*len = 0;
	while (left) {
		TPML_PCR_SELECTION sel, *got = NULL;
		TPML_DIGEST *vals = NULL;
		uint32_t cnt, done;
		TSS2_RC rc;

		select_pcrs(&sel, left);
		rc = Esys_PCR_Read(ectx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel, &cnt, &got,
				   &vals);
		if (rc != TSS2_RC_SUCCESS) {
			fprintf(stderr, "thinvmm-agent: PCR_Read: %s\n", Tss2_RC_Decode(rc));
			return -1;
		}
		done = 0;
		if (got->count == 1)
			done = got->pcrSelections[0].pcrSelect[0] |
			       got->pcrSelections[0].pcrSelect[1] << 8 |
			       got->pcrSelections[0].pcrSelect[2] << 16;
		if (first)
			*counter = cnt;
		first = 0;
		if (!done || (done & ~left) || vals->count == 0 ||
		    Tss2_MU_TPML_DIGEST_Marshal(vals, out, cap, len) != TSS2_RC_SUCCESS) {
			fprintf(stderr, "thinvmm-agent: PCR_Read returned an odd selection\n");
			Esys_Free(got);
			Esys_Free(vals);
			return -1;
		}
		left &= ~done;
		Esys_Free(got);
		Esys_Free(vals);
	}
	return 0;
}

/* A quote with the PCR values read around it; retried if a PCR changed in between. The
 * verifier recomputes the digest anyway: this only spares it a spurious failure. */
static int quote_pcrs(ESYS_TR ak, const TPM2B_DATA *nonce, const TPML_PCR_SELECTION *sel,
		      uint32_t mask, uint8_t *pcrbuf, size_t cap, size_t *pcrlen,
		      TPM2B_ATTEST **quoted, TPMT_SIGNATURE **sig)
{
	TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL};
	uint8_t pcrbuf2[4096];
	size_t pcrlen2 = 0;
	uint32_t c1 = 0, c2 = 0;
	int tries;
	TSS2_RC rc;

	for (tries = 0;; tries++) {
		if (read_pcrs(mask, pcrbuf, cap, pcrlen, &c1))
			return -1;
		Esys_Free(*quoted);
		Esys_Free(*sig);
		*quoted = NULL;
		*sig = NULL;
		rc = Esys_Quote(ectx, ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, nonce,
				&scheme, sel, quoted, sig);
		if (rc != TSS2_RC_SUCCESS) {
			fprintf(stderr, "thinvmm-agent: Quote: %s\n", Tss2_RC_Decode(rc));
			return -1;
		}
		if (read_pcrs(mask, pcrbuf2, sizeof(pcrbuf2), &pcrlen2, &c2))
			return -1;
		if (c1 == c2 && *pcrlen == pcrlen2 && !memcmp(pcrbuf, pcrbuf2, pcrlen2))
			return 0;
		if (tries == 3) {
			fprintf(stderr, "thinvmm-agent: PCRs keep changing during the quote\n");
			return -1;
		}
	}
}

/* The VMM's event log, by hypercall (uapi/thinvmm_tpmlog.h). */
static int read_vmm_log_hc(uint8_t **out, size_t *len)
{
	size_t max = tvev_max_len(TVEV_VMM_LOG);
	uint8_t *b = malloc(max);
	int fd = open("/dev/thinvmm", O_RDWR);

	if (fd < 0 || !b) {
		fprintf(stderr, "thinvmm-agent: /dev/thinvmm: %s (is the thinvmm module loaded?)\n",
			fd < 0 ? strerror(errno) : "out of memory");
	} else if (!tvmm_tpmlog_read(fd, "thinvmm-agent", b, max, len)) {
		close(fd);
		*out = b;
		return 0;
	}
	if (fd >= 0)
		close(fd);
	free(b);
	return -1;
}

static int read_vmm_log(const char *src, uint8_t **out, size_t *len)
{
	if (!strcmp(src, "vmm"))
		return read_vmm_log_hc(out, len);
	return read_file(src, tvev_max_len(TVEV_VMM_LOG), out, len);
}

static int cmd_quote(const char *nonce_hex, const char *pcrs, const char *vmm_log,
		     const char *fw_log, const char *outpath)
{
	ESYS_TR ak = ESYS_TR_NONE;
	TPM2B_PUBLIC *akpub = NULL;
	TPM2B_DATA nonce = {0};
	TPML_PCR_SELECTION sel;
	TPM2B_ATTEST *quoted = NULL;
	TPMT_SIGNATURE *sig = NULL;
	TPMS_TIME_INFO *time = NULL;
	uint8_t selbuf[sizeof(TPML_PCR_SELECTION)], sigbuf[sizeof(TPMT_SIGNATURE)];
	uint8_t pubbuf[sizeof(TPM2B_PUBLIC)], timebuf[sizeof(TPMS_TIME_INFO)];
	uint8_t pcrbuf[4096];
	size_t sellen = 0, siglen = 0, publen = 0, timelen = 0, pcrlen = 0;
	uint8_t *vlog = NULL, *flog = NULL;
	size_t vlen = 0, flen = 0;
	struct tvev_writer w;
	int64_t mask = parse_pcr_list(pcrs);
	int n, tries, ret = 1;
	static const char info[] = "thinvmm-agent 1; ek: rsa2048 L-1; ak: ecc-p256 endorsement";
	TSS2_RC rc;

	tvev_writer_init(&w);
	n = hex_decode(nonce_hex, nonce.buffer, sizeof(nonce.buffer));
	if (n < 8 || n > 64) {
		fprintf(stderr, "thinvmm-agent: --nonce: 8 to 64 bytes of hex\n");
		goto out;
	}
	nonce.size = (uint16_t)n;
	if (mask <= 0) {
		fprintf(stderr, "thinvmm-agent: --pcrs: a list like 0-7,17,18\n");
		goto out;
	}
	if (vmm_log && read_vmm_log(vmm_log, &vlog, &vlen))
		goto out;
	if (fw_log && read_file(fw_log, tvev_max_len(TVEV_FW_LOG), &flog, &flen))
		goto out;
	if (load_ak(&ak, &akpub, 0))
		goto out;
	select_pcrs(&sel, (uint32_t)mask);
	/* The log read by hypercall is read before the quote and again after it: a violation
	 * may extend the runtime PCR and append to the log in between, and the log sent must
	 * replay to the quoted values. Retried (bounded) while the log's length changes. */
	for (tries = 0;; tries++) {
		uint8_t *vlog2 = NULL;
		size_t vlen2 = 0;

		if (quote_pcrs(ak, &nonce, &sel, (uint32_t)mask, pcrbuf, sizeof(pcrbuf), &pcrlen,
			       &quoted, &sig))
			goto out;
		if (!vmm_log || strcmp(vmm_log, "vmm"))
			break;
		if (read_vmm_log(vmm_log, &vlog2, &vlen2))
			goto out;
		free(vlog); /* the later copy: same events, the freshest unmeasured counts */
		vlog = vlog2;
		if (vlen2 == vlen)
			break;
		vlen = vlen2;
		if (tries == 3) {
			fprintf(stderr, "thinvmm-agent: the VMM event log keeps growing\n");
			goto out;
		}
	}
	rc = Esys_ReadClock(ectx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &time);
	CHECK(rc, "ReadClock");
	if (Tss2_MU_TPML_PCR_SELECTION_Marshal(&sel, selbuf, sizeof(selbuf), &sellen) ||
	    Tss2_MU_TPMT_SIGNATURE_Marshal(sig, sigbuf, sizeof(sigbuf), &siglen) ||
	    Tss2_MU_TPM2B_PUBLIC_Marshal(akpub, pubbuf, sizeof(pubbuf), &publen) ||
	    Tss2_MU_TPMS_TIME_INFO_Marshal(time, timebuf, sizeof(timebuf), &timelen)) {
		fprintf(stderr, "thinvmm-agent: marshalling failed\n");
		goto out;
	}
	tvev_add(&w, TVEV_NONCE, nonce.buffer, nonce.size);
	tvev_add(&w, TVEV_QUOTE_ATTEST, quoted->attestationData, quoted->size);
	tvev_add(&w, TVEV_QUOTE_SIG, sigbuf, siglen);
	tvev_add(&w, TVEV_PCR_SELECT, selbuf, sellen);
	tvev_add(&w, TVEV_PCR_VALUES, pcrbuf, pcrlen);
	tvev_add(&w, TVEV_AK_PUBLIC, pubbuf, publen);
	if (fw_log)
		tvev_add(&w, TVEV_FW_LOG, flog, flen);
	if (vmm_log)
		tvev_add(&w, TVEV_VMM_LOG, vlog, vlen);
	tvev_add(&w, TVEV_CLOCK_INFO, timebuf, timelen);
	tvev_add(&w, TVEV_AGENT_INFO, info, sizeof(info) - 1);
	if (tvev_finish(&w)) {
		fprintf(stderr, "thinvmm-agent: bundle too large\n");
		goto out;
	}
	if (write_file(outpath, w.buf, w.len))
		goto out;
	ret = 0;
out:
	tvev_writer_free(&w);
	Esys_Free(akpub);
	Esys_Free(quoted);
	Esys_Free(sig);
	Esys_Free(time);
	free(vlog);
	free(flog);
	return ret;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: thinvmm-agent [--tcti CONF] [--ak-handle 0x81010002] COMMAND ...\n"
		"  enroll-key --out-dir DIR      create/load the AK; write ak.pub ek.pub ek.crt\n"
		"  activate --challenge F -o F   answer a verifier's credential challenge\n"
		"  quote --nonce HEX --pcrs LIST [--vmm-log vmm|F] [--fw-log F] -o BUNDLE\n"
		"      --vmm-log vmm: the VMM's event log by hypercall (/dev/thinvmm)\n"
		"TCTI default: device:/dev/tpmrm0 (tests: swtpm:host=127.0.0.1,port=P)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"tcti", required_argument, NULL, 't'},
					     {"ak-handle", required_argument, NULL, 'a'},
					     {"out-dir", required_argument, NULL, 'd'},
					     {"challenge", required_argument, NULL, 'c'},
					     {"nonce", required_argument, NULL, 'n'},
					     {"pcrs", required_argument, NULL, 'p'},
					     {"vmm-log", required_argument, NULL, 'v'},
					     {"fw-log", required_argument, NULL, 'f'},
					     {"output", required_argument, NULL, 'o'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *dir = NULL, *chal = NULL, *nonce = NULL, *pcrs = NULL, *vlog = NULL;
	const char *flog = NULL, *out = NULL, *cmd;
	int c, ret;

	/* ESYS logs a warning for every expected miss (an absent AK): quiet unless asked. */
	setenv("TSS2_LOG", "all+none", 0);
	/* GNU getopt permutes: the options may stand before or after the command. */
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			tcti_conf = optarg;
			break;
		case 'a':
			ak_handle = (TPM2_HANDLE)strtoul(optarg, NULL, 0);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'c':
			chal = optarg;
			break;
		case 'n':
			nonce = optarg;
			break;
		case 'p':
			pcrs = optarg;
			break;
		case 'v':
			vlog = optarg;
			break;
		case 'f':
			flog = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	cmd = argv[optind++];
	if (!cmd || optind != argc || (ak_handle >> 24) != TPM2_HT_PERSISTENT) {
		usage();
		return 2;
	}
	if (!strcmp(cmd, "enroll-key") ? !dir
	    : !strcmp(cmd, "activate") ? !chal || !out
	    : !strcmp(cmd, "quote")    ? !nonce || !pcrs || !out
				       : 1) {
		usage();
		return 2;
	}
	if (tpm_open())
		return 1;
	if (!strcmp(cmd, "enroll-key"))
		ret = cmd_enroll_key(dir);
	else if (!strcmp(cmd, "activate"))
		ret = cmd_activate(chal, out);
	else
		ret = cmd_quote(nonce, pcrs, vlog, flog, out);
	tpm_close();
	return ret;
}
