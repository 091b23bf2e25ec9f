#!/bin/sh
# e2e scenario "policy-halt": lock a policy whose kernel-text rule says halt, then write
# kernel text through an alias. The VMM must record it and stop the machine (no reset).
# This scenario never reaches its end: tests/e2e/check-stop.sh judges the VMM's log.
. "${TVMM_DIR:-/opt/thinvmm}/lib.sh"

tvmm_heading "scenario policy-halt: $(tvmm_ncpus) CPU(s)"
tvmm_insmod
tvmm_result load
tvmm_sigcheck quiet
tvmm_result signature-all-cpus
tvmm_lock attack-halt
tvmm_result lock
echo "TVMM-STOP: expect policy: halt on a memory rule"
echo "TVMM-STOP: start"
tvmm_attack text-alias blocked
echo "TVMM-STOP: guest survived (wrong)"
