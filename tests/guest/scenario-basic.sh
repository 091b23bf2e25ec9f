#!/bin/sh
# e2e scenario "basic": load thinvmm under the running kernel on every CPU, check the guest
# still works and sees the signature, probe the VMM, unload/reload, CPU hotplug.
# Prints one TVMM-TEST line per check (see lib.sh); never stops at a failure.
. "${TVMM_DIR:-/opt/thinvmm}/lib.sh"

N=$(tvmm_ncpus)
tvmm_heading "scenario basic: $N CPU(s) online, kernel $(uname -r)"
ls -l "$TVMM_DIR" | sed 's/^/    /'

# (a) load
tvmm_heading "load"
tvmm_dmesg_clear
tvmm_insmod
tvmm_result load

# (b) the CPUID signature on every CPU
tvmm_heading "signature on all CPUs"
if tvmm_ensure_loaded; then tvmm_sigcheck; fi
tvmm_result signature-all-cpus

# (c) status, plain and JSON
tvmm_heading "status"
if tvmm_ensure_loaded; then tvmm_status_all; fi
tvmm_result status

if tvmm_ensure_loaded; then
    if [ ! -x "$TVMM_CTL" ]; then
        TVMM_WHY="$TVMM_CTL is missing"
    elif ! tvmm_run /tmp/tvmm-json.out "$TVMM_CTL" status --json; then
        TVMM_WHY="thinvmm-ctl status --json failed: $(tvmm_oneline </tmp/tvmm-json.out)"
    else
        tvmm_show /tmp/tvmm-json.out
        first=$(tr -d ' \t\r\n' </tmp/tvmm-json.out | cut -c1)
        [ "$first" = "{" ] || TVMM_WHY="thinvmm-ctl status --json does not start with '{': $(tvmm_oneline </tmp/tvmm-json.out)"
    fi
fi
tvmm_result status-json

# No machine this scenario runs on (svm-basic, svm-smp4, vmx-basic) has an IOMMU.
tvmm_heading "status: no DMA protection without an IOMMU"
if tvmm_ensure_loaded; then
    line=$(tvmm_dma_status)
    tvmm_info "${line:-no dma: line}"
    [ "$line" = "dma: unprotected (no IOMMU)" ] || TVMM_WHY="thinvmm-ctl status says '${line:-no dma: line}', expected 'dma: unprotected (no IOMMU)'"
fi
tvmm_result dma-status-none

# (d) an ordinary workload runs correctly on top of the hypervisor
tvmm_heading "workload"
if tvmm_ensure_loaded; then
    tvmm_workload
else
    why=$TVMM_WHY
    if tvmm_workload; then
        TVMM_WHY="workload ran, but not under thinvmm: $why"
    else
        TVMM_WHY="$TVMM_WHY (and not under thinvmm: $why)"
    fi
fi
tvmm_result workload

# (e) probes of the VMM from inside the guest kernel
tvmm_heading "probe: vmmmem"
if tvmm_ensure_loaded; then tvmm_probe_test vmmmem; fi
tvmm_result vmm-memory

tvmm_heading "probe: badhc"
if tvmm_ensure_loaded; then tvmm_probe_test badhc; fi
tvmm_result bad-hypercalls

tvmm_heading "probe: the virtualization extension is hidden"
if tvmm_ensure_loaded; then tvmm_probe_test hidden; fi
tvmm_result extension-hidden

tvmm_heading "user-space hypercall"
if tvmm_ensure_loaded; then
    if ! tvmm_run /tmp/tvmm-ud.out "$TVMM_DIR/tvmm-sigcheck" --user-hypercall; then
        TVMM_WHY="VMMCALL at CPL 3: $(tvmm_oneline </tmp/tvmm-ud.out)"
    fi
    tvmm_show /tmp/tvmm-ud.out
fi
tvmm_result user-hypercall-ud

tvmm_heading "second load"
if tvmm_ensure_loaded; then
    if tvmm_insmod_raw "$TVMM_KO" >/tmp/tvmm-insmod2.out 2>&1; then
        TVMM_WHY="a second insmod succeeded"
    elif ! tvmm_sigcheck quiet; then
        TVMM_WHY="the first instance stopped working after a second insmod: $TVMM_WHY"
    fi
fi
tvmm_result second-load

# (f) the VMM's log, read through the hypercall
tvmm_heading "log"
if tvmm_ensure_loaded; then
    if [ ! -x "$TVMM_CTL" ]; then
        TVMM_WHY="$TVMM_CTL is missing"
    elif ! tvmm_run /tmp/tvmm-log.out "$TVMM_CTL" log; then
        TVMM_WHY="thinvmm-ctl log failed: $(tvmm_oneline </tmp/tvmm-log.out)"
    else
        tail -n 15 /tmp/tvmm-log.out | sed 's/^/    | /'
        grep -q thinvmm /tmp/tvmm-log.out || TVMM_WHY="thinvmm-ctl log output does not mention thinvmm"
    fi
fi
tvmm_result log

# (f2) no TPM in this machine: the VMM keeps no event log, and tpmlog says so instead of
# printing nothing (the scenarios with swtpm read the log itself)
tvmm_heading "tpmlog without a TPM"
if tvmm_ensure_loaded; then
    if tvmm_run /tmp/tvmm-tpmlog.out "$TVMM_CTL" tpmlog; then
        TVMM_WHY="thinvmm-ctl tpmlog succeeded without a TPM ($(wc -c </tmp/tvmm-tpmlog.out) bytes)"
    elif ! grep -q "no TPM event log" /tmp/tvmm-tpmlog.out; then
        TVMM_WHY="thinvmm-ctl tpmlog failed without saying why: $(tvmm_oneline </tmp/tvmm-tpmlog.out)"
    fi
fi
tvmm_result tpmlog-none

# (g) unload: the signature goes away
tvmm_heading "unload"
if tvmm_ensure_loaded && tvmm_rmmod; then
    if tvmm_sigcheck quiet; then
        TVMM_WHY="tvmm-sigcheck still passes after rmmod"
    else
        TVMM_WHY=""
    fi
fi
tvmm_result unload

# (h) 20 load/unload cycles, the signature present while loaded
tvmm_heading "20 reload cycles"
if tvmm_ensure_unloaded; then
    i=1
    while [ "$i" -le 20 ]; do
        tvmm_insmod || { TVMM_WHY="cycle $i: $TVMM_WHY"; break; }
        tvmm_sigcheck quiet || { TVMM_WHY="cycle $i: $TVMM_WHY"; break; }
        tvmm_rmmod || { TVMM_WHY="cycle $i: $TVMM_WHY"; break; }
        i=$((i + 1))
    done
    if [ -z "$TVMM_WHY" ]; then
        tvmm_info "$((i - 1)) cycles done"
        if tvmm_sigcheck quiet; then TVMM_WHY="tvmm-sigcheck passes after the last rmmod"; else TVMM_WHY=""; fi
    fi
else
    TVMM_WHY="could not unload thinvmm first: $TVMM_WHY"
fi
tvmm_result reload-cycles

# (i) CPU hotplug while loaded
tvmm_heading "CPU hotplug"
CPU1=/sys/devices/system/cpu/cpu1/online
if [ ! -e "$CPU1" ]; then
    tvmm_skip hotplug "no $CPU1 (only one CPU?)"
else
    if tvmm_ensure_loaded; then
        if ! echo 0 >"$CPU1"; then
            TVMM_WHY="cannot take cpu1 offline"
        elif [ "$(cat "$CPU1")" != 0 ]; then
            TVMM_WHY="cpu1 still online after 'echo 0'"
        else
            tvmm_info "cpu1 offline; $(tvmm_ncpus) CPU(s) online"
            if ! echo 1 >"$CPU1"; then
                TVMM_WHY="cannot bring cpu1 back online"
            elif [ "$(cat "$CPU1")" != 1 ]; then
                TVMM_WHY="cpu1 still offline after 'echo 1'"
            else
                tvmm_info "cpu1 online again; $(tvmm_ncpus) CPU(s) online"
                if tvmm_sigcheck; then
                    tvmm_status_all
                fi
                [ -z "$TVMM_WHY" ] || TVMM_WHY="after re-onlining cpu1: $TVMM_WHY"
            fi
        fi
        # Leave the CPU online whatever happened.
        [ "$(cat "$CPU1" 2>/dev/null)" = 1 ] || echo 1 >"$CPU1" 2>/dev/null
    fi
    tvmm_result hotplug
fi

# (j) a launch failure part-way (the loader refuses cpu1 on request) rolls every CPU back
tvmm_heading "roll-back after a failed launch"
if [ ! -e "$CPU1" ]; then
    tvmm_skip rollback "only one CPU"
else
    if tvmm_ensure_unloaded; then
        tvmm_dmesg_clear
        if tvmm_insmod_raw "$TVMM_KO" test_fail_cpu=1 >/tmp/tvmm-fail.out 2>&1; then
            TVMM_WHY="insmod with test_fail_cpu=1 succeeded"
            tvmm_rmmod_raw thinvmm >/dev/null 2>&1
        elif tvmm_present; then
            TVMM_WHY="thinvmm left in /proc/modules after a failed load"
        else
            "$TVMM_DIR/tvmm-sigcheck" >/tmp/tvmm-rb.out 2>&1
            tvmm_show /tmp/tvmm-rb.out
            grep -q "^0/" /tmp/tvmm-rb.out || TVMM_WHY="a CPU stayed virtualized: $(tvmm_oneline </tmp/tvmm-rb.out)"
            dmesg | grep -q "thinvmm: cpu 0: handed back" || TVMM_WHY="${TVMM_WHY:-cpu 0 was not handed back (dmesg)}"
            dmesg | grep -q "test_fail_cpu=1 asked for a failure" || TVMM_WHY="${TVMM_WHY:-no refusal reason in dmesg}"
            if [ -z "$TVMM_WHY" ] && ! tvmm_workload; then
                TVMM_WHY="the guest does not work after the roll-back: $TVMM_WHY"
            fi
        fi
    fi
    tvmm_result rollback
    tvmm_ensure_loaded || true
fi

# final unload
tvmm_heading "final unload"
if tvmm_ensure_loaded; then tvmm_rmmod; fi
tvmm_result final-unload

tvmm_heading "kernel log"
tvmm_dmesg_summary 40
