#!/bin/sh
# e2e scenario "dma": DMA protection with VT-d (row svm-dma: QEMU's intel-iommu, which the guest
# kernel leaves off, the edu device, a virtio-blk and an AHCI disk). thinvmm takes the IOMMU:
# a device can neither read nor write the VMM, the guest cannot switch translation off or move
# the root table, after the lock a device cannot write kernel text, rodata or the IDT, and every
# blocked attempt is a dma record with the device's source id. Real DMA (O_DIRECT disk I/O)
# works and records nothing. The same attacks succeed without an IOMMU: scenario-dma-control.sh.
. "${TVMM_DIR:-/opt/thinvmm}/lib.sh"

tvmm_heading "scenario dma: $(tvmm_ncpus) CPU(s), kernel $(uname -r), VT-d left to thinvmm"
DISK_MIB=${TVMM_DMA_DISK_MIB:-48}

tvmm_heading "load"
tvmm_dmesg_clear
tvmm_insmod
tvmm_result load

tvmm_heading "status: DMA protected"
TVMM_WHY=""
line=$(tvmm_dma_status)
tvmm_info "${line:-no dma: line}"
case "$line" in
    "dma: protected (vt-d, "*) ;;
    *) TVMM_WHY="thinvmm-ctl status says '${line:-no dma: line}', expected 'dma: protected (vt-d, ...)'" ;;
esac
if tvmm_run /tmp/tvmm-json.out "$TVMM_CTL" status --json; then
    grep -q '"dma":{[^}]*"state":"protected"' /tmp/tvmm-json.out ||
        TVMM_WHY="$TVMM_WHY status --json lacks \"dma\":{...\"state\":\"protected\"...}: $(grep -o '"dma":{[^}]*}' /tmp/tvmm-json.out | tvmm_oneline)"
else
    TVMM_WHY="$TVMM_WHY thinvmm-ctl status --json failed"
fi
tvmm_result dma-status-protected

tvmm_heading "the DMA tool (edu) works under the IOMMU"
SID=$(tvmm_edu_sid)
if tvmm_dma_load && tvmm_dma info; then
    tvmm_info "$TVMM_DMA_OUT (sysfs: source id $SID)"
    case "$TVMM_DMA_OUT" in *" sid $SID "*) ;; *) TVMM_WHY="edu's source id from sysfs ($SID) differs from the tool's: $TVMM_DMA_OUT" ;; esac
    # A read of ordinary memory must still work, or every "blocked" below proves nothing.
    if [ -z "$TVMM_WHY" ] && pa=$(tvmm_dma_target rodata) && tvmm_dma read "$pa" 13; then
        tvmm_info "linux_banner at $pa by DMA: $TVMM_DMA_OUT"
        [ "$TVMM_DMA_OUT" = 4c696e75782076657273696f6e ] || TVMM_WHY="a DMA read of linux_banner did not return 'Linux version': $TVMM_DMA_OUT"
    else
        TVMM_WHY="${TVMM_WHY:-DMA read of linux_banner: $TVMM_DMA_OUT}"
    fi
else
    TVMM_WHY="${TVMM_WHY:-tvmm_dma info: $TVMM_DMA_OUT}"
fi
tvmm_result dma-tool

tvmm_heading "a device reads the VMM's first page: blocked, recorded"
seq0=$(tvmm_last_seq)
if tvmm_vmm_info && tvmm_dma read "$TVMM_CHUNK0" 64; then
    tvmm_info "chunk0 $TVMM_CHUNK0 by DMA: $(echo "$TVMM_DMA_OUT" | cut -c1-64)..."
    case "$TVMM_DMA_OUT" in
        *5468696e564d4d*) TVMM_WHY="the DMA read of the VMM's first page returned its header 'ThinVMM'" ;;
    esac
    tvmm_result dma-read-vmm-blocked
    tvmm_dma_new_record "$seq0" "$SID" "$TVMM_CHUNK0"
    tvmm_result dma-read-vmm-recorded
else
    TVMM_WHY="${TVMM_WHY:-dma read: $TVMM_DMA_OUT}"
    tvmm_result dma-read-vmm-blocked
fi

tvmm_heading "a device writes the VMM's first page: nothing changes, recorded"
seq0=$(tvmm_last_seq)
if tvmm_vmm_info; then
    h0=$TVMM_HASH pa=$(printf '%#x' $((TVMM_CHUNK0 + 6)))
    if tvmm_dma write "$pa" 6d; then
        tvmm_vmm_info
        tvmm_info "image hash $h0 -> $TVMM_HASH after the write"
        [ "$TVMM_HASH" = "$h0" ] || TVMM_WHY="the image hash changed ($h0 -> $TVMM_HASH) after a DMA write into the VMM"
        # Undo it in case it took.
        [ -z "$TVMM_WHY" ] || tvmm_dma write "$pa" 4d
        tvmm_result dma-write-vmm-blocked
        tvmm_dma_new_record "$seq0" "$SID" "$TVMM_CHUNK0"
        tvmm_result dma-write-vmm-recorded
    else
        TVMM_WHY="dma write: $TVMM_DMA_OUT"
        tvmm_result dma-write-vmm-blocked
    fi
else
    tvmm_result dma-write-vmm-blocked
fi

tvmm_heading "the guest writes the IOMMU's registers (GCMD: translation off, RTADDR): blocked, recorded"
TVMM_WHY=""
base=""
if [ -r /sys/firmware/acpi/tables/DMAR ]; then
    # The first remapping structure follows the 48-byte header: a DRHD (type 0), base at +8.
    typ=$(od -An -tu2 -j48 -N2 /sys/firmware/acpi/tables/DMAR | tr -d ' ')
    base=$(od -An -tx8 -j56 -N8 /sys/firmware/acpi/tables/DMAR | tr -d ' ')
    [ "$typ" = 0 ] && [ -n "$base" ] && base=0x$base || base=""
fi
if [ -z "$base" ]; then
    TVMM_WHY="no DRHD in /sys/firmware/acpi/tables/DMAR"
    tvmm_result iommu-regs-blocked
else
    tvmm_info "DRHD register base $base"
    seq0=$(tvmm_last_seq)
    why=""
    tvmm_dma mmio-write "$(printf '%#x' $((base + 0x20)))" 0 64 || why="$why RTADDR: $TVMM_DMA_OUT;"
    tvmm_dma mmio-write "$(printf '%#x' $((base + 0x18)))" 0x40000000 32 || why="$why GCMD.SRTP: $TVMM_DMA_OUT;"
    tvmm_dma mmio-write "$(printf '%#x' $((base + 0x18)))" 0 32 || why="$why GCMD=0: $TVMM_DMA_OUT;"
    line=$(tvmm_dma_status)
    tvmm_info "after the writes: ${line:-no dma: line}"
    case "$line" in "dma: protected "*) ;; *) why="$why status says '${line:-no dma: line}';" ;; esac
    if tvmm_vmm_info && tvmm_dma read "$TVMM_CHUNK0" 64; then
        case "$TVMM_DMA_OUT" in *5468696e564d4d*) why="$why a device reads the VMM again;" ;; esac
    else
        why="$why dma read after the writes: ${TVMM_WHY:-$TVMM_DMA_OUT};"
    fi
    TVMM_WHY=$why
    tvmm_result iommu-regs-blocked
    tvmm_dma_new_record "$seq0" 0xffffffff "$base"
    tvmm_result iommu-regs-recorded
fi

# disk_io NAME: the O_DIRECT workload on both disks, with no new dma fault and no new record.
disk_io() {
    why=""
    f0=$(tvmm_dma_faults) seq0=$(tvmm_last_seq)
    for d in /dev/vda /dev/sda; do
        tvmm_disk_io "$d" "$DISK_MIB" || why="$why $TVMM_WHY;"
    done
    f1=$(tvmm_dma_faults)
    n=$(tvmm_dma_records | while read -r l; do
        [ "$(tvmm_json_field "$l" seq)" -gt "$seq0" ] && echo "$l"; done | tee /tmp/tvmm-dma-new.out | wc -l)
    tvmm_info "dma faults $f0 -> $f1, new dma records: $n"
    [ -n "$f0" ] && [ "$f0" = "$f1" ] || why="$why dma faults went from '${f0}' to '${f1}';"
    [ "$n" -eq 0 ] || why="$why $n new dma record(s): $(head -n 2 /tmp/tvmm-dma-new.out | tvmm_oneline);"
    TVMM_WHY=$why
    tvmm_result "$1"
}
tvmm_heading "no false alarms: $DISK_MIB MiB O_DIRECT to and from a virtio-blk and an AHCI disk"
disk_io disk-io-no-faults

tvmm_heading "lock the default policy"
if tvmm_ensure_loaded; then tvmm_lock linux-default; fi
tvmm_result lock

for t in text rodata idt; do
    case $t in text) rule=kernel-text ;; rodata) rule=kernel-rodata ;; idt) rule=idt ;; esac
    tvmm_heading "after the lock: a device writes $t: nothing changes, recorded under '$rule'"
    TVMM_WHY="" seq0=$(tvmm_last_seq)
    if pa=$(tvmm_dma_target $t) && tvmm_dma peek "$pa" 1; then
        b=$TVMM_DMA_OUT f=$(printf '%02x' $((0x$TVMM_DMA_OUT ^ 0x01)))
        if tvmm_dma write "$pa" "$f"; then
            tvmm_dma peek "$pa" 1
            tvmm_info "$t at $pa: byte $b -> DMA write $f -> $TVMM_DMA_OUT"
            if [ "$TVMM_DMA_OUT" != "$b" ]; then
                TVMM_WHY="the DMA write into $t at $pa took ($b -> $TVMM_DMA_OUT)"
                tvmm_dma write "$pa" "$b"
            fi
        else
            TVMM_WHY="dma write: $TVMM_DMA_OUT"
        fi
        tvmm_result "dma-write-$t-blocked"
        [ -n "$TVMM_WHY" ] || tvmm_dma_new_record "$seq0" "$SID" "$pa" "$rule"
        tvmm_result "dma-write-$t-recorded"
    else
        TVMM_WHY="no physical address for the $t target: $TVMM_DMA_OUT"
        tvmm_result "dma-write-$t-blocked"
    fi
done

tvmm_heading "after the lock, no false alarms: the disk workload again"
disk_io disk-io-locked-no-faults

tvmm_heading "the guest keeps running; devices still read locked memory"
TVMM_WHY=""
if tvmm_workload && tvmm_sigcheck quiet; then
    if pa=$(tvmm_dma_target rodata) && tvmm_dma read "$pa" 13; then
        [ "$TVMM_DMA_OUT" = 4c696e75782076657273696f6e ] || TVMM_WHY="a DMA read of linux_banner after the lock: $TVMM_DMA_OUT"
    else
        TVMM_WHY="DMA read of linux_banner after the lock: $TVMM_DMA_OUT"
    fi
fi
tvmm_result still-running

tvmm_heading "status and records"
tvmm_run /tmp/tvmm-status.out "$TVMM_CTL" status
tvmm_show /tmp/tvmm-status.out
tvmm_run /tmp/tvmm-events.out "$TVMM_CTL" events
tvmm_show /tmp/tvmm-events.out
tvmm_dmesg_summary
