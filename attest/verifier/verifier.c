/* SPDX-License-Identifier: MIT */
/* thinvmm-verifier: enrolment of a TPM's attestation key and appraisal of TVEV evidence
 * (docs/evidence.md). Trusts nothing in a bundle that is not signed by the enrolled AK or
 * replayed against signed PCR values. Exit codes: 0 trusted/accepted, 1 untrusted/refused,
 * 2 usage or I/O error. */
#include "../common/evidence.h"
#include "../common/evlog.h"
#include "../common/vmmlog.h"
#include "../common/templates.h"
#include "../common/util.h"
#include "crypto.h"

#include <tss2/tss2_mu.h>

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- claims and the JSON verdict ---- */

#define MAX_CLAIMS 32
#define REASON_MAX 1024 /* room for a few violation classes; the JSON array has them all */
enum { PASS, FAIL, SKIP };
static struct {
	const char *name;
	int result;
	char reason[REASON_MAX];
} claims[MAX_CLAIMS];
static unsigned nclaims;
static const char *json_out;
/* The VMM log's runtime events, once the violations claim has looked at them. */
static const struct vmmlog *report;
/* The dma claim: reported once the appraisal reached the VMM log (dma_log: the parsed log,
 * NULL if there was none or it did not parse); required with --require-dma. */
static int dma_reported, require_dma;
static const struct vmmlog *dma_log;

static void claim(const char *name, int result, const char *fmt, ...)
{
	va_list ap;

	if (nclaims == MAX_CLAIMS)
		return;
	claims[nclaims].name = name;
	claims[nclaims].result = result;
	va_start(ap, fmt);
	vsnprintf(claims[nclaims].reason, sizeof(claims[nclaims].reason), fmt, ap);
	va_end(ap);
	nclaims++;
}

static int failed(void)
{
	unsigned i;

	for (i = 0; i < nclaims; i++)
		if (claims[i].result == FAIL)
			return 1;
	return 0;
}

static void json_mem(FILE *f, const uint8_t *s, size_t n)
{
	size_t i;

	fputc('"', f);
	for (i = 0; i < n; i++) {
		uint8_t c = s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_str(FILE *f, const char *s)
{
	json_mem(f, (const uint8_t *)s, strlen(s));
}

/* "violations": one {class, count} per class the VMM reported; counts are its own. */
static void json_violations(FILE *f, const struct vmmlog *v)
{
	unsigned i;

	fprintf(f, "  \"violations\": [");
	for (i = 0; i < v->n_viol; i++) {
		fprintf(f, "%s\n    {\"class\": ", i ? "," : "");
		json_mem(f, v->viol[i].cls, v->viol[i].cls_len);
		fprintf(f, ", \"count\": %llu}", (unsigned long long)v->viol[i].count);
	}
	fprintf(f, "%s],\n", v->n_viol ? "\n  " : "");
}

/* "dma": what the VMM's dma event says: its own statement, measured into the launch PCR. */
static void json_dma(FILE *f, const struct vmmlog *v)
{
	fprintf(f, "  \"dma\": {\"state\": ");
	if (v && v->dma_err[0])
		fprintf(f, "\"malformed\"");
	else if (v && v->dma == VMMLOG_DMA_PROTECTED)
		fprintf(f, "\"protected\", \"iommu\": \"%s\", \"units\": %u", v->dma_iommu,
			v->dma_units);
	else if (v && v->dma == VMMLOG_DMA_UNPROTECTED)
		fprintf(f, "\"unprotected\", \"reason\": \"%s\"", v->dma_reason);
	else
		fprintf(f, "\"unknown\"");
	fprintf(f, "},\n");
}

static void summary_dma(const struct vmmlog *v)
{
	if (v && v->dma_err[0])
		fprintf(stderr, "; dma: malformed event");
	else if (v && v->dma == VMMLOG_DMA_PROTECTED)
		fprintf(stderr, "; dma: protected (%s, %u unit%s)", v->dma_iommu, v->dma_units,
			v->dma_units == 1 ? "" : "s");
	else if (v && v->dma == VMMLOG_DMA_UNPROTECTED)
		fprintf(stderr, "; dma: unprotected (%s)", v->dma_reason);
	else
		fprintf(stderr, "; dma: unknown (%s)", v ? "no dma event" : "no VMM log read");
}

/* For the summary line: what the VMM said about violations, if the log was looked at. */
static void summary_violations(const struct vmmlog *v)
{
	unsigned long long hits = 0;
	unsigned i;

	if (!v)
		return;
	for (i = 0; i < v->n_viol; i++)
		hits += v->viol[i].count;
	if (v->n_viol == 0)
		fprintf(stderr, "; violations: none reported");
	else
		fprintf(stderr,
			"; violations: %u class%s, %llu hit%s (counts reported by the VMM, not "
			"measured)",
			v->n_viol, v->n_viol == 1 ? "" : "es", hits, hits == 1 ? "" : "s");
}

/* Print the verdict; returns the exit code (0 trusted, 1 untrusted, 2 if it cannot write). */
static int verdict(const char *what, const char *good, const char *bad)
{
	static const char *res[] = {"pass", "fail", "skip"};
	FILE *f = json_out ? fopen(json_out, "w") : stdout;
	int bad_ = failed() || nclaims == 0;
	unsigned i, npass = 0;

	if (!f) {
		fprintf(stderr, "thinvmm-verifier: %s: %s\n", json_out, strerror(errno));
		return 2;
	}
	fprintf(f, "{\n  \"version\": 1,\n  \"command\": \"%s\",\n  \"verdict\": \"%s\",\n", what,
		bad_ ? bad : good);
	if (dma_reported)
		json_dma(f, dma_log);
	if (report)
		json_violations(f, report);
	fprintf(f, "  \"claims\": [\n");
	for (i = 0; i < nclaims; i++) {
		fprintf(f, "    {\"claim\": ");
		json_str(f, claims[i].name);
		fprintf(f, ", \"result\": \"%s\", \"reason\": ", res[claims[i].result]);
		json_str(f, claims[i].reason);
		fprintf(f, "}%s\n", i + 1 < nclaims ? "," : "");
		npass += claims[i].result == PASS;
	}
	fprintf(f, "  ]\n}\n");
	if (f != stdout)
		fclose(f);
	else
		fflush(f);
	/* One line for humans. */
	if (!bad_) {
		fprintf(stderr, "thinvmm-verifier: %s: %s (%u claims passed)", what, good, npass);
	} else {
		fprintf(stderr, "thinvmm-verifier: %s: %s:", what, bad);
		for (i = 0; i < nclaims; i++)
			if (claims[i].result == FAIL)
				fprintf(stderr, " [%s: %s]", claims[i].name, claims[i].reason);
	}
	if (dma_reported)
		summary_dma(dma_log);
	summary_violations(report);
	fprintf(stderr, "\n");
	return bad_ ? 1 : 0;
}

/* ---- state directory ---- */

static const char *state;

static void spath(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;
	int l = snprintf(out, n, "%s/", state);

	va_start(ap, fmt);
	vsnprintf(out + l, n - (size_t)l, fmt, ap);
	va_end(ap);
}

static int mkdirs(void)
{
	char p[4096];
	const char *sub[] = {"", "nonces", "nonces/issued", "nonces/used", "pending"};
	unsigned i;

	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		spath(p, sizeof(p), "%s", sub[i]);
		if (mkdir(p, 0700) && errno != EEXIST) {
			fprintf(stderr, "thinvmm-verifier: %s: %s\n", p, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int load_public(const char *path, TPM2B_PUBLIC *pub, uint8_t **raw, size_t *rawlen)
{
	uint8_t *b;
	size_t n, off = 0;

	if (read_file(path, sizeof(TPM2B_PUBLIC) + 16, &b, &n))
		return -1;
	memset(pub, 0, sizeof(*pub));
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(b, n, &off, pub) != TSS2_RC_SUCCESS || off != n) {
		fprintf(stderr, "thinvmm-verifier: %s: not a TPM2B_PUBLIC\n", path);
		free(b);
		return -1;
	}
	if (raw) {
		*raw = b;
		*rawlen = n;
	} else {
		free(b);
	}
	return 0;
}

/* Name = nameAlg || SHA-256(TPMT_PUBLIC), from the marshalled TPM2B_PUBLIC. */
static void object_name(const uint8_t *raw, size_t len, uint8_t name[34])
{
	name[0] = 0x00;
	name[1] = 0x0b;
	sha256(raw + 2, len - 2, name + 2);
}

/* ---- enroll ---- */

static void check_ak(const TPMT_PUBLIC *p)
{
	const TPMS_ECC_PARMS *e = &p->parameters.eccDetail;

	if (p->type != TPM2_ALG_ECC || e->curveID != TPM2_ECC_NIST_P256)
		claim("ak-attributes", FAIL, "AK is not ECC P-256");
	else if (p->nameAlg != TPM2_ALG_SHA256)
		claim("ak-attributes", FAIL, "AK name algorithm is not SHA-256");
	else if ((p->objectAttributes & AK_REQUIRED_ATTRS) != AK_REQUIRED_ATTRS ||
		 (p->objectAttributes & TPMA_OBJECT_DECRYPT))
		claim("ak-attributes", FAIL,
		      "AK attributes 0x%08x: need restricted|sign|fixedTPM|fixedParent|"
		      "sensitiveDataOrigin and not decrypt",
		      p->objectAttributes);
	else if (e->scheme.scheme != TPM2_ALG_ECDSA ||
		 e->scheme.details.ecdsa.hashAlg != TPM2_ALG_SHA256 ||
		 e->symmetric.algorithm != TPM2_ALG_NULL)
		claim("ak-attributes", FAIL, "AK scheme is not ECDSA/SHA-256");
	else
		claim("ak-attributes", PASS,
		      "restricted ECC P-256 ECDSA/SHA-256 signing key, fixedTPM, fixedParent, "
		      "sensitiveDataOrigin");
}

static int cmd_enroll(const char *ek_cert, const char *ek_pub, const char *ak_pub,
		      const char *ca_dir, const char *challenge)
{
	TPM2B_PUBLIC ek, ak;
	uint8_t *cert = NULL, *akraw = NULL, name[34], cred[32], chal[2048];
	size_t certlen, akrawlen, challen;
	char err[256], p[4096];
	const TPMT_PUBLIC *e = &ek.publicArea;

	if (mkdirs() || read_file(ek_cert, 16384, &cert, &certlen) ||
	    load_public(ek_pub, &ek, NULL, NULL) || load_public(ak_pub, &ak, &akraw, &akrawlen))
		return 2;
	if (e->type != TPM2_ALG_RSA || e->nameAlg != TPM2_ALG_SHA256 ||
	    e->objectAttributes != EK_ATTRS || e->authPolicy.size != 32 ||
	    memcmp(e->authPolicy.buffer, ek_policy_sha256, 32) ||
	    e->parameters.rsaDetail.keyBits != 2048)
		claim("ek-template", FAIL,
		      "EK public area is not the EK profile's RSA template L-1");
	else
		claim("ek-template", PASS, "RSA 2048 EK, template L-1");
	if (verify_ek_cert(cert, certlen, ca_dir, e, err, sizeof(err)))
		claim("ek-certificate", FAIL, "%s", err);
	else
		claim("ek-certificate", PASS, "chains to %s and certifies the EK's key", ca_dir);
	check_ak(&ak.publicArea);
	if (!failed()) {
		object_name(akraw, akrawlen, name);
		if (crypto_random(cred, sizeof(cred)) ||
		    make_credential(e, name, sizeof(name), cred, chal, sizeof(chal), &challen, err,
				    sizeof(err))) {
			claim("credential", FAIL, "%s", err);
		} else {
			spath(p, sizeof(p), "pending/ak.pub");
			if (write_file(p, akraw, akrawlen))
				goto io;
			spath(p, sizeof(p), "pending/credential");
			if (write_file(p, cred, sizeof(cred)) ||
			    write_file(challenge, chal, challen))
				goto io;
			claim("credential", PASS,
			      "challenge for the AK name written to %s; awaiting activation",
			      challenge);
		}
	}
	free(cert);
	free(akraw);
	return verdict("enroll", "challenge-issued", "refused");
io:
	free(cert);
	free(akraw);
	return 2;
}

static int cmd_enroll_finish(const char *answer)
{
	uint8_t *a = NULL, *c = NULL, *ak = NULL, diff = 0;
	size_t alen, clen, aklen, i;
	char p[4096], q[4096];

	spath(p, sizeof(p), "pending/credential");
	if (read_file(p, 64, &c, &clen) || read_file(answer, 64, &a, &alen))
		goto io;
	spath(p, sizeof(p), "pending/ak.pub");
	if (read_file(p, 4096, &ak, &aklen))
		goto io;
	for (i = 0; i < clen; i++)
		diff |= (uint8_t)(c[i] ^ (i < alen ? a[i] : 0));
	if (alen != clen || diff) {
		claim("activation", FAIL, "the answer is not the credential: AK and EK not bound");
	} else {
		spath(q, sizeof(q), "ak.pub");
		if (write_file(q, ak, aklen))
			goto io;
		claim("activation", PASS,
		      "the TPM holding the EK activated the credential for the AK");
	}
	/* The challenge is single-use either way. */
	spath(p, sizeof(p), "pending/credential");
	unlink(p);
	free(a);
	free(c);
	free(ak);
	return verdict("enroll-finish", "enrolled", "refused");
io:
	free(a);
	free(c);
	free(ak);
	return 2;
}

/* ---- nonces ---- */

static int cmd_nonce(void)
{
	uint8_t n[32];
	char hex[65], p[4096];

	if (mkdirs() || crypto_random(n, sizeof(n)))
		return 2;
	hex_encode(n, sizeof(n), hex);
	spath(p, sizeof(p), "nonces/issued/%s", hex);
	if (write_file(p, "", 0))
		return 2;
	printf("%s\n", hex);
	return 0;
}

/* ---- appraise ---- */

struct config {
	uint8_t image[32], policy[32];
	int have_image, have_policy;
	unsigned pcr_launch, pcr_policy, pcr_runtime;
	int require_vmm_log, require_lock;
};

/* Only "yes" and "no": a typo must not switch a requirement off. */
static int parse_yes_no(const char *val, int *out)
{
	if (!strcmp(val, "yes"))
		*out = 1;
	else if (!strcmp(val, "no"))
		*out = 0;
	else
		return -1;
	return 0;
}

static int parse_pcr(const char *val, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(val, &end, 10);

	if (end == val || *end || v > 23)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int parse_digest(const char *val, uint8_t out[32], int *have)
{
	*have = hex_decode(val, out, 32) == 32;
	return *have ? 0 : -1;
}

/* One "key = value" line: 0, -1 for a bad value, -2 for an unknown key. */
static int config_key(struct config *c, const char *key, const char *val)
{
	if (!strcmp(key, "vmm_image_sha256"))
		return parse_digest(val, c->image, &c->have_image);
	if (!strcmp(key, "policy_sha256"))
		return parse_digest(val, c->policy, &c->have_policy);
	if (!strcmp(key, "pcr_launch"))
		return parse_pcr(val, &c->pcr_launch);
	if (!strcmp(key, "pcr_policy"))
		return parse_pcr(val, &c->pcr_policy);
	if (!strcmp(key, "pcr_runtime"))
		return parse_pcr(val, &c->pcr_runtime);
	if (!strcmp(key, "require_vmm_log"))
		return parse_yes_no(val, &c->require_vmm_log);
	if (!strcmp(key, "require_lock"))
		return parse_yes_no(val, &c->require_lock);
	return -2;
}

static int load_config(const char *path, struct config *c)
{
	uint8_t *b;
	size_t n;
	char *line, *save = NULL;
	int ret = 0;

	memset(c, 0, sizeof(*c));
	c->pcr_launch = 17;
	c->pcr_policy = 18;
	c->pcr_runtime = 19;
	c->require_vmm_log = 1;
	c->require_lock = 1;
	if (!path)
		return 0;
	if (read_file(path, 65536, &b, &n))
		return -1;
	b = realloc(b, n + 1);
	b[n] = 0;
	for (line = strtok_r((char *)b, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char key[64], val[256];
		int r;

		if (line[strspn(line, " \t")] == '#' || line[strspn(line, " \t\r")] == 0)
			continue;
		if (sscanf(line, " %63[a-z_0-9] = %255s", key, val) != 2) {
			fprintf(stderr, "thinvmm-verifier: %s: bad line: %s\n", path, line);
			ret = -1;
		} else if ((r = config_key(c, key, val)) != 0) {
			fprintf(stderr, "thinvmm-verifier: %s: %s %s\n", path,
				r == -2 ? "unknown key" : "bad value for", key);
			ret = -1;
		}
	}
	if (c->pcr_launch == c->pcr_policy || c->pcr_runtime == c->pcr_launch ||
	    c->pcr_runtime == c->pcr_policy) {
		fprintf(stderr,
			"thinvmm-verifier: %s: pcr_launch, pcr_policy and pcr_runtime "
			"must differ\n",
			path);
		ret = -1;
	}
	free(b);
	return ret;
}

static uint32_t quoted_mask(const unsigned *idx, int n)
{
	uint32_t m = 0;
	int i;

	for (i = 0; i < n; i++)
		m |= 1u << idx[i];
	return m;
}

/* Compare a replayed log with the signed PCR values. owned: PCRs this log must account for. */
static void check_replay(const char *name, const struct evlog_result *r, uint32_t owned,
			 uint32_t allowed, const unsigned *idx, int n, const struct evidence *e)
{
	uint32_t quoted = quoted_mask(idx, n);
	int i;
	unsigned p;
	for (p = 0; p < 24; p++) {
		if ((r->extended & (1u << p)) && !(allowed & (1u << p))) {
			claim(name, FAIL, "the log extends PCR %u, which it must not", p);
			return;
		}
		if ((owned & (1u << p)) && !(quoted & (1u << p))) {
			claim(name, FAIL, "PCR %u is not covered by the quote", p);
			return;
		}
	}
	for (i = 0; i < n; i++) {
		p = idx[i];
		if (!(owned & (1u << p)) && !(r->extended & (1u << p)))
			continue;
		if (memcmp(r->pcr[p], e->pcr_values[i], 32) != 0) {
			claim(name, FAIL, "replay of %u events does not give the quoted PCR %u",
			      r->events, p);
			return;
		}
	}
	claim(name, PASS, "%u events replay to the quoted PCRs (mask 0x%06x)", r->events,
	      owned | r->extended);
}

struct last {
	uint64_t clock;
	uint32_t reset, restart;
	int have;
};

static int read_last(struct last *l)
{
	char p[4096];
	FILE *f;
	unsigned long long c;
	unsigned rs, rt;

	memset(l, 0, sizeof(*l));
	spath(p, sizeof(p), "last-quote");
	f = fopen(p, "r");
	if (!f)
		return errno == ENOENT ? 0 : -1;
	if (fscanf(f, "reset %u restart %u clock %llu", &rs, &rt, &c) == 3) {
		l->reset = rs;
		l->restart = rt;
		l->clock = c;
		l->have = 1;
	}
	fclose(f);
	return l->have ? 0 : -1;
}

/* Everything one appraisal reads, and its scratch space (reused by `bench`). */
struct appraisal {
	struct config cfg;
	uint8_t nonce[64];
	int nn;
	TPM2B_PUBLIC ak;
	uint8_t *akraw;
	size_t akrawlen;
	struct last last;
	uint8_t *buf; /* the bundle; NULL if it was over the size limit */
	size_t len;
	struct evidence *e;
	struct vmmlog *vl;
	unsigned idx[24]; /* the signed selection, ascending */
	int n;
};

/* Config, nonce, enrolled AK and bundle; 0, or -1 after a message. */
static int load_appraisal(struct appraisal *a, const char *nonce_hex, const char *bundle,
			  const char *cfgpath)
{
	char p[4096];

	if (load_config(cfgpath, &a->cfg)) {
		fprintf(stderr, "thinvmm-verifier: bad config %s\n", cfgpath);
		return -1;
	}
	a->nn = hex_decode(nonce_hex, a->nonce, sizeof(a->nonce));
	if (a->nn < 8) {
		fprintf(stderr, "thinvmm-verifier: --nonce: 8 to 64 bytes of hex\n");
		return -1;
	}
	spath(p, sizeof(p), "ak.pub");
	if (load_public(p, &a->ak, &a->akraw, &a->akrawlen)) {
		fprintf(stderr, "thinvmm-verifier: no enrolled AK in %s\n", state);
		return -1;
	}
	a->e = calloc(1, sizeof(*a->e));
	a->vl = calloc(1, sizeof(*a->vl));
	if (!a->e || !a->vl)
		return -1;
	/* One more byte than the limit, so an oversized bundle is recognised as such. */
	if (read_file(bundle, TVEV_MAX_BUNDLE + 1, &a->buf, &a->len)) {
		struct stat st;

		return stat(bundle, &st) == 0 && (size_t)st.st_size > TVEV_MAX_BUNDLE ? 0 : -1;
	}
	return 0;
}

static void free_appraisal(struct appraisal *a)
{
	free(a->buf);
	free(a->akraw);
	free(a->e);
	free(a->vl);
}

/* ak, signature, magic, type, nonce-signed; -1 if later claims would be meaningless. */
static int check_signed(struct appraisal *a)
{
	const struct evidence *e = a->e;
	const TPMS_ATTEST *at = &e->attest;
	char err[256];

	if (e->b.sec[TVEV_AK_PUBLIC].len != a->akrawlen ||
	    memcmp(e->b.sec[TVEV_AK_PUBLIC].data, a->akraw, a->akrawlen))
		claim("ak", FAIL, "bundle names an AK other than the enrolled one");
	else
		claim("ak", PASS, "the enrolled AK");
	/* The signature first: everything after this reads signed fields. */
	if (verify_ecdsa(&a->ak.publicArea, e->b.sec[TVEV_QUOTE_ATTEST].data,
			 e->b.sec[TVEV_QUOTE_ATTEST].len, &e->sig, err, sizeof(err))) {
		claim("signature", FAIL, "%s", err);
		return -1;
	}
	claim("signature", PASS, "ECDSA P-256/SHA-256 by the enrolled AK");
	if (at->magic != TPM2_GENERATED_VALUE)
		claim("attest-magic", FAIL, "magic 0x%08x is not TPM_GENERATED_VALUE", at->magic);
	else
		claim("attest-magic", PASS, "TPM_GENERATED_VALUE");
	if (at->type != TPM2_ST_ATTEST_QUOTE) {
		claim("attest-type", FAIL, "type 0x%04x is not TPM_ST_ATTEST_QUOTE", at->type);
		return -1;
	}
	claim("attest-type", PASS, "TPM_ST_ATTEST_QUOTE");
	if (at->extraData.size != a->nn || memcmp(at->extraData.buffer, a->nonce, (size_t)a->nn) ||
	    e->b.sec[TVEV_NONCE].len != (uint32_t)a->nn ||
	    memcmp(e->b.sec[TVEV_NONCE].data, a->nonce, (size_t)a->nn))
		claim("nonce-signed", FAIL, "the quote's qualifying data is not the nonce");
	else
		claim("nonce-signed", PASS, "the quote's qualifying data is the nonce");
	return 0;
}

/* pcr-selection and pcr-digest: the signed selection, and the bundle's values under it. */
static int check_pcrs(struct appraisal *a)
{
	const struct evidence *e = a->e;
	const TPMS_QUOTE_INFO *q = &e->attest.attested.quote;
	uint8_t sb[sizeof(TPML_PCR_SELECTION)], cat[24 * 32], digest[32];
	size_t sl = 0;
	TPMI_ALG_HASH bank = 0;
	int i;

	a->n = selection_pcrs(&q->pcrSelect, &bank, a->idx);
	if (a->n <= 0 || bank != TPM2_ALG_SHA256) {
		claim("pcr-selection", FAIL,
		      "signed selection is not one SHA-256 bank of PCRs 0-23");
		return -1;
	}
	if (Tss2_MU_TPML_PCR_SELECTION_Marshal(&q->pcrSelect, sb, sizeof(sb), &sl) ||
	    sl != e->b.sec[TVEV_PCR_SELECT].len || memcmp(sb, e->b.sec[TVEV_PCR_SELECT].data, sl))
		claim("pcr-selection", FAIL,
		      "the bundle claims a PCR selection other than the signed one");
	else
		claim("pcr-selection", PASS, "%d SHA-256 PCRs, taken from the quote", a->n);
	if ((int)e->npcr_values != a->n) {
		claim("pcr-digest", FAIL, "%u PCR values for %d selected PCRs", e->npcr_values,
		      a->n);
		return -1;
	}
	for (i = 0; i < a->n; i++) {
		if (e->pcr_sizes[i] != 32) {
			claim("pcr-digest", FAIL, "PCR value %d is not a SHA-256 digest", i);
			return -1;
		}
		memcpy(cat + 32 * i, e->pcr_values[i], 32);
	}
	sha256(cat, (size_t)a->n * 32, digest);
	if (q->pcrDigest.size != 32 || memcmp(q->pcrDigest.buffer, digest, 32)) {
		claim("pcr-digest", FAIL, "PCR values do not hash to the signed digest");
		return -1;
	}
	claim("pcr-digest", PASS, "PCR values hash to the signed digest");
	return 0;
}

/* Clock and reset counters: not older than the last accepted quote. */
static void check_clock(const struct appraisal *a)
{
	const TPMS_CLOCK_INFO *ci = &a->e->attest.clockInfo;
	const struct last *l = &a->last;

	if (ci->safe != TPM2_YES)
		claim("clock", FAIL, "TPM clock not safe (may have gone back)");
	else if (l->have && (ci->resetCount < l->reset ||
			     (ci->resetCount == l->reset && ci->restartCount < l->restart) ||
			     (ci->resetCount == l->reset && ci->restartCount == l->restart &&
			      ci->clock < l->clock)))
		claim("clock", FAIL,
		      "quote (reset %u restart %u clock %llu) older than the last accepted "
		      "(reset %u restart %u clock %llu)",
		      ci->resetCount, ci->restartCount, (unsigned long long)ci->clock, l->reset,
		      l->restart, (unsigned long long)l->clock);
	else
		claim("clock", PASS, "reset %u restart %u clock %llu, not older than the last",
		      ci->resetCount, ci->restartCount, (unsigned long long)ci->clock);
}

/* vmm-image and policy: one event on its PCR whose digest is the reference value. */
static void check_reference(const char *name, const char *what, int have, unsigned n,
			    const uint8_t got[32], const uint8_t want[32], unsigned pcr)
{
	if (!have)
		claim(name, SKIP, "no reference value configured");
	else if (n != 1)
		claim(name, FAIL, "%u %s events on PCR %u (need 1)", n, what, pcr);
	else if (memcmp(got, want, 32))
		claim(name, FAIL, "%s digest is not the reference value", what);
	else
		claim(name, PASS, "%s digest matches the reference", what);
}

static void check_measured(const struct config *c, const struct vmmlog *v)
{
	if (v->n_launch == 1 && v->launch_ok)
		claim("launch", PASS, "launch: emulated-drtm");
	else
		claim("launch", FAIL, "no single, bound launch event on PCR %u", c->pcr_launch);
	check_reference("vmm-image", "image", c->have_image, v->n_image, v->image, c->image,
			c->pcr_launch);
	check_reference("policy", "policy", c->have_policy, v->n_policy, v->policy, c->policy,
			c->pcr_policy);
}

/* Log text for a reason: it is attacker-controlled, so only printable ASCII goes through. */
static size_t append_text(char *out, size_t cap, size_t at, const uint8_t *t, size_t n)
{
	size_t i;

	for (i = 0; i < n && at + 1 < cap; i++)
		out[at++] = t[i] >= 0x20 && t[i] < 0x7f ? (char)t[i] : '?';
	if (at < cap)
		out[at] = 0;
	return at;
}

static size_t append_fmt(char *out, size_t cap, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static size_t append_fmt(char *out, size_t cap, size_t at, const char *fmt, ...)
{
	va_list ap;
	int l;

	if (at >= cap)
		return at;
	va_start(ap, fmt);
	l = vsnprintf(out + at, cap - at, fmt, ap);
	va_end(ap);
	return l < 0 ? at : at + (size_t)l < cap ? at + (size_t)l : cap - 1;
}

/* dma: the VMM's statement about DMA protection (v NULL: no VMM log, or one that does not
 * parse). A malformed dma event always fails; anything but "protected" fails only with
 * --require-dma, and is reported either way. */
static void check_dma(const struct config *c, const struct vmmlog *v, const char *nolog)
{
	char r[REASON_MAX], t[200];

	dma_reported = 1;
	dma_log = v;
	if (v && v->dma_err[0]) {
		append_text(t, sizeof(t), 0, v->dma_text, v->dma_len < 120 ? v->dma_len : 120);
		claim("dma", FAIL,
		      "malformed dma event in the VMM log: %s (first one's text \"%s%s\")",
		      v->dma_err, t, v->dma_len > 120 ? "..." : "");
		return;
	}
	if (v && v->dma == VMMLOG_DMA_PROTECTED) {
		claim("dma", PASS, "dma: protected iommu=%s units=%u", v->dma_iommu, v->dma_units);
		return;
	}
	if (v && v->dma == VMMLOG_DMA_UNPROTECTED)
		snprintf(r, sizeof(r), "the VMM says unprotected (%s)", v->dma_reason);
	else if (v)
		snprintf(r, sizeof(r), "no dma claim in the VMM log (no dma event on PCR %u)",
			 c->pcr_launch);
	else
		snprintf(r, sizeof(r), "%s, so no dma claim", nolog);
	if (require_dma)
		claim("dma", FAIL, "DMA protection required; %s", r);
	else
		claim("dma", SKIP, "%s; not required (no --require-dma)", r);
}

static void check_lock(const struct config *c, const struct vmmlog *v)
{
	char r[REASON_MAX];

	if (v->lock_err[0])
		claim("lock", FAIL, "%s", v->lock_err);
	else if (v->n_lock == 0)
		claim("lock", c->require_lock ? FAIL : SKIP,
		      "no lock event on PCR %u: the VMM's policy was not locked", c->pcr_runtime);
	else {
		append_text(r, sizeof(r), 0, v->lock_text, v->lock_len);
		claim("lock", PASS, "%s", r);
	}
}

static void check_violations(const struct config *c, const struct vmmlog *v)
{
	char r[REASON_MAX];
	size_t at = 0;
	unsigned i;

	report = v;
	if (!v->viol_err[0] && v->n_viol == 0) {
		claim("violations", PASS, "no violation events on PCR %u", c->pcr_runtime);
		return;
	}
	if (v->viol_err[0])
		at = append_fmt(r, sizeof(r), at, "%s%s", v->viol_err, v->n_viol ? "; " : "");
	if (v->n_viol)
		at = append_fmt(r, sizeof(r), at,
				"%u violation class%s (counts reported by the VMM, not measured):",
				v->n_viol, v->n_viol == 1 ? "" : "es");
	for (i = 0; i < v->n_viol; i++) {
		at = append_fmt(r, sizeof(r), at, " [");
		at = append_text(r, sizeof(r), at, v->viol[i].cls, v->viol[i].cls_len);
		at = append_fmt(r, sizeof(r), at, "] count=%llu",
				(unsigned long long)v->viol[i].count);
	}
	claim("violations", FAIL, "%s", r);
}

/* The VMM log: replay against the signed PCRs, then what its events say. */
static void check_vmm_log(struct appraisal *a)
{
	const struct config *c = &a->cfg;
	const struct tvev_section *s = &a->e->b.sec[TVEV_VMM_LOG];
	uint32_t own = 1u << c->pcr_launch | 1u << c->pcr_policy, runtime = 1u << c->pcr_runtime;
	struct evlog_result r;
	char err[256];

	if (!s->present || s->len == 0) {
		claim("vmm-log", c->require_vmm_log ? FAIL : SKIP, "no VMM event log");
		if (c->require_lock)
			claim("lock", FAIL, "no VMM event log, so no lock event");
		if (require_dma)
			check_dma(c, NULL, "no VMM event log");
		dma_reported = 1;
		return;
	}
	vmmlog_init(a->vl, c->pcr_launch, c->pcr_policy, c->pcr_runtime);
	if (evlog_replay(s->data, s->len, &r, vmmlog_event, a->vl, err, sizeof(err))) {
		claim("vmm-log", FAIL, "%s", err);
		if (require_dma)
			check_dma(c, NULL, "the VMM event log does not parse");
		dma_reported = 1;
		return;
	}
	/* The runtime PCR must be quoted when the lock is required or the log extends it, and
	 * is replayed whenever it is quoted: a log that leaves it out hides nothing then. */
	if (c->require_lock || (r.extended & runtime) || (quoted_mask(a->idx, a->n) & runtime))
		own |= runtime;
	check_replay("vmm-log", &r, own, own | runtime, a->idx, a->n, a->e);
	check_measured(c, a->vl);
	check_dma(c, a->vl, NULL);
	if (!(own & runtime)) {
		claim("lock", SKIP, "require_lock = no and PCR %u is not quoted", c->pcr_runtime);
		claim("violations", SKIP, "PCR %u is not quoted: violations unknown",
		      c->pcr_runtime);
		return;
	}
	check_lock(c, a->vl);
	check_violations(c, a->vl);
}

/* Every claim after nonce-fresh, in order, stopping where later ones would mean nothing. */
static void appraise_bundle(struct appraisal *a)
{
	char err[256];
	const struct tvev_section *s;
	struct evlog_result r;

	report = NULL;
	dma_log = NULL;
	dma_reported = 0;
	if (!a->buf) {
		claim("bundle-format", FAIL, "bundle larger than %u bytes", TVEV_MAX_BUNDLE);
		return;
	}
	if (evidence_decode(a->buf, a->len, a->e, err, sizeof(err))) {
		claim("bundle-format", FAIL, "%s", err);
		return;
	}
	claim("bundle-format", PASS, "TVEV v%u, %zu bytes", a->e->b.version, a->len);
	if (check_signed(a) || check_pcrs(a))
		return;
	check_clock(a);
	check_vmm_log(a);
	s = &a->e->b.sec[TVEV_FW_LOG];
	if (!s->present || s->len == 0)
		claim("firmware-log", SKIP, "no firmware event log");
	else if (evlog_replay(s->data, s->len, &r, NULL, NULL, err, sizeof(err)))
		claim("firmware-log", FAIL, "%s", err);
	else
		check_replay("firmware-log", &r, 0xff, 0xffff, a->idx, a->n, a->e);
}

/* The nonce is consumed by the first appraisal that names it, whatever the verdict. */
static void consume_nonce(const struct appraisal *a)
{
	char hex[129], p[4096], q[4096];

	hex_encode(a->nonce, (size_t)a->nn, hex);
	spath(p, sizeof(p), "nonces/used/%s", hex);
	spath(q, sizeof(q), "nonces/issued/%s", hex);
	if (access(p, F_OK) == 0)
		claim("nonce-fresh", FAIL, "nonce already used");
	else if (rename(q, p) != 0)
		claim("nonce-fresh", FAIL, "nonce was not issued by this verifier");
	else
		claim("nonce-fresh", PASS, "issued by this verifier, first use");
}

static int cmd_appraise(const char *nonce_hex, const char *bundle, const char *cfgpath)
{
	struct appraisal a = {0};
	const TPMS_CLOCK_INFO *ci;
	char line[128], p[4096];
	int ret = 2;

	if (load_appraisal(&a, nonce_hex, bundle, cfgpath))
		goto out;
	if (read_last(&a.last)) {
		fprintf(stderr, "thinvmm-verifier: %s/last-quote is corrupt\n", state);
		goto out;
	}
	/* An oversized bundle is refused before its nonce is looked at. */
	if (a.buf)
		consume_nonce(&a);
	appraise_bundle(&a);
	ret = verdict("appraise", "trusted", "untrusted");
	if (ret == 0) {
		ci = &a.e->attest.clockInfo;
		snprintf(line, sizeof(line), "reset %u restart %u clock %llu\n", ci->resetCount,
			 ci->restartCount, (unsigned long long)ci->clock);
		spath(p, sizeof(p), "last-quote");
		if (write_file(p, line, strlen(line)))
			ret = 2;
	}
out:
	free_appraisal(&a);
	return ret;
}

/* The appraisal of one recorded bundle, iterations times, without the state bookkeeping
 * (nonce consumption, last-quote): what a verifier spends per appraisal, file reading aside. */
static int cmd_bench(const char *nonce_hex, const char *bundle, const char *cfgpath,
		     unsigned long iterations)
{
	struct appraisal a = {0};
	struct timespec t0, t1;
	unsigned long i;
	double s;
	int ret = 2;

	if (load_appraisal(&a, nonce_hex, bundle, cfgpath) || !a.buf)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < iterations; i++) {
		nclaims = 0;
		appraise_bundle(&a);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("bench: %lu appraisals in %.3f s: %.0f appraisals/s on one core; "
	       "last verdict %s (%u claims)\n",
	       iterations, s, s > 0 ? (double)iterations / s : 0.0,
	       failed() ? "untrusted" : "trusted", nclaims);
	ret = 0;
out:
	free_appraisal(&a);
	return ret;
}

/* ---- export: the quote as tpm2_checkquote's inputs (for interop tests) ---- */

static int cmd_export(const char *bundle, const char *dir)
{
	struct evidence *e = calloc(1, sizeof(*e));
	uint8_t *buf = NULL, sb[sizeof(TPMT_SIGNATURE)];
	size_t len, sl = 0;
	char err[256], p[4096], hex[129];
	unsigned idx[24], i;
	int n, ret = 2;
	TPMI_ALG_HASH bank;
	uint8_t vals[24 * 64];
	size_t vl = 0;

	if (!e || read_file(bundle, TVEV_MAX_BUNDLE, &buf, &len))
		goto out;
	if (evidence_decode(buf, len, e, err, sizeof(err))) {
		fprintf(stderr, "thinvmm-verifier: %s: %s\n", bundle, err);
		goto out;
	}
	n = selection_pcrs(&e->attest.attested.quote.pcrSelect, &bank, idx);
	if (n <= 0 || (unsigned)n != e->npcr_values)
		goto out;
	for (i = 0; i < (unsigned)n; i++) {
		memcpy(vals + vl, e->pcr_values[i], e->pcr_sizes[i]);
		vl += e->pcr_sizes[i];
	}
	snprintf(p, sizeof(p), "%s/quote.msg", dir);
	if (write_file(p, e->b.sec[TVEV_QUOTE_ATTEST].data, e->b.sec[TVEV_QUOTE_ATTEST].len))
		goto out;
	if (Tss2_MU_TPMT_SIGNATURE_Marshal(&e->sig, sb, sizeof(sb), &sl))
		goto out;
	snprintf(p, sizeof(p), "%s/quote.sig", dir);
	if (write_file(p, sb, sl))
		goto out;
	snprintf(p, sizeof(p), "%s/quote.pcrs", dir);
	if (write_file(p, vals, vl))
		goto out;
	snprintf(p, sizeof(p), "%s/ak.pub", dir);
	if (write_file(p, e->b.sec[TVEV_AK_PUBLIC].data, e->b.sec[TVEV_AK_PUBLIC].len))
		goto out;
	hex_encode(e->b.sec[TVEV_NONCE].data, e->b.sec[TVEV_NONCE].len, hex);
	printf("nonce %s\npcrs sha256:", hex);
	for (i = 0; i < (unsigned)n; i++)
		printf("%s%u", i ? "," : "", idx[i]);
	printf("\n");
	ret = 0;
out:
	free(buf);
	free(e);
	return ret;
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: thinvmm-verifier COMMAND [--state DIR] [--json F] ...\n"
	    "  enroll --ek-cert F --ek-pub F --ak-pub F --ca-dir DIR --challenge OUT\n"
	    "  enroll-finish --answer F\n"
	    "  nonce                                  print a fresh nonce, record it as issued\n"
	    "  appraise --nonce HEX --bundle F [--config F] [--require-dma]\n"
	    "                                         --require-dma: untrusted unless the VMM's\n"
	    "                                         log says DMA is protected\n"
	    "  bench --nonce HEX --bundle F [--config F] [--require-dma] [--iterations N]\n"
	    "                                         appraise N times (default 1000) without\n"
	    "                                         using the nonce; print appraisals/s\n"
	    "  export --bundle F --out-dir DIR        quote.msg/.sig/.pcrs, ak.pub for "
	    "tpm2_checkquote\n"
	    "exit: 0 trusted/accepted, 1 untrusted/refused, 2 usage or I/O error\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"state", required_argument, NULL, 's'},
					     {"json", required_argument, NULL, 'j'},
					     {"ek-cert", required_argument, NULL, 'c'},
					     {"ek-pub", required_argument, NULL, 'e'},
					     {"ak-pub", required_argument, NULL, 'a'},
					     {"ca-dir", required_argument, NULL, 'C'},
					     {"challenge", required_argument, NULL, 'x'},
					     {"answer", required_argument, NULL, 'A'},
					     {"nonce", required_argument, NULL, 'n'},
					     {"bundle", required_argument, NULL, 'b'},
					     {"config", required_argument, NULL, 'f'},
					     {"out-dir", required_argument, NULL, 'o'},
					     {"iterations", required_argument, NULL, 'i'},
					     {"require-dma", no_argument, NULL, 'D'},
					     {NULL, 0, NULL, 0}};
	const char *ek_cert = NULL, *ek_pub = NULL, *ak_pub = NULL, *ca_dir = NULL, *chal = NULL;
	const char *answer = NULL, *nonce = NULL, *bundle = NULL, *config = NULL, *out = NULL;
	const char *cmd;
	unsigned long iterations = 1000;
	char *end;
	int c;

	if (argc < 2) {
		usage();
		return 2;
	}
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			state = optarg;
			break;
		case 'j':
			json_out = optarg;
			break;
		case 'c':
			ek_cert = optarg;
			break;
		case 'e':
			ek_pub = optarg;
			break;
		case 'a':
			ak_pub = optarg;
			break;
		case 'C':
			ca_dir = optarg;
			break;
		case 'x':
			chal = optarg;
			break;
		case 'A':
			answer = optarg;
			break;
		case 'n':
			nonce = optarg;
			break;
		case 'b':
			bundle = optarg;
			break;
		case 'f':
			config = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'D':
			require_dma = 1;
			break;
		case 'i':
			iterations = strtoul(optarg, &end, 10);
			if (*end || iterations == 0) {
				usage();
				return 2;
			}
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind != argc) {
		usage();
		return 2;
	}
	if (crypto_init()) {
		fprintf(stderr, "thinvmm-verifier: cannot seed the random generator\n");
		return 2;
	}
	if (!strcmp(cmd, "export") && bundle && out)
		return cmd_export(bundle, out);
	if (!state) {
		usage();
		return 2;
	}
	if (!strcmp(cmd, "enroll") && ek_cert && ek_pub && ak_pub && ca_dir && chal)
		return cmd_enroll(ek_cert, ek_pub, ak_pub, ca_dir, chal);
	if (!strcmp(cmd, "enroll-finish") && answer)
		return cmd_enroll_finish(answer);
	if (!strcmp(cmd, "nonce"))
		return cmd_nonce();
	if (!strcmp(cmd, "appraise") && nonce && bundle)
		return cmd_appraise(nonce, bundle, config);
	if (!strcmp(cmd, "bench") && nonce && bundle)
		return cmd_bench(nonce, bundle, config, iterations);
	usage();
	return 2;
}
