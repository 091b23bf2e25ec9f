/* SPDX-License-Identifier: MIT */
/*
 * Page-table pages for tests that build tables: a pool at a made-up
 * physical address with high bits set, so address masks matter. Pages not
 * yet handed out hold garbage (alloc_table must zero), and table_ptr()
 * accepts only pages handed out, by their exact address.
 */
#ifndef TVMM_TESTS_UNIT_FAKE_POOL_H
#define TVMM_TESTS_UNIT_FAKE_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/pgtable.h"

#define POOL_PAGES 2048
#define POOL_BASE  0x000ab00000000000ull

extern uint8_t *pool;
extern uint64_t pool_used, pool_limit;
/* Empties the pool; at most `limit` pages (capped at POOL_PAGES) will be handed out. */
void pool_reset(uint64_t limit);
void *pool_alloc(uint64_t *pa);
void *pool_ptr(uint64_t pa);

/* Lookups that report what differs (tests built on test.h's CHECK). */
bool expect_map(const struct pt *pt, uint64_t va, uint64_t want_pa, unsigned want_perm,
		unsigned want_level, enum pt_memtype want_mt);
bool expect_absent(const struct pt *pt, uint64_t va);

#endif
