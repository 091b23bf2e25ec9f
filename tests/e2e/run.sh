#!/usr/bin/env bash
# Run the e2e scenarios: build the initramfs once, then for each scenario boot QEMU (AMD SVM)
# or Bochs (Intel VT-x) and judge the logs with check.sh. Logs: build/e2e/<scenario>/
# {console,vmm}.log, qemu.log or bochs.log, check.txt.
#
# Usage: tests/e2e/run.sh [-t SECONDS] [-T SECONDS] [-r RUNNER] [-j LANES] [-v] [-l] [SCENARIO...]
#   SCENARIO   names from the table below (default: all, in order)
#   -t SECONDS per-boot time limit in QEMU (default $TVMM_E2E_TIMEOUT or 300)
#   -T SECONDS per-boot time limit in Bochs (default $TVMM_E2E_BOCHS_TIMEOUT, or 900 with one
#              lane and 1500 with two, where Bochs shares the CPU with QEMU)
#   -r RUNNER  only the scenarios of this runner: qemu or bochs (default: both)
#   -j LANES   2 (default): the Bochs rows run in a lane of their own beside the QEMU rows (Bochs
#              is single-threaded; the two lanes share the 2 cores), results still print in
#              table order; 1: one row at a time
#   -v         echo each guest console while it runs
#   -l         list the scenarios and exit
# Environment: TVMM_GUEST_DIR (default build/guest) holds thinvmm.ko and the guest tools;
#              TVMM_E2E_DIR (default build/e2e) receives the initramfs and the logs.
#
# Does not build anything but the initramfs: run make first (the Makefile's test target does).
#
# Host-side steps: a scenario SC with an executable tests/e2e/host-SC.sh gets
#   host-SC.sh pre OUTDIR ARGSFILE   before the boot; writes extra tests/e2e/qemu.sh arguments to
#                                    ARGSFILE, one per line (e.g. -S a TPM state, -a ..., -- ...);
#                                    non-zero: the boot is skipped and counted as one failure
#   host-SC.sh post OUTDIR QEMU_STATUS   after check.sh; prints PASS/FAIL lines ending with
#                                    "N passed, M failed", added to the row's count (no such
#                                    line: one failure). Environment: TVMM_E2E_INITRD,
#                                    TVMM_E2E_KERNEL, TVMM_E2E_SMP, TVMM_E2E_CPU, TVMM_E2E_TIMEOUT,
#                                    TVMM_E2E_PLATFORM_ARGS (the row's qemu.sh platform options)
# Both write their output to OUTDIR/host-pre.txt and OUTDIR/host-post.txt.
# Last line: exactly "N passed, M failed" (sums over the scenarios). Exit 0 iff M = 0 and N > 0.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ME=$(basename "$0")
die() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 2; }

# name | -smp | -cpu | guest scenario (tests/guest/scenario-<name>.sh) [| expect [| runner [| platform]]]
# svm-nosvm pins xlevel: in QEMU 7.2 (TCG) "max,-svm" also drops the highest extended CPUID leaf
# from 0x8000000a to 0x80000001, and then every static-glibc binary (busybox) in the guest dies
# with "_dl_get_origin: Assertion `linkval[0] == '/'' failed". With xlevel pinned the only
# difference from "max" is the missing SVM.
# A fifth field "stop" marks a scenario that must end with the machine stopped by the VMM
# (QEMU still running, no reset): it gets a short limit and is judged by check-stop.sh.
# A sixth field "bochs" runs the scenario in Bochs (tests/e2e/bochs.sh) instead of QEMU: the
# second field is then the number of CPUs, the third a Bochs CPU model. An empty or missing
# sixth field means QEMU. A Bochs boot costs about 2 minutes of CPU time before the scenario
# starts (80 s of it the kernel's own XZ decompression), and every CPU added doubles what the
# whole run costs, so there are few Bochs rows.
# A seventh field lists what a QEMU row's machine has beyond the default (SeaBIOS, no IOMMU),
# comma-separated: "uefi" boots it under OVMF (qemu.sh -F uefi): the kernel is still QEMU's
# -kernel, started by its EFI stub, so the guest runs on a UEFI memory map with EFI runtime
# services, and the TPM event log is the one OVMF measured the boot into; "iommu" adds an Intel
# IOMMU the guest kernel uses, with interrupt remapping (qemu.sh -I). A laptop has both. "crb"
# attaches the scenario's swtpm as QEMU's tpm-crb instead of tpm-tis (qemu.sh -C). "vtd" adds an
# Intel IOMMU the guest kernel leaves off (intel_iommu=off intremap=off), for thinvmm to take
# (qemu.sh -V); "edu" QEMU's DMA-capable edu device (qemu.sh -E); "disk" a virtio-blk disk behind
# the IOMMU and an AHCI disk, fresh for each boot, their drivers loaded by /init (qemu.sh -D).
# vmx-novmx: p4_prescott_celeron_336 is a 64-bit Intel model without VMX (the guest's
# /proc/cpuinfo has no vmx flag; the scenario checks it), the VMX twin of svm-nosvm.
# vmx-basic: the basic scenario on the VT-x backend; corei7_skylake_x has VMX with EPT and VPID.
# On 1 CPU the basic scenario skips hotplug and rollback; vmx-smp2 covers them at twice the cost.
SCENARIOS=(
    "svm-basic|2|max|basic"
    "svm-smp4|4|max|basic"
    "svm-nosvm|2|max,-svm,xlevel=0x8000000a|nosvm"
    "svm-triplefault|2|max|triplefault|stop"
    "svm-policy|2|max|policy"
    "svm-attack-control|2|max|attack-control"
    # DMA protection (VT-d): edu's DMA attacks and real disk DMA under thinvmm's IOMMU tables,
    # and the same attacks on a machine without an IOMMU, where they must work.
    "svm-dma|2|max|dma|||vtd,edu,disk"
    "svm-dma-control|2|max|dma-control|||edu"
    "svm-policy-monitor|2|max|policy-monitor"
    "svm-policy-introspect|2|max|policy-introspect"
    "svm-policy-halt|2|max|policy-halt|stop"
    "svm-tpm|2|max|tpm"
    # swtpm as QEMU's tpm-crb: a CRB TPM is named, not driven, and stays the guest's.
    "svm-tpm-crb|2|max|tpm-crb|||crb"
    # The attestation good path, end to end: host enrolment, in-guest quotes, host appraisal
    # (tests/e2e/host-attest.sh; swtpm is attached there with qemu.sh -S).
    "svm-attest|2|max|attest"
    # The same on a laptop-like machine: UEFI (OVMF's measured-boot log for PCR0-7 is what the
    # verifier replays) and an IOMMU in the guest's hands.
    "svm-attest-uefi|2|max|attest|||uefi,iommu"
    "vmx-novmx|1|p4_prescott_celeron_336|vmx-refuse||bochs"
    # Enable once the VT-x backend passes them (today VM entry fails on Bochs: bochs.log says
    # "VMENTER FAIL: VMCS guest CS.AR/LIMIT malformed"):
    "vmx-basic|1|corei7_skylake_x|basic||bochs"
    "vmx-policy|1|corei7_skylake_x|policy||bochs"
    "vmx-policy-introspect|1|corei7_skylake_x|policy-introspect||bochs"
    # "vmx-smp2|2|corei7_skylake_x|basic||bochs"
)
STOP_TIMEOUT=${TVMM_E2E_STOP_TIMEOUT:-60}

TIMEOUT=${TVMM_E2E_TIMEOUT:-300} BOCHS_TIMEOUT=${TVMM_E2E_BOCHS_TIMEOUT:-} VERBOSE=0 RUNNER="" LANES=2
while getopts ':t:T:r:j:vlh' opt; do
    case "$opt" in
        t) TIMEOUT=$OPTARG ;;
        T) BOCHS_TIMEOUT=$OPTARG ;;
        r) RUNNER=$OPTARG ;;
        j) LANES=$OPTARG ;;
        v) VERBOSE=1 ;;
        l) for s in "${SCENARIOS[@]}"; do IFS='|' read -r n smp cpu sc _ runner pf <<<"$s"
               if [ "${runner:-qemu}" = bochs ]; then
                   printf '%-12s bochs %s cpu(s), model %-19s scenario %s\n' "$n" "$smp" "$cpu" "$sc"
               else
                   printf '%-12s %-10s -smp %s -cpu %-28s scenario %s\n' "$n" "${pf:-bios}" "$smp" "$cpu" "$sc"
               fi; done; exit 0 ;;
        h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        :) die "option -$OPTARG needs an argument" ;;
        *) die "unknown option -$OPTARG (see -h)" ;;
    esac
done
shift $((OPTIND - 1))
[[ "$TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "-t wants a positive number of seconds, not '$TIMEOUT'"
case "$LANES" in 1|2) ;; *) die "-j wants 1 or 2, not '$LANES'" ;; esac
[ -n "$BOCHS_TIMEOUT" ] || { [ "$LANES" = 2 ] && BOCHS_TIMEOUT=1500 || BOCHS_TIMEOUT=900; }
[[ "$BOCHS_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "-T wants a positive number of seconds, not '$BOCHS_TIMEOUT'"
case "$RUNNER" in ""|qemu|bochs) ;; *) die "-r wants qemu or bochs, not '$RUNNER'" ;; esac

# Which scenarios, in table order unless named.
SELECTED=()
if [ $# -eq 0 ]; then
    for s in "${SCENARIOS[@]}"; do
        IFS='|' read -r _ _ _ _ _ runner <<<"$s"
        [ -z "$RUNNER" ] || [ "${runner:-qemu}" = "$RUNNER" ] && SELECTED+=("$s")
    done
    [ "${#SELECTED[@]}" -gt 0 ] || die "no scenario runs in '$RUNNER'"
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

# run_row ROW: boots one row and judges it; prints its report and leaves "P F SECONDS" in
# $ROWS/NAME.result last (its appearance says the row is done).
ROWS=$E2E/.rows
run_row() {
    local s=$1 name smp cpu sc expect runner platform pargs out limit checker qargs t0 hook hargs
    local hrc qrc crc cargs hl cl cp_ cf_ secs last p f feat want missing wants w
    IFS='|' read -r name smp cpu sc expect runner platform <<<"$s"
    runner=${runner:-qemu} platform=${platform:-bios}
    pargs=()  # qemu.sh options for the platform, also handed to the host hook
    case ",$platform," in *,uefi,*) pargs+=(-F uefi) ;; esac
    case ",$platform," in *,iommu,*) pargs+=(-I) ;; esac
    case ",$platform," in *,crb,*) pargs+=(-C) ;; esac
    case ",$platform," in *,vtd,*) pargs+=(-V) ;; esac
    case ",$platform," in *,edu,*) pargs+=(-E) ;; esac
    case ",$platform," in *,disk,*) pargs+=(-D) ;; esac
    out=$E2E/$name
    limit=$TIMEOUT checker=check.sh
    [ "$runner" = bochs ] && limit=$BOCHS_TIMEOUT
    if [ "${expect:-}" = stop ]; then limit=$STOP_TIMEOUT checker=check-stop.sh; fi
    rm -rf "$out"
    mkdir -p "$out"
    echo
    if [ "$runner" = bochs ]; then
        echo "=== e2e $name: Bochs, $smp cpu(s), model $cpu, scenario $sc, limit ${limit}s"
    else
        echo "=== e2e $name: $platform, -smp $smp -cpu $cpu, scenario $sc, limit ${limit}s"
    fi
    qargs=(-i "$INITRD" -n "$sc" -o "$out" -s "$smp" -c "$cpu" -t "$limit" -k "$KERNEL")
    qargs+=("${pargs[@]}")
    [ "$VERBOSE" -eq 1 ] || qargs+=(-q)
    t0=$SECONDS
    hook=$REPO_ROOT/tests/e2e/host-$sc.sh hargs=() hrc=0
    [ -x "$hook" ] || hook=""
    if [ -n "$hook" ]; then
        echo "=== e2e $name: host steps before the boot (tests/e2e/host-$sc.sh pre)"
        "$hook" pre "$out" "$out/host-qemu-args" >"$out/host-pre.txt" 2>&1 || hrc=$?
        [ "$hrc" -ne 0 ] || [ ! -f "$out/host-qemu-args" ] || mapfile -t hargs <"$out/host-qemu-args"
    fi
    qrc=0
    if [ "$hrc" -eq 0 ]; then
        "$REPO_ROOT/tests/e2e/$runner.sh" "${qargs[@]}" "${hargs[@]}" || qrc=$?
    fi

    crc=0
    mkdir -p "$out"
    cargs=("$out/console.log" "$out/vmm.log")
    [ "$checker" = check.sh ] || cargs+=("$qrc" "$smp")
    if [ "$hrc" -eq 0 ]; then
        "$REPO_ROOT/tests/e2e/$checker" "${cargs[@]}" >"$out/check.txt" 2>&1 || crc=$?
    else
        echo "0 passed, 0 failed" >"$out/check.txt"  # no boot: the hook's failure counts
    fi
    if [ -n "$hook" ]; then
        # The host's lines go in front of check.sh's total, which becomes the sum of both.
        if [ "$hrc" -ne 0 ]; then
            printf 'FAIL host-pre host-%s.sh pre exited %s: %s\n0 passed, 1 failed\n' "$sc" "$hrc" \
                "$(tail -n 1 "$out/host-pre.txt")" >"$out/host-post.txt"
        else
            echo "=== e2e $name: host steps after the boot (tests/e2e/host-$sc.sh post)"
            TVMM_E2E_INITRD=$INITRD TVMM_E2E_KERNEL=$KERNEL TVMM_E2E_SMP=$smp TVMM_E2E_CPU=$cpu \
                TVMM_E2E_TIMEOUT=$limit TVMM_E2E_PLATFORM_ARGS="${pargs[*]}" \
                "$hook" post "$out" "$qrc" >"$out/host-post.txt" 2>&1 || true
        fi
        hl=$(tail -n1 "$out/host-post.txt")
        if ! [[ "$hl" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
            echo "FAIL host-post no result line at the end of $out/host-post.txt" >>"$out/host-post.txt"
            hl="$(grep -c '^PASS ' "$out/host-post.txt" || true) passed, $(grep -c '^FAIL ' "$out/host-post.txt" || true) failed"
        fi
        cl=$(tail -n1 "$out/check.txt")
        if [[ "$cl" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
            cp_=${BASH_REMATCH[1]} cf_=${BASH_REMATCH[2]}
            [[ "$hl" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]] || true
            { sed '$d' "$out/check.txt"
              grep -E '^(PASS|FAIL|note:) ' "$out/host-post.txt" || true
              echo "$((cp_ + BASH_REMATCH[1])) passed, $((cf_ + BASH_REMATCH[2])) failed"
            } >"$out/check.txt.new"
            mv "$out/check.txt.new" "$out/check.txt"
        fi
    fi
    secs=$((SECONDS - t0))
    # The checker's total comes off check.txt; what is judged here is added, then the new total.
    last=$(tail -n1 "$out/check.txt")
    if [[ "$last" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
        sed -i '$d' "$out/check.txt"
    else
        p=0 f=1
        echo "FAIL check $checker failed (status $crc): $last" >>"$out/check.txt"
    fi
    case "${expect:-}:$qrc" in
        stop:*) ;; # check-stop.sh judged the exit status
        :0) ;;
        :124) echo "note: the guest did not finish within ${limit}s" >>"$out/check.txt" ;;
        *) f=$((f + 1)); echo "FAIL $runner-exit $runner.sh exited with status $qrc (see $out/$runner.log)" >>"$out/check.txt" ;;
    esac
    # The row's platform, as the guest kernel saw it (not only as QEMU was asked).
    # Each feature wants every one of its lines (separated by '|') in the guest console.
    for feat in ${platform//,/ }; do
        case $feat in
            uefi) want='efi: EFI v' ;;
            iommu) want='DMAR-IR: Enabled IRQ remapping' ;;
            # The DMAR table was seen and its unit found, and translation left off.
            vtd) want='DMAR: DRHD base: |DMAR: IOMMU disabled' ;;
            edu) want='[1234:11e8]' ;;
            disk) want='virtio_blk virtio|[vda] 131072 512-byte logical blocks|sd 0:0:0:0: [sda] 131072 512-byte logical blocks' ;;
            *) continue ;;
        esac
        missing=""
        IFS='|' read -ra wants <<<"$want"
        for w in "${wants[@]}"; do
            grep -aqF -- "$w" "$out/console.log" 2>/dev/null || missing="$missing '$w'"
        done
        if [ -z "$missing" ]; then
            p=$((p + 1)); echo "PASS platform-$feat (guest console: ${want//|/; })" >>"$out/check.txt"
        else
            f=$((f + 1)); echo "FAIL platform-$feat no$missing in the guest console" >>"$out/check.txt"
        fi
    done
    sed "s/^/$name: /" "$out/check.txt"
    echo "$p passed, $f failed" >>"$out/check.txt"
    if [ "$f" -gt 0 ] || [ "$p" -eq 0 ]; then
        echo "$name: --- last 40 console lines ($out/console.log) ---"
        if [ -f "$out/console.log" ]; then tail -n 40 "$out/console.log" | tr -d '\r' | sed "s/^/$name: | /"; fi
    fi
    echo "$name: $p passed, $f failed (${secs}s)"
    echo "$p $f $secs" >"$ROWS/$name.result.tmp"
    mv "$ROWS/$name.result.tmp" "$ROWS/$name.result"
}

# run_lane ROW...: one row after the other, each report to $ROWS/NAME.log.
run_lane() {
    local s
    for s in "$@"; do
        run_row "$s" >"$ROWS/${s%%|*}.log" 2>&1 || true
        # A row that stopped before its verdict counts as one failure.
        [ -f "$ROWS/${s%%|*}.result" ] || echo "0 1 0" >"$ROWS/${s%%|*}.result"
    done
}

rm -rf "$ROWS"
mkdir -p "$ROWS"
LANE_A=() LANE_B=()
for s in "${SELECTED[@]}"; do
    IFS='|' read -r _ _ _ _ _ runner _ <<<"$s"
    if [ "$LANES" = 2 ] && [ "${runner:-qemu}" = bochs ]; then LANE_B+=("$s"); else LANE_A+=("$s"); fi
done
# Each lane in a process group of its own, so an interrupted run stops its emulators too (their
# scripts clean up on TERM).
LPIDS=()
stop_lanes() { local l; for l in "${LPIDS[@]}"; do kill -TERM -- "-$l" 2>/dev/null || true; done; }
trap 'stop_lanes; exit 130' INT
trap 'stop_lanes; exit 143' TERM
set -m
[ "${#LANE_A[@]}" -eq 0 ] || { run_lane "${LANE_A[@]}" & LPIDS+=($!); }
[ "${#LANE_B[@]}" -eq 0 ] || { run_lane "${LANE_B[@]}" & LPIDS+=($!); }
set +m
[ "${#LANE_B[@]}" -eq 0 ] || echo "=== e2e: ${#LANE_B[@]} Bochs row(s) run beside the QEMU rows; reports follow in table order"

TOTAL_P=0 TOTAL_F=0
SUMMARY=()
for s in "${SELECTED[@]}"; do
    name=${s%%|*}
    while [ ! -f "$ROWS/$name.result" ]; do sleep 2; done
    cat "$ROWS/$name.log"
    read -r p f secs <"$ROWS/$name.result"
    SUMMARY+=("$(printf '%-12s %3d passed %3d failed %5ss' "$name" "$p" "$f" "$secs")")
    TOTAL_P=$((TOTAL_P + p)) TOTAL_F=$((TOTAL_F + f))
done
wait

echo
echo "=== e2e summary"
printf '%s\n' "${SUMMARY[@]}" | tee "$E2E/summary.txt"
echo "$TOTAL_P passed, $TOTAL_F failed" | tee -a "$E2E/summary.txt"
[ "$TOTAL_F" -eq 0 ] && [ "$TOTAL_P" -gt 0 ]
