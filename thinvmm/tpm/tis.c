/* SPDX-License-Identifier: MIT */
/*
 * TPM TIS FIFO interface (TCG PC Client Platform TPM Profile, "FIFO
 * interface"): request the locality, commandReady, write the command in
 * burstCount-sized pieces, tpmGo, wait for dataAvail, read the response,
 * commandReady again (idle), relinquish. The registers are reached
 * through the VMM's identity map of physical memory, which tpm.c maps
 * uncached for these pages; the caller runs on the VMM's page tables.
 */
#include "tpm/tis.h"

#define ACCESS_VALID	0x80 /* tpmRegValidSts */
#define ACCESS_ACTIVE	0x20 /* activeLocality (write 1: relinquish) */
#define ACCESS_REQUEST	0x02 /* requestUse */
#define STS_VALID	0x80
#define STS_READY	0x40 /* commandReady */
#define STS_GO		0x20 /* tpmGo */
#define STS_DATA	0x10 /* dataAvail */
#define STS_EXPECT	0x08
#define STS_BURST_SHIFT 8
#define INTF_TYPE_MASK	0xf
#define INTF_TYPE_FIFO	0x0
#define INTF_TYPE_CRB	0x1
#define INTF_TYPE_TIS12 0xf

/* Bounds in TSC cycles: generous for a TPM (seconds at GHz rates), never endless. */
#define T_SHORT (1ull << 31)
#define T_LONG	(1ull << 34)

static volatile uint8_t *reg8(unsigned loc, unsigned off)
{
	return (volatile uint8_t *)(uintptr_t)(TIS_BASE + loc * TIS_LOCALITY_SZ + off);
}

static volatile uint32_t *reg32(unsigned loc, unsigned off)
{
	return (volatile uint32_t *)(uintptr_t)(TIS_BASE + loc * TIS_LOCALITY_SZ + off);
}

static inline void relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/* Waits until (STS & mask) == want; 0, or -1 on timeout. */
static int wait_sts(unsigned loc, uint32_t mask, uint32_t want, uint64_t limit)
{
	uint64_t t0 = tis_rdtsc();
	for (;;) {
		uint32_t s = *reg32(loc, TIS_STS);
		if (s != 0xffffffffu && (s & mask) == want)
			return 0;
		if (tis_rdtsc() - t0 > limit)
			return -1;
		relax();
	}
}

static unsigned burst(unsigned loc, uint64_t limit)
{
	uint64_t t0 = tis_rdtsc();
	for (;;) {
		uint32_t s = *reg32(loc, TIS_STS);
		unsigned b = (s >> STS_BURST_SHIFT) & 0xffff;
		if (s != 0xffffffffu && b)
			return b;
		if (tis_rdtsc() - t0 > limit)
			return 0;
		relax();
	}
}

/*
 * The PTP's INTERFACE_ID (offset 0x30 in both register layouts) comes
 * first: a CRB interface also has bit 7 set at offset 0 (tpmRegValidSts),
 * and its offset 0xf00 is inside the command buffer, not DID_VID.
 * InterfaceType 0 is the PTP FIFO, 0xf a TIS 1.2 FIFO (the register reads
 * all ones there).
 */
enum tis_found tis_probe(uint32_t *did_vid)
{
	uint32_t intf = *reg32(0, TIS_INTERFACE_ID);
	uint32_t type = intf == 0xffffffffu ? INTF_TYPE_TIS12 : intf & INTF_TYPE_MASK;
	if (did_vid)
		*did_vid = 0;
	if (type == INTF_TYPE_CRB)
		return TIS_CRB;
	if (type != INTF_TYPE_FIFO && type != INTF_TYPE_TIS12)
		return TIS_OTHER;
	uint8_t a = *reg8(0, TIS_ACCESS);
	uint32_t id = *reg32(0, TIS_DID_VID);
	if (did_vid)
		*did_vid = id;
	if (a == 0xff || !(a & ACCESS_VALID) || id == 0xffffffffu || id == 0)
		return TIS_NONE;
	return TIS_FIFO;
}

static int request_locality(unsigned loc)
{
	volatile uint8_t *acc = reg8(loc, TIS_ACCESS);
	if ((*acc & (ACCESS_VALID | ACCESS_ACTIVE)) == (ACCESS_VALID | ACCESS_ACTIVE))
		return 0;
	*acc = ACCESS_REQUEST;
	uint64_t t0 = tis_rdtsc();
	for (;;) {
		uint8_t a = *acc;
		if ((a & (ACCESS_VALID | ACCESS_ACTIVE)) == (ACCESS_VALID | ACCESS_ACTIVE))
			return 0;
		if (tis_rdtsc() - t0 > T_LONG) {
			*acc = ACCESS_ACTIVE; /* withdraw the request */
			return -1;
		}
		relax();
	}
}

static void release(unsigned loc)
{
	/* Abort anything half done and leave the TPM idle, then give the locality back. */
	*reg32(loc, TIS_STS) = STS_READY;
	*reg8(loc, TIS_ACCESS) = ACCESS_ACTIVE;
}

static long transmit_once(unsigned loc, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
			  size_t rsp_max, const char **why)
{
	volatile uint32_t *sts = reg32(loc, TIS_STS);
	volatile uint8_t *fifo = reg8(loc, TIS_DATA_FIFO);

	*sts = STS_READY;
	if (wait_sts(loc, STS_READY, STS_READY, T_SHORT)) {
		*why = "TPM did not become commandReady";
		return -1;
	}
	for (size_t i = 0; i < cmd_len;) {
		unsigned b = burst(loc, T_SHORT);
		if (!b) {
			*why = "burstCount stayed 0 while writing the command";
			return -1;
		}
		for (; b && i < cmd_len; b--)
			*fifo = cmd[i++];
	}
	if (wait_sts(loc, STS_VALID | STS_EXPECT, STS_VALID, T_SHORT)) {
		*why = "TPM still expects data after the whole command";
		return -1;
	}
	*sts = STS_GO;
	if (wait_sts(loc, STS_VALID | STS_DATA, STS_VALID | STS_DATA, T_LONG)) {
		*why = "no response (dataAvail) in time";
		return -1;
	}
	size_t n = 0, want = 10;
	while (n < want) {
		unsigned b = burst(loc, T_SHORT);
		if (!b) {
			*why = "burstCount stayed 0 while reading the response";
			return -1;
		}
		for (; b && n < want; b--) {
			uint8_t c = *fifo;
			if (n < rsp_max)
				rsp[n] = c;
			n++;
			if (n == 6) { /* the size field of the header is complete */
				want = (size_t)rsp[2] << 24 | (size_t)rsp[3] << 16 |
				       (size_t)rsp[4] << 8 | rsp[5];
				if (want < 10 || want > rsp_max) {
					*why = "bad response size";
					return -1;
				}
			}
		}
	}
	if (wait_sts(loc, STS_VALID | STS_DATA, STS_VALID, T_SHORT)) {
		*why = "TPM has more response bytes than its header said";
		return -1;
	}
	return (long)n;
}

long tis_transmit(unsigned loc, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp, size_t rsp_max,
		  const char **why)
{
	*why = "";
	if (loc >= TIS_NLOCALITIES || rsp_max < 10)
		return -1;
	if (request_locality(loc)) {
		*why = "locality not granted in time";
		return -1;
	}
	long n = transmit_once(loc, cmd, cmd_len, rsp, rsp_max, why);
	release(loc);
	return n;
}
