#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check the VMM's TCG event log on the host, from a tpm scenario's console.log.

Usage: tests/e2e/tpm-replay.py CONSOLE.LOG [THINVMM.BIN] [-o DIR]

Extracts each log printed between "TVMM-TPMLOG-BEGIN NAME" and "TVMM-TPMLOG-END NAME"
(base64) into DIR/vmm-tpm-NAME.log (default: next to the console log), parses it (Spec ID
event, SHA-256-only TCG_PCR_EVENT2 records), replays PCR 17, 18 and 19 from all-FF (no DRTM),
compares with the sysfs values the guest printed ("PCRnn: sysfs HEX, replay HEX"), checks
the image event's digest against SHA-256 of THINVMM.BIN's first __rela_end bytes (the QUAD
at offset 48 of its header) and runs tpm2_eventlog on each log if it is installed.
Prints PASS/FAIL lines, then "N passed, M failed"; exits 0 iff nothing failed.
"""
import base64
import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys

TAGS = {0x54560001: "image", 0x54560002: "policy", 0x54560003: "launch", 0x54560004: "lock",
        0x54560005: "violation"}
PCRS = (17, 18, 19)
fails = passes = 0


def say(ok, what):
    global fails, passes
    fails += 0 if ok else 1
    passes += 1 if ok else 0
    print(("PASS " if ok else "FAIL ") + what)


def parse(log):
    if len(log) < 32 or struct.unpack_from("<I", log, 4)[0] != 3:
        raise ValueError("no Spec ID event (EV_NO_ACTION) first")
    size = struct.unpack_from("<I", log, 28)[0]
    spec = log[32:32 + size]
    if not spec.startswith(b"Spec ID Event03\0"):
        raise ValueError("the first event is not 'Spec ID Event03'")
    algs = struct.unpack_from("<I", spec, 24)[0]
    if algs != 1 or struct.unpack_from("<HH", spec, 28) != (0x000B, 32):
        raise ValueError("Spec ID event does not declare SHA-256 only")
    off, events = 32 + size, []
    while off < len(log):
        pcr, etype, count = struct.unpack_from("<III", log, off)
        off += 12
        digest = None
        for _ in range(count):
            alg = struct.unpack_from("<H", log, off)[0]
            if alg != 0x000B:
                raise ValueError("digest algorithm %#x, not SHA-256" % alg)
            digest = log[off + 2:off + 34]
            off += 34
        esize = struct.unpack_from("<I", log, off)[0]
        data = log[off + 4:off + 4 + esize]
        off += 4 + esize
        if off > len(log) or count != 1:
            raise ValueError("truncated event or digest count %d" % count)
        events.append((pcr, etype, digest, data))
    return events


def main():
    args = sys.argv[1:]
    outdir = None
    if "-o" in args:
        i = args.index("-o")
        outdir = args[i + 1]
        del args[i:i + 2]
    if not args:
        print(__doc__)
        return 2
    console = open(args[0], "rb").read().decode("utf-8", "replace")
    binpath = args[1] if len(args) > 1 else None
    outdir = outdir or os.path.dirname(os.path.abspath(args[0]))
    logs = re.findall(r"TVMM-TPMLOG-BEGIN (\S+)\r?\n(.*?)TVMM-TPMLOG-END \1", console, re.S)
    say(bool(logs), "the console has %d event log(s)" % len(logs))
    sysfs = re.findall(r"PCR(\d+): sysfs ([0-9a-f]{64}), replay", console)
    ref = None
    if binpath:
        b = open(binpath, "rb").read()
        ref = hashlib.sha256(b[:struct.unpack_from("<Q", b, 48)[0]]).digest()
    seen = []
    for idx, (name, text) in enumerate(logs):
        raw = base64.b64decode("".join(l.strip() for l in text.splitlines()
                                       if re.fullmatch(r"[A-Za-z0-9+/=]+", l.strip())))
        path = os.path.join(outdir, "vmm-tpm-%s.log" % name)
        open(path, "wb").write(raw)
        try:
            events = parse(raw)
        except (ValueError, struct.error) as e:
            say(False, "%s: %s" % (name, e))
            continue
        pcrs = {p: b"\xff" * 32 for p in PCRS}
        # A later log holds the earlier one's events (counts aside): check only the new ones.
        same = [(e[0], e[2]) for e in events[:len(seen)]] == seen
        say(same, "%s: %d event(s), the first %d as in the log before" % (name, len(events),
                                                                            len(seen)))
        for n, (pcr, etype, digest, data) in enumerate(events):
            if n < len(seen):
                pcrs[pcr] = hashlib.sha256(pcrs.get(pcr, b"\xff" * 32) + digest).digest()
                continue
            tag = struct.unpack_from("<I", data, 0)[0] if len(data) >= 8 else None
            text = data[8:].decode("ascii", "replace")
            print("  %s: PCR%d type %#x tag %s %s %r" % (name, pcr, etype,
                  TAGS.get(tag, tag), digest.hex(), text))
            say(pcr in pcrs, "%s: event on PCR%d (17, 18 or 19)" % (name, pcr))
            pcrs[pcr] = hashlib.sha256(pcrs.get(pcr, b"\xff" * 32) + digest).digest()
            if TAGS.get(tag) == "launch":
                say(digest == hashlib.sha256(data[8:]).digest() and
                    text == "launch: emulated-drtm", "%s: launch event says and hashes "
                    "'launch: emulated-drtm'" % name)
            if TAGS.get(tag) == "lock":
                say(digest == hashlib.sha256(data[8:]).digest() and text.startswith("lock: "),
                    "%s: lock event text is its digest's preimage" % name)
            if TAGS.get(tag) == "violation":
                cls = data[8:].split(b"\0", 1)[0]
                say(digest == hashlib.sha256(cls).digest() and cls.startswith(b"violation: "),
                    "%s: violation class text (before the count) is its digest's preimage" % name)
            if TAGS.get(tag) == "image" and ref is not None:
                say(digest == ref, "%s: image digest = SHA-256 of %s up to __rela_end"
                    % (name, binpath))
        seen = [(e[0], e[2]) for e in events]
        # The guest printed "PCRnn: sysfs ..." for each PCR per log, in order.
        got = dict(sysfs[len(PCRS) * idx:len(PCRS) * (idx + 1)])
        bad = [p for p in PCRS if got.get(str(p)) != pcrs[p].hex()]
        say(not bad, "%s: host replay of PCR%s = the guest's sysfs values%s" % (
            name, "/".join(str(p) for p in PCRS), " (not PCR%s)" % bad if bad else ""))
        if shutil.which("tpm2_eventlog"):
            r = subprocess.run(["tpm2_eventlog", path], capture_output=True, text=True)
            ok = r.returncode == 0 and "pcrs:" in r.stdout
            say(ok, "%s: tpm2_eventlog parses %s" % (name, path))
            if not ok:
                print(r.stdout[-2000:], r.stderr[-2000:])
        else:
            say(False, "tpm2_eventlog (tpm2-tools) is not installed")
    say(passes > 0, "at least one log checked")
    print("%d passed, %d failed" % (passes, fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
