#!/usr/bin/env python3
"""Turn the console of a "bench-dma" boot (tests/guest/scenario-bench-dma.sh) into the DMA
protection bench's results: DIR/dma-svm-qemu.md, .json and -runs.csv.

Usage: report_dma.py --meta META --console CONSOLE [--marks MARKS] [--samples HOST_SAMPLES]
                     --out DIR

Started by bench/run-dma.sh. Exit status 1 when the results show a problem (a dma fault or
record, data read back wrong, a failed transfer or lock, DMA not protected under thinvmm,
missing phases); the report is written anyway and lists the problems. Nothing is judged on a
time.
"""
import argparse
import csv
import json
import statistics
import sys

PHASES = ("off", "prot1", "prot2", "locked")
PHASE_TEXT = {
    "off": "no thinvmm (IOMMU translation off)",
    "prot1": "thinvmm, DMA translated (part 1, interleaved with off)",
    "prot2": "thinvmm, DMA translated (part 2, just before the lock)",
    "locked": "thinvmm, locked (text/rodata/IDT read-only to devices)",
}
OPS = (("/dev/vda", "write"), ("/dev/vda", "read"), ("/dev/sda", "write"), ("/dev/sda", "read"),
       ("-", "zero"))
OP_TEXT = {
    ("/dev/vda", "write"): "virtio-blk write",
    ("/dev/vda", "read"): "virtio-blk read",
    ("/dev/sda", "write"): "AHCI write",
    ("/dev/sda", "read"): "AHCI read",
    ("-", "zero"): "CPU control (/dev/zero, no DMA)",
}


def read_meta(path):
    meta = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    return meta


def parse_console(path):
    out = {"env": {}, "disks": {}, "io": [], "blocks": {}, "status": {}, "events": {},
           "evjson": {}, "dmastatus": {}, "errors": [], "lock": None, "lockcheck": None,
           "phases": [], "end": False}
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "replace").replace("\r", "")
    for line in text.split("\n"):
        i = line.find("TVMM-BENCH")
        if i < 0:
            continue
        line = line[i:]
        tag, _, rest = line.partition(" ")
        if tag == "TVMM-BENCH-JSON:":
            label, _, js = rest.partition(" ")
            try:
                out["status"][label] = json.loads(js)
            except ValueError:
                out["errors"].append(f"status {label}: unparsable JSON")
            continue
        if tag == "TVMM-BENCH-EVENTS:":
            label, _, hdr = rest.partition(" ")
            out["events"][label] = hdr
            continue
        if tag == "TVMM-BENCH-EVJSON:":
            label, _, js = rest.partition(" ")
            try:
                out["evjson"].setdefault(label, []).append(json.loads(js))
            except ValueError:
                out["errors"].append(f"events --json {label}: unparsable line {js[:80]!r}")
            continue
        if tag != "TVMM-BENCH:":
            continue
        f = rest.split()
        if not f:
            continue
        kind = f[0]
        try:
            if kind == "env" and len(f) >= 2:
                if f[1] == "disk" and len(f) >= 4:
                    out["disks"][f[2]] = {"sectors": f[3], "path": " ".join(f[4:])}
                else:
                    out["env"][f[1]] = " ".join(f[2:])
            elif kind == "io" and len(f) == 9:
                out["io"].append({"block": f[1], "phase": f[2], "rep": int(f[3]), "dev": f[4],
                                  "op": f[5], "ns": int(f[6]), "bytes": int(f[7]),
                                  "ok": f[8] == "1"})
            elif kind == "block" and len(f) == 4:
                out["blocks"][f[1]] = {"phase": f[2], "rc": int(f[3])}
            elif kind == "lock" and len(f) >= 3:
                out["lock"] = {"rc": int(f[1]), "ns": int(f[2]), "text": " ".join(f[3:])}
            elif kind == "lockcheck":
                out["lockcheck"] = " ".join(f[1:])
            elif kind == "dmastatus" and len(f) >= 2:
                out["dmastatus"][f[1]] = " ".join(f[2:])
            elif kind == "phase" and len(f) == 3:
                out["phases"].append((f[1], f[2]))
            elif kind == "error":
                out["errors"].append(" ".join(f[1:]))
            elif kind == "end":
                out["end"] = True
        except ValueError:
            out["errors"].append(f"unparsable line: {line[:120]}")
    return out


def exits_sum(st):
    tot = {}
    for c in st.get("cpus", []):
        for k, v in c.get("exits", {}).items():
            tot[k] = tot.get(k, 0) + v
    return tot


def exits_delta(a, b):
    ea, eb = exits_sum(a), exits_sum(b)
    return {k: eb.get(k, 0) - ea.get(k, 0) for k in eb}


def mibs(r):
    return r["bytes"] / 1048576 / (r["ns"] / 1e9) if r["ns"] > 0 else 0.0


def med(xs):
    return statistics.median(xs) if xs else None


def fmt(x, nd=1):
    return "-" if x is None else f"{x:.{nd}f}"


def ratio(a, b):
    return a / b if a is not None and b else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meta", required=True)
    ap.add_argument("--console", required=True)
    ap.add_argument("--marks")
    ap.add_argument("--samples")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    meta = read_meta(args.meta)
    c = parse_console(args.console)
    problems = list(f"guest: {e}" for e in c["errors"])
    rounds = int(c["env"].get("rounds", meta.get("rounds", "0")) or 0)

    # The phase of each timed transfer; part 1's protected blocks are numbered 1..2*ROUNDS.
    runs = []
    for r in c["io"]:
        ph = r["phase"]
        if ph == "warm":
            continue
        if ph == "prot":
            ph = "prot1" if r["block"].isdigit() and int(r["block"]) <= 2 * rounds else "prot2"
        r = dict(r, phase=ph, mib_s=mibs(r))
        runs.append(r)
        if not r["ok"]:
            problems.append(f"block {r['block']} {r['dev']} {r['op']} rep {r['rep']}: "
                            "transfer failed or read back wrong data")
    for b, v in c["blocks"].items():
        if v["rc"] != 0:
            problems.append(f"block {b} ({v['phase']}): tvmm-dma-io exited {v['rc']}")

    # Host side of each block: QEMU CPU seconds between its marks, and whether another QEMU ran
    # meanwhile (the samples count ours too).
    samples = []
    if args.samples:
        try:
            with open(args.samples, encoding="utf-8") as f:
                for line in f:
                    p = line.split()
                    if len(p) >= 3:
                        samples.append((float(p[0]), int(p[1]), float(p[2]),
                                        int(p[3]) if len(p) > 3 else None,
                                        int(p[4]) if len(p) > 4 else None))
        except OSError:
            pass
    marks = {}
    if args.marks:
        try:
            with open(args.marks, encoding="utf-8") as f:
                for line in f:
                    p = line.split()
                    if len(p) == 5:
                        marks.setdefault(p[0], {})[p[2]] = (float(p[3]), float(p[4]))
        except OSError:
            pass
    host = {}
    for b, m in marks.items():
        if "start" not in m or "end" not in m:
            continue
        h = {"qemu_cpu_s": m["end"][0] - m["start"][0], "wall_s": m["end"][1] - m["start"][1]}
        w = [x for x in samples if m["start"][1] - 1 <= x[0] <= m["end"][1] + 1]
        if w:
            h.update(samples=len(w), qemus_max=max(x[1] for x in w),
                     load1_max=max(x[2] for x in w))
            if w[0][3] is not None:
                h.update(dirty_kb_max=max(x[3] for x in w), writeback_kb_max=max(x[4] for x in w))
        host[b] = h
    contended = sorted((b for b, h in host.items() if h.get("qemus_max", 0) > 1 and
                        c["blocks"].get(b, {}).get("phase") in ("off", "prot", "locked")),
                       key=lambda x: (not x.isdigit(), int(x) if x.isdigit() else 0, x))

    def compute(rs):
        """Throughput per phase and transfer, part 1's pair ratios, and the ratios."""
        table = {}
        for ph in PHASES:
            for key in OPS:
                xs = [r["mib_s"] for r in rs if r["phase"] == ph and (r["dev"], r["op"]) == key]
                if not xs:
                    continue
                m = med(xs)
                table[(ph, key)] = {"n": len(xs), "median": m, "min": min(xs), "max": max(xs),
                                    "spread": (max(xs) - min(xs)) / m if m else None,
                                    "values": xs}

        def block_median(block, key):
            return med([r["mib_s"] for r in rs if r["block"] == block and
                        (r["dev"], r["op"]) == key])

        # Part 1's counterbalanced pairs: round i is blocks 2i-1 and 2i, one off, one prot.
        pairs = {}
        for key in OPS:
            prs = []
            for i in range(1, rounds + 1):
                a, b = str(2 * i - 1), str(2 * i)
                off, on = (a, b) if c["blocks"].get(a, {}).get("phase") == "off" else (b, a)
                ro, rp = block_median(off, key), block_median(on, key)
                if ro and rp:
                    prs.append(rp / ro)
            if prs:
                pairs[key] = {"n": len(prs), "median": med(prs), "min": min(prs),
                              "max": max(prs), "values": prs}

        def tmed(ph, key):
            return table.get((ph, key), {}).get("median")

        ratios = {}
        for key in OPS:
            off, p1, p2, lk = (tmed(ph, key) for ph in PHASES)
            ratios[key] = {
                "prot_off": ratio(p1, off),
                "locked_prot": ratio(lk, p2),
                "locked_off": ratio(lk, off),
                "locked_off_chained": (ratio(lk, p2) * ratio(p1, off)
                                       if ratio(lk, p2) and ratio(p1, off) else None),
                "prot2_prot1": ratio(p2, p1),
            }
        return table, pairs, ratios

    table, pairs, ratios = compute(runs)
    clean = [r for r in runs if r["block"] not in contended]
    ctable, cpairs, cratios = compute(clean) if contended else (table, pairs, ratios)
    io_all = [b for b, v in c["blocks"].items() if v["phase"] in ("off", "prot", "locked")]
    all_contended = bool(io_all) and len(contended) == len(io_all)
    for ph in PHASES:
        if not any((ph, k) in table for k in OPS):
            problems.append(f"no timed transfers in phase {ph}")

    # QEMU CPU seconds per I/O block, per phase (every block does the same work).
    cpu = {}
    for b, v in c["blocks"].items():
        ph = v["phase"]
        if ph == "prot":
            ph = "prot1" if b.isdigit() and int(b) <= 2 * rounds else "prot2"
        if ph in PHASES and b in host:
            cpu.setdefault(ph, []).append(host[b]["qemu_cpu_s"])

    # Exits per block under thinvmm (S2 - S1, summed over CPUs).
    st = c["status"]
    exits = []
    for label in sorted({k[:-3] for k in st if k.endswith(".s1")},
                        key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s)):
        if f"{label}.s2" not in st:
            continue
        d = exits_delta(st[f"{label}.s1"], st[f"{label}.s2"])
        ph = c["blocks"].get(label, {}).get("phase", "?")
        if ph == "prot":
            ph = "prot1" if label.isdigit() and int(label) <= 2 * rounds else "prot2"
        exits.append({"block": label, "phase": ph, "delta": d,
                      "total": sum(d.values()),
                      "dma_faults": st[f"{label}.s2"].get("dma", {}).get("faults")})
    calib = {e["phase"]: e for e in exits if e["phase"].startswith("calib")}

    # DMA state: protected under thinvmm, table pages, invalidations, faults, records.
    dma = {}
    for label, s in st.items():
        d = s.get("dma")
        if d is None:
            problems.append(f"status {label}: no dma object")
            continue
        dma[label] = d
        if d.get("state") != "protected":
            problems.append(f"status {label}: dma {d.get('state')} ({d.get('reason')})")
        if d.get("faults") or d.get("lost"):
            problems.append(f"status {label}: dma faults {d.get('faults')}, lost {d.get('lost')}")
    for label, line in c["dmastatus"].items():
        if not line.startswith("dma: protected (vt-d"):
            problems.append(f"thinvmm-ctl status at {label}: '{line}'")
    inv_lock = None
    if "lock.s0" in dma and "lock.s1" in dma:
        inv_lock = dma["lock.s1"]["invalidations"] - dma["lock.s0"]["invalidations"]
    inv_after = None
    if "lock.s1" in dma and "final" in dma:
        inv_after = dma["final"]["invalidations"] - dma["lock.s1"]["invalidations"]
    dma_records = {lb: [e for e in ev if e.get("kind") == "dma"] for lb, ev in c["evjson"].items()}
    for lb, recs in dma_records.items():
        if recs:
            problems.append(f"events {lb}: {len(recs)} dma record(s), e.g. {recs[0]}")
    if "final" not in c["evjson"]:
        problems.append("no events --json at the end")
    if not c["lock"] or c["lock"]["rc"] != 0:
        problems.append(f"lock: {c['lock']}")
    if c["lockcheck"] != "rmmod-refused":
        problems.append(f"lock check: {c['lockcheck']}")
    if not c["end"]:
        problems.append("the scenario did not reach its end")

    # ---- outputs ----
    out = args.out
    with open(f"{out}/dma-svm-qemu-runs.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["block", "phase", "rep", "dev", "op", "ns", "bytes", "mib_per_s", "ok"])
        for r in runs:
            w.writerow([r["block"], r["phase"], r["rep"], r["dev"], r["op"], r["ns"], r["bytes"],
                        f"{r['mib_s']:.2f}", int(r["ok"])])
    js = {
        "meta": meta, "env": c["env"], "disks": c["disks"], "runs": runs,
        "throughput": [{"phase": ph, "dev": k[0], "op": k[1], **v}
                       for (ph, k), v in table.items()],
        "pair_ratios": [{"dev": k[0], "op": k[1], **v} for k, v in pairs.items()],
        "ratios": [{"dev": k[0], "op": k[1], **v} for k, v in ratios.items()],
        "contended_blocks": contended,
        "uncontended": {
            "throughput": [{"phase": ph, "dev": k[0], "op": k[1], **v}
                           for (ph, k), v in ctable.items()],
            "pair_ratios": [{"dev": k[0], "op": k[1], **v} for k, v in cpairs.items()],
            "ratios": [{"dev": k[0], "op": k[1], **v} for k, v in cratios.items()]},
        "host_per_block": host, "qemu_cpu_per_block": cpu,
        "exits": exits, "dma": dma, "invalidations_lock": inv_lock,
        "invalidations_after_lock": inv_after, "dma_records": dma_records,
        "events": c["events"], "lock": c["lock"], "lockcheck": c["lockcheck"],
        "dmastatus": c["dmastatus"], "status": st, "host_samples": samples,
        "problems": problems,
    }
    with open(f"{out}/dma-svm-qemu.json", "w", encoding="utf-8") as f:
        json.dump(js, f, indent=1)

    L = []
    mib, kib = c["env"].get("mib", meta.get("mib")), c["env"].get("kib", meta.get("kib"))
    reps, nlocked = c["env"].get("reps", meta.get("reps")), c["env"].get("locked_blocks", "?")
    L.append("# The cost of VT-d DMA protection (QEMU TCG, SVM, QEMU's intel-iommu)")
    L.append("")
    L.append(f"Recorded {meta.get('date', '?')} by `bench/run-dma.sh`, commit "
             f"`{meta.get('git_describe', '?')}` ({meta.get('git_dirty_files', '?')} files "
             f"uncommitted), {meta.get('emulator', '?')}, guest kernel "
             f"{c['env'].get('kernel', '?')}, {meta.get('machine', '?')}; "
             f"thinvmm.ko sha256 `{meta.get('thinvmm_ko_sha256', '?')[:16]}…`, VMM "
             f"`{next(iter(st.values()), {}).get('version', '?')}`. Host: "
             f"{meta.get('host_cpu', '?')}, {meta.get('host_ncpus', '?')} CPUs; 1-minute load "
             f"mean {meta.get('host_load1_mean', '?')} (max {meta.get('host_load1_max', '?')}), "
             f"QEMUs running at once (ours included) up to {meta.get('qemus_running_max', '?')}; "
             f"boot {meta.get('boot_seconds', '?')} s.")
    L.append("")
    L.append("**Read this first.** This is QEMU's TCG *emulating* both the CPU and the IOMMU. "
             "With translation on, every DMA access of QEMU's disk models goes through QEMU's "
             "software model of VT-d (`vtd_iommu_translate`: its own IOTLB hash, and walks of "
             "thinvmm's second-level tables in guest memory on a miss); with translation off "
             "the devices write guest memory directly. So the ratios below are the cost of "
             "*QEMU's* IOMMU emulation plus (prot vs off) running under thinvmm's nested paging "
             "in TCG, measured in emulated time (the guest's CLOCK_MONOTONIC, "
             f"clocksource {c['env'].get('clocksource', '?')}, which follows the host's clock "
             "while TCG runs the guest). They do not predict real hardware, where a VT-d "
             "walk is done by the chipset, cached by its IOTLB and paging-structure caches, "
             "and costs nothing on the CPU. What does carry over: the exit counts (protection "
             "adds none: the VMM does not touch a DMA), the table size, the invalidations per "
             "lock, and that locked ranges being read-only to devices raises no fault for a "
             "real disk workload.")
    L.append("")
    L.append("## How it was measured")
    L.append("")
    L.append(f"One boot (`tests/e2e/qemu.sh -V -D`, scenario `bench-dma`). A *block* is one run "
             f"of `tvmm-dma-io` (C, static, built by `bench/run-dma.sh`): {reps} repetitions of "
             f"{{write {mib} MiB with O_DIRECT in {kib} KiB requests to the virtio-blk disk "
             f"(`iommu_platform=on`, so its DMA is translated) and read them back, the same on "
             f"the AHCI disk, the disk order reversed every other repetition; then {mib} MiB "
             f"read from `/dev/zero` into the same buffer, a CPU-only control with no DMA}}. Each "
             f"transfer is timed on the guest's clock inside the program: no fork, exec or "
             f"console output in a timed window. Every 4 KiB written carries a stamp that the "
             f"read checks. The 64 MiB images sit in the host's page cache (QEMU's default "
             f"writeback cache; no flush is issued), so host disks play no part; one untimed "
             f"block first makes every timed write an overwrite.")
    L.append("")
    L.append(f"* **Part 1, `off` vs `prot`:** {rounds} counterbalanced pairs of blocks, "
             "(off, prot), (prot, off), …; each `prot` block is `insmod thinvmm.ko`, status, "
             "block, status, `rmmod` (unloading turns translation off again). Slow drift of "
             "the host hits both sides alike, and each pair gives its own ratio.")
    L.append(f"* **Part 2, `prot` then `locked`:** `insmod` (kept); an exit calibration; "
             f"{nlocked} protected blocks; `thinvmm-ctl lock linux-default.bin`; {nlocked} "
             "locked blocks; the calibration again. A lock cannot be undone, so locked blocks "
             "cannot be interleaved; they follow the part-2 protected blocks directly, and "
             "locked/prot compares neighbours in time. The part-2 protected blocks against "
             "part 1's (the same condition, later in the boot) show how much the boot drifted.")
    L.append("* **Exits:** `thinvmm-ctl status --json` before and after every block under "
             "thinvmm (S2 − S1, summed over both CPUs). The calibration window runs the very "
             "same commands with 0 repetitions (the same execs, no I/O): equal counts mean the "
             "I/O itself caused no exit.")
    L.append("")
    L.append("Ratios are of throughput (MiB/s): below 1 means slower with protection.")
    L.append("")

    def throughput_table(tb):
        L.append("| transfer | " + " | ".join(f"`{ph}` median (min–max, n)" for ph in PHASES)
                 + " |")
        L.append("|---|" + "---|" * len(PHASES))
        for key in OPS:
            cells = []
            for ph in PHASES:
                t = tb.get((ph, key))
                cells.append("-" if not t else f"{t['median']:.0f} ({t['min']:.0f}–"
                             f"{t['max']:.0f}, {t['n']})")
            L.append(f"| {OP_TEXT[key]} | " + " | ".join(cells) + " |")
        L.append("")
        L.append("Spread within each phase, (max − min) / median, off/prot1/prot2/locked: "
                 + "; ".join(f"{OP_TEXT[key]} " + "/".join(
                     fmt(tb.get((ph, key), {}).get("spread"), 2) for ph in PHASES)
                             for key in OPS) + ".")
        L.append("")

    def ratio_table(pr, ra):
        L.append("| transfer | prot/off (medians, part 1) | prot/off per pair: median "
                 "(min–max, n) | locked/prot (part 2 neighbours) | locked/off (medians) | "
                 "locked/off chained | drift: prot2/prot1 |")
        L.append("|---|---|---|---|---|---|---|")
        for key in OPS:
            r, p = ra[key], pr.get(key)
            pc = "-" if not p else f"{p['median']:.3f} ({p['min']:.3f}–{p['max']:.3f}, {p['n']})"
            L.append(f"| {OP_TEXT[key]} | {fmt(r['prot_off'], 3)} | {pc} | "
                     f"{fmt(r['locked_prot'], 3)} | {fmt(r['locked_off'], 3)} | "
                     f"{fmt(r['locked_off_chained'], 3)} | {fmt(r['prot2_prot1'], 3)} |")
        L.append("")

    L.append("## 1. Throughput (MiB/s, guest clock) per phase")
    L.append("")
    L.append("Phases: " + "; ".join(f"`{ph}` {PHASE_TEXT[ph]}" for ph in PHASES) + ". Each "
             "cell: median over every repetition of every block of the phase.")
    L.append("")
    if all_contended:
        L.append("**Another QEMU ran on the host during every block of this boot: these times "
                 "are of a contended host (section 5) and compare poorly with other runs.**")
        L.append("")
    elif contended:
        L.append(f"**Without the {len(contended)} blocks during which another QEMU ran on the "
                 f"host** (blocks {', '.join(contended)}; host samples every 2 s, see "
                 "section 5):")
        L.append("")
        throughput_table(ctable)
        L.append("All blocks:")
        L.append("")
    throughput_table(table)

    L.append("## 2. Ratios of throughput")
    L.append("")
    L.append("*prot/off per pair* is the ratio within each counterbalanced pair of part 1 "
             "(block medians), so slow drift cancels. *locked/off chained* = (locked/prot, "
             "part 2) × (prot/off, part 1): each factor compares blocks close in time. "
             "*prot2/prot1* compares the same state early and late in the boot: how far the "
             "host drifted, which the unchained locked/off carries in full. A ratio nearer 1 "
             "than the spreads of section 1 is no measured difference. The CPU control has no "
             "DMA: its prot/off is what running under thinvmm (nested paging in TCG) costs a "
             "memory-bound loop, the part of the disk rows' ratio that is not the IOMMU.")
    L.append("")
    if contended and not all_contended:
        L.append(f"Without the blocks during which another QEMU ran ({', '.join(contended)}):")
        L.append("")
        ratio_table(cpairs, cratios)
        L.append("All blocks:")
        L.append("")
    ratio_table(pairs, ratios)
    if cpu:
        L.append("QEMU's CPU time per block (user + system, all its threads, between the "
                 "block's marks; read by bench/watch.py): "
                 + "; ".join(f"`{ph}` median {med(cpu[ph]):.2f} s ({min(cpu[ph]):.2f}–"
                             f"{max(cpu[ph]):.2f}, {len(cpu[ph])} blocks)"
                             for ph in PHASES if ph in cpu)
                 + (f"; prot1/off {med(cpu['prot1']) / med(cpu['off']):.3f}, locked/prot2 "
                    f"{med(cpu['locked']) / med(cpu['prot2']):.3f}"
                    if all(ph in cpu for ph in PHASES) else "")
                 + ". Each block does the same work (the CPU control included), so this is a "
                 "second, coarser view of the cost, less disturbed by other work on the host.")
        L.append("")

    L.append("## 3. VM exits per block (S2 − S1, both CPUs)")
    L.append("")
    reasons = sorted({k for e in exits for k, v in e["delta"].items() if v})
    L.append("| block | phase | " + " | ".join(reasons) + " | total | dma faults after |")
    L.append("|---|---|" + "---|" * len(reasons) + "---|---|")
    for e in exits:
        L.append(f"| {e['block']} | {e['phase']} | " + " | ".join(
            str(e["delta"].get(k, 0)) for k in reasons) + f" | {e['total']} | "
                 f"{e['dma_faults']} |")
    L.append("")
    io_blocks = [e for e in exits if not e["phase"].startswith("calib")]
    same = {}
    for e in io_blocks:
        cal = calib.get("calib-locked" if e["phase"] == "locked" else "calib-prot")
        same[e["block"]] = cal is not None and cal["delta"] == e["delta"]
    n_same = sum(same.values())
    L.append(f"{n_same} of {len(io_blocks)} I/O blocks have exactly the exits of the calibration "
             "window of their state (the same commands with no I/O): "
             + ("the transfers, about "
                f"{int(reps or 0) * 2 * 2 * int(mib or 0)} MiB of DMA per block, cause **no exit**."
                if io_blocks and n_same == len(io_blocks) else
                "where they differ, the table shows by how much.")
             + " What is there is the measurement's own: one hypercall per status call and "
             "the CPUIDs glibc's start-up runs in every exec (thinvmm-ctl, tvmm-dma-io, sed, tr).")
    L.append("")

    L.append("## 4. The IOMMU's state and the lock")
    L.append("")
    L.append("| snapshot | state | units | table pages | invalidations | faults | lost |")
    L.append("|---|---|---|---|---|---|---|")
    for label in ("2.s0", "p2.s0", "lock.s0", "lock.s1", "final"):
        d = dma.get(label)
        if d:
            L.append(f"| {label} | {d['state']} | {d['units']} | {d['table_pages']} | "
                     f"{d['invalidations']} | {d['faults']} | {d['lost']} |")
    L.append("")
    tp = dma.get("final", {}).get("table_pages")
    L.append(f"* IOTLB invalidations caused by the lock (lock.s1 − lock.s0): **{inv_lock}**; "
             f"after it, to the end: {inv_after}. (Each is one register-based global IOTLB "
             "invalidation per unit; the count restarts at every insmod.)")
    L.append(f"* IOMMU table pages (root, context and second-level tables): **{tp}** "
             f"({(tp or 0) * 4} KiB of the VMM's memory).")
    lk = c["lock"]
    L.append(f"* `thinvmm-ctl lock`: status {lk['rc'] if lk else '?'}, "
             f"{fmt(lk['ns'] / 1e9 if lk else None, 2)} s of guest time (the "
             f"whole command, not broken down); `{lk['text'] if lk else ''}`; afterwards rmmod: "
             f"{c['lockcheck']}.")
    L.append(f"* Events: lock.before `{c['events'].get('lock.before', '-')}`; final "
             f"`{c['events'].get('final', '-')}`.")
    nrec = {lb: len(r) for lb, r in dma_records.items()}
    L.append(f"* Records of kind `dma` in `thinvmm-ctl events --json`: "
             + ", ".join(f"{lb} {n}" for lb, n in nrec.items()) + ".")
    L.append(f"* `thinvmm-ctl status`: " + "; ".join(
        f"{lb}: `{v}`" for lb, v in c["dmastatus"].items()) + ".")
    L.append("")

    L.append("## 5. The host during the boot")
    L.append("")
    L.append("Per block, from the host samples taken during it (±1 s): other QEMUs, the load, "
             "and the host's page cache waiting to be written to its disk (Dirty, Writeback; "
             "the disk images live in that cache).")
    L.append("")
    L.append("| block | phase | wall s | QEMU CPU s | samples | QEMUs running (max, ours included) "
             "| 1-min load (max) | Dirty kB (max) | Writeback kB (max) |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for b in sorted(host, key=lambda x: (not x.isdigit(), int(x) if x.isdigit() else 0, x)):
        h = host[b]
        L.append(f"| {b} | {c['blocks'].get(b, {}).get('phase', '-') if b != 'lock' else 'lock'}"
                 f" | {h['wall_s']:.2f} | {h['qemu_cpu_s']:.2f} | {h.get('samples', 0)} | "
                 f"{h.get('qemus_max', '-')} | {h.get('load1_max', '-')} | "
                 f"{h.get('dirty_kb_max', '-')} | {h.get('writeback_kb_max', '-')} |")
    L.append("")

    L.append("## 6. Problems")
    L.append("")
    if problems:
        L.extend(f"* {p}" for p in problems)
    else:
        L.append("None: every transfer read back what was written, DMA was protected in every "
                 "snapshot under thinvmm, no dma fault or record, the lock took.")
    L.append("")
    L.append("Every transfer is in `dma-svm-qemu-runs.csv`, every status snapshot in "
             "`dma-svm-qemu.json`, the console and the VMM's log in `logs/dma-svm-*`.")
    with open(f"{out}/dma-svm-qemu.md", "w", encoding="utf-8") as f:
        f.write("\n".join(L) + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
