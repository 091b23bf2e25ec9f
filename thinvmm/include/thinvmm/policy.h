/* SPDX-License-Identifier: MIT */
/*
 * The compiled policy: what `thinvmm-policy compile` writes, what the
 * loader resolves and what TVMM_HC_LOCK takes. One header, then fixed-size
 * rules. Every field is checked by the VMM (core/policy.c) as hostile.
 * docs/policy.md describes the text language and this format; change both
 * together.
 */
#ifndef THINVMM_POLICY_H
#define THINVMM_POLICY_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
#endif

#define TVMM_POL_MAGIC	   0x314c4f504d4d5654ull /* "TVMMPOL1", little-endian */
#define TVMM_POL_VERSION   1u
#define TVMM_POL_MAX_RULES 256u
#define TVMM_POL_SYM_LEN   64u
#define TVMM_POL_NAME_LEN  32u

enum tvmm_rule_kind {
	/* Guest-physical range [a, a + b), page-aligned. What the VMM takes. */
	TVMM_RULE_MEM = 1,
	/*
	 * A kernel symbol range: sym[0] up to sym[1], or sym[0] plus b bytes
	 * when sym[1] is empty; a is an offset added to sym[0]. The loader
	 * turns it into TVMM_RULE_MEM rules before the VMM sees it.
	 */
	TVMM_RULE_MEM_SYM = 2,
	/* Control register a (0 or 4): the bits in b keep their value at lock. */
	TVMM_RULE_CR = 3,
	/* MSR a: the accesses in perm (TVMM_PERM_R, TVMM_PERM_W) trap. */
	TVMM_RULE_MSR = 4,
	/* Descriptor-table loads in a (TVMM_DT_*) trap. */
	TVMM_RULE_DT = 5,
	/*
	 * Kernel-virtual range [a, a + b): between the guest tool and the
	 * loader only, after symbol lookup; never reaches the VMM.
	 */
	TVMM_RULE_MEM_VA = 6,
	/*
	 * Run-time text patching the VMM checks instead of refusing: the
	 * kernel's jump-label table (struct jump_entry, 16 bytes each) at
	 * kernel-virtual [a, a + b); sym[0]..sym[1] before lookup. A write to
	 * protected memory is let through only where it turns one jump-label
	 * site into one of its legal forms (docs/policy.md). The table itself
	 * must lie in read-only protected memory. action is TVMM_ACT_MONITOR:
	 * such writes are counted, they are not violations.
	 */
	TVMM_RULE_PATCH = 7,
	/*
	 * Introspection: every write to CR3 (each address-space switch) traps.
	 * action monitor or halt; the write itself always happens.
	 */
	TVMM_RULE_CR3 = 8,
	/*
	 * Introspection: the exceptions in a (bit per vector, TVMM_EXC_TRAPPABLE
	 * only) trap, then reach the guest as they would have. monitor or halt.
	 */
	TVMM_RULE_EXC = 9,
};

/* Faults the VMM can trap and deliver unchanged: #DE #UD #NP #SS #GP #PF #AC. */
#define TVMM_EXC_TRAPPABLE                                                                         \
	((1u << 0) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 13) | (1u << 14) | (1u << 17))

/* Memory rules: the accesses allowed. Reads are always allowed. */
#define TVMM_PERM_R 1u
#define TVMM_PERM_W 2u
#define TVMM_PERM_X 4u

#define TVMM_DT_LIDT 1u
#define TVMM_DT_LGDT 2u

enum tvmm_action {
	TVMM_ACT_MONITOR = 1, /* allow and record */
	TVMM_ACT_DENY = 2,    /* block and record */
	TVMM_ACT_HALT = 3,    /* record and stop the machine */
};

struct tvmm_pol_rule {
	uint16_t kind;	/* enum tvmm_rule_kind */
	uint8_t action; /* enum tvmm_action */
	uint8_t perm;	/* TVMM_PERM_* (see the kinds) */
	uint16_t id;	/* the rule's number in the source, for events */
	uint16_t line;	/* its line in the source, for messages */
	uint64_t a, b;
	char name[TVMM_POL_NAME_LEN];  /* NUL-terminated label */
	char sym[2][TVMM_POL_SYM_LEN]; /* TVMM_RULE_MEM_SYM only; NUL-terminated */
};

struct tvmm_pol_header {
	uint64_t magic;		      /* TVMM_POL_MAGIC */
	uint32_t version;	      /* TVMM_POL_VERSION */
	uint32_t size;		      /* bytes: header + nrules rules */
	uint32_t nrules;	      /* at most TVMM_POL_MAX_RULES */
	uint32_t reserved;	      /* 0 */
	char name[TVMM_POL_NAME_LEN]; /* NUL-terminated policy name */
};

/*
 * The MSRs a policy may name: the VMM knows how to check and apply a write
 * to each (any other MSR is refused at compile time and by the VMM).
 * X(name, index)
 */
#define TVMM_POL_MSRS(X)                                                                           \
	X("EFER", 0xc0000080u)                                                                     \
	X("STAR", 0xc0000081u)                                                                     \
	X("LSTAR", 0xc0000082u)                                                                    \
	X("CSTAR", 0xc0000083u)                                                                    \
	X("SFMASK", 0xc0000084u)                                                                   \
	X("SYSENTER_CS", 0x174u)                                                                   \
	X("SYSENTER_ESP", 0x175u)                                                                  \
	X("SYSENTER_EIP", 0x176u)

/* The control-register bits a policy may pin. X(cr, name, bit) */
#define TVMM_POL_CR_BITS(X)                                                                        \
	X(0, "PE", 0)                                                                              \
	X(0, "WP", 16)                                                                             \
	X(0, "PG", 31)                                                                             \
	X(4, "UMIP", 11)                                                                           \
	X(4, "FSGSBASE", 16)                                                                       \
	X(4, "SMEP", 20)                                                                           \
	X(4, "SMAP", 21)                                                                           \
	X(4, "PKE", 22)

#ifndef __KERNEL__
_Static_assert(sizeof(struct tvmm_pol_rule) == 184, "policy rule layout");
_Static_assert(sizeof(struct tvmm_pol_header) == 56, "policy header layout");
#endif

#endif
