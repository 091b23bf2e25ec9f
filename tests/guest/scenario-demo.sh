#!/bin/sh
# Scenario "demo" (make run): show thinvmm slipping under the running kernel and leaving again.
# Meant for a human watching the console, not for counting results.
. "${TVMM_DIR:-/opt/thinvmm}/lib.sh"

pause() { sleep "${TVMM_DEMO_PAUSE:-1}"; }

tvmm_heading "thinvmm demo: Linux $(uname -r) on $(tvmm_ncpus) CPU(s)"
echo "Files in $TVMM_DIR:"
ls -l "$TVMM_DIR" | sed 's/^/    /'
pause

tvmm_heading "1. Before loading: is a hypervisor signature there? (expect: no)"
[ -x "$TVMM_SIGCHECK" ] && { "$TVMM_SIGCHECK"; echo "    (tvmm-sigcheck exit status $?)"; }
pause

tvmm_heading "2. insmod thinvmm.ko: every CPU is moved under the hypervisor"
if tvmm_insmod_raw "$TVMM_KO"; then
    echo "    loaded."
else
    echo "    insmod failed (status $?)"
fi
dmesg | grep thinvmm | tail -n 10 | sed 's/^/    /'
pause

tvmm_heading "3. tvmm-sigcheck: CPUID 0x40000000 on each CPU (expect: ThinVMM everywhere)"
[ -x "$TVMM_SIGCHECK" ] && { "$TVMM_SIGCHECK"; echo "    (tvmm-sigcheck exit status $?)"; }
pause

tvmm_heading "4. thinvmm-ctl status"
[ -x "$TVMM_CTL" ] && "$TVMM_CTL" status
pause

tvmm_heading "5. thinvmm-ctl log: the hypervisor's own log, read by hypercall (last 15 lines)"
[ -x "$TVMM_CTL" ] && "$TVMM_CTL" log | tail -n 15
pause

tvmm_heading "6. The guest keeps working: a small workload"
if tvmm_workload; then echo "    workload OK"; else echo "    workload FAILED: $TVMM_WHY"; fi
pause

tvmm_heading "7. An attack before the lock: write kernel text through a fresh alias (succeeds, undone)"
tvmm_attack text-alias succeeded || echo "    $TVMM_WHY"
pause

tvmm_heading "8. thinvmm-ctl lock linux-default.bin: kernel text, rodata, IDT, CR0.WP/CR4.SMEP/SMAP, syscall MSRs, LIDT/LGDT"
[ -x "$TVMM_CTL" ] && "$TVMM_CTL" lock "$TVMM_DIR/linux-default.bin"
"$TVMM_CTL" status | grep '^policy'
pause

tvmm_heading "9. The same attacks after the lock (expect: blocked, each recorded)"
for a in text-alias text-wp rodata-alias idt-entry cr0-wp cr4-smep lstar lidt hc-unlock; do
    tvmm_attack "$a" blocked || echo "    $TVMM_WHY"
done
pause

tvmm_heading "10. thinvmm-ctl events: what the hypervisor recorded"
"$TVMM_CTL" events
pause

tvmm_heading "11. The guest keeps working; rmmod is now refused"
if tvmm_workload; then echo "    workload OK"; else echo "    workload FAILED: $TVMM_WHY"; fi
if tvmm_rmmod_raw thinvmm 2>&1; then echo "    unloaded (unexpected)"; else echo "    rmmod refused, as it must be after the lock."; fi

tvmm_heading "demo finished"
