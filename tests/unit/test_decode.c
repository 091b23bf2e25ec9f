/* SPDX-License-Identifier: MIT */
/*
 * The decoder against hand-assembled encodings (checked with GNU as and
 * objdump when written). Every decode goes through a heap copy of exactly
 * `avail` bytes, so ASan catches a single byte read past the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/decode.h"
#include "test.h"

static int decode_exact(const uint8_t *bytes, size_t avail, struct insn *out)
{
	uint8_t *copy = malloc(avail ? avail : 1);
	int ret;

	memcpy(copy, bytes, avail);
	ret = insn_decode(avail ? copy : copy + 1, avail, out);
	free(copy);
	return ret;
}

struct good {
	uint8_t b[16];
	uint8_t n; /* bytes in b, also the expected length */
	uint8_t op, mem_size, reg_size, reg;
	bool high8;
	uint64_t imm;
};

#define D32 0x78, 0x56, 0x34, 0x12 /* a disp32 or imm32 */

/* clang-format off */
static const struct good goods[] = {
	/* MOV r/m, r: sizes, REX.R, REX.W over 66, misplaced REX */
	{{0x89, 0x00}, 2, INSN_STORE, 4, 4, 0, false, 0},		/* mov [rax],eax */
	{{0x89, 0x08}, 2, INSN_STORE, 4, 4, 1, false, 0},		/* mov [rax],ecx */
	{{0x48, 0x89, 0x18}, 3, INSN_STORE, 8, 8, 3, false, 0},	/* mov [rax],rbx */
	{{0x66, 0x89, 0x10}, 3, INSN_STORE, 2, 2, 2, false, 0},	/* mov [rax],dx */
	{{0x66, 0x48, 0x89, 0x10}, 4, INSN_STORE, 8, 8, 2, false, 0},	/* REX.W wins */
	{{0x48, 0x66, 0x89, 0x10}, 4, INSN_STORE, 2, 2, 2, false, 0},	/* REX ignored */
	{{0x4c, 0x89, 0x00}, 3, INSN_STORE, 8, 8, 8, false, 0},	/* mov [rax],r8 */
	{{0x44, 0x89, 0x38}, 3, INSN_STORE, 4, 4, 15, false, 0},	/* mov [rax],r15d */
	{{0x48, 0x41, 0x89, 0x00}, 4, INSN_STORE, 4, 4, 0, false, 0},	/* last REX counts */
	{{0x41, 0x48, 0x89, 0x00}, 4, INSN_STORE, 8, 8, 0, false, 0},
	/* MOV r/m8, r8: high-byte registers only without an effective REX */
	{{0x88, 0x20}, 2, INSN_STORE, 1, 1, 4, true, 0},		/* mov [rax],ah */
	{{0x88, 0x3b}, 2, INSN_STORE, 1, 1, 7, true, 0},		/* mov [rbx],bh */
	{{0x88, 0x18}, 2, INSN_STORE, 1, 1, 3, false, 0},		/* mov [rax],bl */
	{{0x40, 0x88, 0x20}, 3, INSN_STORE, 1, 1, 4, false, 0},	/* mov [rax],spl */
	{{0x44, 0x88, 0x20}, 3, INSN_STORE, 1, 1, 12, false, 0},	/* mov [rax],r12b */
	{{0x48, 0x88, 0x20}, 3, INSN_STORE, 1, 1, 4, false, 0},	/* W ignored: spl */
	{{0x66, 0x88, 0x20}, 3, INSN_STORE, 1, 1, 4, true, 0},	/* 66 ignored: ah */
	{{0x40, 0x66, 0x88, 0x20}, 4, INSN_STORE, 1, 1, 4, true, 0},	/* REX ignored: ah */
	/* MOV r, r/m */
	{{0x8a, 0x07}, 2, INSN_LOAD, 1, 1, 0, false, 0},		/* mov al,[rdi] */
	{{0x8a, 0x3e}, 2, INSN_LOAD, 1, 1, 7, true, 0},		/* mov bh,[rsi] */
	{{0x45, 0x8a, 0x3e}, 3, INSN_LOAD, 1, 1, 15, false, 0},	/* mov r15b,[r14] */
	{{0x8b, 0x07}, 2, INSN_LOAD, 4, 4, 0, false, 0},
	{{0x66, 0x8b, 0x07}, 3, INSN_LOAD, 2, 2, 0, false, 0},
	{{0x49, 0x8b, 0x07}, 3, INSN_LOAD, 8, 8, 0, false, 0},	/* mov rax,[r15] */
	/* every ModRM/SIB/displacement shape */
	{{0x8b, 0x05, D32}, 6, INSN_LOAD, 4, 4, 0, false, 0},		/* [rip+d32] */
	{{0x41, 0x8b, 0x05, D32}, 7, INSN_LOAD, 4, 4, 0, false, 0},	/* REX.B: still rip */
	{{0x67, 0x8b, 0x05, D32}, 7, INSN_LOAD, 4, 4, 0, false, 0},	/* [eip+d32] */
	{{0x8b, 0x40, 0x08}, 3, INSN_LOAD, 4, 4, 0, false, 0},	/* [rax+d8] */
	{{0x8b, 0x80, D32}, 6, INSN_LOAD, 4, 4, 0, false, 0},		/* [rax+d32] */
	{{0x8b, 0x45, 0x00}, 3, INSN_LOAD, 4, 4, 0, false, 0},	/* [rbp+0] */
	{{0x41, 0x8b, 0x45, 0x00}, 4, INSN_LOAD, 4, 4, 0, false, 0},	/* [r13+0] */
	{{0x8b, 0x04, 0x24}, 3, INSN_LOAD, 4, 4, 0, false, 0},	/* [rsp] */
	{{0x41, 0x8b, 0x04, 0x24}, 4, INSN_LOAD, 4, 4, 0, false, 0},	/* [r12] */
	{{0x8b, 0x44, 0x24, 0x08}, 4, INSN_LOAD, 4, 4, 0, false, 0},	/* [rsp+d8] */
	{{0x8b, 0x84, 0x24, D32}, 7, INSN_LOAD, 4, 4, 0, false, 0},	/* [rsp+d32] */
	{{0x8b, 0x04, 0x25, D32}, 7, INSN_LOAD, 4, 4, 0, false, 0},	/* [d32] */
	{{0x8b, 0x04, 0x8d, D32}, 7, INSN_LOAD, 4, 4, 0, false, 0},	/* [rcx*4+d32] */
	{{0x42, 0x8b, 0x04, 0x25, D32}, 8, INSN_LOAD, 4, 4, 0, false, 0},	/* [r12*1+d32] */
	{{0x41, 0x8b, 0x04, 0x0d, D32}, 8, INSN_LOAD, 4, 4, 0, false, 0},	/* REX.B: no base */
	{{0x8b, 0x44, 0x8d, 0x10}, 4, INSN_LOAD, 4, 4, 0, false, 0},	/* [rbp+rcx*4+d8] */
	{{0x8b, 0x84, 0x8d, D32}, 7, INSN_LOAD, 4, 4, 0, false, 0},	/* [rbp+rcx*4+d32] */
	{{0x8b, 0x04, 0x88}, 3, INSN_LOAD, 4, 4, 0, false, 0},	/* [rax+rcx*4] */
	{{0x67, 0x8b, 0x00}, 3, INSN_LOAD, 4, 4, 0, false, 0},	/* [eax] */
	/* segment overrides, including Linux's per-CPU gs: accesses */
	{{0x65, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0}, 9, INSN_LOAD, 8, 8, 0, false, 0},
	{{0x64, 0x8b, 0x00}, 3, INSN_LOAD, 4, 4, 0, false, 0},
	{{0x26, 0x2e, 0x36, 0x3e, 0x8b, 0x00}, 6, INSN_LOAD, 4, 4, 0, false, 0},
	/* MOV r/m, imm */
	{{0xc6, 0x00, 0xab}, 3, INSN_STORE_IMM, 1, 0, 0, false, 0xab},
	{{0xc6, 0x05, D32, 0x80}, 7, INSN_STORE_IMM, 1, 0, 0, false, 0x80},
	{{0x48, 0xc6, 0x00, 0xff}, 4, INSN_STORE_IMM, 1, 0, 0, false, 0xff},
	{{0x66, 0xc7, 0x00, 0x34, 0x12}, 5, INSN_STORE_IMM, 2, 0, 0, false, 0x1234},
	{{0x66, 0xc7, 0x00, 0xff, 0xff}, 5, INSN_STORE_IMM, 2, 0, 0, false, 0xffff},
	{{0xc7, 0x00, D32}, 6, INSN_STORE_IMM, 4, 0, 0, false, 0x12345678},
	{{0xc7, 0x00, 0xff, 0xff, 0xff, 0xff}, 6, INSN_STORE_IMM, 4, 0, 0, false, 0xffffffff},
	{{0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff}, 7, INSN_STORE_IMM, 8, 0, 0, false,
	 0xffffffffffffffffULL},
	{{0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0x7f}, 7, INSN_STORE_IMM, 8, 0, 0, false, 0x7fffffff},
	{{0x66, 0x48, 0xc7, 0x00, 0x00, 0x00, 0x00, 0x80}, 8, INSN_STORE_IMM, 8, 0, 0, false,
	 0xffffffff80000000ULL},
	{{0x44, 0xc7, 0x00, D32}, 7, INSN_STORE_IMM, 4, 0, 0, false, 0x12345678},	/* REX.R */
	{{0x48, 0xc7, 0x84, 0x24, D32, D32}, 12, INSN_STORE_IMM, 8, 0, 0, false, 0x12345678},
	{{0xc7, 0x05, D32, D32}, 10, INSN_STORE_IMM, 4, 0, 0, false, 0x12345678},	/* rip */
	{{0xc7, 0x44, 0x24, 0x08, D32}, 8, INSN_STORE_IMM, 4, 0, 0, false, 0x12345678},
	/* MOVZX, MOVSX */
	{{0x0f, 0xb6, 0x00}, 3, INSN_LOAD_ZX, 1, 4, 0, false, 0},
	{{0x48, 0x0f, 0xb6, 0x00}, 4, INSN_LOAD_ZX, 1, 8, 0, false, 0},
	{{0x66, 0x0f, 0xb6, 0x00}, 4, INSN_LOAD_ZX, 1, 2, 0, false, 0},
	{{0x0f, 0xb6, 0x20}, 3, INSN_LOAD_ZX, 1, 4, 4, false, 0},	/* esp, not ah */
	{{0x44, 0x0f, 0xb6, 0x38}, 4, INSN_LOAD_ZX, 1, 4, 15, false, 0},
	{{0x0f, 0xb7, 0x00}, 3, INSN_LOAD_ZX, 2, 4, 0, false, 0},
	{{0x48, 0x0f, 0xb7, 0x00}, 4, INSN_LOAD_ZX, 2, 8, 0, false, 0},
	{{0x66, 0x0f, 0xb7, 0x00}, 4, INSN_LOAD_ZX, 2, 2, 0, false, 0},
	{{0x0f, 0xbe, 0x00}, 3, INSN_LOAD_SX, 1, 4, 0, false, 0},
	{{0x48, 0x0f, 0xbe, 0x00}, 4, INSN_LOAD_SX, 1, 8, 0, false, 0},
	{{0x66, 0x0f, 0xbe, 0x00}, 4, INSN_LOAD_SX, 1, 2, 0, false, 0},
	{{0x0f, 0xbf, 0x00}, 3, INSN_LOAD_SX, 2, 4, 0, false, 0},
	{{0x4c, 0x0f, 0xbf, 0x84, 0x24, D32}, 9, INSN_LOAD_SX, 2, 8, 8, false, 0},
	/* the 15-byte limit: exactly 15 is fine */
	{{0x66, 0x66, 0x66, 0x48, 0xc7, 0x84, 0x24, D32, D32}, 15, INSN_STORE_IMM, 8, 0, 0, false,
	 0x12345678},
	{{0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x8b, 0x00},
	 15, INSN_LOAD, 4, 4, 0, false, 0},
};

struct bad {
	uint8_t b[16];
	uint8_t n;
	const char *why;
};

static const struct bad bads[] = {
	{{0xf0, 0x89, 0x00}, 3, "lock"},
	{{0xf2, 0x89, 0x00}, 3, "repne"},
	{{0xf3, 0x89, 0x00}, 3, "rep"},
	{{0x66, 0xf3, 0x48, 0x89, 0x00}, 5, "rep after 66"},
	{{0x89, 0xc0}, 2, "mod 3"},
	{{0x88, 0xe0}, 2, "mod 3, 8-bit"},
	{{0x8b, 0xc1}, 2, "mod 3 load"},
	{{0x0f, 0xb6, 0xc0}, 3, "movzx from register"},
	{{0xc6, 0xc0, 0x01}, 3, "mov reg, imm8 via C6"},
	{{0xc7, 0xf8, D32}, 6, "xbegin"},
	{{0xc6, 0xf8, 0x01}, 3, "xabort"},
	{{0xc6, 0x08, 0x01}, 3, "C6 /1"},
	{{0xc7, 0x38, D32}, 6, "C7 /7 memory"},
	{{0x8d, 0x00}, 2, "lea touches no memory"},
	{{0x90, 0x89, 0x00}, 3, "nop"},
	{{0xa1, D32, D32}, 9, "mov eax, moffs"},
	{{0xa3, D32, D32}, 9, "mov moffs, eax"},
	{{0x01, 0x00}, 2, "add: read-modify-write"},
	{{0x87, 0x00}, 2, "xchg"},
	{{0xa5}, 1, "movs"},
	{{0xf3, 0xab}, 2, "rep stos"},
	{{0x0f, 0xb8, 0x00}, 3, "popcnt without f3"},
	{{0x0f, 0x40, 0xb6, 0x00}, 4, "REX between 0F and opcode"},
	{{0x0f, 0xc3, 0x00}, 3, "movnti"},
	{{0xc5, 0xf9, 0x6f, 0x00}, 4, "vex"},
	{{0x62, 0xf1, 0x7c, 0x48, 0x10, 0x00}, 6, "evex"},
	{{0x0f}, 1, "lone escape"},
	{{0x66, 0x66, 0x66}, 3, "prefixes only"},
	{{0x48}, 1, "REX only"},
	{{0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x8b,
	  0x00}, 16, "16 bytes"},
	{{0x66, 0x66, 0x66, 0x66, 0x48, 0xc7, 0x84, 0x24, D32, D32}, 16, "16 bytes with imm"},
	{{0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
	  0x2e}, 16, "all prefixes"},
};
/* clang-format on */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void check_good(const struct good *g, size_t idx)
{
	struct insn in;
	uint8_t padded[32];
	int bad = 0;

	memset(&in, 0xee, sizeof(in));
	if (!CHECK_EQ(decode_exact(g->b, g->n, &in), 0)) {
		fprintf(stderr, "  goods[%zu] refused\n", idx);
		return;
	}
	/* Each field checked on its own, so one failure names every wrong one. */
	bad += !CHECK_EQ(in.len, g->n);
	bad += !CHECK_EQ(in.op, g->op);
	bad += !CHECK_EQ(in.mem_size, g->mem_size);
	bad += !CHECK_EQ(in.reg_size, g->reg_size);
	bad += !CHECK_EQ(in.reg, g->reg);
	bad += !CHECK_EQ(in.reg_high8, g->high8);
	bad += !CHECK_EQ(in.imm, g->imm);
	if (bad)
		fprintf(stderr, "  goods[%zu]\n", idx);
	/* Trailing bytes are the next instruction: they change nothing. */
	memcpy(padded, g->b, g->n);
	memset(padded + g->n, 0x89, sizeof(padded) - g->n);
	memset(&in, 0, sizeof(in));
	if (!CHECK_EQ(insn_decode(padded, sizeof(padded), &in), 0) || !CHECK_EQ(in.len, g->n))
		fprintf(stderr, "  goods[%zu] with trailing bytes\n", idx);
}

TEST(decode_supported_forms)
{
	for (size_t i = 0; i < NELEM(goods); i++)
		check_good(&goods[i], i);
}

/* Every proper prefix of a good encoding is a truncated one. */
TEST(decode_truncated_at_every_length)
{
	for (size_t i = 0; i < NELEM(goods); i++) {
		for (size_t n = 0; n < goods[i].n; n++) {
			struct insn in = {.len = 99};

			if (!CHECK_EQ(decode_exact(goods[i].b, n, &in), -1) ||
			    !CHECK_EQ(in.len, 99))
				fprintf(stderr, "  goods[%zu] cut to %zu bytes\n", i, n);
		}
	}
}

TEST(decode_refused_forms)
{
	for (size_t i = 0; i < NELEM(bads); i++) {
		struct insn in = {.len = 99};
		uint8_t padded[32];

		if (!CHECK_EQ(decode_exact(bads[i].b, bads[i].n, &in), -1))
			fprintf(stderr, "  bads[%zu]: %s\n", i, bads[i].why);
		CHECK_EQ(in.len, 99);
		/* Refused however many more bytes are available. */
		memcpy(padded, bads[i].b, bads[i].n);
		memset(padded + bads[i].n, 0, sizeof(padded) - bads[i].n);
		if (!CHECK_EQ(insn_decode(padded, sizeof(padded), &in), -1))
			fprintf(stderr, "  bads[%zu] padded: %s\n", i, bads[i].why);
	}
}

TEST(decode_null_and_empty)
{
	struct insn in;
	uint8_t b[2] = {0x89, 0x00};

	CHECK_EQ(insn_decode(NULL, 0, &in), -1);
	CHECK_EQ(insn_decode(NULL, 5, &in), -1);
	CHECK_EQ(insn_decode(b, 0, &in), -1);
	CHECK_EQ(insn_decode(b, 2, NULL), -1);
}

/*
 * A decoder that never looks past what it returns: with avail == len the
 * answer is the same, and it never reads past 15 bytes whatever avail is.
 */
TEST(decode_random_bytes_properties)
{
	uint64_t s = 0x0123456789abcdefULL;
	unsigned accepted = 0;

	for (int i = 0; i < 200000; i++) {
		uint8_t b[INSN_MAX_LEN];
		struct insn a, c;

		for (size_t k = 0; k < sizeof(b); k++) {
			s ^= s << 13, s ^= s >> 7, s ^= s << 17;
			/* Bias towards bytes the decoder knows, so it gets deep. */
			b[k] = (s >> 8) % 4 == 0 ? (uint8_t)s
			       : (s >> 8) % 4 == 1
				   ? "\x66\x67\x48\x41\x2e\x65\x0f\xc7"[s % 8]
				   : "\x88\x89\x8a\x8b\xc6\xc7\xb6\xbf\x04\x24\x05\x44"[s % 12];
		}
		if (decode_exact(b, sizeof(b), &a) != 0)
			continue;
		accepted++;
		CHECK(a.len >= 2 && a.len <= INSN_MAX_LEN);
		CHECK(a.op <= INSN_LOAD_SX && a.reg < 16);
		CHECK(a.mem_size == 1 || a.mem_size == 2 || a.mem_size == 4 || a.mem_size == 8);
		CHECK(!a.reg_high8 || (a.reg >= 4 && a.reg <= 7 && a.reg_size == 1));
		CHECK_EQ(decode_exact(b, a.len, &c), 0);
		CHECK(memcmp(&a, &c, sizeof(a)) == 0);
		CHECK_EQ(decode_exact(b, a.len - 1u, &c), -1);
	}
	CHECK(accepted > 1000);
}

static void regs_fill(uint64_t regs[16])
{
	for (int i = 0; i < 16; i++)
		regs[i] = 0x1111111111111111ULL * (uint64_t)(i + 1) ^ 0xf0f0f0f0f0f0f0f0ULL;
}

/* Decodes b, applies value, and checks only regs[reg] changed, to want. */
static void check_load(const uint8_t *b, size_t n, uint64_t value, int reg, uint64_t want)
{
	uint64_t regs[16], before[16];
	struct insn in;

	regs_fill(regs);
	memcpy(before, regs, sizeof(regs));
	if (!CHECK_EQ(insn_decode(b, n, &in), 0))
		return;
	insn_apply_load(&in, regs, value);
	for (int i = 0; i < 16; i++) {
		if (!CHECK_EQ(regs[i], i == reg ? want : before[i]))
			fprintf(stderr, "  opcode %02x %02x, register %d, value %#llx\n", b[0],
				b[1], i, (unsigned long long)value);
	}
}

#define LOAD(value, reg, want, ...)                                                                \
	do {                                                                                       \
		static const uint8_t b_[] = {__VA_ARGS__};                                         \
		check_load(b_, sizeof(b_), value, reg, want);                                      \
	} while (0)

/* Registers before the load: regs_fill() */
#define R0 0xe1e1e1e1e1e1e1e1ULL /* rax */
#define R1 0xd2d2d2d2d2d2d2d2ULL /* rcx */
#define R3 0xb4b4b4b4b4b4b4b4ULL /* rbx */

TEST(apply_load_mov)
{
	uint64_t regs[16];

	regs_fill(regs);
	CHECK_EQ(regs[0], R0);
	CHECK_EQ(regs[1], R1);
	CHECK_EQ(regs[3], R3);
	/* 32-bit destinations zero-extend; 8 and 16 bits merge. */
	LOAD(0x8877665544332211ULL, 0, 0x0000000044332211ULL, 0x8b, 0x00);
	LOAD(0xffffffffffffffffULL, 0, 0x00000000ffffffffULL, 0x8b, 0x00);
	LOAD(0x8877665544332211ULL, 0, 0x8877665544332211ULL, 0x48, 0x8b, 0x00);
	LOAD(0x8877665544332211ULL, 1, 0xd2d2d2d2d2d22211ULL, 0x66, 0x8b, 0x08);
	LOAD(0x8877665544332211ULL, 1, 0xd2d2d2d2d2d2d211ULL, 0x8a, 0x08);
	LOAD(0x8877665544332211ULL, 15, 0x0000000044332211ULL, 0x44, 0x8b, 0x38);
	LOAD(0x8877665544332211ULL, 9, 0x8877665544332211ULL, 0x4c, 0x8b, 0x08);
}

TEST(apply_load_high8)
{
	/* mov ah,[rax]: bits 15:8 of RAX, nothing else */
	LOAD(0x1234, 0, 0xe1e1e1e1e1e134e1ULL, 0x8a, 0x20);
	/* mov bh,[rax] writes RBX; RDI (reg 7) stays */
	LOAD(0xab, 3, 0xb4b4b4b4b4b4abb4ULL, 0x8a, 0x38);
	/* with any REX, reg 4 is SPL and reg 7 is DIL */
	LOAD(0xab, 4, 0xa5a5a5a5a5a5a5abULL, 0x40, 0x8a, 0x20);
	LOAD(0xab, 7, 0x78787878787878abULL, 0x40, 0x8a, 0x38);
}

TEST(apply_load_extend)
{
	/* MOVZX */
	LOAD(0xff80, 0, 0x80, 0x0f, 0xb6, 0x00);
	LOAD(0xff80, 0, 0x80, 0x48, 0x0f, 0xb6, 0x00);
	LOAD(0xff80, 0, 0xe1e1e1e1e1e10080ULL, 0x66, 0x0f, 0xb6, 0x00);
	LOAD(0xffff8000, 0, 0x8000, 0x0f, 0xb7, 0x00);
	LOAD(0xffff8000, 0, 0x8000, 0x48, 0x0f, 0xb7, 0x00);
	LOAD(0xffff8000, 0, 0xe1e1e1e1e1e18000ULL, 0x66, 0x0f, 0xb7, 0x00);
	/* MOVSX: sign from the memory size, then sized to the register */
	LOAD(0x80, 0, 0xffffffffffffff80ULL, 0x48, 0x0f, 0xbe, 0x00);
	LOAD(0x80, 0, 0x00000000ffffff80ULL, 0x0f, 0xbe, 0x00);
	LOAD(0x80, 0, 0xe1e1e1e1e1e1ff80ULL, 0x66, 0x0f, 0xbe, 0x00);
	LOAD(0x7f, 0, 0x7f, 0x48, 0x0f, 0xbe, 0x00);
	LOAD(0x1234567f, 0, 0x7f, 0x48, 0x0f, 0xbe, 0x00);
	LOAD(0x8000, 0, 0xffffffffffff8000ULL, 0x48, 0x0f, 0xbf, 0x00);
	LOAD(0x8000, 0, 0x00000000ffff8000ULL, 0x0f, 0xbf, 0x00);
	LOAD(0xffff7fff, 0, 0x7fff, 0x48, 0x0f, 0xbf, 0x00);
}

/* What a load from a blocked page does to each form. */
TEST(apply_load_all_ones)
{
	const uint64_t ones = ~0ULL;

	LOAD(ones, 0, 0xffffffffULL, 0x8b, 0x00);
	LOAD(ones, 0, ones, 0x48, 0x8b, 0x00);
	LOAD(ones, 0, 0xe1e1e1e1e1e1ffffULL, 0x66, 0x8b, 0x00);
	LOAD(ones, 0, 0xe1e1e1e1e1e1e1ffULL, 0x8a, 0x00);
	LOAD(ones, 0, 0xe1e1e1e1e1e1ffe1ULL, 0x8a, 0x20);
	LOAD(ones, 0, 0xff, 0x48, 0x0f, 0xb6, 0x00);
	LOAD(ones, 0, 0xffff, 0x0f, 0xb7, 0x00);
	LOAD(ones, 0, ones, 0x48, 0x0f, 0xbe, 0x00);
	LOAD(ones, 0, 0xffffffffULL, 0x0f, 0xbf, 0x00);
}

TEST(apply_load_ignores_stores)
{
	static const uint8_t forms[][3] = {{0x89, 0x00}, {0x88, 0x20}, {0xc6, 0x00, 0x01}};

	for (size_t i = 0; i < NELEM(forms); i++) {
		uint64_t regs[16], before[16];
		struct insn in;

		regs_fill(regs);
		memcpy(before, regs, sizeof(regs));
		CHECK_EQ(insn_decode(forms[i], sizeof(forms[i]), &in), 0);
		insn_apply_load(&in, regs, 0);
		CHECK(memcmp(regs, before, sizeof(regs)) == 0);
	}
}

/* Hand-made structs the decoder never produces must not index out of regs[]. */
TEST(apply_load_bad_struct)
{
	uint64_t regs[16], before[16];
	struct insn in = {.op = INSN_LOAD, .mem_size = 1, .reg_size = 1, .reg = 16};

	regs_fill(regs);
	memcpy(before, regs, sizeof(regs));
	insn_apply_load(&in, regs, 0);
	in.reg = 2;
	in.reg_high8 = true;
	insn_apply_load(&in, regs, 0);
	CHECK(memcmp(regs, before, sizeof(regs)) == 0);
	CHECK_EQ(insn_store_value(&in, regs), 0);
}

TEST(store_value)
{
	static const uint8_t mov_ah[] = {0x88, 0x20}, mov_r9w[] = {0x66, 0x44, 0x89, 0x08};
	static const uint8_t mov_imm[] = {0x48, 0xc7, 0x00, 0xfe, 0xff, 0xff, 0xff};
	static const uint8_t load[] = {0x8b, 0x00};
	uint64_t regs[16];
	struct insn in;

	regs_fill(regs);
	regs[0] = 0x1122334455667788ULL;
	CHECK_EQ(insn_decode(mov_ah, sizeof(mov_ah), &in), 0);
	CHECK_EQ(insn_store_value(&in, regs), 0x77);
	CHECK_EQ(insn_decode(mov_r9w, sizeof(mov_r9w), &in), 0);
	CHECK_EQ(in.reg, 9);
	CHECK_EQ(insn_store_value(&in, regs), regs[9] & 0xffff);
	CHECK_EQ(insn_decode(mov_imm, sizeof(mov_imm), &in), 0);
	CHECK_EQ(insn_store_value(&in, regs), 0xfffffffffffffffeULL);
	CHECK_EQ(insn_decode(load, sizeof(load), &in), 0);
	CHECK_EQ(insn_store_value(&in, regs), 0);
}

/* ---- insn_decode_sys: MOV to CR, CLTS, LGDT/LIDT ---- */

static int decode_sys_exact(const uint8_t *bytes, size_t avail, struct insn_sys *out)
{
	uint8_t *copy = malloc(avail ? avail : 1);
	int ret;

	memcpy(copy, bytes, avail);
	ret = insn_decode_sys(avail ? copy : copy + 1, avail, out);
	free(copy);
	return ret;
}

struct good_sys {
	uint8_t b[16];
	uint8_t n; /* bytes in b, also the expected length */
	uint8_t op, cr, gpr;
};

/* clang-format off */
static const struct good_sys good_sys[] = {
	{{0x0f, 0x22, 0xc0}, 3, SYS_MOV_TO_CR, 0, 0},		/* mov cr0,rax */
	{{0x0f, 0x22, 0xe3}, 3, SYS_MOV_TO_CR, 4, 3},		/* mov cr4,rbx */
	{{0x0f, 0x22, 0xdf}, 3, SYS_MOV_TO_CR, 3, 7},		/* mov cr3,rdi */
	{{0x44, 0x0f, 0x22, 0xc1}, 4, SYS_MOV_TO_CR, 8, 1},	/* mov cr8,rcx (REX.R) */
	{{0x41, 0x0f, 0x22, 0xc3}, 4, SYS_MOV_TO_CR, 0, 11},	/* mov cr0,r11 (REX.B) */
	{{0x45, 0x0f, 0x22, 0xe7}, 4, SYS_MOV_TO_CR, 12, 15},	/* REX.R and REX.B */
	{{0x49, 0x0f, 0x22, 0xe0}, 4, SYS_MOV_TO_CR, 4, 8},	/* mov cr4,r8 with REX.W */
	{{0x0f, 0x22, 0x20}, 3, SYS_MOV_TO_CR, 4, 0},		/* mod 00: still a register, no SIB */
	{{0x0f, 0x22, 0x44}, 3, SYS_MOV_TO_CR, 0, 4},		/* mod 01 rm 100: no SIB, no disp */
	{{0x0f, 0x22, 0x85}, 3, SYS_MOV_TO_CR, 0, 5},		/* mod 10 rm 101: no disp32 */
	{{0x66, 0x0f, 0x22, 0xc0}, 4, SYS_MOV_TO_CR, 0, 0},	/* a legacy prefix */
	{{0x41, 0x66, 0x0f, 0x22, 0xc0}, 5, SYS_MOV_TO_CR, 0, 0}, /* REX not last: ignored */
	{{0x0f, 0x06}, 2, SYS_CLTS, 0, 0},
	{{0x2e, 0x0f, 0x06}, 3, SYS_CLTS, 0, 0},
	{{0x0f, 0x01, 0x10}, 3, SYS_LGDT, 0, 0},		/* lgdt [rax] */
	{{0x0f, 0x01, 0x18}, 3, SYS_LIDT, 0, 0},		/* lidt [rax] */
	{{0x0f, 0x01, 0x14, 0x24}, 4, SYS_LGDT, 0, 0},	/* lgdt [rsp] (SIB) */
	{{0x0f, 0x01, 0x5c, 0x24, 0x08}, 5, SYS_LIDT, 0, 0},	/* lidt [rsp+8] */
	{{0x0f, 0x01, 0x15, D32}, 7, SYS_LGDT, 0, 0},		/* lgdt [rip+disp32] */
	{{0x0f, 0x01, 0x98, D32}, 7, SYS_LIDT, 0, 0},		/* lidt [rax+disp32] */
	{{0x0f, 0x01, 0x1c, 0x25, D32}, 8, SYS_LIDT, 0, 0},	/* lidt [disp32] (SIB, no base) */
	{{0x0f, 0x01, 0x94, 0xf1, D32}, 8, SYS_LGDT, 0, 0},	/* lgdt [rcx+rsi*8+disp32] */
	{{0x41, 0x0f, 0x01, 0x1c, 0x24}, 5, SYS_LIDT, 0, 0},	/* lidt [r12] */
	{{0x41, 0x0f, 0x01, 0x5d, 0x00}, 5, SYS_LIDT, 0, 0},	/* lidt [r13+0] */
	{{0x65, 0x67, 0x0f, 0x01, 0x10}, 5, SYS_LGDT, 0, 0},	/* gs, addr32 */
};

static const struct bad bads_sys[] = {
	{{0x0f, 0x20, 0xc0}, 3, "mov rax,cr0"},
	{{0x0f, 0x23, 0xc0}, 3, "mov dr0,rax"},
	{{0x0f, 0x21, 0xc0}, 3, "mov rax,dr0"},
	{{0x0f, 0x01, 0xd0}, 3, "xgetbv: 0F 01 /2, register form"},
	{{0x0f, 0x01, 0xd8}, 3, "vmrun: 0F 01 /3, register form"},
	{{0x0f, 0x01, 0xd1}, 3, "xsetbv"},
	{{0x0f, 0x01, 0xf8}, 3, "swapgs"},
	{{0x0f, 0x01, 0x00}, 3, "sgdt [rax]"},
	{{0x0f, 0x01, 0x08}, 3, "sidt [rax]"},
	{{0x0f, 0x01, 0x30}, 3, "lmsw [rax]"},
	{{0x0f, 0x01, 0x38}, 3, "invlpg [rax]"},
	{{0x0f, 0x00, 0x10}, 3, "lldt [rax]"},
	{{0x0f, 0x00, 0x18}, 3, "ltr [rax]"},
	{{0xf0, 0x0f, 0x22, 0xc0}, 4, "lock mov cr8 (AMD): refused"},
	{{0xf3, 0x0f, 0x06}, 3, "rep"},
	{{0xc5, 0xf8, 0x77}, 3, "VEX"},
	{{0x89, 0x00}, 2, "a plain store is not a system instruction"},
	{{0x0f, 0x0b}, 2, "ud2"},
	{{0x0f}, 1, "truncated"},
	{{0x41}, 1, "truncated"},
};
/* clang-format on */

TEST(decode_sys_forms)
{
	for (size_t i = 0; i < sizeof(good_sys) / sizeof(good_sys[0]); i++) {
		const struct good_sys *g = &good_sys[i];
		struct insn_sys s;

		memset(&s, 0x5a, sizeof(s));
		if (!CHECK_EQ(decode_sys_exact(g->b, g->n, &s), 0)) {
			fprintf(stderr, "  (good_sys[%zu])\n", i);
			continue;
		}
		bool ok = CHECK_EQ(s.len, g->n) & CHECK_EQ(s.op, g->op);
		if (g->op == SYS_MOV_TO_CR)
			ok &= CHECK_EQ(s.cr, g->cr) & CHECK_EQ(s.gpr, g->gpr);
		/* Bytes after the instruction change nothing. */
		uint8_t more[16 + INSN_MAX_LEN];
		struct insn_sys t;
		memcpy(more, g->b, g->n);
		memset(more + g->n, 0x0f, sizeof(more) - g->n);
		ok &=
		    CHECK_EQ(insn_decode_sys(more, sizeof(more), &t), 0) && CHECK_EQ(t.len, s.len);
		if (!ok)
			fprintf(stderr, "  (good_sys[%zu])\n", i);
	}
}

TEST(decode_sys_truncated_and_refused)
{
	for (size_t i = 0; i < sizeof(good_sys) / sizeof(good_sys[0]); i++) {
		for (size_t n = 0; n < good_sys[i].n; n++) {
			struct insn_sys s;

			memset(&s, 0x5a, sizeof(s));
			if (!CHECK_EQ(decode_sys_exact(good_sys[i].b, n, &s), -1) ||
			    !CHECK_EQ(s.len, 0x5a))
				fprintf(stderr, "  (good_sys[%zu] cut to %zu)\n", i, n);
		}
	}
	for (size_t i = 0; i < sizeof(bads_sys) / sizeof(bads_sys[0]); i++) {
		struct insn_sys s;

		memset(&s, 0x5a, sizeof(s));
		if (!CHECK_EQ(decode_sys_exact(bads_sys[i].b, bads_sys[i].n, &s), -1) ||
		    !CHECK_EQ(s.op, 0x5a))
			fprintf(stderr, "  (bads_sys[%zu]: %s)\n", i, bads_sys[i].why);
	}
	struct insn_sys s;
	CHECK_EQ(insn_decode_sys(NULL, 3, &s), -1);
	CHECK_EQ(insn_decode_sys(good_sys[0].b, 3, NULL), -1);
}

/* 15 bytes is the limit: prefixes that push the end past it are refused. */
TEST(decode_sys_length_limit)
{
	uint8_t b[32];
	struct insn_sys s;

	/* 13 prefixes + CLTS = 15: fine; 14 + CLTS = 16: refused. */
	memset(b, 0x66, sizeof(b));
	b[13] = 0x0f;
	b[14] = 0x06;
	CHECK_EQ(decode_sys_exact(b, 15, &s), 0);
	CHECK_EQ(s.len, 15);
	CHECK_EQ(s.op, SYS_CLTS);
	CHECK_EQ(decode_sys_exact(b, sizeof(b), &s), 0);
	memset(b, 0x66, sizeof(b));
	b[14] = 0x0f;
	b[15] = 0x06;
	CHECK_EQ(decode_sys_exact(b, sizeof(b), &s), -1);
	/* lidt [rax+disp32]: 7 bytes, so 8 prefixes fit and 9 do not. */
	static const uint8_t lidt[] = {0x0f, 0x01, 0x98, D32};
	memset(b, 0x2e, sizeof(b));
	memcpy(b + 8, lidt, sizeof(lidt));
	CHECK_EQ(decode_sys_exact(b, sizeof(b), &s), 0);
	CHECK_EQ(s.len, 15);
	CHECK_EQ(s.op, SYS_LIDT);
	memset(b, 0x2e, sizeof(b));
	memcpy(b + 9, lidt, sizeof(lidt));
	CHECK_EQ(decode_sys_exact(b, sizeof(b), &s), -1);
	/* mov cr0, rax after 12 prefixes (15) and 13 (16). */
	static const uint8_t mov[] = {0x0f, 0x22, 0xc0};
	memset(b, 0x3e, sizeof(b));
	memcpy(b + 12, mov, sizeof(mov));
	CHECK_EQ(decode_sys_exact(b, sizeof(b), &s), 0);
	CHECK_EQ(s.len, 15);
	memset(b, 0x3e, sizeof(b));
	memcpy(b + 13, mov, sizeof(mov));
	CHECK_EQ(decode_sys_exact(b, sizeof(b), &s), -1);
}
