/* SPDX-License-Identifier: MIT */
/*
 * What core/main.c and core/phys.c provide in the VMM: the global struct
 * vmm, the image hash, and phys_ptr() over a few host buffers standing in
 * for guest-physical memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"
#include "test.h"

struct vmm vmm;

uint64_t vmm_image_hash(void)
{
	return FAKE_IMAGE_HASH;
}

#define MAX_WINDOWS 16

static struct window {
	uint64_t gpa, size;
	uint8_t *buf;
} windows[MAX_WINDOWS];
static int nwindows;
int fake_phys_ptr_calls;

/* Room for the largest access the core makes through a bad pointer (1 MiB LOG). */
static uint8_t scratch[TVMM_HC_MAX_BUF + PAGE_SIZE];

/* vmm_alloc_pages(): a static arena, rewound by fake_mem_reset(). */
#define ARENA_PAGES 64
static uint8_t arena[ARENA_PAGES * PAGE_SIZE] __attribute__((aligned(4096)));
static size_t arena_used;

void *vmm_alloc_pages(size_t npages)
{
	if (!npages || npages > ARENA_PAGES - arena_used / PAGE_SIZE)
		return NULL;
	void *p = arena + arena_used;
	arena_used += npages * PAGE_SIZE;
	vmm.alloc_next += npages * PAGE_SIZE;
	memset(p, 0, npages * PAGE_SIZE);
	return p;
}

void fake_mem_reset(void)
{
	arena_used = 0;
	for (int i = 0; i < nwindows; i++)
		free(windows[i].buf);
	memset(windows, 0, sizeof(windows));
	nwindows = 0;
	fake_phys_ptr_calls = 0;
}

void *fake_mem_add(uint64_t gpa, uint64_t size, uint8_t fill)
{
	struct window *w;

	if (!CHECK(nwindows < MAX_WINDOWS) || !CHECK(size > 0) || !CHECK(gpa + size > gpa))
		return scratch;
	for (int i = 0; i < nwindows; i++)
		if (!CHECK(gpa + size <= windows[i].gpa || windows[i].gpa + windows[i].size <= gpa))
			return scratch;
	w = &windows[nwindows++];
	w->gpa = gpa;
	w->size = size;
	w->buf = malloc(size);
	if (!w->buf) {
		fprintf(stderr, "out of memory\n");
		abort();
	}
	memset(w->buf, fill, size);
	return w->buf;
}

void *fake_mem_ptr(uint64_t gpa)
{
	for (int i = 0; i < nwindows; i++)
		if (gpa - windows[i].gpa < windows[i].size)
			return windows[i].buf + (gpa - windows[i].gpa);
	return NULL;
}

void *phys_ptr(uint64_t pa)
{
	void *p = fake_mem_ptr(pa);

	fake_phys_ptr_calls++;
	if (p == NULL) {
		unit_check_failed(__FILE__, __LINE__, "phys_ptr(%#llx): no fake memory there",
				  (unsigned long long)pa);
		return scratch;
	}
	return p;
}
