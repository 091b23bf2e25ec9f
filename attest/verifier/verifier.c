/* SPDX-License-Identifier: MIT */
/* thinvmm-verifier: enrolment of a TPM's attestation key and appraisal of TVEV evidence
 * (docs/evidence.md). Trusts nothing in a bundle that is not signed by the enrolled AK or
 * replayed against signed PCR values. Exit codes: 0 trusted/accepted, 1 untrusted/refused,
 * 2 usage or I/O error. */
#include "../common/evidence.h"
#include "../common/evlog.h"
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
#include <unistd.h>

/* ---- claims and the JSON verdict ---- */

#define MAX_CLAIMS 32
enum { PASS, FAIL, SKIP };
static struct {
	const char *name;
	int result;
	char reason[256];
} claims[MAX_CLAIMS];
static unsigned nclaims;
static const char *json_out;

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

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
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
		fprintf(stderr, "thinvmm-verifier: %s: %s (%u claims passed)\n", what, good, npass);
	} else {
		fprintf(stderr, "thinvmm-verifier: %s: %s:", what, bad);
		for (i = 0; i < nclaims; i++)
			if (claims[i].result == FAIL)
				fprintf(stderr, " [%s: %s]", claims[i].name, claims[i].reason);
		fprintf(stderr, "\n");
	}
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
	unsigned pcr_launch, pcr_policy;
	int require_vmm_log;
};

static int load_config(const char *path, struct config *c)
{
	uint8_t *b;
	size_t n;
	char *line, *save = NULL;
	int ret = 0;

	memset(c, 0, sizeof(*c));
	c->pcr_launch = 17;
	c->pcr_policy = 18;
	c->require_vmm_log = 1;
	if (!path)
		return 0;
	if (read_file(path, 65536, &b, &n))
		return -1;
	b = realloc(b, n + 1);
	b[n] = 0;
	for (line = strtok_r((char *)b, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char key[64], val[256];

		if (line[strspn(line, " \t")] == '#' || line[strspn(line, " \t\r")] == 0)
			continue;
		if (sscanf(line, " %63[a-z_0-9] = %255s", key, val) != 2) {
			fprintf(stderr, "thinvmm-verifier: %s: bad line: %s\n", path, line);
			ret = -1;
		} else if (!strcmp(key, "vmm_image_sha256")) {
			c->have_image = hex_decode(val, c->image, 32) == 32;
			ret |= c->have_image ? 0 : -1;
		} else if (!strcmp(key, "policy_sha256")) {
			c->have_policy = hex_decode(val, c->policy, 32) == 32;
			ret |= c->have_policy ? 0 : -1;
		} else if (!strcmp(key, "pcr_launch")) {
			c->pcr_launch = (unsigned)atoi(val);
		} else if (!strcmp(key, "pcr_policy")) {
			c->pcr_policy = (unsigned)atoi(val);
		} else if (!strcmp(key, "require_vmm_log")) {
			c->require_vmm_log = !strcmp(val, "yes");
		} else {
			fprintf(stderr, "thinvmm-verifier: %s: unknown key %s\n", path, key);
			ret = -1;
		}
	}
	if (c->pcr_launch > 23 || c->pcr_policy > 23 || c->pcr_launch == c->pcr_policy)
		ret = -1;
	free(b);
	return ret;
}

struct vmm_events {
	const struct config *cfg;
	unsigned n_image, n_policy, n_launch, n_other_tag;
	uint8_t image[32], policy[32];
	int launch_ok;
};

#define TAG_IMAGE  0x54560001u
#define TAG_POLICY 0x54560002u
#define TAG_LAUNCH 0x54560003u

static void on_vmm_event(void *ctx, const struct evlog_event *ev)
{
	struct vmm_events *v = ctx;
	uint32_t tag, size;

	if (ev->type != EV_EVENT_TAG || ev->data_len < 8) {
		v->n_other_tag++;
		return;
	}
	tag = (uint32_t)ev->data[0] | (uint32_t)ev->data[1] << 8 | (uint32_t)ev->data[2] << 16 |
	      (uint32_t)ev->data[3] << 24;
	size = (uint32_t)ev->data[4] | (uint32_t)ev->data[5] << 8 | (uint32_t)ev->data[6] << 16 |
	       (uint32_t)ev->data[7] << 24;
	if (size != ev->data_len - 8) {
		v->n_other_tag++;
		return;
	}
	if (tag == TAG_IMAGE && ev->pcr == v->cfg->pcr_launch) {
		memcpy(v->image, ev->sha256, 32);
		v->n_image++;
	} else if (tag == TAG_POLICY && ev->pcr == v->cfg->pcr_policy) {
		memcpy(v->policy, ev->sha256, 32);
		v->n_policy++;
	} else if (tag == TAG_LAUNCH && ev->pcr == v->cfg->pcr_launch) {
		static const char want[] = "launch: emulated-drtm";
		uint8_t h[32];

		v->n_launch++;
		/* The text is bound only if the digest is its hash. */
		v->launch_ok = size == sizeof(want) - 1 && !memcmp(ev->data + 8, want, size) &&
			       !sha256(ev->data + 8, size, h) && !memcmp(h, ev->sha256, 32);
	} else {
		v->n_other_tag++;
	}
}

/* Compare a replayed log with the signed PCR values. owned: PCRs this log must account for. */
static void check_replay(const char *name, const struct evlog_result *r, uint32_t owned,
			 uint32_t allowed, const unsigned *idx, int n, const struct evidence *e)
{
	uint32_t quoted = 0;
	int i;
	unsigned p;

	for (i = 0; i < n; i++)
		quoted |= 1u << idx[i];
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

static int cmd_appraise(const char *nonce_hex, const char *bundle, const char *cfgpath)
{
	struct config cfg;
	struct evidence *e = NULL;
	uint8_t *buf = NULL, *akraw = NULL, nonce[64], digest[32], *cat = NULL;
	size_t len, akrawlen;
	char err[256], p[4096], q[4096], hex[129];
	TPM2B_PUBLIC ak;
	unsigned idx[24];
	int nn, n, i, ret = 2;
	TPMI_ALG_HASH bank = 0;
	const TPMS_ATTEST *a;
	const TPMS_CLOCK_INFO *ci;
	struct last last;

	if (load_config(cfgpath, &cfg)) {
		fprintf(stderr, "thinvmm-verifier: bad config %s\n", cfgpath);
		return 2;
	}
	nn = hex_decode(nonce_hex, nonce, sizeof(nonce));
	if (nn < 8) {
		fprintf(stderr, "thinvmm-verifier: --nonce: 8 to 64 bytes of hex\n");
		return 2;
	}
	hex_encode(nonce, (size_t)nn, hex);
	spath(p, sizeof(p), "ak.pub");
	if (load_public(p, &ak, &akraw, &akrawlen)) {
		fprintf(stderr, "thinvmm-verifier: no enrolled AK in %s\n", state);
		return 2;
	}
	if (read_last(&last)) {
		fprintf(stderr, "thinvmm-verifier: %s/last-quote is corrupt\n", state);
		goto out;
	}
	/* One more byte than the limit, so an oversized bundle is recognised as such. */
	if (read_file(bundle, TVEV_MAX_BUNDLE + 1, &buf, &len)) {
		struct stat st;

		if (stat(bundle, &st) != 0 || (size_t)st.st_size <= TVEV_MAX_BUNDLE)
			goto out;
		claim("bundle-format", FAIL, "bundle larger than %u bytes", TVEV_MAX_BUNDLE);
		ret = verdict("appraise", "trusted", "untrusted");
		goto out;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		goto out;

	/* The nonce is consumed by the first appraisal that names it, whatever the verdict. */
	spath(p, sizeof(p), "nonces/used/%s", hex);
	spath(q, sizeof(q), "nonces/issued/%s", hex);
	if (access(p, F_OK) == 0)
		claim("nonce-fresh", FAIL, "nonce already used");
	else if (rename(q, p) != 0)
		claim("nonce-fresh", FAIL, "nonce was not issued by this verifier");
	else
		claim("nonce-fresh", PASS, "issued by this verifier, first use");

	if (evidence_decode(buf, len, e, err, sizeof(err))) {
		claim("bundle-format", FAIL, "%s", err);
		ret = verdict("appraise", "trusted", "untrusted");
		goto out;
	}
	claim("bundle-format", PASS, "TVEV v%u, %zu bytes", e->b.version, len);
	a = &e->attest;

	/* The signature first: everything after this reads signed fields. */
	if (e->b.sec[TVEV_AK_PUBLIC].len != akrawlen ||
	    memcmp(e->b.sec[TVEV_AK_PUBLIC].data, akraw, akrawlen))
		claim("ak", FAIL, "bundle names an AK other than the enrolled one");
	else
		claim("ak", PASS, "the enrolled AK");
	if (verify_ecdsa(&ak.publicArea, e->b.sec[TVEV_QUOTE_ATTEST].data,
			 e->b.sec[TVEV_QUOTE_ATTEST].len, &e->sig, err, sizeof(err))) {
		claim("signature", FAIL, "%s", err);
		ret = verdict("appraise", "trusted", "untrusted");
		goto out;
	}
	claim("signature", PASS, "ECDSA P-256/SHA-256 by the enrolled AK");
	if (a->magic != TPM2_GENERATED_VALUE)
		claim("attest-magic", FAIL, "magic 0x%08x is not TPM_GENERATED_VALUE", a->magic);
	else
		claim("attest-magic", PASS, "TPM_GENERATED_VALUE");
	if (a->type != TPM2_ST_ATTEST_QUOTE) {
		claim("attest-type", FAIL, "type 0x%04x is not TPM_ST_ATTEST_QUOTE", a->type);
		ret = verdict("appraise", "trusted", "untrusted");
		goto out;
	}
	claim("attest-type", PASS, "TPM_ST_ATTEST_QUOTE");
	if (a->extraData.size != nn || memcmp(a->extraData.buffer, nonce, (size_t)nn) ||
	    e->b.sec[TVEV_NONCE].len != (uint32_t)nn ||
	    memcmp(e->b.sec[TVEV_NONCE].data, nonce, (size_t)nn))
		claim("nonce-signed", FAIL, "the quote's qualifying data is not the nonce");
	else
		claim("nonce-signed", PASS, "the quote's qualifying data is the nonce");

	/* PCR selection: the signed one; the bundle's claim must agree with it. */
	n = selection_pcrs(&a->attested.quote.pcrSelect, &bank, idx);
	if (n <= 0 || bank != TPM2_ALG_SHA256) {
		claim("pcr-selection", FAIL,
		      "signed selection is not one SHA-256 bank of PCRs 0-23");
		ret = verdict("appraise", "trusted", "untrusted");
		goto out;
	}
	{
		uint8_t sb[sizeof(TPML_PCR_SELECTION)];
		size_t sl = 0;

		if (Tss2_MU_TPML_PCR_SELECTION_Marshal(&a->attested.quote.pcrSelect, sb, sizeof(sb),
						       &sl) ||
		    sl != e->b.sec[TVEV_PCR_SELECT].len ||
		    memcmp(sb, e->b.sec[TVEV_PCR_SELECT].data, sl))
			claim("pcr-selection", FAIL,
			      "the bundle claims a PCR selection other than the signed one");
		else
			claim("pcr-selection", PASS, "%d SHA-256 PCRs, taken from the quote", n);
	}
	/* PCR digest over the bundle's values, in the signed selection's order. */
	if ((int)e->npcr_values != n) {
		claim("pcr-digest", FAIL, "%u PCR values for %d selected PCRs", e->npcr_values, n);
		ret = verdict("appraise", "trusted", "untrusted");
		goto out;
	}
	cat = malloc((size_t)n * 32);
	if (!cat)
		goto out;
	for (i = 0; i < n; i++) {
		if (e->pcr_sizes[i] != 32) {
			claim("pcr-digest", FAIL, "PCR value %d is not a SHA-256 digest", i);
			ret = verdict("appraise", "trusted", "untrusted");
			goto out;
		}
		memcpy(cat + 32 * i, e->pcr_values[i], 32);
	}
	sha256(cat, (size_t)n * 32, digest);
	if (a->attested.quote.pcrDigest.size != 32 ||
	    memcmp(a->attested.quote.pcrDigest.buffer, digest, 32)) {
		claim("pcr-digest", FAIL, "PCR values do not hash to the signed digest");
		ret = verdict("appraise", "trusted", "untrusted");
		goto out;
	}
	claim("pcr-digest", PASS, "PCR values hash to the signed digest");

	/* Clock and reset counters: not older than the last accepted quote. */
	ci = &a->clockInfo;
	if (ci->safe != TPM2_YES)
		claim("clock", FAIL, "TPM clock not safe (may have gone back)");
	else if (last.have && (ci->resetCount < last.reset ||
			       (ci->resetCount == last.reset && ci->restartCount < last.restart) ||
			       (ci->resetCount == last.reset && ci->restartCount == last.restart &&
				ci->clock < last.clock)))
		claim("clock", FAIL,
		      "quote (reset %u restart %u clock %llu) older than the last accepted "
		      "(reset %u restart %u clock %llu)",
		      ci->resetCount, ci->restartCount, (unsigned long long)ci->clock, last.reset,
		      last.restart, (unsigned long long)last.clock);
	else
		claim("clock", PASS, "reset %u restart %u clock %llu, not older than the last",
		      ci->resetCount, ci->restartCount, (unsigned long long)ci->clock);

	/* Logs: replayed against the signed PCR values. */
	{
		struct evlog_result r;
		struct vmm_events v = {.cfg = &cfg};
		const struct tvev_section *s = &e->b.sec[TVEV_VMM_LOG];
		uint32_t own = 1u << cfg.pcr_launch | 1u << cfg.pcr_policy;

		if (!s->present || s->len == 0) {
			claim("vmm-log", cfg.require_vmm_log ? FAIL : SKIP, "no VMM event log");
		} else if (evlog_replay(s->data, s->len, &r, on_vmm_event, &v, err, sizeof(err))) {
			claim("vmm-log", FAIL, "%s", err);
		} else {
			check_replay("vmm-log", &r, own, own, idx, n, e);
			if (v.n_launch == 1 && v.launch_ok)
				claim("launch", PASS, "launch: emulated-drtm");
			else
				claim("launch", FAIL, "no single, bound launch event on PCR %u",
				      cfg.pcr_launch);
			if (!cfg.have_image)
				claim("vmm-image", SKIP, "no reference value configured");
			else if (v.n_image != 1)
				claim("vmm-image", FAIL, "%u image events on PCR %u (need 1)",
				      v.n_image, cfg.pcr_launch);
			else if (memcmp(v.image, cfg.image, 32))
				claim("vmm-image", FAIL, "image digest is not the reference value");
			else
				claim("vmm-image", PASS, "image digest matches the reference");
			if (!cfg.have_policy)
				claim("policy", SKIP, "no reference value configured");
			else if (v.n_policy != 1)
				claim("policy", FAIL, "%u policy events on PCR %u (need 1)",
				      v.n_policy, cfg.pcr_policy);
			else if (memcmp(v.policy, cfg.policy, 32))
				claim("policy", FAIL, "policy digest is not the reference value");
			else
				claim("policy", PASS, "policy digest matches the reference");
		}
		s = &e->b.sec[TVEV_FW_LOG];
		if (!s->present || s->len == 0)
			claim("firmware-log", SKIP, "no firmware event log");
		else if (evlog_replay(s->data, s->len, &r, NULL, NULL, err, sizeof(err)))
			claim("firmware-log", FAIL, "%s", err);
		else
			check_replay("firmware-log", &r, 0xff, 0xffff, idx, n, e);
	}

	ret = verdict("appraise", "trusted", "untrusted");
	if (ret == 0) {
		char line[128];

		snprintf(line, sizeof(line), "reset %u restart %u clock %llu\n", ci->resetCount,
			 ci->restartCount, (unsigned long long)ci->clock);
		spath(p, sizeof(p), "last-quote");
		if (write_file(p, line, strlen(line)))
			ret = 2;
	}
out:
	free(buf);
	free(akraw);
	free(cat);
	free(e);
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
	    "  appraise --nonce HEX --bundle F [--config F]\n"
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
					     {NULL, 0, NULL, 0}};
	const char *ek_cert = NULL, *ek_pub = NULL, *ak_pub = NULL, *ca_dir = NULL, *chal = NULL;
	const char *answer = NULL, *nonce = NULL, *bundle = NULL, *config = NULL, *out = NULL;
	const char *cmd;
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
	usage();
	return 2;
}
