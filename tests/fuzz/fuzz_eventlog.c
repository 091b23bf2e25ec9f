// SPDX-License-Identifier: MIT
// libFuzzer target: TCG crypto-agile event logs (firmware and VMM) as the verifier replays them.
#include "../../attest/common/evlog.h"

static unsigned seen;

static void on_event(void *ctx, const struct evlog_event *ev)
{
	(void)ctx;
	/* Touch what the callback receives: an out-of-bounds pointer shows up under ASan. */
	seen += ev->sha256[31] + (ev->data_len ? ev->data[ev->data_len - 1] : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evlog_result r;
	char err[256];

	evlog_replay(data, size, &r, on_event, 0, err, sizeof(err));
	return 0;
}
