#!/bin/sh
# Scenario "bench-dma" (bench/run-dma.sh; QEMU with qemu.sh -V -D): what VT-d DMA protection
# costs. Measurements, not pass/fail checks. Everything the host needs is printed on the console
# as lines starting "TVMM-BENCH:" (space-separated fields), "TVMM-BENCH-JSON: LABEL {thinvmm-ctl
# status --json}", "TVMM-BENCH-EVENTS: LABEL {first line of thinvmm-ctl events}" and
# "TVMM-BENCH-EVJSON: LABEL {one line of thinvmm-ctl events --json}"; bench/report_dma.py
# parses them.
#
# A block is one run of tvmm-dma-io (built by bench/run-dma.sh): REPS repetitions of {write
# MIB MiB with O_DIRECT to /dev/vda (virtio-blk, iommu_platform=on) and read them back, the same
# on /dev/sda (AHCI), the disk order reversed every other repetition; then MIB MiB from
# /dev/zero, the CPU control without DMA}, each transfer timed on the guest's CLOCK_MONOTONIC
# inside the program. Phases, in this one boot:
#   warm    one untimed block first (the host allocates the sparse images' blocks; every timed
#           write after it overwrites)
#   off     no thinvmm: the IOMMU is there but translation is off (QEMU's devices DMA to guest
#           memory directly)
#   prot    thinvmm loaded: DMA translated through its IOMMU tables. Part 1: insmod; status S0;
#           S1; block; S2; rmmod (rmmod turns translation off again)
#   ...     part 1 is ROUNDS counterbalanced pairs (off,prot),(prot,off),... so slow drift of
#           the host hits both sides alike
#   part 2  insmod once more (kept): status; an exit calibration (S1; tvmm-dma-io with 0
#           repetitions: the same execs, no I/O; S2); LOCKED prot blocks (S1; block; S2); then
#           thinvmm-ctl lock linux-default.bin with status and events either side (IOTLB
#           invalidations, IOMMU table pages); rmmod must be refused
#   locked  LOCKED blocks under the lock (S1; block; S2), the calibration again, then status
#           and events --json (there must be no "dma" record)
# The locked blocks cannot be interleaved with the others (a lock cannot be undone), so they
# follow the protected blocks of part 2 directly: locked/prot compares neighbours in time.
#
# Kernel command line: tvmm.dma_rounds=N (6), tvmm.dma_reps=N (5), tvmm.dma_mib=N (48),
# tvmm.dma_kib=N (1024), tvmm.dma_locked=N (6), tvmm.dma_pause=S (0.5 s of idling after each
# block's output, so the console has drained before the next timed window).
#
# Lines: io INDEX PHASE REP DEV OP NS BYTES OK; mark INDEX PHASE start|end;
#        phase NAME begin|end; block INDEX PHASE RC; lock RC NS; dmastatus LABEL TEXT
. "${TVMM_DIR:-/opt/thinvmm}/lib.sh"

IO=$TVMM_DIR/tvmm-dma-io
CLOCK=$TVMM_DIR/tvmm-bench-clock
POLICY=linux-default
DEVS="/dev/vda /dev/sda"
ROUNDS=6 REPS=5 MIB=48 KIB=1024 LOCKED=6 PAUSE=0.5
read -r _cmdline </proc/cmdline
for _a in $_cmdline; do
    case "$_a" in
        tvmm.dma_rounds=*) ROUNDS=${_a#*=} ;;
        tvmm.dma_reps=*) REPS=${_a#*=} ;;
        tvmm.dma_mib=*) MIB=${_a#*=} ;;
        tvmm.dma_kib=*) KIB=${_a#*=} ;;
        tvmm.dma_locked=*) LOCKED=${_a#*=} ;;
        tvmm.dma_pause=*) PAUSE=${_a#*=} ;;
    esac
done
case "$ROUNDS" in '' | *[!0-9]*) ROUNDS=6 ;; esac
case "$REPS" in '' | *[!0-9]*) REPS=5 ;; esac
case "$MIB" in '' | *[!0-9]*) MIB=48 ;; esac
case "$KIB" in '' | *[!0-9]*) KIB=1024 ;; esac
case "$LOCKED" in '' | *[!0-9]*) LOCKED=6 ;; esac
case "$PAUSE" in '' | *[!0-9.]*) PAUSE=0.5 ;; esac

dmesg -n 1 2>/dev/null || true
b() { echo "TVMM-BENCH: $*"; }

mkfifo /tmp/bench-fifo 2>/dev/null
exec 3<>/tmp/bench-fifo
# shellcheck disable=SC3045 # busybox ash has read -t
pause() { read -r -t "$PAUSE" _bx <&3 || true; }

phase() {  # NAME begin|end: a boundary, for the reader of the console and for the report
    [ "$2" = begin ] && tvmm_heading "phase $1"
    b phase "$1" "$2"
}
status() {
    if tvmm_run /tmp/bench-status.json "$TVMM_CTL" status --json; then
        echo "TVMM-BENCH-JSON: $1 $(tr -d '\n' </tmp/bench-status.json)"
    else
        b error "status $1 failed: $(tvmm_oneline </tmp/bench-status.json)"
    fi
}
events() {  # LABEL: the summary line, and every line of --json (stats and records)
    if tvmm_run /tmp/bench-events.out "$TVMM_CTL" events; then
        echo "TVMM-BENCH-EVENTS: $1 $(sed -n 1p /tmp/bench-events.out)"
    else
        b error "events $1 failed: $(tvmm_oneline </tmp/bench-events.out)"
    fi
    if tvmm_run /tmp/bench-events.json "$TVMM_CTL" events --json; then
        sed -n "1,200s/^/TVMM-BENCH-EVJSON: $1 /p" /tmp/bench-events.json
    else
        b error "events --json $1 failed: $(tvmm_oneline </tmp/bench-events.json)"
    fi
}
dmastatus() { b dmastatus "$1" "$(tvmm_dma_status)"; }

block() {  # INDEX PHASE [REPS]: one run of tvmm-dma-io
    b mark "$1" "$2" start
    # shellcheck disable=SC2086
    "$IO" "$MIB" "$KIB" "${3-$REPS}" $DEVS >/tmp/bench-io.out 2>&1
    _rc=$?
    b mark "$1" "$2" end
    sed -n "s/^io /TVMM-BENCH: io $1 $2 /p" /tmp/bench-io.out
    [ "$_rc" -eq 0 ] || b error "block $1 $2: tvmm-dma-io exited $_rc: $(grep -v '^io ' /tmp/bench-io.out | tvmm_oneline)"
    b block "$1" "$2" "$_rc"
    pause
}
# A block under thinvmm with its exits: status S1; block; status S2.
block_exits() {  # INDEX PHASE [REPS]
    status "$1.s1"
    block "$@"
    status "$1.s2"
}
block_prot_p1() {  # INDEX: part 1's protected block, insmod ... rmmod around it
    if ! tvmm_insmod; then
        b error "block $1 prot: $TVMM_WHY"
        return 1
    fi
    dmastatus "$1"
    status "$1.s0"
    block_exits "$1" prot
    tvmm_rmmod || { b error "block $1 prot: $TVMM_WHY"; return 1; }
}

b env kernel "$(uname -r)"
b env ncpus "$(tvmm_ncpus)"
b env memtotal_kb "$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
b env clocksource "$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)"
b env cpu_model "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
b env rounds "$ROUNDS"
b env reps "$REPS"
b env mib "$MIB"
b env kib "$KIB"
b env locked_blocks "$LOCKED"
b env pause "$PAUSE"
b env cmdline "$_cmdline"
b env dmar "$([ -r /sys/firmware/acpi/tables/DMAR ] && echo present || echo absent)"
for _d in $DEVS; do
    _n=${_d#/dev/}
    b env disk "$_n" "$(cat "/sys/block/$_n/size" 2>/dev/null || echo -)" \
        "$(readlink -f "/sys/block/$_n/device" 2>/dev/null | sed 's,.*/devices/,,')"
done
for _f in "$IO" "$CLOCK" "$TVMM_DIR/$POLICY.bin"; do
    [ -x "$_f" ] || [ -f "$_f" ] || { b error "missing $_f"; b end; exit 0; }
done
for _d in $DEVS; do
    [ -b "$_d" ] || { b error "no block device $_d (qemu.sh -D)"; b end; exit 0; }
done

phase warm begin
block 0 warm 1
phase warm end

# 1. off and prot, alternating in counterbalanced pairs.
phase part1 begin
i=1 idx=1
while [ "$i" -le "$ROUNDS" ]; do
    if [ $((i % 2)) -eq 1 ]; then
        block "$idx" off; block_prot_p1 $((idx + 1)) || true
    else
        block_prot_p1 "$idx" || true; block $((idx + 1)) off
    fi
    i=$((i + 1)) idx=$((idx + 2))
done
phase part1 end

# 2. thinvmm stays: protected blocks, the lock, locked blocks.
phase part2 begin
if ! tvmm_insmod; then
    b error "part 2: $TVMM_WHY"
    b end
    exit 0
fi
dmastatus p2
status p2.s0
block_exits calib1 calib-prot 0
i=1
while [ "$i" -le "$LOCKED" ]; do
    block_exits "$idx" prot
    i=$((i + 1)) idx=$((idx + 1))
done
phase part2 end

phase lock begin
status lock.s0
events lock.before
b mark lock "$POLICY" start
_ls0=$("$CLOCK")
tvmm_run /tmp/bench-lock.out "$TVMM_CTL" lock "$TVMM_DIR/$POLICY.bin"
_lrc=$?
_ls1=$("$CLOCK")
b mark lock "$POLICY" end
b lock "$_lrc" $((_ls1 - _ls0)) "$(tvmm_oneline </tmp/bench-lock.out)"
status lock.s1
events lock.after
dmastatus lock
if [ "$_lrc" -ne 0 ]; then
    b error "lock failed: $(tvmm_oneline </tmp/bench-lock.out)"
    b end
    exit 0
fi
if tvmm_rmmod_raw thinvmm >/dev/null 2>&1; then
    b error "rmmod succeeded after the lock"
else
    b lockcheck rmmod-refused
fi
phase lock end

phase locked begin
i=1
while [ "$i" -le "$LOCKED" ]; do
    block_exits "$idx" locked
    i=$((i + 1)) idx=$((idx + 1))
done
block_exits calib2 calib-locked 0
phase locked end

status final
dmastatus final
events final
b end
