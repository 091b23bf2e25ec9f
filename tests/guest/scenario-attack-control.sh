#!/bin/sh
# e2e scenario "attack-control": the attack suite without thinvmm. Each attack must succeed
# here (and be undone by the probe), or its "blocked" under thinvmm would prove nothing.
# The hypercall and VMM-memory attacks have no meaning without a VMM and are not run.
. "${TVMM_DIR:-/opt/thinvmm}/lib.sh"

tvmm_heading "scenario attack-control: no thinvmm, $(tvmm_ncpus) CPU(s), kernel $(uname -r)"
if tvmm_present; then TVMM_WHY="thinvmm is loaded"; fi
tvmm_result thinvmm-absent

# pte-remap: the kernel's own page-table entry for a text address pointed at a copy and back.
for a in text-wp text-alias rodata-alias idt-entry cr0-wp cr4-smep cr4-smap lstar lidt pte-remap; do
    tvmm_heading "attack $a"
    tvmm_attack "$a" succeeded
    tvmm_result "control-$a"
done

tvmm_heading "the guest keeps running"
tvmm_workload
tvmm_result still-running
tvmm_dmesg_summary
