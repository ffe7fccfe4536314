#!/usr/bin/env bash
# Soak and overload: 60 s of wrk at saturation against the hyper example with a mix of valid
# and invalid requests (benches/soak.lua), once with its normal sink and once with a sink that
# never drains (EXAMPLE_SINK=stalled). Records req/s, p99, answers by status, RSS at the start
# and at the end, and checks the receiver's delivery counters against what was accepted.
# One command: benches/soak.sh   (see BENCHMARKS.md, section "Soak and overload").
#
# Knobs: DURATION=60s THREADS=2 CONNS=32 OUT=target/soak
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-60s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
OUT=${OUT:-target/soak}
mkdir -p "$OUT"
for tool in wrk curl cargo; do
    command -v "$tool" >/dev/null || { echo "soak.sh: $tool not found" >&2; exit 1; }
done

PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; PID=; true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

cargo build --release --example hyper >&2
BIN=target/release/examples/hyper
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rss() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$PID/status"; }

report=$OUT/report.md
{
    echo "soak: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg), wrk -t$THREADS -c$CONNS -d$DURATION"
    echo
    echo "| sink | req/s | p50 ms | p99 ms | answers by status | socket errors | VmRSS start → end MiB (every 10 s) | VmHWM MiB | alerts in 200s seen by wrk | alerts accepted (logged) | delivered | dropped | queued | failed | counters add up |"
    echo "| --- | ---: | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
} >"$report"

for sink in broadcast stalled; do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    log=$OUT/$sink.log
    EXAMPLE_SINK=$sink RUST_LOG=info NO_COLOR=1 "$BIN" "127.0.0.1:$port" >"$log" 2>&1 &
    PID=$!
    url=http://127.0.0.1:$port/api/webhooks/alerts
    for _ in $(seq 100); do curl -s -o /dev/null "$url" && break; sleep 0.05; done
    rss_start=$(rss VmRSS)
    # VmRSS every 10 s while wrk runs, to see whether it stays flat.
    (while sleep 10; do rss VmRSS || break; done >"$OUT/$sink.rss" 2>/dev/null) &
    sampler=$!
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout 10s --latency -s benches/soak.lua "$url" -- tests/fixtures >"$OUT/$sink.wrk"
    rss_end=$(rss VmRSS)
    hwm=$(rss VmHWM)
    kill "$sampler" 2>/dev/null || true
    samples=$(awk '{ printf "%s%.1f", sep, $1 / 1024; sep = " " }' "$OUT/$sink.rss")
    kill -TERM "$PID"
    wait "$PID" || true
    PID=
    stats=$(grep -o 'receiver stats at shutdown.*' "$log" | tail -1)
    stat() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<" $stats"; }
    line() { sed -n "s/^SOAK.* $1=\([0-9.]*\).*/\1/p" "$OUT/$sink.wrk"; }
    # Every accepted alert is logged once; wrk misses the answers still in flight when it stops.
    accepted=$(grep -c '\[ALERT \(FIRING\|RESOLVED\)\]' "$log" || true)
    delivered=$(stat delivered); dropped=$(stat dropped); queued=$(stat queued); failed=$(stat failed)
    # The stalled sink holds one event in flight besides the queue.
    in_flight=$(stat in_flight)
    sum=$((delivered + dropped + queued + failed + in_flight))
    ok=$([ "$sum" -eq "$accepted" ] && echo "yes ($sum)" || echo "NO: $sum vs $accepted")
    statuses=$(sed -n 's/^STATUS code=\([^ ]*\) count=\([0-9]*\)/\1: \2/p' "$OUT/$sink.wrk" | grep -v ': 0$' | paste -sd, -)
    printf '| %s | %s | %s | %s | %s | %s | %s → %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
        "$sink" "$(line rps)" "$(div "$(line p50_us)" 1000)" "$(div "$(line p99_us)" 1000)" \
        "$statuses" "$(line socket_errors)" "$(div "$rss_start" 1024)" "$(div "$rss_end" 1024) ($samples)" \
        "$(div "$hwm" 1024)" "$(line alerts_accepted)" "$accepted" "$delivered" "$dropped" "$queued" "$failed" "$ok" >>"$report"
done
cat "$report"
