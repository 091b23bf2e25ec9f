#!/usr/bin/env bash
# Run the e2e scenarios: build the initramfs once, then for each scenario boot QEMU and judge
# the logs with check.sh. Logs: build/e2e/<scenario>/{console,vmm,qemu}.log, check.txt.
#
# Usage: tests/e2e/run.sh [-t SECONDS] [-v] [-l] [SCENARIO...]
#   SCENARIO   names from the table below (default: all, in order)
#   -t SECONDS per-boot time limit (default $TVMM_E2E_TIMEOUT or 300)
#   -v         echo each guest console while it runs
#   -l         list the scenarios and exit
# Environment: TVMM_GUEST_DIR (default build/guest) holds thinvmm.ko and the guest tools;
#              TVMM_E2E_DIR (default build/e2e) receives the initramfs and the logs.
#
# Does not build anything but the initramfs: run make first (the Makefile's test target does).
# Last line: exactly "N passed, M failed" (sums over the scenarios). Exit 0 iff M = 0 and N > 0.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ME=$(basename "$0")
die() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 2; }

# name | -smp | -cpu | guest scenario (tests/guest/scenario-<name>.sh)
# svm-nosvm pins xlevel: in QEMU 7.2 (TCG) "max,-svm" also drops the highest extended CPUID leaf
# from 0x8000000a to 0x80000001, and then every static-glibc binary (busybox) in the guest dies
# with "_dl_get_origin: Assertion `linkval[0] == '/'' failed". With xlevel pinned the only
# difference from "max" is the missing SVM.
# A fifth field "stop" marks a scenario that must end with the machine stopped by the VMM
# (QEMU still running, no reset): it gets a short limit and is judged by check-stop.sh.
SCENARIOS=(
    "svm-basic|2|max|basic"
    "svm-smp4|4|max|basic"
    "svm-nosvm|2|max,-svm,xlevel=0x8000000a|nosvm"
    "svm-triplefault|2|max|triplefault|stop"
)
STOP_TIMEOUT=${TVMM_E2E_STOP_TIMEOUT:-45}

TIMEOUT=${TVMM_E2E_TIMEOUT:-300} VERBOSE=0
while getopts ':t:vlh' opt; do
    case "$opt" in
        t) TIMEOUT=$OPTARG ;;
        v) VERBOSE=1 ;;
        l) for s in "${SCENARIOS[@]}"; do IFS='|' read -r n smp cpu sc <<<"$s"
               printf '%-12s -smp %s -cpu %-28s scenario %s\n' "$n" "$smp" "$cpu" "$sc"; done; exit 0 ;;
        h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        :) die "option -$OPTARG needs an argument" ;;
        *) die "unknown option -$OPTARG (see -h)" ;;
    esac
done
shift $((OPTIND - 1))
[[ "$TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "-t wants a positive number of seconds, not '$TIMEOUT'"

# Which scenarios, in table order unless named.
SELECTED=()
if [ $# -eq 0 ]; then
    SELECTED=("${SCENARIOS[@]}")
else
    for want in "$@"; do
        found=""
        for s in "${SCENARIOS[@]}"; do
            [ "${s%%|*}" = "$want" ] && found=$s
        done
        [ -n "$found" ] || die "unknown scenario '$want' (known: $(for s in "${SCENARIOS[@]}"; do printf '%s ' "${s%%|*}"; done))"
        SELECTED+=("$found")
    done
fi

GUEST_DIR=${TVMM_GUEST_DIR:-$REPO_ROOT/build/guest}
KERNEL=$REPO_ROOT/build/kernel/vmlinuz
[ -f "$GUEST_DIR/thinvmm.ko" ] || die "$GUEST_DIR/thinvmm.ko is missing: build the project first (make)"
[ -f "$KERNEL" ] || die "$KERNEL is missing: run tests/env/kernel.sh (make does)"
for s in "${SELECTED[@]}"; do
    IFS='|' read -r _ _ _ sc _ <<<"$s"
    [ -f "$REPO_ROOT/tests/guest/scenario-$sc.sh" ] || die "tests/guest/scenario-$sc.sh is missing"
done

E2E=${TVMM_E2E_DIR:-$REPO_ROOT/build/e2e}
mkdir -p "$E2E"
INITRD=$E2E/initramfs.cpio.gz
echo "=== e2e: building $INITRD"
"$REPO_ROOT/tests/env/initramfs.sh" "$INITRD"

TOTAL_P=0 TOTAL_F=0
SUMMARY=()
for s in "${SELECTED[@]}"; do
    IFS='|' read -r name smp cpu sc expect <<<"$s"
    out=$E2E/$name
    limit=$TIMEOUT checker=check.sh
    if [ "${expect:-}" = stop ]; then limit=$STOP_TIMEOUT checker=check-stop.sh; fi
    rm -rf "$out"
    mkdir -p "$out"
    echo
    echo "=== e2e $name: -smp $smp -cpu $cpu, scenario $sc, limit ${limit}s"
    qargs=(-i "$INITRD" -n "$sc" -o "$out" -s "$smp" -c "$cpu" -t "$limit" -k "$KERNEL")
    [ "$VERBOSE" -eq 1 ] || qargs+=(-q)
    t0=$SECONDS
    qrc=0
    "$REPO_ROOT/tests/e2e/qemu.sh" "${qargs[@]}" || qrc=$?
    secs=$((SECONDS - t0))

    crc=0
    mkdir -p "$out"
    cargs=("$out/console.log" "$out/vmm.log")
    [ "$checker" = check.sh ] || cargs+=("$qrc" "$smp")
    "$REPO_ROOT/tests/e2e/$checker" "${cargs[@]}" >"$out/check.txt" 2>&1 || crc=$?
    last=$(tail -n1 "$out/check.txt")
    if [[ "$last" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
    else
        p=0 f=1
        echo "FAIL check check.sh failed (status $crc): $last" >>"$out/check.txt"
    fi
    case "${expect:-}:$qrc" in
        stop:*) ;; # check-stop.sh judged the exit status
        :0) ;;
        :124) echo "note: the guest did not finish within ${TIMEOUT}s" >>"$out/check.txt" ;;
        *) f=$((f + 1)); echo "FAIL qemu-exit qemu.sh exited with status $qrc (see $out/qemu.log)" >>"$out/check.txt" ;;
    esac
    sed "\$d; s/^/$name: /" "$out/check.txt"
    [ "${expect:-}" = stop ] || [ "$qrc" -eq 0 ] || [ "$qrc" -eq 124 ] || echo "$name: FAIL qemu-exit qemu.sh exited with status $qrc"
    if [ "$f" -gt 0 ] || [ "$p" -eq 0 ]; then
        echo "$name: --- last 40 console lines ($out/console.log) ---"
        tail -n 40 "$out/console.log" | tr -d '\r' | sed "s/^/$name: | /"
    fi
    echo "$name: $p passed, $f failed (${secs}s)"
    SUMMARY+=("$(printf '%-12s %3d passed %3d failed %5ss' "$name" "$p" "$f" "$secs")")
    TOTAL_P=$((TOTAL_P + p)) TOTAL_F=$((TOTAL_F + f))
done

echo
echo "=== e2e summary"
printf '%s\n' "${SUMMARY[@]}" | tee "$E2E/summary.txt"
echo "$TOTAL_P passed, $TOTAL_F failed" | tee -a "$E2E/summary.txt"
[ "$TOTAL_F" -eq 0 ] && [ "$TOTAL_P" -gt 0 ]
