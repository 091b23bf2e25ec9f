# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# swtpm helpers (DESIGN.md "Recipes"), sourced by tests/e2e/qemu.sh and tests/e2e/attest-lib.sh.
# One instance at a time per shell, its PID in SWTPM_PID; it is only ever stopped by that PID.
#
#   swtpm_manufacture DIR LOG      swtpm_setup: a TPM 2.0 state in DIR with EK and platform
#                                  certificates from the local CA (/var/lib/swtpm-localca)
#   swtpm_start_sock DIR SOCK LOG  swtpm for QEMU: control channel on the UNIX socket SOCK,
#                                  daemonized; it exits by itself when QEMU disconnects
#   swtpm_free_port                prints P such that TCP ports P and P+1 are free
#   swtpm_start_tcp DIR PORT LOG   swtpm for host tools: TPM on 127.0.0.1:PORT, control on
#                                  PORT+1, already started up (TCTI swtpm:host=127.0.0.1,port=PORT)
#   swtpm_stop                     TERM, then KILL after 2 s, the instance in SWTPM_PID
# All return non-zero on failure; the caller decides whether to die.
SWTPM_PID=""

swtpm_have() { command -v swtpm >/dev/null 2>&1 && command -v swtpm_setup >/dev/null 2>&1; }

swtpm_manufacture() {
    mkdir -p "$1" && swtpm_setup --tpm2 --tpmstate "$1" --create-ek-cert --create-platform-cert \
        --lock-nvram --overwrite >"$2" 2>&1
}

swtpm_start_sock() {
    local dir=$1 sock=$2 log=$3 pidf=$2.pid
    rm -f "$sock" "$pidf"
    swtpm socket --tpm2 --tpmstate dir="$dir" --ctrl type=unixio,path="$sock" \
        --log file="$log" --daemon --pid file="$pidf" || return 1
    for _ in $(seq 50); do [ -S "$sock" ] && [ -s "$pidf" ] && break; sleep 0.1; done
    SWTPM_PID=$(cat "$pidf" 2>/dev/null || true)
    [ -n "$SWTPM_PID" ] && [ -S "$sock" ]
}

# Below the ephemeral range (32768 up), where no client connection can be holding the port, and
# held by no socket at all (ss -a: a connection's local end is not a listener).
swtpm_free_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 12000))
        if ! ss -tanH "( sport = :$p or sport = :$((p + 1)) )" 2>/dev/null | grep -q .; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

swtpm_start_tcp() {
    local dir=$1 port=$2 log=$3
    swtpm socket --tpm2 --tpmstate dir="$dir" \
        --server type=tcp,port="$port",bindaddr=127.0.0.1 \
        --ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
        --flags not-need-init,startup-clear --log file="$log" </dev/null >/dev/null 2>&1 &
    SWTPM_PID=$!
    for _ in $(seq 100); do
        if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then return 0; fi
        kill -0 "$SWTPM_PID" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

swtpm_stop() {
    if [ -n "$SWTPM_PID" ] && kill -0 "$SWTPM_PID" 2>/dev/null; then
        kill -TERM "$SWTPM_PID" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$SWTPM_PID" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$SWTPM_PID" 2>/dev/null || true
    fi
    # Reap it if it is our child (the TCP instance); the daemonized one is not.
    [ -z "$SWTPM_PID" ] || wait "$SWTPM_PID" 2>/dev/null || true
    SWTPM_PID=""
}
