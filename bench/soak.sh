#!/usr/bin/env bash
# Memory through a long mixed load (issue 15: flat within ±10 %, never above 64 MB, over 30
# minutes). Not part of CI. Starts its own release server on a loopback port, drives it with
# wrk and bench/soak.lua (locate, nearest both modes, routes, isochrones, items, tiles,
# coverage, gaps, 200-origin batches), samples VmRSS from /proc/PID/status every INTERVAL
# seconds into a CSV, prints the summary and stops exactly the processes it started.
#
#   cargo build --release
#   bench/soak.sh                         # 30 minutes on geodata
#   DURATION=120 bench/soak.sh            # a two-minute check of the script
#   DATA=tests/fixtures/mini CONNECTIONS=16 RATE=... bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/servicemap}
DATA=${DATA:-geodata}
DURATION=${DURATION:-1800}
INTERVAL=${INTERVAL:-10}
PORT=${PORT:-18094}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-8}
OUT=${OUT:-target/soak-$(date -u +%Y%m%dT%H%M%S).csv}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "no $BIN: cargo build --release first" >&2; exit 1; }
mkdir -p "$(dirname "$OUT")"

"$BIN" --log-level warn serve --data "$DATA" --bind "127.0.0.1:$PORT" >/dev/null 2>&1 &
srv=$!
wrk_pid=""
cleanup() {
  [ -n "$wrk_pid" ] && kill "$wrk_pid" 2>/dev/null || true
  kill "$srv" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; do
  kill -0 "$srv" 2>/dev/null || { echo "servicemap exited before answering" >&2; exit 1; }
  sleep 0.05
done
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$srv/status"; }
start_kb=$(rss)
echo "t_s,vmrss_kb" >"$OUT"
echo "0,$start_kb" >>"$OUT"

wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/soak.lua \
  "http://127.0.0.1:$PORT" >"$OUT.wrk.txt" 2>&1 &
wrk_pid=$!
t0=$(date +%s)
while kill -0 "$wrk_pid" 2>/dev/null; do
  sleep "$INTERVAL"
  kill -0 "$srv" 2>/dev/null || { echo "servicemap died during the soak" >&2; exit 1; }
  echo "$(( $(date +%s) - t0 )),$(rss)" >>"$OUT"
done
wait "$wrk_pid" || true
wrk_pid=""

# Flatness is judged after the first minute (caches of tiles and coverage fill first).
awk -F, -v start="$start_kb" 'NR > 1 {
    n++; v[n] = $2; t[n] = $1
    if ($2 > max) max = $2
    if (min == "" || $2 < min) min = $2
    if ($1 >= 60) { m++; if ($2 > wmax) wmax = $2; if (wmin == "" || $2 < wmin) wmin = $2 }
  }
  END {
    printf "VmRSS: start %.1f MB, min %.1f, max %.1f, end %.1f MB (%d samples)\n", start/1024, min/1024, max/1024, v[n]/1024, n
    if (m) printf "after the first minute: %.1f..%.1f MB, spread %.1f%% of the minimum; never above 64 MB: %s\n",
      wmin/1024, wmax/1024, (wmax - wmin) * 100 / wmin, (max <= 65536 ? "yes" : "no")
  }' "$OUT"
grep -E "Requests/sec|Non-2xx|Socket errors|Latency " "$OUT.wrk.txt" || true
echo "samples: $OUT; wrk output: $OUT.wrk.txt"
