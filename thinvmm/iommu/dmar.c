/* SPDX-License-Identifier: MIT */
/*
 * DMAR table parser. Every read goes through rd8/rd16/rd32/rd64 with an offset
 * already checked against the table's length; the structure walk advances
 * by at least 4 bytes a step, so it ends within length / 4 steps.
 */
#include "iommu/dmar.h"
#include "lib/string.h"

#define DMAR_HDR    48u /* the ACPI header, width, flags, 10 reserved bytes */
#define OFF_LENGTH  4u
#define OFF_HAW	    36u
#define OFF_FLAGS   37u
#define PAGE_SHIFT  12u
#define PAGE_MASK   0xfffull
#define MAX_SIZE_LG 7u /* 2^7 pages is the most struct dmar_unit.pages holds */

enum { ST_DRHD = 0, ST_RMRR = 1 };

#define DRHD_MIN       16u
#define DRHD_F_PCI_ALL 0x01u
#define RMRR_MIN       24u
#define SCOPE_MIN      6u /* type, length, 2 reserved, enumeration id, start bus */

/*
 * Little-endian fields at any alignment; the caller has checked that
 * [off, off + n) lies inside the table.
 */
static uint64_t rd(const uint8_t *p, uint32_t off, unsigned n)
{
	uint8_t b[8];
	uint64_t v = 0;

	memcpy(b, p + off, n);
	while (n-- > 0)
		v = v << 8 | b[n];
	return v;
}

static uint8_t rd8(const uint8_t *p, uint32_t off)
{
	return p[off];
}

static uint16_t rd16(const uint8_t *p, uint32_t off)
{
	return (uint16_t)rd(p, off, 2);
}

static uint32_t rd32(const uint8_t *p, uint32_t off)
{
	return (uint32_t)rd(p, off, 4);
}

static uint64_t rd64(const uint8_t *p, uint32_t off)
{
	return rd(p, off, 8);
}

/*
 * The device scopes in [off, end) of one structure. They are not kept (a
 * unit's devices come from the PCI walk), but a scope running past its
 * structure means the table is not what its author meant either.
 */
static const char *check_scopes(const uint8_t *p, uint32_t off, uint32_t end)
{
	while (off < end) {
		uint32_t slen;

		if (end - off < 2)
			return "truncated device scope";
		slen = rd8(p, off + 1);
		if (slen < SCOPE_MIN)
			return "device scope too short";
		if (slen > end - off)
			return "device scope overflows its structure";
		off += slen;
	}
	return NULL;
}

static const char *parse_drhd(const uint8_t *p, uint32_t off, uint32_t slen, struct dmar_info *out)
{
	struct dmar_unit *u;
	uint64_t base, bytes;
	unsigned size;
	const char *why;

	if (slen < DRHD_MIN)
		return "DRHD too short";
	if (out->nunits >= DMAR_MAX_UNITS)
		return "too many DRHD units";
	base = rd64(p, off + 8);
	size = rd8(p, off + 5) & 0xfu;
	if (base == 0)
		return "DRHD register base is zero";
	if (base & PAGE_MASK)
		return "DRHD register base not 4 KiB aligned";
	if (size > MAX_SIZE_LG)
		return "DRHD register set too large";
	bytes = 1ull << (size + PAGE_SHIFT);
	/*
	 * Stricter than "the last byte fits": a set ending exactly at 2^64
	 * would make base + bytes 0, an end a driver's range checks get wrong.
	 */
	if (base > UINT64_MAX - bytes)
		return "DRHD register set wraps the address space";
	why = check_scopes(p, off + DRHD_MIN, off + slen);
	if (why != NULL)
		return why;
	u = &out->unit[out->nunits++];
	u->base = base;
	u->segment = rd16(p, off + 6);
	u->include_all = (rd8(p, off + 4) & DRHD_F_PCI_ALL) != 0;
	u->pages = (uint8_t)(1u << size);
	return NULL;
}

static const char *parse_rmrr(const uint8_t *p, uint32_t off, uint32_t slen, struct dmar_info *out)
{
	uint64_t base, limit;
	const char *why;

	if (slen < RMRR_MIN)
		return "RMRR too short";
	base = rd64(p, off + 8);
	limit = rd64(p, off + 16);
	if (base & PAGE_MASK)
		return "RMRR base not 4 KiB aligned";
	/* A limit of 2^64 - 1 ends on a page boundary too (limit + 1 wraps to 0). */
	if ((limit + 1) & PAGE_MASK)
		return "RMRR limit + 1 not 4 KiB aligned";
	if (base > limit)
		return "RMRR base above its limit";
	why = check_scopes(p, off + RMRR_MIN, off + slen);
	if (why != NULL)
		return why;
	out->nrmrr++;
	return NULL;
}

static const char *parse(const uint8_t *p, uint64_t len, struct dmar_info *out)
{
	uint32_t length, off;
	unsigned haw;
	uint8_t sum = 0;

	if (len < DMAR_HDR)
		return "shorter than the DMAR header";
	if (memcmp(p, "DMAR", 4) != 0)
		return "bad signature";
	length = rd32(p, OFF_LENGTH);
	if (length < DMAR_HDR)
		return "length field below the DMAR header";
	if (length > len)
		return "length field beyond the buffer";
	if (length > DMAR_MAX_LEN)
		return "table too large";
	for (uint32_t i = 0; i < length; i++)
		sum = (uint8_t)(sum + p[i]);
	if (sum != 0)
		return "bad checksum";

	/* As unsigned: 255 + 1 must not wrap to an acceptable-looking 0. */
	haw = rd8(p, OFF_HAW) + 1u;
	if (haw < 32 || haw > 64)
		return "host address width out of range";
	out->haw = (uint8_t)haw;
	out->flags = rd8(p, OFF_FLAGS);

	for (off = DMAR_HDR; off < length;) {
		uint32_t type, slen;
		const char *why = NULL;

		if (length - off < 4)
			return "truncated structure header";
		type = rd16(p, off);
		slen = rd16(p, off + 2);
		if (slen < 4)
			return "structure length below 4";
		if (slen > length - off)
			return "structure overflows the table";
		if (type == ST_DRHD)
			why = parse_drhd(p, off, slen, out);
		else if (type == ST_RMRR)
			why = parse_rmrr(p, off, slen, out);
		/* ATSR, RHSA, ANDD, SATC, SIDP and later types: nothing to keep. */
		if (why != NULL)
			return why;
		off += slen;
	}
	if (out->nunits == 0)
		return "no DRHD unit";
	return NULL;
}

int dmar_parse(const void *table, uint64_t len, struct dmar_info *out, const char **why)
{
	const char *reason;

	if (out == NULL) {
		if (why != NULL)
			*why = "no output";
		return -1;
	}
	memset(out, 0, sizeof(*out));
	reason = table == NULL ? "no table" : parse(table, len, out);
	if (reason == NULL)
		return 0;
	/* A half-filled result must not look usable to a caller that skips the check. */
	memset(out, 0, sizeof(*out));
	if (why != NULL)
		*why = reason;
	return -1;
}
