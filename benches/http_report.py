#!/usr/bin/env python3
"""Summarise benches/http.sh results (a TSV, one row per run) as Markdown: medians and ratios.

Usage: http_report.py results.tsv
"""

import csv
import sys
from statistics import median

ORDER = ["floor", "hyper", "axum", "fastapi"]
# (numerator, denominator) -> {alerts per request: minimum ratio of req/s}, from the issue.
TARGETS = {
    ("hyper", "floor"): {1: 0.70, 100: 0.15},
    ("hyper", "fastapi"): {1: 20, 100: 12},
    ("axum", "hyper"): {1: 0.93, 100: 0.93, 1000: 0.93},
}
RSS_TARGET_KIB = 8 * 1024  # hyper example, 1 alert per request


def main() -> None:
    rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
    runs: dict[tuple[int, str], list[dict]] = {}
    for row in rows:
        runs.setdefault((int(row["alerts"]), row["server"]), []).append(row)
    sizes = sorted({size for size, _ in runs})

    def med(size: int, server: str, key: str) -> float | None:
        group = runs.get((size, server))
        return median(float(r[key]) for r in group) if group else None

    print("| alerts/request | server | req/s (median) | req/s min–max | p50 ms | p99 ms | VmHWM MiB | runs |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size in sizes:
        for server in [s for s in ORDER if (size, s) in runs]:
            group = runs[(size, server)]
            rps = [float(r["rps"]) for r in group]
            print(
                f"| {size} | {server} | {med(size, server, 'rps'):,.0f} | {min(rps):,.0f}–{max(rps):,.0f}"
                f" | {med(size, server, 'p50_us') / 1000:.2f} | {med(size, server, 'p99_us') / 1000:.2f}"
                f" | {med(size, server, 'vmhwm_kb') / 1024:.1f}"
                f" | {len(group)} |"
            )

    print()
    # Two statistics per ratio. The ratio of the two medians; and, in each round, the ratio of
    # the two runs (seconds apart), whose median is the verdict: the machine's slow
    # spells last tens of seconds and hit both runs of a round alike, but not always the same
    # number of each server's runs, which moves the ratio of the medians (BENCHMARKS.md,
    # "Which ratio"). Brackets: the range of the per-round ratios.
    pairs = [p for p in TARGETS if any((s, p[0]) in runs and (s, p[1]) in runs for s in sizes)]
    if pairs:
        print("| alerts/request | " + " | ".join(f"{a}/{b} req/s" for a, b in pairs) + " |")
        print("| ---: |" + " ---: |" * len(pairs))
        for size in sizes:
            cells = []
            for a, b in pairs:
                by_round = {r["round"]: float(r["rps"]) for r in runs.get((size, b), [])}
                paired = [float(r["rps"]) / by_round[r["round"]] for r in runs.get((size, a), [])
                          if r["round"] in by_round]
                if not paired:
                    cells.append("—")
                    continue
                ratio, of_medians = median(paired), med(size, a, "rps") / med(size, b, "rps")
                target = TARGETS[(a, b)].get(size)
                mark = "" if target is None else f" ({'meets' if ratio >= target else 'MISSES'} ≥ {target:g})"
                cells.append(f"{ratio:.2f} [{min(paired):.2f}–{max(paired):.2f}]{mark}; of medians {of_medians:.2f}")
            print(f"| {size} | " + " | ".join(cells) + " |")

    hwm = med(1, "hyper", "vmhwm_kb")
    if hwm is not None:
        verdict = "meets" if hwm <= RSS_TARGET_KIB else "MISSES"
        print(f"\nhyper example peak RSS at 1 alert/request: {hwm / 1024:.1f} MiB ({verdict} ≤ 8 MiB)")

    bad = [r for r in rows if int(r["non2xx"]) or int(r["socket_errors"])]
    for r in bad:
        print(f"\nWARNING: {r['server']} at {r['alerts']} alerts, round {r['round']}: "
              f"{r['non2xx']} non-2xx answers, {r['socket_errors']} socket errors")


if __name__ == "__main__":
    main()
