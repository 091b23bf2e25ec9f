/* SPDX-License-Identifier: MIT */
/*
 * Jump-label patching under a locked policy (core/patch.c): the lock reads
 * the kernel's jump table through the guest's page tables and keeps the
 * sites it can vouch for; then nested write faults on protected text are
 * let through only where they take a site through Linux's text_poke_bp
 * sequence (int3, tail, first byte), as plain MOV stores or REP MOVSB
 * through another mapping of the page. Everything else is a violation.
 *
 * The machine: RAM below 3 GiB, the nested map identity, guest page tables
 * built here for the kernel-virtual addresses below. The policy protects
 * TEXT (rx), RODATA (r, holding the table) and RWDATA (rw: protected but
 * writable, so no place for a table or a site); DATA is not protected.
 */
#include <stdio.h>
#include <string.h>

#include "fake.h"
#include "fake_pool.h"
#include "test.h"

#define VEC_GP	  13
#define RFLAGS_DF (1ull << 10)

#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)

#define BLOB_GPA 0x01000000ull
#define TABLES	 0x00100000ull /* guest page tables */
#define NTABLES	 16
#define CODE	 0x00120000ull /* the page RIP is on */
#define RIP_PAGE (FAKE_RIP & ~0xfffull)

#define TEXT	    0x00400000ull /* protected rx: the sites */
#define TEXT_SIZE   0x4000ull
#define RODATA	    0x00600000ull /* protected r: the table */
#define RODATA_SIZE 0x2000ull
#define DATA	    0x00700000ull /* not protected; its second page is the REP MOVSB source */
#define DATA_SIZE   0x2000ull
#define RWDATA	    0x00800000ull /* protected, but writable */

#define TEXT_VA	 0xffffffff81000000ull
#define RO_VA	 0xffffffff82000000ull
#define DATA_VA	 0xffffffff83000000ull
#define RW_VA	 0xffffffff84000000ull
#define NOMAP_VA 0xffffffff85000000ull
#define POKE_VA	 0x00007f0000000000ull /* text_poke's temporary mapping of TEXT */
#define SRC_VA	 (DATA_VA + 0x1000)
#define ID_TEXT	 100 /* the text rule's id */
#define I_PATCH	 3   /* the patch rule's index */

#define R_ TVMM_PERM_R
#define W_ TVMM_PERM_W
#define X_ TVMM_PERM_X

static const uint8_t nop5[5] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
static const uint8_t nop2[2] = {0x66, 0x90};

/* ---- the machine ---- */

#define MAXR 8

struct blob {
	struct tvmm_pol_header h;
	struct tvmm_pol_rule r[MAXR];
};

static struct vcpu v;
static uint32_t next_cpu = 3000;
static uint8_t *text, *rodata, *data, *code;

static void machine(void)
{
	fake_machine(&v, next_cpu++);
	CHECK_EQ(pt_map(&vmm.nested, 0, 0, GiB(4), ACC_RWX, PT_MT_WB, 3), 0);
	fake_mem_add(BLOB_GPA, 0x10000, 0);
	fake_gpt_init(TABLES, NTABLES);
	code = fake_mem_add(CODE, 4096, 0x90);
	text = fake_mem_add(TEXT, TEXT_SIZE, 0xcc);
	rodata = fake_mem_add(RODATA, RODATA_SIZE, 0);
	data = fake_mem_add(DATA, DATA_SIZE, 0);
	fake_mem_add(RWDATA, 0x1000, 0);
	fake_gpt_map(RIP_PAGE, CODE);
	fake_gpt_map_range(TEXT_VA, TEXT, TEXT_SIZE);
	fake_gpt_map_range(POKE_VA, TEXT, TEXT_SIZE);
	fake_gpt_map_range(RO_VA, RODATA, RODATA_SIZE);
	fake_gpt_map(RO_VA + RODATA_SIZE, DATA); /* just past the read-only table: writable */
	fake_gpt_map_range(DATA_VA, DATA, DATA_SIZE);
	fake_gpt_map(RW_VA, RWDATA);
	fake.gs[GS_CR3] = TABLES;
	fake.gs[GS_CR4] = 1ull << 5;				      /* PAE */
	fake.gs[GS_EFER] = (1ull << 8) | (1ull << 10) | (1ull << 11); /* LME LMA NXE */
	fake.gs[GS_CR0] = 0x80050033;
}

static struct tvmm_pol_rule *add(struct blob *b, uint16_t kind, uint8_t action, uint8_t perm,
				 uint64_t a, uint64_t bb)
{
	uint32_t i = b->h.nrules;
	struct tvmm_pol_rule *r = &b->r[i];

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

/* Text rx, rodata r, rwdata rw, all deny; the jump table at [table, table + len). */
static void patch_policy(struct blob *b, uint64_t table, uint64_t len)
{
	memset(b, 0, sizeof(*b));
	b->h.magic = TVMM_POL_MAGIC;
	b->h.version = TVMM_POL_VERSION;
	b->h.size = sizeof(b->h);
	snprintf(b->h.name, sizeof(b->h.name), "patch");
	add(b, TVMM_RULE_MEM, TVMM_ACT_DENY, R_ | X_, TEXT, TEXT_SIZE);
	add(b, TVMM_RULE_MEM, TVMM_ACT_DENY, R_, RODATA, RODATA_SIZE);
	add(b, TVMM_RULE_MEM, TVMM_ACT_DENY, R_ | W_, RWDATA, 0x1000);
	add(b, TVMM_RULE_PATCH, TVMM_ACT_MONITOR, 0, table, len);
}

static int64_t lock(const struct blob *b)
{
	struct exit e = {.reason = TVMM_EXIT_HYPERCALL, .insn_len = 3};
	uint64_t len = sizeof(b->h) + (uint64_t)b->h.nrules * sizeof(b->r[0]);

	memcpy(fake_mem_ptr(BLOB_GPA), b, len);
	v.regs[GREG_RAX] = TVMM_HC_LOCK;
	v.regs[GREG_RBX] = BLOB_GPA;
	v.regs[GREG_RCX] = len;
	v.regs[GREG_RDX] = 0;
	CHECK_EQ(hypercall_dispatch(&v, &e), ACT_RESUME);
	fake.gs[GS_RIP] = FAKE_RIP;
	return (int64_t)v.regs[GREG_RAX];
}

/* ---- the jump table ---- */

/* Entry i of a table at RO_VA + off: code and target relative to their own fields. */
static void put_entry(uint64_t off, uint32_t i, uint64_t site_va, uint64_t target_va)
{
	uint64_t va = RO_VA + off + 16ull * i;
	int32_t c = (int32_t)(site_va - va), t = (int32_t)(target_va - (va + 4));
	int64_t key = (int64_t)(DATA_VA + 0x100 + i * 16) | 1; /* low bits: flags */

	memcpy(rodata + off + 16ull * i, &c, 4);
	memcpy(rodata + off + 16ull * i + 4, &t, 4);
	memcpy(rodata + off + 16ull * i + 8, &key, 8);
}

static uint8_t *text_at(uint64_t va)
{
	return text + (va - TEXT_VA);
}

static void put_nop(uint64_t va, unsigned len)
{
	memcpy(text_at(va), len == 5 ? nop5 : nop2, len);
}

/* The JMP a site of len bytes at va holds when its branch is taken. */
static void jmp_bytes(uint64_t va, unsigned len, uint64_t target, uint8_t out[5])
{
	int32_t rel = (int32_t)(target - (va + len));

	out[0] = len == 5 ? 0xe9 : 0xeb;
	memcpy(out + 1, &rel, len - 1);
}

static void put_jmp(uint64_t va, unsigned len, uint64_t target)
{
	uint8_t j[5];

	jmp_bytes(va, len, target, j);
	memcpy(text_at(va), j, len);
}

/* The sites of the small table. */
#define S5N  (TEXT_VA + 0x100) /* 5-byte NOP */
#define T5N  (TEXT_VA + 0x800)
#define S5J  (TEXT_VA + 0x200) /* 5-byte JMP, backwards */
#define T5J  (TEXT_VA + 0x180)
#define S2N  (TEXT_VA + 0x300) /* 2-byte NOP */
#define T2N  (TEXT_VA + 0x310)
#define S2J  (TEXT_VA + 0x1010) /* 2-byte JMP, second page */
#define T2J  (TEXT_VA + 0x1040)
#define SUNK (TEXT_VA + 0x400) /* unknown bytes */
#define SBAD (TEXT_VA + 0x500) /* a JMP, but not to its target */
#define TAB  0x40	       /* the table's offset in RODATA */
#define NENT 9

/* Nine entries, four usable sites; the table at RO_VA + TAB. */
static void small_table(void)
{
	static const uint8_t unknown[5] = {0x55, 0x48, 0x89, 0xe5, 0x90};

	put_nop(S5N, 5);
	put_jmp(S5J, 5, T5J);
	put_nop(S2N, 2);
	put_jmp(S2J, 2, T2J);
	memcpy(text_at(SUNK), unknown, 5);
	put_jmp(SBAD, 5, TEXT_VA + 0x900);
	memcpy(data + 0x40, nop5, 5);
	memcpy(fake_mem_ptr(RWDATA + 0x10), nop5, 5);
	put_entry(TAB, 0, S2J, T2J); /* not in address order */
	put_entry(TAB, 1, SUNK, TEXT_VA + 0x480);
	put_entry(TAB, 2, S5N, T5N);
	put_entry(TAB, 3, DATA_VA + 0x40, DATA_VA + 0x80); /* not protected */
	put_entry(TAB, 4, S5J, T5J);
	put_entry(TAB, 5, SBAD, TEXT_VA + 0xa00);     /* its JMP goes elsewhere */
	put_entry(TAB, 6, NOMAP_VA, NOMAP_VA + 0x40); /* not mapped (freed init code) */
	put_entry(TAB, 7, S2N, T2N);
	put_entry(TAB, 8, RW_VA + 0x10, RW_VA + 0x40); /* protected but writable */
}

/* The small table locked; RIP at FAKE_RIP, the console cleared. */
static void locked_small(void)
{
	struct blob b;

	machine();
	small_table();
	patch_policy(&b, RO_VA + TAB, NENT * 16);
	CHECK_EQ(lock(&b), TVMM_OK);
	CHECK(vmm.pol.locked);
	CHECK_EQ(vmm.pol.nsites, 4);
	fake_console_reset();
}

/* A refused lock applied nothing. */
static void expect_untouched(int line)
{
	bool ok = true;

	ok &= CHECK(!vmm.pol.locked);
	ok &= CHECK_EQ(vmm.pol.gen, 0);
	ok &= CHECK_EQ(vmm.pol.nrules, 0);
	ok &= CHECK(vmm.pol.rules == NULL);
	ok &= CHECK_EQ(vmm.pol.nsites, 0);
	ok &= CHECK_EQ(vmm.nested.splits, 0);
	ok &= CHECK_EQ(fake.apply_policies, 0);
	ok &= CHECK_EQ(fake.ninject, 0);
	ok &= expect_map(&vmm.nested, TEXT, TEXT, ACC_RWX, 3, PT_MT_WB);
	ok &= CHECK(policy_find(TVMM_RULE_MEM, TEXT, 0x1000, 0) == NULL);
	if (!ok)
		fprintf(stderr, "  (line %d)\n", line);
}

#define EXPECT_UNTOUCHED() expect_untouched(__LINE__)

/* ---- writes ---- */

static void guest_code(const uint8_t *bytes, size_t n)
{
	memset(code, 0x90, 4096);
	memcpy(code + (FAKE_RIP & 0xfff), bytes, n);
	fake.gs[GS_RIP] = FAKE_RIP;
}

static enum action npf_w(uint64_t gpa)
{
	fake.next_exit =
	    (struct exit){.reason = TVMM_EXIT_NPF,
			  .npf = {.gpa = gpa, .gva = POKE_VA + (gpa - TEXT), .access = ACC_W}};
	return core_handle_exit(&v);
}

static uint64_t va_gpa(uint64_t va)
{
	return TEXT + (va - TEXT_VA);
}

enum how { MOV, REP };

/*
 * Writes n bytes at text va the way text_poke does: MOV (movb $imm,(%rax)
 * for one byte, mov %cx/%ecx/%rcx,(%rdx) for 2/4/8) or REP MOVSB from
 * SRC_VA to the POKE_VA alias. Only sets up and takes the exit.
 */
static enum action poke(enum how how, uint64_t va, const uint8_t *bytes, unsigned n)
{
	uint64_t val = 0;

	memcpy(&val, bytes, n);
	v.regs[GREG_RAX] = 0x1111;
	v.regs[GREG_RDX] = 0x2222;
	if (how == REP) {
		static const uint8_t rep_movsb[] = {0xf3, 0xa4};
		memcpy(data + 0x1000, bytes, n);
		v.regs[GREG_RSI] = SRC_VA;
		v.regs[GREG_RDI] = POKE_VA + (va - TEXT_VA);
		v.regs[GREG_RCX] = n;
		guest_code(rep_movsb, sizeof(rep_movsb));
	} else if (n == 1) {
		uint8_t movb[] = {0xc6, 0x00, bytes[0]};
		guest_code(movb, sizeof(movb));
	} else {
		static const uint8_t mov16[] = {0x66, 0x89, 0x0a}, mov32[] = {0x89, 0x0a},
				     mov64[] = {0x48, 0x89, 0x0a};
		v.regs[GREG_RCX] = val | (0xabcdull << 48);
		if (n == 2)
			guest_code(mov16, sizeof(mov16));
		else if (n == 4)
			guest_code(mov32, sizeof(mov32));
		else
			guest_code(mov64, sizeof(mov64));
	}
	return npf_w(va_gpa(va));
}

static unsigned insn_len(enum how how, unsigned n)
{
	return how == REP ? 2 : n == 1 ? 3 : n == 2 ? 3 : n == 4 ? 2 : 3;
}

/* A write that must be let through: done, RIP past it, counted, not a violation. */
static bool expect_allowed(enum how how, uint64_t va, const uint8_t *bytes, unsigned n, int line)
{
	uint64_t hits = events_hits(), patches = vmm.pol.patches;
	bool ok = CHECK_EQ(poke(how, va, bytes, n), ACT_RESUME);

	ok &= CHECK(!memcmp(text_at(va), bytes, n));
	ok &= CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + insn_len(how, n));
	ok &= CHECK_EQ(vmm.pol.patches, patches + 1);
	ok &= CHECK_EQ(events_hits(), hits);
	ok &= CHECK_EQ(fake.ninject, 0);
	ok &= CHECK(!vmm.stopping);
	if (how == REP) {
		ok &= CHECK_EQ(v.regs[GREG_RSI], SRC_VA + n);
		ok &= CHECK_EQ(v.regs[GREG_RDI], POKE_VA + (va - TEXT_VA) + n);
		ok &= CHECK_EQ(v.regs[GREG_RCX], 0);
	}
	if (!ok)
		fprintf(stderr, "  (line %d)\n", line);
	return ok;
}

/*
 * A write that must be refused: recorded against the text rule, nothing
 * written; a MOV is dropped (RIP past it), anything else gets #GP.
 */
static bool expect_refused(enum how how, uint64_t va, const uint8_t *bytes, unsigned n, int line)
{
	uint64_t hits = events_hits(), patches = vmm.pol.patches;
	uint8_t before[16];
	uint64_t rsi = SRC_VA, rdi = POKE_VA + (va - TEXT_VA);
	bool ok;

	memcpy(before, text_at(va) - 4, sizeof(before));
	fake.ninject = 0;
	ok = CHECK_EQ(poke(how, va, bytes, n), ACT_RESUME);
	ok &= CHECK(!memcmp(text_at(va) - 4, before, sizeof(before)));
	ok &= CHECK_EQ(vmm.pol.patches, patches);
	ok &= CHECK_EQ(events_hits(), hits + 1);
	ok &= CHECK(!vmm.stopping);
	if (how == MOV) {
		ok &= CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + insn_len(how, n));
		ok &= CHECK_EQ(fake.ninject, 0);
	} else {
		ok &= CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP);
		ok &= CHECK_EQ(fake.ninject, 1) && CHECK_EQ(fake.inject[0].vector, VEC_GP);
		ok &= CHECK_EQ(v.regs[GREG_RSI], rsi);
		ok &= CHECK_EQ(v.regs[GREG_RDI], rdi);
		ok &= CHECK_EQ(v.regs[GREG_RCX], n);
	}
	fake.ninject = 0;
	if (!ok)
		fprintf(stderr, "  (line %d)\n", line);
	return ok;
}

#define ALLOWED(how, va, bytes, n) expect_allowed(how, va, bytes, n, __LINE__)
#define REFUSED(how, va, bytes, n) expect_refused(how, va, bytes, n, __LINE__)

static const uint8_t int3[1] = {0xcc};

/*
 * text_poke_bp on one site, from its current form to the other: int3, the
 * new tail, the new first byte. Each step must be allowed; the site then
 * holds the new form.
 */
static bool flip(enum how how, uint64_t va, unsigned len, uint64_t target, bool to_jmp)
{
	uint8_t want[5];
	bool ok;

	if (to_jmp)
		jmp_bytes(va, len, target, want);
	else
		memcpy(want, len == 5 ? nop5 : nop2, len);
	ok = ALLOWED(how, va, int3, 1);
	ok &= ALLOWED(how, va + 1, want + 1, len - 1);
	ok &= CHECK_EQ(*text_at(va), 0xcc);
	ok &= ALLOWED(how, va, want, 1);
	ok &= CHECK(!memcmp(text_at(va), want, len));
	return ok;
}

/* ---- the lock ---- */

TEST(patch_lock_reads_sites)
{
	struct blob b;

	machine();
	small_table();
	patch_policy(&b, RO_VA + TAB, NENT * 16);
	CHECK_EQ(lock(&b), TVMM_OK);
	CHECK(vmm.pol.locked);
	CHECK_EQ(vmm.pol.nrules, 4);
	/* Four sites: the two NOPs and the two JMPs; five entries skipped. */
	CHECK_EQ(vmm.pol.nsites, 4);
	CHECK(strstr(fake_console, "jump labels: 4 sites in protected text, 5 entries skipped") !=
	      NULL);
	CHECK_EQ(vmm.pol.patches, 0);
	/* The text and the table are protected as the memory rules say. */
	CHECK(expect_map(&vmm.nested, TEXT, TEXT, ACC_R | ACC_X, 1, PT_MT_WB));
	CHECK(expect_map(&vmm.nested, RODATA + 0x1000, RODATA + 0x1000, ACC_R, 1, PT_MT_WB));
	/* Nothing in the guest changed. */
	CHECK(!memcmp(text_at(S5N), nop5, 5));
	CHECK_EQ(*text_at(S5J), 0xe9);
	/* An empty table (all entries skipped) is fine too: no sites, locked. */
	machine();
	small_table();
	patch_policy(&b, RO_VA + TAB + 16, 16); /* the unknown-bytes entry alone */
	CHECK_EQ(lock(&b), TVMM_OK);
	CHECK(vmm.pol.locked);
	CHECK_EQ(vmm.pol.nsites, 0);
	/* With no sites, a write to text is an ordinary violation. */
	REFUSED(MOV, S5N, int3, 1);
}

TEST(patch_lock_table_must_be_read_only)
{
	struct blob b;
	uint64_t hits = events_hits();

	/* In memory no rule protects. */
	machine();
	small_table();
	memcpy(data + 0x200, rodata + TAB, NENT * 16);
	patch_policy(&b, DATA_VA + 0x200, NENT * 16);
	CHECK_EQ(lock(&b), TVMM_EINVAL);
	EXPECT_UNTOUCHED();
	CHECK(strstr(fake_console, "not in read-only protected memory") != NULL);
	/* Protected, but writable. */
	machine();
	small_table();
	patch_policy(&b, RW_VA, 0x100);
	CHECK_EQ(lock(&b), TVMM_EINVAL);
	EXPECT_UNTOUCHED();
	/* Not mapped at all. */
	machine();
	small_table();
	patch_policy(&b, NOMAP_VA, 0x100);
	CHECK_EQ(lock(&b), TVMM_EINVAL);
	EXPECT_UNTOUCHED();
	/* Starting in read-only memory, its last entry on the next (writable) page. */
	machine();
	small_table();
	patch_policy(&b, RO_VA + RODATA_SIZE - 0x10, 0x20);
	CHECK_EQ(lock(&b), TVMM_EINVAL);
	EXPECT_UNTOUCHED();
	/* Longer, the same: two read-only pages, then 16 bytes on the writable one. */
	machine();
	small_table();
	patch_policy(&b, RO_VA + 0xff0, 0x1020);
	CHECK_EQ(lock(&b), TVMM_EINVAL);
	EXPECT_UNTOUCHED();
	/* Right up to the end of the read-only memory: fine. */
	machine();
	small_table();
	memcpy(rodata + RODATA_SIZE - NENT * 16, rodata + TAB, NENT * 16);
	for (uint32_t i = 0; i < NENT; i++) { /* the relative offsets move with the table */
		int32_t c, t;
		uint64_t d = RODATA_SIZE - NENT * 16 - TAB;
		memcpy(&c, rodata + RODATA_SIZE - NENT * 16 + 16 * i, 4);
		memcpy(&t, rodata + RODATA_SIZE - NENT * 16 + 16 * i + 4, 4);
		c -= (int32_t)d;
		t -= (int32_t)d;
		memcpy(rodata + RODATA_SIZE - NENT * 16 + 16 * i, &c, 4);
		memcpy(rodata + RODATA_SIZE - NENT * 16 + 16 * i + 4, &t, 4);
	}
	patch_policy(&b, RO_VA + RODATA_SIZE - NENT * 16, NENT * 16);
	CHECK_EQ(lock(&b), TVMM_OK);
	CHECK_EQ(vmm.pol.nsites, 4);
	/* A structurally bad patch rule never gets that far: pol_check, RBX its index. */
	machine();
	small_table();
	patch_policy(&b, RO_VA + TAB, NENT * 16 + 8);
	CHECK_EQ(lock(&b), TVMM_EINVAL);
	CHECK_EQ(v.regs[GREG_RBX], I_PATCH);
	EXPECT_UNTOUCHED();
	machine();
	small_table();
	patch_policy(&b, RO_VA + TAB, NENT * 16);
	b.r[I_PATCH].action = TVMM_ACT_DENY;
	CHECK_EQ(lock(&b), TVMM_EINVAL);
	CHECK_EQ(v.regs[GREG_RBX], I_PATCH);
	EXPECT_UNTOUCHED();
	/* Two patch rules: one table only. */
	machine();
	small_table();
	patch_policy(&b, RO_VA + TAB, NENT * 16);
	add(&b, TVMM_RULE_PATCH, TVMM_ACT_MONITOR, 0, RO_VA + TAB, 16);
	CHECK_EQ(lock(&b), TVMM_EINVAL);
	CHECK_EQ(v.regs[GREG_RBX], I_PATCH + 1);
	EXPECT_UNTOUCHED();
	/* Refusals before the lock are no violations. */
	CHECK_EQ(events_hits(), hits);
}

TEST(patch_lock_refused_then_retried)
{
	struct blob b;

	/* A refused lock leaves the guest free to lock a good policy. */
	machine();
	small_table();
	patch_policy(&b, DATA_VA, 0x100);
	CHECK_EQ(lock(&b), TVMM_EINVAL);
	EXPECT_UNTOUCHED();
	patch_policy(&b, RO_VA + TAB, NENT * 16);
	CHECK_EQ(lock(&b), TVMM_OK);
	CHECK_EQ(vmm.pol.nsites, 4);
	CHECK(flip(MOV, S5N, 5, T5N, true));
}

/* ---- legal patches ---- */

TEST(patch_text_poke_mov)
{
	locked_small();
	/* NOP -> JMP -> NOP, and JMP -> NOP -> JMP, both lengths. */
	CHECK(flip(MOV, S5N, 5, T5N, true));
	CHECK(flip(MOV, S5N, 5, T5N, false));
	CHECK(flip(MOV, S5J, 5, T5J, false));
	CHECK(flip(MOV, S5J, 5, T5J, true));
	CHECK(flip(MOV, S2N, 2, T2N, true));
	CHECK(flip(MOV, S2N, 2, T2N, false));
	CHECK(flip(MOV, S2J, 2, T2J, false));
	CHECK(flip(MOV, S2J, 2, T2J, true));
	CHECK_EQ(vmm.pol.patches, 8 * 3);
	CHECK(strstr(fake_console, "jump-label patch #1: cpu") != NULL);
	/* The bytes around the sites were not touched. */
	CHECK_EQ(*text_at(S5N - 1), 0xcc);
	CHECK_EQ(*text_at(S5N + 5), 0xcc);
	CHECK_EQ(*text_at(S2N + 2), 0xcc);
	/* The text stays write-protected: each write was the VMM's. */
	CHECK(expect_map(&vmm.nested, TEXT, TEXT, ACC_R | ACC_X, 1, PT_MT_WB));
	CHECK(expect_map(&vmm.nested, TEXT + 0x1000, TEXT + 0x1000, ACC_R | ACC_X, 1, PT_MT_WB));
}

TEST(patch_text_poke_rep_movsb)
{
	locked_small();
	CHECK(flip(REP, S5N, 5, T5N, true));
	CHECK(flip(REP, S5N, 5, T5N, false));
	CHECK(flip(REP, S5J, 5, T5J, false));
	CHECK(flip(REP, S2N, 2, T2N, true));
	CHECK(flip(REP, S2J, 2, T2J, false));
	CHECK_EQ(vmm.pol.patches, 5 * 3);
}

TEST(patch_other_legal_forms)
{
	uint8_t j[5];

	locked_small();
	jmp_bytes(S5N, 5, T5N, j);
	/* A whole site in one write (no int3 step): memcpy of 5 bytes. */
	ALLOWED(REP, S5N, j, 5);
	ALLOWED(REP, S5N, nop5, 5);
	ALLOWED(MOV, S2N, nop2, 2); /* rewriting what is there already */
	jmp_bytes(S2N, 2, T2N, j);
	ALLOWED(MOV, S2N, j, 2);
	/* int3 on a site that already has it; the same tail again. */
	ALLOWED(MOV, S5J, int3, 1);
	ALLOWED(MOV, S5J, int3, 1);
	jmp_bytes(S5J, 5, T5J, j);
	ALLOWED(MOV, S5J + 1, j + 1, 4);
	ALLOWED(MOV, S5J + 1, nop5 + 1, 4);
	ALLOWED(MOV, S5J, nop5, 1);
	CHECK(!memcmp(text_at(S5J), nop5, 5));
	CHECK_EQ(vmm.pol.patches, 9);
}

/* ---- illegal writes ---- */

TEST(patch_refused_contents)
{
	uint8_t j[5], other[5];
	static const uint8_t nop[1] = {0x90}, ret[1] = {0xc3}, e9[1] = {0xe9}, eb[1] = {0xeb},
			     f0[1] = {0x0f}, x66[1] = {0x66}, zero4[4] = {0};

	locked_small();
	/* A JMP to another target: the tail after int3, or the whole JMP. */
	jmp_bytes(S5N, 5, T5N + 1, other);
	ALLOWED(MOV, S5N, int3, 1);
	REFUSED(MOV, S5N + 1, other + 1, 4);
	REFUSED(REP, S5N + 1, other + 1, 4);
	REFUSED(REP, S5N, other, 5);
	jmp_bytes(S5N, 5, T5N, j);
	j[4] ^= 0x80; /* the same low bytes, far away */
	REFUSED(MOV, S5N + 1, j + 1, 4);
	REFUSED(MOV, S5N + 1, zero4, 4);
	/* Part of a tail: each write must leave a whole legal form. */
	jmp_bytes(S5N, 5, T5N, j);
	REFUSED(REP, S5N + 1, j + 1, 1); /* cc fb 44 00 00 */
	REFUSED(MOV, S5N + 2, j + 2, 1); /* cc 1f 06 00 00 */
	ALLOWED(MOV, S5N, nop5, 1);
	CHECK(!memcmp(text_at(S5N), nop5, 5));
	/* Arbitrary first bytes. */
	REFUSED(MOV, S5N, nop, 1);
	REFUSED(MOV, S5N, ret, 1);
	REFUSED(MOV, S5J, ret, 1);
	REFUSED(MOV, S2N, ret, 1);
	/* A NOP's first byte on a JMP's tail or the reverse: another instruction. */
	REFUSED(MOV, S5N, e9, 1);  /* e9 1f 44 00 00: a JMP elsewhere */
	REFUSED(MOV, S5J, f0, 1);  /* 0f + rel32 */
	REFUSED(MOV, S2N, eb, 1);  /* eb 90: jmp -112 */
	REFUSED(MOV, S2J, x66, 1); /* 66 + rel8 */
	/* A 2-byte site's JMP with another displacement. */
	ALLOWED(MOV, S2N, int3, 1);
	REFUSED(MOV, S2N + 1, ret, 1);
	jmp_bytes(S2N, 2, T2N + 2, other);
	REFUSED(MOV, S2N + 1, other + 1, 1);
	REFUSED(MOV, S2N, other, 2);
	/* A 2-byte site given a 5-byte form: spills past it. */
	REFUSED(MOV, S2N, nop5, 4);
	REFUSED(REP, S2N, nop5, 5);
	jmp_bytes(S2N, 5, T2N, other);
	REFUSED(REP, S2N, other, 5);
	/* A legal 2-byte form, and more after it. */
	static const uint8_t nop2_more[5] = {0x66, 0x90, 0x0f, 0x0b, 0xc3};
	REFUSED(MOV, S2N, nop2_more, 4);
	REFUSED(REP, S2N, nop2_more, 3);
	REFUSED(REP, S2N, nop2_more, 5);
	REFUSED(REP, S2N + 1, nop2_more + 1, 2);
	ALLOWED(MOV, S2N, nop2, 1);
	CHECK(!memcmp(text_at(S2N), nop2, 2));
	/* Nothing left half-done. */
	CHECK(!memcmp(text_at(S5N), nop5, 5));
	jmp_bytes(S5J, 5, T5J, j);
	CHECK(!memcmp(text_at(S5J), j, 5));
}

TEST(patch_refused_places)
{
	uint8_t j[8], tail[8] = {0};
	struct tvmm_event e;

	locked_small();
	/* Past the site's end: an 8-byte store at it, a 4-byte one at its third byte. */
	memcpy(j, nop5, 5);
	memset(j + 5, 0xcc, 3);
	REFUSED(MOV, S5N, j, 8);
	memcpy(tail, nop5 + 2, 3);
	REFUSED(MOV, S5N + 2, tail, 4);
	memcpy(tail, nop5 + 1, 4);
	REFUSED(REP, S5N + 1, tail, 5);
	/* Not a site: before, after, between, on the unknown and the mismatched one. */
	REFUSED(MOV, S5N - 1, int3, 1);
	REFUSED(MOV, S5N + 5, int3, 1);
	REFUSED(MOV, S2N + 2, int3, 1);
	REFUSED(MOV, TEXT_VA + 0x50, int3, 1);
	REFUSED(MOV, SUNK, int3, 1);
	REFUSED(MOV, SBAD, int3, 1);
	REFUSED(REP, SBAD, nop5, 5);
	/* The record names the text rule and the address. */
	REFUSED(MOV, TEXT_VA + 0x60, int3, 1);
	{
		struct {
			struct tvmm_events h;
			struct tvmm_event r[1];
		} buf;
		struct tvmm_events h;
		events_read(&h, sizeof(h), ~0ull);
		events_read(&buf.h, sizeof(buf), h.records);
		e = buf.r[0];
		CHECK_EQ(buf.h.n, 1);
		CHECK_EQ(e.kind, TVMM_EV_MEM);
		CHECK_EQ(e.rule, ID_TEXT);
		CHECK_EQ(e.action, TVMM_ACT_DENY);
		CHECK_EQ(e.gpa, TEXT + 0x60);
		CHECK_EQ(e.cpu, v.cpu);
		CHECK_EQ(e.access, ACC_W);
	}
	CHECK(!memcmp(text_at(S5N), nop5, 5));
	CHECK_EQ(vmm.pol.patches, 0);
}

TEST(patch_refused_contexts)
{
	locked_small();
	/* REP MOVSB: more than 5 bytes, none, RDI elsewhere or unmapped, RSI unmapped. */
	{
		static const uint8_t rep_movsb[] = {0xf3, 0xa4};
		uint64_t hits;

		guest_code(rep_movsb, sizeof(rep_movsb));
		memset(data + 0x1000, 0xcc, 8);
		memcpy(data + 0x1000, nop5, 5);
		v.regs[GREG_RSI] = SRC_VA;
		v.regs[GREG_RDI] = POKE_VA + (S5N - TEXT_VA);
		/* RCX 6: the site and the byte after it. */
		v.regs[GREG_RCX] = 6;
		hits = events_hits();
		CHECK_EQ(npf_w(va_gpa(S5N)), ACT_RESUME);
		CHECK_EQ(events_hits(), hits + 1);
		CHECK_EQ(fake.ninject, 1);
		CHECK_EQ(v.regs[GREG_RCX], 6);
		/* RCX 0: nothing to write, nothing to let through. */
		fake.ninject = 0;
		fake.gs[GS_RIP] = FAKE_RIP;
		v.regs[GREG_RCX] = 0;
		CHECK_EQ(npf_w(va_gpa(S5N)), ACT_RESUME);
		CHECK_EQ(events_hits(), hits + 2);
		CHECK_EQ(fake.ninject, 1);
		/* A huge count. */
		fake.ninject = 0;
		fake.gs[GS_RIP] = FAKE_RIP;
		v.regs[GREG_RCX] = 1ull << 40;
		CHECK_EQ(npf_w(va_gpa(S5N)), ACT_RESUME);
		CHECK_EQ(events_hits(), hits + 3);
		/* RDI not where the fault was (another site's address). */
		fake.ninject = 0;
		fake.gs[GS_RIP] = FAKE_RIP;
		v.regs[GREG_RCX] = 1;
		v.regs[GREG_RDI] = POKE_VA + (S5J - TEXT_VA);
		CHECK_EQ(npf_w(va_gpa(S5N)), ACT_RESUME);
		CHECK_EQ(events_hits(), hits + 4);
		CHECK_EQ(*text_at(S5N), 0x0f);
		CHECK_EQ(*text_at(S5J), 0xe9);
		/* RDI not mapped; RSI not mapped. */
		fake.ninject = 0;
		fake.gs[GS_RIP] = FAKE_RIP;
		v.regs[GREG_RDI] = NOMAP_VA;
		CHECK_EQ(npf_w(va_gpa(S5N)), ACT_RESUME);
		CHECK_EQ(events_hits(), hits + 5);
		fake.ninject = 0;
		fake.gs[GS_RIP] = FAKE_RIP;
		v.regs[GREG_RDI] = POKE_VA + (S5N - TEXT_VA);
		v.regs[GREG_RSI] = NOMAP_VA;
		CHECK_EQ(npf_w(va_gpa(S5N)), ACT_RESUME);
		CHECK_EQ(events_hits(), hits + 6);
		CHECK(!memcmp(text_at(S5N), nop5, 5));
		/* Other string moves: REP MOVSW/MOVSD, plain MOVSB, REPNE MOVSB. */
		static const uint8_t movsd[] = {0xf3, 0xa5}, movsb[] = {0xa4},
				     repne[] = {0xf2, 0xa4};
		const uint8_t *forms[] = {movsd, movsb, repne};
		const size_t lens[] = {sizeof(movsd), sizeof(movsb), sizeof(repne)};
		for (int i = 0; i < 3; i++) {
			guest_code(forms[i], lens[i]);
			fake.ninject = 0;
			v.regs[GREG_RSI] = SRC_VA;
			v.regs[GREG_RCX] = 1;
			memset(data + 0x1000, 0xcc, 4);
			CHECK_EQ(npf_w(va_gpa(S5N)), ACT_RESUME);
			CHECK_EQ(fake.ninject, 1);
			CHECK_EQ(events_hits(), hits + 7 + (uint64_t)i);
		}
		CHECK(!memcmp(text_at(S5N), nop5, 5));
	}
	/* Direction flag set: a backwards copy. */
	fake.gs[GS_RFLAGS] = RFLAGS_DF | 2;
	REFUSED(REP, S5N, int3, 1);
	fake.gs[GS_RFLAGS] = 2;
	ALLOWED(REP, S5N, int3, 1);
	ALLOWED(REP, S5N, nop5, 1);
	/* From CPL 3, by either instruction. */
	fake.gs[GS_CPL] = 3;
	REFUSED(REP, S5N, int3, 1);
	REFUSED(MOV, S5N, int3, 1);
	fake.gs[GS_CPL] = 0;
	/* Not in 64-bit code. */
	fake.gs[GS_CS_LONG] = 0;
	{
		uint64_t hits = events_hits();
		uint8_t movb[] = {0xc6, 0x00, 0xcc};
		guest_code(movb, sizeof(movb));
		fake.ninject = 0;
		CHECK_EQ(npf_w(va_gpa(S5N)), ACT_RESUME);
		CHECK_EQ(events_hits(), hits + 1);
		CHECK_EQ(fake.ninject, 1);
	}
	fake.gs[GS_CS_LONG] = 1;
	/* A fault in the guest's own page walk, or a read or fetch, is not a patch. */
	{
		uint64_t hits = events_hits(), patches = vmm.pol.patches;
		uint8_t movb[] = {0xc6, 0x00, 0xcc};
		guest_code(movb, sizeof(movb));
		fake.ninject = 0;
		fake.next_exit = (struct exit){
		    .reason = TVMM_EXIT_NPF,
		    .npf = {.gpa = va_gpa(S5N), .gva = 0, .access = ACC_W, .in_walk = true}};
		CHECK_EQ(core_handle_exit(&v), ACT_RESUME);
		CHECK_EQ(events_hits(), hits + 1);
		CHECK_EQ(vmm.pol.patches, patches);
		CHECK(!memcmp(text_at(S5N), nop5, 5));
	}
	CHECK(!memcmp(text_at(S5N), nop5, 5));
	CHECK_EQ(vmm.pol.patches, 2);
}

/* ---- many sites: sorting and search ---- */

#define NMANY 300

static uint32_t rng = 12345;

static uint32_t rnd(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

TEST(patch_many_sites_sorted)
{
	static uint64_t site[NMANY], target[NMANY];
	static uint8_t len[NMANY];
	static uint32_t order[NMANY];
	uint64_t pos = TEXT_VA + 0x10, gaps[NMANY];
	unsigned ngaps = 0;
	struct blob b;

	machine();
	/* Sites of both lengths, some back to back, some with a gap; none across a page. */
	for (uint32_t i = 0; i < NMANY; i++) {
		if (rnd() % 3 == 0) {
			gaps[ngaps++] = pos;
			pos += 1 + rnd() % 4;
		}
		len[i] = rnd() % 2 ? 5 : 2;
		if ((pos & 0xfff) + 5 > 0x1000)
			pos = (pos | 0xfff) + 1;
		site[i] = pos;
		pos += len[i];
		target[i] =
		    len[i] == 2 ? site[i] + 2 + rnd() % 200 - 100 : TEXT_VA + rnd() % TEXT_SIZE;
		if (rnd() % 2)
			put_nop(site[i], len[i]);
		else
			put_jmp(site[i], len[i], target[i]);
	}
	CHECK(pos < TEXT_VA + TEXT_SIZE);
	/* The table in shuffled order, across both read-only pages. */
	for (uint32_t i = 0; i < NMANY; i++)
		order[i] = i;
	for (uint32_t i = NMANY - 1; i > 0; i--) {
		uint32_t k = rnd() % (i + 1), t = order[i];
		order[i] = order[k];
		order[k] = t;
	}
	for (uint32_t i = 0; i < NMANY; i++)
		put_entry(0x10, i, site[order[i]], target[order[i]]);
	CHECK(0x10 + NMANY * 16 > 0x1000);
	patch_policy(&b, RO_VA + 0x10, NMANY * 16);
	CHECK_EQ(lock(&b), TVMM_OK);
	if (!CHECK_EQ(vmm.pol.nsites, NMANY))
		return;
	/* Each site found, in the table's order: flip it, with every step checked. */
	for (uint32_t i = 0; i < NMANY; i++) {
		uint32_t k = order[i];
		bool is_jmp = *text_at(site[k]) != (len[k] == 5 ? 0x0f : 0x66);
		if (!flip(i % 2 ? MOV : REP, site[k], len[k], target[k], !is_jmp)) {
			fprintf(stderr, "  (site %u at %#llx, len %u)\n", k,
				(unsigned long long)site[k], len[k]);
			break;
		}
	}
	CHECK_EQ(vmm.pol.patches, 3 * NMANY);
	/* The gaps between sites are no sites. */
	for (unsigned i = 0; i < ngaps; i++)
		if (!REFUSED(MOV, gaps[i], int3, 1))
			break;
	/* The byte after the last site, the byte before the first. */
	REFUSED(MOV, pos, int3, 1);
	REFUSED(MOV, TEXT_VA + 0xf, int3, 1);
	CHECK_EQ(vmm.pol.patches, 3 * NMANY);
}

/* A 5-byte site straddling two (physically contiguous) text pages. */
TEST(patch_site_across_pages)
{
	struct blob b;
	uint64_t site = TEXT_VA + 0xffd, target = TEXT_VA + 0x1800;

	machine();
	put_nop(site, 5);
	put_entry(TAB, 0, site, target);
	patch_policy(&b, RO_VA + TAB, 16);
	CHECK_EQ(lock(&b), TVMM_OK);
	CHECK_EQ(vmm.pol.nsites, 1);
	CHECK(flip(MOV, site, 5, target, true));
	CHECK(flip(REP, site, 5, target, false));
	CHECK_EQ(vmm.pol.patches, 6);
}
