#!/usr/bin/env python3
"""Read the emulator's CPU time whenever the guest marks the start or end of a timed run.

Usage: watch.py CONSOLE RUNNER_PID OUT [COMM_PREFIX]

Started by bench/run.sh next to tests/e2e/qemu.sh (whose PID is RUNNER_PID), and by
bench/run-vmx.sh next to tests/e2e/bochs.sh with COMM_PREFIX "bochs". Finds the process whose
name starts with COMM_PREFIX (default "qemu-system") among the descendants of RUNNER_PID
(QEMU is qemu.sh's child; Bochs is started by `script`, so it is bochs.sh's grandchild),
follows CONSOLE (the guest's COM1 file) and, for each line
"TVMM-BENCH: mark INDEX KIND start|end", appends to OUT
    INDEX KIND start|end CPU_SECONDS HOST_MONOTONIC_SECONDS
where CPU_SECONDS is the user + system time of the whole emulator process (all vCPU threads)
so far. The guest idles for a second after each mark, so the reading lands while QEMU burns
almost nothing. CPU time is much less disturbed than wall time by other work on the host.
Exits when QEMU_SH_PID is gone. Reads /proc only; never signals anything.
"""
import os
import re
import sys
import time

MARK = re.compile(rb"TVMM-BENCH: mark (\S+) (\S+) (start|end)")
TICK = os.sysconf("SC_CLK_TCK")


def alive(pid):
    return os.path.exists(f"/proc/{pid}")


def find_emulator(root, prefix):
    """The first process named PREFIX... among the descendants of ROOT, or None."""
    procs = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index(b"(") + 1:st.rindex(b")")]
        fields = st[st.rindex(b")") + 2:].split()
        procs[int(d)] = (int(fields[1]), comm)
    for pid, (_, comm) in procs.items():
        if not comm.startswith(prefix):
            continue
        p, depth = pid, 0
        while p in procs and depth < 8:
            p, depth = procs[p][0], depth + 1
            if p == root:
                return pid
    return None


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        st = f.read()
    fields = st[st.rindex(b")") + 2:].split()
    # fields[0] is field 3 (state): utime is field 14, stime field 15
    return (int(fields[11]) + int(fields[12])) / TICK


def main():
    console, parent, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    prefix = (sys.argv[4] if len(sys.argv) > 4 else "qemu-system").encode()
    qemu, fh, buf = None, None, b""
    with open(out, "a", encoding="utf-8") as o:
        while True:
            running = alive(parent)
            if qemu is None:
                qemu = find_emulator(parent, prefix)
            if fh is None and os.path.exists(console):
                fh = open(console, "rb")
            if fh is not None:
                buf += fh.read()
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    m = MARK.search(line)
                    if m and qemu is not None:
                        try:
                            cpu = cpu_seconds(qemu)
                        except OSError:
                            continue
                        o.write(f"{m.group(1).decode()} {m.group(2).decode()} "
                                f"{m.group(3).decode()} {cpu:.2f} {time.monotonic():.3f}\n")
                        o.flush()
            if not running:
                break
            time.sleep(0.02)
    return 0


if __name__ == "__main__":
    sys.exit(main())
