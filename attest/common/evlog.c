/* SPDX-License-Identifier: MIT */
#include "evlog.h"
#include "util.h"

#include <mbedtls/sha256.h>

#include <stdio.h>
#include <string.h>

struct cur {
	const uint8_t *p;
	size_t left;
};

static int get32(struct cur *c, uint32_t *v)
{
	if (c->left < 4)
		return -1;
	*v = (uint32_t)c->p[0] | (uint32_t)c->p[1] << 8 | (uint32_t)c->p[2] << 16 |
	     (uint32_t)c->p[3] << 24;
	c->p += 4;
	c->left -= 4;
	return 0;
}

static int get16(struct cur *c, uint16_t *v)
{
	if (c->left < 2)
		return -1;
	*v = (uint16_t)(c->p[0] | c->p[1] << 8);
	c->p += 2;
	c->left -= 2;
	return 0;
}

static int get8(struct cur *c, uint8_t *v)
{
	if (c->left < 1)
		return -1;
	*v = c->p[0];
	c->p++;
	c->left--;
	return 0;
}

static int take(struct cur *c, size_t n, const uint8_t **out)
{
	if (c->left < n)
		return -1;
	*out = c->p;
	c->p += n;
	c->left -= n;
	return 0;
}

static const uint8_t spec_sig[16] = "Spec ID Event03";
static const uint8_t loc_sig[16] = "StartupLocality";

int evlog_replay(const uint8_t *buf, size_t len, struct evlog_result *r, evlog_cb cb, void *ctx,
		 char *err, size_t errlen)
{
	struct cur c = {buf, len}, s;
	uint32_t pcr, type, esize, nalg, count, i, j;
	uint16_t alg_id[EVLOG_MAX_ALGS], alg_size[EVLOG_MAX_ALGS];
	const uint8_t *digest, *data;
	int have_sha256 = 0;

	memset(r, 0, sizeof(*r));
	r->startup_locality = -1;
	for (i = 17; i <= 22; i++)
		memset(r->pcr[i], 0xff, 32);

	/* The TCG_PCR_EVENT header carrying the TCG_EfiSpecIDEvent. */
	if (get32(&c, &pcr) || get32(&c, &type) || take(&c, 20, &digest) || get32(&c, &esize))
		return fail(err, errlen, "truncated header event");
	if (pcr != 0 || type != EV_NO_ACTION)
		return fail(err, errlen, "first event is not an EV_NO_ACTION on PCR 0");
	for (i = 0; i < 20; i++)
		if (digest[i])
			return fail(err, errlen, "header event digest is not zero");
	if (esize > c.left || esize > EVLOG_MAX_EVENT)
		return fail(err, errlen, "header event size %u out of bounds", esize);
	take(&c, esize, &data);
	s.p = data;
	s.left = esize;
	{
		const uint8_t *sig;
		uint32_t platform_class;
		uint8_t minor, major, errata, uintn, vsize;
		const uint8_t *vinfo;

		if (take(&s, 16, &sig) || memcmp(sig, spec_sig, 16) != 0)
			return fail(err, errlen,
				    "no \"Spec ID Event03\" signature (not crypto-agile)");
		if (get32(&s, &platform_class) || get8(&s, &minor) || get8(&s, &major) ||
		    get8(&s, &errata) || get8(&s, &uintn) || get32(&s, &nalg))
			return fail(err, errlen, "truncated Spec ID event");
		if (major != 2)
			return fail(err, errlen, "Spec ID event version %u.%u unsupported", major,
				    minor);
		if (nalg == 0 || nalg > EVLOG_MAX_ALGS)
			return fail(err, errlen, "Spec ID event lists %u algorithms", nalg);
		for (i = 0; i < nalg; i++) {
			if (get16(&s, &alg_id[i]) || get16(&s, &alg_size[i]))
				return fail(err, errlen, "truncated Spec ID algorithm list");
			if (alg_size[i] == 0 || alg_size[i] > 64)
				return fail(err, errlen, "algorithm 0x%04x digest size %u",
					    alg_id[i], alg_size[i]);
			for (j = 0; j < i; j++)
				if (alg_id[j] == alg_id[i])
					return fail(err, errlen, "algorithm 0x%04x listed twice",
						    alg_id[i]);
			if (alg_id[i] == TPM_ALG_SHA256_ID) {
				if (alg_size[i] != 32)
					return fail(err, errlen, "SHA-256 digest size %u",
						    alg_size[i]);
				have_sha256 = 1;
			}
		}
		if (get8(&s, &vsize) || take(&s, vsize, &vinfo))
			return fail(err, errlen, "truncated Spec ID vendor info");
		if (s.left != 0)
			return fail(err, errlen, "%zu trailing bytes in the Spec ID event", s.left);
		(void)platform_class;
		(void)errata;
		(void)uintn;
	}
	if (!have_sha256)
		return fail(err, errlen, "log has no SHA-256 bank");

	while (c.left > 0) {
		const uint8_t *sha = NULL;
		size_t at = len - c.left;

		if (r->events >= EVLOG_MAX_EVENTS)
			return fail(err, errlen, "more than %u events", EVLOG_MAX_EVENTS);
		if (get32(&c, &pcr) || get32(&c, &type) || get32(&c, &count))
			return fail(err, errlen, "truncated event at offset %zu", at);
		if (pcr >= EVLOG_NPCR)
			return fail(err, errlen, "event at offset %zu: PCR %u out of range", at,
				    pcr);
		if (count != nalg)
			return fail(err, errlen,
				    "event at offset %zu: %u digests, the header announces %u", at,
				    count, nalg);
		for (i = 0; i < count; i++) {
			uint16_t alg;

			if (get16(&c, &alg))
				return fail(err, errlen, "truncated digest at offset %zu", at);
			for (j = 0; j < nalg && alg_id[j] != alg; j++)
				;
			if (j == nalg)
				return fail(err, errlen,
					    "event at offset %zu: algorithm 0x%04x not in header",
					    at, alg);
			if (take(&c, alg_size[j], &digest))
				return fail(err, errlen, "truncated digest at offset %zu", at);
			if (alg == TPM_ALG_SHA256_ID) {
				if (sha)
					return fail(err, errlen,
						    "event at offset %zu: two SHA-256 digests", at);
				sha = digest;
			}
		}
		if (get32(&c, &esize))
			return fail(err, errlen, "truncated event size at offset %zu", at);
		if (esize > EVLOG_MAX_EVENT || take(&c, esize, &data))
			return fail(err, errlen, "event at offset %zu: data size %u out of bounds",
				    at, esize);
		r->events++;
		if (!sha)
			return fail(err, errlen, "event at offset %zu has no SHA-256 digest", at);
		if (type == EV_NO_ACTION) {
			/* Not extended. StartupLocality sets PCR0's initial value. */
			if (esize == 17 && memcmp(data, loc_sig, 16) == 0 && pcr == 0) {
				if (r->extended & 1)
					return fail(err, errlen,
						    "StartupLocality after PCR 0 was extended");
				r->startup_locality = data[16];
				memset(r->pcr[0], 0, 32);
				r->pcr[0][31] = data[16];
			}
			continue;
		}
		{
			uint8_t cat[64];
			struct evlog_event ev = {pcr, type, sha, data, esize, at};

			memcpy(cat, r->pcr[pcr], 32);
			memcpy(cat + 32, sha, 32);
			if (mbedtls_sha256_ret(cat, sizeof(cat), r->pcr[pcr], 0) != 0)
				return fail(err, errlen, "sha256 failed");
			r->extended |= 1u << pcr;
			if (cb)
				cb(ctx, &ev);
		}
	}
	return 0;
}
