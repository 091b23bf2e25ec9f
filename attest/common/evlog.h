/* SPDX-License-Identifier: MIT */
/* TCG PC Client crypto-agile event logs (TCG_PCR_EVENT Spec ID header, then TCG_PCR_EVENT2
 * records): a bounds-checked parser and a SHA-256 replay. Hostile input. */
#ifndef EVLOG_H
#define EVLOG_H

#include <stddef.h>
#include <stdint.h>

#define EVLOG_NPCR	  24
#define EVLOG_MAX_EVENTS  65536
#define EVLOG_MAX_ALGS	  16
#define EVLOG_MAX_EVENT	  (64 * 1024) /* event data bytes per record */
#define EV_NO_ACTION	  0x00000003u
#define EV_EVENT_TAG	  0x00000006u
#define TPM_ALG_SHA256_ID 0x000Bu

struct evlog_event {
	uint32_t pcr;
	uint32_t type;
	const uint8_t *sha256; /* 32 bytes, never NULL for events passed to the callback */
	const uint8_t *data;
	uint32_t data_len;
	size_t offset; /* of the record in the log, for messages */
};

typedef void (*evlog_cb)(void *ctx, const struct evlog_event *ev);

struct evlog_result {
	uint8_t pcr[EVLOG_NPCR][32]; /* replayed SHA-256 bank */
	uint32_t extended;	     /* bit i: PCR i was extended by at least one event */
	unsigned events;	     /* TCG_PCR_EVENT2 records, EV_NO_ACTION included */
	int startup_locality;	     /* -1 if no StartupLocality event */
};

/* Replay buf[0..len). Initial values: 0 for PCRs 0-16 and 23, all-FF for 17-22 (no DRTM);
 * PCR0 starts at the locality given by a StartupLocality event. Calls cb (if not NULL) for every
 * event that extends. Returns 0, or -1 with a reason in err. An empty log (len 0) is an error. */
int evlog_replay(const uint8_t *buf, size_t len, struct evlog_result *r, evlog_cb cb, void *ctx,
		 char *err, size_t errlen);

#endif
