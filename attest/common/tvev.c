/* SPDX-License-Identifier: MIT */
/* TVEV v1 container: see docs/evidence.md. Every length is checked before use. */
#include "tvev.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	uint32_t min, max;
	int required;
} limits[TVEV_TYPE_MAX + 1] = {
    [TVEV_NONCE] = {"nonce", 8, 64, 1},
    [TVEV_QUOTE_ATTEST] = {"quote-attest", 1, 1024, 1},
    [TVEV_QUOTE_SIG] = {"quote-signature", 1, 1024, 1},
    [TVEV_PCR_SELECT] = {"pcr-selection", 4, 132, 1},
    [TVEV_PCR_VALUES] = {"pcr-values", 4, 8192, 1},
    [TVEV_AK_PUBLIC] = {"ak-public", 1, 1024, 1},
    [TVEV_FW_LOG] = {"firmware-log", 0, 1024 * 1024, 0},
    [TVEV_VMM_LOG] = {"vmm-log", 0, 256 * 1024, 0},
    [TVEV_CLOCK_INFO] = {"clock-info", 1, 64, 0},
    [TVEV_AGENT_INFO] = {"agent-info", 0, 1024, 0},
};

uint32_t tvev_max_len(unsigned type)
{
	return (type >= 1 && type <= TVEV_TYPE_MAX) ? limits[type].max : 0;
}

int tvev_required(unsigned type)
{
	return (type >= 1 && type <= TVEV_TYPE_MAX) ? limits[type].required : 0;
}

const char *tvev_type_name(unsigned type)
{
	return (type >= 1 && type <= TVEV_TYPE_MAX) ? limits[type].name : "unknown";
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int tvev_parse(const uint8_t *buf, size_t len, struct tvev_bundle *b, char *err, size_t errlen)
{
	size_t off;
	unsigned last = 0, t;

	memset(b, 0, sizeof(*b));
	if (len < TVEV_HDR_LEN)
		return fail(err, errlen, "truncated header (%zu bytes)", len);
	if (len > TVEV_MAX_BUNDLE)
		return fail(err, errlen, "bundle of %zu bytes exceeds the %u byte limit", len,
			    TVEV_MAX_BUNDLE);
	if (memcmp(buf, TVEV_MAGIC, 4) != 0)
		return fail(err, errlen, "bad magic");
	b->version = be16(buf + 4);
	if (b->version != TVEV_VERSION)
		return fail(err, errlen, "unsupported version %u", b->version);
	if (be16(buf + 6) != 0)
		return fail(err, errlen, "reserved header flags set");
	if (be32(buf + 8) != len)
		return fail(err, errlen, "header length %u does not match %zu bytes read",
			    be32(buf + 8), len);
	off = TVEV_HDR_LEN;
	while (off < len) {
		uint32_t slen;

		if (len - off < TVEV_SEC_HDR_LEN)
			return fail(err, errlen, "truncated section header at offset %zu", off);
		t = be16(buf + off);
		slen = be32(buf + off + 4);
		if (t < 1 || t > TVEV_TYPE_MAX)
			return fail(err, errlen, "unknown section type %u at offset %zu", t, off);
		if (be16(buf + off + 2) != 0)
			return fail(err, errlen, "reserved flags set in section %s",
				    limits[t].name);
		if (t <= last)
			return fail(err, errlen, "section %s out of order or repeated",
				    limits[t].name);
		if (slen > limits[t].max || slen < limits[t].min)
			return fail(err, errlen, "section %s: length %u outside [%u, %u]",
				    limits[t].name, slen, limits[t].min, limits[t].max);
		off += TVEV_SEC_HDR_LEN;
		if (slen > len - off)
			return fail(err, errlen,
				    "section %s truncated (%u bytes declared, %zu left)",
				    limits[t].name, slen, len - off);
		b->sec[t].data = buf + off;
		b->sec[t].len = slen;
		b->sec[t].present = 1;
		off += slen;
		last = t;
	}
	for (t = 1; t <= TVEV_TYPE_MAX; t++)
		if (limits[t].required && !b->sec[t].present)
			return fail(err, errlen, "required section %s missing", limits[t].name);
	return 0;
}

void tvev_writer_init(struct tvev_writer *w)
{
	memset(w, 0, sizeof(*w));
	w->cap = 4096;
	w->buf = calloc(1, w->cap);
	if (!w->buf) {
		w->failed = 1;
		return;
	}
	memcpy(w->buf, TVEV_MAGIC, 4);
	w->buf[4] = 0;
	w->buf[5] = TVEV_VERSION;
	w->len = TVEV_HDR_LEN;
}

static void put(struct tvev_writer *w, const void *p, size_t n)
{
	if (w->failed)
		return;
	if (w->len + n > TVEV_MAX_BUNDLE) {
		w->failed = 1;
		return;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap;
		uint8_t *nb;

		while (cap < w->len + n)
			cap *= 2;
		nb = realloc(w->buf, cap);
		if (!nb) {
			w->failed = 1;
			return;
		}
		w->buf = nb;
		w->cap = cap;
	}
	if (n)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void tvev_add(struct tvev_writer *w, unsigned type, const void *data, size_t len)
{
	uint8_t h[TVEV_SEC_HDR_LEN] = {
	    (uint8_t)(type >> 8), (uint8_t)type,       0,	    0, (uint8_t)(len >> 24),
	    (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};

	if (len > tvev_max_len(type)) {
		w->failed = 1;
		return;
	}
	put(w, h, sizeof(h));
	put(w, data, len);
}

int tvev_finish(struct tvev_writer *w)
{
	if (w->failed)
		return -1;
	w->buf[8] = (uint8_t)(w->len >> 24);
	w->buf[9] = (uint8_t)(w->len >> 16);
	w->buf[10] = (uint8_t)(w->len >> 8);
	w->buf[11] = (uint8_t)w->len;
	return 0;
}

void tvev_writer_free(struct tvev_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}
