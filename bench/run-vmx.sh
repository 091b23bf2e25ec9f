#!/usr/bin/env bash
# Measure thinvmm's VT-x backend in Bochs (corei7_skylake_x: VMX with EPT and VPID) by
# instruction counts, and record the results in bench/results/.
#
# Usage: bench/run-vmx.sh [-r RUNS] [-n CPUIDS] [-o RESULTS_DIR] [-t SECONDS]
#   -r RUNS     workload runs per side (without / with thinvmm), default 3. Bochs counts
#               instructions deterministically, so a few runs show the spread; each run of the
#               full workload costs 1-2 minutes of host time (more with thinvmm loaded).
#   -n CPUIDS   CPUIDs per timed CPUID loop (default 50000)
#   -o DIR      where the results go (default bench/results)
#   -t SECONDS  time limit for the Bochs boot, wall clock (default 870). Should it strike, the
#               report is still written from what the guest printed (the clock check and the
#               CPUID loops come first, the workload runs last) and the script exits 1.
#
# One Bochs boot (tests/e2e/bochs.sh, 1 CPU, 512 MiB), scenario "bench-vmx"
# (tests/guest/scenario-bench-vmx.sh): a loop of known instruction count to check the clock,
# the workload without and with thinvmm (exits by reason from thinvmm-ctl status --json, and
# instructions from the TSC, which in Bochs counts instructions), a calibration, and CPUID
# loops without and with thinvmm for the instructions the VMM spends per CPUID exit.
# Beside the boot, bench/watch.py notes the wall clock and Bochs's CPU time at each run's marks.
# Then bench/report.py --vmx writes
#   DIR/vmx-bochs.md          the summary
#   DIR/vmx-bochs.json        everything, raw status snapshots included
#   DIR/vmx-bochs-runs.csv    one line per timed window (workload runs and loops)
#   DIR/vmx-bochs-exits.csv   exit deltas per run and reason, plus the calibration deltas
#   DIR/logs/vmx-*            guest console, VMM log, Bochs log, bochsrc, timing, marks, meta
#
# Needs a build (make all): build/guest/{thinvmm.ko,thinvmm-ctl,...} and build/kernel/vmlinuz,
# and Bochs (tests/env/deps.sh). Work files go to build/bench-vmx/. Runs one Bochs; others
# already running (someone else's) are only counted: they slow this one down in wall time but
# cannot change an instruction count. Takes about 12 minutes on a 2-CPU host (2.5 to boot,
# 1-1.5 per workload run); at most the -t limit plus a minute. bochs.sh stops its own Bochs on
# a timeout or signal; this script stops only the processes it started, by PID.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ME=bench/run-vmx.sh
# shellcheck source=bench/lib.sh
. "$REPO_ROOT/bench/lib.sh"

RUNS=3 NCPUID=50000 RESULTS=$REPO_ROOT/bench/results LIMIT=870
while getopts ':r:n:o:t:h' opt; do
    case "$opt" in
        r) RUNS=$OPTARG ;;
        n) NCPUID=$OPTARG ;;
        o) RESULTS=$OPTARG ;;
        t) LIMIT=$OPTARG ;;
        h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        :) die "option -$OPTARG needs an argument (see -h)" ;;
        *) die "unknown option -$OPTARG (see -h)" ;;
    esac
done
[[ "$RUNS" =~ ^[0-9]$ ]] || die "-r wants a number from 0 to 9, not '$RUNS'"
[[ "$NCPUID" =~ ^[1-9][0-9]{0,6}$ ]] || die "-n wants a number from 1 to 9999999, not '$NCPUID'"
if ! [[ "$LIMIT" =~ ^[1-9][0-9]*$ ]] || [ "$LIMIT" -lt 120 ]; then
    die "-t wants at least 120 seconds, not '$LIMIT'"
fi

for t in bochs gcc python3 git sha256sum; do
    command -v "$t" >/dev/null 2>&1 || die "$t not found (tests/env/deps.sh installs what is needed)"
done
GUEST=$REPO_ROOT/build/guest KERNEL=$REPO_ROOT/build/kernel/vmlinuz
for f in "$GUEST/thinvmm.ko" "$GUEST/thinvmm-ctl" "$KERNEL"; do
    [ -f "$f" ] || die "$f is missing: build first (make all)"
done
[ -f "$REPO_ROOT/tests/guest/scenario-bench-vmx.sh" ] || die "tests/guest/scenario-bench-vmx.sh is missing"
[ -x "$REPO_ROOT/tests/e2e/bochs.sh" ] || die "tests/e2e/bochs.sh is missing"

MODEL=corei7_skylake_x
IPS=${TVMM_BOCHS_IPS:-200000000}
START=$SECONDS
WORK=$REPO_ROOT/build/bench-vmx
rm -rf "$WORK"
mkdir -p "$WORK/guest" "$WORK/boot" "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)

# Snapshot the guest binaries so a rebuild during the run cannot mix versions, add the timer.
cp -a "$GUEST"/. "$WORK/guest/"
gcc -std=gnu11 -Wall -Wextra -Werror -O2 -static "$REPO_ROOT/bench/clock.c" \
    -o "$WORK/guest/tvmm-bench-clock"

other_bochs() { { pgrep -x bochs-bin 2>/dev/null || true; } | wc -l; }
{
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "git_commit=$(git -C "$REPO_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
    echo "git_describe=$(git -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
    echo "git_dirty_files=$(git -C "$REPO_ROOT" status --porcelain 2>/dev/null | grep -c . || true)"
    echo "bochs_version=$(dpkg-query -W -f='${Version}' bochs 2>/dev/null || echo unknown)"
    echo "bochs_model=$MODEL"
    echo "bochs_ips=$IPS"
    echo "bochs_cpus=1"
    echo "bochs_megs=512"
    echo "kernel_version=$(cat "$REPO_ROOT/build/kernel/VERSION" 2>/dev/null || echo unknown)"
    echo "thinvmm_ko_sha256=$(sha256sum "$WORK/guest/thinvmm.ko" | cut -d' ' -f1)"
    echo "thinvmm_bin_sha256=$(sha256sum "$REPO_ROOT/build/thinvmm/thinvmm.bin" 2>/dev/null | cut -d' ' -f1)"
    echo "host_cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    echo "host_ncpus=$(nproc)"
    echo "host_loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "other_bochs_start=$(other_bochs)"
    echo "runs=$RUNS"
    echo "n_cpuid=$NCPUID"
} >"$WORK/meta.txt"

log "building the initramfs"
TVMM_GUEST_DIR=$WORK/guest "$REPO_ROOT/tests/env/initramfs.sh" "$WORK/initramfs.cpio.gz"

bench_traps
# Every 5 s: how many Bochs run (ours is one) and the load average. They cost wall time only.
( while :; do echo "$(other_bochs) $(cut -d' ' -f1 /proc/loadavg)" >>"$WORK/host-samples.txt"; sleep 5; done ) &
SAMPLER=$!

log "boot: Bochs $MODEL x1, ips $IPS, tvmm.bench_runs=$RUNS, limit ${LIMIT}s"
T0=$SECONDS
rc=0
TVMM_BOCHS_IPS=$IPS "$REPO_ROOT/tests/e2e/bochs.sh" -q -i "$WORK/initramfs.cpio.gz" -n bench-vmx \
    -o "$WORK/boot" -s 1 -c "$MODEL" -t "$LIMIT" \
    -a "tvmm.bench_runs=$RUNS" -a "tvmm.bench_cpuid=$NCPUID" &
RUNNER=$!
# The host's clock and Bochs's CPU time at the guest's marks.
python3 "$REPO_ROOT/bench/watch.py" "$WORK/boot/console.log" "$RUNNER" "$WORK/boot/marks.txt" bochs &
WATCHER=$!
wait "$RUNNER" || rc=$?
RUNNER=""
wait "$WATCHER" || log "warning: bench/watch.py exited with status $?: no wall times per run"
WATCHER=""
stop_sampler
{
    echo "boot_seconds=$((SECONDS - T0))"
    echo "boot_rc=$rc"
    echo "boot_status=$(cat "$WORK/boot/status" 2>/dev/null || echo unknown)"
    awk '{s += $2; if ($2 > m) m = $2; if ($1 > b) b = $1}
         END {printf "host_load1_mean=%.2f\nhost_load1_max=%.2f\nbochs_running_max=%d\n",
              NR ? s / NR : 0, m, b}' "$WORK/host-samples.txt"
    echo "host_loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "total_seconds=$((SECONDS - START))"
} >>"$WORK/meta.txt"

mkdir -p "$RESULTS/logs"
for f in console.log vmm.log bochsrc cmdline timing status marks.txt; do
    if [ -f "$WORK/boot/$f" ]; then tr -d '\r' <"$WORK/boot/$f" >"$RESULTS/logs/vmx-$f"; fi
done
# Bochs's log, less its two lines per guest timer tick about the APERF/MPERF MSRs it does not
# have (the guest kernel reads them every tick; ignore_bad_msrs=1 returns 0): megabytes of them.
if [ -f "$WORK/boot/bochs.log" ]; then
    n=$(grep -cE 'RDMSR: Unknown register 0xe[78]$' "$WORK/boot/bochs.log" || true)
    { grep -vE 'RDMSR: Unknown register 0xe[78]$' "$WORK/boot/bochs.log" || true
      echo "(bench/run-vmx.sh left out ${n:-0} lines 'RDMSR: Unknown register 0xe7/0xe8')"; } \
        | tr -d '\r' >"$RESULTS/logs/vmx-bochs.log"
fi
cp "$WORK/meta.txt" "$RESULTS/logs/vmx-meta.txt"
cp "$WORK/host-samples.txt" "$RESULTS/logs/vmx-host-samples.txt"
grep -q '^TVMM-BENCH: ' <(tr -d '\r' <"$WORK/boot/console.log") \
    || die "no results from the guest (bochs.sh status $rc: $(cat "$WORK/boot/status" 2>/dev/null)); see $WORK/boot/"
complete=1
if [ "$rc" -ne 0 ]; then
    log "warning: the Bochs boot failed (bochs.sh status $rc: $(cat "$WORK/boot/status" 2>/dev/null)); reporting what there is"
    complete=0
fi
grep -q '^TVMM-BENCH: end' <(tr -d '\r' <"$WORK/boot/console.log") || complete=0
rrc=0
python3 "$REPO_ROOT/bench/report.py" --vmx --meta "$WORK/meta.txt" \
    --boot "bochs=$WORK/boot/console.log" --cputime "bochs=$WORK/boot/marks.txt" --out "$RESULTS" || rrc=$?
[ "$complete" -eq 1 ] || die "the boot did not finish the bench-vmx scenario (partial report in $RESULTS/vmx-bochs.md); see $WORK/boot/"
[ "$rrc" -eq 0 ] || die "bench/report.py found problems (status $rrc; listed above and in $RESULTS/vmx-bochs.md)"
log "done in $((SECONDS - START)) s: $RESULTS/vmx-bochs.md"
