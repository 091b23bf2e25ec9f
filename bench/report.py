#!/usr/bin/env python3
"""Turn the guest consoles of bench/run.sh's boots into bench/results/.

Usage: report.py --meta META.txt --boot NAME=CONSOLE.log [--boot ...]
                 [--cputime NAME=CPUTIME.txt ...] --out DIR

Reads the lines tests/guest/scenario-bench.sh prints:
  TVMM-BENCH: env KEY VALUE...
  TVMM-BENCH: run IDX off|on NS OK PHASE1 PHASE2 PHASE3
  TVMM-BENCH: modline IDX thinvmm SIZE
  TVMM-BENCH: cpuid|fork K off|on N NS
  TVMM-BENCH: error TEXT
  TVMM-BENCH-JSON: LABEL {thinvmm-ctl status --json}
plus bench/watch.py's QEMU CPU times at the guest's "mark" lines, and writes
DIR/svm-qemu.{md,json}, DIR/svm-qemu-runs.csv, DIR/svm-qemu-exits.csv.
Standard library only.
"""
import argparse
import csv
import json
import re
import statistics
import sys

LINE = re.compile(r"TVMM-BENCH(-JSON)?: (.*)$")


def parse_console(path):
    boot = {"env": {}, "runs": [], "status": {}, "modline": {}, "cpuid": [], "fork": [], "errors": [],
            "end": False}
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            m = LINE.search(raw.rstrip("\r\n"))
            if not m:
                continue
            body = m.group(2)
            if m.group(1):  # JSON status snapshot
                label, _, js = body.partition(" ")
                try:
                    boot["status"][label] = json.loads(js)
                except json.JSONDecodeError as e:
                    boot["errors"].append(f"status {label}: unparsable JSON ({e})")
                continue
            f_ = body.split()
            if not f_:
                continue
            kind = f_[0]
            if kind == "env" and len(f_) >= 2:
                boot["env"][f_[1]] = " ".join(f_[2:])
            elif kind == "run" and len(f_) >= 5:
                def num(x):
                    try:
                        return float(x)
                    except ValueError:
                        return None
                boot["runs"].append({
                    "index": int(f_[1]), "kind": f_[2], "ns": int(f_[3]), "ok": f_[4] == "1",
                    "warmup": int(f_[1]) == 0,
                    "phase_sha_gzip_s": num(f_[5]) if len(f_) > 5 else None,
                    "phase_fork_exec_s": num(f_[6]) if len(f_) > 6 else None,
                    "phase_dd_s": num(f_[7]) if len(f_) > 7 else None,
                })
            elif kind in ("cpuid", "fork") and len(f_) >= 5:
                boot[kind].append({"k": int(f_[1]), "kind": f_[2], "n": int(f_[3]),
                                   "ns": int(f_[4])})
            elif kind == "modline" and len(f_) >= 4:
                boot["modline"][f_[1]] = int(f_[3])
            elif kind == "error":
                boot["errors"].append(" ".join(f_[1:]))
            elif kind == "end":
                boot["end"] = True
    return boot


def read_cputime(path, runs):
    """Add cpu_s (QEMU process CPU seconds from start mark to end mark) to each run."""
    marks = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                p = line.split()
                if len(p) >= 4:
                    marks[(int(p[0]), p[1], p[2])] = float(p[3])
    except OSError:
        return False
    for r in runs:
        a, b = marks.get((r["index"], r["kind"], "start")), marks.get((r["index"], r["kind"], "end"))
        r["cpu_s"] = None if a is None or b is None else b - a
    return True


def exits_by_reason(snap):
    """{cpu: {reason: count}} from one status snapshot."""
    return {c["cpu"]: dict(c["exits"]) for c in snap["cpus"]}


def delta(a, b):
    """Per-reason exits from snapshot a to snapshot b, summed over CPUs (CPUs new in b count from 0)."""
    ea, eb = exits_by_reason(a), exits_by_reason(b)
    out = {}
    for cpu, reasons in eb.items():
        for r, n in reasons.items():
            out[r] = out.get(r, 0) + n - ea.get(cpu, {}).get(r, 0)
    return out


def stats(xs):
    if not xs:
        return None
    med = statistics.median(xs)
    return {
        "n": len(xs), "median": med, "mean": statistics.fmean(xs), "min": min(xs), "max": max(xs),
        "stdev": statistics.stdev(xs) if len(xs) > 1 else 0.0,
        "spread_pct": 100.0 * (max(xs) - min(xs)) / med if med else None,
    }


def memory(snap):
    n = snap["nested"]
    covered = (n["leaves_1g"] << 30) + (n["leaves_2m"] << 21) + (n["leaves_4k"] << 12)
    return {
        "mem_total": snap["mem_total"], "mem_used": snap["mem_used"],
        "nested_table_pages": n["table_pages"], "nested_table_bytes": n["table_pages"] * 4096,
        "leaves_1g": n["leaves_1g"], "leaves_2m": n["leaves_2m"], "leaves_4k": n["leaves_4k"],
        "nested_covered_bytes": covered,
    }


def analyse(name, boot):
    res = {"name": name, "env": boot["env"], "errors": list(boot["errors"]), "end": boot["end"]}
    st = boot["status"]
    runs = boot["runs"]
    for r in runs:
        if not r["ok"]:
            res["errors"].append(f"run {r['index']} {r['kind']}: workload reported a failure")
    timed = [r for r in runs if not r["warmup"] and r["ok"]]
    off = [r["ns"] / 1e9 for r in timed if r["kind"] == "off"]
    on = [r["ns"] / 1e9 for r in timed if r["kind"] == "on"]
    res["runs"] = runs
    res["time_off"] = stats(off)
    res["time_on"] = stats(on)
    coff = [r["cpu_s"] for r in timed if r["kind"] == "off" and r.get("cpu_s") is not None]
    con = [r["cpu_s"] for r in timed if r["kind"] == "on" and r.get("cpu_s") is not None]
    if coff and con:
        res["cpu_off"], res["cpu_on"] = stats(coff), stats(con)
        res["cpu_ratio_of_medians"] = res["cpu_on"]["median"] / res["cpu_off"]["median"]
    if off and on:
        res["ratio_of_medians"] = res["time_on"]["median"] / res["time_off"]["median"]
        # Counterbalanced pairs: (2k-1, 2k) hold one off and one on run each.
        by_idx = {r["index"]: r for r in timed}
        pairs = []
        for k in range(1, max(by_idx) + 1, 2):
            a, b = by_idx.get(k), by_idx.get(k + 1)
            if a and b and {a["kind"], b["kind"]} == {"off", "on"}:
                o = a if a["kind"] == "off" else b
                n = a if a["kind"] == "on" else b
                pr = {"pair": (k + 1) // 2, "off_s": o["ns"] / 1e9, "on_s": n["ns"] / 1e9,
                      "ratio": n["ns"] / o["ns"], "order": f"{a['kind']},{b['kind']}"}
                if o.get("cpu_s") and n.get("cpu_s"):
                    pr["cpu_ratio"] = n["cpu_s"] / o["cpu_s"]
                pairs.append(pr)
        res["pairs"] = pairs
        res["pair_ratio"] = stats([p["ratio"] for p in pairs])
        res["pair_cpu_ratio"] = stats([p["cpu_ratio"] for p in pairs if "cpu_ratio" in p])
    phases = {}
    for kind in ("off", "on"):
        for ph in ("phase_sha_gzip_s", "phase_fork_exec_s", "phase_dd_s"):
            xs = [r[ph] for r in timed if r["kind"] == kind and r[ph] is not None]
            phases[f"{kind}.{ph}"] = statistics.median(xs) if xs else None
    res["phase_medians"] = phases

    # Exit deltas of each "on" run: baseline S1-S0 (one status call), workload S2-S1.
    ex = []
    for r in runs:
        if r["kind"] != "on":
            continue
        i = str(r["index"])
        s0, s1, s2 = st.get(f"{i}.s0"), st.get(f"{i}.s1"), st.get(f"{i}.s2")
        if not (s0 and s1 and s2):
            res["errors"].append(f"run {i} on: missing status snapshots")
            continue
        ex.append({"index": r["index"], "warmup": r["warmup"], "baseline": delta(s0, s1),
                   "workload": delta(s1, s2)})
    res["exits"] = ex
    cal = {}
    if all(f"cal.s{k}" in st for k in range(4)):
        cal = {"status_call": delta(st["cal.s0"], st["cal.s1"]),
               "idle_5s": delta(st["cal.s1"], st["cal.s2"]),
               "exec_100_true": delta(st["cal.s2"], st["cal.s3"])}
        if "cal.s4" in st:
            cal["cpuid_loops_on"] = delta(st["cal.s3"], st["cal.s4"])
        if "cal.s5" in st:
            cal["fork_loops_on"] = delta(st["cal.s4"], st["cal.s5"])
    else:
        res["errors"].append("calibration snapshots missing")
    res["calibration"] = cal
    res["cpuid_loops"] = boot["cpuid"]
    per = {k: [c["ns"] / c["n"] for c in boot["cpuid"] if c["kind"] == k] for k in ("off", "on")}
    if per["off"] and per["on"]:
        res["cpuid_ns_off"] = stats(per["off"])
        res["cpuid_ns_on"] = stats(per["on"])
        res["exit_cost_ns"] = res["cpuid_ns_on"]["median"] - res["cpuid_ns_off"]["median"]
    res["fork_loops"] = boot["fork"]
    perf = {k: [c["ns"] / c["n"] for c in boot["fork"] if c["kind"] == k] for k in ("off", "on")}
    if perf["off"] and perf["on"]:
        res["fork_ns_off"] = stats(perf["off"])
        res["fork_ns_on"] = stats(perf["on"])
        res["fork_ratio"] = res["fork_ns_on"]["median"] / res["fork_ns_off"]["median"]

    snaps = [s for s in st.values()]
    if snaps:
        mems = [memory(s) for s in snaps]
        res["memory"] = mems[0]
        res["memory_constant"] = all(m == mems[0] for m in mems)
        res["memory_max_used"] = max(m["mem_used"] for m in mems)
        res["n_snapshots"] = len(mems)
        res["vmm_version"] = snaps[0].get("version")
        res["cpus_virtualized"] = snaps[0].get("virtualized")
    res["module_size"] = next(iter(boot["modline"].values()), None)
    return res


def nz(d):
    return {k: v for k, v in d.items() if v}


def fmt_reasons(d):
    d = nz(d)
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items(), key=lambda kv: -kv[1])) or "none"


def kib(b):
    return f"{b / 1024:g} KiB"


def write_md(path, meta, boots):
    b1 = boots.get("mem1g")
    L = []
    w = L.append
    w("# thinvmm on AMD SVM + NPT in QEMU TCG: measurements")
    w("")
    w("Written by `bench/run.sh` (see [bench/README.md](../README.md) for what each number means "
      "and how to reproduce it). **QEMU TCG is an emulator: every time below is emulated time on "
      "this host, and ratios are ratios of emulated time, not a prediction for real hardware.**")
    w("")
    w("| | |")
    w("|---|---|")
    for k, label in [("date", "date (UTC)"), ("git_commit", "git commit"),
                     ("git_describe", "git describe"), ("git_dirty_files", "uncommitted files in the tree"),
                     ("thinvmm_ko_sha256", "thinvmm.ko sha256"), ("qemu_version", "QEMU"),
                     ("kernel_version", "guest kernel"), ("host_cpu", "host CPU"),
                     ("host_ncpus", "host CPUs"), ("host_loadavg_start", "host load average, start"),
                     ("host_loadavg_end", "host load average, end"),
                     ("waited_seconds", "waited for an idle host (s)"),
                     ("other_qemu_samples", "samples (every 5 s) with another QEMU running"),
                     ("host_load1_mean", "host 1-min load average during the boots, mean"),
                     ("host_load1_max", "host 1-min load average during the boots, max"),
                     ("total_seconds", "bench/run.sh wall time (s)")]:
        if k in meta:
            w(f"| {label} | `{meta[k]}` |")
    if b1:
        w(f"| VMM version (from status) | `{b1.get('vmm_version')}` |")
        w(f"| guest clock source / timer | {b1['env'].get('clocksource')} / {b1['env'].get('timer')} |")
    w("")
    w("QEMU: `-M q35 -accel tcg -cpu max -smp 2`, `-m 1G` (boot 1: exits, timing, memory) and "
      "`-m 4G` (boot 2: memory, exits). The guest is the Debian kernel above with the e2e busybox "
      "initramfs; thinvmm is loaded with its defaults (`mem_mb=4`, log on COM2).")
    w("")

    errs = [(n, e) for n, b in boots.items() for e in b["errors"]]
    if errs:
        w("**Problems during the run:**")
        w("")
        for n, e in errs:
            w(f"- {n}: {e}")
        w("")

    if b1:
        # 1. exits
        w("## 1. VM exits during the workload (1 GiB guest)")
        w("")
        w("`tvmm_workload` (tests/guest/lib.sh): 4 MiB from /dev/urandom, sha256, gzip|gunzip round "
          "trip, 500 fork/exec of /bin/true, 20000 one-byte `dd` syscalls. Each \"on\" run: "
          "`insmod`, status S0, status S1, clock, workload, clock, status S2, `rmmod`. "
          "Deltas are summed over both CPUs.")
        w("")
        reasons = sorted({r for e in b1["exits"] for part in ("baseline", "workload")
                          for r, v in e[part].items() if v})
        w("| run | " + " | ".join(f"workload {r}" for r in reasons) + " | baseline (S1−S0) |")
        w("|---|" + "---:|" * len(reasons) + "---|")
        for e in b1["exits"]:
            tag = f"{e['index']}" + (" (warm-up)" if e["warmup"] else "")
            w(f"| {tag} | " + " | ".join(str(e["workload"].get(r, 0)) for r in reasons)
              + f" | {fmt_reasons(e['baseline'])} |")
        w("")
        timed_ex = [e for e in b1["exits"] if not e["warmup"]]
        if timed_ex:
            w("Median over the timed runs: " + ", ".join(
                f"{r} {statistics.median([e['workload'].get(r, 0) for e in timed_ex]):g}"
                for r in reasons) + ".")
            w("")
        cal = b1.get("calibration") or {}
        if cal:
            w("Calibration in the same boot (exits summed over CPUs):")
            w("")
            w("| what | exits |")
            w("|---|---|")
            w(f"| one `thinvmm-ctl status --json` call (cal S1−S0) | {fmt_reasons(cal['status_call'])} |")
            w(f"| `sleep 5` idle, plus one status call | {fmt_reasons(cal['idle_5s'])} |")
            w(f"| 100 × fork/exec `/bin/true`, plus one status call | {fmt_reasons(cal['exec_100_true'])} |")
            if "cpuid_loops_on" in cal:
                nl = len([c for c in b1["cpuid_loops"] if c["kind"] == "on"])
                n1 = b1["cpuid_loops"][0]["n"] if b1["cpuid_loops"] else 0
                w(f"| {nl} × a loop of {n1} CPUIDs (its own three execs), plus one status call | "
                  f"{fmt_reasons(cal['cpuid_loops_on'])} |")
            if "fork_loops_on" in cal and b1.get("fork_loops"):
                nl = len([c for c in b1["fork_loops"] if c["kind"] == "on"])
                n1 = b1["fork_loops"][0]["n"]
                w(f"| {nl} × {n1} forks without exec (subshells; two clock execs each), plus one "
                  f"status call | {fmt_reasons(cal['fork_loops_on'])} |")
            w("")
            per_exec = (cal["exec_100_true"].get("cpuid", 0) - cal["status_call"].get("cpuid", 0)) / 100
            w(f"So one exec of a static binary (busybox and the tools here are static glibc) "
              f"costs about **{per_exec:g} CPUID exits**: glibc's start-up probes the CPU's "
              "features and cache geometry with CPUID. An idle guest causes none beyond that "
              "(the `sleep` row is one status call plus one exec): timer interrupts, HLT, I/O "
              "and MSRs other than EFER/VM_CR/VM_HSAVE_PA/SVM_KEY are not intercepted.")
            w("")
            if timed_ex:
                wl = statistics.median([e["workload"].get("cpuid", 0) for e in timed_ex])
                base = cal["status_call"].get("cpuid", 0)
                own = base + 2 * per_exec
                w(f"Reading the workload's numbers: S2−S1 also holds the measurement itself — "
                  f"the `tr` that prints S1, two clock reads and S2's `timeout` + `thinvmm-ctl` "
                  f"start-up, {base:g} + 2 × {per_exec:g} = {own:g} CPUIDs, and the one "
                  f"**hypercall**, which is S2's own STATUS call (`/dev/thinvmm` → VMMCALL). "
                  f"That leaves {wl - own:g} CPUIDs for the workload itself, about "
                  f"{(wl - own) / per_exec:.0f} execs' worth (500 × `/bin/true` plus the "
                  f"`dd`, `sha256sum`, `gzip`, … of the other phases).")
                others = sorted({r for e in b1["exits"] for r, v in e["workload"].items()
                                 if v and r not in ("cpuid", "hypercall")})
                w("")
                w("Exit reasons other than CPUID and that hypercall: "
                  + (", ".join(others) if others else "**none** (no MSR, NPF, CR, exception, "
                     "INIT or other exits in any run)") + ".")
                w("")
    # 2. timing
    if b1 and b1.get("time_off") and b1.get("time_on"):
        w("## 2. Guest slowdown (1 GiB guest, same boot)")
        w("")
        w("Wall time of one `tvmm_workload` on the guest's CLOCK_MONOTONIC (clock source "
          f"{b1['env'].get('clocksource')}), without thinvmm (off) and with it (on), in "
          "counterbalanced pairs (off,on), (on,off), … after one untimed warm-up of each.")
        w("")
        w("| run | side | guest seconds | QEMU CPU seconds | sha256+gzip s | 500 fork/exec s | dd s |")
        w("|---:|---|---:|---:|---:|---:|---:|")
        for r in b1["runs"]:
            tag = f"{r['index']}" + (" (warm-up)" if r["warmup"] else "")
            def p(x):
                return "—" if x is None else f"{x:.2f}"
            w(f"| {tag} | {r['kind']} | {r['ns'] / 1e9:.3f} | {p(r.get('cpu_s'))} | "
              f"{p(r['phase_sha_gzip_s'])} | "
              f"{p(r['phase_fork_exec_s'])} | {p(r['phase_dd_s'])} |")
        w("")
        to, tn = b1["time_off"], b1["time_on"]
        w("| | n | median s | min s | max s | stdev s | spread (max−min)/median |")
        w("|---|---:|---:|---:|---:|---:|---:|")
        rows = [("guest time, off", to), ("guest time, on", tn)]
        if b1.get("cpu_off"):
            rows += [("QEMU CPU time, off", b1["cpu_off"]), ("QEMU CPU time, on", b1["cpu_on"])]
        for lab, s in rows:
            w(f"| {lab} | {s['n']} | {s['median']:.3f} | {s['min']:.3f} | {s['max']:.3f} | "
              f"{s['stdev']:.3f} | {s['spread_pct']:.1f} % |")
        w("")
        w(f"**Ratio of medians on/off: {b1['ratio_of_medians']:.3f}** "
          f"({100 * (b1['ratio_of_medians'] - 1):+.1f} %).")
        pr = b1.get("pair_ratio")
        if pr:
            w(f"Per-pair ratios: median {pr['median']:.3f}, range {pr['min']:.3f}–{pr['max']:.3f} "
              f"({', '.join('%.3f' % p['ratio'] for p in b1['pairs'])}).")
        if b1.get("cpu_ratio_of_medians"):
            pc = b1.get("pair_cpu_ratio")
            w("")
            w(f"**QEMU CPU time, ratio of medians on/off: {b1['cpu_ratio_of_medians']:.3f}** "
              f"({100 * (b1['cpu_ratio_of_medians'] - 1):+.1f} %)"
              + (f"; per pair: median {pc['median']:.3f}, range {pc['min']:.3f}–{pc['max']:.3f}"
                 if pc else "") + ". "
              "This is the user + system time of the whole QEMU process between the guest's "
              "start and end marks (bench/watch.py, 10 ms ticks, plus about a second of idling "
              "guest on each side of the window): how much host CPU the emulation needed. It "
              "is immune to QEMU being descheduled, but not to other work slowing the shared "
              "cores and caches down (this host may itself be a VM), so compare its spread with "
              "the guest clock's before trusting either.")
        if b1.get("exit_cost_ns") is not None and b1.get("exits"):
            co, cn = b1["cpuid_ns_off"], b1["cpuid_ns_on"]
            nloop = b1["cpuid_loops"][0]["n"]
            w("")
            w(f"**What one exit costs here.** A loop of {nloop} CPUIDs (calibration, same boot), "
              f"timed {co['n']} times without thinvmm and {cn['n']} times with it: "
              f"{co['median'] / 1000:.2f} µs per CPUID without (range "
              f"{co['min'] / 1000:.2f}–{co['max'] / 1000:.2f}), {cn['median'] / 1000:.2f} µs with "
              f"(range {cn['min'] / 1000:.2f}–{cn['max'] / 1000:.2f}), so one CPUID exit and "
              f"its handling cost about **{b1['exit_cost_ns'] / 1000:.1f} µs of emulated time**.")
            timed_ex = [e for e in b1["exits"] if not e["warmup"]]
            if timed_ex:
                nex = statistics.median([sum(e["workload"].values()) for e in timed_ex])
                pred = nex * b1["exit_cost_ns"] / 1e9
                diff = b1["time_on"]["median"] - b1["time_off"]["median"]
                cdiff = ""
                if b1.get("cpu_on"):
                    cdiff = (f" (QEMU CPU time: {b1['cpu_on']['median'] - b1['cpu_off']['median']:.2f} s)")
                w(f"The workload's {nex:g} exits at that price make {pred:.2f} s; the guest-time "
                  f"medians differ by {diff:.2f} s{cdiff}. The loop is the best case for an exit "
                  "under TCG: its working set is a few pages, so refilling QEMU's software TLB "
                  "after each world switch is cheap. In the fork/exec phase the working set is "
                  "large and every refill is a two-dimensional (guest × nested) walk, so "
                  f"{pred:.2f} s is a lower bound for what the exits cost there; the rest of any "
                  "difference beyond the noise is nested paging as TCG emulates it.")
        if b1.get("fork_ratio"):
            fo, fn = b1["fork_ns_off"], b1["fork_ns_on"]
            n1 = b1["fork_loops"][0]["n"]
            w("")
            w(f"**Nested paging alone.** {n1} forks without exec (shell subshells: no CPUID, no "
              f"exits), timed {fo['n']} times without and {fn['n']} times with thinvmm: "
              f"{fo['median'] / 1e6:.2f} ms per fork without (range {fo['min'] / 1e6:.2f}–"
              f"{fo['max'] / 1e6:.2f}), {fn['median'] / 1e6:.2f} ms with (range "
              f"{fn['min'] / 1e6:.2f}–{fn['max'] / 1e6:.2f}): ratio **{b1['fork_ratio']:.3f}**. "
              "With no exits in the loop, what this ratio shows beyond the noise is the price of "
              "TCG's emulated nested paging for a load that builds and tears down address "
              "spaces.")
            if b1.get("exit_cost_ns") is not None and b1.get("time_on"):
                timed_ex = [e for e in b1["exits"] if not e["warmup"]]
                nex = statistics.median([sum(e["workload"].values()) for e in timed_ex]) if timed_ex else 0
                diff = b1["time_on"]["median"] - b1["time_off"]["median"]
                if nex and diff > 0:
                    w("")
                    w(f"Taken together: the workload's guest-time difference, {diff:.2f} s over "
                      f"{nex:g} exits, is {1e6 * diff / nex:.0f} µs per exit, against "
                      f"{b1['exit_cost_ns'] / 1000:.1f} µs for an exit in the tight loop. An exit "
                      "inside real code costs QEMU more than the world switch itself: `VMRUN` "
                      "and `#VMEXIT` each load a new CR3, and TCG flushes its whole software TLB "
                      "on every CR3 load (it has no ASID tagging), so after each of the ~34 "
                      "CPUIDs of an exec the process refills its TLB page by page, each miss a "
                      "two-dimensional walk. That is a plausible reading, not a measured "
                      "breakdown; real hardware keeps TLB entries across world switches (ASIDs).")
        ph = b1["phase_medians"]
        if ph.get("off.phase_fork_exec_s") and ph.get("on.phase_fork_exec_s"):
            w("")
            w("Median phase times (tvmm_workload's own /proc/uptime stamps, 10 ms resolution): "
              f"sha256+gzip {ph['off.phase_sha_gzip_s']:.2f} → {ph['on.phase_sha_gzip_s']:.2f} s, "
              f"500 fork/exec {ph['off.phase_fork_exec_s']:.2f} → {ph['on.phase_fork_exec_s']:.2f} s, "
              f"dd {ph['off.phase_dd_s']:.2f} → {ph['on.phase_dd_s']:.2f} s (off → on).")
        w("")
        busy = []
        try:
            if float(meta.get("host_load1_max", "0")) >= 1.5:
                busy.append(f"the host's 1-minute load average reached {meta['host_load1_max']} "
                            f"(mean {meta.get('host_load1_mean')}) on 2 CPUs, so other work "
                            "competed with QEMU's two vCPU threads")
        except ValueError:
            pass
        if not meta.get("other_qemu_samples", "0").startswith("0 "):
            busy.append(f"another QEMU ran during {meta['other_qemu_samples']} samples")
        if busy:
            w("**Caution: " + "; ".join(busy) + ". Treat the times and the ratio as noise-"
              "dominated.**")
            w("")
        w("TCG timing is noisy: the spread column above is the run-to-run variation on one side "
          "alone; a difference between the sides smaller than that spread means nothing. "
          "Under TCG a guest exit is not cheap the way it is in silicon: QEMU emulates every "
          "`VMRUN`/`#VMEXIT` in software (saving and loading the VMCB state and reloading CR3, "
          "which flushes its whole software TLB), and with NPT every software-TLB miss is a "
          "two-dimensional walk of the guest's and the nested page tables. Both costs are artefacts of emulation and say little about hardware.")
        w("")
    # 3. memory
    w("## 3. VMM memory")
    w("")
    w("| guest RAM | guest MemTotal | VMM mem_total | VMM mem_used | nested table pages | nested table memory | leaves 1G / 2M / 4K | guest-physical space mapped | loader module (/proc/modules) |")
    w("|---|---:|---:|---:|---:|---:|---|---:|---:|")
    for n, label in (("mem1g", "1 GiB (`-m 1G`)"), ("mem4g", "4 GiB (`-m 4G`)")):
        b = boots.get(n)
        if not b or "memory" not in b:
            continue
        m = b["memory"]
        mt = b["env"].get("memtotal_kb")
        w(f"| {label} | {mt} KiB | {kib(m['mem_total'])} | {kib(m['mem_used'])} | "
          f"{m['nested_table_pages']} | {kib(m['nested_table_bytes'])} | "
          f"{m['leaves_1g']} / {m['leaves_2m']} / {m['leaves_4k']} | "
          f"{m['nested_covered_bytes'] / 2**30:g} GiB | "
          f"{kib(b['module_size']) if b.get('module_size') else '—'} |")
    w("")
    w("`mem_total` is what the loader gave the VMM (`mem_mb=4`: two 2 MiB chunks), `mem_used` "
      "what the VMM has allocated from it (its image, stacks, VMCBs, host and nested page "
      "tables, log ring). The nested map is an identity map of the CPU's whole guest-physical "
      "address space "
      f"(`address sizes: {(boots.get('mem1g') or boots.get('mem4g') or {}).get('env', {}).get('address_sizes', '?')}`), "
      "not of RAM, so its size does not depend on how much RAM the guest has: 1 GiB leaves "
      "everywhere except the one 1 GiB region holding the VMM's chunks, split into 2 MiB leaves "
      "with the chunks left out.")
    w("")
    for n in ("mem1g", "mem4g"):
        b = boots.get(n)
        if b and "memory" in b:
            w(f"- {n}: the values above were {'identical in all' if b['memory_constant'] else 'NOT identical across the'} "
              f"{b['n_snapshots']} status snapshots of the boot "
              f"(largest mem_used {kib(b['memory_max_used'])}); guest RAM ranges: "
              f"`{b['env'].get('iomem_ram', '').rstrip(',')}`.")
    b4 = boots.get("mem4g")
    if b4 and b4.get("exits"):
        e = b4["exits"][0]
        w(f"- mem4g, one workload under thinvmm: {fmt_reasons(e['workload'])} "
          f"(baseline status call: {fmt_reasons(e['baseline'])}); "
          f"time {next((r['ns'] / 1e9 for r in b4['runs'] if r['kind'] == 'on'), 0):.3f} s.")
    w("")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(L))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meta", required=True)
    ap.add_argument("--boot", action="append", required=True, help="NAME=CONSOLE.log")
    ap.add_argument("--cputime", action="append", default=[], help="NAME=CPUTIME.txt")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    meta = {}
    with open(a.meta, encoding="utf-8") as f:
        for line in f:
            k, sep, v = line.rstrip("\n").partition("=")
            if sep:
                meta[k] = v
    boots, raw = {}, {}
    for spec in a.boot:
        name, _, path = spec.partition("=")
        raw[name] = parse_console(path)
    for spec in a.cputime:
        name, _, path = spec.partition("=")
        if name in raw and not read_cputime(path, raw[name]["runs"]):
            print(f"report.py: warning: no QEMU CPU times in {path}", file=sys.stderr)
    for name in raw:
        boots[name] = analyse(name, raw[name])
    out = a.out.rstrip("/")
    with open(f"{out}/svm-qemu.json", "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "boots": boots,
                   "status_snapshots": {n: r["status"] for n, r in raw.items()}},
                  f, indent=1, sort_keys=True)
        f.write("\n")
    with open(f"{out}/svm-qemu-runs.csv", "w", newline="", encoding="utf-8") as f:
        cw = csv.writer(f)
        cw.writerow(["boot", "index", "side", "warmup", "seconds", "qemu_cpu_s", "ok",
                     "sha256_gzip_s", "fork_exec_s", "dd_s"])
        for n, b in boots.items():
            for r in b["runs"]:
                cpu = r.get("cpu_s")
                cw.writerow([n, r["index"], r["kind"], int(r["warmup"]), f"{r['ns'] / 1e9:.6f}",
                             "" if cpu is None else f"{cpu:.2f}", int(r["ok"]), r["phase_sha_gzip_s"], r["phase_fork_exec_s"],
                             r["phase_dd_s"]])
    with open(f"{out}/svm-qemu-exits.csv", "w", newline="", encoding="utf-8") as f:
        cw = csv.writer(f)
        cw.writerow(["boot", "what", "index", "warmup", "reason", "exits"])
        for n, b in boots.items():
            for e in b["exits"]:
                for part in ("workload", "baseline"):
                    for r, v in sorted(e[part].items()):
                        cw.writerow([n, part, e["index"], int(e["warmup"]), r, v])
            for part, d in (b.get("calibration") or {}).items():
                for r, v in sorted(d.items()):
                    cw.writerow([n, "cal_" + part, "", "", r, v])
    write_md(f"{out}/svm-qemu.md", meta, boots)
    bad = [e for b in boots.values() for e in b["errors"]] + \
        [f"{n}: scenario did not finish" for n, b in boots.items() if not b["end"]]
    for e in bad:
        print(f"report.py: warning: {e}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
