#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Host-side steps of the e2e scenario "attest" (row svm-attest), called by tests/e2e/run.sh
# around the boot (the hook contract is in run.sh's header):
#
#   host-attest.sh pre OUTDIR ARGSFILE   before the boot: manufacture the swtpm state, enrol its
#                                    AK on the host (tests/e2e/attest-lib.sh), issue nonces;
#                                    writes to ARGSFILE the extra tests/e2e/qemu.sh arguments
#                                    (-S the state, -a the nonces, the file channel)
#   host-attest.sh post OUTDIR QRC   after it: take the bundles from the channel, appraise them
#                                    with thinvmm-verifier, the dma claim the row's machine calls
#                                    for (with and without --require-dma), the negatives,
#                                    tpm2_checkquote, and a
#                                    second short boot on the same TPM (a quote from before a
#                                    reboot must fail `clock`). Prints PASS/FAIL lines, then
#                                    "N passed, M failed".
# post's environment (set by run.sh): TVMM_E2E_INITRD, TVMM_E2E_KERNEL, TVMM_E2E_SMP,
# TVMM_E2E_CPU, TVMM_E2E_TIMEOUT, TVMM_E2E_PLATFORM_ARGS, for the second boot. swtpm and QEMU are only ever stopped by
# the PIDs started here (qemu.sh stops its own).
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ME=$(basename "$0")
die() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 2; }
# shellcheck source=attest-lib.sh
. "$REPO_ROOT/tests/e2e/attest-lib.sh"
trap swtpm_stop EXIT

[ $# -ge 2 ] || die "usage: $ME pre OUTDIR ARGSFILE | post OUTDIR QEMU_STATUS"
PHASE=$1 OUT=$2
H=$OUT/host
STATE=$H/tpm

if [ "$PHASE" = pre ]; then
    rm -rf "$H"
    att_init "$H" || die "$ATT_WHY"
    att_enrol "$STATE" || die "$ATT_WHY"
    sed 's/^/enrol: /' "$H/enrol.log"
    # q0 q1 q2, and q3 for the reboot test; the snapshot is a verifier that has issued them but
    # seen nothing yet, for the negatives (each in a copy: only the claim under test fails).
    for i in 0 1 2 3; do att_nonce >"$H/n$i" || die "thinvmm-verifier nonce failed"; done
    cp -a "$H/verifier" "$H/verifier.pre"
    {
        printf '%s\n' -S "$STATE" -a "tvmm.nonces=$(cat "$H"/n0 "$H"/n1 "$H"/n2 "$H"/n3 | paste -sd,)" --
        att_qemu_args "$OUT/channel.log"
    } >"${3:?no ARGSFILE}"
    echo "pre: enrolled, 4 nonces issued; qemu.sh $(tr '\n' ' ' <"$3")"
    exit 0
fi
[ "$PHASE" = post ] || die "unknown phase '$PHASE' (pre or post)"
att_init "$H" || die "$ATT_WHY"

PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS host:$1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL host:$1 $2"; }

# expect NAME BUNDLE NONCE WANT_RC [CLAIM [TEXT]]: appraise with $CONF in verifier state $VSTATE
# (default the main one). The exit status must be WANT_RC; with CLAIM, that claim must have
# failed, with TEXT in its reason.
expect() {
    local name=$1 bundle=$2 nonce=$3 want=$4 claim=${5:-} text=${6:-} rc=0 got
    if [ ! -f "$bundle" ]; then fail "$name" "no bundle $bundle"; return; fi
    att_appraise "$name" "$bundle" "$nonce" "$CONF" "${VSTATE:-}" || rc=$?
    if [ "$rc" != "$want" ]; then
        fail "$name" "verifier exit $rc, want $want: $(tr '\n' ' ' <"$H/$name.summary")"
        return
    fi
    if [ -n "$claim" ]; then
        got=$(att_claim "$H/$name.json" "$claim")
        case "$got" in
            "fail "*"$text"*) ;;
            *) fail "$name" "claim $claim: '$got', want fail${text:+ naming $text}"; return ;;
        esac
    fi
    pass "$name${claim:+ ($claim fails)}"
}

BUNDLES=$H/bundles
mkdir -p "$BUNDLES"
GOT=$(att_extract "$OUT/channel.log" "$BUNDLES" | tr '\n' ' ')
for b in q0 q1 q2 q3; do
    case " $GOT" in *" $b "*) pass "bundle-$b received ($(stat -c %s "$BUNDLES/$b.tvev") bytes, SHA-256 ok)" ;;
        *) fail "bundle-$b" "not received intact on the channel ($OUT/channel.log)" ;; esac
done
N0=$(cat "$H/n0") N1=$(cat "$H/n1") N2=$(cat "$H/n2") N3=$(cat "$H/n3")
CONF=$H/ref.conf
att_refconf "$CONF"

# ---- the good path ----
# q0: launched, not locked. Per the contract the `lock` claim fails; a verifier without that
# claim yet says it through `policy` (no policy event before the lock).
rm -rf "$H/verifier.probe"
cp -a "$H/verifier.pre" "$H/verifier.probe"
att_appraise probe "$BUNDLES/q1.tvev" "$N1" "$CONF" "$H/verifier.probe" >/dev/null 2>&1 || true
if [ "$(att_claim "$H/probe.json" lock)" = absent ]; then
    expect "q0-before-lock-untrusted" "$BUNDLES/q0.tvev" "$N0" 1 policy
    echo "note: this verifier has no 'lock' claim yet: q0 judged by 'policy'"
else
    expect "q0-before-lock-untrusted" "$BUNDLES/q0.tvev" "$N0" 1 lock
fi
expect "q1-locked-trusted" "$BUNDLES/q1.tvev" "$N1" 0
expect "q2-after-attack-untrusted" "$BUNDLES/q2.tvev" "$N2" 1 violations cr0-wp
for q in q0-before-lock-untrusted q1-locked-trusted q2-after-attack-untrusted; do
    echo "note: ${q%%-*}: $(tr '\n' ' ' <"$H/$q.summary" 2>/dev/null | cut -c1-400)"
done

# ---- negatives on the real evidence (q1), each in a verifier that has seen nothing yet ----
neg() {  # neg NAME CLAIM CONF_FILE [BUNDLE]
    rm -rf "$H/verifier.$1"
    cp -a "$H/verifier.pre" "$H/verifier.$1"
    CONF=$3 VSTATE=$H/verifier.$1 expect "$1" "${4:-$BUNDLES/q1.tvev}" "$N1" 1 "$2"
}
att_refconf "$H/other-image.conf" "$(head -c 64 /dev/zero | tr '\0' 'a')"
neg "other-vmm-image" vmm-image "$H/other-image.conf"
att_refconf "$H/other-policy.conf" "" "$(sha256sum <"$REPO_ROOT/build/guest/attack-monitor.bin" | cut -c1-64)"
neg "other-policy" policy "$H/other-policy.conf"
if [ -f "$BUNDLES/q1.tvev" ]; then
    # Section 8 is the VMM log; offset 80 is inside the first event's SHA-256 digest.
    python3 "$REPO_ROOT/tests/attest/tvev_edit.py" "$BUNDLES/q1.tvev" "$BUNDLES/q1-flip.tvev" flip 8 80
fi
neg "vmm-log-byte-flipped" vmm-log "$CONF" "$BUNDLES/q1-flip.tvev"
# Section 7 is the firmware's log (SeaBIOS or OVMF measured the boot into PCR0-7): one byte of the
# SHA-256 digest of its first TCG_PCR_EVENT2.
fw_digest_offset() {
    python3 - "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
o = 12
while o + 8 <= len(b):
    t, _, n = struct.unpack_from(">HHI", b, o)
    if t == 7:
        log = b[o + 8:o + 8 + n]
        e = 32 + struct.unpack_from("<I", log, 28)[0]
        count, at = struct.unpack_from("<I", log, e + 8)[0], e + 12
        for _ in range(count):
            alg = struct.unpack_from("<H", log, at)[0]
            if alg == 0x000b:
                print(at + 2 + 5)
                sys.exit(0)
            at += 2 + {0x0004: 20, 0x000c: 48, 0x000d: 64}.get(alg, 32)
    o += 8 + n
sys.exit(1)
PY
}
if [ -f "$BUNDLES/q1.tvev" ] && off=$(fw_digest_offset "$BUNDLES/q1.tvev"); then
    python3 "$REPO_ROOT/tests/attest/tvev_edit.py" "$BUNDLES/q1.tvev" "$BUNDLES/q1-fwflip.tvev" flip 7 "$off"
fi
neg "firmware-log-byte-flipped" firmware-log "$CONF" "$BUNDLES/q1-fwflip.tvev"

# ---- the dma claim: the VMM's own statement, measured into PCR17 at launch ----
# No IOMMU in the machine: unprotected (no-iommu); an IOMMU the guest kernel uses (qemu.sh -I,
# intel_iommu=on): unprotected (guest-owns-iommu). Every quote of the boot says the same.
case " ${TVMM_E2E_PLATFORM_ARGS:-} " in
    *" -I "*) DMA_REASON=guest-owns-iommu ;;
    *) DMA_REASON=no-iommu ;;
esac
DMA_WANT="{\"reason\":\"$DMA_REASON\",\"state\":\"unprotected\"}"
for q in q0-before-lock-untrusted q1-locked-trusted q2-after-attack-untrusted; do
    got=$(att_dma "$H/$q.json")
    if [ "$got" = "$DMA_WANT" ]; then pass "dma-claim-${q%%-*} ($got)"; else
        fail "dma-claim-${q%%-*}" "verdict's dma is $got, want $DMA_WANT"; fi
done
got=$(att_claim "$H/q1-locked-trusted.json" dma)
case "$got" in
    "skip "*"the VMM says unprotected ($DMA_REASON)"*) pass "dma-not-required-q1 (claim skipped: reported only)" ;;
    *) fail "dma-not-required-q1" "dma claim without --require-dma: '$got', want skip naming $DMA_REASON" ;;
esac
# --require-dma: the same trusted evidence (q1) becomes untrusted, the dma check named.
ATT_OPTS=--require-dma neg "q1-require-dma" dma "$CONF"
got=$(att_claim "$H/q1-require-dma.json" dma)
case "$got" in
    "fail DMA protection required; the VMM says unprotected ($DMA_REASON)"*) pass "q1-require-dma-reason" ;;
    *) fail "q1-require-dma-reason" "dma claim '$got', want the VMM's unprotected ($DMA_REASON)" ;;
esac

expect "q1-nonce-again" "$BUNDLES/q1.tvev" "$N1" 1 nonce-fresh

# ---- tpm2_checkquote (tpm2-tools) on the same quote and a tampered one ----
CQ=$H/checkquote
mkdir -p "$CQ"
if [ -f "$BUNDLES/q1.tvev" ] && "$ATT_VERIFIER" export --bundle "$BUNDLES/q1.tvev" --out-dir "$CQ" >"$CQ/info" 2>"$CQ/err"; then
    n=$(awk '/^nonce/ { print $2 }' "$CQ/info")
    if tpm2_checkquote -u "$CQ/ak.pub" -m "$CQ/quote.msg" -s "$CQ/quote.sig" -g sha256 -q "$n" >"$CQ/good.out" 2>&1; then
        pass "tpm2_checkquote-accepts-q1"
    else
        fail "tpm2_checkquote-accepts-q1" "$(tail -n 2 "$CQ/good.out" | tr '\n' ' ')"
    fi
    cp "$CQ/quote.msg" "$CQ/bad.msg"
    printf '\x55' | dd of="$CQ/bad.msg" bs=1 seek=40 conv=notrunc status=none
    if tpm2_checkquote -u "$CQ/ak.pub" -m "$CQ/bad.msg" -s "$CQ/quote.sig" -g sha256 -q "$n" >"$CQ/bad.out" 2>&1; then
        fail "tpm2_checkquote-rejects-tampered" "a quote with one byte changed was accepted"
    else
        pass "tpm2_checkquote-rejects-tampered"
    fi
else
    fail "tpm2_checkquote" "thinvmm-verifier export failed: $(cat "$CQ/err" 2>/dev/null)"
fi

# ---- a reboot: a second short boot on the same TPM; then boot 1's leftover q3 is stale ----
B2=$OUT/boot2
rm -rf "$B2"
mkdir -p "$B2"
N4=$(att_nonce)
qrc=0
mapfile -t CHANNEL < <(att_qemu_args "$B2/channel.log")
read -ra PLATFORM <<<"${TVMM_E2E_PLATFORM_ARGS:-}"  # the same machine as the first boot
"$REPO_ROOT/tests/e2e/qemu.sh" -q -i "${TVMM_E2E_INITRD:?}" -k "${TVMM_E2E_KERNEL:?}" -n attest -o "$B2" \
    -s "${TVMM_E2E_SMP:-2}" -c "${TVMM_E2E_CPU:-max}" -t "${TVMM_E2E_TIMEOUT:-300}" \
    "${PLATFORM[@]}" -S "$STATE" -a "tvmm.attest=reboot tvmm.nonces=$N4" -- "${CHANNEL[@]}" >"$B2/qemu.out" 2>&1 || qrc=$?
"$REPO_ROOT/tests/e2e/check.sh" "$B2/console.log" "$B2/vmm.log" >"$B2/check.txt" 2>&1 || true
sed -n 's/^\(PASS\|FAIL\) \(.*\)/\1 \2/p' "$B2/check.txt" | while read -r v rest; do echo "$v boot2:$rest"; done
P2=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$B2/check.txt")
F2=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$B2/check.txt")
PASSED=$((PASSED + ${P2:-0})) FAILED=$((FAILED + ${F2:-1}))
[ "$qrc" -eq 0 ] || fail "boot2-qemu" "qemu.sh exited $qrc (see $B2/qemu.log)"
att_extract "$B2/channel.log" "$BUNDLES/boot2" >/dev/null
expect "after-reboot-trusted" "$BUNDLES/boot2/r.tvev" "$N4" 0
expect "quote-from-before-reboot" "$BUNDLES/q3.tvev" "$N3" 1 clock

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
