#!/usr/bin/env bash
# Boot the guest kernel + an initramfs once in Bochs (an emulated Intel CPU with VMX and EPT),
# headless, with a time limit. The same interface as tests/e2e/qemu.sh, for the VT-x backend.
#
# Usage: tests/e2e/bochs.sh [options]
#   -i INITRD     initramfs (required)
#   -n NAME       scenario: adds tvmm.scenario=NAME to the kernel command line
#   -o OUTDIR     logs go here (default build/e2e/manual-bochs)
#   -s N          number of CPUs (Bochs cpu count; default 1). Debian's bochs is built with SMP
#                 and 2 works, but every CPU added costs about as much CPU time again
#   -c MODEL      Bochs CPU model (default corei7_skylake_x: VMX with EPT, VPID, unrestricted
#                 guest); `bochs --help cpu` lists them. p4_prescott_celeron_336 is a 64-bit
#                 Intel CPU without VMX.
#   -m MEM        guest memory, MiB (512, 512M or 1G; default 512)
#   -a ARGS       extra kernel command-line arguments (may be repeated)
#   -t SECONDS    time limit, wall clock (default 900)
#   -k KERNEL     kernel image (default build/kernel/vmlinuz)
#   -q            quiet: do not echo the guest console on stdout
# Environment:
#   TVMM_BOCHS_IPS    emulated instructions per emulated second (default 200000000)
#   TVMM_BOCHS_KARGS  kernel arguments every Bochs boot gets (default "clearcpuid=xsaves,xsavec
#                     retbleed=off tsc_early_khz=IPS/1000", see BOCHS_KARGS below for why)
#
# How it runs: the kernel and the initramfs go on a BIOS-bootable ISO (grub-mkrescue, GRUB
# menu from tests/e2e/bochs/grub.cfg.in) that Bochs boots as a CD-ROM, with the configuration
# from tests/e2e/bochs/bochsrc.in. Debian's bochs has its debugger built in and its "term"
# display wants a terminal, so Bochs runs under `script` (a pty) with a debugger rc file that
# says "c". The guest's `poweroff -f` ends Bochs: the ACPI S5 request is a Bochs "panic"
# (">>PANIC<< ACPI control: soft power off" in bochs.log) and panics are fatal here. Should
# the power-off not come within a minute of "TVMM-E2E: done", bochs.sh stops Bochs itself.
# When Bochs refused a VM entry, the reason it logged ("VMENTER FAIL: ...") is printed.
#
# OUTDIR/console.log   COM1 (ttyS0), the guest console
# OUTDIR/vmm.log       COM2 (I/O port 0x2f8), the hypervisor's log port
# OUTDIR/bochs.log     Bochs's own log (CPU model, devices, panics, the register dump at exit)
# OUTDIR/bochs-term.log  what Bochs printed on its pty (startup, debugger)
# OUTDIR/screen.log    the VGA text screen as the term display drew it (BIOS, GRUB: look here
#                      when the console stays empty), curses escapes and all
# OUTDIR/bochsrc, OUTDIR/grub.cfg, OUTDIR/cmdline  the configuration and command used
# OUTDIR/timing        wall-clock seconds at which the boot reached each stage, Bochs CPU time
# OUTDIR/status        one line: how the run ended
#
# Exit status: 0 when the guest powered off (or, as QEMU's -no-reboot would, when it reset:
# bochs.sh stops Bochs at the first reset; or when it said "TVMM-E2E: done" and did not power
# off: tests/e2e/check.sh tells those apart), 124 on
# timeout, 2 on bad usage or a missing tool, 1 when Bochs stopped for any other reason (a Bochs
# panic: see bochs.log) or its own status.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ME=$(basename "$0")
die() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 2; }
log() { printf '%s: %s\n' "$ME" "$*" >&2; }

INITRD="" SCENARIO="" OUTDIR="$REPO_ROOT/build/e2e/manual-bochs" SMP=1 MODEL=corei7_skylake_x
MEM=512 APPEND_EXTRA="" TIMEOUT=900 KERNEL="$REPO_ROOT/build/kernel/vmlinuz" QUIET=0
IPS=${TVMM_BOCHS_IPS:-200000000}
[[ "$IPS" =~ ^[1-9][0-9]{3,}$ ]] || die "TVMM_BOCHS_IPS wants a number of instructions per second, not '$IPS'"
# Kernel arguments for every Bochs boot, both working around Bochs 2.7 rather than changing
# what is tested:
#   clearcpuid=xsaves,xsavec
#                 Bochs's corei7_skylake_x reports the standard-format XSAVE size in CPUID
#                 0xD.1 EBX where the compacted size belongs (they differ by the 256-byte hole
#                 of the absent MPX states), and Linux 6.1 prints "XSAVE consistency problem:
#                 size 2432 != kernel_size 2688" with a WARNING and a call trace. Without XSAVES
#                 and XSAVEC the kernel uses the standard format, whose size Bochs reports right.
#                 (6.1 has no "noxsaves" any more, and it compacts with XSAVEC too.) The guest
#                 then never executes XSAVES/XRSTORS, so the VMM's handling of them goes untested.
#   retbleed=off  on an Intel CPU model without eIBRS/microcode the kernel otherwise prints
#                 "RETBleed: WARNING: Spectre v2 mitigation leaves CPU vulnerable ...", which
#                 tests/e2e/check.sh's kernel-health check rightly treats as a warning.
#   tsc_early_khz=IPS/1000
#                 Bochs's TSC advances once per instruction, IPS per emulated second, but
#                 corei7_skylake_x's CPUID leaves 0x15/0x16 announce 3.5 GHz and Linux believes
#                 them: the guest's clock then runs 17.5 times slower than the emulated timers,
#                 a `sleep 1` lasts 17.5 emulated seconds, and with 2 CPUs (where Bochs does not
#                 skip idle time) the power-off after a scenario took more than a minute. Given
#                 the right frequency, Linux also refines it against the HPET (200.000 MHz) and
#                 keeps its clocksource watchdog. Older models (no leaf 0x15) calibrate anyway.
BOCHS_KARGS=${TVMM_BOCHS_KARGS-clearcpuid=xsaves,xsavec retbleed=off tsc_early_khz=$((IPS / 1000))}
while getopts ':i:n:o:s:c:m:a:t:k:qh' opt; do
    case "$opt" in
        i) INITRD=$OPTARG ;;
        n) SCENARIO=$OPTARG ;;
        o) OUTDIR=$OPTARG ;;
        s) SMP=$OPTARG ;;
        c) MODEL=$OPTARG ;;
        m) MEM=$OPTARG ;;
        a) APPEND_EXTRA="$APPEND_EXTRA $OPTARG" ;;
        t) TIMEOUT=$OPTARG ;;
        k) KERNEL=$OPTARG ;;
        q) QUIET=1 ;;
        h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        :) die "option -$OPTARG needs an argument (see -h)" ;;
        *) die "unknown option -$OPTARG (see -h)" ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || die "unexpected argument '$1' (see -h)"

TEMPLATES=$REPO_ROOT/tests/e2e/bochs
BIOS=/usr/share/bochs/BIOS-bochs-latest
VGABIOS=/usr/share/vgabios/vgabios.bin
GRUB_PC=/usr/lib/grub/i386-pc
TERM_PLUGIN=/usr/lib/x86_64-linux-gnu/bochs/plugins/libbx_term_gui.so
for t in bochs script grub-mkrescue xorriso; do
    command -v "$t" >/dev/null 2>&1 || die "$t not found (tests/env/deps.sh installs it)"
done
[ -f "$BIOS" ] || die "$BIOS not found (package bochsbios)"
[ -f "$VGABIOS" ] || die "$VGABIOS not found (package vgabios)"
[ -d "$GRUB_PC" ] || die "$GRUB_PC not found (package grub-pc-bin)"
[ -e "$TERM_PLUGIN" ] || die "$TERM_PLUGIN not found (package bochs-term: Debian's bochs has no display library that works without a window otherwise)"
[ -n "$INITRD" ] || die "no initramfs given (-i INITRD)"
[ -f "$INITRD" ] || die "initramfs $INITRD not found"
[ -f "$KERNEL" ] || die "kernel $KERNEL not found (run tests/env/kernel.sh)"
[[ "$SMP" =~ ^[1-9][0-9]?$ ]] || die "-s wants a number of CPUs from 1 to 99, not '$SMP'"
[[ "$TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "-t wants a positive number of seconds, not '$TIMEOUT'"
[[ "$MODEL" =~ ^[a-z0-9_]+$ ]] || die "bad Bochs CPU model '$MODEL' (bochs --help cpu lists them)"
[[ -z "$SCENARIO" || "$SCENARIO" =~ ^[A-Za-z0-9_-]+$ ]] || die "bad scenario name '$SCENARIO'"
[[ "$MEM" =~ ^([1-9][0-9]*)([MmGg]?)$ ]] || die "-m wants MiB (512, 512M, 1G), not '$MEM'"
MEGS=${BASH_REMATCH[1]}
case "${BASH_REMATCH[2]}" in [Gg]) MEGS=$((MEGS * 1024)) ;; esac

mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
# The paths go into bochsrc (double quotes) and into script's command string (single quotes).
case "$OUTDIR$KERNEL$INITRD" in *[\"\'\|\&$'\n']*) die "paths must not contain quotes, | , & or newlines" ;; esac
CONSOLE="$OUTDIR/console.log" VMMLOG="$OUTDIR/vmm.log" BLOG="$OUTDIR/bochs.log"
TLOG="$OUTDIR/bochs-term.log" RC="$OUTDIR/bochsrc" DBGRC="$OUTDIR/debugger.rc" SCREENLOG="$OUTDIR/screen.log"
ISO="$OUTDIR/boot.iso" PIDFILE="$OUTDIR/bochs.pid" TIMING="$OUTDIR/timing"
rm -f "$CONSOLE" "$VMMLOG" "$BLOG" "$TLOG" "$SCREENLOG" "$PIDFILE" "$TIMING" "$OUTDIR/status" "$ISO"
: >"$CONSOLE"
: >"$VMMLOG"

# 115200 baud, not the 8250 console's default 9600: Bochs times the UART in emulated time, and
# the kernel busy-waits for every character it prints. At 9600 baud that was 1 ms (200000
# instructions) a character and the kernel's part of the boot took 2.5 times as long.
APPEND="console=ttyS0,115200 panic=-1"
[ -n "$SCENARIO" ] && APPEND="$APPEND tvmm.scenario=$SCENARIO"
[ -n "$BOCHS_KARGS" ] && APPEND="$APPEND $BOCHS_KARGS"
APPEND="$APPEND${APPEND_EXTRA}"
case "$APPEND" in *[\\@\"\'\;\$\{\}\|\&]*) die "kernel arguments must not contain \\ @ \" ' ; \$ { } | &: $APPEND" ;; esac

START=$SECONDS
stage() { printf '%5ds  %s\n' "$((SECONDS - START))" "$*" >>"$TIMING"; }

# --- the boot ISO -----------------------------------------------------------------------------
STAGE=$(mktemp -d "${TMPDIR:-/tmp}/tvmm-bochs-iso.XXXXXX")
mkdir -p "$STAGE/boot/grub"
cp "$KERNEL" "$STAGE/vmlinuz"
cp "$INITRD" "$STAGE/initrd"
sed "s|@APPEND@|$APPEND|" "$TEMPLATES/grub.cfg.in" >"$STAGE/boot/grub/grub.cfg"
cp "$STAGE/boot/grub/grub.cfg" "$OUTDIR/grub.cfg"
if ! grub-mkrescue -d "$GRUB_PC" -o "$ISO" "$STAGE" >"$OUTDIR/grub-mkrescue.log" 2>&1; then
    rm -rf "$STAGE"
    sed 's/^/  grub-mkrescue: /' "$OUTDIR/grub-mkrescue.log" >&2
    die "grub-mkrescue failed"
fi
rm -rf "$STAGE"
stage "boot ISO written ($(( $(stat -c %s "$ISO") / 1048576 )) MiB)"

# --- the Bochs configuration ------------------------------------------------------------------
sed -e "s|@ROMIMAGE@|$BIOS|" -e "s|@VGAROMIMAGE@|$VGABIOS|" -e "s|@MEGS@|$MEGS|g" \
    -e "s|@MODEL@|$MODEL|" -e "s|@SMP@|$SMP|" -e "s|@IPS@|$IPS|" -e "s|@ISO@|$ISO|" \
    -e "s|@CONSOLE@|$CONSOLE|" -e "s|@VMMLOG@|$VMMLOG|" -e "s|@BOCHSLOG@|$BLOG|" \
    "$TEMPLATES/bochsrc.in" >"$RC"
! grep -v '^#' "$RC" | grep -q '@[A-Z]*@' || die "unfilled field in $RC: $(grep -o '@[A-Z]*@' "$RC" | head -n1)"
printf 'c\n' >"$DBGRC"   # the debugger's first and only command: continue

# `script` gives Bochs a pty (the term display needs one) and passes its exit status on (-e).
# The shell it starts records its own PID, which `exec` hands to Bochs: that PID is what gets
# killed on a timeout, never anything found by name. The pty has no size unless told.
BOCHS_CMD="stty rows 25 cols 80 2>/dev/null; echo \$\$ >'$PIDFILE'; exec bochs -q -f '$RC' -rc '$DBGRC'"
{
    printf 'SHELL=/bin/sh TERM=xterm script -qefc %q /dev/null\n' "$BOCHS_CMD"
    printf 'kernel command line: %s\n' "$APPEND"
} >"$OUTDIR/cmdline"

SPID="" BPID="" TPID="" RPID="" CPUTIME=""
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
# Bochs is script's child, not ours: signal its PID only while its parent is still our script,
# so that a PID the system has handed out again is never hit.
bochs_alive() {
    local st
    [ -n "$BPID" ] && [ -n "$SPID" ] && st=$(cat "/proc/$BPID/stat" 2>/dev/null) || return 1
    st=${st##*) }
    set -- $st
    [ "$2" = "$SPID" ]
}
# Bochs's CPU time so far (user+system seconds), from /proc while it runs.
sample_cpu() {
    local st
    [ -n "$BPID" ] && st=$(cat "/proc/$BPID/stat" 2>/dev/null) || return 0
    st=${st##*) }
    set -- $st
    CPUTIME=$(( (${12} + ${13}) / CLK_TCK ))
}
# Bochs's term display catches SIGTERM and only logs it ("sig 15 caught"): KILL follows soon.
stop_bochs() {
    if bochs_alive; then
        kill -TERM "$BPID" 2>/dev/null || true
        for _ in 1 2 3 4; do
            bochs_alive || break
            sleep 0.5
        done
        bochs_alive && kill -KILL "$BPID" 2>/dev/null || true
    fi
    if alive "$SPID"; then
        for _ in 1 2 3 4; do
            alive "$SPID" || break
            sleep 0.5
        done
        alive "$SPID" && kill -TERM "$SPID" 2>/dev/null || true
        wait "$SPID" 2>/dev/null || true
    fi
    if [ -n "$TPID" ]; then kill -TERM "$TPID" 2>/dev/null || true; wait "$TPID" 2>/dev/null || true; fi
    if [ -n "$RPID" ]; then kill -TERM "$RPID" 2>/dev/null || true; wait "$RPID" 2>/dev/null || true; fi
    SPID="" BPID="" TPID="" RPID=""
}
# With its debugger built in, Bochs leaves its own terminal to the debugger: the term display
# opens a new pty, says 'Bochs connected to screen "/dev/pts/N"' and draws there. Nobody else
# opens that pty, and once its buffer is full Bochs blocks writing to it, in the middle of the
# guest's run, for good (a bench run stopped so after some 73 emulated seconds of cursor
# redraws). So read it, into screen.log. Bochs has already switched the pty's echo off, so
# nothing comes back as keystrokes. The reader ends by itself when Bochs closes the pty.
read_screen() {
    local pts
    [ -z "$RPID" ] || return 0
    pts=$(grep -ao 'Bochs connected to screen "/dev/pts/[0-9]*"' "$TLOG" 2>/dev/null | head -n1) || true
    pts=${pts#*\"}
    pts=${pts%\"}
    [ -n "$pts" ] && [ -c "$pts" ] || return 0
    cat "$pts" >"$SCREENLOG" 2>/dev/null </dev/null &
    RPID=$!
    stage "reading Bochs's screen from $pts"
}
cleanup() {
    local rc=$?
    if alive "$SPID" || bochs_alive; then
        log "stopping Bochs (pid ${BPID:-?}, script pid $SPID)"
    fi
    stop_bochs
    rm -f "$PIDFILE" "$ISO"
    return "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM
trap 'log "hangup"; exit 129' HUP

log "booting (Bochs $MODEL x$SMP, ${MEGS} MiB, limit ${TIMEOUT}s): $APPEND"
SHELL=/bin/sh TERM=xterm script -qefc "$BOCHS_CMD" /dev/null </dev/null >"$TLOG" 2>&1 &
SPID=$!
for _ in $(seq 1 100); do
    [ -s "$PIDFILE" ] && break
    alive "$SPID" || break
    sleep 0.1
done
BPID=$(cat "$PIDFILE" 2>/dev/null || true)
[[ "$BPID" =~ ^[0-9]+$ ]] || BPID=""
[ -n "$BPID" ] || log "warning: no Bochs PID from $PIDFILE; only the script wrapper (pid $SPID) can be stopped"
stage "Bochs started (pid ${BPID:-?}, script pid $SPID)"
if [ "$QUIET" -eq 0 ]; then
    tail -n +1 -f --pid="$SPID" "$CONSOLE" </dev/null &
    TPID=$!
fi

# Milestones, in boot order: the text on the console that marks each, and its label.
MARKS=("Linux version|kernel decompressed, console up" "Run /init as init process|/init started"
       "TVMM-E2E: running |scenario started" "TVMM-E2E: done|scenario done")
NEXT_MARK=0
DONE_AT="" DONE_GRACE=60
scan_marks() {
    while [ "$NEXT_MARK" -lt "${#MARKS[@]}" ] && grep -qF -- "${MARKS[$NEXT_MARK]%%|*}" "$CONSOLE"; do
        stage "${MARKS[$NEXT_MARK]#*|}"
        NEXT_MARK=$((NEXT_MARK + 1))
        [ "$NEXT_MARK" -lt "${#MARKS[@]}" ] || DONE_AT=$((SECONDS - START))
    done
}
OUTCOME="" # timeout | reset | done-no-poweroff | exited
while alive "$SPID"; do
    now=$((SECONDS - START))
    read_screen
    scan_marks
    sample_cpu
    if [ "$now" -ge "$TIMEOUT" ]; then OUTCOME=timeout; break; fi
    # Bochs logs one reset at power-on; a second one is the guest rebooting (panic=-1, a triple
    # fault, reboot -f). Stop there, as QEMU's -no-reboot does, instead of booting again.
    resets=$(grep -c 'bx_pc_system_c::Reset(' "$BLOG" 2>/dev/null) || true
    if [ "${resets:-0}" -gt 1 ]; then OUTCOME=reset; break; fi
    # The guest powers off right after "TVMM-E2E: done"; should Bochs not end, end it.
    if [ -n "$DONE_AT" ] && [ $((now - DONE_AT)) -ge "$DONE_GRACE" ]; then OUTCOME=done-no-poweroff; break; fi
    sleep 0.5
done
ELAPSED=$((SECONDS - START))
scan_marks

# Bochs says why a VM entry failed, which the VMM itself only sees as an exit reason: pass it on.
vmx_report() {
    local n
    n=$(grep -cE 'VMENTER FAIL|VMFAIL|VMABORT|VMEXIT: .*[Ff]ail' "$BLOG" 2>/dev/null) || true
    [ "${n:-0}" -gt 0 ] || return 0
    log "Bochs logged $n VMX failure line(s) in $BLOG, distinct ones:"
    grep -E 'VMENTER FAIL|VMFAIL|VMABORT|VMEXIT: .*[Ff]ail' "$BLOG" | sed 's/^[0-9]*[a-z]\[[^]]*\] *//' \
        | sort | uniq -c | sort -rn | head -n 10 | sed 's/^/  bochs: /' >&2
}

if [ -n "$OUTCOME" ]; then
    stop_bochs
    stage "Bochs stopped ($OUTCOME); Bochs CPU time ${CPUTIME:-?}s"
    vmx_report
    case "$OUTCOME" in
        timeout)
            log "TIMEOUT: the guest did not power off within ${TIMEOUT}s; Bochs stopped"
            echo "timeout after ${TIMEOUT}s" >"$OUTDIR/status"
            exit 124 ;;
        reset)
            log "the guest reset after ${ELAPSED}s (see $CONSOLE); Bochs stopped as -no-reboot would"
            echo "guest reset after ${ELAPSED}s; stopped" >"$OUTDIR/status"
            exit 0 ;;
        done-no-poweroff)
            log "'TVMM-E2E: done' but no power-off within ${DONE_GRACE}s; Bochs stopped"
            echo "scenario done, no power-off within ${DONE_GRACE}s; stopped after ${ELAPSED}s" >"$OUTDIR/status"
            exit 0 ;;
    esac
fi

BRC=0
wait "$SPID" || BRC=$?
SPID="" BPID=""
if [ -n "$TPID" ]; then wait "$TPID" 2>/dev/null || true; TPID=""; fi
if [ -n "$RPID" ]; then kill -TERM "$RPID" 2>/dev/null || true; wait "$RPID" 2>/dev/null || true; RPID=""; fi
stage "Bochs exited (status $BRC); Bochs CPU time ${CPUTIME:-?}s"
vmx_report
if grep -q '>>PANIC<< ACPI control: soft power off' "$BLOG" 2>/dev/null; then
    echo "guest powered off after ${ELAPSED}s" >"$OUTDIR/status"
    log "guest powered off after ${ELAPSED}s (logs in $OUTDIR)"
    exit 0
fi
[ "$BRC" -ne 0 ] || BRC=1
echo "Bochs exited with status $BRC after ${ELAPSED}s without a guest power-off" >"$OUTDIR/status"
log "Bochs stopped after ${ELAPSED}s without a guest power-off (status $BRC); from $BLOG:"
{ grep -E '>>PANIC<<|exception\(\)|[Tt]riple' "$BLOG" 2>/dev/null | tail -n 10 || true; tail -n 5 "$TLOG" 2>/dev/null | tr -d '\r'; } \
    | sed 's/^/  bochs: /' >&2
exit "$BRC"
