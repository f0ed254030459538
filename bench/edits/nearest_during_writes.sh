#!/usr/bin/env bash
# /nearest throughput idle and during a burst of acknowledged writes, alternating, on one
# server (release binary, wrk). Issue 12: during a burst within 10 % of idle.
#   bench/edits/nearest_during_writes.sh [DIR=geodata] [WRITE_CONNECTIONS=256]
#   ROUNDS=3            idle/burst pairs; the verdict compares their medians
#   WRITER_CLIENT=idle  the write load generator runs under SCHED_IDLE (chrt --idle), as if
#                       it were on another machine: on this 2-core host its own CPU would
#                       otherwise be taken from the readers and the server alike, which says
#                       nothing about the server. WRITER_CLIENT=normal runs it as any process.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=${1:-geodata}; wconns=${2:-256}
rounds=${ROUNDS:-3}
bin=${SERVICEMAP_BIN:-target/release/servicemap}
case "${WRITER_CLIENT:-idle}" in
  idle) wpre=(chrt --idle 0) ;;
  normal) wpre=() ;;
  *) echo "WRITER_CLIENT must be idle or normal" >&2; exit 2 ;;
esac
work=$(mktemp -d); trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$src" "$work/data"
"$bin" token bench editor > "$work/tok"; sed -n 2p "$work/tok" > "$work/tokens"
export SERVICEMAP_BENCH_TOKEN=$(sed -n 1p "$work/tok")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SERVICEMAP_LOG=warn "$bin" serve --data "$work/data" --bind "127.0.0.1:$port" --tokens "$work/tokens" \
  --write-rate 1000000 --write-burst 1000000 --workers 2 2>"$work/log" &
server=$!
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.1; done
url="http://127.0.0.1:$port/nearest?lon=106.5320&lat=29.4700&category=elder_canteen&k=3&mode=walk"
rps() { awk '/Requests\/sec/ {printf "%d", $2}'; }
wrk -t1 -c16 -d3s "$url" >/dev/null   # warm-up
idle=(); during=(); writes=()
for r in $(seq "$rounds"); do
  i=$(wrk -t1 -c16 -d8s "$url" | rps)
  # The writes go ~2.5 km from the query point (by facility F0060; BENCH_AT="lon lat" moves
  # them) so that what is measured is the writer's toll on readers, not a query made heavier
  # by thousands of new canteens beside it (BENCH_AT="106.531965 29.4696041" shows that case).
  read -r blon blat <<< "${BENCH_AT:-106.5067875 29.4721975}"
  BENCH_LON=$blon BENCH_LAT=$blat "${wpre[@]}" wrk -t1 -c"$wconns" -d12s -s bench/edits/post.lua \
    "http://127.0.0.1:$port" > "$work/writes" &
  w=$!
  sleep 2
  d=$(wrk -t1 -c16 -d8s "$url" | rps)
  wait "$w"
  ws=$(rps < "$work/writes")
  echo "round $r: /nearest idle $i req/s, during the burst $d req/s ($((100 * d / i)) %), writes acknowledged $ws/s"
  idle+=("$i"); during+=("$d"); writes+=("$ws")
  sleep 1
done
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mi=$(med "${idle[@]}"); md=$(med "${during[@]}"); mw=$(med "${writes[@]}")
echo "median: /nearest idle $mi req/s, during $md req/s = $((100 * md / mi)) % of idle; writes $mw/s (writer client: ${WRITER_CLIENT:-idle}, $wconns connections)"
