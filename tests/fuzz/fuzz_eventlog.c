// SPDX-License-Identifier: MIT
// libFuzzer target: TCG crypto-agile event logs (firmware and VMM) as the verifier replays them,
// with the VMM log's tagged events (launch, image, policy, lock, violations) sorted as well.
#include "../../attest/common/vmmlog.h"

static unsigned seen;

static void on_event(void *ctx, const struct evlog_event *ev)
{
	/* Touch what the callback receives: an out-of-bounds pointer shows up under ASan. */
	seen += ev->sha256[31] + (ev->data_len ? ev->data[ev->data_len - 1] : 0);
	vmmlog_event(ctx, ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vmmlog v;
	struct evlog_result r;
	char err[256];
	unsigned i;

	vmmlog_init(&v, 17, 18, 19);
	evlog_replay(data, size, &r, on_event, &v, err, sizeof(err));
	/* What the verifier reads back: every class must lie inside the input. */
	for (i = 0; i < v.n_viol; i++)
		seen += v.viol[i].cls[v.viol[i].cls_len - 1] + v.viol[i].digest[31];
	if (v.n_lock && v.lock_len)
		seen += v.lock_text[v.lock_len - 1];
	if (v.n_dma && v.dma_len)
		seen += v.dma_text[v.dma_len - 1];
	if (v.dma == VMMLOG_DMA_PROTECTED &&
	    (v.dma_units < 1 || v.dma_units > VMMLOG_DMA_MAX_UNITS))
		__builtin_trap(); /* the verifier would report a unit count it never accepted */
	return 0;
}
