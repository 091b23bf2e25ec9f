/* SPDX-License-Identifier: MIT */
/*
 * Guest page tables for tests that make the core walk the guest's own
 * paging (instruction fetch, jump tables): a 4-level tree of 4 KiB pages
 * in a fake guest-memory window, filled page by page.
 */
#include "fake.h"
#include "test.h"

#define GPT_P  (1ull << 0)
#define GPT_RW (1ull << 1)
#define GPT_US (1ull << 2)

static uint64_t root, next, end;

uint64_t fake_gpt_init(uint64_t base, unsigned npages)
{
	fake_mem_add(base, npages * 4096ull, 0);
	root = base;
	next = base + 4096;
	end = base + npages * 4096ull;
	return root;
}

static uint64_t *table_at(uint64_t gpa)
{
	return (uint64_t *)fake_mem_ptr(gpa);
}

void fake_gpt_map(uint64_t gva, uint64_t gpa)
{
	uint64_t table = root;

	for (int level = 4; level > 1; level--) {
		uint64_t *e = &table_at(table)[(gva >> (12 + 9 * (level - 1))) & 511];
		if (!(*e & GPT_P)) {
			if (!CHECK(next < end))
				return;
			*e = next | GPT_P | GPT_RW | GPT_US;
			next += 4096;
		}
		table = *e & 0x000ffffffffff000ull;
	}
	table_at(table)[(gva >> 12) & 511] = gpa | GPT_P | GPT_RW;
}

void fake_gpt_map_range(uint64_t gva, uint64_t gpa, uint64_t size)
{
	for (uint64_t off = 0; off < size; off += 4096)
		fake_gpt_map(gva + off, gpa + off);
}
