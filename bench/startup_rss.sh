#!/usr/bin/env bash
# Start-up time and resident memory of `servicemap serve` (issue 15: ≤ 100 ms, ≤ 32 MB on the
# default data). Starts its own server on a loopback port, polls /healthz, reads VmRSS from
# /proc/PID/status, stops exactly that process. Median of RUNS starts.
#
#   cargo build --release
#   bench/startup_rss.sh [BINARY] [DATA_DIR]      # defaults: target/release/servicemap geodata
#   RUNS=9 PORT=18093 bench/startup_rss.sh
set -euo pipefail
BIN=${1:-target/release/servicemap}
DATA=${2:-geodata}
RUNS=${RUNS:-5}
PORT=${PORT:-18093}
times=(); rss=()
for _ in $(seq "$RUNS"); do
  s=$(date +%s%N)
  "$BIN" --log-level warn serve --data "$DATA" --bind "127.0.0.1:$PORT" >/dev/null 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; do
    kill -0 "$pid" 2>/dev/null || { echo "servicemap exited before answering" >&2; exit 1; }
    sleep 0.005
  done
  e=$(date +%s%N)
  times+=($(( (e - s) / 1000000 )))
  rss+=($(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"))
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "binary $BIN, data $DATA, $RUNS starts"
echo "ready after (ms): ${times[*]}  median $(med "${times[@]}")"
echo "VmRSS after start (kB): ${rss[*]}  median $(med "${rss[@]}") ($(( $(med "${rss[@]}") / 1024 )) MB)"
