/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for pol_check, the structural check the VMM runs on the
 * policy blob a guest hands to TVMM_HC_LOCK. Every input goes through it
 * twice at each stage:
 *
 *   as it is: the whole input is the blob (header and rules);
 *   wrapped:  a valid header made here, the input's whole 184-byte chunks
 *             as the rules, so the fuzzer spends its time on the rules.
 *
 * It must never read outside the blob (ASan) and, when it accepts, the
 * blob must really be what the VMM relies on: re-checked here by code that
 * shares nothing with polcheck.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/polcheck.h"
#include "fuzz.h"

#define HDR  sizeof(struct tvmm_pol_header)
#define RULE sizeof(struct tvmm_pol_rule)

static int nul_in(const char *s, size_t n)
{
	return memchr(s, 0, n) != NULL;
}

static int is_mem(const struct tvmm_pol_rule *r)
{
	return r->kind == TVMM_RULE_MEM || r->kind == TVMM_RULE_MEM_VA;
}

/* What an accepted blob promises, checked again from scratch. */
static void verify_accepted(const uint8_t *blob, size_t len, enum pol_stage stage)
{
	const struct tvmm_pol_header *h = (const void *)blob;
	const struct tvmm_pol_rule *r = (const void *)(h + 1);

	REQUIRE(len >= HDR);
	REQUIRE(h->magic == TVMM_POL_MAGIC && h->version == TVMM_POL_VERSION);
	REQUIRE(h->nrules <= TVMM_POL_MAX_RULES);
	REQUIRE(h->size == len && len == HDR + (uint64_t)h->nrules * RULE);
	REQUIRE(h->reserved == 0 && nul_in(h->name, sizeof(h->name)));
	for (uint32_t i = 0; i < h->nrules; i++) {
		const struct tvmm_pol_rule *x = &r[i];
		REQUIRE(x->action >= TVMM_ACT_MONITOR && x->action <= TVMM_ACT_HALT);
		REQUIRE(nul_in(x->name, sizeof(x->name)));
		switch (x->kind) {
		case TVMM_RULE_MEM:
			REQUIRE(!((x->a | x->b) & 0xfff));
			/* fall through */
		case TVMM_RULE_MEM_VA:
			REQUIRE(x->kind == TVMM_RULE_MEM || stage == POL_VA);
			REQUIRE(x->b && x->a + x->b > x->a);
			REQUIRE((x->perm & TVMM_PERM_R) && x->perm < 7);
			break;
		case TVMM_RULE_MEM_SYM:
			REQUIRE(stage == POL_SOURCE);
			REQUIRE(nul_in(x->sym[0], sizeof(x->sym[0])) && x->sym[0][0]);
			REQUIRE(nul_in(x->sym[1], sizeof(x->sym[1])));
			REQUIRE((x->perm & TVMM_PERM_R) && x->perm < 7);
			break;
		case TVMM_RULE_CR:
			REQUIRE(x->a == 0 || x->a == 4);
			REQUIRE(x->b && !(x->b & ~pol_cr_pinnable(x->a)));
			break;
		case TVMM_RULE_MSR:
			REQUIRE(pol_msr_known(x->a) && x->b == 0);
			REQUIRE(x->perm && !(x->perm & ~(TVMM_PERM_R | TVMM_PERM_W)));
			break;
		case TVMM_RULE_DT:
			REQUIRE(x->a && !(x->a & ~(uint64_t)(TVMM_DT_LIDT | TVMM_DT_LGDT)));
			REQUIRE(x->action != TVMM_ACT_MONITOR);
			break;
		case TVMM_RULE_PATCH:
			REQUIRE(x->perm == 0 && x->action == TVMM_ACT_MONITOR);
			if (stage == POL_SOURCE) {
				REQUIRE(x->a == 0 && x->b == 0);
				REQUIRE(nul_in(x->sym[0], sizeof(x->sym[0])) && x->sym[0][0]);
				REQUIRE(nul_in(x->sym[1], sizeof(x->sym[1])) && x->sym[1][0]);
			} else {
				REQUIRE(x->b && x->b % 16 == 0 && x->b <= (16u << 20));
				REQUIRE(x->a + x->b > x->a);
			}
			break;
		case TVMM_RULE_CR3:
			REQUIRE(x->perm == 0 && x->a == 0 && x->b == 0);
			REQUIRE(x->action != TVMM_ACT_DENY);
			break;
		case TVMM_RULE_EXC:
			REQUIRE(x->perm == 0 && x->b == 0 && x->a);
			REQUIRE(!(x->a & ~(uint64_t)TVMM_EXC_TRAPPABLE));
			REQUIRE(x->action != TVMM_ACT_DENY);
			break;
		default:
			REQUIRE(0 && "an unknown kind was accepted");
		}
		/* No two memory ranges of a kind overlap: the VMM takes the first match. */
		for (uint32_t j = 0; j < i; j++) {
			const struct tvmm_pol_rule *y = &r[j];
			if (is_mem(x) && is_mem(y) && x->kind == y->kind)
				REQUIRE(x->a + x->b <= y->a || y->a + y->b <= x->a);
			if (x->kind == TVMM_RULE_MSR && y->kind == TVMM_RULE_MSR && x->a == y->a)
				REQUIRE(!(x->perm & y->perm));
			if (x->kind == TVMM_RULE_CR && y->kind == TVMM_RULE_CR && x->a == y->a)
				REQUIRE(!(x->b & y->b));
			if (x->kind == TVMM_RULE_DT && y->kind == TVMM_RULE_DT)
				REQUIRE(!(x->a & y->a));
			if (x->kind == TVMM_RULE_EXC && y->kind == TVMM_RULE_EXC)
				REQUIRE(!(x->a & y->a));
			/* One jump table and one CR3 rule at most. */
			REQUIRE(!(x->kind == TVMM_RULE_PATCH && y->kind == TVMM_RULE_PATCH));
			REQUIRE(!(x->kind == TVMM_RULE_CR3 && y->kind == TVMM_RULE_CR3));
		}
	}
}

/* pol_check at every stage; returns a bit per stage that accepted. */
static unsigned check_all(const uint8_t *blob, size_t len)
{
	unsigned ok = 0;
	uint32_t nrules = len >= HDR ? ((const struct tvmm_pol_header *)blob)->nrules : 0;

	for (int s = POL_SOURCE; s <= POL_RESOLVED; s++) {
		struct pol_error err = {0x5a5a, NULL};
		int rc = pol_check(blob, len, (enum pol_stage)s, &err);
		REQUIRE(rc == 0 || rc == -1);
		if (rc == 0) {
			REQUIRE(err.rule == -1 && err.why == NULL);
			verify_accepted(blob, len, (enum pol_stage)s);
			ok |= 1u << s;
		} else {
			REQUIRE(err.why != NULL && err.why[0]);
			REQUIRE(err.rule >= -1 && err.rule < (int64_t)nrules);
		}
	}
	/*
	 * What the VMM takes (resolved) is also a valid tool output, and a valid
	 * compiler output unless it has a patch rule (resolved: an address, not
	 * the compiler's two symbols).
	 */
	if (ok & (1u << POL_RESOLVED)) {
		const struct tvmm_pol_rule *r = (const void *)(blob + HDR);
		int patch = 0;
		for (uint32_t i = 0; i < nrules; i++)
			patch |= r[i].kind == TVMM_RULE_PATCH;
		REQUIRE(ok == (patch ? 6u : 7u));
	}
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* As it is, in a buffer of exactly its size. */
	uint8_t *raw = malloc(size ? size : 1);
	memcpy(raw, data, size);
	check_all(size ? raw : raw + 1, size);
	free(raw);

	/* Wrapped: a header that agrees with the input's whole rules. */
	size_t n = size / RULE;
	if (n > TVMM_POL_MAX_RULES + 1)
		n = TVMM_POL_MAX_RULES + 1;
	size_t len = HDR + n * RULE;
	uint8_t *blob = malloc(len);
	struct tvmm_pol_header h = {.magic = TVMM_POL_MAGIC,
				    .version = TVMM_POL_VERSION,
				    .size = (uint32_t)len,
				    .nrules = (uint32_t)n,
				    .name = "fuzz"};
	memcpy(blob, &h, HDR);
	memcpy(blob + HDR, data, n * RULE);
	unsigned ok = check_all(blob, len);
	if (n > TVMM_POL_MAX_RULES)
		REQUIRE(ok == 0);
	free(blob);
	return 0;
}
