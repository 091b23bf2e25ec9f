/* SPDX-License-Identifier: MIT */
/*
 * Instruction bytes come from guest memory, so everything here treats them
 * as hostile: every read is bounds-checked against both the bytes the
 * caller fetched and the 15-byte architectural limit, and any encoding
 * outside the short list in decode.h is refused rather than approximated.
 */
#include "decode.h"

#define REX_W 0x08
#define REX_R 0x04

/* Reads stop at whichever comes first: the bytes fetched or INSN_MAX_LEN. */
struct cursor {
	const uint8_t *p;
	size_t end;
	size_t pos;
};

struct prefixes {
	bool opsize; /* 66 */
	uint8_t rex; /* the effective REX, 0 if none */
};

static bool take(struct cursor *c, uint8_t *b)
{
	if (c->pos >= c->end)
		return false;
	*b = c->p[c->pos++];
	return true;
}

static bool skip(struct cursor *c, size_t n)
{
	if (n > c->end - c->pos)
		return false;
	c->pos += n;
	return true;
}

/* Little-endian immediate of n (<= 4) bytes, zero-extended. */
static bool take_imm(struct cursor *c, size_t n, uint64_t *v)
{
	uint64_t u = 0;

	if (n > c->end - c->pos)
		return false;
	for (size_t i = 0; i < n; i++)
		u |= (uint64_t)c->p[c->pos + i] << (8 * i);
	c->pos += n;
	*v = u;
	return true;
}

static bool is_legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0x66: /* operand size */
	case 0x67: /* address size: same ModRM layout in 64-bit mode */
	case 0x26: /* ES, CS, SS, DS: null prefixes in 64-bit mode */
	case 0x2e:
	case 0x36:
	case 0x3e:
	case 0x64: /* FS, GS: change the address, not the length */
	case 0x65:
		return true;
	default:
		return false;
	}
}

/*
 * Consumes prefixes up to the first opcode byte. LOCK and REP/REPNE are not
 * prefixes here: they come back as the "opcode" and get refused. A REX only
 * counts if nothing follows it but the opcode (SDM vol. 2A, 2.2.1); an
 * earlier one is ignored by the CPU, so it is ignored here too.
 */
static bool take_prefixes(struct cursor *c, struct prefixes *px, uint8_t *opcode)
{
	uint8_t b;

	px->opsize = false;
	px->rex = 0;
	for (;;) {
		if (!take(c, &b))
			return false;
		if ((b & 0xf0) == 0x40) {
			px->rex = b;
		} else if (is_legacy_prefix(b)) {
			px->opsize |= b == 0x66;
			px->rex = 0;
		} else {
			*opcode = b;
			return true;
		}
	}
}

/* REX.W wins over 66 (SDM vol. 1, 3.6.1). */
static uint8_t operand_size(const struct prefixes *px)
{
	if (px->rex & REX_W)
		return 8;
	return px->opsize ? 2 : 4;
}

static bool set_form(struct insn *in, enum insn_op op, uint8_t mem_size, uint8_t reg_size)
{
	in->op = (uint8_t)op;
	in->mem_size = mem_size;
	in->reg_size = reg_size;
	return true;
}

static bool classify_0f(struct cursor *c, const struct prefixes *px, struct insn *in)
{
	uint8_t b, osz = operand_size(px);

	if (!take(c, &b))
		return false;
	switch (b) {
	case 0xb6:
		return set_form(in, INSN_LOAD_ZX, 1, osz);
	case 0xb7:
		return set_form(in, INSN_LOAD_ZX, 2, osz);
	case 0xbe:
		return set_form(in, INSN_LOAD_SX, 1, osz);
	case 0xbf:
		return set_form(in, INSN_LOAD_SX, 2, osz);
	default:
		return false;
	}
}

/* 8-bit forms ignore 66 and REX.W; the rest take the operand size. */
static bool classify(struct cursor *c, uint8_t opcode, const struct prefixes *px, struct insn *in)
{
	uint8_t osz = operand_size(px);

	switch (opcode) {
	case 0x88:
		return set_form(in, INSN_STORE, 1, 1);
	case 0x89:
		return set_form(in, INSN_STORE, osz, osz);
	case 0x8a:
		return set_form(in, INSN_LOAD, 1, 1);
	case 0x8b:
		return set_form(in, INSN_LOAD, osz, osz);
	case 0xc6:
		return set_form(in, INSN_STORE_IMM, 1, 0);
	case 0xc7:
		return set_form(in, INSN_STORE_IMM, osz, 0);
	case 0x0f:
		return classify_0f(c, px, in);
	default:
		return false;
	}
}

/*
 * Consumes ModRM, SIB and displacement and returns the reg field. REX.B
 * does not change the special encodings: rm 100 always means a SIB and
 * mod 00 rm 101 always means RIP+disp32, even when REX.B names R12/R13.
 */
static bool take_modrm(struct cursor *c, uint8_t *reg)
{
	static const uint8_t disp_len[3] = {0, 1, 4};
	uint8_t modrm, sib, mod, rm;

	if (!take(c, &modrm))
		return false;
	mod = modrm >> 6;
	rm = modrm & 7;
	if (mod == 3)
		return false; /* a register operand: nothing touched memory */
	*reg = (modrm >> 3) & 7;
	if (rm == 4) {
		if (!take(c, &sib))
			return false;
		if (mod == 0 && (sib & 7) == 5)
			return skip(c, 4); /* no base: disp32 */
	} else if (mod == 0 && rm == 5) {
		return skip(c, 4); /* RIP-relative */
	}
	return skip(c, disp_len[mod]);
}

/* imm8/16/32 as encoded; only the 64-bit store sign-extends its imm32. */
static bool take_store_imm(struct cursor *c, struct insn *in)
{
	size_t n = in->mem_size == 8 ? 4 : in->mem_size;

	if (!take_imm(c, n, &in->imm))
		return false;
	if (in->mem_size == 8 && (in->imm & 0x80000000u))
		in->imm |= 0xffffffff00000000ull;
	return true;
}

static void set_reg(struct insn *in, uint8_t modrm_reg, const struct prefixes *px)
{
	in->reg = modrm_reg | ((px->rex & REX_R) ? 8 : 0);
	/* Any REX, even 40, turns 4..7 into SPL/BPL/SIL/DIL. */
	in->reg_high8 = in->reg_size == 1 && px->rex == 0 && in->reg >= 4;
}

int insn_decode(const uint8_t *bytes, size_t avail, struct insn *out)
{
	struct cursor c = {bytes, avail < INSN_MAX_LEN ? avail : INSN_MAX_LEN, 0};
	struct insn in = {0};
	struct prefixes px;
	uint8_t opcode, reg;

	if (bytes == NULL || out == NULL)
		return -1;
	if (!take_prefixes(&c, &px, &opcode) || !classify(&c, opcode, &px, &in) ||
	    !take_modrm(&c, &reg))
		return -1;
	if (in.op == INSN_STORE_IMM) {
		/* C6/C7 with reg != 0 are not MOV; REX.R does not extend a /digit. */
		if (reg != 0 || !take_store_imm(&c, &in))
			return -1;
	} else {
		set_reg(&in, reg, &px);
	}
	in.len = (uint8_t)c.pos;
	*out = in;
	return 0;
}

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* The memory value as the destination register sees it, before sizing. */
static uint64_t extend(const struct insn *in, uint64_t value)
{
	uint64_t mask = size_mask(in->mem_size);

	value &= mask;
	if (in->op == INSN_LOAD_SX && in->mem_size > 0 && in->mem_size < 8 &&
	    (value >> (8 * in->mem_size - 1)) & 1)
		value |= ~mask;
	return value;
}

/* x86 partial-register rules: only 32-bit writes clear the upper half. */
static void write_reg(uint64_t *r, unsigned size, uint64_t v)
{
	switch (size) {
	case 1:
		*r = (*r & ~0xffull) | (v & 0xff);
		break;
	case 2:
		*r = (*r & ~0xffffull) | (v & 0xffff);
		break;
	case 4:
		*r = v & 0xffffffffull;
		break;
	default:
		*r = v;
		break;
	}
}

static bool is_load(const struct insn *in)
{
	return in->op == INSN_LOAD || in->op == INSN_LOAD_ZX || in->op == INSN_LOAD_SX;
}

void insn_apply_load(const struct insn *in, uint64_t regs[16], uint64_t value)
{
	uint64_t v;

	if (!is_load(in) || in->reg > 15)
		return;
	v = extend(in, value);
	if (!in->reg_high8) {
		write_reg(&regs[in->reg], in->reg_size, v);
	} else if (in->reg >= 4 && in->reg <= 7) {
		/* AH, CH, DH, BH are bits 15:8 of RAX, RCX, RDX, RBX. */
		uint64_t *r = &regs[in->reg - 4];

		*r = (*r & ~0xff00ull) | ((v & 0xff) << 8);
	}
}

uint64_t insn_store_value(const struct insn *in, const uint64_t regs[16])
{
	if (in->op == INSN_STORE_IMM)
		return in->imm & size_mask(in->mem_size);
	if (in->op != INSN_STORE || in->reg > 15)
		return 0;
	if (in->reg_high8)
		return in->reg >= 4 && in->reg <= 7 ? (regs[in->reg - 4] >> 8) & 0xff : 0;
	return regs[in->reg] & size_mask(in->mem_size);
}

#define REX_B 0x01

/* MOV CRn, r64 ignores the mod bits: the operand is always a register. */
static bool take_mov_cr(struct cursor *c, const struct prefixes *px, struct insn_sys *out)
{
	uint8_t modrm;
	if (!take(c, &modrm))
		return false;
	out->op = SYS_MOV_TO_CR;
	out->cr = (uint8_t)(((modrm >> 3) & 7) | ((px->rex & REX_R) ? 8 : 0));
	out->gpr = (uint8_t)((modrm & 7) | ((px->rex & REX_B) ? 8 : 0));
	return true;
}

int insn_decode_sys(const uint8_t *bytes, size_t avail, struct insn_sys *out)
{
	struct cursor c = {bytes, avail < INSN_MAX_LEN ? avail : INSN_MAX_LEN, 0};
	struct insn_sys s = {0};
	struct prefixes px;
	uint8_t opcode, b, reg;
	if (bytes == NULL || out == NULL)
		return -1;
	if (!take_prefixes(&c, &px, &opcode) || opcode != 0x0f || !take(&c, &b))
		return -1;
	if (b == 0x22) {
		if (!take_mov_cr(&c, &px, &s))
			return -1;
	} else if (b == 0x06) {
		s.op = SYS_CLTS;
	} else if (b == 0x01) {
		if (!take_modrm(&c, &reg) || (reg != 2 && reg != 3))
			return -1;
		s.op = reg == 2 ? SYS_LGDT : SYS_LIDT;
	} else {
		return -1;
	}
	s.len = (uint8_t)c.pos;
	*out = s;
	return 0;
}
