/* SPDX-License-Identifier: MIT */
/*
 * Software walk of a 64-bit guest's page tables (4-level, or 5-level with
 * CR4.LA57), e.g. to fetch the instruction bytes at the guest's RIP.
 *
 * The walk only translates. It checks presence, canonical form and
 * reserved bits, but not permissions (U/S, R/W, NX, SMAP, protection keys),
 * and it does not set Accessed/Dirty bits: the VMM reads what the guest
 * already mapped, it does not act as the guest's MMU.
 *
 * Guest page tables can change under the walk (other vCPUs); every entry
 * is read once and the result is only as current as those reads.
 *
 * The guest chooses every address read64 and read_phys are asked for: its
 * tables can point at MMIO, at pages the policy blocks, or at VMM memory.
 * The callbacks must refuse (return -1 for) anything the guest could not
 * read itself, or the walker becomes a way around nested paging.
 */
#ifndef THINVMM_CORE_GWALK_H
#define THINVMM_CORE_GWALK_H

#include <stddef.h>
#include <stdint.h>

#define GWALK_CR4_LA57 (1ull << 12)
#define GWALK_EFER_LMA (1ull << 10)
#define GWALK_EFER_NXE (1ull << 11)
#define GWALK_PAGE_4K  (1ull << 12)
#define GWALK_PAGE_2M  (1ull << 21)
#define GWALK_PAGE_1G  (1ull << 30)

struct gwalk_ctx {
	uint64_t cr3, cr4, efer;
	/* reads 8 bytes of guest-physical memory at gpa (8-aligned); 0 or -1 */
	int (*read64)(void *opaque, uint64_t gpa, uint64_t *val);
	void *opaque;
	/*
	 * The guest's MAXPHYADDR (CPUID 80000008h EAX[7:0]); entry address
	 * bits at and above it are reserved. 0, or anything outside 32..51,
	 * means no check (as for 52).
	 */
	uint8_t maxphyaddr;
};

/*
 * 0 and *gpa (and *page_size, if not NULL: 4 KiB, 2 MiB or 1 GiB) on
 * success; -1 if not long mode (EFER.LMA clear), non-canonical, a read
 * fails, an entry is not present, or an entry has reserved bits set.
 * CR3 bits 11:0 (PCID or PWT/PCD) and 63 (no-flush) are ignored.
 */
int gwalk_translate(const struct gwalk_ctx *c, uint64_t gva, uint64_t *gpa, uint64_t *page_size);

/*
 * Copies len bytes at guest-virtual gva into buf, splitting at page
 * boundaries; read_phys(c->opaque, gpa, dst, n) reads guest-physical memory
 * contiguous within one page and returns 0 or -1. Returns the number of
 * bytes copied from the start: less than len means the byte at gva+result
 * could not be translated or read (e.g. an instruction whose tail is on an
 * unmapped page; decode what was read).
 */
size_t gwalk_read(const struct gwalk_ctx *c, uint64_t gva, void *buf, size_t len,
		  int (*read_phys)(void *opaque, uint64_t gpa, void *dst, size_t n));

#endif
