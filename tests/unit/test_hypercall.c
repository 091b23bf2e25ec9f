/* SPDX-License-Identifier: MIT */
/*
 * Hypercalls against a fake backend and fake guest memory: the buffer
 * checks (with core/memmap.c's real range checks over a made-up firmware
 * map), every error code, the order of the checks, and what each call
 * writes into registers and guest memory, and what it must leave alone.
 */
#include <stdio.h>
#include <string.h>

#include "fake.h"
#include "test.h"

#define MiB(x) ((uint64_t)(x) << 20)
#define CHUNK  MiB(2)

/*
 * The machine:
 *   [0, 0x9f000)                 RAM
 *   [0x9f000, 0x100000)          reserved
 *   [0x100000, 0x40000000)       RAM, VMM chunks at 0x20000000 and 0x20200000
 *   [0x40000000, 0x80000000)     RAM (a second range, adjacent to the first)
 *   [0x80000000, 0xfec00000)     nothing
 *   [0xfec00000, 0xfec01000)     reserved (MMIO)
 *   [0x100000000, 0x140000000)   RAM, the last 2 MiB a VMM chunk
 * Fake memory backs 2 MiB at BUF for the calls that succeed.
 */
#define VMM_A  0x20000000ull /* two adjacent chunks: A, A + 2 MiB */
#define VMM_C  0x13fe00000ull
#define RAM2   0x40000000ull
#define RAM2_E 0x80000000ull
#define BUF    0x01000000ull
#define FILL   0xee

static struct vcpu v;

static void machine(void)
{
	static const struct tvmm_memrange map[] = {
	    {0, 0x9f000, TVMM_MEM_RAM, 0},
	    {0x9f000, 0x61000, TVMM_MEM_RESERVED, 0},
	    {0x100000, RAM2 - 0x100000, TVMM_MEM_RAM, 0},
	    {RAM2, RAM2_E - RAM2, TVMM_MEM_RAM, 0},
	    {0xfec00000, 0x1000, TVMM_MEM_RESERVED, 0},
	    {0x100000000ull, 0x40000000, TVMM_MEM_RAM, 0},
	};

	memset(&v, 0, sizeof(v));
	fake_reset(&v);
	memcpy(vmm.ho.mem, map, sizeof(map));
	vmm.ho.nmem = sizeof(map) / sizeof(map[0]);
	vmm.ho.nchunks = 3;
	vmm.ho.chunk_pa[0] = VMM_A;
	vmm.ho.chunk_pa[1] = VMM_A + CHUNK;
	vmm.ho.chunk_pa[2] = VMM_C;
	/* Registers a call must not touch get recognisable values. */
	for (int i = 0; i < GREG_NR; i++)
		v.regs[i] = 0x0101010101010101ull * (uint64_t)(i + 1);
}

/* ---- hc_check_buffer ---- */

TEST(hc_check_buffer_length)
{
	machine();
	CHECK_EQ(hc_check_buffer(BUF, 0), TVMM_ERANGE);
	CHECK_EQ(hc_check_buffer(BUF, 1), TVMM_OK);
	CHECK_EQ(hc_check_buffer(BUF, TVMM_HC_MAX_BUF), TVMM_OK);
	CHECK_EQ(hc_check_buffer(BUF, TVMM_HC_MAX_BUF + 1ull), TVMM_ERANGE);
	CHECK_EQ(hc_check_buffer(BUF, 1ull << 32), TVMM_ERANGE);
	CHECK_EQ(hc_check_buffer(BUF, ~0ull), TVMM_ERANGE);
}

TEST(hc_check_buffer_wrap)
{
	machine();
	CHECK_EQ(hc_check_buffer(~0ull - 10, 100), TVMM_ERANGE);
	CHECK_EQ(hc_check_buffer(~0ull, 2), TVMM_ERANGE);
	/* Ends exactly at 2^64: gpa + len is 0. */
	CHECK_EQ(hc_check_buffer(~0ull - 4095, 4096), TVMM_ERANGE);
	CHECK_EQ(hc_check_buffer(~0ull, 1), TVMM_ERANGE);
	/* Near the top without reaching 2^64: simply not RAM. */
	CHECK_EQ(hc_check_buffer(~0ull - 4095, 4095), TVMM_EFAULT);
	CHECK_EQ(hc_check_buffer(~0ull - 1, 1), TVMM_EFAULT);
}

/* Each edge of the VMM's memory, one byte in and one byte out. */
TEST(hc_check_buffer_vmm_edges)
{
	machine();
	/* Ending at A, and one byte further. */
	CHECK_EQ(hc_check_buffer(VMM_A - 4096, 4096), TVMM_OK);
	CHECK_EQ(hc_check_buffer(VMM_A - 4096, 4097), TVMM_EPERM);
	CHECK_EQ(hc_check_buffer(VMM_A - 1, 1), TVMM_OK);
	CHECK_EQ(hc_check_buffer(VMM_A - 1, 2), TVMM_EPERM);
	/* Inside, first and last byte of each chunk, across the two. */
	CHECK_EQ(hc_check_buffer(VMM_A, 1), TVMM_EPERM);
	CHECK_EQ(hc_check_buffer(VMM_A + CHUNK - 1, 1), TVMM_EPERM);
	CHECK_EQ(hc_check_buffer(VMM_A + CHUNK - 8, 16), TVMM_EPERM);
	CHECK_EQ(hc_check_buffer(VMM_A + CHUNK, 1), TVMM_EPERM);
	CHECK_EQ(hc_check_buffer(VMM_A + 2 * CHUNK - 1, 1), TVMM_EPERM);
	CHECK_EQ(hc_check_buffer(VMM_A + 0x1234, 100), TVMM_EPERM);
	/* From outside well into the first, the largest buffer there is. */
	CHECK_EQ(hc_check_buffer(VMM_A - 4096, TVMM_HC_MAX_BUF), TVMM_EPERM);
	/* Starting at the end of the second, and one byte earlier. */
	CHECK_EQ(hc_check_buffer(VMM_A + 2 * CHUNK, 4096), TVMM_OK);
	CHECK_EQ(hc_check_buffer(VMM_A + 2 * CHUNK - 1, 4096), TVMM_EPERM);
	/* The chunk at the end of RAM: before it is fine, into it is not. */
	CHECK_EQ(hc_check_buffer(VMM_C - 4096, 4096), TVMM_OK);
	CHECK_EQ(hc_check_buffer(VMM_C - 4096, 4097), TVMM_EPERM);
	CHECK_EQ(hc_check_buffer(VMM_C + CHUNK - 1, 1), TVMM_EPERM);
}

TEST(hc_check_buffer_ram)
{
	machine();
	/* Low RAM up to the reserved range, and across into it. */
	CHECK_EQ(hc_check_buffer(0, 1), TVMM_OK);
	CHECK_EQ(hc_check_buffer(0x9e000, 0x1000), TVMM_OK);
	CHECK_EQ(hc_check_buffer(0x9e000, 0x1001), TVMM_EFAULT);
	CHECK_EQ(hc_check_buffer(0x9f000, 1), TVMM_EFAULT);
	CHECK_EQ(hc_check_buffer(0xfffff, 1), TVMM_EFAULT);
	CHECK_EQ(hc_check_buffer(0x100000, 1), TVMM_OK);
	/* Straddling two RAM ranges that touch: not one range. */
	CHECK_EQ(hc_check_buffer(RAM2 - 8, 8), TVMM_OK);
	CHECK_EQ(hc_check_buffer(RAM2, 8), TVMM_OK);
	CHECK_EQ(hc_check_buffer(RAM2 - 8, 16), TVMM_EFAULT);
	CHECK_EQ(hc_check_buffer(RAM2 - 1, 2), TVMM_EFAULT);
	/* The end of a RAM range followed by a hole. */
	CHECK_EQ(hc_check_buffer(RAM2_E - 4096, 4096), TVMM_OK);
	CHECK_EQ(hc_check_buffer(RAM2_E - 4096, 4097), TVMM_EFAULT);
	CHECK_EQ(hc_check_buffer(RAM2_E, 1), TVMM_EFAULT);
	/* Holes, MMIO, beyond the last range. */
	CHECK_EQ(hc_check_buffer(0x90000000, 4096), TVMM_EFAULT);
	CHECK_EQ(hc_check_buffer(0xfec00000, 4), TVMM_EFAULT);
	CHECK_EQ(hc_check_buffer(0x140000000ull, 1), TVMM_EFAULT);
	CHECK_EQ(hc_check_buffer(0x200000000ull, 4096), TVMM_EFAULT);
	CHECK_EQ(hc_check_buffer(1ull << 63, 4096), TVMM_EFAULT);
	/* A range type other than RAM with the right bounds is still not RAM. */
	vmm.ho.mem[2].type = TVMM_MEM_ACPI;
	CHECK_EQ(hc_check_buffer(0x100000, 1), TVMM_EFAULT);
	/* No map at all: nothing is RAM. */
	vmm.ho.nmem = 0;
	CHECK_EQ(hc_check_buffer(BUF, 1), TVMM_EFAULT);
}

/* Length and wrap first, then VMM memory, then RAM: the first failure names the error. */
TEST(hc_check_buffer_order)
{
	machine();
	CHECK_EQ(hc_check_buffer(VMM_A, 0), TVMM_ERANGE);
	CHECK_EQ(hc_check_buffer(0x90000000, 0), TVMM_ERANGE);
	CHECK_EQ(hc_check_buffer(VMM_A, TVMM_HC_MAX_BUF + 1ull), TVMM_ERANGE);
	CHECK_EQ(hc_check_buffer(~0ull - 10, 100), TVMM_ERANGE);
	/* VMM memory and beyond RAM: EPERM wins over EFAULT. */
	CHECK_EQ(hc_check_buffer(VMM_C + CHUNK - 4096, 8192), TVMM_EPERM);
	/* VMM memory and straddling two RAM ranges. */
	vmm.ho.chunk_pa[1] = RAM2;
	CHECK_EQ(hc_check_buffer(RAM2 - 8, 16), TVMM_EPERM);
	/* A chunk outside RAM (never happens, but the order holds). */
	vmm.ho.chunk_pa[1] = 0x90000000;
	CHECK_EQ(hc_check_buffer(0x90000000, 1), TVMM_EPERM);
	/* nchunks bounds which entries count. */
	vmm.ho.nchunks = 1;
	CHECK_EQ(hc_check_buffer(VMM_C, 1), TVMM_OK);
	CHECK_EQ(hc_check_buffer(VMM_A, 1), TVMM_EPERM);
	vmm.ho.nchunks = 0;
	CHECK_EQ(hc_check_buffer(VMM_A, 1), TVMM_OK);
}

/* ---- hypercall_dispatch ---- */

/*
 * Makes the call, checks RIP moved by insn_len, nothing was injected and
 * RSP, RBP, RSI, RDI, R8-R15 are as machine() left them.
 */
static enum action call(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint8_t insn_len,
			int line)
{
	struct exit e = {.reason = TVMM_EXIT_HYPERCALL, .insn_len = insn_len};
	uint64_t rip = fake.gs[GS_RIP];
	enum action act;
	bool ok = true;

	v.regs[GREG_RAX] = nr;
	v.regs[GREG_RBX] = a0;
	v.regs[GREG_RCX] = a1;
	v.regs[GREG_RDX] = a2;
	act = hypercall_dispatch(&v, &e);
	ok &= CHECK_EQ(fake.gs[GS_RIP], rip + insn_len);
	ok &= CHECK_EQ(fake.rip_sets, 1);
	ok &= CHECK_EQ(fake.ninject, 0);
	ok &= CHECK_EQ(fake.wrong_vcpu, 0);
	for (int i = GREG_RSP; i < GREG_NR; i++)
		ok &= CHECK_EQ(v.regs[i], 0x0101010101010101ull * (uint64_t)(i + 1));
	if (!ok)
		fprintf(stderr, "  (call at line %d)\n", line);
	fake.rip_sets = 0;
	return act;
}

#define CALL(nr, a0, a1, a2) call(nr, a0, a1, a2, 3, __LINE__)
#define RAX		     v.regs[GREG_RAX]
#define RBX		     v.regs[GREG_RBX]
#define RCX		     v.regs[GREG_RCX]
#define RDX		     v.regs[GREG_RDX]

TEST(hc_version)
{
	machine();
	CHECK_EQ(CALL(TVMM_HC_VERSION, 0, 0, 0), ACT_RESUME);
	CHECK_EQ(RAX, TVMM_OK);
	CHECK_EQ(RBX, 0x00010003);
	CHECK_EQ(RBX, TVMM_ABI_VERSION);
	CHECK_EQ(RCX, 0);
	CHECK_EQ(RDX, FAKE_BACKEND_ID);
	/* Arguments are ignored. */
	CHECK_EQ(CALL(TVMM_HC_VERSION, 7, 8, 9), ACT_RESUME);
	CHECK_EQ(RAX, TVMM_OK);
	CHECK_EQ(RBX, TVMM_ABI_VERSION);
}

/* RIP moves by whatever the backend says the instruction was, even 0. */
TEST(hc_rip_advance)
{
	static const uint8_t lens[] = {0, 1, 3, 15, 255};
	static const uint64_t calls[] = {TVMM_HC_VERSION, TVMM_HC_STATUS, TVMM_HC_LOG,
					 TVMM_HC_DEVIRT, TVMM_HC_LAST + 1};

	for (unsigned c = 0; c < sizeof(calls) / sizeof(calls[0]); c++) {
		for (unsigned i = 0; i < sizeof(lens); i++) {
			machine();
			/* Bad arguments for the buffer calls; DEVIRT's RBX != 0 too. */
			call(calls[c], 1, 0, 0, lens[i], __LINE__);
			machine();
			fake.gs[GS_RIP] = ~0ull - 1; /* RIP arithmetic wraps like the CPU's */
			call(calls[c], 1, 0, 0, lens[i], __LINE__);
		}
	}
}

TEST(hc_unknown)
{
	static const uint64_t nrs[] = {
	    0,
	    TVMM_HC_BASE - 1,
	    TVMM_HC_LAST + 1,
	    TVMM_HC_BASE + 0x100,
	    TVMM_HC_VERSION | 1ull << 32, /* RAX is 64 bits: not VERSION */
	    TVMM_HC_DEVIRT | 1ull << 63,
	    ~0ull,
	};

	for (unsigned i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
		machine();
		CHECK_EQ(CALL(nrs[i], 11, 22, 33), ACT_RESUME);
		CHECK_EQ(RAX, TVMM_ENOSYS);
		CHECK_EQ(RBX, 11);
		CHECK_EQ(RCX, 22);
		CHECK_EQ(RDX, 33);
	}
}

TEST(hc_devirt)
{
	machine();
	CHECK_EQ(CALL(TVMM_HC_DEVIRT, 1, 0, 0), ACT_RESUME);
	CHECK_EQ(RAX, TVMM_EINVAL);
	CHECK_EQ(CALL(TVMM_HC_DEVIRT, 1ull << 63, 0, 0), ACT_RESUME);
	CHECK_EQ(RAX, TVMM_EINVAL);
	CHECK_EQ(CALL(TVMM_HC_DEVIRT, 0, 5, 6), ACT_DEVIRT);
	CHECK_EQ(RAX, TVMM_OK);
	CHECK_EQ(RBX, 0);
	CHECK_EQ(RCX, 5);
	CHECK_EQ(RDX, 6);
	CHECK(!vmm.stopping);
}

/* ---- STATUS ---- */

static struct vcpu others[2];

/* Three vCPUs at 0, 3 (the caller) and 63; values that differ everywhere. */
static void status_machine(void)
{
	machine();
	memset(others, 0, sizeof(others));
	vmm.vcpus[0] = &others[0];
	vmm.vcpus[3] = &v;
	vmm.vcpus[63] = &others[1];
	struct vcpu *c[3] = {&others[0], &v, &others[1]};
	static const uint32_t cpu[3] = {0, 3, 63}, apic[3] = {0x10, 0x13, 0x7f};
	static const uint32_t state[3] = {TVMM_CPU_RUNNING, TVMM_CPU_OFF, TVMM_CPU_RUNNING};
	for (int i = 0; i < 3; i++) {
		c[i]->cpu = cpu[i];
		c[i]->apic_id = apic[i];
		c[i]->state = state[i];
		c[i]->exits_total = 1000000ull * (uint64_t)(i + 1);
		for (int r = 0; r < TVMM_EXIT_NR; r++)
			c[i]->exits[r] = 1000ull * (uint64_t)(i + 1) + (uint64_t)r;
	}
	vmm.mem_total = MiB(6);
	vmm.alloc_next = 0x123000;
	vmm.nested.table_pages = 5;
	vmm.nested.leaves[3] = 1;
	vmm.nested.leaves[2] = 2;
	vmm.nested.leaves[1] = 3;
	for (int i = 3; i < 32; i++)
		vmm.ho.chunk_pa[i] = 0xdead0000000ull + (uint64_t)i; /* beyond nchunks */
	vmm_log("a line of %d", 27);
}

#define NEED (sizeof(struct tvmm_status) + 3 * sizeof(struct tvmm_status_cpu))

static bool all_fill(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != FILL)
			return false;
	return true;
}

TEST(hc_status_writes)
{
	status_machine();
	uint8_t *mem = fake_mem_add(BUF, MiB(2), FILL);
	const uint64_t off = 0x48, len = 4096;
	const struct tvmm_status *s = (const void *)(mem + off);

	CHECK_EQ(CALL(TVMM_HC_STATUS, BUF + off, len, 0), ACT_RESUME);
	CHECK_EQ(RAX, TVMM_OK);
	CHECK_EQ(RBX, NEED);
	CHECK_EQ(RCX, len);
	CHECK_EQ(s->abi_version, TVMM_ABI_VERSION);
	CHECK_EQ(s->size, NEED);
	CHECK_STREQ(s->version, "unit-test");
	CHECK_EQ(s->backend, FAKE_BACKEND_ID);
	CHECK_EQ(s->ncpus, 3);
	CHECK_EQ(s->nvirt, 2);
	CHECK_EQ(s->flags, 0);
	CHECK_EQ(s->mem_total, MiB(6));
	CHECK_EQ(s->mem_used, 0x123000);
	CHECK_EQ(s->nested_pages, 5);
	CHECK_EQ(s->nested_1g, 1);
	CHECK_EQ(s->nested_2m, 2);
	CHECK_EQ(s->nested_4k, 3);
	CHECK_EQ(s->log_bytes, strlen("thinvmm: a line of 27\n"));
	CHECK_EQ(s->log_bytes, log_bytes());
	CHECK_EQ(s->image_hash, FAKE_IMAGE_HASH);
	CHECK_EQ(s->nchunks, 3);
	CHECK_EQ(s->pad, 0);
	CHECK(memcmp(s->chunk_pa, vmm.ho.chunk_pa, sizeof(s->chunk_pa)) == 0);
	static const uint32_t cpu[3] = {0, 3, 63}, apic[3] = {0x10, 0x13, 0x7f};
	static const uint32_t state[3] = {TVMM_CPU_RUNNING, TVMM_CPU_OFF, TVMM_CPU_RUNNING};
	for (int i = 0; i < 3; i++) {
		const struct tvmm_status_cpu *o = &s->cpu[i];
		CHECK_EQ(o->cpu, cpu[i]);
		CHECK_EQ(o->apic_id, apic[i]);
		CHECK_EQ(o->state, state[i]);
		CHECK_EQ(o->pad, 0);
		CHECK_EQ(o->exits_total, 1000000ull * (uint64_t)(i + 1));
		for (int r = 0; r < TVMM_EXIT_NR; r++)
			CHECK_EQ(o->exits[r], 1000ull * (uint64_t)(i + 1) + (uint64_t)r);
	}
	/* Nothing before the buffer, nothing after what was written. */
	CHECK(all_fill(mem, off));
	CHECK(all_fill(mem + off + NEED, MiB(2) - off - NEED));
	/* The buffer exactly the size needed. */
	memset(mem, FILL, MiB(2));
	CHECK_EQ(CALL(TVMM_HC_STATUS, BUF + off, NEED, 0), ACT_RESUME);
	CHECK_EQ(RAX, TVMM_OK);
	CHECK_EQ(RBX, NEED);
	CHECK_EQ(s->size, NEED);
	CHECK(all_fill(mem + off + NEED, MiB(2) - off - NEED));
}

TEST(hc_status_cpu_counts)
{
	machine();
	uint8_t *mem = fake_mem_add(BUF, MiB(2), FILL);
	const struct tvmm_status *s = (const void *)mem;
	static struct vcpu all[TVMM_MAX_CPUS];

	/* No vCPU yet (possible only in a test): the header alone. */
	CHECK_EQ(CALL(TVMM_HC_STATUS, BUF, 4096, 0), ACT_RESUME);
	CHECK_EQ(RAX, TVMM_OK);
	CHECK_EQ(RBX, sizeof(struct tvmm_status));
	CHECK_EQ(s->ncpus, 0);
	CHECK_EQ(s->nvirt, 0);
	CHECK(all_fill(mem + sizeof(struct tvmm_status), 4096));
	/* Every CPU. */
	memset(all, 0, sizeof(all));
	for (int i = 0; i < TVMM_MAX_CPUS; i++) {
		all[i].cpu = (uint32_t)i;
		all[i].state = i % 3 ? TVMM_CPU_RUNNING : TVMM_CPU_OFF;
		all[i].exits[TVMM_EXIT_CPUID] = (uint64_t)i * 7;
		vmm.vcpus[i] = &all[i];
	}
	const uint64_t need =
	    sizeof(struct tvmm_status) + TVMM_MAX_CPUS * sizeof(struct tvmm_status_cpu);
	memset(mem, FILL, MiB(2));
	CHECK_EQ(CALL(TVMM_HC_STATUS, BUF, TVMM_HC_MAX_BUF, 0), ACT_RESUME);
	CHECK_EQ(RAX, TVMM_OK);
	CHECK_EQ(RBX, need);
	CHECK_EQ(s->size, need);
	CHECK_EQ(s->ncpus, TVMM_MAX_CPUS);
	CHECK_EQ(s->nvirt, 42);
	for (int i = 0; i < TVMM_MAX_CPUS; i++) {
		CHECK_EQ(s->cpu[i].cpu, i);
		CHECK_EQ(s->cpu[i].exits[TVMM_EXIT_CPUID], i * 7);
	}
	CHECK(all_fill(mem + need, 4096));
}

/* Too small: RBX = the size needed, and not one byte written. */
TEST(hc_status_too_small)
{
	static const uint64_t lens[] = {1, 8, sizeof(struct tvmm_status), NEED - 1};

	status_machine();
	uint8_t *mem = fake_mem_add(BUF, MiB(2), FILL);
	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		CHECK_EQ(CALL(TVMM_HC_STATUS, BUF + 64, lens[i], 0), ACT_RESUME);
		CHECK_EQ(RAX, TVMM_ETOOSMALL);
		CHECK_EQ(RBX, NEED);
		CHECK(all_fill(mem, MiB(2)));
	}
}

/* A bad buffer: the check's error, no guest memory reached, RBX as it was. */
TEST(hc_status_bad_buffer)
{
	static const struct {
		uint64_t gpa, len;
		int64_t err;
	} bad[] = {
	    {BUF, 0, TVMM_ERANGE},
	    {BUF, TVMM_HC_MAX_BUF + 1ull, TVMM_ERANGE},
	    {~0ull - 100, 4096, TVMM_ERANGE},
	    {VMM_A - 64, 4096, TVMM_EPERM},
	    {VMM_A + CHUNK + 64, 4096, TVMM_EPERM},
	    {RAM2 - 64, 4096, TVMM_EFAULT},
	    {0x90000000, 4096, TVMM_EFAULT},
	    {0x140000000ull, 4096, TVMM_EFAULT},
	    {BUF + 1, 4096, TVMM_EINVAL},
	    {BUF + 4, 4096, TVMM_EINVAL},
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		status_machine();
		fake_phys_ptr_calls = 0;
		CHECK_EQ(CALL(TVMM_HC_STATUS, bad[i].gpa, bad[i].len, 0), ACT_RESUME);
		if (!CHECK_EQ(RAX, bad[i].err))
			fprintf(stderr, "  (case %u)\n", i);
		CHECK_EQ(RBX, bad[i].gpa);
		CHECK_EQ(RCX, bad[i].len);
		CHECK_EQ(fake_phys_ptr_calls, 0);
	}
}

/* ---- LOG ---- */

TEST(hc_log_reads)
{
	machine();
	uint8_t *mem = fake_mem_add(BUF, MiB(2), FILL);
	vmm_log("one");
	vmm_log("two %d", 2);
	const char *stream = fake_console;
	const uint64_t total = fake_console_len;

	CHECK_EQ(total, strlen("thinvmm: one\nthinvmm: two 2\n"));
	/* Everything from 0. */
	CHECK_EQ(CALL(TVMM_HC_LOG, BUF + 8, 4096, 0), ACT_RESUME);
	CHECK_EQ(RAX, TVMM_OK);
	CHECK_EQ(RBX, total);
	CHECK_EQ(RCX, total);
	CHECK_EQ(RDX, 0);
	CHECK(memcmp(mem + 8, stream, total) == 0);
	CHECK(all_fill(mem, 8));
	CHECK(all_fill(mem + 8 + total, 4096));
	/* Part of it: at most len bytes, from the cursor. */
	memset(mem, FILL, 64);
	CHECK_EQ(CALL(TVMM_HC_LOG, BUF + 8, 5, 3), ACT_RESUME);
	CHECK_EQ(RAX, TVMM_OK);
	CHECK_EQ(RBX, 5);
	CHECK_EQ(RCX, 8);
	CHECK_EQ(RDX, 0);
	CHECK(memcmp(mem + 8, stream + 3, 5) == 0);
	CHECK(all_fill(mem + 13, 64 - 13));
	/* Caught up, and a cursor from the future: nothing, next = head. */
	memset(mem, FILL, 64);
	CHECK_EQ(CALL(TVMM_HC_LOG, BUF, 64, total), ACT_RESUME);
	CHECK_EQ(RAX, TVMM_OK);
	CHECK_EQ(RBX, 0);
	CHECK_EQ(RCX, total);
	CHECK_EQ(RDX, 0);
	CHECK_EQ(CALL(TVMM_HC_LOG, BUF, 64, ~0ull), ACT_RESUME);
	CHECK_EQ(RAX, TVMM_OK);
	CHECK_EQ(RBX, 0);
	CHECK_EQ(RCX, total);
	CHECK_EQ(RDX, 0);
	CHECK(all_fill(mem, 64));
}

TEST(hc_log_lost)
{
	machine();
	uint8_t *mem = fake_mem_add(BUF, MiB(2), FILL);
	while (fake_console_len < VMM_LOG_SIZE + 10000)
		vmm_log("filler line %zu, long enough to wrap the ring in a few hundred lines",
			fake_console_len);
	const uint64_t head = fake_console_len, oldest = head - VMM_LOG_SIZE;

	CHECK_EQ(log_bytes(), head);
	CHECK_EQ(CALL(TVMM_HC_LOG, BUF, TVMM_HC_MAX_BUF, 0), ACT_RESUME);
	CHECK_EQ(RAX, TVMM_OK);
	CHECK_EQ(RBX, VMM_LOG_SIZE);
	CHECK_EQ(RCX, head);
	CHECK_EQ(RDX, oldest);
	CHECK(memcmp(mem, fake_console + oldest, VMM_LOG_SIZE) == 0);
	CHECK(all_fill(mem + VMM_LOG_SIZE, TVMM_HC_MAX_BUF - VMM_LOG_SIZE));
	/* One byte behind the oldest. */
	CHECK_EQ(CALL(TVMM_HC_LOG, BUF, 16, oldest - 1), ACT_RESUME);
	CHECK_EQ(RBX, 16);
	CHECK_EQ(RCX, oldest + 16);
	CHECK_EQ(RDX, 1);
	CHECK(memcmp(mem, fake_console + oldest, 16) == 0);
}

TEST(hc_log_bad_buffer)
{
	machine();
	vmm_log("something");
	fake_phys_ptr_calls = 0;
	CHECK_EQ(CALL(TVMM_HC_LOG, BUF, 0, 0), ACT_RESUME);
	CHECK_EQ(RAX, TVMM_ERANGE);
	CHECK_EQ(CALL(TVMM_HC_LOG, VMM_A + CHUNK - 1, 2, 0), ACT_RESUME);
	CHECK_EQ(RAX, TVMM_EPERM);
	CHECK_EQ(RBX, VMM_A + CHUNK - 1);
	CHECK_EQ(RCX, 2);
	CHECK_EQ(RDX, 0);
	CHECK_EQ(CALL(TVMM_HC_LOG, 0xfec00000, 16, 5), ACT_RESUME);
	CHECK_EQ(RAX, TVMM_EFAULT);
	CHECK_EQ(RBX, 0xfec00000);
	CHECK_EQ(RCX, 16);
	CHECK_EQ(RDX, 5);
	CHECK_EQ(fake_phys_ptr_calls, 0);
}
