#!/usr/bin/env bash
# What the VMM's own TPM use costs (issue 5): TPM commands and time at launch and at lock,
# the SHA-256 of the locked ranges' contents, one extend per violation class, and bytes of
# event log per event kind. Boots the e2e scenario "tpm" (QEMU TCG, SVM, swtpm; see
# tests/guest/scenario-tpm.sh) RUNS times and reads the VMM's own cost lines and the event
# logs the guest printed. Measurements only: nothing here passes or fails on a time.
#
# Usage: bench/run-tpm.sh [-r RUNS] [-o RESULTS_DIR]
#   -r RUNS   boots (default 3)
#   -o DIR    where tpm-svm-qemu.md and tpm-svm-qemu.json go (default bench/results)
#
# Times are TSC cycles the VMM read around its TPM work. Under QEMU TCG the guest TSC follows
# host time at the frequency the guest kernel reports ("tsc: Detected ... MHz"), so they are
# converted to milliseconds of host time; swtpm runs on the same 2-core host, so they include
# its scheduling. Needs a build (make all). Work files: build/bench-tpm/.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ME=bench/run-tpm.sh
die() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 1; }

RUNS=3 RESULTS=$REPO_ROOT/bench/results
while getopts ':r:o:h' opt; do
    case "$opt" in
        r) RUNS=$OPTARG ;;
        o) RESULTS=$OPTARG ;;
        h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        :) die "option -$OPTARG needs an argument (see -h)" ;;
        *) die "unknown option -$OPTARG (see -h)" ;;
    esac
done
[[ "$RUNS" =~ ^[1-9][0-9]?$ ]] || die "-r wants a number from 1 to 99, not '$RUNS'"
WORK=$REPO_ROOT/build/bench-tpm
rm -rf "$WORK"
mkdir -p "$WORK" "$RESULTS"
for i in $(seq "$RUNS"); do
    TVMM_E2E_DIR=$WORK/run$i "$REPO_ROOT/tests/e2e/run.sh" svm-tpm >"$WORK/run$i.out" 2>&1 ||
        die "boot $i failed (see $WORK/run$i.out)"
    python3 "$REPO_ROOT/tests/e2e/tpm-replay.py" "$WORK/run$i/svm-tpm/console.log" \
        "$REPO_ROOT/build/thinvmm/thinvmm.bin" -o "$WORK/run$i" >"$WORK/run$i.replay" 2>&1 ||
        die "boot $i: the event logs do not check out (see $WORK/run$i.replay)"
done
gcc -std=gnu11 -Wall -Wextra -Werror -O2 "$REPO_ROOT/bench/sha_rate.c" -o "$WORK/sha_rate" -lmbedcrypto
"$WORK/sha_rate" 23 >"$WORK/sha-native.txt"
python3 "$REPO_ROOT/bench/report_tpm.py" "$WORK" "$RUNS" "$RESULTS"
