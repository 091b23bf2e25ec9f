# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# The host's side of attestation around a QEMU boot (issue 5), sourced by tests/e2e/host-attest.sh
# (the svm-attest row) and tests/e2e/demo.sh (make run). Needs REPO_ROOT set.
#
#   att_init DIR                 host work directory: DIR/verifier (the verifier's state),
#                                DIR/agent (enrolment files), logs
#   att_enrol STATEDIR           manufacture a TPM state (swtpm_setup), enrol its AK on the host
#                                through swtpm over TCP (tests/attest/run.sh's recipe), then
#                                TPM2_Shutdown(CLEAR) and stop that swtpm: QEMU boots on STATEDIR
#   att_nonce                    a fresh nonce from the verifier (recorded as issued)
#   att_refconf FILE [IMAGE_SHA POLICY_SHA]   reference values: the built thinvmm.bin and
#                                linux-default.bin (docs/evidence.md), or the digests given
#   att_qemu_args FILE           qemu.sh arguments (after --) for the file channel into FILE
#   att_extract CHANNEL DIR      every bundle the guest sent: DIR/NAME.tvev, NAME printed for each
#                                one whose SHA-256 matched (transport check, not attestation)
#   att_appraise NAME BUNDLE NONCE CONF [STATE]   DIR/NAME.json, DIR/NAME.summary; exit status
#                                of thinvmm-verifier appraise (0 trusted, 1 untrusted, 2 error);
#                                $ATT_OPTS: more appraise options (e.g. --require-dma)
#   att_claim JSON CLAIM         "RESULT REASON" of one claim (RESULT absent if not there)
#   att_dma JSON                 the verdict's "dma" object, compact with sorted keys
#                                ({"reason":"no-iommu","state":"unprotected"}), or "absent"
#   att_show NAME                the verifier's summary line, the key claims, the dma claim and
#                                the violation classes, indented
# Failures set ATT_WHY. The file channel: the guest's third serial port (COM3, ttyS2 in the
# guest, tests/guest/scenario-attest.sh) written to a host file; bundles travel as base64 between
# "TVMM-BUNDLE-BEGIN NAME" and "TVMM-BUNDLE-END NAME SHA256", out of the kernel console's way.
# shellcheck source=swtpm.sh
. "$REPO_ROOT/tests/e2e/swtpm.sh"

ATT_AGENT=$REPO_ROOT/build/attest/thinvmm-agent
ATT_VERIFIER=$REPO_ROOT/build/attest/thinvmm-verifier
ATT_CA=${TVEV_CA_DIR:-/var/lib/swtpm-localca}
ATT_W="" ATT_WHY=""

att_init() {
    ATT_W=$1
    mkdir -p "$ATT_W/agent"
    [ -x "$ATT_AGENT" ] && [ -x "$ATT_VERIFIER" ] \
        || { ATT_WHY="$ATT_AGENT or $ATT_VERIFIER missing: build first (make)"; return 1; }
    swtpm_have || { ATT_WHY="swtpm/swtpm_setup not found (tests/env/deps.sh)"; return 1; }
    command -v tpm2_shutdown >/dev/null 2>&1 || { ATT_WHY="tpm2-tools not found (tests/env/deps.sh)"; return 1; }
}

att_v() { "$ATT_VERIFIER" "$@" --state "$ATT_W/verifier"; }

att_enrol() {
    local state=$1 port tcti rc=0 log=$ATT_W/enrol.log
    ATT_WHY=""
    : >"$log"
    swtpm_manufacture "$state" "$ATT_W/swtpm_setup.log" \
        || { ATT_WHY="swtpm_setup failed (see $ATT_W/swtpm_setup.log)"; return 1; }
    port=$(swtpm_free_port) || { ATT_WHY="no free TCP port for swtpm"; return 1; }
    swtpm_start_tcp "$state" "$port" "$ATT_W/swtpm-enrol.log" \
        || { swtpm_stop; ATT_WHY="swtpm on 127.0.0.1:$port did not start (see $ATT_W/swtpm-enrol.log)"; return 1; }
    tcti="swtpm:host=127.0.0.1,port=$port"
    {
        echo "swtpm pid $SWTPM_PID on 127.0.0.1:$port, state $state"
        "$ATT_AGENT" --tcti "$tcti" enroll-key --out-dir "$ATT_W/agent" &&
            att_v enroll --ek-cert "$ATT_W/agent/ek.crt" --ek-pub "$ATT_W/agent/ek.pub" \
                --ak-pub "$ATT_W/agent/ak.pub" --ca-dir "$ATT_CA" --challenge "$ATT_W/challenge" \
                --json "$ATT_W/enroll.json" &&
            "$ATT_AGENT" --tcti "$tcti" activate --challenge "$ATT_W/challenge" -o "$ATT_W/answer" &&
            att_v enroll-finish --answer "$ATT_W/answer" --json "$ATT_W/enroll-finish.json" &&
            # An orderly shutdown, or the TPM's clock comes back "not safe" in the guest.
            TPM2TOOLS_TCTI=$tcti tpm2_shutdown -c
    } >>"$log" 2>&1 || rc=1
    swtpm_stop
    [ "$rc" -eq 0 ] || ATT_WHY="enrolment failed: $(tail -n 3 "$log" | tr '\n' ' ')"
    return "$rc"
}

att_nonce() { att_v nonce; }

att_refconf() {
    local img=$REPO_ROOT/build/thinvmm/thinvmm.bin pol=$REPO_ROOT/build/guest/linux-default.bin
    local isha=${2:-} psha=${3:-} q
    if [ -z "$isha" ]; then
        # The image the VMM measures: thinvmm.bin up to __rela_end, a u64 (LE) at offset 48.
        q=$(od -An -t u8 -j 48 -N 8 --endian=little "$img" | tr -d ' ')
        isha=$(head -c "$q" "$img" | sha256sum | cut -c1-64)
    fi
    [ -n "$psha" ] || psha=$(sha256sum <"$pol" | cut -c1-64)
    printf 'vmm_image_sha256 = %s\npolicy_sha256 = %s\n' "$isha" "$psha" >"$1"
}

att_qemu_args() { printf '%s\n' -serial "file:$1"; }

att_extract() {
    local chan=$1 dir=$2 name sum
    mkdir -p "$dir"
    [ -f "$chan" ] || return 0
    tr -d '\r' <"$chan" | awk -v d="$dir" '
        /^TVMM-BUNDLE-BEGIN [A-Za-z0-9_-]+$/ { n = $2; f = d "/" n ".b64"; printf "" >f; on = 1; next }
        /^TVMM-BUNDLE-END / { if (on && $2 == n) { close(f); print n, $3 } on = 0; next }
        on { print >>f }' | while read -r name sum; do
        base64 -d <"$dir/$name.b64" >"$dir/$name.tvev" 2>/dev/null || continue
        [ "$(sha256sum <"$dir/$name.tvev" | cut -c1-64)" = "$sum" ] && echo "$name"
    done
}

att_appraise() {
    # shellcheck disable=SC2086
    "$ATT_VERIFIER" appraise --state "${5:-$ATT_W/verifier}" --nonce "$3" --bundle "$2" \
        --config "$4" ${ATT_OPTS:-} --json "$ATT_W/$1.json" 2>"$ATT_W/$1.summary"
}

att_claim() {
    python3 - "$1" "$2" <<'PY'
import json, sys
try:
    claims = json.load(open(sys.argv[1]))["claims"]
except Exception as e:  # no verdict at all
    print("absent", e)
    sys.exit(0)
for c in claims:
    if c["claim"] == sys.argv[2]:
        print(c["result"], c["reason"])
        break
else:
    print("absent")
PY
}

att_dma() {
    python3 - "$1" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1])).get("dma", "absent")
except Exception as e:  # no verdict at all
    d = "absent (%s)" % e
print(json.dumps(d, sort_keys=True, separators=(",", ":")))
PY
}

att_show() {
    # The verifier's own one-line summary (cut: the claims and classes below carry the rest).
    awk '{ print "    " (length($0) > 150 ? substr($0, 1, 147) "..." : $0) }' "$ATT_W/$1.summary"
    python3 - "$ATT_W/$1.json" <<'PY'
import json, sys
KEY = ["nonce-fresh", "signature", "pcr-digest", "clock", "vmm-log", "launch", "vmm-image",
       "policy", "dma", "lock", "violations", "firmware-log"]
try:
    v = json.load(open(sys.argv[1]))
except Exception as e:
    print("    no verdict (%s)" % e)
    sys.exit(0)
for c in v["claims"]:
    if c["claim"] in KEY:
        print("      %-12s %-4s  %s" % (c["claim"], c["result"], c["reason"][:100]))
d = v.get("dma")
if d:
    print("        dma (the VMM's own statement, measured at launch): %s" %
          " ".join("%s=%s" % (k, d[k]) for k in ("state", "iommu", "units", "reason") if k in d))
for x in v.get("violations", []):
    print("        violation class, %d hit(s): %s" % (x["count"], x["class"]))
PY
}
