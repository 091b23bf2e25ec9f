#!/usr/bin/env python3
"""Turn the guest consoles of bench/run.sh's boots into bench/results/.

Usage: report.py --meta META.txt --boot NAME=CONSOLE.log [--boot ...]
                 [--cputime NAME=CPUTIME.txt ...] --out DIR
       report.py --vmx --meta META.txt --boot bochs=CONSOLE.log [--cputime bochs=MARKS.txt]
                 --out DIR

The second form is bench/run-vmx.sh's (VT-x in Bochs, tests/guest/scenario-bench-vmx.sh):
it writes DIR/vmx-bochs.{md,json}, DIR/vmx-bochs-runs.csv and DIR/vmx-bochs-exits.csv; see
"VMX mode" below. The first form is bench/run.sh's (SVM in QEMU):

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


# --- VMX mode: bench/run-vmx.sh, thinvmm's VT-x backend in Bochs ------------------------------
#
# Console lines of tests/guest/scenario-bench-vmx.sh:
#   TVMM-BENCH: env KEY VALUE...
#   TVMM-BENCH: run IDX off|on NS TSC_DELTA OK PHASE1 PHASE2 PHASE3
#   TVMM-BENCH: spin|cpuid|exec|fork K off|on N NS TSC_DELTA
#   TVMM-BENCH: window LABEL off|on IDLE_ENTRIES IDLE_JIFFIES LOC_IRQS OTHER_IRQS
#   TVMM-BENCH: modline IDX thinvmm SIZE / error TEXT / end
#   TVMM-BENCH-JSON: LABEL {thinvmm-ctl status --json}
# and bench/watch.py's marks (INDEX KIND start|end BOCHS_CPU_S HOST_MONOTONIC_S).
# In Bochs the TSC is the tick counter: one tick per instruction (see the scenario's header),
# so TSC deltas are instruction counts.


def _int_or_none(x):
    try:
        return int(x)
    except ValueError:
        return None


def _float_or_none(x):
    try:
        return float(x)
    except ValueError:
        return None


def parse_console_vmx(path):
    boot = {"env": {}, "runs": [], "status": {}, "modline": {}, "loops": [], "windows": {},
            "errors": [], "end": False}
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            m = LINE.search(raw.rstrip("\r\n"))
            if not m:
                continue
            body = m.group(2)
            if m.group(1):
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
            elif kind == "run" and len(f_) >= 6:
                boot["runs"].append({
                    "index": int(f_[1]), "kind": f_[2], "ns": int(f_[3]), "tsc": int(f_[4]),
                    "ok": f_[5] == "1", "warmup": int(f_[1]) == 0,
                    "phase_sha_gzip_s": _float_or_none(f_[6]) if len(f_) > 6 else None,
                    "phase_fork_exec_s": _float_or_none(f_[7]) if len(f_) > 7 else None,
                    "phase_dd_s": _float_or_none(f_[8]) if len(f_) > 8 else None,
                })
            elif kind in ("spin", "cpuid", "exec", "fork") and len(f_) >= 6:
                boot["loops"].append({"what": kind, "k": int(f_[1]), "kind": f_[2], "n": int(f_[3]),
                                      "ns": int(f_[4]), "tsc": int(f_[5])})
            elif kind == "window" and len(f_) >= 6:
                boot["windows"][(f_[1], f_[2])] = {
                    "idle_entries": _int_or_none(f_[3]), "idle_jiffies": _int_or_none(f_[4]),
                    "loc_irqs": _int_or_none(f_[5]),
                    "other_irqs": _int_or_none(f_[6]) if len(f_) > 6 else None}
            elif kind == "modline" and len(f_) >= 4:
                boot["modline"][f_[1]] = int(f_[3])
            elif kind == "error":
                boot["errors"].append(" ".join(f_[1:]))
            elif kind == "end":
                boot["end"] = True
    return boot


def read_marks_vmx(path):
    """{(index, kind): (bochs_cpu_s, wall_s)} from bench/watch.py's marks, start to end."""
    marks = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                p = line.split()
                if len(p) >= 5:
                    marks[(p[0], p[1], p[2])] = (float(p[3]), float(p[4]))
    except OSError:
        return {}
    out = {}
    for (i, k, se), v in marks.items():
        if se == "start" and (i, k, "end") in marks:
            e = marks[(i, k, "end")]
            out[(int(i), k)] = (e[0] - v[0], e[1] - v[1])
    return out


def analyse_vmx(boot, meta, marks):
    env = boot["env"]
    res = {"env": env, "errors": list(boot["errors"]), "end": boot["end"]}
    ips = int(meta.get("bochs_ips", "200000000"))
    tsc_mhz = _float_or_none(env.get("tsc_khz", "") or "")  # the scenario prints MHz
    m = (re.search(r"Refined TSC clocksource calibration: ([0-9.]+) MHz", env.get("tsc_dmesg", ""))
         or (None if tsc_mhz else re.search(r"Detected ([0-9.]+) MHz processor",
                                            env.get("tsc_dmesg", ""))))
    if m:
        tsc_mhz = float(m.group(1))
    res["ips"] = ips
    res["tsc_mhz_kernel"] = tsc_mhz
    win = boot["windows"]

    # 1. The clock: spin loops of exactly 2N instructions.
    spins = []
    for lp in boot["loops"]:
        if lp["what"] != "spin":
            continue
        w = win.get((f"spin.{lp['k']}", lp["kind"]), {})
        exp = 2 * lp["n"]
        spins.append(dict(lp, expected=exp, excess=lp["tsc"] - exp,
                          excess_rel=(lp["tsc"] - exp) / exp, **w,
                          tsc_per_ns=lp["tsc"] / lp["ns"] if lp["ns"] else None,
                          ips_formula=lp["ns"] * ips / 1e9))
    res["spins"] = spins
    off_sp = [s_ for s_ in spins if s_["kind"] == "off"]
    if off_sp:
        res["spin_tsc_stats"] = stats([s_["tsc"] for s_ in off_sp])
        res["spin_ns_stats"] = stats([s_["ns"] for s_ in off_sp])
        res["tsc_per_ns"] = stats([s_["tsc_per_ns"] for s_ in off_sp])
        per_irq = [s_["excess"] / s_["loc_irqs"] for s_ in off_sp if s_.get("loc_irqs")]
        res["spin_excess_per_timer_irq"] = stats(per_irq) if per_irq else None

    # 2. The workload.
    runs = boot["runs"]
    for r in runs:
        if not r["ok"]:
            res["errors"].append(f"run {r['index']} {r['kind']}: workload reported a failure")
        r.update(win.get((str(r["index"]), r["kind"]), {}))
        cw = marks.get((r["index"], r["kind"]))
        r["bochs_cpu_s"], r["wall_s"] = cw if cw else (None, None)
    res["runs"] = runs
    timed = [r for r in runs if not r["warmup"] and r["ok"]]
    for side in ("off", "on"):
        xs = [r for r in timed if r["kind"] == side]
        res[f"tsc_{side}"] = stats([r["tsc"] for r in xs])
        res[f"ns_{side}"] = stats([r["ns"] for r in xs])
        walls = [r["wall_s"] for r in xs if r.get("wall_s")]
        res[f"wall_{side}"] = stats(walls) if walls else None
        res[f"idle_{side}"] = [r.get("idle_entries") for r in xs]
    if res.get("tsc_off") and res.get("tsc_on"):
        res["tsc_diff"] = res["tsc_on"]["median"] - res["tsc_off"]["median"]
        res["tsc_ratio"] = res["tsc_on"]["median"] / res["tsc_off"]["median"]

    # Exits of each "on" run: baseline S1-S0 (one status call), workload S2-S1.
    st = boot["status"]
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
               "idle_sleep": delta(st["cal.s1"], st["cal.s2"]),
               "exec_100_true": delta(st["cal.s2"], st["cal.s3"])}
        if "cal.s4" in st:
            cal["cpuid_loops_on"] = delta(st["cal.s3"], st["cal.s4"])
        if "cal.s5" in st:
            cal["spin_loops_on"] = delta(st["cal.s4"], st["cal.s5"])
    else:
        res["errors"].append("calibration snapshots missing")
    res["calibration"] = cal

    # 3. CPUID loops: instructions per CPUID, off and on.
    cl = []
    for lp in boot["loops"]:
        if lp["what"] != "cpuid":
            continue
        w = win.get((f"cpuidt.{lp['k']}", lp["kind"]), {})
        cl.append(dict(lp, per_cpuid_tsc=lp["tsc"] / lp["n"], per_cpuid_ns=lp["ns"] / lp["n"], **w))
    res["cpuid_loops"] = cl
    per = {k: [c["per_cpuid_tsc"] for c in cl if c["kind"] == k] for k in ("off", "on")}
    pns = {k: [c["per_cpuid_ns"] for c in cl if c["kind"] == k] for k in ("off", "on")}
    if per["off"] and per["on"]:
        res["cpuid_tsc_off"], res["cpuid_tsc_on"] = stats(per["off"]), stats(per["on"])
        res["cpuid_ns_off"], res["cpuid_ns_on"] = stats(pns["off"]), stats(pns["on"])
        res["insn_per_exit"] = res["cpuid_tsc_on"]["median"] - res["cpuid_tsc_off"]["median"]
        dns = res["cpuid_ns_on"]["median"] - res["cpuid_ns_off"]["median"]
        res["insn_per_exit_ns_ips"] = dns * ips / 1e9
        if tsc_mhz:
            res["insn_per_exit_ns_tsckhz"] = dns * tsc_mhz / 1e3
        # the range of the difference, worst cases both ways
        res["insn_per_exit_range"] = (min(per["on"]) - max(per["off"]),
                                      max(per["on"]) - min(per["off"]))
        # interrupts only ever add instructions: the smallest loops are the least disturbed
        res["insn_per_exit_min"] = min(per["on"]) - min(per["off"])

    # Exec and fork loops (shell loops, stamped like the workload).
    for what in ("exec", "fork"):
        ls_ = []
        for lp in boot["loops"]:
            if lp["what"] != what:
                continue
            w = win.get((f"{what}.{lp['k']}", lp["kind"]), {})
            ls_.append(dict(lp, per_tsc=lp["tsc"] / lp["n"], **w))
        res[f"{what}_loops"] = ls_
        pp = {k: [x["per_tsc"] for x in ls_ if x["kind"] == k] for k in ("off", "on")}
        if pp["off"] and pp["on"]:
            res[f"{what}_off"], res[f"{what}_on"] = stats(pp["off"]), stats(pp["on"])
            res[f"{what}_diff"] = res[f"{what}_on"]["median"] - res[f"{what}_off"]["median"]
            res[f"{what}_diff_min"] = min(pp["on"]) - min(pp["off"])

    # How much of the workload's difference the exits explain.
    timed_ex = [e for e in ex if not e["warmup"]]
    if timed_ex and cal and res.get("insn_per_exit") is not None and res.get("tsc_diff") is not None:
        per_exec = (cal["exec_100_true"].get("cpuid", 0) - cal["status_call"].get("cpuid", 0)) / 100
        wl_all = statistics.median([sum(e["workload"].values()) for e in timed_ex])
        wl_cpuid = statistics.median([e["workload"].get("cpuid", 0) for e in timed_ex])
        outside = sum(cal["status_call"].values()) + per_exec  # S1's tr, stamp 1, S2's timeout+ctl, hypercall
        inside = wl_all - outside
        if res.get("exec_diff") is not None and per_exec:
            # the price of one exit where the workload's exits are: in an exec's start-up
            res["insn_per_exit_exec"] = res["exec_diff"] / per_exec
            res["insn_per_exit_exec_min"] = res["exec_diff_min"] / per_exec
        res["model"] = {"per_exec_cpuid": per_exec, "workload_exits_median": wl_all,
                        "workload_cpuid_median": wl_cpuid, "exits_outside_window": outside,
                        "exits_in_window": inside,
                        "predicted_diff": inside * res["insn_per_exit"],
                        "predicted_diff_exec": (inside * res["insn_per_exit_exec"]
                                                if res.get("insn_per_exit_exec") else None),
                        "implied_insn_per_exit": res["tsc_diff"] / inside if inside > 0 else None}

    snaps = list(st.values())
    if snaps:
        mems = [memory(x) for x in snaps]
        res["memory"] = mems[0]
        res["memory_constant"] = all(mm == mems[0] for mm in mems)
        res["memory_max_used"] = max(mm["mem_used"] for mm in mems)
        res["n_snapshots"] = len(mems)
        res["vmm_version"] = snaps[0].get("version")
        res["backend"] = snaps[0].get("backend")
    res["module_size"] = next(iter(boot["modline"].values()), None)
    return res


def _mi(x):
    """Instructions in millions, 3 decimals."""
    return "—" if x is None else f"{x / 1e6:,.3f}"


def _n(x):
    return "—" if x is None else f"{x:,}"


def write_md_vmx(path, meta, b):
    L = []
    w = L.append
    ips = b["ips"]
    tmhz = b.get("tsc_mhz_kernel")
    w("# thinvmm on Intel VT-x (EPT + VPID) in Bochs: instruction counts")
    w("")
    w("Written by `bench/run-vmx.sh` (see [bench/README.md](../README.md) for how it measures and "
      "how to reproduce it). **Bochs is an emulator: what it measures exactly is instructions, "
      "not time.** Every count below is what Bochs's CPU executed; nothing here is a prediction "
      "of the time thinvmm costs on real Intel hardware, where an exit costs cycles that no "
      "instruction count shows.")
    w("")
    w("| | |")
    w("|---|---|")
    rows = [("date", "date (UTC)"), ("git_commit", "git commit"), ("git_describe", "git describe"),
            ("git_dirty_files", "uncommitted files in the tree"),
            ("thinvmm_ko_sha256", "thinvmm.ko sha256"), ("bochs_version", "Bochs (Debian package)"),
            ("bochs_model", "Bochs CPU model"), ("bochs_ips", "Bochs `ips`"),
            ("bochs_cpus", "emulated CPUs"), ("bochs_megs", "guest RAM (MiB)"),
            ("kernel_version", "guest kernel"), ("host_cpu", "host CPU"), ("host_ncpus", "host CPUs"),
            ("host_loadavg_start", "host load average, start"),
            ("host_loadavg_end", "host load average, end"),
            ("other_bochs_start", "Bochs processes already running at the start (not ours)"),
            ("bochs_running_max", "Bochs processes running, most seen (ours included)"),
            ("boot_seconds", "Bochs boot, wall time (s)"),
            ("total_seconds", "bench/run-vmx.sh wall time (s)")]
    for k, label in rows:
        if k in meta:
            w(f"| {label} | `{meta[k]}` |")
    env = b["env"]
    w(f"| VMM version / backend (from status) | `{b.get('vmm_version')}` / `{b.get('backend')}` |")
    w(f"| guest CPU (as the guest sees it) | {env.get('cpu_model')} |")
    w(f"| guest clock source | {env.get('clocksource')} (available: {env.get('clocksources')}) |")
    w(f"| guest kernel's TSC frequency | {tmhz} MHz (`{env.get('tsc_dmesg', '').rstrip(';')}`) |")
    w(f"| guest cpuidle | driver {env.get('cpuidle_driver')}, states `{env.get('cpuidle', '').strip()}` |")
    w("")

    errs = list(b["errors"]) + ([] if b["end"] else ["the scenario did not finish"])
    if errs:
        w("**Problems during the run:**")
        w("")
        for e in errs:
            w(f"- {e}")
        w("")

    # 0. The clock.
    w("## 0. What the clocks count")
    w("")
    w("With `clock: sync=none` Bochs's time is its tick counter, which advances by one per "
      "instruction executed (each iteration of a REP string instruction and each exception or VM "
      "exit counts one, too) and by ten per pass of its idle loop while the CPU halts; `ips` "
      f"({ips:,}) is only how many ticks make one second for the emulated PIT, HPET, RTC and APIC "
      "timer. Bochs's RDTSC returns that tick counter as it is. So the TSC difference across a "
      "window in which the CPU never halts is the **exact number of instructions** executed in "
      "it, all of them: the program's, the guest kernel's (interrupts, page faults, system "
      "calls) and, with thinvmm loaded, the VMM's. The bench reads the TSC directly "
      "(`tvmm-bench-clock`, RDTSC is not intercepted) and checks for every window that the CPU "
      "did not idle.")
    w("")
    if b.get("spins"):
        w(f"The check: a loop of exactly 2 × N instructions (`dec; jnz`, N = "
          f"{b['spins'][0]['n']:,}), timed by the TSC and by the guest's CLOCK_MONOTONIC:")
        w("")
        w("| loop | side | expected instructions | TSC delta | excess | LOC timer IRQs | other IRQs | idle entries | guest ns | ns × ips / 1e9 | TSC / ns |")
        w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for s_ in b["spins"]:
            w(f"| spin {s_['k']} | {s_['kind']} | {_n(s_['expected'])} | {_n(s_['tsc'])} | "
              f"{_n(s_['excess'])} ({100 * s_['excess_rel']:.3f} %) | {_n(s_.get('loc_irqs'))} | "
              f"{_n(s_.get('other_irqs'))} | "
              f"{_n(s_.get('idle_entries'))} | {_n(s_['ns'])} | {_n(round(s_['ips_formula']))} | "
              f"{s_['tsc_per_ns']:.4f} |")
        w("")
        ts = b.get("spin_tsc_stats")
        if ts:
            w(f"- Repeatability: the three runs without thinvmm differ by at most "
              f"{_n(round(ts['max'] - ts['min']))} ticks "
              f"({100 * (ts['max'] - ts['min']) / ts['median']:.4f} % of the loop). The loop "
              "itself is the same every time; what varies is the handful of timer interrupts "
              "that land in it"
              + (f", about {b['spin_excess_per_timer_irq']['median']:,.0f} instructions each "
                 "(excess ÷ LOC interrupts)" if b.get("spin_excess_per_timer_irq") else "")
              + ".")
        tpn = b.get("tsc_per_ns")
        if tpn:
            r = tpn["median"] * 1e9 / ips  # 1.0 when the guest's clock runs at ips ticks/s
            w(f"- The guest's clock: {tpn['median']:.5f} TSC ticks per guest nanosecond (range "
              f"{tpn['min']:.5f}–{tpn['max']:.5f}): the guest kernel converts ticks to time at "
              f"{tpn['median'] * 1e3:.3f} MHz; its TSC frequency, from its log, is {tmhz} MHz; "
              f"`ips` is {ips / 1e6:g} MHz.")
            if abs(r - 1) < 0.001:
                w(f"  They agree (within {100 * abs(r - 1):.3f} %), so here **guest nanoseconds "
                  "× ips / 1e9 = instructions** holds, up to the guest's clock resolution and "
                  "the idle check. That is thanks to `tsc_early_khz=IPS/1000` on the kernel "
                  "command line (tests/e2e/bochs.sh): without it Linux takes 3.5 GHz from "
                  f"CPUID leaves 0x15/0x16 of `{meta.get('bochs_model')}` and its clock runs "
                  "17.5× slow, so that `guest seconds × ips` undercounts instructions 17.5-fold. "
                  "This report counts with the TSC itself either way.")
            else:
                w(f"  They do **not** agree: the kernel believes a TSC frequency that is not the "
                  f"rate at which Bochs's TSC advances (`ips` ticks per emulated second), so the "
                  f"guest's clock runs {r:.3f}× slow against Bochs's timers and `guest seconds "
                  f"× ips` would undercount instructions by that factor (column \"ns × ips / "
                  f"1e9\"); instructions from guest time are guest ns × {tpn['median']:.6f}. "
                  "(For corei7_skylake_x Linux takes 3.5 GHz from CPUID leaves 0x15/0x16 unless "
                  "told `tsc_early_khz`.) This report counts with the TSC itself.")
        w("")

    # 1. Exits.
    w("## 1. VM exits during the workload")
    w("")
    w("`tvmm_workload` (tests/guest/lib.sh), unchanged: 4 MiB from /dev/urandom, sha256, "
      "gzip|gunzip round trip; 500 fork/exec of /bin/true; 20000 one-byte `dd` copies. Each "
      "\"on\" run: `insmod`, status S0, status S1, stamp, workload, stamp, status S2, `rmmod`. "
      "One CPU.")
    w("")
    ex = b["exits"]
    reasons = sorted({r for e in ex for part in ("baseline", "workload")
                      for r, v in e[part].items() if v})
    if ex:
        w("| run | " + " | ".join(f"workload {r}" for r in reasons) + " | baseline (S1−S0) |")
        w("|---|" + "---:|" * len(reasons) + "---|")
        for e in ex:
            tag = f"{e['index']}" + (" (warm-up)" if e["warmup"] else "")
            w(f"| {tag} | " + " | ".join(str(e["workload"].get(r, 0)) for r in reasons)
              + f" | {fmt_reasons(e['baseline'])} |")
        w("")
        timed_ex = [e for e in ex if not e["warmup"]]
        if timed_ex:
            w("Median over the timed runs: " + ", ".join(
                f"{r} {statistics.median([e['workload'].get(r, 0) for e in timed_ex]):g}"
                for r in reasons) + ".")
            w("")
        others = sorted({r for e in ex for r, v in e["workload"].items()
                         if v and r not in ("cpuid", "hypercall")})
        w("Exit reasons other than CPUID and the hypercall of S2's own status call: "
          + (", ".join(others) if others else "**none** (no MSR, EPT violation, CR, exception, "
             "INIT or other exits in any run)") + ".")
        w("")
    cal = b.get("calibration") or {}
    if cal:
        w("Calibration in the same boot, under thinvmm:")
        w("")
        w("| what | exits |")
        w("|---|---|")
        w(f"| one `thinvmm-ctl status --json` call (cal S1−S0) | {fmt_reasons(cal['status_call'])} |")
        w(f"| `sleep 0.2` idle, plus one status call | {fmt_reasons(cal['idle_sleep'])} |")
        w(f"| 100 × fork/exec `/bin/true`, plus one status call | {fmt_reasons(cal['exec_100_true'])} |")
        if "cpuid_loops_on" in cal:
            non = len([c for c in b["cpuid_loops"] if c["kind"] == "on"])
            n1 = b["cpuid_loops"][0]["n"] if b["cpuid_loops"] else 0
            w(f"| {non} × a loop of {n1:,} CPUIDs (and its exec), plus one status call | "
              f"{fmt_reasons(cal['cpuid_loops_on'])} |")
        if "spin_loops_on" in cal:
            nsp = len([s_ for s_ in b["spins"] if s_["kind"] == "on"])
            nex = [x for x in b.get("exec_loops") or [] if x["kind"] == "on"]
            nfk = [x for x in b.get("fork_loops") or [] if x["kind"] == "on"]
            what = f"{nsp} × the spin loop"
            if nex:
                what += f", {len(nex)} × {nex[0]['n']} fork/exec"
            if nfk:
                what += f", {len(nfk)} × {nfk[0]['n']} forks without exec"
            w(f"| {what} (and their stamps' execs), plus one status call | "
              f"{fmt_reasons(cal['spin_loops_on'])} |")
        w("")
        mdl = b.get("model")
        if mdl:
            w(f"One exec of a static glibc binary costs about **{mdl['per_exec_cpuid']:g} CPUID "
              "exits** (glibc's start-up probing the CPU); idling costs none (HLT/MWAIT, timer "
              "interrupts and I/O are not intercepted).")
            w("")

    # 2. Instructions.
    w("## 2. Instructions executed by the workload, without and with thinvmm")
    w("")
    w("TSC delta (= instructions) from the stamp before the workload to the stamp after it, "
      "which includes the second stamp's own exec. \"idle\" is how often the CPU entered an idle "
      "state inside the window (cpuidle usage counters; must be 0 for the TSC delta to be "
      "instructions only), \"LOC\" the local timer interrupts in it, \"other IRQs\" the "
      "rest of /proc/interrupts. Wall and Bochs CPU seconds are host time between the run's "
      "marks (bench/watch.py), for scale only.")
    w("")
    w("| run | side | instructions (M) | guest clock s | idle entries | idle jiffies | LOC IRQs | other IRQs | sha256+gzip M | 500 fork/exec M | dd M | wall s | Bochs CPU s |")
    w("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in b["runs"]:
        tag = f"{r['index']}" + (" (warm-up)" if r["warmup"] else "")

        def ph(x):
            # tvmm_workload's /proc/uptime phases: 10 ms of guest clock
            return "—" if x is None or not tmhz else f"{x * tmhz:,.0f}"

        def hs(x):
            return "—" if x is None else f"{x:.1f}"
        w(f"| {tag} | {r['kind']} | {_mi(r['tsc'])} | {r['ns'] / 1e9:.4f} | {_n(r.get('idle_entries'))} | "
          f"{_n(r.get('idle_jiffies'))} | {_n(r.get('loc_irqs'))} | {_n(r.get('other_irqs'))} | "
          f"{ph(r['phase_sha_gzip_s'])} | "
          f"{ph(r['phase_fork_exec_s'])} | {ph(r['phase_dd_s'])} | {hs(r.get('wall_s'))} | "
          f"{hs(r.get('bochs_cpu_s'))} |")
    w("")
    w("(Phase columns: tvmm_workload's own /proc/uptime stamps, 10 ms of guest clock = "
      f"{(tmhz or 0) * 1e4 / 1e6:,.0f} M instructions resolution, converted with the kernel's TSC "
      "frequency.)")
    w("")
    to, tn = b.get("tsc_off"), b.get("tsc_on")
    if to and tn:
        w("| timed runs | n | median instructions | min | max | spread (max−min)/median |")
        w("|---|---:|---:|---:|---:|---:|")
        for lab, s_ in (("off", to), ("on", tn)):
            w(f"| {lab} | {s_['n']} | {_n(round(s_['median']))} | {_n(round(s_['min']))} | "
              f"{_n(round(s_['max']))} | {s_['spread_pct']:.4f} % |")
        w("")
        w(f"**With thinvmm the workload executed {_n(round(b['tsc_diff']))} more instructions "
          f"({100 * (b['tsc_ratio'] - 1):+.3f} %, ratio of medians {b['tsc_ratio']:.5f}).**")
        w("")
        if b.get("wall_off") and b.get("wall_on"):
            w(f"Host wall time per run, for scale: {b['wall_off']['median']:.0f} s off, "
              f"{b['wall_on']['median']:.0f} s on (median; Bochs shared the host's "
              f"{meta.get('host_ncpus')} CPUs with up to {meta.get('bochs_running_max', '?')} "
              "Bochs in all, so wall time says nothing about thinvmm).")
            w("")

    # 3. Per exit.
    w("## 3. Instructions the VMM spends per CPUID exit")
    w("")
    cl = b.get("cpuid_loops") or []
    if cl:
        w(f"A loop of N = {cl[0]['n']:,} CPUIDs (leaf 0) in `tvmm-bench-clock cpuidt`, TSC read "
          "right before and after the loop: 3 times without thinvmm, 3 with it, 3 without again.")
        w("")
        w("| loop | side | TSC delta | instructions per CPUID | guest ns | idle entries | LOC IRQs | other IRQs |")
        w("|---|---|---:|---:|---:|---:|---:|---:|")
        for c in cl:
            w(f"| cpuid {c['k']} | {c['kind']} | {_n(c['tsc'])} | {c['per_cpuid_tsc']:,.2f} | "
              f"{_n(c['ns'])} | {_n(c.get('idle_entries'))} | {_n(c.get('loc_irqs'))} | "
              f"{_n(c.get('other_irqs'))} |")
        w("")
    if b.get("insn_per_exit") is not None:
        lo, hi = b["insn_per_exit_range"]
        w(f"**Instructions per CPUID exit = (on − off) / N = {b['insn_per_exit']:,.1f}** "
          f"(medians; {lo:,.1f}–{hi:,.1f} over all pairs of an on and an off loop; "
          f"{b['insn_per_exit_min']:,.1f} from the least-interrupted loop of each side, since "
          "interrupts only ever add instructions). That is every "
          "instruction executed because the CPUID exited rather than ran: Bochs's one tick for "
          "the exit itself, the VMM's exit path and handler, and the VMRESUME, minus the one "
          "tick the CPUID takes without thinvmm; timer interrupts in the loops cancel out to "
          "within the spread shown.")
        w("")
        same = b.get("tsc_per_ns") and abs(b["tsc_per_ns"]["median"] * 1e9 / ips - 1) < 0.001
        w(f"The same from the guest's clock: (ns on − ns off) × kernel TSC GHz / N = "
          f"{b.get('insn_per_exit_ns_tsckhz', float('nan')):,.1f}; with guest ns × ips / 1e9: "
          f"{b['insn_per_exit_ns_ips']:,.1f}"
          + (" (the guest's clock runs at ips here, section 0)." if same else
             ", off by the factor of section 0."))
        w("")
    el, fl = b.get("exec_loops") or [], b.get("fork_loops") or []
    if el or fl:
        w("The same where the workload's exits are: shell loops stamped like the workload, "
          f"{el[0]['n'] if el else '?'} × fork/exec of `/bin/true` (its exits are glibc's start-up "
          f"CPUIDs) and {fl[0]['n'] if fl else '?'} × fork without exec (a subshell: no CPUID, no "
          "exit), without and with thinvmm:")
        w("")
        w("| loop | side | TSC delta | instructions per iteration | idle entries | LOC IRQs | other IRQs |")
        w("|---|---|---:|---:|---:|---:|---:|")
        for x in el + fl:
            w(f"| {x['what']} {x['k']} | {x['kind']} | {_n(x['tsc'])} | {x['per_tsc']:,.0f} | "
              f"{_n(x.get('idle_entries'))} | {_n(x.get('loc_irqs'))} | {_n(x.get('other_irqs'))} |")
        w("")
        pe = (b.get("model") or {}).get("per_exec_cpuid")
        if b.get("exec_diff") is not None:
            w(f"- fork/exec: {_n(round(b['exec_diff']))} more instructions per iteration with "
              f"thinvmm (medians; {_n(round(b['exec_diff_min']))} from the smallest of each side)"
              + (f", {pe:g} CPUID exits each." if pe else "."))
        if b.get("fork_diff") is not None:
            w(f"- fork without exec: {_n(round(b['fork_diff']))} more instructions per iteration "
              f"with thinvmm (medians; {_n(round(b['fork_diff_min']))} from the smallest of each "
              f"side; {_n(round(b['fork_off']['median']))} per iteration without), and **no exit "
              "at all**: instructions the guest itself executes additionally while thinvmm is "
              "loaded.")
        w("")
    mdl = b.get("model")
    if mdl and b.get("tsc_diff") is not None:
        w("**Does the price per exit explain the workload's difference? Not fully.** S2−S1 holds "
          f"{mdl['workload_exits_median']:g} exits (median); about "
          f"{mdl['exits_outside_window']:g} of them lie outside the stamped window (S1's `tr`, the "
          "first stamp's start-up, S2's `timeout` + `thinvmm-ctl` and its hypercall: one status "
          f"call plus one exec by the calibration), leaving about {mdl['exits_in_window']:g} "
          "inside. The difference divided among them, next to the loops':")
        w("")
        w("| price of one exit, from | instructions |")
        w("|---|---:|")
        w(f"| the CPUID loop: (on − off) / N | {b['insn_per_exit']:,.1f} |")
        if mdl.get("implied_insn_per_exit"):
            w(f"| the workload: {_n(round(b['tsc_diff']))} more instructions / "
              f"{mdl['exits_in_window']:g} exits in the window | {mdl['implied_insn_per_exit']:,.1f} |")
        if b.get("exec_diff") is not None and pe:
            w(f"| the fork/exec loop: difference per exec / {pe:g} | {b['exec_diff'] / pe:,.1f} |")
            if b.get("fork_diff") is not None:
                w(f"| the fork/exec loop less the fork loop's difference, / {pe:g} | "
                  f"{(b['exec_diff'] - b['fork_diff']) / pe:,.1f} |")
        w("")
        w(f"At the CPUID loop's price the workload's exits would add "
          f"{_n(round(mdl['predicted_diff']))} instructions; it added {_n(round(b['tsc_diff']))}. "
          "The VMM's work per CPUID exit hardly depends on what the guest was doing (one path "
          "for every leaf but its own; every exit is counted; EPT translation, VPID and the state loads at each "
          "world switch are Bochs's work, not instructions), so the rest is the guest executing "
          "more instructions while thinvmm is loaded, which the fork loop shows without any "
          "exit. This bench does not find where those come from; compare them with the off "
          "runs' own spread (section 2) before quoting the workload's ratio as the cost of "
          "exits.")
        w("")

    # 4. Memory.
    m = b.get("memory")
    if m:
        w("## 4. VMM memory")
        w("")
        w("| guest MemTotal | VMM mem_total | VMM mem_used | EPT table pages | EPT table memory | leaves 1G / 2M / 4K | guest-physical space mapped | loader module |")
        w("|---:|---:|---:|---:|---:|---|---:|---:|")
        w(f"| {env.get('memtotal_kb')} KiB | {kib(m['mem_total'])} | {kib(m['mem_used'])} | "
          f"{m['nested_table_pages']} | {kib(m['nested_table_bytes'])} | "
          f"{m['leaves_1g']} / {m['leaves_2m']} / {m['leaves_4k']} | "
          f"{m['nested_covered_bytes'] / 2**30:g} GiB | "
          f"{kib(b['module_size']) if b.get('module_size') else '—'} |")
        w("")
        w(f"The values were {'identical in all' if b['memory_constant'] else 'NOT identical across the'} "
          f"{b['n_snapshots']} status snapshots (largest mem_used {kib(b['memory_max_used'])}); "
          f"guest address sizes `{env.get('address_sizes', '?')}`, RAM "
          f"`{env.get('iomem_ram', '').rstrip(',')}`.")
        w("")

    w("## Caveats")
    w("")
    w("- **Instructions, not time.** Bochs charges one tick for every instruction whatever it "
      "is; a VM exit and a VMRESUME cost a tick each here and hundreds to thousands of cycles "
      "on silicon, and EPT walks, TLB and cache effects cost nothing here. The counts say how "
      "much code thinvmm runs, which carries over to hardware; they do not say how long it "
      "takes there.")
    w("- **Exact, within one boot.** The instruction counts do not depend on the host at all "
      "(load, other emulators); the spread between runs comes from the guest itself: timer "
      "interrupts landing at other points, the page cache, and the random data from "
      "/dev/urandom that gzip compresses.")
    w("- **One CPU, one CPU model.** The CPUIDs per exec are glibc's for this CPU model; with "
      "more CPUs timer and IPI traffic change, but nothing of it is intercepted.")
    w("- Guest-visible times (the workload's phases, `sleep`, timeouts) are instructions and "
      "idle ticks divided by the TSC frequency the guest kernel believes (section 0).")
    w("")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(L))


def main_vmx(a):
    meta = {}
    with open(a.meta, encoding="utf-8") as f:
        for line in f:
            k, sep, v = line.rstrip("\n").partition("=")
            if sep:
                meta[k] = v
    path = None
    for spec in a.boot:
        path = spec.partition("=")[2]
    marks = {}
    for spec in a.cputime:
        marks = read_marks_vmx(spec.partition("=")[2])
    raw = parse_console_vmx(path)
    b = analyse_vmx(raw, meta, marks)
    out = a.out.rstrip("/")
    with open(f"{out}/vmx-bochs.json", "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "boot": b, "status_snapshots": raw["status"]}, f, indent=1,
                  sort_keys=True, default=str)
        f.write("\n")
    with open(f"{out}/vmx-bochs-runs.csv", "w", newline="", encoding="utf-8") as f:
        cw = csv.writer(f)
        cw.writerow(["what", "index", "side", "warmup", "n", "instructions_tsc", "guest_ns",
                     "idle_entries", "idle_jiffies", "loc_irqs", "other_irqs", "ok", "sha256_gzip_s",
                     "fork_exec_s", "dd_s", "wall_s", "bochs_cpu_s"])

        def e(x):
            return "" if x is None else x
        for r in b["runs"]:
            cw.writerow(["workload", r["index"], r["kind"], int(r["warmup"]), "", r["tsc"], r["ns"],
                         e(r.get("idle_entries")), e(r.get("idle_jiffies")), e(r.get("loc_irqs")),
                         e(r.get("other_irqs")), int(r["ok"]), e(r["phase_sha_gzip_s"]), e(r["phase_fork_exec_s"]),
                         e(r["phase_dd_s"]), "" if r.get("wall_s") is None else f"{r['wall_s']:.1f}",
                         "" if r.get("bochs_cpu_s") is None else f"{r['bochs_cpu_s']:.2f}"])
        for lp in b["spins"] + b["cpuid_loops"]:
            cw.writerow([lp["what"], lp["k"], lp["kind"], "", lp["n"], lp["tsc"], lp["ns"],
                         e(lp.get("idle_entries")), e(lp.get("idle_jiffies")),
                         e(lp.get("loc_irqs")), e(lp.get("other_irqs")), "", "", "", "", "", ""])
    with open(f"{out}/vmx-bochs-exits.csv", "w", newline="", encoding="utf-8") as f:
        cw = csv.writer(f)
        cw.writerow(["what", "index", "warmup", "reason", "exits"])
        for ex in b["exits"]:
            for part in ("workload", "baseline"):
                for r, v in sorted(ex[part].items()):
                    cw.writerow([part, ex["index"], int(ex["warmup"]), r, v])
        for part, d in (b.get("calibration") or {}).items():
            for r, v in sorted(d.items()):
                cw.writerow(["cal_" + part, "", "", r, v])
    write_md_vmx(f"{out}/vmx-bochs.md", meta, b)
    bad = list(b["errors"]) + ([] if b["end"] else ["scenario did not finish"])
    busy = [r for r in b["runs"] if r.get("idle_entries")] + \
        [lp for lp in b["spins"] + b["cpuid_loops"] if lp.get("idle_entries")]
    if busy:
        bad.append(f"{len(busy)} timed window(s) with the CPU idling: their TSC deltas are not "
                   "instruction counts")
    for e in bad:
        print(f"report.py: warning: {e}", file=sys.stderr)
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meta", required=True)
    ap.add_argument("--boot", action="append", required=True, help="NAME=CONSOLE.log")
    ap.add_argument("--cputime", action="append", default=[], help="NAME=CPUTIME.txt")
    ap.add_argument("--out", required=True)
    ap.add_argument("--vmx", action="store_true", help="bench/run-vmx.sh's boot (Bochs, VT-x)")
    a = ap.parse_args()
    if a.vmx:
        return main_vmx(a)
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
