/* SPDX-License-Identifier: MIT */
/*
 * Exit dispatch through core_handle_exit with a fake backend: what each
 * exit does to registers, RIP and injected events, the stop path, and the
 * counters. The nested-page-fault cases run the real emulation
 * (emulate.c, gwalk.c, decode.c) against guest page tables and code in
 * fake guest-physical memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"
#include "fake_x86.h"
#include "test.h"

#define VEC_UD 6
#define VEC_GP 13

static struct vcpu v;

/* A small nested map (4 GiB, 1 GiB pages), for the stop path to empty. */
#define NESTED_PAGES 4
#define NESTED_BASE  0x0000007000000000ull
static uint8_t nested_pool[NESTED_PAGES][4096];
static unsigned nested_used;

static void *nested_alloc(uint64_t *pa)
{
	if (nested_used >= NESTED_PAGES)
		return NULL;
	memset(nested_pool[nested_used], 0, 4096);
	*pa = NESTED_BASE + nested_used * 4096ull;
	return nested_pool[nested_used++];
}

static void *nested_ptr(uint64_t pa)
{
	uint64_t i = (pa - NESTED_BASE) / 4096;

	if (!CHECK(i < nested_used && !(pa & 0xfff)))
		return nested_pool[0];
	return nested_pool[i];
}

static bool nested_intact(void)
{
	uint64_t pa;
	unsigned perm, level;
	enum pt_memtype mt;

	return pt_lookup(&vmm.nested, 0x12345678, &pa, &perm, &level, &mt) == 0 &&
	       pa == 0x12345678 && perm == ACC_RWX && level == 3;
}

/* Registers with a pattern; each test checks what changed against it. */
static uint64_t reg0(int i)
{
	return 0xdeadbeefcafe0000ull | (uint64_t)(i * 0x1111);
}

static void setup(void)
{
	memset(&v, 0, sizeof(v));
	fake_reset(&v);
	v.cpu = 2;
	nested_used = 0;
	vmm.nested.fmt = &pt_format_x86;
	vmm.nested.levels = 4;
	vmm.nested.alloc_table = nested_alloc;
	vmm.nested.table_ptr = nested_ptr;
	CHECK_EQ(pt_init(&vmm.nested), 0);
	CHECK_EQ(pt_map(&vmm.nested, 0, 0, 4ull << 30, ACC_RWX, PT_MT_WB, 3), 0);
	CHECK(nested_intact());
	for (int i = 0; i < GREG_NR; i++)
		v.regs[i] = reg0(i);
}

static enum action run(struct exit e)
{
	fake.next_exit = e;
	return core_handle_exit(&v);
}

/* Registers other than those in `changed` (a bit per GREG_*) are as setup() left them. */
static bool regs_kept(unsigned changed, int line)
{
	bool ok = true;

	for (int i = 0; i < GREG_NR; i++)
		if (!(changed & 1u << i) && !CHECK_EQ(v.regs[i], reg0(i))) {
			fprintf(stderr, "  (register %d, line %d)\n", i, line);
			ok = false;
		}
	return ok;
}

#define REGS_KEPT(changed) regs_kept(changed, __LINE__)
#define R(x)		   (1u << GREG_##x)

/* One injection of `vector`, RIP where it was. */
static void expect_fault(uint8_t vector, bool has_err, int line)
{
	bool ok = CHECK_EQ(fake.ninject, 1) && CHECK_EQ(fake.inject[0].vector, vector) &&
		  CHECK_EQ(fake.inject[0].has_err, has_err) && CHECK_EQ(fake.inject[0].err, 0);

	ok &= CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP);
	ok &= CHECK_EQ(fake.rip_sets, 0);
	if (!ok)
		fprintf(stderr, "  (line %d)\n", line);
}

#define EXPECT_UD() expect_fault(VEC_UD, false, __LINE__)
#define EXPECT_GP() expect_fault(VEC_GP, true, __LINE__)

/* ---- CPUID ---- */

static void cpuid_exit(uint64_t rax, uint64_t rcx)
{
	setup();
	fake.hide_xor[2] = 0x4;
	fake.hide_xor[3] = 0x80000000u;
	v.regs[GREG_RAX] = rax;
	v.regs[GREG_RCX] = rcx;
	CHECK_EQ(run((struct exit){.reason = TVMM_EXIT_CPUID, .insn_len = 2}), ACT_RESUME);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + 2);
	CHECK_EQ(fake.ninject, 0);
	REGS_KEPT(R(RAX) | R(RBX) | R(RCX) | R(RDX));
}

TEST(exit_cpuid_signature)
{
	/* Bits 63:32 of RAX and RCX are not part of the leaf and subleaf. */
	cpuid_exit(0xffffffff00000000ull | TVMM_CPUID_LEAF, 0x1234567800000009ull);
	CHECK_EQ(v.regs[GREG_RAX], 0x40000000);
	CHECK_EQ(v.regs[GREG_RBX], 0x6e696854); /* "Thin" */
	CHECK_EQ(v.regs[GREG_RCX], 0x004d4d56); /* "VMM\0" */
	CHECK_EQ(v.regs[GREG_RDX], 0);
	CHECK_EQ(fake_cpuid_calls, 0);
	CHECK_EQ(fake.hides, 0);
	/* The bytes, as a guest would print them. */
	char sig[13] = {0};
	uint32_t r[3] = {(uint32_t)v.regs[GREG_RBX], (uint32_t)v.regs[GREG_RCX],
			 (uint32_t)v.regs[GREG_RDX]};
	memcpy(sig, r, 12);
	CHECK_STREQ(sig, "ThinVMM");
}

TEST(exit_cpuid_hypervisor_range)
{
	static const uint32_t leaves[] = {0x40000001, 0x40000002, 0x40000080, 0x400000ff};

	for (unsigned i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		cpuid_exit(leaves[i], 3);
		CHECK_EQ(v.regs[GREG_RAX], 0);
		CHECK_EQ(v.regs[GREG_RBX], 0);
		CHECK_EQ(v.regs[GREG_RCX], 0);
		CHECK_EQ(v.regs[GREG_RDX], 0);
		CHECK_EQ(fake_cpuid_calls, 0);
		CHECK_EQ(fake.hides, 0);
	}
}

/* Other leaves: the hardware's answer, then the backend's hiding, in that order. */
TEST(exit_cpuid_passthrough)
{
	static const struct {
		uint64_t rax, rcx;
	} cases[] = {
	    {0, 0},
	    {1, 0},
	    {7, 1},
	    {0xd, 0xabcdef0000000001ull},
	    {0x3fffffff, 0},
	    {0x40000100, 0},
	    {0x7fffffff, 0},
	    {0x80000001, 0},
	    {0x8000000a, 0},
	    {0xffffffff, 0xffffffff},
	    {0x0123456700000004ull, 0},
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t leaf = (uint32_t)cases[i].rax, sub = (uint32_t)cases[i].rcx;
		struct cpuid_regs want;

		cpuid_exit(cases[i].rax, cases[i].rcx);
		fake_cpuid_expect(leaf, sub, &want);
		CHECK_EQ(fake_cpuid_calls, 1);
		CHECK_EQ(fake_cpuid_leaf, leaf);
		CHECK_EQ(fake_cpuid_sub, sub);
		CHECK_EQ(fake.hides, 1);
		CHECK_EQ(fake.hide_leaf, leaf);
		CHECK_EQ(fake.hide_sub, sub);
		CHECK_EQ(fake.hide_in[0], want.eax);
		CHECK_EQ(fake.hide_in[1], want.ebx);
		CHECK_EQ(fake.hide_in[2], want.ecx);
		CHECK_EQ(fake.hide_in[3], want.edx);
		/* What hide changed reaches the guest, zero-extended. */
		CHECK_EQ(v.regs[GREG_RAX], want.eax);
		CHECK_EQ(v.regs[GREG_RBX], want.ebx);
		CHECK_EQ(v.regs[GREG_RCX], want.ecx ^ 0x4u);
		if (!CHECK_EQ(v.regs[GREG_RDX], want.edx ^ 0x80000000u))
			fprintf(stderr, "  (leaf %#x)\n", leaf);
	}
}

/* ---- hypercall exits ---- */

TEST(exit_hypercall_cpl0)
{
	setup();
	v.regs[GREG_RAX] = TVMM_HC_VERSION;
	CHECK_EQ(run((struct exit){.reason = TVMM_EXIT_HYPERCALL, .insn_len = 3}), ACT_RESUME);
	CHECK_EQ(v.regs[GREG_RAX], TVMM_OK);
	CHECK_EQ(v.regs[GREG_RBX], TVMM_ABI_VERSION);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + 3);
	CHECK_EQ(fake.ninject, 0);
	/* DEVIRT's action comes back out of core_handle_exit. */
	v.regs[GREG_RAX] = TVMM_HC_DEVIRT;
	v.regs[GREG_RBX] = 0;
	CHECK_EQ(run((struct exit){.reason = TVMM_EXIT_HYPERCALL, .insn_len = 3}), ACT_DEVIRT);
	CHECK_EQ(v.regs[GREG_RAX], TVMM_OK);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + 6);
}

/* From CPL > 0: #UD, as without a VMM; no call made, RIP stays. */
TEST(exit_hypercall_cpl3)
{
	for (uint64_t cpl = 1; cpl <= 3; cpl++) {
		setup();
		fake.gs[GS_CPL] = cpl;
		v.regs[GREG_RAX] = TVMM_HC_DEVIRT;
		v.regs[GREG_RBX] = 0;
		CHECK_EQ(run((struct exit){.reason = TVMM_EXIT_HYPERCALL, .insn_len = 3}),
			 ACT_RESUME);
		EXPECT_UD();
		REGS_KEPT(R(RAX) | R(RBX));
		CHECK_EQ(v.regs[GREG_RAX], TVMM_HC_DEVIRT);
		CHECK_EQ(v.exits[TVMM_EXIT_HYPERCALL], 1);
	}
}

TEST(exit_virt_insn)
{
	setup();
	CHECK_EQ(run((struct exit){.reason = TVMM_EXIT_VIRT_INSN, .insn_len = 3}), ACT_RESUME);
	EXPECT_UD();
	REGS_KEPT(0);
	CHECK(!vmm.stopping);
	CHECK(nested_intact());
	CHECK_EQ(fake.flushes, 0);
}

/* ---- MSR exits ---- */

TEST(exit_msr_read)
{
	setup();
	fake.msr_ok = true;
	fake.msr_read_val = 0x1122334455667788ull;
	CHECK_EQ(run((struct exit){
		     .reason = TVMM_EXIT_MSR_READ, .insn_len = 2, .msr.index = 0xc0010114}),
		 ACT_RESUME);
	CHECK_EQ(fake.msr_reads, 1);
	CHECK_EQ(fake.msr_writes, 0);
	CHECK_EQ(fake.msr_index, 0xc0010114);
	/* EDX:EAX, upper halves cleared as RDMSR does. */
	CHECK_EQ(v.regs[GREG_RAX], 0x55667788);
	CHECK_EQ(v.regs[GREG_RDX], 0x11223344);
	REGS_KEPT(R(RAX) | R(RDX));
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + 2);
	CHECK_EQ(fake.ninject, 0);
	/* Refused by the backend: #GP, nothing changed. */
	setup();
	fake.msr_ok = false;
	CHECK_EQ(run((struct exit){
		     .reason = TVMM_EXIT_MSR_READ, .insn_len = 2, .msr.index = 0xc0000080}),
		 ACT_RESUME);
	CHECK_EQ(fake.msr_reads, 1);
	CHECK_EQ(fake.msr_index, 0xc0000080);
	EXPECT_GP();
	REGS_KEPT(0);
}

TEST(exit_msr_write)
{
	setup();
	fake.msr_ok = true;
	v.regs[GREG_RAX] = 0xaaaaaaaa11111111ull;
	v.regs[GREG_RDX] = 0xbbbbbbbb22222222ull;
	CHECK_EQ(run((struct exit){
		     .reason = TVMM_EXIT_MSR_WRITE, .insn_len = 2, .msr.index = 0xc0010117}),
		 ACT_RESUME);
	CHECK_EQ(fake.msr_writes, 1);
	CHECK_EQ(fake.msr_reads, 0);
	CHECK_EQ(fake.msr_index, 0xc0010117);
	/* Only EAX and EDX count. */
	CHECK_EQ(fake.msr_written, 0x2222222211111111ull);
	CHECK_EQ(v.regs[GREG_RAX], 0xaaaaaaaa11111111ull);
	CHECK_EQ(v.regs[GREG_RDX], 0xbbbbbbbb22222222ull);
	REGS_KEPT(R(RAX) | R(RDX));
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + 2);
	CHECK_EQ(fake.ninject, 0);
	setup();
	fake.msr_ok = false;
	CHECK_EQ(run((struct exit){
		     .reason = TVMM_EXIT_MSR_WRITE, .insn_len = 2, .msr.index = 0xc0000080}),
		 ACT_RESUME);
	CHECK_EQ(fake.msr_writes, 1);
	CHECK_EQ(fake.msr_written, (reg0(GREG_RDX) << 32) | (uint32_t)reg0(GREG_RAX));
	EXPECT_GP();
	REGS_KEPT(0);
}

/* ---- the stop path ---- */

/*
 * Stopped: `stopping` set, the shared nested map emptied at its root (so
 * every other CPU exits at its next nested-TLB miss) and this CPU's cached
 * nested translations flushed.
 */
static void expect_stopped(int line)
{
	const uint64_t *root = nested_ptr(vmm.nested.root_pa);
	bool ok = CHECK(vmm.stopping);
	uint64_t pa;
	unsigned perm, level;
	enum pt_memtype mt;

	for (int i = 0; i < 512; i++)
		ok &= CHECK_EQ(root[i], 0);
	ok &= CHECK_EQ(pt_lookup(&vmm.nested, 0x12345678, &pa, &perm, &level, &mt), -1);
	ok &= CHECK_EQ(fake.flushes, 1);
	ok &= CHECK_EQ(fake.wrong_vcpu, 0);
	ok &= CHECK(strstr(fake_console, "stopping the machine") != NULL);
	if (!ok)
		fprintf(stderr, "  (line %d)\n", line);
}

#define EXPECT_STOPPED() expect_stopped(__LINE__)

TEST(exit_shutdown)
{
	setup();
	CHECK_EQ(run((struct exit){.reason = TVMM_EXIT_SHUTDOWN}), ACT_HALT);
	EXPECT_STOPPED();
	CHECK_EQ(fake.ninject, 0);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP);
	CHECK(strstr(fake_console, "cpu 2: triple fault: rip 0xffffffff81234560") != NULL);
	CHECK(strstr(fake_console, "cpu 2: guest triple fault: stopping the machine") != NULL);
	REGS_KEPT(0);
}

/* Once stopping, every exit halts this CPU without being handled, but is counted. */
TEST(exit_after_stopping)
{
	static const enum tvmm_exit_reason reasons[] = {
	    TVMM_EXIT_CPUID, TVMM_EXIT_HYPERCALL, TVMM_EXIT_MSR_READ, TVMM_EXIT_NPF,
	    TVMM_EXIT_INIT,  TVMM_EXIT_SHUTDOWN,  TVMM_EXIT_OTHER,
	};

	setup();
	vmm.stopping = true;
	fake.msr_ok = true;
	v.regs[GREG_RAX] = TVMM_CPUID_LEAF;
	for (unsigned i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		CHECK_EQ(run((struct exit){.reason = reasons[i], .insn_len = 3}), ACT_HALT);
		CHECK_EQ(v.exits[reasons[i]], 1);
	}
	CHECK_EQ(v.exits_total, sizeof(reasons) / sizeof(reasons[0]));
	v.regs[GREG_RAX] = reg0(GREG_RAX);
	REGS_KEPT(0);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP);
	CHECK_EQ(fake.ninject, 0);
	CHECK_EQ(fake.flushes, 0);
	CHECK(nested_intact()); /* emptied once, by the CPU that stopped it */
	CHECK_EQ(fake.msr_reads, 0);
	CHECK_EQ(fake_cpuid_calls, 0);
	CHECK_EQ(fake_console_len, 0);
}

TEST(exit_init)
{
	setup();
	CHECK_EQ(run((struct exit){.reason = TVMM_EXIT_INIT}), ACT_DEVIRT);
	CHECK(!vmm.stopping);
	CHECK(nested_intact());
	CHECK_EQ(fake.flushes, 0);
	CHECK_EQ(fake.ninject, 0);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP);
	CHECK(strstr(fake_console, "cpu 2: INIT signal") != NULL);
	REGS_KEPT(0);
}

/* Exits the core has no handler for stop the machine. */
TEST(exit_unknown)
{
	static const unsigned reasons[] = {
	    TVMM_EXIT_OTHER,
	    TVMM_EXIT_NR,
	    200,
	    0xffffffffu,
	};

	for (unsigned i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		unsigned counted = reasons[i] < TVMM_EXIT_NR ? reasons[i] : TVMM_EXIT_OTHER;

		setup();
		CHECK_EQ(run((struct exit){.reason = (enum tvmm_exit_reason)reasons[i],
					   .raw = 0x4242,
					   .insn_len = 3}),
			 ACT_HALT);
		EXPECT_STOPPED();
		CHECK_EQ(fake.ninject, 0);
		CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP);
		CHECK_EQ(v.exits[counted], 1);
		CHECK_EQ(v.exits_total, 1);
		if (!CHECK(strstr(fake_console, "exit code 0x4242") != NULL))
			fprintf(stderr, "  (reason %u)\n", reasons[i]);
		REGS_KEPT(0);
	}
}

TEST(exit_counters)
{
	static const struct {
		enum tvmm_exit_reason reason;
		int n;
	} seq[] = {
	    {TVMM_EXIT_CPUID, 3},     {TVMM_EXIT_HYPERCALL, 2}, {TVMM_EXIT_MSR_READ, 4},
	    {TVMM_EXIT_MSR_WRITE, 5}, {TVMM_EXIT_VIRT_INSN, 1}, {TVMM_EXIT_INIT, 6},
	};
	uint64_t total = 0;

	setup();
	fake.msr_ok = true;
	for (unsigned i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		for (int k = 0; k < seq[i].n; k++) {
			v.regs[GREG_RAX] = TVMM_HC_VERSION; /* CPUID of a leaf, or a VERSION call */
			run((struct exit){.reason = seq[i].reason, .insn_len = 1});
			total++;
		}
	}
	for (unsigned i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
		CHECK_EQ(v.exits[seq[i].reason], seq[i].n);
	CHECK_EQ(v.exits[TVMM_EXIT_NPF], 0);
	CHECK_EQ(v.exits[TVMM_EXIT_OTHER], 0);
	CHECK_EQ(v.exits_total, total);
	run((struct exit){.reason = (enum tvmm_exit_reason)77});
	CHECK_EQ(v.exits[TVMM_EXIT_OTHER], 1);
	CHECK_EQ(v.exits_total, total + 1);
	CHECK_EQ(fake.decodes, total + 1);
	CHECK_EQ(fake.wrong_vcpu, 0);
}

/* ---- nested page faults: guest page tables and code in fake memory ---- */

#define PT_P  (1ull << 0)
#define PT_RW (1ull << 1)
#define PT_US (1ull << 2)

#define TABLES	   0x00100000ull /* guest page-table pages, bump-allocated */
#define NTABLES	   16
#define CODE	   0x00300000ull /* the page RIP is on */
#define CODE2	   0x00500000ull /* a second code page, far from the first */
#define VMM_CHUNK  0x20000000ull
#define PHYS_LIMIT 0x100000000ull
#define RIP_PAGE   (FAKE_RIP & ~0xfffull)
#define GPA_BAD	   (VMM_CHUNK + 0x1230) /* what the guest touched */
#define VMM_FILL   0x5c

static uint8_t *tables, *code, *vmm_mem;
static uint64_t next_table;

static uint64_t *gtable(uint64_t gpa)
{
	return (uint64_t *)fake_mem_ptr(gpa);
}

/* A 4 KiB guest mapping gva -> gpa, 4-level, tables from TABLES up; returns the PTE. */
static uint64_t *gmap(uint64_t cr3, uint64_t gva, uint64_t gpa)
{
	uint64_t table = cr3;

	for (int level = 4; level > 1; level--) {
		uint64_t *e = &gtable(table)[(gva >> (12 + 9 * (level - 1))) & 511];
		if (!(*e & PT_P)) {
			if (!CHECK(next_table < TABLES + NTABLES * 4096))
				return gtable(cr3);
			*e = next_table | PT_P | PT_RW | PT_US;
			next_table += 4096;
		}
		table = *e & 0x000ffffffffff000ull;
	}
	uint64_t *pte = &gtable(table)[(gva >> 12) & 511];
	*pte = gpa | PT_P | PT_RW;
	return pte;
}

/* A guest in long mode with RIP on CODE, and the VMM's chunk backed (to see it untouched). */
static void npf_setup(void)
{
	setup();
	vmm.ho.nchunks = 1;
	vmm.ho.chunk_pa[0] = VMM_CHUNK;
	vmm.phys_limit = PHYS_LIMIT;
	tables = fake_mem_add(TABLES, NTABLES * 4096, 0);
	code = fake_mem_add(CODE, 4096, 0x90);
	vmm_mem = fake_mem_add(VMM_CHUNK, 2 * 4096, VMM_FILL);
	next_table = TABLES + 4096;
	fake.gs[GS_CR3] = TABLES;
	fake.gs[GS_CR4] = 0;
	fake.gs[GS_EFER] = (1ull << 10) | (1ull << 11) | 1ull; /* LMA, NXE, SCE */
	fake.gs[GS_CR0] = 0x80050033;
	gmap(TABLES, RIP_PAGE, CODE);
}

static void put_code(const uint8_t *bytes, size_t n)
{
	memcpy(code + (FAKE_RIP & 0xfff), bytes, n);
}

/*
 * emulate.c counts hits for the whole run and logs the first 16, then one
 * in 4096. Only this file makes NPF exits, all through run_npf(), so the
 * count is known here and every test can check the log it should see.
 */
static unsigned long long npf_hits;

static enum action run_npf(struct exit e)
{
	if (!vmm.stopping)
		npf_hits++;
	return run(e);
}

/*
 * insn_len is 0 (SVM under TCG has no decode assists) or whatever the
 * backend says: either way only the decoded length may move RIP.
 */
static uint8_t npf_insn_len;

static enum action npf(uint64_t gpa, uint8_t access)
{
	return run_npf((struct exit){.reason = TVMM_EXIT_NPF,
				     .insn_len = npf_insn_len,
				     .npf = {.gpa = gpa, .access = access}});
}

static bool hit_logged(unsigned long long n)
{
	return n <= 16 || n % 4096 == 0;
}

/* The last NPF logged a line containing `want` and its hit number, or nothing if rate-limited. */
static void check_npf_log(const char *want, int line)
{
	char hit[64];

	snprintf(hit, sizeof(hit), "; hit %llu)\n", npf_hits);
	if (hit_logged(npf_hits)) {
		if (!CHECK(strstr(fake_console, want) != NULL) ||
		    !CHECK(strstr(fake_console, hit) != NULL))
			fprintf(stderr, "  (line %d, hit %llu, log \"%s\")\n", line, npf_hits,
				fake_console);
	} else if (!CHECK_EQ(fake_console_len, 0)) {
		fprintf(stderr, "  (line %d, hit %llu)\n", line, npf_hits);
	}
}

#define CHECK_NPF_LOG(want) check_npf_log(want, __LINE__)

static bool vmm_untouched(void)
{
	for (size_t i = 0; i < 2 * 4096; i++)
		if (vmm_mem[i] != VMM_FILL)
			return false;
	return true;
}

/* Loads read all ones, with the destination's width rules, and RIP moves past them. */
TEST(exit_npf_load)
{
	static const struct {
		uint8_t b[8];
		uint8_t n;
		int reg;
		uint64_t want;
	} loads[] = {
	    {{0x8b, 0x03}, 2, GREG_RAX, 0x00000000ffffffffull},	      /* mov eax,[rbx] */
	    {{0x48, 0x8b, 0x03}, 3, GREG_RAX, ~0ull},		      /* mov rax,[rbx] */
	    {{0x8a, 0x03}, 2, GREG_RAX, 0xdeadbeefcafe00ffull},	      /* mov al,[rbx] */
	    {{0x8a, 0x23}, 2, GREG_RAX, 0xdeadbeefcafeff00ull},	      /* mov ah,[rbx] */
	    {{0x66, 0x8b, 0x03}, 3, GREG_RAX, 0xdeadbeefcafeffffull}, /* mov ax,[rbx] */
	    {{0x0f, 0xb6, 0x03}, 3, GREG_RAX, 0xffull},		      /* movzx eax,byte [rbx] */
	    {{0x48, 0x0f, 0xbf, 0x03}, 4, GREG_RAX, ~0ull},	      /* movsx rax,word [rbx] */
	    {{0x44, 0x8b, 0x43, 0x10}, 4, GREG_R8, 0xffffffffull},    /* mov r8d,[rbx+0x10] */
	    {{0x65, 0x48, 0x8b, 0x0b}, 4, GREG_RCX, ~0ull},	      /* mov rcx,gs:[rbx] */
	    {{0x8b, 0x84, 0x24, 0x78, 0x56, 0x34, 0x12},
	     7,
	     GREG_RAX, /* mov eax,[rsp+disp32] */
	     0xffffffffull},
	};

	for (unsigned i = 0; i < sizeof(loads) / sizeof(loads[0]); i++) {
		npf_setup();
		v.regs[GREG_RAX] = 0xdeadbeefcafe0000ull;
		put_code(loads[i].b, loads[i].n);
		npf_insn_len = i % 2 ? 0 : 9;
		CHECK_EQ(npf(GPA_BAD, ACC_R), ACT_RESUME);
		npf_insn_len = 0;
		CHECK_EQ(fake.ninject, 0);
		CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + loads[i].n);
		if (!CHECK_EQ(v.regs[loads[i].reg], loads[i].want))
			fprintf(stderr, "  (load %u)\n", i);
		v.regs[GREG_RAX] = reg0(GREG_RAX);
		v.regs[loads[i].reg] = reg0(loads[i].reg);
		REGS_KEPT(0);
		CHECK(vmm_untouched());
		CHECK_EQ(v.exits[TVMM_EXIT_NPF], 1);
		CHECK_NPF_LOG("thinvmm: cpu 2: guest read gpa 0x20001230 at rip 0xffffffff81234560 "
			      "(VMM memory; hit ");
	}
}

/* Stores vanish: memory as it was, no register changed, RIP past them. */
TEST(exit_npf_store)
{
	static const struct {
		uint8_t b[8];
		uint8_t n;
	} stores[] = {
	    {{0x89, 0x03}, 2},					   /* mov [rbx],eax */
	    {{0x48, 0x89, 0x03}, 3},				   /* mov [rbx],rax */
	    {{0x88, 0x23}, 2},					   /* mov [rbx],ah */
	    {{0xc7, 0x03, 0x78, 0x56, 0x34, 0x12}, 6},		   /* mov dword [rbx],imm32 */
	    {{0x48, 0xc7, 0x43, 0x08, 0xff, 0xff, 0xff, 0xff}, 8}, /* mov qword [rbx+8],-1 */
	    {{0xc6, 0x03, 0x41}, 3},				   /* mov byte [rbx],0x41 */
	};

	for (unsigned i = 0; i < sizeof(stores) / sizeof(stores[0]); i++) {
		npf_setup();
		put_code(stores[i].b, stores[i].n);
		npf_insn_len = i % 2 ? 0 : 15;
		CHECK_EQ(npf(GPA_BAD, ACC_W), ACT_RESUME);
		npf_insn_len = 0;
		CHECK_EQ(fake.ninject, 0);
		if (!CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + stores[i].n))
			fprintf(stderr, "  (store %u)\n", i);
		REGS_KEPT(0);
		CHECK(vmm_untouched());
		CHECK_NPF_LOG("guest write gpa 0x20001230 at rip 0xffffffff81234560 (VMM memory;");
	}
}

/* An address beyond the nested map: same treatment, logged as unbacked. */
TEST(exit_npf_unbacked)
{
	npf_setup();
	put_code((const uint8_t[]){0x8b, 0x03}, 2);
	CHECK_EQ(npf(PHYS_LIMIT + 0x40, ACC_R), ACT_RESUME);
	CHECK_EQ(v.regs[GREG_RAX], 0xffffffffull);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + 2);
	CHECK_NPF_LOG("guest read gpa 0x100000040 at rip 0xffffffff81234560 (unbacked address;");
}

/* Anything but a plain MOV: #GP, nothing else. */
TEST(exit_npf_not_mov)
{
	static const struct {
		uint8_t b[4];
		uint8_t n;
	} others[] = {
	    {{0x03, 0x03}, 2},	     /* add eax,[rbx] */
	    {{0xf0, 0x89, 0x03}, 3}, /* lock mov (invalid) */
	    {{0xf3, 0xa4}, 2},	     /* rep movsb */
	    {{0x8b, 0xc3}, 2},	     /* mov eax,ebx: no memory operand */
	    {{0xff, 0x03}, 2},	     /* inc dword [rbx] */
	    {{0x87, 0x03}, 2},	     /* xchg [rbx],eax */
	    {{0x90, 0x90}, 2},	     /* nop */
	};

	for (unsigned i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		npf_setup();
		put_code(others[i].b, others[i].n);
		CHECK_EQ(npf(GPA_BAD, ACC_R | ACC_W), ACT_RESUME);
		EXPECT_GP();
		REGS_KEPT(0);
		CHECK(vmm_untouched());
		CHECK_NPF_LOG("(not a plain MOV: #GP;");
	}
}

/* A fetch, a fault in the guest's own walk, or not 64-bit code: #GP without a look. */
TEST(exit_npf_refused_early)
{
	for (int c = 0; c < 4; c++) {
		npf_setup();
		put_code((const uint8_t[]){0x8b, 0x03}, 2);
		fake_phys_ptr_calls = 0;
		struct exit e = {.reason = TVMM_EXIT_NPF, .npf = {.gpa = GPA_BAD, .access = ACC_R}};
		if (c == 0)
			e.npf.access = ACC_X;
		if (c == 1)
			e.npf.access = ACC_R | ACC_X;
		if (c == 2)
			e.npf.in_walk = true;
		if (c == 3)
			fake.gs[GS_CS_LONG] = 0;
		CHECK_EQ(run_npf(e), ACT_RESUME);
		EXPECT_GP();
		REGS_KEPT(0);
		if (!CHECK_EQ(fake_phys_ptr_calls, 0))
			fprintf(stderr, "  (case %d)\n", c);
		CHECK_NPF_LOG(c < 2 ? "guest fetch gpa 0x20001230" : "guest read gpa 0x20001230");
		CHECK_NPF_LOG("(refused with #GP;");
	}
}

/* An instruction split over two pages far apart physically. */
TEST(exit_npf_insn_across_pages)
{
	npf_setup();
	uint8_t *code2 = fake_mem_add(CODE2, 4096, 0x90);
	fake.gs[GS_RIP] = RIP_PAGE + 0xfff;
	gmap(TABLES, RIP_PAGE + 0x1000, CODE2);
	code[0xfff] = 0x48; /* mov rax,[rbx] = 48 8b 03 */
	code2[0] = 0x8b;
	code2[1] = 0x03;
	CHECK_EQ(npf(GPA_BAD, ACC_R), ACT_RESUME);
	CHECK_EQ(fake.ninject, 0);
	CHECK_EQ(v.regs[GREG_RAX], ~0ull);
	CHECK_EQ(fake.gs[GS_RIP], RIP_PAGE + 0xfff + 3);
}

/* The tail on an unmapped page: what was read does not decode, #GP. */
TEST(exit_npf_insn_truncated)
{
	npf_setup();
	fake.gs[GS_RIP] = RIP_PAGE + 0xffe;
	code[0xffe] = 0x48;
	code[0xfff] = 0x8b;
	CHECK_EQ(npf(GPA_BAD, ACC_R), ACT_RESUME);
	CHECK_EQ(fake.ninject, 1);
	CHECK_EQ(fake.inject[0].vector, VEC_GP);
	CHECK_EQ(fake.gs[GS_RIP], RIP_PAGE + 0xffe);
	REGS_KEPT(0);
}

/*
 * The emulator must not read VMM memory or beyond the map for the guest:
 * instruction bytes or page tables there are refused, so a MOV placed
 * there is never emulated.
 */
TEST(exit_npf_fetch_refused)
{
	static const uint8_t mov[] = {0x8b, 0x03};

	/* Code on a VMM page. */
	npf_setup();
	memcpy(vmm_mem + 0x1000 + (FAKE_RIP & 0xfff), mov, 2);
	gmap(TABLES, RIP_PAGE, VMM_CHUNK + 0x1000);
	CHECK_EQ(npf(GPA_BAD, ACC_R), ACT_RESUME);
	EXPECT_GP();
	REGS_KEPT(0);
	/* Code beyond phys_limit. */
	npf_setup();
	uint8_t *high = fake_mem_add(PHYS_LIMIT, 4096, 0x90);
	memcpy(high + (FAKE_RIP & 0xfff), mov, 2);
	gmap(TABLES, RIP_PAGE, PHYS_LIMIT);
	CHECK_EQ(npf(GPA_BAD, ACC_R), ACT_RESUME);
	EXPECT_GP();
	REGS_KEPT(0);
	/* The page table that maps RIP on a VMM page (a copy of the real one). */
	npf_setup();
	put_code(mov, 2);
	uint64_t pdpt = gtable(TABLES)[(FAKE_RIP >> 39) & 511] & 0x000ffffffffff000ull;
	uint64_t pd = gtable(pdpt)[(FAKE_RIP >> 30) & 511] & 0x000ffffffffff000ull;
	uint64_t *pde = &gtable(pd)[(FAKE_RIP >> 21) & 511];
	memcpy(vmm_mem, gtable(*pde & 0x000ffffffffff000ull), 4096);
	*pde = VMM_CHUNK | PT_P | PT_RW | PT_US;
	CHECK_EQ(npf(GPA_BAD, ACC_R), ACT_RESUME);
	EXPECT_GP();
	REGS_KEPT(0);
	/* CR3 itself on a VMM page. */
	npf_setup();
	put_code(mov, 2);
	memcpy(vmm_mem, tables, 4096);
	fake.gs[GS_CR3] = VMM_CHUNK;
	CHECK_EQ(npf(GPA_BAD, ACC_R), ACT_RESUME);
	EXPECT_GP();
	REGS_KEPT(0);
	/* And the same layout with the tables where they belong works. */
	npf_setup();
	put_code(mov, 2);
	CHECK_EQ(npf(GPA_BAD, ACC_R), ACT_RESUME);
	CHECK_EQ(fake.ninject, 0);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + 2);
}

/* The first 16 hits are logged, then one in 4096: a storm cannot flood the log. */
TEST(exit_npf_log_rate_limit)
{
	npf_setup();
	put_code((const uint8_t[]){0x8b, 0x03}, 2);
	CHECK_EQ(npf(GPA_BAD, ACC_R), ACT_RESUME);
	/* The hit counter is global to the run: learn where it is. */
	unsigned long long first = npf_hits, want = 0;
	const char *hit = strstr(fake_console, "; hit ");
	if (hit != NULL)
		CHECK_EQ(strtoull(hit + 6, NULL, 10), first);
	else
		CHECK(!hit_logged(first));
	int lines = fake_console_writes;
	for (unsigned long long n = first + 1; n <= first + 9000; n++) {
		fake.gs[GS_RIP] = FAKE_RIP;
		npf(GPA_BAD, ACC_R);
		want += n <= 16 || n % 4096 == 0;
	}
	CHECK_EQ(npf_hits, first + 9000);
	CHECK_EQ(fake_console_writes - lines, want);
	CHECK(want >= 2);
	CHECK_EQ(fake.ninject, 0);
	CHECK_EQ(v.exits[TVMM_EXIT_NPF], 9001);
}

/* ---- exits the VT-x backend produces: CR writes, XSETBV, INVD ---- */

static struct exit cr_exit(unsigned cr, bool write, unsigned gpr)
{
	struct exit e = {.reason = TVMM_EXIT_CR_ACCESS, .insn_len = 3};
	e.cr.cr = (uint8_t)cr;
	e.cr.write = write;
	e.cr.gpr = (uint8_t)gpr;
	return e;
}

TEST(exit_cr_write_goes_to_backend)
{
	setup();
	fake.cr_ok = true;
	v.regs[GREG_R9] = 0xa0; /* PAE | PGE: a value the CPU takes */
	CHECK_EQ(run(cr_exit(4, true, GREG_R9)), ACT_RESUME);
	CHECK_EQ(fake.cr_writes, 1);
	CHECK_EQ(fake.cr_num, 4);
	CHECK_EQ(fake.cr_val, 0xa0);
	CHECK_EQ(fake.ninject, 0);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + 3);
	CHECK_EQ(v.exits[TVMM_EXIT_CR_ACCESS], 1);
}

TEST(exit_cr_refused_or_read_gets_gp)
{
	setup();
	fake.cr_ok = false;
	CHECK_EQ(run(cr_exit(4, true, GREG_RAX)), ACT_RESUME);
	CHECK_EQ(fake.ninject, 1);
	CHECK_EQ(fake.inject[0].vector, VEC_GP);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP);
	setup();
	fake.cr_ok = true;
	CHECK_EQ(run(cr_exit(3, false, GREG_RAX)), ACT_RESUME);
	CHECK_EQ(fake.cr_writes, 0);
	CHECK_EQ(fake.ninject, 1);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP);
}

static enum action xsetbv_exit(uint32_t ecx, uint64_t val, uint64_t supported)
{
	fake_cpuid_override_on = true;
	fake_cpuid_override_leaf = 0xd;
	fake_cpuid_override =
	    (struct cpuid_regs){.eax = (uint32_t)supported, .edx = (uint32_t)(supported >> 32)};
	v.regs[GREG_RCX] = ecx;
	v.regs[GREG_RAX] = 0xffffffff00000000ull | (uint32_t)val;
	v.regs[GREG_RDX] = val >> 32;
	fake_xcr0 = 0x1234;
	enum action a = run((struct exit){.reason = TVMM_EXIT_XSETBV, .insn_len = 3});
	fake_cpuid_override_on = false;
	return a;
}

TEST(exit_xsetbv_valid_is_executed)
{
	setup();
	CHECK_EQ(xsetbv_exit(0, 0x7, 0x7), ACT_RESUME);
	CHECK_EQ(fake_xcr0, 0x7);
	CHECK_EQ(fake.ninject, 0);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + 3);
	setup();
	CHECK_EQ(xsetbv_exit(0, 0xe7, 0x2e7), ACT_RESUME); /* AVX-512 state all together */
	CHECK_EQ(fake_xcr0, 0xe7);
}

TEST(exit_xsetbv_hostile_values_get_gp)
{
	static const struct {
		uint32_t ecx;
		uint64_t val, supported;
	} bad[] = {
	    {1, 0x3, 0x7},	      /* not XCR0 */
	    {0, 0x2, 0x7},	      /* x87 bit clear */
	    {0, 0x5, 0x7},	      /* AVX without SSE */
	    {0, 0xf, 0x7},	      /* a bit the CPU does not have */
	    {0, 0x27, 0xe7},	      /* part of the AVX-512 state */
	    {0, 0xb, 0x1f},	      /* half of the MPX state */
	    {0, 0x1ull << 40, ~0ull}, /* reserved high bit, x87 clear */
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setup();
		CHECK_EQ(xsetbv_exit(bad[i].ecx, bad[i].val, bad[i].supported), ACT_RESUME);
		if (!CHECK_EQ(fake_xcr0, 0x1234))
			fprintf(stderr, "  (case %u)\n", i);
		CHECK_EQ(fake.ninject, 1);
		CHECK_EQ(fake.inject[0].vector, VEC_GP);
		CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP);
	}
	setup();
	fake.gs[GS_CPL] = 3;
	CHECK_EQ(xsetbv_exit(0, 0x7, 0x7), ACT_RESUME);
	CHECK_EQ(fake_xcr0, 0x1234);
	CHECK_EQ(fake.ninject, 1);
}

TEST(exit_invd_writes_back_instead)
{
	setup();
	unsigned before = fake_wbinvd_calls;
	CHECK_EQ(run((struct exit){.reason = TVMM_EXIT_INVD, .insn_len = 2}), ACT_RESUME);
	CHECK_EQ(fake_wbinvd_calls, before + 1);
	CHECK_EQ(fake.gs[GS_RIP], FAKE_RIP + 2);
	CHECK_EQ(v.exits[TVMM_EXIT_INVD], 1);
}

/* ---- core_exit: the path every backend exit takes ---- */

TEST(exit_refused_first_entry_goes_back_to_loader)
{
	setup();
	v.launching = 1;
	CHECK_EQ(core_exit(&v, true), ACT_DEVIRT);
	CHECK_EQ((int64_t)v.regs[GREG_RAX], TVMM_L_HWFAIL);
	CHECK_EQ(v.launching, 0);
	CHECK(!vmm.stopping);
	CHECK_EQ(fake.decodes, 0);
}

TEST(exit_refused_later_entry_stops)
{
	setup();
	CHECK_EQ(core_exit(&v, true), ACT_HALT);
	EXPECT_STOPPED();
	CHECK_EQ(fake.decodes, 0);
}

TEST(exit_first_real_exit_ends_launching)
{
	setup();
	v.launching = 1;
	v.regs[GREG_RAX] = TVMM_CPUID_LEAF;
	fake.next_exit = (struct exit){.reason = TVMM_EXIT_CPUID, .insn_len = 2};
	CHECK_EQ(core_exit(&v, false), ACT_RESUME);
	CHECK_EQ(v.launching, 0);
	CHECK_EQ(fake.decodes, 1);
	CHECK(strstr(fake_console, "cpu 2: virtualized") != NULL);
	core_exit_done(&v, ACT_HALT);
	CHECK(strstr(fake_console, "cpu 2: halted") != NULL);
}
