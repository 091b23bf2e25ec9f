#!/usr/bin/env bash
# Judge a scenario that must end with the machine stopped by the VMM (a guest triple fault):
#   check-stop.sh CONSOLE_LOG VMM_LOG QEMU_STATUS SMP
# QEMU must still have been running at the time limit (status 124: no reset, no power-off),
# the guest must have booted once and reached the fault, and the VMM must have logged the
# fault with the guest state and halted every CPU. Last line: "N passed, M failed".
set -uo pipefail
CON=$1 VMM=$2 QRC=$3 SMP=$4
P=0 F=0
res() { if [ "$1" = ok ]; then echo "PASS $2"; P=$((P + 1)); else echo "FAIL $2 ${3:-}"; F=$((F + 1)); fi; }
has() { grep -q -- "$2" "$1" 2>/dev/null; }

for t in load signature-all-cpus; do
    if has "$CON" "TVMM-TEST: PASS $t"; then res ok "$t"; else res no "$t" "no PASS line"; fi
done
if has "$CON" "TVMM-TRIPLEFAULT: start" && ! has "$CON" "guest survived"; then
    res ok fault-reached
else
    res no fault-reached "the probe did not run or the guest survived"
fi
boots=$(grep -c "Linux version" "$CON" 2>/dev/null)
if [ "$QRC" = 124 ] && [ "$boots" = 1 ]; then
    res ok no-reset
else
    res no no-reset "QEMU status $QRC (124 = still stopped at the limit), $boots boot(s)"
fi
if has "$VMM" "triple fault: rip" && has "$VMM" "stopping the machine"; then
    res ok fault-logged
else
    res no fault-logged "no 'triple fault: rip ...' and 'stopping the machine' in $VMM"
fi
halted=$(grep -c "halted" "$VMM" 2>/dev/null)
if [ "$halted" -ge "$SMP" ]; then
    res ok all-cpus-stopped
else
    res no all-cpus-stopped "$halted of $SMP CPUs logged 'halted'"
fi
echo "$P passed, $F failed"
[ "$F" -eq 0 ]
