/* SPDX-License-Identifier: MIT */
#include "vmmlog.h"

#include <mbedtls/sha256.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const char lock_prefix[] = "lock: ";
static const char viol_prefix[] = "violation: ";
static const char count_prefix[] = "count=";

void vmmlog_init(struct vmmlog *v, unsigned pcr_launch, unsigned pcr_policy, unsigned pcr_runtime)
{
	/* Not the whole struct: viol[] is only read below n_viol. */
	memset(v, 0, offsetof(struct vmmlog, viol));
	v->pcr_launch = pcr_launch;
	v->pcr_policy = pcr_policy;
	v->pcr_runtime = pcr_runtime;
}

/* Keeps the first broken rule only: later ones are often its consequences. */
__attribute__((format(printf, 2, 3))) static void note(char err[160], const char *fmt, ...)
{
	va_list ap;

	if (err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(err, 160, fmt, ap);
	va_end(ap);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A TCG_PCClientTaggedEvent whose size field accounts for exactly the rest of the data. */
static int tagged(const struct evlog_event *ev, uint32_t *tag, const uint8_t **text, uint32_t *len)
{
	if (ev->type != EV_EVENT_TAG || ev->data_len < 8 || le32(ev->data + 4) != ev->data_len - 8)
		return -1;
	*tag = le32(ev->data);
	*text = ev->data + 8;
	*len = ev->data_len - 8;
	return 0;
}

static int starts_with(const uint8_t *t, uint32_t n, const char *prefix)
{
	size_t l = strlen(prefix);

	return n >= l && memcmp(t, prefix, l) == 0;
}

/* Text is bound by the TPM only when the replayed digest is its hash. */
static int bound(const uint8_t *t, uint32_t n, const uint8_t digest[32])
{
	uint8_t h[32];

	return mbedtls_sha256_ret(t, n, h, 0) == 0 && memcmp(h, digest, 32) == 0;
}

/* "count=" and exactly VMMLOG_COUNT_DIGITS decimal digits, nothing after. */
static int parse_count(const uint8_t *t, uint32_t n, uint64_t *count)
{
	size_t l = sizeof(count_prefix) - 1;
	uint32_t i;

	if (n != l + VMMLOG_COUNT_DIGITS || !starts_with(t, n, count_prefix))
		return -1;
	*count = 0;
	for (i = (uint32_t)l; i < n; i++) {
		if (t[i] < '0' || t[i] > '9')
			return -1;
		*count = *count * 10 + (uint64_t)(t[i] - '0');
	}
	return 0;
}

static void on_lock(struct vmmlog *v, const struct evlog_event *ev, const uint8_t *t, uint32_t n)
{
	if (v->n_lock++ == 0) {
		v->lock_text = t;
		v->lock_len = n;
	} else {
		note(v->lock_err, "a second lock event at offset %zu", ev->offset);
	}
	if (!starts_with(t, n, lock_prefix))
		note(v->lock_err, "the lock event's text does not start with \"%s\"", lock_prefix);
	else if (!bound(t, n, ev->sha256))
		note(v->lock_err, "the lock event's digest is not the SHA-256 of its text");
	if (v->n_policy == 0)
		note(v->lock_err, "the lock event comes before the policy event");
}

static int duplicate(const struct vmmlog *v, const uint8_t digest[32])
{
	unsigned i;

	/* Equal digests of checked class texts are equal texts. */
	for (i = 0; i < v->n_viol; i++)
		if (memcmp(v->viol[i].digest, digest, 32) == 0)
			return 1;
	return 0;
}

static void on_violation(struct vmmlog *v, const struct evlog_event *ev, const uint8_t *t,
			 uint32_t n)
{
	const uint8_t *nul = memchr(t, 0, n);
	struct vmmlog_violation c = {.cls = t, .digest = ev->sha256};

	if (v->n_lock == 0)
		note(v->viol_err, "violation event at offset %zu: no lock event before it",
		     ev->offset);
	if (!nul) {
		note(v->viol_err, "violation event at offset %zu: no NUL after the class",
		     ev->offset);
		return;
	}
	c.cls_len = (uint32_t)(nul - t);
	if (!starts_with(t, c.cls_len, viol_prefix))
		note(v->viol_err, "violation event at offset %zu: class does not start with \"%s\"",
		     ev->offset, viol_prefix);
	else if (!bound(t, c.cls_len, ev->sha256))
		note(v->viol_err,
		     "violation event at offset %zu: digest is not the SHA-256 of its class",
		     ev->offset);
	else if (parse_count(nul + 1, n - c.cls_len - 1, &c.count))
		note(v->viol_err,
		     "violation event at offset %zu: not \"%s\" and %u digits after the class",
		     ev->offset, count_prefix, VMMLOG_COUNT_DIGITS);
	else if (duplicate(v, ev->sha256))
		note(v->viol_err, "violation event at offset %zu: its class was reported before",
		     ev->offset);
	else if (v->n_viol == VMMLOG_MAX_VIOLATIONS)
		note(v->viol_err, "more than %u violation classes", VMMLOG_MAX_VIOLATIONS);
	else
		v->viol[v->n_viol++] = c;
}

/* The runtime PCR holds the lock and violations only: anything else there could be a record
 * this verifier cannot read, so it fails rather than being passed over. */
static void on_runtime(struct vmmlog *v, const struct evlog_event *ev)
{
	const uint8_t *t;
	uint32_t tag, n;

	if (tagged(ev, &tag, &t, &n) != 0)
		note(v->viol_err, "event at offset %zu on PCR %u is not a tagged event", ev->offset,
		     ev->pcr);
	else if (tag == VMMLOG_TAG_LOCK)
		on_lock(v, ev, t, n);
	else if (tag == VMMLOG_TAG_VIOLATION)
		on_violation(v, ev, t, n);
	else
		note(v->viol_err, "event at offset %zu on PCR %u has the unknown tag 0x%08x",
		     ev->offset, ev->pcr, tag);
}

/* The dma event's text, exactly one of the forms docs/evidence.md lists; 0 or -1. */
static int parse_dma(struct vmmlog *v, const uint8_t *t, uint32_t n)
{
	static const char prot[] = "dma: protected iommu=vt-d units=";
	static const char unprot[] = "dma: unprotected reason=";
	static const char *const reasons[] = {"no-iommu", "guest-owns-iommu", "unsupported"};
	size_t l = sizeof(prot) - 1;
	unsigned i;

	/* N is one decimal digit 1..VMMLOG_DMA_MAX_UNITS: no sign, no leading zero. */
	if (n == l + 1 && starts_with(t, n, prot) && t[l] >= '1' &&
	    t[l] <= '0' + VMMLOG_DMA_MAX_UNITS) {
		v->dma = VMMLOG_DMA_PROTECTED;
		v->dma_iommu = "vt-d";
		v->dma_units = (unsigned)(t[l] - '0');
		return 0;
	}
	l = sizeof(unprot) - 1;
	if (!starts_with(t, n, unprot))
		return -1;
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (n - l == strlen(reasons[i]) && !memcmp(t + l, reasons[i], n - l)) {
			v->dma = VMMLOG_DMA_UNPROTECTED;
			v->dma_reason = reasons[i];
			return 0;
		}
	}
	return -1;
}

/* At most one dma event, on the launch PCR after the launch and image events (the PCR's hash
 * chain binds that order), its text one of the known forms and bound by its digest. Any
 * broken rule leaves the state unknown and the log malformed. */
static void on_dma(struct vmmlog *v, const struct evlog_event *ev, const uint8_t *t, uint32_t n)
{
	if (v->n_dma++ != 0) {
		note(v->dma_err, "a second dma event at offset %zu", ev->offset);
	} else {
		v->dma_text = t;
		v->dma_len = n;
	}
	if (ev->pcr != v->pcr_launch)
		note(v->dma_err, "dma event at offset %zu on PCR %u, not the launch PCR %u",
		     ev->offset, ev->pcr, v->pcr_launch);
	else if (v->n_launch == 0 || v->n_image == 0)
		note(v->dma_err, "dma event at offset %zu before the launch and image events",
		     ev->offset);
	if (v->n_dma == 1 && parse_dma(v, t, n) != 0)
		note(v->dma_err, "dma event at offset %zu: its text is none of the known forms",
		     ev->offset);
	else if (!bound(t, n, ev->sha256))
		note(v->dma_err, "dma event at offset %zu: digest is not the SHA-256 of its text",
		     ev->offset);
	if (v->dma_err[0])
		v->dma = VMMLOG_DMA_NONE;
}

static void on_launch(struct vmmlog *v, const struct evlog_event *ev, const uint8_t *t, uint32_t n)
{
	static const char want[] = "launch: emulated-drtm";

	v->n_launch++;
	v->launch_ok = n == sizeof(want) - 1 && !memcmp(t, want, n) && bound(t, n, ev->sha256);
}

void vmmlog_event(void *ctx, const struct evlog_event *ev)
{
	struct vmmlog *v = ctx;
	const uint8_t *t;
	uint32_t tag, n;

	/* The dma event is placed by on_dma's rules, on whatever PCR it came. */
	if (tagged(ev, &tag, &t, &n) == 0 && tag == VMMLOG_TAG_DMA) {
		on_dma(v, ev, t, n);
		return;
	}
	if (ev->pcr == v->pcr_runtime) {
		on_runtime(v, ev);
		return;
	}
	/* Other events are bound by the replay and restricted to the VMM's PCRs there. */
	if (tagged(ev, &tag, &t, &n) != 0)
		return;
	if (tag == VMMLOG_TAG_LOCK) {
		note(v->lock_err, "lock event on PCR %u, not the runtime PCR %u", ev->pcr,
		     v->pcr_runtime);
	} else if (tag == VMMLOG_TAG_VIOLATION) {
		note(v->viol_err, "violation event on PCR %u, not the runtime PCR %u", ev->pcr,
		     v->pcr_runtime);
	} else if (tag == VMMLOG_TAG_LAUNCH && ev->pcr == v->pcr_launch) {
		on_launch(v, ev, t, n);
	} else if (tag == VMMLOG_TAG_IMAGE && ev->pcr == v->pcr_launch) {
		memcpy(v->image, ev->sha256, 32);
		v->n_image++;
	} else if (tag == VMMLOG_TAG_POLICY && ev->pcr == v->pcr_policy) {
		memcpy(v->policy, ev->sha256, 32);
		v->n_policy++;
		if (v->n_lock)
			note(v->lock_err, "a policy event after the lock event (offset %zu)",
			     ev->offset);
	}
}
