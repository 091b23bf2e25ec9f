// SPDX-License-Identifier: MIT
// libFuzzer target: the TVEV evidence bundle as thinvmm-verifier parses it (container, the
// tss2-mu decoding of every TPM section, then both event logs' replay, the VMM log's tagged
// events sorted as the verifier sorts them).
#include "../../attest/common/evidence.h"
#include "../../attest/common/vmmlog.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct evidence e;
	static struct vmmlog v;
	struct evlog_result r;
	char err[256];
	TPMI_ALG_HASH bank;
	unsigned idx[24];

	if (evidence_decode(data, size, &e, err, sizeof(err)) != 0)
		return 0;
	selection_pcrs(&e.attest.attested.quote.pcrSelect, &bank, idx);
	selection_pcrs(&e.claimed_sel, &bank, idx);
	vmmlog_init(&v, 17, 18, 19);
	if (e.b.sec[TVEV_VMM_LOG].present)
		evlog_replay(e.b.sec[TVEV_VMM_LOG].data, e.b.sec[TVEV_VMM_LOG].len, &r,
			     vmmlog_event, &v, err, sizeof(err));
	if (e.b.sec[TVEV_FW_LOG].present)
		evlog_replay(e.b.sec[TVEV_FW_LOG].data, e.b.sec[TVEV_FW_LOG].len, &r, NULL, NULL,
			     err, sizeof(err));
	return 0;
}
