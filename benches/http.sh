#!/usr/bin/env bash
# HTTP load harness: the crate's hyper (and axum) example against the floor (benches/floor.rs)
# and the original FastAPI stack (benches/fastapi/), under wrk, in interleaved rounds.
# One command: benches/http.sh   (see BENCHMARKS.md, section "HTTP").
#
# Knobs (environment): ROUNDS=7 DURATION=4s WARMUP=1s THREADS=2 CONNS=32 SIZES="1 100 1000"
# SERVERS="floor hyper axum fastapi" (those that exist are run), FASTAPI_PLAIN=1 (uvicorn without
# uvloop/httptools), WRK_BATCH=1 (wrk under SCHED_BATCH, see BENCHMARKS.md), KEEP_LOGS=1 (keep every
# server log), OUT=target/http-bench.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-7}
DURATION=${DURATION:-4s}
WARMUP=${WARMUP:-1s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
SIZES=${SIZES:-1 100 1000}
SERVERS=${SERVERS:-floor hyper axum fastapi}
OUT=${OUT:-target/http-bench}
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in benches/
ENDPOINT=/api/webhooks/alerts

for tool in wrk curl python3 cargo; do
    command -v "$tool" >/dev/null || { echo "http.sh: $tool not found (apt-get install -y $tool)" >&2; exit 1; }
done
mkdir -p "$OUT/logs" "$OUT/wrk"

# Every server started here is stopped on any exit.
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. Release binaries: the floor bench target and whichever of the examples exist, with the
#    features they require.
declare -A BIN
want_examples=()
for name in hyper axum; do
    [[ " $SERVERS " == *" $name "* ]] && want_examples+=("$name")
done
read -r -a build_args < <(cargo metadata --no-deps --format-version 1 | python3 -c '
import json, sys
want = set(sys.argv[1:])
targets = [t for p in json.load(sys.stdin)["packages"] for t in p["targets"]]
examples = [t for t in targets if "example" in t["kind"] and t["name"] in want]
features = sorted({f for t in examples for f in t.get("required-features", [])})
args = [a for t in examples for a in ("--example", t["name"])]
print(" ".join(args + (["--features", ",".join(features)] if features else [])))
' "${want_examples[@]}")
echo "== cargo build --release --bench floor ${build_args[*]}"
cargo build --release --bench floor "${build_args[@]}" --message-format=json-render-diagnostics \
    >"$OUT/build.jsonl"
while read -r name path; do BIN[$name]=$path; done < <(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["target"]["name"], m["executable"])
' "$OUT/build.jsonl")

# 2. The original stack in a virtualenv.
VENV=$OUT/venv
if [[ " $SERVERS " == *" fastapi "* ]]; then
    echo "== virtualenv $VENV (benches/fastapi/requirements.txt)"
    [[ -x $VENV/bin/python ]] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r benches/fastapi/requirements.txt
    BIN[fastapi]=$VENV/bin/uvicorn
fi
UVICORN_FLAGS=()
[[ -n ${FASTAPI_PLAIN:-} ]] && UVICORN_FLAGS=(--loop asyncio --http h11)
# wrk shares the server's 2 cores. Under SCHED_BATCH its threads, woken by a response, wait for a
# free core or the next tick instead of preempting the server (same servers, same load).
WRK=(wrk)
if [[ -n ${WRK_BATCH:-} ]]; then
    command -v chrt >/dev/null || { echo "http.sh: chrt not found (apt-get install -y util-linux)" >&2; exit 1; }
    WRK=(chrt --batch 0 wrk)
fi

run=()
for name in $SERVERS; do
    if [[ -n ${BIN[$name]:-} ]]; then run+=("$name"); else echo "== $name: not built (no such example), skipped"; fi
done

# 3. Bodies.
python3 benches/gen_body.py "$OUT/bodies" $SIZES

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start NAME LOG: starts the server on a fresh loopback port; sets PID and URL.
start() {
    local name=$1 log=$2 port
    port=$(free_port)
    case $name in
        floor) "${BIN[floor]}" "127.0.0.1:$port" >"$log" 2>&1 & ;;
        fastapi) "${BIN[fastapi]}" app:app --app-dir benches/fastapi --host 127.0.0.1 --port "$port" \
                     --workers 1 --no-access-log "${UVICORN_FLAGS[@]}" >"$log" 2>&1 & ;;
        *) RUST_LOG=info NO_COLOR=1 "${BIN[$name]}" "127.0.0.1:$port" >"$log" 2>&1 & ;;
    esac
    PID=$!
    PIDS+=("$PID")
    URL=http://127.0.0.1:$port$ENDPOINT
}

# ready NAME BODY SIZE: waits (30 s deadline) for a 200 and checks the summary counts the alerts.
# Called again after the warm-up, it also waits out the requests wrk abandoned when it stopped.
ready() {
    local name=$1 body=$2 size=$3 deadline=$((SECONDS + 30)) code
    while ((SECONDS < deadline)); do
        kill -0 "$PID" 2>/dev/null || { echo "http.sh: $name exited:" >&2; tail "$LOG" >&2; exit 1; }
        code=$(curl -s --max-time 60 -o "$OUT/answer.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
            --data-binary "@$body" "$URL" || true)
        if [[ $code == 200 ]]; then
            if [[ $name != floor ]] && ! grep -q "\"received\":$size," "$OUT/answer.json"; then
                echo "http.sh: $name answered $(cat "$OUT/answer.json")" >&2
                exit 1
            fi
            return
        fi
        sleep 0.1
    done
    echo "http.sh: $name not answering 200 at $URL (last: $code)" >&2
    exit 1
}

# field KEY FILE: a value from wrk's RESULT line (benches/post.lua).
field() { sed -n "s/^RESULT.* $1=\([0-9.]*\).*/\1/p" "$2"; }

RESULTS=$OUT/results.tsv
printf 'alerts\tserver\tround\trps\tp50_us\tp99_us\tvmhwm_kb\tnon2xx\tsocket_errors\n' >"$RESULTS"
HEADER="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), \
$(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg) at start; servers: ${run[*]}; \
$ROUNDS interleaved rounds of wrk -t$THREADS -c$CONNS -d$DURATION (after $WARMUP warm-up)\
${FASTAPI_PLAIN:+; FastAPI without uvloop/httptools}${WRK_BATCH:+; wrk under SCHED_BATCH}"
echo "== $HEADER"

# 4. Interleaved rounds: each round runs every server once, fresh, in a rotated order.
for size in $SIZES; do
    body=$OUT/bodies/alerts-$size.json
    for ((round = 1; round <= ROUNDS; round++)); do
        for ((i = 0; i < ${#run[@]}; i++)); do
            name=${run[(i + round - 1) % ${#run[@]}]}
            LOG=$OUT/logs/$name-$size-r$round.log
            report=$OUT/wrk/$name-$size-r$round.txt
            start "$name" "$LOG"
            ready "$name" "$body" "$size"
            "${WRK[@]}" -t"$THREADS" -c"$CONNS" -d"$WARMUP" --timeout 10s -s benches/post.lua "$URL" -- "$body" >"$report.warmup"
            ready "$name" "$body" "$size"
            "${WRK[@]}" -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout 10s -s benches/post.lua --latency "$URL" -- "$body" >"$report"
            hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$PID/status")
            cleanup
            if [[ $name != floor ]] && ! grep -q '\[ALERT ' "$LOG"; then
                echo "http.sh: $name wrote no alert line to $LOG: logging is off" >&2
                exit 1
            fi
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$name" "$round" \
                "$(field rps "$report")" "$(field p50_us "$report")" "$(field p99_us "$report")" "$hwm" \
                "$(field non2xx "$report")" "$(field socket_errors "$report")" >>"$RESULTS"
            printf '%6s alerts  round %s  %-8s %10s req/s  p50 %7s us  p99 %8s us  VmHWM %7s kB\n' \
                "$size" "$round" "$name" "$(field rps "$report")" "$(field p50_us "$report")" \
                "$(field p99_us "$report")" "$hwm"
            [[ -n ${KEEP_LOGS:-} ]] || { head -n 20 "$LOG" >"$LOG.head"; rm "$LOG"; }
        done
    done
done

# 5. Medians and ratios.
echo
{ echo "$HEADER"; echo; python3 benches/http_report.py "$RESULTS"; } | tee "$OUT/report.md"
