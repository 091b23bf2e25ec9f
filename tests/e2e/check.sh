#!/usr/bin/env bash
# Judge one e2e boot from its logs.
#
# Usage: tests/e2e/check.sh CONSOLE_LOG [VMM_LOG]
#
# Counts the guest's result lines (found anywhere in a console line, since kernel messages can
# land in front of them):
#   TVMM-TEST: PASS <name>
#   TVMM-TEST: FAIL <name> <reason>
#   TVMM-TEST: SKIP <name> <reason>      (shown, not counted)
# and adds failures of its own:
#   kernel-health   the console shows Oops, BUG:, Kernel panic, WARNING:, Call Trace,
#                   general protection fault or RIP: 0010 (the out-of-tree/unsigned module taint
#                   notices are expected and ignored)
#   completed       "TVMM-E2E: done" is missing (hang, crash, reboot, timeout)
#   result-lines    the guest's own tally ("TVMM-E2E: results P passed, F failed") differs from
#                   the lines found, i.e. a result line was lost or garbled on the console
#   vmm-health      VMM_LOG (COM2, the hypervisor's log) shows PANIC/panic:/ASSERT/FATAL/triple fault
# Prints one line per result and ends with exactly "N passed, M failed".
# Exit status: 0 iff M = 0 and N > 0; 1 otherwise; 2 on bad usage.
set -euo pipefail
ME=$(basename "$0")
die() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 2; }

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: $ME CONSOLE_LOG [VMM_LOG]"
CONSOLE=$1
VMMLOG=${2:-}
[ -f "$CONSOLE" ] || die "console log '$CONSOLE' not found"

# Serial output has CRLF line ends and may carry other control bytes.
clean() { tr -d '\r' <"$1" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g'; }
CON=$(clean "$CONSOLE")

PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); printf 'PASS %s\n' "$1"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL %s %s\n' "$1" "$2"; }

# --- the guest's results ---------------------------------------------------------------------
RESULTS=$(printf '%s\n' "$CON" | sed -n 's/.*TVMM-TEST: \(\(PASS\|FAIL\|SKIP\) .*\)$/\1/p')
GP=0 GF=0
while read -r verdict name reason; do
    [ -n "${verdict:-}" ] || continue
    case "$verdict" in
        PASS) GP=$((GP + 1)); pass "$name" ;;
        FAIL) GF=$((GF + 1)); fail "$name" "${reason:-(no reason given)}" ;;
        SKIP) printf 'SKIP %s %s\n' "$name" "${reason:-}" ;;
    esac
done <<<"$RESULTS"

# --- the kernel's health ---------------------------------------------------------------------
HEALTH_RE='Oops|BUG:|Kernel panic|WARNING:|Call Trace|general protection fault|RIP: 0010'
# Expected on every run: the modules are out of tree and unsigned.
EXPECTED_RE='loading out-of-tree module taints kernel|module verification failed: signature and/or required key missing - tainting kernel'
BAD=$(printf '%s\n' "$CON" | grep -nE "$HEALTH_RE" | grep -vE "$EXPECTED_RE" || true)
if [ -n "$BAD" ]; then
    fail kernel-health "$(printf '%s\n' "$BAD" | wc -l) suspicious console line(s), first: $(printf '%s\n' "$BAD" | head -n1 | cut -c1-160)"
    printf '%s\n' "$BAD" | head -n 20 | sed 's/^/    console:/'
fi

# --- completion ------------------------------------------------------------------------------
if ! grep -q 'TVMM-E2E: done' <<<"$CON"; then
    last=$(printf '%s\n' "$CON" | grep -v '^[[:space:]]*$' | tail -n1 | cut -c1-160)
    fail completed "no 'TVMM-E2E: done' on the console (last line: ${last:-<empty console>})"
fi

# --- the guest's own tally --------------------------------------------------------------------
TALLY=$(printf '%s\n' "$CON" | grep 'TVMM-E2E: results ' | tail -n1 || true)
if [ -n "$TALLY" ]; then
    if [[ "$TALLY" =~ TVMM-E2E:\ results\ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
        TP=${BASH_REMATCH[1]} TF=${BASH_REMATCH[2]}
        if [ "$TP" -ne "$GP" ] || [ "$TF" -ne "$GF" ]; then
            fail result-lines "guest counted $TP passed/$TF failed, console shows $GP/$GF (a result line was lost or garbled)"
        fi
    else
        fail result-lines "unreadable tally line: $(printf '%s' "$TALLY" | cut -c1-160)"
    fi
fi

# --- the hypervisor's log ---------------------------------------------------------------------
if [ -n "$VMMLOG" ]; then
    if [ -f "$VMMLOG" ]; then
        VBAD=$(clean "$VMMLOG" | grep -nE 'PANIC|[Pp]anic:|ASSERT|FATAL|[Tt]riple fault' || true)
        if [ -n "$VBAD" ]; then
            fail vmm-health "$(printf '%s\n' "$VBAD" | head -n1 | cut -c1-160)"
            printf '%s\n' "$VBAD" | head -n 20 | sed 's/^/    vmm:/'
        fi
        printf 'note: %s has %s line(s)\n' "$VMMLOG" "$(clean "$VMMLOG" | wc -l)"
    else
        printf 'note: VMM log %s does not exist\n' "$VMMLOG"
    fi
fi

printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
