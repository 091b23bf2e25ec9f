/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vmm.h"
#include "fake_pool.h"
#include "test.h"

uint8_t *pool;
uint64_t pool_used;
uint64_t pool_limit;

void pool_reset(uint64_t limit)
{
	if (pool == NULL) {
		pool = aligned_alloc(PAGE_SIZE, POOL_PAGES * PAGE_SIZE);
		if (pool == NULL)
			abort();
	}
	/* Garbage where no table was handed out: alloc_table must zero. */
	memset(pool, 0xa5, POOL_PAGES * PAGE_SIZE);
	pool_used = 0;
	pool_limit = limit < POOL_PAGES ? limit : POOL_PAGES;
}

void *pool_alloc(uint64_t *pa)
{
	if (pool_used >= pool_limit)
		return NULL;
	uint8_t *p = pool + pool_used * PAGE_SIZE;
	memset(p, 0, PAGE_SIZE);
	*pa = POOL_BASE + pool_used * PAGE_SIZE;
	pool_used++;
	return p;
}

void *pool_ptr(uint64_t pa)
{
	/* Only pages handed out, and only by their exact address. */
	if (!CHECK(pa >= POOL_BASE && pa < POOL_BASE + pool_used * PAGE_SIZE) ||
	    !CHECK_EQ(pa & (PAGE_SIZE - 1), 0)) {
		fprintf(stderr, "  table_ptr(%#llx)\n", (unsigned long long)pa);
		return pool; /* a zeroed page would hide it; the check failed already */
	}
	return pool + (pa - POOL_BASE);
}

/* The leaf for va must translate to want_pa with these permission, level and type. */
bool expect_map(const struct pt *pt, uint64_t va, uint64_t want_pa, unsigned want_perm,
		unsigned want_level, enum pt_memtype want_mt)
{
	uint64_t pa = 0;
	unsigned perm = 0, level = 0;
	enum pt_memtype mt = 0x5a;

	if (CHECK_EQ(pt_lookup(pt, va, &pa, &perm, &level, &mt), 0) && CHECK_EQ(pa, want_pa) &&
	    CHECK_EQ(perm, want_perm) && CHECK_EQ(level, want_level) && CHECK_EQ(mt, want_mt))
		return true;
	fprintf(stderr, "  (va %#llx)\n", (unsigned long long)va);
	return false;
}

/* No translation for va, and pt_lookup leaves its outputs alone. */
bool expect_absent(const struct pt *pt, uint64_t va)
{
	uint64_t pa = 0x5a5a;
	unsigned perm = 0x5a, level = 0x5a;
	enum pt_memtype mt = 0x5a;

	if (CHECK_EQ(pt_lookup(pt, va, &pa, &perm, &level, &mt), -1) && CHECK_EQ(pa, 0x5a5a) &&
	    CHECK_EQ(perm, 0x5a) && CHECK_EQ(level, 0x5a))
		return true;
	fprintf(stderr, "  (va %#llx should be absent)\n", (unsigned long long)va);
	return false;
}
