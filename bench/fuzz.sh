#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Longer fuzz runs than `make test`'s 15-second smoke runs: each libFuzzer target in
# tests/fuzz runs for SECONDS from its committed seeds plus what earlier runs here found
# (build/fuzz/corpus/<target>, kept between runs), and the summary records runs, speed,
# coverage, corpus and any crash, so a stale oracle or a parser bug shows up here rather than
# by luck in a smoke run. A crash leaves its input in build/fuzz/artifacts/ (reproduce with
# build/fuzz/<target> <file>).
#   bench/fuzz.sh [-t SECONDS] [-o OUT.md] [TARGET...]   (default 300 s each, every target)
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECS=300 OUT=$ROOT/bench/results/fuzz.md
while getopts t:o:h o; do
    case $o in
    t) SECS=$OPTARG ;;
    o) OUT=$OPTARG ;;
    *) sed -n '3,9p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[[ "$SECS" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: -t wants seconds, not '$SECS'" >&2; exit 2; }

make -s -C "$ROOT/tests/fuzz" >/dev/null || { echo "fuzz.sh: building the fuzzers failed" >&2; exit 1; }
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || mapfile -t TARGETS < <(cd "$ROOT/tests/fuzz" && ls fuzz_*.c | sed 's/\.c$//')
LOGS=$ROOT/build/fuzz/bench
mkdir -p "$LOGS"

ROWS=() BAD=0
for t in "${TARGETS[@]}"; do
    log=$LOGS/$t.log
    echo "fuzz.sh: $t for ${SECS}s"
    make -s -C "$ROOT/tests/fuzz" "run-$t" FUZZ_TIME="$SECS" >"$log" 2>&1
    rc=$?
    # libFuzzer's last status line: "#N DONE cov: C ft: F corp: K/S lim: L exec/s: E ..."
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
    runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$done_line")
    cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$done_line")
    ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$done_line")
    corp=$(sed -n 's/.*corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$done_line")
    eps=$(sed -n 's/.*exec\/s: \([0-9]*\).*/\1/p' <<<"$done_line")
    if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
        verdict="no crash"
    else
        BAD=$((BAD + 1))
        verdict="FAILED (exit $rc): $(grep -m1 -E 'ERROR|REQUIRE|deadly signal|Timeout' "$log" | cut -c1-120)"
    fi
    ROWS+=("| \`$t\` | ${runs:-?} | ${eps:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | $verdict |")
    echo "fuzz.sh: $t: ${runs:-?} runs, $verdict"
done

{
    echo "# Fuzz runs (bench/fuzz.sh)"
    echo
    echo "Recorded $(date -u +%Y-%m-%d) at commit $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- tests/fuzz thinvmm attest policy || echo ' (with local changes)'); host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(clang --version | head -n 1)."
    echo
    echo "Each target ran ${SECS} s on one core (\`make -C tests/fuzz run-TARGET FUZZ_TIME=${SECS}\`: ASan + UBSan, libFuzzer), starting from its seeds in \`tests/fuzz/corpus/\` and the corpus earlier runs on this machine kept in \`build/fuzz/corpus/\`. Coverage is libFuzzer's count of edges (cov) and features (ft) in the instrumented code; corp is the corpus at the end (inputs/bytes)."
    echo
    echo "| target | runs | exec/s | cov | ft | corp | result |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "What each target checks is in its header comment (tests/fuzz/*.c); the smoke runs in \`make test\` are 15 s each from the seeds only."
} >"$OUT"
echo "fuzz.sh: summary in $OUT"
[ "$BAD" -eq 0 ]
