/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for insn_decode: the input is the instruction bytes a
 * guest left at RIP. Beyond "no crash, no read past the input", it checks
 * the promises callers rely on: the length fits, the fields are in range,
 * the answer depends only on the first len bytes, and insn_apply_load
 * touches only the one destination register, the way x86 does.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/decode.h"
#include "fuzz.h"

static uint64_t load_le64(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void check_fields(const struct insn *in, size_t size)
{
	REQUIRE(in->len >= 2 && in->len <= INSN_MAX_LEN && in->len <= size);
	REQUIRE(in->op <= INSN_LOAD_SX);
	REQUIRE(in->mem_size == 1 || in->mem_size == 2 || in->mem_size == 4 || in->mem_size == 8);
	REQUIRE(in->reg < 16);
	if (in->op == INSN_STORE_IMM) {
		REQUIRE(in->reg_size == 0 && in->reg == 0 && !in->reg_high8);
		if (in->mem_size < 8)
			REQUIRE(in->imm >> (8 * in->mem_size) == 0);
	} else {
		REQUIRE(in->reg_size == 1 || in->reg_size == 2 || in->reg_size == 4 ||
			in->reg_size == 8);
		REQUIRE(in->imm == 0);
	}
	if (in->op == INSN_LOAD_ZX || in->op == INSN_LOAD_SX)
		REQUIRE(in->mem_size < in->reg_size || (in->mem_size == 2 && in->reg_size == 2));
	if (in->op == INSN_LOAD || in->op == INSN_STORE)
		REQUIRE(in->mem_size == in->reg_size);
	if (in->reg_high8)
		REQUIRE(in->reg >= 4 && in->reg <= 7 && in->reg_size == 1);
}

/* Only the destination changes, and the bits x86 keeps are kept. */
static void check_apply(const struct insn *in, uint64_t value, uint64_t seed)
{
	uint64_t regs[16], before[16];
	int dst = in->reg_high8 ? in->reg - 4 : in->reg;
	uint64_t keep = 0;

	for (int i = 0; i < 16; i++)
		regs[i] = seed * (uint64_t)(2 * i + 1);
	memcpy(before, regs, sizeof(regs));
	insn_apply_load(in, regs, value);
	for (int i = 0; i < 16; i++)
		if (i != dst || in->op == INSN_STORE || in->op == INSN_STORE_IMM)
			REQUIRE(regs[i] == before[i]);
	if (in->op == INSN_STORE || in->op == INSN_STORE_IMM)
		return;
	if (in->reg_high8)
		keep = ~0xff00ULL;
	else if (in->reg_size == 1)
		keep = ~0xffULL;
	else if (in->reg_size == 2)
		keep = ~0xffffULL;
	REQUIRE((regs[dst] & keep) == (before[dst] & keep));
	if (in->reg_size == 4)
		REQUIRE(regs[dst] >> 32 == 0);
	(void)insn_store_value(in, regs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct insn in, again;
	uint8_t *exact;

	if (insn_decode(data, size, &in) != 0)
		return 0;
	check_fields(&in, size);
	/* Decoding just the claimed bytes gives the same answer; one fewer fails. */
	exact = malloc(in.len);
	REQUIRE(exact != NULL);
	memcpy(exact, data, in.len);
	REQUIRE(insn_decode(exact, in.len, &again) == 0);
	REQUIRE(memcmp(&in, &again, sizeof(in)) == 0);
	REQUIRE(insn_decode(exact, in.len - 1u, &again) == -1);
	free(exact);
	check_apply(&in, load_le64(data + in.len, size - in.len), load_le64(data, size) | 1);
	check_apply(&in, ~0ULL, 0x0123456789abcdefULL);
	return 0;
}
