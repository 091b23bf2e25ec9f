#!/usr/bin/env bash
# Measure thinvmm in QEMU (TCG, -cpu max: AMD SVM + NPT) and record the results in bench/results/.
#
# Usage: bench/run.sh [-r RUNS] [-o RESULTS_DIR] [-w SECONDS]
#   -r RUNS   timed workload runs per side (without / with thinvmm) in the 1 GiB boot (default 7;
#             use at least 5 for recorded results)
#   -o DIR    where the results go (default bench/results)
#   -w SECS   before starting, wait up to SECS (default 240) for other QEMUs to end and for the
#             host's 1-minute load average to fall below 1.5 (0: do not wait). Still another QEMU
#             after that: give up. Still loaded: go on, and the results say how loaded it was.
#             It never stops anything.
#
# Two boots, one after the other (never two QEMUs at once), both -smp 2 -cpu max:
#   1. -m 1G, scenario "bench" with tvmm.bench_runs=RUNS: exits by reason during the workload,
#      workload time without and with thinvmm (alternating, same boot), VMM memory.
#   2. -m 4G, tvmm.bench_runs=0: one run under thinvmm, for its memory and exits.
# Beside each boot bench/watch.py reads QEMU's CPU time at the guest's start/end marks.
# Then bench/report.py turns the two consoles and those readings into
#   DIR/svm-qemu.md         the summary
#   DIR/svm-qemu.json       everything, raw status snapshots included
#   DIR/svm-qemu-runs.csv   one line per timed run
#   DIR/svm-qemu-exits.csv  exit deltas per run and reason
#   DIR/logs/               per boot: guest console, VMM log, QEMU command line, QEMU CPU
#                           times at the marks; meta.txt and the host samples
#
# Needs a build (make all; `make bench` does it): build/guest/{thinvmm.ko,thinvmm-ctl,...} and
# build/kernel/vmlinuz. Work files go to build/bench/. Takes about 5 minutes on an idle 2-core
# host, at most 15 (the -w wait, then a 660 s budget for the boots).
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ME=bench/run.sh
# shellcheck source=bench/lib.sh
. "$REPO_ROOT/bench/lib.sh"

RUNS=7 RESULTS=$REPO_ROOT/bench/results WAIT=240
while getopts ':r:o:w:h' opt; do
    case "$opt" in
        r) RUNS=$OPTARG ;;
        o) RESULTS=$OPTARG ;;
        w) WAIT=$OPTARG ;;
        h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        :) die "option -$OPTARG needs an argument (see -h)" ;;
        *) die "unknown option -$OPTARG (see -h)" ;;
    esac
done
[[ "$RUNS" =~ ^[1-9][0-9]?$ ]] || die "-r wants a number from 1 to 99, not '$RUNS'"
[[ "$WAIT" =~ ^[0-9]+$ ]] || die "-w wants a number of seconds, not '$WAIT'"
[ "$RUNS" -ge 5 ] || log "warning: only $RUNS runs per side; recorded results should use at least 5"

BUDGET=660   # seconds for the boots and the report, after the wait; per-boot limits come out of it

for t in qemu-system-x86_64 gcc python3 git sha256sum; do
    command -v "$t" >/dev/null 2>&1 || die "$t not found (make deps installs what is needed)"
done
GUEST=$REPO_ROOT/build/guest KERNEL=$REPO_ROOT/build/kernel/vmlinuz
for f in "$GUEST/thinvmm.ko" "$GUEST/thinvmm-ctl" "$KERNEL"; do
    [ -f "$f" ] || die "$f is missing: build first (make all, or make bench)"
done
[ -f "$REPO_ROOT/tests/guest/scenario-bench.sh" ] || die "tests/guest/scenario-bench.sh is missing"

# Only one QEMU at a time on this machine, and timings want an idle host: wait a bounded time
# for both (read-only checks), then go on regardless and record what the host was doing.
other_qemus() { { pgrep -x qemu-system-x86 2>/dev/null || true; } | wc -l; }
busy() { [ "$(other_qemus)" -gt 0 ] || awk -v l="$(load1)" 'BEGIN { exit !(l >= 1.5) }'; }
WAIT_START=$SECONDS
if [ "$WAIT" -gt 0 ] && busy; then
    log "host busy ($(other_qemus) other QEMU(s), load $(load1)); waiting up to ${WAIT}s"
    while busy && [ $((SECONDS - WAIT_START)) -lt "$WAIT" ]; do sleep 5; done
    [ "$(other_qemus)" -eq 0 ] || die "another QEMU is still running after ${WAIT}s; two at once on this host would make both unreliable: try again later"
    busy && log "load average still $(load1) after ${WAIT}s: going on; timings will be noisy"
fi
WAITED=$((SECONDS - WAIT_START))
START=$SECONDS

WORK=$REPO_ROOT/build/bench
rm -rf "$WORK"
mkdir -p "$WORK/guest" "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)

# Snapshot the guest binaries so a rebuild during the run cannot mix versions, add the timer.
cp -a "$GUEST"/. "$WORK/guest/"
gcc -std=gnu11 -Wall -Wextra -Werror -O2 -static "$REPO_ROOT/bench/clock.c" \
    -o "$WORK/guest/tvmm-bench-clock"

# What is being measured, and on what.
{
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "git_commit=$(git -C "$REPO_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
    echo "git_describe=$(git -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
    echo "git_dirty_files=$(git -C "$REPO_ROOT" status --porcelain 2>/dev/null | grep -c . || true)"
    echo "qemu_version=$(qemu-system-x86_64 --version | head -n 1)"
    echo "kernel_version=$(cat "$REPO_ROOT/build/kernel/VERSION" 2>/dev/null || echo unknown)"
    echo "thinvmm_ko_sha256=$(sha256sum "$WORK/guest/thinvmm.ko" | cut -d' ' -f1)"
    echo "thinvmm_bin_sha256=$(sha256sum "$REPO_ROOT/build/thinvmm/thinvmm.bin" 2>/dev/null | cut -d' ' -f1)"
    echo "host_cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    echo "host_ncpus=$(nproc)"
    echo "host_loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "runs=$RUNS"
    echo "waited_seconds=$WAITED"
} >"$WORK/meta.txt"

log "building the initramfs"
TVMM_GUEST_DIR=$WORK/guest "$REPO_ROOT/tests/env/initramfs.sh" "$WORK/initramfs.cpio.gz"

remaining() { echo $((BUDGET - (SECONDS - START))); }

boot() {  # boot NAME MEM RUNS LIMIT
    local name=$1 mem=$2 runs=$3 limit=$4 rc=0
    [ "$limit" -ge 60 ] || die "not enough of the ${BUDGET} s budget left for the $name boot"
    log "boot $name: -m $mem -smp 2 -cpu max, tvmm.bench_runs=$runs, limit ${limit}s"
    local t0=$SECONDS
    mkdir -p "$WORK/$name"
    "$REPO_ROOT/tests/e2e/qemu.sh" -q -i "$WORK/initramfs.cpio.gz" -n bench -o "$WORK/$name" \
        -m "$mem" -s 2 -c max -t "$limit" -a "tvmm.bench_runs=$runs" &
    RUNNER=$!
    # QEMU's CPU time at the guest's marks (bench/watch.py); it ends when qemu.sh does.
    python3 "$REPO_ROOT/bench/watch.py" "$WORK/$name/console.log" "$RUNNER" "$WORK/$name/cputime.txt" &
    WATCHER=$!
    wait "$RUNNER" || rc=$?
    RUNNER=""
    wait "$WATCHER" || log "warning: bench/watch.py exited with status $?: no QEMU CPU times"
    WATCHER=""
    echo "boot_${name}_seconds=$((SECONDS - t0))" >>"$WORK/meta.txt"
    echo "boot_${name}_qemu_rc=$rc" >>"$WORK/meta.txt"
    [ "$rc" -eq 0 ] || die "the $name boot failed (qemu.sh status $rc); see $WORK/$name/"
    grep -q '^TVMM-BENCH: end' <(tr -d '\r' <"$WORK/$name/console.log") \
        || die "the $name boot did not finish the bench scenario; see $WORK/$name/console.log"
}

# Every 5 s, note how many QEMUs run (ours is one) and the load average: others steal the cores.
bench_traps
( while :; do echo "$(other_qemus) $(load1)" >>"$WORK/host-samples.txt"; sleep 5; done ) &
SAMPLER=$!

# The 4 GiB boot needs about 1.5 min; leave it that much plus the report.
boot mem1g 1G "$RUNS" $(( $(remaining) - 180 ))
boot mem4g 4G 0 $(( $(remaining) - 20 ))
stop_sampler
{
    awk '$1 > 1 {n++} {s += $2; if ($2 > m) m = $2}
         END {printf "other_qemu_samples=%d of %d\nhost_load1_mean=%.2f\nhost_load1_max=%.2f\n",
              n, NR, NR ? s / NR : 0, m}' "$WORK/host-samples.txt"
    echo "host_loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "total_seconds=$((SECONDS - START + WAITED))"
} >>"$WORK/meta.txt"

mkdir -p "$RESULTS/logs"
for name in mem1g mem4g; do
    for f in console.log vmm.log cmdline cputime.txt; do
        if [ -f "$WORK/$name/$f" ]; then tr -d '\r' <"$WORK/$name/$f" >"$RESULTS/logs/$name-$f"; fi
    done
done
cp "$WORK/meta.txt" "$RESULTS/logs/meta.txt"
cp "$WORK/host-samples.txt" "$RESULTS/logs/host-samples.txt"
python3 "$REPO_ROOT/bench/report.py" --meta "$WORK/meta.txt" \
    --boot "mem1g=$WORK/mem1g/console.log" --boot "mem4g=$WORK/mem4g/console.log" \
    --cputime "mem1g=$WORK/mem1g/cputime.txt" --cputime "mem4g=$WORK/mem4g/cputime.txt" \
    --out "$RESULTS"
log "done in $((SECONDS - START + WAITED)) s (${WAITED} s of it waiting): $RESULTS/svm-qemu.md"
