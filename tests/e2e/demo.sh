#!/usr/bin/env bash
# make run: boot the guest once with the "demo" scenario (tests/guest/scenario-demo.sh) and show
# its console live: thinvmm loaded under the running kernel, the signature, status, log, unload.
# Afterwards the hypervisor's own log (COM2) is printed too.
#
# Usage: tests/e2e/demo.sh [-s N] [-c CPU] [-t SECONDS]   (defaults: 2, max, 300)
# Logs: build/e2e/demo/{console,vmm,qemu}.log
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ME=$(basename "$0")
die() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 2; }

SMP=2 CPU=max TIMEOUT=300
while getopts ':s:c:t:h' opt; do
    case "$opt" in
        s) SMP=$OPTARG ;;
        c) CPU=$OPTARG ;;
        t) TIMEOUT=$OPTARG ;;
        h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        :) die "option -$OPTARG needs an argument" ;;
        *) die "unknown option -$OPTARG (see -h)" ;;
    esac
done

GUEST_DIR=${TVMM_GUEST_DIR:-$REPO_ROOT/build/guest}
[ -f "$GUEST_DIR/thinvmm.ko" ] || die "$GUEST_DIR/thinvmm.ko is missing: build the project first (make)"
[ -f "$REPO_ROOT/build/kernel/vmlinuz" ] || die "build/kernel/vmlinuz is missing: run tests/env/kernel.sh"

OUT=$REPO_ROOT/build/e2e/demo
mkdir -p "$OUT"
"$REPO_ROOT/tests/env/initramfs.sh" "$OUT/initramfs.cpio.gz"
rc=0
"$REPO_ROOT/tests/e2e/qemu.sh" -i "$OUT/initramfs.cpio.gz" -n demo -o "$OUT" -s "$SMP" -c "$CPU" \
    -t "$TIMEOUT" || rc=$?
echo
echo "=== the hypervisor's own log (COM2, $OUT/vmm.log)"
if [ -s "$OUT/vmm.log" ]; then tr -d '\r' <"$OUT/vmm.log" | tail -n 40; else echo "(empty)"; fi
exit "$rc"
