/* SPDX-License-Identifier: MIT */
/* The VMM's own TCG event log (docs/evidence.md, "The VMM's event log"): its tagged events
 * sorted into launch, image, dma, policy, lock and violation records and checked against the
 * rules each claim needs. Passed to evlog_replay() as its callback, so it sees exactly the
 * events that extend, in log order. Hostile input: every length is checked, and text is
 * kept as pointers into the log, never assumed NUL-terminated. */
#ifndef TVEV_VMMLOG_H
#define TVEV_VMMLOG_H

#include "evlog.h"

#define VMMLOG_TAG_IMAGE     0x54560001u
#define VMMLOG_TAG_POLICY    0x54560002u
#define VMMLOG_TAG_LAUNCH    0x54560003u
#define VMMLOG_TAG_LOCK	     0x54560004u
#define VMMLOG_TAG_VIOLATION 0x54560005u
#define VMMLOG_TAG_DMA	     0x54560006u
/* Classes are (kind, rule id): a policy has at most 256 rules and a handful of kinds. */
#define VMMLOG_MAX_VIOLATIONS 1024
#define VMMLOG_COUNT_DIGITS   10

struct vmmlog_violation {
	const uint8_t *cls; /* class text ("violation: ..."), in the log buffer */
	uint32_t cls_len;
	const uint8_t *digest; /* = SHA-256 of the class text, checked */
	uint64_t count;	       /* hits as the VMM reported them: not measured */
};

/* What the VMM's dma event says (its text, bound by its digest); DMA_NONE: no dma event. */
enum vmmlog_dma { VMMLOG_DMA_NONE, VMMLOG_DMA_PROTECTED, VMMLOG_DMA_UNPROTECTED };
#define VMMLOG_DMA_MAX_UNITS 8

struct vmmlog {
	unsigned pcr_launch, pcr_policy, pcr_runtime; /* set by vmmlog_init */
	unsigned n_launch, n_image, n_policy, n_lock, n_viol;
	int launch_ok;		       /* the single launch text is bound by its digest */
	uint8_t image[32], policy[32]; /* digests of the last image/policy event */
	const uint8_t *lock_text;      /* the (first) lock event's data, in the log buffer */
	uint32_t lock_len;
	char lock_err[160]; /* first broken lock rule, "" if none */
	char viol_err[160]; /* first broken runtime-PCR rule, "" if none */
	/* The dma event (at most one, on pcr_launch): dma is NONE when there is none or it is
	 * malformed (dma_err says why); dma_text is the first one's data, in the log buffer. */
	unsigned n_dma, dma_units; /* dma_units: 1..VMMLOG_DMA_MAX_UNITS when protected */
	enum vmmlog_dma dma;
	const char *dma_iommu, *dma_reason; /* "vt-d"; "no-iommu", "guest-owns-iommu", ... */
	const uint8_t *dma_text;
	uint32_t dma_len;
	char dma_err[160];
	struct vmmlog_violation viol[VMMLOG_MAX_VIOLATIONS]; /* n_viol well-formed classes */
};

void vmmlog_init(struct vmmlog *v, unsigned pcr_launch, unsigned pcr_policy, unsigned pcr_runtime);
/* An evlog_cb: ctx is the struct vmmlog. */
void vmmlog_event(void *ctx, const struct evlog_event *ev);

#endif
