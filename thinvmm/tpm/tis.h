/* SPDX-License-Identifier: MIT */
/*
 * A minimal TPM 2.0 TIS (FIFO) driver for the VMM's own commands: one
 * locality, one command at a time, bounded waits. Every call leaves the
 * TPM idle (commandReady) and the locality released, so the guest's own
 * driver finds the TPM as it left it.
 */
#ifndef TVMM_TPM_TIS_H
#define TVMM_TPM_TIS_H

#include <stddef.h>
#include <stdint.h>

#define TIS_BASE	 0xfed40000ull
#define TIS_LOCALITY_SZ	 0x1000ull
#define TIS_NLOCALITIES	 5
#define TIS_ACCESS	 0x00
#define TIS_STS		 0x18
#define TIS_DATA_FIFO	 0x24
#define TIS_INTERFACE_ID 0x30
#define TIS_DID_VID	 0xf00

/* The time base of every bound here and of the cost the VMM logs. */
static inline uint64_t tis_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* What answers at TIS_BASE (tis_probe). */
enum tis_found {
	TIS_NONE = 0, /* nothing: all ones, or registers not valid (a zeroed state says this) */
	TIS_FIFO,     /* a FIFO (TIS) interface: this driver's */
	TIS_CRB,      /* a CRB interface (PTP InterfaceType 1): not driven here */
	TIS_OTHER,    /* an InterfaceType this driver does not know */
};
/* Reads locality 0's registers only (never writes): what kind of TPM interface is there. */
enum tis_found tis_probe(uint32_t *did_vid);
/*
 * Sends cmd (cmd_len bytes, a whole TPM2 command) at locality loc and reads
 * the response into rsp (at most rsp_max bytes). Returns the response length
 * or -1 (timeout, bad response, locality not granted); why[] says which.
 */
long tis_transmit(unsigned loc, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp, size_t rsp_max,
		  const char **why);

#endif
