#!/usr/bin/env python3
"""Read QEMU's CPU time whenever the guest marks the start or end of a timed run.

Usage: watch.py CONSOLE QEMU_SH_PID OUT

Started by bench/run.sh next to tests/e2e/qemu.sh (whose PID is QEMU_SH_PID). Finds the
qemu-system-x86_64 child of that process, follows CONSOLE (the guest's COM1 file) and, for
each line "TVMM-BENCH: mark INDEX KIND start|end", appends to OUT
    INDEX KIND start|end CPU_SECONDS HOST_MONOTONIC_SECONDS
where CPU_SECONDS is the user + system time of the whole QEMU process (all vCPU threads) so
far. The guest idles for a second after each mark, so the reading lands while QEMU burns
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


def find_qemu(parent):
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
        if comm.startswith(b"qemu-system") and int(fields[1]) == parent:
            return int(d)
    return None


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        st = f.read()
    fields = st[st.rindex(b")") + 2:].split()
    # fields[0] is field 3 (state): utime is field 14, stime field 15
    return (int(fields[11]) + int(fields[12])) / TICK


def main():
    console, parent, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    qemu, fh, buf = None, None, b""
    with open(out, "a", encoding="utf-8") as o:
        while True:
            running = alive(parent)
            if qemu is None:
                qemu = find_qemu(parent)
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
