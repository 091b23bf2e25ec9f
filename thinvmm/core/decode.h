/* SPDX-License-Identifier: MIT */
/*
 * Decoder for the x86-64 memory-access instructions the VMM emulates when
 * the guest touches a guest-physical page the policy blocks: reads return
 * all-ones, writes are dropped, RIP advances by insn.len.
 *
 * 64-bit mode only: the caller must check EFER.LMA and CS.L first, since in
 * compatibility mode 40-4F are INC/DEC, not REX. The bytes come from guest
 * memory after the fault, so another vCPU may have changed them: decode
 * what is there now, and rely on nothing but the decoded length and
 * registers. Accepted forms:
 *   88 /r, 89 /r          MOV r/m, r          INSN_STORE
 *   8A /r, 8B /r          MOV r, r/m          INSN_LOAD
 *   C6 /0 ib, C7 /0 iw/id MOV r/m, imm        INSN_STORE_IMM
 *   0F B6 /r, 0F B7 /r    MOVZX r, r/m8/16    INSN_LOAD_ZX
 *   0F BE /r, 0F BF /r    MOVSX r, r/m8/16    INSN_LOAD_SX
 * with the prefixes 66, 67, 26 2E 36 3E 64 65 and one effective REX. The
 * r/m operand must be memory (mod != 3). Anything else, including LOCK,
 * REP/REPNE (F3/F2), VEX/EVEX, string moves and read-modify-write
 * instructions, is refused: the caller must then fail safe, never guess.
 *
 * The decoder only sizes the instruction and names the register; it does
 * not compute the effective address. The faulting guest-physical address
 * comes from the exit information, not from here.
 */
#ifndef THINVMM_CORE_DECODE_H
#define THINVMM_CORE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The architectural limit; longer encodings raise #GP on hardware. */
#define INSN_MAX_LEN 15

enum insn_op { INSN_LOAD, INSN_STORE, INSN_STORE_IMM, INSN_LOAD_ZX, INSN_LOAD_SX };

struct insn {
	uint8_t len;	  /* total bytes */
	uint8_t op;	  /* enum insn_op */
	uint8_t mem_size; /* bytes accessed in memory: 1, 2, 4, 8 */
	uint8_t reg_size; /* register operand size: 1, 2, 4, 8; 0 for INSN_STORE_IMM */
	uint8_t reg;	  /* register number 0..15 (RAX=0 ... R15=15); 0 for INSN_STORE_IMM */
	bool reg_high8;	  /* AH/CH/DH/BH: 8-bit, no REX, reg 4..7 (AH is reg 4) */
	uint64_t imm;	  /* STORE_IMM value, sign-extended to mem_size; 0 otherwise */
};

/*
 * 0 on success, -1 if not one of the supported forms or truncated. Never
 * reads bytes[avail] or beyond, nor beyond bytes[INSN_MAX_LEN - 1]. *out is
 * written only on success.
 */
int insn_decode(const uint8_t *bytes, size_t avail, struct insn *out);

/*
 * Writes `value` (already the memory value, low mem_size bytes meaningful)
 * into regs[] with x86 semantics: a 32-bit destination zero-extends to 64,
 * 8/16-bit destinations keep the other bits, high8 registers, zero/sign
 * extension for MOVZX/MOVSX. regs[] is indexed RAX=0, RCX=1, RDX=2, RBX=3,
 * RSP=4, RBP=5, RSI=6, RDI=7, R8..R15=8..15. Does nothing for the store
 * forms.
 */
void insn_apply_load(const struct insn *in, uint64_t regs[16], uint64_t value);

/*
 * The value a store form would have written (low mem_size bytes), for
 * logging what a dropped write attempted. 0 for the load forms.
 */
uint64_t insn_store_value(const struct insn *in, const uint64_t regs[16]);

/*
 * The system instructions whose intercepts give no length or operand
 * without decode assists (AMD without NRIP/decode assists, as in QEMU):
 *   0F 22 /r      MOV CRn, r64 (mod ignored; REX.R selects CR8+)  SYS_MOV_TO_CR
 *   0F 06         CLTS                                             SYS_CLTS
 *   0F 01 /2, /3  LGDT m, LIDT m (memory operand only)             SYS_LGDT, SYS_LIDT
 * with the same prefixes as insn_decode. 0, or -1 for anything else.
 */
enum insn_sys_op { SYS_MOV_TO_CR, SYS_CLTS, SYS_LGDT, SYS_LIDT };

struct insn_sys {
	uint8_t len;
	uint8_t op;  /* enum insn_sys_op */
	uint8_t cr;  /* SYS_MOV_TO_CR: control register number */
	uint8_t gpr; /* SYS_MOV_TO_CR: source register 0..15 */
};

int insn_decode_sys(const uint8_t *bytes, size_t avail, struct insn_sys *out);

#endif
