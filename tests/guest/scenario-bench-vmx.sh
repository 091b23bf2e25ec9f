#!/bin/sh
# Scenario "bench-vmx" (bench/run-vmx.sh): thinvmm's VT-x backend measured in Bochs, by
# instruction counts. Measurements, not pass/fail checks. Everything the host needs is printed
# on the console as lines starting "TVMM-BENCH:" (space-separated fields) and
# "TVMM-BENCH-JSON: LABEL {thinvmm-ctl status --json}"; bench/report.py --vmx parses them.
#
# Why the TSC: in Bochs (clock: sync=none) the time stamp counter is the emulator's tick
# counter, one tick per instruction executed (each iteration of a REP string instruction, each
# exception or VM exit one tick too), plus ten ticks per pass of Bochs's idle loop while the CPU
# halts. So over a window in which the CPU never halts, the TSC difference is the number of
# instructions executed, exactly, whatever the host did meanwhile. "ips" in the Bochs
# configuration only decides how many ticks make one second for the emulated timers (PIT, HPET,
# RTC, APIC timer). The guest's own clock is derived from the TSC with the frequency the kernel
# believes (for corei7_skylake_x taken from CPUID leaves 0x15/0x16: 3.5 GHz, not ips), which is
# why the host reads the TSC as well as CLOCK_MONOTONIC, and why "spin" below checks the
# relation between the two against a loop whose instruction count is known.
#
# Kernel command line (bochs.sh -a):
#   tvmm.bench_runs=N    N timed runs of tvmm_workload without thinvmm and N with it, in
#                        counterbalanced pairs (off,on),(on,off),... (default 3)
#   tvmm.bench_warmup=1  one untimed run of each side first (default 0: in Bochs the first run
#                        differs from the next by no more than they differ from each other)
#   tvmm.bench_cpuid=N   CPUIDs per timed CPUID loop (default 50000)
#   tvmm.bench_spin=N    iterations of the 2-instruction spin loop (default 25000000)
#
# One "on" run: insmod; status S0; status S1; stamp; workload; stamp; status S2; rmmod.
# An "off" run: stamp; workload; stamp. Around every timed window the scenario also records how
# often the CPU went idle (cpuidle entries, /proc/stat idle jiffies), the local timer
# interrupts (LOC in /proc/interrupts) and all others, read with shell built-ins (no exec, so
# no CPUID).
. "${TVMM_DIR:-/opt/thinvmm}/lib.sh"

CLOCK=$TVMM_DIR/tvmm-bench-clock
RUNS=3 N_CPUID=50000 N_SPIN=25000000 WARMUP=0
read -r _cmdline </proc/cmdline
for _a in $_cmdline; do
    case "$_a" in
        tvmm.bench_runs=*) RUNS=${_a#tvmm.bench_runs=} ;;
        tvmm.bench_cpuid=*) N_CPUID=${_a#tvmm.bench_cpuid=} ;;
        tvmm.bench_spin=*) N_SPIN=${_a#tvmm.bench_spin=} ;;
        tvmm.bench_warmup=*) WARMUP=${_a#tvmm.bench_warmup=} ;;
    esac
done
case "$RUNS" in '' | *[!0-9]*) RUNS=3 ;; esac
case "$WARMUP" in 1) ;; *) WARMUP=0 ;; esac
case "$N_CPUID" in '' | 0 | *[!0-9]*) N_CPUID=50000 ;; esac
case "$N_SPIN" in '' | 0 | *[!0-9]*) N_SPIN=25000000 ;; esac

# Keep kernel messages off the console so they cannot split a result line.
dmesg -n 1 2>/dev/null || true

b() { echo "TVMM-BENCH: $*"; }

# --- counters read without an exec ---------------------------------------------------------
# idle_now: sets _idl_n (cpuidle state entries summed over states of cpu0, or - without
# cpuidle) and _idl_j (idle + iowait jiffies of /proc/stat); irq_now: _loc (LOC interrupts).
CPUIDLE_STATES=""
for _s in /sys/devices/system/cpu/cpu0/cpuidle/state*; do
    [ -r "$_s/usage" ] && CPUIDLE_STATES="$CPUIDLE_STATES $_s"
done
idle_now() {
    _idl_n=-
    if [ -n "$CPUIDLE_STATES" ]; then
        _idl_n=0
        for _s in $CPUIDLE_STATES; do
            read -r _u <"$_s/usage"
            _idl_n=$((_idl_n + _u))
        done
    fi
    read -r _c _us _ni _sy _id _io _rest </proc/stat
    _idl_j=$((_id + _io))
}
irq_now() {
    _loc=- _oirq=0
    while read -r _n _v _rest; do
        case "$_v" in '' | *[!0-9]*) continue ;; esac
        if [ "$_n" = LOC: ]; then _loc=$_v; else _oirq=$((_oirq + _v)); fi
    done </proc/interrupts
}
# window_open / window_close KIND INDEX: the counters before and after a timed window, printed
# as: window INDEX KIND IDLE_ENTRIES IDLE_JIFFIES LOC_IRQS OTHER_IRQS (differences; - if
# unknown). OTHER_IRQS: every other line of /proc/interrupts (device IRQs, NMIs, IPIs, ...).
# First, settle: 0.1 s idle (a read that times out on an empty FIFO: no exec), time for the UART
# to send what was printed before (a status line is ~700 characters, 87 us each at 115200 baud)
# so that its interrupts do not land in the window.
mkfifo /tmp/bench-fifo 2>/dev/null
exec 3<>/tmp/bench-fifo
# shellcheck disable=SC3045 # busybox ash has read -t
settle() { read -r -t 0.1 _bx <&3 || true; }
window_open() { settle; idle_now; irq_now; _w_n=$_idl_n _w_j=$_idl_j _w_l=$_loc _w_o=$_oirq; }
window_close() {
    idle_now; irq_now
    _dn=- _dl=-
    [ "$_w_n" = - ] || _dn=$((_idl_n - _w_n))
    [ "$_w_l" = - ] || [ "$_loc" = - ] || _dl=$((_loc - _w_l))
    b window "$2" "$1" "$_dn" $((_idl_j - _w_j)) "$_dl" $((_oirq - _w_o))
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
# Fields: run INDEX KIND NS TSC_DELTA OK PHASE1 PHASE2 PHASE3 (phases: tvmm_workload's own
# /proc/uptime stamps, 10 ms of guest clock). The "mark" lines tell bench/watch.py on the host
# to note the wall clock and Bochs's CPU time.
workload_timed() {
    b mark "$2" "$1" start
    window_open
    _bs0=$("$CLOCK" stamp)
    tvmm_workload >/tmp/bench-wl.out 2>&1
    _bs1=$("$CLOCK" stamp)
    window_close "$1" "$2"
    b mark "$2" "$1" end
    _bok=1
    if [ -n "$TVMM_WHY" ]; then
        _bok=0
        b error "run $2 $1 workload failed: $TVMM_WHY"
    fi
    _bph=$(sed -n 's/.*sha256+gzip \([0-9.]*\)s, 500 fork\/exec \([0-9.]*\)s, dd bs=1 count=20000 \([0-9.]*\)s.*/\1 \2 \3/p' \
        /tmp/bench-wl.out)
    # "NS TSC" from each stamp
    b run "$2" "$1" $((${_bs1% *} - ${_bs0% *})) $((${_bs1#* } - ${_bs0#* })) "$_bok" "${_bph:-- - -}"
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

# loop KIND WHAT K: one timed loop (WHAT: spin or cpuidt) inside a window.
# Fields: spin|cpuid K off|on N NS TSC_DELTA
loop() {
    window_open
    if _bl=$("$CLOCK" "$2" "$( [ "$2" = spin ] && echo "$N_SPIN" || echo "$N_CPUID")" 2>&1); then
        window_close "$1" "$2.$3"
        # shellcheck disable=SC2086 # two numbers
        set -- "$1" "$2" "$3" $_bl
        b "${2%t}" "$3" "$1" "$( [ "$2" = spin ] && echo "$N_SPIN" || echo "$N_CPUID")" "$4" "$5"
    else
        window_close "$1" "$2.$3"
        b error "$2 loop $3 $1: $_bl"
    fi
}

# shloop KIND WHAT K: a timed loop of the shell's own, stamped like the workload:
#   exec: N_EXEC fork/exec of /bin/true (CPUID exits only from glibc's start-up, about 66
#         each with thinvmm: the price of an exit in the context the workload has);
#   fork: N_FORK subshells, fork without exec (no CPUID, so no exits).
# Fields: exec|fork K off|on N NS TSC_DELTA
N_EXEC=100 N_FORK=200
shloop() {
    _bn=$N_EXEC
    [ "$2" = fork ] && _bn=$N_FORK
    window_open
    _bs0=$("$CLOCK" stamp)
    _bi=0
    if [ "$2" = exec ]; then
        while [ "$_bi" -lt "$_bn" ]; do /bin/true; _bi=$((_bi + 1)); done
    else
        while [ "$_bi" -lt "$_bn" ]; do (:); _bi=$((_bi + 1)); done
    fi
    _bs1=$("$CLOCK" stamp)
    window_close "$1" "$2.$3"
    b "$2" "$3" "$1" "$_bn" $((${_bs1% *} - ${_bs0% *})) $((${_bs1#* } - ${_bs0#* }))
}

b env kernel "$(uname -r)"
b env ncpus "$(tvmm_ncpus)"
b env memtotal_kb "$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
b env clocksource "$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)"
b env clocksources "$(cat /sys/devices/system/clocksource/clocksource0/available_clocksource 2>/dev/null)"
b env address_sizes "$(sed -n 's/^address sizes[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
b env cpu_model "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
b env cpu_mhz "$(sed -n 's/^cpu MHz[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
b env vmx_flag "$(grep -qw vmx /proc/cpuinfo && echo yes || echo no)"
b env tsc_dmesg "$(dmesg | sed -n 's/^\[[^]]*\] *//; /^tsc: /p; /TSC clocksource calibration/p; /Marking clocksource/p' | tr '\n' ';')"
b env tsc_khz "$(dmesg | sed -n 's/.*tsc: Detected \([0-9.]*\) MHz TSC.*/\1/p' | tail -n 1)"
b env lpj "$(dmesg | sed -n 's/.*(lpj=\([0-9]*\)).*/\1/p' | head -n 1)"
b env cpuidle "${CPUIDLE_STATES:-none}"
b env cpuidle_driver "$(cat /sys/devices/system/cpu/cpuidle/current_driver 2>/dev/null || echo none)"
b env timer "$([ -x "$CLOCK" ] && echo clock_gettime-monotonic+rdtsc || echo none)"
b env runs "$RUNS"
b env warmup "$WARMUP"
b env n_cpuid "$N_CPUID"
b env n_spin "$N_SPIN"
b env cmdline "$_cmdline"
b env iomem_ram "$(grep 'System RAM' /proc/iomem | sed 's/^ *//; s/ : System RAM//' | tr '\n' ',')"

if [ ! -x "$CLOCK" ]; then
    b error "no $CLOCK: nothing can be timed"
    tvmm_ensure_unloaded || true
    b end
    exit 0
fi

# 1. The clock: a loop of exactly 2*N_SPIN instructions, 3 times (same result each time if
#    the TSC counts instructions; only the timer interrupts that land in it add ticks).
for k in 1 2 3; do loop off spin "$k"; done

# 2. Calibration and the price of one CPUID exit, before the long workload runs (so that a
#    boot cut short by the host's time limit loses workload runs, not these):
#    cal.s1-cal.s0: one thinvmm-ctl call; cal.s2-cal.s1: idling (sleep 0.2) plus that call;
#    cal.s3-cal.s2: 100 fork/exec of /bin/true plus that call; cal.s4-cal.s3: the 3 CPUID
#    loops (and their execs); cal.s5-cal.s4: the spin loops, the exec loops and the fork loops
#    (exits only from the execs). CPUID loops: 3 without thinvmm, 3 with it, 3 without again;
#    exec loops 3 without, 3 with; fork loops 2 without, 2 with.
for k in 1 2 3; do loop off cpuidt "$k"; done
for k in 1 2 3; do shloop off exec "$k"; done
for k in 1 2; do shloop off fork "$k"; done
if tvmm_insmod; then
    status cal.s0
    status cal.s1
    sleep 0.2
    status cal.s2
    i=0
    while [ "$i" -lt 100 ]; do /bin/true; i=$((i + 1)); done
    status cal.s3
    for k in 4 5 6; do loop on cpuidt "$k"; done
    status cal.s4
    for k in 4 5; do loop on spin "$k"; done
    for k in 4 5 6; do shloop on exec "$k"; done
    for k in 3 4; do shloop on fork "$k"; done
    status cal.s5
    tvmm_rmmod || b error "cal: $TVMM_WHY"
else
    b error "cal: $TVMM_WHY"
fi
for k in 7 8 9; do loop off cpuidt "$k"; done

# 3. The workload, off and on, in counterbalanced pairs (off,on),(on,off),... numbered from 1;
#    with tvmm.bench_warmup=1 one untimed run of each first (index 0). RUNS=0: one "on" run.
if [ "$RUNS" -eq 0 ]; then
    run_on 1 || true
else
    if [ "$WARMUP" -eq 1 ]; then
        run_off 0
        run_on 0 || true
    fi
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
tvmm_ensure_unloaded || b error "final unload: $TVMM_WHY"
b end
