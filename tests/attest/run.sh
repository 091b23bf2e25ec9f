#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Host-side attestation tests (issue 5): thinvmm-agent and thinvmm-verifier against swtpm over
# TCP, no QEMU. The VMM's measurements are stood in for by tvev-mklog, which extends PCR17/18
# (launch, image, policy) and PCR19 (lock, violations) at locality 2 (the swtpm TCTI sets the
# locality through swtpm's control channel) and writes the matching TCG crypto-agile event log. One ok/FAIL line per case, then
# "N passed, M failed"; exit status non-zero on any failure. swtpm is always stopped.
# Usage: tests/attest/run.sh   (builds with make -C attest first)
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=$ROOT/build/attest
W=$B/test
EDIT=$ROOT/tests/attest/tvev_edit.py
CA=${TVEV_CA_DIR:-/var/lib/swtpm-localca}
PASSED=0 FAILED=0
# shellcheck source=../e2e/swtpm.sh
. "$ROOT/tests/e2e/swtpm.sh"

ok() { echo "ok   $1"; PASSED=$((PASSED + 1)); }
bad() { echo "FAIL $1${2:+ ($2)}"; FAILED=$((FAILED + 1)); }

trap swtpm_stop EXIT
trap 'exit 130' INT TERM

make -s -C "$ROOT/attest" >/dev/null || { echo "FAIL build"; echo "0 passed, 1 failed"; exit 1; }
rm -rf "$W"
mkdir -p "$W/tpm" "$W/agent" "$W/agent2"

PORT=$(swtpm_free_port) || { echo "FAIL no free port"; echo "0 passed, 1 failed"; exit 1; }
TCTI="swtpm:host=127.0.0.1,port=$PORT"
export TPM2TOOLS_TCTI=$TCTI

start_tpm() { swtpm_start_tcp "$W/tpm" "$PORT" "$W/swtpm.log"; }
stop_tpm() { swtpm_stop; }

# An orderly reboot: TPM2_Shutdown(CLEAR) first, or the clock comes back "not safe".
reboot_tpm() {
    tpm2_shutdown -c >/dev/null 2>&1 || bad "tpm2_shutdown"
    stop_tpm
    if start_tpm; then ok "swtpm restarted (TPM2_Startup(CLEAR): resetCount advances)"; else bad "swtpm restart"; fi
}

# run NAME EXPECTED_RC CMD...: the command's exit status must be EXPECTED_RC.
run() {
    local name=$1 want=$2 rc
    shift 2
    "$@" >"$W/out" 2>"$W/err"
    rc=$?
    if [ "$rc" = "$want" ]; then ok "$name"; else bad "$name" "exit $rc, want $want: $(tail -n 2 "$W/err" | tr '\n' ' ')"; fi
}

V() { "$B/thinvmm-verifier" "$@" --state "$W/verifier"; }
A() { "$B/thinvmm-agent" --tcti "$TCTI" "$@"; }
PCRS=0-7,16,17,18,19,23

# quote NAME [agent options]: a fresh nonce from the verifier, a quote into $W/NAME.tvev;
# the nonce is left in $W/NAME.nonce.
quote() {
    local name=$1 n
    shift
    n=$(V nonce) || return 1
    echo "$n" >"$W/$name.nonce"
    A "$@" quote --nonce "$n" --pcrs "$PCRS" --vmm-log "$W/vmm.log" -o "$W/$name.tvev"
}

# wrong_ref KEY OUT: ref.conf with KEY's first hex digit changed (0 becomes 1, any other 0),
# so the reference differs whatever the random test image hashes to.
wrong_ref() {
    awk -v k="$1" '$1 == k { print k " = " (substr($3, 1, 1) == "0" ? "1" : "0") substr($3, 2); next } { print }' \
        "$W/ref.conf" >"$2"
    if cmp -s "$W/ref.conf" "$2"; then bad "wrong_ref $1: reference unchanged"; fi
}

# appraise_expect NAME BUNDLE NONCE WANT_RC [CLAIM]: with WANT_RC 1, CLAIM must be failed.
# $AOPTS: more appraise options (e.g. --require-dma).
appraise_expect() {
    local name=$1 bundle=$2 nonce=$3 want=$4 claim=${5:-} rc
    # shellcheck disable=SC2086
    V appraise --nonce "$nonce" --bundle "$bundle" --config "${CONF:-$W/ref.conf}" ${AOPTS:-} \
        --json "$W/$name.json" 2>"$W/err"
    rc=$?
    if [ "$rc" != "$want" ]; then
        bad "$name" "exit $rc, want $want: $(cat "$W/err")"
    elif [ -n "$claim" ] && ! grep -q "\"claim\": \"$claim\", \"result\": \"fail\"" "$W/$name.json"; then
        bad "$name" "claim $claim did not fail: $(cat "$W/err")"
    else
        ok "$name${claim:+ (fails $claim)}"
    fi
}

# claim_is NAME JSON CLAIM RESULT: the verdict JSON gives CLAIM that result.
claim_is() {
    if grep -q "\"claim\": \"$3\", \"result\": \"$4\"" "$2" 2>/dev/null; then ok "$1"; else
        bad "$1" "claim $3 is not $4: $(grep "\"claim\": \"$3\"" "$2" 2>/dev/null)"; fi
}

# violations JSON: the verdict's "violations" array, one "count class" line per entry.
violations() {
    python3 -c 'import json, sys
for v in json.load(open(sys.argv[1]))["violations"]:
    print(v["count"], v["class"])' "$1" 2>&1
}

# dma_is NAME JSON WANT: the verdict's "dma" object, compact with sorted keys, is WANT.
dma_is() {
    local got
    got=$(python3 -c 'import json, sys
print(json.dumps(json.load(open(sys.argv[1])).get("dma", "absent"), sort_keys=True, separators=(",", ":")))' "$2" 2>&1)
    if [ "$got" = "$3" ]; then ok "$1"; else bad "$1" "dma is $got, want $3"; fi
}

# err_has NAME TEXT: the last appraisal's stderr (summary line) contains TEXT.
err_has() {
    if grep -qF -- "$2" "$W/err"; then ok "$1"; else bad "$1" "no '$2' in: $(cat "$W/err")"; fi
}

# dma_boot NAME [tvev-mklog options]: a new boot (PCR17-19 at all-FF again) whose VMM log has
# launch, image, the given dma events, policy and lock; then a quote into $W/NAME.tvev.
dma_boot() {
    local name=$1
    shift
    reboot_tpm
    "$B/tvev-mklog" --tcti "$TCTI" --image "$W/thinvmm.bin" --policy "$W/policy.bin" --lock \
        "$@" -o "$W/vmm.log" || bad "tvev-mklog $*"
    quote "$name"
}

# ---- the TPM ----
if swtpm_setup --tpm2 --tpmstate "$W/tpm" --create-ek-cert --create-platform-cert \
    --lock-nvram >"$W/swtpm_setup.log" 2>&1; then ok "swtpm_setup (EK certificates)"; else
    bad "swtpm_setup" "see $W/swtpm_setup.log"; echo "$PASSED passed, $FAILED failed"; exit 1; fi
if start_tpm; then ok "swtpm on 127.0.0.1:$PORT (pid $SWTPM_PID)"; else
    bad "swtpm start" "see $W/swtpm.log"; echo "$PASSED passed, $FAILED failed"; exit 1; fi

# ---- enrolment ----
run "agent enroll-key (AK 0x81010002, RSA EK, EK certificate)" 0 A enroll-key --out-dir "$W/agent"
ENROLL=(--ek-cert "$W/agent/ek.crt" --ek-pub "$W/agent/ek.pub" --ak-pub "$W/agent/ak.pub")

mkdir -p "$W/otherca"
if openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/otherca/key" -subj /CN=other-ca \
    -days 1 -out "$W/otherca/ca.pem" >/dev/null 2>&1; then
    run "enroll refuses an EK certificate from another CA" 1 \
        V enroll "${ENROLL[@]}" --ca-dir "$W/otherca" --challenge "$W/chal0"
else
    bad "enroll refuses another CA" "openssl could not make a CA"
fi
run "enroll refuses a non-restricted AK (EK public given as AK)" 1 \
    V enroll --ek-cert "$W/agent/ek.crt" --ek-pub "$W/agent/ek.pub" --ak-pub "$W/agent/ek.pub" \
    --ca-dir "$CA" --challenge "$W/chal0"
run "enroll: EK chain, AK attributes, MakeCredential" 0 \
    V enroll "${ENROLL[@]}" --ca-dir "$CA" --challenge "$W/chal1"
head -c 32 /dev/urandom >"$W/wrong-answer"
run "enroll-finish refuses a wrong activation answer" 1 V enroll-finish --answer "$W/wrong-answer"
run "enroll again" 0 V enroll "${ENROLL[@]}" --ca-dir "$CA" --challenge "$W/chal2"
run "agent activate (ActivateCredential)" 0 A activate --challenge "$W/chal2" -o "$W/answer"
run "enroll-finish accepts the activated credential" 0 V enroll-finish --answer "$W/answer"
run "the same challenge cannot be answered twice" 2 V enroll-finish --answer "$W/answer"

# ---- emulated late launch: PCR17/18 at locality 2; the lock and violations: PCR19 ----
head -c 65536 /dev/urandom >"$W/thinvmm.bin"
printf 'policy blob for tests\n' >"$W/policy.bin"
run "PCR17 extend refused at locality 0" 1 "$B/tvev-mklog" --tcti "$TCTI" --locality 0 \
    --image "$W/thinvmm.bin" --policy "$W/policy.bin" -o "$W/vmm-loc0.log"
run "tvev-mklog: PCR17/18 extended at locality 2, event log written" 0 "$B/tvev-mklog" \
    --tcti "$TCTI" --locality 2 --image "$W/thinvmm.bin" --policy "$W/policy.bin" -o "$W/vmm.log"
printf 'vmm_image_sha256 = %s\npolicy_sha256 = %s\n' "$(sha256sum <"$W/thinvmm.bin" | cut -c1-64)" \
    "$(sha256sum <"$W/policy.bin" | cut -c1-64)" >"$W/ref.conf"
# PC Client PCR attributes: PCR19 is extended from localities 2 and 3 only.
run "PCR19 extend refused at locality 0" 1 "$B/tvev-mklog" --tcti "$TCTI" --locality 0 \
    --append "$W/vmm.log" --lock -o "$W/vmm-loc0.log"
quote nolock
appraise_expect "no lock event (require_lock = yes)" "$W/nolock.tvev" "$(cat "$W/nolock.nonce")" 1 lock
claim_is "  ... and PCR19, quoted at all-FF, replays" "$W/no lock event (require_lock = yes).json" vmm-log pass
CONF=$W/nolock.conf
{ cat "$W/ref.conf"; echo "require_lock = no"; } >"$CONF"
quote nolock2
appraise_expect "no lock event, require_lock = no" "$W/nolock2.tvev" "$(cat "$W/nolock2.nonce")" 0
unset CONF
run "tvev-mklog --append --lock: PCR19 extended at locality 2" 0 "$B/tvev-mklog" \
    --tcti "$TCTI" --locality 2 --append "$W/vmm.log" --lock -o "$W/vmm.log"
if tpm2_eventlog "$W/vmm.log" >"$W/eventlog.yaml" 2>&1 && grep -q 'EV_EVENT_TAG' "$W/eventlog.yaml" &&
    grep -q 'PCRIndex: 18' "$W/eventlog.yaml"; then
    ok "tpm2_eventlog parses the VMM event log"
else
    bad "tpm2_eventlog parses the VMM event log" "see $W/eventlog.yaml"
fi

# ---- good path ----
if quote good; then ok "agent quote (PCRs $PCRS)"; else bad "agent quote"; fi
appraise_expect "appraise: good evidence is trusted" "$W/good.tvev" "$(cat "$W/good.nonce")" 0
if grep -q '"verdict": "trusted"' "$W/appraise: good evidence is trusted.json" 2>/dev/null; then
    ok "JSON verdict says trusted"; else bad "JSON verdict says trusted"; fi
claim_is "the lock event is accepted" "$W/appraise: good evidence is trusted.json" lock pass
if [ -z "$(violations "$W/appraise: good evidence is trusted.json")" ]; then
    ok "JSON: an empty violations array"; else bad "JSON: an empty violations array"; fi

# ---- interop: tpm2_checkquote on the good quote and a tampered one ----
mkdir -p "$W/cq"
if V export --bundle "$W/good.tvev" --out-dir "$W/cq" >"$W/cq/info" 2>"$W/err"; then
    CQN=$(awk '/^nonce/{print $2}' "$W/cq/info")
    CQL=$(awk '/^pcrs/{print $2}' "$W/cq/info")
    run "tpm2_checkquote accepts the good quote (signature, nonce)" 0 tpm2_checkquote \
        -u "$W/cq/ak.pub" -m "$W/cq/quote.msg" -s "$W/cq/quote.sig" -g sha256 -q "$CQN"
    cp "$W/cq/quote.msg" "$W/cq/bad.msg"
    printf '\x55' | dd of="$W/cq/bad.msg" bs=1 seek=40 conv=notrunc status=none
    run "tpm2_checkquote rejects a tampered quote" 1 tpm2_checkquote \
        -u "$W/cq/ak.pub" -m "$W/cq/bad.msg" -s "$W/cq/quote.sig" -g sha256 -q "$CQN"
    run "tpm2_checkquote rejects another nonce" 1 tpm2_checkquote \
        -u "$W/cq/ak.pub" -m "$W/cq/quote.msg" -s "$W/cq/quote.sig" -g sha256 -q 00112233445566778899
    : "$CQL"
else
    bad "verifier export" "$(cat "$W/err")"
fi

# ---- negatives ----
appraise_expect "reused nonce" "$W/good.tvev" "$(cat "$W/good.nonce")" 1 nonce-fresh
N=$(V nonce); V nonce >/dev/null
appraise_expect "nonce never issued" "$W/good.tvev" 0123456789abcdef0123456789abcdef 1 nonce-fresh
A --ak-handle 0x81010003 enroll-key --out-dir "$W/agent2" >/dev/null 2>&1
quote otherak --ak-handle 0x81010003
appraise_expect "evidence signed by another AK" "$W/otherak.tvev" "$(cat "$W/otherak.nonce")" 1 signature
# The other AK's quote, presented with the enrolled AK's public area.
quote otherak2 --ak-handle 0x81010003
python3 "$EDIT" "$W/otherak2.tvev" "$W/otherak2x.tvev" set 6 "$(xxd -p "$W/agent/ak.pub" | tr -d '\n')"
appraise_expect "another AK's signature under the enrolled AK's name" "$W/otherak2x.tvev" \
    "$(cat "$W/otherak2.nonce")" 1 signature
# VMM log: first event's SHA-256 digest (offset 80) and the launch event's text (offset 125).
quote flip1 && python3 "$EDIT" "$W/flip1.tvev" "$W/flip1x.tvev" flip 8 80
appraise_expect "one byte flipped in a VMM log digest" "$W/flip1x.tvev" "$(cat "$W/flip1.nonce")" 1 vmm-log
quote flip2 && python3 "$EDIT" "$W/flip2.tvev" "$W/flip2x.tvev" flip 8 125
appraise_expect "one byte flipped in a VMM log event's data" "$W/flip2x.tvev" "$(cat "$W/flip2.nonce")" 1 launch
quote flip3 && python3 "$EDIT" "$W/flip3.tvev" "$W/flip3x.tvev" flip 5 40
appraise_expect "one byte flipped in a PCR value" "$W/flip3x.tvev" "$(cat "$W/flip3.nonce")" 1 pcr-digest
quote flip4 && python3 "$EDIT" "$W/flip4.tvev" "$W/flip4x.tvev" flip 2 20
appraise_expect "one byte flipped in the signed attest" "$W/flip4x.tvev" "$(cat "$W/flip4.nonce")" 1 signature
# Quoted over 0-7,16-19,23, claimed as 0-7,16-19,22.
quote relabel && python3 "$EDIT" "$W/relabel.tvev" "$W/relabelx.tvev" set 4 00000001000b03ff004f
appraise_expect "PCR selection relabelled" "$W/relabelx.tvev" "$(cat "$W/relabel.nonce")" 1 pcr-selection
quote trunc && python3 "$EDIT" "$W/trunc.tvev" "$W/truncx.tvev" truncate 300
appraise_expect "truncated bundle" "$W/truncx.tvev" "$(cat "$W/trunc.nonce")" 1 bundle-format
quote trunc2 && python3 "$EDIT" "$W/trunc2.tvev" "$W/trunc2x.tvev" truncate $(($(stat -c %s "$W/trunc2.tvev") - 1))
appraise_expect "bundle one byte short" "$W/trunc2x.tvev" "$(cat "$W/trunc2.nonce")" 1 bundle-format
quote big && python3 "$EDIT" "$W/big.tvev" "$W/bigx.tvev" pad $((2 * 1024 * 1024))
appraise_expect "oversized bundle (over 2 MiB)" "$W/bigx.tvev" "$(cat "$W/big.nonce")" 1 bundle-format
quote big2 && python3 "$EDIT" "$W/big2.tvev" "$W/big2x.tvev" grow 8 $((300 * 1024))
appraise_expect "oversized VMM log section (over 256 KiB)" "$W/big2x.tvev" "$(cat "$W/big2.nonce")" 1 bundle-format
quote trail && python3 "$EDIT" "$W/trail.tvev" "$W/trailx.tvev" pad 1
appraise_expect "trailing byte after the bundle" "$W/trailx.tvev" "$(cat "$W/trail.nonce")" 1 bundle-format
CONF=$W/wrong-image.conf
wrong_ref vmm_image_sha256 "$CONF"
quote wimg
appraise_expect "wrong VMM image reference value" "$W/wimg.tvev" "$(cat "$W/wimg.nonce")" 1 vmm-image
CONF=$W/wrong-policy.conf
wrong_ref policy_sha256 "$CONF"
quote wpol
appraise_expect "wrong policy reference value" "$W/wpol.tvev" "$(cat "$W/wpol.nonce")" 1 policy
unset CONF
N=$(V nonce)
A quote --nonce "$N" --pcrs "$PCRS" -o "$W/nolog.tvev" 2>/dev/null
appraise_expect "no VMM event log" "$W/nolog.tvev" "$N" 1 vmm-log
appraise_expect "good evidence still trusted after the negatives" "$W/good.tvev" "$(cat "$W/good.nonce")" 1 nonce-fresh
quote good2
appraise_expect "a fresh good quote is trusted" "$W/good2.tvev" "$(cat "$W/good2.nonce")" 0
# An older VMM log, without a dma event: reported as unknown, fails only when required.
dma_is "  ... no dma event: JSON dma state unknown" "$W/a fresh good quote is trusted.json" '{"state":"unknown"}'
claim_is "  ... and the dma claim is skipped" "$W/a fresh good quote is trusted.json" dma skip
err_has "  ... the summary line says dma: unknown" "; dma: unknown (no dma event)"
quote nodma
AOPTS=--require-dma appraise_expect "no dma event, --require-dma" "$W/nodma.tvev" "$(cat "$W/nodma.nonce")" 1 dma
err_has "  ... the reason says there is no dma claim" "[dma: DMA protection required; no dma claim in the VMM log"
dma_is "  ... JSON dma state unknown" "$W/no dma event, --require-dma.json" '{"state":"unknown"}'
N=$(V nonce)
A quote --nonce "$N" --pcrs "$PCRS" -o "$W/nolog2.tvev" 2>/dev/null
AOPTS=--require-dma appraise_expect "no VMM event log, --require-dma" "$W/nolog2.tvev" "$N" 1 dma
dma_is "  ... JSON dma state unknown" "$W/no VMM event log, --require-dma.json" '{"state":"unknown"}'

# ---- the lock event and violations on PCR19 ----
quote lockflip && python3 "$EDIT" "$W/lockflip.tvev" "$W/lockflipx.tvev" flipstr 8 policy=tvev-test 7
appraise_expect "one byte flipped in the lock event's text" "$W/lockflipx.tvev" "$(cat "$W/lockflip.nonce")" 1 lock
PCRS=0-7,16,17,18,23 quote no19
appraise_expect "PCR19 not quoted" "$W/no19.tvev" "$(cat "$W/no19.nonce")" 1 vmm-log
run "tvev-mklog --append --violations 2 (PCR19, locality 2)" 0 "$B/tvev-mklog" \
    --tcti "$TCTI" --append "$W/vmm.log" --violations 2 -o "$W/vmm.log"
if tpm2_eventlog "$W/vmm.log" >"$W/eventlog2.yaml" 2>&1 && [ "$(grep -c 'PCRIndex: 19' "$W/eventlog2.yaml")" = 3 ]; then
    ok "tpm2_eventlog parses the lock and violation events"
else
    bad "tpm2_eventlog parses the lock and violation events" "see $W/eventlog2.yaml"
fi
quote viol
appraise_expect "two violation classes reported" "$W/viol.tvev" "$(cat "$W/viol.nonce")" 1 violations
J="$W/two violation classes reported.json"
claim_is "  ... and the log with them replays" "$J" vmm-log pass
if grep -q 'rule=2 name=tvev-test-2 action=deny\] count=2' "$W/err"; then
    ok "  ... the reason names each class and its count"; else bad "violation reason" "$(cat "$W/err")"; fi
if [ "$(violations "$J")" = "1 violation: kind=cr rule=1 name=tvev-test-1 action=deny
2 violation: kind=msr-read rule=2 name=tvev-test-2 action=deny" ]; then
    ok "  ... the JSON violations array has both, with counts"; else bad "JSON violations" "$(violations "$J")"; fi
quote vflip && python3 "$EDIT" "$W/vflip.tvev" "$W/vflipx.tvev" flipstr 8 name=tvev-test-2 5
appraise_expect "one byte flipped in a violation class" "$W/vflipx.tvev" "$(cat "$W/vflip.nonce")" 1 violations
if grep -q 'digest is not the SHA-256 of its class' "$W/err"; then
    ok "  ... the class is not bound by its digest"; else bad "class binding" "$(cat "$W/err")"; fi
# The count is the VMM's own running number, updated in place and not measured: changing it
# leaves the replay intact, and only the reported number changes.
quote vcount && python3 "$EDIT" "$W/vcount.tvev" "$W/vcountx.tvev" replace 8 count=0000000002 count=0000000099
appraise_expect "count digits changed (unmeasured)" "$W/vcountx.tvev" "$(cat "$W/vcount.nonce")" 1 violations
claim_is "  ... the replay still passes" "$W/count digits changed (unmeasured).json" vmm-log pass
if violations "$W/count digits changed (unmeasured).json" | grep -q '^99 violation: kind=msr-read rule=2 '; then
    ok "  ... and the reported count is the changed one"; else bad "changed count" "$(violations "$W/count digits changed (unmeasured).json")"; fi
run "tvev-mklog --append --violations 1 (class rule=1 again)" 0 "$B/tvev-mklog" \
    --tcti "$TCTI" --append "$W/vmm.log" --violations 1 -o "$W/vmm.log"
quote vdup
appraise_expect "the same violation class twice" "$W/vdup.tvev" "$(cat "$W/vdup.nonce")" 1 violations
if grep -q 'its class was reported before' "$W/err"; then ok "  ... named as a duplicate"; else
    bad "duplicate class" "$(cat "$W/err")"; fi
run "tvev-mklog --append --lock (a second lock)" 0 "$B/tvev-mklog" \
    --tcti "$TCTI" --append "$W/vmm.log" --lock -o "$W/vmm.log"
quote lock2
appraise_expect "a second lock event" "$W/lock2.tvev" "$(cat "$W/lock2.nonce")" 1 lock

# ---- a quote from before a reboot ----
quote prereboot
reboot_tpm
"$B/tvev-mklog" --tcti "$TCTI" --image "$W/thinvmm.bin" --policy "$W/policy.bin" --lock \
    -o "$W/vmm.log" || bad "tvev-mklog after reboot"
quote postreboot
appraise_expect "quote after the reboot is trusted" "$W/postreboot.tvev" "$(cat "$W/postreboot.nonce")" 0
appraise_expect "quote from before the reboot" "$W/prereboot.tvev" "$(cat "$W/prereboot.nonce")" 1 clock

# ---- a violation before the lock (another boot: PCR19 starts at all-FF again) ----
reboot_tpm
"$B/tvev-mklog" --tcti "$TCTI" --image "$W/thinvmm.bin" --policy "$W/policy.bin" \
    --violation-first --lock -o "$W/vmm.log" || bad "tvev-mklog --violation-first"
quote vfirst
appraise_expect "a violation before the lock" "$W/vfirst.tvev" "$(cat "$W/vfirst.nonce")" 1 violations
claim_is "  ... though the log replays" "$W/a violation before the lock.json" vmm-log pass
if grep -q 'no lock event before it' "$W/err"; then ok "  ... named as out of order"; else
    bad "violation order" "$(cat "$W/err")"; fi

# ---- the dma event (PCR17, after the image event): the VMM's statement on DMA protection ----
dma_boot dmaprot --dma "dma: protected iommu=vt-d units=1"
if tpm2_eventlog "$W/vmm.log" >"$W/eventlog3.yaml" 2>&1 && [ "$(grep -c 'PCRIndex: 17' "$W/eventlog3.yaml")" = 3 ]; then
    ok "tpm2_eventlog parses the log with the dma event"
else
    bad "tpm2_eventlog parses the log with the dma event" "see $W/eventlog3.yaml"
fi
J="$W/dma protected, --require-dma.json"
AOPTS=--require-dma appraise_expect "dma protected, --require-dma" "$W/dmaprot.tvev" "$(cat "$W/dmaprot.nonce")" 0
claim_is "  ... the log with the dma event replays" "$J" vmm-log pass
claim_is "  ... the dma claim passes" "$J" dma pass
dma_is "  ... JSON dma: protected, vt-d, 1 unit" "$J" '{"iommu":"vt-d","state":"protected","units":1}'
err_has "  ... the summary line says dma: protected" "; dma: protected (vt-d, 1 unit)"
quote dmaprot2
appraise_expect "dma protected, no --require-dma" "$W/dmaprot2.tvev" "$(cat "$W/dmaprot2.nonce")" 0
dma_is "  ... JSON dma: protected" "$W/dma protected, no --require-dma.json" '{"iommu":"vt-d","state":"protected","units":1}'
# The text is bound by the digest: "units=1" made "units=2" still replays, but is not bound.
quote dmaflip && python3 "$EDIT" "$W/dmaflip.tvev" "$W/dmaflipx.tvev" replace 8 units=1 units=2
appraise_expect "dma text changed in the bundle (units=2)" "$W/dmaflipx.tvev" "$(cat "$W/dmaflip.nonce")" 1 dma
claim_is "  ... though the log replays" "$W/dma text changed in the bundle (units=2).json" vmm-log pass
err_has "  ... named as not bound by its digest" "digest is not the SHA-256 of its text"
dma_is "  ... JSON dma state malformed" "$W/dma text changed in the bundle (units=2).json" '{"state":"malformed"}'
dma_boot dmaprot8 --dma "dma: protected iommu=vt-d units=8"
AOPTS=--require-dma appraise_expect "dma protected with 8 units, --require-dma" "$W/dmaprot8.tvev" "$(cat "$W/dmaprot8.nonce")" 0
dma_is "  ... JSON dma: 8 units" "$W/dma protected with 8 units, --require-dma.json" '{"iommu":"vt-d","state":"protected","units":8}'
for r in no-iommu guest-owns-iommu unsupported; do
    dma_boot "dma-$r" --dma "dma: unprotected reason=$r"
    J="$W/dma unprotected ($r), --require-dma.json"
    AOPTS=--require-dma appraise_expect "dma unprotected ($r), --require-dma" "$W/dma-$r.tvev" "$(cat "$W/dma-$r.nonce")" 1 dma
    err_has "  ... the reason says what the VMM said" "[dma: DMA protection required; the VMM says unprotected ($r)]"
    claim_is "  ... the only failed claim is dma (vmm-log passes)" "$J" vmm-log pass
    if [ "$(grep -c '"result": "fail"' "$J")" = 1 ]; then ok "  ... no other claim fails"; else
        bad "  ... no other claim fails" "$(grep '"result": "fail"' "$J")"; fi
    dma_is "  ... JSON dma: unprotected, $r" "$J" "{\"reason\":\"$r\",\"state\":\"unprotected\"}"
    quote "dma-$r-2"
    appraise_expect "dma unprotected ($r), no --require-dma" "$W/dma-$r-2.tvev" "$(cat "$W/dma-$r-2.nonce")" 0
    claim_is "  ... reported, the dma claim skipped" "$W/dma unprotected ($r), no --require-dma.json" dma skip
    dma_is "  ... JSON dma: unprotected, $r" "$W/dma unprotected ($r), no --require-dma.json" "{\"reason\":\"$r\",\"state\":\"unprotected\"}"
    err_has "  ... the summary line says dma: unprotected ($r)" "; dma: unprotected ($r)"
done
# Malformed: the log is rejected (dma fails) with or without --require-dma.
i=0
for t in "dma: protected iommu=vt-d units=9" "dma: protected iommu=vt-d units=0" "dma: protected iommu=amd-vi units=1" \
    "dma: protected iommu=vt-d units=01" "dma: unprotected reason=no-iommu " "dma: unprotected" "dma: unprotected reason=other" \
    "DMA: unprotected reason=no-iommu"; do
    i=$((i + 1))
    dma_boot "dmabad$i" --dma "$t"
    J="$W/malformed dma text '$t'.json"
    appraise_expect "malformed dma text '$t'" "$W/dmabad$i.tvev" "$(cat "$W/dmabad$i.nonce")" 1 dma
    if grep -q '"claim": "dma", "result": "fail", "reason": "malformed dma event in the VMM log: .*none of the known forms' "$J"; then
        ok "  ... named as malformed"; else bad "  ... named as malformed" "$(cat "$W/err")"; fi
    dma_is "  ... JSON dma state malformed" "$J" '{"state":"malformed"}'
done
dma_boot dmadup --dma "dma: unprotected reason=no-iommu" --dma "dma: unprotected reason=no-iommu"
appraise_expect "two dma events" "$W/dmadup.tvev" "$(cat "$W/dmadup.nonce")" 1 dma
claim_is "  ... though the log replays" "$W/two dma events.json" vmm-log pass
err_has "  ... named as a second dma event" "a second dma event at offset"
dma_is "  ... JSON dma state malformed" "$W/two dma events.json" '{"state":"malformed"}'
dma_boot dmadup2 --dma "dma: protected iommu=vt-d units=1" --dma "dma: unprotected reason=no-iommu"
AOPTS=--require-dma appraise_expect "two dma events (protected, then unprotected), --require-dma" \
    "$W/dmadup2.tvev" "$(cat "$W/dmadup2.nonce")" 1 dma
for p in 18 19; do
    dma_boot "dmapcr$p" --dma "dma: protected iommu=vt-d units=1" --dma-pcr "$p"
    J="$W/dma event on PCR $p.json"
    AOPTS=--require-dma appraise_expect "dma event on PCR $p" "$W/dmapcr$p.tvev" "$(cat "$W/dmapcr$p.nonce")" 1 dma
    claim_is "  ... though the log replays" "$J" vmm-log pass
    err_has "  ... named as on the wrong PCR" "on PCR $p, not the launch PCR 17"
    dma_is "  ... JSON dma state malformed" "$J" '{"state":"malformed"}'
done

# ---- usage errors ----
run "appraise without --bundle is a usage error (exit 2)" 2 V appraise --nonce 00
run "appraise of a missing file is an I/O error (exit 2)" 2 V appraise --nonce "$(V nonce)" --bundle "$W/nonexistent"

stop_tpm
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ] && [ "$PASSED" -gt 0 ]
