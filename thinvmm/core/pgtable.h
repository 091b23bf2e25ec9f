/* SPDX-License-Identifier: MIT */
/*
 * One radix page-table builder for every table the VMM owns: its own
 * address space, AMD's NPT and Intel's EPT differ only in entry format.
 * Plain data in, plain data out, so it runs under unit tests too.
 */
#ifndef TVMM_PGTABLE_H
#define TVMM_PGTABLE_H

#include <stdbool.h>
#include <stdint.h>

/* Leaf levels: 1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB. */
#define PT_LEVEL_SHIFT(l) (12u + 9u * ((l)-1u))
#define PT_LEVEL_SIZE(l)  (1ull << PT_LEVEL_SHIFT(l))

/* Memory types a leaf can ask for: the architectural encodings (MTRR, PAT, EPT). */
enum pt_memtype { PT_MT_UC = 0, PT_MT_WC = 1, PT_MT_WT = 4, PT_MT_WP = 5, PT_MT_WB = 6 };

struct pt_format {
	uint64_t (*table)(uint64_t pa);
	/* perm is ACC_* (never 0: absence is the empty entry) */
	uint64_t (*leaf)(uint64_t pa, unsigned perm, unsigned level, enum pt_memtype mt);
	bool (*present)(uint64_t e);
	bool (*is_leaf)(uint64_t e, unsigned level);
	unsigned (*perm)(uint64_t e);
	enum pt_memtype (*memtype)(uint64_t e, unsigned level);
	uint64_t addr_mask; /* bits of an entry that hold the address */
};

struct pt {
	const struct pt_format *fmt;
	unsigned levels; /* 4, or 5 with LA57 */
	uint64_t root_pa;
	/* The owner says how to get and reach table pages. */
	void *(*alloc_table)(uint64_t *pa); /* a zeroed 4 KiB page or NULL */
	void *(*table_ptr)(uint64_t pa);
	uint64_t table_pages;
	uint64_t leaves[4]; /* present leaves by level, [1..3] used */
	uint64_t splits;    /* large leaves replaced by a table */
};

int pt_init(struct pt *pt);
/*
 * Maps [va, va+size) to [pa, pa+size) with perm (0 = not present) and
 * memory type, using the largest pages alignment allows (1 GiB only when
 * max_level is 3), splitting larger leaves already there. 0 or -1 (no
 * memory, bad arguments); on -1 the part already done stays mapped.
 */
int pt_map(struct pt *pt, uint64_t va, uint64_t pa, uint64_t size, unsigned perm,
	   enum pt_memtype mt, unsigned max_level);
/*
 * Identity-maps [0, limit) with perm, each block with the largest page whose
 * whole range has one memory type by type_of(ctx, pa, size) (-1: mixed).
 */
int pt_map_identity_typed(struct pt *pt, uint64_t limit, unsigned perm, unsigned max_level,
			  int (*type_of)(const void *ctx, uint64_t pa, uint64_t size),
			  const void *ctx);
/*
 * Gives the mapped range [va, va+size) the permissions perm (not 0),
 * keeping each page's address and memory type; splits large leaves only
 * where the range starts or ends inside them. 0, or -1 (a page not mapped,
 * no memory, bad arguments; the part already done keeps the new perm).
 */
int pt_set_perm(struct pt *pt, uint64_t va, uint64_t size, unsigned perm);
/* 0 and the leaf's translation for va, or -1 if not present. */
int pt_lookup(const struct pt *pt, uint64_t va, uint64_t *pa, unsigned *perm, unsigned *level,
	      enum pt_memtype *mt);

/* The plain x86-64 paging format (host tables; NPT is this with U=1). */
extern const struct pt_format pt_format_x86;
uint64_t x86_pte_table(uint64_t pa, bool user);
uint64_t x86_pte_leaf(uint64_t pa, unsigned perm, unsigned level, enum pt_memtype mt, bool user);
bool x86_present(uint64_t e);
bool x86_is_leaf(uint64_t e, unsigned level);
unsigned x86_perm(uint64_t e);
enum pt_memtype x86_memtype(uint64_t e, unsigned level);

#endif
