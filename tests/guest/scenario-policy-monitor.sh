#!/bin/sh
# e2e scenario "policy-monitor": lock policy/attack-monitor.pol (the default rules with every
# action "monitor", except LIDT/LGDT, which cannot be monitored). Each attack now goes through,
# undone by the probe as without thinvmm, and is recorded under its rule; the guest keeps
# running.
. "${TVMM_DIR:-/opt/thinvmm}/lib.sh"

tvmm_heading "scenario policy-monitor: $(tvmm_ncpus) CPU(s), kernel $(uname -r)"
tvmm_dmesg_clear
tvmm_insmod
tvmm_result load
if tvmm_ensure_loaded; then tvmm_lock attack-monitor; fi
tvmm_result lock

tvmm_heading "attacks under monitor rules: allowed and recorded"
tvmm_attack text-wp succeeded cr0-wp; tvmm_result monitor-text-wp
tvmm_attack text-alias succeeded kernel-text; tvmm_result monitor-text-alias
tvmm_attack rodata-alias succeeded kernel-rodata; tvmm_result monitor-rodata-alias
tvmm_attack idt-entry succeeded idt; tvmm_result monitor-idt-entry
tvmm_attack cr0-wp succeeded cr0-wp; tvmm_result monitor-cr0-wp
tvmm_attack cr4-smep succeeded cr4-protections; tvmm_result monitor-cr4-smep
tvmm_attack lstar succeeded syscall-msrs; tvmm_result monitor-lstar
tvmm_attack lidt blocked dt-loads; tvmm_result deny-lidt
tvmm_attack hc-unlock blocked ""; tvmm_result deny-hypercall-unlock

tvmm_scenario_end
