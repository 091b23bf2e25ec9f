#!/bin/sh
# e2e scenario "tpm" (QEMU with swtpm, tests/e2e/qemu.sh -T): the emulated late launch.
# PCR17/18/19 start all-FF (no DRTM); after insmod the VMM has extended PCR17 at locality 2 and
# keeps a TCG event log (thinvmm-ctl tpmlog) that replays, here in the guest, to the PCRs the
# guest's own driver reads from sysfs; the policy lock extends PCR18 with the digest of the
# compiled policy file and PCR19 with the lock event; a violation class is extended into PCR19
# once, its later hits only counted in the log; localities 1-4 are gone from the guest
# (ACCESS reads all ones, writes are dropped); the guest's own TPM use keeps working. The log is also printed as base64 between TVMM-TPMLOG markers so the host
# can check it with tpm2_eventlog and tests/e2e/tpm-replay.py.
. "${TVMM_DIR:-/opt/thinvmm}/lib.sh"

PCRS=/sys/class/tpm/tpm0/pcr-sha256
LOG=/tmp/vmm-tpm.log

# Lines "PCR TYPE DIGEST TAG" for each TCG_PCR_EVENT2 (SHA-256 only) of a crypto-agile log.
events() {
    xxd -p "$1" | tr -d '\n' | awk '
    function b(o) { return index("0123456789abcdef", substr(h, 2*o+1, 1)) * 16 - 17 + \
                           index("0123456789abcdef", substr(h, 2*o+2, 1)) }
    function u16(o) { return b(o) + 256 * b(o+1) }
    function u32(o) { return u16(o) + 65536 * u16(o+2) }
    { h = h $0 }
    END {
        n = length(h) / 2
        if (n < 32 || u32(4) != 3) { print "bad spec-id header"; exit 1 }
        o = 32 + u32(28)
        while (o < n) {
            if (o + 12 > n) { print "truncated"; exit 1 }
            p = u32(o); t = u32(o+4); c = u32(o+8); o += 12; d = ""
            for (i = 0; i < c; i++) {
                if (u16(o) != 11) { print "not sha256"; exit 1 }
                d = substr(h, 2*(o+2)+1, 64); o += 34
            }
            s = u32(o); g = s >= 4 ? sprintf("%08x", u32(o + 4)) : "-"; o += 4 + s
            if (o > n) { print "truncated event"; exit 1 }
            print p, t, d, g
        }
    }'
}

# Replays the log for PCR $2 from all-FF; prints the result.
replay() {
    _v=$TVMM_PCR_FF
    events "$1" | while read -r _p _t _d _g; do
        [ "$_p" = "$2" ] || continue
        # shellcheck disable=SC2059 # the format is the bytes, as \xHH escapes
        _v=$(printf "$(echo "$_v$_d" | sed 's/../\\x&/g')" | sha256sum | cut -d' ' -f1)
        echo "$_v"
    done | tail -n1 | grep . || echo "$TVMM_PCR_FF"
}

fetch_log() {
    TVMM_WHY=""
    rm -f "$LOG"
    if ! timeout "$TVMM_TOOL_TIMEOUT" "$TVMM_CTL" tpmlog >"$LOG" 2>/tmp/tpmlog.err; then
        TVMM_WHY="thinvmm-ctl tpmlog failed: $(tvmm_oneline </tmp/tpmlog.err)"
        return 1
    fi
    tvmm_info "event log: $(wc -c <"$LOG") bytes"
    events "$LOG" | sed 's/^/    event: /'
    echo "TVMM-TPMLOG-BEGIN $1"
    base64 "$LOG"
    echo "TVMM-TPMLOG-END $1"
}

check_replay() {
    TVMM_WHY=""
    for _n in 17 18 19; do
        _r=$(replay "$LOG" "$_n") _s=$(tvmm_pcr "$_n")
        tvmm_info "PCR$_n: sysfs $_s, replay $_r"
        [ "$_r" = "$_s" ] || TVMM_WHY="$TVMM_WHY PCR$_n replay $_r != sysfs $_s;"
    done
    [ -z "$TVMM_WHY" ]
}

tvmm_heading "scenario tpm: kernel $(uname -r)"
TVMM_WHY=""
if [ ! -d "$PCRS" ]; then  # tpm0 at boot
    TVMM_WHY="no $PCRS: the guest sees no TPM 2.0 (qemu.sh -T attaches swtpm)"
else
    P17=$(tvmm_pcr 17) P18=$(tvmm_pcr 18)
    tvmm_info "before launch: PCR17 $P17 PCR18 $P18"
    [ "$P17" = "$TVMM_PCR_FF" ] && [ "$P18" = "$TVMM_PCR_FF" ] || TVMM_WHY="PCR17/18 not all-FF before launch"
fi
tvmm_result tpm-pcr17-18-start-ff

tvmm_heading "load"
tvmm_insmod
tvmm_result load

tvmm_heading "PCR17 after launch"
TVMM_WHY=""
A17=$(tvmm_pcr 17) A18=$(tvmm_pcr 18)
tvmm_info "after launch: PCR17 $A17 PCR18 $A18"
[ -n "$A17" ] && [ "$A17" != "$TVMM_PCR_FF" ] || TVMM_WHY="PCR17 did not change: $A17"
[ "$A18" = "$TVMM_PCR_FF" ] || TVMM_WHY="$TVMM_WHY PCR18 changed before any lock: $A18"
tvmm_result tpm-pcr17-extended

tvmm_heading "event log replay (launch)"
if tvmm_ensure_loaded && fetch_log launch; then
    check_replay
    grep -q 'launch: emulated-drtm' "$LOG" || TVMM_WHY="$TVMM_WHY no 'launch: emulated-drtm' in the log"
fi
tvmm_result tpm-log-replay-launch

# The digests of the events with tag $2 in log $1, one per line.
tagged() { events "$1" | awk -v g="$2" '$4 == g { print $3 }'; }

tvmm_heading "lock: PCR18 (the compiled policy) and PCR19 (what the lock covered)"
if tvmm_ensure_loaded && tvmm_lock linux-default && fetch_log lock; then
    check_replay
    [ "$(tvmm_pcr 18)" != "$TVMM_PCR_FF" ] || TVMM_WHY="$TVMM_WHY PCR18 still all-FF after the lock"
    [ "$(tvmm_pcr 19)" != "$TVMM_PCR_FF" ] || TVMM_WHY="$TVMM_WHY PCR19 still all-FF after the lock"
    WANT=$(sha256sum "$TVMM_DIR/linux-default.bin" | cut -d' ' -f1)
    GOT=$(tagged "$LOG" 54560002)
    tvmm_info "policy event $GOT, sha256 of the compiled file $WANT"
    [ "$GOT" = "$WANT" ] || TVMM_WHY="$TVMM_WHY policy event '$GOT' is not the compiled file's $WANT"
    LOCKTXT=$(tr '\0' '\n' <"$LOG" | grep -a '^lock: ' | head -n 1)
    tvmm_info "lock event: $(echo "$LOCKTXT" | cut -c1-200)"
    [ "$(tagged "$LOG" 54560004 | wc -l)" = 1 ] || TVMM_WHY="$TVMM_WHY not exactly one lock event"
    case "$LOCKTXT" in
        "lock: policy=linux-default "*contents-sha256=*) ;;
        *) TVMM_WHY="$TVMM_WHY lock event text: '$LOCKTXT'" ;;
    esac
fi
tvmm_result tpm-log-replay-lock

# A violation class reaches PCR19 at its first hit only; the log counts the rest.
tvmm_heading "violation class: one extend, then a count"
TVMM_WHY=""
V0=$(tvmm_pcr 19)
if tvmm_attack text-alias blocked kernel-text; then
    V1=$(tvmm_pcr 19)
    tvmm_attack text-alias blocked kernel-text
    V2=$(tvmm_pcr 19)
    tvmm_info "PCR19: $V0 -> $V1 -> $V2"
    [ "$V1" != "$V0" ] || TVMM_WHY="$TVMM_WHY PCR19 unchanged by the first violation"
    [ "$V2" = "$V1" ] || TVMM_WHY="$TVMM_WHY PCR19 changed again for the same class"
    if fetch_log violation; then
        check_replay
        CLS=$(tr '\0' '\n' <"$LOG" | grep -a -A1 '^violation: ' | tr '\n' ' ')
        tvmm_info "violation records: $CLS"
        [ "$(tagged "$LOG" 54560005 | wc -l)" = 1 ] || TVMM_WHY="$TVMM_WHY not exactly one violation event"
        case "$CLS" in
            *"name=kernel-text action=deny count=0000000002"*) ;;
            *) TVMM_WHY="$TVMM_WHY no kernel-text class with count 2: '$CLS'" ;;
        esac
    fi
fi
tvmm_result tpm-violation-class

# The guest's driver keeps using locality 0 while violations make the VMM extend at
# locality 2: neither may time out or see the other's half-done command.
tvmm_heading "the guest's TPM use while the VMM extends PCR19"
TVMM_WHY=""
rm -f /tmp/tpm-loop.stop /tmp/tpm-loop.err /tmp/tpm-loop.n
(
    i=0
    while [ ! -e /tmp/tpm-loop.stop ] && [ $i -lt 5000 ]; do
        v=$(tvmm_pcr 0)
        [ ${#v} -eq 64 ] || echo "read $i: '$v'" >>/tmp/tpm-loop.err
        i=$((i + 1))
    done
    echo "$i" >/tmp/tpm-loop.n
) &
LOOP=$!
for a in "rodata-alias blocked kernel-rodata" "lstar blocked syscall-msrs" "cr0-wp blocked cr0-wp" \
    "idt-entry blocked idt"; do
    # shellcheck disable=SC2086 # the words are the attack's arguments
    tvmm_attack $a || break
done
ATTACK_WHY=$TVMM_WHY
touch /tmp/tpm-loop.stop
wait "$LOOP"
TVMM_WHY=$ATTACK_WHY
tvmm_info "PCR0 reads while the attacks ran: $(cat /tmp/tpm-loop.n 2>/dev/null)"
[ -s /tmp/tpm-loop.err ] && TVMM_WHY="$TVMM_WHY guest PCR reads failed: $(head -n 3 /tmp/tpm-loop.err | tr '\n' ' ')"
[ "$(cat /tmp/tpm-loop.n 2>/dev/null || echo 0)" -gt 0 ] || TVMM_WHY="$TVMM_WHY no PCR read done"
if dmesg | grep -iE 'tpm.*(timed out|timeout|error)' | grep -v 'TVMM' >/tmp/tpm-dmesg.err; then
    TVMM_WHY="$TVMM_WHY guest TPM driver complained: $(head -n 2 /tmp/tpm-dmesg.err | tr '\n' ' ')"
fi
if [ -z "$TVMM_WHY" ] && fetch_log concurrent; then
    check_replay
    N=$(tagged "$LOG" 54560005 | wc -l)
    tvmm_info "violation classes in the log: $N"
    [ "$N" = 5 ] || TVMM_WHY="$TVMM_WHY $N violation classes, expected 5"
fi
tvmm_result tpm-concurrent-use

tvmm_heading "the guest's own TPM use"
TVMM_WHY=""
P0=$(tvmm_pcr 0)
tvmm_info "PCR0 $P0; hwrng: $(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)"
[ ${#P0} -eq 64 ] || TVMM_WHY="cannot read PCR0: '$P0'"
if [ -c /dev/hwrng ]; then
    R=$(timeout 60 dd if=/dev/hwrng bs=16 count=1 2>/dev/null | xxd -p)
    tvmm_info "16 bytes from /dev/hwrng: $R"
    [ ${#R} -eq 32 ] || TVMM_WHY="$TVMM_WHY /dev/hwrng gave '$R'"
fi
tvmm_result tpm-guest-use

# Localities 1-4: the TIS pages are claimed by the guest's driver (IO_STRICT_DEVMEM), so
# unbind it, look through /dev/mem, and bind it again.
tvmm_heading "localities 1-4 are gone from the guest"
TVMM_WHY=""
DEV=$(readlink -f /sys/class/tpm/tpm0/device 2>/dev/null)
DRV=$(readlink -f "$DEV/driver" 2>/dev/null)
if [ -z "$DEV" ] || [ ! -w "$DRV/unbind" ]; then
    TVMM_WHY="cannot find the TPM's driver to unbind ($DEV, $DRV)"
else
    B17=$(tvmm_pcr 17)
    echo "${DEV##*/}" >"$DRV/unbind"
    A0=$(devmem 0xfed40000 8 2>&1) A2=$(devmem 0xfed42000 8 2>&1) A4=$(devmem 0xfed44000 8 2>&1)
    devmem 0xfed42000 8 0x02 2>/dev/null # requestUse at locality 2: must be dropped
    A2b=$(devmem 0xfed42000 8 2>&1) S2=$(devmem 0xfed42018 32 2>&1)
    echo "${DEV##*/}" >"$DRV/bind"
    for _ in 1 2 3 4 5 6 7 8 9 10; do [ -n "$(tvmm_pcr 0)" ] && break; sleep 1; done
    tvmm_info "after rebinding: $(ls -d /sys/class/tpm/tpm* 2>/dev/null | tr '\n' ' ')"
    tvmm_info "ACCESS loc0 $A0 loc2 $A2 (after requestUse $A2b) loc4 $A4; STS loc2 $S2"
    case "$A0" in 0xFF|0xff|*rror*|"") TVMM_WHY="locality 0 ACCESS reads '$A0'" ;; esac
    for v in "$A2" "$A2b" "$A4"; do
        case "$v" in 0xFF|0xff) ;; *) TVMM_WHY="$TVMM_WHY locality 2/4 ACCESS reads '$v', not 0xFF" ;; esac
    done
    case "$S2" in 0xFFFFFFFF|0xffffffff) ;; *) TVMM_WHY="$TVMM_WHY locality 2 STS reads '$S2'" ;; esac
    [ "$(tvmm_pcr 17)" = "$B17" ] || TVMM_WHY="$TVMM_WHY PCR17 changed: $(tvmm_pcr 17)"
    P0b=$(tvmm_pcr 0)
    [ "$P0b" = "$P0" ] || TVMM_WHY="$TVMM_WHY PCR0 unreadable after rebinding the driver: '$P0b'"
fi
tvmm_result tpm-localities-taken
