#!/bin/sh
# e2e scenario "dma-control": the DMA attacks of scenario-dma.sh on a machine without an IOMMU
# (row svm-dma-control: QEMU's edu device, no intel-iommu). thinvmm must say it cannot protect
# against DMA, and every attack must work: a device reads the VMM's first page (its image
# header "ThinVMM"), writes into it (the image hash changes), and after the lock writes kernel
# text, rodata and the IDT. Each write is undone. Without this, "blocked" under VT-d would prove
# nothing.
. "${TVMM_DIR:-/opt/thinvmm}/lib.sh"

tvmm_heading "scenario dma-control: $(tvmm_ncpus) CPU(s), kernel $(uname -r), no IOMMU"

tvmm_heading "load"
tvmm_dmesg_clear
tvmm_insmod
tvmm_result load

tvmm_heading "status: no DMA protection without an IOMMU"
TVMM_WHY=""
line=$(tvmm_dma_status)
tvmm_info "${line:-no dma: line}"
[ "$line" = "dma: unprotected (no IOMMU)" ] || TVMM_WHY="thinvmm-ctl status says '${line:-no dma: line}', expected 'dma: unprotected (no IOMMU)'"
tvmm_result dma-status-none

tvmm_heading "the DMA tool (edu)"
if tvmm_dma_load && tvmm_dma info; then
    tvmm_info "$TVMM_DMA_OUT"
    sid=$(tvmm_edu_sid)
    case "$TVMM_DMA_OUT" in *" sid $sid "*) ;; *) TVMM_WHY="edu's source id from sysfs ($sid) differs from the tool's: $TVMM_DMA_OUT" ;; esac
else
    TVMM_WHY="${TVMM_WHY:-tvmm_dma info: $TVMM_DMA_OUT}"
fi
tvmm_result dma-tool

# DMA write of one byte: flip it, check, restore. $1 name, $2 PA; sets TVMM_WHY.
# Reads back with peek (the CPU, through the direct map).
dma_flip() {
    TVMM_WHY=""
    tvmm_dma peek "$2" 1 || { TVMM_WHY="peek $2: $TVMM_DMA_OUT"; return 1; }
    _b=$TVMM_DMA_OUT
    _f=$(printf '%02x' $((0x$_b ^ 0x01)))
    tvmm_dma write "$2" "$_f" || { TVMM_WHY="dma write $2: $TVMM_DMA_OUT"; return 1; }
    tvmm_dma peek "$2" 1
    _a=$TVMM_DMA_OUT
    tvmm_dma write "$2" "$_b"
    tvmm_dma peek "$2" 1
    tvmm_info "$1 at $2: byte $_b -> DMA write $_f -> $_a (restored: $TVMM_DMA_OUT)"
    [ "$_a" = "$_f" ] || TVMM_WHY="the DMA write into $1 at $2 did not take ($_b -> $_a)"
    [ "$TVMM_DMA_OUT" = "$_b" ] || TVMM_WHY="$TVMM_WHY $1 at $2 not restored ($TVMM_DMA_OUT, was $_b)"
    [ -z "$TVMM_WHY" ]
}

tvmm_heading "a device reads the VMM's first page"
if tvmm_vmm_info && tvmm_dma read "$TVMM_CHUNK0" 64; then
    tvmm_info "chunk0 $TVMM_CHUNK0: $(echo "$TVMM_DMA_OUT" | cut -c1-64)..."
    case "$TVMM_DMA_OUT" in
        5468696e564d4d00*) ;;
        *) TVMM_WHY="the DMA read of $TVMM_CHUNK0 did not return 'ThinVMM': $(echo "$TVMM_DMA_OUT" | cut -c1-64)" ;;
    esac
else
    TVMM_WHY="${TVMM_WHY:-dma read: $TVMM_DMA_OUT}"
fi
tvmm_result control-dma-read-vmm

tvmm_heading "a device writes the VMM's first page (image hash changes), then undoes it"
if tvmm_vmm_info; then
    h0=$TVMM_HASH pa=$(printf '%#x' $((TVMM_CHUNK0 + 6)))   # the second 'M' of "ThinVMM"
    if tvmm_dma write "$pa" 6d; then
        tvmm_vmm_info; h1=$TVMM_HASH
        tvmm_dma write "$pa" 4d
        tvmm_vmm_info; h2=$TVMM_HASH
        tvmm_info "image hash $h0 -> $h1 after the write, $h2 after the undo"
        [ "$h1" != "$h0" ] || TVMM_WHY="the image hash did not change ($h0) after a DMA write into the VMM"
        [ "$h2" = "$h0" ] || TVMM_WHY="$TVMM_WHY the image hash did not come back ($h2, was $h0)"
    else
        TVMM_WHY="dma write: $TVMM_DMA_OUT"
    fi
fi
tvmm_result control-dma-write-vmm

tvmm_heading "lock the default policy"
if tvmm_ensure_loaded; then tvmm_lock linux-default; fi
tvmm_result lock

for t in text rodata idt; do
    tvmm_heading "after the lock: a device writes $t"
    if pa=$(tvmm_dma_target $t); then
        dma_flip "$t" "$pa"
    else
        TVMM_WHY="no physical address for the $t target"
    fi
    tvmm_result "control-dma-write-$t"
done

tvmm_scenario_end
