# shellcheck shell=sh
# Shared code for the guest scenarios (busybox sh). Source it: . /opt/thinvmm/lib.sh
#
# Results go to the console as
#   TVMM-TEST: PASS <name>
#   TVMM-TEST: FAIL <name> <reason>
#   TVMM-TEST: SKIP <name> <reason>
# and, one word each, to $TVMM_RESULTS so /init can print its own tally (tests/e2e/check.sh
# compares the two). Every check is independent: it sets up what it needs and never stops the
# scenario.

TVMM_DIR=${TVMM_DIR:-/opt/thinvmm}
TVMM_RESULTS=${TVMM_RESULTS:-/tmp/tvmm-results}
TVMM_KO=$TVMM_DIR/thinvmm.ko
TVMM_PROBE_KO=$TVMM_DIR/tvmm_probe.ko
TVMM_CTL=$TVMM_DIR/thinvmm-ctl
TVMM_SIGCHECK=$TVMM_DIR/tvmm-sigcheck
TVMM_DMESG_SAVED=/tmp/tvmm-dmesg.saved   # what tvmm_dmesg_clear took out of the ring
TVMM_TOOL_TIMEOUT=${TVMM_TOOL_TIMEOUT:-120}   # seconds for thinvmm-ctl, tvmm-sigcheck
TVMM_MOD_TIMEOUT=${TVMM_MOD_TIMEOUT:-180}     # seconds for insmod/rmmod
TVMM_WHY=""                              # reason set by the helpers that return 1
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

# --- reporting -------------------------------------------------------------------------------

# Flatten to one line of at most 300 characters.
tvmm_oneline() { tr '\n\t' '  ' | sed 's/  */ /g; s/^ //; s/ $//' | cut -c1-300; }

# Result lines go through the kernel log: printk emits a line whole, while plain console
# output from user space can be cut in two by a kernel message printed in the middle of it.
tvmm_say() {
    if [ -w /dev/kmsg ]; then echo "$*" >/dev/kmsg; else echo "$*"; fi
}
tvmm_pass() {
    tvmm_say "TVMM-TEST: PASS $1"
    echo "PASS $1" >>"$TVMM_RESULTS"
}
tvmm_fail() {
    _n=$1; shift
    _r=$(printf '%s' "$*" | tvmm_oneline)
    tvmm_say "TVMM-TEST: FAIL $_n ${_r:-(no reason given)}"
    echo "FAIL $_n" >>"$TVMM_RESULTS"
}
tvmm_skip() {
    _n=$1; shift
    tvmm_say "TVMM-TEST: SKIP $_n $*"
}
# tvmm_result NAME: PASS if the last helper returned 0 (i.e. TVMM_WHY is empty), else FAIL
tvmm_result() {
    if [ -z "$TVMM_WHY" ]; then tvmm_pass "$1"; else tvmm_fail "$1" "$TVMM_WHY"; fi
}
tvmm_heading() { echo; echo "=== $* ==="; }
tvmm_info() { echo "    $*"; }
# Show a command's captured output, indented, for the log.
tvmm_show() { [ -s "$1" ] && sed -n '1,30s/^/    | /p' "$1"; return 0; }

# --- running things --------------------------------------------------------------------------

# tvmm_run OUTFILE CMD...  runs CMD with stdout+stderr in OUTFILE, returns its status.
# User-space tools get a time limit so a hung one cannot stall the whole scenario.
tvmm_run() {
    _o=$1; shift
    timeout "$TVMM_TOOL_TIMEOUT" "$@" >"$_o" 2>&1
}

# insmod/rmmod under a time limit: a module whose init crashed stays "Loading" and a second
# insmod of the same name would wait for it for ever (the wait is interruptible).
tvmm_insmod_raw() { timeout "$TVMM_MOD_TIMEOUT" insmod "$@"; }
tvmm_rmmod_raw() { timeout "$TVMM_MOD_TIMEOUT" rmmod "$@"; }

tvmm_ncpus() { grep -c '^processor' /proc/cpuinfo; }

# --- the guest's TPM, as its own driver sees it ------------------------------------------------

# PCR17-22's value before any extend (no DRTM ran).
TVMM_PCR_FF=ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
# tvmm_pcr N: SHA-256 PCR N in lower-case hex, read through sysfs (a TPM2_PCR_Read by the
# driver); empty if there is no TPM 2.0. After an unbind and bind the chip may come back as
# tpm1: the first that has the file.
tvmm_pcr() {
    for _d in /sys/class/tpm/tpm*/pcr-sha256; do
        [ -r "$_d/$1" ] && { tr 'A-F' 'a-f' <"$_d/$1" | tr -d ' \n'; return; }
    done
}

# Seconds since boot with centiseconds, e.g. 12.34 (no fork).
tvmm_uptime() { read -r _up _ </proc/uptime; echo "$_up"; }
# tvmm_elapsed START [END]: seconds from START to END (default now), tvmm_uptime values, e.g. 1.25
tvmm_elapsed() {
    _a=$(echo "$1" | tr -d .); _b=$(echo "${2:-$(tvmm_uptime)}" | tr -d .)
    _d=$(( ${_b#0} - ${_a#0} ))
    printf '%d.%02d' $((_d / 100)) $((_d % 100))
}
# Loaded = in /proc/modules and Live (a module whose init crashed stays "Loading").
tvmm_loaded() { grep -q '^thinvmm .* Live ' /proc/modules; }
tvmm_present() { grep -q '^thinvmm ' /proc/modules; }
tvmm_probe_loaded() { grep -q '^tvmm_probe ' /proc/modules; }

# Read the kernel log and clear it; keep what was read for tvmm_dmesg_summary.
tvmm_dmesg_clear() { dmesg -c >>"$TVMM_DMESG_SAVED" 2>/dev/null || true; }

# The kernel messages that start with "thinvmm" (timestamps stripped), all of this boot.
tvmm_dmesg_summary() {
    echo "TVMM-E2E: kernel messages from thinvmm (last ${1:-40}):"
    { cat "$TVMM_DMESG_SAVED" 2>/dev/null; dmesg; } | sed 's/^\[[^]]*\] *//' | grep '^thinvmm' \
        | tail -n "${1:-40}" | sed 's/^/    /'
}

# --- thinvmm ---------------------------------------------------------------------------------

# The /proc/modules line of thinvmm, e.g. "thinvmm 380928 1 - Loading 0x..." (empty if absent).
tvmm_modline() { grep '^thinvmm ' /proc/modules | cut -d' ' -f1-5; }

tvmm_insmod() {  # load thinvmm; sets TVMM_WHY on failure
    TVMM_WHY=""
    [ -f "$TVMM_KO" ] || { TVMM_WHY="$TVMM_KO is missing"; return 1; }
    if tvmm_present; then
        # A second insmod would wait for a stuck one for ever; say so instead.
        TVMM_WHY="thinvmm is already in /proc/modules: $(tvmm_modline)"
        return 1
    fi
    if ! tvmm_insmod_raw "$TVMM_KO" >/tmp/tvmm-insmod.out 2>&1; then
        TVMM_WHY="insmod thinvmm.ko failed: $(tvmm_oneline </tmp/tvmm-insmod.out)"
        return 1
    fi
    tvmm_loaded || { TVMM_WHY="insmod succeeded but thinvmm is not in /proc/modules"; return 1; }
}

tvmm_rmmod() {  # unload thinvmm; sets TVMM_WHY on failure
    TVMM_WHY=""
    if ! tvmm_rmmod_raw thinvmm >/tmp/tvmm-rmmod.out 2>&1; then
        TVMM_WHY="rmmod thinvmm failed: $(tvmm_oneline </tmp/tvmm-rmmod.out)"
        return 1
    fi
    ! tvmm_present || { TVMM_WHY="rmmod succeeded but thinvmm is still in /proc/modules"; return 1; }
}

tvmm_ensure_loaded() {
    TVMM_WHY=""
    tvmm_loaded && return 0
    if tvmm_present; then
        TVMM_WHY="thinvmm is stuck in /proc/modules: $(tvmm_modline)"
        return 1
    fi
    tvmm_insmod || { TVMM_WHY="thinvmm not loaded and loading it failed: $TVMM_WHY"; return 1; }
}

tvmm_ensure_unloaded() {
    TVMM_WHY=""
    tvmm_present || return 0
    tvmm_rmmod
}

# tvmm_sigcheck [quiet]: the CPUID 0x40000000 signature on every online CPU (exit status 0).
tvmm_sigcheck() {
    TVMM_WHY=""
    [ -x "$TVMM_SIGCHECK" ] || { TVMM_WHY="$TVMM_SIGCHECK is missing"; return 1; }
    tvmm_run /tmp/tvmm-sigcheck.out "$TVMM_SIGCHECK"
    _rc=$?
    [ "${1:-}" = quiet ] || tvmm_show /tmp/tvmm-sigcheck.out
    if [ "$_rc" -ne 0 ]; then
        TVMM_WHY="tvmm-sigcheck exited $_rc: $(tvmm_oneline </tmp/tvmm-sigcheck.out)"
        return 1
    fi
}

# tvmm_status_all: thinvmm-ctl status exits 0 and says "virtualized: N/N", N = online CPUs.
tvmm_status_all() {
    TVMM_WHY=""
    [ -x "$TVMM_CTL" ] || { TVMM_WHY="$TVMM_CTL is missing"; return 1; }
    _n=$(tvmm_ncpus)
    tvmm_run /tmp/tvmm-status.out "$TVMM_CTL" status
    _rc=$?
    tvmm_show /tmp/tvmm-status.out
    if [ "$_rc" -ne 0 ]; then
        TVMM_WHY="thinvmm-ctl status exited $_rc: $(tvmm_oneline </tmp/tvmm-status.out)"
        return 1
    fi
    if ! grep -Eq "virtualized: $_n/$_n([^0-9]|\$)" /tmp/tvmm-status.out; then
        TVMM_WHY="thinvmm-ctl status lacks 'virtualized: $_n/$_n' ($_n CPUs online): $(grep virtualized /tmp/tvmm-status.out | tvmm_oneline)"
        return 1
    fi
}

# tvmm_probe_test TEST: insmod tvmm_probe.ko test=TEST, rmmod it; needs at least one
# "TVMM-PROBE: PASS" and no "TVMM-PROBE: FAIL" in the kernel log of this run.
tvmm_probe_test() {
    TVMM_WHY=""
    _t=$1
    [ -f "$TVMM_PROBE_KO" ] || { TVMM_WHY="$TVMM_PROBE_KO is missing"; return 1; }
    if tvmm_probe_loaded && ! tvmm_rmmod_raw tvmm_probe >/dev/null 2>&1; then
        TVMM_WHY="an earlier tvmm_probe is stuck and cannot be removed: $(grep '^tvmm_probe ' /proc/modules | tvmm_oneline)"
        return 1
    fi
    tvmm_dmesg_clear
    _err=""
    if ! tvmm_insmod_raw "$TVMM_PROBE_KO" "test=$_t" >/tmp/tvmm-probe.out 2>&1; then
        _err="insmod tvmm_probe.ko test=$_t failed: $(tvmm_oneline </tmp/tvmm-probe.out);"
    fi
    if tvmm_probe_loaded && ! tvmm_rmmod_raw tvmm_probe >/tmp/tvmm-probe.out 2>&1; then
        _err="$_err rmmod tvmm_probe failed: $(tvmm_oneline </tmp/tvmm-probe.out);"
    fi
    dmesg >/tmp/tvmm-probe.log 2>/dev/null
    grep 'TVMM-PROBE:' /tmp/tvmm-probe.log | sed 's/^/    /'
    _np=$(grep -c 'TVMM-PROBE: PASS' /tmp/tvmm-probe.log)
    _nf=$(grep -c 'TVMM-PROBE: FAIL' /tmp/tvmm-probe.log)
    if [ "$_nf" -gt 0 ]; then
        _err="$_err $_nf probe failure(s): $(grep 'TVMM-PROBE: FAIL' /tmp/tvmm-probe.log | sed 's/.*TVMM-PROBE: FAIL //' | head -n 3 | tvmm_oneline);"
    fi
    if [ "$_np" -eq 0 ]; then
        _err="$_err no TVMM-PROBE: PASS in the kernel log;"
    fi
    TVMM_WHY=$_err
    [ -z "$TVMM_WHY" ]
}

# --- the workload --------------------------------------------------------------------------------

# tvmm_workload: memory, compression, fork/exec and syscall traffic; sets TVMM_WHY on failure.
tvmm_workload() {
    TVMM_WHY=""
    _f=/tmp/tvmm-workload.bin
    _bytes=4194304
    _t0=$(tvmm_uptime)
    if ! dd if=/dev/urandom of="$_f" bs=1048576 count=4 2>/tmp/tvmm-dd.err; then
        TVMM_WHY="dd from /dev/urandom failed: $(tvmm_oneline </tmp/tvmm-dd.err)"
        rm -f "$_f"; return 1
    fi
    _size=$(wc -c <"$_f")
    if [ "$_size" -ne "$_bytes" ]; then
        TVMM_WHY="4 MiB file has $_size bytes"; rm -f "$_f"; return 1
    fi
    _h1=$(sha256sum "$_f" | cut -d' ' -f1)
    _h2=$(gzip -c "$_f" | gunzip -c | sha256sum | cut -d' ' -f1)
    if [ -z "$_h1" ] || [ "$_h1" != "$_h2" ]; then
        TVMM_WHY="sha256 differs after gzip|gunzip ($_h1 vs $_h2)"; rm -f "$_f"; return 1
    fi
    rm -f "$_f"
    _t1=$(tvmm_uptime)
    _i=0
    while [ "$_i" -lt 500 ]; do
        if ! /bin/true; then
            TVMM_WHY="fork/exec of /bin/true failed at iteration $_i"; return 1
        fi
        _i=$((_i + 1))
    done
    _t2=$(tvmm_uptime)
    if ! dd if=/dev/zero of=/dev/null bs=1 count=20000 2>/tmp/tvmm-dd.err; then
        TVMM_WHY="dd bs=1 count=20000 failed: $(tvmm_oneline </tmp/tvmm-dd.err)"; return 1
    fi
    if ! grep -q '^20000+0 records out' /tmp/tvmm-dd.err; then
        TVMM_WHY="dd bs=1 count=20000 did not copy 20000 records: $(tvmm_oneline </tmp/tvmm-dd.err)"; return 1
    fi
    _t3=$(tvmm_uptime)
    tvmm_info "workload times (guest clock): 4 MiB sha256+gzip $(tvmm_elapsed "$_t0" "$_t1")s, 500 fork/exec $(tvmm_elapsed "$_t1" "$_t2")s, dd bs=1 count=20000 $(tvmm_elapsed "$_t2" "$_t3")s"
}

# --- policy and attacks --------------------------------------------------------------------------

# tvmm_ksym NAME: the address of a kernel symbol (hex, no 0x) from /proc/kallsyms.
tvmm_ksym() { awk -v s="$1" '$3 == s { print $1; exit }' /proc/kallsyms; }

# tvmm_rule_hits RULE: hits the VMM counted for the rule named RULE ("" = the VMM's own checks),
# from its per-rule counters (the record ring may have moved on).
tvmm_rule_hits() {
    timeout "$TVMM_TOOL_TIMEOUT" "$TVMM_CTL" events --json 2>/dev/null |
        awk -v r="\"rule_name\":\"$1\",\"hits\":" 'index($0, r) && match($0, /"hits":[0-9]+/) {
            n += substr($0, RSTART + 7, RLENGTH - 7) } END { print n + 0 }'
}

# tvmm_kind_records KIND: hits in the records of that kind ("translation", "dma", ...) still held.
tvmm_kind_records() {
    timeout "$TVMM_TOOL_TIMEOUT" "$TVMM_CTL" events --json 2>/dev/null |
        awk -v k="\"kind\":\"$1\"" 'index($0, k) && match($0, /"count":[0-9]+/) {
            n += substr($0, RSTART + 8, RLENGTH - 8) } END { print n + 0 }'
}

# tvmm_total_hits: every violation the VMM recorded ("violations: N hits" of thinvmm-ctl events).
tvmm_total_hits() {
    timeout "$TVMM_TOOL_TIMEOUT" "$TVMM_CTL" events 2>/dev/null |
        sed -n 's/.*violations: \([0-9]*\) hits.*/\1/p' | head -n 1
}

# tvmm_lock POLICY: thinvmm-ctl lock $TVMM_DIR/POLICY.bin; sets TVMM_WHY on failure.
tvmm_lock() {
    TVMM_WHY=""
    tvmm_run /tmp/tvmm-lock.out "$TVMM_CTL" lock "$TVMM_DIR/$1.bin"
    _rc=$?
    tvmm_show /tmp/tvmm-lock.out
    [ "$_rc" -eq 0 ] || TVMM_WHY="thinvmm-ctl lock $1.bin exited $_rc: $(tvmm_oneline </tmp/tvmm-lock.out)"
    [ "$_rc" -eq 0 ]
}

# The harmless target of each attack (tvmm_probe.c says why each is harmless).
tvmm_attack_symbol() {
    case $1 in
        text-alias | text-wp | text-storm | pte-remap) echo sys_ni_syscall ;;
        rodata-alias) echo linux_banner ;;
        idt-entry) echo idt_table ;;
    esac
}

# tvmm_attack NAME EXPECT [RULE]: run attack NAME of tvmm_probe.ko; its verdict must be EXPECT
# (blocked or succeeded). With RULE, the VMM must have recorded a new hit for that rule.
tvmm_attack() {
    TVMM_WHY=""
    _a=$1 _want=$2 _rule=${3-}
    _args="test=attack-$_a"
    _sym=$(tvmm_attack_symbol "$_a")
    if [ -n "$_sym" ]; then
        _addr=$(tvmm_ksym "$_sym")
        case $_addr in
            "" | 0000000000000000) TVMM_WHY="no address for $_sym in /proc/kallsyms"; return 1 ;;
        esac
        _args="$_args target=0x$_addr"
    fi
    _h0=0
    [ $# -lt 3 ] || _h0=$(tvmm_rule_hits "$_rule")
    tvmm_dmesg_clear
    # shellcheck disable=SC2086
    if ! tvmm_insmod_raw "$TVMM_PROBE_KO" $_args >/tmp/tvmm-probe.out 2>&1; then
        TVMM_WHY="insmod tvmm_probe.ko $_args failed: $(tvmm_oneline </tmp/tvmm-probe.out)"
    fi
    tvmm_probe_loaded && tvmm_rmmod_raw tvmm_probe >/dev/null 2>&1
    [ -z "$TVMM_WHY" ] || return 1
    _line=$(dmesg 2>/dev/null | grep "TVMM-ATTACK: $_a " | tail -n 1 | sed 's/.*TVMM-ATTACK: //')
    tvmm_info "$_line"
    _got=$(echo "$_line" | cut -d' ' -f2)
    if [ "$_got" != "$_want" ]; then
        TVMM_WHY="attack $_a: '${_got:-no result}', expected '$_want': $_line"
        return 1
    fi
    if [ $# -ge 3 ]; then
        _h1=$(tvmm_rule_hits "$_rule")
        tvmm_info "hits recorded for rule '$_rule': $_h0 -> $_h1"
        [ "$_h1" -gt "$_h0" ] || { TVMM_WHY="attack $_a $_got, but no new hit recorded for rule '$_rule' ($_h0 -> $_h1)"; return 1; }
    fi
}

# tvmm_net_io: 1 MiB over loopback TCP (busybox httpd and wget), checked end to end.
tvmm_net_io() {
    TVMM_WHY=""
    ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up 2>/dev/null
    mkdir -p /tmp/tvmm-www
    dd if=/dev/urandom of=/tmp/tvmm-www/blob bs=65536 count=16 2>/dev/null
    httpd -f -p 127.0.0.1:8089 -h /tmp/tvmm-www &
    _srv=$!
    sleep 1
    _a=$(sha256sum </tmp/tvmm-www/blob | cut -d' ' -f1)
    _b=$(timeout 60 wget -q -O - http://127.0.0.1:8089/blob | sha256sum | cut -d' ' -f1)
    kill "$_srv" 2>/dev/null
    wait "$_srv" 2>/dev/null
    rm -rf /tmp/tvmm-www
    [ "$_a" = "$_b" ] || { TVMM_WHY="1 MiB over loopback TCP (httpd, wget) arrived different or not at all"; return 1; }
}

# --- attestation (thinvmm-agent in the guest, the host's verifier outside) ------------------------
# The host (tests/e2e/attest-lib.sh) enrolled the TPM's AK before the boot and passes the
# verifier's nonces on the kernel command line as tvmm.nonces=N0,N1,...; bundles leave the guest
# on the file channel, the third serial port, as base64 between "TVMM-BUNDLE-BEGIN NAME" and
# "TVMM-BUNDLE-END NAME SHA256".
TVMM_AGENT=$TVMM_DIR/thinvmm-agent
TVMM_CHANNEL=/dev/ttyS2
TVMM_QUOTE_PCRS=0-7,17,18,19
TVMM_FWLOG=/sys/kernel/security/tpm0/binary_bios_measurements

# tvmm_cmdline KEY: the value of KEY=... on the kernel command line (empty if absent).
tvmm_cmdline() {
    for _a in $(cat /proc/cmdline); do
        case "$_a" in "$1"=*) echo "${_a#"$1"=}"; return ;; esac
    done
}

# tvmm_nonce I: the I-th (from 0) of tvmm.nonces=.
tvmm_nonce() { tvmm_cmdline tvmm.nonces | tr ',' '\n' | sed -n "$(($1 + 1))p"; }

# tvmm_attest_setup: securityfs (the firmware's event log), the agent, the TPM, the channel.
tvmm_attest_setup() {
    TVMM_WHY=""
    grep -q ' /sys/kernel/security ' /proc/mounts ||
        mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
    [ -x "$TVMM_AGENT" ] || TVMM_WHY="$TVMM_AGENT is missing"
    [ -c /dev/tpmrm0 ] || TVMM_WHY="$TVMM_WHY no /dev/tpmrm0 (qemu.sh -S attaches swtpm)"
    stty -F "$TVMM_CHANNEL" 115200 raw -echo 2>/dev/null ||
        TVMM_WHY="$TVMM_WHY no file channel $TVMM_CHANNEL"
    [ -n "$(tvmm_nonce 0)" ] || TVMM_WHY="$TVMM_WHY no tvmm.nonces= on the kernel command line"
    [ -z "$TVMM_WHY" ]
}

# tvmm_send NAME FILE: one file out on the channel.
tvmm_send() {
    { echo "TVMM-BUNDLE-BEGIN $1"; base64 "$2"; echo "TVMM-BUNDLE-END $1 $(sha256sum <"$2" | cut -d' ' -f1)"; } >"$TVMM_CHANNEL"
}

# tvmm_quote NAME NONCE: thinvmm-agent quote over $TVMM_QUOTE_PCRS with the VMM's event log (read
# by hypercall) and the firmware's if the kernel has one, into /tmp/NAME.tvev, sent to the host.
tvmm_quote() {
    TVMM_WHY=""
    [ -n "$2" ] || { TVMM_WHY="no nonce for $1 on the kernel command line"; return 1; }
    _fw=""
    [ -r "$TVMM_FWLOG" ] && _fw="--fw-log $TVMM_FWLOG"
    # shellcheck disable=SC2086
    tvmm_run "/tmp/agent-$1.out" "$TVMM_AGENT" --tcti device:/dev/tpmrm0 quote --nonce "$2" \
        --pcrs "$TVMM_QUOTE_PCRS" --vmm-log vmm $_fw -o "/tmp/$1.tvev"
    _rc=$?
    tvmm_show "/tmp/agent-$1.out"
    if [ "$_rc" -ne 0 ]; then
        TVMM_WHY="thinvmm-agent quote exited $_rc: $(tvmm_oneline <"/tmp/agent-$1.out")"
        return 1
    fi
    tvmm_info "bundle $1: $(wc -c <"/tmp/$1.tvev") bytes (PCRs $TVMM_QUOTE_PCRS, VMM log${_fw:+, firmware log}), sent to the host on $TVMM_CHANNEL"
    tvmm_send "$1" "/tmp/$1.tvev" || TVMM_WHY="cannot write to $TVMM_CHANNEL"
    [ -z "$TVMM_WHY" ]
}

# --- DMA: QEMU's edu device driven by tvmm_dma.ko (tests/guest/edu/tvmm_dma.c) -------------------
TVMM_DMA_KO=$TVMM_DIR/tvmm_dma.ko
TVMM_DMA_CTL=/sys/kernel/debug/tvmm_dma
TVMM_DMA_OUT=""   # the last answer of tvmm_dma, without its "ok "

# tvmm_dma_load: insmod tvmm_dma.ko once; sets TVMM_WHY on failure.
tvmm_dma_load() {
    TVMM_WHY=""
    [ -e "$TVMM_DMA_CTL" ] && return 0
    [ -f "$TVMM_DMA_KO" ] || { TVMM_WHY="$TVMM_DMA_KO is missing"; return 1; }
    tvmm_insmod_raw "$TVMM_DMA_KO" >/tmp/tvmm-dma-insmod.out 2>&1 ||
        { TVMM_WHY="insmod tvmm_dma.ko failed: $(tvmm_oneline </tmp/tvmm-dma-insmod.out)"; return 1; }
    [ -e "$TVMM_DMA_CTL" ] || { TVMM_WHY="tvmm_dma.ko loaded but $TVMM_DMA_CTL is missing"; return 1; }
}

# tvmm_dma CMD...: one command of tvmm_dma.ko (info, read PA LEN, write PA HEX, peek PA LEN,
# v2p VA, mmio-write PA VAL 32|64, vmm); its answer in TVMM_DMA_OUT; status 0 iff it said "ok".
tvmm_dma() {
    TVMM_DMA_OUT=""
    echo "$*" >"$TVMM_DMA_CTL" 2>/dev/null || { TVMM_DMA_OUT="cannot write $TVMM_DMA_CTL"; return 1; }
    _ans=$(cat "$TVMM_DMA_CTL")
    TVMM_DMA_OUT=${_ans#ok }
    [ "$_ans" != "$TVMM_DMA_OUT" ]
}

# tvmm_edu_sid: the PCI source id (bus<<8 | dev<<3 | fn) of the edu device, from sysfs, as 0x...
tvmm_edu_sid() {
    for _d in /sys/bus/pci/devices/*; do
        [ "$(cat "$_d/vendor")" = 0x1234 ] && [ "$(cat "$_d/device")" = 0x11e8 ] || continue
        _b=${_d##*/}   # 0000:BB:DD.F
        _bus=${_b#*:}; _bus=${_bus%%:*}; _dev=${_b##*:}; _fn=${_dev#*.}; _dev=${_dev%.*}
        printf '%#x\n' $(( (0x$_bus << 8) | (0x$_dev << 3) | _fn ))
        return
    done
}

# tvmm_vmm_info: chunk0 and image hash of the running VMM (by hypercall, through tvmm_dma.ko)
# into TVMM_CHUNK0 and TVMM_HASH; sets TVMM_WHY on failure.
tvmm_vmm_info() {
    TVMM_WHY="" TVMM_CHUNK0="" TVMM_HASH=""
    tvmm_dma vmm || { TVMM_WHY="VMM status through tvmm_dma: $TVMM_DMA_OUT"; return 1; }
    # shellcheck disable=SC2086
    set -- $TVMM_DMA_OUT
    TVMM_CHUNK0=$2 TVMM_HASH=$4
}

# tvmm_dma_target NAME: the physical address of an attack's harmless target (the same as the
# CPU attacks of tvmm_probe use): text = sys_ni_syscall + 8 (past any endbr64), rodata = the
# first byte of linux_banner, idt = the reserved upper dword of gate 15 of idt_table.
tvmm_dma_target() {
    case $1 in
        text) _s=sys_ni_syscall _o=8 ;;
        rodata) _s=linux_banner _o=0 ;;
        idt) _s=idt_table _o=$((15 * 16 + 12)) ;;
        *) return 1 ;;
    esac
    _a=$(tvmm_ksym "$_s")
    case $_a in "" | 0000000000000000) return 1 ;; esac
    tvmm_dma v2p "$(printf '%#x' $((0x$_a + _o)))" && echo "$TVMM_DMA_OUT"
}

# tvmm_dma_records: the VMM's dma records (thinvmm-ctl events --json), one JSON line each.
tvmm_dma_records() {
    timeout "$TVMM_TOOL_TIMEOUT" "$TVMM_CTL" events --json 2>/dev/null | grep '"kind":"dma"'
}

# tvmm_json_field LINE NAME: the value of "NAME": in a one-line JSON record, quotes stripped.
tvmm_json_field() {
    echo "$1" | sed -n "s/.*\"$2\":\"\{0,1\}\([^\",}]*\).*/\1/p"
}

# tvmm_dma_new_record SINCE SRC PAGE [RULE]: a dma record with seq > SINCE (or one tvmm_last_seq
# saw whose count grew since: repeats fold into one record), index SRC (0x...) and gpa in the
# 4 KiB page PAGE; with RULE, naming that rule. Sets TVMM_WHY; the record in TVMM_DMA_REC.
tvmm_dma_new_record() {
    TVMM_WHY="" TVMM_DMA_REC=""
    _since=$1 _src=$2 _page=$(( $3 & ~0xfff )) _rule=${4-}
    tvmm_dma_records >/tmp/tvmm-dma-rec.out
    while read -r _l; do
        _seq=$(tvmm_json_field "$_l" seq)
        if [ "${_seq:-0}" -le "$_since" ]; then
            _c0=$(sed -n "s/^$_seq //p" /tmp/tvmm-dma-mark 2>/dev/null)
            [ "$(tvmm_json_field "$_l" count)" -gt "${_c0:-0}" ] || continue
        fi
        [ $(( $(tvmm_json_field "$_l" index) )) -eq $(( _src )) ] || continue
        [ $(( $(tvmm_json_field "$_l" gpa) & ~0xfff )) -eq "$_page" ] || continue
        [ -z "$_rule" ] || [ "$(tvmm_json_field "$_l" rule_name)" = "$_rule" ] || continue
        TVMM_DMA_REC=$_l
        tvmm_info "record: $_l"
        return 0
    done </tmp/tvmm-dma-rec.out
    TVMM_WHY="no dma record after #$_since with source $_src, page $(printf '%#x' "$_page")${_rule:+, rule $_rule}; dma records: $(tail -n 3 /tmp/tvmm-dma-rec.out | tvmm_oneline)"
    return 1
}

# tvmm_last_seq: the highest record number so far (0 if none); each record's count is kept
# in /tmp/tvmm-dma-mark ("SEQ COUNT") for tvmm_dma_new_record.
tvmm_last_seq() {
    timeout "$TVMM_TOOL_TIMEOUT" "$TVMM_CTL" events --json 2>/dev/null |
        sed -n 's/^{"seq":\([0-9]*\),"count":\([0-9]*\),.*/\1 \2/p' >/tmp/tvmm-dma-mark
    tail -n 1 /tmp/tvmm-dma-mark | cut -d' ' -f1 | grep . || echo 0
}

# tvmm_dma_status: the "dma: " line of thinvmm-ctl status (empty if none).
tvmm_dma_status() {
    timeout "$TVMM_TOOL_TIMEOUT" "$TVMM_CTL" status 2>/dev/null | grep '^dma: ' | head -n 1
}

# tvmm_dma_faults: F of "dma: protected (..., F faults)" (empty if not protected).
tvmm_dma_faults() {
    tvmm_dma_status | sed -n 's/^dma: protected (.* \([0-9][0-9]*\) faults\{0,1\}).*/\1/p'
}

# tvmm_disk_io DEV MIB: MIB MiB of random data written to the raw disk DEV with O_DIRECT (no page
# cache between the data and the device's DMA), read back with O_DIRECT, sha256 compared.
tvmm_disk_io() {
    TVMM_WHY=""
    _dev=$1 _mib=$2 _f=/tmp/tvmm-disk.bin
    [ -b "$_dev" ] || { TVMM_WHY="no block device $_dev"; return 1; }
    if [ ! -s "$_f" ] || [ "$(wc -c <"$_f")" -ne $((_mib * 1048576)) ]; then
        dd if=/dev/urandom of="$_f" bs=1048576 count="$_mib" 2>/dev/null ||
            { TVMM_WHY="dd from /dev/urandom failed"; return 1; }
    fi
    _t0=$(tvmm_uptime)
    if ! dd if="$_f" of="$_dev" bs=1048576 oflag=direct conv=fsync 2>/tmp/tvmm-dd.err; then
        TVMM_WHY="write to $_dev: $(tvmm_oneline </tmp/tvmm-dd.err)"; return 1
    fi
    _t1=$(tvmm_uptime)
    _h2=$(dd if="$_dev" bs=1048576 count="$_mib" iflag=direct 2>/tmp/tvmm-dd.err | sha256sum | cut -d' ' -f1)
    _t2=$(tvmm_uptime)
    _h1=$(sha256sum <"$_f" | cut -d' ' -f1)
    tvmm_info "$_dev: $_mib MiB written in $(tvmm_elapsed "$_t0" "$_t1")s, read back in $(tvmm_elapsed "$_t1" "$_t2")s (O_DIRECT)"
    [ "$_h1" = "$_h2" ] || { TVMM_WHY="$_dev: $_mib MiB read back differ (sha256 $_h1 written, $_h2 read; $(tvmm_oneline </tmp/tvmm-dd.err))"; return 1; }
}

# The end of an attack scenario: the guest still works (result still-running), then what the
# VMM recorded and the kernel's messages about it.
tvmm_scenario_end() {
    tvmm_heading "the guest keeps running"
    if tvmm_workload && tvmm_sigcheck quiet; then :; fi
    tvmm_result still-running

    tvmm_heading "violation records"
    tvmm_run /tmp/tvmm-events.out "$TVMM_CTL" events
    tvmm_show /tmp/tvmm-events.out
    tvmm_dmesg_summary
}

# tvmm_forced_unload: after the lock, rmmod -f thinvmm (Debian kernels allow forced unload) and
# what must follow: no oops (check.sh judges the console), the CPUs still under the VMM, the
# attacks still blocked, thinvmm-ctl naming the missing channel, CPU offline/online without a
# crash, and insmod bringing the channel back with the records of what happened meanwhile.
# Results: forced-unload, forced-unload-channel-gone, forced-unload-still-virtualized,
# forced-unload-attacks-blocked, forced-unload-offline (2+ CPUs), channel-reload.
tvmm_forced_unload() {
    _fu_h0=$(tvmm_rule_hits kernel-text)
    tvmm_heading "rmmod -f thinvmm after the lock"
    tvmm_dmesg_clear
    TVMM_WHY=""
    if tvmm_rmmod_raw -f thinvmm >/tmp/tvmm-rmmod.out 2>&1; then
        tvmm_present && TVMM_WHY="rmmod -f succeeded but thinvmm is still in /proc/modules"
        dmesg | grep -q 'forced unload after the lock: thinvmm keeps running' ||
            TVMM_WHY="$TVMM_WHY no 'forced unload after the lock' message: $(dmesg | grep thinvmm | tvmm_oneline)"
    else
        TVMM_WHY="rmmod -f thinvmm failed: $(tvmm_oneline </tmp/tvmm-rmmod.out)"
    fi
    tvmm_result forced-unload

    tvmm_heading "thinvmm-ctl without its channel"
    TVMM_WHY=""
    if tvmm_run /tmp/tvmm-ctl.out "$TVMM_CTL" status; then
        TVMM_WHY="thinvmm-ctl status succeeded without /dev/thinvmm"
    else
        tvmm_show /tmp/tvmm-ctl.out
        grep -q 'channel /dev/thinvmm is gone' /tmp/tvmm-ctl.out ||
            TVMM_WHY="thinvmm-ctl does not say the channel is gone: $(tvmm_oneline </tmp/tvmm-ctl.out)"
    fi
    tvmm_result forced-unload-channel-gone

    tvmm_heading "every CPU still runs under thinvmm"
    tvmm_sigcheck
    tvmm_result forced-unload-still-virtualized

    tvmm_heading "the attacks are still blocked"
    TVMM_WHY=""
    for _fu_a in text-alias rodata-alias idt-entry cr0-wp lidt; do
        tvmm_attack "$_fu_a" blocked || break
    done
    tvmm_result forced-unload-attacks-blocked

    if [ "$(tvmm_ncpus)" -gt 1 ]; then
        tvmm_heading "CPU 1 offline with no module to refuse it: Linux refuses (hotplug disabled)"
        _fu_w="" _fu_f=/sys/devices/system/cpu/cpu1/online
        if timeout 60 sh -c "echo 0 >$_fu_f" 2>/tmp/tvmm-off.out; then
            _fu_w="CPU 1 went offline after the forced unload;"
        else
            tvmm_info "offline refused: $(tvmm_oneline </tmp/tvmm-off.out)"
        fi
        [ "$(cat $_fu_f)" = 1 ] || _fu_w="$_fu_w CPU 1 is not online ($(cat $_fu_f));"
        tvmm_sigcheck quiet || _fu_w="$_fu_w $TVMM_WHY"
        TVMM_WHY=$_fu_w
        tvmm_result forced-unload-offline-refused
    fi

    tvmm_heading "insmod thinvmm.ko again: only the channel"
    tvmm_dmesg_clear
    _fu_w=""
    if tvmm_insmod; then
        dmesg | grep -q 'loaded as its channel' || _fu_w="no 'loaded as its channel' message;"
        "$TVMM_CTL" status >/tmp/tvmm-status.out 2>&1
        grep -q '^policy: locked' /tmp/tvmm-status.out ||
            _fu_w="$_fu_w status does not say locked: $(tvmm_oneline </tmp/tvmm-status.out);"
        _fu_h1=$(tvmm_rule_hits kernel-text)
        tvmm_info "kernel-text hits: $_fu_h0 before the unload, $_fu_h1 now"
        [ "$_fu_h1" -gt "$_fu_h0" ] || _fu_w="$_fu_w the attacks after the unload were not recorded ($_fu_h0 -> $_fu_h1);"
        tvmm_rmmod || _fu_w="$_fu_w the channel did not unload: $TVMM_WHY;"
        tvmm_sigcheck quiet || _fu_w="$_fu_w unloading the channel ended the VMM: $TVMM_WHY;"
        tvmm_insmod || _fu_w="$_fu_w the channel did not load a second time: $TVMM_WHY;"
    else
        _fu_w="insmod of the channel failed: $TVMM_WHY"
    fi
    TVMM_WHY=$_fu_w
    tvmm_result channel-reload

    if [ "$(tvmm_ncpus)" -gt 1 ]; then tvmm_init_escape; fi
}

# tvmm_init_escape: the hole docs/threat-model.md describes, shown as it is: hostile kernel code
# re-enables CPU hotplug and takes CPU 1 offline and online again. Linux wakes it with INIT and
# SIPI. On real AMD and Intel hardware the INIT reaches the VMM (held pending while GIF=0 or in
# VMX root mode) and the CPU stays halted under it; QEMU's TCG instead resets the CPU on the
# INIT that is still pending after the #VMEXIT, so in QEMU the CPU comes back outside the VMM.
# Result init-escape-as-documented: the outcome is the documented one for this machine (QEMU
# SVM: escapes). Run last: afterwards CPU 1 runs without thinvmm.
tvmm_init_escape() {
    tvmm_heading "known hole: INIT/SIPI brings a CPU back outside the VMM under QEMU TCG"
    TVMM_WHY=""
    _fu_f=/sys/devices/system/cpu/cpu1/online
    tvmm_probe_test hotplug-enable >/dev/null 2>&1
    if ! timeout 60 sh -c "echo 0 >$_fu_f" 2>/tmp/tvmm-off.out; then
        TVMM_WHY="CPU 1 did not go offline after hotplug was re-enabled: $(tvmm_oneline </tmp/tvmm-off.out)"
    elif ! timeout 60 sh -c "echo 1 >$_fu_f" 2>/tmp/tvmm-on.out; then
        tvmm_info "online failed: the VMM kept CPU 1 halted (what real hardware does)"
        TVMM_WHY="the documented QEMU outcome is an escape, but CPU 1 stayed under the VMM: update docs/threat-model.md and this test"
    else
        "$TVMM_SIGCHECK" >/tmp/tvmm-sigcheck.out 2>&1
        tvmm_show /tmp/tvmm-sigcheck.out
        if grep -q '^cpu 1: .*NOT thinvmm' /tmp/tvmm-sigcheck.out; then
            tvmm_info "HOLE: CPU 1 came back online outside thinvmm (QEMU TCG resets it on the INIT)"
        else
            TVMM_WHY="CPU 1 came back online under thinvmm: the documented escape did not happen; update docs/threat-model.md and this test"
        fi
    fi
    tvmm_result init-escape-as-documented
}
