/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for dmar_parse, which reads the ACPI DMAR table the OS
 * hands the VMM. Every input is parsed twice:
 *
 *   as it is: the whole input is the buffer, header and all;
 *   sealed:   the signature, length and checksum are made right here, so
 *             the fuzzer spends its time on the remapping structures
 *             rather than on guessing a checksum.
 *
 * Each parse reads a heap copy of exactly the input's size (ASan catches a
 * byte past it). A refusal must give a reason and leave nothing behind; an
 * acceptance must hold what the driver relies on, re-derived here by a walk
 * that shares no code with dmar.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "iommu/dmar.h"

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static void verify_accepted(const uint8_t *t, size_t len, const struct dmar_info *info)
{
	uint32_t length, off, drhd = 0, rmrr = 0;
	uint8_t sum = 0;

	REQUIRE(len >= 48 && memcmp(t, "DMAR", 4) == 0);
	length = (uint32_t)le(t + 4, 4);
	REQUIRE(length >= 48 && length <= len && length <= DMAR_MAX_LEN);
	for (uint32_t i = 0; i < length; i++)
		sum += t[i];
	REQUIRE(sum == 0);
	REQUIRE(info->haw >= 32 && info->haw <= 64 && info->haw == t[36] + 1);
	REQUIRE(info->flags == t[37]);
	REQUIRE(info->nunits >= 1 && info->nunits <= DMAR_MAX_UNITS);

	for (uint32_t i = 0; i < info->nunits; i++) {
		const struct dmar_unit *u = &info->unit[i];
		uint64_t bytes = (uint64_t)u->pages << 12;

		REQUIRE(u->base != 0 && (u->base & 0xfff) == 0);
		REQUIRE(u->pages != 0 && (u->pages & (u->pages - 1)) == 0);
		REQUIRE(u->base + bytes > u->base); /* no wrap, not even to 0 */
		REQUIRE(u->include_all <= 1);
	}
	for (uint32_t i = info->nunits; i < DMAR_MAX_UNITS; i++)
		REQUIRE(info->unit[i].base == 0 && info->unit[i].pages == 0);

	/* The structures again: the units come from the DRHDs, in order. */
	for (off = 48; off < length;) {
		uint16_t type, slen;

		REQUIRE(length - off >= 4);
		type = (uint16_t)le(t + off, 2);
		slen = (uint16_t)le(t + off + 2, 2);
		REQUIRE(slen >= 4 && slen <= length - off);
		if (type == 0) {
			const struct dmar_unit *u = &info->unit[drhd];

			REQUIRE(slen >= 16 && drhd < info->nunits);
			REQUIRE(u->base == le(t + off + 8, 8));
			REQUIRE(u->segment == le(t + off + 6, 2));
			REQUIRE(u->include_all == (t[off + 4] & 1));
			REQUIRE(u->pages == 1u << (t[off + 5] & 0xf));
			drhd++;
		} else if (type == 1) {
			uint64_t base = le(t + off + 8, 8), limit = le(t + off + 16, 8);

			REQUIRE(slen >= 24);
			REQUIRE((base & 0xfff) == 0 && ((limit + 1) & 0xfff) == 0 && base <= limit);
			rmrr++;
		}
		if (type <= 1) {
			uint32_t s = off + (type == 0 ? 16 : 24), end = off + slen;

			while (s < end) {
				REQUIRE(end - s >= 2 && t[s + 1] >= 6 && t[s + 1] <= end - s);
				s += t[s + 1];
			}
		}
		off += slen;
	}
	REQUIRE(drhd == info->nunits && rmrr == info->nrmrr);
}

static void check(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct dmar_info info;
	const char *why = NULL;
	int ret;

	memcpy(copy, data, size);
	memset(&info, 0x5a, sizeof(info));
	ret = dmar_parse(size ? copy : copy + 1, size, &info, &why);
	if (ret == 0) {
		verify_accepted(copy, size, &info);
	} else {
		static const struct dmar_info zero;

		REQUIRE(ret == -1);
		REQUIRE(why != NULL && why[0] != '\0');
		REQUIRE(memcmp(&info, &zero, sizeof(info)) == 0);
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *t;
	uint8_t sum = 0;
	size_t n;

	check(data, size);

	if (size < 48)
		return 0;
	n = size < DMAR_MAX_LEN ? size : DMAR_MAX_LEN;
	t = malloc(n);
	memcpy(t, data, n);
	memcpy(t, "DMAR", 4);
	t[4] = (uint8_t)n;
	t[5] = (uint8_t)(n >> 8);
	t[6] = (uint8_t)(n >> 16);
	t[7] = 0;
	t[9] = 0;
	for (size_t i = 0; i < n; i++)
		sum += t[i];
	t[9] = (uint8_t)-sum;
	check(t, n);
	free(t);
	return 0;
}
