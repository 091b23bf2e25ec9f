# shellcheck shell=bash
# What every bench/run-*.sh shares: messages, host load, and stopping its own children (by PID,
# never by name) however the run ends. Source it after setting ME; the script then sets
# RUNNER (its qemu.sh/bochs.sh), WATCHER (bench/watch.py) and SAMPLER (its host sampler) to the
# PIDs it starts, and calls bench_traps once.
die() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 1; }
log() { printf '%s: %s\n' "$ME" "$*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }
# count NAME: processes with exactly that name (other emulators steal the cores).
count() { { pgrep -x "$1" 2>/dev/null || true; } | wc -l; }

RUNNER="" WATCHER="" SAMPLER=""
stop_sampler() {
    if [ -n "$SAMPLER" ]; then
        kill "$SAMPLER" 2>/dev/null || true
        wait "$SAMPLER" 2>/dev/null || true
        SAMPLER=""
    fi
}
bench_cleanup() {
    # qemu.sh and bochs.sh stop their emulator when they get TERM.
    [ -z "$RUNNER" ] || { kill -TERM "$RUNNER" 2>/dev/null || true; wait "$RUNNER" 2>/dev/null || true; }
    [ -z "$WATCHER" ] || { kill "$WATCHER" 2>/dev/null || true; wait "$WATCHER" 2>/dev/null || true; }
    stop_sampler
}
bench_traps() {
    trap bench_cleanup EXIT
    trap 'log "interrupted"; exit 130' INT
    trap 'log "terminated"; exit 143' TERM
}
# bench_wait: waits for RUNNER and WATCHER and stops the sampler; RUNNER's status in BENCH_RC
# (read by the scripts that source this file).
# shellcheck disable=SC2034
bench_wait() {
    BENCH_RC=0
    wait "$RUNNER" || BENCH_RC=$?
    RUNNER=""
    wait "$WATCHER" || log "warning: bench/watch.py exited with status $?: no emulator CPU times"
    WATCHER=""
    stop_sampler
}
