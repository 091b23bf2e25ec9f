#!/bin/sh
# e2e scenario "policy-introspect": lock policy/introspect.pol (CR3 writes and #UD/#GP,
# monitored). Address-space switches and a user-space UD2 must be recorded, the UD2 must
# still end in SIGILL, and the guest must keep working.
. "${TVMM_DIR:-/opt/thinvmm}/lib.sh"

tvmm_heading "scenario policy-introspect: $(tvmm_ncpus) CPU(s), kernel $(uname -r)"
tvmm_dmesg_clear
tvmm_insmod
tvmm_result load
if tvmm_ensure_loaded; then tvmm_lock introspect; fi
tvmm_result lock

tvmm_heading "introspection: CR3 writes and #UD, recorded and let through"
h0=$(tvmm_rule_hits address-spaces)
i=0
while [ "$i" -lt 20 ]; do /bin/true; i=$((i + 1)); done
h1=$(tvmm_rule_hits address-spaces)
tvmm_info "CR3 writes recorded: $h0 -> $h1 over 20 fork/exec"
TVMM_WHY=""
[ "$h1" -ge $((h0 + 20)) ] || TVMM_WHY="only $((h1 - h0)) CR3 writes recorded for 20 fork/exec"
tvmm_result introspect-cr3
u0=$(tvmm_rule_hits faults)
tvmm_run /tmp/tvmm-ud2.out "$TVMM_SIGCHECK" --ud2
rc=$?
tvmm_show /tmp/tvmm-ud2.out
u1=$(tvmm_rule_hits faults)
TVMM_WHY=""
[ "$rc" -eq 0 ] || TVMM_WHY="UD2 in user space did not end in SIGILL under the #UD rule: $(tvmm_oneline </tmp/tvmm-ud2.out)"
[ "$u1" -gt "$u0" ] || TVMM_WHY="$TVMM_WHY no #UD recorded ($u0 -> $u1)"
tvmm_result introspect-exception

tvmm_heading "the guest keeps running"
i=0
TVMM_WHY=""
while [ "$i" -lt 50 ]; do /bin/true || TVMM_WHY="fork/exec failed at $i"; i=$((i + 1)); done
tvmm_sigcheck quiet || true
tvmm_result still-running

tvmm_heading "violation records (last 20)"
timeout "$TVMM_TOOL_TIMEOUT" "$TVMM_CTL" events | tail -n 20 | sed 's/^/    /'
tvmm_dmesg_summary
