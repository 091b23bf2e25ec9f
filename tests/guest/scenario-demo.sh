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

tvmm_heading "7. rmmod thinvmm: the CPUs leave the hypervisor"
if tvmm_rmmod_raw thinvmm; then echo "    unloaded."; else echo "    rmmod failed (status $?)"; fi
[ -x "$TVMM_SIGCHECK" ] && { "$TVMM_SIGCHECK"; echo "    (tvmm-sigcheck exit status $?; non-zero expected now)"; }

tvmm_heading "demo finished"
