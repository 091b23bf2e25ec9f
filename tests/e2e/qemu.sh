#!/usr/bin/env bash
# Boot the guest kernel + an initramfs once in QEMU (TCG, q35), headless, with a time limit.
#
# Usage: tests/e2e/qemu.sh [options] [-- extra QEMU arguments]
#   -i INITRD     initramfs (required)
#   -n NAME       scenario: adds tvmm.scenario=NAME to the kernel command line
#   -o OUTDIR     logs go here (default build/e2e/manual)
#   -s N          -smp N (default 2)
#   -c CPU        -cpu CPU (default max; e.g. max,-svm)
#   -m MEM        -m MEM (default 1G)
#   -a ARGS       extra kernel command-line arguments (may be repeated)
#   -t SECONDS    time limit (default 300)
#   -k KERNEL     kernel image (default build/kernel/vmlinuz)
#   -q            quiet: do not echo the guest console on stdout
#   -I            an Intel IOMMU (VT-d: DMAR table, interrupt remapping) that the guest kernel
#                 uses (intel_iommu=on); thinvmm itself does not program it
#   -V            an Intel IOMMU (VT-d, with interrupt remapping) that the guest kernel leaves
#                 alone (intel_iommu=off intremap=off): thinvmm may take it for DMA protection
#   -E            QEMU's edu PCI device, DMA-capable below 4 GiB (dma_mask=0xffffffff), for
#                 tests/guest/edu/tvmm_dma.ko
#   -D            two fresh 64 MiB sparse raw disks in OUTDIR: disk-virtio.img on virtio-blk-pci
#                 (iommu_platform=on, so its DMA goes through an IOMMU like any other device's)
#                 and disk-ahci.img on q35's AHCI; the guest's /init loads their drivers
#                 (tvmm.modules=, tests/env/initramfs.sh)
#   -F FIRMWARE   bios (default: QEMU's SeaBIOS) or uefi (Debian's OVMF, OVMF_CODE_4M.fd read-only
#                 and a fresh copy of OVMF_VARS_4M.fd in OUTDIR; the kernel still comes from -k,
#                 loaded by OVMF through fw_cfg and started by its EFI stub)
#   -T            attach a fresh swtpm (TPM 2.0, TIS at 0xFED40000): its state, socket and log
#                 in OUTDIR/swtpm/, started and stopped here by its PID. Scenarios named
#                 tpm or tpm-* get one without -T (so tests/e2e/run.sh rows need no extra field)
#   -C            attach that swtpm as QEMU's tpm-crb device (CRB, locality 0 only), not tpm-tis
#   -S STATEDIR   attach swtpm like -T, but on the TPM state already in STATEDIR (made by
#                 swtpm_setup, e.g. enrolled on the host first); it is kept, not made afresh,
#                 so a second boot on it is a reboot of the same TPM
#
# OUTDIR/console.log   COM1 (ttyS0), the guest console
# OUTDIR/vmm.log       COM2 (I/O port 0x2f8), the hypervisor's log port
# OUTDIR/qemu.log      QEMU's own stdout/stderr
# OUTDIR/cmdline       the QEMU command line used
#
# Exit status: 0 when QEMU exited by itself with status 0 (the guest powered off; with
# -no-reboot a reboot or panic=-1 also ends QEMU, tests/e2e/check.sh tells those apart),
# 124 on timeout, 2 on bad usage, QEMU's status otherwise.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ME=$(basename "$0")
die() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 2; }
log() { printf '%s: %s\n' "$ME" "$*" >&2; }

INITRD="" SCENARIO="" OUTDIR="$REPO_ROOT/build/e2e/manual" SMP=2 CPU=max MEM=1G
APPEND_EXTRA="" TIMEOUT=300 KERNEL="$REPO_ROOT/build/kernel/vmlinuz" QUIET=0 SWTPM=0 TPMSTATE=""
FIRMWARE=bios OVMF_DIR=${TVMM_OVMF_DIR:-/usr/share/OVMF} IOMMU=0 TPMDEV=tpm-tis VTD=0 EDU=0 DISKS=0
while getopts ':i:n:o:s:c:m:a:t:k:qIVEDF:CTS:h' opt; do
    case "$opt" in
        i) INITRD=$OPTARG ;;
        n) SCENARIO=$OPTARG ;;
        o) OUTDIR=$OPTARG ;;
        s) SMP=$OPTARG ;;
        c) CPU=$OPTARG ;;
        m) MEM=$OPTARG ;;
        a) APPEND_EXTRA="$APPEND_EXTRA $OPTARG" ;;
        t) TIMEOUT=$OPTARG ;;
        k) KERNEL=$OPTARG ;;
        q) QUIET=1 ;;
        I) IOMMU=1 ;;
        V) VTD=1 ;;
        E) EDU=1 ;;
        D) DISKS=1 ;;
        C) TPMDEV=tpm-crb ;;
        F) FIRMWARE=$OPTARG ;;
        T) SWTPM=1 ;;
        S) SWTPM=1 TPMSTATE=$OPTARG ;;
        h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        :) die "option -$OPTARG needs an argument (see -h)" ;;
        *) die "unknown option -$OPTARG (see -h)" ;;
    esac
done
shift $((OPTIND - 1))
EXTRA_QEMU=("$@")

command -v qemu-system-x86_64 >/dev/null 2>&1 || die "qemu-system-x86_64 not found (tests/env/deps.sh)"
[ -n "$INITRD" ] || die "no initramfs given (-i INITRD)"
[ -f "$INITRD" ] || die "initramfs $INITRD not found"
[ -f "$KERNEL" ] || die "kernel $KERNEL not found (run tests/env/kernel.sh)"
[[ "$SMP" =~ ^[1-9][0-9]*$ ]] || die "-s wants a positive number, not '$SMP'"
[[ "$TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "-t wants a positive number of seconds, not '$TIMEOUT'"
[[ -z "$SCENARIO" || "$SCENARIO" =~ ^[A-Za-z0-9_-]+$ ]] || die "bad scenario name '$SCENARIO'"
[ -z "$TPMSTATE" ] || [ -d "$TPMSTATE" ] || die "-S: no TPM state directory $TPMSTATE"
case "$FIRMWARE" in
    bios) ;;
    uefi) for f in OVMF_CODE_4M.fd OVMF_VARS_4M.fd; do
              [ -f "$OVMF_DIR/$f" ] || die "-F uefi: $OVMF_DIR/$f not found (tests/env/deps.sh installs ovmf)"
          done ;;
    *) die "-F wants bios or uefi, not '$FIRMWARE'" ;;
esac

case "$SCENARIO" in tpm|tpm-*) SWTPM=1 ;; esac
[ "$IOMMU" -eq 0 ] || [ "$VTD" -eq 0 ] || die "-I (the guest uses the IOMMU) and -V (the guest leaves it alone) exclude each other"

mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
if [ -n "$TPMSTATE" ]; then
    TPMSTATE=$(cd "$TPMSTATE" && pwd)
    case "$TPMSTATE/" in "$OUTDIR/swtpm/"*) die "-S: keep the TPM state outside $OUTDIR/swtpm/ (made afresh here)" ;; esac
fi
CONSOLE="$OUTDIR/console.log" VMMLOG="$OUTDIR/vmm.log" QLOG="$OUTDIR/qemu.log"
rm -f "$CONSOLE" "$VMMLOG" "$QLOG"
: >"$CONSOLE"

APPEND="console=ttyS0 panic=-1"
[ -n "$SCENARIO" ] && APPEND="$APPEND tvmm.scenario=$SCENARIO"
APPEND="$APPEND${APPEND_EXTRA}"
MACHINE=q35
if [ "$IOMMU" -eq 1 ]; then
    APPEND="$APPEND intel_iommu=on"
    MACHINE=q35,kernel-irqchip=split
fi
if [ "$VTD" -eq 1 ]; then
    APPEND="$APPEND intel_iommu=off intremap=off"
    MACHINE=q35,kernel-irqchip=split
fi
# The disks' drivers are modules of the Debian kernel, carried in the initramfs; /init loads
# these (and what they need) before the scenario runs.
[ "$DISKS" -eq 0 ] || APPEND="$APPEND tvmm.modules=virtio_pci,virtio_blk,ahci,sd_mod"

# No -nographic: it would put a monitor/serial mux on stdio. Everything goes to files instead,
# so nothing needs a tty. The first -serial is COM1 (ttyS0), the second COM2 (0x2f8).
QEMU=(qemu-system-x86_64 -M "$MACHINE" -accel tcg -cpu "$CPU" -smp "$SMP" -m "$MEM"
      -display none -no-reboot -monitor none -nodefaults
      -serial "file:$CONSOLE" -serial "file:$VMMLOG"
      -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND"
      "${EXTRA_QEMU[@]}")
# QEMU wants the IOMMU ahead of the PCI devices it translates for: it comes first.
devs=()
[ "$IOMMU" -eq 0 ] && [ "$VTD" -eq 0 ] || devs+=(-device "intel-iommu,intremap=on")
[ "$EDU" -eq 0 ] || devs+=(-device "edu,dma_mask=0xffffffff")
if [ "$DISKS" -eq 1 ]; then
    for d in virtio ahci; do
        rm -f "$OUTDIR/disk-$d.img"
        truncate -s 64M "$OUTDIR/disk-$d.img"
    done
    devs+=(-drive "if=none,id=dvirtio,format=raw,file=$OUTDIR/disk-virtio.img"
           -device "virtio-blk-pci,drive=dvirtio,iommu_platform=on,disable-legacy=on,serial=tvmm-virtio"
           -drive "if=none,id=dahci,format=raw,file=$OUTDIR/disk-ahci.img"
           -device "ide-hd,drive=dahci,bus=ide.0,serial=tvmm-ahci")
fi
[ "${#devs[@]}" -eq 0 ] || QEMU=("${QEMU[@]:0:1}" "${devs[@]}" "${QEMU[@]:1}")
if [ "$FIRMWARE" = uefi ]; then
    # The variable store is written by OVMF: a fresh copy per boot, never the system's file.
    cp "$OVMF_DIR/OVMF_VARS_4M.fd" "$OUTDIR/ovmf-vars.fd"
    QEMU+=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_DIR/OVMF_CODE_4M.fd"
           -drive "if=pflash,format=raw,unit=1,file=$OUTDIR/ovmf-vars.fd")
fi

# A software TPM (DESIGN "Recipes", tests/e2e/swtpm.sh): manufactured here with EK and platform
# certificates unless -S names a state, then one swtpm instance on a UNIX socket; it exits when
# QEMU disconnects, and cleanup stops it by its PID (never by name) if it did not.
# shellcheck source=swtpm.sh
. "$REPO_ROOT/tests/e2e/swtpm.sh"
SWDIR="$OUTDIR/swtpm"
swtpm_start() {
    swtpm_have || die "swtpm/swtpm_setup not found (tests/env/deps.sh installs swtpm swtpm-tools)"
    rm -rf "$SWDIR"
    mkdir -p "$SWDIR"
    if [ -z "$TPMSTATE" ]; then
        TPMSTATE=$SWDIR/state
        swtpm_manufacture "$TPMSTATE" "$SWDIR/setup.log" \
            || { sed 's/^/  swtpm_setup: /' "$SWDIR/setup.log" >&2; die "swtpm_setup failed"; }
    fi
    swtpm_start_sock "$TPMSTATE" "$SWDIR/sock" "$SWDIR/swtpm.log" \
        || die "swtpm did not come up (see $SWDIR/swtpm.log)"
    log "swtpm pid $SWTPM_PID, state in $TPMSTATE"
    QEMU+=(-chardev "socket,id=chrtpm,path=$SWDIR/sock" -tpmdev emulator,id=tpm0,chardev=chrtpm
           -device "$TPMDEV,tpmdev=tpm0")
}

QPID="" TPID=""
# SIGTERM, up to 5 s to exit, then SIGKILL; QPID is cleared.
stop_qemu() {
    kill -TERM "$QPID" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        kill -0 "$QPID" 2>/dev/null || break
        sleep 0.5
    done
    kill -KILL "$QPID" 2>/dev/null || true
    wait "$QPID" 2>/dev/null || true
    QPID=""
}
cleanup() {
    local rc=$?
    swtpm_stop
    if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
        log "stopping QEMU (pid $QPID)"
        stop_qemu
    fi
    if [ -n "$TPID" ] && kill -0 "$TPID" 2>/dev/null; then
        kill -TERM "$TPID" 2>/dev/null || true
        wait "$TPID" 2>/dev/null || true
    fi
    return "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM
trap 'log "hangup"; exit 129' HUP

[ "$SWTPM" -eq 1 ] && swtpm_start
printf '%q ' "${QEMU[@]}" >"$OUTDIR/cmdline"; echo >>"$OUTDIR/cmdline"

log "booting ($FIRMWARE, smp $SMP, cpu $CPU, limit ${TIMEOUT}s): $APPEND"
START=$SECONDS
"${QEMU[@]}" </dev/null >"$QLOG" 2>&1 &
QPID=$!
if [ "$QUIET" -eq 0 ]; then
    # Follow the console until QEMU is gone (tail reads what is left once more, then exits).
    tail -n +1 -f --pid="$QPID" "$CONSOLE" </dev/null &
    TPID=$!
fi

TIMED_OUT=0
# bash reaps the background child as soon as it exits, so kill -0 fails from then on.
while kill -0 "$QPID" 2>/dev/null; do
    if [ $((SECONDS - START)) -ge "$TIMEOUT" ]; then
        TIMED_OUT=1
        break
    fi
    sleep 0.2
done

if [ "$TIMED_OUT" -eq 1 ]; then
    log "TIMEOUT: the guest did not power off within ${TIMEOUT}s; killing QEMU (pid $QPID)"
    stop_qemu
    [ -n "$TPID" ] && { kill -TERM "$TPID" 2>/dev/null || true; wait "$TPID" 2>/dev/null || true; TPID=""; }
    echo "timeout after ${TIMEOUT}s" >"$OUTDIR/status" 2>/dev/null || true
    exit 124
fi

QRC=0
wait "$QPID" || QRC=$?
QPID=""
if [ -n "$TPID" ]; then wait "$TPID" 2>/dev/null || true; TPID=""; fi
ELAPSED=$((SECONDS - START))
echo "qemu exit $QRC after ${ELAPSED}s" >"$OUTDIR/status" 2>/dev/null || true
if [ "$QRC" -ne 0 ]; then
    log "QEMU exited with status $QRC after ${ELAPSED}s; its output:"
    sed 's/^/  qemu: /' "$QLOG" >&2 || true
    exit "$QRC"
fi
log "guest finished after ${ELAPSED}s (logs in $OUTDIR)"
exit 0
