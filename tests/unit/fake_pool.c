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
