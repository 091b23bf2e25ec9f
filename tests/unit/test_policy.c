/* SPDX-License-Identifier: MIT */
/*
 * The policy engine: the structural check of a compiled blob (polcheck.c),
 * TVMM_HC_LOCK against a fake backend, fake guest memory and a nested map
 * built in the fake pool, and the verdicts each locked rule gives through
 * core_handle_exit (memory, CR, MSR, descriptor tables), the violation
 * records (events.c) and the CR/MSR value checks the CPU would make
 * (cr.c). The violation ring is global and lives across tests, so every
 * test runs on its own CPU number: no record folds into another test's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/polcheck.h"
#include "fake.h"
#include "fake_pool.h"
#include "fake_x86.h"
#include "test.h"

#define VEC_GP 13

#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)

#define CR0_PE	 (1ull << 0)
#define CR0_TS	 (1ull << 3)
#define CR0_AM	 (1ull << 18)
#define CR0_WP_	 (1ull << 16)
#define CR0_NW_	 (1ull << 29)
#define CR0_CD_	 (1ull << 30)
#define CR0_PG_	 (1ull << 31)
#define CR4_PAE_ (1ull << 5)
#define CR4_PCID (1ull << 17)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define CR4_PKE	 (1ull << 22)
#define CR4_L57	 (1ull << 12)
#define EFER_LM	 ((1ull << 8) | (1ull << 10)) /* LME | LMA */

#define MSR_EFER_      0xc0000080u
#define MSR_STAR_      0xc0000081u
#define MSR_LSTAR_     0xc0000082u
#define MSR_SFMASK_    0xc0000084u
#define MSR_SYSE_CS    0x174u
#define MSR_SYSE_EIP   0x176u
#define MSR_APIC_BASE_ 0x1bu

/* ---- blobs ---- */

#define MAXR 16

struct blob {
	struct tvmm_pol_header h;
	struct tvmm_pol_rule r[MAXR];
};
_Static_assert(sizeof(struct blob) == 56 + MAXR * 184, "no padding in the test blob");

static void blob_init(struct blob *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->h.magic = TVMM_POL_MAGIC;
	b->h.version = TVMM_POL_VERSION;
	b->h.size = sizeof(b->h);
	snprintf(b->h.name, sizeof(b->h.name), "%s", name);
}

/* Rule i gets id 100 + i and line 10 + i. */
static struct tvmm_pol_rule *add(struct blob *b, uint16_t kind, uint8_t action, uint8_t perm,
				 uint64_t a, uint64_t bb)
{
	uint32_t i = b->h.nrules;
	struct tvmm_pol_rule *r = &b->r[i];

	if (!CHECK(i < MAXR))
		return &b->r[0];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->action = action;
	r->perm = perm;
	r->id = (uint16_t)(100 + i);
	r->line = (uint16_t)(10 + i);
	r->a = a;
	r->b = bb;
	snprintf(r->name, sizeof(r->name), "rule%u", i);
	b->h.nrules = i + 1;
	b->h.size = (uint32_t)(sizeof(b->h) + b->h.nrules * sizeof(*r));
	return r;
}

static uint64_t blob_len(const struct blob *b)
{
	return sizeof(b->h) + (uint64_t)b->h.nrules * sizeof(b->r[0]);
}

/* pol_check on a heap copy of exactly len bytes, so ASan sees any read past it. */
static int check_exact(const void *p, uint64_t len, enum pol_stage stage, struct pol_error *err)
{
	uint8_t *c = malloc(len ? len : 1);
	int ret;

	memcpy(c, p, len);
	ret = pol_check(len ? c : c + 1, len, stage, err);
	free(c);
	return ret;
}

/* ---- pol_check ---- */

#define R_ TVMM_PERM_R
#define W_ TVMM_PERM_W
#define X_ TVMM_PERM_X

/* Five rules of every kind the VMM takes, none clashing. */
static void base_blob(struct blob *b)
{
	blob_init(b, "base");
	add(b, TVMM_RULE_MEM, TVMM_ACT_DENY, R_, 0x200000, 0x1000);
	add(b, TVMM_RULE_CR, TVMM_ACT_DENY, 0, 0, CR0_WP_);
	add(b, TVMM_RULE_MSR, TVMM_ACT_DENY, W_, MSR_LSTAR_, 0);
	add(b, TVMM_RULE_DT, TVMM_ACT_DENY, 0, TVMM_DT_LIDT, 0);
	add(b, TVMM_RULE_MEM, TVMM_ACT_MONITOR, R_ | X_, 0x300000, 0x2000);
}

static void expect_ok(const struct blob *b, enum pol_stage stage, int line)
{
	struct pol_error err = {123, "x"};

	if (!CHECK_EQ(check_exact(b, blob_len(b), stage, &err), 0) | !CHECK_EQ(err.rule, -1) |
	    !CHECK(err.why == NULL))
		fprintf(stderr, "  (line %d: %s)\n", line, err.why ? err.why : "-");
}

static void expect_bad_len(const void *b, uint64_t len, enum pol_stage stage, int64_t rule,
			   int line)
{
	struct pol_error err = {123, NULL};

	if (!CHECK_EQ(check_exact(b, len, stage, &err), -1) | !CHECK_EQ(err.rule, rule) |
	    !CHECK(err.why != NULL && err.why[0]))
		fprintf(stderr, "  (line %d: %s)\n", line, err.why ? err.why : "-");
}

#define EXPECT_OK(b, stage)	   expect_ok(b, stage, __LINE__)
#define EXPECT_BAD(b, stage, rule) expect_bad_len(b, blob_len(b), stage, rule, __LINE__)

/* Applies `change` to a fresh base blob and expects rule `idx` to be refused. */
#define BAD_RULE(idx, change)                                                                      \
	do {                                                                                       \
		base_blob(&b);                                                                     \
		change;                                                                            \
		EXPECT_BAD(&b, POL_RESOLVED, idx);                                                 \
	} while (0)

TEST(polcheck_valid)
{
	struct blob b;

	base_blob(&b);
	EXPECT_OK(&b, POL_RESOLVED);
	EXPECT_OK(&b, POL_VA);
	EXPECT_OK(&b, POL_SOURCE);
	/* No rules at all is a valid (empty) policy. */
	blob_init(&b, "empty");
	EXPECT_OK(&b, POL_RESOLVED);
	/* Ranges that touch but do not overlap; the same bits of CR0 and CR4. */
	base_blob(&b);
	add(&b, TVMM_RULE_MEM, TVMM_ACT_HALT, R_ | W_, 0x201000, 0x1000);
	add(&b, TVMM_RULE_MEM, TVMM_ACT_HALT, R_, 0x1ff000, 0x1000);
	add(&b, TVMM_RULE_CR, TVMM_ACT_MONITOR, 0, 4, 1ull << 16);   /* FSGSBASE, bit 16 as WP */
	add(&b, TVMM_RULE_MSR, TVMM_ACT_MONITOR, R_, MSR_LSTAR_, 0); /* reads; writes are rule 2 */
	add(&b, TVMM_RULE_DT, TVMM_ACT_HALT, 0, TVMM_DT_LGDT, 0);
	EXPECT_OK(&b, POL_RESOLVED);
	/* Every pin-able bit and every known MSR. */
	blob_init(&b, "all");
	add(&b, TVMM_RULE_CR, TVMM_ACT_DENY, 0, 0, pol_cr_pinnable(0));
	add(&b, TVMM_RULE_CR, TVMM_ACT_DENY, 0, 4, pol_cr_pinnable(4));
#define ADD_MSR(name, index) add(&b, TVMM_RULE_MSR, TVMM_ACT_MONITOR, R_ | W_, index, 0);
	TVMM_POL_MSRS(ADD_MSR)
#undef ADD_MSR
	EXPECT_OK(&b, POL_RESOLVED);
}

TEST(polcheck_pinnable_and_known)
{
	CHECK_EQ(pol_cr_pinnable(0), (1ull << 0) | (1ull << 16) | (1ull << 31));
	CHECK_EQ(pol_cr_pinnable(4),
		 (1ull << 11) | (1ull << 16) | (1ull << 20) | (1ull << 21) | (1ull << 22));
	CHECK_EQ(pol_cr_pinnable(3), 0);
	CHECK_EQ(pol_cr_pinnable(8), 0);
	CHECK_EQ(pol_cr_pinnable(4ull << 32), 0);
	CHECK(pol_msr_known(MSR_EFER_));
	CHECK(pol_msr_known(MSR_LSTAR_));
	CHECK(pol_msr_known(0x174));
	CHECK(pol_msr_known(0x176));
	CHECK(!pol_msr_known(0x177));
	CHECK(!pol_msr_known(MSR_APIC_BASE_));
	CHECK(!pol_msr_known(0xc0000085));
	CHECK(!pol_msr_known(0x1c0000082ull)); /* only the low 32 bits match: refused */
}

TEST(polcheck_header)
{
	struct blob b;
	uint8_t small[64] = {0};

	/* Shorter than the header, down to nothing. */
	base_blob(&b);
	expect_bad_len(&b, 0, POL_RESOLVED, -1, __LINE__);
	expect_bad_len(&b, 1, POL_RESOLVED, -1, __LINE__);
	expect_bad_len(&b, sizeof(b.h) - 1, POL_RESOLVED, -1, __LINE__);
	expect_bad_len(small, sizeof(b.h) - 1, POL_RESOLVED, -1, __LINE__);
	/* Magic, version. */
	base_blob(&b);
	b.h.magic ^= 1ull << 56;
	EXPECT_BAD(&b, POL_RESOLVED, -1);
	base_blob(&b);
	b.h.version = 2;
	EXPECT_BAD(&b, POL_RESOLVED, -1);
	base_blob(&b);
	b.h.version = 0;
	EXPECT_BAD(&b, POL_RESOLVED, -1);
	/* Size field, length and rule count must agree. */
	base_blob(&b);
	b.h.size += 184;
	EXPECT_BAD(&b, POL_RESOLVED, -1);
	base_blob(&b);
	expect_bad_len(&b, blob_len(&b) - 1, POL_RESOLVED, -1, __LINE__);
	base_blob(&b);
	b.h.size = (uint32_t)blob_len(&b) + 184;
	expect_bad_len(&b, blob_len(&b) + 184, POL_RESOLVED, -1, __LINE__); /* a rule too many */
	base_blob(&b);
	b.h.nrules--;
	expect_bad_len(&b, blob_len(&b) + 184, POL_RESOLVED, -1, __LINE__);
	base_blob(&b);
	b.h.size = 0;
	EXPECT_BAD(&b, POL_RESOLVED, -1);
	/* Reserved, name. */
	base_blob(&b);
	b.h.reserved = 1;
	EXPECT_BAD(&b, POL_RESOLVED, -1);
	base_blob(&b);
	memset(b.h.name, 'A', sizeof(b.h.name));
	EXPECT_BAD(&b, POL_RESOLVED, -1);
	/* The last byte of the name is the NUL: fine. */
	base_blob(&b);
	memset(b.h.name, 'A', sizeof(b.h.name) - 1);
	EXPECT_OK(&b, POL_RESOLVED);
	/* A header alone, no rules: a 56-byte blob of exactly the header. */
	blob_init(&b, "h");
	expect_bad_len(&b, sizeof(b.h) + 1, POL_RESOLVED, -1, __LINE__);
}

TEST(polcheck_rule_count_limit)
{
	uint64_t len = sizeof(struct tvmm_pol_header) +
		       (uint64_t)(TVMM_POL_MAX_RULES + 1) * sizeof(struct tvmm_pol_rule);
	uint8_t *buf = calloc(1, len);
	struct tvmm_pol_header *h = (struct tvmm_pol_header *)buf;
	struct tvmm_pol_rule *r = (struct tvmm_pol_rule *)(h + 1);
	struct pol_error err;

	h->magic = TVMM_POL_MAGIC;
	h->version = TVMM_POL_VERSION;
	for (uint32_t i = 0; i <= TVMM_POL_MAX_RULES; i++) {
		r[i].kind = TVMM_RULE_MEM;
		r[i].action = TVMM_ACT_DENY;
		r[i].perm = TVMM_PERM_R;
		r[i].a = 0x100000 + i * 0x1000ull;
		r[i].b = 0x1000;
	}
	/* Exactly the maximum: accepted. */
	h->nrules = TVMM_POL_MAX_RULES;
	h->size = (uint32_t)(len - sizeof(*r));
	CHECK_EQ(check_exact(buf, len - sizeof(*r), POL_RESOLVED, &err), 0);
	/* One more, with size and length agreeing: refused for the count. */
	h->nrules = TVMM_POL_MAX_RULES + 1;
	h->size = (uint32_t)len;
	expect_bad_len(buf, len, POL_RESOLVED, -1, __LINE__);
	/* A huge count does not overflow the size check. */
	h->nrules = 0xffffffffu;
	expect_bad_len(buf, len, POL_RESOLVED, -1, __LINE__);
	/* The last rule of a full blob is checked too. */
	h->nrules = TVMM_POL_MAX_RULES;
	h->size = (uint32_t)(len - sizeof(*r));
	r[TVMM_POL_MAX_RULES - 1].a = r[0].a;
	expect_bad_len(buf, len - sizeof(*r), POL_RESOLVED, TVMM_POL_MAX_RULES - 1, __LINE__);
	free(buf);
}

TEST(polcheck_rule_common)
{
	struct blob b;

	/* Name not terminated, action out of range, kind unknown. */
	BAD_RULE(2, memset(b.r[2].name, 'x', sizeof(b.r[2].name)));
	BAD_RULE(1, b.r[1].action = 0);
	BAD_RULE(1, b.r[1].action = 4);
	BAD_RULE(4, b.r[4].action = 0xff);
	BAD_RULE(3, b.r[3].kind = 0);
	BAD_RULE(3, b.r[3].kind = 8);
	BAD_RULE(0, b.r[0].kind = 0x101); /* MEM in the low byte only */
	/* Symbol names on rules that take none. */
	BAD_RULE(1, b.r[1].sym[0][0] = 'x');
	BAD_RULE(2, b.r[2].sym[1][63] = 'x');
	BAD_RULE(0, b.r[0].sym[1][5] = 'x');
}

TEST(polcheck_mem_rules)
{
	struct blob b;

	BAD_RULE(0, b.r[0].a += 0x800); /* start not page-aligned */
	BAD_RULE(0, b.r[0].b = 0x1800); /* length not page-aligned */
	BAD_RULE(4, b.r[4].a += 1);
	BAD_RULE(0, b.r[0].b = 0);					  /* empty */
	BAD_RULE(0, b.r[0].a = 0xfffffffffffff000ull; b.r[0].b = 0x2000); /* wraps */
	BAD_RULE(0, b.r[0].a = 0x1000; b.r[0].b = 0xfffffffffffff000ull); /* ends at 2^64 */
	BAD_RULE(0, b.r[0].perm = R_ | W_ | X_);			  /* protects nothing */
	BAD_RULE(4, b.r[4].perm = W_);					  /* no read */
	BAD_RULE(4, b.r[4].perm = W_ | X_);
	BAD_RULE(0, b.r[0].perm = 0);
	BAD_RULE(0, b.r[0].perm = R_ | 8); /* unknown permission bit */
	BAD_RULE(0, b.r[0].perm = R_ | 0x80);
	/* Perm R alone, R+W and R+X are each fine. */
	base_blob(&b);
	b.r[0].perm = R_ | W_;
	EXPECT_OK(&b, POL_RESOLVED);
	b.r[0].perm = R_ | X_;
	EXPECT_OK(&b, POL_RESOLVED);
	/* The last page of the address space, without wrapping. */
	b.r[0].a = 0xfffffffffffff000ull;
	b.r[0].b = 0x1000;
	EXPECT_BAD(&b, POL_RESOLVED, 0); /* a + b is 0: wraps */
	b.r[0].a = 0xffffffffffffe000ull;
	b.r[0].b = 0x1000;
	EXPECT_OK(&b, POL_RESOLVED);
}

TEST(polcheck_overlaps)
{
	struct blob b;

	/* A later rule overlapping an earlier one is named, not the earlier one. */
	BAD_RULE(4, b.r[4].a = 0x200000);
	BAD_RULE(4, b.r[4].a = 0x1ff000); /* [0x1ff000, 0x201000) over [0x200000, 0x201000) */
	BAD_RULE(5, add(&b, TVMM_RULE_MEM, TVMM_ACT_DENY, R_, 0, GiB(1)));
	BAD_RULE(5,
		 add(&b, TVMM_RULE_MEM, TVMM_ACT_DENY, R_, 0x301000, 0x1000)); /* inside rule 4 */
	/* The same MSR access twice; the same CR bit twice; the same DT load twice. */
	BAD_RULE(5, add(&b, TVMM_RULE_MSR, TVMM_ACT_MONITOR, W_, MSR_LSTAR_, 0));
	BAD_RULE(5, add(&b, TVMM_RULE_MSR, TVMM_ACT_MONITOR, R_ | W_, MSR_LSTAR_, 0));
	BAD_RULE(5, add(&b, TVMM_RULE_CR, TVMM_ACT_MONITOR, 0, 0, CR0_WP_ | CR0_PE));
	BAD_RULE(5, add(&b, TVMM_RULE_DT, TVMM_ACT_HALT, 0, TVMM_DT_LIDT | TVMM_DT_LGDT, 0));
	/* A clash far down the list still names the later rule. */
	base_blob(&b);
	add(&b, TVMM_RULE_MSR, TVMM_ACT_MONITOR, R_, MSR_SYSE_EIP, 0);
	add(&b, TVMM_RULE_MEM, TVMM_ACT_DENY, R_, 0x400000, 0x1000);
	add(&b, TVMM_RULE_MSR, TVMM_ACT_DENY, R_, MSR_SYSE_EIP, 0);
	EXPECT_BAD(&b, POL_RESOLVED, 7);
}

TEST(polcheck_stages)
{
	struct blob b;
	struct tvmm_pol_rule *r;

	/* A symbol rule: fine in the compiler's output only. */
	base_blob(&b);
	r = add(&b, TVMM_RULE_MEM_SYM, TVMM_ACT_DENY, R_, 0, 0x1000);
	strcpy(r->sym[0], "_stext");
	EXPECT_OK(&b, POL_SOURCE);
	EXPECT_BAD(&b, POL_RESOLVED, 5);
	EXPECT_BAD(&b, POL_VA, 5);
	/* End symbol and size together, neither, no start, unterminated, too large. */
	r->b = 0x1000;
	strcpy(r->sym[1], "_etext");
	EXPECT_BAD(&b, POL_SOURCE, 5);
	r->b = 0;
	EXPECT_OK(&b, POL_SOURCE);
	r->sym[1][0] = 0;
	EXPECT_BAD(&b, POL_SOURCE, 5);
	r->b = 0x1000;
	r->sym[0][0] = 0;
	EXPECT_BAD(&b, POL_SOURCE, 5);
	memset(r->sym[0], 'a', sizeof(r->sym[0]));
	EXPECT_BAD(&b, POL_SOURCE, 5);
	strcpy(r->sym[0], "_stext");
	r->b = (1ull << 40) + 1;
	EXPECT_BAD(&b, POL_SOURCE, 5);
	r->b = 0x1000;
	r->perm = R_ | W_ | X_;
	EXPECT_BAD(&b, POL_SOURCE, 5);
	/* A kernel-virtual rule: between tool and loader only; need not be page-aligned. */
	base_blob(&b);
	r = add(&b, TVMM_RULE_MEM_VA, TVMM_ACT_DENY, R_, 0xffffffff81000123ull, 0x10);
	EXPECT_OK(&b, POL_VA);
	EXPECT_BAD(&b, POL_RESOLVED, 5);
	EXPECT_BAD(&b, POL_SOURCE, 5);
	r->b = 0;
	EXPECT_BAD(&b, POL_VA, 5);
	r->b = 0x10;
	r->a = ~0ull - 4;
	EXPECT_BAD(&b, POL_VA, 5);
	/* Two VA rules overlap; a VA and a physical rule over the same numbers do not. */
	base_blob(&b);
	add(&b, TVMM_RULE_MEM_VA, TVMM_ACT_DENY, R_, 0x200000, 0x1000);
	EXPECT_OK(&b, POL_VA);
	add(&b, TVMM_RULE_MEM_VA, TVMM_ACT_DENY, R_, 0x200800, 0x1000);
	EXPECT_BAD(&b, POL_VA, 6);
}

TEST(polcheck_register_rules)
{
	struct blob b;

	/* CR: only 0 and 4, only pin-able bits, some bits, no perm. */
	BAD_RULE(1, b.r[1].a = 3);
	BAD_RULE(1, b.r[1].a = 8);
	BAD_RULE(1, b.r[1].a = 1ull << 32);
	BAD_RULE(1, b.r[1].b = CR0_TS);
	BAD_RULE(1, b.r[1].b = CR0_WP_ | CR0_CD_);
	BAD_RULE(1, b.r[1].b = 0);
	BAD_RULE(1, b.r[1].a = 4; b.r[1].b = CR4_PAE_);
	BAD_RULE(1, b.r[1].a = 4; b.r[1].b = CR0_PG_); /* pin-able in CR0, not in CR4 */
	BAD_RULE(1, b.r[1].perm = R_);
	/* MSR: known, trap something, only r/w, b zero. */
	BAD_RULE(2, b.r[2].a = MSR_APIC_BASE_);
	BAD_RULE(2, b.r[2].a = MSR_LSTAR_ | (1ull << 32));
	BAD_RULE(2, b.r[2].perm = 0);
	BAD_RULE(2, b.r[2].perm = X_);
	BAD_RULE(2, b.r[2].perm = W_ | X_);
	BAD_RULE(2, b.r[2].b = 1);
	/* DT: lidt/lgdt bits only, not monitored. */
	BAD_RULE(3, b.r[3].action = TVMM_ACT_MONITOR);
	BAD_RULE(3, b.r[3].a = 0);
	BAD_RULE(3, b.r[3].a = 4);
	BAD_RULE(3, b.r[3].a = TVMM_DT_LIDT | 4);
	BAD_RULE(3, b.r[3].perm = R_);
	BAD_RULE(3, b.r[3].b = 1);
	base_blob(&b);
	b.r[3].action = TVMM_ACT_HALT;
	b.r[3].a = TVMM_DT_LIDT | TVMM_DT_LGDT;
	EXPECT_OK(&b, POL_RESOLVED);
}

/* ---- a machine to lock a policy on ---- */

/*
 *   [0, 0x9f000)            RAM
 *   [0x9f000, 0x100000)     reserved
 *   [0x100000, 0xc0000000)  RAM, the VMM's chunk at 0x20000000
 * The nested map: [0, 1 GiB) one 1 GiB leaf WB, [1, 2 GiB) 2 MiB leaves UC,
 * [2, 4 GiB) 1 GiB leaves WB.
 */
#define BLOB_GPA 0x01000000ull
#define EV_GPA	 0x01100000ull
#define TABLES	 0x00100000ull /* guest page tables */
#define NTABLES	 8
#define CODE	 0x00110000ull /* the page RIP is on */
#define RIP_PAGE (FAKE_RIP & ~0xfffull)

/* What the standard policy protects. */
#define P_DENY 0x00203000ull /* deny, R: inside the first 1 GiB leaf */
#define P_MON  0x40005000ull /* monitor, R|X, two pages: inside a UC 2 MiB leaf */
#define P_HALT 0x00600000ull /* halt, R|X */

/* Rule indexes of the standard policy (ids are 100 + index). */
enum {
	I_DENY,
	I_MON,
	I_HALT,
	I_CR0_WP,
	I_CR4_SMEP,
	I_CR4_SMAP,
	I_LSTAR,
	I_SYSE_EIP,
	I_EFER,
	I_STAR,
	I_LIDT,
	I_NRULES
};

static struct vcpu v;
static uint32_t next_cpu = 1000;
static uint64_t pool_base; /* table pages after the machine's map */
static uint8_t *guest_blob, *code;

static uint64_t reg0(int i)
{
	return 0x1111111111111111ull * (uint64_t)(i + 1);
}

static void machine(void)
{
	fake_machine(&v, next_cpu++);
	CHECK_EQ(pt_map(&vmm.nested, 0, 0, GiB(1), ACC_RWX, PT_MT_WB, 3), 0);
	CHECK_EQ(pt_map(&vmm.nested, GiB(1), GiB(1), GiB(1), ACC_RWX, PT_MT_UC, 2), 0);
	CHECK_EQ(pt_map(&vmm.nested, GiB(2), GiB(2), GiB(2), ACC_RWX, PT_MT_WB, 3), 0);
	pool_base = pool_used;
	for (int i = 0; i < GREG_NR; i++)
		v.regs[i] = reg0(i);
	guest_blob = fake_mem_add(BLOB_GPA, 0x10000, 0);
	code = NULL;
	fake_cpuid_override_on = false;
	fake_cr4 = 0;
}

static void std_policy(struct blob *b)
{
	blob_init(b, "std");
	add(b, TVMM_RULE_MEM, TVMM_ACT_DENY, R_, P_DENY, 0x1000);
	add(b, TVMM_RULE_MEM, TVMM_ACT_MONITOR, R_ | X_, P_MON, 0x2000);
	add(b, TVMM_RULE_MEM, TVMM_ACT_HALT, R_ | X_, P_HALT, 0x1000);
	add(b, TVMM_RULE_CR, TVMM_ACT_DENY, 0, 0, CR0_WP_);
	add(b, TVMM_RULE_CR, TVMM_ACT_MONITOR, 0, 4, CR4_SMEP);
	add(b, TVMM_RULE_CR, TVMM_ACT_HALT, 0, 4, CR4_SMAP);
	add(b, TVMM_RULE_MSR, TVMM_ACT_MONITOR, W_, MSR_LSTAR_, 0);
	add(b, TVMM_RULE_MSR, TVMM_ACT_DENY, R_ | W_, MSR_SYSE_EIP, 0);
	add(b, TVMM_RULE_MSR, TVMM_ACT_MONITOR, W_, MSR_EFER_, 0);
	add(b, TVMM_RULE_MSR, TVMM_ACT_HALT, R_, MSR_STAR_, 0);
	add(b, TVMM_RULE_DT, TVMM_ACT_DENY, 0, TVMM_DT_LIDT, 0);
	CHECK_EQ(b->h.nrules, I_NRULES);
}

static void put_blob(const struct blob *b)
{
	memcpy(guest_blob, b, blob_len(b));
}

/* A hypercall exit through the dispatcher; RIP moves by 3 whatever the answer. */
static enum action hcall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct exit e = {.reason = TVMM_EXIT_HYPERCALL, .insn_len = 3};
	uint64_t rip = fake.gs[GS_RIP];
	enum action act;

	v.regs[GREG_RAX] = nr;
	v.regs[GREG_RBX] = a0;
	v.regs[GREG_RCX] = a1;
	v.regs[GREG_RDX] = a2;
	act = hypercall_dispatch(&v, &e);
	CHECK_EQ(fake.gs[GS_RIP], rip + 3);
	return act;
}

static int64_t lock_blob(const struct blob *b)
{
	put_blob(b);
	CHECK_EQ(hcall(TVMM_HC_LOCK, BLOB_GPA, blob_len(b), 0), ACT_RESUME);
	return (int64_t)v.regs[GREG_RAX];
}

/* The machine with the standard policy locked; RIP back at FAKE_RIP, counters cleared. */
static void locked_machine(void)
{
	struct blob b;

	machine();
	std_policy(&b);
	CHECK_EQ(lock_blob(&b), TVMM_OK);
	CHECK(vmm.pol.locked);
	fake.gs[GS_RIP] = FAKE_RIP;
	fake.rip_sets = fake.sets = fake.gets = 0;
	fake.flushes = 0;
	fake_console_reset();
	for (int i = 0; i < GREG_NR; i++)
		v.regs[i] = reg0(i);
}

static bool perm_at(uint64_t gpa, unsigned want_perm, unsigned want_level, enum pt_memtype want_mt,
		    int line)
{
	if (expect_map(&vmm.nested, gpa, gpa, want_perm, want_level, want_mt))
		return true;
	fprintf(stderr, "  (line %d)\n", line);
	return false;
}

#define PERM_AT(gpa, perm, level, mt) perm_at(gpa, perm, level, mt, __LINE__)

/* A refused lock changed nothing. */
static void expect_untouched(int line)
{
	bool ok = true;

	ok &= CHECK(!vmm.pol.locked);
	ok &= CHECK_EQ(vmm.pol.gen, 0);
	ok &= CHECK_EQ(vmm.pol.nrules, 0);
	ok &= CHECK(vmm.pol.rules == NULL);
	ok &= CHECK_EQ(vmm.pol.cr_mask[0] | vmm.pol.cr_mask[4] | vmm.pol.dt_mask, 0);
	ok &= CHECK_EQ(vmm.pol.splits, 0);
	ok &= CHECK_EQ(vmm.nested.splits, 0);
	ok &= CHECK_EQ(pool_used, pool_base);
	ok &= CHECK_EQ(v.pol_gen, 0);
	ok &= CHECK_EQ(fake.apply_policies, 0);
	ok &= CHECK_EQ(fake.msr_intercepts, 0);
	ok &= CHECK_EQ(fake.ninject, 0);
	ok &= perm_at(P_DENY, ACC_RWX, 3, PT_MT_WB, line);
	ok &= perm_at(P_MON, ACC_RWX, 2, PT_MT_UC, line);
	ok &= CHECK(policy_find(TVMM_RULE_MEM, P_DENY, 0x1000, 0) == NULL);
	if (!ok)
		fprintf(stderr, "  (line %d)\n", line);
}

#define EXPECT_UNTOUCHED() expect_untouched(__LINE__)

/* ---- events, as a reader sees them ---- */

static struct tvmm_events ev_header(void)
{
	struct tvmm_events h;

	events_read(&h, sizeof(h), ~0ull);
	return h;
}

/* The newest record (false if there is none). */
static bool newest(struct tvmm_event *out)
{
	struct {
		struct tvmm_events h;
		struct tvmm_event r[1];
	} buf;
	struct tvmm_events h = ev_header();

	if (!CHECK(h.records > 0))
		return false;
	events_read(&buf.h, sizeof(buf), h.records);
	if (!CHECK_EQ(buf.h.n, 1) || !CHECK_EQ(buf.r[0].seq, h.records))
		return false;
	*out = buf.r[0];
	return true;
}

/* The newest record is one new hit of this kind, rule, action and index on this CPU. */
static bool expect_event(uint64_t hits_before, uint8_t kind, uint16_t rule, uint8_t action,
			 uint32_t index, int line, struct tvmm_event *out)
{
	struct tvmm_event e;
	bool ok = CHECK_EQ(events_hits(), hits_before + 1) && newest(&e);

	if (ok) {
		ok &= CHECK_EQ(e.count, 1);
		ok &= CHECK_EQ(e.kind, kind);
		ok &= CHECK_EQ(e.rule, rule);
		ok &= CHECK_EQ(e.action, action);
		ok &= CHECK_EQ(e.index, index);
		ok &= CHECK_EQ(e.cpu, v.cpu);
		ok &= CHECK_EQ(e.rip, FAKE_RIP);
		if (out)
			*out = e;
	}
	if (!ok)
		fprintf(stderr, "  (line %d)\n", line);
	return ok;
}

#define EXPECT_EVENT(h, kind, rule, action, index, out)                                            \
	expect_event(h, kind, rule, action, index, __LINE__, out)

static void expect_gp(int line)
{
	if (!CHECK_EQ(fake.ninject, 1) | !CHECK_EQ(fake.inject[0].vector, VEC_GP) |
	    !CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP))
		fprintf(stderr, "  (line %d)\n", line);
}

#define EXPECT_GP() expect_gp(__LINE__)

/* ---- TVMM_HC_LOCK ---- */

TEST(policy_lock_applies)
{
	struct blob b;

	machine();
	std_policy(&b);
	put_blob(&b);
	CHECK_EQ(hcall(TVMM_HC_LOCK, BLOB_GPA, blob_len(&b), 0), ACT_RESUME);
	CHECK_EQ(v.regs[GREG_RAX], TVMM_OK);
	CHECK_EQ(v.regs[GREG_RBX], ~0ull);
	CHECK_EQ(fake.ninject, 0);
	CHECK_EQ(fake.wrong_vcpu, 0);
	CHECK(vmm.pol.locked);
	CHECK_EQ(vmm.pol.gen, 1);
	CHECK_EQ(vmm.pol.nrules, I_NRULES);
	CHECK_STREQ(vmm.pol.name, "std");
	CHECK_EQ(vmm.pol.cr_mask[0], CR0_WP_);
	CHECK_EQ(vmm.pol.cr_mask[4], CR4_SMEP | CR4_SMAP);
	CHECK_EQ(vmm.pol.dt_mask, TVMM_DT_LIDT);
	/* This CPU took it at once; the backend heard of every MSR rule. */
	CHECK_EQ(v.pol_gen, 1);
	CHECK_EQ(fake.apply_policies, 1);
	CHECK(fake.flushes >= 1);
	CHECK_EQ(fake.msr_intercepts, 4);
	CHECK_EQ(fake.intercept_msr, MSR_STAR_); /* the last one */
	CHECK(fake.intercept_r);
	CHECK(!fake.intercept_w);
	CHECK_EQ(fake.rule_queries, I_NRULES);
	/* The guest's blob was read once, into the VMM's own copy. */
	CHECK_EQ(fake_phys_ptr_calls, 1);
	CHECK((const void *)vmm.pol.rules != (const void *)(guest_blob + sizeof(b.h)));
	/*
	 * Nested map: the protected pages lose W (and X), their neighbours
	 * keep RWX, everybody keeps the memory type. 1 GiB -> 2 MiB -> 4 KiB
	 * for P_DENY, 2 MiB -> 4 KiB for P_HALT (already a 2 MiB leaf then)
	 * and for P_MON.
	 */
	PERM_AT(P_DENY, ACC_R, 1, PT_MT_WB);
	PERM_AT(P_DENY + 0xfff, ACC_R, 1, PT_MT_WB);
	PERM_AT(P_DENY - 0x1000, ACC_RWX, 1, PT_MT_WB);
	PERM_AT(P_DENY + 0x1000, ACC_RWX, 1, PT_MT_WB);
	PERM_AT(0, ACC_RWX, 2, PT_MT_WB);
	PERM_AT(0x400000, ACC_RWX, 2, PT_MT_WB);
	PERM_AT(GiB(1) - 0x1000, ACC_RWX, 2, PT_MT_WB);
	PERM_AT(P_HALT, ACC_R | ACC_X, 1, PT_MT_WB);
	PERM_AT(P_HALT + 0x1000, ACC_RWX, 1, PT_MT_WB);
	PERM_AT(P_MON, ACC_R | ACC_X, 1, PT_MT_UC);
	PERM_AT(P_MON + 0x1000, ACC_R | ACC_X, 1, PT_MT_UC);
	PERM_AT(P_MON - 0x1000, ACC_RWX, 1, PT_MT_UC);
	PERM_AT(P_MON + 0x2000, ACC_RWX, 1, PT_MT_UC);
	PERM_AT(GiB(1) + MiB(8), ACC_RWX, 2, PT_MT_UC);
	PERM_AT(GiB(2), ACC_RWX, 3, PT_MT_WB);
	PERM_AT(GiB(3) + 0x5000, ACC_RWX, 3, PT_MT_WB);
	CHECK_EQ(vmm.pol.splits, 4);
	CHECK_EQ(vmm.nested.splits, 4);
	CHECK_EQ(pool_used, pool_base + 4);
	/* The rules are found. */
	CHECK(policy_find(TVMM_RULE_MEM, P_DENY, 0x1000, 0) != NULL);
	CHECK(policy_find(TVMM_RULE_MEM, P_DENY + 0x1000, 0x1000, 0) == NULL);
	CHECK(policy_find(TVMM_RULE_MEM, P_MON + 0x1000, 0x1000, 0) != NULL);
	CHECK(policy_find(TVMM_RULE_MSR, MSR_LSTAR_, 0, W_) != NULL);
	CHECK(policy_find(TVMM_RULE_MSR, MSR_LSTAR_, 0, R_) == NULL);
	CHECK(strstr(fake_console, "policy 'std' locked") != NULL);
}

TEST(policy_lock_other_cpus_follow)
{
	struct vcpu w;

	locked_machine();
	/* This CPU: already on the latest generation, nothing applied again. */
	fake.next_exit = (struct exit){.reason = TVMM_EXIT_CPUID, .insn_len = 2};
	CHECK_EQ(core_handle_exit(&v), ACT_RESUME);
	CHECK_EQ(fake.apply_policies, 1);
	/* Another CPU takes it at its next exit, once. */
	memset(&w, 0, sizeof(w));
	fake.vcpu = &w;
	fake.flushes = 0;
	CHECK_EQ(core_handle_exit(&w), ACT_RESUME);
	CHECK_EQ(fake.apply_policies, 2);
	CHECK_EQ(fake.flushes, 1);
	CHECK_EQ(w.pol_gen, 1);
	CHECK_EQ(core_handle_exit(&w), ACT_RESUME);
	CHECK_EQ(fake.apply_policies, 2);
	CHECK_EQ(fake.wrong_vcpu, 0);
}

TEST(policy_lock_copy_is_the_vmms)
{
	struct blob b;
	struct tvmm_pol_rule *g;

	machine();
	std_policy(&b);
	CHECK_EQ(lock_blob(&b), TVMM_OK);
	/* The guest rewrites its blob afterwards: the VMM's policy does not move. */
	g = (struct tvmm_pol_rule *)(guest_blob + sizeof(b.h));
	g[I_DENY].perm = R_ | W_ | X_;
	g[I_DENY].a = 0x5000000;
	g[I_CR0_WP].b = 0;
	memset(guest_blob + 8, 0xff, 8);
	strcpy(((struct tvmm_pol_header *)guest_blob)->name, "evil");
	CHECK_EQ(vmm.pol.rules[I_DENY].perm, R_);
	CHECK_EQ(vmm.pol.rules[I_DENY].a, P_DENY);
	CHECK_EQ(vmm.pol.rules[I_CR0_WP].b, CR0_WP_);
	CHECK_STREQ(vmm.pol.name, "std");
	CHECK(policy_find(TVMM_RULE_MEM, P_DENY, 0x1000, 0) != NULL);
	CHECK(policy_find(TVMM_RULE_MEM, 0x5000000, 0x1000, 0) == NULL);
	PERM_AT(P_DENY, ACC_R, 1, PT_MT_WB);
}

TEST(policy_lock_twice_denied)
{
	struct blob b;
	uint64_t hits;

	locked_machine();
	std_policy(&b);
	b.r[I_DENY].a = 0x800000; /* would protect something else */
	put_blob(&b);
	hits = events_hits();
	CHECK_EQ(hcall(TVMM_HC_LOCK, BLOB_GPA, blob_len(&b), 0), ACT_RESUME);
	CHECK_EQ(v.regs[GREG_RAX], (uint64_t)TVMM_EDENIED);
	EXPECT_EVENT(hits, TVMM_EV_HYPERCALL, TVMM_EV_NO_RULE, TVMM_ACT_DENY, TVMM_HC_LOCK, NULL);
	CHECK_EQ(vmm.pol.gen, 1);
	CHECK_EQ(fake.apply_policies, 1);
	PERM_AT(0x800000, ACC_RWX, 2, PT_MT_WB);
	PERM_AT(P_DENY, ACC_R, 1, PT_MT_WB);
	CHECK_EQ(fake.ninject, 0);
	/* Even a bad one is denied, not checked: the answer does not depend on it. */
	hits = events_hits();
	CHECK_EQ(hcall(TVMM_HC_LOCK, 0, 0, 7), ACT_RESUME);
	CHECK_EQ(v.regs[GREG_RAX], (uint64_t)TVMM_EDENIED);
	CHECK_EQ(events_hits(), hits + 1);
}

TEST(policy_devirt_after_lock_denied)
{
	uint64_t hits;
	struct tvmm_event e;

	locked_machine();
	hits = events_hits();
	CHECK_EQ(hcall(TVMM_HC_DEVIRT, 0, 0, 0), ACT_RESUME);
	CHECK_EQ(v.regs[GREG_RAX], (uint64_t)TVMM_EDENIED);
	if (EXPECT_EVENT(hits, TVMM_EV_HYPERCALL, TVMM_EV_NO_RULE, TVMM_ACT_DENY, TVMM_HC_DEVIRT,
			 &e))
		CHECK_EQ(e.gva, TVMM_EV_NO_GVA);
	/* Bad flags: EINVAL as before, nothing to record. */
	hits = events_hits();
	CHECK_EQ(hcall(TVMM_HC_DEVIRT, 1, 0, 0), ACT_RESUME);
	CHECK_EQ(v.regs[GREG_RAX], (uint64_t)TVMM_EINVAL);
	CHECK_EQ(events_hits(), hits);
	/* An INIT after the lock halts the CPU and is recorded. */
	fake.gs[GS_RIP] = FAKE_RIP;
	hits = events_hits();
	fake.next_exit = (struct exit){.reason = TVMM_EXIT_INIT};
	CHECK_EQ(core_handle_exit(&v), ACT_HALT);
	EXPECT_EVENT(hits, TVMM_EV_INIT, TVMM_EV_NO_RULE, TVMM_ACT_HALT, 0, NULL);
}

TEST(policy_lock_refusals)
{
	struct blob b;
	uint64_t len, hits = events_hits();

	/* Flags. */
	machine();
	std_policy(&b);
	put_blob(&b);
	hcall(TVMM_HC_LOCK, BLOB_GPA, blob_len(&b), 1);
	CHECK_EQ(v.regs[GREG_RAX], (uint64_t)TVMM_EINVAL);
	EXPECT_UNTOUCHED();
	/* A structurally bad rule: EINVAL, RBX its index. */
	machine();
	std_policy(&b);
	b.r[I_STAR].action = 0;
	CHECK_EQ(lock_blob(&b), TVMM_EINVAL);
	CHECK_EQ(v.regs[GREG_RBX], I_STAR);
	EXPECT_UNTOUCHED();
	/* A bad header: RBX ~0. */
	machine();
	std_policy(&b);
	b.h.magic = 0;
	CHECK_EQ(lock_blob(&b), TVMM_EINVAL);
	CHECK_EQ(v.regs[GREG_RBX], ~0ull);
	EXPECT_UNTOUCHED();
	/* An unresolved (symbol) rule. */
	machine();
	std_policy(&b);
	b.r[I_HALT].kind = TVMM_RULE_MEM_SYM;
	CHECK_EQ(lock_blob(&b), TVMM_EINVAL);
	CHECK_EQ(v.regs[GREG_RBX], I_HALT);
	EXPECT_UNTOUCHED();
	/* A range in the VMM's memory: EPERM, even at its last page. */
	machine();
	std_policy(&b);
	b.r[I_HALT].a = FAKE_VMM_CHUNK + MiB(2) - 0x1000;
	CHECK_EQ(lock_blob(&b), TVMM_EPERM);
	CHECK_EQ(v.regs[GREG_RBX], I_HALT);
	EXPECT_UNTOUCHED();
	machine();
	std_policy(&b);
	b.r[I_MON].a = FAKE_VMM_CHUNK - 0x1000; /* two pages: the second is the VMM's */
	CHECK_EQ(lock_blob(&b), TVMM_EPERM);
	CHECK_EQ(v.regs[GREG_RBX], I_MON);
	EXPECT_UNTOUCHED();
	/* Not RAM: reserved, a hole, across the end of RAM. */
	machine();
	std_policy(&b);
	b.r[I_MON].a = 0x9f000;
	CHECK_EQ(lock_blob(&b), TVMM_EFAULT);
	CHECK_EQ(v.regs[GREG_RBX], I_MON);
	EXPECT_UNTOUCHED();
	machine();
	std_policy(&b);
	b.r[I_HALT].a = FAKE_RAM_END - 0x1000;
	b.r[I_HALT].b = 0x2000;
	CHECK_EQ(lock_blob(&b), TVMM_EFAULT);
	CHECK_EQ(v.regs[GREG_RBX], I_HALT);
	EXPECT_UNTOUCHED();
	machine();
	std_policy(&b);
	b.r[I_DENY].a = GiB(3);
	CHECK_EQ(lock_blob(&b), TVMM_EFAULT);
	CHECK_EQ(v.regs[GREG_RBX], I_DENY);
	EXPECT_UNTOUCHED();
	/* RAM, but beyond what the nested map covers. */
	machine();
	vmm.phys_limit = GiB(1);
	std_policy(&b);
	CHECK_EQ(lock_blob(&b), TVMM_EFAULT);
	CHECK_EQ(v.regs[GREG_RBX], I_MON);
	EXPECT_UNTOUCHED();
	/* A rule the backend cannot enforce. */
	machine();
	fake.refuse_kind = TVMM_RULE_DT;
	std_policy(&b);
	CHECK_EQ(lock_blob(&b), TVMM_EINVAL);
	CHECK_EQ(v.regs[GREG_RBX], I_LIDT);
	EXPECT_UNTOUCHED();
	/* The buffer itself: empty, in the VMM, not RAM, larger than any policy. */
	machine();
	std_policy(&b);
	put_blob(&b);
	hcall(TVMM_HC_LOCK, BLOB_GPA, 0, 0);
	CHECK_EQ(v.regs[GREG_RAX], (uint64_t)TVMM_ERANGE);
	hcall(TVMM_HC_LOCK, FAKE_VMM_CHUNK, blob_len(&b), 0);
	CHECK_EQ(v.regs[GREG_RAX], (uint64_t)TVMM_EPERM);
	hcall(TVMM_HC_LOCK, 0x9f000, blob_len(&b), 0);
	CHECK_EQ(v.regs[GREG_RAX], (uint64_t)TVMM_EFAULT);
	/* Two policies at most: the resolved one and the compiled one after it. */
	len = sizeof(struct tvmm_pol_header) + TVMM_POL_MAX_RULES * sizeof(struct tvmm_pol_rule);
	hcall(TVMM_HC_LOCK, BLOB_GPA, 2 * len + 1, 0);
	CHECK_EQ(v.regs[GREG_RAX], (uint64_t)TVMM_ERANGE);
	/* A length that does not match the blob: short, or a tail that is no policy. */
	hcall(TVMM_HC_LOCK, BLOB_GPA, blob_len(&b) - 1, 0);
	CHECK_EQ(v.regs[GREG_RAX], (uint64_t)TVMM_EINVAL);
	CHECK_EQ(v.regs[GREG_RBX], ~0ull);
	hcall(TVMM_HC_LOCK, BLOB_GPA, blob_len(&b) + 184, 0);
	CHECK_EQ(v.regs[GREG_RAX], (uint64_t)TVMM_EINVAL);
	CHECK_EQ(v.regs[GREG_RBX], ~0ull);
	EXPECT_UNTOUCHED();
	/* None of it was a violation: only a locked VMM records refused calls. */
	CHECK_EQ(events_hits(), hits);
}

/* The compiled policy after the resolved one: checked against it, nothing else changes. */
static int64_t lock_with_source(const struct blob *b, const struct blob *src)
{
	put_blob(b);
	memcpy(guest_blob + blob_len(b), src, blob_len(src));
	CHECK_EQ(hcall(TVMM_HC_LOCK, BLOB_GPA, blob_len(b) + blob_len(src), 0), ACT_RESUME);
	return (int64_t)v.regs[GREG_RAX];
}

TEST(policy_lock_with_compiled_policy)
{
	struct blob b, src;

	machine();
	std_policy(&b);
	std_policy(&src); /* no symbol rules: the compiled policy is the resolved one */
	src.r[I_LIDT].action = TVMM_ACT_HALT;
	CHECK_EQ(lock_with_source(&b, &src), TVMM_EINVAL);
	CHECK_EQ(v.regs[GREG_RBX], I_LIDT);
	CHECK(strstr(fake_console, "against the compiled policy") != NULL);
	EXPECT_UNTOUCHED();
	std_policy(&src);
	snprintf(src.h.name, sizeof(src.h.name), "other");
	CHECK_EQ(lock_with_source(&b, &src), TVMM_EINVAL);
	CHECK_EQ(v.regs[GREG_RBX], ~0ull);
	EXPECT_UNTOUCHED();
	std_policy(&src);
	src.h.magic = 0;
	CHECK_EQ(lock_with_source(&b, &src), TVMM_EINVAL);
	CHECK_EQ(v.regs[GREG_RBX], ~0ull);
	CHECK(strstr(fake_console, "the compiled policy after it") != NULL);
	EXPECT_UNTOUCHED();
	std_policy(&src);
	CHECK_EQ(lock_with_source(&b, &src), TVMM_OK);
	CHECK(vmm.pol.locked);
	CHECK_EQ(vmm.pol.nrules, I_NRULES);
}

/* A source policy: a symbol range, a CR pin, a patch table; and what the loader makes of it. */
static void source_and_resolved(struct blob *src, struct blob *res)
{
	struct tvmm_pol_rule *r;

	blob_init(src, "p");
	r = add(src, TVMM_RULE_MEM_SYM, TVMM_ACT_DENY, R_ | X_, 0, 0);
	snprintf(r->sym[0], sizeof(r->sym[0]), "_stext");
	snprintf(r->sym[1], sizeof(r->sym[1]), "_etext");
	add(src, TVMM_RULE_CR, TVMM_ACT_DENY, 0, 0, CR0_WP_);
	r = add(src, TVMM_RULE_PATCH, TVMM_ACT_MONITOR, 0, 0, 0);
	snprintf(r->sym[0], sizeof(r->sym[0]), "__start___jump_table");
	snprintf(r->sym[1], sizeof(r->sym[1]), "__stop___jump_table");
	memcpy(res, src, sizeof(*res));
	res->h.nrules = 0;
	/* _stext.._etext became two physical ranges. */
	for (int i = 0; i < 2; i++) {
		res->r[i] = src->r[0];
		res->r[i].kind = TVMM_RULE_MEM;
		res->r[i].a = 0x1000000 + (uint64_t)i * 0x400000;
		res->r[i].b = 0x200000;
		memset(res->r[i].sym, 0, sizeof(res->r[i].sym));
	}
	res->r[2] = src->r[1];
	res->r[3] = src->r[2];
	res->r[3].a = 0x2000000;
	res->r[3].b = 0x1000;
	memset(res->r[3].sym, 0, sizeof(res->r[3].sym));
	res->h.nrules = 4;
	res->h.size = (uint32_t)blob_len(res);
}

static int same_source(const struct blob *res, const struct blob *src, int64_t *rule)
{
	struct pol_error err;

	if (!CHECK_EQ(check_exact(res, blob_len(res), POL_RESOLVED, &err), 0) ||
	    !CHECK_EQ(check_exact(src, blob_len(src), POL_SOURCE, &err), 0))
		printf("  (%s, rule %lld)\n", err.why, (long long)err.rule);
	int ret = pol_same_source(res, src, &err);
	*rule = err.rule;
	return ret;
}

TEST(polcheck_same_source)
{
	struct blob src, res, bad;
	int64_t rule;

	source_and_resolved(&src, &res);
	CHECK_EQ(same_source(&res, &src, &rule), 0);
	/* One physical range is as good as two. */
	memcpy(&bad, &res, sizeof(bad));
	memmove(&bad.r[1], &bad.r[2], 2 * sizeof(bad.r[0]));
	bad.h.nrules = 3;
	bad.h.size = (uint32_t)blob_len(&bad);
	CHECK_EQ(same_source(&bad, &src, &rule), 0);
	/* A range that lost its deny. */
	memcpy(&bad, &res, sizeof(bad));
	bad.r[1].action = TVMM_ACT_MONITOR;
	CHECK_EQ(same_source(&bad, &src, &rule), -1);
	CHECK_EQ(rule, 1);
	/* A pinned bit that is not the compiled one. */
	memcpy(&bad, &res, sizeof(bad));
	bad.r[2].b = CR0_PE;
	CHECK_EQ(same_source(&bad, &src, &rule), -1);
	CHECK_EQ(rule, 2);
	/* A rule the compiled policy does not have, at the end. */
	memcpy(&bad, &res, sizeof(bad));
	bad.r[4] = bad.r[0];
	bad.r[4].a = 0x3000000;
	bad.h.nrules = 5;
	bad.h.size = (uint32_t)blob_len(&bad);
	CHECK_EQ(same_source(&bad, &src, &rule), -1);
	CHECK_EQ(rule, 4);
	/* The symbol range dropped altogether. */
	memcpy(&bad, &res, sizeof(bad));
	memmove(&bad.r[0], &bad.r[2], 2 * sizeof(bad.r[0]));
	bad.h.nrules = 2;
	bad.h.size = (uint32_t)blob_len(&bad);
	CHECK_EQ(same_source(&bad, &src, &rule), -1);
	CHECK_EQ(rule, 0);
	/* The patch rule missing. */
	memcpy(&bad, &res, sizeof(bad));
	bad.h.nrules = 3;
	bad.h.size = (uint32_t)blob_len(&bad);
	CHECK_EQ(same_source(&bad, &src, &rule), -1);
	CHECK_EQ(rule, 3);
	/* Another policy's name. */
	memcpy(&bad, &res, sizeof(bad));
	snprintf(bad.h.name, sizeof(bad.h.name), "q");
	CHECK_EQ(same_source(&bad, &src, &rule), -1);
	CHECK_EQ(rule, -1);
}

TEST(policy_lock_no_memory)
{
	struct blob b;

	/* Not enough VMM memory for the worst case of the splits: refused up front. */
	machine();
	/* The copy of two blobs takes 24 pages; 3 rules * 4 need 12 more. */
	vmm.mem_total = 35 * 4096;
	std_policy(&b);
	CHECK_EQ(lock_blob(&b), TVMM_ENOMEM);
	CHECK_EQ(vmm.alloc_next, 24 * 4096);
	EXPECT_UNTOUCHED();
	CHECK(strstr(fake_console, "not enough VMM memory") != NULL);
	/* One page more is enough. */
	vmm.mem_total = 36 * 4096;
	CHECK_EQ(lock_blob(&b), TVMM_OK);
	/* The pool runs dry part-way: ENOMEM and not locked. */
	machine();
	pool_limit = pool_used + 1;
	std_policy(&b);
	CHECK_EQ(lock_blob(&b), TVMM_ENOMEM);
	CHECK(!vmm.pol.locked);
	CHECK_EQ(vmm.pol.gen, 0);
	CHECK_EQ(fake.apply_policies, 0);
	CHECK(strstr(fake_console, "NOT locked") != NULL);
	/* Unlocked, so a later good lock is still possible. */
	pool_limit = 64;
	CHECK_EQ(lock_blob(&b), TVMM_OK);
	CHECK(vmm.pol.locked);
	PERM_AT(P_DENY, ACC_R, 1, PT_MT_WB);
}

/* ---- memory rules: nested page faults ---- */

/* A long-mode guest whose RIP page is CODE, holding `bytes` at RIP. */
static void guest_code(const uint8_t *bytes, size_t n)
{
	if (!code) {
		fake_gpt_init(TABLES, NTABLES);
		code = fake_mem_add(CODE, 4096, 0x90);
		fake_gpt_map(RIP_PAGE, CODE);
	}
	fake.gs[GS_CR3] = TABLES;
	fake.gs[GS_CR4] = CR4_PAE_;
	fake.gs[GS_EFER] = EFER_LM | (1ull << 11);
	fake.gs[GS_CR0] = 0x80050033;
	memset(code, 0x90, 4096);
	memcpy(code + (FAKE_RIP & 0xfff), bytes, n);
}

static enum action npf(uint64_t gpa, uint8_t access, bool in_walk)
{
	fake.next_exit = (struct exit){
	    .reason = TVMM_EXIT_NPF,
	    .npf = {
		.gpa = gpa, .gva = 0xffff888000203010ull, .access = access, .in_walk = in_walk}};
	return core_handle_exit(&v);
}

static const uint8_t mov_store[] = {0x89, 0x18};	 /* mov [rax], ebx */
static const uint8_t mov_store_q[] = {0x48, 0x89, 0x18}; /* mov [rax], rbx */
static const uint8_t not_mov[] = {0xf0, 0x01, 0x18};	 /* lock add [rax], ebx */
static const uint8_t ud2[] = {0x0f, 0x0b};

TEST(policy_npf_deny_store_vanishes)
{
	uint8_t *page;
	uint64_t hits;
	struct tvmm_event e;

	locked_machine();
	page = fake_mem_add(P_DENY, 4096, 0xaa);
	guest_code(mov_store, sizeof(mov_store));
	hits = events_hits();
	CHECK_EQ(npf(P_DENY + 0x10, ACC_W, false), ACT_RESUME);
	CHECK_EQ(fake.ninject, 0);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + 2);
	for (int i = 0; i < 4096; i++)
		if (!CHECK_EQ(page[i], 0xaa))
			break;
	if (EXPECT_EVENT(hits, TVMM_EV_MEM, 100 + I_DENY, TVMM_ACT_DENY, 0, &e)) {
		CHECK_EQ(e.gpa, P_DENY + 0x10);
		CHECK_EQ(e.gva, 0xffff888000203010ull);
		CHECK_EQ(e.access, ACC_W);
		CHECK_EQ(e.value, (uint32_t)reg0(GREG_RBX));
	}
	PERM_AT(P_DENY, ACC_R, 1, PT_MT_WB);
	CHECK(!vmm.stopping);
	CHECK(strstr(fake_console, "violation #") != NULL);
}

TEST(policy_npf_deny_other_access_faults)
{
	uint64_t hits;

	/* Not a plain MOV: #GP, RIP stays. */
	locked_machine();
	guest_code(not_mov, sizeof(not_mov));
	hits = events_hits();
	CHECK_EQ(npf(P_DENY + 0x10, ACC_W, false), ACT_RESUME);
	EXPECT_GP();
	EXPECT_EVENT(hits, TVMM_EV_MEM, 100 + I_DENY, TVMM_ACT_DENY, 0, NULL);
	/* A MOV, but the fault was the guest's own page walk: #GP. */
	locked_machine();
	guest_code(mov_store, sizeof(mov_store));
	CHECK_EQ(npf(P_DENY + 0x10, ACC_W, true), ACT_RESUME);
	EXPECT_GP();
	/* An instruction fetch from the non-executable page. */
	locked_machine();
	guest_code(mov_store, sizeof(mov_store));
	hits = events_hits();
	CHECK_EQ(npf(P_DENY, ACC_X, false), ACT_RESUME);
	EXPECT_GP();
	EXPECT_EVENT(hits, TVMM_EV_MEM, 100 + I_DENY, TVMM_ACT_DENY, 0, NULL);
	/* Compatibility mode: no decoding at all. */
	locked_machine();
	guest_code(mov_store, sizeof(mov_store));
	fake.gs[GS_CS_LONG] = 0;
	CHECK_EQ(npf(P_DENY + 0x10, ACC_W, false), ACT_RESUME);
	EXPECT_GP();
	PERM_AT(P_DENY, ACC_R, 1, PT_MT_WB);
}

TEST(policy_npf_monitor_store_emulated)
{
	uint8_t *page;
	uint64_t hits;
	struct tvmm_event e;

	locked_machine();
	page = fake_mem_add(P_MON, 0x2000, 0);
	guest_code(mov_store_q, sizeof(mov_store_q));
	v.regs[GREG_RBX] = 0x1122334455667788ull;
	hits = events_hits();
	CHECK_EQ(npf(P_MON + 0x1008, ACC_W, false), ACT_RESUME);
	CHECK_EQ(fake.ninject, 0);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + 3);
	uint64_t got;
	memcpy(&got, page + 0x1008, 8);
	CHECK_EQ(got, 0x1122334455667788ull);
	CHECK_EQ(page[0x1007], 0);
	CHECK_EQ(page[0x1010], 0);
	if (EXPECT_EVENT(hits, TVMM_EV_MEM, 100 + I_MON, TVMM_ACT_MONITOR, 0, &e))
		CHECK_EQ(e.value, 0x1122334455667788ull);
	/* Emulated, not opened: the next write traps again. */
	PERM_AT(P_MON + 0x1000, ACC_R | ACC_X, 1, PT_MT_UC);
}

TEST(policy_npf_monitor_opens_page)
{
	uint64_t hits;

	/* Not decodable: the page gains the access, keeps its type; its neighbour does not. */
	locked_machine();
	guest_code(ud2, sizeof(ud2));
	hits = events_hits();
	CHECK_EQ(npf(P_MON + 0x10, ACC_W, false), ACT_RESUME);
	CHECK_EQ(fake.ninject, 0);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP);
	CHECK(fake.flushes >= 1);
	EXPECT_EVENT(hits, TVMM_EV_MEM, 100 + I_MON, TVMM_ACT_MONITOR, 0, NULL);
	PERM_AT(P_MON, ACC_RWX, 1, PT_MT_UC);
	PERM_AT(P_MON + 0x1000, ACC_R | ACC_X, 1, PT_MT_UC);
	/* A misaligned store is not emulated either: the page opens. */
	locked_machine();
	fake_mem_add(P_MON, 0x2000, 0);
	guest_code(mov_store, sizeof(mov_store));
	CHECK_EQ(npf(P_MON + 0x1ffe, ACC_W, false), ACT_RESUME);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP);
	PERM_AT(P_MON + 0x1000, ACC_RWX, 1, PT_MT_UC);
	PERM_AT(P_MON, ACC_R | ACC_X, 1, PT_MT_UC);
	CHECK_EQ(*(uint8_t *)fake_mem_ptr(P_MON + 0x1ffe), 0);
}

TEST(policy_npf_halt)
{
	uint64_t hits;

	locked_machine();
	guest_code(mov_store, sizeof(mov_store));
	hits = events_hits();
	CHECK_EQ(npf(P_HALT + 0x100, ACC_W, false), ACT_HALT);
	CHECK(vmm.stopping);
	CHECK_EQ(fake.ninject, 0);
	EXPECT_EVENT(hits, TVMM_EV_MEM, 100 + I_HALT, TVMM_ACT_HALT, 0, NULL);
	CHECK(strstr(fake_console, "stopping the machine") != NULL);
	/* Every later exit halts. */
	CHECK_EQ(npf(P_DENY, ACC_W, false), ACT_HALT);
}

TEST(policy_npf_allowed_access_resumes)
{
	uint64_t hits;

	/* A read of a read-only page faulting: a stale translation, flushed, no record. */
	locked_machine();
	hits = events_hits();
	CHECK_EQ(npf(P_DENY + 0x20, ACC_R, false), ACT_RESUME);
	CHECK_EQ(fake.flushes, 1);
	CHECK_EQ(fake.ninject, 0);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP);
	CHECK_EQ(events_hits(), hits);
	CHECK_EQ(fake_console_len, 0);
	CHECK_EQ(npf(P_MON + 0x1000, ACC_X, false), ACT_RESUME);
	CHECK_EQ(fake.flushes, 2);
	CHECK_EQ(events_hits(), hits);
	PERM_AT(P_DENY, ACC_R, 1, PT_MT_WB);
}

/* ---- control registers ---- */

#define GUEST_CR0 0x80050033ull				  /* PG WP AM NE ET MP PE */
#define GUEST_CR4 (CR4_PAE_ | CR4_SMEP | CR4_SMAP | 0x80) /* PAE PGE SMEP SMAP */

/* CPUID leaf 0 says leaf 7 exists, so the fake's leaf 7 names SMEP and SMAP. */
static void cpu_with_leaf7(void)
{
	struct cpuid_regs r7;

	fake_cpuid_override_on = true;
	fake_cpuid_override_leaf = 0;
	fake_cpuid_override = (struct cpuid_regs){.eax = 7};
	fake_cpuid_expect(7, 0, &r7);
	CHECK(r7.ebx & (1u << 7));    /* SMEP */
	CHECK(r7.ebx & (1u << 20));   /* SMAP */
	CHECK(!(r7.ecx & (1u << 3))); /* no PKE */
}

static void cr_machine(void)
{
	locked_machine();
	cpu_with_leaf7();
	fake.cr_ok = true;
	fake.gs[GS_CR0] = GUEST_CR0;
	fake.gs[GS_CR4] = GUEST_CR4;
	fake.gs[GS_EFER] = EFER_LM;
	fake.gs[GS_CR3] = 0x1000;
}

static enum action cr_write(unsigned cr, uint64_t val)
{
	v.regs[GREG_R10] = val;
	fake.next_exit = (struct exit){.reason = TVMM_EXIT_CR_ACCESS, .insn_len = 3};
	fake.next_exit.cr.cr = (uint8_t)cr;
	fake.next_exit.cr.write = true;
	fake.next_exit.cr.gpr = GREG_R10;
	return core_handle_exit(&v);
}

TEST(policy_cr_deny_keeps_pinned_bits)
{
	uint64_t hits;
	struct tvmm_event e;

	cr_machine();
	hits = events_hits();
	CHECK_EQ(cr_write(0, GUEST_CR0 & ~CR0_WP_), ACT_RESUME);
	CHECK_EQ(fake.cr_writes, 1);
	CHECK_EQ(fake.cr_num, 0);
	CHECK_EQ(fake.cr_val, GUEST_CR0);
	CHECK_EQ(fake.ninject, 0);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + 3);
	if (EXPECT_EVENT(hits, TVMM_EV_CR, 100 + I_CR0_WP, TVMM_ACT_DENY, 0, &e))
		CHECK_EQ(e.value, GUEST_CR0 & ~CR0_WP_);
	/* Other bits of the same write go through; the pinned one stays. */
	cr_machine();
	CHECK_EQ(cr_write(0, GUEST_CR0 & ~CR0_WP_ & ~CR0_AM), ACT_RESUME);
	CHECK_EQ(fake.cr_val, GUEST_CR0 & ~CR0_AM);
	/* Pinned both ways: clear at lock, a write cannot set it. */
	cr_machine();
	fake.gs[GS_CR0] = GUEST_CR0 & ~CR0_WP_;
	CHECK_EQ(cr_write(0, GUEST_CR0), ACT_RESUME);
	CHECK_EQ(fake.cr_val, GUEST_CR0 & ~CR0_WP_);
	/* The same value rewritten: no change, no record. */
	cr_machine();
	hits = events_hits();
	CHECK_EQ(cr_write(0, GUEST_CR0), ACT_RESUME);
	CHECK_EQ(fake.cr_val, GUEST_CR0);
	CHECK_EQ(events_hits(), hits);
}

TEST(policy_cr_unpinned_bits_free)
{
	uint64_t hits;

	cr_machine();
	hits = events_hits();
	CHECK_EQ(cr_write(0, GUEST_CR0 & ~CR0_AM), ACT_RESUME);
	CHECK_EQ(fake.cr_val, GUEST_CR0 & ~CR0_AM);
	CHECK_EQ(cr_write(4, GUEST_CR4 & ~0x80ull), ACT_RESUME); /* PGE */
	CHECK_EQ(fake.cr_val, GUEST_CR4 & ~0x80ull);
	CHECK_EQ(fake.cr_writes, 2);
	CHECK_EQ(events_hits(), hits);
	CHECK_EQ(fake.ninject, 0);
}

TEST(policy_cr_monitor_and_halt)
{
	uint64_t hits;
	struct tvmm_event e;

	cr_machine();
	hits = events_hits();
	CHECK_EQ(cr_write(4, GUEST_CR4 & ~CR4_SMEP), ACT_RESUME);
	CHECK_EQ(fake.cr_writes, 1);
	CHECK_EQ(fake.cr_num, 4);
	CHECK_EQ(fake.cr_val, GUEST_CR4 & ~CR4_SMEP);
	if (EXPECT_EVENT(hits, TVMM_EV_CR, 100 + I_CR4_SMEP, TVMM_ACT_MONITOR, 4, &e))
		CHECK_EQ(e.value, GUEST_CR4 & ~CR4_SMEP);
	/* Halt: the write never reaches the backend, the machine stops. */
	cr_machine();
	hits = events_hits();
	CHECK_EQ(cr_write(4, GUEST_CR4 & ~CR4_SMAP), ACT_HALT);
	CHECK_EQ(fake.cr_writes, 0);
	CHECK(vmm.stopping);
	EXPECT_EVENT(hits, TVMM_EV_CR, 100 + I_CR4_SMAP, TVMM_ACT_HALT, 4, NULL);
	/* Both rules of CR4 at once: recorded in rule order, halt wins. */
	cr_machine();
	hits = events_hits();
	CHECK_EQ(cr_write(4, GUEST_CR4 & ~CR4_SMAP & ~CR4_SMEP), ACT_HALT);
	CHECK_EQ(events_hits(), hits + 2);
	CHECK_EQ(fake.cr_writes, 0);
	fake_cpuid_override_on = false;
}

TEST(policy_cr_invalid_value_faults_first)
{
	uint64_t hits;

	/* A value the CPU would refuse: #GP, and no record even though WP changes. */
	cr_machine();
	hits = events_hits();
	CHECK_EQ(cr_write(0, (GUEST_CR0 & ~CR0_WP_) | (1ull << 40)), ACT_RESUME);
	EXPECT_GP();
	CHECK_EQ(fake.cr_writes, 0);
	CHECK_EQ(events_hits(), hits);
	/* The backend refusing the (pinned) value: #GP. */
	cr_machine();
	fake.cr_ok = false;
	CHECK_EQ(cr_write(0, GUEST_CR0 & ~CR0_WP_), ACT_RESUME);
	CHECK_EQ(fake.cr_val, GUEST_CR0);
	EXPECT_GP();
	fake_cpuid_override_on = false;
}

/* A CR write exit without the operand or length (SVM without decode assists). */
static enum action cr_decode_exit(unsigned cr)
{
	fake.next_exit = (struct exit){.reason = TVMM_EXIT_CR_ACCESS, .insn_len = 0};
	fake.next_exit.cr.cr = (uint8_t)cr;
	fake.next_exit.cr.write = true;
	fake.next_exit.cr.gpr = CR_GPR_DECODE;
	return core_handle_exit(&v);
}

TEST(policy_cr_decoded_operands)
{
	static const uint8_t mov_cr0_r11[] = {0x41, 0x0f, 0x22, 0xc3};
	static const uint8_t clts[] = {0x0f, 0x06};
	static const uint8_t mov_cr4_rax[] = {0x0f, 0x22, 0xe0};
	uint64_t hits;

	/* No operand from the hardware: decoded from the guest's code, length too. */
	cr_machine();
	guest_code(mov_cr0_r11, sizeof(mov_cr0_r11));
	fake.gs[GS_CR4] = GUEST_CR4;
	v.regs[GREG_R11] = GUEST_CR0 & ~CR0_WP_;
	hits = events_hits();
	CHECK_EQ(cr_decode_exit(0), ACT_RESUME);
	CHECK_EQ(fake.cr_val, GUEST_CR0);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + 4);
	CHECK_EQ(events_hits(), hits + 1);
	/* CLTS: CR0 less TS. */
	cr_machine();
	guest_code(clts, sizeof(clts));
	fake.gs[GS_CR0] = GUEST_CR0 | CR0_TS;
	fake.gs[GS_CR4] = GUEST_CR4;
	CHECK_EQ(cr_decode_exit(0), ACT_RESUME);
	CHECK_EQ(fake.cr_val, GUEST_CR0);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + 2);
	/* The decoded CR is not the one that exited: #GP. */
	cr_machine();
	guest_code(mov_cr4_rax, sizeof(mov_cr4_rax));
	fake.gs[GS_CR4] = GUEST_CR4;
	CHECK_EQ(cr_decode_exit(0), ACT_RESUME);
	EXPECT_GP();
	CHECK_EQ(fake.cr_writes, 0);
	fake_cpuid_override_on = false;
}

TEST(cr_value_ok_cr0)
{
	machine();
	CHECK(cr_value_ok(0, GUEST_CR0, GUEST_CR0, EFER_LM, 0));
	CHECK(cr_value_ok(0, GUEST_CR0, GUEST_CR0 & ~CR0_WP_, EFER_LM, 0));
	/* Reserved bits, low and high. */
	CHECK(!cr_value_ok(0, GUEST_CR0, GUEST_CR0 | (1ull << 6), EFER_LM, 0));
	CHECK(!cr_value_ok(0, GUEST_CR0, GUEST_CR0 | (1ull << 19), EFER_LM, 0));
	CHECK(!cr_value_ok(0, GUEST_CR0, GUEST_CR0 | (1ull << 32), EFER_LM, 0));
	CHECK(!cr_value_ok(0, GUEST_CR0, GUEST_CR0 | (1ull << 63), EFER_LM, 0));
	/* PG without PE; NW without CD (and with it). */
	CHECK(!cr_value_ok(0, 0x11, CR0_PG_ | 0x10, 0, 0));
	CHECK(cr_value_ok(0, 0x11, CR0_PG_ | 0x11, 0, 0));
	CHECK(!cr_value_ok(0, GUEST_CR0, GUEST_CR0 | CR0_NW_, EFER_LM, 0));
	CHECK(cr_value_ok(0, GUEST_CR0, GUEST_CR0 | CR0_NW_ | CR0_CD_, EFER_LM, 0));
	CHECK(cr_value_ok(0, GUEST_CR0, GUEST_CR0 | CR0_CD_, EFER_LM, 0));
	/* Clearing PG in long mode; fine outside it. */
	CHECK(!cr_value_ok(0, GUEST_CR0, GUEST_CR0 & ~CR0_PG_, EFER_LM, 0));
	CHECK(cr_value_ok(0, GUEST_CR0, GUEST_CR0 & ~CR0_PG_, 0, 0));
	CHECK(cr_value_ok(0, GUEST_CR0, GUEST_CR0 & ~CR0_PG_, 1ull << 8, 0)); /* LME only */
	/* Neither CR0 nor CR4. */
	CHECK(cr_value_ok(3, 0, 0, 0, 0)); /* CR3 has its own rules (policy_cr3_*) */
	CHECK(!cr_value_ok(8, 0, 0, 0, 0));
}

TEST(cr_value_ok_cr4)
{
	struct cpuid_regs r1;

	machine();
	fake_cpuid_expect(1, 0, &r1);
	/* No leaf 7 (the fake's leaf 0 says eax 0): SMEP is unknown. */
	CHECK(cr_value_ok(4, CR4_PAE_, CR4_PAE_ | 0x80, EFER_LM, 0));
	CHECK(!cr_value_ok(4, CR4_PAE_, CR4_PAE_ | CR4_SMEP, EFER_LM, 0));
	CHECK(!cr_value_ok(4, CR4_PAE_, CR4_PAE_ | (1ull << 32), EFER_LM, 0));
	CHECK(!cr_value_ok(4, CR4_PAE_, CR4_PAE_ | (1ull << 13), EFER_LM, 0)); /* VMXE */
	/* With leaf 7: SMEP and SMAP known, PKE not. */
	cpu_with_leaf7();
	CHECK(cr_value_ok(4, CR4_PAE_, CR4_PAE_ | CR4_SMEP | CR4_SMAP, EFER_LM, 0));
	CHECK(!cr_value_ok(4, CR4_PAE_, CR4_PAE_ | CR4_PKE, EFER_LM, 0));
	/* Clearing PAE in long mode; fine outside. */
	CHECK(!cr_value_ok(4, CR4_PAE_, 0x80, EFER_LM, 0));
	CHECK(cr_value_ok(4, CR4_PAE_, 0x80, 0, 0));
	/* PCIDE (the fake's leaf 1 has it): only in long mode, only with CR3[11:0] = 0. */
	if (CHECK(r1.ecx & (1u << 17))) {
		CHECK(cr_value_ok(4, CR4_PAE_, CR4_PAE_ | CR4_PCID, EFER_LM, 0x1000));
		CHECK(!cr_value_ok(4, CR4_PAE_, CR4_PAE_ | CR4_PCID, EFER_LM, 0x1001));
		CHECK(!cr_value_ok(4, CR4_PAE_, CR4_PAE_ | CR4_PCID, EFER_LM, 0x1800));
		CHECK(!cr_value_ok(4, CR4_PAE_, CR4_PAE_ | CR4_PCID, 0, 0x1000));
		/* Already set: the PCID in CR3 is fine. */
		CHECK(cr_value_ok(4, CR4_PAE_ | CR4_PCID, CR4_PAE_ | CR4_PCID, EFER_LM, 0x1001));
	}
	fake_cpuid_override_on = false;
}

/* ---- MSRs ---- */

static enum action msr_exit(bool write, uint32_t msr, uint64_t val)
{
	v.regs[GREG_RAX] = 0xaaaaaaaa00000000ull | (uint32_t)val;
	v.regs[GREG_RDX] = 0xbbbbbbbb00000000ull | (val >> 32);
	fake.next_exit = (struct exit){.reason = write ? TVMM_EXIT_MSR_WRITE : TVMM_EXIT_MSR_READ,
				       .insn_len = 2,
				       .msr.index = msr};
	return core_handle_exit(&v);
}

TEST(policy_msr_deny)
{
	uint64_t hits;
	unsigned writes;
	struct tvmm_event e;

	locked_machine();
	fake.msr_ok = true;
	*fake_msr(MSR_SYSE_EIP) = 0xffffffff81000000ull;
	writes = fake_msr_writes;
	hits = events_hits();
	CHECK_EQ(msr_exit(true, MSR_SYSE_EIP, 0xffffffff8badf00dull), ACT_RESUME);
	EXPECT_GP();
	CHECK_EQ(fake.msr_writes, 0);
	CHECK_EQ(fake_msr_writes, writes);
	CHECK_EQ(*fake_msr(MSR_SYSE_EIP), 0xffffffff81000000ull);
	if (EXPECT_EVENT(hits, TVMM_EV_MSR_WRITE, 100 + I_SYSE_EIP, TVMM_ACT_DENY, MSR_SYSE_EIP,
			 &e))
		CHECK_EQ(e.value, 0xffffffff8badf00dull);
	/* Reads are trapped too (r and w): #GP, value 0 recorded. */
	locked_machine();
	fake.msr_ok = true;
	hits = events_hits();
	CHECK_EQ(msr_exit(false, MSR_SYSE_EIP, 0), ACT_RESUME);
	EXPECT_GP();
	CHECK_EQ(fake.msr_reads, 0);
	if (EXPECT_EVENT(hits, TVMM_EV_MSR_READ, 100 + I_SYSE_EIP, TVMM_ACT_DENY, MSR_SYSE_EIP, &e))
		CHECK_EQ(e.value, 0);
}

TEST(policy_msr_monitor)
{
	uint64_t hits;
	unsigned writes;
	struct tvmm_event e;

	/* The backend does not own LSTAR: the core writes it, after the record. */
	locked_machine();
	fake.msr_ok = false;
	writes = fake_msr_writes;
	hits = events_hits();
	CHECK_EQ(msr_exit(true, MSR_LSTAR_, 0xffffffff81a00000ull), ACT_RESUME);
	CHECK_EQ(fake.ninject, 0);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + 2);
	CHECK_EQ(fake.msr_writes, 1);
	CHECK_EQ(fake_msr_writes, writes + 1);
	CHECK_EQ(*fake_msr(MSR_LSTAR_), 0xffffffff81a00000ull);
	if (EXPECT_EVENT(hits, TVMM_EV_MSR_WRITE, 100 + I_LSTAR, TVMM_ACT_MONITOR, MSR_LSTAR_, &e))
		CHECK_EQ(e.value, 0xffffffff81a00000ull);
	/* A non-canonical value: recorded, then #GP as the CPU would. */
	locked_machine();
	fake.msr_ok = false;
	writes = fake_msr_writes;
	hits = events_hits();
	CHECK_EQ(msr_exit(true, MSR_LSTAR_, 0x0000800000000000ull), ACT_RESUME);
	EXPECT_GP();
	CHECK_EQ(fake_msr_writes, writes);
	CHECK_EQ(*fake_msr(MSR_LSTAR_), 0xffffffff81a00000ull);
	EXPECT_EVENT(hits, TVMM_EV_MSR_WRITE, 100 + I_LSTAR, TVMM_ACT_MONITOR, MSR_LSTAR_, NULL);
	/* Reads of LSTAR are not watched: no record, the CPU's value. */
	locked_machine();
	fake.msr_ok = false;
	hits = events_hits();
	CHECK_EQ(msr_exit(false, MSR_LSTAR_, 0), ACT_RESUME);
	CHECK_EQ(fake.ninject, 0);
	CHECK_EQ(v.regs[GREG_RAX], 0x81a00000ull);
	CHECK_EQ(v.regs[GREG_RDX], 0xffffffffull);
	CHECK_EQ(events_hits(), hits);
}

TEST(policy_msr_efer_never_live)
{
	uint64_t hits;
	unsigned writes;

	/* A monitored EFER write the backend refuses: recorded, #GP, never wrmsr. */
	locked_machine();
	fake.msr_ok = false;
	*fake_msr(MSR_EFER_) = 0xd01;
	writes = fake_msr_writes;
	hits = events_hits();
	CHECK_EQ(msr_exit(true, MSR_EFER_, 0x501), ACT_RESUME);
	EXPECT_GP();
	CHECK_EQ(fake.msr_writes, 1);
	CHECK_EQ(fake_msr_writes, writes);
	CHECK_EQ(*fake_msr(MSR_EFER_), 0xd01);
	EXPECT_EVENT(hits, TVMM_EV_MSR_WRITE, 100 + I_EFER, TVMM_ACT_MONITOR, MSR_EFER_, NULL);
	/* Nor is it read from the CPU. */
	locked_machine();
	fake.msr_ok = false;
	CHECK_EQ(msr_exit(false, MSR_EFER_, 0), ACT_RESUME);
	EXPECT_GP();
	/* The backend takes it: its view, not the CPU's. */
	locked_machine();
	fake.msr_ok = true;
	writes = fake_msr_writes;
	CHECK_EQ(msr_exit(true, MSR_EFER_, 0x501), ACT_RESUME);
	CHECK_EQ(fake.ninject, 0);
	CHECK_EQ(fake.msr_written, 0x501);
	CHECK_EQ(fake_msr_writes, writes);
}

TEST(policy_msr_halt)
{
	uint64_t hits;

	locked_machine();
	fake.msr_ok = true;
	hits = events_hits();
	CHECK_EQ(msr_exit(false, MSR_STAR_, 0), ACT_HALT);
	CHECK(vmm.stopping);
	CHECK_EQ(fake.msr_reads, 0);
	EXPECT_EVENT(hits, TVMM_EV_MSR_READ, 100 + I_STAR, TVMM_ACT_HALT, MSR_STAR_, NULL);
	/* STAR writes are not watched (but the machine is stopped now). */
	CHECK_EQ(msr_exit(true, MSR_STAR_, 0), ACT_HALT);
}

TEST(msr_value_ok_checks)
{
	machine();
	fake_cr4 = 0;
	/* LSTAR, CSTAR, SYSENTER_ESP/EIP: canonical for the paging mode. */
	CHECK(msr_value_ok(MSR_LSTAR_, 0xffffffff81000000ull));
	CHECK(msr_value_ok(MSR_LSTAR_, 0x00007fffffffffffull));
	CHECK(msr_value_ok(MSR_LSTAR_, 0xffff800000000000ull));
	CHECK(!msr_value_ok(MSR_LSTAR_, 0x0000800000000000ull));
	CHECK(!msr_value_ok(MSR_LSTAR_, 0xfff0000000000000ull));
	CHECK(!msr_value_ok(0xc0000083u, 0x8000000000000000ull));
	CHECK(!msr_value_ok(0x175u, 0x0001000000000000ull));
	CHECK(!msr_value_ok(MSR_SYSE_EIP, 0x0000800000000000ull));
	CHECK(msr_value_ok(MSR_SYSE_EIP, 0xffffffff81000000ull));
	/* 5-level paging: 57 bits. */
	fake_cr4 = 1ull << 12;
	CHECK(msr_value_ok(MSR_LSTAR_, 0x0000800000000000ull));
	CHECK(msr_value_ok(MSR_LSTAR_, 0xff00000000000000ull));
	CHECK(!msr_value_ok(MSR_LSTAR_, 0x0100000000000000ull));
	fake_cr4 = 0;
	/* SFMASK: the upper half reserved; SYSENTER_CS a selector; STAR anything. */
	CHECK(msr_value_ok(MSR_SFMASK_, 0xffffffffull));
	CHECK(!msr_value_ok(MSR_SFMASK_, 1ull << 32));
	CHECK(msr_value_ok(MSR_SYSE_CS, 0xffff));
	CHECK(!msr_value_ok(MSR_SYSE_CS, 0x10000));
	CHECK(!msr_value_ok(MSR_SYSE_CS, 1ull << 63));
	CHECK(msr_value_ok(MSR_STAR_, ~0ull));
	/* EFER and anything else: never written directly. */
	CHECK(!msr_value_ok(MSR_EFER_, 0x501));
	CHECK(!msr_value_ok(MSR_EFER_, 0));
	CHECK(!msr_value_ok(MSR_APIC_BASE_, 0xfee00900));
	CHECK(!msr_value_ok(0, 0));
}

/* ---- descriptor tables ---- */

static enum action dt_exit(uint8_t which, uint8_t insn_len)
{
	fake.next_exit = (struct exit){.reason = TVMM_EXIT_DT_ACCESS, .insn_len = insn_len};
	fake.next_exit.dt.which = which;
	return core_handle_exit(&v);
}

TEST(policy_dt_deny_skips)
{
	uint64_t hits;
	struct tvmm_event e;

	locked_machine();
	hits = events_hits();
	CHECK_EQ(dt_exit(TVMM_DT_LIDT, 3), ACT_RESUME);
	CHECK_EQ(fake.ninject, 0);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + 3);
	if (EXPECT_EVENT(hits, TVMM_EV_DT, 100 + I_LIDT, TVMM_ACT_DENY, TVMM_DT_LIDT, &e))
		CHECK_EQ(e.gva, TVMM_EV_NO_GVA);
	/* No length from the hardware: decoded (lidt [rsp+8], 5 bytes). */
	static const uint8_t lidt[] = {0x0f, 0x01, 0x5c, 0x24, 0x08};
	locked_machine();
	guest_code(lidt, sizeof(lidt));
	CHECK_EQ(dt_exit(TVMM_DT_LIDT, 0), ACT_RESUME);
	CHECK_EQ(fake.ninject, 0);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + 5);
	/* Not decodable: #GP. */
	locked_machine();
	guest_code(ud2, sizeof(ud2));
	hits = events_hits();
	CHECK_EQ(dt_exit(TVMM_DT_LIDT, 0), ACT_RESUME);
	EXPECT_GP();
	CHECK_EQ(events_hits(), hits);
}

TEST(policy_dt_no_rule_and_other)
{
	uint64_t hits;

	/* LGDT has no rule in the standard policy: #GP (a backend bug to get here). */
	locked_machine();
	hits = events_hits();
	CHECK_EQ(dt_exit(TVMM_DT_LGDT, 3), ACT_RESUME);
	EXPECT_GP();
	CHECK_EQ(events_hits(), hits);
	/* Not locked at all: #GP too. */
	machine();
	CHECK_EQ(dt_exit(TVMM_DT_LIDT, 3), ACT_RESUME);
	EXPECT_GP();
	/* which = 0: another DT instruction, the backend's to emulate. */
	locked_machine();
	fake.dt_ok = true;
	CHECK_EQ(dt_exit(0, 3), ACT_RESUME);
	CHECK_EQ(fake.dt_emulates, 1);
	CHECK_EQ(fake.ninject, 0);
	CHECK_EQ(events_hits(), hits);
	locked_machine();
	fake.dt_ok = false;
	CHECK_EQ(dt_exit(0, 3), ACT_RESUME);
	CHECK_EQ(fake.dt_emulates, 1);
	EXPECT_GP();
}

TEST(policy_dt_halt)
{
	struct blob b;
	uint64_t hits;

	machine();
	blob_init(&b, "dt");
	add(&b, TVMM_RULE_DT, TVMM_ACT_HALT, 0, TVMM_DT_LGDT | TVMM_DT_LIDT, 0);
	CHECK_EQ(lock_blob(&b), TVMM_OK);
	CHECK_EQ(vmm.pol.splits, 0);
	fake.gs[GS_RIP] = FAKE_RIP;
	hits = events_hits();
	CHECK_EQ(dt_exit(TVMM_DT_LGDT, 3), ACT_HALT);
	CHECK(vmm.stopping);
	EXPECT_EVENT(hits, TVMM_EV_DT, 100, TVMM_ACT_HALT, TVMM_DT_LGDT, NULL);
}

/* ---- the violation records ---- */

static struct tvmm_event ev(uint32_t cpu, uint64_t rip)
{
	return (struct tvmm_event){.rip = rip,
				   .gpa = 0x1000,
				   .gva = TVMM_EV_NO_GVA,
				   .cpu = cpu,
				   .kind = TVMM_EV_MEM,
				   .rule = 7,
				   .access = ACC_W,
				   .action = TVMM_ACT_DENY};
}

static unsigned count_str(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

TEST(events_fold_and_rate_limit)
{
	struct tvmm_events h0, h1;
	struct tvmm_event e, in;

	machine();
	in = ev(v.cpu, 0x1234);
	h0 = ev_header();
	fake_console_reset();
	for (int i = 0; i < 1000; i++)
		event_record(&in);
	h1 = ev_header();
	CHECK_EQ(h1.hits - h0.hits, 1000);
	CHECK_EQ(h1.records - h0.records, 1);
	if (newest(&e)) {
		CHECK_EQ(e.count, 1000);
		CHECK_EQ(e.seq, h1.records);
		CHECK_EQ(e.rip, 0x1234);
		CHECK_EQ(e.cpu, v.cpu);
	}
	/* Lines at counts 1, 2, 4, ..., 512: log2(1000) + 1 of them. */
	CHECK_EQ(count_str(fake_console, "violation #"), 10);
	CHECK(strstr(fake_console, " x512: ") != NULL);
	/* A different value alone does not make a new record (it is not compared). */
	in.value = 99;
	event_record(&in);
	CHECK_EQ(ev_header().records, h1.records);
	/* Any compared field does. */
	in.access = ACC_X;
	event_record(&in);
	CHECK_EQ(ev_header().records, h1.records + 1);
}

TEST(events_fold_window)
{
	struct tvmm_events h0;
	struct tvmm_event a = ev(0, 0xa), b;

	machine();
	a.cpu = v.cpu;
	h0 = ev_header();
	/* A, B, A: the second A folds into the first. */
	event_record(&a);
	b = ev(v.cpu, 0xb);
	event_record(&b);
	event_record(&a);
	CHECK_EQ(ev_header().records, h0.records + 2);
	/* Eight distinct records later, A is out of the window: a new record. */
	for (uint64_t i = 0; i < 8; i++) {
		b = ev(v.cpu, 0x100 + i);
		event_record(&b);
	}
	CHECK_EQ(ev_header().records, h0.records + 10);
	event_record(&a);
	CHECK_EQ(ev_header().records, h0.records + 11);
}

TEST(events_ring_overwrites_oldest)
{
	size_t len =
	    sizeof(struct tvmm_events) + (TVMM_EVENTS_KEPT + 4) * sizeof(struct tvmm_event);
	struct tvmm_events *out = malloc(len);
	struct tvmm_events h;
	uint64_t r0;

	machine();
	r0 = ev_header().records;
	for (uint64_t i = 0; i < 300; i++) {
		struct tvmm_event e = ev(v.cpu, 0x10000 + i);
		event_record(&e);
	}
	h = ev_header();
	CHECK_EQ(h.records, r0 + 300);
	CHECK_EQ(h.oldest, h.records - TVMM_EVENTS_KEPT + 1);
	/* From 0: only what is still held, oldest first. */
	CHECK_EQ(events_read(out, len, 0),
		 sizeof(*out) + TVMM_EVENTS_KEPT * sizeof(struct tvmm_event));
	CHECK_EQ(out->n, TVMM_EVENTS_KEPT);
	CHECK_EQ(out->oldest, h.oldest);
	CHECK_EQ(out->size, sizeof(*out) + TVMM_EVENTS_KEPT * sizeof(struct tvmm_event));
	for (uint32_t i = 0; i < out->n; i++)
		if (!CHECK_EQ(out->rec[i].seq, h.oldest + i))
			break;
	CHECK_EQ(out->rec[out->n - 1].rip, 0x10000 + 299);
	CHECK_EQ(out->rec[0].rip, 0x10000 + 300 - TVMM_EVENTS_KEPT);
	/* A cursor: only the newer ones. */
	events_read(out, len, h.records - 2);
	CHECK_EQ(out->n, 3);
	CHECK_EQ(out->rec[0].seq, h.records - 2);
	CHECK_EQ(out->rec[2].seq, h.records);
	events_read(out, len, h.records + 1);
	CHECK_EQ(out->n, 0);
	CHECK_EQ(out->size, sizeof(*out));
	/* Room for two: the two oldest from the cursor. */
	events_read(out, sizeof(*out) + 2 * sizeof(struct tvmm_event) + 7, h.records - 10);
	CHECK_EQ(out->n, 2);
	CHECK_EQ(out->rec[0].seq, h.records - 10);
	free(out);
}

TEST(events_hypercall)
{
	uint8_t *buf;
	struct tvmm_events *out;
	uint64_t hits, records;

	locked_machine();
	buf = fake_mem_add(EV_GPA, 0x10000, 0xee);
	out = (struct tvmm_events *)buf;
	/* Two violations on this CPU. */
	guest_code(ud2, sizeof(ud2));
	npf(P_DENY, ACC_W, false);
	npf(P_DENY + 8, ACC_W, false);
	hits = events_hits();
	records = ev_header().records;
	/* From the first of them. */
	fake.ninject = 0;
	fake.gs[GS_RIP] = FAKE_RIP;
	hcall(TVMM_HC_EVENTS, EV_GPA, 0x10000, records - 1);
	CHECK_EQ(v.regs[GREG_RAX], TVMM_OK);
	CHECK_EQ(v.regs[GREG_RBX], sizeof(*out) + 2 * sizeof(struct tvmm_event));
	CHECK_EQ(out->n, 2);
	CHECK_EQ(out->size, v.regs[GREG_RBX]);
	CHECK_EQ(out->hits, hits);
	CHECK_EQ(out->records, records);
	CHECK_EQ(out->locked, 1);
	CHECK_EQ(out->rules, I_NRULES);
	CHECK_EQ(out->nested_splits, 4);
	CHECK_STREQ(out->policy, "std");
	CHECK_EQ(out->rec[0].gpa, P_DENY);
	CHECK_EQ(out->rec[1].gpa, P_DENY + 8);
	CHECK_EQ(out->rec[1].cpu, v.cpu);
	CHECK_EQ(buf[v.regs[GREG_RBX]], 0xee); /* nothing past what it says */
	/* Exactly a header: no records, fine. */
	memset(buf, 0xee, 0x10000);
	hcall(TVMM_HC_EVENTS, EV_GPA, sizeof(*out), 0);
	CHECK_EQ(v.regs[GREG_RAX], TVMM_OK);
	CHECK_EQ(v.regs[GREG_RBX], sizeof(*out));
	CHECK_EQ(out->n, 0);
	CHECK_EQ(buf[sizeof(*out)], 0xee);
	/* Too small for the header: ETOOSMALL, RBX the header size, nothing written. */
	memset(buf, 0xee, 0x10000);
	hcall(TVMM_HC_EVENTS, EV_GPA, sizeof(*out) - 1, 0);
	CHECK_EQ(v.regs[GREG_RAX], (uint64_t)TVMM_ETOOSMALL);
	CHECK_EQ(v.regs[GREG_RBX], sizeof(*out));
	CHECK_EQ(buf[0], 0xee);
	/* Misaligned, in the VMM, not RAM, too large. */
	hcall(TVMM_HC_EVENTS, EV_GPA + 4, 0x1000, 0);
	CHECK_EQ(v.regs[GREG_RAX], (uint64_t)TVMM_EINVAL);
	CHECK_EQ(buf[4], 0xee);
	hcall(TVMM_HC_EVENTS, FAKE_VMM_CHUNK, 0x1000, 0);
	CHECK_EQ(v.regs[GREG_RAX], (uint64_t)TVMM_EPERM);
	hcall(TVMM_HC_EVENTS, 0x9f000, 0x1000, 0);
	CHECK_EQ(v.regs[GREG_RAX], (uint64_t)TVMM_EFAULT);
	hcall(TVMM_HC_EVENTS, EV_GPA, TVMM_HC_MAX_BUF + 1ull, 0);
	CHECK_EQ(v.regs[GREG_RAX], (uint64_t)TVMM_ERANGE);
	CHECK_EQ(fake.ninject, 0);
	/* Before any lock: the records, locked 0. */
	machine();
	buf = fake_mem_add(EV_GPA, 0x1000, 0xee);
	out = (struct tvmm_events *)buf;
	hcall(TVMM_HC_EVENTS, EV_GPA, 0x1000, ~0ull);
	CHECK_EQ(v.regs[GREG_RAX], TVMM_OK);
	CHECK_EQ(out->locked, 0);
	CHECK_EQ(out->rules, 0);
	CHECK_EQ(out->policy[0], 0);
}

/* ---- introspection: CR3 writes and exceptions ---- */

static void introspect_machine(uint8_t cr3_action, uint8_t exc_action, uint32_t vectors)
{
	struct blob b;

	machine();
	blob_init(&b, "introspect");
	add(&b, TVMM_RULE_CR3, cr3_action, 0, 0, 0);
	add(&b, TVMM_RULE_EXC, exc_action, 0, vectors, 0);
	CHECK_EQ(lock_blob(&b), TVMM_OK);
	CHECK(vmm.pol.cr3_trap);
	CHECK_EQ(vmm.pol.exc_mask, vectors);
	fake.gs[GS_RIP] = FAKE_RIP;
	fake.cr_ok = true;
	fake.cr_writes = 0;
	fake.ninject = 0;
	fake_console_reset();
}

static struct exit cr3_write(unsigned gpr)
{
	struct exit e = {.reason = TVMM_EXIT_CR_ACCESS, .insn_len = 3};
	e.cr.cr = 3;
	e.cr.write = true;
	e.cr.gpr = (uint8_t)gpr;
	return e;
}

TEST(policy_cr3_monitor_records_each_address_space)
{
	struct tvmm_event e;
	uint64_t hits;

	introspect_machine(TVMM_ACT_MONITOR, TVMM_ACT_MONITOR, 1u << 6);
	for (uint64_t k = 1; k <= 3; k++) {
		hits = events_hits();
		v.regs[GREG_RDX] = 0x1000 * k;
		fake.next_exit = cr3_write(GREG_RDX);
		fake.gs[GS_RIP] = FAKE_RIP;
		CHECK_EQ(core_handle_exit(&v), ACT_RESUME);
		/* The write happened, the instruction is done, and the new CR3 is in the record. */
		CHECK_EQ(fake.cr_writes, (int)k);
		CHECK_EQ(fake.cr_num, 3);
		CHECK_EQ(fake.cr_val, 0x1000 * k);
		CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + 3);
		if (EXPECT_EVENT(hits, TVMM_EV_CR, 100, TVMM_ACT_MONITOR, 3, &e))
			CHECK_EQ(e.value, 0x1000 * k);
	}
	/* The same address space again folds into its record. */
	hits = events_hits();
	fake.next_exit = cr3_write(GREG_RDX);
	fake.gs[GS_RIP] = FAKE_RIP;
	CHECK_EQ(core_handle_exit(&v), ACT_RESUME);
	CHECK_EQ(events_hits(), hits + 1);
	CHECK(newest(&e) && e.count == 2 && e.value == 0x3000);
	CHECK_EQ(fake.ninject, 0);
}

TEST(policy_cr3_reserved_bits_and_halt)
{
	introspect_machine(TVMM_ACT_HALT, TVMM_ACT_MONITOR, 1u << 6);
	/* The fake CPU has 36 physical-address bits: bit 40 is reserved, #GP, no record. */
	uint64_t hits = events_hits();
	v.regs[GREG_RAX] = 1ull << 40;
	fake.next_exit = cr3_write(GREG_RAX);
	CHECK_EQ(core_handle_exit(&v), ACT_RESUME);
	CHECK_EQ(fake.ninject, 1);
	CHECK_EQ(fake.inject[0].vector, VEC_GP);
	CHECK_EQ(fake.cr_writes, 0);
	CHECK_EQ(events_hits(), hits);
	/* Bit 63 ("no flush") is fine only with CR4.PCIDE. */
	CHECK(!cr_value_ok(3, 0, 1ull << 63, 0, 0));
	CHECK(cr_value_ok(3, 0, (1ull << 63) | 0x1000, 0, 1ull << 17));
	/* halt: recorded, the machine stops, the write never happens. */
	fake.ninject = 0;
	fake.gs[GS_RIP] = FAKE_RIP;
	v.regs[GREG_RAX] = 0x5000;
	fake.next_exit = cr3_write(GREG_RAX);
	CHECK_EQ(core_handle_exit(&v), ACT_HALT);
	CHECK_EQ(fake.cr_writes, 0);
	CHECK(vmm.stopping);
}

static struct exit exc_exit(uint8_t vector, bool has_err, uint32_t err, uint64_t cr2)
{
	struct exit e = {.reason = TVMM_EXIT_EXCEPTION};
	e.exc.vector = vector;
	e.exc.has_err = has_err;
	e.exc.err = err;
	e.exc.cr2 = cr2;
	return e;
}

TEST(policy_exception_monitor_delivers_it)
{
	struct tvmm_event e;
	uint64_t hits = events_hits();

	introspect_machine(TVMM_ACT_MONITOR, TVMM_ACT_MONITOR, (1u << 6) | (1u << 14));
	/* #PF: recorded with the address, CR2 set, delivered with its error code, RIP unmoved. */
	fake.next_exit = exc_exit(14, true, 0x6, 0x7fff1234);
	CHECK_EQ(core_handle_exit(&v), ACT_RESUME);
	if (EXPECT_EVENT(hits, TVMM_EV_EXCEPTION, 101, TVMM_ACT_MONITOR, 14, &e)) {
		CHECK_EQ(e.gva, 0x7fff1234);
		CHECK_EQ(e.value, 0x6);
	}
	CHECK_EQ(fake.gs[GS_CR2], 0x7fff1234);
	CHECK_EQ(fake.ninject, 1);
	CHECK_EQ(fake.inject[0].vector, 14);
	CHECK(fake.inject[0].has_err);
	CHECK_EQ(fake.inject[0].err, 0x6);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP);
	/* #UD: no error code, no address. */
	hits = events_hits();
	fake.ninject = 0;
	fake.next_exit = exc_exit(6, false, 0, 0);
	CHECK_EQ(core_handle_exit(&v), ACT_RESUME);
	if (EXPECT_EVENT(hits, TVMM_EV_EXCEPTION, 101, TVMM_ACT_MONITOR, 6, &e))
		CHECK_EQ(e.gva, TVMM_EV_NO_GVA);
	CHECK_EQ(fake.ninject, 1);
	CHECK_EQ(fake.inject[0].vector, 6);
	CHECK(!fake.inject[0].has_err);
	/* A vector no rule names (a backend that trapped it anyway) is delivered, not recorded. */
	hits = events_hits();
	fake.ninject = 0;
	fake.next_exit = exc_exit(13, true, 0, 0);
	CHECK_EQ(core_handle_exit(&v), ACT_RESUME);
	CHECK_EQ(events_hits(), hits);
	CHECK_EQ(fake.ninject, 1);
	CHECK_EQ(fake.inject[0].vector, 13);
}

TEST(policy_exception_halt_stops)
{
	introspect_machine(TVMM_ACT_MONITOR, TVMM_ACT_HALT, 1u << 13);
	fake.next_exit = exc_exit(13, true, 0, 0);
	CHECK_EQ(core_handle_exit(&v), ACT_HALT);
	CHECK(vmm.stopping);
	CHECK_EQ(fake.ninject, 0);
}

TEST(policy_introspection_rules_checked)
{
	struct blob b;
	struct pol_error err;

	blob_init(&b, "x");
	add(&b, TVMM_RULE_CR3, TVMM_ACT_DENY, 0, 0, 0);
	CHECK(pol_check(&b, blob_len(&b), POL_RESOLVED, &err) != 0);
	blob_init(&b, "x");
	add(&b, TVMM_RULE_EXC, TVMM_ACT_MONITOR, 0, 1u << 1, 0); /* #DB: not trappable */
	CHECK(pol_check(&b, blob_len(&b), POL_RESOLVED, &err) != 0);
	blob_init(&b, "x");
	add(&b, TVMM_RULE_EXC, TVMM_ACT_MONITOR, 0, 1u << 6, 0);
	add(&b, TVMM_RULE_EXC, TVMM_ACT_HALT, 0, (1u << 6) | (1u << 13), 0);
	CHECK(pol_check(&b, blob_len(&b), POL_RESOLVED, &err) != 0 && err.rule == 1);
	blob_init(&b, "x");
	add(&b, TVMM_RULE_CR3, TVMM_ACT_MONITOR, 0, 0, 0);
	add(&b, TVMM_RULE_CR3, TVMM_ACT_HALT, 0, 0, 0);
	CHECK(pol_check(&b, blob_len(&b), POL_RESOLVED, &err) != 0 && err.rule == 1);
}

/* Per-rule counters survive the ring: a flood of records does not erase what was counted. */
TEST(events_rule_counters_survive_the_ring)
{
	struct tvmm_events *h = calloc(1, sizeof(*h));
	struct tvmm_event e = {.kind = TVMM_EV_CR, .index = 3, .cpu = 77};

	locked_machine();
	uint32_t mine = 0;
	events_read(h, sizeof(*h), ~0ull);
	CHECK(h->nstats >= 2);
	CHECK_EQ(h->stats[0].id, TVMM_EV_NO_RULE);
	for (uint32_t k = 1; k < h->nstats; k++)
		if (!strcmp(h->stats[k].name, "rule3")) /* std_policy: the CR0.WP rule */
			mine = k;
	if (!CHECK(mine))
		goto out;
	uint64_t before = h->stats[mine].hits;
	e.rule = h->stats[mine].id;
	event_record(&e);
	/* Then more distinct records than the ring holds, under the VMM's own rule. */
	for (uint64_t i = 0; i < TVMM_EVENTS_KEPT + 10; i++) {
		struct tvmm_event f = {.kind = TVMM_EV_CR,
				       .index = 3,
				       .cpu = 78,
				       .rule = TVMM_EV_NO_RULE,
				       .value = 0x1000 * (i + 1)};
		event_record(&f);
	}
	events_read(h, sizeof(*h), ~0ull);
	CHECK_EQ(h->stats[mine].hits, before + 1);
	CHECK(h->stats[0].hits >= TVMM_EVENTS_KEPT + 10);
out:
	free(h);
}
