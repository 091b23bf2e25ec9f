#!/usr/bin/env bash
# What the default Linux policy costs: exits by reason and guest slowdown of the benign workload
# with the policy locked, against thinvmm without a policy and against no thinvmm; nested-page
# splits, nested table pages and VMM memory before and after the lock. Records the results in
# bench/results/. Measurements only: nothing here passes or fails on a time.
#
# Usage: bench/run-policy.sh [-b] [-r RUNS] [-o RESULTS_DIR] [-t SECONDS] [-w SECONDS]
#   -b        Bochs, VT-x (corei7_skylake_x, 1 CPU, 512 MiB; instruction counts as in
#             bench/run-vmx.sh) instead of QEMU TCG, SVM (-cpu max -smp 2 -m 1G)
#   -r RUNS   timed workload runs per phase (default 7 in QEMU, 2 in Bochs: a run costs 1-2
#             minutes there)
#   -o DIR    where the results go (default bench/results)
#   -t SECS   time limit for the boot (default 900 QEMU, 1500 Bochs). Should it strike, the
#             report is still written from what the guest printed, and the script exits 1.
#   -w SECS   QEMU only: first wait up to SECS (default 240) for other QEMUs to end and the
#             load average to fall below 1.5, as bench/run.sh does (0: do not wait)
#
# One boot, scenario "bench-policy" (tests/guest/scenario-bench-policy.sh): RUNS runs without
# thinvmm ("off") and RUNS with thinvmm but no policy ("nopol"), alternating in counterbalanced
# pairs; then `thinvmm-ctl lock /opt/thinvmm/linux-default.bin`; then RUNS runs under the policy
# ("policy"). The policy runs come last because a lock cannot be undone (rmmod is refused after
# it); they are not counterbalanced against the others. Beside the boot, bench/watch.py reads
# the emulator's CPU time at the guest's marks. Then bench/report_policy.py writes
#   DIR/policy-svm-qemu.md | DIR/policy-vmx-bochs.md     the summary
#   DIR/policy-*.json                                    everything, raw snapshots included
#   DIR/policy-*-runs.csv, DIR/policy-*-exits.csv        per run; exit deltas per run and reason
#   DIR/logs/policy-{svm,vmx}-*                           console, VMM log, command line, marks, meta
#
# Needs a build (make all): build/guest/{thinvmm.ko,thinvmm-ctl,linux-default.bin} and
# build/kernel/vmlinuz; Bochs for -b. Work files go to build/bench-policy[-vmx]/. Starts one
# emulator and waits for it; stops only what it started, by PID.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ME=bench/run-policy.sh
# shellcheck source=bench/lib.sh
. "$REPO_ROOT/bench/lib.sh"

BOCHS=0 RUNS="" RESULTS=$REPO_ROOT/bench/results LIMIT="" WAIT=240
while getopts ':br:o:t:w:h' opt; do
    case "$opt" in
        b) BOCHS=1 ;;
        r) RUNS=$OPTARG ;;
        o) RESULTS=$OPTARG ;;
        t) LIMIT=$OPTARG ;;
        w) WAIT=$OPTARG ;;
        h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        :) die "option -$OPTARG needs an argument (see -h)" ;;
        *) die "unknown option -$OPTARG (see -h)" ;;
    esac
done
if [ "$BOCHS" -eq 1 ]; then
    RUNS=${RUNS:-2} LIMIT=${LIMIT:-1500} TAG=vmx-bochs LTAG=vmx EMU=bochs PROC=bochs-bin
    WORK=$REPO_ROOT/build/bench-policy-vmx
else
    RUNS=${RUNS:-7} LIMIT=${LIMIT:-900} TAG=svm-qemu LTAG=svm EMU=qemu-system-x86_64 PROC=qemu-system-x86
    WORK=$REPO_ROOT/build/bench-policy
fi
[[ "$RUNS" =~ ^[1-9][0-9]?$ ]] || die "-r wants a number from 1 to 99, not '$RUNS'"
if ! [[ "$LIMIT" =~ ^[1-9][0-9]*$ ]] || [ "$LIMIT" -lt 120 ]; then die "-t wants at least 120 seconds, not '$LIMIT'"; fi
[[ "$WAIT" =~ ^[0-9]+$ ]] || die "-w wants a number of seconds, not '$WAIT'"

for t in "$EMU" gcc python3 git sha256sum; do
    command -v "$t" >/dev/null 2>&1 || die "$t not found (make deps installs what is needed)"
done
GUEST=$REPO_ROOT/build/guest KERNEL=$REPO_ROOT/build/kernel/vmlinuz
for f in "$GUEST/thinvmm.ko" "$GUEST/thinvmm-ctl" "$GUEST/linux-default.bin" "$KERNEL"; do
    [ -f "$f" ] || die "$f is missing: build first (make all)"
done
[ -f "$REPO_ROOT/tests/guest/scenario-bench-policy.sh" ] || die "tests/guest/scenario-bench-policy.sh is missing"

others() { { pgrep -x "$PROC" 2>/dev/null || true; } | wc -l; }
WAITED=0
if [ "$BOCHS" -eq 0 ] && [ "$WAIT" -gt 0 ]; then
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

rm -rf "$WORK"
mkdir -p "$WORK/guest" "$WORK/boot" "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
cp -a "$GUEST"/. "$WORK/guest/"
gcc -std=gnu11 -Wall -Wextra -Werror -O2 -static "$REPO_ROOT/bench/clock.c" \
    -o "$WORK/guest/tvmm-bench-clock"

IPS=${TVMM_BOCHS_IPS:-200000000} MODEL=corei7_skylake_x
{
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "git_commit=$(git -C "$REPO_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
    echo "git_describe=$(git -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
    echo "git_dirty_files=$(git -C "$REPO_ROOT" status --porcelain 2>/dev/null | grep -c . || true)"
    if [ "$BOCHS" -eq 1 ]; then
        echo "emulator=bochs $(dpkg-query -W -f='${Version}' bochs 2>/dev/null || echo unknown)"
        echo "bochs_model=$MODEL"
        echo "bochs_ips=$IPS"
        echo "machine=Bochs $MODEL, 1 CPU, 512 MiB"
    else
        echo "emulator=$(qemu-system-x86_64 --version | head -n 1)"
        echo "machine=QEMU TCG q35 -cpu max -smp 2 -m 1G"
    fi
    echo "kernel_version=$(cat "$REPO_ROOT/build/kernel/VERSION" 2>/dev/null || echo unknown)"
    echo "thinvmm_ko_sha256=$(sha256sum "$WORK/guest/thinvmm.ko" | cut -d' ' -f1)"
    echo "policy_bin_sha256=$(sha256sum "$WORK/guest/linux-default.bin" | cut -d' ' -f1)"
    echo "host_cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    echo "host_ncpus=$(nproc)"
    echo "host_loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "other_emulators_start=$(others)"
    echo "runs=$RUNS"
    echo "waited_seconds=$WAITED"
} >"$WORK/meta.txt"

log "building the initramfs"
TVMM_GUEST_DIR=$WORK/guest "$REPO_ROOT/tests/env/initramfs.sh" "$WORK/initramfs.cpio.gz"

bench_traps
# Every 5 s: host uptime (the clock bench/watch.py stamps the marks with), QEMUs and Bochs
# running (ours included), 1-minute load: the report gives each run the samples in its window.
( while :; do
      read -r up _ </proc/uptime
      echo "$up $(count qemu-system-x86) $(count bochs-bin) $(load1)" >>"$WORK/host-samples.txt"
      sleep 5
  done ) &
SAMPLER=$!

T0=$SECONDS rc=0
if [ "$BOCHS" -eq 1 ]; then
    log "boot: Bochs $MODEL x1, ips $IPS, tvmm.bench_runs=$RUNS, limit ${LIMIT}s"
    TVMM_BOCHS_IPS=$IPS "$REPO_ROOT/tests/e2e/bochs.sh" -q -i "$WORK/initramfs.cpio.gz" \
        -n bench-policy -o "$WORK/boot" -s 1 -c "$MODEL" -t "$LIMIT" \
        -a "tvmm.bench_runs=$RUNS" -a tvmm.bench_warmup=0 -a tvmm.bench_pause=0.1 \
        -a tvmm.bench_net=0 &
    RUNNER=$!
    python3 "$REPO_ROOT/bench/watch.py" "$WORK/boot/console.log" "$RUNNER" "$WORK/boot/marks.txt" bochs &
else
    log "boot: QEMU -m 1G -smp 2 -cpu max, tvmm.bench_runs=$RUNS, limit ${LIMIT}s"
    "$REPO_ROOT/tests/e2e/qemu.sh" -q -i "$WORK/initramfs.cpio.gz" -n bench-policy -o "$WORK/boot" \
        -m 1G -s 2 -c max -t "$LIMIT" -a "tvmm.bench_runs=$RUNS" &
    RUNNER=$!
    python3 "$REPO_ROOT/bench/watch.py" "$WORK/boot/console.log" "$RUNNER" "$WORK/boot/marks.txt" &
fi
WATCHER=$!
log "emulator runner pid $RUNNER, watcher pid $WATCHER"
bench_wait
rc=$BENCH_RC
{
    echo "boot_seconds=$((SECONDS - T0))"
    echo "boot_rc=$rc"
    [ ! -f "$WORK/boot/status" ] || echo "boot_status=$(cat "$WORK/boot/status")"
    awk '{s += $4; if ($4 > m) m = $4; if ($2 > q) q = $2; if ($3 > b) b = $3}
         END {printf "host_load1_mean=%.2f\nhost_load1_max=%.2f\nqemus_running_max=%d\nbochs_running_max=%d\n",
              NR ? s / NR : 0, m, q, b}' "$WORK/host-samples.txt"
    echo "host_loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "total_seconds=$((SECONDS - START + WAITED))"
} >>"$WORK/meta.txt"

mkdir -p "$RESULTS/logs"
P=$RESULTS/logs/policy-$LTAG
for f in console.log vmm.log cmdline marks.txt timing status; do
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
python3 "$REPO_ROOT/bench/report_policy.py" --tag "$TAG" --meta "$WORK/meta.txt" \
    --console "$WORK/boot/console.log" --marks "$WORK/boot/marks.txt" \
    --samples "$WORK/host-samples.txt" --out "$RESULTS" || rrc=$?
[ "$complete" -eq 1 ] || die "the boot did not finish the scenario (partial report in $RESULTS/policy-$TAG.md)"
[ "$rrc" -eq 0 ] || die "bench/report_policy.py found problems (status $rrc; see $RESULTS/policy-$TAG.md)"
log "done in $((SECONDS - START + WAITED)) s: $RESULTS/policy-$TAG.md"
