/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the agent and the verifier: files, hex, PCR lists. */
#ifndef TVEV_UTIL_H
#define TVEV_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Read a whole file of at most max bytes into a malloc'd buffer. 0 or -1 (errno-style
 * message on stderr). *len receives the size. A file larger than max is an error. */
int read_file(const char *path, size_t max, uint8_t **buf, size_t *len);
/* Write atomically (path.tmp, then rename). 0 or -1. */
int write_file(const char *path, const void *buf, size_t len);
/* Hex: parse exactly (no 0x, even length); returns byte count or -1. */
int hex_decode(const char *hex, uint8_t *out, size_t max);
void hex_encode(const uint8_t *in, size_t len, char *out); /* out: 2*len+1 */
/* Formats the reason for a refusal into err[errlen] (if err); always returns -1. */
int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "0,1,17-18" -> bit mask of PCRs < 24; -1 on error. */
int64_t parse_pcr_list(const char *s);

#endif
