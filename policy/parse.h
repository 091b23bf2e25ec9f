/* SPDX-License-Identifier: MIT */
/*
 * The policy language (docs/policy.md): source text to the compiled blob of
 * thinvmm/policy.h (pol_parse) and back (pol_unparse). Pure: no I/O, no
 * global state, no allocation, so the fuzzer can call it directly.
 */
#ifndef TVMM_POLICY_PARSE_H
#define TVMM_POLICY_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <thinvmm/policy.h>

#include "core/polcheck.h"

#define POL_MAX_FILE   (1u << 20) /* bytes of source */
#define POL_MAX_LINE   4096u	  /* characters per line, without the newline */
#define POL_MAX_ERRORS 20u	  /* errors kept; more_errors says if there were more */
#define POL_BLOB_MAX                                                                               \
	(sizeof(struct tvmm_pol_header) + TVMM_POL_MAX_RULES * sizeof(struct tvmm_pol_rule))

struct pol_diag {
	uint32_t line, col; /* 1-based, of the offending token */
	char msg[200];	    /* the reason */
	char text[480];	    /* "FILE:LINE:COL: error: REASON" */
};

struct pol_result {
	uint32_t nerrors;
	bool more_errors; /* errors after the first POL_MAX_ERRORS were dropped */
	struct pol_diag errors[POL_MAX_ERRORS];
	uint32_t nstatements; /* rule statements (the policy statement excluded) */
	uint32_t nrecords;    /* rule records in the blob */
	size_t blob_len;      /* 0 unless the parse succeeded */
	_Alignas(8) unsigned char blob[POL_BLOB_MAX];
};

/*
 * Compile `len` bytes of policy source; `file` is only used in messages.
 * 0: res->blob holds blob_len bytes that pass pol_check(POL_SOURCE).
 * -1: res->errors holds the reasons (at least one).
 */
int pol_parse(const char *buf, size_t len, const char *file, struct pol_result *res);

/*
 * A compiled blob as policy source, one statement per rule (an MSR rule's
 * records grouped back into one statement). Checks the blob first: -1 with
 * *err filled if pol_check(POL_SOURCE) rejects it. Otherwise writes at most
 * cap bytes (NUL-terminated when cap > 0) and returns the length of the
 * whole text, like snprintf.
 */
long pol_unparse(const void *blob, size_t len, char *out, size_t cap, struct pol_error *err);

#endif
