/* SPDX-License-Identifier: MIT */
/*
 * Stand-ins for what the core reaches outside itself when it runs hosted:
 * a backend whose ops record every call, guest-physical memory as a few
 * host buffers ("windows"), a console that captures what it is given and
 * a deterministic CPUID. fake_reset() puts all of it, and struct vmm,
 * back to a known state; every test that uses them starts with it.
 */
#ifndef TVMM_TESTS_UNIT_FAKE_H
#define TVMM_TESTS_UNIT_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/vmm.h"
#include "lib/x86.h"

/* ---- backend (fake_backend.c) ---- */

#define FAKE_MAX_INJECT 8

struct fake_inject {
	uint8_t vector;
	bool has_err;
	uint32_t err;
};

struct fake_backend {
	/* What decode_exit hands the core (copied over the core's struct exit). */
	struct exit next_exit;
	int decodes;
	/* Guest state behind get/set; counts of each. */
	uint64_t gs[GS_NR];
	int gets, sets;
	int rip_sets; /* set(GS_RIP) calls */
	/* inject_exception calls, in order. */
	struct fake_inject inject[FAKE_MAX_INJECT];
	int ninject;
	/* msr_read/msr_write: the answer, and what the core passed. */
	bool msr_ok;
	uint64_t msr_read_val;
	int msr_reads, msr_writes;
	uint32_t msr_index;
	uint64_t msr_written;
	/* cpuid_hide: what it was given; it then XORs hide_xor[] into r[]. */
	int hides;
	uint32_t hide_leaf, hide_sub, hide_in[4];
	uint32_t hide_xor[4];
	/* cr_write: the answer, and what the core passed. */
	bool cr_ok;
	int cr_writes;
	unsigned cr_num;
	uint64_t cr_val;
	/* flush_nested (the stop path) */
	int flushes;
	/* Policy hooks: rule_supported refuses rules of kind refuse_kind (0: none). */
	uint16_t refuse_kind;
	int rule_queries;
	int apply_policies;
	int msr_intercepts;
	uint32_t intercept_msr;
	bool intercept_r, intercept_w;
	/* dt_emulate: the answer and the calls. */
	bool dt_ok;
	int dt_emulates;
	/* Any call that passed a vcpu other than this one is an error. */
	struct vcpu *vcpu;
	int wrong_vcpu;
};

#define FAKE_BACKEND_ID 0x5a5a
extern struct fake_backend fake;
extern const struct backend_ops fake_ops;

/*
 * Zeroes struct vmm, the fake backend, the guest-memory windows, the
 * console capture and the log ring, then sets vmm.ops = &fake_ops and
 * the vcpu the fake expects (CPL 0, CS.L = 1, RIP = FAKE_RIP).
 */
#define FAKE_RIP 0xffffffff81234560ull
void fake_reset(struct vcpu *v);

/* ---- a machine (fake_machine.c) ---- */

/*
 * fake_reset(v), then: RAM [0, 0x9f000) and [1 MiB, FAKE_RAM_END), the VMM's
 * one chunk at FAKE_VMM_CHUNK, identity maps up to FAKE_PHYS_LIMIT, 64 MiB of
 * VMM memory, a fresh page pool (64 tables) and an empty nested map in it;
 * v->cpu = cpu (tests give each machine its own, so events do not fold into
 * earlier tests' records). The caller maps what it needs.
 */
#define FAKE_VMM_CHUNK	0x20000000ull
#define FAKE_RAM_END	0xc0000000ull
#define FAKE_PHYS_LIMIT (4ull << 30)
void fake_machine(struct vcpu *v, uint32_t cpu);
/* An empty 4-level x86 table tree from the page pool (pt_init checked). */
void fake_pt(struct pt *pt);

/* ---- guest-physical memory (fake_vmm.c) ---- */

/*
 * Backs [gpa, gpa + size) with a fresh heap buffer (filled with `fill`)
 * and returns it; phys_ptr() of any address inside returns the matching
 * byte. Each window is its own allocation, so ASan catches the core
 * running off its end. phys_ptr() outside every window fails the test.
 */
void *fake_mem_add(uint64_t gpa, uint64_t size, uint8_t fill);
void *fake_mem_ptr(uint64_t gpa); /* NULL outside every window, no failure */
void fake_mem_reset(void);	  /* frees every window (fake_reset() does it) */
extern int fake_phys_ptr_calls;

/* ---- guest page tables (fake_gpt.c) ---- */

/*
 * A 4-level guest paging tree in a new window of npages at base (the root is
 * base, the other tables follow); returns the root for GS_CR3. fake_gpt_map
 * maps one 4 KiB page present, writable, supervisor.
 */
uint64_t fake_gpt_init(uint64_t base, unsigned npages);
void fake_gpt_map(uint64_t gva, uint64_t gpa);
void fake_gpt_map_range(uint64_t gva, uint64_t gpa, uint64_t size);

/* vmm_image_hash() returns this. */
#define FAKE_IMAGE_HASH 0x0123456789abcdefull

/* ---- console (fake_console.c) ---- */

/* Every byte console_write() was given since fake_reset(), up to the size. */
#define FAKE_CONSOLE_SIZE (1u << 20)
extern char fake_console[FAKE_CONSOLE_SIZE + 1]; /* NUL-terminated */
extern size_t fake_console_len;
extern int fake_console_writes;
void fake_console_reset(void);

/* ---- CPUID (fake_x86.c) ---- */

/* The fake's answer for (leaf, sub): a pure function, so tests can predict it. */
void fake_cpuid_expect(uint32_t leaf, uint32_t sub, struct cpuid_regs *r);
extern int fake_cpuid_calls;
extern uint32_t fake_cpuid_leaf, fake_cpuid_sub;

#endif
