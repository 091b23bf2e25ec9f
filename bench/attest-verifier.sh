#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What one appraisal costs the verifier (issue 5): `thinvmm-verifier bench` appraises a
# recorded TVEV bundle N times in one process (no nonce consumed, no last-quote written) and
# prints appraisals/s on one core; valgrind's callgrind counts the instructions per appraisal
# and where they go, which unlike wall time is repeatable on a loaded host.
#   bench/attest-verifier.sh [-r] [-n ITERATIONS] [-k RUNS] [-o OUT.md]
#   -r  record the inputs anew from a run of tests/attest/run.sh (needs swtpm; ~15 s)
#   -n  appraisals per timed run (default 2000); -k timed runs per bundle (default 3)
#   -o  where the summary goes (default bench/results/attest-verifier.md)
# Inputs (committed): bench/results/attest-verifier/{trusted,violations}.{tvev,nonce},
# ak.pub (the enrolled AK) and ref.conf (the reference values).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IN=$ROOT/bench/results/attest-verifier
OUT=$ROOT/bench/results/attest-verifier.md
V=$ROOT/build/attest/thinvmm-verifier
ITER=2000 RUNS=3 RECORD=0
while getopts rn:k:o:h o; do
    case $o in
    r) RECORD=1 ;;
    n) ITER=$OPTARG ;;
    k) RUNS=$OPTARG ;;
    o) OUT=$OPTARG ;;
    *) sed -n '3,11p' "$0"; exit 2 ;;
    esac
done

make -s -C "$ROOT/attest" >/dev/null

# The test suite leaves its bundles in build/attest/test: good2 is trusted (lock, no
# violations), viol carries two violation classes.
record() {
    local T=$ROOT/build/attest/test
    "$ROOT/tests/attest/run.sh" | tail -n 1
    mkdir -p "$IN"
    cp "$T/good2.tvev" "$IN/trusted.tvev"
    cp "$T/good2.nonce" "$IN/trusted.nonce"
    cp "$T/viol.tvev" "$IN/violations.tvev"
    cp "$T/viol.nonce" "$IN/violations.nonce"
    cp "$T/verifier/ak.pub" "$IN/ak.pub"
    cp "$T/ref.conf" "$IN/ref.conf"
}
if [ "$RECORD" = 1 ] || [ ! -f "$IN/trusted.tvev" ]; then record; fi

STATE=$(mktemp -d)
trap 'rm -rf "$STATE"' EXIT
cp "$IN/ak.pub" "$STATE/ak.pub"

# bench BUNDLE ITERATIONS [wrapper...]: one `thinvmm-verifier bench` run.
bench() {
    local b=$1 n=$2
    shift 2
    "$@" "$V" bench --state "$STATE" --nonce "$(cat "$IN/$b.nonce")" --bundle "$IN/$b.tvev" \
        --config "$IN/ref.conf" --iterations "$n"
}

# Wall clock: RUNS runs per bundle, appraisals/s of each.
declare -A RATES
for b in trusted violations; do
    for _ in $(seq "$RUNS"); do
        line=$(bench "$b" "$ITER")
        echo "$b: $line"
        RATES[$b]+="$(sed -E 's/.*: ([0-9]+) appraisals\/s.*/\1/' <<<"$line") "
    done
done

# Instructions: 1 and 11 appraisals in one process each; the difference over 10 is one
# appraisal in steady state, without process start, seeding the DRBG, reading the inputs and
# building P-256's table of generator multiples (all in the first run only).
for n in 1 11; do
    bench trusted "$n" valgrind --tool=callgrind --callgrind-out-file="$STATE/cg.$n" >/dev/null 2>&1
    callgrind_annotate --inclusive=yes --threshold=100 "$STATE/cg.$n" >"$STATE/cg.$n.txt" 2>/dev/null
done

# For scale: OpenSSL's P-256 verification (assembly) on the same host, same moment.
OSSL=$(openssl speed -seconds 3 ecdsap256 2>/dev/null | awk '/nistp256/{print int($NF)}' || true)

python3 - "$STATE/cg.1.txt" "$STATE/cg.11.txt" "$OUT" "${RATES[trusted]}" "${RATES[violations]}" \
    "$ITER" "$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- attest || echo +changes)" \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" "$(nproc)" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" "$(dpkg-query -W -f '${Version}' libmbedcrypto7 2>/dev/null || echo '?')" "${OSSL:-0}" <<'EOF'
import re, statistics, sys, datetime
cg1, cg11, out, r_ok, r_viol, iters, commit, cpu, ncpu, load, mbed, ossl = sys.argv[1:]

def incl(path):
    """Inclusive instructions per function name (the first, largest, entry of each)."""
    d = {}
    for line in open(path):
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+\S*?:([A-Za-z_]\w*) \[", line)
        if m and m.group(2) not in d:
            d[m.group(2)] = int(m.group(1).replace(",", ""))
        m = re.match(r"\s*([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", line)
        if m:
            d["TOTAL"] = int(m.group(1).replace(",", ""))
    return d

a, b = incl(cg1), incl(cg11)
per = lambda f: (b.get(f, 0) - a.get(f, 0)) / 10
total = per("appraise_bundle")
rows = [
    ("ECDSA P-256 verify (`verify_ecdsa`: mbedtls, SHA-256 of the attest included)", "verify_ecdsa"),
    ("VMM log replay (`evlog_replay`: parse + one SHA-256 extend per event)", "evlog_replay"),
    ("  of which the tagged events (`vmmlog_event`: SHA-256 of launch/lock/class texts)", "vmmlog_event"),
    ("bundle decoding (`evidence_decode`: TVEV container + tss2-mu)", "evidence_decode"),
]
rates = lambda s: [int(x) for x in s.split()]
ok, viol = rates(r_ok), rates(r_viol)
with open(out, "w") as f:
    w = lambda s="": f.write(s + "\n")
    w("# Attestation verifier: appraisals per second (bench/attest-verifier.sh)")
    w()
    w(f"Recorded {datetime.date.today()} at commit {commit}; host: {cpu}, {ncpu} cores, "
      f"load average {load} at the end (other work, QEMU among it, was running); "
      f"Debian mbedtls {mbed}, `-O2`.")
    w()
    w("`thinvmm-verifier bench` appraises one recorded bundle (swtpm quote over PCRs 0-7,16-19,23, "
      "VMM log of 4 events: launch, image, policy, lock; the violations bundle adds 2 violation "
      "classes) in a loop: every claim from bundle-format to firmware-log, but no nonce consumed "
      "and no last-quote read or written, and the file read once.")
    w()
    w("## Wall clock (one core)")
    w()
    w("| bundle | appraisals/s, each run | median |")
    w("|---|---|---|")
    w(f"| trusted | {', '.join(map(str, ok))} | **{int(statistics.median(ok))}** |")
    w(f"| violations (2 classes) | {', '.join(map(str, viol))} | {int(statistics.median(viol))} |")
    w()
    w(f"{iters} appraisals per run. Wall time on this shared 2-core host varies by tens of "
      "percent from run to run; the instruction counts below do not.")
    w()
    w("## Instructions per appraisal (callgrind)")
    w()
    w(f"Steady state, (11 appraisals - 1 appraisal) / 10: **{total / 1e6:.2f} M instructions** "
      f"per appraisal (`appraise_bundle` inclusive). A whole one-shot process "
      f"(`bench --iterations 1`, like one `appraise` run without the state files) is "
      f"{a['TOTAL'] / 1e6:.1f} M: process start, seeding the DRBG "
      f"({a.get('crypto_init', 0) / 1e6:.1f} M) and the first verification, which also builds "
      "mbedtls's table of P-256 generator multiples (kept for later verifications).")
    w()
    w("| part | instructions | share |")
    w("|---|---:|---:|")
    for name, fn in rows:
        w(f"| {name} | {per(fn):,.0f} | {100 * per(fn) / total:.2f}% |")
    rest = total - per("verify_ecdsa") - per("evlog_replay") - per("evidence_decode")
    w(f"| everything else (selection, PCR digest, claims) | {rest:,.0f} | {100 * rest / total:.2f}% |")
    w()
    w("## What dominates")
    w()
    # The trusted bundle's VMM log extends 4 times; texts are hashed by vmmlog_event only.
    ext = (per("evlog_replay") - per("vmmlog_event")) / 4
    w(f"The ECDSA verification: {100 * per('verify_ecdsa') / total:.1f}% of the instructions. "
      "mbedtls 2.28 does the P-256 double multiplication u1*G + u2*Q with its general "
      "multi-precision integers (NIST fast reduction, no dedicated P-256 field code); the "
      "generator's table is cached in the group after the first verification, the AK's cannot "
      "be (mbedtls keeps one for G only). The VMM log's replay is "
      f"{100 * per('evlog_replay') / total:.2f}%: about {ext:,.0f} instructions per event to "
      "parse and extend (two SHA-256 compressions), plus the hash of each launch, lock or class "
      "text. No firmware log was in these bundles (swtpm has no firmware); a real one of 300 "
      f"events would add roughly {300 * ext / 1e6:.1f} M instructions, "
      f"about {100 * 300 * ext / per('verify_ecdsa'):.0f}% of one ECDSA verification.")
    w()
    w("**Against the issue's target (thousands of appraisals per second per core): not met.** "
      f"About {int(statistics.median(ok))} per second here. With ECDSA at this share, "
      "thousands per core need a faster P-256 verification, not changes to the parsing or "
      "replay: for scale, `openssl speed ecdsap256` (OpenSSL's assembly P-256) verified "
      f"{int(ossl)} signatures/s on this host at the same time. The project's rule is mbedtls "
      "for all signatures, so that is a decision to take, not a tuning step. Appraisals are "
      "independent, so a verifier scales with cores.")
EOF
echo "wrote $OUT"
