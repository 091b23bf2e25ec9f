#!/usr/bin/env bash
# What VT-d DMA protection costs (issue 10): O_DIRECT disk throughput on a virtio-blk disk
# behind the IOMMU and an AHCI disk, without thinvmm, with thinvmm's IOMMU tables ("prot") and
# after the lock ("locked", text/rodata/IDT read-only to devices); the VMM's exits in each
# phase; IOTLB invalidations caused by the lock, IOMMU table pages, dma events (must be none).
# QEMU TCG, SVM + NPT, QEMU's intel-iommu left to thinvmm by the guest (tests/e2e/qemu.sh
# -V -D). Records the results in bench/results/. Measurements only: nothing here passes or
# fails on a time.
#
# Usage: bench/run-dma.sh [-r ROUNDS] [-n REPS] [-m MIB] [-b KIB] [-l LOCKED] [-o DIR]
#                         [-t SECONDS] [-w SECONDS]
#   -r ROUNDS  counterbalanced (off,prot)/(prot,off) pairs of blocks (default 6)
#   -n REPS    repetitions per block of: write+read each disk, then the CPU control (default 5)
#   -m MIB     MiB per transfer (default 48; the disks have 64)
#   -b KIB     bytes per request in KiB, dd's bs (default 1024)
#   -l LOCKED  blocks after the lock, and protected blocks just before it (default 6)
#   -o DIR     where the results go (default bench/results)
#   -t SECS    time limit for the boot (default 900). Should it strike, the report is still
#              written from what the guest printed, and the script exits 1.
#   -w SECS    first wait up to SECS (default 240) for other QEMUs to end and the load average
#              to fall below 1.5, as bench/run.sh does (0: do not wait)
#
# One boot, scenario "bench-dma" (tests/guest/scenario-bench-dma.sh, which describes the
# phases). Beside it, bench/watch.py notes the host's clock and QEMU's CPU time at each block's
# marks, and a sampler notes every 2 s how many QEMUs run, the load average and the host's
# dirty page cache: the report
# flags the blocks during which another QEMU ran and gives the ratios without them too. The transfers are timed inside one small static program, tvmm-dma-io, built here
# from the C source below (the guest's clock around each transfer only: no fork, exec or
# console output inside a timed window). bench/report_dma.py then writes
#   DIR/dma-svm-qemu.md         the summary
#   DIR/dma-svm-qemu.json       everything, raw status snapshots included
#   DIR/dma-svm-qemu-runs.csv   one line per timed transfer
#   DIR/logs/dma-svm-*          console, VMM log, QEMU command line, marks, meta, host samples
#
# Needs a build (make all): build/guest/{thinvmm.ko,thinvmm-ctl,linux-default.bin},
# build/kernel/vmlinuz and the kernel's modules (tests/env/initramfs.sh fetches them once).
# Work files go to build/bench/dma/. Starts one QEMU and waits for it; stops only what it
# started, by PID.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ME=bench/run-dma.sh
# shellcheck source=bench/lib.sh
. "$REPO_ROOT/bench/lib.sh"

ROUNDS=6 REPS=5 MIB=48 KIB=1024 LOCKED=6 RESULTS=$REPO_ROOT/bench/results LIMIT=900 WAIT=240
while getopts ':r:n:m:b:l:o:t:w:h' opt; do
    case "$opt" in
        r) ROUNDS=$OPTARG ;;
        n) REPS=$OPTARG ;;
        m) MIB=$OPTARG ;;
        b) KIB=$OPTARG ;;
        l) LOCKED=$OPTARG ;;
        o) RESULTS=$OPTARG ;;
        t) LIMIT=$OPTARG ;;
        w) WAIT=$OPTARG ;;
        h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        :) die "option -$OPTARG needs an argument (see -h)" ;;
        *) die "unknown option -$OPTARG (see -h)" ;;
    esac
done
[[ "$ROUNDS" =~ ^[1-9][0-9]?$ ]] || die "-r wants a number from 1 to 99, not '$ROUNDS'"
[[ "$REPS" =~ ^[1-9][0-9]?$ ]] || die "-n wants a number from 1 to 99, not '$REPS'"
[[ "$LOCKED" =~ ^[1-9][0-9]?$ ]] || die "-l wants a number from 1 to 99, not '$LOCKED'"
if ! [[ "$MIB" =~ ^[1-9][0-9]*$ ]] || [ "$MIB" -gt 64 ]; then die "-m wants 1 to 64 (MiB; the disks have 64), not '$MIB'"; fi
case "$KIB" in 4 | 8 | 16 | 32 | 64 | 128 | 256 | 512 | 1024 | 2048 | 4096) ;;
    *) die "-b wants a power of two from 4 to 4096 (KiB), not '$KIB'" ;; esac
[ $((MIB * 1024 % KIB)) -eq 0 ] || die "-m $MIB MiB is not a whole number of -b $KIB KiB requests"
if ! [[ "$LIMIT" =~ ^[1-9][0-9]*$ ]] || [ "$LIMIT" -lt 120 ]; then die "-t wants at least 120 seconds, not '$LIMIT'"; fi
[[ "$WAIT" =~ ^[0-9]+$ ]] || die "-w wants a number of seconds, not '$WAIT'"

for t in qemu-system-x86_64 gcc python3 git sha256sum; do
    command -v "$t" >/dev/null 2>&1 || die "$t not found (make deps installs what is needed)"
done
GUEST=$REPO_ROOT/build/guest KERNEL=$REPO_ROOT/build/kernel/vmlinuz
for f in "$GUEST/thinvmm.ko" "$GUEST/thinvmm-ctl" "$GUEST/linux-default.bin" "$KERNEL"; do
    [ -f "$f" ] || die "$f is missing: build first (make all)"
done
[ -f "$REPO_ROOT/tests/guest/scenario-bench-dma.sh" ] || die "tests/guest/scenario-bench-dma.sh is missing"

others() { { pgrep -x qemu-system-x86 2>/dev/null || true; } | wc -l; }
WAITED=0
if [ "$WAIT" -gt 0 ]; then
    # As bench/run.sh: one QEMU at a time, and timings want an idle host (read-only checks).
    busy() { [ "$(others)" -gt 0 ] || awk -v l="$(load1)" 'BEGIN { exit !(l >= 1.5) }'; }
    W0=$SECONDS
    if busy; then
        log "host busy ($(others) other QEMU(s), load $(load1)); waiting up to ${WAIT}s"
        while busy && [ $((SECONDS - W0)) -lt "$WAIT" ]; do sleep 5; done
        [ "$(others)" -eq 0 ] || die "another QEMU is still running after ${WAIT}s: try again later"
        busy && log "load average still $(load1) after ${WAIT}s: going on; timings will be noisy"
    fi
    WAITED=$((SECONDS - W0))
fi
START=$SECONDS

WORK=$REPO_ROOT/build/bench/dma
rm -rf "$WORK"
mkdir -p "$WORK/guest" "$WORK/boot" "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
cp -a "$GUEST"/. "$WORK/guest/"
gcc -std=gnu11 -Wall -Wextra -Werror -O2 -static "$REPO_ROOT/bench/clock.c" \
    -o "$WORK/guest/tvmm-bench-clock"

# tvmm-dma-io (bench/dma_io.c): the timed transfers.
gcc -std=gnu11 -Wall -Wextra -Werror -O2 -static "$REPO_ROOT/bench/dma_io.c" -o "$WORK/guest/tvmm-dma-io"

{
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "git_commit=$(git -C "$REPO_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
    echo "git_describe=$(git -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
    echo "git_dirty_files=$(git -C "$REPO_ROOT" status --porcelain 2>/dev/null | grep -c . || true)"
    echo "emulator=$(qemu-system-x86_64 --version | head -n 1)"
    echo "machine=QEMU TCG q35 -cpu max -smp 2 -m 1G, intel-iommu (intremap=on), virtio-blk-pci (iommu_platform=on) + AHCI, 64 MiB raw images"
    echo "kernel_version=$(cat "$REPO_ROOT/build/kernel/VERSION" 2>/dev/null || echo unknown)"
    echo "thinvmm_ko_sha256=$(sha256sum "$WORK/guest/thinvmm.ko" | cut -d' ' -f1)"
    echo "policy_bin_sha256=$(sha256sum "$WORK/guest/linux-default.bin" | cut -d' ' -f1)"
    echo "host_cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    echo "host_ncpus=$(nproc)"
    echo "host_loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "other_emulators_start=$(others)"
    echo "rounds=$ROUNDS"
    echo "reps=$REPS"
    echo "mib=$MIB"
    echo "kib=$KIB"
    echo "locked_blocks=$LOCKED"
    echo "waited_seconds=$WAITED"
} >"$WORK/meta.txt"

log "building the initramfs"
TVMM_GUEST_DIR=$WORK/guest "$REPO_ROOT/tests/env/initramfs.sh" "$WORK/initramfs.cpio.gz"

bench_traps
# Every 2 s: host uptime, QEMUs running (ours included), 1-minute load average, and the host's
# Dirty and Writeback page cache in kB (the disk images live in it: its writeback to the host's
# disk is the one host-side activity the guest's own writes start).
( while :; do
      read -r up _ </proc/uptime
      echo "$up $(count qemu-system-x86) $(load1) $(awk '$1 == "Dirty:" {d = $2} $1 == "Writeback:" {w = $2}
          END {print d + 0, w + 0}' /proc/meminfo)" >>"$WORK/host-samples.txt"
      sleep 2
  done ) &
SAMPLER=$!

T0=$SECONDS rc=0
log "boot: QEMU -m 1G -smp 2 -cpu max -V -D, rounds $ROUNDS, reps $REPS, $MIB MiB in $KIB KiB requests, locked blocks $LOCKED, limit ${LIMIT}s"
"$REPO_ROOT/tests/e2e/qemu.sh" -q -V -D -i "$WORK/initramfs.cpio.gz" -n bench-dma -o "$WORK/boot" \
    -m 1G -s 2 -c max -t "$LIMIT" -a "tvmm.dma_rounds=$ROUNDS" -a "tvmm.dma_reps=$REPS" \
    -a "tvmm.dma_mib=$MIB" -a "tvmm.dma_kib=$KIB" -a "tvmm.dma_locked=$LOCKED" &
RUNNER=$!
python3 "$REPO_ROOT/bench/watch.py" "$WORK/boot/console.log" "$RUNNER" "$WORK/boot/marks.txt" &
WATCHER=$!
log "qemu.sh pid $RUNNER, watcher pid $WATCHER"
bench_wait
rc=$BENCH_RC
{
    echo "boot_seconds=$((SECONDS - T0))"
    echo "boot_rc=$rc"
    [ ! -f "$WORK/boot/status" ] || echo "boot_status=$(cat "$WORK/boot/status")"
    awk '{s += $3; if ($3 > m) m = $3; if ($2 > q) q = $2}
         END {printf "host_load1_mean=%.2f\nhost_load1_max=%.2f\nqemus_running_max=%d\n",
              NR ? s / NR : 0, m, q}' "$WORK/host-samples.txt"
    echo "host_loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "total_seconds=$((SECONDS - START + WAITED))"
} >>"$WORK/meta.txt"
rm -f "$WORK/boot/disk-virtio.img" "$WORK/boot/disk-ahci.img"

mkdir -p "$RESULTS/logs"
P=$RESULTS/logs/dma-svm
for f in console.log vmm.log cmdline marks.txt status; do
    if [ -f "$WORK/boot/$f" ]; then tr -d '\r' <"$WORK/boot/$f" >"$P-$f"; fi
done
cp "$WORK/meta.txt" "$P-meta.txt"
cp "$WORK/host-samples.txt" "$P-host-samples.txt"
grep -q '^TVMM-BENCH: ' <(tr -d '\r' <"$WORK/boot/console.log") \
    || die "no results from the guest (runner status $rc); see $WORK/boot/"
complete=1
[ "$rc" -eq 0 ] || { log "warning: the boot failed (status $rc); reporting what there is"; complete=0; }
grep -q '^TVMM-BENCH: end' <(tr -d '\r' <"$WORK/boot/console.log") || complete=0
rrc=0
python3 "$REPO_ROOT/bench/report_dma.py" --meta "$WORK/meta.txt" --console "$WORK/boot/console.log" \
    --marks "$WORK/boot/marks.txt" --samples "$WORK/host-samples.txt" --out "$RESULTS" || rrc=$?
[ "$complete" -eq 1 ] || die "the boot did not finish the scenario (partial report in $RESULTS/dma-svm-qemu.md)"
[ "$rrc" -eq 0 ] || die "bench/report_dma.py found problems (status $rrc; see $RESULTS/dma-svm-qemu.md)"
log "done in $((SECONDS - START + WAITED)) s: $RESULTS/dma-svm-qemu.md"
