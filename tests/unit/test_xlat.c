/* SPDX-License-Identifier: MIT */
/*
 * The translation-lock classifier (core/xlat.c): which writes to a guarded
 * page-table entry change what it maps, at every entry level and width.
 */
#include "core/vmm.h"
#include "test.h"

#define P  0x001ull
#define RW 0x002ull
#define US 0x004ull
#define A  0x020ull
#define D  0x040ull
#define PS 0x080ull
#define G  0x100ull
#define NX (1ull << 63)

TEST(xlat_merge_widths)
{
	uint64_t old = 0x1122334455667788ull;
	CHECK_EQ(xlat_merge(old, 0, 8, 0xaabbccddeeff0011ull), 0xaabbccddeeff0011ull);
	CHECK_EQ(xlat_merge(old, 0, 1, 0xffull), 0x11223344556677ffull);
	CHECK_EQ(xlat_merge(old, 4, 4, 0xdeadbeefull), 0xdeadbeef55667788ull);
	CHECK_EQ(xlat_merge(old, 6, 2, 0xabcdull), 0xabcd334455667788ull);
	CHECK_EQ(xlat_merge(old, 7, 1, 0x1234ull), 0x3422334455667788ull); /* only the low byte */
}

/* A 2 MiB kernel-text leaf (PMD), a 4 KiB leaf (PTE), a table pointer (PUD/PMD). */
TEST(xlat_changes_classifies)
{
	uint64_t pmd_text = 0x16200000ull | P | A | D | PS | G;
	uint64_t pte_data = 0x1f0a3000ull | P | RW | A | D | G | NX;
	uint64_t table = 0x10014000ull | P | RW | A;

	/* Accessed/Dirty alone: the CPU's own bookkeeping, allowed. */
	CHECK(!xlat_changes(pmd_text, pmd_text & ~(A | D)));
	CHECK(!xlat_changes(pte_data & ~D, pte_data));
	CHECK(!xlat_changes(table, table & ~A));
	/* Rewriting it with what is there: allowed. */
	CHECK(!xlat_changes(pmd_text, pmd_text));
	/* Another frame, at every level. */
	CHECK(xlat_changes(pmd_text, (pmd_text & ~0xfffff000ull) | 0x03a00000ull));
	CHECK(xlat_changes(pte_data, pte_data + 0x1000));
	CHECK(xlat_changes(table, table + 0x1000));
	/* Permissions: writable, user, executable, global, not present, a page size. */
	CHECK(xlat_changes(pmd_text, pmd_text | RW));
	CHECK(xlat_changes(pmd_text, pmd_text | US));
	CHECK(xlat_changes(pte_data, pte_data & ~NX));
	CHECK(xlat_changes(pmd_text, pmd_text & ~G));
	CHECK(xlat_changes(pmd_text, 0));
	CHECK(xlat_changes(table, table | PS));
	/* A byte-wide store into the frame bits, as a partial write would do. */
	CHECK(xlat_changes(pmd_text, xlat_merge(pmd_text, 3, 1, 0x99)));
	/* Flipping only A with a byte store is still allowed. */
	CHECK(!xlat_changes(pmd_text, xlat_merge(pmd_text, 0, 1, (pmd_text & 0xff) & ~A)));
}
