#!/bin/sh
# e2e scenario "triplefault": with thinvmm loaded, make the guest triple-fault. The VMM must
# log the guest state and stop every CPU; the machine must not reset. This scenario never
# reaches its end: tests/e2e/run.sh expects the time-out and judges the VMM's log.
. "${TVMM_DIR:-/opt/thinvmm}/lib.sh"

tvmm_heading "scenario triplefault: $(tvmm_ncpus) CPU(s)"
tvmm_insmod
tvmm_result load
tvmm_sigcheck quiet
tvmm_result signature-all-cpus
echo "TVMM-STOP: expect triple fault: rip"
echo "TVMM-STOP: start"
tvmm_insmod_raw "$TVMM_DIR/tvmm_probe.ko" test=triplefault
echo "TVMM-STOP: guest survived (wrong)"
