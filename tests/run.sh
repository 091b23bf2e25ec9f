#!/usr/bin/env bash
# Every test suite, in order of cost: formatting, unit tests (ASan/UBSan), fuzz smoke runs,
# the emulator scenarios. Each suite's counts are summed; the last line is
# "N passed, M failed". Exit status 0 only if nothing failed and something passed.
# Usage: tests/run.sh [SUITE...]   (suites: format unit policy fuzz attest e2e; default all)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p build
LOG=build/test-summary.txt
: >"$LOG"
PASSED=0 FAILED=0

# count SUITE FILE: add the suite's "N passed, M failed" line from FILE, or one failure if none.
count() {
    local line p f
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$2" | tail -n 1)
    if [ -z "$line" ]; then
        echo "suite $1: no result line: counted as one failure" | tee -a "$LOG"
        FAILED=$((FAILED + 1))
        return
    fi
    p=${line%% passed*}
    f=${line#*, }
    f=${f%% failed*}
    echo "suite $1: $line" | tee -a "$LOG"
    PASSED=$((PASSED + p))
    FAILED=$((FAILED + f))
}

suite_format() {
    local files bad=0 n=0
    files=$(git ls-files '*.c' '*.h' 2>/dev/null)
    for f in $files; do
        n=$((n + 1))
        if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
            echo "FAIL format $f (run: make format)"
            bad=$((bad + 1))
        fi
    done
    echo "$((n - bad)) passed, $bad failed"
}

suite_unit() {
    make -s -C tests/unit run
}

suite_policy() { tests/policy/run.sh; }

suite_fuzz() {
    local out rc ok fail
    out=$(make -s -C tests/fuzz smoke 2>&1)
    rc=$?
    echo "$out" | tail -n 20
    ok=$(grep -c '^fuzz .*: ok' <<<"$out")
    fail=$(grep -c '^fuzz .*: FAIL' <<<"$out")
    [ "$rc" -eq 0 ] || [ "$fail" -gt 0 ] || fail=1
    echo "$ok passed, $fail failed"
}

suite_attest() {
    tests/attest/run.sh
}

suite_e2e() {
    tests/e2e/run.sh
}

SUITES=("$@")
[ ${#SUITES[@]} -gt 0 ] || SUITES=(format unit policy fuzz attest e2e)
for s in "${SUITES[@]}"; do
    declare -F "suite_$s" >/dev/null || { echo "unknown suite '$s'" >&2; exit 2; }
    echo
    echo "===== suite $s ====="
    out=build/test-$s.log
    "suite_$s" 2>&1 | tee "$out"
    count "$s" "$out"
done
echo
cat "$LOG"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
