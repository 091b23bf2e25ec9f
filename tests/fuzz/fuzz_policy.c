/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the policy compiler (policy/parse.c): arbitrary bytes
 * as policy source. The properties:
 *   - a parse that fails has at least one error, each at a 1-based position,
 *     and none is an "internal error" (the parser's own checks missed
 *     something pol_check caught);
 *   - a parse that succeeds yields a blob that pol_check(POL_SOURCE) accepts;
 *   - that blob, turned back into source (pol_unparse), compiles to the same
 *     rules (only the source line numbers may differ).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../policy/parse.h"
#include "fuzz.h"

static struct pol_result res, again;
static char text[256 * 1024];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pol_error e;
	if (pol_parse((const char *)data, size, "fuzz.pol", &res)) {
		REQUIRE(res.nerrors > 0 && res.nerrors <= POL_MAX_ERRORS && !res.blob_len);
		for (uint32_t i = 0; i < res.nerrors; i++) {
			REQUIRE(res.errors[i].line >= 1 && res.errors[i].col >= 1);
			if (strstr(res.errors[i].msg, "internal error")) {
				fprintf(stderr, "%s\n", res.errors[i].text);
				abort();
			}
		}
		return 0;
	}
	REQUIRE(!res.nerrors && res.blob_len > sizeof(struct tvmm_pol_header));
	REQUIRE(pol_check(res.blob, res.blob_len, POL_SOURCE, &e) == 0);

	long n = pol_unparse(res.blob, res.blob_len, text, sizeof(text), &e);
	REQUIRE(n > 0 && (size_t)n < sizeof(text));
	if (pol_parse(text, (size_t)n, "dump.pol", &again)) {
		fprintf(stderr, "%s\n--\n%s\n", again.errors[0].text, text);
		abort();
	}
	REQUIRE(again.blob_len == res.blob_len);
	REQUIRE(!memcmp(again.blob, res.blob, sizeof(struct tvmm_pol_header)));
	const struct tvmm_pol_rule *x = (const void *)(res.blob + sizeof(struct tvmm_pol_header));
	const struct tvmm_pol_rule *y = (const void *)(again.blob + sizeof(struct tvmm_pol_header));
	for (uint32_t i = 0; i < res.nrecords; i++) {
		struct tvmm_pol_rule a = x[i], b = y[i];
		a.line = b.line = 0;
		REQUIRE(!memcmp(&a, &b, sizeof(a)));
	}
	return 0;
}
