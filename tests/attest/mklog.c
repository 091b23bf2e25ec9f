/* SPDX-License-Identifier: MIT */
/* tvev-mklog: stands in for the VMM's measurements in host-side tests. Writes a TCG
 * crypto-agile event log (Spec ID header, SHA-256 only) with the events docs/evidence.md
 * defines, and extends the same digests into the TPM at the given locality.
 *   tvev-mklog --tcti CONF [--locality 2] [--pcr-launch 17] [--pcr-policy 18]
 *              [--pcr-runtime 19] [--no-extend] (--image F --policy F | --append LOG)
 *              [--dma TEXT]... [--dma-pcr N] [--violation-first] [--lock] [--violations N]
 *              -o LOG
 * Events, in this order: launch, image (unless --append, which starts from LOG's bytes and
 * extends only what it adds); one dma event per --dma, its data TEXT, its digest TEXT's SHA-256,
 * on the launch PCR or --dma-pcr (the verifier accepts one, with a text docs/evidence.md lists:
 * anything else makes malformed logs for tests); policy (unless --append); with --violation-first
 * one violation (rule 0) before the lock, which the VMM never does; the lock; N violation classes
 * (rules 1..N, class i reporting count i). */
#include "util.h"

#include <mbedtls/sha256.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	uint8_t b[65536];
	size_t n;
};

static void put(struct buf *o, const void *p, size_t n)
{
	if (o->n + n > sizeof(o->b)) {
		fprintf(stderr, "tvev-mklog: log too large\n");
		exit(2);
	}
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

static void put32(struct buf *o, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	put(o, b, 4);
}

static void put16(struct buf *o, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	put(o, b, 2);
}

static ESYS_CONTEXT *ectx;
static int extend = 1;

/* One TCG_PCR_EVENT2 with an EV_EVENT_TAG (TCG_PCClientTaggedEvent) body of dlen bytes. */
static void event(struct buf *o, uint32_t pcr, uint32_t tag, const char *text, uint32_t dlen,
		  const uint8_t digest[32])
{

	put32(o, pcr);
	put32(o, 0x6); /* EV_EVENT_TAG */
	put32(o, 1);
	put16(o, 0x000b);
	put(o, digest, 32);
	put32(o, 8 + dlen);
	put32(o, tag);
	put32(o, dlen);
	put(o, text, dlen);
	if (extend) {
		TPML_DIGEST_VALUES v = {.count = 1};
		TSS2_RC rc;

		v.digests[0].hashAlg = TPM2_ALG_SHA256;
		memcpy(v.digests[0].digest.sha256, digest, 32);
		rc = Esys_PCR_Extend(ectx, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				     ESYS_TR_NONE, &v);
		if (rc != TSS2_RC_SUCCESS) {
			fprintf(stderr, "tvev-mklog: PCR_Extend %u: %s\n", pcr, Tss2_RC_Decode(rc));
			exit(1);
		}
	}
}

/* Text events (launch, dma, lock) are bound by their digest: SHA-256 of the text. */
static void text_event(struct buf *o, uint32_t pcr, uint32_t tag, const char *text)
{
	uint8_t d[32];

	mbedtls_sha256_ret((const uint8_t *)text, strlen(text), d, 0);
	event(o, pcr, tag, text, (uint32_t)strlen(text), d);
}

/* A violation class as the VMM records it at its first hit: the class text, NUL, then the
 * unmeasured hit count; the digest covers the class text only. */
static void violation(struct buf *o, uint32_t pcr, unsigned rule, unsigned count)
{
	static const char *const kinds[] = {"mem", "cr",	"msr-read", "msr-write",
					    "dt",  "hypercall", "init"};
	char text[256];
	uint8_t d[32];
	int n =
	    snprintf(text, sizeof(text), "violation: kind=%s rule=%u name=tvev-test-%u action=deny",
		     kinds[rule % 7], rule, rule);

	mbedtls_sha256_ret((const uint8_t *)text, (size_t)n, d, 0);
	n += 1 + snprintf(text + n + 1, sizeof(text) - (size_t)n - 1, "count=%010u", count);
	event(o, pcr, 0x54560005, text, (uint32_t)n, d);
}

static void hash_file(const char *path, uint8_t out[32])
{
	uint8_t *b;
	size_t n;

	if (read_file(path, 64u << 20, &b, &n))
		exit(2);
	mbedtls_sha256_ret(b, n, out, 0);
	free(b);
}

/* TCG_PCR_EVENT carrying TCG_EfiSpecIDEvent: SHA-256 only. */
static void spec_id_header(struct buf *o)
{
	static const uint8_t zero[20];

	put32(o, 0);
	put32(o, 0x3);
	put(o, zero, 20);
	put32(o, 16 + 4 + 4 + 4 + 4 + 1);
	put(o, "Spec ID Event03", 16);
	put32(o, 0);		       /* platformClass: client */
	put(o, "\x00\x02\x00\x02", 4); /* minor 0, major 2, errata 0, uintnSize 2 (64-bit) */
	put32(o, 1);
	put16(o, 0x000b);
	put16(o, 32);
	put(o, "", 1); /* vendorInfoSize 0 */
}

/* The log so far, as an earlier run wrote it (its events are in the TPM already). */
static void append_to(struct buf *o, const char *path)
{
	uint8_t *b;
	size_t n;

	if (read_file(path, sizeof(o->b), &b, &n))
		exit(2);
	put(o, b, n);
	free(b);
}

static int open_tpm(const char *conf, unsigned locality, TSS2_TCTI_CONTEXT **tcti)
{
	TSS2_RC rc = Tss2_TctiLdr_Initialize(conf, tcti);

	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_Tcti_SetLocality(*tcti, (uint8_t)locality);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_Initialize(&ectx, *tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		fprintf(stderr, "tvev-mklog: TCTI %s at locality %u: %s\n", conf, locality,
			Tss2_RC_Decode(rc));
		return -1;
	}
	return 0;
}

static int usage(void)
{
	fprintf(
	    stderr,
	    "usage: tvev-mklog --tcti CONF [--locality N] [--pcr-launch N] [--pcr-policy N]\n"
	    "                  [--pcr-runtime N] [--no-extend] (--image F --policy F | --append "
	    "LOG)\n"
	    "                  [--dma TEXT]... [--dma-pcr N] [--violation-first] [--lock]\n"
	    "                  [--violations N] -o LOG\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"tcti", required_argument, NULL, 't'},
					     {"locality", required_argument, NULL, 'l'},
					     {"pcr-launch", required_argument, NULL, 'L'},
					     {"pcr-policy", required_argument, NULL, 'P'},
					     {"pcr-runtime", required_argument, NULL, 'R'},
					     {"no-extend", no_argument, NULL, 'x'},
					     {"image", required_argument, NULL, 'i'},
					     {"policy", required_argument, NULL, 'p'},
					     {"append", required_argument, NULL, 'a'},
					     {"violation-first", no_argument, NULL, 'f'},
					     {"lock", no_argument, NULL, 'k'},
					     {"violations", required_argument, NULL, 'v'},
					     {"dma", required_argument, NULL, 'd'},
					     {"dma-pcr", required_argument, NULL, 'D'},
					     {NULL, 0, NULL, 0}};
	static const char lock[] =
	    "lock: policy=tvev-test rules=3 ranges=1 contents-sha256="
	    "0000000000000000000000000000000000000000000000000000000000000000"
	    " 0x1000000+0xe00000:rx:deny";
	const char *tcti_conf = NULL, *image = NULL, *policy = NULL, *out = NULL, *append = NULL;
	unsigned locality = 2, pl = 17, pp = 18, pr = 19, pd = 24, nviol = 0, ndma = 0, i;
	const char *dma[4];
	int do_lock = 0, viol_first = 0, c;
	uint8_t d[32];
	struct buf *o = calloc(1, sizeof(*o));
	TSS2_TCTI_CONTEXT *tcti = NULL;

	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			tcti_conf = optarg;
			break;
		case 'l':
			locality = (unsigned)atoi(optarg);
			break;
		case 'L':
			pl = (unsigned)atoi(optarg);
			break;
		case 'P':
			pp = (unsigned)atoi(optarg);
			break;
		case 'R':
			pr = (unsigned)atoi(optarg);
			break;
		case 'x':
			extend = 0;
			break;
		case 'i':
			image = optarg;
			break;
		case 'p':
			policy = optarg;
			break;
		case 'a':
			append = optarg;
			break;
		case 'f':
			viol_first = 1;
			break;
		case 'k':
			do_lock = 1;
			break;
		case 'v':
			nviol = (unsigned)atoi(optarg);
			break;
		case 'd':
			if (ndma == sizeof(dma) / sizeof(dma[0]))
				return usage();
			dma[ndma++] = optarg;
			break;
		case 'D':
			pd = (unsigned)atoi(optarg);
			break;
		case 'o':
			out = optarg;
			break;
		default:
			return usage();
		}
	}
	if (!o || !out || (!append && (!image || !policy)) || pl > 23 || pp > 23 || pr > 23 ||
	    locality > 4 || nviol > 1000 || (extend && !tcti_conf) || (pd != 24 && pd > 23))
		return usage();
	if (pd == 24)
		pd = pl;
	if (extend && open_tpm(tcti_conf, locality, &tcti))
		return 1;
	if (append) {
		append_to(o, append);
	} else {
		spec_id_header(o);
		text_event(o, pl, 0x54560003, "launch: emulated-drtm");
		hash_file(image, d);
		event(o, pl, 0x54560001, "thinvmm image", 13, d);
	}
	for (i = 0; i < ndma; i++)
		text_event(o, pd, 0x54560006, dma[i]);
	if (!append) {
		hash_file(policy, d);
		event(o, pp, 0x54560002, "thinvmm policy", 14, d);
	}
	if (viol_first)
		violation(o, pr, 0, 1);
	if (do_lock)
		text_event(o, pr, 0x54560004, lock);
	for (i = 1; i <= nviol; i++)
		violation(o, pr, i, i);
	if (write_file(out, o->b, o->n))
		return 2;
	if (ectx)
		Esys_Finalize(&ectx);
	if (tcti)
		Tss2_TctiLdr_Finalize(&tcti);
	free(o);
	return 0;
}
