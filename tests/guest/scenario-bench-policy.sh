#!/bin/sh
# Scenario "bench-policy" (bench/run-policy.sh, QEMU and Bochs): what the default Linux policy
# costs. Measurements, not pass/fail checks. Everything the host needs is printed on the console
# as lines starting "TVMM-BENCH:" (space-separated fields), "TVMM-BENCH-JSON: LABEL {thinvmm-ctl
# status --json}" and "TVMM-BENCH-EVENTS: LABEL {first line of thinvmm-ctl events}";
# bench/report_policy.py parses them.
#
# Three phases of tvmm_workload, in one boot:
#   off     without thinvmm
#   nopol   thinvmm loaded, no policy: insmod; status S0; status S1; stamp; workload; stamp;
#           status S2; rmmod
#   policy  thinvmm loaded and locked with /opt/thinvmm/linux-default.bin: status S1; stamp;
#           workload; stamp; status S2; events
# "off" and "nopol" alternate in counterbalanced pairs (off,nopol),(nopol,off),... The policy
# runs all come last, after `thinvmm-ctl lock`: a lock cannot be undone (rmmod is refused after
# it), so they cannot be interleaved with the others without a reboot, which would change more
# than the policy. Around the lock: status and events before and after (nested splits, table
# pages and leaves, mem_used, jump-label sites).
#
# Kernel command line:
#   tvmm.bench_runs=N    timed runs per phase (default 5)
#   tvmm.bench_warmup=1  one untimed "off" run first (default 1; index 0)
#   tvmm.bench_pause=S   seconds of idling after each mark (default 1; the host reads the
#                        emulator's CPU time meanwhile)
#   tvmm.bench_net=1     after the policy runs, one untimed tvmm_net_io (1 MiB over loopback
#                        TCP) under the policy, with its exits (default 1)
#
# run line: run INDEX PHASE NS TSC_DELTA OK PHASE1 PHASE2 PHASE3 IDLE_JIFFIES
# (NS: CLOCK_MONOTONIC; TSC_DELTA: RDTSC, in Bochs = instructions executed; phases: the
# workload's own 10 ms stamps; IDLE_JIFFIES: idle+iowait jiffies of /proc/stat over the window.)
. "${TVMM_DIR:-/opt/thinvmm}/lib.sh"

CLOCK=$TVMM_DIR/tvmm-bench-clock
POLICY=linux-default
RUNS=5 WARMUP=1 PAUSE=1 NET=1
read -r _cmdline </proc/cmdline
for _a in $_cmdline; do
    case "$_a" in
        tvmm.bench_runs=*) RUNS=${_a#tvmm.bench_runs=} ;;
        tvmm.bench_warmup=*) WARMUP=${_a#tvmm.bench_warmup=} ;;
        tvmm.bench_pause=*) PAUSE=${_a#tvmm.bench_pause=} ;;
        tvmm.bench_net=*) NET=${_a#tvmm.bench_net=} ;;
    esac
done
case "$RUNS" in '' | *[!0-9]*) RUNS=5 ;; esac
case "$WARMUP" in 0) ;; *) WARMUP=1 ;; esac
case "$NET" in 0) ;; *) NET=1 ;; esac
case "$PAUSE" in '' | *[!0-9.]*) PAUSE=1 ;; esac

dmesg -n 1 2>/dev/null || true
b() { echo "TVMM-BENCH: $*"; }

mkfifo /tmp/bench-fifo 2>/dev/null
exec 3<>/tmp/bench-fifo
# shellcheck disable=SC3045 # busybox ash has read -t
pause() { read -r -t "$PAUSE" _bx <&3 || true; }
idle_j() { read -r _c _us _ni _sy _id _io _rest </proc/stat; echo $((_id + _io)); }

status() {
    if tvmm_run /tmp/bench-status.json "$TVMM_CTL" status --json; then
        echo "TVMM-BENCH-JSON: $1 $(tr -d '\n' </tmp/bench-status.json)"
    else
        b error "status $1 failed: $(tvmm_oneline </tmp/bench-status.json)"
    fi
}
# events LABEL: the summary line of thinvmm-ctl events (policy, splits, sites, patches,
# violations); the records too when there are any (there should be none).
events() {
    if tvmm_run /tmp/bench-events.out "$TVMM_CTL" events; then
        echo "TVMM-BENCH-EVENTS: $1 $(sed -n 1p /tmp/bench-events.out)"
        sed -n '2,21s/^/TVMM-BENCH: record /p' /tmp/bench-events.out
    else
        b error "events $1 failed: $(tvmm_oneline </tmp/bench-events.out)"
    fi
}

workload_timed() {  # PHASE INDEX
    b mark "$2" "$1" start
    pause
    _ij0=$(idle_j)
    _bs0=$("$CLOCK" stamp)
    tvmm_workload >/tmp/bench-wl.out 2>&1
    _bs1=$("$CLOCK" stamp)
    _ij1=$(idle_j)
    b mark "$2" "$1" end
    pause
    _bok=1
    if [ -n "$TVMM_WHY" ]; then
        _bok=0
        b error "run $2 $1 workload failed: $TVMM_WHY"
    fi
    _bph=$(sed -n 's/.*sha256+gzip \([0-9.]*\)s, 500 fork\/exec \([0-9.]*\)s, dd bs=1 count=20000 \([0-9.]*\)s.*/\1 \2 \3/p' \
        /tmp/bench-wl.out)
    b run "$2" "$1" $((${_bs1% *} - ${_bs0% *})) $((${_bs1#* } - ${_bs0#* })) "$_bok" \
        "${_bph:-- - -}" $((_ij1 - _ij0))
}

run_off() { workload_timed off "$1"; }
run_nopol() {
    if ! tvmm_insmod; then
        b error "run $1 nopol: $TVMM_WHY"
        return 1
    fi
    status "$1.s0"
    status "$1.s1"
    workload_timed nopol "$1"
    status "$1.s2"
    tvmm_rmmod || { b error "run $1 nopol: $TVMM_WHY"; return 1; }
}
run_policy() {
    status "$1.s1"
    workload_timed policy "$1"
    status "$1.s2"
    events "$1"
}

b env kernel "$(uname -r)"
b env ncpus "$(tvmm_ncpus)"
b env memtotal_kb "$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
b env clocksource "$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)"
b env cpu_model "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
b env runs "$RUNS"
b env warmup "$WARMUP"
b env pause "$PAUSE"
b env policy "$POLICY"
b env cmdline "$_cmdline"
if [ ! -x "$CLOCK" ] || [ ! -f "$TVMM_DIR/$POLICY.bin" ]; then
    b error "missing $CLOCK or $TVMM_DIR/$POLICY.bin"
    b end
    exit 0
fi

# 1. off and nopol, alternating (index 0: warm-up, untimed in the report).
[ "$WARMUP" -eq 1 ] && run_off 0
i=1 idx=1
while [ "$i" -le "$RUNS" ]; do
    if [ $((i % 2)) -eq 1 ]; then
        run_off "$idx"; run_nopol $((idx + 1)) || true
    else
        run_nopol "$idx" || true; run_off $((idx + 1))
    fi
    i=$((i + 1)) idx=$((idx + 2))
done

# 2. The lock, with the state of the VMM either side of it.
if ! tvmm_insmod; then
    b error "lock: $TVMM_WHY"
    b end
    exit 0
fi
status lock.s0
events lock.before
b mark lock "$POLICY" start
_ls0=$("$CLOCK" stamp)
tvmm_run /tmp/bench-lock.out "$TVMM_CTL" lock "$TVMM_DIR/$POLICY.bin"
_lrc=$?
_ls1=$("$CLOCK" stamp)
b mark lock "$POLICY" end
b lock "$_lrc" $((${_ls1% *} - ${_ls0% *})) $((${_ls1#* } - ${_ls0#* })) "$(tvmm_oneline </tmp/bench-lock.out)"
status lock.s1
events lock.after
if [ "$_lrc" -ne 0 ]; then
    b error "lock failed: $(tvmm_oneline </tmp/bench-lock.out)"
    b end
    exit 0
fi
# Is the lock in force? (rmmod must be refused; then thinvmm stays loaded.)
if tvmm_rmmod_raw thinvmm >/dev/null 2>&1; then
    b error "rmmod succeeded after the lock"
else
    b lockcheck rmmod-refused
fi

# 3. Under the policy.
idx=$((2 * RUNS + 1))
i=1
while [ "$i" -le "$RUNS" ]; do
    run_policy "$idx"
    i=$((i + 1)) idx=$((idx + 1))
done
if [ "$NET" -eq 1 ]; then
    status net.s1
    tvmm_net_io
    status net.s2
    b net "$([ -z "$TVMM_WHY" ] && echo ok || echo "failed: $TVMM_WHY")"
fi
status final
events final
b end
