#!/bin/sh
# Scenario "demo" (make run): thinvmm slips under the running kernel, measures itself into the
# TPM, locks a policy and proves it to a verifier on the host, blocks attacks and reports them.
# Meant for a human watching the console, not for counting results. The host (tests/e2e/demo.sh)
# enrolled the TPM's AK and passes two nonces (tvmm.nonces=); it appraises each bundle the guest
# sends (tvmm_quote in lib.sh) as soon as it arrives and prints the verdict between the steps.
. "${TVMM_DIR:-/opt/thinvmm}/lib.sh"

pause() { sleep "${TVMM_DEMO_PAUSE:-1}"; }
# After a bundle is sent: time for the host's verdict to appear before the next step.
wait_host() { tvmm_info "(the verifier on the host appraises it now)"; sleep "${TVMM_DEMO_HOST_WAIT:-4}"; }
ATTEST=1
tvmm_attest_setup || { ATTEST=0; echo "    no attestation in this boot: $TVMM_WHY"; }

tvmm_heading "thinvmm demo: Linux $(uname -r) on $(tvmm_ncpus) CPU(s)"
echo "Files in $TVMM_DIR:"
ls "$TVMM_DIR" | tr '\n' ' ' | fold -s -w 96 | sed 's/^/    /'
echo
pause

tvmm_heading "1. Before loading: is a hypervisor signature there? (expect: no)"
[ -x "$TVMM_SIGCHECK" ] && { "$TVMM_SIGCHECK"; echo "    (tvmm-sigcheck exit status $?)"; }
pause

tvmm_heading "2. insmod thinvmm.ko: every CPU is moved under the hypervisor, which measures itself"
P17=$(tvmm_pcr 17)
# (the kernel's own messages about it appear on this console as they are printed)
if tvmm_insmod_raw "$TVMM_KO"; then
    echo "    loaded."
else
    echo "    insmod failed (status $?)"
fi
if [ -n "$P17" ]; then
    echo "    PCR17 before: $P17"
    echo "    PCR17 after:  $(tvmm_pcr 17)   (extended by the VMM at TPM locality 2)"
    echo "    the VMM's TCG event log (thinvmm-ctl tpmlog), its texts:"
    "$TVMM_CTL" tpmlog 2>/dev/null | strings -n 6 | grep -v '^Spec ID' | sed 's/^/      /'
    echo "    (emulated DRTM: no SKINIT/SENTER here; the evidence says so)"
fi
pause

tvmm_heading "3. tvmm-sigcheck: CPUID 0x40000000 on each CPU (expect: ThinVMM everywhere)"
[ -x "$TVMM_SIGCHECK" ] && { "$TVMM_SIGCHECK"; echo "    (tvmm-sigcheck exit status $?)"; }
pause

tvmm_heading "4. thinvmm-ctl status"
[ -x "$TVMM_CTL" ] && "$TVMM_CTL" status
pause

tvmm_heading "5. thinvmm-ctl log: the hypervisor's own log, read by hypercall (last 8 lines)"
[ -x "$TVMM_CTL" ] && "$TVMM_CTL" log | tail -n 8
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
[ -n "$P17" ] && echo "    PCR18 now: $(tvmm_pcr 18)   PCR19 now: $(tvmm_pcr 19)"
pause

if [ "$ATTEST" = 1 ]; then
    tvmm_heading "9. thinvmm-agent quote: the TPM signs PCRs $TVMM_QUOTE_PCRS over the verifier's nonce"
    tvmm_quote locked "$(tvmm_nonce 0)" || echo "    quote FAILED: $TVMM_WHY"
    wait_host
fi

tvmm_heading "10. The attacks after the lock (expect: blocked, each recorded)"
for a in text-alias text-wp rodata-alias idt-entry cr0-wp cr4-smep lstar lidt hc-unlock; do
    tvmm_attack "$a" blocked || echo "    $TVMM_WHY"
done
pause

# A DMA-capable device (QEMU's edu) reads and writes memory by physical address, past the CPUs'
# nested paging: only the IOMMU stops it.
if tvmm_dma_load && tvmm_vmm_info && pa=$(tvmm_dma_target text); then
    tvmm_heading "10b. DMA attacks by a PCI device (edu): read the VMM, write kernel text (expect: blocked, recorded)"
    tvmm_dma read "$TVMM_CHUNK0" 16 || echo "    $TVMM_DMA_OUT"
    echo "    the VMM's first page by DMA: $TVMM_DMA_OUT ('ThinVMM' would be 5468696e564d4d00...)"
    before=$(tvmm_dma peek "$pa" 4 && echo "$TVMM_DMA_OUT")
    tvmm_dma write "$pa" cccccccc || echo "    $TVMM_DMA_OUT"
    after=$(tvmm_dma peek "$pa" 4 && echo "$TVMM_DMA_OUT")
    echo "    kernel text at $pa before: $before, after a DMA write of cccccccc: $after"
    "$TVMM_CTL" status | grep '^dma'
    pause
else
    echo "    (no DMA attacks: $TVMM_WHY)"
fi

tvmm_heading "11. thinvmm-ctl events: what the hypervisor recorded"
"$TVMM_CTL" events | head -n 24
pause

if [ "$ATTEST" = 1 ]; then
    tvmm_heading "12. thinvmm-agent quote again: the evidence now carries the violations"
    tvmm_quote attacked "$(tvmm_nonce 1)" || echo "    quote FAILED: $TVMM_WHY"
    wait_host
fi

tvmm_heading "13. The guest keeps working; rmmod is now refused"
if tvmm_workload; then echo "    workload OK"; else echo "    workload FAILED: $TVMM_WHY"; fi
if tvmm_rmmod_raw thinvmm 2>&1; then echo "    unloaded (unexpected)"; else echo "    rmmod refused, as it must be after the lock."; fi

tvmm_heading "demo finished"
