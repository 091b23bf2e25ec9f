#!/bin/sh
# e2e scenario "nosvm": the CPU has no SVM (QEMU -cpu max,-svm). thinvmm must refuse to load,
# say why, and leave the system working.
. "${TVMM_DIR:-/opt/thinvmm}/lib.sh"

tvmm_heading "scenario nosvm: $(tvmm_ncpus) CPU(s), svm flag in /proc/cpuinfo: $(grep -qw svm /proc/cpuinfo && echo yes || echo no)"

tvmm_heading "load must be refused"
tvmm_dmesg_clear
if [ ! -f "$TVMM_KO" ]; then
    TVMM_WHY="$TVMM_KO is missing"
elif tvmm_insmod_raw "$TVMM_KO" >/tmp/tvmm-insmod.out 2>&1; then
    TVMM_WHY="insmod thinvmm.ko succeeded on a CPU without SVM"
    tvmm_rmmod_raw thinvmm >/dev/null 2>&1
else
    tvmm_show /tmp/tvmm-insmod.out
    TVMM_WHY=""
fi
tvmm_result refuse-load

tvmm_heading "refusal reason in the kernel log"
dmesg | grep thinvmm | sed 's/^/    /'
if dmesg | grep thinvmm | grep -q SVM; then
    TVMM_WHY=""
else
    TVMM_WHY="no kernel log line mentions both thinvmm and SVM"
fi
tvmm_result refuse-reason

tvmm_heading "the system still works"
tvmm_workload
tvmm_result guest-continues

tvmm_heading "kernel log"
tvmm_dmesg_summary 20
