#!/usr/bin/env python3
"""Print compare-fio.sh's table from a results directory.

usage: summarize.py RESULTS_DIR [--markdown] [--pick=best|median]

RESULTS_DIR/manifest.tsv has one line per run: id, group, runner label, kind (fio, kaio, ra),
engine class (io_uring, libaio, sync, null, ra) and round. With several rounds a row stands for
all runs of its (group, label): it shows the run with the highest IOPS (--pick=best, the default:
on a shared machine other tenants only ever slow a run down) or the median one (--pick=median, the
lower middle of an even count), and the IOPS range of the successful runs. Each run left <id>.json (fio or kaio JSON on
stdout), <id>.err and <id>.meta.json (cpurun.py). Ratios are taken inside a group only, between
runs made minutes apart in this one invocation:
  xfio    kaio IOPS / the fio run of the same engine class (io_uring, libaio, psync for the thread
          pool, null); the first fio row of that class in the group (fio's defaults)
  cpu     kaio CPU per op / that fio run's CPU per op (below 1 is better)
  xbest   kaio IOPS / the fastest fio run in the group
  xRA     IOPS / the median of the group's .NET RandomAccess runs
"""
import json
import os
import statistics
import sys


def load_json(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    start = text.find("{")
    if start < 0:
        return None
    try:
        return json.loads(text[start:])
    except json.JSONDecodeError:
        return None


def first_line(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.strip()
                if line:
                    return line
    except FileNotFoundError:
        pass
    return ""


def percentile(clat, key):
    p = clat.get("percentile") or {}
    return p.get(key)


def row_stats(results, run):
    rid = run["id"]
    doc = load_json(os.path.join(results, rid + ".json"))
    meta = load_json(os.path.join(results, rid + ".meta.json")) or {}
    stats = {"error": None}
    if doc is None or not doc.get("jobs"):
        err = (doc or {}).get("error") or first_line(os.path.join(results, rid + ".err"))
        stats["error"] = err or f"no JSON (exit {meta.get('exit_code')})"
        return stats
    job = doc["jobs"][0]
    if job.get("error"):
        stats["error"] = job.get("error_message") or f"error {job['error']}"
        return stats
    iops = 0.0
    ios = 0
    clat = None
    for ddir in ("read", "write"):
        d = job.get(ddir) or {}
        if d.get("total_ios", 0) > 0:
            iops += d.get("iops", 0.0)
            ios += d["total_ios"]
            if clat is None or d["total_ios"] > clat[0]:
                clat = (d["total_ios"], d.get("clat_ns") or {})
    if ios == 0:
        stats["error"] = "no I/O completed"
        return stats
    clat = clat[1]
    stats.update(
        iops=iops,
        p50=percentile(clat, "50.000000"),
        p99=percentile(clat, "99.000000"),
        p999=percentile(clat, "99.900000"),
        max=clat.get("max"),
    )
    stats["depth"] = depth_of(job)
    if "window_cores" in meta:
        stats["cores"] = meta["window_cores"]
        stats["cpu_us"] = meta["window_cores"] / iops * 1e6
    if run["kind"] != "fio" and "usr_cpu" in job:
        # kaio's own figure: usr_cpu/sys_cpu are the whole process's percent of one CPU over the
        # group's wall time (ramp included), so per op it is that rate over the measured IOPS.
        stats["self_cpu_us"] = (job["usr_cpu"] + job.get("sys_cpu", 0.0)) / 100.0 / iops * 1e6
    if run["kind"] == "fio":
        # fio's own figure for its job threads: usr_cpu/sys_cpu are percent of job_runtime (ms),
        # both summed over the threads of a group_reporting job.
        pct = job.get("usr_cpu", 0.0) + job.get("sys_cpu", 0.0)
        runtime_ms = job.get("job_runtime", 0)
        if runtime_ms and ios:
            stats["self_cpu_us"] = pct / 100.0 * runtime_ms / 1000.0 / ios * 1e6
    return stats


# fio's iodepth_level keys and the depths each bucket holds.
DEPTH_BUCKETS = {"1": "1", "2": "2-3", "4": "4-7", "8": "8-15", "16": "16-31", "32": "32-63", ">=64": "64+"}


def depth_of(job):
    """The effective depth: kaio's iodepth_mean (the mean depth after each submission); fio has no
    mean, so its row shows the iodepth_level bucket holding most submissions."""
    if "iodepth_mean" in job:
        return f"{job['iodepth_mean']:.1f}"
    levels = job.get("iodepth_level") or {}
    if not levels:
        return None
    key = max(levels, key=lambda k: levels[k])
    return DEPTH_BUCKETS.get(key, key)


def fmt_num(v, digits=0):
    if v is None:
        return "-"
    return f"{v:,.{digits}f}"


def fmt_us(ns):
    if ns is None:
        return "-"
    us = ns / 1000.0
    if us < 10:
        return f"{us:.2f}"
    if us < 1000:
        return f"{us:.1f}"
    return f"{us:,.0f}"


def fmt_cpu(us):
    if us is None:
        return "-"
    return f"{us:.3f}" if us < 1 else f"{us:.2f}"


def fmt_ratio(v):
    return "-" if v is None else f"{v:.2f}"


def main():
    results = sys.argv[1]
    markdown = "--markdown" in sys.argv[2:]
    pick = next((a.split("=", 1)[1] for a in sys.argv[2:] if a.startswith("--pick=")), "best")
    if pick not in ("best", "median"):
        sys.exit(f"summarize.py: --pick={pick}: best or median")
    runs = []
    with open(os.path.join(results, "manifest.tsv"), encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 5:
                continue
            runs.append(dict(zip(("id", "group", "label", "kind", "cls", "round"), parts)))
    for run in runs:
        run["stats"] = row_stats(results, run)

    # One row per (group, label): the best or the median run of its rounds, by IOPS.
    rows = {}
    for run in runs:
        rows.setdefault((run["group"], run["label"]), []).append(run)
    many = any(len(v) > 1 for v in rows.values())
    runs = []
    for (group, label), members in rows.items():
        ok = sorted((r for r in members if r["stats"]["error"] is None), key=lambda r: r["stats"]["iops"])
        if not ok:
            runs.append(members[-1])
            continue
        chosen = dict(ok[-1] if pick == "best" else ok[(len(ok) - 1) // 2])
        chosen["stats"] = dict(chosen["stats"])
        failed = len(members) - len(ok)
        spread = f"{ok[0]['stats']['iops'] / 1000:,.0f}k–{ok[-1]['stats']['iops'] / 1000:,.0f}k" if len(ok) > 1 else "-"
        if failed:
            spread += f" ({failed} failed)"
        chosen["stats"]["range"] = spread
        runs.append(chosen)

    groups = []
    for run in runs:
        if run["group"] not in groups:
            groups.append(run["group"])

    headers = ["runner", "IOPS", *(["IOPS range"] if many else []), "depth", "cores", "CPU µs/op", "p50 µs", "p99 µs", "p99.9 µs", "max µs",
               "×fio", "CPU×fio", "×best fio", "×RA"]
    table = []
    for group in groups:
        members = [r for r in runs if r["group"] == group]
        ok = [r for r in members if r["stats"]["error"] is None]
        fio_rows = [r for r in ok if r["kind"] == "fio"]
        best_fio = max((r["stats"]["iops"] for r in fio_rows), default=None)
        ra = [r["stats"]["iops"] for r in ok if r["kind"] == "ra"]
        ra_median = statistics.median(ra) if ra else None
        table.append(("group", group))
        for run in members:
            s = run["stats"]
            label = run["label"]
            if s["error"] is not None:
                table.append(("row", [label, "ERROR: " + s["error"][:110]]))
                continue
            x_fio = cpu_fio = x_best = x_ra = None
            if run["kind"] in ("kaio", "ra"):
                peer = next((r for r in fio_rows if r["cls"] == run["cls"]), None)
                if peer is not None:
                    x_fio = s["iops"] / peer["stats"]["iops"]
                    if s.get("cpu_us") and peer["stats"].get("cpu_us"):
                        cpu_fio = s["cpu_us"] / peer["stats"]["cpu_us"]
                if best_fio:
                    x_best = s["iops"] / best_fio
            if ra_median and run["kind"] != "fio":
                x_ra = s["iops"] / ra_median
            cpu = fmt_cpu(s.get("cpu_us"))
            if "self_cpu_us" in s:
                cpu += f" ({fmt_cpu(s['self_cpu_us'])})"
            table.append(("row", [
                label, fmt_num(s["iops"]), *([s.get("range", "-")] if many else []), s.get("depth") or "-", fmt_num(s.get("cores"), 2), cpu,
                fmt_us(s["p50"]), fmt_us(s["p99"]), fmt_us(s["p999"]), fmt_us(s["max"]),
                fmt_ratio(x_fio), fmt_ratio(cpu_fio), fmt_ratio(x_best), fmt_ratio(x_ra),
            ]))

    if markdown:
        print("| " + " | ".join(headers) + " |")
        print("|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|")
        for kind, value in table:
            if kind == "group":
                print(f"| **{value}** |" + " |" * (len(headers) - 1))
            elif len(value) == 2:
                print(f"| {value[0]} | {value[1]} |" + " |" * (len(headers) - 2))
            else:
                print("| " + " | ".join(value) + " |")
        return

    widths = [len(h) for h in headers]
    for kind, value in table:
        if kind == "row" and len(value) == len(headers):
            widths = [max(w, len(c)) for w, c in zip(widths, value)]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths)))
    print(line)
    print("-" * len(line))
    for kind, value in table:
        if kind == "group":
            print(f"[{value}]")
        elif len(value) == 2:
            print(value[0].ljust(widths[0]) + "  " + value[1])
        else:
            print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(value, widths))))


if __name__ == "__main__":
    main()
