#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Host-side steps of the e2e scenario "tpm" (row svm-tpm), called by tests/e2e/run.sh (the hook
# contract is in its header). pre: nothing (qemu.sh attaches a fresh swtpm to scenarios named
# tpm). post: the VMM's event logs the guest printed, checked by someone other than the guest:
# tests/e2e/tpm-replay.py parses each, replays PCR17-19 from all-FF against the guest's sysfs
# values, checks the image digest against build/thinvmm/thinvmm.bin, the lock and violation
# events' digests against their texts, and runs tpm2_eventlog (tpm2-tools) on each.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[ $# -ge 2 ] || { echo "usage: $0 pre OUTDIR ARGSFILE | post OUTDIR QEMU_STATUS" >&2; exit 2; }
case "$1" in
    pre) exit 0 ;;
    post)
        python3 "$REPO_ROOT/tests/e2e/tpm-replay.py" "$2/console.log" \
            "$REPO_ROOT/build/thinvmm/thinvmm.bin" -o "$2" | grep -E '^(PASS|FAIL|[0-9]+ passed)'
        ;;
    *) echo "unknown phase $1" >&2; exit 2 ;;
esac
