#!/usr/bin/env python3
"""Turns the raw results of scripts/bench-e2e.sh into Markdown tables (medians
over rounds, ratios ours/theirs from the same run), and optionally the data
file of the throughput-vs-concurrency plot.

usage: report.py RESULTS.tsv IDLE.tsv [--plot-data OUT.dat]"""
import csv
import statistics
import sys

NAMES = {
    "ceiling": "nginx `return 200` (ceiling)",
    "uwsgi-ours": "hello-server (uwsgi)",
    "uwsgi-c": "uWSGI `--route-run return:200` (C)",
    "fcgi-ours": "hello-server (FastCGI)",
    "fcgi-capped": "hello-server (FastCGI, `--max-conns` = C processes)",
    "fcgi-c": "libfcgi hello (C)",
    "fcgi-php": "PHP-FPM, one-line script",
}
FRONTS = {"nginx": "nginx", "gateway": "gateway"}
# (ours, theirs, label) ratios, by row key.
PAIRS = [
    ("nginx:uwsgi-ours", "nginx:uwsgi-c", "uwsgi: hello-server / uWSGI"),
    ("nginx:uwsgi-ours", "nginx:ceiling", "uwsgi: hello-server / nginx ceiling"),
    ("nginx:fcgi-ours", "nginx:fcgi-c", "FastCGI: hello-server / libfcgi"),
    ("nginx:fcgi-ours", "nginx:fcgi-php", "FastCGI: hello-server / PHP-FPM"),
    ("nginx:fcgi-ours", "nginx:ceiling", "FastCGI: hello-server / nginx ceiling"),
    ("nginx:fcgi-capped", "nginx:fcgi-c", "FastCGI: hello-server `--max-conns` / libfcgi"),
    ("nginx:fcgi-capped", "nginx:fcgi-php", "FastCGI: hello-server `--max-conns` / PHP-FPM"),
] + [(f"gateway:{k}", f"nginx:{k}", f"gateway / nginx, both → {NAMES[k]}")
     for k in ("uwsgi-ours", "uwsgi-c", "fcgi-ours", "fcgi-c", "fcgi-php")]


def load(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def medians(rows, section):
    out = {}
    for r in rows:
        if r["section"] != section:
            continue
        out.setdefault((r["row"], int(r["conns"])), []).append(r)
    med = {}
    for key, rs in out.items():
        m = {f: statistics.median(float(r[f]) for r in rs)
             for f in ("rps", "p50_us", "p99_us", "back_rss_kib", "front_rss_kib")}
        for side in ("back", "front"):
            m[f"{side}_cpu_us"] = statistics.median(
                float(r[f"{side}_cpu_ns"]) / 1000 / max(1, int(r["requests"])) for r in rs)
        m["errors"] = sum(int(r["errors"]) + int(r["non2xx"]) for r in rs)
        m["rounds"] = len(rs)
        med[key] = m
    return med


def label(row):
    front, key = row.split(":", 1)
    if key == "ceiling":
        return NAMES[key]
    return f"{FRONTS[front]} → {NAMES[key]}"


def ms(us):
    return f"{us / 1000:.2f}"


def table(med, title):
    if not med:
        return
    conns = sorted({c for _, c in med})
    for c in conns:
        rows = [(r, m) for (r, cc), m in med.items() if cc == c]
        print(f"### {title}, {c} connections (median of {rows[0][1]['rounds']})\n")
        print("| front → backend | req/s | p50 ms | p99 ms | backend RSS MiB | front RSS MiB "
              "| backend CPU µs/req | front CPU µs/req | errors |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r, m in rows:
            ceiling = r.endswith("ceiling")
            back = "–" if ceiling else f"{m['back_rss_kib'] / 1024:.1f}"
            bcpu = "–" if ceiling else f"{m['back_cpu_us']:.0f}"
            print(f"| {label(r)} | {m['rps']:.0f} | {ms(m['p50_us'])} | {ms(m['p99_us'])} | "
                  f"{back} | {m['front_rss_kib'] / 1024:.1f} | {bcpu} | {m['front_cpu_us']:.0f} "
                  f"| {m['errors']} |")
        print()
        have = {r for r, _ in rows}
        ratios = [(a, b, t) for a, b, t in PAIRS if a in have and b in have]
        if ratios:
            print("| ratio (same run) | req/s ours/theirs | p99 ours/theirs "
                  "| backend CPU/req ours/theirs |")
            print("|---|---:|---:|---:|")
            for a, b, t in ratios:
                ma, mb = med[(a, c)], med[(b, c)]

                def ratio(x, y):
                    return f"{x / y:.2f}" if y else "–"
                cpu = "–" if b.endswith("ceiling") or a.startswith("gateway") else \
                    ratio(ma["back_cpu_us"], mb["back_cpu_us"])
                if a.startswith("gateway"):
                    cpu = ratio(ma["front_cpu_us"], mb["front_cpu_us"]) + " (front)"
                print(f"| {t} | {ratio(ma['rps'], mb['rps'])} | {ratio(ma['p99_us'], mb['p99_us'])} "
                      f"| {cpu} |")
            print()


def main():
    args = sys.argv[1:]
    rows = load(args[0])
    idle = load(args[1]) if len(args) > 1 else []
    if "--plot-data" in args:
        out = args[args.index("--plot-data") + 1]
        med = medians(rows, "sweep")
        med.update(medians(rows, "get"))
        keys = ["ceiling", "uwsgi-ours", "uwsgi-c", "fcgi-ours", "fcgi-capped", "fcgi-c", "fcgi-php"]
        conns = sorted({c for (r, c) in med if r.startswith("nginx:")})
        with open(out, "w") as f:
            f.write("conns " + " ".join(f'"{NAMES[k]}"' for k in keys) + "\n")
            for c in conns:
                vals = [med.get((f"nginx:{k}", c), {}).get("rps") for k in keys]
                f.write(f"{c} " + " ".join("NaN" if v is None else f"{v:.0f}" for v in vals) + "\n")
        return
    table(medians(rows, "get"), "GET")
    table(medians(rows, "post"), "POST with a 1 MiB body")
    table(medians(rows, "sweep"), "Concurrency sweep, GET")
    if idle:
        print("### Idle connections (hello-server)\n")
        print("| protocol | connections | RSS before KiB | RSS with them KiB | bytes per connection |")
        print("|---|---:|---:|---:|---:|")
        for r in idle:
            print(f"| {r['protocol']} | {r['conns']} | {r['rss_before_kib']} | "
                  f"{r['rss_with_conns_kib']} | {r['bytes_per_conn']} |")
        print()


if __name__ == "__main__":
    main()
