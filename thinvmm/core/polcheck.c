/* SPDX-License-Identifier: MIT */
#include "core/polcheck.h"

#define PAGE_MASK_4K 0xfffull

uint64_t pol_cr_pinnable(uint64_t cr)
{
	uint64_t bits = 0;
#define PIN_BIT(c, name, bit)                                                                      \
	if (cr == (c))                                                                             \
		bits |= 1ull << (bit);
	TVMM_POL_CR_BITS(PIN_BIT)
#undef PIN_BIT
	return bits;
}

bool pol_msr_known(uint64_t msr)
{
#define KNOWN_MSR(name, index)                                                                     \
	if (msr == (index))                                                                        \
		return true;
	TVMM_POL_MSRS(KNOWN_MSR)
#undef KNOWN_MSR
	return false;
}

static bool terminated(const char *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!s[i])
			return true;
	return false;
}

static bool empty_syms(const struct tvmm_pol_rule *r)
{
	for (unsigned i = 0; i < TVMM_POL_SYM_LEN; i++)
		if (r->sym[0][i] || r->sym[1][i])
			return false;
	return true;
}

static const char *check_mem_perm(const struct tvmm_pol_rule *r)
{
	if (!(r->perm & TVMM_PERM_R) || (r->perm & ~(TVMM_PERM_R | TVMM_PERM_W | TVMM_PERM_X)))
		return "memory rule must allow reads and name only r, w, x";
	if (r->perm == (TVMM_PERM_R | TVMM_PERM_W | TVMM_PERM_X))
		return "memory rule allows everything: it would protect nothing";
	return 0;
}

static const char *check_sym_rule(const struct tvmm_pol_rule *r)
{
	if (!terminated(r->sym[0], TVMM_POL_SYM_LEN) || !terminated(r->sym[1], TVMM_POL_SYM_LEN))
		return "symbol name not terminated";
	if (!r->sym[0][0])
		return "symbol rule without a start symbol";
	if (r->sym[1][0] ? r->b != 0 : r->b == 0)
		return "symbol rule needs either an end symbol or a size, not both";
	if (r->b > (1ull << 40) || r->a > (1ull << 40))
		return "symbol offset or size too large";
	return check_mem_perm(r);
}

static const char *check_mem_range(const struct tvmm_pol_rule *r, bool page_aligned)
{
	if (!empty_syms(r))
		return "symbol names on a range rule";
	if (!r->b || r->a + r->b < r->a)
		return "memory range empty or wrapping";
	if (page_aligned && ((r->a | r->b) & PAGE_MASK_4K))
		return "memory range not page-aligned";
	return check_mem_perm(r);
}

/* Jump-label tables: entries of 16 bytes, at most a million of them. */
static const char *check_patch(const struct tvmm_pol_rule *r, enum pol_stage stage)
{
	if (r->perm || r->action != TVMM_ACT_MONITOR)
		return "patch rule: no permissions, action monitor";
	if (stage == POL_SOURCE) {
		if (!terminated(r->sym[0], TVMM_POL_SYM_LEN) ||
		    !terminated(r->sym[1], TVMM_POL_SYM_LEN) || !r->sym[0][0] || !r->sym[1][0] ||
		    r->a || r->b)
			return "patch rule needs a start and an end symbol";
		return 0;
	}
	if (!empty_syms(r))
		return "symbol names on a resolved patch rule";
	if (!r->b || (r->b & 15) || r->b > (16ull << 20) || r->a + r->b < r->a)
		return "patch table empty, too large or not whole entries";
	return 0;
}

static const char *check_rule(const struct tvmm_pol_rule *r, enum pol_stage stage)
{
	if (!terminated(r->name, TVMM_POL_NAME_LEN))
		return "rule name not terminated";
	if (r->action < TVMM_ACT_MONITOR || r->action > TVMM_ACT_HALT)
		return "unknown action";
	switch (r->kind) {
	case TVMM_RULE_MEM:
		return check_mem_range(r, true);
	case TVMM_RULE_MEM_SYM:
		return stage == POL_SOURCE ? check_sym_rule(r) : "unresolved symbol rule";
	case TVMM_RULE_MEM_VA:
		return stage == POL_VA ? check_mem_range(r, false) : "kernel-virtual rule here";
	case TVMM_RULE_PATCH:
		return check_patch(r, stage);
	default:
		break;
	}
	if (!empty_syms(r))
		return "symbol names on a non-memory rule";
	switch (r->kind) {
	case TVMM_RULE_CR:
		if (r->perm || !r->b || (r->b & ~pol_cr_pinnable(r->a)) || (r->a != 0 && r->a != 4))
			return "control-register rule: CR0 or CR4 and pin-able bits only";
		return 0;
	case TVMM_RULE_MSR:
		if (!pol_msr_known(r->a) || r->b)
			return "MSR not supported by thinvmm";
		if (!r->perm || (r->perm & ~(TVMM_PERM_R | TVMM_PERM_W)))
			return "MSR rule must trap read, write or both";
		return 0;
	case TVMM_RULE_CR3:
		if (r->perm || r->a || r->b || r->action == TVMM_ACT_DENY)
			return "cr3 rule: monitor or halt, nothing else";
		return 0;
	case TVMM_RULE_EXC:
		if (r->perm || r->b || !r->a || (r->a & ~(uint64_t)TVMM_EXC_TRAPPABLE))
			return "exception rule: vectors 0, 6, 11, 12, 13, 14, 17 only";
		if (r->action == TVMM_ACT_DENY)
			return "exceptions can be monitored or halt, not denied";
		return 0;
	case TVMM_RULE_DT:
		if (r->perm || r->b || !r->a || (r->a & ~(uint64_t)(TVMM_DT_LIDT | TVMM_DT_LGDT)))
			return "descriptor-table rule: lidt and/or lgdt only";
		if (r->action == TVMM_ACT_MONITOR)
			return "descriptor-table loads can be denied or halt, not monitored";
		return 0;
	}
	return "unknown rule kind";
}

/* Two rules that would both decide the same access. */
static bool clash(const struct tvmm_pol_rule *x, const struct tvmm_pol_rule *y)
{
	bool xm = x->kind == TVMM_RULE_MEM || x->kind == TVMM_RULE_MEM_VA;
	bool ym = y->kind == TVMM_RULE_MEM || y->kind == TVMM_RULE_MEM_VA;
	if (xm && ym)
		return x->kind == y->kind && x->a < y->a + y->b && y->a < x->a + x->b;
	if (x->kind != y->kind)
		return false;
	switch (x->kind) {
	case TVMM_RULE_PATCH:
	case TVMM_RULE_CR3:
		return true; /* one of each */
	case TVMM_RULE_EXC:
		return (x->a & y->a) != 0;
	case TVMM_RULE_CR:
		return x->a == y->a && (x->b & y->b);
	case TVMM_RULE_MSR:
		return x->a == y->a && (x->perm & y->perm);
	case TVMM_RULE_DT:
		return (x->a & y->a) != 0;
	}
	return false;
}

int pol_check(const void *blob, uint64_t len, enum pol_stage stage, struct pol_error *err)
{
	const struct tvmm_pol_header *h = blob;
	err->rule = -1;
	if (len < sizeof(*h)) {
		err->why = "shorter than the policy header";
		return -1;
	}
	if (h->magic != TVMM_POL_MAGIC) {
		err->why = "not a compiled thinvmm policy (bad magic)";
		return -1;
	}
	if (h->version != TVMM_POL_VERSION) {
		err->why = "unsupported policy format version";
		return -1;
	}
	if (h->nrules > TVMM_POL_MAX_RULES) {
		err->why = "too many rules";
		return -1;
	}
	if (h->size != len ||
	    len != sizeof(*h) + (uint64_t)h->nrules * sizeof(struct tvmm_pol_rule)) {
		err->why = "size does not match the rule count";
		return -1;
	}
	if (h->reserved || !terminated(h->name, TVMM_POL_NAME_LEN)) {
		err->why = "reserved field set or name not terminated";
		return -1;
	}
	const struct tvmm_pol_rule *r = (const struct tvmm_pol_rule *)(h + 1);
	for (uint32_t i = 0; i < h->nrules; i++) {
		err->rule = i;
		err->why = check_rule(&r[i], stage);
		if (err->why)
			return -1;
		for (uint32_t j = 0; j < i; j++)
			if (clash(&r[j], &r[i])) {
				err->why = "overlaps an earlier rule";
				return -1;
			}
	}
	err->rule = -1;
	err->why = 0;
	return 0;
}

static bool same_bytes(const void *a, const void *b, uint64_t n)
{
	const uint8_t *x = a, *y = b;
	for (uint64_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return false;
	return true;
}

/* The fields a resolved rule keeps from its source rule, whatever the kind. */
static bool same_origin(const struct tvmm_pol_rule *r, const struct tvmm_pol_rule *s)
{
	return r->action == s->action && r->perm == s->perm && r->id == s->id &&
	       r->line == s->line && same_bytes(r->name, s->name, sizeof(r->name));
}

/* Resolved rule r may stand for source rule s. */
static bool resolves(const struct tvmm_pol_rule *r, const struct tvmm_pol_rule *s)
{
	if (!same_origin(r, s))
		return false;
	if (s->kind == TVMM_RULE_MEM_SYM)
		return r->kind == TVMM_RULE_MEM;
	if (s->kind == TVMM_RULE_PATCH)
		return r->kind == TVMM_RULE_PATCH;
	return same_bytes(r, s, sizeof(*r));
}

int pol_same_source(const void *resolved, const void *source, struct pol_error *err)
{
	const struct tvmm_pol_header *rh = resolved, *sh = source;
	const struct tvmm_pol_rule *r = (const void *)(rh + 1), *s = (const void *)(sh + 1);
	uint32_t j = 0;
	err->rule = -1;
	err->why = "policy name differs from the compiled policy's";
	if (!same_bytes(rh->name, sh->name, sizeof(rh->name)))
		return -1;
	for (uint32_t i = 0; i < sh->nrules; i++) {
		err->rule = j;
		err->why = "rule does not come from the compiled policy's rule in that place";
		if (j >= rh->nrules || !resolves(&r[j], &s[i]))
			return -1;
		j++;
		/* A symbol range may have become several physical ranges. */
		while (s[i].kind == TVMM_RULE_MEM_SYM && j < rh->nrules && resolves(&r[j], &s[i]) &&
		       !(i + 1 < sh->nrules && resolves(&r[j], &s[i + 1])))
			j++;
	}
	err->rule = j;
	err->why = "more rules than the compiled policy accounts for";
	if (j != rh->nrules)
		return -1;
	err->rule = -1;
	err->why = 0;
	return 0;
}
