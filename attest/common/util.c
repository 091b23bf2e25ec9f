/* SPDX-License-Identifier: MIT */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int read_file(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	size_t n = 0, cap = 4096;

	*buf = NULL;
	*len = 0;
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	b = malloc(cap);
	while (b) {
		size_t r;

		if (n == cap) {
			uint8_t *nb;

			if (cap > max + 1)
				break;
			cap *= 2;
			nb = realloc(b, cap);
			if (!nb) {
				free(b);
				b = NULL;
				break;
			}
			b = nb;
		}
		r = fread(b + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
		if (n > max)
			break;
	}
	if (!b || ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		free(b);
		fclose(f);
		return -1;
	}
	fclose(f);
	if (n > max) {
		fprintf(stderr, "%s: larger than the %zu byte limit\n", path, max);
		free(b);
		return -1;
	}
	*buf = b;
	*len = n;
	return 0;
}

int write_file(const char *path, const void *buf, size_t len)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	f = fopen(tmp, "wb");
	if (!f) {
		fprintf(stderr, "%s: %s\n", tmp, strerror(errno));
		return -1;
	}
	if ((len && fwrite(buf, 1, len, f) != len) || fclose(f) != 0) {
		fprintf(stderr, "%s: write error\n", tmp);
		remove(tmp);
		return -1;
	}
	if (rename(tmp, path) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		remove(tmp);
		return -1;
	}
	return 0;
}

static int nib(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *hex, uint8_t *out, size_t max)
{
	size_t n = strlen(hex), i;

	if (n % 2 || n / 2 > max)
		return -1;
	for (i = 0; i < n / 2; i++) {
		int h = nib(hex[2 * i]), l = nib(hex[2 * i + 1]);

		if (h < 0 || l < 0)
			return -1;
		out[i] = (uint8_t)(h << 4 | l);
	}
	return (int)(n / 2);
}

void hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char d[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * len] = 0;
}

int64_t parse_pcr_list(const char *s)
{
	int64_t mask = 0;
	char *end;

	if (!*s)
		return -1;
	for (;;) {
		long a = strtol(s, &end, 10), b;

		if (end == s || a < 0 || a > 23)
			return -1;
		b = a;
		if (*end == '-') {
			s = end + 1;
			b = strtol(s, &end, 10);
			if (end == s || b < a || b > 23)
				return -1;
		}
		for (; a <= b; a++)
			mask |= (int64_t)1 << a;
		if (*end == 0)
			return mask;
		if (*end != ',')
			return -1;
		s = end + 1;
	}
}

int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}
