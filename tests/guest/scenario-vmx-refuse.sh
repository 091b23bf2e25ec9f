#!/bin/sh
# e2e scenario "vmx-refuse": an Intel CPU without VMX (Bochs -c p4_prescott_celeron_336, see
# tests/e2e/run.sh). thinvmm must refuse to load, say why (a kernel log line of thinvmm's that
# names VMX or VT-x), leave nothing behind, and leave the system working. The VMX twin of
# scenario-nosvm.sh.
. "${TVMM_DIR:-/opt/thinvmm}/lib.sh"

VENDOR=$(sed -n 's/^vendor_id[[:space:]]*: *//p' /proc/cpuinfo | head -n1)
tvmm_heading "scenario vmx-refuse: $(tvmm_ncpus) CPU(s), vendor ${VENDOR:-?}, vmx flag in /proc/cpuinfo: $(grep -qw vmx /proc/cpuinfo && echo yes || echo no)"
sed -n 's/^model name[[:space:]]*: */    model name: /p' /proc/cpuinfo | head -n1

# The premise: the emulated CPU is an Intel one and has no VMX. Otherwise the test proves
# nothing (a wrong Bochs model in the table).
tvmm_heading "the CPU is Intel without VMX"
if [ "$VENDOR" != GenuineIntel ]; then
    TVMM_WHY="vendor is '${VENDOR:-?}', not GenuineIntel: pick an Intel Bochs model without VMX"
elif grep -qw vmx /proc/cpuinfo; then
    TVMM_WHY="/proc/cpuinfo shows the vmx flag: pick a Bochs model without VMX"
else
    TVMM_WHY=""
fi
tvmm_result intel-without-vmx

tvmm_heading "load must be refused"
tvmm_dmesg_clear
if [ ! -f "$TVMM_KO" ]; then
    TVMM_WHY="$TVMM_KO is missing"
elif tvmm_insmod_raw "$TVMM_KO" >/tmp/tvmm-insmod.out 2>&1; then
    TVMM_WHY="insmod thinvmm.ko succeeded on a CPU without VMX"
    tvmm_rmmod_raw thinvmm >/dev/null 2>&1
else
    tvmm_show /tmp/tvmm-insmod.out
    if tvmm_present; then
        TVMM_WHY="insmod failed but thinvmm stayed in /proc/modules: $(tvmm_modline)"
    else
        TVMM_WHY=""
    fi
fi
tvmm_result refuse-load

tvmm_heading "refusal reason in the kernel log"
dmesg | grep thinvmm | sed 's/^/    /'
if dmesg | grep thinvmm | grep -Eq 'VMX|VT-x'; then
    TVMM_WHY=""
else
    TVMM_WHY="no kernel log line mentions both thinvmm and VMX or VT-x"
fi
tvmm_result refuse-reason

tvmm_heading "the system still works"
tvmm_workload
tvmm_result guest-continues

tvmm_heading "kernel log"
tvmm_dmesg_summary 20
