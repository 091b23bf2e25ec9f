/* SPDX-License-Identifier: MIT */
/*
 * The policy language: a line-oriented lexer and a statement parser that
 * emit the records of thinvmm/policy.h, and the reverse (pol_unparse).
 * Every blob produced is run through pol_check(), the same structural check
 * the VMM applies, and any disagreement is reported as an error at the
 * statement that caused it, so the compiler never writes a blob the VMM
 * would refuse.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"

#define MAX_TOKS   16u /* tokens kept per line: the longest statement has 10 */
#define NAMES_MAX  (TVMM_POL_MAX_RULES + POL_MAX_ERRORS + 8u)
#define STMT_RECS  16u		/* records one statement may produce (msr lists) */
#define SIZE_LIMIT (1ull << 40) /* pol_check's bound on symbol offsets and sizes */
#define PHYS_LIMIT (1ull << 52) /* the architectural physical-address limit */
#define PAGE_4K	   0x1000ull

struct tok {
	const char *s;
	uint32_t len, col;
};

struct line {
	uint32_t no;
	uint32_t n, ntotal; /* tokens kept, tokens on the line */
	struct tok t[MAX_TOKS];
};

struct pos {
	uint32_t line, col;
};

struct parser {
	struct pol_result *res;
	const char *file;
	bool stop;	  /* error limit reached */
	bool have_policy; /* a policy statement was seen */
	bool policy_err;  /* "policy must come first" was reported */
	bool too_many;	  /* the record limit was reported */
	uint32_t policy_line;
	uint32_t nstmt; /* rule statements seen: the next rule id */
	uint32_t nnames;
	struct {
		char name[TVMM_POL_NAME_LEN];
		uint32_t line;
	} names[NAMES_MAX];
	struct pos pos[TVMM_POL_MAX_RULES]; /* where each record comes from */
};

static struct tvmm_pol_header *header(struct pol_result *r)
{
	return (struct tvmm_pol_header *)r->blob;
}

static struct tvmm_pol_rule *rules(struct pol_result *r)
{
	return (struct tvmm_pol_rule *)(r->blob + sizeof(struct tvmm_pol_header));
}

__attribute__((format(printf, 4, 5))) static void error_at(struct parser *p, uint32_t line,
							   uint32_t col, const char *fmt, ...)
{
	struct pol_result *r = p->res;
	if (p->stop)
		return;
	if (r->nerrors >= POL_MAX_ERRORS) {
		r->more_errors = true;
		p->stop = true;
		return;
	}
	struct pol_diag *d = &r->errors[r->nerrors++];
	d->line = line;
	d->col = col;
	char msg[sizeof(d->msg)];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memcpy(d->msg, msg, sizeof(msg));
	n = snprintf(d->text, sizeof(d->text), "%s:%u:%u: error: %s", p->file, line, col, msg);
	(void)n;
}

/* ---- lexing ---- */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Byte-level checks over the whole file. True if the file was rejected. */
static bool scan_bytes(struct parser *p, const char *buf, size_t len)
{
	uint32_t line = 1, col = 0;
	bool bad = false, long_reported = false, byte_reported = false;
	for (size_t i = 0; i < len && !p->stop; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c == '\n') {
			line++;
			col = 0;
			long_reported = byte_reported = false;
			continue;
		}
		col++;
		if (col > POL_MAX_LINE && !long_reported) {
			error_at(p, line, col, "line longer than %u characters", POL_MAX_LINE);
			long_reported = bad = true;
		}
		/* One bad byte per line is enough (a UTF-8 character is several). */
		if (byte_reported)
			continue;
		if (c == 0)
			error_at(p, line, col, "NUL byte in the policy source");
		else if (c >= 0x80)
			error_at(p, line, col, "non-ASCII byte 0x%02x: policies are plain ASCII",
				 c);
		else if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
			error_at(p, line, col, "control character 0x%02x", c);
		else
			continue;
		byte_reported = bad = true;
	}
	return bad;
}

static void tokenize(struct line *l, const char *s, size_t n)
{
	size_t i = 0;
	l->n = l->ntotal = 0;
	while (i < n) {
		if (s[i] == '#')
			break;
		if (is_space(s[i])) {
			i++;
			continue;
		}
		size_t start = i;
		while (i < n && !is_space(s[i]) && s[i] != '#')
			i++;
		if (l->n < MAX_TOKS)
			l->t[l->n++] =
			    (struct tok){s + start, (uint32_t)(i - start), (uint32_t)start + 1};
		l->ntotal++;
	}
}

static bool tok_is(const struct tok *t, const char *kw)
{
	size_t n = strlen(kw);
	return t->len == n && !memcmp(t->s, kw, n);
}

static bool tok_is_ci(const struct tok *t, const char *kw)
{
	size_t n = strlen(kw);
	if (t->len != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char a = t->s[i], b = kw[i];
		if (a >= 'a' && a <= 'z')
			a = (char)(a - 'a' + 'A');
		if (b >= 'a' && b <= 'z')
			b = (char)(b - 'a' + 'A');
		if (a != b)
			return false;
	}
	return true;
}

/* Token text for messages: at most 40 characters. */
#define TOKF	"'%.*s%s'"
#define TOKA(t) (int)((t)->len > 40 ? 40 : (t)->len), (t)->s, ((t)->len > 40 ? "..." : "")

/* The next token, or an error "missing WHAT" just after the last one. */
static bool next(struct parser *p, struct line *l, uint32_t *i, const char *what, struct tok *out)
{
	if (*i < l->n) {
		*out = l->t[(*i)++];
		return true;
	}
	const struct tok *last = &l->t[l->n - 1];
	error_at(p, l->no, last->col + last->len + 1, "missing %s", what);
	return false;
}

static bool keyword(struct parser *p, struct line *l, uint32_t *i, const char *kw,
		    const char *after)
{
	struct tok t;
	char what[64];
	snprintf(what, sizeof(what), "'%s' after %s", kw, after);
	if (!next(p, l, i, what, &t))
		return false;
	if (!tok_is(&t, kw)) {
		error_at(p, l->no, t.col, "expected '%s' after %s, found " TOKF, kw, after,
			 TOKA(&t));
		return false;
	}
	return true;
}

static bool end_of_statement(struct parser *p, struct line *l, uint32_t i)
{
	if (i >= l->ntotal)
		return true;
	const struct tok *t = &l->t[i < l->n ? i : l->n - 1];
	error_at(p, l->no, t->col, "unexpected " TOKF " after the end of the statement", TOKA(t));
	return false;
}

/* ---- values ---- */

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

static bool check_name(struct parser *p, uint32_t line, const struct tok *t, const char *what)
{
	if (t->len >= TVMM_POL_NAME_LEN) {
		error_at(p, line, t->col, "%s " TOKF " longer than %u characters", what, TOKA(t),
			 TVMM_POL_NAME_LEN - 1);
		return false;
	}
	for (uint32_t k = 0; k < t->len; k++)
		if (!name_char(t->s[k])) {
			error_at(p, line, t->col + k,
				 "invalid character '%c' in %s: use letters, digits, '_', '.', '-'",
				 t->s[k], what);
			return false;
		}
	return true;
}

static bool sym_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '.' ||
	       (!first && ((c >= '0' && c <= '9') || c == '$'));
}

static bool symbol(struct parser *p, uint32_t line, const struct tok *t, char *out)
{
	if (t->len >= TVMM_POL_SYM_LEN) {
		error_at(p, line, t->col, "symbol " TOKF " longer than %u characters", TOKA(t),
			 TVMM_POL_SYM_LEN - 1);
		return false;
	}
	for (uint32_t k = 0; k < t->len; k++)
		if (!sym_char(t->s[k], k == 0)) {
			error_at(p, line, t->col + k, "invalid character '%c' in symbol " TOKF,
				 t->s[k], TOKA(t));
			return false;
		}
	memcpy(out, t->s, t->len);
	out[t->len] = 0;
	return true;
}

/*
 * A number: decimal or 0x-hex; with `suffix`, an optional K, M or G
 * (binary multiples). `s`/`n` may be part of a token (lists, "+OFFSET").
 */
static bool number(struct parser *p, uint32_t line, uint32_t col, const char *s, uint32_t n,
		   bool suffix, const char *what, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	uint32_t k = 0, base = 10;
	if (suffix && n > 1) {
		char c = s[n - 1];
		if (c == 'K' || c == 'M' || c == 'G') {
			mul = c == 'K' ? 1ull << 10 : c == 'M' ? 1ull << 20 : 1ull << 30;
			n--;
		} else if (c == 'k' || c == 'm' || c == 'g') {
			error_at(p, line, col + n - 1,
				 "size suffix must be K, M or G (upper case)");
			return false;
		}
	}
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		k = 2;
	}
	if (k >= n) {
		error_at(p, line, col, "expected %s (a number), found '%.*s'", what, (int)n, s);
		return false;
	}
	for (; k < n; k++) {
		char c = s[k];
		uint32_t d;
		if (c >= '0' && c <= '9')
			d = (uint32_t)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (uint32_t)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (uint32_t)(c - 'A' + 10);
		else {
			bool sfx =
			    c == 'K' || c == 'M' || c == 'G' || c == 'k' || c == 'm' || c == 'g';
			if (sfx && !suffix && k == n - 1)
				error_at(p, line, col + k,
					 "size suffix on %s: K, M and G are for sizes only", what);
			else
				error_at(p, line, col + k, "expected %s (a number), found '%.*s'",
					 what, (int)(n + (mul > 1)), s);
			return false;
		}
		if (v > (UINT64_MAX - d) / base) {
			error_at(p, line, col, "%s '%.*s' too large", what, (int)(n + (mul > 1)),
				 s);
			return false;
		}
		v = v * base + d;
	}
	if (v > UINT64_MAX / mul) {
		error_at(p, line, col, "%s '%.*s' too large", what, (int)(n + 1), s);
		return false;
	}
	*out = v * mul;
	return true;
}

static bool perms(struct parser *p, uint32_t line, const struct tok *t, uint8_t *out)
{
	uint8_t m = 0;
	for (uint32_t k = 0; k < t->len; k++) {
		char c = t->s[k];
		uint8_t bit = c == 'r'	 ? TVMM_PERM_R
			      : c == 'w' ? TVMM_PERM_W
			      : c == 'x' ? TVMM_PERM_X
					 : 0;
		if (!bit) {
			error_at(p, line, t->col + k,
				 "unknown permission '%c' in " TOKF ": use r, w and x", c, TOKA(t));
			return false;
		}
		if (m & bit) {
			error_at(p, line, t->col + k, "permission '%c' repeated in " TOKF, c,
				 TOKA(t));
			return false;
		}
		m |= bit;
	}
	if (!(m & TVMM_PERM_R)) {
		error_at(p, line, t->col,
			 "permissions " TOKF " must include r: reads are always allowed", TOKA(t));
		return false;
	}
	if (m == (TVMM_PERM_R | TVMM_PERM_W | TVMM_PERM_X)) {
		error_at(p, line, t->col,
			 "allow rwx allows everything: the rule would protect nothing");
		return false;
	}
	*out = m;
	return true;
}

static bool action(struct parser *p, struct line *l, uint32_t *i, uint8_t *out, uint32_t *col)
{
	struct tok t;
	if (!next(p, l, i, "action (monitor, deny or halt)", &t))
		return false;
	*col = t.col;
	if (tok_is(&t, "monitor"))
		*out = TVMM_ACT_MONITOR;
	else if (tok_is(&t, "deny"))
		*out = TVMM_ACT_DENY;
	else if (tok_is(&t, "halt"))
		*out = TVMM_ACT_HALT;
	else {
		error_at(p, l->no, t.col, "unknown action " TOKF ": expected monitor, deny or halt",
			 TOKA(&t));
		return false;
	}
	return true;
}

/*
 * Walk a comma-separated list inside token t: calls item(ctx, s, n, col)
 * for each element. Empty elements are errors.
 */
typedef bool (*item_fn)(struct parser *p, uint32_t line, void *ctx, const char *s, uint32_t n,
			uint32_t col);

static bool list(struct parser *p, uint32_t line, const struct tok *t, item_fn fn, void *ctx)
{
	uint32_t k = 0;
	for (;;) {
		uint32_t start = k;
		while (k < t->len && t->s[k] != ',')
			k++;
		if (k == start) {
			error_at(p, line, t->col + start, "empty item in the list " TOKF, TOKA(t));
			return false;
		}
		if (!fn(p, line, ctx, t->s + start, k - start, t->col + start))
			return false;
		if (k == t->len)
			return true;
		k++; /* the comma */
		if (k == t->len) {
			error_at(p, line, t->col + k - 1,
				 "list " TOKF
				 " ends with ',': write lists without spaces, as A,B,C",
				 TOKA(t));
			return false;
		}
	}
}

static bool span_is_ci(const char *s, uint32_t n, const char *kw)
{
	struct tok t = {s, n, 0};
	return tok_is_ci(&t, kw);
}

/* A list item's bit into *mask, once: an item listed twice is an error. */
static bool set_once(struct parser *p, uint32_t line, uint32_t col, uint64_t *mask, uint64_t bit,
		     const char *what, const char *s, uint32_t n)
{
	if (*mask & bit) {
		error_at(p, line, col, "%s'%.*s' listed twice", what, (int)n, s);
		return false;
	}
	*mask |= bit;
	return true;
}

/* ---- statements ---- */

struct stmt {
	struct line *l;
	uint32_t i; /* next token */
	struct tvmm_pol_rule rec[STMT_RECS];
	struct pos pos[STMT_RECS];
	uint32_t nrec;
	const struct tok *kw;
};

static struct tvmm_pol_rule *add_rec(struct stmt *st, uint32_t col)
{
	struct tvmm_pol_rule *r = &st->rec[st->nrec];
	st->pos[st->nrec] = (struct pos){st->l->no, col};
	st->nrec++;
	return r;
}

/* START END: two different symbols; *col the start's column. what: "range" or "table". */
static bool symbol_pair(struct parser *p, struct stmt *st, char *sym0, char *sym1, uint32_t *col,
			const char *what)
{
	struct line *l = st->l;
	struct tok s0, s1;
	char w0[48], w1[48];
	snprintf(w0, sizeof(w0), "start symbol%s", strcmp(what, "table") ? "" : " of the table");
	snprintf(w1, sizeof(w1), "end symbol%s", strcmp(what, "table") ? "" : " of the table");
	if (!next(p, l, &st->i, w0, &s0) || !symbol(p, l->no, &s0, sym0) ||
	    !next(p, l, &st->i, w1, &s1) || !symbol(p, l->no, &s1, sym1))
		return false;
	*col = s0.col;
	if (!strcmp(sym0, sym1)) {
		error_at(p, l->no, s1.col, "start and end symbol are the same: the %s is empty",
			 what);
		return false;
	}
	return true;
}

static bool mem_stmt(struct parser *p, struct stmt *st)
{
	struct line *l = st->l;
	struct tok form, t;
	uint64_t a = 0, b = 0;
	char sym0[TVMM_POL_SYM_LEN] = "", sym1[TVMM_POL_SYM_LEN] = "";
	uint16_t kind = TVMM_RULE_MEM_SYM;
	uint32_t anchor;
	if (!next(p, l, &st->i, "'symbols', 'symbol' or 'range' after the rule name", &form))
		return false;
	anchor = form.col;
	if (tok_is(&form, "symbols")) {
		if (!symbol_pair(p, st, sym0, sym1, &anchor, "range"))
			return false;
	} else if (tok_is(&form, "symbol")) {
		if (!next(p, l, &st->i, "symbol", &t) || !symbol(p, l->no, &t, sym0))
			return false;
		anchor = t.col;
		if (st->i < l->n && l->t[st->i].len && l->t[st->i].s[0] == '+') {
			t = l->t[st->i++];
			if (!number(p, l->no, t.col + 1, t.s + 1, t.len - 1, false, "offset", &a))
				return false;
			if (a >= SIZE_LIMIT) {
				error_at(p, l->no, t.col, "offset larger than 1 TiB");
				return false;
			}
		}
		if (!keyword(p, l, &st->i, "size", "the symbol"))
			return false;
		if (!next(p, l, &st->i, "size", &t) ||
		    !number(p, l->no, t.col, t.s, t.len, true, "size", &b))
			return false;
		if (!b) {
			error_at(p, l->no, t.col, "size must not be zero");
			return false;
		}
		if (b > SIZE_LIMIT) {
			error_at(p, l->no, t.col, "size larger than 1 TiB");
			return false;
		}
	} else if (tok_is(&form, "range")) {
		struct tok g;
		kind = TVMM_RULE_MEM;
		if (!next(p, l, &st->i, "guest-physical address", &g) ||
		    !number(p, l->no, g.col, g.s, g.len, false, "guest-physical address", &a))
			return false;
		anchor = g.col;
		if (a & (PAGE_4K - 1)) {
			error_at(p, l->no, g.col, "address 0x%llx not 4 KiB aligned",
				 (unsigned long long)a);
			return false;
		}
		if (!keyword(p, l, &st->i, "size", "the address"))
			return false;
		if (!next(p, l, &st->i, "size", &t) ||
		    !number(p, l->no, t.col, t.s, t.len, true, "size", &b))
			return false;
		if (!b) {
			error_at(p, l->no, t.col, "size must not be zero");
			return false;
		}
		if (b & (PAGE_4K - 1)) {
			error_at(p, l->no, t.col, "size 0x%llx not a multiple of 4 KiB",
				 (unsigned long long)b);
			return false;
		}
		if (a >= PHYS_LIMIT || b > PHYS_LIMIT - a) {
			error_at(p, l->no, t.col,
				 "range ends beyond the 52-bit guest-physical address space");
			return false;
		}
	} else {
		error_at(p, l->no, form.col,
			 "unknown memory rule form " TOKF ": expected symbols, symbol or range",
			 TOKA(&form));
		return false;
	}
	uint8_t perm, act;
	uint32_t acol;
	if (!keyword(p, l, &st->i, "allow", "the memory range"))
		return false;
	if (!next(p, l, &st->i, "permissions (r, rw, rx)", &t) || !perms(p, l->no, &t, &perm))
		return false;
	if (!action(p, l, &st->i, &act, &acol))
		return false;
	struct tvmm_pol_rule *r = add_rec(st, anchor);
	r->kind = kind;
	r->action = act;
	r->perm = perm;
	r->a = a;
	r->b = b;
	memcpy(r->sym[0], sym0, sizeof(sym0));
	memcpy(r->sym[1], sym1, sizeof(sym1));
	return true;
}

struct cr_ctx {
	unsigned cr;
	uint64_t mask;
};

static void cr_valid_list(unsigned cr, char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = 0;
#define CR_NAME(c, name, bit)                                                                      \
	if ((c) == cr && n < cap)                                                                  \
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", name);
	TVMM_POL_CR_BITS(CR_NAME)
#undef CR_NAME
}

static bool cr_item(struct parser *p, uint32_t line, void *ctx, const char *s, uint32_t n,
		    uint32_t col)
{
	struct cr_ctx *c = ctx;
	int bit = -1;
#define CR_MATCH(cr_, name, bit_)                                                                  \
	if ((cr_) == c->cr && span_is_ci(s, n, name))                                              \
		bit = (bit_);
	TVMM_POL_CR_BITS(CR_MATCH)
#undef CR_MATCH
	if (bit < 0) {
		char valid[128];
		cr_valid_list(c->cr, valid, sizeof(valid));
		error_at(p, line, col, "unknown CR%u bit '%.*s': pin-able CR%u bits are %s", c->cr,
			 (int)(n > 40 ? 40 : n), s, c->cr, valid);
		return false;
	}
	char what[16];
	snprintf(what, sizeof(what), "CR%u bit ", c->cr);
	return set_once(p, line, col, &c->mask, 1ull << bit, what, s, n);
}

static bool cr_stmt(struct parser *p, struct stmt *st, unsigned cr)
{
	struct line *l = st->l;
	struct tok t;
	struct cr_ctx c = {cr, 0};
	uint8_t act;
	uint32_t acol;
	if (!keyword(p, l, &st->i, "pin", "the rule name"))
		return false;
	if (!next(p, l, &st->i, "bits to pin (e.g. WP or SMEP,SMAP)", &t) ||
	    !list(p, l->no, &t, cr_item, &c))
		return false;
	if (!action(p, l, &st->i, &act, &acol))
		return false;
	struct tvmm_pol_rule *r = add_rec(st, t.col);
	r->kind = TVMM_RULE_CR;
	r->action = act;
	r->a = cr;
	r->b = c.mask;
	return true;
}

static const char *msr_name(uint64_t msr)
{
#define MSR_NAME(name, index)                                                                      \
	if (msr == (index))                                                                        \
		return name;
	TVMM_POL_MSRS(MSR_NAME)
#undef MSR_NAME
	return 0;
}

struct msr_ctx {
	struct stmt *st;
	uint64_t msr[STMT_RECS];
	uint32_t col[STMT_RECS];
	uint32_t n;
};

static bool msr_item(struct parser *p, uint32_t line, void *ctx, const char *s, uint32_t n,
		     uint32_t col)
{
	struct msr_ctx *c = ctx;
	uint64_t msr = UINT64_MAX;
	bool found = false;
#define MSR_MATCH(name, index)                                                                     \
	if (!found && span_is_ci(s, n, name)) {                                                    \
		msr = (index);                                                                     \
		found = true;                                                                      \
	}
	TVMM_POL_MSRS(MSR_MATCH)
#undef MSR_MATCH
	if (!found && s[0] >= '0' && s[0] <= '9') {
		if (!number(p, line, col, s, n, false, "MSR number", &msr))
			return false;
		found = pol_msr_known(msr);
	}
	if (!found) {
		char valid[160];
		size_t k = 0;
		valid[0] = 0;
#define MSR_LIST(name, index)                                                                      \
	if (k < sizeof(valid))                                                                     \
		k += (size_t)snprintf(valid + k, sizeof(valid) - k, "%s%s", k ? ", " : "", name);
		TVMM_POL_MSRS(MSR_LIST)
#undef MSR_LIST
		error_at(p, line, col, "MSR '%.*s' not supported by thinvmm: use one of %s",
			 (int)(n > 40 ? 40 : n), s, valid);
		return false;
	}
	for (uint32_t k = 0; k < c->n; k++)
		if (c->msr[k] == msr) {
			error_at(p, line, col, "MSR %s listed twice", msr_name(msr));
			return false;
		}
	if (c->n >= STMT_RECS) { /* unreachable: fewer known MSRs than STMT_RECS */
		error_at(p, line, col, "too many MSRs in one rule");
		return false;
	}
	c->msr[c->n] = msr;
	c->col[c->n] = col;
	c->n++;
	return true;
}

static bool msr_stmt(struct parser *p, struct stmt *st)
{
	struct line *l = st->l;
	struct tok t;
	uint8_t perm = 0, act;
	uint32_t acol;
	if (!next(p, l, &st->i, "access (read, write or read,write)", &t))
		return false;
	if (tok_is(&t, "read"))
		perm = TVMM_PERM_R;
	else if (tok_is(&t, "write"))
		perm = TVMM_PERM_W;
	else if (tok_is(&t, "read,write") || tok_is(&t, "write,read"))
		perm = TVMM_PERM_R | TVMM_PERM_W;
	else {
		error_at(p, l->no, t.col,
			 "unknown MSR access " TOKF ": expected read, write or read,write",
			 TOKA(&t));
		return false;
	}
	struct msr_ctx c = {.st = st};
	if (!next(p, l, &st->i, "MSRs (e.g. LSTAR or LSTAR,STAR)", &t) ||
	    !list(p, l->no, &t, msr_item, &c))
		return false;
	if (!action(p, l, &st->i, &act, &acol))
		return false;
	for (uint32_t k = 0; k < c.n; k++) {
		struct tvmm_pol_rule *r = add_rec(st, c.col[k]);
		r->kind = TVMM_RULE_MSR;
		r->action = act;
		r->perm = perm;
		r->a = c.msr[k];
	}
	return true;
}

static bool dt_item(struct parser *p, uint32_t line, void *ctx, const char *s, uint32_t n,
		    uint32_t col)
{
	uint64_t *mask = ctx, bit;
	if (span_is_ci(s, n, "lidt"))
		bit = TVMM_DT_LIDT;
	else if (span_is_ci(s, n, "lgdt"))
		bit = TVMM_DT_LGDT;
	else {
		error_at(p, line, col,
			 "unknown descriptor-table load '%.*s': expected lidt or lgdt",
			 (int)(n > 40 ? 40 : n), s);
		return false;
	}
	return set_once(p, line, col, mask, bit, "", s, n);
}

static bool dt_stmt(struct parser *p, struct stmt *st)
{
	struct line *l = st->l;
	struct tok t;
	uint64_t mask = 0;
	uint8_t act;
	uint32_t acol;
	if (!next(p, l, &st->i, "loads (lidt, lgdt or lidt,lgdt)", &t) ||
	    !list(p, l->no, &t, dt_item, &mask))
		return false;
	if (!action(p, l, &st->i, &act, &acol))
		return false;
	if (act == TVMM_ACT_MONITOR) {
		error_at(p, l->no, acol,
			 "descriptor-table loads can be denied or halt, not monitored");
		return false;
	}
	struct tvmm_pol_rule *r = add_rec(st, t.col);
	r->kind = TVMM_RULE_DT;
	r->action = act;
	r->a = mask;
	return true;
}

/* Introspection rules cannot deny: a skipped CR3 load or a swallowed fault breaks the guest. */
static bool monitor_or_halt(struct parser *p, struct line *l, uint32_t *i, uint8_t *act,
			    const char *what)
{
	uint32_t col;
	if (!action(p, l, i, act, &col))
		return false;
	if (*act == TVMM_ACT_DENY) {
		error_at(p, l->no, col, "%s can be monitored or halt, not denied", what);
		return false;
	}
	return true;
}

/* cr3 NAME write ACTION */
static bool cr3_stmt(struct parser *p, struct stmt *st)
{
	struct line *l = st->l;
	uint8_t act;
	uint32_t col = st->i < l->n ? l->t[st->i].col : 1;
	if (!keyword(p, l, &st->i, "write", "the rule name") ||
	    !monitor_or_halt(p, l, &st->i, &act, "CR3 writes"))
		return false;
	struct tvmm_pol_rule *r = add_rec(st, col);
	r->kind = TVMM_RULE_CR3;
	r->action = act;
	return true;
}

static const struct {
	const char *name;
	unsigned vector;
} exc_names[] = {{"de", 0}, {"ud", 6}, {"np", 11}, {"ss", 12}, {"gp", 13}, {"pf", 14}, {"ac", 17}};

static bool exc_item(struct parser *p, uint32_t line, void *ctx, const char *s, uint32_t n,
		     uint32_t col)
{
	uint64_t *mask = ctx, v = ~0ull;
	for (unsigned k = 0; k < sizeof(exc_names) / sizeof(exc_names[0]); k++)
		if (span_is_ci(s, n, exc_names[k].name))
			v = exc_names[k].vector;
	if (v == ~0ull && n && n <= 2 && s[0] >= '0' && s[0] <= '9' &&
	    !number(p, line, col, s, n, false, "vector", &v))
		return false;
	if (v > 31 || !(TVMM_EXC_TRAPPABLE & (1u << v))) {
		error_at(p, line, col,
			 "exception '%.*s' cannot be trapped: de, ud, np, ss, gp, pf, ac "
			 "(0, 6, 11, 12, 13, 14, 17)",
			 (int)(n > 40 ? 40 : n), s);
		return false;
	}
	return set_once(p, line, col, mask, 1ull << v, "", s, n);
}

/* exception NAME VECTOR[,VECTOR...] ACTION */
static bool exc_stmt(struct parser *p, struct stmt *st)
{
	struct line *l = st->l;
	struct tok t;
	uint64_t mask = 0;
	uint8_t act;
	if (!next(p, l, &st->i, "exceptions (e.g. ud,gp,pf)", &t) ||
	    !list(p, l->no, &t, exc_item, &mask) ||
	    !monitor_or_halt(p, l, &st->i, &act, "exceptions"))
		return false;
	struct tvmm_pol_rule *r = add_rec(st, t.col);
	r->kind = TVMM_RULE_EXC;
	r->action = act;
	r->a = mask;
	return true;
}

/* patch NAME jump-labels symbols START END: no action (allowed patches are counted). */
static bool patch_stmt(struct parser *p, struct stmt *st)
{
	struct line *l = st->l;
	struct tok t;
	char sym0[TVMM_POL_SYM_LEN] = "", sym1[TVMM_POL_SYM_LEN] = "";
	uint32_t col;
	if (!next(p, l, &st->i, "'jump-labels' (the only patch table so far)", &t))
		return false;
	if (!tok_is(&t, "jump-labels")) {
		error_at(p, l->no, t.col, "unknown patch table " TOKF ": expected jump-labels",
			 TOKA(&t));
		return false;
	}
	if (!keyword(p, l, &st->i, "symbols", "jump-labels") ||
	    !symbol_pair(p, st, sym0, sym1, &col, "table"))
		return false;
	struct tvmm_pol_rule *r = add_rec(st, col);
	r->kind = TVMM_RULE_PATCH;
	r->action = TVMM_ACT_MONITOR;
	memcpy(r->sym[0], sym0, sizeof(sym0));
	memcpy(r->sym[1], sym1, sizeof(sym1));
	return true;
}

static void policy_stmt(struct parser *p, struct line *l)
{
	struct pol_result *res = p->res;
	uint32_t i = 1;
	struct tok t;
	if (p->have_policy) {
		error_at(p, l->no, l->t[0].col,
			 "second 'policy' statement (the first is on line %u)", p->policy_line);
		return;
	}
	if (p->nstmt && !p->policy_err) {
		error_at(p, l->no, l->t[0].col, "'policy NAME' must be the first statement");
		p->policy_err = true;
	}
	p->have_policy = true;
	p->policy_line = l->no;
	if (!next(p, l, &i, "policy name", &t) || !check_name(p, l->no, &t, "policy name") ||
	    !end_of_statement(p, l, i))
		return;
	memcpy(header(res)->name, t.s, t.len);
}

static void rule_stmt(struct parser *p, struct line *l)
{
	struct pol_result *res = p->res;
	struct stmt st = {.l = l, .i = 1, .kw = &l->t[0]};
	const struct tok *kw = st.kw;
	struct tok name;
	bool ok;
	uint32_t id = p->nstmt++;
	if (!p->have_policy && !p->policy_err) {
		error_at(p, l->no, kw->col, "the first statement must be 'policy NAME'");
		p->policy_err = true;
	}
	bool known = tok_is(kw, "memory") || tok_is(kw, "cr0") || tok_is(kw, "cr4") ||
		     tok_is(kw, "msr") || tok_is(kw, "dt") || tok_is(kw, "patch") ||
		     tok_is(kw, "cr3") || tok_is(kw, "exception");
	if (!known) {
		error_at(p, l->no, kw->col,
			 "unknown statement " TOKF ": expected policy, memory, cr0, cr3, cr4, msr, "
			 "dt, exception or patch (lower case)",
			 TOKA(kw));
		return;
	}
	if (!next(p, l, &st.i, "rule name", &name) || !check_name(p, l->no, &name, "rule name"))
		return;
	for (uint32_t k = 0; k < p->nnames; k++)
		if (strlen(p->names[k].name) == name.len &&
		    !memcmp(p->names[k].name, name.s, name.len)) {
			error_at(p, l->no, name.col,
				 "duplicate rule name " TOKF " (first used on line %u)",
				 TOKA(&name), p->names[k].line);
			return;
		}
	if (p->nnames < NAMES_MAX) {
		memcpy(p->names[p->nnames].name, name.s, name.len);
		p->names[p->nnames].name[name.len] = 0;
		p->names[p->nnames].line = l->no;
		p->nnames++;
	}
	if (tok_is(kw, "memory"))
		ok = mem_stmt(p, &st);
	else if (tok_is(kw, "cr0"))
		ok = cr_stmt(p, &st, 0);
	else if (tok_is(kw, "cr4"))
		ok = cr_stmt(p, &st, 4);
	else if (tok_is(kw, "msr"))
		ok = msr_stmt(p, &st);
	else if (tok_is(kw, "patch"))
		ok = patch_stmt(p, &st);
	else if (tok_is(kw, "cr3"))
		ok = cr3_stmt(p, &st);
	else if (tok_is(kw, "exception"))
		ok = exc_stmt(p, &st);
	else
		ok = dt_stmt(p, &st);
	if (!ok || !end_of_statement(p, l, st.i))
		return;
	if (res->nrecords + st.nrec > TVMM_POL_MAX_RULES) {
		if (!p->too_many)
			error_at(p, l->no, kw->col,
				 "more than %u rule records (an msr rule makes one per MSR)",
				 TVMM_POL_MAX_RULES);
		p->too_many = true;
		return;
	}
	for (uint32_t k = 0; k < st.nrec; k++) {
		struct tvmm_pol_rule *r = &rules(res)[res->nrecords];
		*r = st.rec[k];
		r->id = (uint16_t)(id > UINT16_MAX ? UINT16_MAX : id);
		r->line = (uint16_t)(l->no > UINT16_MAX ? UINT16_MAX : l->no);
		memcpy(r->name, name.s, name.len);
		p->pos[res->nrecords] = st.pos[k];
		res->nrecords++;
	}
	res->nstatements++;
}

static void statement(struct parser *p, uint32_t no, const char *s, size_t n)
{
	struct line l;
	l.no = no;
	tokenize(&l, s, n);
	if (!l.n)
		return;
	if (tok_is(&l.t[0], "policy"))
		policy_stmt(p, &l);
	else
		rule_stmt(p, &l);
}

/* ---- whole-policy checks ---- */

static void set_header(struct pol_result *res, uint32_t n)
{
	struct tvmm_pol_header *h = header(res);
	h->magic = TVMM_POL_MAGIC;
	h->version = TVMM_POL_VERSION;
	h->nrules = n;
	h->size = (uint32_t)(sizeof(*h) + n * sizeof(struct tvmm_pol_rule));
	h->reserved = 0;
}

/* pol_check over the given records alone (at most 2), under a copy of the header. */
static int check_records(const struct pol_result *res, const struct tvmm_pol_rule *x,
			 const struct tvmm_pol_rule *y, struct pol_error *e)
{
	_Alignas(
	    8) unsigned char buf[sizeof(struct tvmm_pol_header) + 2 * sizeof(struct tvmm_pol_rule)];
	struct tvmm_pol_header *h = (struct tvmm_pol_header *)buf;
	struct tvmm_pol_rule *r = (struct tvmm_pol_rule *)(h + 1);
	uint32_t n = y ? 2 : 1;
	memcpy(h, res->blob, sizeof(*h));
	h->nrules = n;
	h->size = (uint32_t)(sizeof(*h) + n * sizeof(*r));
	r[0] = *x;
	if (y)
		r[1] = *y;
	return pol_check(buf, h->size, POL_SOURCE, e);
}

static void remove_record(struct parser *p, uint32_t i)
{
	struct pol_result *res = p->res;
	struct tvmm_pol_rule *r = rules(res);
	uint32_t n = res->nrecords;
	memmove(&r[i], &r[i + 1], (n - i - 1) * sizeof(*r));
	memset(&r[n - 1], 0, sizeof(*r));
	memmove(&p->pos[i], &p->pos[i + 1], (n - i - 1) * sizeof(p->pos[0]));
	res->nrecords--;
}

static void report_clash(struct parser *p, uint32_t i, uint32_t j)
{
	const struct tvmm_pol_rule *r = rules(p->res), *x = &r[i], *y = &r[j];
	struct pos at = p->pos[i];
	switch (x->kind) {
	case TVMM_RULE_MEM:
		error_at(p, at.line, at.col, "memory range overlaps rule '%s' (line %u)", y->name,
			 y->line);
		break;
	case TVMM_RULE_CR:
		error_at(p, at.line, at.col, "CR%u bit already pinned by rule '%s' (line %u)",
			 (unsigned)x->a, y->name, y->line);
		break;
	case TVMM_RULE_MSR:
		error_at(p, at.line, at.col, "MSR %s %s already trapped by rule '%s' (line %u)",
			 msr_name(x->a), (x->perm & y->perm & TVMM_PERM_W) ? "write" : "read",
			 y->name, y->line);
		break;
	case TVMM_RULE_DT:
		error_at(p, at.line, at.col, "%s already trapped by rule '%s' (line %u)",
			 (x->a & y->a & TVMM_DT_LIDT) ? "lidt" : "lgdt", y->name, y->line);
		break;
	case TVMM_RULE_CR3:
		error_at(p, at.line, at.col, "CR3 writes already trapped by rule '%s' (line %u)",
			 y->name, y->line);
		break;
	case TVMM_RULE_EXC:
		error_at(p, at.line, at.col, "exception already trapped by rule '%s' (line %u)",
			 y->name, y->line);
		break;
	case TVMM_RULE_PATCH:
		error_at(p, at.line, at.col,
			 "only one patch table per policy: rule '%s' (line %u) has it", y->name,
			 y->line);
		break;
	default:
		error_at(p, at.line, at.col, "overlaps rule '%s' (line %u)", y->name, y->line);
	}
}

/*
 * Symbol rules are resolved by the loader; two that start at the same
 * symbol would clash there, so refuse the obvious cases here.
 */
static void symbol_clashes(struct parser *p)
{
	struct pol_result *res = p->res;
	struct tvmm_pol_rule *r = rules(res);
	for (uint32_t i = 0; i < res->nrecords && !p->stop; i++) {
		if (r[i].kind != TVMM_RULE_MEM_SYM)
			continue;
		for (uint32_t j = 0; j < i; j++) {
			if (r[j].kind != TVMM_RULE_MEM_SYM || strcmp(r[i].sym[0], r[j].sym[0]))
				continue;
			bool ei = r[i].sym[1][0], ej = r[j].sym[1][0];
			bool clash =
			    (ei && ej) || (ei && r[j].a == 0) || (ej && r[i].a == 0) ||
			    (!ei && !ej && r[i].a < r[j].a + r[j].b && r[j].a < r[i].a + r[i].b);
			if (clash) {
				error_at(p, p->pos[i].line, p->pos[i].col,
					 "symbol range overlaps rule '%s' (line %u)", r[j].name,
					 r[j].line);
				remove_record(p, i);
				i--;
				break;
			}
		}
	}
}

/* pol_check over everything; each rejected record is reported at its source and dropped. */
static void checker_pass(struct parser *p)
{
	struct pol_result *res = p->res;
	while (!p->stop) {
		struct pol_error e;
		set_header(res, res->nrecords);
		if (!pol_check(res->blob, header(res)->size, POL_SOURCE, &e))
			return;
		if (e.rule < 0 || (uint64_t)e.rule >= res->nrecords) {
			error_at(p, 1, 1,
				 "internal error: the policy checker rejects the header: %s",
				 e.why);
			return;
		}
		uint32_t i = (uint32_t)e.rule, j;
		struct tvmm_pol_rule *r = rules(res);
		if (check_records(res, &r[i], 0, &e)) {
			error_at(p, p->pos[i].line, p->pos[i].col,
				 "internal error: the policy checker rejects this rule: %s", e.why);
		} else {
			for (j = 0; j < i; j++)
				if (check_records(res, &r[j], &r[i], &e))
					break;
			if (j < i)
				report_clash(p, i, j);
			else
				error_at(p, p->pos[i].line, p->pos[i].col,
					 "internal error: the policy checker rejects this rule");
		}
		remove_record(p, i);
	}
}

int pol_parse(const char *buf, size_t len, const char *file, struct pol_result *res)
{
	static const struct parser zero;
	struct parser p = zero;
	memset(res, 0, sizeof(*res));
	p.res = res;
	p.file = file ? file : "<input>";
	if (len > POL_MAX_FILE) {
		error_at(&p, 1, 1, "file larger than 1 MiB (%zu bytes)", len);
		return -1;
	}
	if (scan_bytes(&p, buf, len))
		return -1;
	const char *s = buf, *end = buf + len;
	uint32_t no = 0;
	while (s < end && !p.stop) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;
		statement(&p, ++no, s, (size_t)(le - s));
		s = nl ? nl + 1 : end;
	}
	if (!p.have_policy && !p.policy_err)
		error_at(&p, 1, 1, "no 'policy NAME' statement");
	else if (p.have_policy && !p.nstmt)
		error_at(&p, p.policy_line, 1, "the policy has no rules: it would protect nothing");
	symbol_clashes(&p);
	checker_pass(&p);
	if (res->nerrors)
		return -1;
	set_header(res, res->nrecords);
	res->blob_len = header(res)->size;
	return 0;
}

/* ---- blob to text ---- */

struct sb {
	char *p;
	size_t cap, len;
};

__attribute__((format(printf, 2, 3))) static void put(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->len < b->cap ? b->p + b->len : 0,
			  b->len < b->cap ? b->cap - b->len : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n;
}

/* A name or symbol from a checked blob: printed as is if it is in the language's charset. */
static void put_ident(struct sb *b, const char *s, size_t max)
{
	for (size_t i = 0; i < max && s[i]; i++) {
		char c = s[i];
		if (name_char(c) || c == '$')
			put(b, "%c", c);
		else
			put(b, "\\x%02x", (unsigned char)c);
	}
}

static void put_size(struct sb *b, uint64_t v)
{
	if (v && !(v & ((1ull << 30) - 1)))
		put(b, "%lluG", (unsigned long long)(v >> 30));
	else if (v && !(v & ((1ull << 20) - 1)))
		put(b, "%lluM", (unsigned long long)(v >> 20));
	else if (v && !(v & ((1ull << 10) - 1)))
		put(b, "%lluK", (unsigned long long)(v >> 10));
	else
		put(b, "%llu", (unsigned long long)v);
}

static const char *act_name(uint8_t a)
{
	return a == TVMM_ACT_MONITOR ? "monitor" : a == TVMM_ACT_DENY ? "deny" : "halt";
}

long pol_unparse(const void *blob, size_t len, char *out, size_t cap, struct pol_error *err)
{
	if (pol_check(blob, len, POL_SOURCE, err))
		return -1;
	const struct tvmm_pol_header *h = blob;
	const struct tvmm_pol_rule *r = (const struct tvmm_pol_rule *)(h + 1);
	struct sb b = {out, cap, 0};
	if (cap)
		out[0] = 0;
	put(&b, "policy ");
	put_ident(&b, h->name, TVMM_POL_NAME_LEN);
	put(&b, "\n");
	for (uint32_t i = 0; i < h->nrules; i++) {
		const struct tvmm_pol_rule *x = &r[i];
		uint32_t last = i;
		switch (x->kind) {
		case TVMM_RULE_MEM:
		case TVMM_RULE_MEM_SYM:
			put(&b, "memory ");
			put_ident(&b, x->name, TVMM_POL_NAME_LEN);
			if (x->kind == TVMM_RULE_MEM) {
				put(&b, " range 0x%llx size ", (unsigned long long)x->a);
				put_size(&b, x->b);
			} else if (x->sym[1][0]) {
				put(&b, " symbols ");
				put_ident(&b, x->sym[0], TVMM_POL_SYM_LEN);
				put(&b, " ");
				put_ident(&b, x->sym[1], TVMM_POL_SYM_LEN);
			} else {
				put(&b, " symbol ");
				put_ident(&b, x->sym[0], TVMM_POL_SYM_LEN);
				if (x->a)
					put(&b, " +0x%llx", (unsigned long long)x->a);
				put(&b, " size ");
				put_size(&b, x->b);
			}
			put(&b, " allow r%s%s", (x->perm & TVMM_PERM_W) ? "w" : "",
			    (x->perm & TVMM_PERM_X) ? "x" : "");
			break;
		case TVMM_RULE_CR: {
			bool first = true;
			put(&b, "cr%u ", (unsigned)x->a);
			put_ident(&b, x->name, TVMM_POL_NAME_LEN);
			put(&b, " pin ");
#define CR_PUT(cr, name, bit)                                                                      \
	if (x->a == (cr) && (x->b & (1ull << (bit)))) {                                            \
		put(&b, "%s%s", first ? "" : ",", name);                                           \
		first = false;                                                                     \
	}
			TVMM_POL_CR_BITS(CR_PUT)
#undef CR_PUT
			break;
		}
		case TVMM_RULE_MSR:
			while (last + 1 < h->nrules && r[last + 1].kind == TVMM_RULE_MSR &&
			       r[last + 1].id == x->id && r[last + 1].perm == x->perm &&
			       r[last + 1].action == x->action &&
			       !strncmp(r[last + 1].name, x->name, TVMM_POL_NAME_LEN))
				last++;
			put(&b, "msr ");
			put_ident(&b, x->name, TVMM_POL_NAME_LEN);
			put(&b, " %s ",
			    x->perm == TVMM_PERM_R   ? "read"
			    : x->perm == TVMM_PERM_W ? "write"
						     : "read,write");
			for (uint32_t k = i; k <= last; k++)
				put(&b, "%s%s", k == i ? "" : ",", msr_name(r[k].a));
			break;
		case TVMM_RULE_PATCH:
			put(&b, "patch ");
			put_ident(&b, x->name, TVMM_POL_NAME_LEN);
			put(&b, " jump-labels symbols ");
			put_ident(&b, x->sym[0], TVMM_POL_SYM_LEN);
			put(&b, " ");
			put_ident(&b, x->sym[1], TVMM_POL_SYM_LEN);
			put(&b, "    # rule %u, line %u\n", (unsigned)x->id, (unsigned)x->line);
			continue;
		case TVMM_RULE_CR3:
			put(&b, "cr3 ");
			put_ident(&b, x->name, TVMM_POL_NAME_LEN);
			put(&b, " write");
			break;
		case TVMM_RULE_EXC: {
			bool first = true;
			put(&b, "exception ");
			put_ident(&b, x->name, TVMM_POL_NAME_LEN);
			put(&b, " ");
			for (unsigned k = 0; k < sizeof(exc_names) / sizeof(exc_names[0]); k++)
				if (x->a & (1ull << exc_names[k].vector)) {
					put(&b, "%s%s", first ? "" : ",", exc_names[k].name);
					first = false;
				}
			break;
		}
		case TVMM_RULE_DT:
			put(&b, "dt ");
			put_ident(&b, x->name, TVMM_POL_NAME_LEN);
			put(&b, " %s%s%s", (x->a & TVMM_DT_LIDT) ? "lidt" : "",
			    x->a == (TVMM_DT_LIDT | TVMM_DT_LGDT) ? "," : "",
			    (x->a & TVMM_DT_LGDT) ? "lgdt" : "");
			break;
		}
		put(&b, " %s    # rule %u, line %u\n", act_name(x->action), (unsigned)x->id,
		    (unsigned)x->line);
		i = last;
	}
	return (long)b.len;
}
