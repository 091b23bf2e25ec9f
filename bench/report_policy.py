#!/usr/bin/env python3
"""Turn the console of a "bench-policy" boot (tests/guest/scenario-bench-policy.sh) into the
policy bench's results: DIR/policy-TAG.md, .json, -runs.csv, -exits.csv.

Usage: report_policy.py --tag svm-qemu|vmx-bochs --meta META --console CONSOLE
                        [--marks MARKS] [--samples HOST_SAMPLES] --out DIR

Started by bench/run-policy.sh. Exit status 1 when the results show a problem (a violation
recorded under the policy, a failed workload run or lock, missing phases); the report is
written anyway and lists the problems.
"""
import argparse
import csv
import json
import re
import statistics
import sys

PHASES = ("off", "nopol", "policy")
EVENTS_RE = re.compile(
    r"policy: (?P<policy>.*?), (?P<rules>\d+) rules, (?P<splits>\d+) nested splits, "
    r"(?P<sites>\d+) jump-label sites, (?P<patches>\d+) patches; violations: (?P<hits>\d+) "
    r"hits in (?P<records>\d+) records")


def read_meta(path):
    meta = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    return meta


def parse_console(path):
    out = {"env": {}, "runs": [], "status": {}, "events": {}, "errors": [], "records": [],
           "lock": None, "lockcheck": None, "net": None, "end": False}
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "replace").replace("\r", "")
    for line in text.split("\n"):
        i = line.find("TVMM-BENCH")
        if i < 0:
            continue
        line = line[i:]
        if line.startswith("TVMM-BENCH-JSON: "):
            rest = line[len("TVMM-BENCH-JSON: "):]
            label, _, js = rest.partition(" ")
            try:
                out["status"][label] = json.loads(js)
            except ValueError:
                out["errors"].append(f"status {label}: unparsable JSON")
            continue
        if line.startswith("TVMM-BENCH-EVENTS: "):
            rest = line[len("TVMM-BENCH-EVENTS: "):]
            label, _, hdr = rest.partition(" ")
            m = EVENTS_RE.search(hdr)
            ev = {"line": hdr}
            if m:
                ev.update({k: (v if k == "policy" else int(v)) for k, v in m.groupdict().items()})
            out["events"][label] = ev
            continue
        if not line.startswith("TVMM-BENCH: "):
            continue
        f = line[len("TVMM-BENCH: "):].split(" ")
        kind = f[0]
        if kind == "env" and len(f) >= 2:
            out["env"][f[1]] = " ".join(f[2:])
        elif kind == "run" and len(f) >= 10:
            def num(s, t=float):
                try:
                    return t(s)
                except ValueError:
                    return None
            out["runs"].append({
                "index": int(f[1]), "phase": f[2], "ns": num(f[3], int), "tsc": num(f[4], int),
                "ok": f[5] == "1", "p1": num(f[6]), "p2": num(f[7]), "p3": num(f[8]),
                "idle_jiffies": num(f[9], int)})
        elif kind == "lock" and len(f) >= 4:
            out["lock"] = {"rc": int(f[1]), "ns": int(f[2]), "tsc": int(f[3]),
                           "output": " ".join(f[4:])}
        elif kind == "lockcheck":
            out["lockcheck"] = " ".join(f[1:])
        elif kind == "net":
            out["net"] = " ".join(f[1:])
        elif kind == "record":
            out["records"].append(" ".join(f[1:]))
        elif kind == "error":
            out["errors"].append(" ".join(f[1:]))
        elif kind == "end":
            out["end"] = True
    return out


def parse_marks(path):
    """INDEX KIND start|end CPU WALL -> {(index, kind): {start: (cpu, wall), end: ...}}"""
    marks = {}
    if not path:
        return marks
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                p = line.split()
                if len(p) == 5:
                    marks.setdefault((p[0], p[1]), {})[p[2]] = (float(p[3]), float(p[4]))
    except OSError:
        pass
    return marks


def parse_samples(path):
    """bench/run-policy.sh's host samples: UPTIME QEMUS BOCHS LOAD1, every 5 s."""
    out = []
    if not path:
        return out
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                p = line.split()
                if len(p) == 4:
                    out.append((float(p[0]), int(p[1]), int(p[2]), float(p[3])))
    except (OSError, ValueError):
        pass
    return out


def exits_sum(st):
    tot = {}
    for c in st.get("cpus", []):
        for r, n in c.get("exits", {}).items():
            tot[r] = tot.get(r, 0) + n
    return tot


def delta(status, a, b):
    if a not in status or b not in status:
        return None
    ea, eb = exits_sum(status[a]), exits_sum(status[b])
    return {r: eb.get(r, 0) - ea.get(r, 0) for r in eb}


def fmt_exits(d):
    if d is None:
        return "–"
    nz = [f"{r} {n}" for r, n in d.items() if n]
    return ", ".join(nz) if nz else "none"


def stats(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    med = statistics.median(xs)
    return {"n": len(xs), "median": med, "min": min(xs), "max": max(xs),
            "spread": (max(xs) - min(xs)) / med if med else 0.0}


def ratio(a, b):
    return a["median"] / b["median"] if a and b and b["median"] else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tag", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--console", required=True)
    ap.add_argument("--marks")
    ap.add_argument("--samples")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    bochs = a.tag.startswith("vmx")
    meta = read_meta(a.meta)
    c = parse_console(a.console)
    marks = parse_marks(a.marks)
    samples = parse_samples(a.samples)
    st, ev = c["status"], c["events"]
    problems = list(f"guest: {e}" for e in c["errors"])

    # Per run: timings and exits.
    prev_patches = (ev.get("lock.after") or {}).get("patches")
    for r in c["runs"]:
        m = marks.get((str(r["index"]), r["phase"]), {})
        r["emu_cpu_s"] = (m["end"][0] - m["start"][0]) if "start" in m and "end" in m else None
        r["host_wall_s"] = (m["end"][1] - m["start"][1]) if "start" in m and "end" in m else None
        r["warmup"] = r["index"] == 0
        r["host"] = None
        if "start" in m and "end" in m and samples:
            w = [x for x in samples if m["start"][1] - 2.5 <= x[0] <= m["end"][1] + 2.5]
            if w:
                r["host"] = {"samples": len(w), "qemus_max": max(x[1] for x in w),
                             "bochs_max": max(x[2] for x in w),
                             "load1_mean": sum(x[3] for x in w) / len(w)}
        r["exits"] = delta(st, f"{r['index']}.s1", f"{r['index']}.s2") if r["phase"] != "off" else None
        r["baseline"] = delta(st, f"{r['index']}.s0", f"{r['index']}.s1") if r["phase"] == "nopol" else None
        if r["phase"] == "policy":
            e = ev.get(str(r["index"]), {})
            r["violations_after"] = e.get("hits")
            r["patches_after"] = e.get("patches")
            r["patches_during"] = (e["patches"] - prev_patches
                                   if e.get("patches") is not None and prev_patches is not None else None)
            prev_patches = e.get("patches", prev_patches)
        if not r["ok"]:
            problems.append(f"run {r['index']} {r['phase']}: the workload failed")
    timed = [r for r in c["runs"] if not r["warmup"]]
    by = {p: [r for r in timed if r["phase"] == p] for p in PHASES}
    for p in PHASES:
        if not by[p]:
            problems.append(f"no timed {p} runs")

    primary = "tsc" if bochs else "ns"
    S = {p: {"primary": stats([r[primary] for r in by[p]]),
             "ns": stats([r["ns"] for r in by[p]]),
             "emu_cpu_s": stats([r["emu_cpu_s"] for r in by[p]]),
             "host_wall_s": stats([r["host_wall_s"] for r in by[p]])} for p in PHASES}
    ratios = {}
    for key in ("primary", "emu_cpu_s") if not bochs else ("primary",):
        ratios[key] = {"nopol/off": ratio(S["nopol"][key], S["off"][key]),
                       "policy/nopol": ratio(S["policy"][key], S["nopol"][key]),
                       "policy/off": ratio(S["policy"][key], S["off"][key])}

    # Exits: per phase, the median per reason over the timed runs.
    reasons = []
    for r in timed:
        for k in (r["exits"] or {}):
            if k not in reasons:
                reasons.append(k)
    med_exits = {}
    for p in ("nopol", "policy"):
        med_exits[p] = {k: statistics.median([(r["exits"] or {}).get(k, 0) for r in by[p]])
                        for k in reasons} if by[p] else {}

    # Lock, memory, nested map, violations.
    def snap(label):
        s = st.get(label)
        if not s:
            return None
        return {"mem_used": s.get("mem_used"), "mem_total": s.get("mem_total"),
                "locked": s.get("locked"), **s.get("nested", {})}
    snaps = {k: snap(k) for k in ("lock.s0", "lock.s1", "final")}
    evs = {k: ev.get(k) for k in ("lock.before", "lock.after", "final")}
    if c["lock"] is None or c["lock"]["rc"] != 0:
        problems.append(f"lock failed: {c['lock']}")
    if c["lockcheck"] != "rmmod-refused":
        problems.append("the lock was not shown to hold (rmmod not refused)")
    viol = [(k, e.get("hits")) for k, e in ev.items() if k not in ("lock.before",)]
    for k, h in viol:
        if h is None:
            problems.append(f"events {k}: no violations count read")
        elif h != 0:
            problems.append(f"events {k}: {h} violation(s) recorded under the policy")
    if not c["end"]:
        problems.append("the scenario did not reach its end (boot cut short?)")
    lock_exits = delta(st, "lock.s0", "lock.s1")
    net_exits = delta(st, "net.s1", "net.s2")

    # ---- files ----
    base = f"{a.out}/policy-{a.tag}"
    with open(base + ".json", "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "env": c["env"], "runs": c["runs"], "stats": S,
                   "ratios": ratios, "median_exits": med_exits, "lock": c["lock"],
                   "lockcheck": c["lockcheck"], "net": c["net"], "net_exits": net_exits,
                   "lock_exits": lock_exits, "snapshots": snaps, "events": ev,
                   "records": c["records"], "problems": problems, "status_raw": st},
                  f, indent=1, sort_keys=True)
    with open(base + "-runs.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["index", "phase", "warmup", "ok", "guest_ns", "tsc_delta", "emu_cpu_s",
                    "host_wall_s", "phase1_s", "phase2_s", "phase3_s", "idle_jiffies"])
        for r in c["runs"]:
            w.writerow([r["index"], r["phase"], int(r["warmup"]), int(r["ok"]), r["ns"], r["tsc"],
                        "" if r["emu_cpu_s"] is None else f"{r['emu_cpu_s']:.2f}",
                        "" if r["host_wall_s"] is None else f"{r['host_wall_s']:.3f}",
                        r["p1"], r["p2"], r["p3"], r["idle_jiffies"]])
    with open(base + "-exits.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["index", "phase", "window", "reason", "exits"])
        for r in c["runs"]:
            for win in ("exits", "baseline"):
                for k, n in (r.get(win) or {}).items():
                    w.writerow([r["index"], r["phase"], "S2-S1" if win == "exits" else "S1-S0", k, n])
        for name, d in (("lock", lock_exits), ("net", net_exits)):
            for k, n in (d or {}).items():
                w.writerow(["", name, "s1-s0" if name == "lock" else "s2-s1", k, n])

    # ---- markdown ----
    L = []
    add = L.append
    if bochs:
        add("# thinvmm's default Linux policy on Intel VT-x + EPT in Bochs: measurements\n")
    else:
        add("# thinvmm's default Linux policy on AMD SVM + NPT in QEMU TCG: measurements\n")
    add("Written by `bench/run-policy.sh" + (" -b" if bochs else "") + "` (see [bench/README.md]"
        "(../README.md), section \"The default policy\"). Measurements, not assertions. "
        + ("**Bochs counts instructions: the slowdown below is a ratio of instructions executed "
           "(guest and VMM), not of time.**" if bochs else
           "**QEMU TCG is an emulator: times are emulated time on this host, and ratios are not "
           "a prediction for real hardware.**") + "\n")
    add("| | |\n|---|---|")
    for k, label in (("date", "date (UTC)"), ("git_commit", "git commit"),
                     ("git_describe", "git describe"), ("git_dirty_files", "uncommitted files"),
                     ("thinvmm_ko_sha256", "thinvmm.ko sha256"),
                     ("policy_bin_sha256", "linux-default.bin sha256"), ("emulator", "emulator"),
                     ("machine", "machine"), ("kernel_version", "guest kernel"),
                     ("host_cpu", "host CPU"), ("host_ncpus", "host CPUs"),
                     ("host_loadavg_start", "host load average, start"),
                     ("host_loadavg_end", "host load average, end"),
                     ("host_load1_mean", "host 1-min load during the boot, mean"),
                     ("host_load1_max", "host 1-min load during the boot, max"),
                     ("emulators_running_max", "emulators of this kind running at once, max (ours is one)"),
                     ("qemus_running_max", "QEMUs running at once, max (ours included in a QEMU run)"),
                     ("bochs_running_max", "Bochs running at once, max (ours included in a Bochs run)"),
                     ("boot_seconds", "boot wall time (s)"), ("boot_status", "boot status")):
        if k in meta:
            add(f"| {label} | `{meta[k]}` |")
    s0 = st.get("lock.s0") or next(iter(st.values()), {})
    add(f"| VMM version / backend | `{s0.get('version', '?')}` / `{s0.get('backend', '?')}` |")
    add(f"| guest clock source | `{c['env'].get('clocksource', '?')}` |")
    add("")
    add("**Order of the runs.** In one boot: " + ("one untimed warm-up run without thinvmm, then "
        if any(r["warmup"] for r in c["runs"]) else "")
        + f"{len(by['off'])} runs without thinvmm (`off`) and {len(by['nopol'])} with thinvmm "
        "loaded but no policy (`nopol`), alternating in counterbalanced pairs (off,nopol),"
        "(nopol,off),…; then `thinvmm-ctl lock /opt/thinvmm/linux-default.bin`; then "
        f"{len(by['policy'])} runs under the policy (`policy`). **The policy runs come last and are "
        "not counterbalanced**: a lock cannot be undone (`rmmod` is refused after it, and the "
        "scenario checks that it is), so the only way to interleave them would be a reboot per "
        "run, which changes more than the policy. Any drift of the host's speed or of the "
        "guest's state (page cache, slab) over the boot lands entirely on the policy side. "
        "A `nopol` run is `insmod`, status S0, S1, workload, S2, `rmmod`; a `policy` run is "
        "status S1, workload, S2, `thinvmm-ctl events` with the module loaded and locked "
        "throughout. Exits are S2 − S1 summed over the CPUs; the window also holds the "
        "measurement's own execs (the `tr` printing S1, two clock stamps, S2's `thinvmm-ctl`: "
        "CPUIDs) and S2's one STATUS hypercall, alike in both phases.\n")

    add("## 1. VM exits during the workload, by reason\n")
    shown = [k for k in reasons if any(med_exits[p].get(k) for p in med_exits)]
    add("| run | phase | " + " | ".join(shown) + " | jump-label patches in the run | violations after |")
    add("|---|---|" + "---:|" * len(shown) + "---:|---:|")
    for r in timed:
        if r["phase"] == "off":
            continue
        e = r["exits"] or {}
        pd = r.get("patches_during")
        add(f"| {r['index']} | {r['phase']} | " + " | ".join(str(e.get(k, 0)) for k in shown)
            + f" | {'–' if pd is None else pd} | {r.get('violations_after', '–') if r['phase'] == 'policy' else '–'} |")
    for p in ("nopol", "policy"):
        if med_exits.get(p):
            add(f"| **median** | **{p}** | " + " | ".join(f"**{med_exits[p].get(k, 0):g}**" for k in shown)
                + " | | |")
    add("")
    extra = {k: med_exits["policy"].get(k, 0) - med_exits["nopol"].get(k, 0)
             for k in reasons} if med_exits.get("policy") and med_exits.get("nopol") else {}
    if extra:
        add("What the policy adds per workload run (median policy − median nopol): "
            + (", ".join(f"{k} {v:+g}" for k, v in extra.items() if v) or "nothing") + ".\n")
    add("The exits the policy intercepts, for reading the table: `cr_access` (CR0/CR4 writes: "
        "pinned WP, SMEP/SMAP/UMIP), `msr_write` (LSTAR, CSTAR, STAR, SFMASK, SYSENTER_*, EFER), "
        "`dt_access` (LIDT/LGDT), `npf` (writes to the protected kernel text, rodata and IDT; "
        "the kernel's own jump-label patches are such writes, which the VMM checks against the "
        "site table and performs: one exit each).\n")
    add("| window | exits |\n|---|---|")
    add(f"| the lock: status S0 → S1 around `thinvmm-ctl events` + `thinvmm-ctl lock` | {fmt_exits(lock_exits)} |")
    bl = [r["baseline"] for r in by["nopol"] if r["baseline"]]
    if bl:
        add(f"| one `thinvmm-ctl status --json` call, no policy (S1 − S0 of the first nopol run) | {fmt_exits(bl[0])} |")
    if net_exits is not None:
        pl = [r.get("patches_after") for r in by["policy"] if r.get("patches_after") is not None]
        fin = (ev.get("final") or {}).get("patches")
        npat = f"; jump-label patches applied meanwhile: {fin - pl[-1]}" if pl and fin is not None else ""
        add(f"| untimed 1 MiB over loopback TCP under the policy (`tvmm_net_io`: httpd + wget), plus one status call | {fmt_exits(net_exits)} ({c['net']}{npat}) |")
    add("")

    add("## 2. Guest slowdown\n")
    if bochs:
        add("Primary measure: **instructions** between the workload's two stamps (the TSC, which in "
            "Bochs with `clock: sync=none` advances one tick per instruction, exit and REP "
            "iteration; see bench/README.md, VT-x section). Idle jiffies in the window should be "
            "0 (an idling CPU adds ten ticks per idle-loop pass).\n")
        cols = [("primary", "instructions (TSC Δ)", "{:,.0f}")]
    else:
        add("Guest CLOCK_MONOTONIC over the workload (seconds) and QEMU's CPU time (user + "
            "system of the whole process between the marks; includes about a second of idle "
            "guest at each end, which costs QEMU almost nothing).\n")
        cols = [("primary", "guest s", None), ("emu_cpu_s", "QEMU CPU s", "{:.2f}")]
    hdr = "| run | phase | " + " | ".join(c_[1] for c_ in cols) + " | phase s (hash+gzip / 500 exec / dd) | idle jiffies | host wall s | host: QEMUs / Bochs running, load1 |"
    add(hdr)
    add("|---|---|" + "---:|" * len(cols) + "---|---:|---:|---|")

    def fv(key, v):
        if v is None:
            return "–"
        if key == "primary" and not bochs:
            return f"{v / 1e9:.3f}"
        fmt = dict((k, f_) for k, _, f_ in cols)[key]
        return fmt.format(v)
    for r in c["runs"]:
        vals = {"primary": r[primary], "emu_cpu_s": r["emu_cpu_s"]}
        add(f"| {r['index']}{' (warm-up)' if r['warmup'] else ''} | {r['phase']} | "
            + " | ".join(fv(k, vals[k]) for k, _, _ in cols)
            + f" | {r['p1']} / {r['p2']} / {r['p3']} | {r['idle_jiffies']} | "
            + ("–" if r["host_wall_s"] is None else f"{r['host_wall_s']:.1f}") + " | "
            + ("–" if not r["host"] else f"{r['host']['qemus_max']} / {r['host']['bochs_max']}, "
               f"{r['host']['load1_mean']:.2f}") + " |")
    add("")
    add("| phase | measure | n | median | min | max | spread (max−min)/median |")
    add("|---|---|---:|---:|---:|---:|---:|")
    for p in PHASES:
        for k, name, _ in cols:
            s = S[p][k]
            if s:
                add(f"| {p} | {name} | {s['n']} | {fv(k, s['median'])} | {fv(k, s['min'])} | "
                    f"{fv(k, s['max'])} | {s['spread'] * 100:.1f} % |")
    add("")
    add("**Ratios of the medians:**\n")
    add("| measure | nopol / off | policy / nopol | policy / off |")
    add("|---|---:|---:|---:|")
    for k, name, _ in cols:
        rr = ratios.get(k, {})
        add(f"| {name} | " + " | ".join("–" if rr.get(x) is None else f"{rr[x]:.4f}" if bochs else f"{rr[x]:.3f}"
                                        for x in ("nopol/off", "policy/nopol", "policy/off")) + " |")
    add("")
    if not bochs:
        add("TCG timings on a shared 2-core host are noisy (bench/README.md, Caveats): a "
            "difference smaller than the spread within a phase is not a result. The exit counts "
            "above are exact.\n")
    else:
        d = (S["policy"]["primary"]["median"] - S["nopol"]["primary"]["median"]) if S["policy"]["primary"] and S["nopol"]["primary"] else None
        if d is not None:
            add(f"policy − nopol: {d:+,.0f} instructions per workload run (median vs median).\n")
            if extra and not any(extra.values()):
                sp = max((S[p]["primary"]["max"] - S[p]["primary"]["min"]) for p in ("off", "nopol"))
                add("The policy adds no exit to the workload (section 1), and in Bochs EPT walks and "
                    "TLB misses cost no instruction, so the difference is not thinvmm's exit path. "
                    f"It is {'larger' if abs(d) > sp else 'no larger'} than the spread within the "
                    f"off or nopol phase ({sp:,.0f}); the policy runs are the last in the boot (not "
                    "counterbalanced), so a drift of the guest's own state over the boot cannot be "
                    "told apart from an effect of the lock here. Not explained yet.\n")

    add("## 3. The lock: nested-page splits, table memory, VMM memory\n")
    add("| | before the lock | after the lock | at the end |")
    add("|---|---:|---:|---:|")
    keys = [("mem_used", "VMM memory used (KiB)", 1024), ("mem_total", "VMM memory total (KiB)", 1024),
            ("table_pages", "nested table pages", None), ("leaves_1g", "nested leaves 1 GiB", None),
            ("leaves_2m", "nested leaves 2 MiB", None), ("leaves_4k", "nested leaves 4 KiB", None)]
    for k, name, div in keys:
        row = []
        for s in ("lock.s0", "lock.s1", "final"):
            v = (snaps[s] or {}).get(k)
            row.append("–" if v is None else f"{v // div}" if div else str(v))
        add(f"| {name} | " + " | ".join(row) + " |")
    for k, name in (("splits", "nested splits"), ("sites", "jump-label sites"),
                    ("patches", "jump-label patches applied"), ("rules", "rules"),
                    ("hits", "violations (hits)"), ("records", "violation records")):
        row = []
        for s in ("lock.before", "lock.after", "final"):
            v = (evs[s] or {}).get(k)
            row.append("–" if v is None else str(v))
        add(f"| {name} | " + " | ".join(row) + " |")
    add("")
    sa, sb = snaps["lock.s0"], snaps["lock.s1"]
    if sa and sb:
        dt = sb.get("table_pages", 0) - sa.get("table_pages", 0)
        dm = (sb.get("mem_used", 0) - sa.get("mem_used", 0))
        add(f"The lock added **{dt} nested table pages ({dt * 4} KiB)** and raised the VMM's "
            f"memory in use by **{dm // 1024} KiB** ({dm} bytes: the new table pages plus the "
            "policy's own state, including the jump-label site table).")
        sites = (evs["lock.after"] or {}).get("sites")
        if sites:
            rest = dm - dt * 4096
            add(f" Beyond the table pages that is {rest} bytes, {rest / sites:.1f} bytes per "
                f"jump-label site ({sites} sites).")
        if c["lock"]:
            lk = c["lock"]
            add(f" `thinvmm-ctl lock` itself: exit status {lk['rc']}, "
                + (f"{lk['tsc']:,} instructions" if bochs else f"{lk['ns'] / 1e6:.1f} ms guest time")
                + f"; it said: `{lk['output']}`. Probably most of that is the guest's own work: "
                "`thinvmm-ctl lock` resolves each of the policy's symbols by reading "
                "/proc/kallsyms (loader/linux/thinvmm-ctl.c), and the lock window caused only "
                f"{fmt_exits(lock_exits)} exits (not measured separately).")
        add("\n")
    if c["records"]:
        add("Violation records:\n\n```\n" + "\n".join(c["records"]) + "\n```\n")
    add("## Problems\n")
    add("\n".join(f"* {p}" for p in problems) if problems else
        "None: every run finished, the lock held, and **0 violations** were recorded under the "
        "policy (the `events` summary after each policy run and at the end).")
    add("")
    with open(base + ".md", "w", encoding="utf-8") as f:
        f.write("\n".join(L))
    for p in problems:
        print(f"report_policy.py: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
