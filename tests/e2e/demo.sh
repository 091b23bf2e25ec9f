#!/usr/bin/env bash
# make run: the whole story in one boot, with a software TPM (swtpm). On the host: the TPM is
# manufactured and its attestation key enrolled with the verifier (EK certificate chain,
# credential activation), two nonces issued. In the guest (tests/guest/scenario-demo.sh, console
# shown live): thinvmm loads under the running kernel and measures itself (PCR17, emulated DRTM),
# an attack succeeds, the policy is locked (PCR18), the agent quotes; the attacks are blocked,
# the agent quotes again, rmmod is refused. Each quote leaves the guest on a file channel and is
# appraised on the host as soon as it arrives: the verifier's verdict and its key claims are
# printed between the guest's steps (trusted after the lock; the violations after the attacks).
# Afterwards the hypervisor's own log (COM2) is printed too.
#
# Usage: tests/e2e/demo.sh [-s N] [-c CPU] [-t SECONDS]   (defaults: 2, max, 300)
# Logs: build/e2e/demo/{console,vmm,qemu,channel}.log, build/e2e/demo/host/ (verifier state,
# bundles, JSON verdicts)
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
# shellcheck source=attest-lib.sh
. "$REPO_ROOT/tests/e2e/attest-lib.sh"

OUT=$REPO_ROOT/build/e2e/demo
H=$OUT/host
rm -rf "$H" "$OUT/channel.log"
mkdir -p "$OUT"
"$REPO_ROOT/tests/env/initramfs.sh" "$OUT/initramfs.cpio.gz"

QPID=""
cleanup() {
    if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
        kill -TERM "$QPID" 2>/dev/null || true # qemu.sh stops its QEMU and swtpm itself
        wait "$QPID" 2>/dev/null || true
    fi
    swtpm_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "=== on the host: a software TPM for the guest, its attestation key enrolled with the verifier"
att_init "$H" || die "$ATT_WHY"
att_enrol "$H/tpm" || die "$ATT_WHY"
sed -n 's/^thinvmm-verifier: /    verifier: /p; s/^ak /    agent: ak /p' "$H/enrol.log"
att_refconf "$H/ref.conf"
sed 's/^/    reference: /' "$H/ref.conf"
N0=$(att_nonce) N1=$(att_nonce)
echo "    nonces for the guest: $N0 $N1"
echo

declare -A SEEN=()
# appraise_new: appraise each bundle that arrived complete and was not appraised yet.
appraise_new() {
    local name nonce what
    for name in $(att_extract "$OUT/channel.log" "$H/bundles"); do
        [ -z "${SEEN[$name]:-}" ] || continue
        SEEN[$name]=1
        case "$name" in
            locked) nonce=$N0 what="after the lock" ;;
            attacked) nonce=$N1 what="after the attacks" ;;
            *) continue ;;
        esac
        echo
        echo ">>> on the host: thinvmm-verifier appraise ${ATT_OPTS:-}, bundle '$name' ($what)"
        att_appraise "$name" "$H/bundles/$name.tvev" "$nonce" "$H/ref.conf" || true
        att_show "$name"
        echo
    done
}

rc=0
mapfile -t CHANNEL < <(att_qemu_args "$OUT/channel.log")
# An Intel IOMMU the guest leaves to thinvmm (-V) and a DMA-capable device (-E): the verifier
# then requires DMA protection too.
export ATT_OPTS=--require-dma
"$REPO_ROOT/tests/e2e/qemu.sh" -i "$OUT/initramfs.cpio.gz" -n demo -o "$OUT" -s "$SMP" -c "$CPU" \
    -t "$TIMEOUT" -S "$H/tpm" -V -E -a "tvmm.nonces=$N0,$N1" -- "${CHANNEL[@]}" &
QPID=$!
while kill -0 "$QPID" 2>/dev/null; do
    appraise_new
    sleep 0.5
done
wait "$QPID" || rc=$?
QPID=""
appraise_new
echo
echo "=== the hypervisor's own log (COM2, $OUT/vmm.log)"
if [ -s "$OUT/vmm.log" ]; then tr -d '\r' <"$OUT/vmm.log" | tail -n 40; else echo "(empty)"; fi
exit "$rc"
