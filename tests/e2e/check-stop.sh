#!/usr/bin/env bash
# Judge a scenario that must end with the machine stopped by the VMM (a guest triple fault, a
# policy rule whose action is halt):
#   check-stop.sh CONSOLE_LOG VMM_LOG QEMU_STATUS SMP
# The scenario prints "TVMM-STOP: expect TEXT" (what the VMM must log as the reason), then
# "TVMM-STOP: start" just before the fatal step. QEMU must still have been running at the time
# limit (status 124: no reset, no power-off), the guest must have booted once and reached the
# step, and the VMM must have logged the reason and halted every CPU.
# Last line: "N passed, M failed".
set -uo pipefail
CON=$1 VMM=$2 QRC=$3 SMP=$4
P=0 F=0
res() { if [ "$1" = ok ]; then echo "PASS $2"; P=$((P + 1)); else echo "FAIL $2 ${3:-}"; F=$((F + 1)); fi; }
has() { grep -q -- "$2" "$1" 2>/dev/null; }

# Every check the scenario ran before the fatal step passed (and there was at least one).
npass=$(grep -c 'TVMM-TEST: PASS' "$CON" 2>/dev/null)
nfail=$(grep -c 'TVMM-TEST: FAIL' "$CON" 2>/dev/null)
if [ "$npass" -gt 0 ] && [ "$nfail" -eq 0 ]; then
    res ok steps-before "$npass"
else
    res no steps-before "$npass passed, $nfail failed: $(grep 'TVMM-TEST: FAIL' "$CON" | head -n 2 | tr '\n' ' ')"
fi
why=$(sed -n 's/.*TVMM-STOP: expect \(.*\)$/\1/p' "$CON" 2>/dev/null | head -n 1 | tr -d '\r')
if has "$CON" "TVMM-STOP: start" && ! has "$CON" "guest survived" && [ -n "$why" ]; then
    res ok fault-reached
else
    res no fault-reached "the fatal step did not run, declared no reason, or the guest survived"
fi
boots=$(grep -c "Linux version" "$CON" 2>/dev/null)
if [ "$QRC" = 124 ] && [ "$boots" = 1 ]; then
    res ok no-reset
else
    res no no-reset "QEMU status $QRC (124 = still stopped at the limit), $boots boot(s)"
fi
if [ -n "$why" ] && has "$VMM" "$why" && has "$VMM" "stopping the machine"; then
    res ok fault-logged
else
    res no fault-logged "no '$why' and 'stopping the machine' in $VMM"
fi
halted=$(grep -c "halted" "$VMM" 2>/dev/null)
if [ "$halted" -ge "$SMP" ]; then
    res ok all-cpus-stopped
else
    res no all-cpus-stopped "$halted of $SMP CPUs logged 'halted'"
fi
echo "$P passed, $F failed"
[ "$F" -eq 0 ]
