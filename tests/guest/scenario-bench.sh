#!/bin/sh
# Scenario "bench" (bench/run.sh): measurements, not pass/fail checks. Everything the host needs
# is printed on the console as lines starting "TVMM-BENCH:" (space-separated fields) and
# "TVMM-BENCH-JSON: LABEL {thinvmm-ctl status --json}"; bench/report.py parses them.
#
# Kernel command line (qemu.sh -a):
#   tvmm.bench_runs=N   N timed runs of tvmm_workload without thinvmm and N with it, in one boot,
#                       in counterbalanced pairs (off,on),(on,off),(off,on),... after one
#                       untimed warm-up of each. N=0: only one "on" run, for the exit counts
#                       and the VMM's memory (the 4 GiB boot). Default 5.
#
# Then, in every boot, a calibration: exits of one status call, of idling, of 100 execs, and
# the time of a loop of CPUIDs without and with thinvmm (see "Calibration" below).
#
# One "on" run: insmod; status S0; status S1; clock; workload; clock; status S2; rmmod.
# S1-S0 are the exits caused by one thinvmm-ctl call (and whatever the idle guest did
# meanwhile); S2-S1 those of the workload plus the clock reads and the second thinvmm-ctl's
# own start-up. An "off" run is: clock; workload; clock.
. "${TVMM_DIR:-/opt/thinvmm}/lib.sh"

CLOCK=$TVMM_DIR/tvmm-bench-clock
RUNS=5
read -r _cmdline </proc/cmdline
for _a in $_cmdline; do
    case "$_a" in
        tvmm.bench_runs=*) RUNS=${_a#tvmm.bench_runs=} ;;
    esac
done
case "$RUNS" in '' | *[!0-9]*) RUNS=5 ;; esac

# Keep kernel messages off the console so they cannot split a result line.
dmesg -n 1 2>/dev/null || true

b() { echo "TVMM-BENCH: $*"; }

# pause: one second of idling without an exec (a read that times out on an empty FIFO), so
# the host can read QEMU's CPU time while the guest does nothing, and no exit is caused.
mkfifo /tmp/bench-fifo 2>/dev/null
exec 3<>/tmp/bench-fifo
# shellcheck disable=SC3045 # busybox ash has read -t
pause() { read -r -t 1 _bx <&3 || true; }

# Nanoseconds of CLOCK_MONOTONIC; /proc/uptime (10 ms steps) if the helper is missing.
now_ns() {
    if [ -x "$CLOCK" ]; then
        "$CLOCK"
    else
        read -r _u _ </proc/uptime
        _u=$(echo "$_u" | tr -d .)
        echo $(( ${_u#0} * 10000000 ))
    fi
}

# status LABEL: print thinvmm-ctl status --json as one TVMM-BENCH-JSON line.
status() {
    if tvmm_run /tmp/bench-status.json "$TVMM_CTL" status --json; then
        echo "TVMM-BENCH-JSON: $1 $(tr -d '\n' </tmp/bench-status.json)"
    else
        b error "status $1 failed: $(tvmm_oneline </tmp/bench-status.json)"
    fi
}

# workload_timed KIND INDEX: one timed tvmm_workload; prints a "run" line.
# Fields: run INDEX KIND NS OK PHASE1 PHASE2 PHASE3 (phases: tvmm_workload's own 10 ms timings).
# The "mark" lines around it tell bench/watch.py on the host to read QEMU's CPU time; the
# pauses let it do so while the guest idles.
workload_timed() {
    b mark "$2" "$1" start
    pause
    _bt0=$(now_ns)
    tvmm_workload >/tmp/bench-wl.out 2>&1
    _bt1=$(now_ns)
    b mark "$2" "$1" end
    pause
    _bok=1
    if [ -n "$TVMM_WHY" ]; then
        _bok=0
        b error "run $2 $1 workload failed: $TVMM_WHY"
    fi
    # "workload times (guest clock): 4 MiB sha256+gzip 1.23s, 500 fork/exec 4.56s, dd ... 0.78s"
    _bph=$(sed -n 's/.*sha256+gzip \([0-9.]*\)s, 500 fork\/exec \([0-9.]*\)s, dd bs=1 count=20000 \([0-9.]*\)s.*/\1 \2 \3/p' \
        /tmp/bench-wl.out)
    b run "$2" "$1" $((_bt1 - _bt0)) "$_bok" "${_bph:-- - -}"
}

run_off() { workload_timed off "$1"; }

run_on() {
    if ! tvmm_insmod; then
        b error "run $1 on: $TVMM_WHY"
        return 1
    fi
    b modline "$1" "$(grep '^thinvmm ' /proc/modules | cut -d' ' -f1-2)"
    status "$1.s0"
    status "$1.s1"
    workload_timed on "$1"
    status "$1.s2"
    if ! tvmm_rmmod; then
        b error "run $1 on: $TVMM_WHY"
        return 1
    fi
}

b env kernel "$(uname -r)"
b env ncpus "$(tvmm_ncpus)"
b env memtotal_kb "$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
b env clocksource "$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)"
b env timer "$([ -x "$CLOCK" ] && echo clock_gettime-monotonic || echo proc-uptime-10ms)"
b env address_sizes "$(sed -n 's/^address sizes[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
b env runs "$RUNS"
b env cmdline "$_cmdline"
b env iomem_ram "$(grep 'System RAM' /proc/iomem | sed 's/^ *//; s/ : System RAM//' | tr '\n' ',')"

if [ "$RUNS" -eq 0 ]; then
    run_on 1 || true
else
    # Warm-up (page cache, first exec of every binary), reported but not counted.
    run_off 0
    run_on 0 || true
    i=1 idx=1
    while [ "$i" -le "$RUNS" ]; do
        if [ $((i % 2)) -eq 1 ]; then
            run_off "$idx"; run_on $((idx + 1)) || true
        else
            run_on "$idx" || true; run_off $((idx + 1))
        fi
        i=$((i + 1)) idx=$((idx + 2))
    done
fi
# Calibration, for reading the exit counts: what an idle guest and one exec cost.
# cal.s1-cal.s0: one thinvmm-ctl call; cal.s2-cal.s1: 5 s idle (sleep) plus that call;
# cal.s3-cal.s2: 100 fork/exec of /bin/true plus that call.
# And the price of one CPUID exit here: a loop of N CPUIDs timed 3 times without thinvmm,
# 3 times with it (cal.s4-cal.s3 counts those exits), 3 times without again. The same for a
# loop of forks without exec (subshells: no CPUID, so no exits; cal.s5-cal.s4 checks), which
# shows what nested paging alone costs a fork-heavy load.
# Fields: cpuid K off|on N NS / fork K off|on N NS
N_CPUID=20000 N_FORK=200
cpuid_loop() {
    if _bc=$("$CLOCK" cpuid "$N_CPUID" 2>&1); then
        b cpuid "$2" "$1" "$N_CPUID" "$_bc"
    else
        b error "cpuid loop $2 $1: $_bc"
    fi
}
fork_loop() {
    _bf0=$(now_ns)
    _bi=0
    while [ "$_bi" -lt "$N_FORK" ]; do (:); _bi=$((_bi + 1)); done
    _bf1=$(now_ns)
    b fork "$2" "$1" "$N_FORK" $((_bf1 - _bf0))
}
loops() {  # KIND K1 K2 K3
    _bk=$1; shift
    for k in "$@"; do
        [ -x "$CLOCK" ] && cpuid_loop "$_bk" "$k"
        fork_loop "$_bk" "$k"
    done
}
[ -x "$CLOCK" ] || b error "no $CLOCK: no CPUID loop timings"
loops off 1 2 3
if tvmm_insmod; then
    status cal.s0
    status cal.s1
    sleep 5
    status cal.s2
    i=0
    while [ "$i" -lt 100 ]; do /bin/true; i=$((i + 1)); done
    status cal.s3
    if [ -x "$CLOCK" ]; then for k in 4 5 6; do cpuid_loop on "$k"; done; fi
    status cal.s4
    for k in 4 5 6; do fork_loop on "$k"; done
    status cal.s5
    tvmm_rmmod || b error "cal: $TVMM_WHY"
else
    b error "cal: $TVMM_WHY"
fi
loops off 7 8 9
tvmm_ensure_unloaded || b error "final unload: $TVMM_WHY"
b end
