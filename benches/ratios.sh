#!/usr/bin/env bash
# Runs the in-process criterion benches and prints T1-T4 and the sink table.
#
#   benches/ratios.sh [ROUNDS] [FILTER]
#
# ROUNDS (default 3) runs of each build, interleaved, so that a burst of load on
# a shared machine hits one round, not one build; the table shows, per id, the
# median over rounds of criterion's median. FILTER (default: all groups) is a
# criterion filter such as `alerts_1000`. The clock is the bench thread's CPU
# time (BENCH_CLOCK=cpu, see benches/common/mod.rs); BENCH_CLOCK=wall for wall time.
#
# Builds: `serde` (default features) and `logoff` (the same with
# `--features tracing/max_level_off`: logging compiled out, for T4). Each round
# saves criterion baselines named BUILD-ROUND under target/criterion; nothing
# is compared against older runs. FEATURES (e.g. `FEATURES=metrics`) adds cargo
# features to both builds.
#
#   T1 = parse / scan          (typed, validated parse against serde_json's IgnoredAny scan)
#   T2 = ack / scan            (whole handler: parse, validate, log, event JSON, send, summary)
#   T3 = paired / N            (per-alert work besides the parse, ns: each request as in
#                               `ack`, timed right after a parse of the same body alone)
#        and (ack - parse) / N (the same difference, of two medians measured seconds apart)
#        and work / N          (the same work timed alone, on a parsed body)
#   T4 = (log - log[logoff]) / N   (per-alert log call with no subscriber against none compiled in, ns)
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-3}
filter=${2:-}
builds=(serde logoff)
export BENCH_CLOCK=${BENCH_CLOCK:-cpu}

features() {
    case $1 in
        serde) echo "--features bench${FEATURES:+,$FEATURES}" ;;
        logoff) echo "--features bench,tracing/max_level_off${FEATURES:+,$FEATURES}" ;;
    esac
}

# Build everything first, so that compiling never overlaps a measurement.
for build in "${builds[@]}"; do
    # shellcheck disable=SC2046
    cargo bench --bench handler $(features "$build") --no-run
done
cargo bench --bench sink --no-run

# Criterion's own report goes to a log; the table below is what counts.
log=target/criterion/ratios.log
mkdir -p target/criterion
: >"$log"
# The table reads every group's baselines: drop those of earlier runs, so that a
# FILTER run shows only what it measured.
for build in "${builds[@]}"; do
    find target/criterion -mindepth 3 -maxdepth 3 -type d -name "$build-*" -exec rm -rf {} +
done
for round in $(seq 1 "$rounds"); do
    for build in "${builds[@]}"; do
        echo "== round $round: $build" >&2
        # shellcheck disable=SC2046
        cargo bench -q --bench handler $(features "$build") -- --save-baseline "$build-$round" $filter >>"$log" 2>&1
    done
done
echo "== sink" >&2
cargo bench -q --bench sink -- --save-baseline sink >>"$log" 2>&1

python3 - "$rounds" "${builds[@]}" <<'EOF'
import json, os, pathlib, statistics, sys

rounds, builds = int(sys.argv[1]), sys.argv[2:]
root = pathlib.Path("target/criterion")

def median(group, bench, baseline_prefix, rounds):
    values = []
    for r in range(1, rounds + 1):
        path = root / group / bench / f"{baseline_prefix}-{r}" / "estimates.json"
        if path.exists():
            values.append(json.loads(path.read_text())["median"]["point_estimate"])
    return statistics.median(values) if values else None

print("In-process handler (criterion medians, median of %d rounds; clock: %s)\n" % (rounds, os.environ.get("BENCH_CLOCK", "wall")))
print("| alerts | scan µs | T1 parse/scan | serde_json alone/scan | T2 ack/scan | queued/scan | T3 ns/alert (ack − parse) | T3 ns/alert (paired) | T3 ns/alert (work) | T4 ns/alert |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for n in (1, 10, 100, 1000):
    group = f"alerts_{n}"
    if not (root / group).exists():
        continue
    for build in builds:
        if build == "logoff":
            continue
        scan, parse, ack, queued, work, paired = (median(group, b, build, rounds) for b in ("scan", "parse", "ack", "queued", "work", "paired"))
        if None in (scan, parse, ack):
            continue
        log, off = median(group, "log", build, rounds), median(group, "log", "logoff", rounds)
        t4 = f"{(log - off) / n:.1f}" if None not in (log, off) else ""
        q = f"{queued / scan:.2f}" if queued else ""
        w = f"{work / n:.0f}" if work else ""
        pr = f"{paired / n:.0f}" if paired else ""
        serde = median(group, "serde", build, rounds)
        sj = f"{serde / scan:.2f}" if serde else ""
        print(f"| {n} | {scan / 1e3:.1f} | {parse / scan:.2f} | {sj} | {ack / scan:.2f} | {q} | {(ack - parse) / n:.0f} | {pr} | {w} | {t4} |")

print("\nBroadcast sink: one event to R subscribers (ns per iteration)\n")
print("| subscribers | shared (one serialization) | per subscriber (one each) | ratio |")
print("|---:|---:|---:|---:|")
for r in (1, 16, 256):
    group = f"broadcast_{r}"
    s = root / group / "shared" / "sink" / "estimates.json"
    p = root / group / "per_subscriber" / "sink" / "estimates.json"
    if s.exists() and p.exists():
        s = json.loads(s.read_text())["median"]["point_estimate"]
        p = json.loads(p.read_text())["median"]["point_estimate"]
        print(f"| {r} | {s:.0f} | {p:.0f} | {p / s:.1f}x |")
EOF
